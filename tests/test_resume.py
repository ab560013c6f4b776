"""Checkpoints and exact resume (optim.checkpoint and the Trainer's checkpoint/resume), with
real processes: a run killed by SIGKILL after epoch 2 of 4 and resumed in a new process ends
bit for bit where the uninterrupted run ends; a process killed again and again while it
writes checkpoints never leaves a broken one; every file that cannot be resumed from is
refused, naming why.

This file is also the program the subprocesses run: ``python test_resume.py run SPEC``.
Wall times (the history's ``'time'``) are the one thing a resumed run cannot repeat; they are
left out of every comparison.
"""

import importlib
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from bprop.datasets import make_spiral, train_val_split
from bprop.networks import MultiLayerNet
from bprop.networks.files import save_npz
from bprop.optim import (
    SGD,
    Adam,
    Callback,
    CheckpointError,
    EarlyStopping,
    ExponentialLR,
    Momentum,
    Trainer,
    load_checkpoint,
)

OPTIMIZERS = {"sgd": (SGD, 0.1), "momentum": (Momentum, 0.05), "adam": (Adam, 0.01)}
#: seconds a test waits at most for a subprocess to reach a point or to end
WAIT = 60


def spiral_data():
    x, t = make_spiral(n_per_class=70, n_classes=3, rng=0)  # 210 points
    return train_val_split(x, t, 0.2, rng=1)  # 168 for training: 168 % 32 == 8


def build(optimizer="adam", epochs=4, hidden=(32, 32), batch_size=32, checkpoint=None, resume=False,
          early_stopping=None, callbacks=(), iterations=None):
    """The run every test here repeats: batch norm, dropout, an lr schedule, a training
    subset for the per-epoch evaluation, and each random stream seeded on its own;
    ``early_stopping`` (an EarlyStopping, or its arguments as a subprocess gets them, in
    JSON) comes first among the callbacks."""
    if isinstance(early_stopping, dict):
        early_stopping = EarlyStopping(**early_stopping)
    (x, t), (xv, tv) = spiral_data()
    net = MultiLayerNet(2, list(hidden), 3, use_batchnorm=True, use_dropout=True, dropout_ratio=0.2, rng=0)
    cls, lr = OPTIMIZERS[optimizer]
    callbacks = ([] if early_stopping is None else [early_stopping]) + list(callbacks)
    return Trainer(net, cls(lr=lr), (x, t), (xv, tv), epochs=epochs, iterations=iterations,
                   batch_size=batch_size, rng=1, verbose=0, schedule=ExponentialLR(0.8),
                   eval_train=100, checkpoint=checkpoint, resume=resume, callbacks=callbacks)


def without_time(history):
    return {k: v for k, v in history.items() if k != "time"}


def assert_same_run(a_net, a_history, b_net, b_history):
    """Bit for bit: every array of the networks, every entry of the histories but 'time'."""
    a, b = a_net.state_dict(), b_net.state_dict()
    assert list(a) == list(b)
    for k in a:
        assert np.array_equal(a[k], b[k]), k
    assert without_time(a_history) == without_time(b_history)


# --- the subprocess ------------------------------------------------------------------------


class Hang(Callback):
    """Sleep at the end of epoch ``epoch`` (None: never), before its checkpoint is written
    (the Trainer's Checkpoint callback comes after the ones it is given)."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, trainer, epoch, logs):
        if epoch == self.epoch:
            time.sleep(10 * WAIT)


def child(spec):
    """Run ``build(**spec['build'])`` and write the final arrays and history to spec['out'].

    ``spec['hang_at']``: a callback sleeps at the end of that epoch, before its checkpoint
    is written, so a test can kill the process knowing which checkpoint is on disk. Every
    run has the callback (a resumed one that never sleeps): a checkpoint is resumed by a
    Trainer with the same callbacks.
    """
    trainer = build(callbacks=[Hang(spec.get("hang_at"))], **spec["build"])
    history = trainer.fit()
    arrays = {k: np.array(v) for k, v in trainer.model.state_dict().items()}
    save_npz(spec["out"] + ".npz", arrays)
    with open(spec["out"] + ".json", "w") as f:
        json.dump(without_time(history), f)


def start(tmp_path, name, **spec):
    spec["out"] = str(tmp_path / name)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, __file__, "run", json.dumps(spec)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc, tmp_path, name):
    out, err = proc.communicate(timeout=WAIT)
    assert proc.returncode == 0, out + err
    with np.load(tmp_path / f"{name}.npz", allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    return arrays, json.loads((tmp_path / f"{name}.json").read_text())


def wait_for_epoch(path, epoch, proc):
    """Poll the checkpoint until it holds ``epoch`` (bounded by WAIT seconds)."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the run ended (status {proc.returncode}) before epoch {epoch}: {proc.stderr.read()}")
        if os.path.exists(path) and load_checkpoint(path)["progress"]["epochs_done"] >= epoch:
            return
        time.sleep(0.02)
    pytest.fail(f"no checkpoint of epoch {epoch} within {WAIT} s")


