"""Commands that fail say why in one line on stderr, with a non-zero status, and keep what finished.

- A training run that diverges writes the files of its completed epochs, then exits with
  status 1 and one line ("training diverged at epoch E, iteration I: loss L; lower --lr (it
  was X)"); scripts that compare many runs record a diverged run as a result and go on.
- ``--resume`` with another value of an option the checkpoint's run depends on (--lr, --seed,
  --batch-size, ...) is a usage error before any work: one line naming the option and both
  values, status 2, nothing trained, the checkpoint untouched. So is a damaged checkpoint.
- A sweep whose results file is damaged, or whose Dask scheduler does not answer, ends with
  one line and status 1, never a traceback.

The scripts' ``main`` is called in this process (``sys.argv[0]`` the script, so that argparse
names it); one diverging run and one damaged sweep store run as real programs.
"""

import functools
import importlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import exits
import training
from bprop.networks import MultiLayerNet
from bprop.optim import SGD, Trainer, load_checkpoint
from bprop.optim.checkpoint import save_checkpoint
from bprop.optim.sweep_store import SweepStoreError
from bprop.optim.sweep_workers import SchedulerUnreachableError

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"
#: the one line of a diverged run: where, the loss, and what to lower
DIVERGED = re.compile(r"^error: (.+ )?diverged at epoch (\d+), iteration (\d+): loss (\S+); (.+)$")


@pytest.fixture
def run_main(monkeypatch, capsys):
    """``run_main(name, args)``: ``scripts/<name>.py``'s ``main(args)`` as the program runs it;
    returns ``(status, stdout, stderr)``, status 0 when ``main`` returns."""

    def run(name, args):
        monkeypatch.setattr(sys, "argv", [str(SCRIPTS / f"{name}.py")])
        capsys.readouterr()
        try:
            importlib.import_module(name).main([str(a) for a in args])
            status = 0
        except SystemExit as stop:
            status = stop.code
        out, err = capsys.readouterr()
        return status, out, err

    return run


