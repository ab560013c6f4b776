"""Downloading one file from a list of mirrors, kept only once its sha256 matches.

Each mirror is tried in turn. The bytes go to a hidden temporary file in the
destination folder, ``.<filename>.<pid>.<random>.part``, hashed as they arrive, and
the temporary file is renamed to its final name (``os.replace``, atomic on one file
system) only after the checksum matches. Any failure (no connection, an HTTP error,
a timeout, a mirror too slow to finish within the deadline, an HTML page where gzip
was expected, a short body, a wrong checksum) deletes the temporary file and moves
on to the next mirror, so a broken or partial download never stays in the folder.

One attempt's deadline bounds all of it: the connection, the status line and headers,
and the body. A socket timeout bounds each wait but not their sum, so a server that
sends a byte every half second would never time out; when an attempt's deadline passes,
a watchdog (:mod:`datasets.deadline`) shuts its connections down, and the read blocked on
them returns at once.

A process killed mid-download cannot delete its ``.part`` file; the next download of
that file does, once the process that wrote it no longer runs. A folder the download
created is removed again when no mirror delivered the file.
"""

import hashlib
import http.client
import numbers
import os
import secrets
import time
import urllib.error
import urllib.request

from tqdm import tqdm

from bprop.datasets.deadline import Deadline, watched_opener
from bprop.networks.files import remove_stale_temp_files

DEFAULT_TIMEOUT = 30.0
#: seconds one mirror gets to deliver a whole file before the next is tried (26 MB,
#: Fashion-MNIST's training images, need about 90 kB/s to make it)
DEFAULT_DEADLINE = 300.0
USER_AGENT = "bprop-datasets/0.1 (python urllib)"

_CHUNK = 1 << 16
_GZIP_MAGIC = b"\x1f\x8b"


class DownloadError(RuntimeError):
    """No mirror delivered a file with the right checksum.

    Attributes
    ----------
    filename : str
    attempts : list of (str, str)
        Every URL tried, in order, with the reason it failed.
    """

    def __init__(self, filename, attempts):
        self.filename = filename
        self.attempts = list(attempts)
        lines = [f"could not download {filename}; tried:"]
        lines += [f"  {url}\n    -> {reason}" for url, reason in self.attempts]
        if not self.attempts:
            lines.append("  (no mirrors)")
        super().__init__("\n".join(lines))


class _BadDownload(Exception):
    """The server answered, but not with the file we want."""


def mirror_url(mirror, filename):
    """Join a mirror's base URL and a file name: ``https://host/dir/`` + ``name``."""
    return mirror.rstrip("/") + "/" + filename


def _describe_failure(error, timeout):
    """Turn whatever one attempt raised into a short reason for the final message."""
    if isinstance(error, _BadDownload):
        return str(error)
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP error {error.code} {error.reason}"
    if isinstance(error, urllib.error.URLError):
        if isinstance(error.reason, TimeoutError):
            return f"timed out after {timeout:g} s"
        return f"connection failed: {error.reason}"
    if isinstance(error, TimeoutError):
        return f"timed out after {timeout:g} s"
    if isinstance(error, http.client.HTTPException):
        return f"connection broken: {type(error).__name__} {error}".rstrip()
    return f"{type(error).__name__}: {error}"

