"""A real HTTP server on 127.0.0.1 for tests, with a routing table tests fill in.

    from tests.support.httpserver import LocalHTTPServer, Response, http_server

    __all__ = ["http_server"]  # mark the fixture as used, or ruff --fix deletes the import

    def test_something(http_server: LocalHTTPServer) -> None:
        url = http_server.add("/a", body="<html>…</html>")
        http_server.add("/feed", body=rss, content_type="application/rss+xml")
        http_server.add_handler("/echo", lambda request: Response(body=request.path))
        ...
        assert http_server.hits("/a") == 1

Routes match the path exactly (the query string is ignored for matching; handlers see it).
Unknown paths get a 404. Besides plain responses there are ready-made misbehaving routes:
slow headers, slow bodies, redirect chains and loops, huge streamed bodies, connections closed
mid-response, flaky routes, missing content types, garbage and truncated chunked responses.

The server is ``http.server.ThreadingHTTPServer`` in a background thread on an ephemeral port,
speaking HTTP/1.1 with keep-alive, so clients behave as they do against real sites. It counts
hits per path and the most requests it had in flight at once (to check client concurrency).
"""

from __future__ import annotations

import socket
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

import pytest

__all__ = [
    "LocalHTTPServer",
    "Request",
    "Response",
    "closed_port_url",
    "http_server",
]

DEFAULT_CONTENT_TYPE = "text/html; charset=utf-8"


@dataclass(frozen=True)
class Request:
    """What a handler is given. ``raw`` is the live request handler, for writing bytes by hand."""

    method: str
    path: str  # without the query string
    query: str
    headers: Message
    body: bytes
    raw: BaseHTTPRequestHandler = field(repr=False)


@dataclass(frozen=True)
class Response:
    """What a handler returns.

    ``body`` as bytes or str is sent with a Content-Length; an iterable of bytes is streamed with
    chunked encoding (unless ``headers`` declares a Content-Length, then it is sent as is).
    ``delay`` sleeps before the status line; ``chunk_delay`` sleeps between streamed chunks.
    """

    status: int = 200
    body: bytes | str | Iterable[bytes] = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    chunk_delay: float = 0.0


# Return None when the handler has written the whole response itself through ``request.raw``.
Handler = Callable[[Request], Response | None]


