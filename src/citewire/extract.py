"""Extraction: the bytes of one input become ``Document`` values, or ``ExtractError`` values.

The cascade in ``extract()``; the numbers repeat in comments below:

1. Empty or whitespace-only input is one error; nothing else is tried.
2. ``detect_kind`` names the format: PDF magic bytes first (they cannot lie), then the declared
   content type, then the file extension, then a sniff of the first bytes.
3. Text formats are decoded once (``decode``): BOM, declared charset, ``<meta charset>``, UTF-8,
   then a guess. Binary junk is refused here rather than indexed as mojibake.
4. One extractor per kind: HTML through trafilatura, JSON/JSONL one Document per record, plain text
   and Markdown with a light clean-up, PDF through pypdf's text layer, feeds from the entries'
   embedded content (ingest fetches entry links itself; this is the offline fallback).
5. Every Document's text is NFC with ``\\n`` line ends: citations are offsets into the stored text,
   so the stored text is the clean, readable one, never the raw markup.

Failures are yielded, not raised: one broken line of a 2,000-record export must not hide the other
1,999, and ingest reports each failure next to its source. A missing date or URL is recorded in
``metadata["missing"]`` and never invented.
"""

from __future__ import annotations

import codecs
import contextlib
import io
import json
import os
import re
import unicodedata
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from dataclasses import fields as dataclass_fields
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import charset_normalizer
import feedparser
import pypdf
import trafilatura
from trafilatura.settings import Document as TrafilaturaDocument
from trafilatura.utils import load_html

from citewire.dates import parse_date
from citewire.errors import ConfigError, ExtractError
from citewire.models import Document

__all__ = [
    "DEFAULT_FIELDS",
    "KINDS",
    "FeedEntry",
    "FieldMap",
    "decode",
    "detect_kind",
    "entry_document",
    "extract",
    "extract_html",
    "extract_pdf",
    "extract_records",
    "extract_text",
    "parse_feed",
]

KINDS = ("html", "json", "jsonl", "text", "markdown", "pdf", "feed")

# ---------------------------------------------------------------------------------------------
# Field mapping for JSON exports


@dataclass(frozen=True)
class FieldMap:
    """Which JSON keys hold which Document field; candidates are tried in order.

    A key may be a dotted path ("meta.published") into nested objects.
    """

    text: tuple[str, ...] = (
        "text", "body", "content", "article", "maintext", "full_text", "description"
    )  # fmt: skip
    title: tuple[str, ...] = ("title", "headline", "name")
    url: tuple[str, ...] = ("url", "link", "canonical_url", "source_url", "href")
    published: tuple[str, ...] = (
        "published", "published_at", "publish_date", "date", "pubDate", "datePublished",
        "created_at", "timestamp",
    )  # fmt: skip
    outlet: tuple[str, ...] = ("outlet", "source", "site", "site_name", "publisher", "domain")
    authors: tuple[str, ...] = ("authors", "author", "byline")
    id: tuple[str, ...] = ("id", "doc_id", "article_id", "_id", "uuid")

    @classmethod
    def parse(cls, spec: str) -> FieldMap:
        """Read a CLI spec such as ``"text=story.body,published=meta.ts"``.

        Named fields replace the defaults (the user said where the value is, so falling back to
        another key would hide a typo); ``|`` separates several candidates: ``title=hed|title``.
        """
        names = [f.name for f in dataclass_fields(cls)]
        hint = f"use NAME=KEY[,NAME=KEY…] with NAME one of {', '.join(names)}"
        overrides: dict[str, tuple[str, ...]] = {}
        for item in filter(None, (part.strip() for part in spec.split(","))):
            name, sep, keys = item.partition("=")
            name = name.strip()
            if not sep:
                raise ConfigError(f"bad --field {item!r}: no '='", hint=hint)
            if name not in names:
                raise ConfigError(f"unknown field {name!r} in --field {item!r}", hint=hint)
            candidates = tuple(k.strip() for k in keys.split("|") if k.strip())
            if not candidates:
                raise ConfigError(f"bad --field {item!r}: no key after '='", hint=hint)
            overrides[name] = candidates
        return replace(cls(), **overrides)


DEFAULT_FIELDS = FieldMap()

# ---------------------------------------------------------------------------------------------
# 2. Kind detection

_CONTENT_TYPES = {
    "text/html": "html", "application/xhtml+xml": "html",
    "application/json": "json", "text/json": "json",
    "application/x-ndjson": "jsonl", "application/ndjson": "jsonl", "application/jsonl": "jsonl",
    "application/x-jsonlines": "jsonl", "application/jsonlines": "jsonl",
    "text/markdown": "markdown", "text/x-markdown": "markdown",
    "application/pdf": "pdf",
    "application/rss+xml": "feed", "application/atom+xml": "feed", "application/rdf+xml": "feed",
}  # fmt: skip
_EXTENSIONS = {
    ".html": "html", ".htm": "html", ".xhtml": "html", ".shtml": "html",
    ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl", ".jsonlines": "jsonl",
    ".txt": "text", ".text": "text", ".md": "markdown", ".markdown": "markdown",
    ".pdf": "pdf", ".rss": "feed", ".atom": "feed",
}  # fmt: skip
_FEED_ROOTS = {"rss", "feed", "rdf:rdf"}
# Prolog items that may precede the root element of an XML/HTML document.
_PROLOG = re.compile(r"^(?:\s+|<\?.*?\?>|<!--.*?-->|<!doctype[^>]*>)+", re.I | re.S)
_ROOT_TAG = re.compile(r"<([a-zA-Z][\w:.-]*)")


