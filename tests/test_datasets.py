"""Tests for datasets/: IDX parsing, mirrored downloads, MNIST loading, synthetic sets, batching.

No test needs the internet: downloads go to a local HTTP server on 127.0.0.1.
Real MNIST / Fashion-MNIST come from ``$BPROP_DATA``; those tests skip when the
files are absent, except under CI (``$CI`` set), where they must run and fail instead.
"""

import gzip
import hashlib
import http.server
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from bprop import datasets
from conftest import real_data_folder
from bprop.datasets import idx, mnist

FILENAMES = mnist.FILENAMES
MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


# ---------------------------------------------------------------- helpers


def idx_bytes(array, magic=None):
    """An uncompressed IDX file holding ``array`` (uint8), optionally with a forged magic."""
    array = np.asarray(array, dtype=np.uint8)
    if magic is None:
        magic = 0x0800 + array.ndim
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.tobytes()


def write_split(folder, images, labels):
    """Write (images, labels) as the gzip files of one dataset folder's train and test split."""
    folder.mkdir(parents=True, exist_ok=True)
    payloads = {}
    for (image_name, label_name), (x, t) in zip(
        [(mnist.TRAIN_IMAGES, mnist.TRAIN_LABELS), (mnist.TEST_IMAGES, mnist.TEST_LABELS)],
        [(images, labels), (images[:5], labels[:5])],
    ):
        for name, array in ((image_name, x), (label_name, t)):
            # mtime=0 makes the gzip bytes, and so their sha256, reproducible.
            payloads[name] = gzip.compress(idx_bytes(array), mtime=0)
            (folder / name).write_bytes(payloads[name])
    return payloads


def tiny_images_and_labels(rng, n=12):
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    images[0, 0, 0], images[0, 0, 1] = 0, 255  # the extremes normalise to exactly 0 and 1
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    return images, labels


def files_in(folder):
    """Every entry of ``folder`` (hidden temporary files included), or [] if it is absent."""
    folder = Path(folder)
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []



# ---------------------------------------------------------------- local mirror server

HTML_PAGE = b"<!DOCTYPE html><html><body>Moved to a new home</body></html>"


class MirrorHandler(http.server.BaseHTTPRequestHandler):
    """Serves ``/<kind>/<file>``; ``kind`` chooses how this mirror misbehaves."""

    def do_GET(self):
        _, kind, name = self.path.split("/", 2)
        body = self.server.files.get(name)
        if kind == "slow":
            self.server.release.wait(10)
            return
        if kind == "trickle" and body is not None:
            # Headers at once, then a byte every 0.02 s: never idle for long enough to
            # time out, yet about 1 s for the 40-byte payload of these tests.
            self.send_response(200)
            self.send_header("Content-Type", "application/gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            for i in range(len(body)):
                if self.server.release.wait(0.02):
                    return
                self.wfile.write(body[i:i + 1])
            return
        if kind == "missing" or body is None:
            self.send_error(404, "Not Found")
            return
        if kind == "html":
            body, content_type = HTML_PAGE, "text/html; charset=utf-8"
        elif kind == "html-as-binary":
            body, content_type = HTML_PAGE, "application/octet-stream"
        elif kind == "wrong":
            body, content_type = gzip.compress(b"something else", mtime=0), "application/gzip"
        else:
            content_type = "application/gzip"
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2] if kind == "truncated" else body)

    def log_message(self, *args):
        pass


class MirrorServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client that timed out and hung up is expected here


@pytest.fixture
def server():
    """A local server: ``server.url(kind)`` is a mirror's base URL, ``server.files`` its files."""
    srv = MirrorServer(("127.0.0.1", 0), MirrorHandler)
    srv.files = {}
    srv.release = threading.Event()
    srv.url = lambda kind: f"http://127.0.0.1:{srv.server_address[1]}/{kind}/"
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.01},
                              daemon=True)
    thread.start()
    yield srv
    srv.release.set()
    srv.shutdown()
    srv.server_close()
    thread.join(5)


