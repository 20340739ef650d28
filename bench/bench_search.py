"""Search latency at ~10k and ~1M passages, against an exact brute-force baseline in the same run
(target: hybrid p50 <= 50 ms at 1M passages on a 2-core machine).

    python bench/bench_search.py                       # 10k (bbc) + 1M (built once, then reused)
    python bench/bench_search.py --passages 50000      # a smaller replicated index (search-50k)
    python bench/bench_search.py --build-only          # just build (or reuse) the large index
    python bench/bench_search.py --rebuild             # rebuild the large index from scratch
    python bench/bench_search.py --skip-small --queries 100

The ~10k index is bench/out/bbc/ as ``python bench/bench_ingest.py bbc`` left it.

The large index (bench/out/search-<n>/) is SYNTHETIC, made by replicating the bbc index: we cannot
run the embedding model on a million texts here (~35 passages/s, i.e. ~8 hours for 1M). Every
passage and its real embedding are read from bench/out/bbc/index.db (read-only) and written again
through the public Store API (``put_article`` / ``ensure_group`` / ``add_passages`` with
embeddings, in transactions of ~5,000 passages), so the FTS5 index, the triggers and the float16
embeddings are written exactly as ingest writes them; ``sync_indexes()`` then builds the HNSW
file and the tantivy BM25 directory. Replica 0 of each article is the original, unchanged. Every
other replica is perturbed:
  * text: the sentences of each passage are shuffled and ~15% of its words are replaced by words
    drawn from the corpus' own token stream (so frequencies stay Zipf-like), so BM25 postings
    are not identical copies;
  * embedding: gaussian noise with sigma chosen so that the replica's cosine to its original is
    ~0.9, then re-normalised (the measured mean cosine is printed);
  * distinct article ids and urls, and published_at spread uniformly over 2019-2024 (the bbc
    originals have no dates), so a one-year date filter keeps ~1/6 of the index.
LSH band rows are not written (they serve ingest-time deduplication only, never search); each
replica stores its original's MinHash signature.

Latency is measured with warm caches (one untimed hybrid pass over all queries first), on ~200
queries: bbc titles and first sentences, lightly reworded, and RealTime QA questions. Dense and
hybrid times include embedding the query (reported on its own too). The brute-force baseline is
an exact numpy top-10 over all stored embeddings as one float32 matrix, given the same
precomputed query vectors. HNSW recall@10 is set overlap with that exact top-10; because the ~93
replicas of one passage are near-ties for any query, recall of the *source* passages and the ratio
of mean cosines (found top-10 / exact top-10) are printed beside it.

Before measuring, ``sync_indexes()`` runs on the index (a no-op when the caches are up to date;
on an index built before the tantivy cache existed it builds that, and the time is printed).
BM25 is also timed through FTS5 alone (``_fts_search``: the path below ``ann_min_passages`` and
the fallback), with its top-10 overlap against ``keyword_search``.

On the large index the script also diagnoses where hybrid time goes (the store's methods wrapped
with timers), and prototypes options without editing src/: FTS5 query rewrites (ORDER BY rank,
dropping frequent terms, AND-then-OR), and date filtering through an in-memory date column and a
faiss IDSelectorBitmap. Filtered searches and the diagnosis use the first --diag-queries queries
(default 100) to keep the run short.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sqlite3
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from _util import DATA, OUT, command_line, peak_rss_mib, percentile, summary
from citewire.dedup import content_hash, fingerprint
from citewire.embed import default_embedder
from citewire.models import Article, SearchFilters
from citewire.retrieve import POOL, query_terms
from citewire.sqlite_store import SQLiteStore
from citewire.store import NewPassage

if TYPE_CHECKING:
    from citewire.engine import Engine

# citewire.engine is imported where an Engine is opened, so that building the index needs only
# the store layer.
INDEX_FILE = "index.db"

SOURCE = OUT / "bbc"
TARGET_COSINE = 0.9
WORD_SWAP = 0.15
TXN_PASSAGES = 5000
DATE_START = datetime(2019, 1, 1, tzinfo=UTC)
DATE_SPAN = timedelta(days=6 * 365 + 1)  # 2019-01-01 .. 2024-12-31
ONE_YEAR = SearchFilters(
    since=datetime(2022, 1, 1, tzinfo=UTC), until=datetime(2023, 1, 1, tzinfo=UTC)
)
ONE_MONTH = SearchFilters(
    since=datetime(2022, 3, 1, tzinfo=UTC), until=datetime(2022, 4, 1, tzinfo=UTC)
)
TARGET_MS = 50.0

_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_TOKEN = re.compile(r"[A-Za-z][A-Za-z'-]*[A-Za-z]|\d+")

Matrix = npt.NDArray[np.float32]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def p50(values: Sequence[float]) -> float:
    return percentile(list(values), 50)


def p95(values: Sequence[float]) -> float:
    return percentile(list(values), 95)


def dir_bytes(home: Path) -> int:
    return sum(p.stat().st_size for p in home.iterdir() if p.is_file())


# --- building the large index -------------------------------------------------------------------
def read_source(
    path: Path,
) -> tuple[str, list[tuple[Article, list[str], Matrix]], list[str]]:
    """(model name, [(article, passage texts, their embeddings)], corpus token stream) from a
    citewire index opened read-only."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    model = conn.execute("SELECT value FROM meta WHERE key = 'embedding_model'").fetchone()[0]
    rows = conn.execute(
        "SELECT p.article_id, p.text, e.vector FROM passages p JOIN embeddings e "
        "ON e.passage_id = p.id ORDER BY p.article_id, p.seq"
    ).fetchall()
    by_article: dict[str, tuple[list[str], list[bytes]]] = {}
    for article_id, text, vector in rows:
        texts, vectors = by_article.setdefault(article_id, ([], []))
        texts.append(text)
        vectors.append(vector)
    store = SQLiteStore.__new__(SQLiteStore)  # only for its row -> Article conversion
    columns = SQLiteStore._ARTICLE_COLUMNS
    articles = {
        row[0]: store._article(row)
        for row in conn.execute(f"SELECT {columns} FROM articles ORDER BY rowid")
    }
    conn.close()
    out = []
    for article_id, (texts, vectors) in by_article.items():
        matrix = np.frombuffer(b"".join(vectors), dtype=np.float16).reshape(len(texts), -1)
        out.append((articles[article_id], texts, matrix.astype(np.float32)))
    tokens = [t for _, texts, _ in out for text in texts for t in _TOKEN.findall(text)]
    return model, out, tokens


