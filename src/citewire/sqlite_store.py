"""The embedded SQLite backend of the ``Store`` protocol.

One file (``index.db``, WAL mode so a search can run while another process ingests) holds the
articles, syndication groups, LSH band keys, passages, an FTS5 index for BM25, and every
embedding (float16). Two derived caches sit beside it once the index passes ``ann_min_passages``
(``sync_indexes`` builds and updates both): the HNSW file (``citewire.ann``) for vectors and a
tantivy directory (``citewire.lexical``) for BM25. Below that size FTS5 and exact vector search
are fast enough and are the only paths.

Schema changes are numbered migrations applied in order under ``PRAGMA user_version``.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from citewire.ann import AnnIndex
from citewire.codec import answer_from_dict, answer_to_dict, audit_from_dict, audit_to_dict
from citewire.errors import StoreError
from citewire.lexical import COMMIT_EVERY, LexicalBusy, LexicalIndex, LexicalReader
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
from citewire.store import Candidate, NewPassage, new_answer_id

MIGRATIONS: tuple[str, ...] = (
    # 1: the initial schema
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE articles (
        id TEXT PRIMARY KEY,
        url TEXT,
        content_hash TEXT NOT NULL,
        title TEXT,
        text TEXT NOT NULL,
        published_at TEXT,            -- ISO 8601 in UTC, so text comparison orders correctly
        date_precision TEXT,
        outlet TEXT,
        authors TEXT NOT NULL,        -- JSON list
        metadata TEXT NOT NULL,       -- JSON object
        source TEXT NOT NULL,
        group_id TEXT NOT NULL,
        signature BLOB,
        ingested_at TEXT NOT NULL
    );
    CREATE INDEX articles_hash ON articles(content_hash);
    CREATE INDEX articles_url ON articles(url);
    CREATE INDEX articles_group ON articles(group_id);
    CREATE INDEX articles_published ON articles(published_at);
    CREATE INDEX articles_outlet ON articles(outlet COLLATE NOCASE);
    CREATE TABLE groups (id TEXT PRIMARY KEY, canonical_id TEXT NOT NULL);
    CREATE TABLE lsh_bands (
        band TEXT NOT NULL,
        article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        PRIMARY KEY (band, article_id)
    ) WITHOUT ROWID;
    CREATE INDEX lsh_bands_article ON lsh_bands(article_id);
    CREATE TABLE passages (
        id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: the vector index keys on it
        article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        start INTEGER NOT NULL,
        end INTEGER NOT NULL,
        text TEXT NOT NULL
    );
    CREATE INDEX passages_article ON passages(article_id, seq);
    CREATE TABLE embeddings (
        passage_id INTEGER PRIMARY KEY REFERENCES passages(id) ON DELETE CASCADE,
        vector BLOB NOT NULL
    );
    CREATE TABLE vector_tombstones (passage_id INTEGER PRIMARY KEY);
    CREATE TRIGGER passages_deleted AFTER DELETE ON passages BEGIN
        INSERT OR IGNORE INTO vector_tombstones(passage_id) VALUES (old.id);
        INSERT INTO passages_fts(passages_fts, rowid, text) VALUES ('delete', old.id, old.text);
    END;
    CREATE TRIGGER passages_added AFTER INSERT ON passages BEGIN
        INSERT INTO passages_fts(rowid, text) VALUES (new.id, new.text);
    END;
    CREATE VIRTUAL TABLE passages_fts USING fts5(
        text, content='passages', content_rowid='id',
        tokenize='porter unicode61 remove_diacritics 2'
    );
    CREATE TABLE ingest_runs (
        id INTEGER PRIMARY KEY,
        finished_at TEXT NOT NULL,
        report TEXT NOT NULL
    );
    """,
    # 2: answers, stored whole as JSON with the fields lists and permalinks need as columns
    """
    CREATE TABLE answers (
        id TEXT PRIMARY KEY,
        question TEXT NOT NULL,
        as_of TEXT NOT NULL,
        status TEXT NOT NULL,
        writer TEXT NOT NULL,
        created_at TEXT NOT NULL,
        body TEXT NOT NULL
    );
    CREATE INDEX answers_created ON answers(created_at);
    """,
    # 3: answer versions (a refreshed answer points at the one it replaces; both stay) and
    # audits of answers written elsewhere, stored whole like answers
    """
    ALTER TABLE answers ADD COLUMN previous_id TEXT;
    CREATE INDEX answers_previous ON answers(previous_id);
    CREATE TABLE audits (
        id TEXT PRIMARY KEY,
        question TEXT NOT NULL,
        created_at TEXT NOT NULL,
        body TEXT NOT NULL
    );
    CREATE INDEX audits_created ON audits(created_at);
    """,
)

