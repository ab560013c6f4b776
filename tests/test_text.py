import numpy as np
import pytest

from bprop.datasets import Vocabulary


def test_vocabulary_from_text_is_sorted_and_round_trips():
    vocab = Vocabulary.from_text("hello world\n")
    assert vocab.chars == ("\n", " ", "d", "e", "h", "l", "o", "r", "w")
    ids = vocab.encode("hello world\n")
    assert ids.dtype == np.int64
    np.testing.assert_array_equal(ids[:5], [4, 3, 5, 5, 6])
    assert vocab.decode(ids) == "hello world\n"
    assert len(vocab) == 9 and vocab.index["w"] == 8


def test_vocabulary_keeps_the_given_order():
    vocab = Vocabulary("zay")
    np.testing.assert_array_equal(vocab.encode("yaz"), [2, 1, 0])


def test_vocabulary_handles_characters_beyond_ascii():
    vocab = Vocabulary.from_text("naïve café ☃")
    assert vocab.decode(vocab.encode("☃ café")) == "☃ café"


def test_vocabulary_decodes_rows_of_a_2d_array():
    vocab = Vocabulary("ab ")
    assert vocab.decode(np.array([[0, 1, 2], [1, 1, 0]])) == ["ab ", "bba"]
    assert vocab.decode(np.array([], dtype=np.int64)) == ""


def test_vocabulary_encode_names_an_unknown_character_and_its_position():
    with pytest.raises(ValueError, match="character 'x' at position 2 is not in the vocabulary"):
        Vocabulary("ab").encode("abxa")


def test_vocabulary_decode_rejects_out_of_range_and_float_ids():
    vocab = Vocabulary("ab")
    with pytest.raises(ValueError, match=r"id 2 is outside \[0, 2\)"):
        vocab.decode(np.array([0, 2]))
    with pytest.raises(ValueError, match="ids must be integers"):
        vocab.decode(np.array([0.0]))


def test_vocabulary_rejects_repeated_empty_or_long_entries():
    with pytest.raises(ValueError, match="'a' occurs twice"):
        Vocabulary("aba")
    with pytest.raises(ValueError, match="at least one character"):
        Vocabulary("")
    with pytest.raises(ValueError, match="must be one character, got 'ab'"):
        Vocabulary(["ab", "c"])


def test_vocabulary_equality_and_repr():
    assert Vocabulary("ab") == Vocabulary.from_text("ba")
    assert Vocabulary("ab") != Vocabulary("ba")
    assert repr(Vocabulary("ab")) == "Vocabulary(2 characters: 'ab')"
