"""Text as word ids: lower-case word tokens, a vocabulary ordered by frequency, Tiny Shakespeare's words."""

import re
from collections import Counter
from typing import NamedTuple

import numpy as np

from bprop.layers.checks import check_int
from bprop.datasets.download import DEFAULT_DEADLINE, DEFAULT_TIMEOUT
from bprop.datasets.shakespeare import load_tiny_shakespeare

#: a word: letters, with apostrophes inside it ("king's", "o'er"); an apostrophe at either
#: end is a quotation mark or an elision ("'tis" -> "tis") and is dropped
WORD = re.compile(r"[a-z]+(?:'[a-z]+)*")


def tokenize_words(text):
    """The words of ``text``, lower-cased, in order: runs of letters with inner apostrophes.

    Punctuation, digits and the speakers' colons are separators: ``"KING RICHARD III:\\nO'er
    the land!"`` gives ``['king', 'richard', 'iii', "o'er", 'the', 'land']``.
    """
    if not isinstance(text, str):
        raise ValueError(f"tokenize_words: text must be a str, got {type(text).__name__}")
    return WORD.findall(text.lower())


class WordVocabulary:
    """A fixed list of words; the id of a word is its position, the most frequent first.

    ``WordVocabulary.from_words(words)`` orders the distinct words by count, most frequent
    first (ties alphabetically), so that ids ``0..k-1`` are the ``k`` most frequent words.

    Parameters
    ----------
    words : iterable of distinct non-empty strings, id 0 first.
    counts : iterable of ints, optional; how often each word occurs (kept as ``counts``).

    Attributes
    ----------
    words : tuple of str; ``index`` : dict ``{word: id}``; ``counts`` : (V,) int64 or None.
    """

    def __init__(self, words, counts=None):
        words = tuple(words)
        if not words:
            raise ValueError("WordVocabulary: needs at least one word")
        bad = [w for w in words if not (isinstance(w, str) and w)]
        if bad:
            raise ValueError(f"WordVocabulary: every entry must be a non-empty str, got {bad[0]!r}")
        if len(set(words)) != len(words):
            twice = next(w for w in words if words.count(w) > 1)
            raise ValueError(f"WordVocabulary: words must be distinct, {twice!r} occurs twice")
        if counts is not None:
            counts = np.asarray(counts, dtype=np.int64)
            if counts.shape != (len(words),):
                raise ValueError(f"WordVocabulary: counts must hold one count per word ({len(words)}), "
                                 f"got shape {counts.shape}")
        self.words, self.counts = words, counts
        self.index = {w: i for i, w in enumerate(words)}

    @classmethod
    def from_words(cls, words, min_count=1):
        """The vocabulary of the words occurring at least ``min_count`` times, most frequent first."""
        min_count = check_int("WordVocabulary", "min_count", min_count)
        counted = Counter(words)
        kept = sorted((w for w, c in counted.items() if c >= min_count), key=lambda w: (-counted[w], w))
        if not kept:
            raise ValueError(f"WordVocabulary: no word occurs {min_count} times or more "
                             f"({len(counted)} distinct words)")
        return cls(kept, [counted[w] for w in kept])

    def __len__(self):
        return len(self.words)

    def __contains__(self, word):
        return word in self.index

    def __repr__(self):
        return f"WordVocabulary({len(self)} words: {', '.join(self.words[:5])}{', ...' if len(self) > 5 else ''})"

    def encode(self, words):
        """Ids (int64, ``(len(words),)``) of a list of words; an unknown word is a ValueError naming it."""
        try:
            return np.array([self.index[w] for w in words], dtype=np.int64)
        except KeyError as err:
            raise ValueError(f"WordVocabulary.encode: {err.args[0]!r} is not in the vocabulary") from None

    def decode(self, ids):
        """The words of 1-D integer ``ids``, as a list of str."""
        ids = np.asarray(ids)
        if ids.ndim != 1 or ids.dtype.kind not in "iu":
            raise ValueError(f"WordVocabulary.decode: ids must be a 1-D integer array, got shape {ids.shape} "
                             f"and dtype {ids.dtype}")
        if ids.size and (ids.min() < 0 or ids.max() >= len(self)):
            bad = ids.min() if ids.min() < 0 else ids.max()
            raise ValueError(f"WordVocabulary.decode: id {bad} is outside [0, {len(self)})")
        return [self.words[i] for i in ids]


class WordCorpus(NamedTuple):
    """A text as word ids and its vocabulary."""

    #: (L,) int64, the text's words as ids (words below ``min_count`` left out)
    ids: np.ndarray
    #: the words, most frequent first, with their counts
    vocab: WordVocabulary


def words_corpus(words, min_count=1):
    """:class:`WordCorpus` of a list of ``words`` (tokens, e.g. from :func:`tokenize_words`);
    words occurring fewer than ``min_count`` times are dropped from the text (as word2vec.c
    drops them: their neighbours become each other's neighbours)."""
    if isinstance(words, str):
        raise ValueError("words_corpus: words must be a list of words, got a str (tokenize_words(text) "
                         "gives the list)")
    words = list(words)
    vocab = WordVocabulary.from_words(words, min_count)
    ids = np.array([vocab.index[w] for w in words if w in vocab.index], dtype=np.int64)
    return WordCorpus(ids, vocab)


def load_shakespeare_words(root=None, download=True, min_count=1, max_words=None, *, mirrors=None,
                           timeout=DEFAULT_TIMEOUT, verbose=1, verify=True, deadline=DEFAULT_DEADLINE):
    """Tiny Shakespeare as lower-case word ids: 203,836 words, 12,373 distinct (``min_count=1``).

    The text comes from :func:`bprop.datasets.load_tiny_shakespeare` (found under ``root``,
    else ``$BPROP_DATA``, else ``~/.cache/bprop``, and downloaded when missing with
    ``download``); ``mirrors``, ``timeout``, ``verbose``, ``verify`` and ``deadline`` go to it
    as they are. The whole text is one corpus (word vectors have no validation split), or its
    first ``max_words`` words; the vocabulary is that of the words kept.

    Returns
    -------
    :class:`WordCorpus` ``(ids, vocab)``.
    """
    max_words = check_int("load_shakespeare_words", "max_words", max_words, allow_none=True)
    chars = load_tiny_shakespeare(root, download, val_fraction=0.0, mirrors=mirrors, timeout=timeout,
                                  verbose=verbose, verify=verify, deadline=deadline)
    words = tokenize_words(chars.vocab.decode(chars.ids))
    return words_corpus(words[:max_words], min_count)
