"""The recurrent-network scripts: char_lm.py and seq2seq_addition.py end to end (--quick, a text of
our own), the numbers they must reach in a bounded-time form, and Ctrl-C keeping finished epochs.

Scripts are imported and their ``main(argv)`` called in this process, as in test_scripts.py; the
bad command-line values and the --help are in test_scripts_cli.py with every other script's.
"""

import importlib
import json
from pathlib import Path

import numpy as np
import pytest

import exits
from bprop.networks import RnnLM


def run(name, out, *args):
    return importlib.import_module(name).main(["--out", str(out), "--seed", "0", *args])


def read_json(path):
    return json.loads(Path(path).read_text())


def check_png(path):
    data = Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000, path


# --- --quick ---------------------------------------------------------------------------------


def test_char_lm_quick_on_a_text_of_our_own_writes_figure_numbers_samples_and_weights(
        tmp_path, text_file, capsys):
    out = tmp_path / "out"
    results = run("char_lm", out, "--quick", "--text", str(text_file), "--prime", "to be", "--verbose", "0")
    names = ["char_lm.png", "char_lm.json", "char_lm_samples.txt", "char_lm_weights.npz"]
    stdout = capsys.readouterr().out
    for name in names:
        assert str(out / name) in stdout
    check_png(out / "char_lm.png")
    saved = read_json(out / "char_lm.json")
    assert saved["epochs_done"] == 2 and len(saved["history"]["val_loss"]) == 2
    history = saved["history"]  # the Trainer's, with its clipping statistics and cumulative seconds
    assert {"train_perplexity", "val_perplexity", "grad_norm", "clipped", "lr"} <= set(history)
    assert history["lr"] == pytest.approx([1e-2, 8e-3]) and 0 < history["time"][0] < history["time"][1]
    assert saved["baselines"]["bigram"] < saved["baselines"]["unigram"]
    assert set(saved["samples"]) == {"0.5", "0.8", "1"}
    assert all(s.startswith("to be") and len(s) == 5 + 80 for s in saved["samples"].values())
    assert "--- temperature 0.8 ---" in (out / "char_lm_samples.txt").read_text()
    net = RnnLM(saved["vocab_size"], 16, 32, dtype=np.float32)
    net.load_params(out / "char_lm_weights.npz")
    assert results["val_loss"] == saved["val_loss"] < saved["baselines"]["unigram"]


def test_char_lm_time_limit_stops_after_the_epoch_that_would_overrun_it(tmp_path, text_file):
    results = run("char_lm", tmp_path, "--quick", "--text", str(text_file), "--prime", "to", "--epochs", "2",
                  "--time-limit", "1e-6", "--verbose", "0")
    assert results["epochs_done"] == 1 and results["stopped_by_time_limit_after_epoch"] == 1
    assert results["samples"] and (tmp_path / "char_lm_weights.npz").is_file()


def test_seq2seq_addition_quick_writes_figure_and_numbers(tmp_path, capsys):
    results = run("seq2seq_addition", tmp_path, "--quick", "--verbose", "0")
    check_png(tmp_path / "seq2seq_addition.png")
    saved = read_json(tmp_path / "seq2seq_addition.json")
    assert list(saved["histories"]) == ["plain", "reversed", "peeky"]
    assert all(h["epoch"] == [1, 2] and len(h["test_accuracy"]) == 2 for h in saved["histories"].values())
    for h in saved["histories"].values():  # each epoch's own seconds, from the Trainer's cumulative ones
        assert set(h) == {"epoch", "train_loss", "test_loss", "test_accuracy", "time"} and min(h["time"]) > 0
    assert set(results["results"]) == {"plain", "reversed", "peeky"}
    example = saved["results"]["peeky"]["examples"][0]
    assert "+" in example["question"] and example["right"].isdigit()
    assert str(tmp_path / "seq2seq_addition.json") in capsys.readouterr().out


# --- the numbers, in a bounded time ------------------------------------------------------------


def test_char_lm_on_the_real_corpus_beats_the_bigram_baseline_in_seconds(tmp_path, shakespeare_root,
                                                                       monkeypatch):
    # The default run (1,003,854 characters, 6 epochs of a 256-unit LSTM) reaches about
    # 1.5 nats/char; a tenth of the text and one epoch of a 128-unit one in 16 streams at
    # lr 1e-2 (2.198, with OpenBLAS's Haswell and SkylakeX kernels alike) already beats the
    # bigram model (2.45), measured on the whole validation text.
    monkeypatch.setenv("BPROP_DATA", shakespeare_root)
    results = run("char_lm", tmp_path, "--train-chars", "100000", "--embed", "32", "--hidden", "128",
                  "--batch-size", "16", "--epochs", "1", "--lr", "1e-2", "--sample-length", "20",
                  "--temperature", "0", "--verbose", "0")
    assert results["val_chars"] == 111540 and results["train_chars"] == 100000
    assert results["val_loss"] < 2.3


