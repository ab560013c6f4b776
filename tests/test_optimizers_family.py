"""AdamW, NAdam, RAdam, Adadelta, AMSGrad and every optimizer's weight decay: each run
against PyTorch's optimizers step for step (stored in tests/data/optimizer_reference.json by
tests/data/make_optimizer_reference.py, so torch is not needed here), first steps worked out
by hand, a loss that goes down, and every bad hyperparameter. Their saved states are in
test_optimizers_family_state.py."""

import json
import math
from pathlib import Path

import numpy as np
import pytest

from bprop.networks.flat_params import FlatParams
from bprop.optim.adam_family import Adam, AdamW, NAdam, RAdam
from bprop.optim.optimizers import (
    OPTIMIZERS,
    SGD,
    AdaGrad,
    Adadelta,
    Momentum,
    Nesterov,
    RMSprop,
    get_optimizer,
)

REFERENCE = json.loads((Path(__file__).parent / "data" / "optimizer_reference.json").read_text())
SHAPES = {k: tuple(s) for k, s in REFERENCE["shapes"].items()}
#: measured with torch 2.14.1: 87% of the numbers equal PyTorch's bit for bit, the others
#: differ by at most 4.4e-16 (absolute) and 3.5e-14 (relative, where |p| > 1e-3). Momentum's
#: velocity form rounds otherwise than PyTorch's, and a parameter passing close to 0
#: (3e-5 in one run) turns a tiny absolute difference into a relative one of 3e-12.
RTOL, ATOL = 1e-12, 1e-14
ALL = [SGD, Momentum, Nesterov, AdaGrad, RMSprop, Adadelta, Adam, AdamW, NAdam, RAdam]
NEW = [Adadelta, AdamW, NAdam, RAdam]

P0 = np.array([1.0, -2.0])
G = np.array([0.5, 0.25])


def split(flat):
    """A flat list of numbers as the dict of arrays of SHAPES."""
    out, a = {}, 0
    for k, shape in SHAPES.items():
        n = math.prod(shape)
        out[k] = np.array(flat[a:a + n], dtype=np.float64).reshape(shape)
        a += n
    return out


def case_id(case):
    return f"{case['torch']}({', '.join(f'{k}={v}' for k, v in case['torch_kwargs'].items())})"


@pytest.mark.parametrize("case", REFERENCE["cases"], ids=case_id)
def test_every_step_equals_pytorchs_optimizer(case):
    opt = get_optimizer(case["optimizer"], **case["kwargs"])
    params = split(REFERENCE["start"])
    for t, (g, expected) in enumerate(zip(REFERENCE["grads"], case["trajectory"])):
        grads = split(g)
        opt.update(params, grads)
        got = np.concatenate([params[k].ravel() for k in SHAPES])
        np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL, err_msg=f"after step {t + 1}")


def test_the_reference_covers_every_optimizer_with_and_without_weight_decay():
    cases = REFERENCE["cases"]
    assert {c["optimizer"] for c in cases} == set(OPTIMIZERS)
    for name in OPTIMIZERS:
        assert any(c["optimizer"] == name and c["kwargs"].get("weight_decay", 0) for c in cases), name
    assert sum(c["kwargs"].get("amsgrad", False) for c in cases) >= 3


def one_step(opt, steps=1, grads=None):
    params = {"w": P0.copy()}
    for g in grads or [G] * steps:
        opt.update(params, {"w": g.copy()})
    return params["w"]


# --- first steps by hand --------------------------------------------------------------

def test_sgd_weight_decay_adds_weight_decay_times_p_to_the_gradient():
    np.testing.assert_allclose(one_step(SGD(lr=0.1, weight_decay=0.5)), P0 - 0.1 * (G + 0.5 * P0), rtol=1e-15)


def test_adam_weight_decay_first_step_is_lr_times_the_sign_of_the_decayed_gradient():
    g = G + 0.2 * P0  # [0.7, -0.15]
    np.testing.assert_allclose(one_step(Adam(lr=0.1, weight_decay=0.2)), P0 - 0.1 * g / (np.abs(g) + 1e-8),
                               rtol=1e-14)


def test_adamw_shrinks_p_before_the_adam_step():
    lr, wd = 0.1, 0.5
    expected = P0 * (1 - lr * wd) - lr * G / (np.abs(G) + 1e-8)
    np.testing.assert_allclose(one_step(AdamW(lr=lr, weight_decay=wd)), expected, rtol=1e-14)


