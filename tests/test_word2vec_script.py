"""scripts/word2vec.py: --help and bad values as a program, --quick on Tiny Shakespeare as a
program, and --quick on a text of our own (skip-gram) with its main called in this process."""

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "word2vec.py"
#: seconds a run of the script may take at most (a --quick run takes about two)
TIMEOUT = 120


def run_program(args, tmp_path, data=None):
    """The script as a program from ``tmp_path``; BPROP_DATA is ``data``, else a path under a
    regular file, where no data can be (a load fails at once)."""
    if data is None:
        blocker = tmp_path / "not-a-folder"
        blocker.write_text("")
        data = str(blocker / "data")
    env = dict(os.environ, MPLBACKEND="Agg", OPENBLAS_NUM_THREADS="1", BPROP_DATA=data)
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=TIMEOUT)


def check_outputs(out, vocab_size, hidden):
    data = (out / "word2vec.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    saved = json.loads((out / "word2vec.json").read_text())
    with np.load(out / "word2vec_vectors.npz", allow_pickle=False) as f:
        assert f["words"].shape == (vocab_size,) and f["W_in"].shape == f["W_out"].shape == (vocab_size, hidden)
        assert f["counts"].sum() == saved["words"]
    return saved


def test_word2vec_help_lists_the_options_as_plain_text(tmp_path):
    result = run_program(["--help"], tmp_path)
    assert result.returncode == 0, result.stderr
    for flag in ("--seed", "--out", "--show", "--quick", "--threads", "--model", "--hidden", "--window",
                 "--sample-size", "--min-count", "--epochs", "--batch-size", "--lr", "--words", "--text"):
        assert flag in result.stdout, flag
    for markup in ("``", ":func:", ":class:"):
        assert markup not in result.stdout


@pytest.mark.parametrize("args, option, value", [
    (["--window", "0"], "--window", "'0'"), (["--model", "glove"], "--model", "'glove'"),
    (["--hidden", "-3"], "--hidden", "'-3'"), (["--lr", "nan"], "--lr", "'nan'"),
    (["--min-count", "0"], "--min-count", "'0'"),
])
def test_word2vec_bad_value_is_a_one_line_usage_error_before_any_data_is_loaded(args, option, value, tmp_path):
    result = run_program(args, tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines()[-1].startswith(f"word2vec.py: error: argument {option}:")
    assert value in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "results").exists()


def test_word2vec_quick_on_tiny_shakespeare_writes_figure_numbers_and_vectors(tmp_path, shakespeare_root):
    out = tmp_path / "out"
    result = run_program(["--quick", "--out", str(out), "--verbose", "0"], tmp_path, data=shakespeare_root)
    assert result.returncode == 0, result.stderr
    for name in ("word2vec.png", "word2vec.json", "word2vec_vectors.npz"):
        assert f"wrote {out / name}" in result.stdout
    saved = json.loads((out / "word2vec.json").read_text())
    check_outputs(out, saved["vocab_size"], 16)
    assert saved["corpus"] == "Tiny Shakespeare" and saved["epochs_done"] == 1
    assert saved["words"] <= 20000 and saved["samples"] == saved["words"] - 10
    assert saved["loss"] < saved["chance_loss"] == pytest.approx(6 * np.log(2))
    assert {"love", "good", "lord"} <= set(saved["neighbours"])
    assert all(len(near) == 8 for near in saved["neighbours"].values())
    assert len(saved["analogies"]) == 6
    assert "love:" in result.stdout and "he:his::she:?" in result.stdout


def test_word2vec_quick_skipgram_on_a_text_of_our_own(tmp_path, capsys):
    rng = np.random.default_rng(0)
    topics = [["king", "queen", "crown", "throne"], ["love", "heart", "sweet", "dear"],
              ["good", "fair", "kind", "true"], ["lord", "sir", "man", "woman"]]
    lines = [" ".join(rng.choice(topics[rng.integers(4)], 8)) for _ in range(400)]
    text = tmp_path / "text.txt"
    text.write_text("\n".join(lines), encoding="utf-8")
    out = tmp_path / "out"
    script = importlib.import_module("word2vec")
    results = script.main(["--quick", "--model", "skipgram", "--window", "2", "--min-count", "1",
                           "--text", str(text), "--out", str(out), "--verbose", "0"])
    stdout = capsys.readouterr().out
    saved = check_outputs(out, 16, 16)
    assert saved["vocab_size"] == 16 and saved["words"] == 3200 and saved["settings"]["model"] == "skipgram"
    assert saved["chance_loss"] == pytest.approx(4 * 6 * np.log(2))
    assert saved["loss"] == results["loss"] < saved["chance_loss"]
    assert set(saved["neighbours"]) == {"king", "love", "good", "lord"}
    skipped = [a for a in saved["analogies"] if "skipped" in a]
    assert [a["question"] for a in skipped] == ["he:his::she:?", "father:son::mother:?", "brother:sister::son:?",
                                               "thou:thy::you:?", "good:better::bad:?"]
    assert saved["analogies"][0]["question"] == "king:queen::man:?" and len(saved["analogies"][0]["answers"]) == 5
    assert "king:queen::man:?" in stdout
