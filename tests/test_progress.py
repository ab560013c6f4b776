"""What a user sees of a training run at verbose=1, in a real process: on a terminal a progress
bar with the running loss, in a log file one line per epoch, written when the epoch ends.

The child process trains a tiny classifier and a tiny language model with the Trainer, for
two epochs each. Run with its output in files, it stops after
each first epoch until the test has read the log, so the test sees what a ``tail -f`` would
see in the middle of a run; Python buffers a stdout that is a file, so a line that is not
flushed is missing there. Run with a pseudo-terminal as stderr, it draws the bars there.
"""

import os
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bprop.optim.progress import Progress, format_record

CHILD = r"""
import sys, time
from pathlib import Path

import numpy as np

from bprop.datasets import BPTTBatches
from bprop.networks import MultiLayerNet, RnnLM
from bprop.optim import SGD, Callback, GradientClipping, Trainer

pause_dir, step_seconds = sys.argv[1], float(sys.argv[2])


class PauseAfterEpoch1(Callback):
    # waits before epoch 2, when the line of epoch 1 has been shown

    def __init__(self, name):
        self.name = name

    def on_epoch_begin(self, trainer, epoch):
        if epoch == 2 and pause_dir != "-":
            Path(pause_dir, self.name).touch()
            sys.stdin.readline()


class SlowNet(MultiLayerNet):
    def loss_and_gradient(self, x, t):
        time.sleep(step_seconds)
        return super().loss_and_gradient(x, t)


class SlowLM(RnnLM):
    def loss_and_gradient(self, x, t):
        time.sleep(step_seconds)
        return super().loss_and_gradient(x, t)


rng = np.random.default_rng(0)
x = rng.standard_normal((600, 4))
t = (x[:, 0] > 0).astype(int)
Trainer(SlowNet(4, [8], 2, rng=0), SGD(lr=0.1), (x, t), (x[:100], t[:100]), epochs=2, batch_size=20,
        rng=0, verbose=1, callbacks=[PauseAfterEpoch1("trainer")]).fit()
ids = rng.integers(0, 5, 3000)
Trainer(SlowLM(5, 8, 8, rng=0), SGD(lr=0.1), BPTTBatches(ids[:2500], 4, 20), BPTTBatches(ids[2500:], 4, 50),
        epochs=2, verbose=1, callbacks=[GradientClipping(1.0), PauseAfterEpoch1("lm")]).fit()
"""

#: a script's main as exits.run runs it: a line, then a pause until the test has read the log
SCRIPT = r"""
import sys
from pathlib import Path

import exits


def main():
    print("run 1 of 2 finished")
    Path(sys.argv[1], "printed").touch()
    sys.stdin.readline()
    print("run 2 of 2 finished")


exits.run(main)
"""
SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"

TRAINER_LINE = re.compile(r"^epoch (\d)/2  loss \d\.\d{4}  acc \d\.\d{4}  val_loss \d\.\d{4}  "
                          r"val_acc \d\.\d{4}  lr 0\.1  \d+\.\ds$")
LM_LINE = re.compile(r"^epoch (\d)/2  loss \d\.\d{4}  perplexity \d+\.\d\d  val_loss \d\.\d{4}  "
                     r"val_perplexity \d+\.\d\d  lr 0\.1  grad_norm \d+\.\d\d  clipped \d+%  \d+\.\ds$")


def child_env():
    # Without PYTHONUNBUFFERED, as a user's shell runs Python: a stdout that is a file is then
    # block-buffered, and only a flushed line reaches the file during the run.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    env.pop("COLUMNS", None)
    return env


def wait_for(path, proc, seconds=60):
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert proc.poll() is None, f"the child ended ({proc.returncode}) before {path.name}"
        assert time.monotonic() < deadline, f"no {path.name} after {seconds} s"
        time.sleep(0.02)


def test_verbose_1_writes_each_epoch_line_to_a_log_file_when_the_epoch_ends(tmp_path):
    out, err = tmp_path / "out.log", tmp_path / "err.log"
    with open(out, "w") as stdout, open(err, "w") as stderr:
        proc = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path), "0"], stdin=subprocess.PIPE,
                                stdout=stdout, stderr=stderr, env=child_env(), text=True)
        try:
            wait_for(tmp_path / "trainer", proc)
            # the middle of the classifier's run: its first epoch's line is in the log already
            lines = out.read_text().splitlines()
            assert len(lines) == 1 and TRAINER_LINE.match(lines[0]).group(1) == "1", lines
            proc.stdin.write("\n")
            proc.stdin.flush()
            wait_for(tmp_path / "lm", proc)
            lines = out.read_text().splitlines()
            assert len(lines) == 3 and LM_LINE.match(lines[2]).group(1) == "1", lines
            proc.stdin.write("\n")
            proc.stdin.close()
            assert proc.wait(timeout=60) == 0, err.read_text()
        finally:
            if proc.poll() is None:
                proc.kill()
    lines = out.read_text().splitlines()
    assert [TRAINER_LINE.match(line).group(1) for line in lines[:2]] == ["1", "2"], lines
    assert [LM_LINE.match(line).group(1) for line in lines[2:]] == ["1", "2"], lines
    assert err.read_text() == ""  # no bar where there is no terminal


