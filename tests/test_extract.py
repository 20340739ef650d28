"""citewire.extract: every input kind, hostile inputs, encodings, and the shared data sets.

Fixtures are written here, in our own words, so the tests run without /work/shared; the two
data-set tests skip when it is absent.
"""

from __future__ import annotations

import io
import json
import os
import random
from datetime import UTC, datetime
from pathlib import Path

import pypdf
import pytest

from citewire.errors import ConfigError, ExtractError
from citewire.extract import (
    FeedEntry,
    FieldMap,
    decode,
    detect_kind,
    entry_document,
    extract,
    extract_html,
    extract_pdf,
    extract_records,
    extract_text,
    parse_feed,
)
from citewire.models import Document

SHARED_DATA = Path(os.environ.get("CITEWIRE_SHARED_DATA", "/work/shared/data"))

# A news page with the usual furniture: nav, a date banner, ads, comments, a "most read" box
# and a copyright footer. None of it may reach the article text, and neither the banner date
# nor the copyright year may become the publication date.
NEWS_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Harbour bridge reopens after two-year repair | The Coastal Ledger</title>
<meta property="og:site_name" content="The Coastal Ledger">
<meta property="og:title" content="Harbour bridge reopens after two-year repair">
<meta property="article:published_time" content="2022-06-17T09:45:00+02:00">
<meta name="author" content="Maria Okafor">
<link rel="canonical" href="https://www.coastalledger.example/news/harbour-bridge-reopens">
<script>window.dataLayer = [{"page": "article"}]; function track() {}</script>
<style>.ad { display: block }</style>
</head>
<body>
<header>
<nav><ul><li><a href="/">Home</a></li><li><a href="/news">News</a></li>
<li><a href="/sport">Sport</a></li><li><a href="/weather">Weather</a></li></ul></nav>
<div class="topbar">Friday, 14 July 2023 | Subscribe | Log in</div>
</header>
<div class="ad-banner ad">ADVERTISEMENT: Save 50% on your first year of premium access!</div>
<main>
<article>
<h1>Harbour bridge reopens after two-year repair</h1>
<p class="byline">By <span class="author">Maria Okafor</span></p>
<p>The Harbour Street bridge reopened to traffic on Friday morning, two years after engineers
closed it when inspectors found corrosion in three of its steel supports.</p>
<p>City officials said the repair cost 41 million euros, about 6 million more than first
budgeted, because replacement steel had to be ordered from abroad during a period of high
prices.</p>
<p>"We promised the people of the east side their bridge back, and today they have it," the
mayor told a small crowd gathered at the southern end of the span shortly after 7 a.m.</p>
<div class="ad">Sponsored: The best hiking boots of the season, reviewed.</div>
<p>Commuters who had been making a 25-minute detour through the industrial district said the
reopening would change their daily routine. Shop owners near the bridge said business had
fallen by a third while it was closed.</p>
<p>The transport authority said buses on routes 4 and 11 would return to their original
timetables from Monday.</p>
</article>
<section class="comments" id="comments"><h3>Comments (2)</h3>
<div class="comment"><p>Finally! Took them long enough.</p></div>
<div class="comment"><p>Does anyone know if the cycle lane is open too?</p></div>
</section>
</main>
<aside class="related"><h3>Most read</h3><ul><li><a href="/a">Storm warning for the weekend</a>
</li><li><a href="/b">Council approves new budget</a></li></ul></aside>
<footer><p>© 2023 The Coastal Ledger. All rights reserved.</p>
<a href="/privacy">Privacy</a></footer>
</body>
</html>
"""

STORY = (
    "<p>The regional council voted on Tuesday to extend the night bus service to the airport, "
    "after a year-long trial in which passenger numbers doubled.</p>"
    "<p>Councillors said the extension would be paid for by a small rise in parking charges in "
    "the city centre, which opposition members criticised as a tax on drivers.</p>"
)


def page_without_date_or_canonical() -> str:
    return (
        NEWS_PAGE.replace('<meta property="article:published_time" '
                          'content="2022-06-17T09:45:00+02:00">\n', "")
        .replace('<link rel="canonical" '
                 'href="https://www.coastalledger.example/news/harbour-bridge-reopens">\n', "")
        .replace('<meta property="og:site_name" content="The Coastal Ledger">\n', "")
    )  # fmt: skip


def only(results: object) -> Document:
    items = list(results)  # type: ignore[call-overload]
    assert len(items) == 1, items
    assert isinstance(items[0], Document), items[0]
    return items[0]


def only_error(results: object) -> ExtractError:
    items = list(results)  # type: ignore[call-overload]
    assert len(items) == 1, items
    assert isinstance(items[0], ExtractError), items[0]
    return items[0]


# --- HTML -------------------------------------------------------------------------------------


def test_news_page_main_text_and_metadata() -> None:
    doc = only(extract(NEWS_PAGE.encode(), "pages/bridge.html"))
    assert doc.title == "Harbour bridge reopens after two-year repair"
    assert doc.url == "https://www.coastalledger.example/news/harbour-bridge-reopens"
    # +02:00 in the page, stored in UTC with the time of day kept.
    assert doc.published_at == datetime(2022, 6, 17, 7, 45, tzinfo=UTC)
    assert doc.date_precision == "second"
    assert doc.outlet == "The Coastal Ledger"
    assert doc.authors == ("Maria Okafor",)
    assert doc.source == "pages/bridge.html"
    assert doc.metadata["date_source"] == "metadata"
    assert "missing" not in doc.metadata
    assert doc.text.startswith("The Harbour Street bridge reopened")  # headline is the title
    assert "timetables from Monday." in doc.text
    for boilerplate in ("ADVERTISEMENT", "Sponsored", "Took them long", "Most read", "©", "Log in"):
        assert boilerplate not in doc.text
    assert "\n\n" in doc.text and "\n\n\n" not in doc.text  # one blank line between paragraphs


def test_page_without_date_or_canonical_records_what_is_missing() -> None:
    doc = extract_html(page_without_date_or_canonical(), "bridge.html")
    # The "Friday, 14 July 2023" banner and "© 2023" footer are not publication dates.
    assert doc.published_at is None and doc.date_precision is None
    assert doc.url is None
    assert doc.metadata["missing"] == ["published_at", "url"]
    assert "date_source" not in doc.metadata


def test_fetched_url_fills_url_and_outlet_when_the_page_has_none() -> None:
    url = "https://www.example-news.test/story?id=7"
    doc = only(extract(page_without_date_or_canonical().encode(), url, url=url))
    assert doc.url == url
    assert doc.outlet == "example-news.test"
    assert doc.metadata["missing"] == ["published_at"]


def test_json_ld_date_in_a_graph() -> None:
    json_ld = {
        "@context": "https://schema.org",
        "@graph": [
            {"@type": "WebSite", "name": "Night Desk"},
            {
                "@type": "NewsArticle",
                "headline": "Night buses",
                "datePublished": "2021-11-02T22:15:00Z",
            },
        ],
    }
    html = (
        "<html><head><title>Night buses</title>"
        f'<script type="application/ld+json">{json.dumps(json_ld)}</script>'
        f"</head><body><article><h1>Night buses</h1>{STORY}</article></body></html>"
    )
    doc = extract_html(html, "x.html")
    assert doc.published_at == datetime(2021, 11, 2, 22, 15, tzinfo=UTC)
    assert doc.date_precision == "second"


def test_date_from_the_url_path_is_day_precision() -> None:
    html = (
        '<html><head><title>Night buses</title><link rel="canonical" '
        'href="https://news.example.org/2021/05/04/night-buses/"></head>'
        f"<body><article>{STORY}</article></body></html>"
    )
    doc = extract_html(html, "x.html")
    assert doc.published_at == datetime(2021, 5, 4, tzinfo=UTC)
    assert doc.date_precision == "day"
    assert doc.metadata["date_source"] == "url"
    assert doc.outlet == "news.example.org"


def test_time_element_date() -> None:
    html = (
        "<html><head><title>Buses</title></head><body><article>"
        '<time itemprop="datePublished" datetime="2020-03-01T08:00:00-05:00">1 March</time>'
        f"{STORY}</article></body></html>"
    )
    doc = extract_html(html, "x.html")
    assert doc.published_at == datetime(2020, 3, 1, 13, 0, tzinfo=UTC)


def test_malformed_html_still_gives_text() -> None:
    html = (
        "<html><head><title>Unclosed</title><body><div><article><p>The ferry timetable changes on "
        "Sunday, the operator said, <b>with <i>fewer crossings at night" + STORY
    )
    doc = only(extract(html.encode(), "broken.html"))
    assert "ferry timetable changes" in doc.text
    assert "night bus service" in doc.text


def test_script_content_never_reaches_the_text() -> None:
    html = (
        "<html><body><script>document.write('<p>injected paragraph</p>'); var s = '</div>';"
        f"</script><article>{STORY}<script>alert('x')</script></article></body></html>"
    )
    doc = only(extract(html.encode(), "script.html"))
    assert "injected" not in doc.text and "alert" not in doc.text
    assert "night bus service" in doc.text


def test_huge_attribute_is_survived() -> None:
    blob = "A" * 1_000_000  # an inline base64 image, as CMSs emit
    html = f'<html><body><img src="data:image/png;base64,{blob}"><article>{STORY}</article>'
    doc = only(extract(html.encode(), "huge.html"))
    assert "night bus service" in doc.text and "AAAA" not in doc.text


@pytest.mark.parametrize(
    "html",
    [
        "<html><body><nav><a href='/'>Home</a> <a href='/news'>News</a></nav></body></html>",
        "<html><head><title>App</title></head><body><div id='root'></div>"
        "<script src='app.js'></script></body></html>",
        "<html><body>" + "<div>" * 5000 + "deep" + "</div>" * 5000 + "</body></html>",
    ],
    ids=["menu-only", "javascript-shell", "deeply-nested"],
)
def test_pages_without_an_article_are_one_error(html: str) -> None:
    error = only_error(extract(html.encode(), "page.html"))
    assert "no article text" in str(error)


# --- decoding ---------------------------------------------------------------------------------

WESTERN = "Señor Peña’s café served “naïve” crème brûlée for 5 € — the mayor’s favourite."


def test_cp1252_without_declaration() -> None:
    assert decode(WESTERN.encode("cp1252")) == WESTERN


def test_latin1_declared_is_read_as_cp1252() -> None:
    # Pages that say iso-8859-1 but use curly quotes: browsers read them as windows-1252.
    html = '<html><head><meta charset="iso-8859-1"></head><body>’quoted’</body></html>'
    assert "’quoted’" in decode(html.encode("cp1252"))


def test_utf8_bom_is_removed() -> None:
    text = decode(b"\xef\xbb\xbf" + WESTERN.encode("utf-8"))
    assert text == WESTERN


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_with_and_without_bom(encoding: str) -> None:
    assert decode(WESTERN.encode(encoding)).lstrip("\ufeff") == WESTERN


def test_declared_charset_that_is_wrong_falls_back() -> None:
    assert decode(WESTERN.encode("cp1252"), declared="utf-8") == WESTERN


def test_declared_charset_wins_over_guessing() -> None:
    russian = "Вчера президент заявил, что экономика растёт."
    assert decode(russian.encode("koi8-r"), declared="koi8-r") == russian


def test_meta_charset() -> None:
    html = f'<html><head><meta charset="windows-1252"></head><body>{WESTERN}</body></html>'
    assert WESTERN in decode(html.encode("cp1252"))


def test_meta_claiming_utf16_on_an_ascii_readable_page_is_ignored() -> None:
    html = '<html><head><meta charset="utf-16"></head><body>héllo</body></html>'
    assert decode(html.encode("utf-8")) == html


def test_binary_junk_is_refused() -> None:
    junk = random.Random(7).randbytes(4000)
    with pytest.raises(ExtractError, match="binary file"):
        decode(junk)
    png = b"\x89PNG\r\n\x1a\n" + random.Random(8).randbytes(500)
    error = only_error(extract(png, "picture.txt"))
    assert "binary file" in str(error)


def test_text_file_in_cp1252_through_extract() -> None:
    body = f"Café prices\n\n{WESTERN}\r\nSecond line.\r\n"
    doc = only(extract(body.encode("cp1252"), "notes/cafe.txt"))
    assert doc.title == "Café prices"
    assert doc.text == f"{WESTERN}\nSecond line."


def test_unicode_is_nfc() -> None:
    decomposed = "Cafe\u0301 society reopened on Monday after the renovation work finished."
    doc = extract_text(decomposed, "x.txt", markdown=False)
    assert doc.text.startswith("Café society")


# --- plain text and Markdown ------------------------------------------------------------------


def test_plain_text_title_is_a_short_first_line_before_a_blank_line() -> None:
    doc = extract_text("Tides rise\n\nThe sea wall held.\nIt rained.\n", "t.txt", markdown=False)
    assert doc.title == "Tides rise"
    assert doc.text == "The sea wall held.\nIt rained."
    assert doc.metadata["missing"] == ["published_at", "url"]


def test_plain_text_without_a_title() -> None:
    text = "The sea wall held through the night, officials said.\n\nIt rained until noon."
    doc = extract_text(text, "t.txt", markdown=False)
    assert doc.title is None
    assert doc.text == text


def test_markdown_front_matter_and_syntax() -> None:
    markdown = """---
