"""Writing files so that an interrupted write never leaves a broken or stray file.

Every file bprop writes (weights, checkpoints) goes to a temporary file beside its
target, named ``.<target name>.<pid>.tmp`` so that it is hidden, never matches the
target's own name or extension, and tells which process wrote it. The data is
flushed to disk, read back and checked, and only then renamed over the target, which
is atomic on POSIX and Windows: a reader sees the old file or the new one, never half
of one. A process killed mid-write leaves its temporary file behind; the next write
of the same target removes it (this process's own is simply overwritten).

Reading goes through :func:`load_npz`, which looks at what a file is before NumPy
parses it: anything but a zip archive of ``.npy`` arrays (a text file, a pickle, a
lone ``.npy``, a zip cut short, an empty file, a folder) raises one
:class:`NpzFileError` that names the file and says what it is. Nothing is unpickled.
"""

import contextlib
import os
import zipfile
import zlib

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


class NpzFileError(ValueError):
    """A file that is not a readable ``.npz`` of plain arrays; the message names the file
    and says what it is instead (``'w.npz is not a readable .npz file: it is a text file
    (it begins 'epoch,loss')'``)."""


#: first bytes of files that are sometimes mistaken for an .npz, and what they are
_MAGIC = [
    (b"\x93NUMPY", "a single .npy array (np.save writes those), not an .npz archive of named arrays"),
    (b"\x89HDF\r\n\x1a\n", "an HDF5 file (Keras and h5py write those)"),
    (b"\x1f\x8b", "a gzip-compressed file"),
    (b"PK", "a zip archive cut short or damaged (its central directory, at the end, is missing)"),
]


def _what_it_is(head):
    """What a file that is not a zip archive is, told from its first bytes ``head``."""
    if not head:
        return "empty (0 bytes)"
    for magic, what in _MAGIC:
        if head.startswith(magic):
            return what
    if head[0] == 0x80 and len(head) > 1 and 2 <= head[1] <= 5:
        return f"a Python pickle (protocol {head[1]}), which bprop never unpickles"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:  # may be a multi-byte character cut at the end of head
        text = head[:-3].decode("utf-8", errors="replace")
    if "\ufffd" not in text and all(c.isprintable() or c in "\t\r\n" for c in text):
        first = text.strip().splitlines()[0][:40] if text.strip() else ""
        return f"a text file (it begins {first!r})"
    return f"not a zip archive (it begins with the bytes {head[:8]!r})"


def _header(f):
    """``dtype`` from the header of the ``.npy`` stream ``f``, which is left just after it."""
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(f)[2]
    if version == (2, 0):
        return np.lib.format.read_array_header_2_0(f)[2]
    raise ValueError(f"an .npy format version {version[0]}.{version[1]}, which bprop never writes")


def _read_member(zf, info, source):
    """The array stored as ``info`` in the zip ``zf``, read without pickle, to its end
    (so that the zip's CRC check runs)."""
    key = info.filename[:-len(".npy")]
    try:
        with zf.open(info) as f:
            if _header(f).hasobject:
                raise NpzFileError(f"{source} is not a readable .npz file: it holds a pickled object array "
                                   f"under key {key!r}, which is never loaded")
            f.seek(0)
            array = np.lib.format.read_array(f, allow_pickle=False)
            rest = len(f.read())  # reading to the end checks the CRC
    except NpzFileError:
        raise
    # what a damaged member raises: a bad CRC or header (BadZipFile), bad compressed data
    # (zlib.error), data cut short (EOFError, ValueError), encryption (RuntimeError)
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, RuntimeError,
            NotImplementedError) as err:
        raise NpzFileError(f"{source} is not a readable .npz file: its array {key!r} is damaged "
                           f"({type(err).__name__}: {err})") from None
    if rest:
        raise NpzFileError(f"{source} is not a readable .npz file: its array {key!r} is followed by "
                           f"{rest} stray bytes")
    return key, array


def load_npz(path):
    """Every array of the ``.npz`` file ``path``, as a dict ``key -> array``, read without pickle.

    Raises
    ------
    FileNotFoundError
        If nothing is at ``path``.
    NpzFileError (a ValueError)
        If ``path`` is not a zip archive of ``.npy`` arrays, naming the file and what it
        is: a folder, an empty file, a text file, a pickle, a lone ``.npy``, a zip cut
        short, a zip holding something else, a damaged array or an object array (which
        would need unpickling, and is never loaded).
    """
    source = os.fspath(path)
    if os.path.isdir(source):
        raise NpzFileError(f"{source} is not a readable .npz file: it is a folder")
    if os.path.exists(source) and not os.path.isfile(source):  # reading a pipe could block
        raise NpzFileError(f"{source} is not a readable .npz file: it is not a regular file")
    with open(source, "rb") as f:  # FileNotFoundError and PermissionError name the file
        head = f.read(64)
    if not zipfile.is_zipfile(source):
        raise NpzFileError(f"{source} is not a readable .npz file: it is {_what_it_is(head)}")
    try:
        with zipfile.ZipFile(source) as zf:
            infos = zf.infolist()
            seen = set()
            for name in (info.filename for info in infos):
                if not name.endswith(".npy"):
                    raise NpzFileError(f"{source} is not a readable .npz file: it holds {name!r}, "
                                       "which is not a NumPy array (.npy)")
                if name in seen:
                    raise NpzFileError(f"{source} is not a readable .npz file: it holds {name!r} twice")
                seen.add(name)
            return dict(_read_member(zf, info, source) for info in infos)
    except zipfile.BadZipFile as err:  # a central directory that does not parse
        raise NpzFileError(f"{source} is not a readable .npz file: it is a damaged zip archive "
                           f"({err})") from None
