"""fetch.py against a real HTTP server on 127.0.0.1 (tests/support/httpserver.py).

Timeouts and backoffs are shrunk to fractions of a second so the whole file runs in a few
seconds; the two tests that exercise address pinning and redirects *from* a public address use
``httpx.MockTransport``, because the only server a test can run is on a loopback address.
"""

from __future__ import annotations

import dataclasses
import gzip
import socket
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from citewire.errors import ConfigError, FetchError
from citewire.fetch import Fetched, Fetcher, FetchPolicy, sniff_content_type
from tests.support.httpserver import LocalHTTPServer, closed_port_url, http_server

__all__ = ["http_server"]  # re-exported so pytest sees the fixture in this module

# Fast defaults for tests; individual tests override what they exercise.
FAST = FetchPolicy(timeout=2.0, retries=0, backoff=0.01)
HTML = "<!doctype html><html><head><title>Hello</title></head><body><p>News.</p></body></html>"

MakeFetcher = Callable[..., Fetcher]


@pytest.fixture
def make_fetcher() -> Iterator[MakeFetcher]:
    """``make_fetcher(retries=2, ...)``: a Fetcher with FAST plus overrides, closed afterwards."""
    made: list[Fetcher] = []

    def make(transport: httpx.BaseTransport | None = None, **changes: Any) -> Fetcher:
        fetcher = Fetcher(dataclasses.replace(FAST, **changes), transport=transport)
        made.append(fetcher)
        return fetcher

    yield make
    for fetcher in made:
        fetcher.close()


def fetch_error(fetcher: Fetcher, url: str) -> FetchError:
    with pytest.raises(FetchError) as caught:
        fetcher.fetch(url)
    return caught.value


# -- plain responses ---------------------------------------------------------------------------


def test_fetches_an_html_page(http_server: LocalHTTPServer, make_fetcher: MakeFetcher) -> None:
    url = http_server.add("/article", body=HTML)

    fetched = make_fetcher().fetch(url)

    assert fetched == Fetched(
        url=url,
        requested_url=url,
        status=200,
        content_type="text/html",
        charset="utf-8",
        body=HTML.encode(),
    )
    request = http_server.requests[-1]
    assert request.headers["User-Agent"].startswith("citewire/")
    assert "text/html" in request.headers["Accept"]


@pytest.mark.parametrize(
    ("header", "media_type", "charset"),
    [
        ('text/html; charset="ISO-8859-1"', "text/html", "iso-8859-1"),
        ("Text/HTML;Charset=UTF-8", "text/html", "utf-8"),
        ("text/plain; format=flowed; charset=windows-1252", "text/plain", "windows-1252"),
        ("application/rss+xml", "application/rss+xml", None),
        ("application/xml; charset=", "application/xml", None),
    ],
)
def test_content_type_and_charset_come_from_the_header(
    http_server: LocalHTTPServer,
    make_fetcher: MakeFetcher,
    header: str,
    media_type: str,
    charset: str | None,
) -> None:
    url = http_server.add("/page", body="<?xml version='1.0'?><rss/>", content_type=header)

    fetched = make_fetcher().fetch(url)

    assert (fetched.content_type, fetched.charset) == (media_type, charset)


def test_gzip_body_is_decoded(http_server: LocalHTTPServer, make_fetcher: MakeFetcher) -> None:
    url = http_server.add(
        "/gz", body=gzip.compress(HTML.encode()), headers={"Content-Encoding": "gzip"}
    )

    assert make_fetcher().fetch(url).body == HTML.encode()


# -- status codes and retries ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "reason"), [(404, "Not Found"), (403, "Forbidden"), (400, "Bad Request")]
)
def test_client_errors_are_not_retried(
    http_server: LocalHTTPServer, make_fetcher: MakeFetcher, status: int, reason: str
) -> None:
    url = http_server.add("/gone", body="nope", status=status)

    error = fetch_error(make_fetcher(retries=2), url)

    assert str(error).startswith(f"HTTP {status} {reason}")
    assert error.hint
    assert not error.retryable
    assert http_server.hits("/gone") == 1


