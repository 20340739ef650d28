"""Ingest throughput: articles/s end to end, peak memory, and time inside the embedding model
versus everything else (target: the rest costs <= 20% on top of the model's own time).

    python bench/bench_ingest.py bbc          # ../shared/data/bbc_news (2,225 articles)
    python bench/bench_ingest.py realtimeqa   # ../shared/data/realtimeqa articles (2,210)
    python bench/bench_ingest.py realtimeqa --limit 500

The index is left in bench/out/<corpus>/ for bench_retrieval.py and bench_search.py.
"""

from __future__ import annotations

import argparse
import shutil
import time

from _util import DATA, OUT, command_line, peak_rss_mib
from citewire.embed import default_embedder
from citewire.engine import Engine
from citewire.extract import FieldMap
from citewire.ingest import IngestOptions

CORPORA = {
    "bbc": DATA / "bbc_news" / "articles.jsonl",
    "realtimeqa": DATA / "realtimeqa" / "articles_2022.jsonl",
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("corpus", choices=sorted(CORPORA))
    parser.add_argument("--limit", type=int, default=0, help="first N records only")
    args = parser.parse_args()
    source = CORPORA[args.corpus]
    home = OUT / args.corpus
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    if args.limit:
        limited = home.parent / f"{args.corpus}-{args.limit}.jsonl"
        with source.open() as src, limited.open("w") as dst:
            for i, line in enumerate(src):
                if i >= args.limit:
                    break
                dst.write(line)
        source = limited

    embedder = default_embedder()
    embedder.embed(["warm up"])  # load the model outside the timed region
    embedder.model_seconds = 0.0
    fields = FieldMap.parse("published=publish_date") if args.corpus == "realtimeqa" else FieldMap()
    with Engine(home, embedder=embedder) as engine:
        started = time.perf_counter()
        report = engine.ingest([str(source)], IngestOptions(fields=fields))
        total = time.perf_counter() - started
        stats = engine.stats()
    model = embedder.model_seconds
    rest = total - model
    docs = report.added + report.updated + report.unchanged + report.duplicates
    docs += report.near_duplicates
    print(f"command: {command_line()}")
    print(f"corpus: {source} ({docs} records)")
    print(
        f"added {report.added}, duplicates {report.duplicates}, near-duplicates "
        f"{report.near_duplicates}, failed {len(report.failed)}, passages {report.passages}"
    )
    print(
        f"total {total:.1f} s -> {docs / total:.1f} articles/s, "
        f"{report.passages / total:.1f} passages/s"
    )
    print(f"inside the embedding model: {model:.1f} s ({model / total:.0%} of the run)")
    print(
        f"everything else: {rest:.1f} s = {rest / model:.1%} on top of the model's time "
        "(target <= 20%)"
    )
    print(f"peak RSS: {peak_rss_mib():.0f} MiB; index size {stats.index_bytes / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
