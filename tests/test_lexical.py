"""The tantivy BM25 cache (``citewire.lexical``) against FTS5, on real SQLite files.

``ann_min_passages=1`` forces the cache on, as ``test_ann_path_matches_exact`` does for HNSW;
``SQLiteStore._fts_search`` is the FTS5 path it must agree with.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from citewire import lexical
from citewire.engine import Engine
from citewire.lexical import LexicalIndex, LexicalWriter
from citewire.models import Article, SearchFilters
from citewire.retrieve import query_terms
from citewire.sqlite_store import SQLiteStore
from citewire.store import NewPassage

NO_FILTER = SearchFilters()
WORDS = (
    "harbour ministry ceasefire blockade fuel export tariff budget council election vote court "
    "ruling appeal strike union wage factory drought harvest grain price inflation bank rate "
    "bond market rally storm flood rescue bridge railway airport pilot vaccine clinic hospital "
    "school teacher exam river dam energy solar wind turbine mine copper lithium battery "
    "satellite launch orbit museum festival stadium league coach striker"
).split()
OUTLETS = ("Meridian Wire", "Harbor Times", "Ostrava Post")


def _article(
    article_id: str, texts: Sequence[str], published: datetime | None, outlet: str
) -> Article:
    return Article(
        id=article_id,
        text="\n\n".join(texts),
        content_hash=f"hash-{article_id}-{hash(tuple(texts))}",
        source="test",
        title=None,
        url=None,
        published_at=published,
        date_precision="second",
        outlet=outlet,
        authors=(),
        metadata={},
        group_id=article_id,
        ingested_at=datetime(2024, 12, 31, tzinfo=UTC),
    )


def put(
    store: SQLiteStore,
    article_id: str,
    texts: Sequence[str],
    published: datetime | None = None,
    outlet: str = "Meridian Wire",
) -> None:
    passages, offset = [], 0
    for seq, text in enumerate(texts):
        passages.append(NewPassage(seq, offset, offset + len(text), text))
        offset += len(text) + 2
    with store.transaction():
        store.put_article(_article(article_id, texts, published, outlet), b"", ())
        store.ensure_group(article_id, article_id)
        store.add_passages(article_id, passages, None)


def synthetic_corpus(store: SQLiteStore, articles: int = 80, seed: int = 3) -> None:
    """Zipf-ish random prose: enough passages for BM25 statistics to mean something. One
    article in ten is undated; the last outlet is rare (2 articles)."""
    rng = random.Random(seed)
    # Filler words take the most frequent ranks (like stopwords) and the long tail, so the test
    # vocabulary sits at the middle ranks where a news query's content words are.
    vocabulary = [f"f{n}x" for n in range(40)] + list(WORDS) + [f"t{n}x" for n in range(1500)]
    weights = [1 / (rank + 1) for rank in range(len(vocabulary))]
    for n in range(articles):
        texts = [
            " ".join(rng.choices(vocabulary, weights, k=rng.randint(20, 60))).capitalize() + "."
            for _ in range(rng.randint(2, 5))
        ]
        published = (
            None
            if n % 10 == 9
            else datetime(2024, 1, 1, tzinfo=UTC)
            + timedelta(days=rng.randint(0, 364), seconds=rng.randint(0, 86399))
        )
        outlet = OUTLETS[2] if n in (5, 50) else OUTLETS[n % 2]
        put(store, f"a{n:03d}", texts, published, outlet)


QUERIES = (
    "ceasefire blockade",
    "grain harvest drought prices",
    "lithium battery mine",
    "court ruling appeal",
    "stadium striker coach league",
    "solar wind turbine energy",
    "railway bridge",
)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    s = SQLiteStore(tmp_path / "index.db", ann_min_passages=1)
    synthetic_corpus(s)
    s.sync_indexes()
    yield s
    s.close()


def ids(hits: Sequence[tuple[int, float]]) -> list[int]:
    return [pid for pid, _ in hits]


def passage_ids(store: SQLiteStore, article_id: str) -> list[int]:
    return [p.id for p in store.article_passages(article_id)]


def assert_agrees(store: SQLiteStore, query: str, filters: SearchFilters = NO_FILTER) -> None:
    """The same top hit as FTS5, within tolerance (FTS5 scores it within 5% of its own top:
    Snowball and Porter stems and the two IDF formulas differ a little), and a high top-10
    overlap."""
    terms = query_terms(query)
    got = store.keyword_search(terms, 10, filters)
    want = store._fts_search(terms, 10, filters)
    assert len(got) == len(want), query
    if not want:
        return
    assert len(set(ids(got))) == len(got), "a passage returned twice"
    fts_scores = dict(store._fts_search(terms, 1000, filters))
    assert fts_scores[got[0][0]] >= 0.95 * want[0][1], query
    overlap = len(set(ids(got)) & set(ids(want))) / len(want)
    assert overlap >= 0.8, (query, overlap)


def lexical_docs(store: SQLiteStore) -> int:
    reader = store.lexical.reader()
    assert reader is not None
    return int(reader.searcher.num_docs)


def passage_count(store: SQLiteStore) -> int:
    return int(store.conn.execute("SELECT count(*) FROM passages").fetchone()[0])


def test_fixture_corpus_tantivy_path_matches_fts5(
    home: Path, embedder: object, corpus_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Engine(home, embedder=embedder, ann_min_passages=1) as eng:  # type: ignore[arg-type]
        eng.ingest([str(corpus_file)])
        store = eng.store
        assert isinstance(store, SQLiteStore)
        assert (home / "passages.tantivy.json").exists()
        assert lexical_docs(store) == passage_count(store)
        queries = (
            "Why does Veloria refuse a temporary ceasefire?",
            "fuel blockade ports",
            "language models investment report",
            "national AI laws database",
            "Rovers striker Eastfield",
        )
        for query in queries:
            assert_agrees(store, query)
        cached = {q: ids(store.keyword_search(query_terms(q), 10, NO_FILTER)) for q in queries}
        bm25 = [
            h.article.outlet for h in eng.search("language models investment", k=2, mode="bm25")
        ]
        assert bm25[0] == "Council on Digital Standards"

        # With nothing added since the sync, FTS5 is not consulted at all.
        def no_fts5(*args: object, **kwargs: object) -> list[tuple[int, float]]:
            raise AssertionError("FTS5 used")

        monkeypatch.setattr(store, "_fts_search", no_fts5)
        for query, expected in cached.items():
            assert ids(store.keyword_search(query_terms(query), 10, NO_FILTER)) == expected


def test_below_threshold_fts5_only(engine: Engine, corpus_file: Path, home: Path) -> None:
    engine.ingest([str(corpus_file)])
    assert not (home / "passages.tantivy").exists()
    assert not (home / "passages.tantivy.json").exists()
    store = engine.store
    assert isinstance(store, SQLiteStore)
    assert store.lexical.reader() is None
    terms = query_terms("fuel blockade ports")
    assert store.keyword_search(terms, 10, NO_FILTER) == store._fts_search(terms, 10, NO_FILTER)


def test_synthetic_corpus_matches_fts5(store: SQLiteStore) -> None:
    assert lexical_docs(store) == passage_count(store) > 200
    for query in QUERIES:
        assert_agrees(store, query)
    # A term that stems, a phrase-like term, and one no passage contains.
    assert_agrees(store, "rallies in bond markets")
    assert_agrees(store, "copper-lithium")
    assert store.keyword_search(["zzzz"], 10, NO_FILTER) == []
    assert store.keyword_search([], 10, NO_FILTER) == []


def test_scores_comparable_with_fts5(store: SQLiteStore) -> None:
    """The delta merge ranks tantivy's and FTS5's BM25 scores against each other: both are Okapi
    BM25 (k1 1.2, b 0.75) over the same statistics, and agree within a few per cent (IDF
    differs by ln(1 + x) against ln(x))."""
    for query in QUERIES:
        terms = query_terms(query)
        fts = dict(store._fts_search(terms, 20, NO_FILTER))
        reader = store.lexical.reader()
        assert reader is not None
        for pid, score in reader.search(terms, 20):
            if pid in fts:
                assert score == pytest.approx(fts[pid], rel=0.15), query


def test_unsynced_additions_updates_and_deletions(store: SQLiteStore) -> None:
    reader = store.lexical.reader()
    assert reader is not None
    synced_upto = reader.synced_upto
    # Added since the sync: found through FTS5 over the delta, merged by score.
    put(store, "new1", ["Zephyrine ceasefire blockade talks resume at the harbour."])
    put(store, "new2", ["A zephyrine festival opened at the museum."])
    got = ids(store.keyword_search(["zephyrine"], 10, NO_FILTER))
    new_ids = {p.id for a in ("new1", "new2") for p in store.article_passages(a)}
    assert set(got) == new_ids and min(new_ids) > synced_upto
    top = ids(store.keyword_search(query_terms("zephyrine ceasefire blockade"), 10, NO_FILTER))
    assert top[0] in new_ids

    # An update replaces an article's passages; a synced passage is thereby deleted.
    old = store.article_passages("a001")
    put(store, "a001", ["Quillwort ruling: the court rejected the appeal."])
    new = store.article_passages("a001")
    gone = {p.id for p in old}
    assert all(p.id <= synced_upto for p in old)
    for query in (*QUERIES, "quillwort court ruling appeal"):
        got = ids(store.keyword_search(query_terms(query), 50, NO_FILTER))
        assert not gone & set(got), query
        assert_agrees(store, query)
    assert ids(store.keyword_search(["quillwort"], 10, NO_FILTER)) == [new[0].id]

    # After the sync the cache holds exactly the stored passages and the tombstones are spent.
    store.sync_indexes()
    assert lexical_docs(store) == passage_count(store)
    assert store.conn.execute("SELECT count(*) FROM vector_tombstones").fetchone()[0] == 0
    for query in (*QUERIES, "quillwort court ruling appeal", "zephyrine"):
        got = ids(store.keyword_search(query_terms(query), 50, NO_FILTER))
        assert not gone & set(got), query
        assert_agrees(store, query)


def test_many_deletions_still_fill_k(tmp_path: Path) -> None:
    """Deleted-but-unsynced passages in the cache's top hits do not shorten the answer."""
    s = SQLiteStore(tmp_path / "index.db", ann_min_passages=1)
    for n in range(30):
        put(s, f"d{n}", [f"Saffron saffron saffron harvest report number {n}."])
    for n in range(30):
        # Lengths differ, so no two scores tie and the order is the same in both engines.
        put(s, f"o{n}", [f"Saffron harvest notes {n}, " + "with many other words " * (n + 1)])
    s.sync_indexes()
    for n in range(30):  # the 30 best saffron passages are replaced by saffron-free text
        put(s, f"d{n}", ["Nothing to see here."])
    got = ids(s.keyword_search(["saffron"], 10, NO_FILTER))
    assert len(got) == 10
    assert got == ids(s._fts_search(["saffron"], 10, NO_FILTER))
    s.close()


