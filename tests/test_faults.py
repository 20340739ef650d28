"""Faults a real user meets: a process killed mid-ingest, searches during an ingest."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from citewire.engine import Engine

WORDS = (
    "council minister harbor river grain tariff election court ruling budget strike union "
    "police storm flood drought vaccine clinic school teacher bridge railway airport port "
    "factory export import inflation wage pension protest treaty border summit envoy embassy "
    "rebel army navy drone missile ceasefire truce talks sanction oil gas coal solar wind "
    "reactor satellite rocket museum festival author film singer stadium coach striker market "
    "shares bank loan debt currency bond investor profit loss merger startup chip "
).split()


def synthetic_corpus(path: Path, n: int, seed: int = 7, site: str = "synthetic") -> Path:
    """n distinct articles of random words: no two are near-duplicates of each other."""
    rng = random.Random(seed)
    with path.open("w") as out:
        for i in range(n):
            sentences = [
                " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 16))).capitalize() + "."
                for _ in range(12)
            ]
            out.write(
                json.dumps(
                    {
                        "url": f"https://{site}.example/{i}",
                        "title": f"Story {i}",
                        "text": " ".join(sentences),
                        "published": f"2025-01-{1 + i % 28:02d}",
                        "outlet": "Synthetic News",
                    }
                )
                + "\n"
            )
    return path


def count(db: Path, sql: str) -> int:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return int(conn.execute(sql).fetchone()[0])
    finally:
        conn.close()


def test_sigkill_mid_ingest_then_resume(tmp_path: Path, embedder: object) -> None:
    corpus = synthetic_corpus(tmp_path / "big.jsonl", 240)
    home = tmp_path / "home"
    env = {**os.environ, "CITEWIRE_HOME": str(home)}
    cmd = [
        sys.executable,
        "-m",
        "citewire",
        "ingest",
        str(corpus),
        "-q",
        "--json",
        "--batch-size",
        "8",
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    db = home / "index.db"
    deadline = time.monotonic() + 240
    committed = 0
    while time.monotonic() < deadline and proc.poll() is None:
        if db.exists():
            try:
                committed = count(db, "SELECT count(*) FROM articles")
            except sqlite3.OperationalError:
                committed = 0
            if committed >= 24:
                break
        time.sleep(0.05)
    assert proc.poll() is None, "ingest finished before it could be killed; make the corpus larger"
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    before = count(db, "SELECT count(*) FROM articles")
    assert 24 <= before < 240

    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    # Everything committed before the kill is recognised; the rest goes in exactly once.
    assert report["unchanged"] == before
    assert report["added"] == 240 - before
    assert count(db, "SELECT count(*) FROM articles") == 240
    assert count(db, "SELECT count(DISTINCT url) FROM articles") == 240
    assert count(db, "SELECT count(*) FROM passages") == count(
        db, "SELECT count(*) FROM embeddings"
    )
    assert (
        count(
            db,
            "SELECT count(*) FROM articles a WHERE NOT EXISTS "
            "(SELECT 1 FROM passages p WHERE p.article_id = a.id)",
        )
        == 0
    )
    conn = sqlite3.connect(db)
    conn.execute("INSERT INTO passages_fts(passages_fts) VALUES ('integrity-check')")
    conn.close()
    with Engine(home, embedder=embedder) as engine:  # type: ignore[arg-type]
        assert engine.search("ceasefire talks envoy", k=5)


def test_search_while_another_process_ingests(tmp_path: Path, embedder: object) -> None:
    corpus = synthetic_corpus(tmp_path / "c.jsonl", 120, seed=3)
    home = tmp_path / "home"
    env = {**os.environ, "CITEWIRE_HOME": str(home)}
    # Seed the index so searches have something to find from the start.
    first = synthetic_corpus(tmp_path / "seed.jsonl", 5, seed=99, site="seed")
    with Engine(home, embedder=embedder) as engine:  # type: ignore[arg-type]
        engine.ingest([str(first)])
    proc = subprocess.Popen(
        [sys.executable, "-m", "citewire", "ingest", str(corpus), "-q", "--batch-size", "4"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    searches = 0
    seen_counts = set()
    with Engine(home, embedder=embedder) as engine:  # type: ignore[arg-type]
        while proc.poll() is None:
            hits = engine.search("bank loan debt currency", k=5)
            assert hits
            seen_counts.add(engine.stats().articles)
            searches += 1
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        # The searching process sees the new articles without reopening.
        assert engine.stats().articles == 125
        assert len(engine.search("bank loan debt currency", k=50)) == 50
    assert searches >= 3 and len(seen_counts) >= 2
