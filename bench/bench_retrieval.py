"""Retrieval quality on RealTime QA: question -> its gold article.

Needs the realtimeqa index built by ``python bench/bench_ingest.py realtimeqa``. For each of the
questions that have a gold article with text, search with BM25 alone, dense alone and hybrid
(RRF), all in one run, and report recall@5, recall@10 and MRR@10 at the story level (a hit on any
article of the gold article's syndication group counts).

    python bench/bench_retrieval.py
"""

from __future__ import annotations

import json
import time

from _util import DATA, OUT, command_line, summary
from citewire.embed import default_embedder
from citewire.engine import Engine


def main() -> None:
    home = OUT / "realtimeqa"
    questions = [json.loads(line) for line in (DATA / "realtimeqa" / "questions_2022.jsonl").open()]
    questions = [q for q in questions if q["gold_doc_ids"]]
    with Engine(home, embedder=default_embedder()) as engine:
        group_of = {a.metadata.get("record_id"): a.group_id for a in engine.store.iter_articles()}
        print(f"command: {command_line()}")
        print(
            f"index: {engine.stats().articles} articles; questions with a gold article: "
            f"{len(questions)}"
        )
        for mode in ("bm25", "dense", "hybrid"):
            r5 = r10 = rr = 0.0
            n = 0
            times = []
            for q in questions:
                gold = {group_of[d] for d in q["gold_doc_ids"] if d in group_of}
                if not gold:
                    continue
                n += 1
                started = time.perf_counter()
                hits = engine.search(q["question"], k=10, mode=mode)
                times.append(time.perf_counter() - started)
                ranks = [i for i, h in enumerate(hits, 1) if h.article.group_id in gold]
                first = ranks[0] if ranks else None
                r5 += first is not None and first <= 5
                r10 += first is not None
                rr += 1 / first if first else 0
            print(
                f"{mode:7s} recall@5 {r5 / n:.3f}  recall@10 {r10 / n:.3f}  MRR@10 {rr / n:.3f}"
                f"  (n={n}; latency {summary(times)})"
            )


if __name__ == "__main__":
    main()
