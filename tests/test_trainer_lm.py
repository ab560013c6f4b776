"""A language model trained with the Trainer over BPTTBatches: truncated BPTT with the state
carried from window to window and reset at every epoch (ResetState), the loss per predicted
id and its perplexity, clipping, schedules, divergence, and evaluation from a zero state."""

import math

import numpy as np
import pytest

from bprop.datasets import BPTTBatches
from bprop.networks import RnnLM
from bprop.optim import SGD, Adam, GradientClipping, ResetState, Trainer, TrainingDivergedError


def corpus(n=401, vocab=5, seed=0):
    return np.random.default_rng(seed).integers(0, vocab, n)


def lm_trainer(net, optimizer, ids=None, batch_size=4, time_size=25, **kwargs):
    """A Trainer of ``net`` over ``ids`` (default: 401 random ids, 100 per stream), silent."""
    ids = corpus() if ids is None else ids
    return Trainer(net, optimizer, BPTTBatches(ids, batch_size, time_size), verbose=0, **kwargs)


def test_evaluation_carries_the_state_across_windows():
    # with the state carried, cutting the streams into windows changes nothing
    net = RnnLM(5, 4, 6, num_layers=2, rng=0)
    ids = corpus()
    trainer = lm_trainer(net, SGD(lr=0.1), ids)
    whole = trainer.evaluate(BPTTBatches(ids, 4, 100))  # one window per stream
    net.reset_state()
    x, t = next(iter(BPTTBatches(ids, 4, 100)))
    loss = net.loss(x, t)  # the mean over every id, which evaluate weights each window's by
    assert whole == {"loss": pytest.approx(loss, rel=1e-12), "perplexity": pytest.approx(math.exp(loss), rel=1e-12)}
    for time_size in (1, 7, 30):
        assert trainer.evaluate(BPTTBatches(ids, 4, time_size))["loss"] == pytest.approx(whole["loss"], rel=1e-12)


def test_evaluation_starts_from_zeros_and_puts_the_training_state_back():
    net = RnnLM(5, 4, 6, dropout=0.5, rng=0)
    ids = corpus()
    trainer = lm_trainer(net, SGD(lr=0.1), ids)
    batches = BPTTBatches(ids, 4, 10)
    first = trainer.evaluate(batches)["loss"]
    net.predict(ids[:40].reshape(4, 10), train=True)
    h = net.lstms[0].h.copy()
    assert trainer.evaluate(batches)["loss"] == first  # from zeros, whatever the model carried
    np.testing.assert_array_equal(net.lstms[0].h, h)


def test_the_state_is_carried_across_windows_and_reset_at_every_epoch(monkeypatch):
    net = RnnLM(5, 4, 6, rng=0)
    trainer = lm_trainer(net, SGD(lr=0.1), epochs=3)
    assert [type(cb) for cb in trainer.callbacks].count(ResetState) == 1  # added for a model with reset_state
    starts = []  # for every window: did it start from a zero state?
    original = net.loss_and_gradient

    def loss_and_gradient(x, t):
        starts.append(net.lstms[0].h is None)
        if not starts[-1]:
            assert net.lstms[0].h.shape == (4, 6)
        return original(x, t)

    monkeypatch.setattr(net, "loss_and_gradient", loss_and_gradient)
    trainer.fit()
    assert len(trainer.train_batches) == 4  # 100 ids per stream
    assert starts == [True, False, False, False] * 3


