"""The in-place arithmetic the optimizers' update rules are written in.

Each helper writes its result into an array it is given (``out`` or ``buf``, scratch space
of the parameter's shape) or into the array it updates, so that a rule allocates nothing.
"""

import numpy as np

__all__ = ["scaled", "square", "moving_average", "rms_step"]


def scaled(x, c, out):
    """``c * x``, written into ``out``."""
    return np.multiply(x, c, out=out)


def square(x, out):
    """``x * x``, written into ``out``."""
    return np.multiply(x, x, out=out)


def moving_average(avg, x, decay, buf):
    """``avg = decay * avg + (1 - decay) * x``, in place; ``buf`` is scratch and may be ``x``."""
    avg *= decay
    avg += scaled(x, 1.0 - decay, buf)


def rms_step(x, h, lr, eps, buf, rms_scale=None):
    """``lr * x / (sqrt(h) + eps)``, written into ``buf``; with ``rms_scale``,
    ``lr * x / (sqrt(h) * rms_scale + eps)``."""
    step = np.sqrt(h, out=buf)
    if rms_scale is not None:
        step *= rms_scale
    step += eps
    np.divide(x, step, out=step)
    step *= lr
    return step
