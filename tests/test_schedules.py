"""Learning-rate schedules: the whole run's rates against PyTorch's schedulers (stored in
tests/data/schedule_reference.json by tests/data/make_schedule_reference.py, so torch is
not needed here), values worked out by hand, the hooks driven as the Trainer's loop drives
them, resuming from a state, ReduceLROnPlateau's bookkeeping, and every bad argument."""

import json
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from bprop.optim.schedules import (
    SCHEDULES,
    CosineAnnealingLR,
    ExponentialLR,
    LambdaLR,
    LinearLR,
    LRScheduler,
    MultiStepLR,
    OneCycleLR,
    ReduceLROnPlateau,
    StepLR,
    WarmupCosine,
    get_schedule,
    make_schedule,
)

REFERENCE = json.loads((Path(__file__).parent / "data" / "schedule_reference.json").read_text())
CLASSES = {cls.__name__: cls for cls in SCHEDULES.values()}
#: closed form against PyTorch's recursion: the drift measured is below 1e-13
RTOL = 1e-12


def make_trainer(lr=0.1, epochs=6, steps_per_epoch=5):
    """What a schedule may read of the Trainer, and nothing more."""
    return SimpleNamespace(optimizer=SimpleNamespace(lr=lr), steps_done=0, epochs_done=0,
                           steps_per_epoch=steps_per_epoch, total_steps=epochs * steps_per_epoch,
                           n_epochs=epochs)


def drive(schedule, trainer, first_epoch=1, last_epoch=None, val_losses=None):
    """Call the hooks as the Trainer's loop does, from ``first_epoch`` to ``last_epoch``;
    return the rate of every update and the rate after every epoch's end."""
    last_epoch = trainer.n_epochs if last_epoch is None else last_epoch
    update_lrs, epoch_end_lrs = [], []
    schedule.on_fit_begin(trainer)
    for epoch in range(first_epoch, last_epoch + 1):
        schedule.on_epoch_begin(trainer, epoch)
        for _ in range(trainer.steps_per_epoch):
            step = trainer.steps_done
            schedule.on_batch_begin(trainer, step)
            update_lrs.append(trainer.optimizer.lr)
            schedule.on_after_backward(trainer, 1.0, {})
            trainer.steps_done += 1
            schedule.on_batch_end(trainer, step + 1, 1.0)
        trainer.epochs_done = epoch
        val_loss = 1.0 if val_losses is None else val_losses[epoch - 1]
        schedule.on_epoch_end(trainer, epoch, {"epoch": epoch, "train_loss": 1.0, "val_loss": val_loss,
                                               "val_acc": 0.5})
        epoch_end_lrs.append(trainer.optimizer.lr)
    schedule.on_fit_end(trainer)
    return update_lrs, epoch_end_lrs


def case_id(case):
    return case["class"] + "(" + ",".join(f"{k}={v}" for k, v in case["kwargs"].items()) + ")"


# --- the whole run against PyTorch ------------------------------------------------------

@pytest.mark.parametrize("case", REFERENCE["cases"], ids=case_id)
def test_schedule_matches_pytorch_over_the_whole_run(case):
    kwargs = dict(case["kwargs"])
    if case["base_lr"] is not None:
        kwargs["base_lr"] = case["base_lr"]
    schedule = CLASSES[case["class"]](**kwargs)
    ours = [schedule.lr_at(t) for t in range(len(case["lrs"]))]
    np.testing.assert_allclose(ours, case["lrs"], rtol=RTOL, atol=0)


def test_reference_covers_every_schedule_of_the_registry():
    covered = {case["class"] for case in REFERENCE["cases"]} | {"ReduceLROnPlateau"}
    assert covered == set(CLASSES)
    assert len(REFERENCE["plateau"]) >= 5
    assert min(len(case["lrs"]) for case in REFERENCE["cases"] if case["class"] != "LinearLR") > 90


@pytest.mark.parametrize("case", [c for c in REFERENCE["cases"] if c["class"] == "OneCycleLR"], ids=case_id)
def test_onecycle_matches_pytorch_bit_for_bit(case):
    schedule = OneCycleLR(**case["kwargs"])
    assert [schedule.lr_at(t) for t in range(len(case["lrs"]))] == case["lrs"]


