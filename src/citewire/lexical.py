"""A BM25 index (tantivy) kept in a directory beside the SQLite database.

The SQLite database is the source of truth and its FTS5 table answers keyword searches on small
indexes. This directory is a derived, rebuildable cache for large ones: FTS5 scores every posting
of every query term, ~100-180 ms a query at a million passages on two cores, while tantivy's
block-max WAND skips the blocks that cannot reach the top k and answers in ~5 ms
(bench/bench_search.py).

Consistency without a shared transaction, as for the HNSW file (``ann.py``):

1. Passage ids only grow (SQLite AUTOINCREMENT). The sidecar JSON records the highest id the
   index holds (``synced_upto``) and is written only *after* tantivy's commit, which is atomic.
2. A sync killed between the commit and the sidecar leaves documents above ``synced_upto``; the
   next sync deletes them in the same commit that adds them again, so a sync can always re-run.
3. Readers take ``synced_upto`` from the sidecar *before* opening a searcher and ignore hits
   above it: whatever the searcher sees then covers at least that much. The caller searches the
   passages above it (the "delta") with FTS5.
4. Deleted passages are deleted from the index at the next sync (the caller passes their ids);
   until then the caller filters hits against the database.
5. A missing or unreadable sidecar, or one written for another schema, means "start over".
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import tantivy
from tantivy import FieldType, Occur, Query

# Bump when the schema or the tokenizer changes: a sidecar with another version is rebuilt.
SCHEMA_VERSION = 2
TOKENIZER = "citewire_en"
# Per sync, tantivy's indexing memory (split between its threads) and how often a long build
# commits (and records progress), so that a killed million-passage build resumes.
WRITER_HEAP_BYTES = 256_000_000
WRITER_THREADS = 2
COMMIT_EVERY = 250_000
_DELETE_BATCH = 10_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MIN_I64, _MAX_I64 = -(2**63), 2**63 - 1
# ``published_us`` of an undated article: below every real date, and outside every range a
# filter builds, so it matches only when a filter asks for undated articles too.
UNDATED = _MIN_I64


def _analyzer() -> tantivy.TextAnalyzer:
    """tantivy's ``en_stem`` (split on non-alphanumerics, lower-case, Snowball English stemmer)
    plus ASCII folding, to match FTS5's ``porter unicode61 remove_diacritics 2``: "Café" and
    "cafe" are one term in both."""
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .filter(tantivy.Filter.stemmer("english"))
        .build()
    )


_ANALYZER = _analyzer()


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    # i64, not u64: tantivy-py 0.25 builds delete terms from Python ints as i64, so deletes by
    # id silently match nothing on a u64 field.
    builder.add_integer_field("id", stored=True, indexed=True, fast=True)
    builder.add_text_field("text", stored=False, tokenizer_name=TOKENIZER)
    # Microseconds since the epoch (UTC); ``UNDATED`` for undated articles.
    builder.add_integer_field("published_us", indexed=True, fast=True)
    return builder.build()


SCHEMA = _schema()


def epoch_micros(value: datetime) -> int:
    return (value.astimezone(UTC) - _EPOCH) // timedelta(microseconds=1)


class LexicalBusy(Exception):
    """Another writer (in this or another process) holds the index: it is being synced."""


@dataclass(frozen=True)
class LexicalReader:
    """One consistent view: a searcher that holds at least every passage up to ``synced_upto``."""

    searcher: tantivy.Searcher
    synced_upto: int

    def search(
        self,
        terms: Sequence[str],
        k: int,
        since: datetime | None = None,
        until: datetime | None = None,
        include_undated: bool = False,
    ) -> list[tuple[int, float]]:
        """(passage id, BM25 score) best first for an OR of ``terms``, as FTS5's
        ``"t1" OR "t2"``: a term that tokenizes to several words is a phrase. With ``since`` or
        ``until``, only passages of articles published in that range (both ends included), and
        of undated ones if ``include_undated``. Hits above ``synced_upto`` may appear (see 2.
        and 3. in the module docstring): the caller drops them."""
        query = _query(terms, since, until, include_undated)
        if query is None or k < 1:
            return []
        # count=False: counting every match would score every posting and defeat block-max WAND.
        hits = self.searcher.search(query, k, count=False).hits
        return [(int(self.searcher.doc(address)["id"][0]), float(score)) for score, address in hits]


def _query(
    terms: Sequence[str], since: datetime | None, until: datetime | None, include_undated: bool
) -> tantivy.Query | None:
    clauses: list[tuple[Occur, Query]] = []
    for term in terms:
        tokens = _ANALYZER.analyze(term)
        if len(tokens) == 1:
            clauses.append((Occur.Should, Query.term_query(SCHEMA, "text", tokens[0])))
        elif tokens:
            clauses.append((Occur.Should, Query.phrase_query(SCHEMA, "text", list(tokens))))
    if not clauses:
        return None
    words = Query.boolean_query(clauses)
    if since is None and until is None:
        return words
    dates = Query.range_query(
        SCHEMA,
        "published_us",
        FieldType.Integer,
        epoch_micros(since) if since is not None else UNDATED + 1,
        epoch_micros(until) if until is not None else _MAX_I64,
    )
    if include_undated:
        undated = Query.term_query(SCHEMA, "published_us", UNDATED)
        dates = Query.boolean_query([(Occur.Should, dates), (Occur.Should, undated)])
    # The range only filters: a constant 0 keeps the scores pure BM25, comparable with FTS5's.
    return Query.boolean_query(
        [(Occur.Must, words), (Occur.Must, Query.const_score_query(dates, 0.0))]
    )


class LexicalIndex:
    """The directory and its sidecar (``<dir>.json``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.meta_path = path.with_name(path.name + ".json")
        self._lock = threading.Lock()
        self._seen: bytes | None = None
        self._reader: LexicalReader | None = None

    def _sidecar(self) -> bytes | None:
        try:
            return self.meta_path.read_bytes()
        except OSError:
            return None

    def read_meta(self, raw: bytes | None = None) -> dict[str, object] | None:
        """The sidecar, if it describes a usable index of this schema version."""
        try:
            data = json.loads(raw if raw is not None else self._sidecar() or b"")
        except ValueError:
            return None
        if not isinstance(data, dict) or data.get("version") != SCHEMA_VERSION:
            return None
        if not tantivy.Index.exists(str(self.path)):
            return None
        return data

    @property
    def built(self) -> bool:
        return self.read_meta() is not None

    def reader(self) -> LexicalReader | None:
        """The current view, reopened whenever a sync has rewritten the sidecar, so that a
        long-running process follows syncs made by others. Reading the ~60-byte sidecar costs
        microseconds; each commit changes it (its opstamp), even one that only deletes."""
        raw = self._sidecar()
        with self._lock:
            if raw != self._seen:
                self._seen = raw
                self._reader = self._open_reader(raw)
            return self._reader

    def _open_reader(self, raw: bytes | None) -> LexicalReader | None:
        # First the sidecar, then the searcher: see 3. in the module docstring.
        meta = self.read_meta(raw) if raw is not None else None
        if meta is None:
            return None
        try:
            index = tantivy.Index.open(str(self.path))
            index.config_reader("Manual")
            return LexicalReader(index.searcher(), int(str(meta.get("synced_upto", 0))))
        except (ValueError, OSError):
            return None

    def writer(self) -> LexicalWriter:
        return LexicalWriter(self)

    def size_bytes(self) -> int:
        if not self.path.is_dir():
            return 0
        return sum(p.stat().st_size for p in self.path.iterdir() if p.is_file())


class LexicalWriter:
    """Holds tantivy's writer lock for one sync; ``close`` releases it (so does the death of the
    process: it is an advisory file lock)."""

    def __init__(self, index: LexicalIndex) -> None:
        self.index = index
        meta = index.read_meta()
        if meta is None:
            # No usable index: start over rather than trust files the sidecar does not describe.
            shutil.rmtree(index.path, ignore_errors=True)
        index.path.mkdir(parents=True, exist_ok=True)
        self.synced_upto = int(str(meta.get("synced_upto", 0))) if meta else 0
        try:
            handle = tantivy.Index(SCHEMA, path=str(index.path), reuse=True)
            handle.register_tokenizer(TOKENIZER, _ANALYZER)
            self._writer = handle.writer(heap_size=WRITER_HEAP_BYTES, num_threads=WRITER_THREADS)
        except ValueError as exc:
            if "LockBusy" in str(exc):
                raise LexicalBusy(str(exc)) from exc
            raise
        self._dirty = False
        # Left by a sync killed after its commit but before its sidecar (2. in the docstring).
        self._writer.delete_documents_by_query(
            Query.range_query(SCHEMA, "id", FieldType.Integer, self.synced_upto + 1, _MAX_I64)
        )

    def delete(self, passage_ids: Sequence[int]) -> None:
        ids = sorted(i for i in passage_ids if i <= self.synced_upto)
        for start in range(0, len(ids), _DELETE_BATCH):
            batch = ids[start : start + _DELETE_BATCH]
            self._writer.delete_documents_by_query(Query.term_set_query(SCHEMA, "id", batch))
            self._dirty = True

    def add(self, rows: Iterable[tuple[int, str, datetime | None]]) -> None:
        """(passage id, text, published_at) in increasing id order, all above ``synced_upto``."""
        for passage_id, text, published_at in rows:
            doc = tantivy.Document()
            doc.add_integer("id", passage_id)
            doc.add_text("text", text)
            published = epoch_micros(published_at) if published_at is not None else UNDATED
            doc.add_integer("published_us", published)
            self._writer.add_document(doc)
            self._dirty = True

    def commit(self, synced_upto: int) -> None:
        """Publish everything added or deleted so far, then record ``synced_upto``."""
        if not self._dirty and synced_upto == self.synced_upto:
            return
        opstamp = self._writer.commit()
        meta = self.index.meta_path
        tmp = meta.with_name(meta.name + ".tmp")
        tmp.write_text(
            json.dumps({"version": SCHEMA_VERSION, "synced_upto": synced_upto, "opstamp": opstamp})
        )
        os.replace(tmp, meta)
        self.synced_upto, self._dirty = synced_upto, False

    def close(self) -> None:
        """Wait for background merges and release the lock; uncommitted changes are dropped."""
        self._writer.wait_merging_threads()