def test_char_lm_baselines_of_the_whole_training_text(shakespeare_root):
    import text_runs
    from bprop.datasets import load_tiny_shakespeare

    corpus = load_tiny_shakespeare(root=shakespeare_root, download=False, verbose=0)
    baselines = text_runs.ngram_baselines(corpus.train, len(corpus.vocab))
    assert baselines == pytest.approx({"unigram": 3.309, "bigram": 2.452}, abs=1e-3)


def test_seq2seq_peeky_learns_addition_in_seconds(tmp_path):
    # The default run (45000 problems, 10 epochs) takes the peeky model past 90%; on 6000
    # problems, in two epochs of small batches at a higher rate, it is on its way: 12-15% of
    # the whole answers right (seeds 0, 1, 2: 0.154, 0.152, 0.120 with OpenBLAS's Haswell
    # kernels, 0.122, 0.148, 0.124 with SkylakeX), where guessing gets none.
    results = run("seq2seq_addition", tmp_path, "--variants", "peeky", "--train-size", "6000", "--test-size",
                  "500", "--epochs", "2", "--batch-size", "16", "--lr", "5e-3", "--verbose", "0")
    assert results["results"]["peeky"]["test_accuracy"] > 0.06


# --- Ctrl-C --------------------------------------------------------------------------------------


@pytest.fixture
def interrupt_at_update(monkeypatch):
    """``arm(module, n)``: the n-th Adam update made by the script ``module`` raises KeyboardInterrupt."""

    def arm(module, n):
        original, calls = module.Adam, []

        class InterruptedAdam(original):
            def update(self, params, grads):
                calls.append(1)
                if len(calls) == n:
                    raise KeyboardInterrupt
                return super().update(params, grads)

        monkeypatch.setattr(module, "Adam", InterruptedAdam)

    return arm


def run_interrupted(name, out, *args):
    with pytest.raises(SystemExit) as stop:
        run(name, out, *args)
    assert stop.value.code == exits.INTERRUPTED_STATUS


def test_ctrl_c_char_lm_keeps_the_completed_epochs_and_their_weights(tmp_path, text_file, interrupt_at_update):
    import char_lm

    reference = run("char_lm", tmp_path / "reference", "--quick", "--text", str(text_file), "--epochs", "1",
                    "--prime", "to", "--verbose", "0")
    windows = len(reference["history"]["iter_loss"])
    interrupt_at_update(char_lm, windows + 3)  # in epoch 2
    run_interrupted("char_lm", tmp_path / "out", "--quick", "--text", str(text_file), "--prime", "to",
                    "--verbose", "0")
    saved = read_json(tmp_path / "out" / "char_lm.json")
    assert saved["interrupted_after_epoch"] == 1 and saved["history"]["epoch"] == [1]
    assert len(saved["history"]["iter_loss"]) == windows
    assert saved["history"]["val_loss"] == reference["history"]["val_loss"]
    check_png(tmp_path / "out" / "char_lm.png")
    for name in ("char_lm_weights.npz",):
        a, b = np.load(tmp_path / "out" / name), np.load(tmp_path / "reference" / name)
        for key in a.files:
            np.testing.assert_array_equal(a[key], b[key])  # the weights as of epoch 1


def test_ctrl_c_seq2seq_addition_keeps_the_finished_models_and_epochs(tmp_path, interrupt_at_update):
    import seq2seq_addition

    interrupt_at_update(seq2seq_addition, 16 * 2 + 16 + 5)  # 2000 problems, batch 128: 16 updates per epoch
    run_interrupted("seq2seq_addition", tmp_path, "--quick", "--verbose", "0")
    saved = read_json(tmp_path / "seq2seq_addition.json")
    assert saved["interrupted"] is True
    assert {k: h["epoch"] for k, h in saved["histories"].items()} == {"plain": [1, 2], "reversed": [1]}
    assert list(saved["results"]) == ["plain"]
    check_png(tmp_path / "seq2seq_addition.png")