@pytest.mark.parametrize("case", REFERENCE["plateau"],
                         ids=lambda c: ",".join(f"{k}={v}" for k, v in c["kwargs"].items()))
def test_plateau_driven_by_hooks_matches_pytorch_epoch_by_epoch(case):
    metrics = case["metrics"]
    trainer = make_trainer(lr=case["base_lr"], epochs=len(metrics), steps_per_epoch=1)
    _, lrs = drive(ReduceLROnPlateau(**case["kwargs"]), trainer, val_losses=metrics)
    assert lrs == case["lrs"]
    assert len(set(lrs)) > 2  # the run does reduce, more than once


# --- values by hand ---------------------------------------------------------------------

def test_steplr_by_hand():
    s = StepLR(3, gamma=0.5, base_lr=0.8)
    assert [s.lr_at(t) for t in (0, 2, 3, 5, 6, 8, 9)] == [0.8, 0.8, 0.4, 0.4, 0.2, 0.2, 0.1]


def test_multisteplr_by_hand():
    s = MultiStepLR([2, 5], gamma=0.1, base_lr=1.0)
    assert [s.lr_at(t) for t in (0, 1, 2, 4)] == [1.0, 1.0, 0.1, 0.1]
    assert s.lr_at(5) == pytest.approx(0.01, rel=1e-15) and s.lr_at(50) == s.lr_at(5)


def test_exponentiallr_by_hand():
    s = ExponentialLR(0.5, base_lr=1.0)
    assert [s.lr_at(t) for t in range(4)] == [1.0, 0.5, 0.25, 0.125]


def test_linearlr_by_hand_with_pytorch_defaults():
    s = LinearLR(base_lr=0.3)
    assert s.lr_at(0) == pytest.approx(0.1, rel=1e-15)
    assert s.lr_at(1) == pytest.approx(0.3 * 7 / 15, rel=1e-15)
    assert s.lr_at(5) == pytest.approx(0.3, rel=1e-15) and s.lr_at(100) == s.lr_at(5)


def test_cosine_by_hand_reaches_eta_min_at_t_max_and_climbs_back_after():
    s = CosineAnnealingLR(4, eta_min=0.1, base_lr=1.1)
    assert s.lr_at(0) == pytest.approx(1.1, rel=1e-15)
    assert s.lr_at(2) == pytest.approx(0.6, rel=1e-15)
    assert s.lr_at(4) == 0.1
    assert s.lr_at(8) == pytest.approx(1.1, rel=1e-15)


def test_onecycle_by_hand_starts_at_max_lr_over_div_factor():
    s = OneCycleLR(1.0, total_steps=20, pct_start=0.25)   # rises over steps 0..4, falls over 4..19
    assert s.base_lr == 0.04 and s.lr_at(0) == pytest.approx(0.04, rel=1e-14)  # the cosine rounds
    assert s.lr_at(2) == pytest.approx(0.52, rel=1e-15)
    assert s.lr_at(4) == 1.0
    assert s.lr_at(19) == pytest.approx(0.04 / 1e4, rel=1e-12)
    linear = OneCycleLR(1.0, total_steps=20, pct_start=0.25, anneal_strategy="linear")
    assert linear.lr_at(1) == pytest.approx(0.04 + 0.96 / 4, rel=1e-15)


def test_onecycle_three_phase_comes_back_to_initial_then_to_min():
    s = OneCycleLR(1.0, total_steps=21, pct_start=0.5 - 1 / 42, three_phase=True, anneal_strategy="linear")
    # phases end at steps 9, 18 and 20
    assert s.lr_at(9) == pytest.approx(1.0, rel=1e-12)
    assert s.lr_at(18) == pytest.approx(0.04, rel=1e-12)
    assert s.lr_at(20) == pytest.approx(4e-6, rel=1e-12)


def test_warmup_cosine_by_hand_counts_the_update_it_is_for():
    s = WarmupCosine(4, 12, base_lr=1.0)
    assert [s.lr_at(t) for t in range(5)] == [0.25, 0.5, 0.75, 1.0, 1.0]
    assert s.lr_at(8) == pytest.approx(0.5, rel=1e-15)
    assert s.lr_at(12) == 0.0


def test_warmup_cosine_without_warmup_is_the_plain_cosine():
    a, b = WarmupCosine(0, 50, eta_min=0.01, base_lr=0.2), CosineAnnealingLR(50, eta_min=0.01, base_lr=0.2)
    assert [a.lr_at(t) for t in range(51)] == [b.lr_at(t) for t in range(51)]