title: "Night buses to the airport"
date: 2022-06-17
author: Ana Silva, Tom Berg
url: https://news.example.org/night-buses
---
# Night buses to the airport

The **regional council** voted to [extend the service](https://example.org/vote) after a
*year-long* trial.

## What changes

- Buses every `30` minutes
* Last departure at 2 a.m.

> "It is a lifeline," said one nurse.

![A bus at night](bus.jpg)

```
route 7: airport
```

[ref]: https://example.org/ref
"""
    doc = only(extract(markdown.encode(), "posts/buses.md"))
    assert doc.title == "Night buses to the airport"
    assert doc.published_at == datetime(2022, 6, 17, tzinfo=UTC)
    assert doc.date_precision == "day"
    assert doc.authors == ("Ana Silva", "Tom Berg")
    assert doc.url == "https://news.example.org/night-buses"
    assert doc.outlet == "news.example.org"
    assert doc.text == (
        "The regional council voted to extend the service after a\nyear-long trial.\n\n"
        "What changes\n\n- Buses every 30 minutes\n- Last departure at 2 a.m.\n\n"
        '"It is a lifeline," said one nurse.\n\nA bus at night\n\nroute 7: airport'
    )


def test_markdown_setext_title() -> None:
    doc = extract_text("Storm warning\n=============\n\nWinds of 90 km/h.", "s.md", markdown=True)
    assert doc.title == "Storm warning"
    assert doc.text == "Winds of 90 km/h."


@pytest.mark.parametrize("data", [b"", b"   \n\t\r\n  ", b"\xef\xbb\xbf  \n"])
def test_empty_and_whitespace_files_are_one_error(data: bytes) -> None:
    only_error(extract(data, "empty.txt"))


def test_title_only_file_is_an_error() -> None:
    error = only_error(extract(b"# Just a heading\n", "h.md"))
    assert "no text" in str(error)


# --- JSON and JSONL ---------------------------------------------------------------------------


def test_jsonl_with_a_broken_line_keeps_the_others() -> None:
    lines = [
        json.dumps({"id": 1, "title": "Tides", "text": "The sea wall held.", "date": "2022/06/17"}),
        '{"id": 2, "title": "Broken", "text": "unterminated',
        "",
        json.dumps({"id": 3, "text": "Second story.", "category": "weather"}),
    ]
    results = list(extract("\n".join(lines).encode(), "feed.jsonl"))
    assert [type(r).__name__ for r in results] == ["Document", "ExtractError", "Document"]
    first, error, third = results
    assert isinstance(first, Document) and isinstance(third, Document)
    assert first.source == "feed.jsonl:1"
    assert first.published_at == datetime(2022, 6, 17, tzinfo=UTC)
    assert first.date_precision == "day"
    assert first.metadata["record_id"] == "1"
    assert first.metadata["missing"] == ["url"]
    assert str(error).startswith("feed.jsonl:2: invalid JSON")
    assert third.source == "feed.jsonl:4"
    assert third.metadata["extra"] == {"category": "weather"}


def test_jsonl_first_line_offset_for_chunked_reading() -> None:
    data = b'{"text": "one"}\nnot json\n'
    results = list(extract(data, "big.jsonl", content_type="application/x-ndjson", first_line=257))
    assert isinstance(results[0], Document) and results[0].source == "big.jsonl:257"
    assert str(results[1]).startswith("big.jsonl:258:")


def test_line_separator_inside_a_string_does_not_split_a_record() -> None:
    data = json.dumps({"text": "before\u2028after"}, ensure_ascii=False).encode()
    results = list(extract(data + b"\n" + data, "x.jsonl"))
    assert [r.text for r in results if isinstance(r, Document)] == ["before\nafter"] * 2


def test_json_array_object_container_and_single_object() -> None:
    record = {"headline": "Tides", "body": "The sea wall held.", "link": "https://a.example/t"}
    as_array = list(extract(json.dumps([record, record]).encode(), "a.json"))
    assert [d.source for d in as_array if isinstance(d, Document)] == ["a.json#1", "a.json#2"]
    wrapped = only(extract(json.dumps({"status": "ok", "articles": [record]}).encode(), "b.json"))
    assert wrapped.title == "Tides" and wrapped.url == "https://a.example/t"
    assert wrapped.outlet == "a.example"
    single = only(extract(json.dumps(record).encode(), "c.json"))
    assert single.text == "The sea wall held."


def test_newsapi_style_record() -> None:
    record = {
        "source": {"id": "coastal", "name": "The Coastal Ledger"},
        "author": "By Maria Okafor and Jon Reyes",
        "title": "Bridge reopens",
        "url": "https://coastalledger.example/bridge",
        "publishedAt": "2022-06-17T07:45:00Z",
        "content": "The Harbour Street bridge reopened on Friday.",
    }
    fields = FieldMap.parse("published=publishedAt")
    doc = only(extract(json.dumps({"articles": [record]}).encode(), "n.json", fields=fields))
    assert doc.outlet == "The Coastal Ledger"
    assert doc.authors == ("Maria Okafor", "Jon Reyes")
    assert doc.published_at == datetime(2022, 6, 17, 7, 45, tzinfo=UTC)
    assert doc.date_precision == "second"


def test_custom_fields_with_dotted_paths() -> None:
    record = {
        "story": {"body": "Storm closes the port.", "hed": "Port closed"},
        "meta": {"ts": 1655451900, "byline": ["Ana Silva"]},
        "uid": "s-1",
        "notes": "x" * 500,  # too long for metadata["extra"]
    }
    fields = FieldMap.parse("text=story.body, title=story.hed|title, published=meta.ts,"
                            "authors=meta.byline,id=uid")  # fmt: skip
    doc = only(extract_records(json.dumps([record]), "s.json", fields, jsonl=False))
    assert doc.text == "Storm closes the port."
    assert doc.title == "Port closed"
    assert doc.published_at == datetime(2022, 6, 17, 7, 45, tzinfo=UTC)
    assert doc.authors == ("Ana Silva",)
    assert doc.metadata["record_id"] == "s-1"
    assert "extra" not in doc.metadata


def test_record_without_text_names_the_keys_and_the_fix() -> None:
    error = only_error(extract(b'{"headline": "Only a title"}\n', "x.jsonl"))
    assert "x.jsonl:1: record has no text field (tried text, body," in str(error)
    assert "--field text=KEY" in error.one_line()


def test_record_with_html_text_goes_through_trafilatura() -> None:
    html = f"<html><body><nav>Home | News</nav><article>{STORY}</article></body></html>"
    record = {"title": "Night buses", "text": html, "date": "2021-11-02"}
    doc = only(extract(json.dumps(record).encode() + b"\n", "h.jsonl"))
    assert doc.text.startswith("The regional council voted")
    assert "Home | News" not in doc.text
    assert doc.title == "Night buses"
    assert doc.published_at == datetime(2021, 11, 2, tzinfo=UTC)


def test_unparseable_record_date_is_kept_visible() -> None:
    doc = only(extract(b'{"text": "x y z", "date": "sometime soon"}', "d.json"))
    assert doc.published_at is None
    assert doc.metadata["unparsed_date"] == "sometime soon"
    assert "published_at" in doc.metadata["missing"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'[{"text": "a"}, {"text": ', "invalid JSON"),
        (b"[]", "no records"),
        (b'"just a string"', "JSON holds a string"),
    ],
)
def test_bad_json_documents_are_one_error(data: bytes, message: str) -> None:
    assert message in str(only_error(extract(data, "bad.json")))


def test_non_object_records_are_errors_per_record() -> None:
    results = list(extract(b'[{"text": "fine"}, 42, "nope"]', "mixed.json"))
    assert isinstance(results[0], Document)
    assert [str(r) for r in results[1:]] == [
        "mixed.json#2: record is a JSON number, expected an object",
        "mixed.json#3: record is a JSON string, expected an object",
    ]


def test_jsonl_saved_as_json_is_read_as_lines() -> None:
    results = list(extract(b'{"text": "one"}\n{"text": "two"}\n', "export.json"))
    assert [d.text for d in results if isinstance(d, Document)] == ["one", "two"]


def test_fieldmap_parse() -> None:
    fields = FieldMap.parse("text=story.body,title=hed|title")
    assert fields.text == ("story.body",)
    assert fields.title == ("hed", "title")
    assert fields.url == FieldMap().url
    with pytest.raises(ConfigError, match="unknown field 'txt'") as info:
        FieldMap.parse("txt=body")
    assert "text, title, url" in info.value.one_line()
    with pytest.raises(ConfigError, match="no '='"):
        FieldMap.parse("text")
    with pytest.raises(ConfigError, match="no key"):
        FieldMap.parse("text=")


# --- PDF --------------------------------------------------------------------------------------


def make_pdf(pages: list[list[str]], info: dict[str, str] | None = None) -> bytes:
    """A small valid PDF with one Helvetica text line per string (an empty page has none)."""
    objects: list[bytes] = [b"<< /Type /Catalog /Pages 2 0 R >>", b"", b""]
    objects[2] = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
    kids = []
    for lines in pages:
        escaped = [
            line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") for line in lines
        ]
        ops = " T* ".join(f"({line}) Tj" for line in escaped)
        stream = f"BT /F1 12 Tf 14 TL 72 720 Td {ops} ET".encode("latin-1") if lines else b""
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
        content_ref = len(objects)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % content_ref
        )
        kids.append(b"%d 0 R" % len(objects))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(kids), len(kids))
    trailer_info = b""
    if info:
        entries = b" ".join(
            b"/%s (%s)" % (k.encode(), v.encode("latin-1")) for k, v in info.items()
        )
        objects.append(b"<< " + entries + b" >>")
        trailer_info = b" /Info %d 0 R" % len(objects)
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R%s >>\n" % (len(objects) + 1, trailer_info))
    out.write(b"startxref\n%d\n%%%%EOF\n" % xref)
    return out.getvalue()


PDF_INFO = {
    "Title": "Harbour report",
    "Author": "Maria Okafor",
    "CreationDate": "D:20220617094500+02'00'",
}


def test_pdf_text_layer_and_info() -> None:
    data = make_pdf(
        [
            ["The bridge reopened on Friday.", "Repairs cost 41 million euros."],
            ["Page two (final)."],
        ],
        PDF_INFO,
    )
    doc = only(extract(data, "reports/harbour.pdf"))
    assert "The bridge reopened on Friday." in doc.text
    assert "Page two (final)." in doc.text
    assert doc.title == "Harbour report"
    assert doc.authors == ("Maria Okafor",)
    assert doc.published_at == datetime(2022, 6, 17, 7, 45, tzinfo=UTC)
    assert doc.metadata["pages"] == 2
    assert doc.metadata["missing"] == ["url"]


def test_pdf_detected_by_magic_bytes_whatever_the_label() -> None:
    data = make_pdf([["Served with the wrong content type."]])
    assert detect_kind("https://x.example/file", data, "text/html") == "pdf"


def test_pdf_without_text_layer() -> None:
    error = only_error(extract(make_pdf([[]]), "scan.pdf"))
    assert error.one_line() == "PDF has no text layer (scanned?) (OCR it first)"


@pytest.mark.parametrize(
    "data",
    [
        make_pdf([["The bridge reopened on Friday."]])[:150],
        b"%PDF-1.7\n" + b"\x00garbage" * 50,
        b"%PDF-",
    ],
    ids=["truncated", "garbage", "header-only"],
)
def test_broken_pdfs_are_one_error(data: bytes) -> None:
    error = only_error(extract(data, "broken.pdf"))
    assert "PDF" in str(error)


def test_encrypted_pdf() -> None:
    writer = pypdf.PdfWriter()
    writer.add_blank_page(200, 200)
    writer.encrypt(user_password="secret", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    with pytest.raises(ExtractError, match="encrypted"):
        extract_pdf(buffer.getvalue(), "locked.pdf")


# --- feeds ------------------------------------------------------------------------------------

RSS = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
     xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel>
  <title>The Coastal Ledger</title>
  <link>https://coastalledger.example/</link>
  <item>
    <title>Bridge reopens</title>
    <link>https://coastalledger.example/news/bridge</link>
    <pubDate>Fri, 17 Jun 2022 09:45:00 +0200</pubDate>
    <dc:creator>Maria Okafor</dc:creator>
    <description>Short teaser.</description>
    <content:encoded><![CDATA[<p>The Harbour Street bridge reopened on Friday.</p>
      <p>Repairs cost <b>41 million</b> euros.<br>Buses return on Monday.</p>
      <script>track()</script>]]></content:encoded>
  </item>
  <item>
    <title>Storm warning</title>
    <link>https://coastalledger.example/news/storm</link>
    <pubDate>not a date</pubDate>
    <description>&lt;p&gt;Winds of 90 km/h are expected on Saturday.&lt;/p&gt;</description>
  </item>
  <item>
    <title>Broken entry with nothing in it</title>
  </item>
</channel>
</rss>
"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Night Desk</title>
  <id>urn:uuid:night-desk</id>
  <updated>2022-06-18T00:00:00Z</updated>
  <entry>
    <title>Night buses extended</title>
    <link rel="alternate" href="https://nightdesk.example/buses"/>
    <id>urn:uuid:1</id>
    <published>2022-06-17T22:15:00Z</published>
    <updated>2022-06-18T01:00:00Z</updated>
    <author><name>Ana Silva</name></author>
    <summary>Buses to the airport will run all night.</summary>
    <content type="html">&lt;p&gt;The council voted to run buses to the airport all night.&lt;/p&gt;
    </content>
  </entry>
  <entry>
    <title>Summary only</title>
    <link href="https://nightdesk.example/summary"/>
    <id>urn:uuid:2</id>
    <updated>2022-06-16T10:00:00Z</updated>
    <summary type="html">&lt;p&gt;Only a summary here, &amp;amp; that is fine.&lt;/p&gt;</summary>
  </entry>
</feed>
"""


def test_rss_entries() -> None:
    entries = parse_feed(RSS, "ledger.rss")
    titles = ["Bridge reopens", "Storm warning", "Broken entry with nothing in it"]
    assert [e.title for e in entries] == titles
    bridge, storm, broken = entries
    assert bridge.link == "https://coastalledger.example/news/bridge"
    assert bridge.published_at == datetime(2022, 6, 17, 7, 45, tzinfo=UTC)
    assert bridge.date_precision == "second"
    assert bridge.authors == ("Maria Okafor",)
    assert bridge.feed_title == "The Coastal Ledger"
    assert (
        bridge.summary_html is not None and "41 million" in bridge.summary_html
    )  # content:encoded
    assert storm.published_at is None
    assert broken.link is None and broken.summary_html is None


def test_rss_offline_fallback_documents() -> None:
    results = list(extract(RSS, "ledger.rss"))
    bridge, storm, broken = results
    assert isinstance(bridge, Document) and isinstance(storm, Document)
    assert bridge.text == (
        "The Harbour Street bridge reopened on Friday.\n\n"
        "Repairs cost 41 million euros.\nBuses return on Monday."
    )
    assert bridge.outlet == "The Coastal Ledger"
    assert bridge.source == "ledger.rss#1"
    assert bridge.url == "https://coastalledger.example/news/bridge"
    assert bridge.metadata["content_from"] == "feed"
    assert storm.text == "Winds of 90 km/h are expected on Saturday."
    assert storm.metadata["missing"] == ["published_at"]
    assert isinstance(broken, ExtractError) and "no embedded content" in str(broken)


def test_atom_entries_prefer_content_over_summary() -> None:
    entries = parse_feed(ATOM, "desk.atom")
    first, second = entries
    assert first.published_at == datetime(2022, 6, 17, 22, 15, tzinfo=UTC)  # published, not updated
    assert first.authors == ("Ana Silva",)
    doc = entry_document(first, "desk.atom#1")
    assert doc.text == "The council voted to run buses to the airport all night."
    assert doc.outlet == "Night Desk"
    assert second.published_at == datetime(2022, 6, 16, 10, tzinfo=UTC)
    assert entry_document(second, "x").text == "Only a summary here, & that is fine."


def test_feed_kind_detection_by_sniffing() -> None:
    assert detect_kind("https://x.example/feed", RSS) == "feed"
    assert detect_kind("https://x.example/feed", ATOM, "application/xml") == "feed"
    assert detect_kind("https://x.example/feed", ATOM, "application/atom+xml") == "feed"


def test_bozo_feed_with_entries_is_fine() -> None:
    sloppy = RSS.replace(b"<title>Storm warning</title>", b"<title>Storm & rain</title>")
    assert len(parse_feed(sloppy, "sloppy.rss")) == 3


def test_unreadable_feed_is_an_error() -> None:
    with pytest.raises(ExtractError, match="not a readable feed"):
        parse_feed(b"<?xml version='1.0'?>\n<rss><<<</rss>", "cut.rss")
    assert "not a readable feed" in str(only_error(extract(b"<rss><chan", "cut.rss")))


def test_empty_feed_is_one_error() -> None:
    feed = b'<?xml version="1.0"?><rss version="2.0"><channel><title>Empty</title></channel></rss>'
    assert "no entries" in str(only_error(extract(feed, "empty.rss")))


def test_entry_document_from_a_hand_made_entry() -> None:
    entry = FeedEntry(
        link=None,
        title="Tides",
        published_at=None,
        date_precision=None,
        summary_html="Plain text summary without tags.",
        authors=(),
        feed_title=None,
    )
    doc = entry_document(entry, "x")
    assert doc.text == "Plain text summary without tags."
    assert doc.metadata["missing"] == ["published_at", "url"]


# --- kind detection and robustness ------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "content_type", "kind"),
    [
        ("a.html", b"anything", None, "html"),
        ("a.txt", b"<html><body>x</body></html>", "text/html; charset=utf-8", "html"),
        ("https://x.example/a.json?x=1", b"{}", None, "json"),
        ("a", b"", "application/x-ndjson", "jsonl"),
        ("notes.md", b"x", "text/plain", "markdown"),
        ("a", b"  <!DOCTYPE html><html><p>x</p></html>", None, "html"),
        ("a", b'<?xml version="1.0"?>\n<!-- c --><rss version="2.0"></rss>', None, "feed"),
        ("a", b'<?xml version="1.0"?><rdf:RDF xmlns:rdf="x"></rdf:RDF>', None, "feed"),
        ("a", b'[{"text": "x"}]', None, "json"),
        ("a", b'{"text": "x"}\n{"text": "y"}\n', None, "jsonl"),
        ("a", b'{\n  "text": "x"\n}\n', None, "json"),
        ("a", b"# Heading\n\nBody", None, "markdown"),
        ("a", b"Just some words.", None, "text"),
        ("a.xml", b"<feed xmlns='http://www.w3.org/2005/Atom'></feed>", None, "feed"),
        ("a.pdf", b"not really", None, "pdf"),
    ],
)
def test_detect_kind(name: str, data: bytes, content_type: str | None, kind: str) -> None:
    assert detect_kind(name, data, content_type) == kind


