import json

import numpy as np
import pytest

from bprop.layers.registry import Registry
from bprop.networks.flat_params import FlatParams

from bprop.optim import OPTIMIZERS, SGD, AdaGrad, Adam, Momentum, Nesterov, RMSprop, get_optimizer
from bprop.optim.flat_update import FLAT, ElementwiseUpdate
from bprop.optim.optimizer_base import POSITIVE, Hyperparameter, Optimizer
from bprop.optim.optimizers import moving_average, rms_step

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
    with pytest.raises(ValueError, match=r"unknown optimizer 'lbfgs'; choose one of \['adadelta', 'adagrad'"):
        get_optimizer("lbfgs")


def test_repr_shows_hyperparameters():
    assert repr(Adam()) == "Adam(lr=0.001, beta1=0.9, beta2=0.999, eps=1e-08, weight_decay=0.0, amsgrad=False)"
    assert repr(Momentum(lr=0.1)) == "Momentum(lr=0.1, momentum=0.9, weight_decay=0.0)"


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


@pytest.mark.parametrize("cls, arg", [(Momentum, "momentum"), (Nesterov, "momentum"), (RMSprop, "decay_rate"),
                                      (Adam, "beta1"), (Adam, "beta2")])
@pytest.mark.parametrize("value", [float("nan"), 1.0, -0.1])
def test_unit_hyperparameter_is_checked_when_assigned(cls, arg, value):
    opt = cls()
    before = getattr(opt, arg)
    with pytest.raises(ValueError, match=rf"{cls.__name__}: invalid {arg}={value}, it must be in \[0, 1\)"):
        setattr(opt, arg, value)
    assert getattr(opt, arg) == before


@pytest.mark.parametrize("cls", [AdaGrad, RMSprop, Adam])
@pytest.mark.parametrize("value", [0.0, float("inf"), float("nan")])
def test_eps_is_checked_when_assigned(cls, value):
    opt = cls()
    with pytest.raises(ValueError, match=rf"{cls.__name__}: invalid eps={value}, it must be a finite number > 0"):
        opt.eps = value


def test_momentum_nan_assigned_later_is_refused_and_parameters_stay_finite():
    opt = Momentum(lr=0.1)
    params = {"w": P0.copy()}
    with pytest.raises(ValueError, match=r"Momentum: invalid momentum=nan"):
        opt.momentum = float("nan")
    opt.update(params, {"w": G.copy()})
    assert np.all(np.isfinite(params["w"]))


@pytest.mark.parametrize("value, shown", [("0.9", "'0.9'"), (None, "None"), (True, "True"), ([0.9], r"\[0\.9\]")])
@pytest.mark.parametrize("cls, arg, requirement", [
    (Adam, "beta2", r"in \[0, 1\)"), (Momentum, "momentum", r"in \[0, 1\)"),
    (RMSprop, "eps", "a finite number > 0"), (SGD, "lr", "a finite number > 0"),
])
def test_non_numbers_get_the_same_error_as_numbers_out_of_range(cls, arg, requirement, value, shown):
    label = "learning rate lr" if arg == "lr" else arg
    message = rf"{cls.__name__}: invalid {label}={shown}, it must be {requirement}"
    with pytest.raises(ValueError, match=message):
        cls(**{arg: value})
    opt = cls()
    with pytest.raises(ValueError, match=message):
        setattr(opt, arg, value)


def test_numpy_scalars_are_accepted_as_plain_floats():
    opt = Adam(lr=np.float32(0.5), beta1=np.float64(0.8))
    assert type(opt.lr) is float and opt.lr == 0.5 and opt.beta1 == 0.8
    assert repr(opt) == "Adam(lr=0.5, beta1=0.8, beta2=0.999, eps=1e-08, weight_decay=0.0, amsgrad=False)"


# ---------------------------------------------------------------- state_dict / load_state_dict


def test_state_dict_of_momentum_after_two_steps_by_hand():
    opt = Momentum(lr=0.1, momentum=0.9)
    one_step(opt, 2)
    state = opt.state_dict()
    assert state["scalars"] == {"type": "Momentum", "lr": 0.1, "momentum": 0.9, "weight_decay": 0.0}
    assert list(state["arrays"]) == ["v/w"]
    np.testing.assert_allclose(state["arrays"]["v/w"], 0.9 * (-0.1 * G) - 0.1 * G)
    assert state["arrays"]["v/w"] is not opt.v["w"]  # a copy: later steps leave it alone


