"""LanguageModelTrainer and evaluate_lm: truncated BPTT, state carried and reset, clipping, history."""

import math

import numpy as np
import pytest

from bprop.networks import RnnLM
from bprop.optim import SGD, Adam, TrainingDivergedError
from bprop.optim.lm_training import LanguageModelTrainer, evaluate_lm, perplexity


def corpus(n=401, vocab=5, seed=0):
    return np.random.default_rng(seed).integers(0, vocab, n)


def test_evaluation_carries_the_state_across_windows():
    # with the state carried, cutting the streams into windows changes nothing
    net = RnnLM(5, 4, 6, num_layers=2, rng=0)
    ids = corpus()
    whole = evaluate_lm(net, ids, batch_size=4, time_size=100)  # one window per stream
    for time_size in (1, 7, 30):
        assert evaluate_lm(net, ids, batch_size=4, time_size=time_size) == pytest.approx(whole, rel=1e-12)


def test_evaluation_starts_from_zeros_and_puts_the_training_state_back():
    net = RnnLM(5, 4, 6, dropout=0.5, rng=0)
    ids = corpus()
    first = evaluate_lm(net, ids, 4, 10)
    net.predict(ids[:40].reshape(4, 10), train=True)
    h = net.lstms[0].h.copy()
    assert evaluate_lm(net, ids, 4, 10) == first  # from zeros, whatever the model carried
    np.testing.assert_array_equal(net.lstms[0].h, h)


def test_the_state_is_carried_across_windows_and_reset_at_every_epoch(monkeypatch):
    net = RnnLM(5, 4, 6, rng=0)
    trainer = LanguageModelTrainer(net, SGD(lr=0.1), corpus(), batch_size=4, time_size=25, epochs=3)
    starts = []  # for every window: did it start from a zero state?
    original = net.loss_and_gradient

    def loss_and_gradient(x, t):
        starts.append(net.lstms[0].h is None)
        if not starts[-1]:
            assert net.lstms[0].h.shape == (4, 6)
        return original(x, t)

    monkeypatch.setattr(net, "loss_and_gradient", loss_and_gradient)
    trainer.fit()
    assert len(trainer.batches) == 4  # 100 ids per stream
    assert starts == [True, False, False, False] * 3


def test_training_learns_a_periodic_text_and_records_nats_and_perplexity():
    ids = np.tile(np.array([0, 1, 2, 3, 2, 1]), 100)
    net = RnnLM(4, 8, 16, rng=0)
    trainer = LanguageModelTrainer(net, Adam(lr=0.02), ids[:500], ids[500:], batch_size=4, time_size=10,
                                   epochs=6, max_grad_norm=5.0, eval_batch_size=2, eval_time_size=20)
    history = trainer.fit()
    assert history["epoch"] == [1, 2, 3, 4, 5, 6] and trainer.epochs_done == 6
    assert history["val_loss"][-1] < 0.1 < math.log(4) < history["train_loss"][0] + 0.5
    for key in ("train", "val"):
        np.testing.assert_allclose(history[f"{key}_perplexity"], np.exp(history[f"{key}_loss"]))
    assert len(history["iter_loss"]) == 6 * len(trainer.batches) == 6 * 13
    assert all(0 <= c <= 1 for c in history["clipped"]) and all(g > 0 for g in history["grad_norm"])
    assert history["lr"] == [0.02] * 6 and len(history["time"]) == 6


def test_clipping_caps_every_step_at_max_grad_norm():
    net = RnnLM(5, 4, 6, rng=0)
    before = net.params.flat.copy()
    lr, max_norm = 0.5, 1e-3
    trainer = LanguageModelTrainer(net, SGD(lr=lr), corpus(101), batch_size=4, time_size=25, epochs=1,
                                   max_grad_norm=max_norm)
    history = trainer.fit()  # one window: one SGD step of length lr * max_norm
    assert len(trainer.batches) == 1 and history["clipped"] == [1.0] and history["grad_norm"][0] > max_norm
    # clip_grads scales by max_norm / (norm + 1e-6), as PyTorch does: a hair under max_norm
    assert np.linalg.norm(net.params.flat - before) == pytest.approx(lr * max_norm, rel=1e-3)


