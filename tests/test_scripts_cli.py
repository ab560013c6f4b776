"""The scripts as programs: every bad command-line value is a one-line usage error before any
work starts, --out is checked up front, and Ctrl-C keeps the finished work.

Every bad value is checked by calling the script's ``main`` in this process, as the program
would run it (its name in ``sys.argv[0]``, from a folder of its own, with no data to load);
one bad value per script, the --help of each and the real Ctrl-C run the scripts as
subprocesses (``sys.executable scripts/NAME.py``). The other interruption tests call ``main``
in this process and make a chosen training step raise ``KeyboardInterrupt``, which is what a
Ctrl-C there does.
"""

import importlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import cli
import exits
import training
from bprop.optim import Callback, Trainer

ROOT = Path(__file__).resolve().parents[1]

#: script -> bad values, one per case: (arguments, the option the error must name, the value
#: it must quote). Every option with a range or a set of choices, in every script.
COMMON_BAD = [(["--seed", "-1"], "--seed", "-1"), (["--threads", "-1"], "--threads", "-1")]
#: the options of the scripts whose runs go through run_sweep
SWEEP_BAD = [(["--workers", "0"], "--workers", "0"), (["--scheduler", "foo"], "--scheduler", "foo"),
             (["--scheduler", "tcp://host:8786", "--workers", "2"], "--workers", "tcp://host:8786")]
