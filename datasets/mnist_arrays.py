"""MNIST and Fashion-MNIST as NumPy arrays: the four files read, checked and converted.

:func:`load_dataset` (and :func:`load_mnist`, :func:`load_fashion_mnist`) finds the files
as :mod:`datasets.mnist` says, downloads the missing ones, reads each with
:func:`~bprop.datasets.idx.read_idx` (checked against its sha256 when first read in a
process), checks that images and labels belong together, and converts them: pixels
scaled to [0, 1], images flat or not, labels as integers or one-hot.
"""

import numpy as np

from bprop.datasets.data_root import data_root_and_source
from bprop.datasets.download import DEFAULT_DEADLINE, DEFAULT_TIMEOUT
from bprop.datasets.idx import IMAGES_MAGIC, LABELS_MAGIC, ChecksumError, read_idx
from bprop.datasets.labels import one_hot
from bprop.datasets.mnist import (FILENAMES, N_CLASSES, SHA256, TEST_IMAGES, TEST_LABELS, TITLES, TRAIN_IMAGES,
                                  TRAIN_LABELS, DatasetNotFoundError, canonical_name, download_missing)


def _read_checked(name, folder, filename, magic, verify):
    """``read_idx`` of one of dataset ``name``'s files, refused unless it is the original."""
    try:
        return read_idx(folder / filename, magic, SHA256[name][filename] if verify else None)
    except ChecksumError as e:
        title = TITLES[name]
        known = [(other, f) for other, table in SHA256.items() for f, digest in table.items()
                 if digest == e.actual]
        if known:
            other, f = known[0]
            what = f"it is {TITLES[other]}'s {f}"
            if other != name:
                what += f", which belongs in {folder.parent / other}"
        else:
            what = f"it matches no file of {' or '.join(TITLES.values())}"
        raise ChecksumError(
            e.path, e.expected, e.actual,
            f"{e.path}: not the original {title} {filename} (sha256 {e.actual}, expected "
            f"{e.expected}): {what}. To load IDX files of your own, pass verify=False.",
        ) from None


def _load_split(name, folder, images_name, labels_name, verify):
    """Read one split's images and labels and check they belong together."""
    images = _read_checked(name, folder, images_name, IMAGES_MAGIC, verify)
    labels = _read_checked(name, folder, labels_name, LABELS_MAGIC, verify)
    if len(images) != len(labels):
        raise ValueError(
            f"{folder}: {images_name} holds {len(images)} images but {labels_name} "
            f"{len(labels)} labels"
        )
    if len(labels) and labels.max() >= N_CLASSES:
        raise ValueError(
            f"{folder / labels_name}: label {int(labels.max())} is outside 0..{N_CLASSES - 1}"
        )
    return images, labels


def _convert(images, labels, normalize, flatten, one_hot_label, dtype):
    n = len(images)
    images = images.reshape(n, -1) if flatten else images.reshape(n, 1, *images.shape[1:])
    if normalize:
        x = np.empty(images.shape, dtype=dtype)
        # Division (not a multiply by 1/255) is correctly rounded and gives 255 -> 1.0
        # exactly; done in ``dtype`` directly, with no float64 intermediate.
        np.divide(images, dtype.type(255), out=x, dtype=dtype)
    else:
        x = images.copy()  # the cached array is read-only and shared
    t = one_hot(labels, N_CLASSES, dtype=dtype) if one_hot_label else labels.astype(np.int64)
    return x, t