def detect_kind(name: str, data: bytes, content_type: str | None = None) -> str:
    """Return one of ``KINDS`` for an input called ``name`` (a path or URL)."""
    # PDF magic bytes beat a wrong label: servers send PDFs as text/html or octet-stream.
    if data.lstrip()[:5] == b"%PDF-":
        return "pdf"
    mime = (content_type or "").split(";")[0].strip().lower()
    # Weak labels (text/plain, application/xml, octet-stream) are not in the table: servers
    # use them for Markdown, JSONL and feeds alike, so the extension and the bytes decide.
    if mime in _CONTENT_TYPES:
        return _CONTENT_TYPES[mime]
    path = urlsplit(name).path if "://" in name else name
    suffix = os.path.splitext(path.lower())[1]
    if suffix in _EXTENSIONS:
        return _EXTENSIONS[suffix]
    return _sniff(data)


def _sniff(data: bytes) -> str:
    try:
        head = decode(data[:4096])
    except ExtractError:
        return "text"  # extract_text will refuse it with the same reason
    head = head.lstrip("\ufeff")
    stripped = _PROLOG.sub("", head, count=1) if head.lstrip().startswith("<") else head.lstrip()
    if stripped.startswith("<"):
        root = _ROOT_TAG.match(stripped)
        return "feed" if root and root[1].lower() in _FEED_ROOTS else "html"
    if stripped.startswith("["):
        return "json"
    if stripped.startswith("{"):
        return "jsonl" if _first_line_is_record(data) else "json"
    if re.match(r"#{1,6} \S", stripped) or re.match(r"---\r?\n[\w-]+:", stripped):
        return "markdown"  # an ATX heading or YAML front matter on the first line
    return "text"


def _first_line_is_record(data: bytes) -> bool:
    first, _, rest = data.lstrip().partition(b"\n")
    if not rest.strip():
        return False  # a single line is a JSON document either way
    try:
        return isinstance(json.loads(first), dict)
    except ValueError:
        return False


# ---------------------------------------------------------------------------------------------
# 3. Decoding

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)""", re.I)
_XML_ENCODING = re.compile(rb"""<\?xml[^>]+encoding\s*=\s*["']([\w.:-]+)""", re.I)
# Browsers (WHATWG) read these labels as windows-1252; pages that say latin-1 mean cp1252.
_CP1252_ALIASES = {"iso-8859-1", "iso8859-1", "latin-1", "latin1", "l1", "us-ascii", "ascii"}
_WIDE = ("utf-16", "utf-32", "utf16", "utf32")
_CONTROL_OK = frozenset("\t\n\r\f\v")
# Other line ends become "\n" so that every later stage sees one kind.
_LINE_BREAKS = str.maketrans({"\r": "\n", "\x85": "\n", "\u2028": "\n", "\u2029": "\n\n"})
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")  # category Cc minus whitespace
BINARY_THRESHOLD = 0.05  # share of control/replacement characters that marks junk, not text