def test_amsgrad_divides_by_the_largest_second_moment_so_far():
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-8
    g1, g2 = G, 0.01 * G  # v falls at step 2: v_max keeps step 1's
    m1, v1 = (1 - b1) * g1, (1 - b2) * g1 * g1
    p1 = P0 - lr * (m1 / (1 - b1)) / (np.sqrt(v1 / (1 - b2)) + eps)
    m2, v2 = b1 * m1 + (1 - b1) * g2, b2 * v1 + (1 - b2) * g2 * g2
    assert np.all(v2 < v1)
    p2 = p1 - lr * (m2 / (1 - b1 ** 2)) / (np.sqrt(v1 / (1 - b2 ** 2)) + eps)
    np.testing.assert_allclose(one_step(Adam(lr=lr, amsgrad=True), grads=[g1, g2]), p2, rtol=1e-14)
    assert not np.allclose(one_step(Adam(lr=lr), grads=[g1, g2]), p2, rtol=1e-6)
    wd = 0.3
    p1w = P0 * (1 - lr * wd) - lr * (m1 / (1 - b1)) / (np.sqrt(v1 / (1 - b2)) + eps)
    p2w = p1w * (1 - lr * wd) - lr * (m2 / (1 - b1 ** 2)) / (np.sqrt(v1 / (1 - b2 ** 2)) + eps)
    np.testing.assert_allclose(one_step(AdamW(lr=lr, weight_decay=wd, amsgrad=True), grads=[g1, g2]), p2w,
                               rtol=1e-14)


def test_nadam_first_step_by_hand():
    lr, b1, psi, eps = 0.01, 0.9, 4e-3, 1e-8
    mu1 = b1 * (1 - 0.5 * 0.96 ** psi)
    mu2 = b1 * (1 - 0.5 * 0.96 ** (2 * psi))
    m1 = (1 - b1) * G
    rms = np.abs(G) + eps  # sqrt(v_hat) + eps, v_hat = g * g after one step
    expected = P0 - lr * (1 - mu1) / (1 - mu1) * G / rms - lr * mu2 / (1 - mu1 * mu2) * m1 / rms
    opt = NAdam(lr=lr)
    np.testing.assert_allclose(one_step(opt), expected, rtol=1e-14)
    assert opt.mu_product == mu1


def test_radam_takes_plain_momentum_steps_until_rho_t_exceeds_5_then_rectified_ones():
    lr, b1, b2, eps = 0.01, 0.9, 0.9, 1e-8
    rho_inf = 2 / (1 - b2) - 1
    p, m, v, adapted = P0.copy(), 0.0, 0.0, []
    for t in range(1, 9):
        m, v = b1 * m + (1 - b1) * G, b2 * v + (1 - b2) * G * G
        rho_t = rho_inf - 2 * t * b2 ** t / (1 - b2 ** t)
        m_hat = m / (1 - b1 ** t)
        if rho_t > 5:
            r_t = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            p = p - lr * m_hat * r_t * math.sqrt(1 - b2 ** t) / (np.sqrt(v) + eps)
        else:
            p = p - lr * m_hat
        adapted.append(rho_t > 5)
    assert adapted == [False] * 5 + [True] * 3
    np.testing.assert_allclose(one_step(RAdam(lr=lr, beta2=b2), 8), p, rtol=1e-14)
    np.testing.assert_allclose(one_step(RAdam(lr=lr)), P0 - lr * G, rtol=1e-15)


def test_adadelta_first_step_by_hand():
    lr, rho, eps = 1.0, 0.9, 1e-6
    h1 = (1 - rho) * G * G
    delta = np.sqrt(0 + eps) / np.sqrt(h1 + eps) * G
    opt = Adadelta()
    np.testing.assert_allclose(one_step(opt), P0 - lr * delta, rtol=1e-15)
    np.testing.assert_allclose(opt.u["w"], (1 - rho) * delta * delta, rtol=1e-15)


# --- weight decay, written once for all -----------------------------------------------

@pytest.mark.parametrize("flat", [False, True], ids=["dict", "flat"])
@pytest.mark.parametrize("cls", ALL)
def test_weight_decay_leaves_the_callers_gradients_alone(cls, flat):
    rng = np.random.default_rng(7)
    params = FlatParams.allocate({"W": (4, 3), "b": (3,)}, np.float64) if flat else \
        {"W": np.empty((4, 3)), "b": np.empty(3)}
    grads = params.like() if flat else {k: np.empty_like(p) for k, p in params.items()}
    for d in (params, grads):
        for a in d.values():
            a[...] = rng.standard_normal(a.shape)
    kept = {k: g.copy() for k, g in grads.items()}
    opt = cls(weight_decay=0.3)
    for _ in range(2):
        opt.update(params, grads)
    for k in kept:
        assert np.array_equal(grads[k], kept[k]), k


