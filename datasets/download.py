"""Downloading one file from a list of mirrors, kept only once its sha256 matches.

Each mirror is tried in turn. The bytes go to a hidden temporary file in the
destination folder, hashed as they arrive, and the temporary file is renamed to
its final name (``os.replace``, atomic on one file system) only after the
checksum matches. Any failure (no connection, an HTTP error, a timeout, an HTML
page where gzip was expected, a short body, a wrong checksum) deletes the
temporary file and moves on to the next mirror, so a broken or partial download
never stays in the folder.
"""

import hashlib
import http.client
import os
import secrets
import urllib.error
import urllib.request

from tqdm import tqdm

DEFAULT_TIMEOUT = 30.0
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


def _stream(url, out, sha256, timeout, verbose, filename):
    """Copy ``url`` into the open binary file ``out``, checking it on the way.

    Raises ``_BadDownload`` for a wrong body and lets network errors through.
    """
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        content_type = response.headers.get("Content-Type", "")
        if "html" in content_type.lower():
            raise _BadDownload(f"got an HTML page (Content-Type: {content_type}), not the file")
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        digest = hashlib.sha256()
        head = b""
        received = 0
        with tqdm(
            total=total, desc=filename, unit="B", unit_scale=True, unit_divisor=1024,
            leave=False, disable=None if verbose else True,
        ) as bar:
            while True:
                chunk = response.read(_CHUNK)
                if not chunk:
                    break
                if len(head) < len(_GZIP_MAGIC) and filename.endswith(".gz"):
                    # Check the first bytes early: mirrors that lost a file tend to
                    # answer 200 with an HTML page, which need not be read to the end.
                    head += chunk[: len(_GZIP_MAGIC) - len(head)]
                    if not _GZIP_MAGIC.startswith(head):
                        raise _BadDownload(f"not gzip data (starts with {chunk[:24]!r})")
                digest.update(chunk)
                out.write(chunk)
                received += len(chunk)
                bar.update(len(chunk))
    if total is not None and received != total:
        raise _BadDownload(f"incomplete: received {received} of {total} bytes")
    got = digest.hexdigest()
    if got != sha256.lower():
        raise _BadDownload(f"sha256 mismatch: expected {sha256}, got {got} ({received} bytes)")


def download_file(filename, mirrors, folder, sha256, timeout=DEFAULT_TIMEOUT, verbose=1):
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

    Returns
    -------
    path : str
        ``folder/filename``, whose sha256 has been checked.

    Raises
    ------
    DownloadError
        If no mirror delivered the file; ``attempts`` lists every URL and reason.
    OSError
        If ``folder`` cannot be created or written to.
    """
    folder = os.fspath(folder)
    os.makedirs(folder, exist_ok=True)
    destination = os.path.join(folder, filename)
    attempts = []
    for mirror in mirrors:
        url = mirror_url(mirror, filename)
        # Hidden, unique and in the same folder, so the final rename is atomic.
        temporary = os.path.join(folder, f".{filename}.{os.getpid()}.{secrets.token_hex(4)}.part")
        # An unwritable folder is not the mirror's fault: let that OSError out.
        out = open(temporary, "xb")
        try:
            with out:
                _stream(url, out, sha256, timeout, verbose, filename)
            os.replace(temporary, destination)
            return destination
        except (_BadDownload, OSError, http.client.HTTPException, ValueError) as error:
            # URLError and timeouts are OSErrors; ValueError is urllib's "unknown url type".
            attempts.append((url, _describe_failure(error, timeout)))
        finally:
            if os.path.exists(temporary):
                os.remove(temporary)
    raise DownloadError(filename, attempts)