@pytest.mark.parametrize("status", [503, 500, 429, 408])
def test_flaky_route_succeeds_after_retries(
    http_server: LocalHTTPServer, make_fetcher: MakeFetcher, status: int
) -> None:
    url = http_server.add_flaky("/flaky", failures=2, status=status, body=HTML)

    fetched = make_fetcher(retries=2).fetch(url)

    assert fetched.body == HTML.encode()
    assert http_server.hits("/flaky") == 3


def test_gives_up_when_retries_run_out(
    http_server: LocalHTTPServer, make_fetcher: MakeFetcher
) -> None:
    url = http_server.add_flaky("/down", failures=10)

    error = fetch_error(make_fetcher(retries=2), url)

    assert str(error) == "HTTP 503 Service Unavailable"
    assert error.retryable
    assert http_server.hits("/down") == 3


def test_retry_after_is_honoured(http_server: LocalHTTPServer, make_fetcher: MakeFetcher) -> None:
    url = http_server.add_flaky(
        "/busy", failures=1, status=429, fail_headers={"Retry-After": "1"}, body=HTML
    )

    started = time.monotonic()
    make_fetcher(retries=1, backoff=0.0).fetch(url)

    # backoff is zero, so only the server's Retry-After explains the wait.
    assert time.monotonic() - started >= 0.95
    assert http_server.hits("/busy") == 2


def test_retry_after_beyond_the_cap_fails_at_once(
    http_server: LocalHTTPServer, make_fetcher: MakeFetcher
) -> None:
    url = http_server.add_flaky(
        "/later", failures=1, status=503, fail_headers={"Retry-After": "3600"}
    )

    error = fetch_error(make_fetcher(retries=2), url)

    assert str(error) == "HTTP 503 Service Unavailable (server asks to retry after 3600s)"
    assert http_server.hits("/later") == 1


# -- timeouts ----------------------------------------------------------------------------------


def test_slow_headers_time_out(http_server: LocalHTTPServer, make_fetcher: MakeFetcher) -> None:
    url = http_server.add("/slow", body=HTML, delay=3.0)

    started = time.monotonic()
    error = fetch_error(make_fetcher(timeout=0.5), url)

    assert str(error) == "timed out after 0.5s"
    assert error.retryable
    assert time.monotonic() - started < 1.5


def test_a_body_dripping_in_times_out(
    http_server: LocalHTTPServer, make_fetcher: MakeFetcher
) -> None:
    # Each chunk arrives well within the read timeout; only the overall deadline catches it.
    url = http_server.add("/drip", body=[b"<p>drip</p>"] * 30, chunk_delay=0.1)

    started = time.monotonic()
    error = fetch_error(make_fetcher(timeout=0.5), url)

    assert str(error) == "timed out after 0.5s"
    assert time.monotonic() - started < 1.5


def test_timeouts_are_retried(http_server: LocalHTTPServer, make_fetcher: MakeFetcher) -> None:
    url = http_server.add("/slow", body=HTML, delay=3.0)

    error = fetch_error(make_fetcher(timeout=0.3, retries=1), url)

    assert str(error) == "timed out after 0.3s"
    assert http_server.hits("/slow") == 2


# -- redirects ---------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_follows_a_redirect_chain(
    http_server: LocalHTTPServer, make_fetcher: MakeFetcher, status: int
) -> None:
    final_url = http_server.add_redirect_chain("/moved", hops=3, body=HTML, status=status)
    start_url = http_server.url("/moved")

    fetched = make_fetcher().fetch(start_url)

    assert fetched.url == final_url
    assert fetched.requested_url == start_url
    assert fetched.body == HTML.encode()
    assert http_server.hits("/moved/final") == 1


def test_follows_relative_and_absolute_locations(
    http_server: LocalHTTPServer, make_fetcher: MakeFetcher
) -> None:
    http_server.add_redirect("/a/start", "../b/next?x=1#frag")
    http_server.add_redirect("/b/next", http_server.url("/c/end"))
    final_url = http_server.add("/c/end", body=HTML)

    assert make_fetcher().fetch(http_server.url("/a/start")).url == final_url


