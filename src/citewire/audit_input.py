"""Read an answer written elsewhere, for ``citewire audit``: its question, its claims (with
offsets into the cleaned body, the reference numbers its author attached and the URLs it links)
and its listed references.

Four shapes: plain text like a Q&A site's answer (a question line, paragraphs, a "References"
list of titles and URLs), Markdown (``[n]`` markers, footnotes, inline links), JSON (citewire's
own answer records, or ``{"question", "answer", "references"}``) and HTML (converted to Markdown
by trafilatura). ``read_source`` gets the text from a file, a URL or stdin.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

from citewire.chunk import split_sentences
from citewire.errors import QueryError
from citewire.extract import decode
from citewire.fetch import Fetcher, FetchPolicy

__all__ = [
    "AUDIT_TYPES",
    "FORMATS",
    "MAX_AUDIT_CHARS",
    "SHORT_CLAIM_WORDS",
    "ParsedAnswer",
    "ParsedClaim",
    "ParsedReference",
    "parse_answer",
    "read_source",
]

# An answer is prose someone wrote; a megabyte of it is a mistake (a whole site pasted in).
MAX_AUDIT_CHARS = 200_000
SHORT_CLAIM_WORDS = 4  # fewer words than this is a heading or a fragment, not a claim

FORMATS = ("auto", "text", "markdown", "json", "html")
AUDIT_TYPES = (
    "text/html",
    "application/xhtml+xml",
    "text/plain",
    "text/markdown",
    "application/json",
)


@dataclass(frozen=True)
class ParsedReference:
    number: int
    text: str
    title: str | None
    url: str | None


@dataclass(frozen=True)
class ParsedClaim:
    text: str
    start: int  # offsets into ParsedAnswer.body
    end: int
    paragraph: int
    markers: tuple[int, ...] = ()
    links: tuple[str, ...] = ()
    sentence: str | None = None  # set on the atomic parts of a split compound sentence
    part: int = 0


@dataclass(frozen=True)
class ParsedAnswer:
    question: str | None
    body: str
    claims: tuple[ParsedClaim, ...]
    references: tuple[ParsedReference, ...]
    input_format: str
    notes: tuple[str, ...] = ()


# A line that starts a sentence: a capital or a digit, perhaps behind an opening quote/bracket.
_OPENS = re.compile(r"^[\"'“‘«(\[]*[A-Z0-9]")
_REFERENCES_HEADING = re.compile(
    r"^\s*(?:#{1,6}\s*)?(?:\*\*|__)?\s*(references|sources|bibliography|works cited|citations"
    r"|notes and references|further reading)\s*:?\s*(?:\*\*|__)?\s*:?\s*$",
    re.IGNORECASE,
)
_INLINE_REFERENCES = re.compile(
    r"^\s*(?:\*\*|__)?(references|sources|citations)\s*:\s*(?:\*\*|__)?\s*(\S.*)$",
    re.IGNORECASE,
)
_INLINE_ENTRY = re.compile(r"\[(\d{1,3})\]\s*((?:(?!\[\d{1,3}\]).)+)")
NO_REFERENCES = "The answer lists no references."
LINK_LINE_WORDS = 8  # a trailing line of a link and at most this many words is a reference
_QUESTION_PREFIX = re.compile(r"^\s*(?:\*\*)?(?:question|q)\s*[:.]\s*(?:\*\*)?\s*", re.IGNORECASE)
_ANSWER_PREFIX = re.compile(r"^\s*(?:\*\*)?(?:answer|a)\s*[:.]\s*(?:\*\*)?\s*", re.IGNORECASE)
_HEADING = re.compile(r"^\s*#{1,6}\s+")
LIST_ITEM = re.compile(r"^\s*(?:(?:[-*•+]|\d{1,3}[.)])\s+|\[\d{1,3}\]:?\s*|\[\^\d{1,3}\]:\s+)")
_ITEM_NUMBER = re.compile(r"^\s*(?:(\d{1,3})[.)]|\[(\d{1,3})\]:?|\[\^(\d{1,3})\]:)")
_FOOTNOTE_DEF = re.compile(r"^\s*\[\^?(\d{1,3})\]:\s+(.+)$")
_URL = re.compile(r"https?://[^\s<>\"'\])]+[^\s<>\"'\]).,;:!?]")
# The label may hold one bracketed part: trafilatura writes a linked marker as "[[1]](url)".
_MD_LINK = re.compile(
    r"(?<!!)\[((?:[^\[\]\n]|\[[^\[\]\n]*\])*)\]\((https?://[^)\s]+)(?:\s+\"[^\"]*\")?\)"
)
_MARKER = re.compile(r"\s?\[\^?(\d{1,3}(?:\s*[,–-]\s*\d{1,3})*)\]")
# Bounded and without nested quantifiers: "The *word " * 20000 must not take a minute.
_EMPHASIS = re.compile(r"(\*\*|__|\*|_)(?=[^\s*_])([^\n*_]{1,300}?)(?<=[^\s*_])\1")
_QUOTED_TITLE = re.compile(r"[\"“]([^\"”]{3,300})[\"”]")


def read_source(
    source: str, stdin: IO[bytes] | None = None, fetcher: Fetcher | None = None
) -> tuple[str, str | None, str]:
    """The text of an answer to audit from a file path, an http(s) URL or "-" (stdin), with the
    origin to record and the format its name or Content-Type suggests ("auto" if neither)."""
    if source == "-":
        data = (stdin or sys.stdin.buffer).read()
        return decode(data), None, "auto"
    if source.lower().startswith(("http://", "https://")):
        own = fetcher is None
        client = fetcher or Fetcher(FetchPolicy(allowed_types=AUDIT_TYPES))
        try:
            fetched = client.fetch(source)
        finally:
            if own:
                client.close()
        kind = {"text/html": "html", "application/json": "json", "text/markdown": "markdown"}
        return (
            decode(fetched.body, fetched.charset),
            fetched.url,
            kind.get(fetched.content_type, "auto"),
        )
    path = Path(source).expanduser()
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise QueryError(
            f"cannot read {source}: {exc.strerror or exc}", hint="give a file, a URL or -"
        ) from exc
    kind = {".json": "json", ".md": "markdown", ".markdown": "markdown", ".html": "html"}
    return decode(data), str(path), kind.get(path.suffix.lower(), "auto")


def parse_answer(text: str, fmt: str = "auto", question: str | None = None) -> ParsedAnswer:
    """Read an answer written elsewhere. ``question`` overrides the one found in the text."""
    if fmt not in FORMATS:
        raise QueryError(f"unknown input format {fmt!r}", hint=f"use one of {', '.join(FORMATS)}")
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    if not text.strip():
        raise QueryError("nothing to audit: the input is empty", hint="give the answer's text")
    if len(text) > MAX_AUDIT_CHARS:
        raise QueryError(
            f"the input is {len(text):,} characters long (limit {MAX_AUDIT_CHARS:,})",
            hint="audit one answer at a time",
        )
    kind = _detect(text) if fmt == "auto" else fmt
    if kind == "json":
        parsed = _parse_json(text)
    elif kind == "html":
        parsed = _parse_lines(_html_to_markdown(text), "html")
    else:
        parsed = _parse_lines(text, kind)
    if question and question.strip():
        parsed = replace(parsed, question=question.strip())
    return parsed


def _detect(text: str) -> str:
    head = text.lstrip()[:1000].lower()
    if head.startswith(("{", "[")):
        try:
            json.loads(text)
        except ValueError:
            pass
        else:
            return "json"
    if head.startswith(("<!doctype html", "<html")) or re.search(
        r"<(p|div|article|body|h[1-6])\b[^>]*>", head
    ):
        return "html"
    if _MD_LINK.search(text) or re.search(r"^\s*#{1,6}\s", text, re.MULTILINE):
        return "markdown"
    return "text"


def _html_to_markdown(html: str) -> str:
    import trafilatura

    # trafilatura keeps the prose but may drop a references list made only of links: take the
    # list out of the page first and append it after the converted text.
    html, references = _html_references(html)
    tail = "\n\nReferences\n" + "\n".join(references) if references else ""
    converted = trafilatura.extract(
        html,
        output_format="markdown",
        include_links=True,
        include_formatting=True,
        include_tables=False,
        favor_recall=True,
    )
    if converted and converted.strip():
        return str(converted).replace("\\[", "[").replace("\\]", "]") + tail
    # Too little text for trafilatura's extractor: fall back to all the text of the page.
    return str(trafilatura.html2txt(html) or "") + tail


def _html_references(html: str) -> tuple[str, list[str]]:
    """The page without its references list, and the list's entries as "n. text URL" lines.
    The list is the first <ol>/<ul> after an element whose whole text is a references heading
    ("References", "Sources:"...)."""
    import lxml.html

    try:
        tree = lxml.html.fromstring(html)
    except (ValueError, lxml.etree.ParserError):
        return html, []
    for heading in tree.iter("h1", "h2", "h3", "h4", "h5", "h6", "p", "strong", "b", "div"):
        if not _REFERENCES_HEADING.match(heading.text_content().strip()):
            continue
        listing = heading.getnext()
        while listing is not None and listing.tag not in ("ol", "ul"):
            listing = listing.getnext() if not (listing.text_content() or "").strip() else None
        if listing is None:
            continue
        entries = []
        for number, item in enumerate(listing.iter("li"), start=1):
            text = " ".join(item.text_content().split())
            hrefs = [a.get("href") for a in item.iter("a") if a.get("href")]
            url = next((h for h in hrefs if h.lower().startswith(("http://", "https://"))), "")
            if text or url:
                entries.append(f"{number}. {text} {url if url not in text else ''}".rstrip())
        for element in (listing, heading):
            parent = element.getparent()
            if parent is not None:
                element.drop_tree()
        return lxml.html.tostring(tree, encoding="unicode"), entries
    return html, []


def _parse_json(text: str) -> ParsedAnswer:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise QueryError(f"the input is not valid JSON ({exc})") from exc
    if isinstance(data, list) and len(data) == 1:
        data = data[0]
    if not isinstance(data, dict):
        raise QueryError(
            "JSON input must be an object",
            hint='give {"question": ..., "answer": "...", "references": [...]} '
            "or a citewire answer record",
        )
    question = _first_str(data, ("question", "query", "title", "prompt"))
    body: str | None
    if isinstance(data.get("paragraphs"), list):  # a citewire answer record (answer_to_dict)
        paragraphs = []
        for paragraph in data["paragraphs"]:
            sentences = paragraph.get("sentences", []) if isinstance(paragraph, dict) else []
            parts = []
            for s in sentences:
                if not isinstance(s, dict) or not isinstance(s.get("text"), str):
                    continue
                citations = s.get("citations")
                refs = sorted(
                    {
                        c["ref"]
                        for c in (citations if isinstance(citations, list) else [])
                        if isinstance(c, dict) and isinstance(c.get("ref"), int) and c["ref"] > 0
                    }
                )
                parts.append(s["text"] + "".join(f" [{r}]" for r in refs))
            paragraphs.append(" ".join(parts))
        body = "\n\n".join(p for p in paragraphs if p)
    else:
        body = _first_str(data, ("answer", "text", "body", "content", "response", "output"))
    if not body:
        raise QueryError(
            "the JSON holds no answer text",
            hint='put the answer under "answer" (or "text", "body", "content")',
        )
    raw_refs: list[Any] = next(
        (
            data[key]
            for key in ("references", "sources", "citations", "links")
            if isinstance(data.get(key), list)
        ),
        [],
    )
    references = []
    for position, entry in enumerate(raw_refs, start=1):
        if isinstance(entry, str):
            references.append(_reference_from_text(position, entry))
        elif isinstance(entry, dict):
            number = entry.get("number") or entry.get("id")
            url = _first_str(entry, ("url", "link", "href"))
            title = _first_str(entry, ("title", "name", "headline"))
            shown = " ".join(x for x in (title, url) if x) or json.dumps(entry)
            references.append(
                ParsedReference(
                    number if isinstance(number, int) and number > 0 else position,
                    shown,
                    title,
                    url,
                )
            )
    parsed = _parse_lines(body, "json")
    if references:  # the references are in the JSON, not in the body text
        notes = tuple(n for n in parsed.notes if n != NO_REFERENCES)
        parsed = replace(parsed, references=tuple(references), notes=notes)
    return replace(parsed, question=question or parsed.question)


def _first_str(data: Mapping[str, Any], keys: Sequence[str]) -> str | None:
    for key in keys:
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _parse_lines(text: str, kind: str) -> ParsedAnswer:
    lines = text.split("\n")
    # Footnote definitions ("[1]: https://...") are references wherever they stand.
    footnotes: list[ParsedReference] = []
    kept_lines: list[str] = []
    for line in lines:
        match = _FOOTNOTE_DEF.match(line)
        if match:
            footnotes.append(_reference_from_text(int(match.group(1)), match.group(2)))
        else:
            kept_lines.append(line)
    lines = kept_lines
    heading = next((i for i, line in enumerate(lines) if _REFERENCES_HEADING.match(line)), None)
    inline = next((i for i, line in enumerate(lines) if _INLINE_REFERENCES.match(line)), None)
    reference_lines: list[str] = []
    if heading is not None and (inline is None or heading <= inline):
        reference_lines, lines = lines[heading + 1 :], lines[:heading]
    elif inline is not None:  # "Sources: [1] https://... [2] https://..." on one line
        rest = _INLINE_REFERENCES.match(lines[inline])
        assert rest is not None
        reference_lines = [*_split_inline(rest.group(2)), *lines[inline + 1 :]]
        lines = lines[:inline]
    else:
        # No heading: a run of lines at the end that hold little but a link are the list.
        end = len(lines)
        while end and (not lines[end - 1].strip() or _is_link_line(lines[end - 1])):
            end -= 1
        if any(line.strip() for line in lines[end:]):
            reference_lines, lines = lines[end:], lines[:end]
    references = _reference_list(reference_lines)
    listed = {r.number for r in references}
    # A footnote definition repeating a listed number adds nothing new: the list entry stands.
    references += [f for f in footnotes if f.number not in listed]
    question, paragraphs = _question_and_paragraphs(lines)
    notes = []
    if not references:
        notes.append(NO_REFERENCES)
    body_parts: list[str] = []
    claims: list[ParsedClaim] = []
    offset = 0
    for raw in paragraphs:
        cleaned, markers, links = _clean(raw)
        if not cleaned:
            continue
        if body_parts:
            offset += 2  # the "\n\n" between paragraphs
        body_parts.append(cleaned)
        paragraph_number = len(body_parts) - 1
        for start, end in split_sentences(cleaned):
            sentence = cleaned[start:end]
            if sentence.rstrip().endswith("?") or len(sentence.split()) < SHORT_CLAIM_WORDS:
                continue  # a question or a fragment claims nothing
            own_markers = sorted({n for position, n in markers if start <= position <= end + 1})
            own_links = tuple(dict.fromkeys(u for p, u in links if start <= p <= end + 1))
            claims.append(
                ParsedClaim(
                    sentence,
                    offset + start,
                    offset + end,
                    paragraph_number,
                    tuple(own_markers),
                    own_links,
                )
            )
        offset += len(cleaned)
    return ParsedAnswer(
        question=question,
        body="\n\n".join(body_parts),
        claims=tuple(claims),
        references=tuple(references),
        input_format=kind,
        notes=tuple(notes),
    )


def _is_link_line(line: str) -> bool:
    """A line that is a link and little else ("1. https://...", "[2] Reuters https://...")."""
    if not (_URL.search(line) or _MD_LINK.search(line)):
        return False
    rest = _URL.sub("", _MD_LINK.sub("", LIST_ITEM.sub("", line)))
    return len(rest.split()) <= LINK_LINE_WORDS and not rest.rstrip().endswith((".", "!", "?"))


def _split_inline(text: str) -> list[str]:
    """Entries written on one line: split at "[n]" markers, else after each URL."""
    if re.search(r"\[\d{1,3}\]", text):
        return [f"[{m.group(1)}] {m.group(2).strip()}" for m in _INLINE_ENTRY.finditer(text)]
    entries, start = [], 0
    for url in _URL.finditer(text):
        entries.append(text[start : url.end()].strip(" ,;"))
        start = url.end()
    tail = text[start:].strip(" ,;")
    return [e for e in [*entries, tail] if e]


def _question_and_paragraphs(lines: list[str]) -> tuple[str | None, list[str]]:
    """The question is an explicit "Question:" line, a heading, or a first line that asks
    something (ends with "?" or holds one within its first 400 characters)."""
    blocks: list[list[str]] = [[]]
    for line in lines:
        if not line.strip():
            blocks.append([])
        elif _HEADING.match(line) or LIST_ITEM.match(line):
            blocks += [[line], []]  # headings and list items stand alone
        else:
            blocks[-1].append(line.strip())
    # Q&A-site exports put one paragraph per line with no blank line between: a line that
    # ends a sentence and is followed by another that starts one is a paragraph break.
    paragraphs: list[str] = []
    for block in blocks:
        if not block:
            continue
        current: list[str] = []
        for line in block:
            if current and re.search(r"[.!?:\"”')]$", current[-1]) and _OPENS.match(line):
                paragraphs.append(" ".join(current))
                current = []
            current.append(line)
        paragraphs.append(" ".join(current))
    question: str | None = None
    if paragraphs:
        first = paragraphs[0]
        if _QUESTION_PREFIX.match(first):
            question = _QUESTION_PREFIX.sub("", first)
            paragraphs = paragraphs[1:]
        elif _HEADING.match(first):
            question = _HEADING.sub("", first).strip()
            paragraphs = paragraphs[1:]
        elif "?" in first[:400] and len(paragraphs) > 1:
            question = first
            paragraphs = paragraphs[1:]
    if paragraphs and _ANSWER_PREFIX.match(paragraphs[0]):
        paragraphs[0] = _ANSWER_PREFIX.sub("", paragraphs[0])
    paragraphs = [_HEADING.sub("", p) for p in paragraphs]
    return (_strip_markup(question) if question else None), paragraphs


def _clean(raw: str) -> tuple[str, list[tuple[int, int]], list[tuple[int, str]]]:
    """Markdown → plain text, with the positions (in the plain text) of the reference markers
    and the links that were removed."""
    raw = LIST_ITEM.sub("", raw)
    out: list[str] = []
    markers: list[tuple[int, int]] = []
    links: list[tuple[int, str]] = []
    position = 0
    length = 0
    pattern = re.compile(f"{_MD_LINK.pattern}|{_MARKER.pattern}")
    for match in pattern.finditer(raw):
        # Emphasis is stripped between links, never inside a URL ("uk_politics_123").
        piece = _EMPHASIS.sub(r"\2", raw[position : match.start()])
        out.append(piece)
        length += len(piece)
        if match.group(2):  # [text](url)
            label = match.group(1)
            numbers = _marker_numbers(label.strip("[]^ "))
            if numbers:  # "[[1]](url)": a marker that is also a link
                if piece.endswith(" "):  # "said [[1]](url)." -> "said."
                    out[-1] = piece[:-1]
                    length -= 1
                markers += [(length, n) for n in numbers]
            else:
                label = _EMPHASIS.sub(r"\2", label)
                out.append(label)
                length += len(label)
            links.append((length, match.group(2)))
        else:
            markers += [(length, n) for n in _marker_numbers(match.group(3))]
        position = match.end()
    out.append(_EMPHASIS.sub(r"\2", raw[position:]))
    text = "".join(out)
    stripped = text.rstrip()
    lead = len(text) - len(text.lstrip())
    shift = [(p - lead, n) for p, n in markers]
    return (
        stripped.strip(),
        [(max(0, p), n) for p, n in shift],
        [(max(0, p - lead), u) for p, u in links],
    )


def _marker_numbers(spec: str) -> list[int]:
    numbers: list[int] = []
    for part in re.split(r"\s*,\s*", spec.strip()):
        bounds = re.split(r"\s*[–-]\s*", part)
        if not all(b.isdigit() for b in bounds) or not bounds or not bounds[0]:
            return []
        low, high = int(bounds[0]), int(bounds[-1])
        if high < low or high - low > 50:
            return []
        numbers += range(low, high + 1)
    return numbers


def _strip_markup(text: str) -> str:
    text = _MD_LINK.sub(r"\1", text)
    return _EMPHASIS.sub(r"\2", text).strip()


def _reference_list(lines: Sequence[str]) -> list[ParsedReference]:
    entries: list[tuple[int | None, str]] = []
    for line in lines:
        if not line.strip():
            continue
        starts = LIST_ITEM.match(line) or not entries
        if not starts and _URL.search(line) and _URL.search(entries[-1][1]):
            starts = True  # unbulleted entries, one per line, each with its URL
        if starts:
            number_match = _ITEM_NUMBER.match(line)
            number = (
                next((int(g) for g in number_match.groups() if g), None) if number_match else None
            )
            entries.append((number, LIST_ITEM.sub("", line).strip()))
        else:  # a wrapped entry continues on the next line
            number, previous = entries[-1]
            entries[-1] = (number, f"{previous} {line.strip()}")
    return [
        _reference_from_text(number or position, entry)
        for position, (number, entry) in enumerate(entries, start=1)
    ]


def _reference_from_text(number: int, entry: str) -> ParsedReference:
    entry = entry.strip()
    link = _MD_LINK.search(entry)
    url: str | None
    title: str | None = None
    if link:
        url = link.group(2)
        label = link.group(1).strip()
        if label and not _URL.fullmatch(label):
            title = label
    else:
        found = _URL.search(entry)
        url = found.group(0) if found else None
    if title is None:
        quoted = _QUOTED_TITLE.search(entry)
        if quoted:
            title = quoted.group(1).strip()
        else:
            rest = _URL.sub("", _MD_LINK.sub(r"\1", entry)).strip(" -–—,.:;()")
            title = _EMPHASIS.sub(r"\2", rest) or None
    return ParsedReference(number, _MD_LINK.sub(r"\1 \2", entry), title, url)
