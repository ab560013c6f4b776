"""char_lm.py and seq2seq_addition.py stopped by a real Ctrl-C and continued with --resume.

The stopped run is a program of its own, sent SIGINT once its checkpoint holds an epoch: it
exits with status 130 saying where the training state is. The same command with --resume
then ends with the numbers, weights and samples of a run never interrupted, which is the
script's ``main`` called in this process while the resumed program works. Wall times are the
one thing a resumed run cannot repeat: they are left out of every comparison. The bad
--checkpoint and --resume options are usage errors, found before any work.
"""

import importlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from bprop.optim import load_checkpoint

#: seconds a test waits at most for a program to reach a point or to end
WAIT = 60
SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


def start(name, *args):
    """The script ``name`` as a program, with SIGINT at its default (a shell may start a
    background job with it ignored, and Python then never raises KeyboardInterrupt)."""
    env = dict(os.environ, MPLBACKEND="Agg", OPENBLAS_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, str(SCRIPTS / f"{name}.py"), *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def epochs_in(path):
    return load_checkpoint(path)["progress"]["epochs_done"]


def ctrl_c_after_first_epoch(name, args, path):
    """Start ``name`` with ``args``, send SIGINT once the checkpoint ``path`` holds an epoch;
    return ``(status, stdout, stderr, epochs the checkpoint holds)``."""
    proc = start(name, *args)
    try:
        deadline = time.monotonic() + WAIT
        while not (os.path.exists(path) and epochs_in(path) >= 1):
            if proc.poll() is not None:
                pytest.fail(f"{name} ended (status {proc.returncode}) before its first checkpoint: "
                            f"{proc.stdout.read()}{proc.stderr.read()}")
            if time.monotonic() > deadline:
                pytest.fail(f"no checkpoint of epoch 1 within {WAIT} s")
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=WAIT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, out, err, epochs_in(path)


def resume_beside_uninterrupted(name, args, epochs, tmp_path, path):
    """Run ``name`` with ``--resume`` as a program (folder ``cut``) and, meanwhile, the
    uninterrupted run through its ``main`` here (folder ``full``); return the program's stdout."""
    resumed = start(name, *args, "--epochs", str(epochs), "--out", str(tmp_path / "cut"),
                    "--checkpoint", path, "--resume")
    try:
        importlib.import_module(name).main([*args, "--epochs", str(epochs), "--out", str(tmp_path / "full")])
        out, err = resumed.communicate(timeout=WAIT)
    finally:
        if resumed.poll() is None:
            resumed.kill()
            resumed.wait()
    assert resumed.returncode == 0, out + err
    return out


def epoch_lines(out, epochs):
    """The epochs a program trained, from its lines (--verbose 2) "epoch 3/5  loss ..."."""
    return [int(line.split()[1].split("/")[0]) for line in out.splitlines()
            if line.startswith("epoch ") and line.split()[1].endswith(f"/{epochs}")]


def read_json(path):
    return json.loads(Path(path).read_text())


def without_time(history):
    return {k: v for k, v in history.items() if k != "time"}


def test_char_lm_stopped_by_ctrl_c_resumes_to_the_uninterrupted_result(tmp_path, text_file):
    # two LSTMs with dropout between them: the dropout streams must continue as well
    args = ["--text", str(text_file), "--embed", "16", "--hidden", "24", "--layers", "2", "--dropout", "0.2",
            "--batch-size", "16", "--time-size", "25", "--lr", "1e-2", "--sample-length", "30",
            "--temperature", "0", "1", "--prime", "to be", "--verbose", "2", "--seed", "3"]
    path = str(tmp_path / "lm.npz")
    status, out, err, done = ctrl_c_after_first_epoch(
        "char_lm", [*args, "--epochs", "10000", "--out", str(tmp_path / "cut"), "--checkpoint", path], path)
    assert status == 130, out + err
    assert "Traceback" not in err
    assert f"the training state after epoch {done} is in {path}: run the same command with --resume" in out
    epochs = done + 2
    resumed_out = resume_beside_uninterrupted("char_lm", args, epochs, tmp_path, path)
    assert epoch_lines(resumed_out, epochs) == list(range(done + 1, epochs + 1))  # it continued
    cut, full = read_json(tmp_path / "cut" / "char_lm.json"), read_json(tmp_path / "full" / "char_lm.json")
    assert cut["epochs_done"] == full["epochs_done"] == epochs
    assert without_time(cut["history"]) == without_time(full["history"])
    assert cut["val_loss"] == full["val_loss"] and cut["samples"] == full["samples"]
    weights = [tmp_path / run / "char_lm_weights.npz" for run in ("cut", "full")]
    with np.load(weights[0]) as a, np.load(weights[1]) as b:
        assert a.files == b.files and all(np.array_equal(a[k], b[k]) for k in a.files)


def test_seq2seq_addition_stopped_by_ctrl_c_resumes_every_model_to_the_uninterrupted_result(tmp_path, capsys):
    """Stopped during the first model: the resumed run continues it from its checkpoint and
    trains the second, which had not begun; a second --resume takes both as they are."""
    args = ["--variants", "plain", "peeky", "--train-size", "600", "--test-size", "100", "--embed", "8",
            "--hidden", "16", "--batch-size", "32", "--lr", "1e-2", "--verbose", "2", "--seed", "1"]
    path = str(tmp_path / "ck.npz")
    plain, peeky = str(tmp_path / "ck_plain.npz"), str(tmp_path / "ck_peeky.npz")
    status, out, err, done = ctrl_c_after_first_epoch(
        "seq2seq_addition", [*args, "--epochs", "10000", "--out", str(tmp_path / "cut"), "--checkpoint", path], plain)
    assert status == 130, out + err
    assert "Traceback" not in err
    assert f"the training state after epoch {done} is in {plain}: run the same command with --resume" in out
    assert not os.path.exists(peeky)
    epochs = done + 2
    resumed_out = resume_beside_uninterrupted("seq2seq_addition", args, epochs, tmp_path, path)
    # plain continued from its checkpoint, peeky was trained from the start
    assert epoch_lines(resumed_out, epochs) == [*range(done + 1, epochs + 1), *range(1, epochs + 1)]
    assert epochs_in(plain) == epochs_in(peeky) == epochs
    full = read_json(tmp_path / "full" / "seq2seq_addition.json")

    def same_as_full(saved):
        assert list(saved["histories"]) == ["plain", "peeky"] and saved["interrupted"] is False
        for name in ("plain", "peeky"):
            assert saved["histories"][name]["epoch"] == list(range(1, epochs + 1))
            assert without_time(saved["histories"][name]) == without_time(full["histories"][name])
            assert ({k: v for k, v in saved["results"][name].items() if k != "seconds"}
                    == {k: v for k, v in full["results"][name].items() if k != "seconds"})

    same_as_full(read_json(tmp_path / "cut" / "seq2seq_addition.json"))
    # both finished: a second --resume trains nothing and gives the same results
    import seq2seq_addition

    capsys.readouterr()
    again = seq2seq_addition.main([*args, "--epochs", str(epochs), "--out", str(tmp_path / "again"),
                                   "--checkpoint", path, "--resume"])
    same_as_full(json.loads(json.dumps(again)))
    assert epoch_lines(capsys.readouterr().out, epochs) == []
    assert epochs_in(plain) == epochs_in(peeky) == epochs


@pytest.mark.parametrize("name", ["char_lm", "seq2seq_addition"])
def test_bad_checkpoint_or_resume_options_are_usage_errors(name, tmp_path, capsys):
    script = importlib.import_module(name)
    missing = str(tmp_path / "no.npz")
    cases = [(["--resume"], "argument --resume: needs --checkpoint PATH"),
             (["--resume", "--checkpoint", missing], "argument --resume: there is no checkpoint at "
              + (repr(missing) if name == "char_lm" else repr(str(tmp_path / "no_plain.npz")))),
             (["--checkpoint", str(tmp_path)], f"argument --checkpoint: {str(tmp_path)!r} is a folder, not a file")]
    for args, message in cases:
        with pytest.raises(SystemExit) as stop:
            script.main([*args, "--quick", "--out", str(tmp_path)])
        err = capsys.readouterr().err
        assert stop.value.code == 2 and message in err, err
    assert os.listdir(tmp_path) == []  # nothing was written


def test_seq2seq_resume_with_other_settings_ends_naming_the_variant_checkpoint(tmp_path, capsys):
    import seq2seq_addition

    args = ["--variants", "plain", "--train-size", "200", "--test-size", "50", "--hidden", "8", "--epochs", "1",
            "--verbose", "0", "--out", str(tmp_path), "--checkpoint", str(tmp_path / "ck.npz")]
    seq2seq_addition.main(args)
    with pytest.raises(SystemExit) as stop:
        seq2seq_addition.main([*args, "--batch-size", "16", "--resume"])
    assert stop.value.code == 2  # a usage error, before any work
    assert (f"argument --batch-size: {tmp_path / 'ck_plain.npz'} was written with --batch-size 128, "
            "this command gives --batch-size 16") in capsys.readouterr().err
