"""Adam and its family: AdamW, NAdam, RAdam.

All four keep moving averages of the gradient and of its square, ``m`` and ``v``, and a
step count ``t`` shared by all parameters (:class:`AdamBase`); they differ in the step they
take from them. Each equals the PyTorch optimizer its docstring names, step for step;
PyTorch's ``betas=(beta1, beta2)`` are our ``beta1`` and ``beta2``.
"""

import math

import numpy as np

from .optimizer_base import OPTIMIZERS, NON_NEGATIVE, POSITIVE, UNIT, Flag, Hyperparameter, Optimizer
from .rule_arithmetic import moving_average, rms_step, scaled, square

__all__ = ["AdamBase", "Adam", "AdamW", "NAdam", "RAdam"]


class AdamBase(Optimizer):
    """What the Adam family shares: ``t``, counted by :meth:`update` (``_begin_step``), and
    the moments :meth:`_update_moments` moves,
    ``m = beta1 * m + (1 - beta1) * g`` and ``v = beta2 * v + (1 - beta2) * g * g``."""

    state_names = ("m", "v")
    counters = ("t",)
    beta1 = Hyperparameter(UNIT)
    beta2 = Hyperparameter(UNIT)
    eps = Hyperparameter(POSITIVE)

    def __init__(self, lr, beta1, beta2, eps, weight_decay):
        super().__init__(lr, weight_decay)
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.t = 0

    def _update_moments(self, g, m, v, buf):
        moving_average(m, g, self.beta1, buf)
        moving_average(v, square(g, buf), self.beta2, buf)


@OPTIMIZERS.register("adam")
class Adam(AdamBase):
    """Adam (Kingma and Ba, 2015), with eps added to the bias-corrected ``sqrt(v_hat)``::

        t += 1
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        m_hat = m / (1 - beta1**t);  v_hat = v / (1 - beta2**t)
        p -= lr * m_hat / (sqrt(v_hat) + eps)

    With ``amsgrad=True`` (Reddi et al., 2018) the denominator takes the largest ``v`` so
    far, ``v_max = max(v_max, v)``, in place of ``v``: ``v_hat = v_max / (1 - beta2**t)``.
    ``v_max`` is kept (and saved) only then.

    ``t`` counts calls of ``update`` and is shared by all parameters. PyTorch's
    ``torch.optim.Adam(params, lr, betas=(beta1, beta2), eps, weight_decay, amsgrad)``.
    """

    switched_states = {"amsgrad": ("v_max",)}
    amsgrad = Flag()

    def __init__(self, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, amsgrad=False):
        super().__init__(lr, beta1, beta2, eps, weight_decay)
        self.amsgrad = amsgrad

    def _begin_step(self):
        self.t += 1
        # The bias corrections are scalars, so they go where they cost no pass over the
        # arrays: lr * m_hat == (lr / (1 - beta1**t)) * m, and
        # sqrt(v_hat) == sqrt(v) * (1 / sqrt(1 - beta2**t)).
        self._lr_hat = self.lr / (1.0 - self.beta1 ** self.t)
        self._inv_sqrt_c2 = 1.0 / math.sqrt(1.0 - self.beta2 ** self.t)

    def _step_rule(self):
        return self._amsgrad_rule if self.amsgrad else self._rule

    def _rule(self, p, g, m, v, buf):
        self._update_moments(g, m, v, buf)
        p -= rms_step(m, v, self._lr_hat, self.eps, buf, rms_scale=self._inv_sqrt_c2)

    def _amsgrad_rule(self, p, g, m, v, v_max, buf):
        self._update_moments(g, m, v, buf)
        np.maximum(v_max, v, out=v_max)
        p -= rms_step(m, v_max, self._lr_hat, self.eps, buf, rms_scale=self._inv_sqrt_c2)


