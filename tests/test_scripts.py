"""Every experiment script runs end to end (``--quick``) and writes its files; the numbers the
articles report hold. Scripts are imported and their ``main(argv)`` called, in this process."""

import importlib
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parents[1]

#: script -> files it writes with --quick (and the extra flags it is run with)
SCRIPTS = {
    "perceptron_gates": ([], ["perceptron_gates.png", "perceptron_gates.json"]),
    "activations": ([], ["activations.png", "activations.csv"]),
    "gradient_descent": ([], ["gradient_descent.png", "gradient_descent.json"]),
    "spiral": ([], ["spiral.png", "spiral.json"]),
    "train_two_layer": (["--gradient-check"],
                        ["train_two_layer.png", "train_two_layer.json", "gradient_check.json"]),
    "train_mnist": ([], ["train_mnist.png", "train_mnist.json", "train_mnist_weights.npz"]),
    "compare_optimizers": ([], ["compare_optimizers_paths.png", "compare_optimizers_mnist.png",
                                "compare_optimizers.csv", "compare_optimizers.json"]),
    "weight_init_compare": ([], ["weight_init_activations.png", "weight_init_mnist.png",
                                 "weight_init_compare.json"]),
    "batch_norm_compare": ([], ["batch_norm_compare.png", "batch_norm_compare.csv",
                                "batch_norm_compare.json"]),
    "regularization": ([], ["regularization.png", "regularization.csv", "regularization.json"]),
    "hyperparameter_search": ([], ["hyperparameter_search.png", "hyperparameter_search.csv",
                                   "hyperparameter_search.json"]),
}
NEEDS_MNIST = {"train_two_layer", "train_mnist", "compare_optimizers", "weight_init_compare",
               "batch_norm_compare", "regularization", "hyperparameter_search"}


@pytest.fixture(autouse=True)
def one_blas_thread():
    # The scripts' matrices are small: a second BLAS thread gains little, and loses a lot
    # when other processes share the cores.
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def require_mnist():
    """Skip without MNIST under $BPROP_DATA; on CI ($CI set) fail instead."""
    from bprop.datasets import DatasetNotFoundError, load_mnist

    try:
        load_mnist(download=False)
        return
    except DatasetNotFoundError as err:
        why = f"MNIST not found (BPROP_DATA={os.environ.get('BPROP_DATA')!r}): {str(err).splitlines()[0]}"
    if os.environ.get("CI"):
        pytest.fail(f"{why}; CI must provide it through BPROP_DATA")
    pytest.skip(why)


def run(name, out, *args):
    """Import ``scripts/<name>.py`` and call its ``main`` with ``--out out`` and ``args``."""
    if name in NEEDS_MNIST:
        require_mnist()
    module = importlib.import_module(name)
    return module.main(["--out", str(out), "--seed", "0", *args])


def check_files(out, names):
    for name in names:
        path = out / name
        assert path.is_file(), f"missing {path}"
        data = path.read_bytes()
        if name.endswith(".png"):
            assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000, name
        elif name.endswith(".json"):
            json.loads(data)  # strict JSON: NaN and inf were written as null
            assert b"NaN" not in data and b"Infinity" not in data
        elif name.endswith(".csv"):
            assert data.count(b"\n") >= 2, name


# --- every script --------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_script_quick_run_writes_its_figures_and_numbers(name, tmp_path, capsys):
    args, files = SCRIPTS[name]
    results = run(name, tmp_path, "--quick", *args)
    assert isinstance(results, dict) and results
    check_files(tmp_path, files)
    out = capsys.readouterr().out
    for f in files:
        assert str(tmp_path / f) in out  # the script says where it wrote


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_script_help_runs_from_a_checkout(name):
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / f"{name}.py"), "--help"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    for flag in ("--seed", "--out", "--show", "--quick"):
        assert flag in result.stdout


# --- the articles' numbers ------------------------------------------------------------


def test_perceptrons_compute_the_gates_and_the_mlp_learns_xor_exactly(tmp_path):
    results = run("perceptron_gates", tmp_path, "--quick")
    assert results["truth_tables"] == {"AND": [0, 0, 0, 1], "NAND": [1, 1, 1, 0], "OR": [0, 1, 1, 1],
                                       "XOR": [0, 1, 1, 0]}
    assert results["mlp"]["learned_exactly"] is True
    assert results["mlp"]["predictions"] == [0, 1, 1, 0]


def test_gradient_descent_reaches_the_minimum_and_the_bad_rates_do_not(tmp_path):
    runs = {r["lr"]: r for r in run("gradient_descent", tmp_path)["runs"]}
    assert runs[0.1]["final_distance"] < 1e-6
    assert runs[10.0]["final_distance"] > 1e6  # diverged
    assert runs[1e-10]["final_distance"] == pytest.approx(5.0, abs=1e-6)  # barely moved


def test_spiral_two_layer_net_fits_and_linear_classifier_cannot(tmp_path):
    results = run("spiral", tmp_path)  # the article's 1000 and 10000 steps
    assert results["two_layer"]["train_accuracy"] >= 0.97
    assert results["linear"]["train_accuracy"] <= 0.60


def test_gradient_check_backprop_matches_numerical(tmp_path):
    results = run("train_two_layer", tmp_path, "--quick", "--gradient-check")
    diffs = results["gradient_check"]["max_abs_diff"]
    assert set(diffs) == {"W1", "b1", "W2", "b2"}
    assert max(diffs.values()) < 1e-7


def test_train_mnist_default_784_100_10_reaches_96_5_percent(tmp_path):
    # 784-100-10 ReLU, He, SGD lr 0.1, batch 100, 10 epochs, float32: the script's defaults.
    results = run("train_mnist", tmp_path, "--verbose", "0")
    s = results["settings"]
    assert (s["hidden"], s["activation"], s["optimizer"], s["lr"], s["batch_size"], s["epochs"],
            s["dtype"]) == ([100], "relu", "sgd", 0.1, 100, 10, "float32")
    assert results["init"] == "he"
    assert results["test_accuracy"] >= 0.965
    from bprop.networks import MultiLayerNet

    net = MultiLayerNet(784, [100], 10, dtype=np.float32)
    net.load_params(tmp_path / "train_mnist_weights.npz")


# --- the shared helpers ---------------------------------------------------------------


def test_common_json_is_strict_and_keeps_number_lists_on_one_line(tmp_path):
    import common

    path = common.save_json({"a": [1.0, float("nan"), np.float32(2.5)], "b": {"c": np.arange(3)},
                             "d": [[1, 2], [3, 4]], "e": float("inf")}, tmp_path, "x.json")
    text = path.read_text()
    assert json.loads(text) == {"a": [1.0, None, 2.5], "b": {"c": [0, 1, 2]}, "d": [[1, 2], [3, 4]],
                                "e": None}
    assert '"a": [1.0, null, 2.5]' in text


def test_common_smooth_is_a_running_mean():
    import common

    np.testing.assert_allclose(common.smooth([1, 3, 5, 7], window=2), [1, 2, 4, 6])
    assert math.isclose(common.smooth(np.ones(10), 50)[-1], 1.0)