@pytest.mark.parametrize("cls", [c for c in ALL if c is not AdamW])
def test_weight_decay_is_the_rule_run_on_g_plus_weight_decay_times_p(cls):
    rng = np.random.default_rng(8)
    p, g = rng.standard_normal(6), rng.standard_normal(6)
    decayed, plain = cls(weight_decay=0.25), cls()
    with_decay, by_hand = {"w": p.copy()}, {"w": p.copy()}
    for _ in range(3):
        decayed.update(with_decay, {"w": g})
        plain.update(by_hand, {"w": g + 0.25 * by_hand["w"]})
        np.testing.assert_array_equal(with_decay["w"], by_hand["w"])


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_weight_decay_on_a_chunked_flat_buffer_equals_the_whole_dict_update_bit_for_bit(name):
    rng = np.random.default_rng(9)
    flat = FlatParams.allocate({"W": (30, 20), "b": (20,)}, np.float32)
    flat.flat[:] = rng.standard_normal(flat.flat.size)
    grads = flat.like()
    plain = {k: p.copy() for k, p in flat.items()}
    kwargs = {"lr": 0.01, "weight_decay": 0.1, **({"amsgrad": True} if name in ("adam", "adamw") else {})}
    chunked, whole = get_optimizer(name, **kwargs), get_optimizer(name, **kwargs)
    chunked.CHUNK = 50
    for _ in range(4):
        for g in grads.values():
            g[...] = rng.standard_normal(g.shape)
        chunked.update(flat, grads)
        whole.update(plain, {k: g.copy() for k, g in grads.items()})
    for k in plain:
        np.testing.assert_array_equal(flat[k], plain[k])


@pytest.mark.parametrize("flat", [False, True], ids=["dict", "flat"])
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_decay_only_decays_those_keys_and_steps_the_rest_without_decay_bit_for_bit(name, flat):
    """``decay_only(keys)``: the keys take the steps of an optimizer with the decay, the
    others those of one without it (PyTorch's two parameter groups), state saved as one."""
    rng = np.random.default_rng(10)
    shapes = {"W1": (5, 4), "b1": (4,), "W2": (4, 3), "b2": (3,)}
    params = FlatParams.allocate(shapes, np.float64)
    params.flat[:] = rng.standard_normal(params.flat.size)
    if not flat:
        params = {k: p.copy() for k, p in params.items()}
    decayed = {k: params[k].copy() for k in ("W1", "W2")}
    plain = {k: params[k].copy() for k in ("b1", "b2")}
    kwargs = {"lr": 0.01, "weight_decay": 0.2}
    grouped = get_optimizer(name, **kwargs).decay_only(["W1", "W2"])
    with_decay, without = get_optimizer(name, **kwargs), get_optimizer(name, **{**kwargs, "weight_decay": 0.0})
    for _ in range(3):
        grads = {k: rng.standard_normal(shape) for k, shape in shapes.items()}
        grouped.update(params, grads)
        with_decay.update(decayed, {k: grads[k] for k in decayed})
        without.update(plain, {k: grads[k] for k in plain})
    for k, p in {**decayed, **plain}.items():
        np.testing.assert_array_equal(params[k], p, err_msg=k)
    arrays = grouped.state_dict()["arrays"]  # one optimizer's state, every key in it
    assert sorted(arrays) == sorted(f"{s}/{k}" for s in grouped.active_state_names for k in shapes)
    assert grouped.decay_only(None).decay_keys is None


def test_adamw_without_weight_decay_is_adam_bit_for_bit():
    assert np.array_equal(one_step(AdamW(lr=0.1, weight_decay=0.0), 3), one_step(Adam(lr=0.1), 3))
    assert np.array_equal(one_step(AdamW(lr=0.1, amsgrad=True, weight_decay=0.0), 3),
                          one_step(Adam(lr=0.1, amsgrad=True), 3))


# --- a loss that goes down, every bad hyperparameter ----------------------------------