BAD_VALUES = {
    "activations": COMMON_BAD,
    "gradient_descent": COMMON_BAD + [(["--steps", "0"], "--steps", "0")],
    "perceptron_gates": COMMON_BAD + [
        (["--hidden", "0"], "--hidden", "0"), (["--lr", "-1"], "--lr", "-1"),
        (["--steps", "0"], "--steps", "0")],
    "spiral": COMMON_BAD + [
        (["--points", "0"], "--points", "0"), (["--hidden", "0"], "--hidden", "0"),
        (["--lr", "0"], "--lr", "0"), (["--reg", "-1"], "--reg", "-1"),
        (["--linear-steps", "0"], "--linear-steps", "0"), (["--steps", "-3"], "--steps", "-3")],
    "train_two_layer": COMMON_BAD + [
        (["--train-size", "-5"], "--train-size", "-5"), (["--iterations", "0"], "--iterations", "0"),
        (["--hidden", "0"], "--hidden", "0"), (["--lr", "-1"], "--lr", "-1"),
        (["--batch-size", "0"], "--batch-size", "0"), (["--dtype", "float16"], "--dtype", "float16")],
    "train_mnist": COMMON_BAD + [
        (["--lr", "-1"], "--lr", "-1"), (["--lr", "nan"], "--lr", "nan"), (["--lr", "inf"], "--lr", "inf"),
        (["--hidden", "0"], "--hidden", "0"), (["--hidden", "100", "-5"], "--hidden", "-5"),
        (["--epochs", "0"], "--epochs", "0"), (["--batch-size", "0"], "--batch-size", "0"),
        (["--dropout", "1.5"], "--dropout", "1.5"), (["--dropout", "-0.5"], "--dropout", "-0.5"),
        (["--train-size", "-5"], "--train-size", "-5"), (["--init", "foo"], "--init", "foo"),
        (["--init", "-0.1"], "--init", "-0.1"), (["--weight-decay", "-1"], "--weight-decay", "-1"),
        (["--val-fraction", "1"], "--val-fraction", "1"), (["--patience", "0"], "--patience", "0"),
        (["--patience", "3"], "--patience", "3"),  # early stopping without a validation split
        (["--val-fraction", "0.5", "--train-size", "1"], "--val-fraction", "0.5"),
        (["--lr-gamma", "0"], "--lr-gamma", "0"), (["--lr-step-size", "0"], "--lr-step-size", "0"),
        (["--verbose", "3"], "--verbose", "3"), (["--optimizer", "foo"], "--optimizer", "foo"),
        (["--dataset", "foo"], "--dataset", "foo"), (["--activation", "foo"], "--activation", "foo"),
        (["--lr-schedule", "foo"], "--lr-schedule", "foo"), (["--dtype", "float16"], "--dtype", "float16")],
    "train_convnet": COMMON_BAD + [
        (["--lr", "-1"], "--lr", "-1"), (["--epochs", "0"], "--epochs", "0"),
        (["--batch-size", "0"], "--batch-size", "0"), (["--init", "foo"], "--init", "foo"),
        (["--weight-decay", "-1"], "--weight-decay", "-1"), (["--lr-gamma", "-0.8"], "--lr-gamma", "-0.8"),
        (["--lr-step-size", "0"], "--lr-step-size", "0"), (["--train-size", "-5"], "--train-size", "-5"),
        (["--verbose", "3"], "--verbose", "3"), (["--optimizer", "foo"], "--optimizer", "foo"),
        (["--dataset", "foo"], "--dataset", "foo"), (["--lr-schedule", "foo"], "--lr-schedule", "foo"),
        (["--dtype", "float16"], "--dtype", "float16")],
    "compare_optimizers": COMMON_BAD + SWEEP_BAD + [
        (["--seeds", "0"], "--seeds", "0"), (["--iterations", "0"], "--iterations", "0"),
        (["--batch-size", "0"], "--batch-size", "0"), (["--path-steps", "0"], "--path-steps", "0")],
    "weight_init_compare": COMMON_BAD + [(["--iterations", "0"], "--iterations", "0")],
    "batch_norm_compare": COMMON_BAD + [
        (["--train-size", "0"], "--train-size", "0"), (["--epochs", "0"], "--epochs", "0"),
        (["--scales", "0"], "--scales", "0")],
    "regularization": COMMON_BAD + [
        (["--train-size", "-5"], "--train-size", "-5"), (["--epochs", "0"], "--epochs", "0"),
        (["--weight-decay", "-0.1"], "--weight-decay", "-0.1"), (["--dropout", "1.5"], "--dropout", "1.5"),
        (["--dropout", "0"], "--dropout", "0")],
    "hyperparameter_search": COMMON_BAD + SWEEP_BAD + [
        (["--trials", "0"], "--trials", "0"), (["--epochs", "0"], "--epochs", "0"),
        (["--train-size", "0"], "--train-size", "0"), (["--val-fraction", "0"], "--val-fraction", "0"),
        (["--val-fraction", "1"], "--val-fraction", "1"),
        (["--val-fraction", "0.5", "--train-size", "1"], "--val-fraction", "0.5")],
    "char_lm": COMMON_BAD + [
        (["--embed", "0"], "--embed", "0"), (["--hidden", "-1"], "--hidden", "-1"),
        (["--layers", "0"], "--layers", "0"), (["--dropout", "1"], "--dropout", "1"),
        (["--batch-size", "0"], "--batch-size", "0"), (["--time-size", "0"], "--time-size", "0"),
        (["--epochs", "0"], "--epochs", "0"), (["--lr", "0"], "--lr", "0"),
        (["--lr-decay", "-1"], "--lr-decay", "-1"), (["--clip", "-1"], "--clip", "-1"),
        (["--dtype", "float16"], "--dtype", "float16"), (["--train-chars", "0"], "--train-chars", "0"),
        (["--time-limit", "-5"], "--time-limit", "-5"), (["--sample-length", "0"], "--sample-length", "0"),
        (["--temperature", "0.5", "-1"], "--temperature", "-1"), (["--verbose", "3"], "--verbose", "3"),
        (["--tie", "--embed", "64", "--hidden", "256"], "--tie", "--embed (64) must equal --hidden (256)"),
        (["--prime", ""], "--prime", "at least one character")],
    "seq2seq_addition": COMMON_BAD + [
        (["--variants", "foo"], "--variants", "foo"), (["--embed", "0"], "--embed", "0"),
        (["--hidden", "0"], "--hidden", "0"), (["--epochs", "0"], "--epochs", "0"),
        (["--batch-size", "0"], "--batch-size", "0"), (["--lr", "-1"], "--lr", "-1"),
        (["--lr-decay", "0"], "--lr-decay", "0"), (["--clip", "-1"], "--clip", "-1"),
        (["--train-size", "0"], "--train-size", "0"), (["--test-size", "-3"], "--test-size", "-3"),
        (["--dtype", "float16"], "--dtype", "float16"), (["--verbose", "3"], "--verbose", "3"),
        (["--train-size", "600000"], "--train-size", "ask for at most 500000 together")],
    "word2vec": COMMON_BAD + [(["--hidden", "0"], "--hidden", "0"), (["--window", "0"], "--window", "0")],
    "attention_dates": COMMON_BAD + [(["--hidden", "0"], "--hidden", "0"), (["--epochs", "0"], "--epochs", "0")],
    "gpt_char": COMMON_BAD + [(["--steps", "0"], "--steps", "0"), (["--lr", "-1"], "--lr", "-1")],
    "train_resnet": COMMON_BAD + [
        (["--width", "0"], "--width", "0"), (["--blocks", "1", "0", "1"], "--blocks", "0"),
        (["--lr", "-1"], "--lr", "-1"), (["--weight-decay", "-1"], "--weight-decay", "-1"),
        (["--epochs", "0"], "--epochs", "0"), (["--batch-size", "0"], "--batch-size", "0"),
        (["--dataset", "cifar"], "--dataset", "cifar"), (["--verbose", "3"], "--verbose", "3")],
    "benchmark": [
        (["--seed", "-1"], "--seed", "-1"), (["--threads", "1", "-2"], "--threads", "-2"),
        (["--repeats", "0"], "--repeats", "0"), (["--batch-size", "0"], "--batch-size", "0"),
        (["--config", "foo"], "--config", "foo"), (["--dtype", "float16"], "--dtype", "float16")],
}
CASES = [pytest.param(name, args, option, value, id=f"{name} {' '.join(args)}")
         for name, cases in BAD_VALUES.items() for args, option, value in cases]