def test_redirect_limit(http_server: LocalHTTPServer, make_fetcher: MakeFetcher) -> None:
    http_server.add_redirect_chain("/five", hops=5)
    http_server.add_redirect_chain("/six", hops=6)
    fetcher = make_fetcher(max_redirects=5)

    assert fetcher.fetch(http_server.url("/five")).status == 200
    error = fetch_error(fetcher, http_server.url("/six"))

    assert str(error) == "more than 5 redirects"
    assert http_server.hits("/six/final") == 0


def test_redirect_loop_fails_clearly(
    http_server: LocalHTTPServer, make_fetcher: MakeFetcher
) -> None:
    url = http_server.add_redirect_loop("/loop")

    error = fetch_error(make_fetcher(), url)

    assert str(error) == f"redirect loop: {url} was already visited"
    assert "browser" in error.hint
    assert http_server.hits("/loop") == 1
    assert http_server.hits("/loop/again") == 1


def test_redirect_to_a_non_http_url_is_refused(
    http_server: LocalHTTPServer, make_fetcher: MakeFetcher
) -> None:
    url = http_server.add_redirect("/ftp", "ftp://files.example/story.txt")

    error = fetch_error(make_fetcher(), url)

    assert str(error) == "redirected to a non-http(s) URL 'ftp://files.example/story.txt'"


# -- size and type -----------------------------------------------------------------------------


def test_streamed_body_over_the_cap_is_cut_off(
    http_server: LocalHTTPServer, make_fetcher: MakeFetcher
) -> None:
    url = http_server.add_huge("/huge", size=8 * 2**20, chunk_size=16 * 1024)

    error = fetch_error(make_fetcher(max_bytes=64 * 1024), url)

    assert str(error) == "response larger than 64 KiB"
    assert not error.retryable


def test_declared_length_over_the_cap_is_refused_before_reading(
    http_server: LocalHTTPServer, make_fetcher: MakeFetcher
) -> None:
    url = http_server.add_huge("/huge", size=20 * 2**20, declare_length=True)

    error = fetch_error(make_fetcher(), url)

    assert str(error) == "response larger than 10 MiB"


def test_the_cap_applies_to_decompressed_bytes(
    http_server: LocalHTTPServer, make_fetcher: MakeFetcher
) -> None:
    bomb = gzip.compress(b"\0" * 2**20)  # 1 MiB of zeros squeezes into about 1 KiB
    url = http_server.add(
        "/bomb", body=bomb, headers={"Content-Encoding": "gzip"}, content_type="text/plain"
    )

    error = fetch_error(make_fetcher(max_bytes=64 * 1024), url)

    assert str(error) == "response larger than 64 KiB"


def test_disallowed_content_type_is_refused(
    http_server: LocalHTTPServer, make_fetcher: MakeFetcher
) -> None:
    url = http_server.add("/photo", body=b"\x89PNG\r\n\x1a\n", content_type="image/png")

    error = fetch_error(make_fetcher(), url)

    assert str(error) == "unsupported content type image/png"


@pytest.mark.parametrize("declared", [None, "application/octet-stream"])
@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "application/pdf"),
        (b'<?xml version="1.0"?>\n<rss version="2.0"><channel/></rss>', "application/rss+xml"),
        (
            b"<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom'/>",
            "application/atom+xml",
        ),
        (b"\n  <!DOCTYPE html><html><body>x</body></html>", "text/html"),
        (b"<html><body>x</body></html>", "text/html"),
        (b'{"items": []}', "application/json"),
        (b'[{"title": "x"}]', "application/json"),
    ],
)
def test_content_type_is_sniffed_when_not_declared(
    http_server: LocalHTTPServer,
    make_fetcher: MakeFetcher,
    declared: str | None,
    body: bytes,
    expected: str,
) -> None:
    url = http_server.add("/thing", body=body, content_type=declared)

    fetched = make_fetcher().fetch(url)

    assert fetched.content_type == expected
    assert fetched.charset is None
    assert fetched.body == body


