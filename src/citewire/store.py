"""The ``Store`` protocol: everything the pipeline needs from an index backend.

SQLite (``citewire.sqlite_store``) is the embedded default; a PostgreSQL backend implements the
same protocol. No SQL dialect, file layout or vector-library detail leaks past this boundary:
callers speak in ``Article``/``Passage`` objects, passage ids and scores.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import numpy as np
import numpy.typing as npt

from citewire.models import (
    Answer,
    AnswerSummary,
    Article,
    Audit,
    AuditSummary,
    Carrier,
    IngestReport,
    Passage,
    SearchFilters,
    Stats,
)


def new_answer_id() -> str:
    """Short, unguessable, URL-safe: answers get permalinks (/questions/<id>)."""
    return secrets.token_urlsafe(8).replace("-", "x").replace("_", "y")


@dataclass(frozen=True)
class NewPassage:
    seq: int
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Candidate:
    """An indexed article that shares at least one LSH band with a new one."""

    article_id: str
    group_id: str
    signature: bytes


class Store(Protocol):
    location: str

    def close(self) -> None: ...

    def transaction(self, rollback: bool = False) -> AbstractContextManager[None]:
        """All writes inside commit together (or roll back on error, or when ``rollback``)."""
        ...

    # --- articles and groups -------------------------------------------------------------
    def get_article(self, article_id: str) -> Article | None: ...

    def find_by_hash(self, content_hash: str) -> Article | None: ...

    def lsh_candidates(self, bands: Sequence[str]) -> list[Candidate]: ...

    def put_article(self, article: Article, signature: bytes, bands: Sequence[str]) -> None:
        """Insert, or replace an article with the same id (dropping its old passages)."""
        ...

    def ensure_group(self, group_id: str, canonical_id: str) -> None: ...

    def add_passages(
        self,
        article_id: str,
        passages: Sequence[NewPassage],
        embeddings: npt.NDArray[np.float32] | None,
    ) -> int: ...

    def articles(self, ids: Sequence[str]) -> Mapping[str, Article]: ...

    def passages(self, ids: Sequence[int]) -> Mapping[int, Passage]: ...

    def article_passages(self, article_id: str) -> list[Passage]: ...

    def carriers(self, group_ids: Sequence[str]) -> Mapping[str, list[Carrier]]: ...

    def iter_articles(self) -> Iterator[Article]: ...

    # --- retrieval ---------------------------------------------------------------------------
    def keyword_search(
        self, terms: Sequence[str], k: int, filters: SearchFilters
    ) -> list[tuple[int, float]]:
        """(passage id, score) best first; score is higher-is-better."""
        ...

    def vector_search(
        self, vector: npt.NDArray[np.float32], k: int, filters: SearchFilters
    ) -> list[tuple[int, float]]:
        """(passage id, cosine similarity) best first."""
        ...

    def sync_indexes(self) -> None:
        """Bring derived search indexes (approximate vectors, BM25) up to date with the stored
        passages and embeddings; called at the end of every ingest."""
        ...

    # --- answers -------------------------------------------------------------------------------
    def save_answer(self, answer: Answer) -> Answer:
        """Store (or overwrite, same id) an answer; returns it with its id and creation time."""
        ...

    def get_answer(self, answer_id: str) -> Answer | None: ...

    def list_answers(self, limit: int = 50) -> list[AnswerSummary]: ...

    def answer_versions(self, answer_id: str) -> list[AnswerSummary]:
        """Every version of the answer (refreshes point at what they replace), oldest first."""
        ...

    def answers_citing(self, article_id: str, limit: int = 50) -> list[Answer]: ...

    # --- audits --------------------------------------------------------------------------------
    def save_audit(self, audit: Audit) -> Audit:
        """Store (or overwrite, same id) an audit; returns it with its id and creation time."""
        ...

    def get_audit(self, audit_id: str) -> Audit | None: ...

    def list_audits(self, limit: int = 50) -> list[AuditSummary]: ...

    # --- bookkeeping ---------------------------------------------------------------------------
    def record_ingest(self, report: IngestReport) -> None: ...

    def last_ingest(self) -> datetime | None:
        """When the most recent ingest finished (cheap: pages ask on every view)."""
        ...

    def stats(self) -> Stats: ...