def script_env(tmp_path):
    """The environment of a script run: Agg, one BLAS thread, and BPROP_DATA where no data can
    be (a path under a regular file): a script that tried to load data would fail at once
    with exit status 1, never succeed, so exit status 2 proves the check came first."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    return dict(os.environ, MPLBACKEND="Agg", OPENBLAS_NUM_THREADS="1",
                BPROP_DATA=str(blocker / "data"))


def run_script(name, args, tmp_path, env=None):
    return subprocess.run([sys.executable, str(ROOT / "scripts" / f"{name}.py"), *args], cwd=tmp_path,
                          env=env or script_env(tmp_path), capture_output=True, text=True, timeout=60)


@pytest.fixture
def run_main(tmp_path, monkeypatch, capsys):
    """``run_main(name, args)``: ``scripts/<name>.py``'s ``main(args)`` called in this process as
    :func:`run_script` runs the program (``sys.argv[0]`` the script, so that argparse names it;
    from ``tmp_path``; BPROP_DATA where no data can be, and the sweep runs' dataset cache of
    this process bypassed, so that a load fails here too). It must end with ``SystemExit``;
    returns ``(status, stdout, stderr)``. A few milliseconds, where a new interpreter takes a
    third of a second: this is how the many bad values are checked."""
    from bprop.optim import mlp_runs

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BPROP_DATA", script_env(tmp_path)["BPROP_DATA"])
    monkeypatch.setattr(mlp_runs, "_full_dataset", mlp_runs._full_dataset.__wrapped__)

    def run(name, args):
        monkeypatch.setattr(sys, "argv", [str(ROOT / "scripts" / f"{name}.py")])
        capsys.readouterr()
        with pytest.raises(SystemExit) as stop:
            importlib.import_module(name).main(args)
        out, err = capsys.readouterr()
        return stop.value.code, out, err

    return run


def assert_usage_error(status, stdout, stderr, option, value):
    assert status == 2, stdout + stderr
    assert "Traceback" not in stderr
    assert stdout == ""  # nothing ran, nothing was printed
    lines = stderr.splitlines()
    assert lines[0].startswith("usage: ")
    errors = [line for line in lines if "error:" in line]
    assert len(errors) == 1, stderr
    assert errors == lines[-1:]
    assert f"argument {option}:" in errors[0] and value in errors[0], errors[0]


@pytest.mark.parametrize("name, args, option, value", CASES)
def test_bad_value_is_a_one_line_usage_error_before_any_data_is_loaded(name, args, option, value, tmp_path,
                                                                       run_main):
    assert_usage_error(*run_main(name, args), option, value)
    assert not (tmp_path / cli.DEFAULT_OUT).exists()  # not even the output folder


@pytest.mark.parametrize("name", sorted(BAD_VALUES))
def test_the_program_exits_with_status_2_and_one_line_on_a_bad_value(name, tmp_path):
    """The first bad value of each script, given to the script run as a program: what the
    in-process checks above see is what a user sees (status 2, no traceback, nothing on
    stdout, no output folder)."""
    args, option, value = BAD_VALUES[name][0]
    result = run_script(name, args, tmp_path)
    assert_usage_error(result.returncode, result.stdout, result.stderr, option, value)
    assert not (tmp_path / cli.DEFAULT_OUT).exists()


def test_usage_errors_name_the_valid_range_or_choices(run_main):
    expected = {
        ("train_mnist", "--lr", "-1"): "expected a finite number > 0, got '-1'",
        ("train_mnist", "--hidden", "0"): "expected an integer >= 1, got '0'",
        ("train_mnist", "--dropout", "1.5"): "expected a number in [0, 1), got '1.5'",
        ("train_mnist", "--seed", "-1"): "expected an integer >= 0, got '-1'",
        ("train_mnist", "--init", "foo"): "expected one of elu, gelu, he, kaiming_normal, kaiming_uniform, "
                                          "leaky_relu, ones, orthogonal, relu, sigmoid, silu, softplus, swish, "
                                          "tanh, torch_default, xavier, xavier_normal, xavier_uniform, zeros or a "
                                          "standard deviation > 0, got 'foo'",
        ("train_mnist", "--optimizer", "foo"): "invalid choice: 'foo' (choose from 'adadelta', 'adagrad', "
                                               "'adam', 'adamw', 'momentum', 'nadam', 'nesterov', 'radam', "
                                               "'rmsprop', 'sgd')",
        ("compare_optimizers", "--seeds", "0"): "expected an integer >= 1, got '0'",
    }
    for (name, option, value), message in expected.items():
        _, _, stderr = run_main(name, [option, value])
        assert stderr.splitlines()[-1] == f"{name}.py: error: argument {option}: {message}"


#: the flags every script's --help lists, and those of some scripts besides (benchmark writes
#: no figure: it has --json instead of --out and --show)
COMMON_FLAGS = ("--seed", "--out", "--show", "--quick", "--threads")
HELP_FLAGS = {
    "benchmark": ("--seed", "--quick", "--threads", "--config", "--dtype", "--json"),
    "train_convnet": COMMON_FLAGS + ("--deep", "--dataset", "--epochs", "--batch-size", "--lr", "--optimizer",
                                     "--dtype"),
    "compare_optimizers": COMMON_FLAGS + ("--workers", "--scheduler"),
    "hyperparameter_search": COMMON_FLAGS + ("--workers", "--scheduler"),
}


@pytest.mark.parametrize("name", sorted(BAD_VALUES))
def test_help_runs_from_a_checkout_lists_the_flags_and_reads_as_plain_text(name, tmp_path):
    result = run_script(name, ["--help"], tmp_path)
    assert result.returncode == 0, result.stderr
    for flag in HELP_FLAGS.get(name, COMMON_FLAGS):
        assert flag in result.stdout, f"{flag} missing from the --help of {name}"
    for markup in ("``", "::", ":func:", ":class:"):
        assert markup not in result.stdout, f"{markup!r} in the --help of {name}"


# --- --out ------------------------------------------------------------------------------------


def test_out_that_is_a_file_or_under_a_file_is_a_usage_error(tmp_path, run_main):
    afile = tmp_path / "results.png"
    afile.write_bytes(b"")
    assert_usage_error(*run_main("train_mnist", ["--out", str(afile)]), "--out", "is a file")
    assert_usage_error(*run_main("train_mnist", ["--out", str(afile / "sub")]), "--out", "Not a directory")


def test_out_is_created_with_its_parents_before_anything_runs(tmp_path):
    parser = cli.make_parser("Test.")
    out = tmp_path / "a" / "b"
    parser.parse_args(["--out", str(out), "--threads", "0"])
    assert out.is_dir() and list(out.iterdir()) == []  # the write test leaves nothing behind


@pytest.mark.skipif(not Path("/sys").is_dir(), reason="needs Linux's /sys")
def test_out_in_a_folder_nobody_can_write_is_a_usage_error(run_main):
    # sysfs refuses new files even to root, so this folder is read-only for every user;
    # tests often run as root, for whom a chmod'ed folder would still be writable.
    assert_usage_error(*run_main("train_mnist", ["--out", "/sys"]), "--out", "cannot write in the folder '/sys'")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="root writes into a read-only folder anyway")
def test_out_read_only_folder_is_a_usage_error(tmp_path, run_main):
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        result = run_main("train_mnist", ["--out", str(folder)])
    finally:
        folder.chmod(0o755)
    assert_usage_error(*result, "--out", "cannot write in the folder")


# --- the argument types -----------------------------------------------------------------------


@pytest.mark.parametrize("parse, good, bad", [
    (cli.positive_int, {"1": 1, "60000": 60000}, ["0", "-1", "1.5", "x", ""]),
    (cli.nonneg_int, {"0": 0, "7": 7}, ["-1", "0.5", "x"]),
    (cli.positive_float, {"1e-3": 1e-3, "3": 3.0}, ["0", "-1", "nan", "inf", "x"]),
    (cli.nonneg_float, {"0": 0.0, "0.1": 0.1}, ["-1e-9", "nan", "inf"]),
    (cli.fraction, {"0": 0.0, "0.999": 0.999}, ["1", "-0.5", "1.5", "nan"]),
    (cli.open_fraction, {"0.2": 0.2}, ["0", "1", "nan"]),
    (cli.weight_init, {"he": "he", "Xavier": "xavier", "0.01": 0.01}, ["foo", "0", "-0.1", "nan"]),
])
def test_argument_types_accept_their_range_and_refuse_the_rest(parse, good, bad):
    import argparse

    for text, value in good.items():
        assert parse(text) == value
    for text in bad:
        with pytest.raises(argparse.ArgumentTypeError, match=f"expected .*, got {text!r}"):
            parse(text)


# --- Ctrl-C -----------------------------------------------------------------------------------


def test_sigint_after_the_first_epoch_keeps_history_figure_and_weights(tmp_path, mnist_root):
    """A real SIGINT to train_mnist.py once epoch 1 is reported: exit status 130, no traceback,
    and --out holds the completed epochs: the JSON history, the figure, and the weights of the
    last completed epoch (their test accuracy is the one the history recorded for it)."""
    out = tmp_path / "out"
    env = dict(script_env(tmp_path), BPROP_DATA=mnist_root)
    # Python turns SIGINT into KeyboardInterrupt only if it is not ignored when it starts
    # (a shell's background job ignores it): restore the default in the child.
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "train_mnist.py"), "--out", str(out), "--train-size", "1000",
         "--epochs", "10000", "--verbose", "2"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    lines = queue.Queue()  # stdout line by line, then None at its end

    def read():
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    seen = []
    try:
        while not any(line.startswith("epoch 1/") for line in seen):
            line = lines.get(timeout=60)  # queue.Empty fails the test if epoch 1 never comes
            if line is None:
                proc.wait(timeout=60)
                pytest.fail(f"train_mnist.py ended (status {proc.returncode}) before epoch 1:\n"
                            + "".join(seen) + proc.stderr.read())
            seen.append(line)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reader.join(timeout=10)
    stdout = "".join(seen) + "".join(line for line in iter(lines.get_nowait, None))
    stderr = proc.stderr.read()
    assert proc.returncode == 130, stdout + stderr
    assert "Traceback" not in stderr
    assert "interrupted by Ctrl-C" in stdout and f"what was finished is in {out}" in stdout

    results = json.loads((out / "train_mnist.json").read_text())
    history = results["history"]
    done = results["interrupted_after_epoch"]
    assert done >= 1 and history["epoch"] == list(range(1, done + 1))
    assert len(history["val_acc"]) == done
    assert len(history["iter_loss"]) == history["iteration"][-1] == done * 10  # 1000 images, batch 100
    png = (out / "train_mnist.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    for name in ("train_mnist.png", "train_mnist.json", "train_mnist_weights.npz"):
        assert str(out / name) in stdout  # it says where

    from bprop.datasets import load_mnist
    from bprop.networks import MultiLayerNet

    net = MultiLayerNet(784, [100], 10, dtype=np.float32)
    net.load_params(out / "train_mnist_weights.npz")
    _, (x_test, t_test) = load_mnist(root=mnist_root, download=False, verbose=0)
    # No validation split: the per-epoch validation set is the whole test set.
    assert net.accuracy(x_test, t_test) == pytest.approx(history["val_acc"][-1], abs=1e-12)
    assert results["test_accuracy"] == pytest.approx(history["val_acc"][-1], abs=1e-12)


@pytest.fixture
def ctrl_c(monkeypatch):
    """``ctrl_c(run, step)``: the ``run``-th ``Trainer.fit`` of the test (1-based) raises
    ``KeyboardInterrupt`` at its ``step``-th optimizer update, before the update, as a Ctrl-C
    arriving there would."""

    def arm(run, step):
        original, fits = Trainer.fit, []

        def fit(self):
            fits.append(self)
            if len(fits) == run:
                update, updates = self.optimizer.update, []

                def interrupted_update(params, grads):
                    updates.append(1)
                    if len(updates) == step:
                        raise KeyboardInterrupt
                    return update(params, grads)

                monkeypatch.setattr(self.optimizer, "update", interrupted_update)
            return original(self)

        monkeypatch.setattr(Trainer, "fit", fit)

    return arm


def run_interrupted(name, out, *args):
    import importlib

    with pytest.raises(SystemExit) as stop:
        importlib.import_module(name).main(["--out", str(out), "--seed", "0", *args])
    assert stop.value.code == exits.INTERRUPTED_STATUS


def read_json(path):
    return json.loads(Path(path).read_text())


class _InterruptAtEpochEnd(Callback):
    """Ctrl-C at the end of epoch ``epoch``: after its updates and evaluation, before the
    history records it (RecordHistory is called after the callbacks a caller gives)."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, trainer, epoch, logs):
        if epoch == self.epoch:
            raise KeyboardInterrupt


