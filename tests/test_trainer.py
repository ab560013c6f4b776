import os

import numpy as np
import pytest

from bprop.datasets import MiniBatchIterator
from bprop.networks import MultiLayerNet
from bprop.optim import (
    SGD,
    Adam,
    BestWeights,
    Callback,
    DivergenceStop,
    GradientClipping,
    EarlyStopping,
    ExponentialLR,
    History,
    StepLR,
    Trainer,
    TrainingDivergedError,
)


def make_data(n=50, d=4, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)).astype(dtype)
    t = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(np.int64)
    return x, t


def make_net(dtype=np.float64, seed=0, **kw):
    return MultiLayerNet(4, [8], 2, dtype=dtype, rng=seed, **kw)


class Spy:
    """Delegates to a network and records every training batch and returned loss."""

    def __init__(self, net):
        self.net = net
        self.batches = []
        self.losses = []

    def __getattr__(self, name):
        return getattr(self.net, name)

    def loss_and_gradient(self, x, t):
        self.batches.append(np.array(x, copy=True))
        loss, grads = self.net.loss_and_gradient(x, t)
        self.losses.append(loss)
        return loss, grads


class Snapshots(Callback):
    """A callback keeping a copy of the params after each epoch."""

    def __init__(self, store):
        self.store = store

    def on_epoch_end(self, trainer, epoch, logs):
        self.store[epoch] = {k: v.copy() for k, v in trainer.model.params.items()}


# --- history ---------------------------------------------------------------------


def test_history_has_every_key_with_one_entry_per_epoch():
    x, t = make_data(50)
    xv, tv = make_data(20, seed=1)
    history = Trainer(make_net(), SGD(lr=0.1), (x, t), (xv, tv), epochs=3, batch_size=16,
                      rng=0, verbose=0).fit()
    assert isinstance(history, History)
    for key in ("epoch", "iteration", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "time"):
        assert len(history[key]) == 3, key
    assert history["epoch"] == [1, 2, 3]
    assert history["iterations_per_epoch"] == 4
    assert history["iteration"] == [4, 8, 12]
    assert len(history["iter_loss"]) == 12
    assert history["lr"] == [0.1, 0.1, 0.1]
    assert all(0.0 <= a <= 1.0 for a in history["train_acc"] + history["val_acc"])
    assert history["stopped_epoch"] is None and history["diverged"] is False
    assert history["time"] == sorted(history["time"])


def test_history_without_validation_has_no_val_keys():
    x, t = make_data(30)
    history = Trainer(make_net(), SGD(lr=0.1), (x, t), epochs=2, batch_size=10, rng=0, verbose=0).fit()
    assert "val_loss" not in history and "val_acc" not in history
    assert len(history["train_loss"]) == 2


def test_iteration_losses_are_the_ones_loss_and_gradient_returned():
    x, t = make_data(40)
    spy = Spy(make_net())
    history = Trainer(spy, SGD(lr=0.1), (x, t), epochs=2, batch_size=8, rng=0, verbose=0).fit()
    assert history["iter_loss"] == [float(v) for v in spy.losses]
    assert len(spy.losses) == 10


def test_training_lowers_the_loss_on_a_separable_problem():
    x, t = make_data(200)
    history = Trainer(make_net(), Adam(lr=0.01), (x, t), epochs=20, batch_size=20, rng=0,
                      verbose=0).fit()
    assert history["train_loss"][-1] < 0.5 * history["train_loss"][0]
    assert history["train_acc"][-1] > 0.9


# --- batches ---------------------------------------------------------------------


def test_every_sample_is_seen_once_per_epoch_in_a_fresh_order():
    n = 23
    x, t = make_data(n)
    x[:, 0] = np.arange(n)  # the first feature is the sample's id
    spy = Spy(make_net())
    Trainer(spy, SGD(lr=1e-3), (x, t), epochs=3, batch_size=5, rng=0, verbose=0).fit()
    sizes = [len(b) for b in spy.batches]
    assert sizes == [5, 5, 5, 5, 3] * 3
    orders = [np.concatenate(spy.batches[5 * e:5 * (e + 1)])[:, 0] for e in range(3)]
    for order in orders:
        np.testing.assert_array_equal(np.sort(order), np.arange(n))
    assert not np.array_equal(orders[0], orders[1])