@OPTIMIZERS.register("adamw")
class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter, 2019): the parameter
    shrinks before the Adam step, instead of ``weight_decay * p`` joining the gradient::

        p *= 1 - lr * weight_decay
        (then Adam's step, amsgrad or not, on g itself)

    PyTorch's ``torch.optim.AdamW(params, lr, betas=(beta1, beta2), eps, weight_decay,
    amsgrad)``, with its default ``weight_decay=0.01``.
    """

    decoupled_weight_decay = True

    def __init__(self, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01, amsgrad=False):
        super().__init__(lr, beta1, beta2, eps, weight_decay, amsgrad)


@OPTIMIZERS.register("nadam")
class NAdam(AdamBase):
    """NAdam (Dozat, 2016): Adam with Nesterov momentum, the momentum coefficient warming
    up over the steps by ``momentum_decay`` (psi)::

        t += 1
        mu_t = beta1 * (1 - 0.5 * 0.96**(t * psi))
        mu_next = beta1 * (1 - 0.5 * 0.96**((t + 1) * psi))
        mu_product *= mu_t                                  (mu_1 * ... * mu_t)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        v_hat = v / (1 - beta2**t)
        p -= lr * (1 - mu_t) / (1 - mu_product) * g / (sqrt(v_hat) + eps)
        p -= lr * mu_next / (1 - mu_product * mu_next) * m / (sqrt(v_hat) + eps)

    ``mu_product`` is carried from step to step (and saved) like ``t``. PyTorch's
    ``torch.optim.NAdam(params, lr, betas=(beta1, beta2), eps, weight_decay,
    momentum_decay)``, with the same defaults (``lr=0.002``).
    """

    carried = ("mu_product",)
    momentum_decay = Hyperparameter(NON_NEGATIVE)

    def __init__(self, lr=0.002, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, momentum_decay=4e-3):
        super().__init__(lr, beta1, beta2, eps, weight_decay)
        self.momentum_decay = momentum_decay
        self.mu_product = 1.0

    def _begin_step(self):
        self.t += 1
        t, psi = self.t, self.momentum_decay
        mu = self.beta1 * (1.0 - 0.5 * 0.96 ** (t * psi))
        mu_next = self.beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
        self.mu_product *= mu
        self._lr_g = self.lr * (1.0 - mu) / (1.0 - self.mu_product)
        self._lr_m = self.lr * mu_next / (1.0 - self.mu_product * mu_next)
        self._inv_sqrt_c2 = 1.0 / math.sqrt(1.0 - self.beta2 ** t)

    def _rule(self, p, g, m, v, buf):
        self._update_moments(g, m, v, buf)
        p -= rms_step(g, v, self._lr_g, self.eps, buf, rms_scale=self._inv_sqrt_c2)
        p -= rms_step(m, v, self._lr_m, self.eps, buf, rms_scale=self._inv_sqrt_c2)


@OPTIMIZERS.register("radam")
class RAdam(AdamBase):
    """RAdam (Liu et al., 2020): Adam whose adaptive step is rectified for the variance of
    ``v`` in the first steps, and left out while that variance is intractable::

        t += 1
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        m_hat = m / (1 - beta1**t)
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * t * beta2**t / (1 - beta2**t)
        if rho_t > 5:
            r_t = sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            p -= lr * m_hat * r_t * sqrt(1 - beta2**t) / (sqrt(v) + eps)
        else:
            p -= lr * m_hat

    (eps is added to ``sqrt(v)``, not to the bias-corrected ``sqrt(v_hat)`` as in Adam.)
    PyTorch's ``torch.optim.RAdam(params, lr, betas=(beta1, beta2), eps, weight_decay)``,
    with the same defaults.
    """

    def __init__(self, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0):
        super().__init__(lr, beta1, beta2, eps, weight_decay)

    def _begin_step(self):
        self.t += 1
        t, beta2 = self.t, self.beta2
        c2 = 1.0 - beta2 ** t
        self._lr_hat = self.lr / (1.0 - self.beta1 ** t)
        rho_inf = 2.0 / (1.0 - beta2) - 1.0
        rho_t = rho_inf - 2.0 * t * beta2 ** t / c2
        self._adaptive_lr = None  # rho_t <= 5: the un-adapted step, lr * m_hat
        if rho_t > 5.0:
            r_t = math.sqrt((rho_t - 4.0) * (rho_t - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t))
            self._adaptive_lr = self._lr_hat * r_t * math.sqrt(c2)

    def _rule(self, p, g, m, v, buf):
        self._update_moments(g, m, v, buf)
        if self._adaptive_lr is None:
            p -= scaled(m, self._lr_hat, buf)
        else:
            p -= rms_step(m, v, self._adaptive_lr, self.eps, buf)