def perturb_text(text: str, rng: random.Random, tokens: list[str]) -> str:
    sentences = _SENTENCE.split(text)
    rng.shuffle(sentences)
    words = " ".join(sentences).split(" ")
    for i in rng.sample(range(len(words)), round(len(words) * WORD_SWAP)):
        words[i] = tokens[rng.randrange(len(tokens))]
    return " ".join(words)


def build(home: Path, target: int) -> dict[str, Any]:
    """Replicate the bbc index into ``home`` until it holds ``target`` passages."""
    started = time.perf_counter()
    model, source, tokens = read_source(SOURCE / INDEX_FILE)
    per_round = sum(len(texts) for _, texts, _ in source)
    dim = source[0][2].shape[1]
    # For a unit vector v and noise n ~ N(0, s^2 I_d): cos(v, v + n) ~ 1 / sqrt(1 + d s^2).
    sigma = float(np.sqrt((1 / TARGET_COSINE**2 - 1) / dim))
    print(
        f"source: {SOURCE / INDEX_FILE}: {len(source)} articles with passages, {per_round} "
        f"passages, {len(tokens)} corpus tokens; embedding noise sigma {sigma:.4f}",
        flush=True,
    )
    signatures = {a.id: fingerprint(a.text).signature for a, _, _ in source}
    rng = random.Random(20240601)
    nrng = np.random.default_rng(20240601)
    store = SQLiteStore(home / INDEX_FILE, dim=dim, model=model)
    written = 0
    cosines: list[float] = []
    now = datetime.now(UTC)
    insert_started = time.perf_counter()
    next_report = 100_000
    replica = 0
    pending: list[tuple[Article, list[NewPassage], Matrix]] = []
    pending_passages = 0

    def flush() -> None:
        nonlocal pending, pending_passages
        with store.transaction():
            for article, passages, vectors in pending:
                store.put_article(article, signatures[article.metadata["replica_of"]], ())
                store.ensure_group(article.id, article.id)
                store.add_passages(article.id, passages, vectors)
        pending, pending_passages = [], 0

    while written < target:
        for original, texts, vectors in source:
            if written >= target:
                break
            if replica:
                texts = [perturb_text(t, rng, tokens) for t in texts]
                noisy = vectors + nrng.normal(0.0, sigma, vectors.shape).astype(np.float32)
                noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
                if len(cosines) < 20_000:
                    cosines.extend(np.einsum("ij,ij->i", noisy, vectors).tolist())
                vectors = noisy
            text = "\n\n".join(texts)
            passages, offset = [], 0
            for seq, passage in enumerate(texts):
                passages.append(NewPassage(seq, offset, offset + len(passage), passage))
                offset += len(passage) + 2
            aid = f"r{replica:04d}-{original.id}"
            published = DATE_START + timedelta(seconds=rng.uniform(0, DATE_SPAN.total_seconds()))
            article = Article(
                id=aid,
                text=text,
                content_hash=content_hash(text),
                source=original.source,
                title=original.title,
                url=f"{original.url or 'https://replica.invalid/' + original.id}#r{replica}",
                published_at=published.replace(microsecond=0),
                date_precision="second",
                outlet=original.outlet,
                authors=original.authors,
                metadata={"replica_of": original.id, "replica": replica},
                group_id=aid,
                ingested_at=now,
            )
            pending.append((article, passages, vectors))
            pending_passages += len(passages)
            written += len(passages)
            if pending_passages >= TXN_PASSAGES:
                flush()
            if written >= next_report:
                rate = written / (time.perf_counter() - insert_started)
                print(f"  {written} passages written, {rate:.0f}/s", file=sys.stderr, flush=True)
                next_report += 100_000
        replica += 1
    if pending:
        flush()
    insert_seconds = time.perf_counter() - insert_started
    print(f"inserted {written} passages in {insert_seconds:.0f} s; building HNSW", flush=True)
    hnsw_started = time.perf_counter()
    store.sync_indexes()
    hnsw_seconds = time.perf_counter() - hnsw_started
    store.close()
    db_bytes = sum(p.stat().st_size for p in home.glob(INDEX_FILE + "*"))
    info = {
        "command": command_line(),
        "passages": written,
        "articles": None,
        "replicas": replica,
        "insert_seconds": insert_seconds,
        "insert_rate": written / insert_seconds,
        "hnsw_seconds": hnsw_seconds,
        "total_seconds": time.perf_counter() - started,
        "db_bytes": db_bytes,
        "hnsw_bytes": (home / "vectors.faiss").stat().st_size,
        "disk_bytes": dir_bytes(home),
        "sigma": sigma,
        "mean_cosine_to_original": statistics.fmean(cosines) if cosines else None,
        "build_peak_rss_mib": peak_rss_mib(),
    }
    conn = sqlite3.connect(f"file:{home / INDEX_FILE}?mode=ro", uri=True)
    info["articles"] = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    conn.close()
    (home / "build.json").write_text(json.dumps(info, indent=1))
    return info