def test_lambdalr_gives_the_absolute_rate_of_its_function():
    s = LambdaLR(lambda step: 0.01 * (step + 1), interval="step")
    assert s.lr_at(4) == pytest.approx(0.05, rel=1e-15)
    assert s.base_lr is None


# --- the hooks --------------------------------------------------------------------------

def test_epoch_interval_sets_the_rate_at_each_epoch_begin():
    trainer = make_trainer(lr=0.1, epochs=6, steps_per_epoch=5)
    schedule = StepLR(2, gamma=0.5)
    lrs, _ = drive(schedule, trainer)
    assert schedule.base_lr == 0.1
    assert lrs == [0.1] * 10 + [0.05] * 10 + [0.025] * 10


def test_step_interval_sets_the_rate_before_every_update():
    trainer = make_trainer(lr=0.1, epochs=3, steps_per_epoch=4)
    schedule = StepLR(5, gamma=0.5, interval="step")
    lrs, _ = drive(schedule, trainer)
    assert lrs == [0.1] * 5 + [0.05] * 5 + [0.025] * 2
    assert lrs == [schedule.lr_at(s) for s in range(12)]


def test_epoch_schedule_leaves_the_rate_alone_between_epoch_begins():
    trainer = make_trainer()
    schedule = ExponentialLR(0.5)
    schedule.on_fit_begin(trainer)
    schedule.on_epoch_begin(trainer, 2)
    assert trainer.optimizer.lr == 0.05
    trainer.optimizer.lr = 0.3  # e.g. set by hand or by another callback
    schedule.on_batch_begin(trainer, 7)
    schedule.on_batch_end(trainer, 8, 1.0)
    assert trainer.optimizer.lr == 0.3


def test_base_lr_is_read_at_the_first_fit_and_kept_for_the_next():
    trainer = make_trainer(lr=0.1, epochs=4, steps_per_epoch=1)
    schedule = StepLR(1, gamma=0.5)
    first, _ = drive(schedule, trainer)
    assert trainer.optimizer.lr == 0.0125
    trainer.steps_done = trainer.epochs_done = 0  # a new run with the same callback
    second, _ = drive(schedule, trainer)
    assert first == second == [0.1, 0.05, 0.025, 0.0125]


def test_given_base_lr_wins_over_the_optimizer_rate():
    trainer = make_trainer(lr=0.1)
    lrs, _ = drive(CosineAnnealingLR(6, base_lr=0.4), trainer, last_epoch=1)
    assert lrs[0] == 0.4


def test_onecycle_ignores_the_optimizer_rate():
    trainer = make_trainer(lr=123.0, epochs=2, steps_per_epoch=10)
    lrs, _ = drive(OneCycleLR(0.5, total_steps=20), trainer)
    assert lrs[0] == pytest.approx(0.02, rel=1e-14) and max(lrs) == 0.5


@pytest.mark.parametrize("schedule", [OneCycleLR(0.5, total_steps=29), WarmupCosine(5, 29)], ids=repr)
def test_schedule_refuses_a_run_longer_than_its_total_steps(schedule):
    with pytest.raises(ValueError, match=r"30 steps \(trainer.total_steps\).*total_steps=29"):
        schedule.on_fit_begin(make_trainer(epochs=6, steps_per_epoch=5))
    with pytest.raises(ValueError, match="t=30 is past the end"):
        schedule.lr_at(30)
    schedule.on_fit_begin(make_trainer(epochs=29, steps_per_epoch=1))  # as long: fine


def test_warmup_cosine_by_epoch_counts_the_trainer_epochs():
    schedule = WarmupCosine(1, 5, interval="epoch")
    with pytest.raises(ValueError, match=r"6 epochs \(trainer.n_epochs\).*total_steps=5"):
        schedule.on_fit_begin(make_trainer(epochs=6, steps_per_epoch=100))
    lrs, _ = drive(WarmupCosine(1, 5, interval="epoch"), make_trainer(lr=1.0, epochs=5, steps_per_epoch=2))
    assert lrs[::2] == [WarmupCosine(1, 5, base_lr=1.0).lr_at(t) for t in range(5)]


