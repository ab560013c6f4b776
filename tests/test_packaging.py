"""Packaging: bprop installs under the one name ``bprop`` and nothing else.

The repository keeps ``layers/``, ``networks/``, ``optim/`` and ``datasets/`` at its top level;
setup.cfg maps each folder to ``bprop.<folder>``. A top-level ``datasets`` in site-packages
would overwrite a widely used package of that name, so the wheel is built and its file list
checked.
"""

import importlib.metadata
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("layers", "networks", "optim", "datasets")


def test_wheel_holds_only_bprop_and_its_dist_info(tmp_path):
    # Build from a copy of the sources, so that the build leaves nothing in the repository.
    src = tmp_path / "src"
    src.mkdir()
    for name in ("setup.cfg", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    for name in PACKAGES:
        shutil.copytree(ROOT / name, src / name,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation",
         "--no-index", "-q", "-w", str(tmp_path / "dist")],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    wheels = list((tmp_path / "dist").glob("bprop-*.whl"))
    assert len(wheels) == 1, wheels
    names = zipfile.ZipFile(wheels[0]).namelist()
    outside = [n for n in names
               if not n.startswith("bprop/") and not n.split("/")[0].endswith(".dist-info")]
    assert outside == [], f"files outside bprop/ in the wheel: {outside}"
    for package in PACKAGES:
        assert f"bprop/{package}/__init__.py" in names
    # bprop is a namespace package: no bprop/__init__.py of its own is needed or shipped.
    assert "bprop/__init__.py" not in names


@pytest.mark.parametrize("package", PACKAGES)
def test_bare_top_level_names_do_not_import(package, tmp_path):
    # Only bprop.<package> is installed; a bare ``import datasets`` run outside the repository
    # (a fresh interpreter in an empty folder) must not find bprop's folder.
    code = (f"import importlib.util; spec = importlib.util.find_spec({package!r}); "
            "print(spec.origin if spec else '')")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                            text=True, timeout=60, check=True)
    origin = result.stdout.strip()
    assert not origin or not Path(origin).resolve().is_relative_to(ROOT), (
        f"'import {package}' finds bprop's folder {origin}")


def test_version_comes_from_the_installed_metadata():
    version = importlib.metadata.version("bprop")
    config = (ROOT / "setup.cfg").read_text()
    assert f"version = {version}\n" in config