@pytest.fixture
def refused_url():
    """A base URL on a port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


# ---------------------------------------------------------------- IDX parsing


@pytest.mark.parametrize("compressed", [True, False], ids=["gz", "raw"])
def test_read_idx_returns_images_and_labels_as_written(tmp_path, compressed):
    rng = np.random.default_rng(0)
    images, labels = tiny_images_and_labels(rng, n=7)
    suffix = ".gz" if compressed else ""
    for name, array in (("images", images), ("labels", labels)):
        data = idx_bytes(array)
        (tmp_path / (name + suffix)).write_bytes(gzip.compress(data) if compressed else data)
    x = datasets.read_idx(tmp_path / ("images" + suffix), idx.IMAGES_MAGIC)
    t = datasets.read_idx(tmp_path / ("labels" + suffix), idx.LABELS_MAGIC)
    assert x.shape == (7, 28, 28) and x.dtype == np.uint8
    assert t.shape == (7,) and t.dtype == np.uint8
    np.testing.assert_array_equal(x, images)
    np.testing.assert_array_equal(t, labels)
    assert not x.flags.writeable  # shared with the cache


def test_read_idx_rejects_truncated_file_naming_it(tmp_path):
    rng = np.random.default_rng(1)
    data = idx_bytes(rng.integers(0, 256, size=(3, 4, 4), dtype=np.uint8))
    path = tmp_path / "cut-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(data[:-5]))
    with pytest.raises(ValueError, match=r"cut-images-idx3-ubyte\.gz: truncated.*48 bytes.*43"):
        datasets.read_idx(path)


def test_read_idx_rejects_truncated_header(tmp_path):
    path = tmp_path / "short"
    path.write_bytes(idx_bytes(np.zeros((2, 3, 3)))[:10])
    with pytest.raises(ValueError, match="short: truncated header"):
        datasets.read_idx(path)


def test_read_idx_rejects_count_larger_than_data(tmp_path):
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 10, size=5, dtype=np.uint8)
    data = idx_bytes(labels)
    data = data[:4] + (10).to_bytes(4, "big") + data[8:]  # header claims 10 labels, 5 follow
    path = tmp_path / "labels.gz"
    path.write_bytes(gzip.compress(data))
    with pytest.raises(ValueError, match=r"labels\.gz: truncated, header declares 10 = 10 bytes"):
        datasets.read_idx(path, idx.LABELS_MAGIC)


def test_read_idx_rejects_bytes_after_the_data(tmp_path):
    path = tmp_path / "long"
    path.write_bytes(idx_bytes(np.zeros(4)) + b"\0\0\0")
    with pytest.raises(ValueError, match="long: 3 unexpected bytes"):
        datasets.read_idx(path)


def test_read_idx_rejects_labels_file_where_images_expected(tmp_path):
    path = tmp_path / "train-labels-idx1-ubyte"
    path.write_bytes(idx_bytes(np.zeros(4)))
    with pytest.raises(ValueError, match=r"train-labels-idx1-ubyte: wrong magic number 2049 .*"
                                         r"expected 2051"):
        datasets.read_idx(path, idx.IMAGES_MAGIC)


@pytest.mark.parametrize("magic, message", [
    (0x12340803, "does not start with two zero bytes"),
    (0x00000D01, "data type code 0x0d is not supported"),
    (0x00000800, "0 dimensions"),
])
def test_parse_idx_rejects_bad_magic(magic, message):
    data = magic.to_bytes(4, "big") + (1).to_bytes(4, "big") + b"\0"
    with pytest.raises(ValueError, match=f"forged: .*{message}"):
        datasets.parse_idx(data, name="forged")


def test_read_idx_rejects_corrupt_gzip(tmp_path):
    path = tmp_path / "broken.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.zeros((2, 28, 28))))[:-20])
    with pytest.raises(ValueError, match=r"broken\.gz: not a valid gzip file"):
        datasets.read_idx(path)


def test_read_idx_parses_once_and_again_when_the_file_changes(tmp_path, monkeypatch):
    path = tmp_path / "labels.gz"
    path.write_bytes(gzip.compress(idx_bytes([1, 2, 3])))
    reads = []
    original = idx._read_bytes
    monkeypatch.setattr(idx, "_read_bytes", lambda p: reads.append(p) or original(p))
    first = datasets.read_idx(path)
    assert datasets.read_idx(path) is first
    assert len(reads) == 1
    path.write_bytes(gzip.compress(idx_bytes([4, 5, 6, 7])))
    os.utime(path, ns=(0, path.stat().st_mtime_ns + 10**9))
    np.testing.assert_array_equal(datasets.read_idx(path), [4, 5, 6, 7])
    assert len(reads) == 2
    assert sum(k[0] == os.path.realpath(path) for k in idx._cache) == 1


# ---------------------------------------------------------------- loading from a folder


def as_originals(monkeypatch, name, payloads):
    """Make the files ``payloads`` (name -> bytes) the originals of dataset ``name``."""
    monkeypatch.setitem(mnist.SHA256, name,
                        {f: hashlib.sha256(d).hexdigest() for f, d in payloads.items()})


@pytest.fixture
def tiny_root(tmp_path, monkeypatch):
    """A data root whose mnist/ holds 12 training and 5 test images written by the test,
    which pass for the original files."""
    rng = np.random.default_rng(3)
    images, labels = tiny_images_and_labels(rng)
    as_originals(monkeypatch, "mnist", write_split(tmp_path / "mnist", images, labels))
    return tmp_path, images, labels


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("flatten, shape", [(True, (784,)), (False, (1, 28, 28))])
def test_load_mnist_normalised_shapes_dtypes_and_values(tiny_root, flatten, shape, dtype):
    root, images, labels = tiny_root
    (x, t), (x_test, t_test) = datasets.load_mnist(flatten=flatten, dtype=dtype, root=root)
    assert x.shape == (12, *shape) and x_test.shape == (5, *shape)
    assert x.dtype == dtype and x_test.dtype == dtype
    assert x.min() == 0.0 and x.max() == 1.0
    rtol = 1e-7 if dtype == np.float32 else 0
    np.testing.assert_allclose(x.reshape(images.shape), images / 255.0, rtol=rtol)
    assert t.dtype == np.int64 and t.shape == (12,)
    np.testing.assert_array_equal(t, labels)
    np.testing.assert_array_equal(t_test, labels[:5])


def test_load_mnist_without_normalize_gives_writable_uint8_copies(tiny_root):
    root, images, _ = tiny_root
    (x, _), _ = datasets.load_mnist(normalize=False, flatten=False, root=root)
    assert x.dtype == np.uint8 and x.shape == (12, 1, 28, 28)
    np.testing.assert_array_equal(x[:, 0], images)
    x[:] = 7  # the caller owns the result; the cached parse is untouched
    (again, _), _ = datasets.load_mnist(normalize=False, flatten=False, root=root)
    np.testing.assert_array_equal(again[:, 0], images)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_load_mnist_one_hot_labels(tiny_root, dtype):
    root, _, labels = tiny_root
    (_, t), (_, t_test) = datasets.load_mnist(one_hot_label=True, dtype=dtype, root=root)
    assert t.shape == (12, 10) and t.dtype == dtype and t_test.shape == (5, 10)
    np.testing.assert_array_equal(t.argmax(axis=1), labels)
    np.testing.assert_array_equal(t.sum(axis=1), 1)


def test_load_mnist_reads_root_from_bprop_data(tiny_root, monkeypatch):
    root, _, labels = tiny_root
    monkeypatch.setenv("BPROP_DATA", str(root))
    (_, t), _ = datasets.load_mnist(download=False)
    np.testing.assert_array_equal(t, labels)
    assert datasets.data_root() == root
    assert datasets.dataset_dir("fashion_mnist") == root / "fashion-mnist"
    assert datasets.data_root(root / "elsewhere") == root / "elsewhere"


def test_data_root_defaults_to_user_cache(monkeypatch, tmp_path):
    monkeypatch.delenv("BPROP_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert datasets.data_root() == tmp_path / ".cache" / "bprop"


def test_load_mnist_rejects_mismatched_image_and_label_counts(tiny_root):
    root, images, labels = tiny_root
    (root / "mnist" / mnist.TRAIN_LABELS).write_bytes(gzip.compress(idx_bytes(labels[:-1])))
    with pytest.raises(ValueError, match="12 images but train-labels-idx1-ubyte.gz 11 labels"):
        datasets.load_mnist(root=root, download=False, verify=False)


def test_load_mnist_rejects_label_outside_0_to_9(tiny_root):
    root, _, labels = tiny_root
    bad = labels.copy()
    bad[3] = 10
    (root / "mnist" / mnist.TRAIN_LABELS).write_bytes(gzip.compress(idx_bytes(bad)))
    with pytest.raises(ValueError, match=r"labels-idx1-ubyte\.gz: label 10 is outside 0\.\.9"):
        datasets.load_mnist(root=root, download=False, verify=False)


@pytest.mark.parametrize("verify, message", [
    (True, r"mnist/t10k-images-idx3-ubyte\.gz: not the original MNIST t10k-images-idx3-ubyte\.gz "
           r"\(sha256 [0-9a-f]{64}, expected [0-9a-f]{64}\): it is MNIST's t10k-labels-idx1-ubyte\.gz\."),
    (False, r"t10k-images-idx3-ubyte\.gz: wrong magic number 2049"),
], ids=["verified", "unverified"])
def test_load_mnist_rejects_swapped_files(tiny_root, verify, message):
    root, _, _ = tiny_root
    folder = root / "mnist"
    images = (folder / mnist.TEST_IMAGES).read_bytes()
    (folder / mnist.TEST_IMAGES).write_bytes((folder / mnist.TEST_LABELS).read_bytes())
    (folder / mnist.TEST_LABELS).write_bytes(images)
    with pytest.raises(ValueError, match=message):
        datasets.load_mnist(root=root, download=False, verify=verify)


@pytest.fixture
def fashion_in_mnist_folder(tmp_path, monkeypatch):
    """A root whose mnist/ holds (tiny stand-ins for) Fashion-MNIST's original files."""
    rng = np.random.default_rng(30)
    as_originals(monkeypatch, "mnist", write_split(tmp_path / "real-mnist", *tiny_images_and_labels(rng)))
    images, labels = tiny_images_and_labels(rng)
    as_originals(monkeypatch, "fashion-mnist", write_split(tmp_path / "mnist", images, labels))
    return tmp_path, labels


