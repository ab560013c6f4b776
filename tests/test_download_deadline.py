"""download_file ends each mirror's attempt by its deadline, whatever the server trickles: the
status line and headers, or a TLS handshake, sent a byte at a time (each byte in time for
the socket timeout, so only the deadline can end the wait). The attempt fails within the
deadline and a little slack, falls through to the next mirror, and leaves no partial file.

The servers are threads with a listening socket on 127.0.0.1.
"""

import gzip
import hashlib
import socket
import threading
import time
from pathlib import Path

import pytest

from bprop import datasets

SLACK = 1.5  # seconds past the deadline an attempt may take to end on a busy machine

PAYLOAD = gzip.compress(b"\x00\x00\x08\x01" + bytes(range(10)), mtime=0)
NAME = "tiny-labels-idx1-ubyte.gz"
SHA256 = hashlib.sha256(PAYLOAD).hexdigest()
ANSWER = (b"HTTP/1.1 200 OK\r\nContent-Type: application/gzip\r\n"
          + f"Content-Length: {len(PAYLOAD)}\r\nConnection: close\r\n\r\n".encode() + PAYLOAD)
#: the start of a TLS record (a handshake, TLS 1.2, 64 bytes long) and more of its bytes
TLS_RECORD = b"\x16\x03\x03\x00\x40" + bytes(64)


class TricklingServer:
    """Answers every connection with ``answer``, one byte every ``pause`` seconds (all at once
    when ``pause`` is 0), after reading what the client sent first."""

    def __init__(self, answer, pause):
        self.answer, self.pause = answer, pause
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)
        self.port = self.listener.getsockname()[1]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def url(self, scheme="http"):
        return f"{scheme}://127.0.0.1:{self.port}/mirror/"

    def _serve(self):
        while not self.stop.is_set():
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._answer, args=(connection,), daemon=True).start()

    def _answer(self, connection):
        with connection:
            connection.settimeout(2)
            try:
                connection.recv(65536)  # the request or the TLS ClientHello: one segment here
                if not self.pause:
                    connection.sendall(self.answer)
                    return
                for i in range(len(self.answer)):
                    if self.stop.wait(self.pause):
                        return
                    connection.sendall(self.answer[i:i + 1])
            except OSError:
                return  # the client hung up: what this test expects of it

    def close(self):
        self.stop.set()
        self.thread.join(5)
        self.listener.close()


@pytest.fixture
def servers():
    started = []

    def start(answer, pause):
        server = TricklingServer(answer, pause)
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


def files_in(folder):
    folder = Path(folder)
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_headers_trickled_a_byte_every_half_second_end_the_attempt_at_the_deadline(servers, tmp_path):
    server = servers(ANSWER, pause=0.5)
    start = time.monotonic()
    with pytest.raises(datasets.DownloadError) as info:
        datasets.download_file(NAME, [server.url()], tmp_path / "cache", SHA256, timeout=1, deadline=3,
                               verbose=0)
    elapsed = time.monotonic() - start
    assert 3 <= elapsed < 3 + SLACK, elapsed
    [(url, reason)] = info.value.attempts
    assert url == server.url() + NAME
    assert reason == "too slow: no complete status line and headers when the 3 s deadline passed"
    assert files_in(tmp_path) == []  # no partial file, and not the folder it created


def test_after_a_mirror_trickling_headers_the_next_mirror_delivers_in_time(servers, tmp_path):
    trickling, good = servers(ANSWER, pause=0.25), servers(ANSWER, pause=0)
    start = time.monotonic()
    path = datasets.download_file(NAME, [trickling.url(), good.url()], tmp_path, SHA256, timeout=1,
                                  deadline=1, verbose=0)
    assert time.monotonic() - start < 1 + SLACK
    assert Path(path).read_bytes() == PAYLOAD
    assert files_in(tmp_path) == [NAME]


def test_tls_handshake_trickled_byte_by_byte_ends_at_the_deadline(servers, tmp_path):
    server = servers(TLS_RECORD, pause=0.25)  # one handshake record, never complete in time
    start = time.monotonic()
    with pytest.raises(datasets.DownloadError) as info:
        datasets.download_file(NAME, [server.url("https")], tmp_path, SHA256, timeout=1, deadline=1,
                               verbose=0)
    assert time.monotonic() - start < 1 + SLACK
    [(_, reason)] = info.value.attempts
    assert reason == "too slow: no complete status line and headers when the 1 s deadline passed"
    assert files_in(tmp_path) == []


def test_a_server_that_answers_in_time_is_not_cut_off_by_the_watchdog(servers, tmp_path):
    server = servers(ANSWER, pause=0.002)  # the whole answer in well under a second
    path = datasets.download_file(NAME, [server.url()], tmp_path, SHA256, timeout=1, deadline=30, verbose=0)
    assert Path(path).read_bytes() == PAYLOAD
    end = time.monotonic() + 2  # the watchdog's timer was cancelled: its thread ends
    while any(isinstance(t, threading.Timer) for t in threading.enumerate()) and time.monotonic() < end:
        time.sleep(0.01)
    assert not any(isinstance(t, threading.Timer) for t in threading.enumerate())
