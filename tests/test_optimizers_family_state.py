"""The saved states of AdamW, NAdam, RAdam, Adadelta, AMSGrad and of weight decay: a run
saved after k steps and restored in a fresh optimizer continues bit for bit, on plain
dicts, on a flat buffer and on a real network's; AMSGrad's v_max exists and is saved only
while amsgrad is on; states that cannot be resumed are refused, changing nothing."""

import json

import numpy as np
import pytest

from bprop.networks import MultiLayerNet
from bprop.networks.flat_params import FlatParams
from bprop.optim.adam_family import Adam, AdamW, NAdam, RAdam
from bprop.optim.optimizers import SGD, Adadelta, Momentum, get_optimizer

SHAPES = {"W1": (5, 4), "b1": (4,), "W2": (4, 3), "b2": (3,)}
CONFIGS = {
    "AdamW": (AdamW, {"lr": 0.01, "weight_decay": 0.1}),
    "AdamW-amsgrad": (AdamW, {"lr": 0.01, "amsgrad": True}),
    "Adam-amsgrad-decay": (Adam, {"lr": 0.01, "beta2": 0.9, "weight_decay": 0.05, "amsgrad": True}),
    "NAdam": (NAdam, {"lr": 0.01, "momentum_decay": 0.01, "weight_decay": 0.01}),
    "RAdam": (RAdam, {"lr": 0.01, "beta2": 0.9}),
    "Adadelta": (Adadelta, {"rho": 0.8, "weight_decay": 0.01}),
    "SGD-decay": (SGD, {"lr": 0.1, "weight_decay": 0.1}),
    "Momentum-decay": (Momentum, {"lr": 0.1, "weight_decay": 0.1}),
}


def save_and_load(state, path):
    """``state`` through a file as the Trainer writes it: arrays in an .npz, scalars as JSON text."""
    np.savez(path, meta=np.array(json.dumps(state["scalars"])), **state["arrays"])
    with np.load(path, allow_pickle=False) as f:
        return {"scalars": json.loads(str(f["meta"])), "arrays": {k: f[k] for k in f.files if k != "meta"}}


def make_params(rng, flat, dtype):
    """Random parameters as a plain dict, or as views of one buffer like a network's."""
    params = FlatParams.allocate(SHAPES, dtype) if flat else {k: np.empty(s, dtype) for k, s in SHAPES.items()}
    for p in params.values():
        p[...] = rng.standard_normal(p.shape)
    return params


def copy_of(params):
    if isinstance(params, FlatParams):
        out = params.like()
        out.flat[...] = params.flat
        return out
    return {k: p.copy() for k, p in params.items()}


def gradients(rng, params, steps):
    out = []
    for _ in range(steps):
        grads = copy_of(params)
        for g in grads.values():
            g[...] = rng.standard_normal(g.shape)
        out.append(grads)
    return out