def test_iterations_mode_runs_exactly_that_many_updates_over_shuffled_passes():
    n = 32
    x, t = make_data(n)
    x[:, 0] = np.arange(n)
    spy = Spy(make_net())
    history = Trainer(spy, SGD(lr=1e-3), (x, t), iterations=10, batch_size=8, rng=0,
                      verbose=0).fit()
    assert len(spy.batches) == 10 and len(history["iter_loss"]) == 10
    # Passes of 4 batches each; evaluated at the end of each pass and after the last step.
    assert history["iteration"] == [4, 8, 10]
    for p in range(2):
        ids = np.concatenate(spy.batches[4 * p:4 * (p + 1)])[:, 0]
        np.testing.assert_array_equal(np.sort(ids), np.arange(n))


def test_iterations_fewer_than_one_pass():
    x, t = make_data(100)
    history = Trainer(make_net(), SGD(lr=0.1), (x, t), iterations=3, batch_size=10, rng=0,
                      verbose=0).fit()
    assert history["iteration"] == [3] and len(history["iter_loss"]) == 3


def test_same_seed_gives_the_same_history():
    x, t = make_data(40)
    runs = [Trainer(make_net(), SGD(lr=0.1), (x, t), epochs=2, batch_size=8, rng=5, verbose=0).fit()
            for _ in range(2)]
    assert runs[0]["iter_loss"] == runs[1]["iter_loss"]


@pytest.mark.parametrize("data_dtype, net_dtype", [(np.float32, np.float64), (np.float64, np.float32)])
def test_batches_are_cast_to_the_network_dtype(data_dtype, net_dtype):
    x, t = make_data(20, dtype=data_dtype)
    xv, tv = make_data(10, seed=1, dtype=data_dtype)
    spy = Spy(make_net(dtype=net_dtype))
    history = Trainer(spy, SGD(lr=0.1), (x, t), (xv, tv), epochs=2, batch_size=5, rng=0,
                      verbose=0).fit()
    assert all(b.dtype == net_dtype for b in spy.batches)
    assert all(p.dtype == net_dtype for p in spy.net.params.values())
    assert np.isfinite(history["val_loss"]).all()


def test_train_eval_size_uses_a_fixed_subset():
    x, t = make_data(100)
    trainer = Trainer(make_net(), SGD(lr=0.1), (x, t), epochs=2, batch_size=10, rng=0, verbose=0,
                      eval_train=30)
    history = trainer.fit()
    # Accuracies over 30 samples are multiples of 1/30.
    for acc in history["train_acc"]:
        assert abs(acc * 30 - round(acc * 30)) < 1e-9


# --- divergence ------------------------------------------------------------------


def test_nan_loss_raises_naming_epoch_iteration_and_lr_and_keeps_history():
    x, t = make_data(64)
    # callbacks=[DivergenceStop(None)]: only NaN and inf stop training, as before the rule existed.
    trainer = Trainer(make_net(), SGD(lr=1e6), (x, t), epochs=50, batch_size=16, rng=0, verbose=0,
                      callbacks=[DivergenceStop(None)])
    with pytest.raises(TrainingDivergedError, match=r"epoch \d+, iteration \d+.*lr=1e\+06") as info:
        trainer.fit()
    err = info.value
    assert isinstance(err, FloatingPointError)
    assert err.history is trainer.history
    assert err.history["diverged"] is True
    assert not np.isfinite(err.history["iter_loss"][-1])
    assert len(err.history["iter_loss"]) == err.step == (err.epoch - 1) * 4 + err.iteration
    assert len(err.history["epoch"]) == err.epoch - 1
    assert "learning rate" in str(err)


# --- early stopping and checkpoints ------------------------------------------------


