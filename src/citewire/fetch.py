"""Fetch URLs over HTTP(S) for ingest: bounded, retried, typed and (when serving) SSRF-safe.

``Fetcher.fetch(url)`` either returns a ``Fetched`` (the body bytes plus what the server said
about them) or raises ``FetchError`` with a one-line reason and a hint. One fetch is:

1. check the URL is http(s) (and, with ``block_private``, that every address its host
   resolves to is public; the request is then pinned to the checked address);
2. send one GET with streaming on, retrying connect errors, timeouts, 408, 429 and 5xx
   with exponential backoff and jitter, honouring ``Retry-After`` up to a cap;
3. on a redirect, go back to 1 with the ``Location`` (loops and long chains are errors);
4. refuse a declared content type that is not allowed before reading the body;
5. read the body in chunks, stopping as soon as it passes ``max_bytes`` or the deadline;
6. sniff the content type from the bytes when the header is missing or generic.

``fetch_many`` runs ``fetch`` on a thread pool of ``policy.concurrency`` workers sharing one
``httpx.Client`` and yields ``(url, Fetched | FetchError)`` as each finishes.
"""

from __future__ import annotations

import email.utils
import functools
import importlib.metadata
import ipaddress
import itertools
import random
import socket
import ssl
import time
from collections.abc import Generator, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType

import httpx

from citewire.errors import ConfigError, FetchError

__all__ = ["DEFAULT_POLICY", "FetchPolicy", "Fetched", "Fetcher", "sniff_content_type"]


def _package_version() -> str:
    # Read from the installed metadata rather than ``citewire.__version__``: importing the
    # package here would be circular as soon as ``citewire/__init__`` imports this module.
    try:
        return importlib.metadata.version("citewire")
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"


_VERSION = _package_version()

# Headers that say nothing about the bytes: sniff instead (step 6).
_GENERIC_TYPES = frozenset(
    {"", "application/octet-stream", "binary/octet-stream", "application/unknown"}
)
# Feeds put their root element after an XML declaration, comments and stylesheet instructions;
# 2 KiB covers those in real feeds without scanning whole bodies.
_SNIFF_WINDOW = 2048
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True)
class Fetched:
    """One successful fetch: the body and what the server said about it."""

    url: str  # final URL after redirects
    requested_url: str
    status: int
    content_type: str  # media type only, lower-case, e.g. "text/html" (sniffed if not declared)
    charset: str | None  # from the Content-Type header, if any
    body: bytes


@dataclass(frozen=True)
class FetchPolicy:
    timeout: float = 20.0  # seconds per attempt, connect + headers + whole body
    max_bytes: int = 10 * 2**20  # size cap on the decoded body; reading stops once exceeded
    max_redirects: int = 5
    retries: int = 2  # extra attempts for retryable failures only
    backoff: float = 0.5  # first retry waits about this long, doubling each time (±50% jitter)
    concurrency: int = 4  # fetch_many worker threads
    user_agent: str = (
        f"citewire/{_VERSION} (+https://github.com/citewire/citewire; news answer engine)"
    )
    allowed_types: tuple[str, ...] = (
        "text/html",
        "application/xhtml+xml",
        "application/rss+xml",
        "application/atom+xml",
        "application/xml",
        "text/xml",
        "application/json",
        "application/x-ndjson",
        "text/plain",
        "text/markdown",
        "application/pdf",
        "application/feed+json",
    )
    # When True, refuse loopback/link-local/private/reserved addresses: every resolved address
    # of every hop is checked. Off for the CLI (fetching your own intranet is fine), on when
    # the web server fetches URLs that strangers typed in.
    block_private: bool = False
    # A server asking us to come back later than this is treated as a failure now: sleeping a
    # worker for minutes to retry one page would stall a whole ingest.
    retry_after_cap: float = 30.0

    def __post_init__(self) -> None:
        if self.timeout <= 0:
            raise ConfigError(f"fetch timeout must be positive, got {self.timeout}")
        if self.max_bytes <= 0:
            raise ConfigError(f"fetch max_bytes must be positive, got {self.max_bytes}")
        if self.max_redirects < 0 or self.retries < 0:
            raise ConfigError("fetch max_redirects and retries must be 0 or more")
        if self.backoff < 0 or self.retry_after_cap < 0:
            raise ConfigError("fetch backoff and retry_after_cap must be 0 or more")
        if self.concurrency < 1:
            raise ConfigError(f"fetch concurrency must be at least 1, got {self.concurrency}")


