"""The ``Store`` protocol: everything the pipeline needs from an index backend.

SQLite (``citewire.sqlite_store``) is the embedded default; a PostgreSQL backend implements the
same protocol. No SQL dialect, file layout or vector-library detail leaks past this boundary:
callers speak in ``Article``/``Passage`` objects, passage ids and scores.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from citewire.models import Article, Carrier, IngestReport, Passage, SearchFilters, Stats


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

    def sync_vectors(self) -> None:
        """Bring the approximate vector index up to date with the stored embeddings."""
        ...

    # --- bookkeeping ---------------------------------------------------------------------------
    def record_ingest(self, report: IngestReport) -> None: ...

    def stats(self) -> Stats: ...
