"""load_tiny_shakespeare: the real corpus from $BPROP_DATA, and downloads from a local server.

Downloads go to the local mirror server of ``test_datasets.py`` on 127.0.0.1 (its
``server`` fixture, imported below); no test needs the internet. The real-file tests
skip when ``$BPROP_DATA`` lacks the corpus, except under CI (``$CI`` set), where they fail.
"""

import hashlib
import os
from pathlib import Path

import pytest

from bprop import datasets
from bprop.datasets import shakespeare
from test_datasets import refused_url, server  # noqa: F401  (fixtures)

N_CHARS = 1_115_394


@pytest.fixture
def real_text():
    """The bytes of the real corpus from $BPROP_DATA (skips, or fails under CI, if absent)."""
    root = os.environ.get("BPROP_DATA")
    path = Path(root) / "tinyshakespeare" / "input.txt" if root else None
    if path is None or not path.is_file():
        why = f"tinyshakespeare/input.txt not found (BPROP_DATA={root!r})"
        if os.environ.get("CI"):
            pytest.fail(f"{why}; CI must provide it through BPROP_DATA")
        pytest.skip(why)
    return path.read_bytes()


def write_corpus(root, text):
    folder = Path(root) / "tinyshakespeare"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "input.txt").write_text(text, encoding="utf-8", newline="")
    return root


def test_real_corpus_ids_vocabulary_and_split(real_text):
    corpus = datasets.load_tiny_shakespeare(download=False)
    assert hashlib.sha256(real_text).hexdigest() == shakespeare.SHA256
    assert corpus.ids.shape == (N_CHARS,) and corpus.ids.dtype.kind == "i"
    assert len(corpus.vocab) == 65
    assert corpus.vocab.chars == tuple(sorted(set(real_text.decode("utf-8"))))
    assert (len(corpus.train), len(corpus.val)) == (1_003_854, 111_540)
    assert corpus.ids.min() == 0 and corpus.ids.max() == 64
    text = real_text.decode("utf-8")
    assert corpus.vocab.decode(corpus.train[:14]) == "First Citizen:"
    assert corpus.vocab.decode(corpus.val) == text[1_003_854:]
    assert corpus.vocab.decode(corpus.ids) == text


def test_corpus_parts_are_the_text_split_at_the_last_val_fraction(tmp_path):
    write_corpus(tmp_path, "abcdefghij" * 3)
    corpus = datasets.load_tiny_shakespeare(root=tmp_path, download=False, val_fraction=0.2, verify=False)
    assert (len(corpus.train), len(corpus.val)) == (24, 6)
    assert corpus.vocab.decode(corpus.val) == "efghij"
    assert corpus.vocab.chars == tuple("abcdefghij")
    whole = datasets.load_tiny_shakespeare(root=tmp_path, download=False, val_fraction=0.0, verify=False)
    assert len(whole.val) == 0 and len(whole.train) == 30


def test_corpus_is_read_byte_for_byte_keeping_carriage_returns(tmp_path):
    write_corpus(tmp_path, "a\r\nb\n")
    corpus = datasets.load_tiny_shakespeare(root=tmp_path, download=False, verify=False)
    assert corpus.vocab.decode(corpus.ids) == "a\r\nb\n"


def test_a_file_that_is_not_the_original_is_refused_with_verify(tmp_path):
    write_corpus(tmp_path, "To be, or not to be")
    with pytest.raises(datasets.ChecksumError, match="not the original Tiny Shakespeare.*verify=False"):
        datasets.load_tiny_shakespeare(root=tmp_path, download=False)


def test_reads_root_from_bprop_data(tmp_path, monkeypatch):
    write_corpus(tmp_path, "xyz")
    monkeypatch.setenv("BPROP_DATA", str(tmp_path))
    assert datasets.load_tiny_shakespeare(download=False, verify=False).vocab.chars == ("x", "y", "z")


def test_missing_file_without_download_says_where_and_what_to_do(tmp_path):
    with pytest.raises(datasets.DatasetNotFoundError) as info:
        datasets.load_tiny_shakespeare(root=tmp_path, download=False)
    message = str(info.value)
    assert "input.txt missing from" in message and str(tmp_path / "tinyshakespeare") in message
    assert "download=False" in message and "BPROP_DATA" in message
    assert isinstance(info.value, datasets.CorpusNotFoundError)
    assert info.value.missing == ["input.txt"] and info.value.attempts == []


def test_downloads_from_the_first_mirror_that_serves_the_original(server, real_text, tmp_path):  # noqa: F811
    server.files["input.txt"] = real_text
    mirrors = [server.url("missing"), server.url("wrong"), server.url("good")]
    corpus = datasets.load_tiny_shakespeare(root=tmp_path, mirrors=mirrors, timeout=2, verbose=0)
    assert len(corpus.ids) == N_CHARS and len(corpus.vocab) == 65
    folder = tmp_path / "tinyshakespeare"
    assert sorted(p.name for p in folder.iterdir()) == ["input.txt"]  # no temporary file left
    assert (folder / "input.txt").read_bytes() == real_text
    # the second call reads the file and does not download again
    server.files.clear()
    assert len(datasets.load_tiny_shakespeare(root=tmp_path, mirrors=mirrors, timeout=2, verbose=0).ids) == N_CHARS


def test_download_that_no_mirror_can_deliver_lists_every_attempt(server, refused_url, tmp_path):  # noqa: F811
    server.files["input.txt"] = b"not Shakespeare at all"  # wrong sha256
    mirrors = [server.url("good"), server.url("truncated"), refused_url]
    with pytest.raises(datasets.CorpusNotFoundError) as info:
        datasets.load_tiny_shakespeare(root=tmp_path, mirrors=mirrors, timeout=2, verbose=0)
    attempts = info.value.attempts
    assert [url for url, _ in attempts] == [m + "input.txt" for m in mirrors]
    assert "sha256 mismatch" in attempts[0][1]
    assert "No mirror delivered an intact input.txt" in str(info.value)
    folder = tmp_path / "tinyshakespeare"
    assert not folder.exists() or not any(folder.iterdir())


def test_default_mirror_is_the_canonical_char_rnn_file():
    (mirror,) = datasets.TINY_SHAKESPEARE_MIRRORS
    assert mirror + "input.txt" == (
        "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt")


@pytest.mark.parametrize("bad", [-0.1, 1.0, 2])
def test_rejects_val_fraction_outside_0_1(bad, tmp_path):
    with pytest.raises(ValueError, match="val_fraction must be in \\[0, 1\\)"):
        datasets.load_tiny_shakespeare(root=tmp_path, val_fraction=bad)


def test_rejects_a_file_that_is_not_utf8_or_empty(tmp_path):
    folder = tmp_path / "tinyshakespeare"
    folder.mkdir()
    (folder / "input.txt").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ValueError, match="not UTF-8 text"):
        datasets.load_tiny_shakespeare(root=tmp_path, download=False, verify=False)
    (folder / "input.txt").write_bytes(b"")
    with pytest.raises(ValueError, match="the file is empty"):
        datasets.load_tiny_shakespeare(root=tmp_path, download=False, verify=False)