def print_build(info: dict[str, Any], reused: bool) -> None:
    print(
        f"large index ({'reused, built by' if reused else 'built by'}: {info['command']}): "
        f"{info['passages']} passages in {info['articles']} articles ({info['replicas']} "
        "rounds of replicas)"
    )
    cosine = info["mean_cosine_to_original"]
    print(
        f"  insert {info['insert_seconds']:.0f} s ({info['insert_rate']:.0f} passages/s, "
        f"through SQLiteStore.put_article/add_passages), HNSW (+ tantivy) build (sync_indexes) "
        f"{info['hnsw_seconds']:.0f} s, total {info['total_seconds']:.0f} s, build peak RSS "
        f"{info['build_peak_rss_mib']:.0f} MiB"
    )
    print(
        f"  disk: SQLite {info['db_bytes'] / 2**20:.0f} MiB + HNSW {info['hnsw_bytes'] / 2**20:.0f}"
        f" MiB = {info['disk_bytes'] / 2**20:.0f} MiB; embedding noise sigma {info['sigma']:.4f}, "
        f"mean cosine replica->original {cosine if cosine is None else round(cosine, 3)}"
    )


# --- queries --------------------------------------------------------------------------------------
def reword(text: str, rng: random.Random) -> str:
    """Lower-case, and drop or swap a word now and then: a user's paraphrase, not the title."""
    words = text.lower().split()
    if len(words) > 4 and rng.random() < 0.5:
        del words[rng.randrange(1, len(words))]
    if len(words) > 3 and rng.random() < 0.5:
        i = rng.randrange(len(words) - 1)
        words[i], words[i + 1] = words[i + 1], words[i]
    return " ".join(words)


def make_queries(n: int) -> list[str]:
    rng = random.Random(7)
    bbc = [json.loads(line) for line in (DATA / "bbc_news" / "articles.jsonl").open()]
    rng.shuffle(bbc)
    qa = [
        json.loads(line)["question"]
        for line in (DATA / "realtimeqa" / "questions_2022.jsonl").open()
    ]
    rng.shuffle(qa)
    n_titles, n_first = n * 6 // 10, n * 2 // 10
    queries = [reword(a["title"], rng) for a in bbc[:n_titles]]
    for a in bbc[n_titles : n_titles + n_first]:
        first = _SENTENCE.split(a["text"].strip(), maxsplit=1)[0].split()
        queries.append(reword(" ".join(first[:25]), rng))
    queries += qa[: n - len(queries)]
    return queries


