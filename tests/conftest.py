"""Shared test helpers: where the real datasets are, and what to do when they are not."""

import os
from pathlib import Path

import pytest

from bprop.datasets.mnist import FILENAMES


def real_data_folder(name):
    """Folder of the real dataset ``name`` under $BPROP_DATA.

    Skips the calling test when the files are absent, except under CI ($CI set),
    where the test fails instead: CI must provide them.
    """
    root = os.environ.get("BPROP_DATA")
    folder = Path(root) / name if root else None
    if folder is not None and all((folder / f).is_file() for f in FILENAMES):
        return folder
    why = f"real {name} files not found (BPROP_DATA={root!r})"
    if os.environ.get("CI"):
        pytest.fail(f"{why}; CI must provide them through BPROP_DATA")
    pytest.skip(why)


@pytest.fixture
def mnist_root():
    """$BPROP_DATA, after checking that it holds MNIST (see :func:`real_data_folder`)."""
    return str(real_data_folder("mnist").parent)
