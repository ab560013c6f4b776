"""Reading IDX files, the format MNIST and Fashion-MNIST are published in.

An IDX file is a big-endian header followed by the raw values::

    magic : 4 bytes, 0x00 0x00 <type> <ndim>   (type 0x08 = unsigned byte)
    dims  : ndim big-endian uint32, the item count first
    data  : prod(dims) values, row-major

so an image file ``(count, rows, cols)`` has magic 0x00000803 = 2051 and a label
file ``(count,)`` magic 0x00000801 = 2049. Files may be gzip-compressed (``.gz``).

Parsed files are kept in memory, keyed on path, modification time and size, so a
second load in the same process neither reads nor decompresses the file again.
The arrays handed out are read-only views of that cache; copy before writing.
Each file's sha256 is kept beside its array, so checking a file against the
original's checksum costs one hash per file and process.
"""

import gzip
import hashlib
import os
import zlib

import numpy as np

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049

_UNSIGNED_BYTE = 0x08

# (realpath, st_mtime_ns, st_size) -> (magic, read-only array, sha256 hex digest of the file)
_cache = {}


class ChecksumError(ValueError):
    """A file is not the one expected: its sha256 differs.

    Attributes
    ----------
    path : str
    expected, actual : str
        Hex digests.
    """

    def __init__(self, path, expected, actual, message=None):
        self.path = path
        self.expected = expected
        self.actual = actual
        super().__init__(message or f"{path}: sha256 {actual} is not the expected {expected}")


def _describe_magic(magic):
    """Say in words what an IDX magic number announces."""
    if magic == IMAGES_MAGIC:
        return "an IDX image file"
    if magic == LABELS_MAGIC:
        return "an IDX label file"
    return "not an MNIST-style IDX file"


def _check_magic(name, magic, expected_magic):
    if expected_magic is not None and magic != expected_magic:
        raise ValueError(
            f"{name}: wrong magic number {magic} (0x{magic:08x}, {_describe_magic(magic)}); "
            f"expected {expected_magic} ({_describe_magic(expected_magic)})"
        )


def parse_idx(data, name="<bytes>", expected_magic=None):
    """Parse the bytes of an uncompressed IDX file of unsigned bytes.

    Parameters
    ----------
    data : bytes
        The whole file, header included.
    name : str
        What to call the data in error messages (usually its path).
    expected_magic : int, optional
        ``IMAGES_MAGIC`` (2051) or ``LABELS_MAGIC`` (2049); any other magic number
        in the header is then an error.

    Returns
    -------
    array : (count, ...) uint8
        A read-only view of ``data`` with the shape the header declares:
        ``(count, rows, cols)`` for images, ``(count,)`` for labels.

    Raises
    ------
    ValueError
        Naming ``name`` and the problem: a short or truncated file, a wrong or
        unsupported magic number, or bytes left over after the declared data.
    """
    size = len(data)
    if size < 4:
        raise ValueError(f"{name}: only {size} bytes, too short for an IDX header")
    magic = int.from_bytes(data[:4], "big")
    _check_magic(name, magic, expected_magic)
    if data[0] != 0 or data[1] != 0:
        raise ValueError(f"{name}: magic number 0x{magic:08x} does not start with two zero bytes")
    if data[2] != _UNSIGNED_BYTE:
        raise ValueError(
            f"{name}: data type code 0x{data[2]:02x} is not supported (only 0x08, unsigned byte)"
        )
    ndim = data[3]
    if ndim == 0:
        raise ValueError(f"{name}: header declares 0 dimensions")
    header = 4 + 4 * ndim
    if size < header:
        raise ValueError(
            f"{name}: truncated header, {ndim} dimensions need {header} bytes "
            f"but the file has {size}"
        )
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    expected = 1
    for d in dims:
        expected *= d
    payload = size - header
    shape = " x ".join(str(d) for d in dims)
    if payload < expected:
        raise ValueError(
            f"{name}: truncated, header declares {shape} = {expected} bytes of data "
            f"but only {payload} follow the header"
        )
    if payload > expected:
        raise ValueError(
            f"{name}: {payload - expected} unexpected bytes after the {shape} = {expected} bytes "
            f"of data the header declares"
        )
    return np.frombuffer(data, dtype=np.uint8, count=expected, offset=header).reshape(dims)


def _read_bytes(path):
    """Return the contents of ``path``, as stored (still compressed)."""
    with open(path, "rb") as f:
        return f.read()


def _decompress(path, raw):
    """Return ``raw``, the bytes of ``path``, gunzipped if the name ends in .gz."""
    if not path.endswith(".gz"):
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as e:
        # BadGzipFile (an OSError) for a bad header or CRC, EOFError when cut short.
        raise ValueError(f"{path}: not a valid gzip file ({e})") from e


def read_idx(path, expected_magic=None, sha256=None):
    """Read an IDX file (optionally ``.gz``) once per process.

    Parameters
    ----------
    path : str or os.PathLike
    expected_magic : int, optional
        ``IMAGES_MAGIC`` or ``LABELS_MAGIC``; see :func:`parse_idx`.
    sha256 : str, optional
        Hex digest the file (as stored, compressed) must have; checked before the
        file is parsed, and against the digest cached with the array afterwards.

    Returns
    -------
    array : (count, rows, cols) or (count,) uint8
        Read-only; later calls return the same array while the file's
        modification time and size stay the same.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ChecksumError
        If ``sha256`` is given and the file's digest differs (a ValueError).
    ValueError
        If the file is not valid gzip or not a valid IDX file (see :func:`parse_idx`).
    """
    path = os.fspath(path)
    st = os.stat(path)
    real = os.path.realpath(path)
    key = (real, st.st_mtime_ns, st.st_size)
    hit = _cache.get(key)
    if hit is None:
        raw = _read_bytes(path)
        digest = hashlib.sha256(raw).hexdigest()
        _check_sha256(path, digest, sha256)  # before parsing what may be another file
        array = parse_idx(_decompress(path, raw), name=path)
        magic = int.from_bytes(bytes([0, 0, _UNSIGNED_BYTE, array.ndim]), "big")
        # A changed file replaces its old entry instead of piling up beside it.
        for old in [k for k in _cache if k[0] == real]:
            del _cache[old]
        hit = _cache[key] = (magic, array, digest)
    magic, array, digest = hit
    _check_sha256(path, digest, sha256)
    _check_magic(path, magic, expected_magic)
    return array


def _check_sha256(path, digest, expected):
    if expected is not None and digest != expected.lower():
        raise ChecksumError(path, expected, digest)


def clear_cache():
    """Forget every parsed file, so the next :func:`read_idx` reads from disk."""
    _cache.clear()
