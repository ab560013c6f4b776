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

What a file holds is checked before any of it is used. Each part that keeps state (the
optimizer, a callback, the batch source) checks its own piece and raises a
:class:`StateError` that says where in its piece the fault is (``'arrays/m/W1'``); the
Trainer turns it into one :class:`CheckpointError` that names the file and the whole path
(``'run.npz: optimizer/arrays/m/W1 holds 1 non-finite value(s) ...'``). The helpers below
(counts, numbers, arrays, random-generator states) are the checks those parts share.
"""

import json
import math
import numbers
import os
from collections.abc import Mapping

import numpy as np

from bprop.networks.files import NpzFileError, load_npz, save_npz

FORMAT = "bprop-trainer-checkpoint"
#: the format version this code writes; it reads this one and older ones
VERSION = 1
#: the key that stands for an array in the JSON tree
ARRAY = "__array__"
#: the entry of the JSON text in the file
META = "meta"


class CheckpointError(ValueError):
    """A file that is not a checkpoint this code can read (corrupt, of another kind, newer),
    or whose contents cannot be resumed: the message names the file and the field."""


class StateError(ValueError):
    """A state (``state_dict()``) that cannot be restored, found before anything changed.

    Parameters
    ----------
    owner : who refuses it (``'Adam.load_state_dict'``, ``'EarlyStopping'``).
    field : where in the state the fault is, its keys joined by ``'/'`` (``'arrays/m/W1'``);
        ``''`` for the state as a whole.
    problem : what is wrong, ending in ``': got <value>'`` where a value can be shown.
    message : the text of the error, when it should read otherwise than
        ``'<owner>: <field> <problem>'``.
    """

    def __init__(self, owner, field, problem, message=None):
        self.owner, self.field, self.problem = owner, field, problem
        super().__init__(message or f"{owner}: {field or 'the state'} {problem}")

    def in_file(self, source, prefix=""):
        """The :class:`CheckpointError` for this fault in the file ``source``, whose state
        sits under ``prefix`` there (``'optimizer'``, ``'callbacks/EarlyStopping'``)."""
        field = "/".join(p for p in (prefix, self.field) if p)
        return CheckpointError(f"{source}: {field or 'the state'} {self.problem}")


def shown(value, limit=120):
    """``value`` as an error message shows it: an array by its dtype and shape, anything
    else by ``repr``, cut to ``limit`` characters."""
    if isinstance(value, np.ndarray):
        return f"an array of dtype {value.dtype} and shape {value.shape}"
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def join(field, key):
    """``field/key`` (just ``key`` at the top)."""
    return f"{field}/{key}" if field else str(key)


def check_mapping(owner, field, state, keys=(), exact=False):
    """``state`` as a dict that has every key of ``keys`` (and no other with ``exact``)."""
    if not isinstance(state, Mapping):
        raise StateError(owner, field, f"must be a dict: got {shown(state)}")
    for key in keys:
        if key not in state:
            raise StateError(owner, join(field, key), f"is missing: got the keys {sorted(map(str, state))}")
    if exact:
        extra = sorted(str(k) for k in state if k not in keys)
        if extra:
            raise StateError(owner, join(field, extra[0]), f"is not expected: got the keys {sorted(map(str, state))}, "
                                                           f"expected {sorted(keys)}")
    return state


def check_count(owner, field, value, low=0):
    """``value`` as an int >= ``low`` (a bool or a float that equals an integer is refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise StateError(owner, field, f"must be an integer >= {low}: got {shown(value)}")
    return int(value)


def check_real(owner, field, value, low=None, low_open=False, allow_none=False):
    """``value`` as a finite float (``> low`` with ``low_open``, else ``>= low``), or None
    when ``allow_none``."""
    if value is None and allow_none:
        return None
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if not ok:
        bound = "" if low is None else f" {'>' if low_open else '>='} {low!r}"
        either = " or None" if allow_none else ""
        raise StateError(owner, field, f"must be a finite number{bound}{either}: got {shown(value)}")
    return float(value)


def check_array(owner, field, value, like=None):
    """``value`` as a floating-point array with only finite values; with ``like`` (an array),
    of exactly its shape (no broadcasting) and finite also once cast to its dtype (the
    values as they will be stored)."""
    if not isinstance(value, np.ndarray):
        raise StateError(owner, field, f"must be an array: got {shown(value)}")
    if value.dtype.kind != "f":
        raise StateError(owner, field, f"must hold floating-point numbers: got dtype {value.dtype}")
    if like is not None and value.shape != like.shape:
        raise StateError(owner, field, f"must have the shape {like.shape}: got {value.shape}")
    with np.errstate(over="ignore"):  # a value too large for the stored dtype becomes inf: refused below
        stored = value if like is None or like.dtype.kind != "f" else value.astype(like.dtype)
    bad = np.flatnonzero(~np.isfinite(stored))
    if bad.size:
        index = tuple(int(i) for i in np.unravel_index(bad[0], value.shape)) if value.ndim else ()
        cast = "" if stored is value or stored.dtype == value.dtype else f" once cast to {stored.dtype}"
        raise StateError(owner, field, f"must hold finite numbers{cast}: got {bad.size} non-finite value(s), "
                                       f"the first {value[index].item()!r} at index {index}")
    return value


def check_arrays(owner, field, arrays, like):
    """``arrays`` as a dict with exactly the keys of ``like`` (a dict of arrays), each checked
    against its counterpart by :func:`check_array`."""
    check_mapping(owner, field, arrays)
    missing = [k for k in like if k not in arrays]
    if missing:
        raise StateError(owner, join(field, missing[0]), f"is missing: got the keys {sorted(arrays)}")
    extra = [k for k in arrays if k not in like]
    if extra:
        raise StateError(owner, join(field, extra[0]), f"is not expected: the keys are {list(like)}")
    return {k: check_array(owner, join(field, k), arrays[k], a) for k, a in like.items()}


def check_rng_state(owner, field, state, kind):
    """``state`` as the state of a NumPy bit generator of class ``kind`` (``'PCG64'``): it is
    set on a new generator of that class, which must then give back the same state."""
    fresh = getattr(np.random, kind, None) if isinstance(kind, str) else None
    if not (isinstance(fresh, type) and issubclass(fresh, np.random.BitGenerator)):
        raise StateError(owner, field, f"is not the state of a NumPy bit generator: got {shown(kind)}")
    generator = fresh()
    try:
        generator.state = state
        ok = _same(generator.state, state)
    except (TypeError, ValueError, KeyError, IndexError, OverflowError, AttributeError) as err:
        raise StateError(owner, field, f"is not a {kind} state ({type(err).__name__}: {err}): "
                                       f"got {shown(state)}") from None
    if not ok:
        raise StateError(owner, field, f"is not a {kind} state (it does not read back as written): "
                                       f"got {shown(state)}")


def _same(a, b):
    """Whether two states are equal, arrays compared by value (MT19937 keeps an array)."""
    if isinstance(a, Mapping) or isinstance(b, Mapping):
        return (isinstance(a, Mapping) and isinstance(b, Mapping) and a.keys() == b.keys()
                and all(_same(a[k], b[k]) for k in a))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and np.array_equal(a, b)
    return type(a) is type(b) and a == b or (isinstance(a, numbers.Integral) and isinstance(b, numbers.Integral)
                                             and not isinstance(b, bool) and a == b)


def check_like(owner, field, saved, current):
    """``saved`` of the same make as ``current``, the value it will replace: the same keys,
    arrays of the same shape (finite floating-point ones where ``current`` has floats), bit
    generator states of the same class, bools for bools, numbers for numbers, strings for
    strings. Where ``current`` is None (not known yet: a recurrent layer's carried state
    before its first batch), ``saved`` may be None or a finite floating-point array."""
    if isinstance(current, Mapping) and isinstance(current.get("bit_generator"), str):
        check_rng_state(owner, field, saved, current["bit_generator"])
    elif isinstance(current, Mapping):
        check_mapping(owner, field, saved, list(current), exact=True)
        for key, value in current.items():
            check_like(owner, join(field, key), saved[key], value)
    elif isinstance(current, np.ndarray):
        if current.dtype.kind == "f":
            check_array(owner, field, saved, current)
        elif not isinstance(saved, np.ndarray) or saved.shape != current.shape:
            raise StateError(owner, field, f"must be an array of shape {current.shape}: got {shown(saved)}")
    elif current is None:
        if saved is not None:
            check_array(owner, field, saved)
    elif isinstance(current, (bool, np.bool_)):
        if not isinstance(saved, (bool, np.bool_)):
            raise StateError(owner, field, f"must be True or False: got {shown(saved)}")
    elif isinstance(current, numbers.Real):
        if isinstance(saved, bool) or not isinstance(saved, numbers.Real):
            raise StateError(owner, field, f"must be a number: got {shown(saved)}")
    elif isinstance(current, str):
        if not isinstance(saved, str):
            raise StateError(owner, field, f"must be a string: got {shown(saved)}")
    elif isinstance(current, (list, tuple)):
        if not isinstance(saved, (list, tuple)) or len(saved) != len(current):
            raise StateError(owner, field, f"must be a list of {len(current)} values: got {shown(saved)}")
        for i, (s, c) in enumerate(zip(saved, current)):
            check_like(owner, join(field, i), s, c)


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