# --- measuring --------------------------------------------------------------------------------
class Probe:
    """Accumulates time spent in wrapped methods (instance attributes shadow the class's)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.wrapped: list[tuple[object, str]] = []

    def wrap(self, obj: object, name: str, label: str) -> None:
        inner = getattr(obj, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                self.seconds[label] += time.perf_counter() - started

        setattr(obj, name, timed)
        self.wrapped.append((obj, name))

    def take(self) -> dict[str, float]:
        out, self.seconds = dict(self.seconds), defaultdict(float)
        return out

    def unwrap(self) -> None:
        for obj, name in reversed(self.wrapped):
            delattr(obj, name)
        self.wrapped = []


def time_each(queries: Sequence[Any], fn: Callable[[Any], object]) -> list[float]:
    times = []
    for q in queries:
        started = time.perf_counter()
        fn(q)
        times.append(time.perf_counter() - started)
    return times


def collect(
    items: Sequence[Any], fn: Callable[[Any], list[int]]
) -> tuple[list[float], list[list[int]]]:
    times, results = [], []
    for item in items:
        started = time.perf_counter()
        results.append(fn(item))
        times.append(time.perf_counter() - started)
    return times, results


def load_matrix(path: Path) -> tuple[npt.NDArray[np.int64], Matrix]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    ids: list[int] = []
    parts: list[Matrix] = []
    cursor = conn.execute("SELECT passage_id, vector FROM embeddings ORDER BY passage_id")
    while rows := cursor.fetchmany(50_000):
        ids.extend(r[0] for r in rows)
        blob = b"".join(r[1] for r in rows)
        parts.append(
            np.frombuffer(blob, dtype=np.float16).reshape(len(rows), -1).astype(np.float32)
        )
    conn.close()
    return np.array(ids, dtype=np.int64), np.concatenate(parts)


def brute_top(ids: npt.NDArray[np.int64], matrix: Matrix, vector: Matrix, k: int) -> list[int]:
    sims = matrix @ vector
    part = np.argpartition(-sims, k)[:k]
    return [int(ids[i]) for i in part[np.argsort(-sims[part])]]


def fresh_process(home: Path, query: str) -> dict[str, float]:
    """Run in a child: import, open the engine, load the model, first and second query."""
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, __file__, "--first-query", str(home), query],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    result["process_wall"] = time.perf_counter() - started
    return result


def first_query_child(home: Path, query: str) -> None:
    from citewire.engine import Engine

    started = time.perf_counter()
    embedder = default_embedder()
    engine = Engine(home, embedder=embedder)
    opened = time.perf_counter()
    embedder.embed(["warm up"])
    model = time.perf_counter()
    engine.search(query, k=10)
    first = time.perf_counter()
    engine.search(query + " today", k=10)
    second = time.perf_counter()
    print(
        json.dumps(
            {
                "open": opened - started,
                "model_load": model - opened,
                "first_query": first - model,
                "second_query": second - first,
                "peak_rss_mib": peak_rss_mib(),
            }
        )
    )


def line(label: str, times: Sequence[float], base: float | None = None) -> str:
    text = f"  {label:34s} {summary(list(times))}"
    if base:
        text += f"  [p50 x{p50(times) / base:.2f} of brute force]"
    return text


def measure(
    name: str, home: Path, queries: list[str], large: bool, diag_n: int, diagnose: bool
) -> dict[str, float]:
    print(f"\n=== {name}: {home} ===", flush=True)
    from citewire.engine import INDEX_FILE as ENGINE_INDEX_FILE
    from citewire.engine import Engine

    assert ENGINE_INDEX_FILE == INDEX_FILE
    embedder = default_embedder()
    engine = Engine(home, embedder=embedder)
    store = engine.store
    assert isinstance(store, SQLiteStore)
    started = time.perf_counter()
    store.sync_indexes()
    print(
        f"sync_indexes (no-op when the caches are up to date): {time.perf_counter() - started:.1f}"
        " s"
    )
    fresh = fresh_process(home, queries[0])
    stats = engine.stats()
    print(
        f"index: {stats.articles} articles, {stats.passages} passages, "
        f"{stats.index_bytes / 2**20:.0f} MiB on disk; dates {stats.earliest} .. {stats.latest}"
    )
    print(
        f"fresh process (warm OS page cache): open Engine {ms(fresh['open'])}, model load "
        f"{ms(fresh['model_load'])}, first hybrid query {ms(fresh['first_query'])} (opens the HNSW "
        f"file and the tantivy index), second {ms(fresh['second_query'])}; peak RSS "
        f"{fresh['peak_rss_mib']:.0f} MiB; "
        f"whole child process {fresh['process_wall']:.1f} s"
    )
    engine.search("warm up the model", k=10)
    print(f"HNSW file in use: {len(store.ann)} vectors (synced up to id {store.ann.synced_upto})")
    lexical = store.lexical.reader()
    print(
        "tantivy BM25 cache: "
        + (
            f"{lexical.searcher.num_docs} passages (synced up to id {lexical.synced_upto}), "
            f"{store.lexical.size_bytes() / 2**20:.0f} MiB"
            if lexical is not None
            else "none (FTS5 answers keyword searches)"
        )
    )
    started = time.perf_counter()
    for q in queries:  # warm caches; untimed
        engine.search(q, k=10)
    print(f"warm-up pass (hybrid, all queries): {time.perf_counter() - started:.1f} s")

    vectors: list[Matrix] = []
    embed_times = []
    for q in queries:
        t0 = time.perf_counter()
        vectors.append(embedder.embed([q])[0])
        embed_times.append(time.perf_counter() - t0)
    started = time.perf_counter()
    ids, matrix = load_matrix(store.path)
    print(
        f"brute-force matrix: {matrix.shape[0]} x {matrix.shape[1]} float32 "
        f"({matrix.nbytes / 2**20:.0f} MiB) loaded in {time.perf_counter() - started:.1f} s"
    )
    brute_times: list[float] = []
    exact: list[list[int]] = []
    for v in vectors:
        t0 = time.perf_counter()
        exact.append(brute_top(ids, matrix, v, 10))
        brute_times.append(time.perf_counter() - t0)
    base = p50(brute_times)

    results: dict[str, list[float]] = {}
    print("latency, k=10, warm (query embedding included in dense and hybrid):")
    print(line("embed query (model only)", embed_times))
    print(line("brute force dense top-10 (numpy)", brute_times))
    results["brute"] = brute_times
    for mode in ("hybrid", "bm25", "dense"):
        results[mode] = time_each(queries, lambda q, m=mode: engine.search(q, k=10, mode=m))
        print(line(f"Engine.search mode={mode}", results[mode], base))
    nofilter = SearchFilters()
    results["vector_search"] = time_each(vectors, lambda v: store.vector_search(v, POOL, nofilter))
    print(line(f"store.vector_search top-{POOL} (no embed)", results["vector_search"], base))
    terms = [query_terms(q) for q in queries]
    results["keyword_search"] = time_each(terms, lambda t: store.keyword_search(t, POOL, nofilter))
    print(line(f"store.keyword_search top-{POOL}", results["keyword_search"], base))
    if lexical is not None:
        fts_times, fts_top = collect(
            terms, lambda t: [pid for pid, _ in store._fts_search(t, POOL, nofilter)[:10]]
        )
        kw_top = [[pid for pid, _ in store.keyword_search(t, POOL, nofilter)[:10]] for t in terms]
        print(
            line(f"FTS5 alone (_fts_search) top-{POOL}", fts_times, base)
            + f"; top-10 overlap with keyword_search {recall(kw_top, fts_top):.2f}"
        )
    diag = queries[:diag_n]
    if large:
        for label, filters in (("1 year", ONE_YEAR), ("1 month", ONE_MONTH)):
            times = time_each(diag, lambda q, f=filters: engine.search(q, k=10, filters=f))
            results[f"hybrid {label}"] = times
            print(line(f"hybrid, date filter {label}", times, base))
    else:
        print("  (date filters: skipped, the bbc articles have no dates)")

    # Recall of the dense side against the exact top-10.
    found = [[pid for pid, _ in store.vector_search(v, POOL, nofilter)[:10]] for v in vectors]
    print(f"dense recall@10 vs the exact top-10 ({len(vectors)} queries):")
    quality = recall_text(store, found, exact, ids, matrix, vectors)
    print(f"  store.vector_search(k={POOL})[:10]: {quality}")
    if len(store.ann):
        import faiss

        graph = faiss.downcast_index(store.ann._index.index)
        for ef in (96, 128, 256, 512):
            graph.hnsw.efSearch = ef
            times, found = collect(
                vectors, lambda v: store.ann._index.search(v.reshape(1, -1), 10)[1][0].tolist()
            )
            print(
                f"  faiss HNSW k=10, efSearch {ef:3d}: {ms(p50(times))} p50; "
                f"{recall_text(store, found, exact, ids, matrix, vectors)}"
            )
        graph.hnsw.efSearch = 96
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)
        single = time_each(vectors, lambda v: store.ann.search(v, POOL))
        faiss.omp_set_num_threads(threads)
        print(
            f"  ann.search k={POOL} with faiss.omp_set_num_threads(1): {summary(single)} "
            f"(default {threads} OpenMP threads: see store.vector_search above)"
        )
    if not diagnose:
        engine.close()
        return {k: p50(v) for k, v in results.items()}
    breakdown(engine, diag, "hybrid, no filter", nofilter)
    if large:
        breakdown(engine, diag, "hybrid, 1-year filter", ONE_YEAR)
        bm25_options(store, engine, diag)
        filter_options(store, engine, diag, vectors[:diag_n], ids, matrix)
    engine.close()
    print(f"peak RSS of this process so far: {peak_rss_mib():.0f} MiB (includes the matrix)")
    return {k: p50(v) for k, v in results.items()}


def breakdown(engine: Engine, queries: list[str], label: str, filters: SearchFilters) -> None:
    store = engine.store
    assert isinstance(store, SQLiteStore)
    probe = Probe()
    probe.wrap(engine.embedder, "embed", "embed query")
    probe.wrap(store, "keyword_search", "keyword_search (BM25)")
    probe.wrap(store, "vector_search", "vector_search")
    probe.wrap(store, "_refresh_exact", "  of which _refresh_exact")
    probe.wrap(store, "_filtered_ids", "  of which _filtered_ids")
    probe.wrap(store, "_load_embeddings", "  of which _load_embeddings")
    probe.wrap(store.ann, "search", "  of which ann.search")
    probe.wrap(store, "_alive", "  of which _alive")
    probe.wrap(store, "passages", "fetch passages")
    probe.wrap(store, "articles", "fetch articles")
    probe.wrap(store, "carriers", "fetch carriers")
    parts: dict[str, list[float]] = defaultdict(list)
    totals = []
    for q in queries:
        t0 = time.perf_counter()
        engine.search(q, k=10, filters=filters)
        totals.append(time.perf_counter() - t0)
        seen = probe.take()
        for key in probe_labels(probe):
            parts[key].append(seen.get(key, 0.0))
        top = [v for k, v in seen.items() if not k.startswith("  ")]
        parts["rest (fusion, spans, Python)"].append(totals[-1] - sum(top))
    probe.unwrap()
    print(f"where the time goes ({label}; p50 / p95 / mean per query):")
    print(f"  {'total':34s} {ms(p50(totals))} / {ms(p95(totals))} / {ms(statistics.fmean(totals))}")
    for key, values in parts.items():
        print(f"  {key:34s} {ms(p50(values))} / {ms(p95(values))} / {ms(statistics.fmean(values))}")


def probe_labels(probe: Probe) -> list[str]:
    return [
        "embed query",
        "keyword_search (BM25)",
        "vector_search",
        "  of which _refresh_exact",
        "  of which _filtered_ids",
        "  of which _load_embeddings",
        "  of which ann.search",
        "  of which _alive",
        "fetch passages",
        "fetch articles",
        "fetch carriers",
    ]


# --- BM25 options, prototyped here on the store's own connection (read-only) ----------------------
class Vocabulary:
    """Document frequency of a query term, through fts5vocab and the index's own tokenizer."""

    def __init__(self, store: SQLiteStore) -> None:
        self.store = store
        store.conn.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS temp.bench_vocab "
            "USING fts5vocab(main, 'passages_fts', 'row')"
        )
        self.total = store.conn.execute("SELECT count(*) FROM passages").fetchone()[0]
        self.tok = sqlite3.connect(":memory:")
        self.tok.execute(
            "CREATE VIRTUAL TABLE t USING fts5(text, "
            "tokenize='porter unicode61 remove_diacritics 2')"
        )
        self.tok.execute("CREATE VIRTUAL TABLE tv USING fts5vocab(t, 'row')")

    def df(self, terms: Sequence[str]) -> dict[str, int]:
        out = {}
        for term in terms:
            self.tok.execute("DELETE FROM t")
            self.tok.execute("INSERT INTO t(text) VALUES (?)", (term,))
            stems = [r[0] for r in self.tok.execute("SELECT term FROM tv")]
            # A quoted multi-token term is a phrase: it is at most as common as its rarest token.
            counts = [
                (
                    self.store.conn.execute(
                        "SELECT doc FROM bench_vocab WHERE term = ?", (s,)
                    ).fetchone()
                    or (0,)
                )[0]
                for s in stems
            ]
            out[term] = min(counts) if counts else 0
        return out