def kill_resume_and_compare(tmp_path, build_kwargs, kill_after):
    path = str(tmp_path / "run.npz")
    reference = start(tmp_path, "reference", build=build_kwargs)
    doomed = start(tmp_path, "doomed", build=dict(build_kwargs, checkpoint=path), hang_at=kill_after + 1)
    try:
        wait_for_epoch(path, kill_after, doomed)
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(timeout=WAIT)
    finally:
        if doomed.poll() is None:
            doomed.kill()
            doomed.wait()
    assert doomed.returncode == -signal.SIGKILL
    assert load_checkpoint(path)["progress"]["epochs_done"] == kill_after
    resumed = start(tmp_path, "resumed", build=dict(build_kwargs, checkpoint=path, resume=True))
    ref_arrays, ref_history = finish(reference, tmp_path, "reference")
    res_arrays, res_history = finish(resumed, tmp_path, "resumed")
    assert list(ref_arrays) == list(res_arrays)
    for k in ref_arrays:
        assert np.array_equal(ref_arrays[k], res_arrays[k]), k
    assert res_history == ref_history
    return ref_history


def test_run_killed_after_epoch_2_of_4_resumes_in_a_new_process_bit_for_bit(tmp_path):
    history = kill_resume_and_compare(tmp_path, {"optimizer": "adam", "epochs": 4}, kill_after=2)
    assert history["epoch"] == [1, 2, 3, 4]
    assert history["lr"] == [0.01 * 0.8 ** e for e in range(4)]


def test_early_stopping_that_triggers_after_the_resume_matches_the_uninterrupted_run(tmp_path):
    # No epoch can beat the first by 1e9: the run stops after epoch 1 + patience = 4, and the
    # weights it ends with are epoch 1's, which the resumed process knows from the checkpoint only.
    early = {"patience": 3, "min_delta": 1e9}
    history = kill_resume_and_compare(
        tmp_path, {"optimizer": "adam", "epochs": 10, "early_stopping": early}, kill_after=2)
    assert history["stopped_epoch"] == 4 and history["best_epoch"] == 1
    assert history["epoch"] == [1, 2, 3, 4]


def test_a_process_killed_20_times_while_writing_checkpoints_never_leaves_a_broken_one(tmp_path):
    """A forked child writes checkpoints in a loop, each one of 'generation' k (the counters
    and every parameter equal k); it is killed at random moments. After each kill the
    checkpoint loads and is of one generation; the next write removes what the kills left."""
    if not hasattr(os, "fork"):
        pytest.skip("needs os.fork")
    path = tmp_path / "run.npz"
    trainer = build("adam", epochs=1, hidden=(400, 400), checkpoint=path)  # about 2.5 MB of state
    trainer.fit()
    for arr in trainer.model.params.values():
        arr[...] = 0
    trainer.epochs_done = 0
    trainer.save_checkpoint(path)  # generation 0
    rng = np.random.default_rng(0)
    left_behind = 0
    for kill in range(20):
        pid = os.fork()
        if pid == 0:  # the child: write, write, write, until killed
            try:
                generation = 1000 * (kill + 1)
                while True:
                    generation += 1
                    for arr in trainer.model.params.values():
                        arr[...] = generation
                    trainer.epochs_done = generation
                    trainer.save_checkpoint(path)
            finally:
                os._exit(1)
        time.sleep(rng.uniform(0.02, 0.12))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        left_behind += any(name.endswith(".tmp") for name in os.listdir(tmp_path))
        state = load_checkpoint(path)
        generation = state["progress"]["epochs_done"]
        for key, arr in state["model"].items():
            if not key.startswith("BatchNorm"):
                assert np.all(arr == generation), (kill, key)
    assert left_behind >= 5  # the kills did land in the middle of writes
    trainer.epochs_done = 1  # the counters of the run it holds again: a resume checks that they agree
    trainer.save_checkpoint(path)
    assert sorted(os.listdir(tmp_path)) == ["run.npz"]
    resumed = build("adam", epochs=1, hidden=(400, 400), checkpoint=path, resume=True)
    assert resumed.epochs_done == trainer.epochs_done


