import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "train_convnet.py"


def run_script(*args):
    # One BLAS thread: tiny GEMMs gain nothing from two, and lose a lot when other
    # processes share the cores.
    env = dict(os.environ, MPLBACKEND="Agg", OPENBLAS_NUM_THREADS="1")
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def require_mnist():
    root = os.environ.get("BPROP_DATA")
    if root and (Path(root) / "mnist").is_dir():
        return
    why = f"MNIST not found (BPROP_DATA={root!r})"
    if os.environ.get("CI"):
        pytest.fail(f"{why}; CI must provide it through BPROP_DATA")
    pytest.skip(why)


@pytest.mark.parametrize("deep, prefix", [(False, "convnet_mnist"), (True, "deep_convnet_mnist")])
def test_train_convnet_quick_writes_curves_filters_weights_and_numbers(tmp_path, deep, prefix):
    require_mnist()
    # --quick on 100 of its 500 training images: the files are the same, in less time
    result = run_script("--quick", "--train-size", "100", "--out", str(tmp_path), "--verbose", "0",
                        *(["--deep"] if deep else []))
    assert result.returncode == 0, result.stdout + result.stderr
    for suffix in (".png", "_filters.png", ".json", "_weights.npz"):
        path = tmp_path / f"{prefix}{suffix}"
        assert path.is_file() and path.stat().st_size > 0, f"missing {path}"
        assert str(path) in result.stdout  # the script says where it wrote
    numbers = json.loads((tmp_path / f"{prefix}.json").read_text())
    assert numbers["network"] == ("DeepConvNet" if deep else "SimpleConvNet")
    assert 0.0 <= numbers["test_accuracy"] <= 1.0 and len(numbers["seconds_per_epoch"]) == 1
    assert numbers["settings"]["optimizer"] == "adam" and numbers["settings"]["dtype"] == "float32"
    with np.load(tmp_path / f"{prefix}_weights.npz", allow_pickle=False) as weights:
        assert weights["W1"].dtype == np.float32
        assert weights["W1"].shape == ((16, 1, 3, 3) if deep else (30, 1, 5, 5))
