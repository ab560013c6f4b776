"""A damaged checkpoint is refused before anything changes (optim.train_state.check_state and
the check_state_dict of each part that keeps state; optim.checkpoint's CheckpointError).

Every case writes its damaged file itself: a tiny run (batch norm, dropout, EarlyStopping
with restore_best, an ExponentialLR schedule) writes a checkpoint after 2 epochs; a case
edits one field of it and writes it back. Then a Trainer that has trained on its own loads
it: the error must be one CheckpointError naming the file and the field, and the Trainer's
whole state (model, layer state, optimizer, batch source, every callback, history,
counters) must be what it was before.
"""

import copy
import json
import os
import re
import shutil

import numpy as np
import pytest

from bprop.datasets import MiniBatchIterator, make_spiral, train_val_split
from bprop.networks import MultiLayerNet
from bprop.optim import Adam, CheckpointError, EarlyStopping, ExponentialLR, Trainer, load_checkpoint
from bprop.optim.checkpoint import save_checkpoint
from bprop.optim.divergence import DivergenceCheck
from bprop.optim.state_checks import StateError
from bprop.optim.train_state import check_state

BATCH = 16  # 48 training samples: 3 updates per epoch


def build(checkpoint=None, resume=False, seed=0, epochs=2):
    (x, t), (xv, tv) = train_val_split(*make_spiral(n_per_class=20, n_classes=3, rng=0), 0.2, rng=1)
    net = MultiLayerNet(2, [8], 3, use_batchnorm=True, use_dropout=True, dropout_ratio=0.2, rng=seed)
    return Trainer(net, Adam(lr=0.01), (x, t), (xv, tv), epochs=epochs, batch_size=BATCH, rng=seed, verbose=0,
                   eval_train=20, schedule=ExponentialLR(0.8), callbacks=[EarlyStopping(5, restore_best=True)],
                   checkpoint=checkpoint, resume=resume)


@pytest.fixture(scope="module")
def good_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("good") / "run.npz"
    build(checkpoint=path).fit()
    return path


@pytest.fixture
def path(good_file, tmp_path):
    """A copy of the good checkpoint for the case to damage."""
    copied = tmp_path / "run.npz"
    shutil.copyfile(good_file, copied)
    return copied


@pytest.fixture(scope="module")
def trained():
    """A Trainer with state of its own (another seed, 2 epochs done): what a failed load must keep."""
    trainer = build(seed=5)
    trainer.fit()
    return trainer


def snapshot(trainer):
    return copy.deepcopy((trainer.state_dict(), trainer.model.params.flat.copy(), trainer.epochs_done,
                          trainer.steps_done, trainer.resumed_from, trainer.optimizer.lr))


def assert_same(a, b, where="state"):
    assert type(a) is type(b), where
    if isinstance(a, dict):
        assert list(a) == list(b), where
        for key in a:
            assert_same(a[key], b[key], f"{where}/{key}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}/{i}")
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True), where
    else:
        assert a == b, where


def edit_tree(path, damage):
    """Read the checkpoint's tree, let ``damage`` change it in place, write it back."""
    tree = load_checkpoint(path)
    damage(tree)
    save_checkpoint(path, tree)