def test_state_dict_of_adam_after_two_steps_by_hand():
    opt = Adam(lr=0.1)
    one_step(opt, 2)
    state = opt.state_dict()
    assert state["scalars"] == {"type": "Adam", "lr": 0.1, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8,
                                "weight_decay": 0.0, "amsgrad": False, "t": 2}
    assert sorted(state["arrays"]) == ["m/w", "v/w"]
    m1, v1 = 0.1 * G, 0.001 * G * G
    np.testing.assert_allclose(state["arrays"]["m/w"], 0.9 * m1 + 0.1 * G)
    np.testing.assert_allclose(state["arrays"]["v/w"], 0.999 * v1 + 0.001 * G * G)


def test_state_dict_of_sgd_and_of_an_unused_optimizer_hold_no_arrays():
    opt = SGD(lr=0.5)
    one_step(opt, 3)
    assert opt.state_dict() == {"scalars": {"type": "SGD", "lr": 0.5, "weight_decay": 0.0}, "arrays": {}}
    assert Adam().state_dict()["arrays"] == {}


def save_and_load(state, path):
    """``state`` through a file as the Trainer writes it: arrays in an .npz, scalars as JSON text."""
    np.savez(path, meta=np.array(json.dumps(state["scalars"])), **state["arrays"])
    with np.load(path, allow_pickle=False) as f:
        return {"scalars": json.loads(str(f["meta"])),
                "arrays": {k: f[k] for k in f.files if k != "meta"}}


SHAPES = {"W1": (5, 4), "b1": (4,), "W2": (4, 3), "b2": (3,)}
KWARGS = {SGD: {"lr": 0.1}, Momentum: {"lr": 0.1, "momentum": 0.8}, Nesterov: {"lr": 0.1},
          AdaGrad: {"lr": 0.3}, RMSprop: {"lr": 0.01, "decay_rate": 0.9}, Adam: {"lr": 0.01, "beta2": 0.99}}


def make_params(rng, flat, dtype):
    """Random parameters as a plain dict, or as views of one buffer like a network's."""
    if flat:
        params = FlatParams.allocate(SHAPES, dtype)
        for p in params.values():
            p[...] = rng.standard_normal(p.shape)
        return params
    return {k: rng.standard_normal(s).astype(dtype) for k, s in SHAPES.items()}


def gradient_sequence(rng, params, steps):
    """``steps`` gradient dicts shaped like ``params`` (flat-buffer dicts when ``params`` is one)."""
    out = []
    for _ in range(steps):
        grads = params.like() if isinstance(params, FlatParams) else {k: np.empty_like(p) for k, p in params.items()}
        for g in grads.values():
            g[...] = rng.standard_normal(g.shape)
        out.append(grads)
    return out


