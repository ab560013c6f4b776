"""Where the data files live: ``root``, else ``$BPROP_DATA``, else ``~/.cache/bprop``.

Every dataset of files (MNIST, Fashion-MNIST, Tiny Shakespeare) has a folder of its own
under this one root; :func:`data_root_and_source` also says, for error messages, where the
root came from.
"""

import os
from pathlib import Path

ENV_VAR = "BPROP_DATA"
DEFAULT_ROOT = Path("~/.cache/bprop")


def data_root_and_source(root=None):
    """The data root, and in words where it came from (for error messages)."""
    if root is not None:
        return Path(root).expanduser(), "from the root argument"
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser(), f"from ${ENV_VAR}"
    return DEFAULT_ROOT.expanduser(), f"default; ${ENV_VAR} is not set"


def data_root(root=None):
    """The folder holding the datasets' folders (``mnist/``, ``fashion-mnist/``,
    ``tinyshakespeare/``).

    ``root`` if given, else ``$BPROP_DATA``, else ``~/.cache/bprop``.
    """
    return data_root_and_source(root)[0]