def test_early_stopping_restores_the_best_params_in_place():
    x, t = make_data(40)
    xv, tv = make_data(20, seed=1)
    net = make_net()
    arrays = dict(net.params)
    seen = {}
    # A min_delta no change can beat: epoch 1 stays best, training stops after epoch 3.
    history = Trainer(net, SGD(lr=0.5), (x, t), (xv, tv), epochs=10, batch_size=8, rng=0, verbose=0,
                      callbacks=[EarlyStopping(patience=2, min_delta=1e9), Snapshots(seen)]).fit()
    assert history["best_epoch"] == 1 and history["stopped_epoch"] == 3
    assert len(history["epoch"]) == 3
    for k, p in net.params.items():
        assert p is arrays[k]  # restored in place: layers still see the same arrays
        np.testing.assert_array_equal(p, seen[1][k])
    assert any(not np.array_equal(seen[3][k], seen[1][k]) for k in seen[1])
    assert net.loss(xv, tv) == pytest.approx(history["val_loss"][0])


def test_early_stopping_on_accuracy_and_without_restore():
    x, t = make_data(40)
    xv, tv = make_data(20, seed=1)
    net = make_net()
    seen = {}
    history = Trainer(net, SGD(lr=0.5), (x, t), (xv, tv), epochs=10, batch_size=8, rng=0, verbose=0,
                      callbacks=[EarlyStopping(1, monitor="val_acc", min_delta=2.0, restore_best=False),
                                 Snapshots(seen)]).fit()
    assert history["best_epoch"] == 1 and history["stopped_epoch"] == 2
    for k, p in net.params.items():
        np.testing.assert_array_equal(p, seen[2][k])


@pytest.mark.parametrize("as_path", [True, False])
def test_best_weights_holds_the_best_params_written_atomically(tmp_path, as_path):
    x, t = make_data(40)
    xv, tv = make_data(20, seed=1)
    path = tmp_path / "best.npz"
    net = make_net()
    seen = {}
    best_weights = BestWeights(os.fspath(path) if as_path else path, monitor="val_loss")
    history = Trainer(net, SGD(lr=0.5), (x, t), (xv, tv), epochs=3, batch_size=8, rng=0, verbose=0,
                      callbacks=[best_weights, Snapshots(seen)]).fit()
    assert sorted(os.listdir(tmp_path)) == ["best.npz"]  # no temporary file left behind
    other = make_net(seed=1)
    other.load_params(path)
    for k, p in other.params.items():
        np.testing.assert_array_equal(p, seen[history["best_epoch"]][k])
    best = int(np.argmin(history["val_loss"])) + 1
    assert history["best_epoch"] == best