@pytest.mark.parametrize("flat", [False, True], ids=["dict", "flat"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("config", list(CONFIGS))
def test_state_round_trip_through_a_file_continues_bit_identically(config, dtype, flat, tmp_path):
    cls, kwargs = CONFIGS[config]
    rng = np.random.default_rng(30)
    start = make_params(rng, flat, dtype)
    grads = gradients(rng, start, 9)
    straight, opt = copy_of(start), cls(**kwargs)
    for g in grads:
        opt.update(straight, g)

    resumed, first = copy_of(start), cls(**kwargs)
    for g in grads[:5]:
        first.update(resumed, g)
    second = cls(lr=1.0)  # every hyperparameter, switch and carried number comes from the state
    second.load_state_dict(save_and_load(first.state_dict(), tmp_path / "opt.npz"), resumed)
    assert repr(second) == repr(first)
    for g in grads[5:]:
        second.update(resumed, g)

    for k in SHAPES:
        assert resumed[k].dtype == dtype and np.array_equal(resumed[k], straight[k]), k
    after, expected = second.state_dict(), opt.state_dict()
    assert after["scalars"] == expected["scalars"]
    assert after["arrays"].keys() == expected["arrays"].keys()
    for k, a in expected["arrays"].items():
        assert np.array_equal(after["arrays"][k], a), k


@pytest.mark.parametrize("name, kwargs", [("adamw", {"amsgrad": True}), ("nadam", {}), ("radam", {}),
                                          ("adadelta", {"weight_decay": 0.01}), ("adam", {"weight_decay": 0.01})])
def test_a_networks_run_resumed_in_a_fresh_network_and_optimizer_ends_bit_for_bit_where_it_would_have(
        name, kwargs, tmp_path):
    rng = np.random.default_rng(31)
    x, t = rng.standard_normal((40, 6)), rng.integers(0, 3, 40)
    batches = [(x[i:i + 10], t[i:i + 10]) for i in range(0, 40, 10)] * 2

    def net():
        return MultiLayerNet(6, [8, 5], 3, rng=32)

    straight, opt = net(), get_optimizer(name, lr=0.01, **kwargs)
    for xb, tb in batches:
        opt.update(straight.params, straight.gradient(xb, tb))

    first, first_opt = net(), get_optimizer(name, lr=0.01, **kwargs)
    for xb, tb in batches[:3]:
        first_opt.update(first.params, first.gradient(xb, tb))
    assert first.params.flat is not None  # the optimizer ran on the network's flat buffer
    resumed = net()
    for k, p in first.params.items():
        resumed.params[k] = p
    state = save_and_load(first_opt.state_dict(), tmp_path / "opt.npz")
    resumed_opt = get_optimizer(name)
    resumed_opt.load_state_dict(state, resumed.params)
    for xb, tb in batches[3:]:
        resumed_opt.update(resumed.params, resumed.gradient(xb, tb))
    for k in straight.params:
        assert np.array_equal(resumed.params[k], straight.params[k]), k


# --- AMSGrad's v_max: kept, saved and restored only while amsgrad is on --------------

def stepped(opt, steps=2, flat=False):
    params = FlatParams.allocate({"W": (3, 2), "b": (2,)}, np.float64) if flat else \
        {"W": np.ones((3, 2)), "b": np.ones(2)}
    for s in range(steps):
        grads = copy_of(params)
        grads["W"][...], grads["b"][...] = 0.5 * 0.01 ** s, -0.5  # W's v falls at step 2
        opt.update(params, grads)
    return params


def test_v_max_exists_only_with_amsgrad():
    plain, ams = Adam(), Adam(amsgrad=True)
    stepped(plain), stepped(ams)
    assert not hasattr(plain, "v_max") and sorted(plain.state_dict()["arrays"]) == ["m/W", "m/b", "v/W", "v/b"]
    assert sorted(ams.state_dict()["arrays"]) == ["m/W", "m/b", "v/W", "v/b", "v_max/W", "v_max/b"]
    assert ams.state_dict()["scalars"]["amsgrad"] is True
    assert np.all(ams.v_max["W"] >= ams.v["W"]) and np.all(ams.v_max["W"] > ams.v["W"])


@pytest.mark.parametrize("saved_amsgrad", [True, False])
def test_loading_a_state_takes_its_amsgrad_and_its_v_max_with_it(saved_amsgrad):
    saved = Adam(lr=0.01, amsgrad=saved_amsgrad)
    stepped(saved)
    opt = Adam(amsgrad=not saved_amsgrad)
    stepped(opt, 1)
    opt.load_state_dict(saved.state_dict())
    assert opt.amsgrad is saved_amsgrad and hasattr(opt, "v_max") is saved_amsgrad
    assert sorted(opt.state_dict()["arrays"]) == sorted(saved.state_dict()["arrays"])


def test_amsgrad_turned_on_during_a_flat_run_is_linked_and_saved_for_every_parameter():
    opt = Adam(lr=0.01)
    params = stepped(opt, 2, flat=True)
    opt.amsgrad = True
    grads = params.like()
    grads.flat[...] = 0.25
    opt.update(params, grads)
    arrays = opt.state_dict()["arrays"]
    for k in ("W", "b"):
        assert np.array_equal(arrays[f"v_max/{k}"], arrays[f"v/{k}"])  # max(0, v) on its first step
        assert np.shares_memory(opt.v_max[k], opt.v_max["__flat__"])


def nadam_state():
    opt = NAdam()
    stepped(opt)
    return opt.state_dict()


BAD_STATES = {
    "amsgrad without v_max": (Adam, lambda: {**adam_ams_state(), "arrays": {
        k: a for k, a in adam_ams_state()["arrays"].items() if not k.startswith("v_max")}},
        r"array 'v_max/W' missing from the state"),
    "v_max without amsgrad": (Adam, lambda: {"scalars": {**adam_ams_state()["scalars"], "amsgrad": False},
                                             "arrays": adam_ams_state()["arrays"]},
                              r"unexpected array 'v_max/W'; keys are '<state>/<param>' with <state> one of "
                              r"\['m', 'v'\]"),
    "amsgrad as a number": (Adam, lambda: {"scalars": {**adam_ams_state()["scalars"], "amsgrad": 1},
                                           "arrays": adam_ams_state()["arrays"]},
                            r"Adam: invalid amsgrad=1, it must be True or False"),
    "weight decay missing": (Adam, lambda: {"scalars": {k: v for k, v in adam_ams_state()["scalars"].items()
                                                        if k != "weight_decay"}, "arrays": {}},
                             r"scalar\(s\) \['weight_decay'\] missing"),
    "negative weight decay": (AdamW, lambda: {"scalars": {**adamw_state()["scalars"], "weight_decay": -1.0},
                                              "arrays": adamw_state()["arrays"]},
                              r"AdamW: invalid weight_decay=-1.0, it must be a finite number >= 0"),
    "mu_product missing": (NAdam, lambda: {"scalars": {k: v for k, v in nadam_state()["scalars"].items()
                                                       if k != "mu_product"}, "arrays": nadam_state()["arrays"]},
                           r"scalar\(s\) \['mu_product'\] missing"),
    "mu_product not finite": (NAdam, lambda: {"scalars": {**nadam_state()["scalars"], "mu_product": float("nan")},
                                              "arrays": nadam_state()["arrays"]},
                              r"scalars/mu_product must be a finite number: got nan"),
    "mu_product a string": (NAdam, lambda: {"scalars": {**nadam_state()["scalars"], "mu_product": "0.5"},
                                            "arrays": nadam_state()["arrays"]},
                            r"scalars/mu_product must be a finite number: got '0.5'"),
}


def adam_ams_state():
    opt = Adam(amsgrad=True)
    stepped(opt)
    return opt.state_dict()


def adamw_state():
    opt = AdamW()
    stepped(opt)
    return opt.state_dict()


@pytest.mark.parametrize("case", list(BAD_STATES))
def test_load_state_dict_refuses_a_bad_state_and_changes_nothing(case):
    cls, make, message = BAD_STATES[case]
    opt = cls(lr=0.5)
    stepped(opt, 1)
    before = opt.state_dict()
    with pytest.raises(ValueError, match=message):
        opt.load_state_dict(make())
    after = opt.state_dict()
    assert after["scalars"] == before["scalars"] and after["arrays"].keys() == before["arrays"].keys()
    assert all(np.array_equal(after["arrays"][k], a) for k, a in before["arrays"].items())