# --- the scripts ---------------------------------------------------------------------------

SCRIPTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scripts")


def script(name, *args, mnist_root, **popen):
    env = dict(os.environ, MPLBACKEND="Agg", OPENBLAS_NUM_THREADS="1", BPROP_DATA=mnist_root)
    return subprocess.Popen([sys.executable, os.path.join(SCRIPTS, f"{name}.py"), *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def ctrl_c_after_first_epoch(name, args, path, mnist_root):
    """Start the script with ``--checkpoint path``, SIGINT it once its checkpoint holds epoch
    1, and return ``(status, stdout, stderr)``."""
    proc = script(name, *args, "--checkpoint", path, mnist_root=mnist_root,
                  preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        wait_for_epoch(path, 1, proc)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=WAIT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, out, err


def saved_run(folder, prefix):
    """The weights a script saved in ``folder`` and its history without the timings."""
    with np.load(folder / f"{prefix}_weights.npz", allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    return arrays, without_time(json.loads((folder / f"{prefix}.json").read_text())["history"])


def cut_and_resume(name, options, tmp_path, mnist_root, epochs, cut_extra=(), full_extra=()):
    """Run ``name`` with ``options`` (and ``cut_extra``) and a checkpoint, stop it by Ctrl-C
    after its first epoch and resume it to ``epochs`` epochs (folder ``cut``); while the
    resumed run works, run the same script with ``options`` (and ``full_extra``) for ``epochs``
    epochs in one go in this process, through its ``main`` (folder ``full``: the program needs
    no second interpreter, nor a second load of MNIST). ``epochs`` must leave room for a late
    signal: the stop must come before the last epoch. Returns ``(done, path, out)``: the epochs
    the checkpoint held at the stop, its path, and the stopped run's stdout."""
    path = str(tmp_path / "ck.npz")
    cut_options, full_options = [*cut_extra, *options], [*full_extra, *options]
    status, out, err = ctrl_c_after_first_epoch(
        name, [*cut_options, "--epochs", "10000", "--out", str(tmp_path / "cut")], path, mnist_root)
    assert status == 130, out + err
    assert "Traceback" not in err
    done = load_checkpoint(path)["progress"]["epochs_done"]
    assert 1 <= done < epochs
    resumed = script(name, *cut_options, "--epochs", str(epochs), "--out", str(tmp_path / "cut"),
                     "--checkpoint", path, "--resume", mnist_root=mnist_root)
    try:
        importlib.import_module(name).main([*full_options, "--epochs", str(epochs), "--out", str(tmp_path / "full")])
        resumed_out, err = resumed.communicate(timeout=WAIT)
    finally:
        if resumed.poll() is None:
            resumed.kill()
            resumed.wait()
    assert resumed.returncode == 0, resumed_out + err
    assert f"resuming from {path} after epoch {done} " in resumed_out
    return done, path, out


def test_train_mnist_stopped_by_ctrl_c_resumes_with_resume_to_the_uninterrupted_result(tmp_path, mnist_root):
    """SIGINT once epoch 1 is reported: the script exits 130 saying how to resume; the same
    command with --resume then ends with the weights and history of a run never interrupted."""
    options = ["--train-size", "500", "--verbose", "2", "--optimizer", "adam", "--lr", "0.003",
               "--batchnorm", "--dropout", "0.2", "--lr-schedule", "exponential", "--seed", "3"]
    # 3 epochs: one of these takes a fraction of a second, a late signal may land after epoch 2
    done, path, out = cut_and_resume("train_mnist", options, tmp_path, mnist_root, epochs=3)
    assert f"the training state after epoch {done} is in {path}: run the same command with --resume" in out
    (a, ha), (b, hb) = saved_run(tmp_path / "cut", "train_mnist"), saved_run(tmp_path / "full", "train_mnist")
    assert list(a) == list(b) and all(np.array_equal(a[k], b[k]) for k in a)
    assert ha == hb and ha["epoch"] == [1, 2, 3]


def test_bad_checkpoint_or_resume_options_are_usage_errors(tmp_path, capsys):
    # main() called here: a usage error of the program itself is tested in test_scripts_cli.py
    import train_convnet

    for args, message in ((["--resume"], "argument --resume: needs --checkpoint PATH"),
                          (["--resume", "--checkpoint", str(tmp_path / "no.npz")],
                           "argument --resume: there is no checkpoint at"),
                          (["--checkpoint", str(tmp_path)], "argument --checkpoint: "
                           f"{str(tmp_path)!r} is a folder, not a file")):
        with pytest.raises(SystemExit) as stop:
            train_convnet.main([*args, "--out", str(tmp_path)])
        err = capsys.readouterr().err
        assert stop.value.code == 2 and message in err, err


# --- in one process ------------------------------------------------------------------------


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_resume_after_2_of_5_epochs_is_bit_identical(tmp_path, optimizer):
    path = tmp_path / "run.npz"
    early = EarlyStopping(patience=10, monitor="val_acc")  # bookkeeping and best weights, no stop
    reference = build(optimizer, epochs=5, early_stopping=early)
    reference.fit()
    build(optimizer, epochs=2, checkpoint=path, early_stopping=EarlyStopping(10, monitor="val_acc")).fit()
    resumed = build(optimizer, epochs=5, checkpoint=path, resume=True,
                    early_stopping=EarlyStopping(10, monitor="val_acc"))
    assert resumed.epochs_done == 2 and resumed.history["epoch"] == [1, 2]
    resumed.fit()
    assert_same_run(reference.model, reference.history, resumed.model, resumed.history)
    assert resumed.history["time"] == sorted(resumed.history["time"])
    assert sorted(os.listdir(tmp_path)) == ["run.npz"]  # no temporary file


class InterruptAt(Callback):
    """Raise KeyboardInterrupt at the end of epoch ``epoch`` (None: never), before its checkpoint."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, trainer, epoch, logs):
        if epoch == self.epoch:
            raise KeyboardInterrupt


def test_resume_in_iterations_mode_and_of_a_finished_run(tmp_path):
    path = tmp_path / "run.npz"
    reference = build("momentum", iterations=13)  # 6 batches per pass: 6, 12, 13
    reference.fit()
    with pytest.raises(KeyboardInterrupt):
        build("momentum", iterations=13, checkpoint=path, callbacks=[InterruptAt(2)]).fit()
    # the same callbacks as the run that wrote the checkpoint, this one never interrupting
    resumed = build("momentum", iterations=13, checkpoint=path, resume=True, callbacks=[InterruptAt(None)])
    assert resumed.steps_done == 6
    resumed.fit()
    assert resumed.history["iteration"] == [6, 12, 13]
    assert_same_run(reference.model, reference.history, resumed.model, resumed.history)
    finished = build("momentum", iterations=13, checkpoint=path, resume=True, callbacks=[InterruptAt(None)])
    before = {k: v.copy() for k, v in finished.model.params.items()}
    history = finished.fit()  # nothing left to do
    assert without_time(history) == without_time(resumed.history)
    assert all(np.array_equal(before[k], v) for k, v in finished.model.params.items())
    with pytest.raises(ValueError, match=r"ended inside a pass \(iteration 13, passes of 6\); it cannot "
                                         r"be continued to 20 iterations"):
        build("momentum", iterations=20, checkpoint=path, resume=True, callbacks=[InterruptAt(None)])
    with pytest.raises(ValueError, match=r"after iteration 13 \(epoch 3\), past the end of this "
                                         r"Trainer's run \(12 iterations\)"):
        build("momentum", epochs=2, checkpoint=path, resume=True, callbacks=[InterruptAt(None)])


def test_more_epochs_continue_a_finished_run_as_if_it_had_been_longer(tmp_path):
    path = tmp_path / "run.npz"
    reference = build("sgd", epochs=3)
    reference.fit()
    build("sgd", epochs=2, checkpoint=path).fit()
    longer = build("sgd", epochs=3, checkpoint=path, resume=True)
    longer.fit()
    assert_same_run(reference.model, reference.history, longer.model, longer.history)


def test_checkpoint_file_is_an_npz_of_arrays_with_json_metadata(tmp_path):
    path = tmp_path / "run.npz"
    trainer = build("adam", epochs=2, checkpoint=path, early_stopping=EarlyStopping(5))
    trainer.fit()
    with np.load(path, allow_pickle=False) as data:
        files = set(data.files)
        meta = json.loads(data["meta"].tobytes().decode("utf-8"))
    assert meta["format"] == "bprop-trainer-checkpoint" and meta["version"] == 1
    state = meta["state"]
    assert state["progress"]["epochs_done"] == 2 and state["progress"]["steps_done"] == 12
    assert state["history"]["epoch"] == [1, 2]
    assert state["optimizer"]["scalars"]["type"] == "Adam" and state["optimizer"]["scalars"]["t"] == 12
    assert state["train_data"]["rng"]["bit_generator"] == "PCG64"
    assert state["layer_state"]["Dropout1"]["rng"]["bit_generator"] == "PCG64"
    assert "EarlyStopping" in state["setup"]["callbacks"]  # each callback's state under its class name
    assert state["callbacks"]["EarlyStopping"]["scalars"]["best_epoch"] in (1, 2)
    assert {"model/W1", "model/BatchNorm1.running_mean", "optimizer/arrays/m/W1", "optimizer/arrays/v/W1",
            "train_eval_index", "callbacks/EarlyStopping/arrays/W1", "history/iter_loss"} <= files
    assert all(data_key == "meta" or "/" in data_key or data_key == "train_eval_index" for data_key in files)


# --- what is refused -----------------------------------------------------------------------


@pytest.fixture
def checkpoint(tmp_path):
    """A checkpoint of 2 epochs of ``build('adam')``."""
    path = tmp_path / "run.npz"
    build("adam", epochs=2, checkpoint=path).fit()
    return path


def test_checkpoint_of_another_network_is_refused_naming_the_key_and_both_shapes(checkpoint):
    with pytest.raises(ValueError, match=r"key 'W1' has shape \(2, 32\) in .*run\.npz, but this "
                                         r"network's W1 has shape \(2, 16\)"):
        build("adam", hidden=(16, 32), checkpoint=checkpoint, resume=True)


def test_checkpoint_of_another_optimizer_is_refused(checkpoint):
    with pytest.raises(ValueError, match=r"written with optimizer='Adam', but this Trainer has optimizer='SGD'"):
        build("sgd", checkpoint=checkpoint, resume=True)


def test_checkpoint_of_another_batch_size_is_refused(checkpoint):
    with pytest.raises(ValueError, match=r"written with batch_size=32, but this Trainer has batch_size=16"):
        build("adam", batch_size=16, checkpoint=checkpoint, resume=True)


def test_checkpoint_without_early_stopping_is_refused_by_a_run_with_it(checkpoint):
    # the callbacks that keep state are compared; those without (progress, history) may differ
    with pytest.raises(ValueError, match=r"written with callbacks=\['DivergenceStop', 'ExponentialLR'\], but this "
                                         r"Trainer has callbacks=\['DivergenceStop', 'EarlyStopping', 'ExponentialLR'\]"):
        build("adam", checkpoint=checkpoint, resume=True, early_stopping=EarlyStopping(3))


def test_a_checkpoint_loads_into_a_trainer_without_a_checkpoint_path(checkpoint):
    # the Checkpoint callback is the file itself, not part of the run: load_checkpoint works without it
    trainer = build("adam")
    trainer.load_checkpoint(checkpoint)
    assert trainer.epochs_done == 2 and trainer.resumed_from == str(checkpoint)
    # a Trainer that resumes with the file says which epoch it holds
    assert build("adam", checkpoint=checkpoint, resume=True).checkpoint_epoch == 2


def test_a_ctrl_c_while_a_checkpoint_is_written_leaves_the_previous_epoch_said_and_on_disk(tmp_path, monkeypatch):
    path = tmp_path / "ck.npz"
    trainer = build("adam", checkpoint=path)
    real, writes = trainer.save_checkpoint, []

    def interrupted_second_write(target):
        writes.append(target)
        if len(writes) == 2:
            raise KeyboardInterrupt  # as a Ctrl-C inside the atomic write: the file is left as it was
        real(target)

    monkeypatch.setattr(trainer, "save_checkpoint", interrupted_second_write)
    with pytest.raises(KeyboardInterrupt):
        trainer.fit()
    assert trainer.checkpoint_epoch == 1  # not 2: the resume hint names the epoch the file holds
    assert build("adam", checkpoint=path, resume=True).epochs_done == 1


def test_resume_from_a_missing_file_is_a_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        build("adam", checkpoint=tmp_path / "none.npz", resume=True)


def test_a_weights_file_is_not_a_checkpoint(tmp_path):
    trainer = build("adam")
    trainer.model.save_params(tmp_path / "weights.npz")
    with pytest.raises(CheckpointError, match=r"weights\.npz is not a training checkpoint: it has no 'meta'"):
        build("adam", checkpoint=tmp_path / "weights.npz", resume=True)


def test_a_file_that_is_not_an_npz_is_refused(tmp_path):
    path = tmp_path / "run.npz"
    path.write_bytes(b"not a zip file at all")
    with pytest.raises(CheckpointError, match=r"run\.npz is not a readable \.npz file"):
        load_checkpoint(path)


def test_a_truncated_checkpoint_is_refused(checkpoint):
    data = checkpoint.read_bytes()
    checkpoint.write_bytes(data[:len(data) // 2])
    with pytest.raises(CheckpointError, match=r"run\.npz is not a readable \.npz file"):
        load_checkpoint(checkpoint)


def test_a_pickled_object_in_the_file_is_never_loaded(tmp_path):
    path = tmp_path / "run.npz"
    np.savez(path, meta=np.array([{"format": "bprop-trainer-checkpoint"}], dtype=object))
    with pytest.raises(CheckpointError, match="pickled object array under key 'meta', which is never loaded"):
        load_checkpoint(path)


def test_a_newer_format_version_is_refused(checkpoint):
    entries = dict(np.load(checkpoint, allow_pickle=False))
    meta = json.loads(entries["meta"].tobytes())
    meta["version"] = 99
    entries["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    np.savez(checkpoint, **entries)
    with pytest.raises(CheckpointError, match="format version 99; this bprop reads versions 1 to 1"):
        load_checkpoint(checkpoint)


def test_a_checkpoint_missing_an_array_is_refused(checkpoint):
    entries = dict(np.load(checkpoint, allow_pickle=False))
    del entries["optimizer/arrays/m/W2"]
    np.savez(checkpoint, **entries)
    with pytest.raises(CheckpointError, match="incomplete: array 'optimizer/arrays/m/W2' is missing"):
        load_checkpoint(checkpoint)


def test_a_state_that_fails_late_leaves_network_and_optimizer_unchanged(checkpoint):
    """The optimizer's arrays are checked after the network is loaded: the network is put back."""
    state = load_checkpoint(checkpoint)
    state["optimizer"]["arrays"]["m/W1"] = state["optimizer"]["arrays"]["v/W1"] = np.zeros((5, 5))
    trainer = build("adam", checkpoint=checkpoint)  # the callbacks of the run that wrote the state
    before = {k: v.copy() for k, v in trainer.model.state_dict().items()}
    dropout = trainer.model.state()["Dropout1"]
    with pytest.raises(ValueError, match=r"the loaded state of 'W1' has shape \(5, 5\), but params\['W1'\] has shape \(2, 32\)"):
        trainer.load_state_dict(state, source="the bad state")
    for k, v in trainer.model.state_dict().items():
        assert np.array_equal(v, before[k]), k
    assert trainer.model.state()["Dropout1"] == dropout
    assert trainer.optimizer.state_dict()["arrays"] == {} and trainer.epochs_done == 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["run"]:
        child(json.loads(sys.argv[2]))


def test_train_convnet_on_two_threads_stopped_by_ctrl_c_resumes_to_the_one_thread_result(tmp_path, mnist_root):
    """SIGINT while a conv net's chunks run on two threads: exit 130 and a checkpoint; the
    resumed run on two threads ends with the weights and history, bit for bit, of a run
    never interrupted on one thread (the layers' sums do not depend on the thread count)."""
    options = ["--train-size", "300", "--verbose", "2", "--seed", "2"]
    # 2 epochs: each takes about a second (the 10000 test images evaluated), time for the signal
    cut_and_resume("train_convnet", options, tmp_path, mnist_root, epochs=2, cut_extra=["--threads", "2"],
                   full_extra=["--threads", "1"])
    (a, ha), (b, hb) = saved_run(tmp_path / "cut", "convnet_mnist"), saved_run(tmp_path / "full", "convnet_mnist")
    assert list(a) == list(b) and all(np.array_equal(a[k], b[k]) for k in a)
    assert ha == hb and ha["epoch"] == [1, 2]