def fts(store: SQLiteStore, match: str, k: int, order: str = "bm25(passages_fts)") -> list[int]:
    sql = f"SELECT rowid FROM passages_fts WHERE passages_fts MATCH ? ORDER BY {order} LIMIT ?"
    return [r[0] for r in store.conn.execute(sql, (match, k))]


def quoted(terms: Sequence[str]) -> list[str]:
    return ['"' + t.replace('"', '""') + '"' for t in terms]


def bm25_options(store: SQLiteStore, engine: Engine, queries: list[str]) -> None:
    vocab = Vocabulary(store)
    n = vocab.total
    terms = [query_terms(q) for q in queries]

    def rare(ts: Sequence[str], max_df: float, max_terms: int) -> list[str]:
        df = vocab.df(ts)
        kept = sorted((t for t in ts if df[t] > 0), key=lambda t: df[t])
        short = [t for t in kept if df[t] <= max_df * n][:max_terms]
        return short or kept[:1]

    options: dict[str, Callable[[Sequence[str]], list[int]]] = {
        "FTS5 as is: OR all terms, ORDER BY bm25()": lambda ts: fts(
            store, " OR ".join(quoted(ts)), POOL
        ),
        "OR all terms, ORDER BY rank": lambda ts: fts(store, " OR ".join(quoted(ts)), POOL, "rank"),
        "OR of terms with df <= 5% (df lookup incl.)": lambda ts: fts(
            store, " OR ".join(quoted(rare(ts, 0.05, 99))), POOL
        ),
        "OR of the 4 rarest terms, df <= 5%": lambda ts: fts(
            store, " OR ".join(quoted(rare(ts, 0.05, 4))), POOL
        ),
        "OR of the 3 rarest terms, df <= 2%": lambda ts: fts(
            store, " OR ".join(quoted(rare(ts, 0.02, 3))), POOL
        ),
        "AND all terms, OR if < 100 hits": lambda ts: (
            lambda hits: (
                hits
                if len(hits) >= POOL
                else hits + [h for h in fts(store, " OR ".join(quoted(ts)), POOL) if h not in hits]
            )
        )(fts(store, " AND ".join(quoted(ts)), POOL)),
    }
    print(f"BM25 options (top-{POOL} of FTS5 over {n} passages; same {len(queries)} queries):")
    df_sample = [vocab.df(ts) for ts in terms[:50]]
    broad = [sum(d.values()) for d in df_sample]
    print(
        f"  query terms: mean {statistics.fmean(len(t) for t in terms):.1f}; summed df of a "
        f"query's terms (postings FTS5 must score): p50 {p50(broad):.0f}, p95 {p95(broad):.0f} "
        f"({p50(broad) / n:.1%} / {p95(broad) / n:.1%} of the passages; first 50 queries)"
    )
    baseline = [fts(store, " OR ".join(quoted(ts)), POOL) for ts in terms]
    for label, fn in options.items():
        times: list[float] = []
        overlap: list[float] = []
        for ts, base in zip(terms, baseline, strict=True):
            t0 = time.perf_counter()
            got = fn(ts) if ts else []
            times.append(time.perf_counter() - t0)
            overlap.append(len(set(got[:10]) & set(base[:10])) / max(1, min(10, len(base))))
        print(
            f"  {label:44s} p50 {ms(p50(times))}, p95 {ms(p95(times))}; "
            f"top-10 overlap with FTS5 as is {statistics.fmean(overlap):.2f}"
        )

    # End to end: hybrid with the cheapest candidate swapped in for keyword_search.
    def rare_keyword(ts: Sequence[str], k: int, filters: SearchFilters) -> list[tuple[int, float]]:
        if filters.active or not ts:
            return SQLiteStore.keyword_search(store, ts, k, filters)
        match = " OR ".join(quoted(rare(ts, 0.05, 4)))
        sql = (
            "SELECT rowid, bm25(passages_fts) FROM passages_fts WHERE passages_fts MATCH ? "
            "ORDER BY 2 LIMIT ?"
        )
        return [(int(r[0]), -float(r[1])) for r in store.conn.execute(sql, (match, k))]

    before = [[h.passage.id for h in engine.search(q, k=10)] for q in queries]
    store.keyword_search = rare_keyword  # type: ignore[method-assign]
    try:
        times = time_each(queries, lambda q: engine.search(q, k=10))
        after = [[h.passage.id for h in engine.search(q, k=10)] for q in queries]
    finally:
        del store.keyword_search
    same = statistics.fmean(
        len(set(a) & set(b)) / max(1, len(b)) for a, b in zip(after, before, strict=True)
    )
    print(
        f"  hybrid end to end with 'OR of the 4 rarest terms, df <= 5%': {summary(times)}; "
        f"hybrid top-10 overlap with current {same:.2f}"
    )