# Above this many passages a filtered vector search brute-forces the filtered set exactly;
# below, it asks the HNSW index for more neighbours and filters them.
EXACT_FILTER_MAX = 20_000
UNDATED = np.iinfo(np.int64).min  # the date column's value for an article with no date
DEFAULT_ANN_MIN = 20_000
# An outlet filter is applied to the tantivy hits afterwards (in SQL), so ask for this many times
# k; if fewer than k survive, FTS5 answers instead (exactly, if slowly).
OUTLET_OVERSAMPLE = 10
MAX_LEXICAL_CANDIDATES = 2_000


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class SQLiteStore:
    """``Store`` on one SQLite file. Thread-safe through one connection and a lock; separate
    processes coordinate through SQLite's own locking (WAL: readers never wait for a writer)."""

    def __init__(
        self,
        path: str | Path,
        dim: int = 384,
        model: str = "",
        ann_min_passages: int = DEFAULT_ANN_MIN,
    ) -> None:
        self.path = Path(path)
        self.location = str(self.path)
        self.dim = dim
        self.model = model
        self.ann_min_passages = ann_min_passages
        self._lock = threading.RLock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(
                self.path, timeout=60, isolation_level=None, check_same_thread=False
            )
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("PRAGMA foreign_keys=ON")
            self.conn.execute("PRAGMA busy_timeout=60000")
            self._migrate()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open index {self.path}: {exc}") from exc
        self._check_model()
        self.ann = AnnIndex(self.path.with_name("vectors.faiss"), dim)
        self.lexical = LexicalIndex(self.path.with_name("passages.tantivy"))
        self._ann_opened = False
        self._commits = 0
        self._exact_version: tuple[int, int] | None = None
        self._dates_version: tuple[int, int] | None = None
        self._date_ids = np.zeros(0, dtype=np.int64)
        self._date_values = np.zeros(0, dtype=np.int64)
        # Exact-search cache: embeddings with id > ann.synced_upto, kept in memory.
        self._exact_ids = np.zeros(0, dtype=np.int64)
        self._exact_vecs = np.zeros((0, dim), dtype=np.float32)

    # --- setup ---------------------------------------------------------------------------
    def _migrate(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise StoreError(
                f"index {self.path} was written by a newer citewire (schema {version})",
                hint="upgrade citewire",
            )
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            # executescript commits on its own; the version bump is in the same script so a
            # crash mid-migration re-runs the whole step (every step is one transaction).
            self.conn.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")

    def _check_model(self) -> None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'embedding_model'").fetchone()
        if row is None:
            if self.model:
                self.conn.execute(
                    "INSERT INTO meta(key, value) VALUES ('embedding_model', ?)", (self.model,)
                )
        elif self.model and row[0] != self.model:
            raise StoreError(
                f"index {self.path} was built with embedding model {row[0]}, not {self.model}",
                hint="use the same model, or a new --home for the new model",
            )

    def close(self) -> None:
        with self._lock:
            self.conn.close()

    @contextmanager
    def transaction(self, rollback: bool = False) -> Iterator[None]:
        with self._lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("ROLLBACK" if rollback else "COMMIT")
            self._commits += 1

    # --- articles ----------------------------------------------------------------------------
    _ARTICLE_COLUMNS = (
        "id, text, content_hash, source, title, url, published_at, date_precision, outlet, "
        "authors, metadata, group_id, ingested_at"
    )

    @staticmethod
    def _article(row: Sequence[Any]) -> Article:
        return Article(
            id=row[0],
            text=row[1],
            content_hash=row[2],
            source=row[3],
            title=row[4],
            url=row[5],
            published_at=_dt(row[6]),
            date_precision=row[7],
            outlet=row[8],
            authors=tuple(json.loads(row[9])),
            metadata=json.loads(row[10]),
            group_id=row[11],
            ingested_at=datetime.fromisoformat(row[12]),
        )

    def _one_article(self, where: str, value: str) -> Article | None:
        with self._lock:
            row = self.conn.execute(
                f"SELECT {self._ARTICLE_COLUMNS} FROM articles WHERE {where} = ? LIMIT 1", (value,)
            ).fetchone()
        return self._article(row) if row else None

    def get_article(self, article_id: str) -> Article | None:
        return self._one_article("id", article_id)

    def find_by_hash(self, content_hash: str) -> Article | None:
        return self._one_article("content_hash", content_hash)

    def lsh_candidates(self, bands: Sequence[str]) -> list[Candidate]:
        if not bands:
            return []
        marks = ",".join("?" * len(bands))
        with self._lock:
            rows = self.conn.execute(
                f"SELECT DISTINCT a.id, a.group_id, a.signature FROM lsh_bands b "
                f"JOIN articles a ON a.id = b.article_id WHERE b.band IN ({marks})",
                list(bands),
            ).fetchall()
        return [Candidate(r[0], r[1], r[2]) for r in rows if r[2] is not None]

    def put_article(self, article: Article, signature: bytes, bands: Sequence[str]) -> None:
        with self._lock:
            # Replacing drops the old passages (their triggers tombstone the vectors and clean
            # FTS) and the old band keys.
            self.conn.execute("DELETE FROM passages WHERE article_id = ?", (article.id,))
            self.conn.execute("DELETE FROM lsh_bands WHERE article_id = ?", (article.id,))
            self.conn.execute(
                f"INSERT OR REPLACE INTO articles ({self._ARTICLE_COLUMNS}, signature) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    article.id,
                    article.text,
                    article.content_hash,
                    article.source,
                    article.title,
                    article.url,
                    _iso(article.published_at),
                    article.date_precision,
                    article.outlet,
                    json.dumps(list(article.authors)),
                    json.dumps(dict(article.metadata), default=str),
                    article.group_id,
                    _iso(article.ingested_at),
                    signature,
                ),
            )
            self.conn.executemany(
                "INSERT OR IGNORE INTO lsh_bands(band, article_id) VALUES (?, ?)",
                [(band, article.id) for band in bands],
            )

    def ensure_group(self, group_id: str, canonical_id: str) -> None:
        with self._lock:
            self.conn.execute(
                "INSERT OR IGNORE INTO groups(id, canonical_id) VALUES (?, ?)",
                (group_id, canonical_id),
            )

    def add_passages(
        self,
        article_id: str,
        passages: Sequence[NewPassage],
        embeddings: npt.NDArray[np.float32] | None,
    ) -> int:
        with self._lock:
            for i, passage in enumerate(passages):
                cursor = self.conn.execute(
                    "INSERT INTO passages(article_id, seq, start, end, text) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (article_id, passage.seq, passage.start, passage.end, passage.text),
                )
                if embeddings is not None:
                    self.conn.execute(
                        "INSERT INTO embeddings(passage_id, vector) VALUES (?, ?)",
                        (cursor.lastrowid, embeddings[i].astype(np.float16).tobytes()),
                    )
        return len(passages)

    def articles(self, ids: Sequence[str]) -> Mapping[str, Article]:
        out: dict[str, Article] = {}
        for chunk in _chunks(list(dict.fromkeys(ids))):
            marks = ",".join("?" * len(chunk))
            with self._lock:
                rows = self.conn.execute(
                    f"SELECT {self._ARTICLE_COLUMNS} FROM articles WHERE id IN ({marks})", chunk
                ).fetchall()
            out.update((row[0], self._article(row)) for row in rows)
        return out

    def passages(self, ids: Sequence[int]) -> Mapping[int, Passage]:
        out: dict[int, Passage] = {}
        for chunk in _chunks([int(i) for i in dict.fromkeys(ids)]):
            marks = ",".join("?" * len(chunk))
            with self._lock:
                rows = self.conn.execute(
                    "SELECT id, article_id, seq, start, end, text FROM passages "
                    f"WHERE id IN ({marks})",
                    chunk,
                ).fetchall()
            out.update((row[0], Passage(*row)) for row in rows)
        return out

    def article_passages(self, article_id: str) -> list[Passage]:
        with self._lock:
            rows = self.conn.execute(
                "SELECT id, article_id, seq, start, end, text FROM passages "
                "WHERE article_id = ? ORDER BY seq",
                (article_id,),
            ).fetchall()
        return [Passage(*row) for row in rows]

    def carriers(self, group_ids: Sequence[str]) -> Mapping[str, list[Carrier]]:
        out: dict[str, list[Carrier]] = {}
        for chunk in _chunks(list(dict.fromkeys(group_ids))):
            marks = ",".join("?" * len(chunk))
            with self._lock:
                rows = self.conn.execute(
                    "SELECT group_id, id, outlet, url, title, published_at FROM articles "
                    f"WHERE group_id IN ({marks}) ORDER BY published_at, rowid",
                    chunk,
                ).fetchall()
            for row in rows:
                out.setdefault(row[0], []).append(
                    Carrier(row[1], row[2], row[3], row[4], _dt(row[5]))
                )
        return out

    def iter_articles(self) -> Iterator[Article]:
        with self._lock:
            rows = self.conn.execute(
                f"SELECT {self._ARTICLE_COLUMNS} FROM articles ORDER BY rowid"
            ).fetchall()
        for row in rows:
            yield self._article(row)

    # --- retrieval ---------------------------------------------------------------------------
    @staticmethod
    def _filter_sql(filters: SearchFilters) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        undated = " OR a.published_at IS NULL" if filters.include_undated else ""
        if filters.since is not None:
            clauses.append(f"(a.published_at >= ?{undated})")
            params.append(_iso(filters.since))
        if filters.until is not None:
            clauses.append(f"(a.published_at <= ?{undated})")
            params.append(_iso(filters.until))
        if filters.outlets:
            # A syndicated story matches an outlet filter if any outlet in its group carried it.
            # COLLATE NOCASE (not lower(outlet)) so the articles_outlet index answers: a scan
            # reads every article's text to reach its outlet column, ~330 ms at 190k articles.
            names = list(dict.fromkeys(v for o in filters.outlets for v in (o, o.lower())))
            marks = ",".join("?" * len(names))
            clauses.append(
                "a.group_id IN (SELECT group_id FROM articles "
                f"WHERE outlet COLLATE NOCASE IN ({marks}))"
            )
            params.extend(names)
        return (" AND " + " AND ".join(clauses) if clauses else ""), params

    def keyword_search(
        self, terms: Sequence[str], k: int, filters: SearchFilters
    ) -> list[tuple[int, float]]:
        """BM25 from the tantivy cache when there is one (merged with FTS5 over the passages
        added since its last sync), else from FTS5 alone."""
        if not terms:
            return []
        reader = self.lexical.reader()
        if reader is not None:
            found = self._lexical_search(reader, terms, k, filters)
            if found is not None:
                return found
        return self._fts_search(terms, k, filters)

    def _fts_search(
        self, terms: Sequence[str], k: int, filters: SearchFilters, above: int = 0
    ) -> list[tuple[int, float]]:
        """FTS5 BM25 over the passages with id > ``above`` (a rowid range FTS5 seeks to, so the
        delta above a sync costs what its size costs)."""
        match = " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)
        where, params = self._filter_sql(filters)
        join = " JOIN passages p ON p.id = f.rowid JOIN articles a ON a.id = p.article_id"
        sql = (
            "SELECT f.rowid, bm25(passages_fts) AS score FROM passages_fts f"
            + (join if where else "")
            + " WHERE passages_fts MATCH ?"
            + (" AND f.rowid > ?" if above else "")
            + where
            + " ORDER BY score LIMIT ?"
        )
        args = [match, *([above] if above else []), *params, k]
        with self._lock:
            try:
                rows = self.conn.execute(sql, args).fetchall()
            except sqlite3.OperationalError as exc:
                raise StoreError(f"keyword search failed: {exc}") from exc
        # FTS5's bm25() is lower-is-better (negative); flip it so callers see higher-is-better.
        return [(int(r[0]), -float(r[1])) for r in rows]

    def _lexical_search(
        self, reader: LexicalReader, terms: Sequence[str], k: int, filters: SearchFilters
    ) -> list[tuple[int, float]] | None:
        """The tantivy path, or None when FTS5 must answer instead.

        1. tantivy's top hits, with the date range pushed into its query. It may still hold
           passages deleted since its last sync (one tombstone each), so ask for that many more;
           for an outlet filter ask for ``OUTLET_OVERSAMPLE`` times more.
        2. SQL keeps the hits that still exist and pass every filter.
        3. If fewer than k survive while tantivy had more to give, the answer is not complete:
           return None (FTS5 then answers).
        4. FTS5 searches the passages added since the sync; both lists are Okapi BM25 (k1 1.2,
           b 0.75) over the same corpus statistics, so they merge by score. RRF would rank the
           delta's best hit beside the cache's best even when it barely matches.
        """
        floor = reader.synced_upto
        with self._lock:
            pending, top = self.conn.execute(
                "SELECT (SELECT count(*) FROM vector_tombstones), "
                "(SELECT coalesce(max(id), 0) FROM passages)"
            ).fetchone()
        want = (k * OUTLET_OVERSAMPLE if filters.outlets else k) + int(pending)
        want = min(want, max(k, MAX_LEXICAL_CANDIDATES))
        try:
            found = reader.search(
                terms, want, filters.since, filters.until, filters.include_undated
            )
        except ValueError:  # an unreadable cache must not break search: it is only a cache
            return None
        # Hits above the floor are left by a sync killed before its sidecar: FTS5 has them.
        below = [(pid, score) for pid, score in found if pid <= floor]
        passing = self._passing([pid for pid, _ in below], filters)
        hits = [(pid, score) for pid, score in below if pid in passing]
        if len(hits) < k and len(found) >= want:
            return None
        if top > floor:
            hits.extend(self._fts_search(terms, k, filters, above=floor))
        # Equal scores (syndicated copies) in id order, whatever segment tantivy put them in.
        hits.sort(key=lambda hit: (-hit[1], hit[0]))
        return hits[:k]

    def _passing(self, ids: Sequence[int], filters: SearchFilters) -> set[int]:
        """Which of ``ids`` are still stored and pass ``filters``."""
        if not ids:
            return set()
        where, params = self._filter_sql(filters)
        join = " JOIN articles a ON a.id = p.article_id" if where else ""
        with self._lock:
            rows = self.conn.execute(
                f"SELECT p.id FROM passages p{join} "
                "WHERE p.id IN (SELECT value FROM json_each(?))" + where,
                [json.dumps([int(i) for i in ids]), *params],
            ).fetchall()
        return {int(r[0]) for r in rows}

    def _open_ann(self) -> None:
        if not self._ann_opened:
            self.ann.open(writable=False)
            self._ann_opened = True

    def _data_version(self) -> tuple[int, int]:
        """Changes whenever anyone commits: ``PRAGMA data_version`` sees other connections'
        commits (other processes), ``_commits`` counts this connection's own."""
        with self._lock:
            other = int(self.conn.execute("PRAGMA data_version").fetchone()[0])
        return other, self._commits

    def _refresh_exact(self) -> None:
        """Keep the in-memory matrix equal to the embeddings the HNSW file does not hold."""
        # Counting the delta scans the embeddings table (~14 ms at 10k rows): only do it when
        # something was committed since the last look.
        version = self._data_version()
        if version == self._exact_version:
            return
        self._exact_version = version
        floor = self.ann.synced_upto
        with self._lock:
            top, count = self.conn.execute(
                "SELECT coalesce(max(passage_id), 0), count(*) FROM embeddings "
                "WHERE passage_id > ?",
                (floor,),
            ).fetchone()
        have_top = int(self._exact_ids[-1]) if len(self._exact_ids) else floor
        if count == len(self._exact_ids) and top == have_top:
            return
        if top > have_top and count - len(self._exact_ids) == self._count_above(have_top):
            ids, vecs = self._load_embeddings("passage_id > ?", [have_top])
            self._exact_ids = np.concatenate([self._exact_ids, ids])
            self._exact_vecs = np.concatenate([self._exact_vecs, vecs])
        else:  # rows were deleted as well: reload the whole delta
            self._exact_ids, self._exact_vecs = self._load_embeddings("passage_id > ?", [floor])

    def _count_above(self, floor: int) -> int:
        with self._lock:
            return int(
                self.conn.execute(
                    "SELECT count(*) FROM embeddings WHERE passage_id > ?", (floor,)
                ).fetchone()[0]
            )

    def _load_embeddings(
        self, where: str, params: list[Any]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        with self._lock:
            rows = self.conn.execute(
                f"SELECT passage_id, vector FROM embeddings WHERE {where} ORDER BY passage_id",
                params,
            ).fetchall()
        if not rows:
            return np.zeros(0, dtype=np.int64), np.zeros((0, self.dim), dtype=np.float32)
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        blob = b"".join(r[1] for r in rows)
        vecs = np.frombuffer(blob, dtype=np.float16).reshape(len(rows), self.dim)
        return ids, vecs.astype(np.float32)

    def _embeddings_for(
        self, wanted: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        parts = [
            self._load_embeddings(f"passage_id IN ({','.join('?' * len(chunk))})", chunk)
            for chunk in _chunks([int(i) for i in wanted])
        ]
        if not parts:
            return np.zeros(0, dtype=np.int64), np.zeros((0, self.dim), dtype=np.float32)
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    def _filtered_ids(self, filters: SearchFilters) -> npt.NDArray[np.int64]:
        if not filters.outlets:
            return self._ids_by_date(filters)
        where, params = self._filter_sql(filters)
        with self._lock:
            rows = self.conn.execute(
                "SELECT p.id FROM passages p JOIN articles a ON a.id = p.article_id WHERE 1=1"
                + where
                + " ORDER BY p.id",
                params,
            ).fetchall()
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    def _ids_by_date(self, filters: SearchFilters) -> npt.NDArray[np.int64]:
        """Passage ids within a date window, from an in-memory (id, date) column: pulling a
        broad window's ids through SQL took ~250 ms at a million passages, this ~1 ms."""
        self._refresh_dates()
        dates = self._date_values
        mask = np.ones(len(dates), dtype=bool)
        if filters.since is not None:
            mask &= dates >= int(filters.since.timestamp())
        if filters.until is not None:
            mask &= (dates <= int(filters.until.timestamp())) & (dates != UNDATED)
        if filters.include_undated:
            mask |= dates == UNDATED
        return self._date_ids[mask]

    def _refresh_dates(self) -> None:
        # Passage ids only grow and a passage's article date never changes (an update writes
        # new passages), so new rows are appended; deleted ids linger harmlessly, because the
        # embeddings they would select are gone too.
        version = self._data_version()
        if version == self._dates_version:
            return
        self._dates_version = version
        floor = int(self._date_ids[-1]) if len(self._date_ids) else 0
        with self._lock:
            rows = self.conn.execute(
                "SELECT p.id, a.published_at FROM passages p JOIN articles a "
                "ON a.id = p.article_id WHERE p.id > ? ORDER BY p.id",
                (floor,),
            ).fetchall()
        if not rows:
            return
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        values = np.fromiter(
            (int(datetime.fromisoformat(r[1]).timestamp()) if r[1] else UNDATED for r in rows),
            dtype=np.int64,
            count=len(rows),
        )
        self._date_ids = np.concatenate([self._date_ids, ids])
        self._date_values = np.concatenate([self._date_values, values])

    def vector_search(
        self, vector: npt.NDArray[np.float32], k: int, filters: SearchFilters
    ) -> list[tuple[int, float]]:
        self._open_ann()
        self._refresh_exact()
        allowed: npt.NDArray[np.int64] | None = None
        if filters.active:
            allowed = self._filtered_ids(filters)
            if len(allowed) <= EXACT_FILTER_MAX:
                # Few candidates: exact search over just those is both faster and complete.
                ids, vecs = self._embeddings_for(allowed)
                return _top(ids, vecs @ vector, k)
        scores: dict[int, float] = {}
        exact_ids, exact_sims = self._exact_ids, self._exact_vecs @ vector
        if allowed is not None:
            mask = np.isin(exact_ids, allowed)
            exact_ids, exact_sims = exact_ids[mask], exact_sims[mask]
        scores.update(_top(exact_ids, exact_sims, k))
        if len(self.ann):
            # Oversample when filtering: most neighbours may fall outside the filter.
            want = k if allowed is None else k * 20
            keys, sims = self.ann.search(vector, want)
            if allowed is not None:
                mask = np.isin(keys, allowed)
                keys, sims = keys[mask], sims[mask]
            for key, sim in zip(keys.tolist(), sims.tolist(), strict=True):
                scores.setdefault(int(key), float(sim))
        ranked = sorted(scores.items(), key=lambda kv: -kv[1])
        if len(self.ann) and ranked:
            # The HNSW file may still hold passages deleted since the last sync.
            alive = self._alive([pid for pid, _ in ranked])
            ranked = [(pid, s) for pid, s in ranked if pid in alive]
        return ranked[:k]

    def _alive(self, ids: Sequence[int]) -> set[int]:
        marks = ",".join("?" * len(ids))
        with self._lock:
            rows = self.conn.execute(f"SELECT id FROM passages WHERE id IN ({marks})", list(ids))
            return {int(r[0]) for r in rows}

    def sync_indexes(self) -> None:
        """Bring both derived caches up to date with the database: fold new passages into the
        HNSW file (vectors) and the tantivy directory (BM25), and drop deleted ones, once the
        index is big enough for them to pay off. Safe to interrupt: the database is untouched
        and each cache records its progress only after writing it."""
        with self._lock:
            embedded = int(self.conn.execute("SELECT count(*) FROM embeddings").fetchone()[0])
            stored = int(self.conn.execute("SELECT count(*) FROM passages").fetchone()[0])
            tombstones = [
                int(r[0]) for r in self.conn.execute("SELECT passage_id FROM vector_tombstones")
            ]
        self._sync_vectors(embedded, tombstones)
        # A tombstone is dropped only once every cache has applied it.
        if self._sync_lexical(stored, tombstones):
            self._clear_tombstones(tombstones)

    def _sync_vectors(self, total: int, tombstones: Sequence[int]) -> None:
        ann = AnnIndex(self.ann.path, self.dim)
        ann.open(writable=True)
        if total < self.ann_min_passages and not len(ann):
            return
        ann.mark_removed(sum(1 for t in tombstones if t <= ann.synced_upto))
        if ann.stale:
            ann.reset()  # rebuild from the database rather than drag dead entries along
        floor = ann.synced_upto
        while True:  # in slices, so a million vectors never sit in memory twice
            with self._lock:
                rows = self.conn.execute(
                    "SELECT passage_id, vector FROM embeddings WHERE passage_id > ? "
                    "ORDER BY passage_id LIMIT 50000",
                    (floor,),
                ).fetchall()
            if not rows:
                break
            ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
            vecs = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float16)
            ann.add(ids, vecs.reshape(len(rows), self.dim).astype(np.float32))
            floor = int(ids[-1])
        ann.save(floor, self.model)
        # Searches in this process now use the new file.
        self.ann, self._ann_opened = AnnIndex(self.ann.path, self.dim), False
        self._exact_version = None
        self._exact_ids = np.zeros(0, dtype=np.int64)
        self._exact_vecs = np.zeros((0, self.dim), dtype=np.float32)

    def _sync_lexical(self, total: int, tombstones: Sequence[int]) -> bool:
        """False when another process holds the tantivy writer (it is syncing): the tombstones
        must then stay for the next sync."""
        if total < self.ann_min_passages and not self.lexical.built:
            return True
        try:
            writer = self.lexical.writer()
        except LexicalBusy:
            return False
        try:
            writer.delete(tombstones)
            floor = writer.synced_upto
            since_commit = 0
            while True:  # in slices, committing now and then so a killed build resumes
                with self._lock:
                    rows = self.conn.execute(
                        "SELECT p.id, p.text, a.published_at FROM passages p "
                        "LEFT JOIN articles a ON a.id = p.article_id WHERE p.id > ? "
                        "ORDER BY p.id LIMIT 20000",
                        (floor,),
                    ).fetchall()
                if not rows:
                    break
                writer.add((int(r[0]), r[1], _dt(r[2])) for r in rows)
                floor = int(rows[-1][0])
                since_commit += len(rows)
                if since_commit >= COMMIT_EVERY:
                    writer.commit(floor)
                    since_commit = 0
            writer.commit(floor)
        finally:
            writer.close()
        return True

    def _clear_tombstones(self, ids: Sequence[int]) -> None:
        if not ids:
            return
        with self._lock:
            for chunk in _chunks(list(ids)):
                marks = ",".join("?" * len(chunk))
                self.conn.execute(
                    f"DELETE FROM vector_tombstones WHERE passage_id IN ({marks})", chunk
                )

    # --- answers -------------------------------------------------------------------------------
    def save_answer(self, answer: Answer) -> Answer:
        stored = replace(
            answer,
            id=answer.id or new_answer_id(),
            created_at=answer.created_at or datetime.now(UTC),
        )
        with self._lock:
            self.conn.execute(
                "INSERT OR REPLACE INTO answers"
                "(id, question, as_of, status, writer, created_at, body, previous_id) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    stored.id,
                    stored.question,
                    _iso(stored.as_of),
                    stored.status,
                    stored.writer,
                    _iso(stored.created_at),
                    json.dumps(answer_to_dict(stored), ensure_ascii=False),
                    stored.previous_id,
                ),
            )
        return stored

    def get_answer(self, answer_id: str) -> Answer | None:
        with self._lock:
            row = self.conn.execute(
                "SELECT body FROM answers WHERE id = ?", (answer_id,)
            ).fetchone()
        return answer_from_dict(json.loads(row[0])) if row else None

    _SUMMARY_COLUMNS = "id, question, status, as_of, created_at, writer, previous_id"

    @staticmethod
    def _summary(r: Sequence[Any]) -> AnswerSummary:
        return AnswerSummary(
            r[0], r[1], r[2], datetime.fromisoformat(r[3]), datetime.fromisoformat(r[4]), r[5], r[6]
        )

    def list_answers(self, limit: int = 50) -> list[AnswerSummary]:
        with self._lock:
            rows = self.conn.execute(
                f"SELECT {self._SUMMARY_COLUMNS} FROM answers ORDER BY created_at DESC, id LIMIT ?",
                (limit,),
            ).fetchall()
        return [self._summary(r) for r in rows]

    def answer_versions(self, answer_id: str) -> list[AnswerSummary]:
        """Every version of an answer (follow ``previous_id`` back to the first, then every
        refresh of any of them), oldest first; empty when the id is unknown."""
        with self._lock:
            rows = self.conn.execute(
                "WITH RECURSIVE up(id, prev) AS ("
                " SELECT id, previous_id FROM answers WHERE id = ?"
                " UNION SELECT a.id, a.previous_id FROM answers a JOIN up ON a.id = up.prev),"
                " down(id) AS ("
                " SELECT id FROM up WHERE prev IS NULL"
                " UNION SELECT a.id FROM answers a JOIN down ON a.previous_id = down.id)"
                f" SELECT {self._SUMMARY_COLUMNS} FROM answers WHERE id IN (SELECT id FROM down)"
                " ORDER BY created_at, id",
                (answer_id,),
            ).fetchall()
        return [self._summary(r) for r in rows]

    def answers_citing(self, article_id: str, limit: int = 50) -> list[Answer]:
        """Stored answers whose references include the article, newest first."""
        with self._lock:
            rows = self.conn.execute(
                "SELECT body FROM answers WHERE EXISTS (SELECT 1 FROM "
                "json_each(answers.body, '$.references') r "
                "WHERE json_extract(r.value, '$.article_id') = ?) "
                "ORDER BY created_at DESC, id LIMIT ?",
                (article_id, limit),
            ).fetchall()
        return [answer_from_dict(json.loads(r[0])) for r in rows]

    # --- audits --------------------------------------------------------------------------------
    def save_audit(self, audit: Audit) -> Audit:
        stored = replace(
            audit, id=audit.id or new_answer_id(), created_at=audit.created_at or datetime.now(UTC)
        )
        with self._lock:
            self.conn.execute(
                "INSERT OR REPLACE INTO audits(id, question, created_at, body) VALUES (?, ?, ?, ?)",
                (
                    stored.id,
                    stored.question or "",
                    _iso(stored.created_at),
                    json.dumps(audit_to_dict(stored), ensure_ascii=False),
                ),
            )
        return stored

    def get_audit(self, audit_id: str) -> Audit | None:
        with self._lock:
            row = self.conn.execute("SELECT body FROM audits WHERE id = ?", (audit_id,)).fetchone()
        return audit_from_dict(json.loads(row[0])) if row else None

    def list_audits(self, limit: int = 50) -> list[AuditSummary]:
        with self._lock:
            rows = self.conn.execute(
                "SELECT id, question, created_at FROM audits ORDER BY created_at DESC, id LIMIT ?",
                (limit,),
            ).fetchall()
        return [AuditSummary(r[0], r[1], datetime.fromisoformat(r[2])) for r in rows]

    # --- bookkeeping ---------------------------------------------------------------------------
    def last_ingest(self) -> datetime | None:
        with self._lock:
            row = self.conn.execute("SELECT max(finished_at) FROM ingest_runs").fetchone()
        return _dt(row[0])

    def record_ingest(self, report: IngestReport) -> None:
        with self._lock:
            self.conn.execute(
                "INSERT INTO ingest_runs(finished_at, report) VALUES (?, ?)",
                (_iso(datetime.now(UTC)), json.dumps(report.to_dict())),
            )

    def stats(self) -> Stats:
        with self._lock:
            c = self.conn
            articles = c.execute("SELECT count(*) FROM articles").fetchone()[0]
            groups = c.execute("SELECT count(DISTINCT group_id) FROM articles").fetchone()[0]
            passages = c.execute("SELECT count(*) FROM passages").fetchone()[0]
            earliest, latest = c.execute(
                "SELECT min(published_at), max(published_at) FROM articles"
            ).fetchone()
            undated = c.execute(
                "SELECT count(*) FROM articles WHERE published_at IS NULL"
            ).fetchone()[0]
            outlets = c.execute(
                "SELECT coalesce(outlet, '(unknown)'), count(*) FROM articles "
                "GROUP BY 1 ORDER BY 2 DESC, 1"
            ).fetchall()
            last = c.execute("SELECT max(finished_at) FROM ingest_runs").fetchone()[0]
        size = (
            sum(
                p.stat().st_size for p in self.path.parent.glob(self.path.name + "*") if p.is_file()
            )
            + self.ann.size_bytes()
            + self.lexical.size_bytes()
        )
        return Stats(
            articles=articles,
            groups=groups,
            passages=passages,
            earliest=_dt(earliest),
            latest=_dt(latest),
            undated=undated,
            outlets=tuple((str(o), int(n)) for o, n in outlets),
            index_bytes=size,
            last_ingest=_dt(last),
            path=str(self.path),
        )


def _chunks(items: list[Any], size: int = 500) -> Iterator[list[Any]]:
    # SQLite caps bound parameters per statement; 500 stays far below every build's limit.
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _top(
    ids: npt.NDArray[np.int64], sims: npt.NDArray[np.float32], k: int
) -> list[tuple[int, float]]:
    if len(ids) == 0:
        return []
    part = np.argpartition(-sims, k)[:k] if len(ids) > k else np.arange(len(ids))
    order = part[np.argsort(-sims[part])]
    return [(int(ids[i]), float(sims[i])) for i in order]
