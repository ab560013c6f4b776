"""Writing files so that an interrupted write never leaves a broken or stray file.

Every file bprop writes (weights, checkpoints) goes to a temporary file beside its
target, named ``.<target name>.<pid>.tmp`` so that it is hidden, never matches the
target's own name or extension, and tells which process wrote it. The data is
flushed to disk, read back and checked, and only then renamed over the target, which
is atomic on POSIX and Windows: a reader sees the old file or the new one, never half
of one. A process killed mid-write leaves its temporary file behind; the next write
of the same target removes it (this process's own is simply overwritten).
"""

import contextlib
import os

import numpy as np


def temp_path(path):
    """The temporary file this process writes before renaming it to ``path``."""
    folder, name = os.path.split(os.path.abspath(path))
    return os.path.join(folder, f".{name}.{os.getpid()}.tmp")


def is_running(pid):
    """Whether process ``pid`` runs on this machine (True where that cannot be told)."""
    if os.name != "posix":  # os.kill would end the process there, not probe it
        return True
    try:
        os.kill(pid, 0)  # signal 0 checks that the process exists and sends nothing
    except ProcessLookupError:
        return False
    except OSError:  # it exists, owned by someone else
        return True
    return True


def remove_stale_temp_files(path, suffix=".tmp"):
    """Delete the temporary files of ``path`` that processes no longer running left behind.

    A temporary file of ``path`` is named ``.<name>.<pid><anything><suffix>`` beside it
    (``.tmp`` for :func:`atomic_write`, ``.part`` for a download). Those of a process
    that still runs (a write going on) are left alone. Returns the paths removed.
    """
    folder, name = os.path.split(os.path.abspath(path))
    prefix, removed = f".{name}.", []
    for entry in os.scandir(folder):
        if not (entry.name.startswith(prefix) and entry.name.endswith(suffix)):
            continue
        pid = entry.name[len(prefix):-len(suffix)].split(".")[0]
        if pid.isdigit() and not is_running(int(pid)):
            with contextlib.suppress(FileNotFoundError):  # another process removed it first
                os.remove(entry.path)
                removed.append(entry.path)
    return removed


@contextlib.contextmanager
def atomic_write(path):
    """Open a temporary file beside ``path`` for writing in binary; on success rename it to ``path``.

    Yields ``(file, temp_path)``: write to the file object; the temporary file is
    flushed and fsynced when the block ends, and may be checked through
    ``temp_path`` inside the block. On any exception (KeyboardInterrupt too) the
    temporary file is removed and ``path`` is untouched. The file gets the usual
    permissions for the user's umask, like any file ``open(path, 'wb')`` creates.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    remove_stale_temp_files(path)
    tmp = temp_path(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f, tmp
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise


def save_npz(path, arrays):
    """Write ``arrays`` (a dict name -> array) to ``path`` as ``.npz``, atomically and verified.

    The temporary file is read back with ``allow_pickle=False`` and compared array by
    array before it replaces ``path``.
    """
    with atomic_write(path) as (f, tmp):
        np.savez(f, **arrays)
        f.flush()
        with np.load(tmp, allow_pickle=False) as back:
            if set(back.files) != set(arrays) or not all(
                _same(back[k], np.asarray(v)) for k, v in arrays.items()
            ):
                raise OSError(f"{tmp} did not read back as written")


def _same(a, b):
    floating = a.dtype.kind in "fc" and b.dtype.kind in "fc"
    return a.shape == b.shape and np.array_equal(a, b, equal_nan=floating)


def load_npz(path):
    """Every array of the ``.npz`` file ``path``, as a dict, read without pickle."""
    with np.load(os.fspath(path), allow_pickle=False) as data:
        return {k: data[k] for k in data.files}
