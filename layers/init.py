"""Weight initialisation: how a layer's weights and biases start, found by name in ``INITS``.

An initialisation is an :class:`Init`: a way to fill an array (:func:`normal_`,
:func:`uniform_`, :func:`orthogonal_`, :func:`constant_`), the scale ``s`` it fills with as
a function of the layer's fan-in (and fan-out), and, when the biases are not 0, the bound
of their uniform draw. A new one is one :class:`Init` line in ``INITS`` plus its test.

======================  ==========================================  ========================================
name                    weights                                     PyTorch
======================  ==========================================  ========================================
'he', 'kaiming_normal'  N(0, 2 / fan_in)                            kaiming_normal_(w, nonlinearity='relu')
'kaiming_uniform'       U(-b, b), b = sqrt(2) * sqrt(3 / fan_in)    kaiming_uniform_(w, nonlinearity='relu')
'xavier'                N(0, 1 / fan_in), the textbook's fan-in     none (xavier_normal_ is 'xavier_normal')
                        form of Glorot's rule
'xavier_normal'         N(0, 2 / (fan_in + fan_out))                xavier_normal_(w)
'xavier_uniform'        U(-b, b), b = sqrt(6 / (fan_in + fan_out))  xavier_uniform_(w)
'torch_default'         U(-b, b), b = 1 / sqrt(fan_in); biases      nn.Linear's and nn.Conv2d's own
                        U(-b, b) with the same b                    reset_parameters()
'orthogonal'            (semi-)orthogonal, per gate block           orthogonal_(w)
'zeros', 'ones'         all 0, all 1                                zeros_(w), ones_(w)
======================  ==========================================  ========================================

Biases start at 0, except with 'torch_default'. Kaiming's gain is ``sqrt(2)``, PyTorch's
for ReLU and for its default (leaky ReLU with slope 0); 'torch_default' is
``kaiming_uniform_`` with ``a = sqrt(5)``, whose gain ``sqrt(2 / (1 + 5))`` turns
``gain * sqrt(3 / fan_in)`` into ``1 / sqrt(fan_in)``.

A layer passes the fans PyTorch computes for its weight: an Affine ``(D, M)`` ``D`` and
``M``; a Convolution ``(FN, C, FH, FW)`` ``C*FH*FW`` and ``FN*FH*FW``; a recurrent layer
``D`` (``Wx``) or ``H`` (``Wh``) and ``kH``, its ``k`` gates side by side, and ``H`` for
its bias. An Embedding ``(V, D)`` passes 1 and ``D``: an output reads one row, the fan-in
of the equivalent Affine on one-hot input. PyTorch's recurrent layers draw every
parameter from ``U(-1/sqrt(H), 1/sqrt(H))``; 'torch_default' here gives ``Wx`` the bound
``1/sqrt(D)`` of its own fan-in. 'orthogonal' makes each gate's ``(D, H)`` or ``(H, H)``
block orthogonal on its own, so that each gate's recurrent map keeps the state's norm.

Wherever an ``init`` is accepted, the name of an activation (``'relu'``, ``'tanh'``: a key
of :data:`bprop.layers.activations.ACTIVATIONS`) stands for that activation's
``default_init``, and a positive number is the std of Gaussian weights (biases 0).
"""

import numbers
from inspect import signature

import numpy as np

from .activations import ACTIVATIONS
from .registry import Registry, lookup


# --- how an array is filled with scale s ----------------------------------------------

def normal_(w, s, rng):
    """``w ~ N(0, s**2)`` in place, drawn in ``w``'s dtype: a float32 network's weights
    come from the float32 stream of ``rng``, with no float64 draw in between."""
    w[...] = rng.standard_normal(w.shape, dtype=w.dtype) * w.dtype.type(s)


def uniform_(w, s, rng):
    """``w ~ U(-s, s)`` in place, as ``(2u - 1) s`` with ``u ~ U[0, 1)`` drawn in ``w``'s dtype."""
    w[...] = (2 * rng.random(w.shape, dtype=w.dtype) - 1) * w.dtype.type(s)


def orthogonalise(a):
    """The (semi-)orthogonal factor of a 2-D ``a`` (Saxe et al., 2013; PyTorch's ``orthogonal_``).

    ``Q R = a`` (``a.T`` when ``a`` is wide), each column of ``Q`` multiplied by the sign of
    ``R``'s diagonal entry, so that for a Gaussian ``a`` the result is uniformly distributed
    over orthogonal matrices (Mezzadri, 2007), then transposed back when ``a`` is wide.

    Shape
    -----
    a : (rows, cols) -> (rows, cols): ``Q^T Q = I`` when tall or square, ``Q Q^T = I`` when wide.
    """
    tall = a.shape[0] >= a.shape[1]
    q, r = np.linalg.qr(a if tall else a.T)
    q = q * np.where(np.diag(r) < 0, -1.0, 1.0)  # a column never vanishes, unlike with sign()
    return q if tall else q.T