def load_dataset(name, normalize=True, flatten=True, one_hot_label=False, dtype=np.float32,
                 root=None, download=True, *, mirrors=None, timeout=DEFAULT_TIMEOUT, verbose=1,
                 verify=True, deadline=DEFAULT_DEADLINE):
    """Load MNIST or Fashion-MNIST as NumPy arrays.

    Parameters
    ----------
    name : {'mnist', 'fashion-mnist'}
    normalize : bool
        True: pixels ``x / 255`` in [0, 1] as ``dtype``. False: uint8 0..255.
    flatten : bool
        True: images ``(N, 784)``. False: ``(N, 1, 28, 28)``.
    one_hot_label : bool
        True: labels ``(N, 10)`` one-hot in ``dtype``. False: int64 ``(N,)``.
    dtype : floating dtype
        Of normalised images and one-hot labels.
    root : str or os.PathLike, optional
        Folder holding ``mnist/`` and ``fashion-mnist/``; default ``$BPROP_DATA``,
        else ``~/.cache/bprop``.
    download : bool
        Download missing files (see :func:`download_dataset`).
    mirrors : sequence of str, optional
        Base URLs to download from, in order; default :func:`default_mirrors`.
    timeout : float
        Seconds to wait for a connection or for each read.
    verbose : int
        0 silent; 1 or more a progress bar while downloading, on a terminal only.
    verify : bool
        True: every file must be the original (its sha256 is checked once per file
        and process). False: load whatever IDX files have the four names.
    deadline : float
        Seconds one mirror gets to deliver a whole file before the next is tried.

    Returns
    -------
    (x_train, t_train), (x_test, t_test)
        x : (60000, 784) / (10000, 784), or (N, 1, 28, 28) unflattened.
        t : (N,) int64 or (N, 10) one-hot.
        Fresh arrays the caller may modify; the parsed files stay cached in memory.

    Raises
    ------
    ValueError
        For an unknown ``name`` or a non-floating ``dtype``, or a corrupt file
        (the message names the file and the problem).
    ChecksumError
        A ValueError: with ``verify``, a file is not the original; the message names
        it and, if it is another known file (Fashion-MNIST's in ``mnist/``), which.
    DatasetNotFoundError
        If the files are missing and cannot be downloaded.
    """
    name = canonical_name(name)
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise ValueError(f"dtype must be a floating type, got {dtype}")
    root_dir, source = data_root_and_source(root)
    folder = root_dir / name
    missing = [f for f in FILENAMES if not (folder / f).is_file()]
    if missing:
        if not download:
            raise DatasetNotFoundError(name, folder, missing,
                                       reason="Not downloading, because download=False.",
                                       root_source=source)
        download_missing(name, folder, source, mirrors, timeout, verbose, deadline)
    splits = []
    for images_name, labels_name in ((TRAIN_IMAGES, TRAIN_LABELS), (TEST_IMAGES, TEST_LABELS)):
        images, labels = _load_split(name, folder, images_name, labels_name, verify)
        splits.append(_convert(images, labels, normalize, flatten, one_hot_label, dtype))
    return tuple(splits)


def load_mnist(normalize=True, flatten=True, one_hot_label=False, dtype=np.float32,
               root=None, download=True, *, mirrors=None, timeout=DEFAULT_TIMEOUT, verbose=1,
               verify=True, deadline=DEFAULT_DEADLINE):
    """Load MNIST: handwritten digits 0-9, 28x28 grayscale, 60000 train / 10000 test.

    Same parameters and return value as :func:`load_dataset`. Class names: ``MNIST_CLASSES``.
    """
    return load_dataset("mnist", normalize, flatten, one_hot_label, dtype, root, download,
                        mirrors=mirrors, timeout=timeout, verbose=verbose, verify=verify,
                        deadline=deadline)


def load_fashion_mnist(normalize=True, flatten=True, one_hot_label=False, dtype=np.float32,
                       root=None, download=True, *, mirrors=None, timeout=DEFAULT_TIMEOUT,
                       verbose=1, verify=True, deadline=DEFAULT_DEADLINE):
    """Load Fashion-MNIST: Zalando articles, 28x28 grayscale, 60000 train / 10000 test.

    Same parameters and return value as :func:`load_dataset`.
    Class names: ``FASHION_MNIST_CLASSES``.
    """
    return load_dataset("fashion-mnist", normalize, flatten, one_hot_label, dtype, root,
                        download, mirrors=mirrors, timeout=timeout, verbose=verbose,
                        verify=verify, deadline=deadline)