DEFAULT_POLICY = FetchPolicy()


class _RetryLater(FetchError):
    """A retryable HTTP status; carries the server's ``Retry-After`` (seconds), if it sent one."""

    def __init__(self, message: str, hint: str, retry_after: float | None) -> None:
        super().__init__(message, hint, retryable=True)
        self.retry_after = retry_after


class Fetcher:
    """Fetches URLs under one ``FetchPolicy`` with one shared ``httpx.Client``.

    ``transport`` is for tests (``httpx.MockTransport``) and unusual deployments; by default
    httpx's own HTTP transport is used.
    """

    def __init__(
        self, policy: FetchPolicy = DEFAULT_POLICY, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.policy = policy
        accept = ", ".join(policy.allowed_types) + ", */*;q=0.1"
        # Redirects are followed by hand (step 3) rather than by httpx: every hop has to pass
        # the address check *before* it is connected to, with the request pinned to the
        # checked address, and loops need their own message. An event hook could veto a hop
        # but could not pin it, and httpx's TooManyRedirects cannot tell a loop from a chain.
        self._client = httpx.Client(
            transport=transport,
            timeout=httpx.Timeout(policy.timeout),
            follow_redirects=False,
            headers={"User-Agent": policy.user_agent, "Accept": accept},
            limits=httpx.Limits(max_connections=max(10, 2 * policy.concurrency)),
            verify=_shared_ssl_context(),
        )

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    # -- one URL -----------------------------------------------------------------------------

    def fetch(self, url: str) -> Fetched:
        """Fetch one URL, following redirects. Raises ``FetchError`` on any failure."""
        current = _parse_http_url(url)
        seen = {str(current)}
        for _ in range(self.policy.max_redirects + 1):
            outcome = self._fetch_hop_with_retries(current, url)
            if isinstance(outcome, Fetched):
                return outcome
            if str(outcome) in seen:
                raise FetchError(
                    f"redirect loop: {outcome} was already visited",
                    hint="the site redirects in a circle (often a cookie or consent wall); "
                    "save the page from a browser and ingest the file",
                )
            seen.add(str(outcome))
            current = outcome
        raise FetchError(
            f"more than {self.policy.max_redirects} redirects",
            hint="the site redirects too many times; open the URL in a browser and use "
            "the final address",
        )

    def _fetch_hop_with_retries(self, url: httpx.URL, requested_url: str) -> Fetched | httpx.URL:
        """Step 2: one hop, retried. Returns the page, or the next URL if it redirects."""
        attempt = 0
        while True:
            try:
                return self._fetch_hop(url, requested_url)
            except FetchError as error:
                if not error.retryable or attempt >= self.policy.retries:
                    raise
                time.sleep(self._retry_delay(error, attempt))
                attempt += 1

    def _retry_delay(self, error: FetchError, attempt: int) -> float:
        if isinstance(error, _RetryLater) and error.retry_after is not None:
            return error.retry_after  # already checked against the cap in _check_status
        # Jitter spreads out retries from many workers that failed together (e.g. one
        # overloaded site in a feed), so they do not arrive back in lock-step.
        return self.policy.backoff * 2.0**attempt * (0.5 + random.random())

    def _fetch_hop(self, url: httpx.URL, requested_url: str) -> Fetched | httpx.URL:
        """One attempt at one hop: steps 1, 3, 4, 5 and 6."""
        request = self._build_request(url)
        deadline = time.monotonic() + self.policy.timeout
        try:
            response = self._client.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise self._transport_error(exc, url) from exc
        try:
            if response.status_code in _REDIRECT_STATUSES and "location" in response.headers:
                return _redirect_target(url, response.headers["location"])
            self._check_status(response)
            media_type, charset = _parse_content_type(response.headers.get("content-type", ""))
            if media_type not in _GENERIC_TYPES:
                self._check_type(media_type)
            body = self._read_body(response, deadline)
        except httpx.HTTPError as exc:
            raise self._transport_error(exc, url) from exc
        finally:
            response.close()
        if media_type in _GENERIC_TYPES:
            sniffed = sniff_content_type(body)
            if sniffed is None:
                raise FetchError(
                    f"unsupported content type {media_type or '(none declared)'}: "
                    "the bytes are not recognisable HTML, XML, JSON or PDF",
                    hint="download the file and ingest it from disk if it is an article",
                )
            media_type = sniffed
            self._check_type(media_type)
        return Fetched(
            url=str(url),
            requested_url=requested_url,
            status=response.status_code,
            content_type=media_type,
            charset=charset,
            body=body,
        )

    def _build_request(self, url: httpx.URL) -> httpx.Request:
        if not self.policy.block_private:
            return self._client.build_request("GET", url)
        address = _public_address(url)
        # Connect to the address we checked, not to whatever the name resolves to a moment
        # later: otherwise a DNS answer that changes between check and connect (DNS rebinding)
        # would walk straight past the check. Host and TLS SNI still carry the real name, so
        # virtual hosting and certificate verification behave as if we had not pinned.
        return self._client.build_request(
            "GET",
            url.copy_with(host=address),
            headers={"Host": url.netloc.decode("ascii")},
            extensions={"sni_hostname": url.host},
        )

    def _check_status(self, response: httpx.Response) -> None:
        status = response.status_code
        if 200 <= status < 300:
            return
        reason = response.reason_phrase or httpx.codes.get_reason_phrase(status)
        message = f"HTTP {status} {reason}".strip()
        if status in (408, 429) or status >= 500:
            retry_after = _parse_retry_after(response.headers.get("retry-after"))
            if retry_after is not None and retry_after > self.policy.retry_after_cap:
                raise FetchError(
                    f"{message} (server asks to retry after {retry_after:.0f}s)",
                    hint="the site is rate-limiting or down for a while; try again later",
                )
            hint = (
                "the site is rate-limiting; fetch fewer pages at once or try again later"
                if status == 429
                else "the server failed or is overloaded; try again later"
            )
            raise _RetryLater(message, hint, retry_after)
        if status in (401, 403):
            hint = "the site refuses automated access; save the page and ingest the file instead"
        elif status in (404, 410):
            hint = "check the URL; the page may have moved or been removed"
        else:
            hint = "check the URL"
        raise FetchError(message, hint=hint)

    def _check_type(self, media_type: str) -> None:
        if media_type not in self.policy.allowed_types:
            raise FetchError(
                f"unsupported content type {media_type}",
                hint="citewire reads HTML, feeds, JSON, text and PDF; "
                "link to the article page instead",
            )

    def _read_body(self, response: httpx.Response, deadline: float) -> bytes:
        cap = self.policy.max_bytes
        declared = response.headers.get("content-length", "")
        # Refuse up front when the server admits the body is too big: no bytes wasted.
        if declared.isdigit() and int(declared) > cap:
            raise _too_large(cap)
        chunks: list[bytes] = []
        received = 0
        # iter_bytes yields *decoded* bytes, so the cap also stops a gzip bomb (after at most
        # one network read's worth of inflation, which is bounded by zlib's ~1000:1 ratio).
        for chunk in response.iter_bytes():
            received += len(chunk)
            if received > cap:
                raise _too_large(cap)
            # httpx's read timeout is per socket read, so a server dripping a byte at a time
            # would never trip it; this deadline bounds the whole attempt (to within one read
            # timeout, as it is checked between reads).
            if time.monotonic() > deadline:
                raise self._timed_out()
            chunks.append(chunk)
        return b"".join(chunks)

    def _timed_out(self) -> FetchError:
        return FetchError(
            f"timed out after {self.policy.timeout:g}s",
            hint="the server is slow or unreachable; try again later or raise the fetch timeout",
            retryable=True,
        )

    def _transport_error(self, exc: httpx.HTTPError, url: httpx.URL) -> FetchError:
        """Turn an httpx exception into a one-line ``FetchError``, deciding if it is retryable."""
        if isinstance(exc, httpx.TimeoutException):
            return self._timed_out()
        if isinstance(exc, httpx.ConnectError):
            return _connect_error(exc, url)
        if isinstance(exc, httpx.RemoteProtocolError):
            text = str(exc)
            # h11 says "Server disconnected without sending a response" or "peer closed
            # connection without sending complete message body": the connection dropped,
            # which is worth a retry. Anything else is a server speaking broken HTTP.
            if "disconnected" in text or "peer closed" in text:
                return FetchError(
                    "connection closed mid-response",
                    hint="the server dropped the connection; try again later",
                    retryable=True,
                )
            return FetchError(
                f"malformed HTTP response ({text})",
                hint="the server is not speaking valid HTTP; check the URL and port",
            )
        if isinstance(exc, httpx.NetworkError):
            return FetchError(
                f"network error ({exc})",
                hint="the connection failed mid-request; try again later",
                retryable=True,
            )
        if isinstance(exc, httpx.DecodingError):
            return FetchError(
                f"could not decode the response body ({exc})",
                hint="the server sent a corrupt compressed body; try again later",
            )
        return FetchError(f"HTTP error ({type(exc).__name__}: {exc})", hint="check the URL")

    # -- many URLs ---------------------------------------------------------------------------

    def fetch_many(
        self, urls: Iterable[str]
    ) -> Generator[tuple[str, Fetched | FetchError], None, None]:
        """Fetch URLs on ``policy.concurrency`` threads, yielding each result as it finishes.

        Every input URL is yielded exactly once (duplicates included), failures as the
        ``FetchError`` instead of raising. Only a bounded window of URLs is taken from
        ``urls`` at a time, so a long generator is not read into memory up front. Call
        ``close()`` on the generator (or let it be collected) to stop early.
        """
        workers = self.policy.concurrency
        window = 2 * workers  # keep workers busy while the caller handles a result
        pending: dict[Future[Fetched | FetchError], str] = {}
        remaining = iter(urls)
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="citewire-fetch")
        try:
            while True:
                for url in itertools.islice(remaining, window - len(pending)):
                    pending[pool.submit(self._fetch_or_error, url)] = url
                if not pending:
                    return
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield pending.pop(future), future.result()
        finally:
            # Reached early when the caller stops iterating: drop queued work, let running
            # fetches finish (each is bounded by the policy) so no thread outlives the client.
            pool.shutdown(wait=True, cancel_futures=True)

    def _fetch_or_error(self, url: str) -> Fetched | FetchError:
        try:
            return self.fetch(url)
        except FetchError as error:
            return error