def test_date_filters_pushed_into_tantivy(store: SQLiteStore) -> None:
    windows = (
        SearchFilters(since=datetime(2024, 6, 1, tzinfo=UTC)),
        SearchFilters(until=datetime(2024, 3, 1, tzinfo=UTC)),
        SearchFilters(
            since=datetime(2024, 4, 1, tzinfo=UTC),
            until=datetime(2024, 4, 30, 23, 59, 59, 999999, tzinfo=UTC),
        ),
        SearchFilters(until=datetime(2024, 3, 1, tzinfo=UTC), include_undated=True),
    )
    undated_seen = False
    for filters in windows:
        for query in QUERIES:
            terms = query_terms(query)
            got = ids(store.keyword_search(terms, 100, filters))
            assert set(got) == set(ids(store._fts_search(terms, 100, filters))), query
            assert_agrees(store, query, filters)
            for p in store.passages(got).values():
                published = store.get_article(p.article_id).published_at  # type: ignore[union-attr]
                if published is None:
                    assert filters.include_undated
                    undated_seen = True
                    continue
                assert filters.since is None or published >= filters.since
                assert filters.until is None or published <= filters.until
    assert undated_seen
    # The range is in the tantivy query itself, not only in the SQL check afterwards.
    reader = store.lexical.reader()
    assert reader is not None
    since = datetime(2024, 6, 1, tzinfo=UTC)
    found = ids(reader.search(query_terms("ceasefire blockade"), 1000, since=since))
    assert found and all(
        store.get_article(p.article_id).published_at >= since  # type: ignore[operator, union-attr]
        for p in store.passages(found).values()
    )
    terms = query_terms("ceasefire blockade")
    both = ids(reader.search(terms, 1000, since=since, include_undated=True))
    assert set(found) < set(both)


