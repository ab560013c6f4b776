"""MNIST and Fashion-MNIST: their files, where they live, and how to get them.

Both datasets are the four original gzip-compressed IDX files in one folder::

    <root>/mnist/train-images-idx3-ubyte.gz    <root>/fashion-mnist/(same four names)
    <root>/mnist/train-labels-idx1-ubyte.gz
    <root>/mnist/t10k-images-idx3-ubyte.gz
    <root>/mnist/t10k-labels-idx1-ubyte.gz

``root`` is the argument of that name, else the ``BPROP_DATA`` environment
variable, else ``~/.cache/bprop`` (:func:`bprop.datasets.data_root`). Missing files are
downloaded from the mirrors below (in order, each file checked against its sha256) unless
``download=False``. Files already there are checked against the same sha256 when first
read in a process (Fashion-MNIST's files in ``mnist/`` are refused, and named as what they
are); ``verify=False`` loads IDX files of one's own under these names. Reading them into
arrays is :mod:`datasets.mnist_arrays` (``load_mnist``, ``load_fashion_mnist``).
"""

from pathlib import Path

from bprop.datasets.data_root import ENV_VAR, data_root, data_root_and_source
from bprop.datasets.download import DEFAULT_DEADLINE, DEFAULT_TIMEOUT, DownloadError, download_file

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
TITLES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}
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
        title = TITLES[dataset]
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


def canonical_name(name):
    """``'mnist'`` or ``'fashion-mnist'`` for a name in any case, with ``_`` for ``-``;
    a ValueError for any other name."""
    key = str(name).strip().lower().replace("_", "-")
    if key not in DATASETS:
        raise ValueError(f"unknown dataset name {name!r}; expected one of {', '.join(DATASETS)}")
    return key


def dataset_dir(name, root=None):
    """The folder of one dataset: ``data_root(root) / name`` (``name`` as in ``DATASETS``)."""
    return data_root(root) / canonical_name(name)


def class_names(name):
    """The ten class names of ``'mnist'`` or ``'fashion-mnist'``, indexed by label."""
    return MNIST_CLASSES if canonical_name(name) == "mnist" else FASHION_MNIST_CLASSES


def default_mirrors(name):
    """The mirror list a download uses when none is given (read at call time)."""
    return MNIST_MIRRORS if canonical_name(name) == "mnist" else FASHION_MNIST_MIRRORS


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
    name = canonical_name(name)
    root_dir, source = data_root_and_source(root)
    folder = root_dir / name
    download_missing(name, folder, source, mirrors, timeout, verbose, deadline)
    return folder


def download_missing(name, folder, source, mirrors, timeout, verbose, deadline):
    """Download the files of dataset ``name`` missing from ``folder`` (``source``: where the
    root came from, for the message of a :class:`DatasetNotFoundError`)."""
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
