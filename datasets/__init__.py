"""Where data comes from: MNIST and Fashion-MNIST, small synthetic sets, batching.

- :mod:`datasets.mnist_arrays`: ``load_mnist``, ``load_fashion_mnist``; :mod:`datasets.mnist`:
  their files (found under ``root`` / ``$BPROP_DATA`` / ``~/.cache/bprop``, the folder of
  :mod:`datasets.data_root`, and downloaded from mirrors if missing).
- :mod:`datasets.download`: one file from a list of mirrors, kept only if its sha256 matches
  (each attempt within a deadline, :mod:`datasets.deadline`).
- :mod:`datasets.idx`: the IDX file format, parsed (and its sha256 taken) once per process.
- :mod:`datasets.synthetic`: spiral, logic gates, moons, blobs.
- :mod:`datasets.batching`: ``MiniBatchIterator``, ``random_subset`` and ``train_val_split``.
- :mod:`datasets.bptt`: ``BPTTBatches``, a corpus as parallel streams for truncated BPTT.
- :mod:`datasets.labels`: ``one_hot``.
- :mod:`datasets.text`: ``Vocabulary``, characters to ids and back.
- :mod:`datasets.shakespeare`: ``load_tiny_shakespeare`` (found or downloaded like MNIST).
- :mod:`datasets.addition`: ``make_addition``, a generated sequence-to-sequence task.
"""

from bprop.datasets.augment import AugmentedImages
from bprop.datasets.batching import MiniBatchIterator, random_subset, train_val_split
from bprop.datasets.bptt import BPTTBatches
from bprop.datasets.windows import RandomWindows
from bprop.datasets.download import DownloadError, download_file
from bprop.datasets.idx import ChecksumError, clear_cache, parse_idx, read_idx
from bprop.datasets.labels import one_hot
from bprop.datasets.data_root import data_root
from bprop.datasets.mnist import (
    FASHION_MNIST_CLASSES,
    FASHION_MNIST_MIRRORS,
    MNIST_CLASSES,
    MNIST_MIRRORS,
    DatasetNotFoundError,
    class_names,
    dataset_dir,
    download_dataset,
)
from bprop.datasets.mnist_arrays import load_dataset, load_fashion_mnist, load_mnist
from bprop.datasets.addition import ADDITION_VOCAB, AdditionProblems, make_addition
from bprop.datasets.shakespeare import (
    TINY_SHAKESPEARE_MIRRORS,
    CharCorpus,
    CorpusNotFoundError,
    load_tiny_shakespeare,
)
from bprop.datasets.text import Vocabulary
from bprop.datasets.dates import DATE_FORMATS, DATES_VOCAB, DateProblems, make_dates, write_date
from bprop.datasets.words import WordCorpus, WordVocabulary, load_shakespeare_words, tokenize_words, words_corpus
from bprop.datasets.word2vec_data import create_contexts_target
from bprop.datasets.synthetic import LOGIC_GATES, make_blobs, make_logic_gate, make_moons, make_spiral

__all__ = [
    "AugmentedImages", "RandomWindows",
    "WordCorpus", "WordVocabulary", "load_shakespeare_words", "tokenize_words", "words_corpus",
    "create_contexts_target", "DATE_FORMATS", "DATES_VOCAB", "DateProblems", "make_dates", "write_date",
    "BPTTBatches",
    "ChecksumError",
    "DatasetNotFoundError",
    "DownloadError",
    "FASHION_MNIST_CLASSES",
    "FASHION_MNIST_MIRRORS",
    "LOGIC_GATES",
    "MNIST_CLASSES",
    "MNIST_MIRRORS",
    "MiniBatchIterator",
    "class_names",
    "clear_cache",
    "data_root",
    "dataset_dir",
    "download_dataset",
    "download_file",
    "load_dataset",
    "load_fashion_mnist",
    "load_mnist",
    "make_blobs",
    "make_logic_gate",
    "make_moons",
    "make_spiral",
    "one_hot",
    "parse_idx",
    "random_subset",
    "read_idx",
    "train_val_split",
    "ADDITION_VOCAB",
    "AdditionProblems",
    "CharCorpus",
    "CorpusNotFoundError",
    "TINY_SHAKESPEARE_MIRRORS",
    "Vocabulary",
    "load_tiny_shakespeare",
    "make_addition",
]