def test_outlet_filters(store: SQLiteStore, monkeypatch: pytest.MonkeyPatch) -> None:
    common = SearchFilters(outlets=("harbor times",))
    rare = SearchFilters(outlets=(OUTLETS[2],))
    dated_rare = SearchFilters(outlets=(OUTLETS[2],), since=datetime(2024, 2, 1, tzinfo=UTC))
    for filters in (common, rare, dated_rare):
        for query in QUERIES:
            terms = query_terms(query)
            got = store.keyword_search(terms, 10, filters)
            assert_agrees(store, query, filters)
            outlets = {
                store.get_article(p.article_id).outlet  # type: ignore[union-attr]
                for p in store.passages(ids(got)).values()
            }
            assert outlets <= {OUTLETS[1] if filters is common else OUTLETS[2]}
    # A common outlet survives the oversampled cache hits; a rare one falls back to FTS5.
    calls: list[int] = []
    real = store._fts_search

    def counted(*args: object, **kwargs: object) -> list[tuple[int, float]]:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "_fts_search", counted)
    store.keyword_search(query_terms("ceasefire blockade"), 5, common)
    assert calls == []
    store.keyword_search(query_terms("ceasefire blockade"), 5, rare)
    assert calls == [1]


def test_outlet_filter_matches_any_case(store: SQLiteStore) -> None:
    put(store, "e1", ["Élan vital gazette reports a tariff vote."], outlet="Élan Gazette")
    # SQLite's NOCASE folds ASCII letters only ("élan" would not match), as lower() did.
    for name in ("Élan Gazette", "Élan gazette", "ÉLAN GAZETTE"):
        got = store.keyword_search(["tariff"], 10, SearchFilters(outlets=(name,)))
        assert [p.article_id for p in store.passages(ids(got)).values()] == ["e1"], name


