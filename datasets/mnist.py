"""MNIST and Fashion-MNIST: where the files live, how to get them, how to load them.

Both datasets are the four original gzip-compressed IDX files in one folder::

    <root>/mnist/train-images-idx3-ubyte.gz    <root>/fashion-mnist/(same four names)
    <root>/mnist/train-labels-idx1-ubyte.gz
    <root>/mnist/t10k-images-idx3-ubyte.gz
    <root>/mnist/t10k-labels-idx1-ubyte.gz

``root`` is the argument of that name, else the ``BPROP_DATA`` environment
variable, else ``~/.cache/bprop``. Missing files are downloaded from the mirrors
below (in order, each file checked against its sha256) unless ``download=False``.
Files already there are checked against the same sha256 when first read in a
process (Fashion-MNIST's files in ``mnist/`` are refused, and named as what they
are); ``verify=False`` loads IDX files of one's own under these names.
"""

import os
from pathlib import Path

import numpy as np

from bprop.datasets.download import DEFAULT_DEADLINE, DEFAULT_TIMEOUT, DownloadError, download_file
from bprop.datasets.idx import IMAGES_MAGIC, LABELS_MAGIC, ChecksumError, read_idx
from bprop.datasets.labels import one_hot

ENV_VAR = "BPROP_DATA"
DEFAULT_ROOT = Path("~/.cache/bprop")

# The original yann.lecun.com site went away; these two copies are the ones
# torchvision and TensorFlow use. Reassign (or pass ``mirrors=``) to use others.
MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
# The Fashion-MNIST authors' own host, then their repository.
FASHION_MNIST_MIRRORS = (
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
)

TRAIN_IMAGES = "train-images-idx3-ubyte.gz"
TRAIN_LABELS = "train-labels-idx1-ubyte.gz"
TEST_IMAGES = "t10k-images-idx3-ubyte.gz"
TEST_LABELS = "t10k-labels-idx1-ubyte.gz"
FILENAMES = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)

# sha256 of the original files, from shared/data/README.md.
SHA256 = {
    "mnist": {
        TRAIN_IMAGES: "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        TRAIN_LABELS: "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        TEST_IMAGES: "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        TEST_LABELS: "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    },
    "fashion-mnist": {
        TRAIN_IMAGES: "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        TRAIN_LABELS: "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        TEST_IMAGES: "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        TEST_LABELS: "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    },
}

MNIST_CLASSES = tuple(str(digit) for digit in range(10))
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)

DATASETS = ("mnist", "fashion-mnist")
_TITLES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}
N_CLASSES = 10


class DatasetNotFoundError(RuntimeError):
    """A dataset's files are neither on disk nor downloadable.

    Attributes
    ----------
    dataset : str
        ``'mnist'`` or ``'fashion-mnist'``.
    folder : pathlib.Path
        The folder searched (and downloaded into).
    missing : list of str
        File names not found there.
    attempts : list of (str, str)
        Every URL tried and why it failed; empty if nothing was downloaded.
    """

    def __init__(self, dataset, folder, missing, attempts=(), reason=None, root_source=""):
        self.dataset = dataset
        self.folder = Path(folder)
        self.missing = list(missing)
        self.attempts = list(attempts)
        title = _TITLES[dataset]
        lines = [
            f"{title} not found: {', '.join(self.missing)} missing from {self.folder}"
            + (f" ({root_source})" if root_source else "")
        ]
        if reason:
            lines.append(reason)
        if self.attempts:
            lines.append("Tried to download:")
            lines += [f"  {url}\n    -> {why}" for url, why in self.attempts]
        lines += [
            "To use files you already have, put the four original files",
            f"  {', '.join(FILENAMES)}",
            f"in {self.folder}, or set the {ENV_VAR} environment variable (or pass root=...) "
            f"to a folder holding {dataset}/ with them.",
        ]
        super().__init__("\n".join(lines))


def _canonical_name(name):
    key = str(name).strip().lower().replace("_", "-")
    if key not in DATASETS:
        raise ValueError(f"unknown dataset name {name!r}; expected one of {', '.join(DATASETS)}")
    return key


def _root_and_source(root):
    """Return the data root and, in words, where it came from (for error messages)."""
    if root is not None:
        return Path(root).expanduser(), "from the root argument"
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser(), f"from ${ENV_VAR}"
    return DEFAULT_ROOT.expanduser(), f"default; ${ENV_VAR} is not set"


