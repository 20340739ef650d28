"""The web app's outer layer: one ASGI middleware that every request passes through first.

1. **Rate limit** per client address: a token bucket holding ``per_minute`` tokens, refilled
   continuously; a request costs 1, one that computes (ask, audit, refresh, ingest) costs
   ``EXPENSIVE_COST``. Over the limit: 429 with ``Retry-After``. Static files and the health
   check are free. Buckets live in this worker process (with ``--workers N`` a client gets up to
   N times the budget, spread across workers).
2. **Size limit**: a declared ``Content-Length`` above the limit is refused at once (413); a body
   without one is read up to the limit and refused as soon as it passes it, so a client cannot
   stream gigabytes at the app.
3. **Security headers** on every response: a Content-Security-Policy that allows no script at
   all (the app needs none) and only same-origin styles, forms and images; nosniff; no framing;
   no referrer to the outlets' sites.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
)
EXPENSIVE_COST = 10
_FREE_PREFIXES = ("/static/", "/api/health", "/favicon.ico")
_EXPENSIVE = (
    ("POST", "/ask"),
    ("POST", "/api/ask"),
    ("POST", "/audit"),
    ("POST", "/api/audit"),
    ("POST", "/ingest"),
    ("POST", "/api/ingest"),
)
MAX_CLIENTS = 10_000  # buckets kept; the idlest are forgotten beyond this


def request_cost(method: str, path: str) -> int:
    if path.startswith(_FREE_PREFIXES):
        return 0
    if (method, path) in _EXPENSIVE or (method == "POST" and path.endswith("/refresh")):
        return EXPENSIVE_COST
    return 1


class RateLimiter:
    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0  # tokens per second
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, last seen)
        self._lock = threading.Lock()

    def take(self, client: str, cost: int) -> float:
        """0 if the request may go ahead, else the seconds to wait before it could."""
        if cost == 0 or self.capacity <= 0:
            return 0.0
        now = self.clock()
        with self._lock:
            tokens, seen = self._buckets.get(client, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - seen) * self.rate)
            if tokens < cost:
                self._buckets[client] = (tokens, now)
                return (min(cost, self.capacity) - tokens) / self.rate
            self._buckets[client] = (tokens - cost, now)
            if len(self._buckets) > MAX_CLIENTS:
                idlest = sorted(self._buckets, key=lambda c: self._buckets[c][1])
                for stale in idlest[: len(idlest) // 10]:
                    del self._buckets[stale]
        return 0.0


class BodyTooLarge(Exception):
    pass


class Guard:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int, rate_per_minute: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.limiter = RateLimiter(rate_per_minute)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = _with_headers(send)
        path: str = scope.get("path", "")
        client = (scope.get("client") or ("unknown", 0))[0]
        wait = self.limiter.take(client, request_cost(scope["method"], path))
        if wait:
            await _refuse(
                send,
                path,
                429,
                "rate_limited",
                "too many requests from your address",
                f"wait {math.ceil(wait)} s and try again",
                [(b"retry-after", str(math.ceil(wait)).encode())],
            )
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await _refuse(send, path, 413, *self._too_large())
            return
        try:
            body = await self._read_body(receive)
        except BodyTooLarge:
            await _refuse(send, path, 413, *self._too_large())
            return
        await self.app(scope, _replay(body, receive), send)

    def _too_large(self) -> tuple[str, str, str]:
        return (
            "request_too_large",
            f"the request body is larger than {self.max_body_bytes // 1024} KiB",
            "send less at once (split an ingest into several requests)",
        )

    async def _read_body(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return b"".join(chunks)
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise BodyTooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # afterwards only a disconnect can come

    return replay


def _with_headers(send: Send) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            present = {name.lower() for name, _ in message.get("headers", [])}
            extra = [(n, v) for n, v in SECURITY_HEADERS if n not in present]
            message["headers"] = [*message.get("headers", []), *extra]
        await send(message)

    return wrapped


async def _refuse(
    send: Send,
    path: str,
    status: int,
    code: str,
    message: str,
    hint: str,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    """The app's one error shape for the API; a short plain page for browsers."""
    if path.startswith("/api/"):
        body = json.dumps({"error": {"code": code, "message": message, "hint": hint}}).encode()
        kind = b"application/json"
    else:
        body = f"{message}: {hint}.\n".encode()
        kind = b"text/plain; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", kind),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
