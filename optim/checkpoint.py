"""The checkpoint file: a whole training run in one ``.npz``, never a pickle.

A checkpoint is a tree of dicts and lists whose leaves are JSON values (numbers,
strings, booleans, None) or NumPy arrays. It is written as one ``.npz`` file with
:func:`bprop.networks.files.save_npz` (a temporary file beside the target, verified,
then renamed: a reader sees the old checkpoint or the new one, never half of one):

- ``'meta'``: a uint8 array, the UTF-8 bytes of a JSON object
  ``{"format": "bprop-trainer-checkpoint", "version": 1, "state": TREE}``, in which each
  array of the tree is replaced by ``{"__array__": NAME}``;
- every array of the tree under its NAME, the keys leading to it joined by ``'/'``
  (``'network/W1'``, ``'optimizer/arrays/m/W1'``, ``'early_stopping/arrays/W1'``).

It is read with ``allow_pickle=False``: an object array in the file is refused, not
run. Floats go through JSON as Python writes them (the shortest text that reads back as
the same double), so every number comes back bit for bit.

What a file holds is checked before any of it is used, by the checks of
:mod:`optim.state_checks`; a file this code cannot read at all is a
:class:`~bprop.optim.state_checks.CheckpointError` naming the file and the cause.
"""

import json
import os

import numpy as np

from bprop.networks.files import NpzFileError, load_npz, save_npz

from .state_checks import CheckpointError, shown

FORMAT = "bprop-trainer-checkpoint"
#: the format version this code writes; it reads this one and older ones
VERSION = 1
#: the key that stands for an array in the JSON tree
ARRAY = "__array__"
#: the entry of the JSON text in the file
META = "meta"


def check_checkpoint_path(path):
    """``path`` as a str, if a checkpoint can be written there: not a folder, and its folder
    (created at the first write when missing) under no file and writable. A ValueError names
    the path otherwise, when the Trainer is built rather than after its first epoch."""
    if not isinstance(path, (str, os.PathLike)) or not os.fspath(path):
        raise ValueError(f"Trainer: checkpoint must be a file path (str or os.PathLike), got {path!r}")
    path = os.fspath(path)
    if os.path.isdir(path):
        raise ValueError(f"Trainer: checkpoint={path!r} is a folder; name a file in it, such as "
                         f"{os.path.join(path, 'checkpoint.npz')!r}")
    folder = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(folder):  # the folders still to be made
        folder = os.path.dirname(folder)
    if not os.path.isdir(folder):
        raise ValueError(f"Trainer: checkpoint={path!r} cannot be written: {folder!r} is a file, not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"Trainer: checkpoint={path!r} cannot be written: the folder {folder!r} is not writable")
    return path


def split_arrays(tree, prefix=""):
    """``(json_tree, arrays)``: ``tree`` with each array replaced by ``{"__array__": name}``,
    and the dict ``name -> array``. Tuples become lists and NumPy scalars Python numbers."""
    arrays = {}

    def walk(node, path):
        if isinstance(node, np.ndarray):
            arrays[path] = node
            return {ARRAY: path}
        if isinstance(node, dict):
            out = {}
            for key, value in node.items():
                if not isinstance(key, str):
                    raise TypeError(f"checkpoint keys must be strings, got {key!r} at {path or 'the top'}")
                out[key] = walk(value, f"{path}/{key}" if path else key)
            return out
        if isinstance(node, (list, tuple)):
            if all(type(v) in (float, int) for v in node):  # a history's numbers: as they are
                return list(node)
            return [walk(v, f"{path}/{i}") for i, v in enumerate(node)]
        if isinstance(node, np.generic):
            return node.item()
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        raise TypeError(f"checkpoint value at {path!r} is a {type(node).__name__}, "
                        "neither an array nor a JSON value")

    return walk(tree, prefix), arrays


def join_arrays(tree, arrays, source="the checkpoint"):
    """The inverse of :func:`split_arrays`."""
    if isinstance(tree, dict):
        if set(tree) == {ARRAY}:
            name = tree[ARRAY]
            if not isinstance(name, str) or name not in arrays:
                raise CheckpointError(f"{source} is incomplete: array {name!r} is missing")
            return arrays[name]
        return {k: join_arrays(v, arrays, source) for k, v in tree.items()}
    if isinstance(tree, list):
        return [join_arrays(v, arrays, source) for v in tree]
    return tree


def save_checkpoint(path, tree):
    """Write ``tree`` to ``path`` as one ``.npz`` file, atomically and verified."""
    json_tree, arrays = split_arrays(tree)
    text = json.dumps({"format": FORMAT, "version": VERSION, "state": json_tree})
    entries = {META: np.frombuffer(text.encode("utf-8"), dtype=np.uint8)}
    entries.update(arrays)
    save_npz(path, entries)


def load_checkpoint(path):
    """The tree a :func:`save_checkpoint` wrote to ``path``.

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    CheckpointError (a ValueError)
        If the file is not a readable ``.npz``, holds a pickled object, is not a
        checkpoint (a weights file of ``save_params``, say), is of a newer format version
        or lacks an array its JSON names. The message names the file and the cause.
    """
    source = os.fspath(path)
    if not os.path.exists(source):
        raise FileNotFoundError(f"no checkpoint at {source}")
    try:
        entries = load_npz(source)  # says what a file that is not a readable .npz is, never unpickling
    except NpzFileError as err:
        raise CheckpointError(str(err)) from None
    if META not in entries:
        raise CheckpointError(f"{source} is not a training checkpoint: it has no {META!r} entry "
                              f"(its arrays are {sorted(entries)[:5]}...; a weights file of save_params "
                              "is read with net.load_params)")
    meta_bytes = entries.pop(META)
    try:
        if meta_bytes.dtype != np.uint8 or meta_bytes.ndim != 1:
            raise ValueError(f"a {meta_bytes.dtype} array of shape {meta_bytes.shape}, not UTF-8 bytes")
        meta = json.loads(meta_bytes.tobytes().decode("utf-8"))
    except ValueError as err:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise CheckpointError(f"{source}: the {META!r} entry is not JSON text: {err}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        kind = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise CheckpointError(f"{source} is not a bprop training checkpoint (format {kind!r})")
    version = meta.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= VERSION:
        raise CheckpointError(f"{source} has checkpoint format version {version!r}; this bprop reads "
                              f"versions 1 to {VERSION} (a newer bprop wrote it?)")
    if not isinstance(meta.get("state"), dict):
        raise CheckpointError(f"{source}: state is missing or not a dict: got {shown(meta.get('state'))}")
    return join_arrays(meta["state"], entries, source)