def data_root(root=None):
    """The folder holding ``mnist/`` and ``fashion-mnist/``.

    ``root`` if given, else ``$BPROP_DATA``, else ``~/.cache/bprop``.
    """
    return _root_and_source(root)[0]


def dataset_dir(name, root=None):
    """The folder of one dataset: ``data_root(root) / name`` (``name`` as in ``DATASETS``)."""
    return data_root(root) / _canonical_name(name)


def class_names(name):
    """The ten class names of ``'mnist'`` or ``'fashion-mnist'``, indexed by label."""
    return MNIST_CLASSES if _canonical_name(name) == "mnist" else FASHION_MNIST_CLASSES


def default_mirrors(name):
    """The mirror list a download uses when none is given (read at call time)."""
    return MNIST_MIRRORS if _canonical_name(name) == "mnist" else FASHION_MNIST_MIRRORS


def download_dataset(name, root=None, mirrors=None, timeout=DEFAULT_TIMEOUT, verbose=1,
                     deadline=DEFAULT_DEADLINE):
    """Download whichever of a dataset's four files are missing; return its folder.

    Parameters
    ----------
    name : {'mnist', 'fashion-mnist'}
    root : str or os.PathLike, optional
        See :func:`data_root`.
    mirrors : sequence of str, optional
        Base URLs tried in order for every file; default :func:`default_mirrors`.
    timeout : float
        Seconds to wait for a connection or for each read.
    verbose : int
        0 silent; 1 or more a progress bar when stderr is a terminal.
    deadline : float
        Seconds one mirror gets to deliver a whole file before the next is tried.

    Returns
    -------
    folder : pathlib.Path

    Raises
    ------
    DatasetNotFoundError
        If a missing file could be had from no mirror, or could not be written.
    """
    name = _canonical_name(name)
    root_dir, source = _root_and_source(root)
    folder = root_dir / name
    _download_missing(name, folder, source, mirrors, timeout, verbose, deadline)
    return folder


def _download_missing(name, folder, source, mirrors, timeout, verbose, deadline):
    missing = [f for f in FILENAMES if not (folder / f).is_file()]
    if not missing:
        return
    if mirrors is None:
        mirrors = default_mirrors(name)
    elif isinstance(mirrors, str):
        mirrors = (mirrors,)
    mirrors = tuple(mirrors)
    if not mirrors:
        raise DatasetNotFoundError(name, folder, missing, reason="No mirrors to download from.",
                                   root_source=source)
    for filename in missing:
        try:
            download_file(filename, mirrors, folder, SHA256[name][filename], timeout, verbose,
                          deadline)
        except DownloadError as e:
            still_missing = [f for f in FILENAMES if not (folder / f).is_file()]
            raise DatasetNotFoundError(
                name, folder, still_missing, e.attempts,
                reason=f"No mirror delivered an intact {filename}.",
                root_source=source,
            ) from None
        except OSError as e:
            raise DatasetNotFoundError(
                name, folder, missing, reason=f"Cannot download into {folder}: {e}",
                root_source=source,
            ) from e


def _read_checked(name, folder, filename, magic, verify):
    """``read_idx`` of one of dataset ``name``'s files, refused unless it is the original."""
    try:
        return read_idx(folder / filename, magic, SHA256[name][filename] if verify else None)
    except ChecksumError as e:
        title = _TITLES[name]
        known = [(other, f) for other, table in SHA256.items() for f, digest in table.items()
                 if digest == e.actual]
        if known:
            other, f = known[0]
            what = f"it is {_TITLES[other]}'s {f}"
            if other != name:
                what += f", which belongs in {folder.parent / other}"
        else:
            what = f"it matches no file of {' or '.join(_TITLES.values())}"
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
    name = _canonical_name(name)
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise ValueError(f"dtype must be a floating type, got {dtype}")
    root_dir, source = _root_and_source(root)
    folder = root_dir / name
    missing = [f for f in FILENAMES if not (folder / f).is_file()]
    if missing:
        if not download:
            raise DatasetNotFoundError(name, folder, missing,
                                       reason="Not downloading, because download=False.",
                                       root_source=source)
        _download_missing(name, folder, source, mirrors, timeout, verbose, deadline)
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
