"""Tiny Shakespeare: the character-level language-modelling corpus of char-rnn.

One plain-text file, ``<root>/tinyshakespeare/input.txt`` (1,115,394 characters, 65
distinct), where ``root`` is the argument of that name, else ``$BPROP_DATA``, else
``~/.cache/bprop`` (as for MNIST, :func:`bprop.datasets.data_root`). A missing file is
downloaded from the mirrors, kept only if its sha256 matches, by the same
:func:`bprop.datasets.download_file` that fetches MNIST.
"""

import hashlib
from pathlib import Path
from typing import NamedTuple

import numpy as np

from bprop.datasets.download import DEFAULT_DEADLINE, DEFAULT_TIMEOUT, DownloadError, download_file
from bprop.datasets.idx import ChecksumError
from bprop.datasets.data_root import ENV_VAR, data_root_and_source
from bprop.datasets.mnist import DatasetNotFoundError
from bprop.datasets.text import Vocabulary

#: the canonical copy, in Andrej Karpathy's char-rnn repository
TINY_SHAKESPEARE_MIRRORS = (
    "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/",
)
FOLDER = "tinyshakespeare"
FILENAME = "input.txt"
# from shared/data/README.md
SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"


class CorpusNotFoundError(DatasetNotFoundError):
    """The corpus file is neither on disk nor downloadable.

    A :class:`bprop.datasets.DatasetNotFoundError`, with the same attributes:
    ``dataset``, ``folder``, ``missing`` and ``attempts`` (every URL tried and why it failed).
    """

    def __init__(self, folder, attempts=(), reason=None, root_source=""):
        self.dataset = FOLDER
        self.folder = Path(folder)
        self.missing = [FILENAME]
        self.attempts = list(attempts)
        lines = [f"Tiny Shakespeare not found: {FILENAME} missing from {self.folder}"
                 + (f" ({root_source})" if root_source else "")]
        if reason:
            lines.append(reason)
        if self.attempts:
            lines.append("Tried to download:")
            lines += [f"  {url}\n    -> {why}" for url, why in self.attempts]
        lines.append(f"To use a copy you already have, put {FILENAME} in {self.folder}, or set the "
                     f"{ENV_VAR} environment variable (or pass root=...) to a folder holding {FOLDER}/{FILENAME}.")
        RuntimeError.__init__(self, "\n".join(lines))


class CharCorpus(NamedTuple):
    """A text as character ids, its vocabulary, and a split into training and validation ids."""

    #: (L,) int64, the whole text as ids
    ids: np.ndarray
    #: the characters of the text in sorted order; ``vocab.decode(ids)`` is the text
    vocab: Vocabulary
    #: ids[:n_train], a view
    train: np.ndarray
    #: ids[n_train:], a view: the last ``val_fraction`` of the text
    val: np.ndarray


def load_tiny_shakespeare(root=None, download=True, val_fraction=0.1, *, mirrors=None,
                          timeout=DEFAULT_TIMEOUT, verbose=1, verify=True, deadline=DEFAULT_DEADLINE):
    """Load Tiny Shakespeare as character ids, downloading it if it is missing.

    Parameters
    ----------
    root : str or os.PathLike, optional
        Folder holding ``tinyshakespeare/input.txt``; default ``$BPROP_DATA``, else
        ``~/.cache/bprop``.
    download : bool
        Download the file if it is missing.
    val_fraction : float in [0, 1)
        The last part of the text kept for validation: ``n_train = floor((1 - val_fraction) * L)``.
        The text is not shuffled: validation is text the model has never seen, as in
        char-rnn and nanoGPT (with the default 0.1: 1,003,854 and 111,540 characters).
    mirrors : sequence of str, optional
        Base URLs to download from, in order; default ``TINY_SHAKESPEARE_MIRRORS``.
    timeout : float
        Seconds to wait for a connection or for each read.
    verbose : int
        0 silent; 1 or more a progress bar while downloading, on a terminal only.
    verify : bool
        True: the file must be the original (its sha256 is checked). False: load
        whatever UTF-8 text ``input.txt`` holds, with a vocabulary made from it.
    deadline : float
        Seconds one mirror gets to deliver the whole file before the next is tried.

    Returns
    -------
    CharCorpus ``(ids, vocab, train, val)``: the text's ids (int64), its vocabulary in
    sorted order (65 characters), and the two parts of ``ids``.

    Raises
    ------
    CorpusNotFoundError (a DatasetNotFoundError)
        If the file is missing and cannot be downloaded.
    ChecksumError
        A ValueError: with ``verify``, the file on disk is not the original.
    ValueError
        For a ``val_fraction`` outside [0, 1), or a file that is not UTF-8 text.
    """
    val_fraction = float(val_fraction)
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"load_tiny_shakespeare: val_fraction must be in [0, 1), got {val_fraction}")
    root_dir, source = data_root_and_source(root)
    folder = root_dir / FOLDER
    path = folder / FILENAME
    if not path.is_file():
        if not download:
            raise CorpusNotFoundError(folder, reason="Not downloading, because download=False.",
                                      root_source=source)
        if mirrors is None:
            mirrors = TINY_SHAKESPEARE_MIRRORS
        elif isinstance(mirrors, str):
            mirrors = (mirrors,)
        try:
            download_file(FILENAME, tuple(mirrors), folder, SHA256, timeout=timeout, verbose=verbose,
                          deadline=deadline)
        except DownloadError as e:
            raise CorpusNotFoundError(folder, e.attempts, reason=f"No mirror delivered an intact {FILENAME}.",
                                      root_source=source) from None
        except OSError as e:
            raise CorpusNotFoundError(folder, reason=f"Cannot download into {folder}: {e}",
                                      root_source=source) from e
    data = path.read_bytes()
    if verify:
        digest = hashlib.sha256(data).hexdigest()
        if digest != SHA256:
            raise ChecksumError(
                str(path), SHA256, digest,
                f"{path}: not the original Tiny Shakespeare (sha256 {digest}, expected {SHA256}, "
                f"{len(data)} bytes). To load a text of your own, pass verify=False.",
            )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: not UTF-8 text ({e})") from None
    if not text:
        raise ValueError(f"{path}: the file is empty")
    vocab = Vocabulary.from_text(text)
    ids = vocab.encode(text)
    n_train = int(len(ids) * (1.0 - val_fraction))
    return CharCorpus(ids, vocab, ids[:n_train], ids[n_train:])
