"""Audit an answer written elsewhere: which of its claims the indexed sources support, and
which of its listed references are in the index, relevant, and used.

1. ``parse_answer`` reads the answer in one of four shapes: plain text like a Q&A site's
   answer (a question line, paragraphs, a "References" list of titles and URLs), Markdown
   (``[n]`` markers, footnotes, inline links), JSON (citewire's own answer records, or
   ``{"question", "answer", "references"}``) or HTML (converted to Markdown by trafilatura).
   The body is cleaned (markers and link syntax removed) and every claim keeps its offsets into
   the cleaned body, the reference numbers its author attached and the URLs it links.
2. ``Auditor.audit`` matches each listed reference to an indexed article (by URL, then by
   title), then checks each claim against the passages that could decide it — the articles its
   own markers point at first, then the best of a search of the whole index — with the same
   verifier that checks ``citewire ask`` (``verify.check_support``).
3. Each claim gets one label (``ClaimLabel``):
   - supported: some passage passes the check (the evidence is cited);
   - contradicted: no passage supports it, and a passage about the same thing states a
     different number or date, or the opposite (the verifier's contradiction reasons);
   - opinion: no passage supports it and it holds nothing checkable (no number, date, name or
     quotation) — framing and judgement, reported as such rather than as "unsupported";
   - not_found: everything else. The closest passage is shown, with why it does not support it.
   Never "supported" without a cited passage that passed the check.
4. References: relevant when a claim's evidence comes from it, or when what it is (the matched
   article's headline and lead, else the entry's own words) is close in meaning to the question
   (cosine ≥ ``REFERENCE_RELEVANCE``, the same bar the extractive writer sets for a sentence to
   be about the question); "uncertain" when only a listed title was there to judge and it is
   neither close nor far. References no claim points at or draws support from are called out.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Protocol

import numpy as np
import numpy.typing as npt

from citewire.answer import make_reference
from citewire.chunk import split_sentences
from citewire.embed import Embedder
from citewire.errors import LLMError, QueryError
from citewire.extract import decode
from citewire.extractive import MIN_SIMILARITY
from citewire.fetch import Fetcher, FetchPolicy
from citewire.ingest import article_id, canonical_url
from citewire.models import (
    Article,
    Audit,
    AuditClaim,
    AuditReference,
    Citation,
    ClaimEvidence,
    ClaimLabel,
    Passage,
    Reference,
    Relevance,
    SearchFilters,
)
from citewire.retrieve import MAX_QUERY_CHARS, Retriever, query_terms
from citewire.store import Store
from citewire.verify import Judge, check_support, contradictions, facts, quote_hash

__all__ = [
    "MAX_AUDIT_CHARS",
    "MAX_CLAIMS",
    "REFERENCE_RELEVANCE",
    "Auditor",
    "ClaimSplitter",
    "ModelSplitter",
    "ParsedAnswer",
    "ParsedClaim",
    "ParsedReference",
    "parse_answer",
    "read_source",
]

# An answer is prose someone wrote; a megabyte of it is a mistake (a whole site pasted in).
MAX_AUDIT_CHARS = 200_000
# Each claim costs a search and a batch of embeddings (~50 ms here); past this the report would
# take minutes, so the rest is listed as not checked.
MAX_CLAIMS = 200
CLAIM_SEARCH_K = 6  # stories searched per claim, besides the articles its markers name
EVIDENCE_SHOWN = 3  # passages shown per supported or contradicted claim
EVIDENCE_MARGIN = 0.1  # ... each within this much of the best one's support score
# A contradiction counts only from a passage about the same thing: a different number in an
# unrelated sentence says nothing about the claim.
CONTRADICTION_SIMILARITY = 0.6
REFERENCE_RELEVANCE = MIN_SIMILARITY
# A reference judged by its listed title alone (it is not in the index) scoring between this and
# REFERENCE_RELEVANCE is "uncertain": unrelated news sentences score about 0.1-0.3 with MiniLM,
# and a title is shorter and vaguer than a sentence.
TITLE_ONLY_FLOOR = 0.2
TITLE_MATCH = 0.8  # share of the listed title's words an indexed headline must hold (both ways)
SHORT_CLAIM_WORDS = 4  # fewer words than this is a heading or a fragment, not a claim

FORMATS = ("auto", "text", "markdown", "json", "html")
AUDIT_TYPES = (
    "text/html",
    "application/xhtml+xml",
    "text/plain",
    "text/markdown",
    "application/json",
)


# --- 1. parsing ------------------------------------------------------------------------------
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


_REFERENCES_HEADING = re.compile(
    r"^\s*(?:#{1,6}\s*)?(?:\*\*|__)?\s*(references|sources|bibliography|works cited|citations"
    r"|notes and references|further reading)\s*:?\s*(?:\*\*|__)?\s*:?\s*$",
    re.IGNORECASE,
)
_QUESTION_PREFIX = re.compile(r"^\s*(?:\*\*)?(?:question|q)\s*[:.]\s*(?:\*\*)?\s*", re.IGNORECASE)
_ANSWER_PREFIX = re.compile(r"^\s*(?:\*\*)?(?:answer|a)\s*[:.]\s*(?:\*\*)?\s*", re.IGNORECASE)
_HEADING = re.compile(r"^\s*#{1,6}\s+")
_LIST_ITEM = re.compile(r"^\s*(?:[-*•+]|\d{1,3}[.)]|\[\d{1,3}\]:?|\[\^\d{1,3}\]:)\s+")
_ITEM_NUMBER = re.compile(r"^\s*(?:(\d{1,3})[.)]|\[(\d{1,3})\]:?|\[\^(\d{1,3})\]:)")
_FOOTNOTE_DEF = re.compile(r"^\s*\[\^?(\d{1,3})\]:\s+(.+)$")
_URL = re.compile(r"https?://[^\s<>\"'\])]+[^\s<>\"'\]).,;:!?]")
_MD_LINK = re.compile(r"(?<!!)\[([^\]\n]*)\]\((https?://[^)\s]+)(?:\s+\"[^\"]*\")?\)")
_MARKER = re.compile(r"\s?\[\^?(\d{1,3}(?:\s*[,–-]\s*\d{1,3})*)\]")
_EMPHASIS = re.compile(r"(\*\*|__|\*|_)(?=\S)(.+?)(?<=\S)\1")
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

    converted = trafilatura.extract(
        html,
        output_format="markdown",
        include_links=True,
        include_formatting=True,
        include_tables=False,
        favor_recall=True,
    )
    if converted and converted.strip():
        return str(converted).replace("\\[", "[").replace("\\]", "]")
    # Too little text for trafilatura's extractor: fall back to all the text of the page.
    return str(trafilatura.html2txt(html) or "")


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
                refs = sorted({c.get("ref") for c in s.get("citations", []) if c.get("ref")})
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
            number = entry.get("number") or entry.get("id") or position
            url = _first_str(entry, ("url", "link", "href"))
            title = _first_str(entry, ("title", "name", "headline"))
            shown = " ".join(x for x in (title, url) if x) or json.dumps(entry)
            references.append(
                ParsedReference(
                    int(number) if str(number).isdigit() else position, shown, title, url
                )
            )
    parsed = _parse_lines(body, "json")
    return replace(
        parsed,
        question=question or parsed.question,
        references=tuple(references) or parsed.references,
    )


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
    reference_lines = lines[heading + 1 :] if heading is not None else []
    lines = lines[:heading] if heading is not None else lines
    references = _reference_list(reference_lines) + footnotes
    question, paragraphs = _question_and_paragraphs(lines)
    notes = []
    if heading is None and not footnotes:
        notes.append("The answer lists no references.")
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


def _question_and_paragraphs(lines: list[str]) -> tuple[str | None, list[str]]:
    """The question is an explicit "Question:" line, a heading, or a first line that asks
    something (ends with "?" or holds one within its first 400 characters)."""
    blocks: list[list[str]] = [[]]
    for line in lines:
        if not line.strip():
            blocks.append([])
        elif _HEADING.match(line) or _LIST_ITEM.match(line):
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
            if current and re.search(r"[.!?:\"”')]$", current[-1]) and line[:1].isupper():
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
    raw = _LIST_ITEM.sub("", raw)
    raw = _EMPHASIS.sub(r"\2", raw)
    out: list[str] = []
    markers: list[tuple[int, int]] = []
    links: list[tuple[int, str]] = []
    position = 0
    length = 0
    pattern = re.compile(f"{_MD_LINK.pattern}|{_MARKER.pattern}")
    for match in pattern.finditer(raw):
        piece = raw[position : match.start()]
        out.append(piece)
        length += len(piece)
        if match.group(2):  # [text](url)
            label = match.group(1)
            numbers = _marker_numbers(label.strip("[]^ "))
            if numbers:  # "[[1]](url)": a marker that is also a link
                markers += [(length, n) for n in numbers]
            else:
                out.append(label)
                length += len(label)
            links.append((length, match.group(2)))
        else:
            markers += [(length, n) for n in _marker_numbers(match.group(3))]
        position = match.end()
    out.append(raw[position:])
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
        if _LIST_ITEM.match(line) or not entries:
            number_match = _ITEM_NUMBER.match(line)
            number = (
                next((int(g) for g in number_match.groups() if g), None) if number_match else None
            )
            entries.append((number, _LIST_ITEM.sub("", line).strip()))
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


# --- 1b. atomic claims (with a model) ---------------------------------------------------------
SPLIT_MIN_WORDS = 15  # shorter sentences rarely hold two claims; not worth a model call
MAX_PARTS = 6
_SPLIT_INSTRUCTIONS = (
    "Split the sentence inside <sentence> into the separate factual claims it makes. Write one "
    "claim per line, each a short complete sentence that names its subject instead of using "
    "a pronoun. Use only what the sentence says: add nothing, and leave out no fact. If the "
    "sentence makes a single claim, write it unchanged on one line. Write nothing else."
)


class ClaimSplitter(Protocol):
    """Splits a compound sentence into atomic claims (a chat model: ``ModelSplitter``)."""

    @property
    def name(self) -> str: ...

    def split(self, sentence: str) -> list[str]: ...


class ChatModel(Protocol):
    """What ``ModelSplitter`` needs of a model: ``llm.ChatWriter`` (server or local) has it."""

    name: str

    def reply(self, messages: Sequence[Mapping[str, str]]) -> str: ...


class ModelSplitter:
    """A ``ClaimSplitter`` over any chat model citewire can write with."""

    def __init__(self, model: ChatModel) -> None:
        self.model = model

    @property
    def name(self) -> str:
        return self.model.name

    def split(self, sentence: str) -> list[str]:
        guarded = sentence.replace("<", "‹").replace(">", "›")  # data, never markup
        reply = self.model.reply(
            [
                {"role": "system", "content": _SPLIT_INSTRUCTIONS},
                {"role": "user", "content": f"<sentence>{guarded}</sentence>"},
            ]
        )
        parts = []
        for line in reply.splitlines():
            line = _LIST_ITEM.sub("", line).strip().strip('"')
            if len(line.split()) >= SHORT_CLAIM_WORDS - 1:
                parts.append(line)
        return parts[:MAX_PARTS]


def _split_all(
    splitter: ClaimSplitter, claims: Sequence[ParsedClaim]
) -> tuple[list[ParsedClaim], list[str]]:
    """Replace each compound sentence by its atomic claims. A part the sentence itself does not
    support (a number, name or date it lacks; most of its words absent) is the model's
    invention: then the sentence is kept whole, so the audit never checks words nobody wrote."""
    out: list[ParsedClaim] = []
    split = rejected = 0
    failure: str | None = None
    for claim in claims:
        if len(claim.text.split()) < SPLIT_MIN_WORDS or failure:
            out.append(claim)
            continue
        try:
            parts = splitter.split(claim.text)
        except LLMError as exc:
            failure = exc.one_line()
            out.append(claim)
            continue
        if len(parts) < 2:
            out.append(claim)
            continue
        if not all(check_support(part, claim.text).passed for part in parts):
            rejected += 1
            out.append(claim)
            continue
        split += 1
        out += [
            replace(claim, text=part, sentence=claim.text, part=number)
            for number, part in enumerate(parts, start=1)
        ]
    notes = []
    if split or rejected:
        note = f"{splitter.name} split {split} compound sentence(s) into atomic claims"
        if rejected:
            note += f"; {rejected} split(s) added words the sentence lacks and were not used"
        notes.append(note + ".")
    if failure:
        notes.append(f"Splitting compound sentences stopped ({failure}); the rest were whole.")
    return out, notes


# --- 2-4. auditing -----------------------------------------------------------------------------
@dataclass
class _Candidate:
    passage: Passage
    article: Article


@dataclass
class _Resolved:
    references: list[AuditReference]
    by_number: dict[int, Article] = field(default_factory=dict)


class Auditor:
    """Checks a parsed answer against the index with the verifier ``ask`` uses."""

    def __init__(
        self,
        store: Store,
        retriever: Retriever,
        embedder: Embedder,
        judge: Judge | None = None,
        max_claims: int = MAX_CLAIMS,
        splitter: ClaimSplitter | None = None,
    ) -> None:
        self.store = store
        self.retriever = retriever
        self.embedder = embedder
        self.judge = judge
        self.max_claims = max_claims
        self.splitter = splitter
        # Claims of one answer keep meeting the same passages: embed each span once.
        self._vectors: dict[str, npt.NDArray[np.float32]] = {}

    def audit(
        self,
        parsed: ParsedAnswer,
        as_of: datetime | None = None,
        origin: str | None = None,
    ) -> Audit:
        filters = SearchFilters(until=as_of) if as_of is not None else SearchFilters()
        notes = list(parsed.notes)
        resolved = self._resolve_references(parsed.references, filters)
        claims_in = list(parsed.claims)
        if len(claims_in) > self.max_claims:
            notes.append(
                f"Only the first {self.max_claims} of {len(claims_in)} claims were checked; the "
                "rest are not in this report."
            )
            claims_in = claims_in[: self.max_claims]
        if not claims_in:
            notes.append("The answer holds no sentence that makes a claim: nothing was checked.")
        if not _looks_english(parsed.body):
            notes.append(
                "The text does not look like English; the fact checks and the embedding model "
                "are built for English, so expect claims to be reported as not found."
            )
        if self.splitter is not None:
            claims_in, split_notes = _split_all(self.splitter, claims_in)
            notes += split_notes
        claims = [self._claim(claim, resolved, filters) for claim in claims_in]
        claims, sources = self._number_sources(claims)
        topic = parsed.question or (parsed.body.split("\n\n")[0] if parsed.body else "")
        references = self._judge_references(resolved.references, claims, topic)
        if self.store.stats().articles == 0:
            notes.append("The index is empty: ingest articles first, then audit again.")
        return Audit(
            question=parsed.question,
            body=parsed.body,
            claims=tuple(claims),
            references=tuple(references),
            sources=sources,
            as_of=as_of or datetime.now(UTC),
            input_format=parsed.input_format,
            notes=tuple(notes),
            origin=origin,
        )

    # references ---------------------------------------------------------------------------
    def _resolve_references(
        self, parsed: Sequence[ParsedReference], filters: SearchFilters
    ) -> _Resolved:
        resolved = _Resolved([])
        for ref in parsed:
            article, how = self._find(ref, filters)
            note = None
            if article is None:
                note = "not in the index" + (" (no URL given)" if not ref.url else "")
            else:
                resolved.by_number[ref.number] = article
            resolved.references.append(
                AuditReference(
                    number=ref.number,
                    text=ref.text,
                    title=ref.title,
                    url=ref.url,
                    article_id=article.id if article else None,
                    matched_by=how,
                    note=note,
                )
            )
        return resolved

    def _find(
        self, ref: ParsedReference, filters: SearchFilters
    ) -> tuple[Article | None, str | None]:
        canonical = canonical_url(ref.url)
        if canonical:
            found = self.store.get_article(article_id(canonical, ""))
            if found is not None:
                return found, "url"
        if ref.title and len(ref.title.split()) >= 2:
            wanted = _title_words(ref.title)
            for hit in self.retriever.search(ref.title[:MAX_QUERY_CHARS], k=5, filters=filters):
                have = _title_words(hit.article.title or "")
                if wanted and have:
                    shared = len(wanted & have)
                    if min(shared / len(wanted), shared / len(have)) >= TITLE_MATCH:
                        return hit.article, "title"
        return None, None

    def _judge_references(
        self, references: Sequence[AuditReference], claims: Sequence[AuditClaim], topic: str
    ) -> list[AuditReference]:
        if not references:
            return []
        supported_by: dict[str, list[int]] = {}
        groups: dict[str, str] = {}
        for index, claim in enumerate(claims):
            if claim.label != ClaimLabel.SUPPORTED:
                continue
            for evidence in claim.evidence:
                supported_by.setdefault(evidence.citation.article_id, []).append(index)
        articles = self.store.articles(
            [*supported_by, *(r.article_id for r in references if r.article_id)]
        )
        for aid, article in articles.items():
            groups[aid] = article.group_id
        # A reference to one copy of a syndicated story supports what another copy supports.
        by_group: dict[str, set[int]] = {}
        for aid, indexes in supported_by.items():
            by_group.setdefault(groups.get(aid, aid), set()).update(indexes)
        texts = []
        for ref in references:
            matched = articles.get(ref.article_id) if ref.article_id else None
            if matched is not None:
                texts.append(f"{matched.title or ''}. {matched.text[:600]}")
            else:
                texts.append(ref.title or ref.text)
        vectors = self.embedder.embed([topic or " ", *texts])
        similarities = vectors[1:] @ vectors[0]
        out = []
        for ref, similarity in zip(references, similarities, strict=True):
            group = groups.get(ref.article_id or "", ref.article_id or "")
            supports = tuple(sorted(by_group.get(group, set()))) if ref.article_id else ()
            pointed = tuple(i for i, c in enumerate(claims) if ref.number in c.markers)
            score = float(similarity)
            if supports or score >= REFERENCE_RELEVANCE:
                relevant = Relevance.RELEVANT
            elif ref.article_id is None and score >= TITLE_ONLY_FLOOR:
                relevant = Relevance.UNCERTAIN  # a few words of title: too little to rule out
            else:
                relevant = Relevance.IRRELEVANT
            out.append(
                replace(
                    ref,
                    relevant=relevant,
                    relevance=round(float(similarity), 3),
                    supports=supports,
                    pointed_at=pointed,
                )
            )
        return out

    # claims -------------------------------------------------------------------------------
    def _claim(self, claim: ParsedClaim, resolved: _Resolved, filters: SearchFilters) -> AuditClaim:
        candidates = self._candidates(claim, resolved, filters)
        base = AuditClaim(
            text=claim.text,
            start=claim.start,
            end=claim.end,
            paragraph=claim.paragraph,
            label=ClaimLabel.NOT_FOUND,
            markers=claim.markers,
            links=claim.links,
            sentence=claim.sentence,
            part=claim.part,
        )
        checkable = _checkable(claim.text)
        if not candidates:
            label = ClaimLabel.NOT_FOUND if checkable else ClaimLabel.OPINION
            why = "no indexed passage is about it"
            return replace(base, label=label, reasons=(why,))
        scored = self._check_candidates(claim.text, candidates)
        passed = [(e, s) for e, s in scored if e.check.passed]
        if passed:
            passed.sort(key=lambda pair: (-pair[0].check.score, -pair[1]))
            shown = _strongest(passed, candidates)
            return replace(
                base, label=ClaimLabel.SUPPORTED, score=shown[0].check.score, evidence=shown
            )
        against = [
            (e, s) for e, s in scored if contradictions(e.check) and s >= CONTRADICTION_SIMILARITY
        ]
        if against:
            against.sort(key=lambda pair: -pair[1])
            shown = _strongest(against, candidates)
            return replace(
                base,
                label=ClaimLabel.CONTRADICTED,
                evidence=shown,
                reasons=tuple(dict.fromkeys(r for e in shown for r in contradictions(e.check))),
            )
        closest, _similarity = max(scored, key=lambda pair: pair[1])
        if not checkable:
            return replace(
                base,
                label=ClaimLabel.OPINION,
                evidence=(closest,),
                reasons=("no checkable fact (no number, date, name or quotation)",),
            )
        return replace(
            base,
            label=ClaimLabel.NOT_FOUND,
            score=closest.check.score,
            evidence=(closest,),
            reasons=closest.check.reasons or ("no indexed passage supports it",),
        )

    def _candidates(
        self, claim: ParsedClaim, resolved: _Resolved, filters: SearchFilters
    ) -> list[_Candidate]:
        seen: set[int] = set()
        out: list[_Candidate] = []
        # The articles the author cites for this claim come first: if the claim is supported
        # anywhere, it should be by its own reference.
        for number in claim.markers:
            article = resolved.by_number.get(number)
            if article is None:
                continue
            for passage in self.store.article_passages(article.id):
                if passage.id not in seen:
                    seen.add(passage.id)
                    out.append(_Candidate(passage, article))
        if query_terms(claim.text):
            hits = self.retriever.search(
                claim.text[:MAX_QUERY_CHARS], k=CLAIM_SEARCH_K, filters=filters, per_group=2
            )
            for hit in hits:
                if hit.passage.id not in seen:
                    seen.add(hit.passage.id)
                    out.append(_Candidate(hit.passage, hit.article))
        return out

    def _check_candidates(
        self, claim: str, candidates: Sequence[_Candidate]
    ) -> list[tuple[ClaimEvidence, float]]:
        """For each candidate passage, the span (one sentence, or two adjacent ones) closest in
        meaning to the claim, checked by the verifier; with that span's cosine similarity."""
        spans: list[tuple[_Candidate, int, int]] = []
        for candidate in candidates:
            passage = candidate.passage
            sentences = split_sentences(passage.text) or [(0, len(passage.text))]
            for i, (start, end) in enumerate(sentences):
                spans.append((candidate, start, end))
                if i + 1 < len(sentences):
                    spans.append((candidate, start, sentences[i + 1][1]))
        vectors = self._embed([claim, *(c.passage.text[s:e] for c, s, e in spans)])
        similarities = vectors[1:] @ vectors[0]
        best: dict[int, tuple[int, float]] = {}
        for index, similarity in enumerate(similarities):
            passage_id = spans[index][0].passage.id
            if passage_id not in best or similarity > best[passage_id][1]:
                best[passage_id] = (index, float(similarity))
        results = []
        for index, similarity in best.values():
            candidate, start, end = spans[index]
            passage, article = candidate.passage, candidate.article
            quote = passage.text[start:end]
            citation = Citation(
                article_id=article.id,
                start=passage.start + start,
                end=passage.start + end,
                quote=quote,
                quote_hash=quote_hash(quote),
                passage_id=passage.id,
            )
            # The headline names what the body calls "the ministry": context, not invention.
            evidence = f"{article.title.rstrip('.')}. {quote}" if article.title else quote
            check = check_support(claim, evidence, judge=self.judge, embed_similarity=similarity)
            results.append((ClaimEvidence(citation, check), similarity))
        return results

    def _embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if missing:
            self._vectors.update(zip(missing, self.embedder.embed(missing), strict=True))
        return np.stack([self._vectors[t] for t in texts])

    def _number_sources(
        self, claims: list[AuditClaim]
    ) -> tuple[list[AuditClaim], tuple[Reference, ...]]:
        """Number the articles that decide claims by first use, like an answer's References.
        Only evidence for supported or contradicted claims is numbered; the closest passage
        shown for an unsupported claim is a pointer, numbered too so a reader can open it."""
        numbers: dict[str, int] = {}
        numbered = []
        for claim in claims:
            evidence = []
            for item in claim.evidence:
                number = numbers.setdefault(item.citation.article_id, len(numbers) + 1)
                evidence.append(replace(item, citation=replace(item.citation, ref=number)))
            numbered.append(replace(claim, evidence=tuple(evidence)))
        articles = self.store.articles(list(numbers))
        carriers = self.store.carriers([a.group_id for a in articles.values()])
        sources = tuple(
            make_reference(number, articles[aid], carriers.get(articles[aid].group_id, []))
            for aid, number in sorted(numbers.items(), key=lambda kv: kv[1])
            if aid in articles
        )
        return numbered, sources


