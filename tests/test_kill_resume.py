"""A run SIGKILLed in the middle of training and resumed in a new process ends bit for bit as
the run never interrupted: parameters and history (seconds aside), for every kind of model.

Each case is a small program (``PROGRAM``) that builds a model, its data and its Trainer from
a seed and trains with a checkpoint. The run to be killed stops inside epoch 2 (after the
checkpoint of epoch 1) at an update chosen by ``KILL_AT_STEP``, tells the test so through a
file, and waits; the test kills it with SIGKILL there, then runs the same program with
``--resume`` in a new process, and compares with the program run straight through.

The program's own callback, ``CountBatches``, is a user's callback with state: the number of
updates and the sum of their losses, which must survive the kill through the checkpoint.
"""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

PROGRAM = r'''
import json, os, sys, time
import numpy as np
from bprop.datasets import BPTTBatches, make_addition
from bprop.networks import MultiLayerNet, PeekySeq2seq, RnnLM, SimpleConvNet
from bprop.optim import Adam, Callback, GradientClipping, Trainer

kind, out, resume = sys.argv[1], sys.argv[2], "--resume" in sys.argv
kill_at = int(os.environ.get("KILL_AT_STEP", "0"))


class CountBatches(Callback):
    """Counts the updates and sums their losses; both survive a resume."""

    def __init__(self):
        self.count, self.total = 0, 0.0

    def on_batch_end(self, trainer, step, loss):
        self.count, self.total = self.count + 1, self.total + float(loss)
        if step == kill_at:
            open(out + ".waiting", "w").close()
            time.sleep(60)  # the test kills this process here

    def state_dict(self):
        return {"count": self.count, "total": self.total}

    def load_state_dict(self, state):
        self.count, self.total = state["count"], state["total"]


rng = np.random.default_rng(0)
counter = CountBatches()
callbacks = [counter]
schedule = None
if kind == "mlp":
    x, t = rng.standard_normal((203, 12)), rng.integers(0, 3, 203)
    model = MultiLayerNet(12, [16, 16], 3, use_batchnorm=True, use_dropout=True, dropout_ratio=0.2, rng=1)
    train, val, extra = (x[:160], t[:160]), (x[160:], t[160:]), dict(batch_size=16, rng=2)
elif kind == "conv":
    x, t = rng.standard_normal((90, 1, 8, 8)), rng.integers(0, 4, 90)
    model = SimpleConvNet((1, 8, 8), {"filter_num": 4, "filter_size": 3, "pad": 0, "stride": 1},
                          hidden_size=10, output_size=4, rng=1)
    train, val, extra = (x[:70], t[:70]), (x[70:], t[70:]), dict(batch_size=10, rng=2)
elif kind == "rnnlm":
    ids = rng.integers(0, 11, 1500)
    model = RnnLM(11, 8, 12, dropout=0.1, rng=1)
    train, val, extra = BPTTBatches(ids[:1200], 4, 15), BPTTBatches(ids[1200:], 2, 20), {}
    callbacks.append(GradientClipping(0.5))
    from bprop.optim.schedules import WarmupCosine
    schedule = WarmupCosine(warmup_steps=5, total_steps=3 * len(train))
elif kind == "seq2seq":
    data = make_addition(200, 40, max_digits=2, rng=3)
    model = PeekySeq2seq(len(data.vocab), 6, 12, rng=1)
    train, val, extra = data.train, data.test, dict(batch_size=32, rng=2)
    callbacks.append(GradientClipping(5.0))
trainer = Trainer(model, Adam(lr=5e-3), train, val, epochs=3, schedule=schedule, callbacks=callbacks,
                  checkpoint=out + ".ckpt", resume=resume, verbose=0, **extra)
history = trainer.fit()
np.savez(out + ".params.npz", **model.params)
with open(out + ".json", "w") as f:
    json.dump({"history": {k: v for k, v in history.items() if k != "time"},
               "counter": counter.state_dict(), "steps_per_epoch": trainer.steps_per_epoch}, f)
'''


def run(kind, out, *args, env=None):
    return subprocess.Popen([sys.executable, "-c", PROGRAM, kind, str(out), *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finished(proc, timeout=120):
    output, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, output
    return output


def results(out):
    with open(f"{out}.json") as f:
        numbers = json.load(f)
    with np.load(f"{out}.params.npz") as params:
        return numbers, {k: params[k] for k in params.files}


@pytest.mark.parametrize("kind", ["mlp", "conv", "rnnlm", "seq2seq"])
def test_a_run_killed_mid_epoch_resumes_to_the_bits_of_the_uninterrupted_run(tmp_path, kind):
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    finished(run(kind, whole))
    # Killed inside epoch 2, at its third update, past the checkpoint of epoch 1.
    per_epoch = results(whole)[0]["steps_per_epoch"]
    assert per_epoch > 3
    killed = run(kind, cut, env=dict(os.environ, KILL_AT_STEP=str(per_epoch + 3)))
    deadline = time.monotonic() + 120
    while not os.path.exists(f"{cut}.waiting"):
        assert killed.poll() is None, killed.communicate()[0]
        assert time.monotonic() < deadline, "the run never reached the update it is killed at"
        time.sleep(0.05)
    killed.send_signal(signal.SIGKILL)
    killed.communicate(timeout=30)
    assert killed.returncode == -signal.SIGKILL
    assert not os.path.exists(f"{cut}.json")  # it died before the end
    finished(run(kind, cut, "--resume"))

    (numbers, params), (numbers_cut, params_cut) = results(whole), results(cut)
    assert numbers == numbers_cut  # history bit for bit (floats through JSON's exact repr), the counter too
    assert numbers["counter"]["count"] == 3 * per_epoch
    for key in params:
        np.testing.assert_array_equal(params[key], params_cut[key], err_msg=key)
