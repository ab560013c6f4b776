"""Central-difference numerical gradients, the reference every backward is checked against."""

import numpy as np


def numerical_gradient(f, x, h=1e-4):
    """Gradient of the scalar function ``f()`` with respect to the array ``x``.

    Each element is nudged in place by +h and -h, ``(f(x+h) - f(x-h)) / (2h)`` is
    taken, and the element is restored, so ``f`` reads ``x`` itself (a network
    whose layers reference ``x`` sees the nudge). ``f`` takes no argument.

    Parameters
    ----------
    f : callable returning a float.
    x : float array of any shape, modified during the call and restored exactly.
    h : step; 1e-4 suits float64 (float32 needs about 1e-2 and loses accuracy).

    Returns
    -------
    grad : float64 array of the shape of ``x``.
    """
    if not isinstance(x, np.ndarray) or x.dtype.kind != "f":
        raise ValueError(f"numerical_gradient: x must be a floating numpy array, got {type(x).__name__}")
    grad = np.zeros(x.shape, dtype=np.float64)
    flat = x.reshape(-1)
    if not np.shares_memory(flat, x):
        raise ValueError("numerical_gradient: x must be contiguous so it can be perturbed in place")
    g = grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        f_plus = f()
        flat[i] = old - h
        f_minus = f()
        flat[i] = old
        g[i] = (f_plus - f_minus) / (2 * h)
    return grad


def relative_error(a, b):
    """Largest element-wise ``|a - b| / max(|a| + |b|, 1e-12)``, a scale-free distance."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), 1e-12), initial=0.0))


def check_layer_gradient(layer, x, dout=None, rng=None, h=1e-6, train=True):
    """Numerical gradients of ``sum(layer.forward(x) * dout)`` with respect to x and each parameter.

    The layer's state (running statistics, dropout stream) is restored before each
    evaluation, so random and stateful layers are checked with one fixed behaviour.

    Returns ``(analytic, numeric)``: two dicts with key ``'x'`` and each parameter name.
    """
    from .rng import make_rng

    rng = make_rng(rng)
    state = layer.state()
    out = layer.forward(x, train=train)
    if dout is None:
        dout = rng.standard_normal(out.shape)
    dx = layer.backward(dout)
    analytic = {"x": dx}
    analytic.update({k: v.copy() for k, v in layer.grads().items()})

    def f():
        layer.set_state(state)
        return float(np.sum(layer.forward(x, train=train) * dout))

    numeric = {"x": numerical_gradient(f, x, h)}
    for name, p in layer.params().items():
        numeric[name] = numerical_gradient(f, p, h)
    layer.set_state(state)
    return analytic, numeric


#: tolerances of every gradient check in bprop (those of PyTorch's gradcheck)
ATOL = 1e-5
RTOL = 1e-3


def assert_gradients_close(analytic, numeric, atol=ATOL, rtol=RTOL):
    """Assert ``|a - n| <= atol + rtol * |n|`` element-wise for every key of two gradient dicts.

    On failure the AssertionError names the key, the largest absolute difference and
    the relative error, which is what one needs to see whether a backward is wrong.
    """
    if set(analytic) != set(numeric):
        raise AssertionError(f"gradient keys differ: {sorted(analytic)} vs {sorted(numeric)}")
    for k in analytic:
        a = np.asarray(analytic[k], dtype=np.float64)
        n = np.asarray(numeric[k], dtype=np.float64)
        if a.shape != n.shape:
            raise AssertionError(f"gradient {k!r}: shape {a.shape} vs numerical {n.shape}")
        if not np.all(np.abs(a - n) <= atol + rtol * np.abs(n)):
            raise AssertionError(
                f"gradient {k!r} differs from the numerical one: max abs diff "
                f"{np.max(np.abs(a - n)):.3e}, relative error {relative_error(a, n):.3e}"
            )


def check_without_input_grad(full, first, x, dout):
    """Assert that ``first``, built as ``full`` but with ``input_grad=False`` (a network's
    first layer), returns None from ``backward`` and sets the same parameter gradients."""
    full.forward(x)
    first.forward(x)
    full.backward(dout)
    if first.backward(dout) is not None:
        raise AssertionError(f"{first!r} with input_grad=False returned an input gradient")
    for name in full.param_names:
        np.testing.assert_array_equal(getattr(first, "d" + name), getattr(full, "d" + name), err_msg=name)


def randomize(model, rng, scale=0.5):
    """Every parameter of ``model`` (a layer, or a network's ``params`` dict) drawn from
    ``N(0, scale^2)`` in place, biases and gains included, so that a gradient check sees no
    zero or one that could hide an error; returns ``model``."""
    params = model.params() if callable(model.params) else model.params
    for p in params.values():
        p[...] = scale * rng.standard_normal(p.shape)
    return model
