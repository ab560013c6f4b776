"""Batch normalisation."""

import numpy as np

from .base import Layer, check_dout
from .channel_rows import ChannelRows
from .checks import check_dtype, check_int, is_size


class BatchNormalization(Layer):
    """Batch normalisation of each feature (or each channel of a 4-D input).

    Training: ``y = gamma * (x - mu) / sqrt(var + eps) + beta`` with the batch mean
    ``mu`` and biased batch variance ``var`` of each feature, and the running
    statistics move as ``running = momentum * running + (1 - momentum) * batch_stat``.
    Evaluation (``train=False``): the same formula with the running statistics.

    Built from arrays, ``BatchNormalization(gamma, beta)``, or from the number of
    features (channels), ``BatchNormalization(100)``: gamma = 1, beta = 0.

    Parameters
    ----------
    gamma, beta : (D,) arrays, scale and shift (referenced, not copied); or
        ``num_features`` D alone.
    momentum : float in [0, 1), weight of the old running statistics.
    eps : float > 0, added to the variance.

    Shape
    -----
    x : (N, D), normalised per column; or (N, C, H, W) with D = C, normalised per
    channel over N, H and W. y and dx have the shape of x.

    Attributes
    ----------
    running_mean, running_var : (D,) start at 0 and 1.
    dgamma, dbeta : (D,) gradients set by ``backward``.
    """

    #: a training batch of one sample has no variance to normalise by
    min_batch_size = 2

    param_names = ("gamma", "beta")
    buffer_names = ("running_mean", "running_var")
    default_name = "BatchNorm"

    def __init__(self, gamma, beta=None, momentum=0.9, eps=1e-5, *, dtype=np.float64):
        if is_size(gamma):
            d = check_int("BatchNormalization", "num_features", gamma)
            dtype = check_dtype("BatchNormalization", dtype)
            gamma, beta = np.ones(d, dtype=dtype), np.zeros(d, dtype=dtype)
        elif beta is None:
            raise ValueError("BatchNormalization: give gamma and beta arrays, or the number of features alone")
        gamma = np.asarray(gamma)
        beta = np.asarray(beta)
        if gamma.ndim != 1 or beta.shape != gamma.shape:
            raise ValueError(
                f"BatchNormalization: gamma and beta must be 1-D of one shape, got {gamma.shape} and {beta.shape}"
            )
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"BatchNormalization: momentum must be in [0, 1), got {momentum}")
        if not eps > 0:
            raise ValueError(f"BatchNormalization: eps must be > 0, got {eps}")
        self.gamma = gamma
        self.beta = beta
        self.momentum = float(momentum)
        self.eps = float(eps)
        self.running_mean = np.zeros_like(gamma)
        self.running_var = np.ones_like(gamma)
        self.dgamma = self.dbeta = None  # gradients, set by backward
        self._xhat = self._inv_std = self._train = self._shape = None  # kept by forward for backward

    def extra_repr(self):
        return f"{self.gamma.shape[0]}, momentum={self.momentum}, eps={self.eps}"

    def reset_parameters(self, init, rng):
        self.gamma[...] = 1
        self.beta[...] = 0

    def output_shape(self, input_shape):
        d = self.gamma.shape[0]
        if len(input_shape) not in (1, 3) or input_shape[0] != d:
            raise ValueError(f"{self!r}: expects ({d},) or ({d}, H, W) per sample, got input shape {tuple(input_shape)}")
        return tuple(input_shape)

    def _as_2d(self, x):
        """(N, C, H, W) -> (N*H*W, C) so that every channel is one column (a view of
        channels-last memory), seen through :class:`~bprop.layers.channel_rows.ChannelRows`."""
        x2 = x.transpose(0, 2, 3, 1).reshape(-1, x.shape[1]) if x.ndim == 4 else x
        cols = ChannelRows(*x2.shape)
        return cols.wide(x2), cols

    def _from_2d(self, y, shape):
        if len(shape) == 4:
            n, c, h, w = shape
            return y.reshape(n, h, w, c).transpose(0, 3, 1, 2)
        return y.reshape(shape)

    def forward(self, x, train=True):
        x = np.asarray(x)
        d = self.gamma.shape[0]
        if x.ndim not in (2, 4) or x.shape[1] != d or x.shape[0] == 0:
            raise ValueError(
                f"{self!r}: input must be a non-empty (N, {d}) or (N, {d}, H, W) batch, got shape {x.shape}"
            )
        self._shape = x.shape
        # x2 : the (M, D) matrix, one column per feature; cols.expand(v) repeats a
        # per-feature vector along its rows, cols.sum/cols.dot sum each feature's column
        x2, cols = self._as_2d(x)
        if train:
            m = cols.m
            if m < 2:
                raise ValueError(
                    f"{self!r}: training needs at least 2 values per feature to estimate a variance, "
                    f"got input of shape {x.shape}"
                )
            mu = cols.sum(x2) / m
            xc = x2 - cols.expand(mu)
            var = cols.dot(xc, xc) / m
            mom = self.momentum
            self.running_mean *= mom
            self.running_mean += (1.0 - mom) * mu
            self.running_var *= mom
            self.running_var += (1.0 - mom) * var
        else:
            xc = x2 - cols.expand(self.running_mean)
            var = self.running_var
        inv_std = 1.0 / np.sqrt(var + self.eps)
        xhat = xc * cols.expand(inv_std)
        self._xhat = xhat
        self._inv_std = inv_std
        self._train = train
        out = xhat * cols.expand(self.gamma)
        out += cols.expand(self.beta)
        return self._from_2d(out, x.shape)

    def backward(self, dout):
        xhat = self._need_cache(self._xhat)
        check_dout(self, dout, self._shape)
        d2, cols = self._as_2d(dout)
        self.dbeta = cols.sum(d2, out=self._grad_out("beta"))
        self.dgamma = cols.dot(d2, xhat, out=self._grad_out("gamma"))
        g = cols.expand(self.gamma * self._inv_std)
        if self._train:
            # d/dx of the normalised batch: the mean and variance depend on every x too.
            m = cols.m
            dx = d2 - cols.expand(self.dbeta / m) - xhat * cols.expand(self.dgamma / m)
            dx *= g
        else:
            dx = d2 * g
        return self._from_2d(dx, self._shape)

    def state(self):
        return {"running_mean": self.running_mean.copy(), "running_var": self.running_var.copy()}

    def set_state(self, state):
        self.running_mean[...] = state["running_mean"]
        self.running_var[...] = state["running_var"]
