"""The deadline of one download attempt: all of it, connection, headers and body.

A socket timeout bounds each wait but not their sum, so a server that sends a byte every
half second would never time out. A :class:`Deadline` is a watchdog: when it passes, it
shuts down every connection the attempt opened, and the read blocked on one returns at
once. :func:`watched_opener` gives a urllib opener whose HTTP and HTTPS connections the
deadline watches from the moment they connect (before a TLS handshake, which can trickle
too).
"""

import http.client
import socket
import threading
import time
import urllib.request


class Deadline:
    """The end of one attempt, ``seconds`` from now: then every connection the attempt
    opened is shut down, so that a read blocked on it returns at once.

    A socket timeout bounds one wait; a server that trickles (a byte of the status line,
    the headers or the body every half second) never lets one expire. This bounds the
    sum. ``passed`` says whether the deadline has come.
    """

    def __init__(self, seconds):
        self.end = time.monotonic() + seconds
        self.passed = False
        self._sockets = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def watch(self, sock):
        """Shut ``sock``'s connection down when the deadline passes (at once if it has)."""
        # A descriptor of its own: it stays valid however the connection closes or wraps
        # its socket (TLS takes the original over), and shutting it down ends the connection.
        twin = sock.dup()
        with self._lock:
            self._sockets.append(twin)
            if self.passed:
                _shut_down(twin)

    def _expire(self):
        with self._lock:
            self.passed = True
            for sock in self._sockets:
                _shut_down(sock)

    def close(self):
        """Stop the watchdog and let go of the watched connections."""
        self._timer.cancel()
        with self._lock:
            for sock in self._sockets:
                sock.close()
            self._sockets.clear()


def _shut_down(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed by the other side


class _WatchedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection whose socket its ``deadline`` (a :class:`Deadline`) watches."""

    deadline = None

    def connect(self):
        super().connect()
        self.deadline.watch(self.sock)  # before a TLS handshake, which can trickle too


class _WatchedHTTPSConnection(http.client.HTTPSConnection, _WatchedHTTPConnection):
    """HTTPS whose plain socket is watched before the TLS handshake: its ``connect`` calls
    :meth:`_WatchedHTTPConnection.connect`, then wraps the socket."""


class _Watching:
    """A urllib handler whose connections one :class:`Deadline` watches."""

    connection_class = None

    def __init__(self, deadline):
        super().__init__()
        self.deadline = deadline

    def do_open(self, http_class, req, **options):
        def connection(host, **kwargs):
            conn = self.connection_class(host, **kwargs)
            conn.deadline = self.deadline
            return conn

        return super().do_open(connection, req, **options)


class _WatchedHTTPHandler(_Watching, urllib.request.HTTPHandler):
    connection_class = _WatchedHTTPConnection


class _WatchedHTTPSHandler(_Watching, urllib.request.HTTPSHandler):
    connection_class = _WatchedHTTPSConnection


def watched_opener(deadline):
    """A urllib opener whose connections ``deadline`` (a :class:`Deadline`) watches."""
    return urllib.request.build_opener(_WatchedHTTPHandler(deadline), _WatchedHTTPSHandler(deadline))