def test_training_learns_a_periodic_text_and_records_loss_perplexity_clipping_and_time():
    ids = np.tile(np.array([0, 1, 2, 3, 2, 1]), 100)
    net = RnnLM(4, 8, 16, rng=0)
    val = BPTTBatches(ids[500:], 2, 20)
    trainer = Trainer(net, Adam(lr=0.02), BPTTBatches(ids[:500], 4, 10), val, epochs=6,
                      callbacks=[GradientClipping(5.0)], verbose=0)
    history = trainer.fit()
    per_epoch = {"epoch", "iteration", "train_loss", "train_perplexity", "val_loss", "val_perplexity",
                 "grad_norm", "clipped", "lr", "time"}
    assert set(history) == per_epoch | {"iter_loss"} | set(history.SCALARS)
    assert all(len(history[key]) == 6 for key in per_epoch)
    assert history["epoch"] == [1, 2, 3, 4, 5, 6] and trainer.epochs_done == 6
    assert history["val_loss"][-1] < 0.1 < math.log(4) < history["train_loss"][0] + 0.5
    for key in ("train", "val"):
        np.testing.assert_allclose(history[f"{key}_perplexity"], np.exp(history[f"{key}_loss"]), rtol=1e-12)
    assert history["val_loss"][-1] == trainer.evaluate(val)["loss"]  # the last epoch's model, from zeros
    assert len(history["iter_loss"]) == 6 * len(trainer.train_batches) == 6 * 13
    assert history["iteration"] == [13 * e for e in range(1, 7)]
    assert all(0 <= c <= 1 for c in history["clipped"]) and all(g > 0 for g in history["grad_norm"])
    assert history["lr"] == [0.02] * 6
    assert all(0 < a < b for a, b in zip(history["time"], history["time"][1:]))  # seconds since the start


def test_train_loss_is_the_mean_window_loss_weighted_by_the_ids_of_each_window():
    # 100 ids per stream in windows of 30: 30, 30, 30 and 10 steps
    trainer = lm_trainer(RnnLM(5, 4, 6, rng=0), SGD(lr=0.5), time_size=30, epochs=1)
    history = trainer.fit()
    losses, steps = np.array(history["iter_loss"]), np.array([30, 30, 30, 10])
    assert history["train_loss"][0] == pytest.approx(np.sum(losses * steps) / 100, rel=1e-12)
    assert history["train_loss"][0] != pytest.approx(np.mean(losses), rel=1e-6)
    assert history["train_perplexity"][0] == pytest.approx(math.exp(history["train_loss"][0]), rel=1e-12)


def test_clipping_caps_every_step_at_max_norm():
    net = RnnLM(5, 4, 6, rng=0)
    before = net.params.flat.copy()
    lr, max_norm = 0.5, 1e-3
    trainer = lm_trainer(net, SGD(lr=lr), corpus(101), epochs=1, callbacks=[GradientClipping(max_norm)])
    history = trainer.fit()  # one window: one SGD step of length lr * max_norm
    assert len(trainer.train_batches) == 1 and history["clipped"] == [1.0] and history["grad_norm"][0] > max_norm
    # clip_grads scales by max_norm / (norm + 1e-6), as PyTorch does: a hair under max_norm
    assert np.linalg.norm(net.params.flat - before) == pytest.approx(lr * max_norm, rel=1e-3)


def test_a_schedule_sets_the_rate_of_every_epoch():
    trainer = lm_trainer(RnnLM(5, 4, 6, rng=0), SGD(lr=1.0), time_size=50, epochs=3,
                         schedule=lambda epoch: 0.1 / (epoch + 1))
    assert trainer.fit()["lr"] == pytest.approx([0.1, 0.05, 0.1 / 3])


def test_a_non_finite_loss_stops_training_with_the_history_so_far(monkeypatch):
    net = RnnLM(5, 4, 6, rng=0)
    trainer = lm_trainer(net, SGD(lr=0.1), epochs=2)
    original, calls = net.loss_and_gradient, []

    def loss_and_gradient(x, t):
        calls.append(1)
        loss, grads = original(x, t)
        return (float("nan") if len(calls) == 6 else loss), grads

    monkeypatch.setattr(net, "loss_and_gradient", loss_and_gradient)
    before = net.params.flat.copy()
    with pytest.raises(TrainingDivergedError, match="at epoch 2, iteration 2 \\(6 iterations in all\\)") as err:
        trainer.fit()
    assert trainer.history["epoch"] == [1] and err.value.history is trainer.history
    assert len(trainer.history["iter_loss"]) == 6 and math.isnan(trainer.history["iter_loss"][-1])
    assert not np.array_equal(net.params.flat, before) and trainer.steps_done == 6