def test_eta_min_above_the_optimizer_rate_is_refused_at_fit_begin():
    for schedule in (CosineAnnealingLR(10, eta_min=0.5), WarmupCosine(2, 10, eta_min=0.5)):
        with pytest.raises(ValueError, match=r"eta_min must be <= base_lr=0.1, got 0.5"):
            schedule.on_fit_begin(make_trainer(lr=0.1))
        assert schedule.base_lr is None


def test_lambdalr_wraps_a_plain_epoch_function():
    trainer = make_trainer(lr=1.0, epochs=5, steps_per_epoch=2)
    lrs, _ = drive(LambdaLR(lambda epoch: 0.1 * 0.5 ** (epoch // 2)), trainer)
    assert lrs[::2] == [0.1, 0.1, 0.05, 0.05, 0.025]


# --- state: a resumed run continues as the uninterrupted one ----------------------------

RESUMABLE = [
    lambda: StepLR(2, gamma=0.5),
    lambda: MultiStepLR([2, 4], gamma=0.3),
    lambda: ExponentialLR(0.8),
    lambda: LinearLR(0.2, 1.0, 4),
    lambda: CosineAnnealingLR(6, eta_min=0.001),
    lambda: OneCycleLR(0.5, total_steps=30, three_phase=True),
    lambda: WarmupCosine(7, 30, eta_min=0.002),
    lambda: StepLR(7, gamma=0.5, interval="step"),
    lambda: ReduceLROnPlateau(patience=1, factor=0.5, cooldown=1),
]
PLATEAU_LOSSES = [3.0, 2.0, 2.0, 2.0, 1.9, 1.9, 1.9, 1.9]


@pytest.mark.parametrize("factory", RESUMABLE, ids=lambda f: repr(f()))
def test_state_dict_round_trip_mid_run_continues_the_same(factory):
    whole, _ = drive(factory(), make_trainer(lr=0.1, epochs=6), val_losses=PLATEAU_LOSSES)
    first = factory()
    trainer = make_trainer(lr=0.1, epochs=6)
    head, _ = drive(first, trainer, last_epoch=3, val_losses=PLATEAU_LOSSES)
    state = json.loads(json.dumps(first.state_dict(), allow_nan=False))  # as a checkpoint stores it
    resumed = factory()
    resumed.load_state_dict(state)
    trainer.optimizer.lr = 0.9  # the base must come from the state, not from this rate
    tail, _ = drive(resumed, trainer, first_epoch=4, val_losses=PLATEAU_LOSSES)
    assert head + tail == whole
    assert len(set(whole)) > 1


def test_state_of_another_schedule_is_refused():
    state = StepLR(3, base_lr=0.1).state_dict()
    with pytest.raises(ValueError, match="'StepLR' schedule"):
        ExponentialLR(0.9).load_state_dict(state)


def test_state_with_another_base_lr_is_refused():
    with pytest.raises(ValueError, match=r"base_lr=0.1.*base_lr=0.2"):
        StepLR(3, base_lr=0.2).load_state_dict(StepLR(3, base_lr=0.1).state_dict())


def test_plateau_state_holds_its_whole_bookkeeping():
    schedule = ReduceLROnPlateau(patience=1, factor=0.5, cooldown=2)
    trainer = make_trainer(lr=1.0, epochs=4, steps_per_epoch=1)
    drive(schedule, trainer, val_losses=[2.0, 1.0, 1.0, 1.0])
    assert schedule.state_dict() == {"schedule": "ReduceLROnPlateau", "base_lr": 1.0, "monitor": "val_loss",
                                     "lr": 0.5, "best": 1.0, "num_bad_epochs": 0, "cooldown_counter": 2,
                                     "last_epoch": 4}


def test_plateau_resumed_puts_its_rate_back_into_the_optimizer():
    first = ReduceLROnPlateau(patience=0)
    drive(first, make_trainer(lr=1.0, epochs=2, steps_per_epoch=1), val_losses=[1.0, 1.0])
    resumed = ReduceLROnPlateau(patience=0)
    resumed.load_state_dict(first.state_dict())
    trainer = make_trainer(lr=1.0, epochs=3, steps_per_epoch=1)
    trainer.steps_done = trainer.epochs_done = 2
    resumed.on_fit_begin(trainer)
    assert trainer.optimizer.lr == pytest.approx(0.1, rel=1e-15)


def test_plateau_new_run_starts_again_from_the_base_rate():
    schedule = ReduceLROnPlateau(patience=0, factor=0.5)
    trainer = make_trainer(lr=1.0, epochs=3, steps_per_epoch=1)
    _, first = drive(schedule, trainer, val_losses=[1.0, 1.0, 1.0])
    trainer.steps_done = trainer.epochs_done = 0
    _, second = drive(schedule, trainer, val_losses=[1.0, 1.0, 1.0])
    assert first == second == [1.0, 0.5, 0.25]


# --- ReduceLROnPlateau, scripted ------------------------------------------------------------

def plateau_lrs(values, base_lr=1.0, **kwargs):
    trainer = make_trainer(lr=base_lr, epochs=len(values), steps_per_epoch=1)
    return drive(ReduceLROnPlateau(**kwargs), trainer, val_losses=values)[1]


def test_plateau_reduces_after_more_than_patience_bad_epochs():
    lrs = plateau_lrs([5, 4, 4, 4, 4, 3, 3, 3, 3], patience=2, factor=0.5, threshold=0.0)
    assert lrs == [1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.25]


def test_plateau_cooldown_ignores_the_epochs_after_a_reduction():
    lrs = plateau_lrs([1.0] * 8, patience=0, cooldown=2, factor=0.5, threshold=0.0)
    assert lrs == [1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125]


def test_plateau_stops_at_min_lr():
    lrs = plateau_lrs([1.0] * 4, patience=0, factor=0.1, min_lr=0.02)
    assert lrs == [1, pytest.approx(0.1, rel=1e-15), 0.02, 0.02]


def test_plateau_skips_a_reduction_smaller_than_eps():
    assert plateau_lrs([1.0] * 3, base_lr=1e-8, patience=0, factor=0.5, eps=1e-8) == [1e-8] * 3


@pytest.mark.parametrize("threshold_mode, expected", [("abs", [1, 0.5, 0.5]), ("rel", [1, 0.5, 0.25])])
def test_plateau_threshold_modes(threshold_mode, expected):
    # abs: 9.85 beats 10 - 0.1; rel: it does not beat 10 * (1 - 0.1)
    lrs = plateau_lrs([10.0, 9.95, 9.85], patience=0, factor=0.5, threshold=0.1, threshold_mode=threshold_mode)
    assert lrs == expected


def test_plateau_max_mode_for_an_accuracy():
    schedule = ReduceLROnPlateau(monitor="val_acc", mode=None)
    assert schedule.mode == "max"
    lrs = plateau_lrs([1.0, 1.05, 1.2], mode="max", patience=0, factor=0.5, threshold=0.1)
    assert lrs == [1, 0.5, 0.5]


def test_plateau_nan_never_improves():
    assert plateau_lrs([math.nan, math.nan], patience=0, factor=0.5) == [0.5, 0.25]


def test_plateau_missing_monitor_names_the_logged_values():
    schedule = ReduceLROnPlateau(monitor="val_perplexity")
    trainer = make_trainer()
    schedule.on_fit_begin(trainer)
    with pytest.raises(ValueError, match=r"'val_perplexity' is not among the logged values \['val_loss'\]"):
        schedule.on_epoch_end(trainer, 1, {"val_loss": 1.0})


def test_plateau_has_no_lr_at():
    with pytest.raises(ValueError, match="depends on the monitored values"):
        ReduceLROnPlateau().lr_at(0)


# --- arguments ----------------------------------------------------------------------------

BAD = [
    (lambda: StepLR(0), "StepLR: step_size", "0"),
    (lambda: StepLR(2.5), "StepLR: step_size", "2.5"),
    (lambda: StepLR(2, gamma=0), "StepLR: gamma", "0"),
    (lambda: StepLR(2, gamma=-0.5), "StepLR: gamma", "-0.5"),
    (lambda: StepLR(2, interval="batch"), "StepLR: interval", "'batch'"),
    (lambda: StepLR(2, base_lr=0.0), "StepLR: base_lr", "0.0"),
    (lambda: MultiStepLR([3, 2]), "MultiStepLR: milestones", r"\[3, 2\]"),
    (lambda: MultiStepLR([2, 2]), "MultiStepLR: milestones", r"\[2, 2\]"),
    (lambda: MultiStepLR([]), "MultiStepLR: milestones", r"\[\]"),
    (lambda: MultiStepLR([0, 2]), "MultiStepLR: milestones", "0"),
    (lambda: MultiStepLR(5), "MultiStepLR: milestones", "5"),
    (lambda: MultiStepLR([2], gamma=0), "MultiStepLR: gamma", "0"),
    (lambda: ExponentialLR(0.0), "ExponentialLR: gamma", "0.0"),
    (lambda: ExponentialLR(-0.9), "ExponentialLR: gamma", "-0.9"),
    (lambda: ExponentialLR(0.9, interval=None), "ExponentialLR: interval", "None"),
    (lambda: LinearLR(start_factor=0), "LinearLR: start_factor", "0"),
    (lambda: LinearLR(start_factor=1.5), "LinearLR: start_factor", "1.5"),
    (lambda: LinearLR(end_factor=-0.1), "LinearLR: end_factor", "-0.1"),
    (lambda: LinearLR(end_factor=2), "LinearLR: end_factor", "2"),
    (lambda: LinearLR(total_iters=0), "LinearLR: total_iters", "0"),
    (lambda: CosineAnnealingLR(0), "CosineAnnealingLR: T_max", "0"),
    (lambda: CosineAnnealingLR(10, eta_min=-1.0), "CosineAnnealingLR: eta_min", "-1.0"),
    (lambda: CosineAnnealingLR(10, eta_min=math.nan), "CosineAnnealingLR: eta_min", "nan"),
    (lambda: CosineAnnealingLR(10, eta_min=0.5, base_lr=0.1), "CosineAnnealingLR: eta_min", "0.5"),
    (lambda: OneCycleLR(0, 100), "OneCycleLR: max_lr", "0"),
    (lambda: OneCycleLR(1.0, 0), "OneCycleLR: total_steps", "0"),
    (lambda: OneCycleLR(1.0, 100, pct_start=0.0), "OneCycleLR: pct_start", "0.0"),
    (lambda: OneCycleLR(1.0, 100, pct_start=1), "OneCycleLR: pct_start", "1"),
    (lambda: OneCycleLR(1.0, 100, pct_start=1.5), "OneCycleLR: pct_start", "1.5"),
    (lambda: OneCycleLR(1.0, 3, pct_start=0.3), "OneCycleLR: pct_start", "0.3.*total_steps=3"),
    (lambda: OneCycleLR(1.0, 100, pct_start=0.6, three_phase=True), "OneCycleLR: pct_start", "phase 3"),
    (lambda: OneCycleLR(1.0, 100, anneal_strategy="exp"), "OneCycleLR: anneal_strategy", "'exp'"),
    (lambda: OneCycleLR(1.0, 100, div_factor=0), "OneCycleLR: div_factor", "0"),
    (lambda: OneCycleLR(1.0, 100, final_div_factor=-1), "OneCycleLR: final_div_factor", "-1"),
    (lambda: OneCycleLR(1.0, 100, three_phase="yes"), "OneCycleLR: three_phase", "'yes'"),
    (lambda: OneCycleLR(1.0, 100, interval="epochs"), "OneCycleLR: interval", "'epochs'"),
    (lambda: WarmupCosine(-1, 10), "WarmupCosine: warmup_steps", "-1"),
    (lambda: WarmupCosine(0, 0), "WarmupCosine: total_steps", "0"),
    (lambda: WarmupCosine(10, 10), "WarmupCosine: warmup_steps", "10"),
    (lambda: WarmupCosine(2, 10, eta_min=-0.1), "WarmupCosine: eta_min", "-0.1"),
    (lambda: WarmupCosine(2, 10, eta_min=0.5, base_lr=0.1), "WarmupCosine: eta_min", "0.5"),
    (lambda: ReduceLROnPlateau(factor=1.0), "ReduceLROnPlateau: factor", "1.0"),
    (lambda: ReduceLROnPlateau(factor=0), "ReduceLROnPlateau: factor", "0"),
    (lambda: ReduceLROnPlateau(mode="up"), "ReduceLROnPlateau: mode", "'up'"),
    (lambda: ReduceLROnPlateau(monitor=""), "ReduceLROnPlateau: monitor", "''"),
    (lambda: ReduceLROnPlateau(threshold_mode="relative"), "ReduceLROnPlateau: threshold_mode", "'relative'"),
    (lambda: ReduceLROnPlateau(threshold=-0.1), "ReduceLROnPlateau: threshold", "-0.1"),
    (lambda: ReduceLROnPlateau(patience=-1), "ReduceLROnPlateau: patience", "-1"),
    (lambda: ReduceLROnPlateau(cooldown=1.5), "ReduceLROnPlateau: cooldown", "1.5"),
    (lambda: ReduceLROnPlateau(min_lr=-1e-3), "ReduceLROnPlateau: min_lr", "-0.001"),
    (lambda: ReduceLROnPlateau(eps=-1.0), "ReduceLROnPlateau: eps", "-1.0"),
    (lambda: LambdaLR(0.1), "LambdaLR: fn", "0.1"),
    (lambda: LambdaLR(abs, interval="batch"), "LambdaLR: interval", "'batch'"),
    (lambda: StepLR(2, base_lr=0.1).lr_at(-1), "StepLR: t", "-1"),
    (lambda: StepLR(2).lr_at(0), "StepLR: base_lr", "not known yet"),
]


@pytest.mark.parametrize("build, name, value", BAD, ids=[f"{n}={v}" for _, n, v in BAD])
def test_bad_argument_is_a_value_error_naming_it_and_its_value(build, name, value):
    with pytest.raises(ValueError, match=f"{name}.*{value}"):
        build()


def test_optimizer_rate_that_is_not_a_positive_number_is_refused_as_base_lr():
    with pytest.raises(ValueError, match="StepLR: base_lr"):
        StepLR(2).on_fit_begin(make_trainer(lr=float("nan")))


# --- registry and repr ------------------------------------------------------------------------

def test_registry_names_every_schedule():
    assert set(SCHEDULES) == {"step", "multistep", "exponential", "linear", "cosine", "onecycle", "plateau",
                              "warmup_cosine"}
    assert all(issubclass(cls, LRScheduler) for cls in SCHEDULES.values())


def test_get_schedule_builds_by_name_case_insensitively():
    s = get_schedule("Cosine", T_max=5, eta_min=0.01)
    assert isinstance(s, CosineAnnealingLR) and s.T_max == 5
    assert isinstance(get_schedule("warmup_cosine", warmup_steps=2, total_steps=10), WarmupCosine)


def test_get_schedule_unknown_name_lists_the_choices():
    with pytest.raises(ValueError, match=r"unknown lr schedule 'poly'.*'warmup_cosine'"):
        get_schedule("poly")


def test_repr_shows_every_argument():
    assert repr(StepLR(30)) == "StepLR(step_size=30, gamma=0.1, interval='epoch', base_lr=None)"
    assert repr(WarmupCosine(10, 100, base_lr=0.5)) == \
        "WarmupCosine(warmup_steps=10, total_steps=100, eta_min=0.0, interval='step', base_lr=0.5)"
    assert repr(OneCycleLR(0.1, 100)) == ("OneCycleLR(max_lr=0.1, total_steps=100, pct_start=0.3, "
                                          "anneal_strategy='cos', div_factor=25.0, final_div_factor=10000.0, "
                                          "three_phase=False, interval='step')")
    assert repr(ReduceLROnPlateau(patience=3)) == (
        "ReduceLROnPlateau(monitor='val_loss', mode='min', factor=0.1, patience=3, threshold=0.0001, "
        "threshold_mode='rel', cooldown=0, min_lr=0.0, eps=1e-08)")
    assert repr(LambdaLR(abs)) == "LambdaLR(fn=<built-in function abs>, interval='epoch')"


# --- the schedules a command line names --------------------------------------------------------------

def test_make_schedule_gives_the_named_schedule_from_the_given_rate():
    step = make_schedule("step", 0.1, step_size=2, gamma=0.5)
    assert isinstance(step, StepLR) and [step.lr_at(e) for e in range(5)] == [0.1, 0.1, 0.05, 0.05, 0.025]
    exponential = make_schedule("exponential", 1.0, gamma=0.5)
    assert isinstance(exponential, ExponentialLR) and exponential.lr_at(3) == 0.125
    assert make_schedule("none", 0.1) is None and make_schedule(None, 0.1) is None
    with pytest.raises(ValueError, match="unknown lr schedule 'cosine'"):
        make_schedule("cosine", 0.1)