def test_load_mnist_refuses_fashion_mnist_files_and_says_what_they_are(fashion_in_mnist_folder):
    root, _ = fashion_in_mnist_folder
    with pytest.raises(datasets.ChecksumError) as info:
        datasets.load_mnist(root=root, download=False)
    message = str(info.value)
    assert message.startswith(str(root / "mnist" / mnist.TRAIN_IMAGES) + ": not the original MNIST "
                              "train-images-idx3-ubyte.gz (sha256 ")
    assert (f"it is Fashion-MNIST's train-images-idx3-ubyte.gz, which belongs in {root / 'fashion-mnist'}"
            in message)
    assert "pass verify=False" in message
    assert info.value.expected == mnist.SHA256["mnist"][mnist.TRAIN_IMAGES]
    assert info.value.actual == mnist.SHA256["fashion-mnist"][mnist.TRAIN_IMAGES]


def test_load_mnist_refuses_an_unknown_file_and_says_it_matches_nothing(tiny_root):
    root, images, labels = tiny_root
    bad = labels.copy()
    bad[0] = (bad[0] + 1) % 10
    (root / "mnist" / mnist.TRAIN_LABELS).write_bytes(gzip.compress(idx_bytes(bad), mtime=0))
    with pytest.raises(datasets.ChecksumError, match=r"train-labels-idx1-ubyte\.gz: not the original MNIST "
                                                     r".*it matches no file of MNIST or Fashion-MNIST\."):
        datasets.load_mnist(root=root, download=False)