@pytest.mark.parametrize("flat", [False, True], ids=["dict", "flat"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("cls", ALL)
def test_state_round_trip_through_a_file_continues_bit_identically(cls, dtype, flat, tmp_path):
    rng = np.random.default_rng(20)
    start = make_params(rng, flat, dtype)
    grads = gradient_sequence(rng, start, 7)

    def copy_of(params):
        if flat:
            out = start.like()
            out.flat[...] = params.flat
            return out
        return {k: p.copy() for k, p in params.items()}

    straight = copy_of(start)
    opt = cls(**KWARGS[cls])
    for g in grads:
        opt.update(straight, g)

    resumed = copy_of(start)
    first = cls(**KWARGS[cls])
    for g in grads[:4]:
        first.update(resumed, g)
    state = save_and_load(first.state_dict(), tmp_path / "opt.npz")
    second = cls(lr=1.0)  # every hyperparameter comes from the state
    second.load_state_dict(state, resumed)
    assert repr(second) == repr(first)
    for g in grads[4:]:
        second.update(resumed, g)

    for k in SHAPES:
        assert resumed[k].dtype == dtype
        assert np.array_equal(resumed[k], straight[k]), k
    after = second.state_dict()
    assert after["scalars"] == opt.state_dict()["scalars"]
    for k, a in opt.state_dict()["arrays"].items():
        assert np.array_equal(after["arrays"][k], a), k


@pytest.mark.parametrize("saved_flat", [True, False], ids=["flat-to-dict", "dict-to-flat"])
def test_state_moves_between_a_flat_buffer_and_plain_dicts(saved_flat):
    rng = np.random.default_rng(21)
    before = make_params(rng, saved_flat, np.float64)
    grads = gradient_sequence(rng, before, 6)
    opt = Adam(lr=0.01)
    for g in grads[:3]:
        opt.update(before, g)
    after = make_params(rng, not saved_flat, np.float64)
    for k, p in before.items():
        after[k][...] = p
    other = Adam()
    other.load_state_dict(opt.state_dict(), after)
    for g in grads[3:]:
        opt.update(before, g)
        g_other = after.like() if isinstance(after, FlatParams) else {k: np.empty(s) for k, s in SHAPES.items()}
        for k, a in g.items():
            g_other[k][...] = a
        other.update(after, g_other)
    for k in SHAPES:
        assert np.array_equal(after[k], before[k]), k
        assert np.array_equal(other.m[k], opt.m[k]) and np.array_equal(other.v[k], opt.v[k]), k


def adam_state(steps=2):
    """The state of an Adam that stepped on ``{'W': (3, 2), 'b': (2,)}``."""
    opt = Adam(lr=0.01)
    params = {"W": np.ones((3, 2)), "b": np.ones(2)}
    for _ in range(steps):
        opt.update(params, {"W": np.full((3, 2), 0.5), "b": np.full(2, -0.5)})
    return opt.state_dict()


def edited(state, scalars=None, arrays=None, drop=()):
    """A copy of ``state`` with some scalars or arrays replaced or dropped."""
    s = dict(state["scalars"], **(scalars or {}))
    a = dict(state["arrays"], **(arrays or {}))
    for k in drop:
        s.pop(k, None)
        a.pop(k, None)
    return {"scalars": s, "arrays": a}


BAD_STATES = {
    "another optimizer": (lambda s: Momentum().state_dict(), r"the state is of 'Momentum', not 'Adam'"),
    "not a state": (lambda s: s["arrays"], r"expected a dict with 'scalars' and 'arrays', got \['m/W'"),
    "missing scalar": (lambda s: edited(s, drop=["t"]), r"scalar\(s\) \['t'\] missing"),
    "unexpected scalar": (lambda s: edited(s, {"momentum": 0.9}), r"unexpected scalar\(s\) \['momentum'\]"),
    "beta2 out of range": (lambda s: edited(s, {"beta2": 1.0}), r"Adam: invalid beta2=1\.0, it must be in \[0, 1\)"),
    "lr as a string": (lambda s: edited(s, {"lr": "0.01"}), r"Adam: invalid learning rate lr='0\.01'"),
    "negative step count": (lambda s: edited(s, {"t": -1}), r"t must be an integer >= 0, got -1"),
    "unknown state name": (lambda s: edited(s, arrays={"h/W": np.ones((3, 2))}),
                           r"unexpected array 'h/W'; keys are '<state>/<param>' with <state> one of \['m', 'v'\]"),
    "key without a state name": (lambda s: edited(s, arrays={"W": np.ones((3, 2))}), r"unexpected array 'W'"),
    "missing moment": (lambda s: edited(s, drop=["v/b"]), r"array 'v/b' missing from the state"),
    "moments of two shapes": (lambda s: edited(s, arrays={"v/W": np.ones((2, 3))}),
                              r"array 'v/W' has shape \(2, 3\), but the other state of 'W' has shape \(3, 2\)"),
    "integer array": (lambda s: edited(s, arrays={"m/b": np.ones(2, dtype=np.int64)}),
                      r"array 'm/b' has dtype int64, not floating point"),
}


@pytest.mark.parametrize("case", list(BAD_STATES))
def test_load_state_dict_refuses_a_bad_state_and_changes_nothing(case):
    make, message = BAD_STATES[case]
    opt = Adam(lr=0.5)
    one_step(opt)
    before = opt.state_dict()
    with pytest.raises(ValueError, match=message):
        opt.load_state_dict(make(adam_state()))
    after = opt.state_dict()
    assert after["scalars"] == before["scalars"]
    assert after["arrays"].keys() == before["arrays"].keys()
    assert all(np.array_equal(after["arrays"][k], a) for k, a in before["arrays"].items())


@pytest.mark.parametrize("params, message", [
    ({"W": np.ones((4, 2)), "b": np.ones(2)},
     r"Adam.load_state_dict: the loaded state of 'W' has shape \(3, 2\), but params\['W'\] has shape \(4, 2\)"),
    ({"W": np.ones((3, 2)), "b": np.ones(2), "c": np.ones(1)},
     r"the loaded state has nothing for parameter\(s\) \['c'\]"),
    ({"W": np.ones((3, 2))}, r"the loaded state is for parameter\(s\) \['b'\], which are not in params"),
])
def test_load_state_dict_refuses_the_state_of_other_parameters(params, message):
    opt = Adam()
    with pytest.raises(ValueError, match=message):
        opt.load_state_dict(adam_state(), params)
    assert opt.t == 0 and opt.m == {}


@pytest.mark.parametrize("flat", [False, True], ids=["dict", "flat"])
def test_update_after_load_refuses_other_parameters_before_moving_them(flat):
    opt = Adam()
    opt.load_state_dict(adam_state())
    if flat:
        params = FlatParams.allocate({"W": (4, 2), "b": (2,)}, np.float64)
        grads = params.like()
    else:
        params, grads = {"W": np.zeros((4, 2)), "b": np.zeros(2)}, {"W": np.ones((4, 2)), "b": np.ones(2)}
    with pytest.raises(ValueError, match=r"Adam.update: the loaded state of 'W' has shape \(3, 2\), "
                                         r"but params\['W'\] has shape \(4, 2\)"):
        opt.update(params, grads)
    assert not params["W"].any() and opt.t == 2


def test_state_without_arrays_fits_any_parameters():
    opt = Momentum()
    opt.load_state_dict(Momentum(lr=0.2).state_dict(), {"w": np.ones(3)})
    assert opt.lr == 0.2
    one_step(opt)
    assert opt.v["w"].shape == (2,)


def test_loaded_state_takes_the_dtype_of_its_parameters():
    state = adam_state()
    opt = Adam()
    opt.load_state_dict(state)
    params = {"W": np.ones((3, 2), np.float32), "b": np.ones(2, np.float32)}
    opt.update(params, {"W": np.ones((3, 2), np.float32), "b": np.ones(2, np.float32)})
    assert opt.m["W"].dtype == np.float32 and params["W"].dtype == np.float32
    # the float64 moments were carried over, not restarted from zero
    np.testing.assert_allclose(opt.m["W"], 0.9 * state["arrays"]["m/W"] + 0.1, rtol=1e-6)


def test_loaded_arrays_are_copied():
    state = adam_state()
    kept = state["arrays"]["m/W"].copy()
    opt = Adam()
    opt.load_state_dict(state)
    opt.update({"W": np.ones((3, 2)), "b": np.ones(2)}, {"W": np.ones((3, 2)), "b": np.ones(2)})
    assert np.array_equal(state["arrays"]["m/W"], kept)


# --- the rules' arithmetic and the machinery that runs them ---------------------------

def test_moving_average_is_decay_times_avg_plus_one_minus_decay_times_x_in_place():
    rng = np.random.default_rng(0)
    avg, x = rng.standard_normal(5), rng.standard_normal(5)
    expected = 0.9 * avg + (1 - 0.9) * x
    kept = avg
    moving_average(avg, x, 0.9, np.empty(5))
    assert avg is kept
    np.testing.assert_allclose(avg, expected, rtol=1e-15)


def test_rms_step_is_lr_x_over_sqrt_h_plus_eps_with_an_optional_scale_of_the_rms():
    rng = np.random.default_rng(1)
    x, h = rng.standard_normal(6), rng.random(6)
    np.testing.assert_allclose(rms_step(x, h, 0.1, 1e-3, np.empty(6)), 0.1 * x / (np.sqrt(h) + 1e-3), rtol=1e-15)
    np.testing.assert_allclose(rms_step(x, h, 0.1, 1e-3, np.empty(6), rms_scale=2.0),
                               0.1 * x / (2.0 * np.sqrt(h) + 1e-3), rtol=1e-15)


def recording_rule(seen):
    def rule(p, g, buf):
        seen.append((p.shape, buf.shape))
        p -= g
    return rule


def test_elementwise_update_hands_the_rule_pieces_of_at_most_chunk_elements_covering_every_one():
    seen = []
    p, g = np.zeros((10, 7)), np.arange(70.0).reshape(10, 7)
    ElementwiseUpdate().apply(recording_rule(seen), {"W": p}, {"W": g}, [], chunk=16)
    assert seen == [((16,), (16,))] * 4 + [((6,), (6,))]
    np.testing.assert_array_equal(p, -g)


def test_elementwise_update_runs_a_non_contiguous_parameter_whole():
    seen = []
    base = np.zeros((6, 8))
    ElementwiseUpdate().apply(recording_rule(seen), {"W": base[:, ::2]}, {"W": np.ones((6, 4))}, [], chunk=5)
    assert seen == [((6, 4), (6, 4))]
    np.testing.assert_array_equal(base[:, ::2], -1.0)
    np.testing.assert_array_equal(base[:, 1::2], 0.0)


def test_elementwise_update_runs_two_flat_buffers_as_one_array_and_links_the_state_to_them():
    params = FlatParams.allocate({"W": (3, 2), "b": (2,)}, np.float64)
    grads = params.like()
    grads["W"][...], grads["b"][...] = 1.0, 2.0
    v = {}
    door = ElementwiseUpdate()
    p, g = door.match("Test", params, grads, [v])
    assert list(p) == [FLAT] and p[FLAT] is params.flat and g[FLAT] is grads.flat
    assert door.layout == params.layout and v[FLAT].shape == params.flat.shape
    assert np.shares_memory(v["W"], v[FLAT]) and np.shares_memory(v["b"], v[FLAT])
    door.unlink()
    assert door.layout is None


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_chunked_flat_update_is_bit_identical_to_the_whole_update(name):
    rng = np.random.default_rng(3)
    whole_p = FlatParams.allocate({"W": (30, 20), "b": (20,)}, np.float32)
    whole_p.flat[:] = rng.standard_normal(whole_p.flat.size)
    grads = whole_p.like()
    chunked_p = FlatParams(whole_p.flat.copy(), whole_p.layout)
    whole, chunked = get_optimizer(name, lr=0.01), get_optimizer(name, lr=0.01)
    chunked.CHUNK = 50
    for _ in range(4):
        for k in grads:
            grads[k][...] = rng.standard_normal(grads[k].shape)
        whole.update(whole_p, grads)
        chunked.update(chunked_p, grads)
    np.testing.assert_array_equal(chunked_p.flat, whole_p.flat)


def test_failed_update_does_not_count_a_step():
    opt = Adam()
    with pytest.raises(ValueError, match="no gradient"):
        opt.update({"w": np.ones(2)}, {})
    assert opt.t == 0


class SignSGD(Optimizer):
    """``p -= lr * sign(g)``: a new optimizer is a class with its hyperparameters and rule."""

    scale = Hyperparameter(POSITIVE)

    def __init__(self, lr=0.1, scale=1.0):
        super().__init__(lr)
        self.scale = scale

    def _rule(self, p, g, buf):
        np.sign(g, out=buf)
        buf *= self.lr * self.scale
        p -= buf


def test_a_new_optimizer_is_a_rule_and_its_hyperparameters():
    # weight_decay, which every optimizer has, comes after the constructor's arguments
    assert SignSGD.hyper == ("lr", "scale", "weight_decay")
    opt = SignSGD(lr=0.5, scale=2.0)
    assert repr(opt) == "SignSGD(lr=0.5, scale=2.0, weight_decay=0.0)"
    assert opt.state_dict() == {"scalars": {"type": "SignSGD", "lr": 0.5, "scale": 2.0, "weight_decay": 0.0},
                                "arrays": {}}
    params = FlatParams.allocate({"W": (2, 2)}, np.float64)
    grads = params.like()
    grads["W"][...] = [[3.0, -0.5], [0.0, 2.0]]
    opt.update(params, grads)
    np.testing.assert_array_equal(params["W"], [[-1.0, 1.0], [0.0, -1.0]])
    with pytest.raises(ValueError, match=r"SignSGD: invalid scale=-1.0, it must be a finite number > 0"):
        opt.scale = -1.0
    registry = Registry("optimizer", {"sign": SignSGD})
    assert isinstance(registry.lookup("sign")(), SignSGD)


def test_hyper_lists_the_hyperparameters_in_the_order_of_the_constructors_arguments():
    assert Momentum.hyper == ("lr", "momentum", "weight_decay")
    assert Nesterov.hyper == ("lr", "momentum", "weight_decay")
    assert RMSprop.hyper == ("lr", "decay_rate", "eps", "weight_decay")
    assert Adam.hyper == ("lr", "beta1", "beta2", "eps", "weight_decay", "amsgrad")


def test_nesterov_keeps_its_own_state_and_type_apart_from_momentum():
    opt = Nesterov(lr=0.1)
    opt.update({"w": P0.copy()}, {"w": G.copy()})
    state = opt.state_dict()
    assert state["scalars"]["type"] == "Nesterov" and sorted(state["arrays"]) == ["b/w"]
    with pytest.raises(ValueError, match="the state is of 'Nesterov', not 'Momentum'"):
        Momentum().load_state_dict(state)


def test_optimizers_registry_lists_every_optimizer_in_order_of_complexity():
    assert list(OPTIMIZERS) == ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta",
                                "adam", "adamw", "nadam", "radam"]
    assert [OPTIMIZERS[n] for n in OPTIMIZERS][:5] == ALL[:5] and OPTIMIZERS["adam"] is Adam
