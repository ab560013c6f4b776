"""Gradient clipping by global norm, against the exploding gradients of recurrent networks."""

import math
from collections.abc import Mapping

import numpy as np


def clip_grads(grads, max_norm):
    """Scale all gradients together so that their global L2 norm is at most ``max_norm``.

    With ``norm = sqrt(sum over every array g of sum(g**2))``, every array is multiplied
    in place by ``max_norm / (norm + 1e-6)`` when that factor is below 1, and left
    alone otherwise: the direction of the whole gradient is kept, only its length
    is capped (Pascanu et al., 2013). This is PyTorch's ``clip_grad_norm_`` and the
    textbook's ``clip_grads``, the 1e-6 included.

    A non-finite norm (an overflow or a NaN somewhere) is returned as it is and the
    gradients are not touched, so that the training loop sees the divergence.

    Parameters
    ----------
    grads : dict of arrays (a network's ``grads``), or a list of arrays. A network's
        flat gradient buffer (a dict with ``flat``) is clipped as one array.
    max_norm : float > 0.

    Returns
    -------
    norm : float, the global norm before clipping.
    """
    max_norm = float(max_norm)
    if not max_norm > 0 or not math.isfinite(max_norm):
        raise ValueError(f"clip_grads: invalid max_norm={max_norm}, it must be a finite number > 0")
    flat = getattr(grads, "flat", None)
    if flat is not None:
        arrays = [flat]  # one buffer holds every gradient (padding is zero)
    else:
        arrays = list(grads.values()) if isinstance(grads, Mapping) else list(grads)
    norm = math.sqrt(sum(float(np.vdot(g, g)) for g in arrays))
    rate = max_norm / (norm + 1e-6)
    if math.isfinite(norm) and rate < 1.0:
        for g in arrays:
            g *= rate
    return norm