@pytest.mark.parametrize("where", ["update", "epoch_end"])
def test_ctrl_c_during_an_epoch_restores_the_last_completed_one(ctrl_c, where):
    """LastEpoch puts back exactly the weights a run stopping after that epoch would have,
    whether Ctrl-C comes in the middle of epoch 3 or once its updates are all done."""
    from bprop.datasets import make_blobs
    from bprop.networks import MultiLayerNet
    from bprop.optim import SGD

    x, t = make_blobs(100, 2, rng=0)  # 200 points

    def run(epochs, watch=False):
        net = MultiLayerNet(2, [8], 2, rng=0)
        last_epoch = training.LastEpoch(net) if watch else None
        callbacks = [last_epoch] if watch else []
        if watch and where == "epoch_end":
            callbacks.append(_InterruptAtEpochEnd(3))
        trainer = Trainer(net, SGD(lr=0.1), (x, t), epochs=epochs, batch_size=50, rng=1, verbose=0,
                          callbacks=callbacks)
        return net, trainer, last_epoch

    reference, trainer, _ = run(2)
    trainer.fit()
    net, trainer, last_epoch = run(5, watch=True)
    if where == "update":
        ctrl_c(run=1, step=11)  # 4 updates per epoch: the 3rd update of epoch 3
    history, error, interrupted = training.fit(trainer, catch_interrupt=True)
    assert interrupted and error is None
    assert history["epoch"] == [1, 2] and len(history["iter_loss"]) == 8
    assert last_epoch.restore(history) == 2
    for k in reference.params:
        np.testing.assert_array_equal(net.params[k], reference.params[k])