def test_sync_killed_after_commit_before_sidecar(
    store: SQLiteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    reader = store.lexical.reader()
    assert reader is not None
    before = reader.synced_upto
    put(store, "late", ["Marigold blockade marigold talks."])
    real_replace = lexical.os.replace

    def crash(src: object, dst: object) -> None:
        raise OSError("killed")

    monkeypatch.setattr(lexical.os, "replace", crash)
    with pytest.raises(OSError, match="killed"):
        store.sync_indexes()  # tantivy committed the new passage; the sidecar still says before
    monkeypatch.setattr(lexical.os, "replace", real_replace)
    reader = store.lexical.reader()
    assert reader is not None and reader.synced_upto == before
    fresh = LexicalIndex(store.lexical.path).reader()  # this one has not reloaded since
    assert fresh is not None and fresh.searcher.num_docs == passage_count(store)  # cached...
    got = ids(store.keyword_search(["marigold"], 10, NO_FILTER))
    assert got == passage_ids(store, "late")  # ...and returned once (via FTS5)
    for query in QUERIES:
        assert_agrees(store, query)
    store.sync_indexes()  # the re-sync replaces it instead of adding a second copy
    assert lexical_docs(store) == passage_count(store)
    assert ids(store.keyword_search(["marigold"], 10, NO_FILTER)) == got


def test_sync_failing_mid_build_releases_lock_and_recovers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = SQLiteStore(tmp_path / "index.db", ann_min_passages=1)
    synthetic_corpus(s, articles=30)
    real_add = LexicalWriter.add

    def failing(self: LexicalWriter, rows: object) -> None:
        real_add(self, list(rows)[:5])  # type: ignore[call-overload]
        raise RuntimeError("disk full")

    monkeypatch.setattr(LexicalWriter, "add", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        s.sync_indexes()
    monkeypatch.setattr(LexicalWriter, "add", real_add)
    assert s.lexical.reader() is None  # nothing committed: no sidecar, FTS5 answers
    assert_agrees(s, "ceasefire blockade")
    s.sync_indexes()  # the writer lock was released
    assert lexical_docs(s) == passage_count(s)
    for query in QUERIES:
        assert_agrees(s, query)
    s.close()


def test_process_killed_mid_sync_recovers(tmp_path: Path) -> None:
    """A real SIGKILL-style death (os._exit) after tantivy's commit, holding the writer lock."""
    s = SQLiteStore(tmp_path / "index.db", ann_min_passages=1)
    synthetic_corpus(s, articles=30)
    s.sync_indexes()
    put(s, "late", ["Marigold blockade marigold talks."])
    script = textwrap.dedent(
        f"""
        import os
        from citewire import lexical
        from citewire.sqlite_store import SQLiteStore

        def die(self, synced_upto):
            self._writer.commit()
            os._exit(9)

        lexical.LexicalWriter.commit = die
        SQLiteStore({str(tmp_path / "index.db")!r}, ann_min_passages=1).sync_indexes()
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert result.returncode == 9, result.stderr.decode()
    reader = s.lexical.reader()
    assert reader is not None and reader.searcher.num_docs == passage_count(s)
    late = passage_ids(s, "late")
    assert reader.synced_upto < late[0]
    assert ids(s.keyword_search(["marigold"], 10, NO_FILTER)) == late
    s.sync_indexes()  # the dead process's lock is gone; its extra copy is replaced
    assert lexical_docs(s) == passage_count(s)
    assert ids(s.keyword_search(["marigold"], 10, NO_FILTER)) == late
    s.close()


def test_busy_writer_keeps_tombstones(store: SQLiteStore) -> None:
    put(store, "a002", ["Replaced text about a harbour strike."])
    tombstones = store.conn.execute("SELECT count(*) FROM vector_tombstones").fetchone()[0]
    assert tombstones > 0
    other = store.lexical.writer()  # another process syncing
    try:
        store.sync_indexes()
    finally:
        other.close()
    left = store.conn.execute("SELECT count(*) FROM vector_tombstones").fetchone()[0]
    assert left == tombstones
    store.sync_indexes()
    assert store.conn.execute("SELECT count(*) FROM vector_tombstones").fetchone()[0] == 0
    assert lexical_docs(store) == passage_count(store)


def test_unusable_cache_falls_back_and_rebuilds(store: SQLiteStore) -> None:
    expected = {q: ids(store._fts_search(query_terms(q), 10, NO_FILTER)) for q in QUERIES}
    meta = store.lexical.meta_path
    meta.write_text("{not json")
    assert store.lexical.reader() is None
    for query in QUERIES:
        assert ids(store.keyword_search(query_terms(query), 10, NO_FILTER)) == expected[query]
    # A sidecar of another schema version is rebuilt from scratch by the next sync.
    meta.write_text(json.dumps({"version": lexical.SCHEMA_VERSION + 1, "synced_upto": 10**9}))
    assert store.lexical.reader() is None
    store.sync_indexes()
    assert json.loads(meta.read_text())["version"] == lexical.SCHEMA_VERSION
    assert lexical_docs(store) == passage_count(store)
    for query in QUERIES:
        assert_agrees(store, query)


def test_reader_follows_syncs_by_others(store: SQLiteStore, tmp_path: Path) -> None:
    """A long-running process (the web app) sees another process's sync without reopening."""
    other = SQLiteStore(tmp_path / "index.db", ann_min_passages=1)
    put(other, "fresh", ["Quetzal museum festival."])
    other.sync_indexes()
    other.close()
    reader = store.lexical.reader()
    assert reader is not None
    fresh = passage_ids(store, "fresh")
    assert reader.synced_upto == fresh[-1]
    assert ids(reader.search(["quetzal"], 10)) == fresh


def test_tokenizer_folds_and_stems() -> None:
    analyze = lexical._ANALYZER.analyze
    assert analyze("Cafés") == analyze("cafe")
    assert analyze("running") == analyze("runs") == ["run"]
