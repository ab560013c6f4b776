import numpy as np
import pytest

from bprop.datasets.words import WordVocabulary, load_shakespeare_words, tokenize_words, words_corpus


def test_tokenize_words_lower_cases_and_keeps_inner_apostrophes_only():
    text = "KING RICHARD III:\nO'er the land, 'tis the King's -- yea! 3 times.\n"
    assert tokenize_words(text) == ["king", "richard", "iii", "o'er", "the", "land", "tis", "the", "king's",
                                    "yea", "times"]


def test_tokenize_words_of_text_without_words_is_empty():
    assert tokenize_words(" -- 42, !\n") == []


def test_tokenize_words_rejects_bytes():
    with pytest.raises(ValueError, match="tokenize_words: text must be a str, got bytes"):
        tokenize_words(b"to be")


def test_word_vocabulary_orders_by_count_then_alphabetically():
    vocab = WordVocabulary.from_words("b a c a b a d".split())
    assert vocab.words == ("a", "b", "c", "d")
    np.testing.assert_array_equal(vocab.counts, [3, 2, 1, 1])
    assert vocab.index["c"] == 2 and "d" in vocab and "e" not in vocab and len(vocab) == 4


def test_word_vocabulary_encode_and_decode_round_trip():
    vocab = WordVocabulary(["to", "be", "or"])
    ids = vocab.encode(["or", "to", "be", "to"])
    np.testing.assert_array_equal(ids, [2, 0, 1, 0])
    assert ids.dtype == np.int64
    assert vocab.decode(ids) == ["or", "to", "be", "to"]
    assert repr(vocab) == "WordVocabulary(3 words: to, be, or)"


@pytest.mark.parametrize("build, message", [
    (lambda: WordVocabulary([]), "needs at least one word"),
    (lambda: WordVocabulary(["a", ""]), "every entry must be a non-empty str, got ''"),
    (lambda: WordVocabulary(["a", "b", "a"]), "words must be distinct, 'a' occurs twice"),
    (lambda: WordVocabulary(["a", "b"], counts=[1]), r"counts must hold one count per word \(2\), got shape \(1,\)"),
    (lambda: WordVocabulary.from_words(["a", "b"], min_count=2), "no word occurs 2 times or more"),
    (lambda: WordVocabulary.from_words(["a"], min_count=0), "min_count must be an integer >= 1, got 0"),
    (lambda: WordVocabulary(["a"]).encode(["b"]), "WordVocabulary.encode: 'b' is not in the vocabulary"),
    (lambda: WordVocabulary(["a"]).decode(np.array([1])), r"WordVocabulary.decode: id 1 is outside \[0, 1\)"),
    (lambda: WordVocabulary(["a"]).decode(np.array([0.0])), "ids must be a 1-D integer array"),
])
def test_word_vocabulary_rejects_bad_input(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_words_corpus_drops_the_rare_words_from_the_text():
    corpus = words_corpus(tokenize_words("a b a c a b d"), min_count=2)
    assert corpus.vocab.words == ("a", "b")
    np.testing.assert_array_equal(corpus.ids, [0, 1, 0, 0, 1])  # c and d left out


def test_words_corpus_refuses_a_string():
    with pytest.raises(ValueError, match="words_corpus: words must be a list of words, got a str"):
        words_corpus("to be or not")


def test_load_shakespeare_words_counts_its_words(shakespeare_root):
    corpus = load_shakespeare_words(shakespeare_root, download=False)
    assert len(corpus.ids) == 203_836 and len(corpus.vocab) == 12_373
    assert corpus.vocab.words[:4] == ("the", "and", "to", "i")
    assert corpus.vocab.decode(corpus.ids[:4]) == ["first", "citizen", "before", "we"]
    np.testing.assert_array_equal(np.bincount(corpus.ids), corpus.vocab.counts)


def test_load_shakespeare_words_min_count_and_max_words(shakespeare_root):
    rare_dropped = load_shakespeare_words(shakespeare_root, download=False, min_count=3)
    assert len(rare_dropped.vocab) == 4983 and rare_dropped.vocab.counts.min() == 3
    first = load_shakespeare_words(shakespeare_root, download=False, max_words=100)
    assert len(first.ids) == 100 and first.vocab.counts.sum() == 100