def test_last_epoch_restore_leaves_the_network_when_no_epoch_was_completed():
    from bprop.networks import MultiLayerNet

    net = MultiLayerNet(2, [8], 2, rng=0)
    last_epoch = training.LastEpoch(net)
    last_epoch.on_epoch_begin(None, 1)  # the copy of the initial weights, "after epoch 0"
    net.params["W1"] += 1.0
    changed = net.params["W1"].copy()
    assert last_epoch.restore({"epoch": []}) == 0
    np.testing.assert_array_equal(net.params["W1"], changed)


def test_ctrl_c_before_the_first_epoch_ends_writes_nothing(ctrl_c, tmp_path, mnist_root, capsys):
    ctrl_c(run=1, step=2)
    run_interrupted("train_convnet", tmp_path / "out", "--quick", "--verbose", "0")
    assert not list((tmp_path / "out").iterdir())
    assert "nothing (more) was finished, nothing to write" in capsys.readouterr().out


def test_ctrl_c_train_two_layer_keeps_the_completed_epochs(ctrl_c, tmp_path, mnist_root):
    ctrl_c(run=1, step=13)  # 500 images, batch 100: 5 updates per epoch, so in epoch 3
    run_interrupted("train_two_layer", tmp_path, "--quick")
    results = read_json(tmp_path / "train_two_layer.json")
    assert results["interrupted_after_epoch"] == 2 and results["history"]["epoch"] == [1, 2]
    assert (tmp_path / "train_two_layer.png").is_file()