def edit_meta(path, damage):
    """Rewrite the file's JSON entry itself (for damage the writer would not produce)."""
    with np.load(path, allow_pickle=False) as data:
        entries = {k: data[k] for k in data.files}
    meta = json.loads(entries["meta"].tobytes().decode("utf-8"))
    damage(meta)
    entries["meta"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    np.savez(path, **entries)


def at(*keys, value=None, drop=False, apply=None):
    """A damage that sets (or drops, or transforms) the field at ``keys`` of the tree."""
    def damage(tree):
        node = tree
        for key in keys[:-1]:
            node = node[key]
        if drop:
            del node[keys[-1]]
        elif apply is not None:
            node[keys[-1]] = apply(node[keys[-1]])
        else:
            node[keys[-1]] = value
    return damage


def nan_at_first(a):
    a = np.array(a, copy=True)
    a.flat[0] = np.nan
    return a


def shifted_rng(state):
    return dict(state, state={"state": 1.5, "inc": 1})


# case -> (damage of the tree, the words of the error after the file name)
CASES = {
    "epochs_done 99": (at("progress", "epochs_done", value=99),
                       r"progress/epochs_done must be 2, the passes that progress/steps_done=6 makes at 3 "
                       r"iterations per pass: got 99"),
    "negative steps_done": (at("progress", "steps_done", value=-3),
                            r"progress/steps_done must be an integer >= 0: got -3"),
    "steps_done a string": (at("progress", "steps_done", value="abc"),
                            r"progress/steps_done must be an integer >= 0: got 'abc'"),
    "counters that disagree": (at("progress", "steps_done", value=3),
                               r"progress/epochs_done must be 1, the passes that progress/steps_done=3 .*: got 2"),
    "elapsed negative": (at("progress", "elapsed", value=-1.0),
                         r"progress/elapsed must be a finite number >= 0.0: got -1.0"),
    "history epochs skipping one": (at("history", "epoch", value=[1, 3]),
                                    r"history/epoch must be \[1, 2\], one entry per epoch done .*: got \[1, 3\]"),
    "history iterations of another run": (at("history", "iteration", value=[3, 5]),
                                          r"history/iteration must be \[3, 6\], .*: got \[3, 5\]"),
    "history lists of different lengths": (at("history", "train_loss", apply=lambda v: v + [0.5]),
                                           r"history/train_loss must be a list of 2 values, one per epoch done: "
                                           r"got 3 values"),
    "history iter_loss of another length": (at("history", "iter_loss", apply=lambda v: v[:4]),
                                            r"history/iter_loss must hold one loss per update, 6 "
                                            r"\(progress/steps_done\): got shape \(4,\)"),
    "history 5": (at("history", value=5), r"history must be a dict: got 5"),
    "history without best_epoch": (at("history", "best_epoch", drop=True), r"history/best_epoch is missing"),
    "stopped_epoch before the last epoch": (at("history", "stopped_epoch", value=1),
                                            r"history/stopped_epoch must be None or the last epoch done, 2: got 1"),
    "setup missing": (at("setup", drop=True), r"setup is missing: got the keys"),
    "NaN in the optimizer's moments": (at("optimizer", "arrays", "m/W1", apply=nan_at_first),
                                       r"optimizer/arrays/m/W1 must hold finite numbers: got 1 non-finite value\(s\), "
                                       r"the first nan at index \(0, 0\)"),
    "optimizer step count a float": (at("optimizer", "scalars", "t", value=6.0),
                                     r"optimizer/scalars/t must be an integer >= 0: got 6.0"),
    "early-stopping best weights with NaN": (at("callbacks", "EarlyStopping", "arrays", "W1", apply=nan_at_first),
                                             r"callbacks/EarlyStopping/arrays/W1 must hold finite numbers: got 1 "
                                             r"non-finite value\(s\), the first nan at index \(0, 0\)"),
    "early-stopping best weights of a broadcastable shape": (
        at("callbacks", "EarlyStopping", "arrays", "W1", value=np.full((1, 8), 7.0)),
        r"callbacks/EarlyStopping/arrays/W1 must have the shape \(2, 8\): got \(1, 8\)"),
    "early-stopping best weights of int dtype": (
        at("callbacks", "EarlyStopping", "arrays", "W1", apply=lambda a: np.ones(a.shape, dtype=np.int64)),
        r"callbacks/EarlyStopping/arrays/W1 must hold floating-point numbers: got dtype int64"),
    "early-stopping best weights missing a key": (at("callbacks", "EarlyStopping", "arrays", "b2", drop=True),
                                                  r"callbacks/EarlyStopping/arrays/b2 is missing"),
    "early-stopping wait negative": (at("callbacks", "EarlyStopping", "scalars", "wait", value=-1),
                                     r"callbacks/EarlyStopping/scalars/wait must be an integer >= 0: got -1"),
    "divergence reference 0": (at("callbacks", "DivergenceStop", "reference", value=0),
                               r"callbacks/DivergenceStop/reference must be a finite number > 0.0 or None: got 0"),
    "divergence reference -1": (at("callbacks", "DivergenceStop", "reference", value=-1.0),
                                r"callbacks/DivergenceStop/reference must be a finite number > 0.0 or None: got -1.0"),
    "schedule base_lr 0": (at("callbacks", "ExponentialLR", "base_lr", value=0.0),
                           r"callbacks/ExponentialLR/base_lr must be a finite number > 0.0 or None: got 0.0"),
    "bad bit_generator state of the batches": (at("train_data", "rng", apply=shifted_rng),
                                               r"train_data/rng is not a PCG64 state \(it does not read back as "
                                               r"written\)"),
    "bit_generator state of the batches a string": (at("train_data", "rng", value="PCG64"),
                                                    r"train_data/rng is not a PCG64 state \(TypeError"),
    "bad bit_generator state of dropout": (at("layer_state", "Dropout1", "rng", "state", drop=True),
                                           r"layer_state/Dropout1/rng is not a PCG64 state \(KeyError"),
    "NaN in a batch-norm layer state": (at("layer_state", "BatchNorm1", "running_var", apply=nan_at_first),
                                        r"layer_state/BatchNorm1/running_var must hold finite numbers"),
    "training subset out of range": (at("train_eval_index", apply=lambda a: a + 1000),
                                     r"train_eval_index must be 20 distinct sample indices in \[0, 48\), in "
                                     r"increasing order: got .* from 100\d to 104\d"),
    "training subset unsorted": (at("train_eval_index", apply=lambda a: a[::-1].copy()),
                                 r"train_eval_index must be 20 distinct sample indices"),
}


def refusal(path, words):
    return re.escape(str(path)) + ": " + words


@pytest.mark.parametrize("case", list(CASES))
def test_damaged_checkpoint_is_refused_naming_file_and_field_and_nothing_changes(case, path, trained):
    damage, words = CASES[case]
    edit_tree(path, damage)
    before = snapshot(trained)
    with pytest.raises(CheckpointError, match=refusal(path, words)):
        trained.load_checkpoint(path)
    assert_same(snapshot(trained), before)
    with pytest.raises(CheckpointError, match=refusal(path, words)):  # the check itself refuses it
        check_state(trained, load_checkpoint(path), str(path))
    with pytest.raises(CheckpointError, match=refusal(path, words)):
        build(checkpoint=path, resume=True)


def test_nan_in_the_model_weights_is_refused_by_the_model_and_nothing_changes(path, trained):
    edit_tree(path, at("model", "W2", apply=nan_at_first))
    before = snapshot(trained)
    with pytest.raises(CheckpointError, match=r"key 'W2' in " + re.escape(str(path)) + r" holds 1 non-finite"):
        trained.load_checkpoint(path)
    assert_same(snapshot(trained), before)


def test_setup_value_of_another_type_is_refused(path, trained):
    edit_tree(path, at("setup", "batch_size", value=[16]))
    with pytest.raises(CheckpointError, match=r"written with batch_size=\[16\], but this Trainer has batch_size=16"):
        trained.load_checkpoint(path)


def test_the_undamaged_checkpoint_resumes(path, trained):
    edit_tree(path, lambda tree: None)  # written back unchanged by the same writer
    resumed = build(checkpoint=path, resume=True, epochs=3)
    assert resumed.epochs_done == 2 and resumed.steps_done == 6
    assert resumed.fit()["epoch"] == [1, 2, 3]


def test_checkpoint_without_its_state_is_refused(path, trained):
    edit_meta(path, lambda meta: meta.pop("state"))
    before = snapshot(trained)
    with pytest.raises(CheckpointError, match=refusal(path, r"state is missing or not a dict: got None")):
        trained.load_checkpoint(path)
    assert_same(snapshot(trained), before)


def test_state_that_is_not_a_dict_is_refused(path, trained):
    edit_meta(path, lambda meta: meta.update(state=[1, 2]))
    with pytest.raises(CheckpointError, match=refusal(path, r"state is missing or not a dict: got \[1, 2\]")):
        trained.load_checkpoint(path)


def test_array_reference_that_is_not_a_name_is_refused(path):
    edit_meta(path, lambda meta: meta["state"]["progress"].update(elapsed={"__array__": [1]}))
    with pytest.raises(CheckpointError, match=r"incomplete: array \[1\] is missing"):
        load_checkpoint(path)


def test_float32_overflow_of_a_best_weight_is_refused():
    # a value that is finite in float64 but inf once stored in a float32 network
    net = MultiLayerNet(2, [8], 3, rng=0, dtype=np.float32)
    stopper = EarlyStopping(2)
    trainer = type("T", (), {"model": net})()
    arrays = {k: np.array(v, dtype=np.float64) for k, v in net.state_dict().items()}
    arrays["W2"][1, 2] = 1e300
    state = {"scalars": dict(stopper.best.state_dict(), best_epoch=1, best_score=0.5, patience=2, restore_best=True),
             "arrays": arrays}
    with pytest.raises(StateError, match=r"EarlyStopping: arrays/W2 must hold finite numbers once cast to "
                                         r"float32: got 1 non-finite value\(s\), the first 1e\+300 at index \(1, 2\)"):
        stopper.check_state_dict(state, trainer)


# --- the parts, loaded on their own --------------------------------------------------------


def test_optimizer_refuses_nan_moments_and_keeps_its_state():
    opt = Adam(lr=0.1)
    params = {"W": np.ones((2, 2))}
    opt.update(params, {"W": np.ones((2, 2))})
    state = opt.state_dict()
    state["arrays"]["v/W"][1, 0] = np.inf
    before = copy.deepcopy(opt.state_dict())
    with pytest.raises(ValueError, match=r"Adam.load_state_dict: array 'v/W' must hold finite numbers: got 1 "
                                         r"non-finite value\(s\), the first inf at index \(1, 0\)"):
        opt.load_state_dict(state, params)
    assert_same(opt.state_dict(), before)


@pytest.mark.parametrize("reference", [0, -1.0, float("nan"), "1.0", True])
def test_divergence_check_refuses_a_reference_that_is_not_a_positive_loss(reference):
    check = DivergenceCheck()
    check.diverged(2.0)
    with pytest.raises(StateError, match=r"DivergenceStop: reference must be a finite number > 0.0 or None"):
        check.load_state_dict({"factor": 100.0, "reference": reference})
    assert check.reference == 2.0


def test_divergence_check_takes_a_positive_reference():
    check = DivergenceCheck()
    check.load_state_dict({"factor": 100.0, "reference": 3})
    assert check.reference == 3.0 and type(check.reference) is float


def test_minibatch_iterator_refuses_a_bad_rng_state_and_keeps_its_stream():
    batches = MiniBatchIterator(np.arange(10.0)[:, None], np.arange(10), 3, rng=0)
    before = batches.state_dict()
    with pytest.raises(ValueError, match=r"MiniBatchIterator: the state's rng is not a PCG64 state \(KeyError"):
        batches.load_state_dict({"rng": {"bit_generator": "PCG64"}})
    with pytest.raises(ValueError, match=r"MiniBatchIterator: the state's rng is not a PCG64 state \(TypeError"):
        batches.load_state_dict({"rng": 5})
    assert batches.state_dict() == before


def test_early_stopping_refuses_arrays_without_a_best_epoch():
    stopper = EarlyStopping(2)
    state = {"scalars": dict(stopper.best.state_dict(), patience=2, restore_best=True), "arrays": {"W1": np.ones(2)}}
    with pytest.raises(StateError, match=r"EarlyStopping: arrays must be empty before a best epoch: got \['W1'\]"):
        stopper.load_state_dict(state)
    assert stopper.best_arrays is None


# --- the checkpoint path, checked when the Trainer is built --------------------------------


def test_checkpoint_path_that_is_a_folder_is_refused_at_build(tmp_path):
    (tmp_path / "folder").mkdir()
    with pytest.raises(ValueError, match=r"Trainer: checkpoint=.*folder' is a folder; name a file in it"):
        build(checkpoint=tmp_path / "folder")
    assert sorted(os.listdir(tmp_path)) == ["folder"] and not os.listdir(tmp_path / "folder")


def test_checkpoint_path_under_a_file_is_refused_at_build(tmp_path):
    (tmp_path / "notes.txt").write_text("a file")
    target = tmp_path / "notes.txt" / "sub" / "run.npz"
    with pytest.raises(ValueError, match=r"Trainer: checkpoint=.*run\.npz' cannot be written: .*notes\.txt' is a "
                                         r"file, not a folder"):
        build(checkpoint=target)
    assert (tmp_path / "notes.txt").read_text() == "a file"


def test_checkpoint_path_in_a_folder_that_cannot_be_written_is_refused_at_build(tmp_path, monkeypatch):
    # the tests may run as root, for whom every folder is writable: the permission is faked
    folder = str(tmp_path)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: os.fspath(p) != folder and real_access(p, mode, **kw))
    with pytest.raises(ValueError, match=r"cannot be written: the folder .* is not writable"):
        build(checkpoint=tmp_path / "run.npz")


def test_checkpoint_path_in_folders_still_to_be_made_is_accepted_and_written(tmp_path):
    target = tmp_path / "runs" / "a" / "run.npz"
    build(checkpoint=target, epochs=1).fit()
    assert load_checkpoint(target)["progress"]["epochs_done"] == 1