def test_load_mnist_with_verify_false_loads_idx_files_of_ones_own(fashion_in_mnist_folder):
    root, labels = fashion_in_mnist_folder
    (_, t), _ = datasets.load_mnist(root=root, download=False, verify=False)
    np.testing.assert_array_equal(t, labels)


def test_load_mnist_checks_a_file_cached_unverified_before_handing_it_out(fashion_in_mnist_folder):
    root, _ = fashion_in_mnist_folder
    datasets.load_mnist(root=root, download=False, verify=False)
    with pytest.raises(datasets.ChecksumError, match="it is Fashion-MNIST's"):
        datasets.load_mnist(root=root, download=False)


def test_load_mnist_hashes_each_file_once_per_process(tiny_root, monkeypatch):
    root, _, _ = tiny_root
    datasets.load_mnist(root=root, download=False)
    monkeypatch.setattr(idx, "_read_bytes", lambda path: pytest.fail(f"re-read {path}"))
    monkeypatch.setattr(idx.hashlib, "sha256", lambda *a: pytest.fail("hashed again"))
    datasets.load_mnist(root=root, download=False)


def test_load_dataset_rejects_unknown_name():
    with pytest.raises(ValueError, match="unknown dataset name 'cifar10'"):
        datasets.load_dataset("cifar10")


def test_load_mnist_rejects_integer_dtype(tiny_root):
    with pytest.raises(ValueError, match="dtype must be a floating type, got int32"):
        datasets.load_mnist(dtype=np.int32, root=tiny_root[0])


def test_load_mnist_without_download_names_folder_and_what_to_do(tmp_path):
    with pytest.raises(datasets.DatasetNotFoundError) as info:
        datasets.load_mnist(root=tmp_path, download=False)
    message = str(info.value)
    assert message.startswith("MNIST not found")
    assert str(tmp_path / "mnist") in message
    assert "download=False" in message and "BPROP_DATA" in message
    assert all(name in message for name in FILENAMES)
    assert info.value.attempts == []
    assert files_in(tmp_path) == []


def test_class_names():
    assert datasets.class_names("mnist") == tuple("0123456789")
    assert datasets.class_names("Fashion-MNIST")[0] == "T-shirt/top"
    assert datasets.class_names("fashion-mnist")[9] == "Ankle boot"
    assert len(datasets.FASHION_MNIST_CLASSES) == 10


# ---------------------------------------------------------------- downloading


@pytest.fixture
def payload(server):
    """A small gzip file the server holds, with its sha256."""
    data = gzip.compress(idx_bytes(np.arange(10)), mtime=0)
    server.files["tiny-labels-idx1-ubyte.gz"] = data
    return "tiny-labels-idx1-ubyte.gz", data, hashlib.sha256(data).hexdigest()


BAD_MIRRORS = {
    "html": "HTML page",
    "html-as-binary": r"not gzip data \(starts with b'<!DOCTYPE html>",
    "wrong": "sha256 mismatch",
    "missing": "HTTP error 404",
    "truncated": r"incomplete: received \d+ of \d+ bytes",
    "slow": r"timed out after 0\.2 s",
}


@pytest.mark.parametrize("kind", list(BAD_MIRRORS))
def test_download_file_falls_through_a_bad_mirror_to_a_good_one(server, payload, tmp_path,
                                                                 kind, capfd):
    name, data, sha = payload
    mirrors = [server.url(kind), server.url("good")]
    path = datasets.download_file(name, mirrors, tmp_path / "cache", sha, timeout=0.2)
    assert Path(path) == tmp_path / "cache" / name
    assert Path(path).read_bytes() == data
    assert files_in(tmp_path / "cache") == [name]  # no temporary file left behind
    assert capfd.readouterr() == ("", "")  # silent when not on a terminal


@pytest.mark.parametrize("kind", list(BAD_MIRRORS))
def test_download_file_says_why_a_mirror_failed(server, payload, tmp_path, kind):
    name, _, sha = payload
    with pytest.raises(datasets.DownloadError) as info:
        datasets.download_file(name, [server.url(kind)], tmp_path, sha, timeout=0.2)
    [(url, reason)] = info.value.attempts
    assert url == server.url(kind) + name
    assert re.search(BAD_MIRRORS[kind], reason), reason
    assert files_in(tmp_path) == []


