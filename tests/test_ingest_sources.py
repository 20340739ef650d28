"""Ingesting HTML folders, article URLs and RSS/Atom feeds, with a real HTTP server on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

from citewire.engine import Engine
from citewire.fetch import FetchPolicy
from citewire.ingest import IngestOptions
from tests.support.corpus import articles, html_page
from tests.support.httpserver import LocalHTTPServer, closed_port_url, http_server

__all__ = ["http_server"]

FAST = IngestOptions(fetch=FetchPolicy(timeout=1.0, retries=0))


def test_html_folder(engine: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "pages"
    (folder / "world").mkdir(parents=True)
    records = articles()
    (folder / "world" / "truce.html").write_text(html_page(records[0]))
    (folder / "world" / "talks.htm").write_text(html_page(records[2], dated=False, canonical=False))
    (folder / "ai.html").write_text(html_page(records[3]))
    (folder / "notes.bin").write_bytes(b"\x00\x01")  # not an article extension: not taken
    report = engine.ingest([str(folder)])
    assert (report.added, report.failed) == (3, ())
    by_title = {a.title: a for a in engine.store.iter_articles()}
    truce = by_title["Veloria rejects temporary ceasefire, demands guarantees"]
    assert truce.url == records[0]["url"]
    assert truce.outlet == "Meridian Wire"
    assert truce.published_at is not None and truce.published_at.isoformat().startswith(
        "2026-04-07T09:30"
    )
    assert "Most read" not in truce.text and "Sign in" not in truce.text
    assert "not accept a temporary ceasefire" in truce.text
    talks = by_title["Veloria talks stall over guarantees"]
    # No date and no URL on the page: recorded as missing, never invented.
    assert talks.published_at is None and talks.url is None
    assert set(talks.metadata["missing"]) >= {"published_at", "url"}


def test_urls_and_failures(engine: Engine, http_server: LocalHTTPServer) -> None:
    records = articles()
    good = http_server.add("/world/truce", body=html_page(records[0]))
    dead = http_server.add("/gone", status=404, body="not here")
    loop = http_server.add_redirect_loop("/loop")
    image = http_server.add(
        "/photo", body=b"\x89PNG\r\n\x1a\n" + b"0" * 100, content_type="image/png"
    )
    slow = http_server.add("/slow", body=html_page(records[3]), delay=3.0)
    refused = closed_port_url("/x")
    report = engine.ingest([good, dead, loop, image, slow, refused], FAST)
    assert report.added == 1
    reasons = {f.source: f.reason for f in report.failed}
    assert set(reasons) == {dead, loop, image, slow, refused}
    assert "404" in reasons[dead]
    assert "redirect" in reasons[loop]
    assert "image/png" in reasons[image]
    assert "timed out" in reasons[slow]
    assert all("\n" not in r for r in reasons.values())
    hits = engine.search("temporary ceasefire guarantees", k=1)
    # The page declares a canonical URL: that is the article's identity, not the fetched URL.
    assert hits[0].article.url == records[0]["url"]


def _rss(items: list[tuple[str, str, str | None]]) -> str:
    entries = "".join(
        f"<item><title>{title}</title><link>{link}</link>"
        f"<pubDate>Tue, 07 Apr 2026 09:30:00 GMT</pubDate>"
        + (f"<description><![CDATA[{content}]]></description>" if content else "")
        + "</item>"
        for title, link, content in items
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Meridian Wire World</title>'
        f"<link>https://meridianwire.example</link>{entries}</channel></rss>"
    )


def test_feed_entries_fetched_with_fallback(engine: Engine, http_server: LocalHTTPServer) -> None:
    records = articles()
    page = http_server.add("/a/truce", body=html_page(records[0]))
    missing = http_server.url("/a/missing")  # 404: falls back to the feed's own content
    dead_no_content = http_server.url("/a/nothing")
    feed = http_server.add(
        "/feed.xml",
        body=_rss(
            [
                ("Veloria rejects truce", page, None),
                ("AI report", missing, "<p>" + str(records[3]["text"]) + "</p>"),
                ("Empty entry", dead_no_content, None),
            ]
        ),
        content_type="application/rss+xml",
    )
    report = engine.ingest([feed], FAST)
    assert report.added == 2
    assert len(report.failed) == 1 and "nothing" in report.failed[0].reason
    arts = {a.title: a for a in engine.store.iter_articles()}
    fallback = arts["AI report"]
    assert "404" in str(fallback.metadata.get("link_failed"))
    assert fallback.published_at is not None and fallback.published_at.day == 7
    # Re-running the feed changes nothing.
    again = engine.ingest([feed], FAST)
    assert (again.added, again.unchanged) == (0, 2)


def test_size_limit_blank_and_encodings(engine: Engine, tmp_path: Path) -> None:
    big = tmp_path / "big.html"
    big.write_text(html_page(articles()[0]) + "<!--" + "x" * 50_000 + "-->")
    blank = tmp_path / "blank.jsonl"
    blank.write_text("\n\n   \n")
    latin = tmp_path / "latin.txt"
    latin.write_bytes(
        "Señor Müller’s café\n\nThe minister said the café in Zürich would reopen after the "
        "inspection, according to a statement issued on Monday.".encode("cp1252")
    )
    options = IngestOptions(max_file_bytes=20_000)
    report = engine.ingest([str(big), str(blank), str(latin)], options)
    reasons = {Path(f.source).name: f.reason for f in report.failed}
    assert set(reasons) == {"big.html", "blank.jsonl"}
    assert "limit" in reasons["big.html"] and "no records" in reasons["blank.jsonl"]
    (stored,) = list(engine.store.iter_articles())
    assert "Zürich" in stored.text and stored.title == "Señor Müller’s café"
