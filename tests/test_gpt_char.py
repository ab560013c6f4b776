"""scripts/gpt_char.py: its parts (random windows, AdamW that decays the weights only, the
attention maps), --help and a --quick run as programs, a run stopped by Ctrl-C or by its time
limit and resumed to the uninterrupted result, and every bad value as a usage error.

The runs train on a small text of our own (--text), so that no test needs Tiny Shakespeare.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import exits
import gpt_char
from bprop.datasets import RandomWindows
from bprop.networks.gpt import GPT

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "gpt_char.py"


def program(*args, cwd):
    env = dict(os.environ, MPLBACKEND="Agg", OPENBLAS_NUM_THREADS="1")
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120)


def quick_args(text_file, out, *more):
    return ["--quick", "--text", str(text_file), "--prompt", "to be", "--out", str(out), "--verbose", "0", *more]


def read_json(path):
    return json.loads(Path(path).read_text())


def same_run(a, b):
    """Two runs' results agree in everything but their seconds."""
    assert {k: v for k, v in a["history"].items() if k != "time"} == {k: v for k, v in b["history"].items()
                                                                      if k != "time"}
    for key in ("val_loss", "samples", "attention", "steps_done", "rounds_done"):
        assert json.dumps(a[key], default=np.ndarray.tolist) == json.dumps(b[key], default=np.ndarray.tolist), key


def same_weights(a, b):
    with np.load(a) as x, np.load(b) as y:
        assert x.files == y.files and all(np.array_equal(x[k], y[k]) for k in x.files)


# --- the parts ---------------------------------------------------------------------------------


def test_random_windows_give_each_window_and_the_characters_that_follow_it():
    ids = np.arange(100) * 3
    source = RandomWindows(ids, 5, 8, 4, rng=0)
    batches = list(source)
    assert len(source) == len(batches) == 4
    for x, t in batches:
        assert x.shape == t.shape == (5, 8)
        starts = x[:, 0] // 3
        assert np.all(starts <= 100 - 8 - 1)
        np.testing.assert_array_equal(x, (starts[:, None] + np.arange(8)) * 3)
        np.testing.assert_array_equal(t, x + 3)  # the next id of the corpus


def test_random_windows_resumed_from_their_state_draw_the_same_windows():
    source = RandomWindows(np.arange(50), 3, 4, 2, rng=1)
    list(source)
    state = json.loads(json.dumps(source.state_dict()))  # as a checkpoint keeps it
    expected = list(source)
    other = RandomWindows(np.arange(50), 3, 4, 2, rng=99)
    other.load_state_dict(state)
    for (x, t), (xe, te) in zip(other, expected):
        np.testing.assert_array_equal(x, xe)
        np.testing.assert_array_equal(t, te)


def test_random_windows_refuse_a_text_shorter_than_a_window_and_its_target():
    with pytest.raises(ValueError, match="RandomWindows: 8 ids are too few for windows of 8; at least 9"):
        RandomWindows(np.arange(8), 2, 8, 1)


def test_the_gpt_optimizer_decays_the_weight_matrices_and_embeddings_only():
    net = GPT(11, 6, embed_dim=8, num_heads=2, num_layers=1, rng=0)
    decayed = {"W1", "P1", "Wqkv1", "Wo1", "W2", "W3", "W4"}  # embedding, positions, attention, MLP, output
    assert set(net.decay_keys) == decayed
    before = {k: v.copy() for k, v in net.params.items()}
    opt = gpt_char.AdamW(0.01, 0.9, 0.99, weight_decay=0.5).decay_only(net.decay_keys)
    opt.update(net.params, {k: np.zeros_like(v) for k, v in net.params.items()})  # no gradient: decay alone
    for k, v in net.params.items():
        np.testing.assert_array_equal(v, before[k] * (1 - 0.01 * 0.5) if k in decayed else before[k], err_msg=k)


def test_validation_windows_cover_the_text_without_overlap():
    x, t = gpt_char.windows(np.arange(23), 5)
    np.testing.assert_array_equal(x, np.arange(20).reshape(4, 5))
    np.testing.assert_array_equal(t, np.arange(1, 21).reshape(4, 5))


def test_attention_weights_are_causal_rows_that_sum_to_one():
    net = GPT(7, 10, embed_dim=8, num_heads=2, num_layers=2, rng=0)
    weights = gpt_char.attention_weights(net, np.array([1, 2, 3, 4, 5, 6]), block=1)
    assert weights.shape == (2, 6, 6)
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, atol=1e-12)
    below = np.tril(np.ones((6, 6), dtype=bool))
    assert np.all(weights[:, ~below] == 0) and np.all(weights[:, below] > 0)  # itself and earlier only
    assert np.all(weights[:, 0, 0] == 1.0)  # the first position can only read itself


