import numpy as np
import pytest

from bprop.optim import OPTIMIZERS, SGD, AdaGrad, Adam, Momentum, Nesterov, RMSprop, get_optimizer

P0 = np.array([1.0, -2.0])
G = np.array([0.5, 0.25])


def one_step(opt, steps=1):
    params = {"w": P0.copy()}
    for _ in range(steps):
        opt.update(params, {"w": G.copy()})
    return params["w"]


def test_sgd_hand_step():
    np.testing.assert_allclose(one_step(SGD(lr=0.1)), P0 - 0.1 * G)


def test_momentum_hand_steps():
    # v1 = -lr g; v2 = 0.9 v1 - lr g
    v1 = -0.1 * G
    v2 = 0.9 * v1 - 0.1 * G
    np.testing.assert_allclose(one_step(Momentum(lr=0.1, momentum=0.9), 2), P0 + v1 + v2)


def test_nesterov_hand_steps():
    b1 = G
    p1 = P0 - 0.1 * (G + 0.9 * b1)
    b2 = 0.9 * b1 + G
    p2 = p1 - 0.1 * (G + 0.9 * b2)
    np.testing.assert_allclose(one_step(Nesterov(lr=0.1, momentum=0.9), 2), p2)


def test_adagrad_hand_steps():
    h1 = G * G
    p1 = P0 - 0.1 * G / (np.sqrt(h1) + 1e-10)
    h2 = h1 + G * G
    p2 = p1 - 0.1 * G / (np.sqrt(h2) + 1e-10)
    np.testing.assert_allclose(one_step(AdaGrad(lr=0.1), 2), p2)


def test_rmsprop_hand_steps():
    h1 = 0.01 * G * G
    p1 = P0 - 0.1 * G / (np.sqrt(h1) + 1e-8)
    h2 = 0.99 * h1 + 0.01 * G * G
    p2 = p1 - 0.1 * G / (np.sqrt(h2) + 1e-8)
    np.testing.assert_allclose(one_step(RMSprop(lr=0.1), 2), p2)


def test_adam_hand_steps():
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-8
    p, m, v = P0.copy(), 0.0, 0.0
    for t in (1, 2):
        m = b1 * m + (1 - b1) * G
        v = b2 * v + (1 - b2) * G * G
        p = p - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
    np.testing.assert_allclose(one_step(Adam(lr=lr), 2), p, rtol=1e-12)


def test_adam_first_step_moves_each_weight_by_about_lr():
    np.testing.assert_allclose(one_step(Adam(lr=0.01)), P0 - 0.01 * np.sign(G), rtol=1e-6)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_updates_in_place_and_keeps_float32(name):
    opt = get_optimizer(name)
    p = np.ones((3, 2), np.float32)
    params = {"W": p}
    for _ in range(3):
        opt.update(params, {"W": np.full((3, 2), 0.5, np.float32)})
    assert params["W"] is p and p.dtype == np.float32
    assert np.all(p < 1)


@pytest.mark.parametrize("name, lr", [("sgd", 0.1), ("momentum", 0.05), ("nesterov", 0.05),
                                      ("adagrad", 0.5), ("rmsprop", 0.05), ("adam", 0.1)])
def test_optimizer_lowers_loss_on_a_quadratic(name, lr):
    # f(x, y) = x^2 / 20 + y^2, the classic ill-conditioned bowl
    opt = get_optimizer(name, lr=lr)
    params = {"p": np.array([-7.0, 2.0])}

    def f(p):
        return p[0] ** 2 / 20 + p[1] ** 2

    start = f(params["p"])
    for _ in range(100):
        p = params["p"]
        opt.update(params, {"p": np.array([p[0] / 10, 2 * p[1]])})
    assert f(params["p"]) < 0.2 * start


def test_state_is_created_lazily_per_key():
    opt = Momentum()
    assert opt.v == {}
    opt.update({"a": np.ones(2), "b": np.ones(3)}, {"a": np.ones(2), "b": np.ones(3)})
    assert set(opt.v) == {"a", "b"} and opt.v["b"].shape == (3,)


def test_get_optimizer_is_case_insensitive_and_passes_arguments():
    opt = get_optimizer("AdAm", lr=0.5, beta1=0.8)
    assert isinstance(opt, Adam) and opt.lr == 0.5 and opt.beta1 == 0.8


def test_get_optimizer_rejects_unknown_names():
    with pytest.raises(ValueError, match=r"unknown optimizer 'lbfgs'; choose one of \['adagrad'"):
        get_optimizer("lbfgs")


def test_repr_shows_hyperparameters():
    assert repr(Adam()) == "Adam(lr=0.001, beta1=0.9, beta2=0.999, eps=1e-08)"
    assert repr(Momentum(lr=0.1)) == "Momentum(lr=0.1, momentum=0.9)"


def test_update_rejects_missing_or_misshapen_gradients():
    with pytest.raises(ValueError, match=r"SGD.update: no gradient for parameter\(s\) \['b'\]"):
        SGD().update({"a": np.ones(2), "b": np.ones(2)}, {"a": np.ones(2)})
    with pytest.raises(ValueError, match=r"grads\['a'\] has shape \(3,\), params\['a'\] \(2,\)"):
        SGD().update({"a": np.ones(2)}, {"a": np.ones(3)})


ALL = [SGD, Momentum, Nesterov, AdaGrad, RMSprop, Adam]


@pytest.mark.parametrize("cls", ALL)
@pytest.mark.parametrize("lr", [0.0, -0.1, float("nan"), float("inf")])
def test_optimizer_rejects_bad_learning_rate(cls, lr):
    with pytest.raises(ValueError, match=rf"{cls.__name__}: invalid learning rate lr="):
        cls(lr=lr)


def test_learning_rate_is_checked_when_set_later():
    opt = SGD(lr=0.1)
    with pytest.raises(ValueError, match="invalid learning rate lr=-1.0"):
        opt.lr = -1.0


@pytest.mark.parametrize("cls, arg", [(Momentum, "momentum"), (Nesterov, "momentum"), (RMSprop, "decay_rate"),
                                      (Adam, "beta1"), (Adam, "beta2")])
@pytest.mark.parametrize("value", [-0.1, 1.0, 1.5])
def test_optimizer_rejects_unit_hyperparameters_outside_0_1(cls, arg, value):
    with pytest.raises(ValueError, match=rf"{cls.__name__}: invalid {arg}={value}, it must be in \[0, 1\)"):
        cls(**{arg: value})


@pytest.mark.parametrize("cls", [AdaGrad, RMSprop, Adam])
@pytest.mark.parametrize("eps", [0.0, -1e-8])
def test_optimizer_rejects_non_positive_eps(cls, eps):
    with pytest.raises(ValueError, match=rf"{cls.__name__}: invalid eps={eps}"):
        cls(eps=eps)