# --- date-filter options, prototyped without touching src --------------------------------------
def filter_options(
    store: SQLiteStore,
    engine: Engine,
    queries: list[str],
    vectors: list[Matrix],
    ids: npt.NDArray[np.int64],
    matrix: Matrix,
) -> None:
    import faiss

    started = time.perf_counter()
    rows = store.conn.execute(
        "SELECT p.id, a.published_at FROM passages p JOIN articles a ON a.id = p.article_id "
        "ORDER BY p.id"
    ).fetchall()
    pids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    stamps = np.array([datetime.fromisoformat(r[1]).timestamp() if r[1] else np.nan for r in rows])
    load = time.perf_counter() - started
    print(
        f"date-filter options (dense side). One-off load of (passage id, published_at) for all "
        f"{len(pids)} passages: {load:.1f} s, {(pids.nbytes + stamps.nbytes) / 2**20:.0f} MiB"
    )

    def numpy_ids(filters: SearchFilters) -> npt.NDArray[np.int64]:
        keep = np.ones(len(pids), dtype=bool)
        if filters.since is not None:
            keep &= stamps >= filters.since.timestamp()
        if filters.until is not None:
            keep &= stamps <= filters.until.timestamp()
        return pids[keep]

    graph = faiss.downcast_index(store.ann._index.index) if len(store.ann) else None

    def bitmap_search(vector: Matrix, k: int, allowed: npt.NDArray[np.int64]) -> list[int]:
        bits = np.zeros(int(pids[-1]) + 1, dtype=bool)
        bits[allowed] = True
        packed = np.packbits(bits, bitorder="little")
        selector = faiss.IDSelectorBitmap(len(bits), faiss.swig_ptr(packed))
        graph.hnsw.efSearch = max(96, k)
        _, keys = store.ann._index.search(
            vector.reshape(1, -1), k, params=faiss.SearchParameters(sel=selector)
        )
        return [int(x) for x in keys[0] if x >= 0]

    for label, filters in (("1 year", ONE_YEAR), ("1 month", ONE_MONTH)):
        allowed = numpy_ids(filters)
        assert np.array_equal(allowed, store._filtered_ids(filters))
        mask = np.isin(ids, allowed)
        sub_ids, sub = ids[mask], matrix[mask]
        truth = [brute_top(sub_ids, sub, v, 10) for v in vectors]
        print(f"  filter {label}: {len(allowed)} passages pass ({len(allowed) / len(pids):.1%})")
        current_ids = time_each(vectors, lambda _v, f=filters: store._filtered_ids(f))
        fast_ids = time_each(vectors, lambda _v, f=filters: numpy_ids(f))
        print(
            f"    allowed ids: store._filtered_ids (SQL) p50 {ms(p50(current_ids))}; numpy over "
            f"an in-memory date column p50 {ms(p50(fast_ids))}"
        )
        times, found = collect(
            vectors, lambda v, f=filters: [pid for pid, _ in store.vector_search(v, POOL, f)[:10]]
        )
        print(
            f"    current store.vector_search top-{POOL}: p50 {ms(p50(times))}, p95 "
            f"{ms(p95(times))}; vs exact filtered: "
            f"{recall_text(store, found, truth, ids, matrix, vectors)}"
        )
        brute = time_each(vectors, lambda v, i=sub_ids, m=sub: brute_top(i, m, v, 10))
        print(
            f"    exact numpy over a per-filter float32 copy of the allowed rows: p50 "
            f"{ms(p50(brute))} (needs all {matrix.nbytes / 2**20:.0f} MiB of vectors resident)"
        )
        if graph is not None:
            times, found = collect(
                vectors, lambda v, f=filters: bitmap_search(v, POOL, numpy_ids(f))[:10]
            )
            print(
                f"    numpy ids + HNSW search with a faiss IDSelectorBitmap (k={POOL}): p50 "
                f"{ms(p50(times))}, p95 {ms(p95(times))}; vs exact filtered: "
                f"{recall_text(store, found, truth, ids, matrix, vectors)}"
            )
    if graph is not None:
        graph.hnsw.efSearch = 96
    # End to end: hybrid with the 1-year filter, _filtered_ids replaced by the numpy version.
    store._filtered_ids = numpy_ids  # type: ignore[method-assign]
    try:
        times = time_each(queries, lambda q: engine.search(q, k=10, filters=ONE_YEAR))
    finally:
        del store._filtered_ids
    print(f"  hybrid 1-year filter with numpy _filtered_ids: {summary(times)}")


