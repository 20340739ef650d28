"""End-to-end library tests on a real SQLite file with the real embedding model."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from citewire.dates import parse_user_date
from citewire.engine import Engine
from citewire.errors import QueryError
from citewire.models import SearchFilters
from tests.support.corpus import articles, write_jsonl


def test_ingest_counts_and_syndication(engine: Engine, corpus_file: Path) -> None:
    report = engine.ingest([str(corpus_file)])
    # Six records: the Harbor Times copy of the wire story is grouped, not added.
    assert (report.added, report.near_duplicates, report.failed) == (5, 1, ())
    stats = engine.stats()
    assert stats.articles == 6 and stats.groups == 5
    assert stats.passages == report.passages > 0
    assert stats.earliest is not None and stats.earliest.year == 2026


def test_reingest_changes_nothing(engine: Engine, corpus_file: Path) -> None:
    engine.ingest([str(corpus_file)])
    before = engine.stats()
    again = engine.ingest([str(corpus_file)])
    assert (again.added, again.updated, again.unchanged) == (0, 0, 6)
    after = engine.stats()
    assert (after.articles, after.passages) == (before.articles, before.passages)


def test_updated_article_replaces_old_version(engine: Engine, tmp_path: Path) -> None:
    records = articles()
    engine.ingest([str(write_jsonl(tmp_path / "a.jsonl", records))])
    records[2] = {**records[2], "text": records[2]["text"] + " Observers arrived on Friday."}
    report = engine.ingest([str(write_jsonl(tmp_path / "b.jsonl", records))])
    assert (report.updated, report.added, report.unchanged) == (1, 0, 5)
    hits = engine.search("observers arrived on Friday", k=3)
    assert "Observers arrived on Friday." in hits[0].passage.text
    # The old passages are gone: nothing returns the outdated text twice.
    texts = [p.text for p in engine.store.article_passages(hits[0].article.id)]
    assert sum("monitoring mission" in t for t in texts) == 1


def test_search_finds_reason_and_shows_carriers(engine: Engine, corpus_file: Path) -> None:
    engine.ingest([str(corpus_file)])
    hits = engine.search("Why does Veloria refuse a temporary ceasefire?", k=3)
    top = hits[0]
    assert top.article.outlet == "Meridian Wire"
    assert "ceasefire" in top.passage.text.lower()
    assert {c.outlet for c in top.also_carried_by} == {"Harbor Times"}
    # One hit per story: the syndicated copy never appears as a hit of its own.
    groups = [h.article.group_id for h in hits]
    assert len(groups) == len(set(groups))
    # Offsets point into the stored article text exactly.
    for hit in hits:
        assert hit.article.text[hit.passage.start : hit.passage.end] == hit.passage.text
        for span in hit.matched:
            assert hit.passage.text[span.start : span.end].lower()[:4] in {
                "why",
                "velo",
                "refu",
                "temp",
                "ceas",
            }


def test_search_modes_and_filters(engine: Engine, corpus_file: Path) -> None:
    engine.ingest([str(corpus_file)])
    for mode in ("bm25", "dense", "hybrid"):
        hits = engine.search("language models investment report", k=2, mode=mode)
        assert hits[0].article.outlet == "Council on Digital Standards", mode
    april = SearchFilters(since=parse_user_date("2026-04-05"))
    hits = engine.search("report", k=10, filters=april)
    assert hits and all(h.article.published_at and h.article.published_at.month == 4 for h in hits)
    until = SearchFilters(until=parse_user_date("2026-02", end_of_day=True))
    hits = engine.search("AI laws", k=10, filters=until)
    assert [h.article.outlet for h in hits] == ["AI Policy Observatory"]
    # An outlet filter matches stories that outlet carried, even as a syndicated copy.
    harbor = SearchFilters(outlets=("harbor times",))
    outlets = {h.article.outlet for h in engine.search("ceasefire", k=10, filters=harbor)}
    assert outlets == {"Meridian Wire", "Harbor Times"}


def test_bad_queries(engine: Engine) -> None:
    with pytest.raises(QueryError):
        engine.search("   ")
    with pytest.raises(QueryError):
        engine.search("x" * 5000)
    assert engine.search("anything at all") == []  # empty index: no hits, no crash


def test_ann_path_matches_exact(home: Path, embedder: object, corpus_file: Path) -> None:
    """With the HNSW index forced on, results equal the brute-force path."""
    with Engine(home, embedder=embedder, ann_min_passages=1) as eng:  # type: ignore[arg-type]
        eng.ingest([str(corpus_file)])
        assert (home / "vectors.faiss").exists()
        ann = [h.passage.id for h in eng.search("fuel blockade ports", k=5, mode="dense")]
    with Engine(home, embedder=embedder) as eng:  # type: ignore[arg-type]
        eng.store.ann.path = home / "missing.faiss"  # type: ignore[attr-defined]
        exact = [h.passage.id for h in eng.search("fuel blockade ports", k=5, mode="dense")]
    assert ann == exact


def test_index_is_consistent(engine: Engine, corpus_file: Path, home: Path) -> None:
    engine.ingest([str(corpus_file)])
    conn = sqlite3.connect(home / "index.db")
    conn.execute("INSERT INTO passages_fts(passages_fts) VALUES ('integrity-check')")
    passages, embeddings = conn.execute(
        "SELECT (SELECT count(*) FROM passages), (SELECT count(*) FROM embeddings)"
    ).fetchone()
    assert passages == embeddings
    meta = json.loads(
        conn.execute("SELECT report FROM ingest_runs ORDER BY id DESC LIMIT 1").fetchone()[0]
    )
    assert meta["added"] == 5


def test_date_column_matches_sql_filter(engine: Engine, corpus_file: Path, tmp_path: Path) -> None:
    """The in-memory date column used by filtered dense search selects exactly what SQL does."""
    undated = {"title": "Undated note", "text": "A short undated note about the harbour works."}
    engine.ingest([str(corpus_file), str(write_jsonl(tmp_path / "u.jsonl", [undated]))])
    store = engine.store
    windows = [
        SearchFilters(since=parse_user_date("2026-04-05")),
        SearchFilters(until=parse_user_date("2026-03", end_of_day=True)),
        SearchFilters(since=parse_user_date("2026-02-02"), until=parse_user_date("2026-04-07")),
        SearchFilters(until=parse_user_date("2026-03", end_of_day=True), include_undated=True),
    ]
    for filters in windows:
        where, params = store._filter_sql(filters)  # type: ignore[attr-defined]
        rows = store.conn.execute(  # type: ignore[attr-defined]
            "SELECT p.id FROM passages p JOIN articles a ON a.id = p.article_id WHERE 1=1" + where,
            params,
        ).fetchall()
        expected = sorted(r[0] for r in rows)
        assert expected, filters
        assert sorted(store._ids_by_date(filters).tolist()) == expected, filters  # type: ignore[attr-defined]