def decode(data: bytes, declared: str | None = None) -> str:
    """Bytes → text. Order: BOM, declared charset, ``<meta charset>``/XML declaration, UTF-8,
    then charset_normalizer's guess (cp1252 preferred when it fits as well; see ``_guess``).

    Never fails on undecodable bytes; raises ``ExtractError`` for binary files.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return _refuse_binary(data[len(bom) :].decode(encoding, "replace"))
    bare_utf16 = _bare_utf16(data)
    if bare_utf16:
        return _refuse_binary(data.decode(bare_utf16, "replace"))
    if b"\x00" in data:
        raise ExtractError("binary file, not text", hint="only HTML, text, JSON, PDF, feeds")
    head = data[:4096]
    in_document = [
        m[1].decode("ascii") for m in (_META_CHARSET.search(head), _XML_ENCODING.search(head)) if m
    ]
    # A document that could be read as ASCII to find its own declaration is not UTF-16/32,
    # whatever it says (the HTML standard reads such a <meta> as UTF-8).
    in_document = [label for label in in_document if not label.lower().startswith(_WIDE)]
    for label in [*([declared] if declared else []), *in_document]:
        text = _try_decode(data, label)
        if text is not None:
            return _refuse_binary(text)
    try:
        return _refuse_binary(data.decode("utf-8"))
    except UnicodeDecodeError:
        return _refuse_binary(_guess(data))


def _try_decode(data: bytes, label: str) -> str | None:
    label = label.strip().lower()
    if label in _CP1252_ALIASES:
        label = "cp1252"
    try:
        return data.decode(codecs.lookup(label).name)
    except (LookupError, UnicodeDecodeError):
        # A wrong declaration is common (pages saying utf-8 while serving cp1252): keep looking.
        return None


def _bare_utf16(data: bytes) -> str | None:
    # UTF-16 without a BOM: mostly-ASCII text has a NUL in every other byte.
    sample = data[:2048]
    if len(sample) < 8:
        return None
    even_nuls = sample[0::2].count(0) / len(sample[0::2])
    odd_nuls = sample[1::2].count(0) / len(sample[1::2])
    if odd_nuls > 0.4 and even_nuls < 0.05:
        return "utf-16-le"
    if even_nuls > 0.4 and odd_nuls < 0.05:
        return "utf-16-be"
    return None


def _guess(data: bytes) -> str:
    results = charset_normalizer.from_bytes(data)
    best = results.best()
    try:
        cp1252 = data.decode("cp1252")
    except UnicodeDecodeError:
        cp1252 = None
    if best is None:
        # No guess at all: latin-1 maps every byte, so this cannot fail.
        return cp1252 if cp1252 is not None else data.decode("latin-1")
    # On short texts charset_normalizer often ties cp1252 with cp1250 and picks the latter
    # ("Señor" → "Seńor"). News in a legacy 8-bit encoding is mostly Western, so when cp1252 is
    # among the equally clean candidates, take it.
    if cp1252 is not None and best.encoding != "cp1252":
        tied = [m for m in results if m.chaos <= best.chaos]
        if any(m.encoding == "cp1252" or str(m) == cp1252 for m in tied):
            return cp1252
    return str(best)


def _refuse_binary(text: str) -> str:
    sample = text[:8192]
    if not sample:
        return text
    junk = sum(
        1
        for char in sample
        if char == "\ufffd"
        or (unicodedata.category(char) in ("Cc", "Cs", "Co") and char not in _CONTROL_OK)
    )
    if junk / len(sample) > BINARY_THRESHOLD:
        raise ExtractError("binary file, not text", hint="only HTML, text, JSON, PDF, feeds")
    return text


def _clean_text(text: str) -> str:
    """5. NFC, ``\\n`` line ends, no control characters, no trailing spaces, ≤ 1 blank line."""
    text = text.replace("\r\n", "\n").translate(_LINE_BREAKS)
    text = unicodedata.normalize("NFC", text)
    text = _CONTROL_CHARS.sub("", text)
    text = re.sub(r"[ \t\f\v]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _clean_line(value: object) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    line = " ".join(unicodedata.normalize("NFC", str(value)).split())
    return line or None


# ---------------------------------------------------------------------------------------------
# 4a. HTML

# Published-time metadata, most specific first. Read ourselves because trafilatura/htmldate
# return a date only ("2022-06-17"), and the time of day matters for "as of" questions.
_META_DATE_KEYS = (
    "article:published_time", "og:article:published_time", "datepublished", "parsely-pub-date",
    "sailthru.date", "publish-date", "publish_date", "pubdate", "dc.date.issued",
    "dcterms.issued", "dcterms.created", "dc.date",
)  # fmt: skip
_ARTICLE_TYPES = ("article", "newsarticle", "reportagenewsarticle", "blogposting", "report")
_URL_DATE = re.compile(
    r"/((?:19|20)\d\d)[/-]?(0[1-9]|1[0-2])[/-]?(0[1-9]|[12]\d|3[01])(?:[/_.-]|$)"
)


MIN_HTML_WORDS = 8


def extract_html(html: str, source: str, url: str | None = None) -> Document:
    """Main text and metadata of a web page, via trafilatura.

    Dates, in order: (1) the page's own metadata (``article:published_time``, JSON-LD
    ``datePublished``, ``<time itemprop=datePublished>``…) with its time of day; (2) htmldate
    via trafilatura restricted to markup and the URL path (``extensive_search=False``) at day
    precision. The extensive search is off because it reads copyright footers ("© 2021" becomes
    2021-01-01) and the current-date banner many news sites print in their header.
    """
    tree = load_html(html)
    if tree is None:
        raise ExtractError("not parseable as HTML", hint="check the file is a web page")
    published_at, precision = _structured_date(tree)
    date_source = "metadata" if published_at else None
    result = trafilatura.bare_extraction(
        tree,
        url=url,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        date_extraction_params={"extensive_search": False, "original_date": True},
    )
    if not isinstance(result, TrafilaturaDocument):
        raise ExtractError(
            "no article text found in the HTML",
            hint="the page may be an index, a cookie wall or rendered by JavaScript",
        )
    text = _page_text(result.text or "", _clean_line(result.title))
    # trafilatura's last-resort fallback returns whatever text a page has, so a menu-only page
    # comes back as "Home News Sport"; below a sentence's worth of words it is not an article.
    if len(text.split()) < MIN_HTML_WORDS:
        raise ExtractError(
            "no article text found in the HTML",
            hint="the page may be an index, a cookie wall or rendered by JavaScript",
        )
    page_url = result.url or url
    if published_at is None and result.date:
        published_at, precision = parse_date(result.date)
        precision = "day" if published_at else None
        url_date = _URL_DATE.search(page_url or "")
        date_source = "url" if url_date and "-".join(url_date.groups()) == result.date else "page"
    outlet = _clean_line(result.sitename) or _host(page_url)
    metadata: dict[str, Any] = {}
    if date_source:
        metadata["date_source"] = date_source
    for key in ("description", "language"):
        value = _clean_line(getattr(result, key, None))
        if value:
            metadata[key] = value
    return _document(
        text=text,
        source=source,
        title=_clean_line(result.title),
        url=page_url,
        published_at=published_at,
        date_precision=precision,
        outlet=outlet,
        authors=_split_authors(result.author),
        metadata=metadata,
    )


def _page_text(extracted: str, title: str | None) -> str:
    # trafilatura puts one block per line; a blank line between blocks makes paragraphs read
    # (and chunk) the same as the JSON corpora. The headline is dropped from the body when it
    # opens it: it is stored as the title, and carriers of one story should compare equal
    # whether their text came from a page or from an export.
    lines = [line.strip() for line in _clean_text(extracted).split("\n") if line.strip()]
    if title and lines and " ".join(lines[0].split()) == title:
        lines = lines[1:]
    return "\n\n".join(lines)


def _structured_date(tree: Any) -> tuple[datetime | None, str | None]:
    candidates: dict[str, str] = {}
    for meta in tree.iterfind(".//meta"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").lower()
        content = meta.get("content")
        if key in _META_DATE_KEYS and content and key not in candidates:
            candidates[key] = content
    for key in _META_DATE_KEYS:
        if key in candidates:
            found = parse_date(candidates[key])
            if found[0] is not None:
                return found
    json_ld = _json_ld_date(tree)
    if json_ld[0] is not None:
        return json_ld
    for element in tree.xpath(".//*[@itemprop='datePublished'] | .//time[@pubdate]"):
        found = parse_date(element.get("datetime") or element.get("content") or "")
        if found[0] is not None:
            return found
    return None, None


def _json_ld_date(tree: Any) -> tuple[datetime | None, str | None]:
    for script in tree.xpath(".//script[@type='application/ld+json']"):
        try:
            data = json.loads(script.text or "")
        except ValueError:
            continue  # hand-written JSON-LD is often invalid; other sources remain
        for node in _json_nodes(data):
            kind = node.get("@type")
            kinds = [kind] if isinstance(kind, str) else kind if isinstance(kind, list) else []
            if any(str(k).lower() in _ARTICLE_TYPES for k in kinds) and node.get("datePublished"):
                found = parse_date(node["datePublished"])
                if found[0] is not None:
                    return found
    return None, None


def _json_nodes(data: object, depth: int = 0) -> Iterator[dict[str, Any]]:
    if depth > 6:
        return
    if isinstance(data, list):
        for item in data:
            yield from _json_nodes(item, depth + 1)
    elif isinstance(data, dict):
        yield data
        for key in ("@graph", "mainEntity", "mainEntityOfPage"):
            yield from _json_nodes(data.get(key), depth + 1)


def _host(url: str | None) -> str | None:
    if not url:
        return None
    host = urlsplit(url).hostname or ""
    return host.removeprefix("www.") or None


_BLOCK_TAGS = {
    "p", "div", "li", "ul", "ol", "blockquote", "pre", "table", "tr", "section", "article",
    "header", "footer", "figure", "figcaption", "h1", "h2", "h3", "h4", "h5", "h6", "dl", "dd",
}  # fmt: skip


def _fragment_text(fragment: str) -> str:
    """Readable text of an HTML fragment (a feed entry's content), paragraphs kept apart.

    Not trafilatura: it is built to find the article inside a whole page, and on a two-sentence
    feed summary it often finds nothing.
    """
    # trafilatura's loader refuses fragments as "dubious HTML"; a head and a body make one.
    root = load_html(f"<html><head><title></title></head><body><div>{fragment}</div></body></html>")
    if root is None:
        return ""
    for junk in root.xpath(".//script | .//style | .//noscript | .//iframe | .//form"):
        junk.drop_tree()
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue  # comments and processing instructions
        if element.tag == "br":
            element.tail = "\n" + (element.tail or "")
        elif element.tag in _BLOCK_TAGS:
            element.tail = "\n\n" + (element.tail or "")
    lines = (" ".join(line.split()) for line in root.text_content().split("\n"))
    return _clean_text("\n".join(lines))


# ---------------------------------------------------------------------------------------------
# 4b. JSON / JSONL records

_CONTAINER_KEYS = ("articles", "items", "data", "records", "results")
_LOOKS_LIKE_HTML = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*(?:\s[^<>]*)?/?>")
MAX_EXTRA_CHARS = 200  # longer unmapped values are article bodies or blobs, not metadata
MAX_EXTRA_ITEMS = 10


def extract_records(
    data: str, source: str, fields: FieldMap, jsonl: bool, first_line: int = 1
) -> Iterator[Document | ExtractError]:
    """One Document per record of a JSON array/object or a JSONL file; one error per bad one.

    Record sources are ``file:line`` for JSONL and ``file#n`` (1-based) for JSON arrays, and
    errors about a record start with that name. ``first_line`` is the line number of the first
    line of ``data``, for callers that stream a large JSONL file in chunks.
    """
    stripped = data.strip()
    if jsonl and stripped.startswith("["):
        jsonl = False  # a JSON array saved as .jsonl
    if not jsonl:
        try:
            parsed = json.loads(stripped)
        except json.JSONDecodeError as err:
            if err.msg == "Extra data" and _first_line_is_record(stripped.encode()):
                jsonl = True  # JSONL saved as .json
            else:
                yield ExtractError(
                    f"invalid JSON: {err.msg} (line {err.lineno}, column {err.colno})",
                    hint="check the file is complete; one object per line belongs in .jsonl",
                )
                return
        else:
            yield from _json_records(parsed, source, fields)
            return
    yield from _jsonl_records(data, source, fields, first_line)


def _json_records(
    parsed: object, source: str, fields: FieldMap
) -> Iterator[Document | ExtractError]:
    records: object = parsed
    if isinstance(parsed, dict):
        container = next((k for k in _CONTAINER_KEYS if isinstance(parsed.get(k), list)), None)
        records = parsed[container] if container else [parsed]
    if not isinstance(records, list):
        yield ExtractError(f"JSON holds a {_json_type(parsed)}, not articles")
        return
    if not records:
        yield ExtractError("JSON holds no records", hint="expected a list of article objects")
        return
    for number, record in enumerate(records, 1):
        yield from _guarded(_record_document, record, f"{source}#{number}", fields)


def _jsonl_records(
    data: str, source: str, fields: FieldMap, first_line: int
) -> Iterator[Document | ExtractError]:
    seen = False
    # split("\n"), not splitlines(): JSON strings may hold a raw U+2028, which splitlines() breaks.
    for lineno, line in enumerate(data.split("\n"), first_line):
        if not line.strip():
            continue
        seen = True
        where = f"{source}:{lineno}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            yield ExtractError(f"{where}: invalid JSON: {err.msg} (column {err.colno})")
            continue
        yield from _guarded(_record_document, record, where, fields)
    if not seen:
        yield ExtractError("no records in the JSONL file")


def _json_type(value: object) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")


def _record_document(record: object, where: str, fields: FieldMap) -> Document:
    if not isinstance(record, dict):
        raise ExtractError(f"{where}: record is a JSON {_json_type(record)}, expected an object")
    used: set[str] = set()

    def pick(candidates: tuple[str, ...]) -> Any:
        for key in candidates:
            value = _lookup(record, key)
            if value is not None and value != "" and value != []:
                used.add(key.split(".")[0] if key not in record else key)
                return value
        return None

    raw_text = pick(fields.text)
    if isinstance(raw_text, list) and all(isinstance(p, str) for p in raw_text):
        raw_text = "\n\n".join(raw_text)  # exports that keep paragraphs as a list
    text = _clean_text(raw_text) if isinstance(raw_text, str) else ""
    if not text:
        tried = ", ".join(fields.text)
        raise ExtractError(
            f"{where}: record has no text field (tried {tried})", hint="use --field text=KEY"
        )

    raw_url = pick(fields.url)
    url = raw_url.strip() if isinstance(raw_url, str) and _is_web_url(raw_url) else None
    if url is None and raw_url is not None:
        used.difference_update(fields.url)  # keep an unusable value visible in "extra"
    raw_date = pick(fields.published)
    published_at, precision = parse_date(raw_date)
    outlet_value = pick(fields.outlet)
    if isinstance(outlet_value, dict):  # NewsAPI style: {"id": "bbc-news", "name": "BBC News"}
        outlet_value = outlet_value.get("name")
    record_id = pick(fields.id)
    title = _clean_line(pick(fields.title))
    authors = _split_authors(pick(fields.authors))

    metadata: dict[str, Any] = {}
    if record_id is not None and not isinstance(record_id, dict | list):
        metadata["record_id"] = str(record_id)
    if raw_date is not None and published_at is None:
        metadata["unparsed_date"] = str(raw_date)[:MAX_EXTRA_CHARS]
    # Everything is picked before this line, so "used" is complete.
    extra = {k: v for k, v in record.items() if k not in used and _small(v)}
    if extra:
        metadata["extra"] = extra

    document = _document(
        text=text,
        source=where,
        title=title,
        url=url,
        published_at=published_at,
        date_precision=precision,
        outlet=_clean_line(outlet_value) or _host(url),
        authors=authors,
        metadata=metadata,
    )
    if raw_text.lstrip().startswith("<") and _LOOKS_LIKE_HTML.search(raw_text):
        return _merge_html_record(document, raw_text)
    return document


def _merge_html_record(record_doc: Document, html: str) -> Document:
    # The record's own fields were named explicitly by the export, so they win over what
    # trafilatura reads from the markup; the markup only fills the gaps.
    page = extract_html(html, record_doc.source, url=record_doc.url)
    metadata = {**page.metadata, **record_doc.metadata}
    metadata.pop("missing", None)
    return _document(
        text=page.text,
        source=record_doc.source,
        title=record_doc.title or page.title,
        url=record_doc.url or page.url,
        published_at=record_doc.published_at or page.published_at,
        date_precision=record_doc.date_precision
        if record_doc.published_at
        else page.date_precision,
        outlet=record_doc.outlet or page.outlet,
        authors=record_doc.authors or page.authors,
        metadata=metadata,
    )


def _lookup(record: Mapping[str, Any], key: str) -> Any:
    if key in record:
        return record[key]
    value: Any = record
    for part in key.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _small(value: object) -> bool:
    if isinstance(value, str):
        return 0 < len(value) <= MAX_EXTRA_CHARS
    if isinstance(value, bool | int | float):
        return True
    if isinstance(value, list):
        return 0 < len(value) <= MAX_EXTRA_ITEMS and all(
            isinstance(v, bool | int | float) or (isinstance(v, str) and len(v) <= 100)
            for v in value
        )
    return False


def _is_web_url(value: str) -> bool:
    parts = urlsplit(value.strip())
    return parts.scheme in ("http", "https") and bool(parts.netloc)


_BYLINE_PREFIX = re.compile(r"^\s*by\s+", re.I)
_AUTHOR_SEPARATORS = re.compile(r"\s*(?:;|,|&|\||\band\b)\s*", re.I)


def _split_authors(value: object) -> tuple[str, ...]:
    """Authors from a list, a list of {"name": …} objects, or a byline string."""
    if isinstance(value, list):
        names: list[str] = []
        for item in value:
            # A list already separates the names: "Smith, Jr." must not be split again.
            name = _clean_line(item.get("name") if isinstance(item, dict) else item)
            if name and not isinstance(item, list):
                names.append(_BYLINE_PREFIX.sub("", name))
        return tuple(dict.fromkeys(names))
    if isinstance(value, dict):
        return _split_authors([value])
    if not isinstance(value, str):
        return ()
    parts = _AUTHOR_SEPARATORS.split(_BYLINE_PREFIX.sub("", value))
    return tuple(dict.fromkeys(n for n in (_clean_line(p) for p in parts) if n))


# ---------------------------------------------------------------------------------------------
# 4c. Plain text and Markdown

MAX_TITLE_CHARS = 150
_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n(?:---|\.\.\.)\n", re.S)
_ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$")
_SETEXT_RULE = re.compile(r"^ {0,3}(=+|-+)\s*$")
_THEMATIC_BREAK = re.compile(r"^ {0,3}([-*_])(?:\s*\1){2,}\s*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_LINK_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:\s+\S+")
_INLINE_MARKDOWN = (
    (re.compile(r"<!--.*?-->", re.S), ""),
    # Character classes exclude the opening delimiter and spans are bounded, so a hostile line
    # ("[[[[…", "****…") costs linear time instead of quadratic.
    (re.compile(r"!\[([^\[\]\n]{0,500})\]\([^()\s]{0,2000}(?:\s[^()]{0,500})?\)"), r"\1"),
    (re.compile(r"\[([^\[\]\n]{1,500})\]\([^()\s]{0,2000}(?:\s[^()]{0,500})?\)"), r"\1"),
    (re.compile(r"\[([^\[\]\n]{1,500})\]\[[^\[\]\n]{0,100}\]"), r"\1"),  # [text][ref]
    (re.compile(r"<((?:https?|mailto):[^<>\s]{1,2000})>"), r"\1"),  # autolinks
    (re.compile(r"`([^`\n]{1,500})`"), r"\1"),
    (re.compile(r"(\*\*|__)(?=\S)([^\n]{1,500}?)(?<=\S)\1"), r"\2"),
    (re.compile(r"(?<![\w*])\*(?=[^\s*])([^\n]{1,500}?)(?<=[^\s*])\*(?![\w*])"), r"\1"),
    (re.compile(r"(?<![\w_])_(?=[^\s_])([^\n]{1,500}?)(?<=[^\s_])_(?![\w_])"), r"\1"),
    (re.compile(r"~~(?=\S)([^\n]{1,500}?)(?<=\S)~~"), r"\1"),
    (re.compile(r"\\([\\`*_{}\[\]()#+\-.!>])"), r"\1"),  # backslash escapes
)


def extract_text(text: str, source: str, markdown: bool) -> Document:
    """A plain-text or Markdown article.

    The title is the first line when it looks like one: ``# Title`` (or a setext heading, or
    YAML front matter's ``title:``) in Markdown, or a short first line followed by a blank line.
    Markdown syntax is removed rather than kept: citations quote offsets into the stored text,
    and a quote reading "**Reuters** reported" is worse than "Reuters reported". Headings stay
    as their own lines, list markers stay, link targets go (the link text stays).
    """
    body = _clean_text(text)
    if not body:
        raise ExtractError("no text: the file is empty or only whitespace")
    front: dict[str, str] = {}
    if markdown:
        front, body = _front_matter(body)
    title, body = _take_title(body, markdown)
    body = body.strip("\n")
    if markdown:
        body = _clean_text(_strip_markdown(body))
        title = _strip_inline(title) if title else None
    title = _clean_line(title or front.get("title"))
    if not body:
        raise ExtractError("no text besides the title")
    raw_date = front.get("date") or front.get("published") or front.get("published_at")
    published_at, precision = parse_date(raw_date)
    url = front.get("url") or front.get("canonical_url") or front.get("link")
    url = url if url and _is_web_url(url) else None
    authors = _split_authors(front.get("authors") or front.get("author"))
    return _document(
        text=body,
        source=source,
        title=title,
        url=url,
        published_at=published_at,
        date_precision=precision,
        outlet=_clean_line(front.get("outlet") or front.get("source")) or _host(url),
        authors=authors,
        metadata={},
    )


def _front_matter(text: str) -> tuple[dict[str, str], str]:
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    values: dict[str, str] = {}
    for line in match[1].split("\n"):
        key, sep, value = line.partition(":")
        if sep and key.strip() and not key.startswith((" ", "-")):
            value = value.strip().strip("[]")
            values[key.strip().lower()] = ",".join(v.strip().strip("'\"") for v in value.split(","))
    return values, text[match.end() :].lstrip("\n")


def _take_title(text: str, markdown: bool) -> tuple[str | None, str]:
    first, _, rest = text.partition("\n")
    if markdown:
        heading = _ATX_HEADING.match(first)
        if heading and len(heading[1]) == 1:
            return heading[2], rest
        second, _, after = rest.partition("\n")
        if _SETEXT_RULE.match(second) and second.strip()[0] == "=" and first.strip():
            return first.strip(), after
        if heading:
            return None, text  # a "## Section" opening is not the article's title
    first_is_title = (
        0 < len(first.strip()) <= MAX_TITLE_CHARS
        and rest.startswith("\n")
        and rest.strip()
        and not first.rstrip().endswith((".", ",", ";", ":"))
    )
    if first_is_title:
        return first.strip(), rest
    return None, text


def _strip_markdown(text: str) -> str:
    out: list[str] = []
    in_fence = False
    for line in text.split("\n"):
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        if in_fence:
            out.append(line)  # code is quoted verbatim
            continue
        if _LINK_DEFINITION.match(line) or _THEMATIC_BREAK.match(line):
            continue
        if _SETEXT_RULE.match(line) and out and out[-1].strip():
            continue  # the underline of a setext heading; the heading text is the line before
        while re.match(r"^ {0,3}>", line):
            line = re.sub(r"^ {0,3}> ?", "", line)
        heading = _ATX_HEADING.match(line)
        if heading:
            line = heading[2]
        line = re.sub(r"^(\s*)[*+](\s+)", r"\1-\2", line)  # one list marker style
        out.append(_strip_inline(line))
    return "\n".join(out)


def _strip_inline(line: str) -> str:
    for pattern, replacement in _INLINE_MARKDOWN:
        line = pattern.sub(replacement, line)
    return line


# ---------------------------------------------------------------------------------------------
# 4d. PDF


def extract_pdf(data: bytes, source: str) -> Document:
    """The text layer of a PDF, with title/author/creation date from its info dictionary."""
    # pypdf raises a wide, undocumented range of exceptions on malformed files (KeyError,
    # struct.error, RecursionError…); any of them means "this PDF cannot be read".
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pypdf warns on every repairable defect
            reader = pypdf.PdfReader(io.BytesIO(data))
            if reader.is_encrypted and not reader.decrypt(""):
                raise ExtractError(
                    "PDF is encrypted", hint="decrypt it first (for example `qpdf --decrypt`)"
                )
            pages = [page.extract_text() or "" for page in reader.pages]
            info = _pdf_info(reader)
    except ExtractError:
        raise
    except Exception as err:
        reason = str(err).strip().split("\n")[0] or type(err).__name__
        raise ExtractError(f"unreadable PDF: {reason}", hint="the file may be truncated") from err
    text = _clean_text("\n\n".join(p.strip() for p in pages))
    if not text:
        raise ExtractError("PDF has no text layer (scanned?)", hint="OCR it first")
    title = info.get("title")
    if title and title.lower().startswith("microsoft word - "):
        title = title[len("microsoft word - ") :]  # the file name Word wrote, not a title
    published_at, precision = parse_date(info.get("created"))
    return _document(
        text=text,
        source=source,
        title=_clean_line(title),
        published_at=published_at,
        date_precision=precision,
        authors=_split_authors(info.get("author")),
        metadata={"pages": len(pages), **({"date_source": "pdf_created"} if published_at else {})},
    )


def _pdf_info(reader: pypdf.PdfReader) -> dict[str, Any]:
    info = reader.metadata
    if info is None:
        return {}
    values: dict[str, Any] = {"title": info.title, "author": info.author}
    with contextlib.suppress(ValueError):  # a malformed D:… date is no date
        values["created"] = info.creation_date
    return values


# ---------------------------------------------------------------------------------------------
# 4e. Feeds


@dataclass(frozen=True)
class FeedEntry:
    """One RSS/Atom entry; ``summary_html`` is the embedded content (content:encoded or Atom
    content when present, else the summary)."""

    link: str | None
    title: str | None
    published_at: datetime | None
    date_precision: str | None
    summary_html: str | None
    authors: tuple[str, ...]
    feed_title: str | None


def parse_feed(data: bytes, source: str) -> list[FeedEntry]:
    """Entries of an RSS/Atom feed. A feed that parsed with errors ("bozo") but still yielded
    entries is fine: real feeds are often slightly malformed."""
    # A stream, not the bytes: feedparser treats a bytes/str argument that looks like a path or
    # URL as something to open or fetch.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = feedparser.parse(io.BytesIO(data))
    if not parsed.entries and parsed.get("bozo"):
        reason = str(parsed.get("bozo_exception") or "malformed XML").split("\n")[0]
        raise ExtractError(
            f"not a readable feed: {reason}", hint="check the URL points at RSS/Atom"
        )
    feed_title = _clean_line(parsed.feed.get("title"))
    return [_feed_entry(entry, feed_title) for entry in parsed.entries]


def _feed_entry(entry: Any, feed_title: str | None) -> FeedEntry:
    # The raw date string first: feedparser's struct_time turns a date-only value into midnight.
    published_at, precision = None, None
    for key in ("published", "updated", "created", "published_parsed", "updated_parsed"):
        published_at, precision = parse_date(entry.get(key))
        if published_at is not None:
            break
    contents = [c.get("value") for c in entry.get("content") or [] if c.get("value")]
    summary = max(contents, key=len) if contents else entry.get("summary")
    authors = _split_authors(entry.get("authors") or entry.get("author"))
    link = entry.get("link")
    return FeedEntry(
        link=link if isinstance(link, str) and _is_web_url(link) else None,
        title=_clean_line(entry.get("title")),
        published_at=published_at,
        date_precision=precision,
        summary_html=summary or None,
        authors=authors,
        feed_title=feed_title,
    )


def entry_document(entry: FeedEntry, source: str) -> Document:
    """A Document from the entry's embedded content, for when its link cannot be fetched."""
    text = _fragment_text(entry.summary_html) if entry.summary_html else ""
    if not text:
        where = entry.link or entry.title or "entry"
        raise ExtractError(
            f"feed entry {where!r} has no embedded content", hint="fetch its link instead"
        )
    return _document(
        text=text,
        source=source,
        title=entry.title,
        url=entry.link,
        published_at=entry.published_at,
        date_precision=entry.date_precision,
        outlet=entry.feed_title or _host(entry.link),
        authors=entry.authors,
        metadata={"content_from": "feed"},
    )


# ---------------------------------------------------------------------------------------------
# The cascade


def extract(
    data: bytes,
    source: str,
    *,
    content_type: str | None = None,
    url: str | None = None,
    fields: FieldMap = DEFAULT_FIELDS,
    first_line: int = 1,
) -> Iterator[Document | ExtractError]:
    """Documents (and per-input errors, as values) from the bytes of one input.

    ``first_line`` numbers JSONL records when ``data`` is a chunk of a larger file.
    """
    # 1. Nothing to extract.
    if not data.strip(b" \t\r\n\x0b\x0c"):
        yield ExtractError("empty file", hint="nothing to index")
        return
    # 2. What is it?
    kind = detect_kind(url or source, data, content_type)
    if kind == "pdf":
        yield from _guarded(extract_pdf, data, source)
    elif kind == "feed":
        yield from _guarded(_feed_documents, data, source)
    else:
        # 3. Decode once; 4. one extractor per kind.
        declared = _charset(content_type)
        try:
            text = decode(data, declared)
        except ExtractError as err:
            yield err
            return
        if not text.strip():
            yield ExtractError("no text: the file is only whitespace")
        elif kind == "html":
            yield from _guarded(extract_html, text, source, url)
        elif kind in ("json", "jsonl"):
            jsonl = kind == "jsonl"
            yield from _guarded(extract_records, text, source, fields, jsonl, first_line)
        else:
            yield from _guarded(extract_text, text, source, kind == "markdown")


def _feed_documents(data: bytes, source: str) -> Iterator[Document | ExtractError]:
    entries = parse_feed(data, source)
    if not entries:
        yield ExtractError("feed has no entries")
    for number, entry in enumerate(entries, 1):
        yield from _guarded(entry_document, entry, f"{source}#{number}")


def _charset(content_type: str | None) -> str | None:
    match = re.search(r"charset\s*=\s*[\"']?([\w.:-]+)", content_type or "", re.I)
    return match[1] if match else None


def _guarded(
    function: Callable[..., Document | Iterator[Document | ExtractError]], *args: Any
) -> Iterator[Document | ExtractError]:
    """Run one extractor; turn its failure into a value so the caller's other inputs go on."""
    try:
        result = function(*args)
        if isinstance(result, Document):
            yield result
        else:
            yield from result
    except ExtractError as err:
        yield err
    except RecursionError:  # deeply nested hostile markup or JSON
        yield ExtractError("input is nested too deeply to read", hint="check the file")
    except Exception as err:
        # trafilatura, lxml and pypdf raise undocumented exceptions on hostile input; one bad
        # input must not end an ingest run. CITEWIRE_DEBUG=1 shows the traceback instead.
        if os.environ.get("CITEWIRE_DEBUG"):
            raise
        yield _unexpected(err)


def _unexpected(err: Exception) -> ExtractError:
    reason = str(err).strip().split("\n")[0][:200]
    failure = ExtractError(
        f"extraction failed: {type(err).__name__}: {reason}",
        hint="set CITEWIRE_DEBUG=1 for the traceback and report it",
    )
    failure.__cause__ = err
    return failure


def _document(
    *,
    text: str,
    source: str,
    title: str | None = None,
    url: str | None = None,
    published_at: datetime | None = None,
    date_precision: str | None = None,
    outlet: str | None = None,
    authors: tuple[str, ...] = (),
    metadata: Mapping[str, Any],
) -> Document:
    # The one place that records what is missing, so every extractor does it the same way.
    missing = [
        name for name, value in (("published_at", published_at), ("url", url)) if value is None
    ]
    full_metadata = dict(metadata)
    if missing:
        full_metadata["missing"] = missing
    return Document(
        text=text,
        source=source,
        title=title,
        url=url,
        published_at=published_at,
        date_precision=date_precision if published_at else None,
        outlet=outlet,
        authors=authors,
        metadata=full_metadata,
    )