def test_verbose_1_draws_a_bar_with_the_running_loss_on_a_terminal(tmp_path):
    out = tmp_path / "out.log"
    terminal, child_side = os.openpty()
    try:
        with open(out, "w") as stdout:
            # Steps of 15 ms: the bar, refreshed every 10 steps at most every 0.1 s, is drawn
            # during each epoch.
            proc = subprocess.Popen([sys.executable, "-c", CHILD, "-", "0.015"], stdin=subprocess.DEVNULL,
                                    stdout=stdout, stderr=child_side, env=child_env())
        os.close(child_side)
        child_side = None
        drawn = b""
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            ready, _, _ = select.select([terminal], [], [], 1.0)
            if ready:
                try:
                    chunk = os.read(terminal, 65536)
                except OSError:  # EIO: the child has closed the terminal
                    break
                if not chunk:
                    break
                drawn += chunk
            elif proc.poll() is not None:
                break
        assert proc.wait(timeout=60) == 0, drawn.decode(errors="replace")[-2000:]
    finally:
        os.close(terminal)
        if child_side is not None:
            os.close(child_side)
    screen = drawn.decode(errors="replace")
    # the classifier's bar counts batches, the language model's windows; both show the loss
    assert re.search(r"epoch 1/2:.*\| *\d+/30 \[.*batch/s, loss \d\.\d{4}\]", screen), screen[-2000:]
    assert re.search(r"epoch 2/2:.*\| *\d+/\d+ \[.*window/s, loss \d\.\d{4}\]", screen), screen[-2000:]
    # and the lines go to stdout, as in a log
    lines = out.read_text().splitlines()
    assert [bool(TRAINER_LINE.match(line)) for line in lines[:2]] == [True, True], lines
    assert [bool(LM_LINE.match(line)) for line in lines[2:]] == [True, True], lines


def test_the_epoch_line_shows_every_logged_value_of_any_model():
    record = {"epoch": 3, "iteration": 300, "train_loss": 1.6012, "train_perplexity": 4.9588, "val_loss": 1.7421,
              "val_perplexity": 5.7103, "val_seq_acc": 0.5, "lr": 0.00128, "time": 41.23, "grad_norm": 0.8412,
              "clipped": 0.12}
    assert format_record(record, 10) == ("epoch 3/10  loss 1.6012  perplexity 4.96  val_loss 1.7421  "
                                         "val_perplexity 5.71  val_seq_acc 0.5000  lr 0.00128  grad_norm 0.84  "
                                         "clipped 12%  41.2s")
    bare = {"epoch": 1, "iteration": 5, "train_loss": 2.0, "val_loss": None, "lr": None, "time": 0.5}
    assert format_record(bare, 2) == "epoch 1/2  loss 2.0000  0.5s"


def test_progress_prints_the_line_it_is_given_and_names_its_loop_in_errors(capsys):
    record = {"epoch": 1, "train_loss": 2.0, "train_perplexity": 7.389, "lr": 0.1, "time": 0.5}
    for verbose in (1, 2):
        progress = Progress(verbose, unit="window")
        progress.start_epoch(1, 2, steps=3)
        progress.step(2.0)
        progress.end_epoch(record, 2)
    assert capsys.readouterr().out.splitlines() == ["epoch 1/2  loss 2.0000  perplexity 7.39  lr 0.1  0.5s"] * 2
    assert Progress().format_line is format_record
    with pytest.raises(ValueError, match="^Trainer: verbose must be 0, 1 or 2, got 3$"):
        Progress(3)


def test_a_script_run_by_exits_run_writes_its_lines_to_a_log_as_it_prints_them(tmp_path):
    out = tmp_path / "out.log"
    with open(out, "w") as stdout:
        # run from scripts/, as `python scripts/NAME.py` finds exits beside the script
        proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(tmp_path)], stdin=subprocess.PIPE,
                                stdout=stdout, stderr=subprocess.PIPE, env=child_env(), cwd=SCRIPTS, text=True)
        try:
            wait_for(tmp_path / "printed", proc)
            assert out.read_text() == "run 1 of 2 finished\n"
            _, err = proc.communicate("\n", timeout=60)
            assert proc.returncode == 0, err
        finally:
            if proc.poll() is None:
                proc.kill()
    assert out.read_text() == "run 1 of 2 finished\nrun 2 of 2 finished\n"


def test_a_sweep_at_verbose_1_writes_a_line_per_run_when_not_on_a_terminal(tmp_path, capsys):
    from bprop.optim import mlp_config, run_sweep, train_mlp

    configs = [mlp_config(seed, dataset="spiral", hidden=[5], epochs=1, batch_size=100) for seed in (0, 1)]
    result = run_sweep(train_mlp, configs, tmp_path / "s.sqlite", workers=1, verbose=1, timeout=60)
    assert len(result.done) == 2
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("run ")]
    assert [line.split()[1:3] for line in lines] == [["1/2", "done"], ["2/2", "done"]], lines