def recall_text(
    store: SQLiteStore,
    found: list[list[int]],
    truth: list[list[int]],
    ids: npt.NDArray[np.int64],
    matrix: Matrix,
    vectors: list[Matrix],
) -> str:
    """Exact-id recall, recall of the source passages (a replica counts as its original: the
    replicas of one passage are near-ties for any query), and how close the found top-10's
    cosines come to the exact top-10's."""
    wanted = {pid for row in found + truth for pid in row}
    source: dict[int, tuple[str, int]] = {}
    for chunk in range(0, len(wanted), 5000):
        part = sorted(wanted)[chunk : chunk + 5000]
        marks = ",".join("?" * len(part))
        for pid, article, seq in store.conn.execute(
            f"SELECT id, article_id, seq FROM passages WHERE id IN ({marks})", part
        ):
            original = article.split("-", 1)[1] if re.match(r"r\d{4}-", article) else article
            source[pid] = (original, seq)
    by_source = [
        len({source[p] for p in f} & {source[p] for p in t}) / max(1, len({source[p] for p in t}))
        for f, t in zip(found, truth, strict=True)
    ]
    ratios = []
    for f, t, v in zip(found, truth, vectors, strict=True):
        got = matrix[np.searchsorted(ids, f)] @ v if f else np.zeros(1, dtype=np.float32)
        ratios.append(float(got.mean() / (matrix[np.searchsorted(ids, t)] @ v).mean()))
    return (
        f"recall@10 {recall(found, truth):.3f}; source-passage recall "
        f"{statistics.fmean(by_source):.3f}"
        f"; mean cosine of top-10 / exact {statistics.fmean(ratios):.4f} (min {min(ratios):.4f})"
    )