# -- helpers -------------------------------------------------------------------------------


def sniff_content_type(body: bytes) -> str | None:
    """Guess a media type from the first bytes, or None if they are not a type we read."""
    head = body[:_SNIFF_WINDOW].removeprefix(b"\xef\xbb\xbf").lstrip().lower()
    if head.startswith(b"%pdf-"):
        return "application/pdf"
    if head.startswith((b"<?xml", b"<rss", b"<feed", b"<rdf:rdf")):
        if b"<rss" in head or b"<rdf:rdf" in head:
            return "application/rss+xml"
        if b"<feed" in head:
            return "application/atom+xml"
        if b"<html" in head:
            return "application/xhtml+xml"
        return "application/xml"
    if head.startswith((b"<!doctype html", b"<html")) or (
        head.startswith(b"<!--") and b"<html" in head
    ):
        return "text/html"
    if head.startswith((b"{", b"[")):
        return "application/json"
    return None


@functools.cache
def _shared_ssl_context() -> ssl.SSLContext:
    # Loading the CA bundle costs ~30 ms, paid by every Client that builds its own context;
    # one context is safe to share between clients and threads, so build it once.
    return httpx.create_ssl_context()


def _parse_http_url(url: str) -> httpx.URL:
    hint = "give a full address starting with http:// or https://"
    try:
        parsed = httpx.URL(url.strip())
    except httpx.InvalidURL as exc:
        raise FetchError(f"not an http(s) URL: {url!r} ({exc})", hint=hint) from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise FetchError(f"not an http(s) URL: {url!r}", hint=hint)
    return parsed