def test_ctrl_c_spiral_keeps_the_finished_model_and_the_steps_of_the_other(ctrl_c, tmp_path):
    ctrl_c(run=2, step=50)
    run_interrupted("spiral", tmp_path, "--quick")
    results = read_json(tmp_path / "spiral.json")
    assert results["interrupted"] is True
    assert results["linear"]["steps_done"] == 200 and results["two_layer"]["steps_done"] == 49
    assert (tmp_path / "spiral.png").is_file()


def test_ctrl_c_perceptron_gates_keeps_the_gates_and_the_steps_done(ctrl_c, tmp_path):
    ctrl_c(run=1, step=100)
    run_interrupted("perceptron_gates", tmp_path, "--quick")
    results = read_json(tmp_path / "perceptron_gates.json")
    assert results["truth_tables"]["XOR"] == [0, 1, 1, 0]
    assert results["mlp"]["interrupted"] is True and results["mlp"]["steps"] == 99
    assert (tmp_path / "perceptron_gates.png").is_file()


def committed_runs(db):
    """Runs committed to a sweep's SQLite file so far (0 before the file or its table exists)."""
    import sqlite3

    if not db.exists():
        return 0
    with sqlite3.connect(db, timeout=10) as connection:
        try:
            return connection.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
        except sqlite3.OperationalError:
            return 0