def test_download_file_reports_refused_connection(payload, refused_url, tmp_path):
    name, _, sha = payload
    with pytest.raises(datasets.DownloadError, match="connection failed"):
        datasets.download_file(name, [refused_url], tmp_path, sha, timeout=0.2)
    assert files_in(tmp_path) == []


def test_download_file_gives_up_on_a_trickling_mirror_at_the_deadline(server, payload, tmp_path):
    name, _, sha = payload
    with pytest.raises(datasets.DownloadError) as info:
        datasets.download_file(name, [server.url("trickle")], tmp_path, sha, timeout=5, deadline=0.3)
    [(_, reason)] = info.value.attempts
    assert re.fullmatch(r"too slow: \d+ of \d+ bytes received when the 0\.3 s deadline passed", reason), reason
    assert files_in(tmp_path) == []


@pytest.mark.parametrize("deadline", [0, -1.0, float("nan"), None, "60", True])
def test_download_file_rejects_a_bad_deadline_before_touching_anything(payload, tmp_path, deadline):
    name, _, sha = payload
    with pytest.raises(ValueError, match=rf"download_file: deadline must be a number of seconds > 0, "
                                         rf"got {re.escape(repr(deadline))}"):
        datasets.download_file(name, ["http://127.0.0.1:9/"], tmp_path / "cache", sha, deadline=deadline)
    assert files_in(tmp_path) == []


def test_download_file_tries_the_next_mirror_after_the_deadline(server, payload, tmp_path):
    name, data, sha = payload
    path = datasets.download_file(name, [server.url("trickle"), server.url("good")], tmp_path, sha,
                                  timeout=5, deadline=0.3)
    assert Path(path).read_bytes() == data
    assert files_in(tmp_path) == [name]


def test_download_file_within_its_deadline_is_kept(server, payload, tmp_path):
    name, data, sha = payload
    path = datasets.download_file(name, [server.url("trickle")], tmp_path, sha, timeout=5, deadline=60)
    assert Path(path).read_bytes() == data


@pytest.mark.parametrize("existed", [False, True], ids=["new-folder", "existing-folder"])
def test_failed_download_leaves_no_folder_it_created(server, payload, tmp_path, existed):
    name, _, sha = payload
    folder = tmp_path / "cache" / "deeper"
    if existed:
        folder.mkdir(parents=True)
    with pytest.raises(datasets.DownloadError):
        datasets.download_file(name, [server.url("missing")], folder, sha)
    assert files_in(tmp_path) == (["cache"] if existed else [])
    assert files_in(folder) == []


