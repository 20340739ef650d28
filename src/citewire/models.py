"""Frozen dataclasses: the currency passed between pipeline stages.

ingest: ``Document`` (what extraction produced) → ``Article`` + ``Passage`` (what the store keeps)
search: ``SearchFilters`` in, ``Hit`` out
reports: ``IngestReport`` with one ``IngestFailure`` per input that could not be used
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Document:
    """One article as extracted from an input, before it is stored.

    ``url`` is the canonical URL when the input declared one. ``published_at`` is timezone-aware
    or None: a missing date is recorded in ``metadata["missing"]``, never invented.
    """

    text: str
    source: str  # where it came from: a path, path:line, a URL, "stdin:12"
    title: str | None = None
    url: str | None = None
    published_at: datetime | None = None
    date_precision: str | None = None  # "day" when the input gave a date without a time
    outlet: str | None = None
    authors: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Article:
    id: str
    text: str
    content_hash: str
    source: str
    title: str | None
    url: str | None
    published_at: datetime | None
    date_precision: str | None
    outlet: str | None
    authors: tuple[str, ...]
    metadata: Mapping[str, Any]
    group_id: str
    ingested_at: datetime


@dataclass(frozen=True)
class Passage:
    """A few consecutive sentences of an article; ``start``/``end`` are character offsets into
    ``Article.text`` so that ``article.text[start:end] == text`` always holds."""

    id: int
    article_id: str
    seq: int
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Carrier:
    """One outlet/URL that carried a (possibly syndicated) story."""

    article_id: str
    outlet: str | None
    url: str | None
    title: str | None
    published_at: datetime | None


@dataclass(frozen=True)
class SearchFilters:
    since: datetime | None = None
    until: datetime | None = None
    outlets: tuple[str, ...] = ()
    # Undated articles cannot be placed in time; a date filter drops them unless this is set.
    include_undated: bool = False

    @property
    def active(self) -> bool:
        return self.since is not None or self.until is not None or bool(self.outlets)


@dataclass(frozen=True)
class Span:
    start: int  # offsets into the passage text
    end: int


@dataclass(frozen=True)
class Hit:
    passage: Passage
    article: Article
    score: float  # fused score (higher is better)
    bm25_rank: int | None  # 1-based rank in the BM25 list, None if absent
    dense_rank: int | None
    matched: tuple[Span, ...]  # query-term matches inside the passage text
    also_carried_by: tuple[Carrier, ...] = ()


@dataclass(frozen=True)
class IngestFailure:
    source: str
    reason: str


@dataclass(frozen=True)
class IngestReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0  # exact copies of something already indexed
    near_duplicates: int = 0  # joined an existing syndication group
    passages: int = 0
    failed: tuple[IngestFailure, ...] = ()
    dry_run: bool = False
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "duplicates": self.duplicates,
            "near_duplicates": self.near_duplicates,
            "passages": self.passages,
            "failed": [{"source": f.source, "reason": f.reason} for f in self.failed],
            "dry_run": self.dry_run,
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True)
class Stats:
    articles: int
    groups: int
    passages: int
    earliest: datetime | None
    latest: datetime | None
    undated: int
    outlets: tuple[tuple[str, int], ...]
    index_bytes: int
    last_ingest: datetime | None
    path: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "articles": self.articles,
            "groups": self.groups,
            "passages": self.passages,
            "earliest": self.earliest.isoformat() if self.earliest else None,
            "latest": self.latest.isoformat() if self.latest else None,
            "undated": self.undated,
            "outlets": dict(self.outlets),
            "index_bytes": self.index_bytes,
            "last_ingest": self.last_ingest.isoformat() if self.last_ingest else None,
            "path": self.path,
        }


# --- answers -------------------------------------------------------------------------------------
class AnswerStatus:
    """An answer's status. "Not enough evidence" is a status, never a magic phrase in the text."""

    ANSWERED = "answered"
    INSUFFICIENT_EVIDENCE = "insufficient_evidence"
    PREMISE_CONTRADICTED = "premise_contradicted"


@dataclass(frozen=True)
class Citation:
    """A pointer at the exact span of a stored article that supports a sentence.

    ``quote == article.text[start:end]`` when the citation was made; ``quote_hash`` (sha256 of the
    quote) lets any later reader re-read the span by its offsets and prove it is unchanged.
    ``ref`` is the number of the reference it belongs to (``[ref]`` in the text), 0 until
    references are numbered.
    """

    article_id: str
    start: int
    end: int
    quote: str
    quote_hash: str
    passage_id: int | None = None
    ref: int = 0


@dataclass(frozen=True)
class Check:
    """The result of checking one sentence against what it cites.

    ``layer`` names what decided: "extractive" (the sentence is the cited text), "deterministic"
    (numbers, names, dates, quotes, negation), "embedding" or a judge's name.
    """

    passed: bool
    score: float  # support in [0, 1]
    layer: str
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class Sentence:
    """One sentence of an answer. ``kind`` is "claim" (must cite and pass its check) or
    "connective" (citewire's own framing words, which never carry a fact and cite nothing)."""

    text: str
    citations: tuple[Citation, ...] = ()
    kind: str = "claim"
    check: Check | None = None