class LocalHTTPServer:
    """Start with ``with LocalHTTPServer() as server:`` (or the ``http_server`` fixture)."""

    def __init__(self) -> None:
        self._routes: dict[str, Handler] = {}
        self._lock = threading.Lock()
        self._hits: Counter[str] = Counter()
        self._in_flight = 0
        self.max_in_flight = 0
        self.requests: list[Request] = []
        self.errors: list[BaseException] = []  # exceptions raised by handlers (test bugs)
        # Set on stop so sleeping handlers wake up instead of outliving the test.
        self.stopping = threading.Event()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> LocalHTTPServer:
        self._httpd = _Server(("127.0.0.1", 0), _RequestHandler, owner=self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.01},  # how long stop() waits,
            name="test-http-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> LocalHTTPServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- addresses and counters --------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("server not started")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.base_url + path

    def hits(self, path: str) -> int:
        with self._lock:
            return self._hits[path]

    # -- routes ------------------------------------------------------------------------------

    def add_handler(self, path: str, handler: Handler) -> str:
        """Route ``path`` to ``handler``; returns the route's full URL."""
        with self._lock:
            self._routes[path] = handler
        return self.url(path)

    def add(
        self,
        path: str,
        body: bytes | str | Iterable[bytes] = b"",
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        delay: float = 0.0,
        content_type: str | None = DEFAULT_CONTENT_TYPE,
        chunk_delay: float = 0.0,
    ) -> str:
        """A fixed response. ``content_type=None`` sends no Content-Type header at all."""
        all_headers = dict(headers or {})
        if content_type is not None and not _has_header(all_headers, "content-type"):
            all_headers["Content-Type"] = content_type
        if not isinstance(body, bytes | str):
            body = list(body)  # so the route can be hit more than once
        response = Response(status, body, all_headers, delay, chunk_delay)
        return self.add_handler(path, lambda request: response)

    def add_redirect(self, path: str, location: str, status: int = 302) -> str:
        return self.add(path, status=status, headers={"Location": location}, content_type=None)

    def add_redirect_chain(
        self,
        path: str,
        hops: int,
        body: bytes | str = "<html><body>the end of the chain</body></html>",
        content_type: str | None = DEFAULT_CONTENT_TYPE,
        status: int = 302,
    ) -> str:
        """``path`` → ``path/1`` → … → ``path/final``: ``hops`` redirects, then ``body``.

        Returns the URL of the final page (start from ``url(path)``).
        """
        if hops < 1:
            raise ValueError("a redirect chain needs at least one hop")
        targets = [f"{path}/{n}" for n in range(1, hops)] + [f"{path}/final"]
        for here, there in zip([path, *targets], targets, strict=False):
            self.add_redirect(here, there, status=status)
        return self.add(targets[-1], body=body, content_type=content_type)

    def add_redirect_loop(self, path: str) -> str:
        """``path`` → ``path/again`` → ``path`` → …"""
        self.add_redirect(f"{path}/again", path)
        return self.add_redirect(path, f"{path}/again")

    def add_huge(
        self, path: str, size: int, chunk_size: int = 64 * 1024, declare_length: bool = False
    ) -> str:
        """``size`` bytes streamed in chunks, chunked unless ``declare_length``."""

        def chunks() -> Iterator[bytes]:
            sent = 0
            while sent < size:
                piece = min(chunk_size, size - sent)
                sent += piece
                yield b"x" * piece

        def handler(request: Request) -> Response:
            headers = {"Content-Type": "text/plain"}
            if declare_length:
                headers["Content-Length"] = str(size)
            return Response(body=chunks(), headers=headers)

        return self.add_handler(path, handler)

    def add_flaky(
        self,
        path: str,
        failures: int,
        body: bytes | str = "ok",
        status: int = 503,
        fail_headers: Mapping[str, str] | None = None,
        content_type: str = DEFAULT_CONTENT_TYPE,
    ) -> str:
        """Fails the first ``failures`` hits with ``status``, then serves ``body``."""
        counter = iter(range(failures))
        lock = threading.Lock()

        def handler(request: Request) -> Response:
            with lock:
                failing = next(counter, None) is not None
            if failing:
                return Response(status, "try again", dict(fail_headers or {}))
            return Response(200, body, {"Content-Type": content_type})

        return self.add_handler(path, handler)

    def add_drop(
        self, path: str, sent: bytes = b"<html><body>The first few", length: int = 10_000
    ) -> str:
        """Promises ``length`` bytes, sends ``sent``, then closes the connection."""

        def handler(request: Request) -> None:
            raw = request.raw
            raw.send_response(200)
            raw.send_header("Content-Type", DEFAULT_CONTENT_TYPE)
            raw.send_header("Content-Length", str(length))
            raw.end_headers()
            raw.wfile.write(sent)
            raw.wfile.flush()
            raw.close_connection = True

        return self.add_handler(path, handler)

    def add_truncated_chunked(self, path: str) -> str:
        """A chunked body that stops without the terminating zero-length chunk."""

        def handler(request: Request) -> None:
            raw = request.raw
            raw.send_response(200)
            raw.send_header("Content-Type", DEFAULT_CONTENT_TYPE)
            raw.send_header("Transfer-Encoding", "chunked")
            raw.end_headers()
            raw.wfile.write(b"10\r\n<html><body>half\r\n")
            raw.wfile.flush()
            raw.close_connection = True

        return self.add_handler(path, handler)

    def add_garbage(self, path: str, data: bytes = b"SURPRISE! this is not HTTP\r\n\r\n") -> str:
        """Answers with bytes that are not an HTTP response at all, then closes."""

        def handler(request: Request) -> None:
            request.raw.wfile.write(data)
            request.raw.wfile.flush()
            request.raw.close_connection = True

        return self.add_handler(path, handler)

    # -- used by the request handler ---------------------------------------------------------

    def _dispatch(self, request: Request) -> Handler | None:
        with self._lock:
            self._hits[request.path] += 1
            self.requests.append(request)
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
            return self._routes.get(request.path)

    def _done(self) -> None:
        with self._lock:
            self._in_flight -= 1


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a handler stuck on a dead client must not block shutdown

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        owner: LocalHTTPServer,
    ) -> None:
        self.owner = owner
        super().__init__(address, handler)

    def handle_error(self, request: object, client_address: object) -> None:
        # Clients hanging up early (timeouts, size caps) is what many tests provoke: not an error.
        exc = sys.exc_info()[1]
        if exc is not None and not isinstance(exc, ConnectionError | TimeoutError):
            self.owner.errors.append(exc)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive and chunked encoding, like real servers
    timeout = 10  # idle keep-alive connections must not pin threads forever
    server: _Server

    def do_GET(self) -> None:
        self._handle()

    def do_HEAD(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep test output clean

    def _handle(self) -> None:
        owner = self.server.owner
        path, _, query = self.path.partition("?")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request(self.command, path, query, self.headers, body, self)
        handler = owner._dispatch(request)
        try:
            if handler is None:
                self._send(Response(404, "not found", {"Content-Type": "text/plain"}))
                return
            try:
                response = handler(request)
            except Exception as exc:
                owner.errors.append(exc)
                self._send(
                    Response(500, f"handler failed: {exc!r}", {"Content-Type": "text/plain"})
                )
                return
            if response is not None:
                self._send(response)
        finally:
            owner._done()

    def _send(self, response: Response) -> None:
        stopping = self.server.owner.stopping
        if response.delay and stopping.wait(response.delay):
            self.close_connection = True
            return
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        body = response.body
        if isinstance(body, str):
            body = body.encode("utf-8")
        if isinstance(body, bytes):
            if not _has_header(response.headers, "content-length"):
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            return
        chunked = not _has_header(response.headers, "content-length")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if self.command == "HEAD":
            return
        for number, chunk in enumerate(body):
            if number and response.chunk_delay and stopping.wait(response.chunk_delay):
                self.close_connection = True
                return
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
            self.wfile.flush()
        if chunked:
            self.wfile.write(b"0\r\n\r\n")


def _has_header(headers: Mapping[str, str], name: str) -> bool:
    return any(key.lower() == name for key in headers)


def closed_port_url(path: str = "/") -> str:
    """A URL on 127.0.0.1 where nothing listens (the port was just bound and released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"


_PROXY_VARIABLES = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)


@pytest.fixture
def http_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalHTTPServer]:
    """A started ``LocalHTTPServer``; fails the test if one of its handlers raised."""
    # A developer's proxy settings would send requests for 127.0.0.1 to the proxy.
    for name in _PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    with LocalHTTPServer() as server:
        yield server
    if server.errors:
        raise AssertionError(f"test HTTP server handlers raised: {server.errors!r}")