def _strongest(
    ranked: Sequence[tuple[ClaimEvidence, float]], candidates: Sequence[_Candidate]
) -> tuple[ClaimEvidence, ...]:
    """The best evidence per story (syndicated copies are one source), at most EVIDENCE_SHOWN,
    and only those about as strong as the best: a weak second passage adds doubt, not support."""
    group = {c.article.id: c.article.group_id for c in candidates}
    best = ranked[0][0].check.score
    shown: dict[str, ClaimEvidence] = {}
    for evidence, _similarity in ranked:
        key = group.get(evidence.citation.article_id, evidence.citation.article_id)
        if key not in shown and evidence.check.score >= best - EVIDENCE_MARGIN:
            shown[key] = evidence
    return tuple(shown.values())[:EVIDENCE_SHOWN]


def _checkable(text: str) -> bool:
    found = facts(text)
    return bool(found.numbers or found.dates or found.names or found.quotes)


def _title_words(title: str) -> set[str]:
    return {w for w in re.findall(r"[^\W_]+", title.lower()) if len(w) > 2}


_ENGLISH = frozenset(
    "the of and to in is that for on with as was by it are be this from at an or has have not "
    "said its were which their but will".split()
)


def _looks_english(text: str) -> bool:
    words = re.findall(r"[^\W\d_]+", text.lower())
    if len(words) < 8:
        return True  # too little to tell
    return sum(w in _ENGLISH for w in words) / len(words) >= 0.08