def test_speech_start_finds_the_first_speech_that_fits():
    assert gpt_char.speech_start("?\n\nGREMIO:\nGood", 5) == 3
    assert gpt_char.speech_start("?\n\nGREMIO", 8) == 0  # too short after it: the beginning
    assert gpt_char.speech_start("no speech here", 4) == 0


# --- the program -------------------------------------------------------------------------------


def test_help_lists_the_options_and_their_defaults(tmp_path):
    done = program("--help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    for text in ("--layers", "--heads", "--context", "--steps", "--warmup", "--weight-decay", "--eval-interval",
                 "--time-limit", "--attention-block", "--checkpoint", "--resume", "(default: 900)",
                 "(default: 5000)", "gpt_char_attention.png"):
        assert text in done.stdout, text


def test_quick_run_as_a_program_writes_figures_samples_numbers_and_weights(tmp_path, text_file):
    out = tmp_path / "out"
    done = program(*quick_args(text_file, out), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    names = ["gpt_char.png", "gpt_char_attention.png", "gpt_char.json", "gpt_char_samples.txt", "gpt_char_weights.npz"]
    for name in names:
        assert f"wrote {out / name}" in done.stdout
    for name in names[:2]:
        data = (out / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000, name
    saved = read_json(out / "gpt_char.json")
    q = gpt_char.QUICK
    assert saved["steps_done"] == q["steps"] and saved["rounds_done"] == q["steps"] // q["eval_interval"]
    history = saved["history"]
    assert history["iteration"] == [20, 40, 60] and len(history["iter_loss"]) == 60
    assert {"train_loss", "val_loss", "grad_norm", "clipped", "lr"} <= set(history)
    assert history["lr"][-1] == pytest.approx(q["lr"] * gpt_char.MIN_LR_FRACTION, rel=0.05)  # the cosine's end
    assert saved["val_loss"] < saved["baselines"]["unigram"]
    assert set(saved["samples"]) == {"0.5", "0.8", "1"}
    assert all(s.startswith("to be") and len(s) == 5 + q["sample_length"] for s in saved["samples"].values())
    assert "--- temperature 0.8 ---" in (out / "gpt_char_samples.txt").read_text()
    attention = saved["attention"]
    weights = np.array(attention["weights"])
    assert attention["block"] == 2 and weights.shape == (2, 32, 32)  # the last block and len(attention["text"]) == 32
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, atol=1e-6)
    net = GPT(saved["vocab_size"], 32, 32, 2, 2, dtype=np.float32)
    net.load_params(out / "gpt_char_weights.npz")
    assert net.n_params() == saved["n_params"]


@pytest.mark.parametrize("args, message", [
    (["--embed", "100", "--heads", "3"], "argument --embed: 100 is not a multiple of --heads 3"),
    (["--warmup", "5000"], "argument --warmup: 5000 steps must be fewer than --steps 5000"),
    (["--layers", "2", "--attention-block", "3"], "argument --attention-block: 3 is past the last of --layers 2"),
    (["--prompt", ""], "argument --prompt: expected at least one character"),
])
def test_options_that_do_not_fit_together_are_usage_errors(args, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        gpt_char.main([*args, "--out", str(tmp_path)])
    assert stop.value.code == exits.USAGE_STATUS and message in capsys.readouterr().err


def test_a_usage_error_as_a_program_is_one_line_before_any_work(tmp_path):
    done = program("--heads", "0", cwd=tmp_path)
    assert done.returncode == 2 and not done.stdout
    assert done.stderr.splitlines()[-1] == ("gpt_char.py: error: argument --heads: expected an integer >= 1, "
                                            "got '0'")


@pytest.mark.parametrize("option, value", [
    ("--layers", "0"), ("--heads", "-1"), ("--embed", "0"), ("--context", "0"), ("--dropout", "1"),
    ("--dropout", "-0.1"), ("--batch-size", "0"), ("--steps", "0"), ("--warmup", "-1"), ("--lr", "0"),
    ("--lr", "nan"), ("--weight-decay", "-1"), ("--clip", "-1"), ("--eval-interval", "0"),
    ("--eval-windows", "0"), ("--dtype", "float16"), ("--train-chars", "0"), ("--time-limit", "-5"),
    ("--time-limit", "inf"), ("--sample-length", "0"), ("--temperature", "-1"), ("--top-k", "0"),
    ("--attention-block", "0"), ("--verbose", "3"), ("--seed", "-1"),
])
def test_every_bad_value_is_a_usage_error_naming_the_option_and_the_value(option, value, tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        gpt_char.main([option, value, "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert stop.value.code == exits.USAGE_STATUS and f"argument {option}" in err and value in err, err


def test_a_prompt_with_characters_not_in_the_text_is_a_usage_error(tmp_path, text_file, capsys):
    with pytest.raises(SystemExit) as stop:
        gpt_char.main([*quick_args(text_file, tmp_path)[:-2], "--prompt", "ROMEO:"])
    assert stop.value.code == exits.USAGE_STATUS
    assert "argument --prompt: ':EMOR' not in the text's" in capsys.readouterr().err


# --- stopped and resumed -----------------------------------------------------------------------


@pytest.fixture
def full_run(tmp_path, text_file):
    """The uninterrupted run (dropout on, so the dropout streams must continue too)."""
    args = quick_args(text_file, tmp_path / "full", "--dropout", "0.1", "--seed", "3")
    return args, gpt_char.main(args)


def test_a_run_stopped_by_ctrl_c_resumes_to_the_uninterrupted_result(tmp_path, full_run, monkeypatch, capsys):
    args, full = full_run
    calls = []

    class AdamW(gpt_char.AdamW):  # the name the checkpoint keeps
        def update(self, params, grads):
            calls.append(1)
            if len(calls) == 26:  # step 26, in round 2
                raise KeyboardInterrupt
            return super().update(params, grads)

    cut_args = [*args, "--out", str(tmp_path / "cut"), "--checkpoint", str(tmp_path / "ck.npz")]
    with monkeypatch.context() as patch:
        patch.setattr(gpt_char, "AdamW", AdamW)
        with pytest.raises(SystemExit) as stop:
            gpt_char.main(cut_args)
    assert stop.value.code == exits.INTERRUPTED_STATUS
    assert "the training state after epoch 1 is in" in capsys.readouterr().out
    cut = read_json(tmp_path / "cut" / "gpt_char.json")
    assert cut["interrupted_after_round"] == 1 and cut["history"]["iteration"] == [20]
    assert cut["history"]["val_loss"] == full["history"]["val_loss"][:1]
    resumed = gpt_char.main([*cut_args, "--resume"])
    assert resumed["rounds_done"] == 3 and resumed["interrupted_after_round"] is None
    same_run(read_json(tmp_path / "cut" / "gpt_char.json"), read_json(tmp_path / "full" / "gpt_char.json"))
    same_weights(tmp_path / "cut" / "gpt_char_weights.npz", tmp_path / "full" / "gpt_char_weights.npz")


def test_a_run_stopped_by_its_time_limit_resumes_with_more_time_to_the_uninterrupted_result(tmp_path, full_run):
    args, _ = full_run
    cut_args = [*args, "--out", str(tmp_path / "cut"), "--checkpoint", str(tmp_path / "ck.npz")]
    stopped = gpt_char.main([*cut_args, "--time-limit", "1e-6"])
    assert stopped["rounds_done"] == 1 and stopped["stopped_by_time_limit_after_round"] == 1
    assert stopped["steps_done"] == 20 and stopped["samples"] and stopped["val_loss"] is not None
    again = gpt_char.main([*cut_args, "--time-limit", "1e-6", "--resume"])  # no more time: nothing more
    assert again["rounds_done"] == 1 and again["history"]["iteration"] == [20]
    gpt_char.main([*cut_args, "--time-limit", "0", "--resume"])
    same_run(read_json(tmp_path / "cut" / "gpt_char.json"), read_json(tmp_path / "full" / "gpt_char.json"))
    same_weights(tmp_path / "cut" / "gpt_char_weights.npz", tmp_path / "full" / "gpt_char_weights.npz")


def test_a_resume_with_other_steps_is_refused_before_any_work(tmp_path, full_run, capsys):
    args, _ = full_run
    cut_args = [*args, "--out", str(tmp_path / "cut"), "--checkpoint", str(tmp_path / "ck.npz")]
    gpt_char.main([*cut_args, "--time-limit", "1e-6"])
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        gpt_char.main([*cut_args, "--resume", "--steps", "80"])
    assert stop.value.code == exits.USAGE_STATUS
    assert "argument --steps: " in capsys.readouterr().err
