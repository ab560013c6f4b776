"""Layer normalization: every sample (every position of a sequence) normalised over its features."""

import numbers

import numpy as np

from .base import Layer, check_dout
from .checks import check_dtype, check_int, check_positive
from .transformer_weights import layernorm_from_torch, layernorm_to_torch


class LayerNorm(Layer):
    """``y = gamma * (x - mean) / sqrt(var + eps) + beta`` over the last axes of ``x``.

    Ba, Kiros and Hinton (2016). The mean and the (biased) variance are taken over the
    trailing axes named by ``normalized_shape``, separately for every leading index (every
    sample, every position of a sequence): unlike batch normalization, nothing is shared
    across the batch, so training and evaluation compute the same thing. PyTorch's
    ``nn.LayerNorm(normalized_shape, eps)``: ``gamma`` is its ``weight``, ``beta`` its ``bias``.

    With ``xhat = (x - mean) * r`` and ``r = 1 / sqrt(var + eps)``, over the D normalised
    values of one group the gradient is
    ``dx = r / D * (D * g - sum(g) - xhat * sum(g * xhat))`` with ``g = dout * gamma``;
    ``dgamma = sum(dout * xhat)`` and ``dbeta = sum(dout)`` over the leading axes.

    Parameters
    ----------
    normalized_shape : int D, or a tuple of ints: the shape of the trailing axes normalised.
    eps : float > 0, added to the variance (default 1e-5, PyTorch's).
    dtype : np.float64 (default) or np.float32 of gamma and beta.

    Shape
    -----
    x : (N, ..., *normalized_shape), at least one leading (batch) axis; y and dx the same.
    gamma, beta : normalized_shape.

    Attributes
    ----------
    dgamma, dbeta : gradients set by ``backward``, shaped like gamma and beta.
    """

    param_names = ("gamma", "beta")

    def __init__(self, normalized_shape, eps=1e-5, dtype=np.float64):
        shape = (normalized_shape,) if isinstance(normalized_shape, numbers.Integral) else normalized_shape
        try:
            shape = tuple(shape)
        except TypeError:
            raise ValueError(f"LayerNorm: normalized_shape must be an int or a tuple of ints, "
                             f"got {normalized_shape!r}") from None
        if not shape:
            raise ValueError("LayerNorm: normalized_shape must name at least one axis, got ()")
        self.normalized_shape = tuple(check_int("LayerNorm", "normalized_shape", d) for d in shape)
        self.eps = check_positive("LayerNorm", "eps", eps)
        dtype = check_dtype("LayerNorm", dtype)
        self.gamma = np.ones(self.normalized_shape, dtype=dtype)
        self.beta = np.zeros(self.normalized_shape, dtype=dtype)
        self.dgamma = self.dbeta = None  # gradients, set by backward
        self._xhat = self._rstd = None  # kept by forward for backward

    @property
    def _axes(self):
        """The normalised axes, counted from the end."""
        return tuple(range(-len(self.normalized_shape), 0))

    def extra_repr(self):
        shape = self.normalized_shape
        return f"{shape[0] if len(shape) == 1 else shape}, eps={self.eps:g}"

    @classmethod
    def from_torch(cls, state, eps=1e-5, prefix=""):
        """A LayerNorm with the weights of ``nn.LayerNorm``'s ``state_dict`` (``gamma = weight``,
        ``beta = bias``), its ``normalized_shape`` and dtype; give the module's ``eps``."""
        arrays = layernorm_from_torch(state, prefix)
        layer = cls(arrays["gamma"].shape, eps, dtype=arrays["gamma"].dtype)
        layer.gamma[...], layer.beta[...] = arrays["gamma"], arrays["beta"]
        return layer

    def to_torch(self, prefix=""):
        """``{'weight', 'bias'}`` for ``nn.LayerNorm(normalized_shape, eps)`` (NumPy copies)."""
        return layernorm_to_torch(self.gamma, self.beta, prefix)

    def reset_parameters(self, init, rng):
        self.gamma[...] = 1
        self.beta[...] = 0

    def output_shape(self, input_shape):
        k = len(self.normalized_shape)
        if tuple(input_shape[len(input_shape) - k:]) != self.normalized_shape:
            raise ValueError(f"{self!r}: the input's last axes must be {self.normalized_shape}, "
                             f"got input shape {tuple(input_shape)}")
        return tuple(input_shape)

    def _check_input(self, x):
        x = np.asarray(x)
        k = len(self.normalized_shape)
        if x.ndim <= k or x.shape[0] == 0 or x.shape[x.ndim - k:] != self.normalized_shape:
            raise ValueError(f"{self!r}: input must be a non-empty batch (N, ..., "
                             f"{', '.join(map(str, self.normalized_shape))}), got shape {x.shape}")
        return x

    def forward(self, x, train=True):
        x = self._check_input(x)
        axes = self._axes
        centred = x - x.mean(axis=axes, keepdims=True)
        var = np.mean(centred * centred, axis=axes, keepdims=True)  # biased, as PyTorch's
        self._rstd = 1.0 / np.sqrt(var + self.eps)
        self._xhat = centred * self._rstd
        return self.gamma * self._xhat + self.beta

    def backward(self, dout):
        xhat = self._need_cache(self._xhat)
        check_dout(self, dout, xhat.shape)
        axes = self._axes
        lead = tuple(range(xhat.ndim - len(self.normalized_shape)))
        self.dgamma = np.sum(dout * xhat, axis=lead, out=self._grad_out("gamma"))
        self.dbeta = np.sum(dout, axis=lead, out=self._grad_out("beta"))
        g = dout * self.gamma
        d = int(np.prod(self.normalized_shape))
        # dx = r / D * (D g - sum(g) - xhat sum(g xhat))
        dx = d * g - g.sum(axis=axes, keepdims=True) - xhat * np.sum(g * xhat, axis=axes, keepdims=True)
        dx *= self._rstd / d
        return dx