def _stream(url, out, sha256, timeout, deadline, verbose, filename):
    """Copy ``url`` into the open binary file ``out``, checking it on the way.

    Gives up ``deadline`` seconds after it started, whatever it is waiting for then
    (connection, headers or body); a single wait ends after ``timeout``. Raises
    ``_BadDownload`` for a wrong or too slow answer and lets network errors through.
    """
    watchdog = Deadline(deadline)
    received, total, answered = 0, None, False

    def too_slow():
        if not answered:
            return _BadDownload(f"too slow: no complete status line and headers when the "
                                f"{deadline:g} s deadline passed")
        of = f" of {total}" if total is not None else ""
        return _BadDownload(f"too slow: {received}{of} bytes received when the {deadline:g} s "
                            f"deadline passed")

    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with watched_opener(watchdog).open(request, timeout=min(timeout, deadline)) as response:
            answered = True
            content_type = response.headers.get("Content-Type", "")
            if "html" in content_type.lower():
                raise _BadDownload(f"got an HTML page (Content-Type: {content_type}), not the file")
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            digest = hashlib.sha256()
            head = b""
            with tqdm(
                total=total, desc=filename, unit="B", unit_scale=True, unit_divisor=1024,
                leave=False, disable=None if verbose else True,
            ) as bar:
                while True:
                    # read1 returns what has arrived, so the deadline is looked at after
                    # every piece, however small; past it, the watchdog ends the read.
                    chunk = response.read1(_CHUNK)
                    if not chunk:
                        break
                    if len(head) < len(_GZIP_MAGIC) and filename.endswith(".gz"):
                        # Check the first bytes early: mirrors that lost a file tend to
                        # answer 200 with an HTML page, which need not be read to the end.
                        start = head + chunk  # reads may return a byte at a time
                        head = start[: len(_GZIP_MAGIC)]
                        if not _GZIP_MAGIC.startswith(head):
                            raise _BadDownload(f"not gzip data (starts with {start[:24]!r})")
                    digest.update(chunk)
                    out.write(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
                    if time.monotonic() > watchdog.end and received != total:
                        raise too_slow()
    except (OSError, http.client.HTTPException) as error:
        if watchdog.passed:  # the watchdog ended the connection under this read
            raise too_slow() from error
        raise
    finally:
        watchdog.close()
    if total is not None and received != total:
        raise too_slow() if watchdog.passed else _BadDownload(
            f"incomplete: received {received} of {total} bytes")
    got = digest.hexdigest()
    if got != sha256.lower():
        if watchdog.passed and total is None:  # the end of the body may have been cut off
            raise too_slow()
        raise _BadDownload(f"sha256 mismatch: expected {sha256}, got {got} ({received} bytes)")


def _make_folder(folder):
    """Create ``folder`` and any missing parents; return those created, deepest first."""
    created = []
    path = os.path.abspath(folder)
    while not os.path.isdir(path):
        created.append(path)
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    os.makedirs(folder, exist_ok=True)
    return created


def _remove_empty(folders):
    """Remove the folders a failed download created, those that are still empty."""
    for path in folders:
        try:
            os.rmdir(path)
        except OSError:
            return  # not empty (another download used it) or already gone


def download_file(filename, mirrors, folder, sha256, timeout=DEFAULT_TIMEOUT, verbose=1,
                  deadline=DEFAULT_DEADLINE):
    """Download ``filename`` from the first mirror that serves it intact.

    Parameters
    ----------
    filename : str
        Name of the file on every mirror and in ``folder``.
    mirrors : sequence of str
        Base URLs tried in order; the file's URL is ``mirror + filename``.
    folder : str or os.PathLike
        Where the file is written; created if missing.
    sha256 : str
        Expected hex digest of the file.
    timeout : float
        Seconds to wait for a connection or for each read.
    verbose : int
        0 silent; 1 or more a progress bar when stderr is a terminal.
    deadline : float
        Seconds one mirror gets for all of it (connection, status line, headers and the
        whole file); after that the next mirror is tried, so a server that trickles
        cannot hold the download. Only resolving the host name is left to the system's
        resolver and its own time limit.

    Returns
    -------
    path : str
        ``folder/filename``, whose sha256 has been checked.

    Raises
    ------
    DownloadError
        If no mirror delivered the file; ``attempts`` lists every URL and reason.
        Folders this call created are removed again if they are empty.
    OSError
        If ``folder`` cannot be created or written to.
    """
    if isinstance(deadline, bool) or not isinstance(deadline, numbers.Real) or not deadline > 0:
        raise ValueError(f"download_file: deadline must be a number of seconds > 0, got {deadline!r}")
    folder = os.fspath(folder)
    created = _make_folder(folder)
    # .part files of processes killed mid-download; one of a running download stays
    remove_stale_temp_files(os.path.join(folder, filename), suffix=".part")
    destination = os.path.join(folder, filename)
    attempts = []
    for mirror in mirrors:
        url = mirror_url(mirror, filename)
        # Hidden, unique and in the same folder, so the final rename is atomic.
        temporary = os.path.join(folder, f".{filename}.{os.getpid()}.{secrets.token_hex(4)}.part")
        # An unwritable folder is not the mirror's fault: let that OSError out.
        try:
            out = open(temporary, "xb")
        except OSError:
            _remove_empty(created)
            raise
        try:
            with out:
                _stream(url, out, sha256, timeout, deadline, verbose, filename)
            os.replace(temporary, destination)
            return destination
        except (_BadDownload, OSError, http.client.HTTPException, ValueError) as error:
            # URLError and timeouts are OSErrors; ValueError is urllib's "unknown url type".
            attempts.append((url, _describe_failure(error, timeout)))
        finally:
            if os.path.exists(temporary):
                os.remove(temporary)
    _remove_empty(created)
    raise DownloadError(filename, attempts)