HOSTILE_INPUTS = [
    b"\x00" * 100,
    b"<" * 10_000,
    b"{" * 10_000,
    b"[" * 100_000,
    b"<html>" + b"<table>" * 3000,
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 1 0 R >> endobj trailer << /Root 1 0 R >>",
    b'<rss version="2.0"><channel><item><link>javascript:alert(1)</link></item></channel></rss>',
    "\ud800".encode("utf-8", "surrogatepass"),
    b"\xff\xfe\x00\xd8",  # UTF-16 BOM then a lone surrogate
]


@pytest.mark.parametrize(
    "data", HOSTILE_INPUTS, ids=[f"hostile{i}" for i in range(len(HOSTILE_INPUTS))]
)
@pytest.mark.parametrize(
    "name", ["x", "x.html", "x.json", "x.jsonl", "x.txt", "x.md", "x.rss", "x.pdf"]
)
def test_extract_never_raises(data: bytes, name: str) -> None:
    for result in extract(data, name):
        assert isinstance(result, Document | ExtractError)
        if isinstance(result, ExtractError):
            assert "\n" not in result.one_line()


def test_unexpected_exceptions_become_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise KeyError("bug deep inside a parser")

    monkeypatch.setattr("citewire.extract.trafilatura.bare_extraction", explode)
    monkeypatch.delenv("CITEWIRE_DEBUG", raising=False)
    error = only_error(extract(NEWS_PAGE.encode(), "page.html"))
    assert error.one_line().startswith("extraction failed: KeyError: 'bug deep inside a parser'")
    assert isinstance(error.__cause__, KeyError)
    monkeypatch.setenv("CITEWIRE_DEBUG", "1")
    with pytest.raises(KeyError):
        list(extract(NEWS_PAGE.encode(), "page.html"))


# --- the shared data sets (skipped when /work/shared is absent) --------------------------------


def _count(path: Path) -> tuple[list[Document], list[ExtractError]]:
    if not path.exists():
        pytest.skip(f"{path} not present")
    results = list(extract(path.read_bytes(), str(path)))
    return (
        [r for r in results if isinstance(r, Document)],
        [r for r in results if isinstance(r, ExtractError)],
    )


def test_bbc_news_parses_fully() -> None:
    docs, errors = _count(SHARED_DATA / "bbc_news" / "articles.jsonl")
    assert (len(docs), errors) == (2225, [])
    assert all(d.title and d.published_at is None and d.url is None for d in docs)
    assert docs[0].metadata["record_id"] == "bbc-business-001"
    assert docs[0].metadata["extra"]["category"] == "business"


def test_realtimeqa_parses_fully() -> None:
    docs, errors = _count(SHARED_DATA / "realtimeqa" / "articles_2022.jsonl")
    assert (len(docs), errors) == (2210, [])
    assert all(d.url and d.published_at and d.date_precision == "day" for d in docs)
    assert sum(1 for d in docs if d.title is None) == 95
    assert {d.outlet for d in docs} >= {"usatoday.com", "cnn.com"}