def dead_pid():
    """The id of a process that has ended (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_download_file_removes_part_files_of_dead_processes_only(server, payload, tmp_path):
    name, data, sha = payload
    stale = tmp_path / f".{name}.{dead_pid()}.0badf00d.part"
    live = tmp_path / f".{name}.{os.getpid()}.0badf00d.part"  # another download in this process
    other = tmp_path / f".other-file.gz.{dead_pid()}.0badf00d.part"
    for p in (stale, live, other):
        p.write_bytes(b"half a file")
    datasets.download_file(name, [server.url("good")], tmp_path, sha)
    assert files_in(tmp_path) == sorted([live.name, other.name, name])
    assert (tmp_path / name).read_bytes() == data


@pytest.fixture
def tiny_mirror(server, tmp_path, monkeypatch):
    """The server holds a tiny MNIST whose sha256 values replace the real ones."""
    rng = np.random.default_rng(4)
    images, labels = tiny_images_and_labels(rng)
    payloads = write_split(tmp_path / "source", images, labels)
    server.files.update(payloads)
    as_originals(monkeypatch, "mnist", payloads)
    return server, payloads, labels


def test_load_mnist_downloads_past_a_broken_mirror(tiny_mirror, tmp_path):
    server, payloads, labels = tiny_mirror
    root = tmp_path / "cache"
    (_, t), (_, t_test) = datasets.load_mnist(
        root=root, mirrors=[server.url("html"), server.url("wrong"), server.url("good")])
    np.testing.assert_array_equal(t, labels)
    assert files_in(root / "mnist") == sorted(FILENAMES)
    for name, data in payloads.items():
        assert (root / "mnist" / name).read_bytes() == data


def test_load_mnist_uses_the_module_mirror_list(tiny_mirror, tmp_path, monkeypatch):
    server, _, labels = tiny_mirror
    monkeypatch.setattr(mnist, "MNIST_MIRRORS", (server.url("missing"), server.url("good")))
    (_, t), _ = datasets.load_mnist(root=tmp_path / "cache")
    np.testing.assert_array_equal(t, labels)


def test_load_mnist_downloads_only_missing_files(tiny_mirror, tmp_path):
    server, payloads, _ = tiny_mirror
    folder = tmp_path / "cache" / "mnist"
    folder.mkdir(parents=True)
    for name in (mnist.TRAIN_IMAGES, mnist.TRAIN_LABELS):
        (folder / name).write_bytes(payloads[name])
    del server.files[mnist.TRAIN_IMAGES]  # would fail if it were asked for
    datasets.load_mnist(root=tmp_path / "cache", mirrors=[server.url("good")])
    assert files_in(folder) == sorted(FILENAMES)


def test_killed_download_leaves_a_part_file_that_is_not_the_data_and_goes_next_time(tiny_mirror, tmp_path):
    server, _, labels = tiny_mirror
    root = tmp_path / "cache"
    folder = root / "mnist"
    code = ("from bprop.datasets import load_mnist; "
            f"load_mnist(root={str(root)!r}, mirrors=[{server.url('slow')!r}], timeout=60, verbose=0)")
    proc = subprocess.Popen([sys.executable, "-c", code])
    try:
        for _ in range(600):  # the child imports numpy first; at most 30 s
            if any(n.endswith(".part") for n in files_in(folder)) or proc.poll() is not None:
                break
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    [part] = files_in(folder)
    assert part.startswith(f".{mnist.TRAIN_IMAGES}.{proc.pid}.") and part.endswith(".part")

    with pytest.raises(datasets.DatasetNotFoundError) as info:
        datasets.load_mnist(root=root, download=False)
    assert info.value.missing == list(FILENAMES)  # the .part file is not taken for the data

    (_, t), _ = datasets.load_mnist(root=root, mirrors=[server.url("good")], verbose=0)
    np.testing.assert_array_equal(t, labels)
    assert files_in(folder) == sorted(FILENAMES)


def test_load_mnist_passes_its_deadline_to_every_download(tiny_mirror, tmp_path):
    server, _, labels = tiny_mirror
    (_, t), _ = datasets.load_mnist(root=tmp_path, mirrors=[server.url("trickle"), server.url("good")],
                                    timeout=5, deadline=0.1)
    np.testing.assert_array_equal(t, labels)
    assert files_in(tmp_path / "mnist") == sorted(FILENAMES)


def test_load_mnist_with_every_mirror_failing_lists_what_was_tried(tiny_mirror, refused_url,
                                                                    tmp_path):
    server, _, _ = tiny_mirror
    mirrors = [server.url("html"), server.url("truncated"), refused_url]
    with pytest.raises(datasets.DatasetNotFoundError) as info:
        datasets.load_mnist(root=tmp_path, mirrors=mirrors, timeout=0.5)
    message = str(info.value)
    assert message.startswith("MNIST not found")
    assert str(tmp_path / "mnist") in message and "BPROP_DATA" in message
    for mirror in mirrors:
        assert mirror + mnist.TRAIN_IMAGES in message
    for reason in ("HTML page", "incomplete", "connection failed"):
        assert reason in message
    assert len(info.value.attempts) == 3
    assert not (tmp_path / "mnist").exists()  # the failed download left no empty folder


def test_default_mirror_lists_are_https_or_the_authors_host():
    assert len(datasets.MNIST_MIRRORS) >= 2
    assert all(url.startswith("https://") for url in datasets.MNIST_MIRRORS)
    assert datasets.FASHION_MNIST_MIRRORS[0].startswith("http://fashion-mnist.s3-website")


# ---------------------------------------------------------------- the real files


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_sha256_table_matches_the_real_files(name):
    folder = real_data_folder(name)
    for filename in FILENAMES:
        digest = hashlib.sha256((folder / filename).read_bytes()).hexdigest()
        assert digest == mnist.SHA256[name][filename], filename


def test_real_mnist_shapes_dtypes_ranges_and_class_counts(monkeypatch):
    folder = real_data_folder("mnist")
    (x, t), (x_test, t_test) = datasets.load_mnist(root=folder.parent, download=False)
    assert x.shape == (60000, 784) and x_test.shape == (10000, 784)
    assert x.dtype == np.float32 and t.dtype == np.int64
    assert x.min() == 0.0 and x.max() == 1.0
    assert np.bincount(t).tolist() == MNIST_TRAIN_COUNTS
    assert np.bincount(t_test).tolist() == MNIST_TEST_COUNTS
    # A second load in this process must not read or decompress the files again.
    monkeypatch.setattr(idx, "_read_bytes", lambda path: pytest.fail(f"re-read {path}"))
    (x_raw, _), _ = datasets.load_mnist(normalize=False, flatten=False, root=folder.parent)
    assert x_raw.shape == (60000, 1, 28, 28) and x_raw.dtype == np.uint8 and x_raw.max() == 255


def test_real_fashion_mnist_shapes_and_class_counts():
    folder = real_data_folder("fashion-mnist")
    (x, t), (x_test, t_test) = datasets.load_fashion_mnist(
        flatten=False, one_hot_label=True, root=folder.parent, download=False)
    assert x.shape == (60000, 1, 28, 28) and x_test.shape == (10000, 1, 28, 28)
    assert x.dtype == np.float32 and 0.0 <= x.min() and x.max() <= 1.0
    assert t.shape == (60000, 10) and t.dtype == np.float32
    assert t.sum(axis=0).tolist() == [6000] * 10
    assert t_test.sum(axis=0).tolist() == [1000] * 10


def test_real_fashion_mnist_files_in_the_mnist_folder_are_refused_unless_verify_is_off(tmp_path):
    fashion = real_data_folder("fashion-mnist")
    (tmp_path / "mnist").mkdir()
    for name in FILENAMES:
        (tmp_path / "mnist" / name).symlink_to(fashion / name)
    with pytest.raises(datasets.ChecksumError, match=r"mnist/train-images-idx3-ubyte\.gz: not the original "
                                                     r"MNIST train-images-idx3-ubyte\.gz .*: it is "
                                                     r"Fashion-MNIST's train-images-idx3-ubyte\.gz"):
        datasets.load_mnist(root=tmp_path, download=False)
    (_, t), _ = datasets.load_mnist(root=tmp_path, download=False, verify=False)
    assert np.bincount(t).tolist() == [6000] * 10


# ---------------------------------------------------------------- synthetic sets


@pytest.mark.parametrize("n_per_class, n_classes", [(1, 1), (100, 3), (7, 5)])
def test_make_spiral_shapes_and_classes(n_per_class, n_classes):
    rng = np.random.default_rng(5)
    x, t = datasets.make_spiral(n_per_class, n_classes, rng=rng)
    assert x.shape == (n_per_class * n_classes, 2) and x.dtype == np.float64
    assert t.shape == (n_per_class * n_classes,) and t.dtype == np.int64
    assert np.bincount(t).tolist() == [n_per_class] * n_classes
    assert np.all(np.linalg.norm(x, axis=1) <= 1.0 + 1e-12)


def test_make_spiral_without_noise_follows_the_formula():
    x, t = datasets.make_spiral(50, 3, noise=0.0)
    r = np.linspace(0.0, 1.0, 50)
    for j in range(3):
        theta = np.linspace(4.0 * j, 4.0 * (j + 1), 50)
        np.testing.assert_allclose(x[t == j], np.c_[r * np.sin(theta), r * np.cos(theta)],
                                   atol=1e-12)


def test_make_spiral_is_deterministic_under_a_seed_and_leaves_global_state_alone():
    state = np.random.get_state()[1].copy()
    a, _ = datasets.make_spiral(rng=42)
    b, _ = datasets.make_spiral(rng=np.random.default_rng(42))
    c, _ = datasets.make_spiral(rng=43)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    np.testing.assert_array_equal(np.random.get_state()[1], state)


@pytest.mark.parametrize("kwargs, message", [
    ({"n_per_class": 0}, "n_per_class must be an int >= 1, got 0"),
    ({"n_classes": 2.5}, "n_classes must be an int >= 1, got 2.5"),
    ({"noise": -0.1}, r"noise must be a number >= 0, got -0\.1"),
])
def test_make_spiral_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        datasets.make_spiral(**kwargs)


@pytest.mark.parametrize("gate, expected", [
    ("AND", [0, 0, 0, 1]), ("NAND", [1, 1, 1, 0]), ("OR", [0, 1, 1, 1]), ("xor", [0, 1, 1, 0]),
])
def test_make_logic_gate_truth_tables(gate, expected):
    x, t = datasets.make_logic_gate(gate)
    assert x.shape == (4, 2) and t.shape == (4,) and t.dtype == np.int64
    a, b = x[:, 0].astype(bool), x[:, 1].astype(bool)
    truth = {"AND": a & b, "NAND": ~(a & b), "OR": a | b, "XOR": a ^ b}[gate.upper()]
    np.testing.assert_array_equal(t, truth.astype(int))
    np.testing.assert_array_equal(t, expected)


def test_make_logic_gate_rejects_unknown_gate():
    with pytest.raises(ValueError, match="unknown logic gate 'NOR'"):
        datasets.make_logic_gate("NOR")


def test_make_moons_and_blobs_shapes_classes_and_determinism():
    x, t = datasets.make_moons(30, rng=7)
    assert x.shape == (60, 2) and np.bincount(t).tolist() == [30, 30]
    np.testing.assert_array_equal(x, datasets.make_moons(30, rng=7)[0])
    x, t = datasets.make_blobs(20, centers=[[0, 0, 0], [5, 5, 5]], std=0.1, rng=8)
    assert x.shape == (40, 3) and np.bincount(t).tolist() == [20, 20]
    np.testing.assert_allclose(x[t == 1].mean(axis=0), [5, 5, 5], atol=0.1)
    x, t = datasets.make_blobs(10, centers=4, rng=9)
    assert x.shape == (40, 2) and t.max() == 3
    np.testing.assert_array_equal(x, datasets.make_blobs(10, centers=4, rng=9)[0])


# ---------------------------------------------------------------- batching and splits


def test_minibatch_iterator_yields_every_sample_once_per_epoch_in_a_new_order():
    rng = np.random.default_rng(10)
    x = np.arange(103)[:, None] * np.ones((1, 3))
    t = np.arange(103)
    batches = datasets.MiniBatchIterator(x, t, batch_size=10, rng=rng)
    assert len(batches) == 11
    orders = []
    for _ in range(3):
        seen = [(xb, tb) for xb, tb in batches]
        assert [len(tb) for _, tb in seen] == [10] * 10 + [3]  # last partial batch kept
        order = np.concatenate([tb for _, tb in seen])
        assert sorted(order.tolist()) == list(range(103))
        for xb, tb in seen:
            np.testing.assert_array_equal(xb[:, 0], tb)  # x and t stay paired
        orders.append(order)
    assert not np.array_equal(orders[0], orders[1])
    assert not np.array_equal(orders[1], orders[2])


def test_minibatch_iterator_drop_last_drops_the_partial_batch():
    rng = np.random.default_rng(11)
    t = np.arange(25)
    batches = datasets.MiniBatchIterator(t, t, batch_size=10, drop_last=True, rng=rng)
    sizes = [len(tb) for _, tb in batches]
    assert sizes == [10, 10] and len(batches) == 2


def test_minibatch_iterator_is_reproducible_under_a_seed_and_in_order_without_shuffle():
    t = np.arange(20)
    first = [tb.tolist() for _, tb in datasets.MiniBatchIterator(t, t, 6, rng=12)]
    second = [tb.tolist() for _, tb in datasets.MiniBatchIterator(t, t, 6, rng=12)]
    assert first == second
    plain = [tb.tolist() for _, tb in datasets.MiniBatchIterator(t, t, 6, shuffle=False)]
    assert plain == [list(range(0, 6)), list(range(6, 12)), list(range(12, 18)), [18, 19]]


@pytest.mark.parametrize("batch_size", [0, -3, 2.0, True])
def test_minibatch_iterator_rejects_bad_batch_size(batch_size):
    with pytest.raises(ValueError, match=f"batch_size must be an int >= 1, got {batch_size!r}"):
        datasets.MiniBatchIterator(np.zeros((4, 2)), np.zeros(4), batch_size)


def test_minibatch_iterator_rejects_length_mismatch():
    with pytest.raises(ValueError, match=r"len\(x\)=4 and len\(t\)=3"):
        datasets.MiniBatchIterator(np.zeros((4, 2)), np.zeros(3), 2)


def test_train_val_split_holds_out_20_percent_by_default():
    rng = np.random.default_rng(13)
    x = np.arange(50)[:, None] * np.ones((1, 2))
    t = np.arange(50)
    (x_train, t_train), (x_val, t_val) = datasets.train_val_split(x, t, rng=rng)
    assert len(t_val) == 10 and len(t_train) == 40
    assert sorted(np.concatenate([t_train, t_val]).tolist()) == list(range(50))
    np.testing.assert_array_equal(x_val[:, 0], t_val)
    assert not np.array_equal(t_val, np.arange(10))  # shuffled
    again = datasets.train_val_split(x, t, rng=np.random.default_rng(13))
    np.testing.assert_array_equal(again[1][1], t_val)


@pytest.mark.parametrize("val_fraction", [0, 1, -0.2, 1.5, 0.01])
def test_train_val_split_rejects_bad_fraction(val_fraction):
    with pytest.raises(ValueError, match="val_fraction"):
        datasets.train_val_split(np.zeros((10, 2)), np.zeros(10), val_fraction)


def test_random_subset_draws_sorted_distinct_samples_and_continues_the_generator():
    x = np.arange(50)[:, None] * np.ones((1, 2))
    t = np.arange(50)
    rng = np.random.default_rng(7)
    x_sub, t_sub = datasets.random_subset(x, t, 10, rng)
    expected = np.sort(np.random.default_rng(7).choice(50, 10, replace=False))
    np.testing.assert_array_equal(t_sub, expected)
    np.testing.assert_array_equal(x_sub[:, 0], t_sub)
    second = datasets.random_subset(x, t, 10, rng)[1]  # the same generator goes on
    assert not np.array_equal(second, t_sub)


@pytest.mark.parametrize("size", [None, 50, 80])
def test_random_subset_of_all_samples_draws_nothing_and_returns_the_arrays(size):
    x, t = np.zeros((50, 2)), np.arange(50)
    rng = np.random.default_rng(7)
    x_sub, t_sub = datasets.random_subset(x, t, size, rng)
    assert x_sub is x and t_sub is t
    assert rng.integers(1000) == np.random.default_rng(7).integers(1000)  # nothing drawn


@pytest.mark.parametrize("size", [-1, 2.5, True, "10"])
def test_random_subset_rejects_a_bad_size(size):
    with pytest.raises(ValueError, match="size must be None or an int >= 0"):
        datasets.random_subset(np.zeros((10, 2)), np.zeros(10), size)


def test_one_hot_and_its_errors():
    np.testing.assert_array_equal(datasets.one_hot(np.array([2, 0]), 3), [[0, 0, 1], [1, 0, 0]])
    with pytest.raises(ValueError, match="label 3 is outside 0..2"):
        datasets.one_hot(np.array([0, 3]), 3)
    with pytest.raises(ValueError, match="integer class indices"):
        datasets.one_hot(np.array([0.5]), 3)