def test_unrecognisable_bytes_without_a_type_are_refused(
    http_server: LocalHTTPServer, make_fetcher: MakeFetcher
) -> None:
    url = http_server.add("/blob", body=b"\x00\x01\x02binary", content_type=None)

    error = fetch_error(make_fetcher(), url)

    assert str(error).startswith("unsupported content type (none declared)")


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\xef\xbb\xbf<?xml version='1.0'?><!-- c --><rdf:RDF>", "application/rss+xml"),
        (b"<?xml version='1.0'?><?xml-stylesheet href='a.xsl'?><feed>", "application/atom+xml"),
        (
            b"<?xml version='1.0'?><html xmlns='http://www.w3.org/1999/xhtml'>",
            "application/xhtml+xml",
        ),
        (b"<?xml version='1.0'?><sitemap/>", "application/xml"),
        (b"<!-- generated --><html>", "text/html"),
        (b"Just some words.", None),
        (b"", None),
    ],
)
def test_sniff_content_type(head: bytes, expected: str | None) -> None:
    assert sniff_content_type(head) == expected


# -- broken connections and servers ------------------------------------------------------------


def test_connection_refused(make_fetcher: MakeFetcher) -> None:
    error = fetch_error(make_fetcher(), closed_port_url())

    assert str(error) == "connection refused"
    assert error.retryable


def test_connection_closed_mid_response_is_retried(
    http_server: LocalHTTPServer, make_fetcher: MakeFetcher
) -> None:
    url = http_server.add_drop("/drop")

    error = fetch_error(make_fetcher(retries=1), url)

    assert str(error) == "connection closed mid-response"
    assert http_server.hits("/drop") == 2


def test_truncated_chunked_body(http_server: LocalHTTPServer, make_fetcher: MakeFetcher) -> None:
    url = http_server.add_truncated_chunked("/chunks")

    assert str(fetch_error(make_fetcher(), url)) == "connection closed mid-response"


def test_garbage_instead_of_http(http_server: LocalHTTPServer, make_fetcher: MakeFetcher) -> None:
    url = http_server.add_garbage("/garbage")

    error = fetch_error(make_fetcher(retries=2), url)

    assert str(error).startswith("malformed HTTP response")
    assert http_server.hits("/garbage") == 1


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/story.txt",
        "file:///etc/passwd",
        "example.com/news",
        "javascript:alert(1)",
        "mailto:desk@example.com",
        "http://",
        "",
    ],
)
def test_non_http_urls_are_refused(make_fetcher: MakeFetcher, url: str) -> None:
    error = fetch_error(make_fetcher(), url)

    assert str(error).startswith("not an http(s) URL")
    assert "http://" in error.hint


# -- private addresses -------------------------------------------------------------------------


def test_block_private_refuses_the_loopback_server(
    http_server: LocalHTTPServer, make_fetcher: MakeFetcher
) -> None:
    url = http_server.add("/secret", body=HTML)

    error = fetch_error(make_fetcher(block_private=True), url)

    assert str(error) == "address 127.0.0.1 is loopback (refused when serving)"
    assert http_server.hits("/secret") == 0


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://10.0.0.1/", "address 10.0.0.1 is private"),
        ("http://192.168.1.1:8080/admin", "address 192.168.1.1 is private"),
        ("http://169.254.169.254/latest/meta-data/", "address 169.254.169.254 is link-local"),
        ("http://[::1]/", "address ::1 is loopback"),
        ("http://[::ffff:127.0.0.1]/", "address 127.0.0.1 (from ::ffff:127.0.0.1) is loopback"),
        ("http://0.0.0.0/", "address 0.0.0.0 is unspecified"),
        ("http://100.64.0.1/", "address 100.64.0.1 is not publicly routable"),
        ("http://localhost:9/", "(from localhost) is loopback"),
    ],
)
def test_block_private_refuses_non_public_addresses(
    make_fetcher: MakeFetcher, url: str, message: str
) -> None:
    error = fetch_error(make_fetcher(block_private=True), url)

    assert message in str(error)
    assert str(error).endswith("(refused when serving)")
    assert not error.retryable