@dataclass(frozen=True)
class Paragraph:
    sentences: tuple[Sentence, ...]
    role: str = "support"  # "lead" | "support" | "disagreement" | "timeline"


@dataclass(frozen=True)
class Reference:
    number: int
    article_id: str
    title: str | None
    outlet: str | None
    published_at: datetime | None
    date_precision: str | None
    url: str | None
    also_carried_by: tuple[Carrier, ...] = ()


@dataclass(frozen=True)
class Decision:
    """Why a candidate sentence was kept or dropped (for ``--explain``)."""

    article_id: str
    text: str
    score: float
    kept: bool
    reason: str


@dataclass(frozen=True)
class Answer:
    question: str
    as_of: datetime
    status: str
    paragraphs: tuple[Paragraph, ...]
    references: tuple[Reference, ...]
    notes: tuple[str, ...] = ()
    writer: str = "extractive"
    id: str | None = None
    created_at: datetime | None = None
    related: tuple[Reference, ...] = ()  # nearest sources when the status is insufficient_evidence
    sentences_checked: int = 0
    sentences_passed: int = 0
    explain: tuple[Decision, ...] = ()
    previous_id: str | None = None  # the answer this one refreshed (an older version)

    @property
    def sentences(self) -> tuple[Sentence, ...]:
        return tuple(s for p in self.paragraphs for s in p.sentences)


@dataclass(frozen=True)
class AnswerSummary:
    id: str
    question: str
    status: str
    as_of: datetime
    created_at: datetime
    writer: str
    previous_id: str | None = None


# --- audits of answers written elsewhere ---------------------------------------------------------
class ClaimLabel:
    """What the index says about one claim of an audited answer."""

    SUPPORTED = "supported"  # a stored passage supports it (the evidence is cited)
    CONTRADICTED = "contradicted"  # a stored passage states a different number, date or negation
    NOT_FOUND = "not_found"  # nothing indexed supports or contradicts it
    OPINION = "opinion"  # framing or judgement with no checkable fact: not checked
    ALL = (SUPPORTED, CONTRADICTED, NOT_FOUND, OPINION)


@dataclass(frozen=True)
class ClaimEvidence:
    """A passage that decides a claim: the exact span (cited like an answer's citation), the
    check that compared them and the number of the source in the audit's own source list."""

    citation: Citation
    check: Check


@dataclass(frozen=True)
class AuditClaim:
    """One claim (a sentence, or an atomic part of one) of the audited text.

    ``start``/``end`` are offsets into the audited body text; ``markers`` are the reference
    numbers the author attached to it (``[2]``), ``links`` the URLs it links inline.
    """

    text: str
    start: int
    end: int
    paragraph: int
    label: str
    score: float = 0.0
    evidence: tuple[ClaimEvidence, ...] = ()
    markers: tuple[int, ...] = ()
    links: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    # When a model split a compound sentence into atomic claims: the sentence, and this claim's
    # place among its parts (1, 2, ...); start/end are then the sentence's offsets.
    sentence: str | None = None
    part: int = 0


class Relevance:
    """Whether a listed reference concerns the question. "uncertain" only when all there is to
    judge by is a listed title whose meaning is neither close to the question nor far from it."""

    RELEVANT = "relevant"
    IRRELEVANT = "irrelevant"
    UNCERTAIN = "uncertain"


@dataclass(frozen=True)
class AuditReference:
    """A reference the audited answer lists, and what became of it."""

    number: int  # as listed (1-based position when the list is unnumbered)
    text: str  # the entry as written
    title: str | None
    url: str | None
    article_id: str | None = None  # the indexed article it was matched to, if any
    matched_by: str | None = None  # "url" | "title" | None
    relevant: str = "irrelevant"  # a Relevance value: does the source concern the question?
    relevance: float = 0.0  # cosine of the question and the source (or its listed title)
    supports: tuple[int, ...] = ()  # indexes into Audit.claims it supports
    pointed_at: tuple[int, ...] = ()  # indexes of claims whose [n] marker names it
    note: str | None = None


@dataclass(frozen=True)
class Audit:
    """The report on an answer written elsewhere: claims, references, and the sources
    (numbered like an answer's References) that the claims' evidence cites."""

    question: str | None
    body: str
    claims: tuple[AuditClaim, ...]
    references: tuple[AuditReference, ...]
    sources: tuple[Reference, ...]
    as_of: datetime
    input_format: str = "text"  # "text" | "markdown" | "json" | "html"
    notes: tuple[str, ...] = ()
    origin: str | None = None  # file name or URL it was read from
    id: str | None = None
    created_at: datetime | None = None

    def count(self, label: str) -> int:
        return sum(1 for claim in self.claims if claim.label == label)


@dataclass(frozen=True)
class AuditSummary:
    id: str
    question: str
    created_at: datetime
