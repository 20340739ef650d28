"""``Engine``: the one entry point of the library. The CLI and the web app are thin shells over it.

engine = Engine(home="~/news-index")
report = engine.ingest(["feeds.txt", "https://example.org/rss"])
hits = engine.search("ceasefire guarantees", k=5)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, TypeVar

from citewire.answer import EVIDENCE_K, Asker
from citewire.audit import MAX_CLAIMS, Auditor, ClaimSplitter
from citewire.audit_input import parse_answer
from citewire.config import resolve_home
from citewire.embed import Embedder, default_embedder
from citewire.errors import NotFoundError
from citewire.extractive import ExtractiveWriter
from citewire.ingest import IngestOptions, Ingestor, ProgressCallback
from citewire.models import (
    Answer,
    AnswerSummary,
    Article,
    Audit,
    AuditSummary,
    Hit,
    IngestReport,
    SearchFilters,
    Stats,
)
from citewire.retrieve import Retriever
from citewire.sqlite_store import DEFAULT_ANN_MIN, SQLiteStore
from citewire.store import Store
from citewire.verify import Judge
from citewire.write import Writer

INDEX_FILE = "index.db"
T = TypeVar("T")

# An answer written without --as-of has as_of = the moment it was asked; a refresh of it should
# be as of the new moment. Slow LLM writers take minutes between the two timestamps.
_ASKED_NOW_WINDOW = timedelta(minutes=15)
NEWER_K = 5


class Engine:
    def __init__(
        self,
        home: str | os.PathLike[str] | None = None,
        *,
        store: Store | None = None,
        embedder: Embedder | None = None,
        ann_min_passages: int = DEFAULT_ANN_MIN,
    ) -> None:
        self.home: Path = resolve_home(home)
        self.embedder: Embedder = embedder or default_embedder()
        self.store: Store = store or SQLiteStore(
            self.home / INDEX_FILE,
            dim=self.embedder.dim,
            model=self.embedder.name,
            ann_min_passages=ann_min_passages,
        )
        self.retriever = Retriever(self.store, self.embedder)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def ingest(
        self,
        sources: Sequence[str],
        options: IngestOptions | None = None,
        stdin: IO[bytes] | None = None,
        progress: ProgressCallback | None = None,
    ) -> IngestReport:
        return Ingestor(self.store, self.embedder, options).run(sources, stdin, progress)

    def search(
        self,
        query: str,
        k: int = 10,
        filters: SearchFilters | None = None,
        mode: str = "hybrid",
    ) -> list[Hit]:
        return self.retriever.search(query, k=k, filters=filters, mode=mode)

    def stats(self) -> Stats:
        return self.store.stats()

    def ask(
        self,
        question: str,
        as_of: datetime | None = None,
        writer: Writer | None = None,
        k: int = EVIDENCE_K,
        judge: Judge | None = None,
        previous_id: str | None = None,
    ) -> Answer:
        """A cited, checked answer from the index, stored with an id (see ``answers``).
        ``judge`` adds a model to the support check of every sentence (see ``verify``)."""
        fallback = ExtractiveWriter(self.embedder)
        asker = Asker(self.store, self.retriever, writer or fallback, fallback, judge, previous_id)
        return asker.ask(question, as_of=as_of, k=k)

    def answer(self, answer_id: str) -> Answer:
        return _found(
            self.store.get_answer(answer_id),
            f"no answer with id {answer_id!r}",
            "`citewire answers` lists stored answers",
        )

    def answers(self, limit: int = 50) -> list[AnswerSummary]:
        return self.store.list_answers(limit)

    def refresh(self, answer_id: str, writer: Writer | None = None) -> Answer:
        """Ask a stored answer's question again and store the result as a new version that
        points at the old one (which stays). An answer written "as of now" is refreshed as of
        now; one pinned to a date keeps that date (newly ingested older articles can count)."""
        old = self.answer(answer_id)
        as_of = old.as_of if pinned_as_of(old) else None
        return self.ask(old.question, as_of=as_of, writer=writer, previous_id=old.id)

    def versions(self, answer_id: str) -> list[AnswerSummary]:
        """All versions of an answer, oldest first."""
        return self.store.answer_versions(answer_id)

    def newer_sources(self, answer: Answer, k: int = NEWER_K) -> list[Hit]:
        """Articles ingested after the answer was written that rank among the question's top
        ``k`` passages (within its as-of date when it was pinned) and that it does not cite:
        the sign that a refresh may say more."""
        created = answer.created_at
        last = self.store.last_ingest()
        if created is None or last is None or last <= created:
            return []  # nothing arrived since: skip the search (pages ask on every view)
        filters = SearchFilters(until=answer.as_of) if pinned_as_of(answer) else SearchFilters()
        cited = {r.article_id for r in answer.references}
        return [
            hit
            for hit in self.search(answer.question, k=k, filters=filters)
            if hit.article.ingested_at > created and hit.article.id not in cited
        ]

    def article(self, article_id: str) -> Article:
        return _found(
            self.store.get_article(article_id),
            f"no article with id {article_id!r}",
            "search the index to find articles",
        )

    def answers_citing(self, article_id: str, limit: int = 50) -> list[Answer]:
        return self.store.answers_citing(article_id, limit)

    def audit(
        self,
        text: str,
        *,
        fmt: str = "auto",
        question: str | None = None,
        as_of: datetime | None = None,
        origin: str | None = None,
        judge: Judge | None = None,
        splitter: ClaimSplitter | None = None,
        save: bool = True,
        max_claims: int = MAX_CLAIMS,
    ) -> Audit:
        """Check an answer written elsewhere against the index (see ``citewire.audit``); stored
        with an id unless ``save`` is false. ``splitter`` (a model) splits compound sentences
        into atomic claims."""
        parsed = parse_answer(text, fmt, question)
        auditor = Auditor(
            self.store, self.retriever, self.embedder, judge, max_claims, splitter=splitter
        )
        report = auditor.audit(parsed, as_of=as_of, origin=origin)
        return self.store.save_audit(report) if save else report

    def get_audit(self, audit_id: str) -> Audit:
        return _found(
            self.store.get_audit(audit_id),
            f"no audit with id {audit_id!r}",
            "`citewire audits` lists stored audits",
        )

    def audits(self, limit: int = 50) -> list[AuditSummary]:
        return self.store.list_audits(limit)


def _found(value: T | None, message: str, hint: str) -> T:
    if value is None:
        raise NotFoundError(message, hint=hint)
    return value


def pinned_as_of(answer: Answer) -> bool:
    """Was the answer asked as of a chosen date (rather than as of the moment it was asked)?"""
    if answer.created_at is None:
        return True
    return not answer.created_at - _ASKED_NOW_WINDOW <= answer.as_of <= answer.created_at