def test_block_private_refuses_a_redirect_to_loopback(
    http_server: LocalHTTPServer, make_fetcher: MakeFetcher
) -> None:
    # The first hop must be a public address, which no test server can have: a mock transport
    # plays the public site and redirects to the real (loopback) server.
    secret_url = http_server.add("/secret", body=HTML)
    seen: list[str] = []

    def public_site(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(302, headers={"Location": secret_url})

    fetcher = make_fetcher(transport=httpx.MockTransport(public_site), block_private=True)
    error = fetch_error(fetcher, "http://93.184.216.34/story")

    assert str(error) == "address 127.0.0.1 is loopback (refused when serving)"
    assert seen == ["http://93.184.216.34/story"]
    assert http_server.hits("/secret") == 0


def fake_dns(monkeypatch: pytest.MonkeyPatch, answers: dict[str, list[str]]) -> None:
    def getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        return [
            (
                socket.AF_INET6 if ":" in ip else socket.AF_INET,
                socket.SOCK_STREAM,
                6,
                "",
                (ip, port),
            )
            for ip in answers[host]
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def test_block_private_pins_the_checked_address(
    monkeypatch: pytest.MonkeyPatch, make_fetcher: MakeFetcher
) -> None:
    fake_dns(monkeypatch, {"news.example": ["93.184.216.34"]})
    sent: list[httpx.Request] = []

    def site(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, headers={"Content-Type": "text/html"}, content=HTML.encode())

    fetcher = make_fetcher(transport=httpx.MockTransport(site), block_private=True)
    fetched = fetcher.fetch("https://news.example/story")

    # The connection goes to the address that was checked, while Host and SNI keep the name.
    assert fetched.url == "https://news.example/story"
    assert str(sent[0].url) == "https://93.184.216.34/story"
    assert sent[0].headers["Host"] == "news.example"
    assert sent[0].extensions["sni_hostname"] == "news.example"


def test_block_private_checks_every_resolved_address(
    monkeypatch: pytest.MonkeyPatch, make_fetcher: MakeFetcher
) -> None:
    fake_dns(monkeypatch, {"mixed.example": ["93.184.216.34", "10.1.2.3"]})
    sent: list[httpx.Request] = []

    def site(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, content=b"<html></html>")

    fetcher = make_fetcher(transport=httpx.MockTransport(site), block_private=True)
    error = fetch_error(fetcher, "http://mixed.example/")

    assert str(error) == "address 10.1.2.3 (from mixed.example) is private (refused when serving)"
    assert sent == []


# -- many URLs ---------------------------------------------------------------------------------


def test_fetch_many_bounds_concurrency_and_yields_every_url_once(
    http_server: LocalHTTPServer, make_fetcher: MakeFetcher
) -> None:
    good = [http_server.add(f"/story/{n}", body=HTML, delay=0.15) for n in range(9)]
    missing = http_server.url("/missing")
    refused = closed_port_url()
    urls = [*good, missing, "ftp://example.com/x", refused, good[0]]  # good[0] twice

    results = list(make_fetcher(concurrency=3).fetch_many(iter(urls)))

    assert Counter(url for url, _ in results) == Counter(urls)
    outcomes = dict(results)
    assert all(isinstance(outcomes[url], Fetched) for url in good)
    assert str(outcomes[missing]) == "HTTP 404 Not Found"
    assert str(outcomes["ftp://example.com/x"]).startswith("not an http(s) URL")
    assert str(outcomes[refused]) == "connection refused"
    # Ten slow requests on three workers: the server must have seen three at once, never more.
    assert http_server.max_in_flight == 3


def test_fetch_many_can_be_abandoned_early(
    http_server: LocalHTTPServer, make_fetcher: MakeFetcher
) -> None:
    urls = [http_server.add(f"/story/{n}", body=HTML, delay=0.2) for n in range(20)]

    started = time.monotonic()
    results = make_fetcher(concurrency=2).fetch_many(urls)
    first_url, first = next(results)
    results.close()

    assert first_url in urls and isinstance(first, Fetched)
    # Queued URLs are dropped; only the ones already running are waited for.
    assert time.monotonic() - started < 1.5
    assert sum(http_server.hits(f"/story/{n}") for n in range(20)) <= 6


def test_policy_rejects_nonsense() -> None:
    with pytest.raises(ConfigError):
        FetchPolicy(concurrency=0)
    with pytest.raises(ConfigError):
        FetchPolicy(timeout=0)