def _redirect_target(url: httpx.URL, location: str) -> httpx.URL:
    try:
        target = url.join(location.strip())
    except httpx.InvalidURL as exc:
        raise FetchError(
            f"redirected to an invalid URL {location!r}", hint="the site is misconfigured"
        ) from exc
    if target.scheme not in ("http", "https") or not target.host:
        raise FetchError(
            f"redirected to a non-http(s) URL {location!r}", hint="the site is misconfigured"
        )
    # httpx does not send fragments, so two Locations differing only by one are the same hop.
    return target.copy_with(fragment=None)


def _parse_content_type(header: str) -> tuple[str, str | None]:
    media_type, _, params = header.partition(";")
    charset = None
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip("\"'").lower() or None
    return media_type.strip().lower(), charset


def _parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date)."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _too_large(cap: int) -> FetchError:
    return FetchError(
        f"response larger than {_human_bytes(cap)}",
        hint="the page is too big to be an article; raise the size cap if it really is one",
    )


def _human_bytes(count: int) -> str:
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if count >= size:
            return f"{count / size:.4g} {unit}"
    return f"{count} bytes"


def _connect_error(exc: httpx.ConnectError, url: httpx.URL) -> FetchError:
    cause = root_cause(exc)
    if isinstance(cause, ConnectionRefusedError):
        return FetchError(
            "connection refused",
            hint="nothing is listening at that address; check the URL and port",
            retryable=True,
        )
    if isinstance(cause, socket.gaierror):
        # EAI_AGAIN is a resolver hiccup; "no such name" will not fix itself in a second.
        return FetchError(
            f"could not resolve host {url.host}",
            hint="check the spelling of the domain and your network connection",
            retryable=cause.errno == socket.EAI_AGAIN,
        )
    if isinstance(cause, ssl.SSLError):
        return FetchError(
            f"TLS handshake failed ({cause.reason or cause})",
            hint="the site's certificate could not be verified; check the URL",
        )
    return FetchError(
        f"could not connect ({exc})", hint="check your network connection", retryable=True
    )