def test_lr_schedule_sets_the_rate_of_every_epoch():
    opt = SGD(lr=1.0)
    trainer = LanguageModelTrainer(RnnLM(5, 4, 6, rng=0), opt, corpus(), batch_size=4, time_size=50,
                                   epochs=3, lr_schedule=lambda epoch: 0.1 / (epoch + 1))
    assert trainer.fit()["lr"] == pytest.approx([0.1, 0.05, 0.1 / 3])


def test_a_callback_can_stop_training_after_an_epoch():
    def stop_after_two(trainer, record):
        trainer.stop_training = record["epoch"] == 2

    trainer = LanguageModelTrainer(RnnLM(5, 4, 6, rng=0), SGD(lr=0.1), corpus(), batch_size=4, time_size=50,
                                   epochs=5, callbacks=[stop_after_two])
    assert trainer.fit()["epoch"] == [1, 2] and trainer.epochs_done == 2
    assert trainer.fit()["epoch"] == [1, 2, 3, 4, 5]  # fit again: carries on to the end


def test_a_non_finite_loss_stops_training_with_the_history_so_far(monkeypatch):
    net = RnnLM(5, 4, 6, rng=0)
    trainer = LanguageModelTrainer(net, SGD(lr=0.1), corpus(), batch_size=4, time_size=25, epochs=2)
    original, calls = net.loss_and_gradient, []

    def loss_and_gradient(x, t):
        calls.append(1)
        loss, grads = original(x, t)
        return (float("nan") if len(calls) == 6 else loss), grads

    monkeypatch.setattr(net, "loss_and_gradient", loss_and_gradient)
    with pytest.raises(TrainingDivergedError, match="epoch 2, iteration 2") as err:
        trainer.fit()
    assert trainer.history["epoch"] == [1] and len(trainer.history["iter_loss"]) == 4
    assert len(err.value.history["iter_loss"]) == 6 and math.isnan(err.value.history["iter_loss"][-1])


def test_progress_lines_at_verbose_2(capsys):
    trainer = LanguageModelTrainer(RnnLM(5, 4, 6, rng=0), SGD(lr=0.1), corpus(), corpus(201, seed=1),
                                   batch_size=4, time_size=50, epochs=2, max_grad_norm=1.0, verbose=2,
                                   eval_batch_size=4, eval_time_size=50)
    trainer.fit()
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[1].startswith("epoch 2/2  loss ")
    assert "(ppl " in lines[1] and "val_loss" in lines[1] and "clipped" in lines[1]


@pytest.mark.parametrize("kwargs, match", [
    (dict(epochs=0), "epochs must be an integer >= 1"),
    (dict(max_grad_norm=0), "max_grad_norm must be a finite number > 0 or None, got 0"),
    (dict(max_grad_norm=float("inf")), "max_grad_norm must be a finite number > 0"),
    (dict(batch_size=500), "401 ids are too few for batch_size=500"),
    (dict(val_ids=np.arange(10), eval_batch_size=64), "10 ids are too few for batch_size=64"),
    (dict(verbose=3), "verbose must be 0, 1 or 2"),
])
def test_bad_settings_are_refused_before_training(kwargs, match):
    settings = dict(batch_size=4, time_size=10)
    settings.update(kwargs)
    with pytest.raises(ValueError, match=match):
        LanguageModelTrainer(RnnLM(5, 4, 6, rng=0), SGD(lr=0.1), corpus(), **settings)


def test_perplexity_is_exp_of_the_loss_and_inf_when_that_overflows():
    assert perplexity(math.log(65)) == pytest.approx(65)
    assert perplexity(1e4) == math.inf
