"""What the character-level language-model scripts share: the text they read and the
entropies that put their losses in perspective (char_lm.py, gpt_char.py)."""

import sys

import numpy as np

from bprop.datasets import DatasetNotFoundError, Vocabulary, load_tiny_shakespeare

#: the training and validation characters kept under --quick
QUICK_CHARS = (20000, 5000)


def load_corpus(args, quick_chars=QUICK_CHARS):
    """``(train ids, val ids, vocabulary, name)`` of ``--text`` (its first 90% to train on) or of
    Tiny Shakespeare, cut to ``quick_chars`` (training, validation) under ``--quick`` and to
    ``--train-chars`` otherwise; or exit with the loader's explanation."""
    if args.text is None:
        try:
            corpus = load_tiny_shakespeare()
        except DatasetNotFoundError as err:
            sys.exit(f"error: {err}")
        train, val, vocab, name = corpus.train, corpus.val, corpus.vocab, "Tiny Shakespeare"
    else:
        try:
            with open(args.text, encoding="utf-8") as f:
                text = f.read()
        except (OSError, UnicodeDecodeError) as err:
            sys.exit(f"error: cannot read --text {args.text}: {err}")
        vocab = Vocabulary.from_text(text)
        ids = vocab.encode(text)
        n_train = int(0.9 * len(ids))
        train, val, name = ids[:n_train], ids[n_train:], args.text
    if args.quick:
        train, val = train[:quick_chars[0]], val[:quick_chars[1]]
    elif args.train_chars:
        train = train[:args.train_chars]
    return train, val, vocab, name


def ngram_baselines(ids, vocab_size):
    """Entropies (nats) of the unigram and bigram distributions of ``ids``: the loss of a model
    that knows only each character's frequency, and of one that knows only the previous
    character, on the text they were counted on."""
    counts = np.bincount(ids, minlength=vocab_size).astype(np.float64)
    p = counts[counts > 0] / counts.sum()
    unigram = float(-np.sum(p * np.log(p)))
    pairs = np.zeros((vocab_size, vocab_size))
    np.add.at(pairs, (ids[:-1], ids[1:]), 1.0)
    rows = pairs.sum(axis=1, keepdims=True)
    seen = pairs > 0
    conditional = pairs[seen] / np.broadcast_to(rows, pairs.shape)[seen]
    bigram = float(-np.sum(pairs[seen] * np.log(conditional)) / pairs.sum())
    return {"unigram": unigram, "bigram": bigram}