def root_cause(exc: BaseException) -> BaseException:
    # httpx wraps httpcore's exception, which wraps the socket error: walk to the bottom.
    # httpcore chains implicitly (__context__), httpx explicitly (__cause__).
    seen: set[int] = set()
    while id(exc) not in seen:
        seen.add(id(exc))
        inner = exc.__cause__ or exc.__context__
        if inner is None:
            break
        exc = inner
    return exc


_AnyAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _public_address(url: httpx.URL) -> str:
    """Resolve the URL's host; return one address if *every* address is public, else raise."""
    host = url.host
    try:
        addresses: list[_AnyAddress] = [ipaddress.ip_address(host)]
    except ValueError:
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise FetchError(
                f"could not resolve host {host}",
                hint="check the spelling of the domain and your network connection",
                retryable=exc.errno == socket.EAI_AGAIN,
            ) from exc
        addresses = [ipaddress.ip_address(str(info[4][0])) for info in infos]
    if not addresses:
        raise FetchError(f"could not resolve host {host}", hint="check the domain")
    # Check all of them, not just the first: the OS may connect to any one, and one public
    # address among private ones is a classic way to sneak past a first-only check.
    for address in addresses:
        # IPv4 smuggled inside IPv6 (::ffff:a.b.c.d, 6to4) reaches the IPv4 host: judge that.
        if isinstance(address, ipaddress.IPv6Address):
            address = address.ipv4_mapped or address.sixtofour or address
        kind = _non_public_kind(address)
        if kind is not None:
            where = "" if str(address) == host else f" (from {host})"
            raise FetchError(
                f"address {address}{where} is {kind} (refused when serving)",
                hint="only public internet addresses can be fetched here; "
                "ingest local content with the CLI instead",
            )
    return str(addresses[0])


def _non_public_kind(address: _AnyAddress) -> str | None:
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_unspecified:
        return "unspecified"
    if address.is_multicast:
        return "multicast"
    if address.is_private:
        return "private"
    if address.is_reserved:
        return "reserved"
    if not address.is_global:  # e.g. 100.64.0.0/10, carrier-grade NAT
        return "not publicly routable"
    return None
