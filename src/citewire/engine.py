"""``Engine``: the one entry point of the library. The CLI and the web app are thin shells over it.

engine = Engine(home="~/news-index")
report = engine.ingest(["feeds.txt", "https://example.org/rss"])
hits = engine.search("ceasefire guarantees", k=5)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from citewire.config import resolve_home
from citewire.embed import Embedder, default_embedder
from citewire.ingest import IngestOptions, Ingestor, ProgressCallback
from citewire.models import Hit, IngestReport, SearchFilters, Stats
from citewire.retrieve import Retriever
from citewire.sqlite_store import DEFAULT_ANN_MIN, SQLiteStore
from citewire.store import Store

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