def program(name, args, env=None):
    """``scripts/<name>.py`` run as a program: the ``CompletedProcess``."""
    env = dict(os.environ, MPLBACKEND="Agg", OPENBLAS_NUM_THREADS="1", **(env or {}))
    return subprocess.run([sys.executable, str(SCRIPTS / f"{name}.py"), *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=120)


def one_line(err):
    """The one line of ``err`` (the test fails unless there is exactly one)."""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def diverged(err):
    """``(epoch, iteration, hint)`` of a diverged run's one line."""
    match = DIVERGED.match(one_line(err))
    assert match, err
    return int(match[2]), int(match[3]), match[5]


@pytest.fixture
def text_file(tmp_path):
    """A small text of our own (about 10000 characters of a few words)."""
    rng = np.random.default_rng(0)
    words = np.array(["to", "be", "or", "not", "that", "is", "the", "question"])
    path = tmp_path / "text.txt"
    path.write_text("\n".join(" ".join(rng.choice(words, 8)) for _ in range(300)), encoding="utf-8")
    return path


# --- divergence --------------------------------------------------------------------------------

#: train_mnist with 2 updates per epoch, the lr multiplied by 1e5 after epoch 1: it diverges in epoch 2
MNIST_RUN = ["--quick", "--train-size", "200", "--verbose", "0", "--lr-schedule", "exponential"]


def test_train_mnist_diverging_in_epoch_2_exits_1_with_one_line_and_keeps_epoch_1(tmp_path, mnist_root,
                                                                                      run_main):
    status, out, err = run_main("train_mnist", [*MNIST_RUN, "--epochs", "3", "--lr-gamma", "1e5",
                                                "--out", tmp_path / "run"])
    assert status == exits.FAILED_STATUS == 1
    epoch, _, hint = diverged(err)
    assert epoch == 2 and hint == "lower --lr (it was 0.1, 10000 at that step)"
    assert "this error's `history` attribute" not in out + err
    saved = json.loads((tmp_path / "run" / "train_mnist.json").read_text())
    assert saved["history"]["epoch"] == [1] and saved["diverged"] and saved["test_accuracy"] is None
    assert (tmp_path / "run" / "train_mnist.png").is_file()
    # the weights are those of epoch 1: a run of one epoch ends with the same
    assert run_main("train_mnist", [*MNIST_RUN, "--epochs", "1", "--lr-gamma", "1e5",
                                    "--out", tmp_path / "one"])[0] == 0
    with np.load(tmp_path / "run" / "train_mnist_weights.npz") as a, \
            np.load(tmp_path / "one" / "train_mnist_weights.npz") as b:
        assert a.files == b.files and all(np.array_equal(a[k], b[k]) for k in a.files)


def test_a_diverging_program_exits_1_with_one_line_on_stderr(tmp_path, mnist_root):
    result = program("train_mnist", ["--quick", "--train-size", "200", "--epochs", "1", "--lr", "1e6",
                                     "--verbose", "1", "--out", tmp_path], env={"BPROP_DATA": mnist_root})
    assert result.returncode == 1, result.stdout + result.stderr
    assert diverged(result.stderr) == (1, 2, "lower --lr (it was 1e+06)")
    assert "error" not in result.stdout
    # no epoch was completed: the settings and the partial history, no figure, no weights
    assert sorted(os.listdir(tmp_path)) == ["train_mnist.json"]


@pytest.mark.parametrize("name, args, hint", [
    ("train_convnet", ["--quick", "--train-size", "200", "--optimizer", "sgd", "--lr", "1e6",
                       "--lr-schedule", "none", "--verbose", "0"], "lower --lr (it was 1e+06)"),
    ("train_two_layer", ["--quick", "--lr", "1e6"], "lower --lr (it was 1e+06)"),
    ("regularization", ["--quick", "--train-size", "200", "--epochs", "2", "--weight-decay", "1e4"],
     "lower --weight-decay (it was 10000)"),
    ("spiral", ["--quick", "--lr", "1e6"], "lower --lr (it was 1e+06)"),
    ("perceptron_gates", ["--quick", "--lr", "1e6"], "lower --lr (it was 1e+06)"),
])
def test_every_training_script_that_diverges_exits_1_with_one_line(name, args, hint, tmp_path, run_main,
                                                                    request):
    if name in ("train_convnet", "train_two_layer", "regularization"):
        request.getfixturevalue("mnist_root")  # these train on MNIST
    status, out, err = run_main(name, [*args, "--out", tmp_path])
    assert status == 1, out + err
    assert diverged(err)[2] == hint
    assert any(line.startswith("wrote ") and line.endswith(".json") for line in out.splitlines())


def test_char_lm_that_diverges_exits_1_with_one_line(tmp_path, text_file, run_main):
    status, out, err = run_main("char_lm", [
        "--text", text_file, "--prime", "to", "--embed", "8", "--hidden", "8", "--batch-size", "8",
        "--time-size", "10", "--epochs", "2", "--lr", "1e4", "--clip", "0", "--sample-length", "10",
        "--temperature", "0", "--verbose", "0", "--out", tmp_path / "out"])
    assert status == 1
    assert diverged(err) == (1, 2, "lower --lr (it was 10000)")
    assert json.loads((tmp_path / "out" / "char_lm.json").read_text())["diverged"]


def test_seq2seq_names_the_models_that_diverged_after_training_them_all(tmp_path, run_main):
    status, out, err = run_main("seq2seq_addition", [
        "--variants", "plain", "reversed", "--train-size", "300", "--test-size", "50", "--embed", "8",
        "--hidden", "8", "--epochs", "1", "--lr", "1e4", "--clip", "0", "--verbose", "0", "--out", tmp_path])
    assert status == 1
    line = one_line(err)
    assert line.startswith("error: training of the plain model (and reversed) diverged at epoch 1")
    assert line.endswith("; lower --lr (it was 10000)")
    saved = json.loads((tmp_path / "seq2seq_addition.json").read_text())
    assert saved["results"]["plain"]["diverged"] and saved["results"]["reversed"]["diverged"]


def test_batch_norm_compare_records_the_diverged_runs_as_results(tmp_path, mnist_root, run_main):
    # without batch norm, weights of std 1 diverge: one of the results, not a failure
    status, out, err = run_main("batch_norm_compare", ["--quick", "--scales", "2", "--epochs", "1",
                                                       "--out", tmp_path])
    assert status == 0 and err == ""
    assert "error" not in out and "1.00e+00" in out and "diverged" in out
    curves = json.loads((tmp_path / "batch_norm_compare.json").read_text())["curves"]
    assert curves[0]["plain_diverged"] is True and curves[1]["plain_diverged"] is False


def test_weight_init_compare_records_a_diverged_run_as_a_result(tmp_path, mnist_root, run_main, monkeypatch):
    import weight_init_compare

    # a learning rate that makes every initialisation diverge (the script's is fixed at 0.01)
    monkeypatch.setattr(weight_init_compare, "SGD", lambda lr: SGD(lr=1e6))
    status, out, err = run_main("weight_init_compare", ["--quick", "--iterations", "5", "--out", tmp_path])
    assert status == 0 and err == ""
    mnist = json.loads((tmp_path / "weight_init_compare.json").read_text())["mnist"]
    assert set(mnist) == {"std 0.01", "Xavier", "He"}
    for entry in mnist.values():
        assert entry["diverged"].startswith("training diverged") and entry["train_accuracy"] is None
    assert out.count("diverged at iteration") == 3


# --- --resume with other settings --------------------------------------------------------------

MNIST_RESUME = ["--quick", "--train-size", "200", "--epochs", "1", "--verbose", "0"]


@pytest.fixture(scope="module")
def first_checkpoint(tmp_path_factory):
    """A train_mnist checkpoint of one epoch (lr 0.1, seed 0, batch 100), written once."""
    from conftest import real_data_folder

    real_data_folder("mnist")
    folder = tmp_path_factory.mktemp("first")
    import train_mnist

    train_mnist.main([*MNIST_RESUME, "--out", str(folder), "--checkpoint", str(folder / "ck.npz")])
    return folder / "ck.npz"


@pytest.fixture
def mnist_checkpoint(first_checkpoint, tmp_path):
    """A copy of :func:`first_checkpoint` of this test's own: its path."""
    path = tmp_path / "ck.npz"
    path.write_bytes(first_checkpoint.read_bytes())
    return path


@pytest.mark.parametrize("option, saved, given", [("--lr", "0.1", "0.5"), ("--seed", "0", "3"),
                                                  ("--batch-size", "100", "50")])
def test_resume_with_another_value_is_a_one_line_usage_error_naming_both(option, saved, given, tmp_path,
                                                                         mnist_checkpoint, run_main):
    before = mnist_checkpoint.read_bytes()
    status, out, err = run_main("train_mnist", [*MNIST_RESUME, "--epochs", "2", option, given,
                                                "--out", tmp_path / "resumed", "--checkpoint",
                                                mnist_checkpoint, "--resume"])
    assert status == exits.USAGE_STATUS == 2 and out == ""
    line = one_line(err)
    assert line.startswith(f"train_mnist.py: error: argument {option}: {mnist_checkpoint} ")
    assert f"written with {option} {saved}, this command gives {option} {given}" in line
    assert mnist_checkpoint.read_bytes() == before  # nothing trained
    assert not (tmp_path / "resumed").exists()  # not even the output folder


def test_resume_may_change_epochs_out_verbose_and_threads(tmp_path, mnist_checkpoint, run_main):
    status, out, _ = run_main("train_mnist", [*MNIST_RESUME, "--epochs", "2", "--verbose", "2", "--threads", "1",
                                              "--out", tmp_path / "resumed", "--checkpoint", mnist_checkpoint,
                                              "--resume"])
    assert status == 0 and "epoch 2/2" in out and "epoch 1/2" not in out
    settings = json.loads((tmp_path / "resumed" / "train_mnist.json").read_text())["settings"]
    assert settings["lr"] == 0.1 and settings["epochs"] == 2


def test_resume_from_a_damaged_checkpoint_is_one_line_and_status_2(tmp_path, mnist_checkpoint, run_main):
    damaged = tmp_path / "damaged.npz"
    damaged.write_bytes(mnist_checkpoint.read_bytes()[:500])  # cut short
    status, out, err = run_main("train_mnist", [*MNIST_RESUME, "--out", tmp_path / "resumed",
                                                "--checkpoint", damaged, "--resume"])
    assert status == 2 and out == ""
    assert one_line(err).startswith(f"train_mnist.py: error: argument --resume: cannot resume from {damaged}: ")
    assert damaged.read_bytes() == mnist_checkpoint.read_bytes()[:500]


def test_resume_from_a_checkpoint_without_the_script_settings_is_refused(tmp_path, run_main):
    # a checkpoint the library wrote for a Trainer of its own
    path = tmp_path / "lib.npz"
    x, t = np.random.default_rng(0).standard_normal((20, 784)).astype(np.float32), np.arange(20) % 10
    Trainer(MultiLayerNet(784, [100], 10, rng=0), SGD(lr=0.1), (x, t), epochs=1, verbose=0,
            checkpoint=path).fit()
    status, out, err = run_main("train_mnist", [*MNIST_RESUME, "--out", tmp_path / "o", "--checkpoint", path,
                                                "--resume"])
    assert status == 2
    assert f"argument --resume: {path} holds no settings of this script" in one_line(err)


def test_a_checkpoint_the_trainer_refuses_ends_in_one_line_and_status_2(tmp_path, mnist_checkpoint,
                                                                        run_main):
    # the settings agree; the network's W1 does not: the Trainer refuses it as it loads
    state = load_checkpoint(mnist_checkpoint)
    state["model"]["W1"] = state["model"]["W1"][:, :50].copy()
    other = tmp_path / "other.npz"
    save_checkpoint(other, state)
    status, out, err = run_main("train_mnist", [*MNIST_RESUME, "--out", tmp_path / "o", "--checkpoint", other,
                                                "--resume"])
    assert status == 2
    assert one_line(err).startswith(f"error: cannot resume from {other}: ")
    assert "W1" in err


def test_run_settings_refuse_another_value_when_the_trainer_loads_and_change_nothing(tmp_path):
    x, t = np.random.default_rng(0).standard_normal((20, 4)), np.arange(20) % 3
    path = tmp_path / "ck.npz"

    def trainer(lr, seed, **kwargs):
        net = MultiLayerNet(4, [5], 3, rng=seed)
        return net, Trainer(net, SGD(lr=lr), (x, t), epochs=2, batch_size=10, verbose=0, checkpoint=path,
                            callbacks=[training.RunSettings({"--lr": lr, "--seed": seed})], **kwargs)

    trainer(0.1, 0)[1].fit()
    net, other = trainer(0.5, 0)
    weights = {k: v.copy() for k, v in net.params.items()}
    with pytest.raises(ValueError, match=r"argument --lr: the checkpoint was written with --lr 0.1, this "
                                         r"command gives --lr 0.5"):
        other.load_checkpoint(path)
    assert all(np.array_equal(weights[k], net.params[k]) for k in weights)
    assert other.epochs_done == 0
    trainer(0.1, 0, resume=True)  # the same settings load


@pytest.mark.parametrize("name, args", [
    ("train_convnet", ["--quick", "--train-size", "200", "--verbose", "0"]),
    ("seq2seq_addition", ["--variants", "plain", "--train-size", "200", "--test-size", "50", "--hidden", "8",
                          "--epochs", "1", "--verbose", "0"]),
    ("char_lm", ["--prime", "to", "--embed", "8", "--hidden", "8", "--batch-size", "8", "--time-size", "10",
                 "--epochs", "1", "--sample-length", "5", "--temperature", "0", "--verbose", "0"]),
])
def test_every_resumable_script_refuses_another_lr_before_any_work(name, args, tmp_path, run_main, text_file,
                                                                   request):
    if name == "train_convnet":
        request.getfixturevalue("mnist_root")
    if name == "char_lm":
        args = [*args, "--text", text_file]
    path = tmp_path / "ck.npz"
    assert run_main(name, [*args, "--lr", "0.001", "--out", tmp_path / "first", "--checkpoint", path])[0] == 0
    written = path if name != "seq2seq_addition" else tmp_path / "ck_plain.npz"
    before = written.read_bytes()
    status, out, err = run_main(name, [*args, "--lr", "0.002", "--out", tmp_path / "second", "--checkpoint", path,
                                       "--resume"])
    assert status == 2 and out == ""
    line = one_line(err)
    assert line.startswith(f"{name}.py: error: argument --lr: {written} was written with --lr 0.001, "
                           "this command gives --lr 0.002"), line
    assert written.read_bytes() == before and not (tmp_path / "second").exists()


# --- sweeps ------------------------------------------------------------------------------------

SWEEP = ["--quick", "--workers", "1"]


def test_a_damaged_sweep_store_is_one_line_and_status_1_and_stays_as_it_was(tmp_path, run_main):
    store = tmp_path / "sweep.sqlite"
    garbage = np.random.default_rng(0).bytes(4096)
    store.write_bytes(garbage)
    status, out, err = run_main("sweep", [*SWEEP, "--out", tmp_path])
    assert status == 1
    line = one_line(err)
    assert line.startswith("error: ") and str(store) in line
    assert store.read_bytes() == garbage


def test_a_damaged_sweep_store_given_to_the_program_is_one_line_without_traceback(tmp_path):
    store = tmp_path / "sweep.sqlite"
    store.write_bytes(np.random.default_rng(1).bytes(4096))
    result = program("sweep", [*SWEEP, "--out", tmp_path])
    assert result.returncode == 1, result.stdout + result.stderr
    assert one_line(result.stderr).startswith("error: ") and str(store) in result.stderr


def test_an_unreachable_scheduler_is_one_line_and_status_1(tmp_path, run_main, monkeypatch):
    pytest.importorskip("distributed")
    import bprop.optim

    # nothing listens on port 1; a wait of 1 s instead of the default 30 s
    monkeypatch.setattr(bprop.optim, "run_sweep", functools.partial(bprop.optim.run_sweep, connect_timeout=1))
    status, out, err = run_main("sweep", ["--quick", "--scheduler", "tcp://127.0.0.1:1", "--out", tmp_path])
    assert status == 1
    assert one_line(err).startswith("error: no Dask scheduler answered at tcp://127.0.0.1:1")


@pytest.mark.parametrize("error", [
    SweepStoreError("sweep store results/x.sqlite cannot be written: attempt to write a readonly database"),
    SchedulerUnreachableError("no Dask scheduler answered at tcp://127.0.0.1:1 within 30 s")])
def test_every_sweep_command_reports_the_sweep_errors_in_one_line(error, tmp_path, mnist_root, run_main,
                                                                  monkeypatch):
    import bprop.optim

    def refuse(*args, **kwargs):
        raise error

    monkeypatch.setattr(bprop.optim, "run_sweep", refuse)
    for name in ("hyperparameter_search", "compare_optimizers"):
        status, out, err = run_main(name, [*SWEEP, "--out", tmp_path / name])
        assert status == 1, (name, out, err)
        assert one_line(err) == f"error: {error}"


def test_run_turns_a_sweep_error_anywhere_into_one_line(capsys):
    def main():
        raise SweepStoreError("sweep store x.sqlite is damaged; move it aside")

    with pytest.raises(SystemExit) as stop:
        exits.run(main)
    assert stop.value.code == 1
    assert capsys.readouterr().err == "error: sweep store x.sqlite is damaged; move it aside\n"
