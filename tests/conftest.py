"""Shared test helpers: one BLAS thread for the whole session, where the real datasets
are, what to do when they are not, and a small text for the text scripts."""

import os
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from bprop.datasets.mnist import FILENAMES
from bprop.optim.sweep_execute import BLAS_THREAD_VARIABLES  # how a process spawned by a test learns its count



@pytest.fixture(scope="session", autouse=True)
def one_blas_thread():
    """Every test, and every process a test spawns, runs with one BLAS thread unless it sets
    another count itself (``threadpool_limits(2, user_api="blas")``, ``--threads 2``).

    NumPy's default is one BLAS thread per core. On a 2-core machine where anything else
    runs (another process, a test's worker processes), every threaded product waits for
    the OpenBLAS thread whose core is taken, and the small products of these tests gain
    nothing from a second thread anyway: 3 epochs of a 784-100-10 MLP on the 60000 MNIST
    images, once in float32 and once in float64, took 48 s at two threads against 5 s at one
    on a busy 2-core machine. What the tests check does not depend on the count (the thread
    tests set both counts they compare), so the suite runs at the fast one.
    """
    with pytest.MonkeyPatch.context() as patch, threadpool_limits(limits=1, user_api="blas"):
        for name in BLAS_THREAD_VARIABLES:
            patch.setenv(name, "1")
        yield


def real_data_folder(name):
    """Folder of the real dataset ``name`` under $BPROP_DATA.

    Skips the calling test when the files are absent, except under CI ($CI set),
    where the test fails instead: CI must provide them.
    """
    root = os.environ.get("BPROP_DATA")
    folder = Path(root) / name if root else None
    if folder is not None and all((folder / f).is_file() for f in FILENAMES):
        return folder
    missing_data(f"real {name} files not found (BPROP_DATA={root!r})")


def missing_data(why):
    """Fail under CI (which must provide the data through BPROP_DATA), else skip, saying ``why``."""
    if os.environ.get("CI"):
        pytest.fail(f"{why}; CI must provide them through BPROP_DATA")
    pytest.skip(why)


@pytest.fixture
def mnist_root():
    """$BPROP_DATA, after checking that it holds MNIST (see :func:`real_data_folder`)."""
    return str(real_data_folder("mnist").parent)


@pytest.fixture
def shakespeare_root():
    """$BPROP_DATA when it holds Tiny Shakespeare (skips without it; fails under CI)."""
    root = os.environ.get("BPROP_DATA")
    if root and (Path(root) / "tinyshakespeare" / "input.txt").is_file():
        return root
    missing_data(f"tinyshakespeare/input.txt not found (BPROP_DATA={root!r})")


@pytest.fixture
def text_file(tmp_path):
    """A small text of our own for the text scripts: 600 lines of 8 words drawn from 11
    (about 24000 characters)."""
    rng = np.random.default_rng(0)
    words = np.array(["to", "be", "or", "not", "that", "is", "the", "question", "whether", "tis", "nobler"])
    path = tmp_path / "text.txt"
    path.write_text("\n".join(" ".join(rng.choice(words, 8)) for _ in range(600)), encoding="utf-8")
    return path