def orthogonal_(w, s, rng):
    """``w = s Q`` in place, ``Q`` from :func:`orthogonalise` of a float64 Gaussian of shape
    ``(rows, cols)``: ``rows = w.shape[0]``, the other axes flattened, as PyTorch does.
    The QR runs in float64 whatever ``w``'s dtype, which keeps ``Q`` orthogonal to 1e-15."""
    rows = w.shape[0]
    w[...] = (s * orthogonalise(rng.standard_normal((rows, w.size // rows)))).reshape(w.shape)


def constant_(w, s, rng):
    """``w = s`` everywhere; draws nothing from ``rng``."""
    w[...] = s


# --- scales: s as a function of the fans ----------------------------------------------

#: Kaiming's gain, PyTorch's ``calculate_gain('relu')`` and that of its default (leaky ReLU, slope 0)
RELU_GAIN = float(np.sqrt(2.0))


def he_std(fan_in):
    """``sqrt(2 / fan_in)`` (He et al., 2015): keeps the variance of ReLU activations
    constant through depth, ReLU zeroing half of its inputs."""
    return float(np.sqrt(2.0 / fan_in))


def xavier_std(fan_in):
    """``sqrt(1 / fan_in)`` (Glorot and Bengio, 2010, in its fan-in form): keeps the
    variance of the pre-activations at that of the inputs, for sigmoid and tanh."""
    return float(np.sqrt(1.0 / fan_in))


def kaiming_uniform_bound(fan_in):
    """``gain * sqrt(3 / fan_in)``, gain ``sqrt(2)``: ``U(-b, b)`` has variance ``b**2 / 3 = 2 / fan_in``, He's."""
    return RELU_GAIN * float(np.sqrt(3.0 / fan_in))


def xavier_normal_std(fan_in, fan_out):
    """``sqrt(2 / (fan_in + fan_out))`` (Glorot and Bengio, 2010): the average of the
    variances that keep the forward and the backward signal constant."""
    return float(np.sqrt(2.0 / (fan_in + fan_out)))


def xavier_uniform_bound(fan_in, fan_out):
    """``sqrt(6 / (fan_in + fan_out))``: ``U(-b, b)`` with the variance of :func:`xavier_normal_std`."""
    return float(np.sqrt(6.0 / (fan_in + fan_out)))


def torch_default_bound(fan_in):
    """``1 / sqrt(fan_in)``: PyTorch's Linear and Conv draw both weights and biases from ``U(-b, b)``."""
    return float(1.0 / np.sqrt(fan_in))


def one(fan_in):
    """1, whatever the fan-in: all ones, or an orthogonal matrix of gain 1."""
    return 1.0


def zero(fan_in):
    """0, whatever the fan-in."""
    return 0.0


class Init:
    """An initialisation: how a layer's weights are filled, and how its biases are.

    Parameters
    ----------
    fill : function ``(w, s, rng)`` filling ``w`` in place: :func:`normal_`,
        :func:`uniform_`, :func:`orthogonal_` or :func:`constant_`.
    scale : function ``fan_in -> s`` or ``(fan_in, fan_out) -> s``; which one is read
        from its signature (``needs_fan_out``).
    bias : None (biases start at 0) or a function ``fan_in -> b``: biases ``~ U(-b, b)``.
    blockwise : bool, whether a weight made of blocks side by side on its last axis (a
        recurrent layer's gates) is filled one block at a time, each block with fan-out
        ``fan_out / blocks`` (see :func:`init_`).
    """

    def __init__(self, fill, scale, bias=None, blockwise=False):
        self.fill = fill
        self.scale = scale
        self.bias = bias
        self.blockwise = blockwise
        self.needs_fan_out = len(signature(scale).parameters) == 2

    def weight_scale(self, fan_in, fan_out=None):
        """``s`` for a weight with these fans; a ValueError if it needs a fan-out not given."""
        if not self.needs_fan_out:
            return self.scale(fan_in)
        if fan_out is None:
            raise ValueError(f"{self!r} needs the fan-out: fill the weights with "
                             f"init_(w, init, fan_in, fan_out, rng)")
        return self.scale(fan_in, fan_out)

    def __repr__(self):
        extra = (f", bias={self.bias.__name__}" if self.bias else "") + (", blockwise=True" if self.blockwise else "")
        return f"Init({self.fill.__name__}, {self.scale.__name__}{extra})"


_HE = Init(normal_, he_std)

#: initialisations by name (see the module's table)
INITS = Registry("initialisation", {
    "he": _HE,
    "kaiming_normal": _HE,  # PyTorch's name for He's rule
    "kaiming_uniform": Init(uniform_, kaiming_uniform_bound),
    "xavier": Init(normal_, xavier_std),
    "xavier_normal": Init(normal_, xavier_normal_std),
    "xavier_uniform": Init(uniform_, xavier_uniform_bound),
    "torch_default": Init(uniform_, torch_default_bound, bias=torch_default_bound),
    "orthogonal": Init(orthogonal_, one, blockwise=True),
    "zeros": Init(constant_, zero),
    "ones": Init(constant_, one),
}, fold_case=True)


# --- the entry points -----------------------------------------------------------------

def init_names():
    """Every name ``init`` accepts, sorted: the keys of :data:`INITS` and of
    :data:`bprop.layers.activations.ACTIVATIONS`."""
    return sorted(set(INITS) | set(ACTIVATIONS))


def init_rule(init, name="init"):
    """The :class:`Init` that ``init`` stands for, or a ValueError listing the choices.

    ``init`` is a key of :data:`INITS` or an activation's name for its ``default_init``
    (any case), or a positive number: Gaussian weights of that std, biases 0. An unknown
    name is ``'{name}: unknown name ...; choose one of [...] or a positive number'``, any
    other value ``'{name} must be a positive number or one of [...]'``; ``name`` is the
    argument the message names.
    """
    if isinstance(init, str):
        names = {key: cls.default_init for key, cls in ACTIVATIONS.items()}
        names.update((key, key) for key in INITS)
        key = lookup(names, init, "name", owner=name, fold_case=True, hint="or a positive number")
        return INITS.lookup(key, owner=f"{name}: the default_init of {init!r}")
    if isinstance(init, bool) or not isinstance(init, numbers.Real) or not 0 < float(init) < np.inf:
        raise ValueError(f"{name} must be a positive number or one of {init_names()}, got {init!r}")
    std = float(init)

    def given_std(fan_in):
        return std
    return Init(normal_, given_std)


def init_(w, init, fan_in, fan_out, rng, blocks=1):
    """Fill the weight ``w`` in place as ``init`` says (see :func:`init_rule`).

    ``fan_in`` and ``fan_out`` are the whole weight's (see the module docstring).
    ``blocks`` > 1: ``w``'s last axis holds that many equal blocks side by side (a
    recurrent layer's gates); a blockwise rule ('orthogonal') fills each on its own, with
    fan-out ``fan_out // blocks``, every other rule fills ``w`` in one draw.
    """
    rule = init_rule(init)
    if not rule.blockwise or blocks == 1:
        rule.fill(w, rule.weight_scale(fan_in, fan_out), rng)
        return
    if w.shape[-1] % blocks:
        raise ValueError(f"init_: the last axis of a weight of shape {w.shape} is not {blocks} equal blocks")
    width = w.shape[-1] // blocks
    for k in range(blocks):
        rule.fill(w[..., k * width:(k + 1) * width], rule.weight_scale(fan_in, fan_out // blocks), rng)


def init_bias_(b, init, fan_in, rng):
    """Fill the bias ``b`` in place: ``U(-s, s)``, ``s = rule.bias(fan_in)``, when ``init``'s
    rule draws biases ('torch_default'), else 0 with nothing drawn from ``rng``."""
    rule = init_rule(init)
    if rule.bias is None:
        b[...] = 0
    else:
        uniform_(b, rule.bias(fan_in), rng)


def init_scale(init, fan_in, name="init", fan_out=None):
    """Standard deviation of the Gaussian initial weights of a layer with ``fan_in`` inputs.

    ``init`` is a name of a Gaussian entry of :data:`INITS` (``'he'``: ``sqrt(2 / fan_in)``;
    ``'xavier'``: ``sqrt(1 / fan_in)``; ``'xavier_normal'``, which also needs ``fan_out``),
    an activation's name for its ``default_init`` (``'relu'`` is He, ``'sigmoid'`` and
    ``'tanh'`` are Xavier), any case; or a positive number, used as it is. ``name`` is the
    argument named in errors. A rule that draws no Gaussian ('kaiming_uniform',
    'orthogonal', ...) is a ValueError: such weights are filled by :func:`init_`.
    """
    rule = init_rule(init, name)
    if rule.fill is not normal_:
        raise ValueError(f"{name}: {init!r} draws no Gaussian weights ({rule!r}); "
                         f"fill them with init_(w, init, fan_in, fan_out, rng)")
    if rule.needs_fan_out and fan_out is None:
        raise ValueError(f"{name}: {init!r} needs the fan-out too: init_scale(init, fan_in, fan_out=...)")
    return rule.weight_scale(fan_in, fan_out)


def gaussian_(w, init, fan_in, rng, fan_out=None):
    """Fill ``w`` in place with ``N(0, s**2)``, ``s = init_scale(init, fan_in, fan_out=fan_out)``,
    drawn in ``w``'s dtype (see :func:`normal_`)."""
    normal_(w, init_scale(init, fan_in, fan_out=fan_out), rng)