#: the scripts whose runs go through run_sweep: arguments, runs in all, files written from the
#: finished runs, and the number of finished runs their JSON reports. Each run takes a tenth of
#: a second or more, so that the SIGINT sent once the first is committed lands before the last.
SWEEP_SCRIPTS = {
    "compare_optimizers": (["--quick", "--seeds", "1"], 6, ["compare_optimizers_mnist.png", "compare_optimizers.csv"],
                           lambda r: sum(len(m["test_accuracy"]) for m in r["mnist"].values())),
    "hyperparameter_search": (["--trials", "6", "--epochs", "20"], 6,
                              ["hyperparameter_search.png", "hyperparameter_search.csv"],
                              lambda r: len(r["trials"])),
}


@pytest.mark.parametrize("name", sorted(SWEEP_SCRIPTS))
def test_sigint_during_a_sweep_writes_the_finished_runs_and_the_rerun_executes_the_rest(name, tmp_path,
                                                                                        mnist_root):
    """A real SIGINT to the script's process group (a terminal's Ctrl-C) once a run is committed:
    exit status 130, the figure, CSV and JSON of the finished runs; the same command again
    executes only the runs that were missing."""
    args, total, files, count = SWEEP_SCRIPTS[name]
    out = tmp_path / "out"
    db = out / f"{name}.sqlite"
    command = [sys.executable, str(ROOT / "scripts" / f"{name}.py"), *args, "--workers", "1", "--out", str(out)]
    env = dict(os.environ, MPLBACKEND="Agg", BPROP_DATA=mnist_root)
    # A session of its own, so that SIGINT goes to its process group as a terminal's Ctrl-C does;
    # SIGINT's default action restored, as a shell's background job (pytest run with &) ignores it.
    script = subprocess.Popen(command, cwd=tmp_path, env=env, start_new_session=True, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True,
                              preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        end = time.monotonic() + 120
        while committed_runs(db) == 0 and script.poll() is None and time.monotonic() < end:
            time.sleep(0.02)
        os.killpg(script.pid, signal.SIGINT)
        output, _ = script.communicate(timeout=120)
    finally:
        if script.poll() is None:
            os.killpg(script.pid, signal.SIGKILL)
            script.wait(timeout=60)
    assert script.returncode == exits.INTERRUPTED_STATUS, output
    assert "interrupted by Ctrl-C" in output and "Traceback" not in output
    finished = committed_runs(db)
    assert 1 <= finished < total, output
    results = read_json(out / f"{name}.json")
    assert results["interrupted"] is True and count(results) == finished
    assert results["sweep"]["finished"] == finished and results["sweep"]["executed_now"] is None
    for f in files:
        assert (out / f).is_file(), f

    # The same command again, through main in this process: no signal to send, and no second
    # interpreter to start.
    importlib.import_module(name).main([*args, "--workers", "1", "--out", str(out)])
    results = read_json(out / f"{name}.json")
    assert results["interrupted"] is False and count(results) == total
    assert results["sweep"]["executed_now"] == total - finished


@pytest.mark.parametrize("name, run, files, count", [
    ("weight_init_compare", 2, ["weight_init_mnist.png"], lambda r: len(r["mnist"])),
    ("batch_norm_compare", 3, ["batch_norm_compare.png", "batch_norm_compare.csv"],
     lambda r: len(r["table"])),
    ("regularization", 2, ["regularization.png", "regularization.csv"], lambda r: len(r["table"])),
])
def test_ctrl_c_multi_run_scripts_keep_the_finished_runs(ctrl_c, tmp_path, mnist_root, name, run, files,
                                                         count):
    ctrl_c(run=run, step=2)
    run_interrupted(name, tmp_path, "--quick")
    results = read_json(tmp_path / f"{name}.json")
    assert results["interrupted"] is True
    # batch_norm_compare trains twice per weight scale: its 3rd run is the 2nd scale's first
    assert count(results) == (1 if name == "batch_norm_compare" else run - 1)
    for f in files:
        assert (tmp_path / f).is_file()


def test_ctrl_c_benchmark_prints_and_writes_the_configurations_timed(monkeypatch, tmp_path, capsys):
    import benchmark

    original, calls = benchmark.bench, []

    def bench(*args):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return original(*args)

    monkeypatch.setattr(benchmark, "bench", bench)
    out = tmp_path / "bench.json"
    with pytest.raises(SystemExit) as stop:
        benchmark.main(["--quick", "--config", "a", "b-sgd", "--dtype", "float32", "--threads", "1",
                        "--json", str(out)])
    assert stop.value.code == 130
    report = json.loads(out.read_text())
    assert report["interrupted"] is True and [r["config"] for r in report["results"]] == ["a"]
    assert "x floor" in capsys.readouterr().out


def test_ctrl_c_outside_the_training_ends_with_one_line_and_status_130(capsys):
    def main():
        raise KeyboardInterrupt

    with pytest.raises(SystemExit) as stop:
        exits.run(main)
    assert stop.value.code == 130
    assert capsys.readouterr().err.strip() == "interrupted by Ctrl-C"
