"""``Engine``: the one entry point of the library. The CLI and the web app are thin shells over it.

engine = Engine(home="~/news-index")
report = engine.ingest(["feeds.txt", "https://example.org/rss"])
hits = engine.search("ceasefire guarantees", k=5)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import IO

from citewire.answer import EVIDENCE_K, Asker
from citewire.config import resolve_home
from citewire.embed import Embedder, default_embedder
from citewire.errors import QueryError
from citewire.extractive import ExtractiveWriter
from citewire.ingest import IngestOptions, Ingestor, ProgressCallback
from citewire.models import Answer, AnswerSummary, Hit, IngestReport, SearchFilters, Stats
from citewire.retrieve import Retriever
from citewire.sqlite_store import DEFAULT_ANN_MIN, SQLiteStore
from citewire.store import Store
from citewire.write import Writer

INDEX_FILE = "index.db"


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
    ) -> Answer:
        """A cited, checked answer from the index, stored with an id (see ``answers``)."""
        fallback = ExtractiveWriter(self.embedder)
        asker = Asker(self.store, self.retriever, writer or fallback, fallback)
        return asker.ask(question, as_of=as_of, k=k)

    def answer(self, answer_id: str) -> Answer:
        found = self.store.get_answer(answer_id)
        if found is None:
            raise QueryError(
                f"no answer with id {answer_id!r}", hint="`citewire answers` lists stored answers"
            )
        return found

    def answers(self, limit: int = 50) -> list[AnswerSummary]:
        return self.store.list_answers(limit)