def recall(found: list[list[int]], truth: list[list[int]]) -> float:
    return statistics.fmean(
        len(set(f) & set(t)) / max(1, len(t)) for f, t in zip(found, truth, strict=True)
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--passages", type=int, default=1_000_000, help="size of the large index")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument(
        "--diag-queries", type=int, default=100, help="subset for filters and the diagnosis"
    )
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--build-only", action="store_true")
    parser.add_argument(
        "--no-diagnosis", action="store_true", help="latency and recall only, no breakdown/options"
    )
    parser.add_argument("--skip-small", action="store_true", help="do not measure the bbc index")
    parser.add_argument("--first-query", nargs=2, metavar=("HOME", "QUERY"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.first_query:
        first_query_child(Path(args.first_query[0]), args.first_query[1])
        return
    print(f"command: {command_line()}", flush=True)
    size = args.passages
    label = f"{size // 1_000_000}m" if size % 1_000_000 == 0 else f"{size // 1000}k"
    home = OUT / f"search-{label}"
    info_path = home / "build.json"
    reused = info_path.exists() and not args.rebuild
    if reused:
        info = json.loads(info_path.read_text())
    else:
        import shutil

        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(parents=True)
        info = build(home, size)
    print_build(info, reused)
    if args.build_only:
        return
    queries = make_queries(args.queries)
    kinds = (len(queries) * 6 // 10, len(queries) * 2 // 10)
    print(
        f"queries: {len(queries)} ({kinds[0]} reworded bbc titles, {kinds[1]} reworded bbc first "
        f"sentences, {len(queries) - sum(kinds)} RealTime QA questions), e.g. {queries[0]!r}"
    )
    small = (
        None
        if args.skip_small
        else measure(
            "~10k: bbc index",
            SOURCE,
            queries,
            large=False,
            diag_n=args.diag_queries,
            diagnose=not args.no_diagnosis,
        )
    )
    big = measure(
        f"~{label}: replicated index",
        home,
        queries,
        large=True,
        diag_n=args.diag_queries,
        diagnose=not args.no_diagnosis,
    )
    print("\n=== summary (p50) ===")
    for name, result in (("10k", small), (label, big)):
        if result is None:
            continue
        hybrid = result["hybrid"]
        print(
            f"{name}: hybrid {ms(hybrid)} (target <= {TARGET_MS:.0f} ms at 1M: "
            f"{'met' if hybrid * 1000 <= TARGET_MS else 'MISSED'}), bm25 {ms(result['bm25'])}, "
            f"dense {ms(result['dense'])}, brute force {ms(result['brute'])}; "
            f"hybrid/brute x{hybrid / result['brute']:.2f}, dense/brute "
            f"x{result['dense'] / result['brute']:.2f}"
        )


if __name__ == "__main__":
    main()