@pytest.mark.parametrize("name, kwargs", [
    ("adadelta", {"lr": 1.0, "eps": 1e-3}), ("adamw", {"lr": 0.1}), ("nadam", {"lr": 0.1}), ("radam", {"lr": 0.3}),
    ("adam", {"lr": 0.1, "amsgrad": True}), ("adamw", {"lr": 0.1, "amsgrad": True, "weight_decay": 0.1}),
    ("sgd", {"lr": 0.1, "weight_decay": 0.01}), ("momentum", {"lr": 0.05, "weight_decay": 0.01}),
])
def test_optimizer_lowers_loss_on_a_quadratic(name, kwargs):
    # f(x, y) = x^2 / 20 + y^2, the classic ill-conditioned bowl
    opt = get_optimizer(name, **kwargs)
    params = {"p": np.array([-7.0, 2.0])}

    def f(p):
        return p[0] ** 2 / 20 + p[1] ** 2

    start = f(params["p"])
    for _ in range(100):
        p = params["p"]
        opt.update(params, {"p": np.array([p[0] / 10, 2 * p[1]])})
    assert f(params["p"]) < 0.2 * start


@pytest.mark.parametrize("cls", ALL)
@pytest.mark.parametrize("value, shown", [(-0.1, "-0.1"), (float("nan"), "nan"), (float("inf"), "inf"),
                                          ("0.1", "'0.1'"), (True, "True")])
def test_every_optimizer_refuses_a_bad_weight_decay_in_the_constructor_and_later(cls, value, shown):
    message = rf"{cls.__name__}: invalid weight_decay={shown}, it must be a finite number >= 0"
    with pytest.raises(ValueError, match=message):
        cls(weight_decay=value)
    opt = cls(weight_decay=0.5)
    with pytest.raises(ValueError, match=message):
        opt.weight_decay = value
    assert opt.weight_decay == 0.5


@pytest.mark.parametrize("cls", [Adam, AdamW])
@pytest.mark.parametrize("value", [1, 0, "True", None, 1.0])
def test_amsgrad_must_be_true_or_false(cls, value):
    with pytest.raises(ValueError, match=rf"{cls.__name__}: invalid amsgrad={value!r}, it must be True or False"):
        cls(amsgrad=value)
    assert cls(amsgrad=np.bool_(True)).amsgrad is True


@pytest.mark.parametrize("cls, arg, value, requirement", [
    *[(c, a, v, r"in \[0, 1\)") for c in (AdamW, NAdam, RAdam) for a in ("beta1", "beta2") for v in (-0.1, 1.0)],
    *[(Adadelta, "rho", v, r"in \[0, 1\)") for v in (-0.1, 1.0, float("nan"))],
    *[(c, "eps", v, "a finite number > 0") for c in NEW for v in (0.0, -1e-8, float("inf"))],
    *[(c, "lr", v, "a finite number > 0") for c in NEW for v in (0.0, -0.1, float("nan"))],
    *[(NAdam, "momentum_decay", v, "a finite number >= 0") for v in (-1e-3, float("inf"), "0.004")],
])
def test_new_optimizers_refuse_each_bad_hyperparameter(cls, arg, value, requirement):
    label = "learning rate lr" if arg == "lr" else arg
    shown = repr(value) if isinstance(value, str) else value
    with pytest.raises(ValueError, match=rf"{cls.__name__}: invalid {label}={shown}, it must be {requirement}"):
        cls(**{arg: value})


def test_reprs_and_defaults_follow_pytorch():
    assert repr(AdamW()) == "AdamW(lr=0.001, beta1=0.9, beta2=0.999, eps=1e-08, weight_decay=0.01, amsgrad=False)"
    assert repr(NAdam()) == "NAdam(lr=0.002, beta1=0.9, beta2=0.999, eps=1e-08, weight_decay=0.0, momentum_decay=0.004)"
    assert repr(RAdam()) == "RAdam(lr=0.001, beta1=0.9, beta2=0.999, eps=1e-08, weight_decay=0.0)"
    assert repr(Adadelta()) == "Adadelta(lr=1.0, rho=0.9, eps=1e-06, weight_decay=0.0)"
    assert repr(SGD(weight_decay=1e-4)) == "SGD(lr=0.01, weight_decay=0.0001)"
    assert repr(RMSprop()) == "RMSprop(lr=0.01, decay_rate=0.99, eps=1e-08, weight_decay=0.0)"


def test_get_optimizer_finds_every_new_optimizer_by_name_in_any_case():
    for name, cls in [("AdamW", AdamW), ("nadam", NAdam), ("RAdam", RAdam), ("adadelta", Adadelta)]:
        assert type(get_optimizer(name)) is cls