def test_a_callback_setting_stop_training_stops_after_that_epoch():
    x, t = make_data(20)
    calls = []

    class StopAtTwo(Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            calls.append(epoch)
            trainer.stop_training = epoch == 2

    history = Trainer(make_net(), SGD(lr=0.1), (x, t), epochs=5, batch_size=10, rng=0, verbose=0,
                      callbacks=[StopAtTwo()]).fit()
    assert calls == [1, 2] and history["stopped_epoch"] == 2 and history["epoch"] == [1, 2]


# --- learning-rate schedules -----------------------------------------------------


@pytest.mark.parametrize("schedule, expected", [
    (StepLR(step_size=2, gamma=0.5), [0.1, 0.1, 0.05, 0.05, 0.025]),
    (ExponentialLR(gamma=0.9), [0.1 * 0.9 ** e for e in range(5)]),
    (lambda epoch: 0.1 / (1 + epoch), [0.1 / (1 + e) for e in range(5)]),
])
def test_lr_schedules_set_the_optimizer_lr_per_epoch(schedule, expected):
    x, t = make_data(20)
    opt = SGD(lr=0.1)
    history = Trainer(make_net(), opt, (x, t), epochs=5, batch_size=10, rng=0, verbose=0,
                      schedule=schedule).fit()
    np.testing.assert_allclose(history["lr"], expected)
    assert opt.lr == pytest.approx(expected[-1])


# --- verbose ---------------------------------------------------------------------


def test_verbose_2_prints_one_line_per_epoch(capsys):
    x, t = make_data(20)
    xv, tv = make_data(10, seed=1)
    Trainer(make_net(), SGD(lr=0.1), (x, t), (xv, tv), epochs=3, batch_size=10, rng=0, verbose=2).fit()
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("epoch 1/3") and "val_acc" in lines[0] and "lr 0.1" in lines[0]


def test_verbose_1_falls_back_to_lines_when_not_a_terminal(capsys):
    x, t = make_data(20)
    Trainer(make_net(), SGD(lr=0.1), (x, t), epochs=2, batch_size=10, rng=0, verbose=1).fit()
    out, err = capsys.readouterr()
    assert [line[:9] for line in out.strip().splitlines()] == ["epoch 1/2", "epoch 2/2"]
    assert err == ""


def test_verbose_0_is_silent(capsys):
    x, t = make_data(20)
    Trainer(make_net(), SGD(lr=0.1), (x, t), epochs=2, batch_size=10, rng=0, verbose=0).fit()
    assert capsys.readouterr() == ("", "")


# --- bad arguments -----------------------------------------------------------------


@pytest.mark.parametrize("kwargs, match", [
    ({"batch_size": 0}, "batch_size"),
    ({"epochs": 0}, "epochs"),
    ({"iterations": 0}, "iterations"),
    ({"eval_train": 0}, "eval_train"),
    ({"verbose": 3}, "verbose"),
    ({"schedule": "cosine"}, "schedule must be an LRScheduler or a callable"),
    ({"callbacks": [1]}, r"callbacks\[0\] must be a Callback"),
    ({"callbacks": [lambda e: 0.1]}, "a plain function of the epoch is a learning-rate schedule"),
    ({"metrics": ["accurcy"]}, "unknown metric 'accurcy'"),
    ({"resume": True}, "resume=True needs checkpoint=PATH"),
    ({"resume": "yes", "checkpoint": "c.npz"}, "resume must be True or False"),
])
def test_bad_arguments_raise_value_error_naming_them(kwargs, match):
    x, t = make_data(20)
    with pytest.raises(ValueError, match=match):
        Trainer(make_net(), SGD(lr=0.1), (x, t), **kwargs)


def test_mismatched_lengths_raise_value_error_naming_the_arrays():
    x, t = make_data(20)
    with pytest.raises(ValueError, match=r"train_data .*len\(x_train\)=20 and len\(t_train\)=19"):
        Trainer(make_net(), SGD(lr=0.1), (x, t[:19]))
    with pytest.raises(ValueError, match=r"val_data .*len\(x_val\)=5 and len\(t_val\)=4"):
        Trainer(make_net(), SGD(lr=0.1), (x, t), (x[:5], t[:4]))
    with pytest.raises(ValueError, match="val_data must be arrays .x, t. or a batch source"):
        Trainer(make_net(), SGD(lr=0.1), (x, t), 3)


def test_monitoring_a_key_nobody_logs_names_the_logged_ones():
    x, t = make_data(20)
    with pytest.raises(ValueError, match=r"monitor 'val_loss' is not among the logged values \['epoch'"):
        Trainer(make_net(), SGD(lr=0.1), (x, t), epochs=2, verbose=0, callbacks=[EarlyStopping(2)]).fit()


# --- bad data, caught before training ------------------------------------------------


@pytest.mark.parametrize("name, index, value", [
    ("x_train", (7, 2), np.nan), ("x_train", (0, 0), np.inf), ("t_train", (3, 1), np.nan),
    ("x_val", (4, 3), -np.inf), ("t_val", (2, 0), np.nan),
])
def test_nan_or_inf_in_the_data_is_a_value_error_naming_the_array_and_index(name, index, value):
    x, t = make_data(20)
    xv, tv = make_data(10, seed=1)
    arrays = {"x_train": x, "t_train": np.eye(2)[t], "x_val": xv, "t_val": np.eye(2)[tv]}
    arrays[name][index] = value
    net = make_net()
    before = {k: v.copy() for k, v in net.params.items()}
    with pytest.raises(ValueError, match=rf"Trainer: {name} holds 1 non-finite value\(s\), the first "
                                         rf"\({value}\) at index \({index[0]}, {index[1]}\)"):
        Trainer(net, SGD(lr=0.1), (arrays["x_train"], arrays["t_train"]), (arrays["x_val"], arrays["t_val"]),
                verbose=0)
    assert all(np.array_equal(before[k], net.params[k]) for k in before)  # nothing trained


# --- divergence ----------------------------------------------------------------------


def test_exploding_finite_loss_stops_training_naming_the_rule():
    x, t = make_data(64)
    trainer = Trainer(make_net(), Adam(lr=1e6), (x, t), epochs=50, batch_size=16, rng=0, verbose=0)
    with pytest.raises(TrainingDivergedError, match=r"more than divergence_factor=100 times the first "
                                                    r"mini-batch loss .*lr=1e\+06") as info:
        trainer.fit()
    err = info.value
    first = trainer.history["iter_loss"][0]
    assert np.isfinite(err.loss) and err.loss > 100 * first
    assert err.reference == first and err.factor == 100
    assert err.history["diverged"] is True and err.history["iter_loss"][-1] == err.loss
    assert all(v <= 100 * first for v in err.history["iter_loss"][:-1])
    assert err.step < 10  # stopped within a few steps, not after 50 epochs


def test_divergence_factor_none_lets_a_finite_exploding_loss_train_on():
    x, t = make_data(64)
    history = Trainer(make_net(), Adam(lr=1e6), (x, t), epochs=2, batch_size=16, rng=0, verbose=0,
                      callbacks=[DivergenceStop(None)]).fit()
    assert max(history["iter_loss"]) > 1e4 * history["iter_loss"][0]
    assert history["diverged"] is False


def test_divergence_check_alone():
    from bprop.optim.divergence import DivergenceCheck

    check = DivergenceCheck(10)
    assert check.diverged(0.0) is False and check.reference is None  # waits for a positive loss
    assert [check.diverged(v) for v in (2.0, 19.9, 20.0, 0.1)] == [False, False, False, False]
    assert check.reference == 2.0
    assert check.diverged(20.1) is True
    assert check.diverged(float("nan")) is True
    check.reset()
    assert check.reference is None
    off = DivergenceCheck(None)
    assert off.diverged(1.0) is False and off.diverged(1e300) is False and off.diverged(float("inf")) is True
    restored = DivergenceCheck(10)
    restored.load_state_dict({"factor": 10.0, "reference": 2.0})
    assert restored.diverged(25.0) is True


# --- batch norm and a last batch of one sample ----------------------------------------


def test_batchnorm_net_with_a_last_batch_of_one_sample_drops_it():
    x, t = make_data(21)  # 21 % 10 == 1
    net = make_net(use_batchnorm=True)
    spy = Spy(net)
    trainer = Trainer(spy, SGD(lr=0.1), (x, t), epochs=3, batch_size=10, rng=0, verbose=0)
    assert trainer.train_batches.drop_last is True and trainer.steps_per_epoch == 2
    history = trainer.fit()
    assert [len(b) for b in spy.batches] == [10] * 6
    assert history["iteration"] == [2, 4, 6]


def test_the_last_batch_is_dropped_only_when_the_model_needs_more_samples():
    x, t = make_data(21)

    def dropped(net, x, t, batch_size):
        return Trainer(net, SGD(lr=0.1), (x, t), batch_size=batch_size).train_batches.drop_last

    assert make_net().min_batch_size == 1 and make_net(use_batchnorm=True).min_batch_size == 2
    assert dropped(make_net(), x, t, 10) is False  # no batch norm
    bn = make_net(use_batchnorm=True)
    assert dropped(bn, x, t, 7) is False  # 21 % 7 == 0
    assert dropped(bn, x[:20], t[:20], 6) is False  # remainder 2
    with pytest.raises(ValueError, match="MultiLayerNet needs training batches of at least 2 samples, "
                                         "train_data has 1"):
        Trainer(bn, SGD(lr=0.1), (x[:1], t[:1]), batch_size=10)
    with pytest.raises(ValueError, match="train_data gives no batch"):
        Trainer(make_net(), SGD(lr=0.1), MiniBatchIterator(x, t, 50, drop_last=True))


# --- the parts, each alone -------------------------------------------------------------


def test_best_epoch_for_losses_and_accuracies_with_min_delta():
    from bprop.optim.early_stopping import BestEpoch

    best = BestEpoch("val_loss", min_delta=0.1)
    flags = [best.update({"epoch": e, "val_loss": v}) for e, v in enumerate([1.0, 0.95, 0.85, 0.9], 1)]
    assert flags == [True, False, True, False]
    assert (best.best_epoch, best.best_score, best.wait) == (3, 0.85, 1)
    acc = BestEpoch("train_acc")
    assert [acc.update({"epoch": e, "train_acc": v}) for e, v in enumerate([0.5, 0.5, 0.6], 1)] == [True, False, True]
    assert BestEpoch("val_seq_acc").mode == "max" and BestEpoch("val_perplexity").mode == "min"
    assert BestEpoch("val_acc", mode="min").mode == "min"
    with pytest.raises(ValueError, match="monitor must be the name of a logged value"):
        BestEpoch("")
    with pytest.raises(ValueError, match="mode must be 'min', 'max' or None"):
        BestEpoch("val_loss", mode="lower")
    with pytest.raises(ValueError, match="min_delta must be a finite number >= 0"):
        BestEpoch("val_loss", min_delta=-1)


class ArraysNet:
    """The least a watcher needs of a network: its arrays, and save_params."""

    def __init__(self):
        self.params = {"W1": np.zeros(3)}
        self.saved = []

    def save_params(self, path):
        self.saved.append((path, self.params["W1"].copy()))


def test_early_stopping_alone_stops_after_patience_and_restores_in_place():
    net = ArraysNet()
    arr = net.params["W1"]
    stop = EarlyStopping(patience=2, monitor="val_loss")
    decisions = []
    for epoch, loss in enumerate([3.0, 1.0, 2.0, 2.0], 1):
        net.params["W1"][...] = epoch
        decisions.append(stop.update({"epoch": epoch, "val_loss": loss}, net))
    assert decisions == [False, False, False, True]
    stop.restore(net)
    assert net.params["W1"] is arr and np.array_equal(arr, [2.0, 2.0, 2.0])
    state = stop.state_dict()
    again = EarlyStopping(patience=2)
    again.load_state_dict(state)
    assert again.best.best_epoch == 2 and again.best.wait == 2
    assert np.array_equal(again.best_arrays["W1"], [2.0, 2.0, 2.0])
    for bad, match in [(0, "patience must be an integer >= 1"), (1.5, "patience"), (True, "patience")]:
        with pytest.raises(ValueError, match=match):
            EarlyStopping(bad)


def test_best_weights_alone_writes_only_when_the_metric_improves():
    net = ArraysNet()
    best = BestWeights("best.npz", monitor="train_acc")
    for epoch, acc in enumerate([0.5, 0.7, 0.6, 0.8], 1):
        net.params["W1"][...] = epoch
        best.update({"epoch": epoch, "train_acc": acc}, net)
    assert [int(w[0]) for _, w in net.saved] == [1, 2, 4]
    assert best.best.best_epoch == 4 and best.best.best_score == 0.8


def test_progress_alone(capsys):
    from bprop.optim.progress import Progress

    record = {"epoch": 2, "train_loss": 0.5, "train_acc": 0.75, "lr": 0.01, "time": 1.25}
    for verbose in (0, 1, 2):
        progress = Progress(verbose)
        progress.start_epoch(2, 3, steps=4)
        for loss in (1.0, 0.5):
            progress.step(loss)
        progress.end_epoch(record, 3)
    out, err = capsys.readouterr()
    # verbose 1 off a terminal and verbose 2 both give the line; verbose 0 nothing.
    assert out.splitlines() == ["epoch 2/3  loss 0.5000  acc 0.7500  lr 0.01  1.2s"] * 2
    assert err == ""
    with pytest.raises(ValueError, match="verbose must be 0, 1 or 2"):
        Progress(True)


def test_max_grad_norm_clips_every_update_by_the_global_norm():
    from bprop.networks import MultiLayerNet
    from bprop.optim import SGD, Trainer

    rng = np.random.default_rng(0)
    x, t = rng.standard_normal((20, 4)), rng.integers(0, 3, 20)
    seen = []

    class Recording(SGD):
        def update(self, params, grads):
            seen.append(np.sqrt(sum(float(np.vdot(g, g)) for g in grads.values())))
            super().update(params, grads)

    net = MultiLayerNet(4, [5], 3, weight_init_std=3.0, rng=1)
    history = Trainer(net, Recording(lr=0.1), (x, t), epochs=2, batch_size=5, rng=2, verbose=0,
                      callbacks=[GradientClipping(0.05)]).fit()
    assert len(seen) == 8 and max(seen) <= 0.05 * (1 + 1e-6)
    assert history["clipped"] == [1.0, 1.0] and min(history["grad_norm"]) > 0.05


@pytest.mark.parametrize("bad", [0, -1.0, float("inf"), "1", True])
def test_clipping_norm_must_be_a_positive_number(bad):
    with pytest.raises(ValueError, match="GradientClipping: max_norm must be a finite number > 0"):
        GradientClipping(bad)


# --- the callback protocol ---------------------------------------------------------------


class Recorder(Callback):
    """Writes down every hook call with its arguments."""

    def __init__(self, calls):
        self.calls = calls

    def on_fit_begin(self, trainer):
        self.calls.append("fit_begin")

    def on_epoch_begin(self, trainer, epoch):
        self.calls.append(f"epoch_begin {epoch}")

    def on_batch_begin(self, trainer, step):
        self.calls.append(f"batch_begin {step}")

    def on_after_backward(self, trainer, loss, grads):
        self.calls.append(f"after_backward {trainer.steps_done} {sorted(grads) == sorted(trainer.model.params)}")

    def on_batch_end(self, trainer, step, loss):
        self.calls.append(f"batch_end {step}")

    def on_epoch_end(self, trainer, epoch, logs):
        self.calls.append(f"epoch_end {epoch} {sorted(logs)}")

    def on_fit_end(self, trainer):
        self.calls.append("fit_end")


def test_hooks_are_called_in_the_order_of_the_loop():
    x, t = make_data(10)
    calls = []
    Trainer(make_net(), SGD(lr=0.1), (x, t), epochs=2, batch_size=5, rng=0, verbose=0,
            callbacks=[Recorder(calls)]).fit()
    logs = sorted(["epoch", "iteration", "train_loss", "train_acc", "lr", "time"])
    step = ["batch_begin {0}", "after_backward {1} True", "batch_end {1}"]
    expected = ["fit_begin"]
    for epoch in (1, 2):
        expected.append(f"epoch_begin {epoch}")
        for s in (2 * epoch - 2, 2 * epoch - 1):
            expected += [line.format(s, s + 1) for line in step]
        expected.append(f"epoch_end {epoch} {logs}")
    assert calls == expected + ["fit_end"]


def test_fit_end_is_called_when_training_fails_and_callbacks_run_in_their_order():
    x, t = make_data(10)
    calls = []

    class Fails(Callback):
        def on_batch_end(self, trainer, step, loss):
            calls.append("fails")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        Trainer(make_net(), SGD(lr=0.1), (x, t), epochs=2, batch_size=5, rng=0, verbose=0,
                callbacks=[Recorder(calls), Fails()]).fit()
    assert calls == ["fit_begin", "epoch_begin 1", "batch_begin 0", "after_backward 1 True", "batch_end 1",
                     "fails", "fit_end"]


def test_the_loop_adds_its_own_parts_around_the_callers_callbacks(tmp_path):
    class Stateful(Spy):
        def reset_state(self):
            pass

    x, t = make_data(10)
    mine = Recorder([])
    trainer = Trainer(make_net(), SGD(lr=0.1), (x, t), schedule=lambda e: 0.1, callbacks=[mine],
                      checkpoint=tmp_path / "c.npz")
    kinds = [type(cb).__name__ for cb in trainer.callbacks]
    assert kinds == ["DivergenceStop", "LambdaLR", "Recorder", "RecordHistory", "ProgressBar", "Checkpoint"]
    # a model with reset_state gets the reset, right after the divergence check
    kinds = [type(cb).__name__ for cb in Trainer(Stateful(make_net()), SGD(lr=0.1), (x, t)).callbacks]
    assert kinds == ["DivergenceStop", "ResetState", "RecordHistory", "ProgressBar"]
    own = DivergenceStop(None)
    trainer = Trainer(make_net(), SGD(lr=0.1), (x, t), callbacks=[own])
    assert [cb for cb in trainer.callbacks if isinstance(cb, DivergenceStop)] == [own]


# --- metrics and batch sources -------------------------------------------------------------


def test_metrics_by_name_and_as_objects_go_into_the_history_with_their_prefix():
    from bprop.optim import Loss, Perplexity

    x, t = make_data(40)
    xv, tv = make_data(20, seed=1)
    net = make_net()
    history = Trainer(net, SGD(lr=0.1), (x, t), (xv, tv), epochs=2, batch_size=10, rng=0, verbose=0,
                      metrics=["accuracy", Loss(), Perplexity()]).fit()
    assert history["val_acc"][-1] == net.accuracy(xv, tv)
    assert history["val_loss"][-1] == pytest.approx(net.loss(xv, tv), rel=1e-12)
    assert history["val_perplexity"][-1] == pytest.approx(np.exp(history["val_loss"][-1]), rel=1e-12)
    assert history["train_loss"][-1] == pytest.approx(net.loss(x, t), rel=1e-12)


def test_eval_train_false_measures_the_epochs_own_mini_batch_losses():
    x, t = make_data(30)
    spy = Spy(make_net())
    history = Trainer(spy, SGD(lr=0.1), (x, t), epochs=2, batch_size=10, rng=0, verbose=0,
                      eval_train=False).fit()
    # loss metrics only (no second pass for accuracy): the mean over samples of the batch losses
    assert "train_acc" not in history
    assert history["train_loss"] == pytest.approx([np.mean(spy.losses[:3]), np.mean(spy.losses[3:])], rel=1e-12)


def test_a_regression_network_is_measured_by_mean_squared_error():
    from bprop.layers import Affine
    from bprop.networks import Sequential

    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 3))
    y = x @ np.array([[1.0], [-2.0], [0.5]]) + 0.3
    net = Sequential([Affine(3, 1, rng=0)], loss="identity")
    assert net.default_metrics == ("loss", "mse")
    history = Trainer(net, SGD(lr=0.1), (x, y), (x, y), epochs=30, batch_size=16, rng=0, verbose=0).fit()
    assert history["val_mse"][-1] == pytest.approx(np.mean((net.predict(x) - y) ** 2), rel=1e-12)
    assert history["val_mse"][-1] < 1e-3 < history["val_mse"][0]


def test_any_iterable_of_batches_with_a_length_is_a_batch_source():
    x, t = make_data(30)

    class Fixed:
        """Three batches in a fixed order, nothing random: no state_dict needed."""

        def __iter__(self):
            return ((x[i:i + 10], t[i:i + 10]) for i in range(0, 30, 10))

        def __len__(self):
            return 3

    spy = Spy(make_net())
    history = Trainer(spy, SGD(lr=0.1), Fixed(), Fixed(), epochs=2, verbose=0).fit()
    assert [b[0, 0] for b in spy.batches] == [x[0, 0], x[10, 0], x[20, 0]] * 2
    assert history["iteration"] == [3, 6] and "train_acc" not in history and len(history["val_acc"]) == 2
    with pytest.raises(ValueError, match="eval_train needs train_data as arrays"):
        Trainer(make_net(), SGD(lr=0.1), Fixed(), eval_train=True)
