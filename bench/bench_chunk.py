"""Time citewire's sentence splitter and passage grouping against plain pysbd.

    python bench/bench_chunk.py [ARTICLES_JSONL] [--limit N] [--repeat R]

ARTICLES_JSONL holds one JSON object per line with a ``text`` field; the default is the BBC
corpus at ``../shared/data/bbc_news/articles.jsonl`` relative to the repository root. pysbd
(``clean=False``, the mode that keeps the text) runs on the same texts in the same process, so
the ratio holds across machines even when the absolute times do not. The budget: chunking must
stay well under ~3 ms per 400-word article. The embedding model needs ~140 ms for the same
article (5 passages at ~35 passages/s on 2 cores), and everything but the model together must
stay under 20% of that.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import pysbd

from citewire.chunk import make_passages, split_sentences

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_ARTICLES = REPO_ROOT.parent / "shared/data/bbc_news/articles.jsonl"


def load_texts(path: Path, limit: int | None) -> list[str]:
    texts: list[str] = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if limit is not None and len(texts) >= limit:
                break
            texts.append(json.loads(line)["text"])
    return texts


def best_ms_per_article(run: Callable[[str], object], texts: list[str], repeat: int) -> float:
    # The best of several passes: the other passes measure the machine's noise, not the code.
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        for text in texts:
            run(text)
        timings.append(time.perf_counter() - started)
    return min(timings) * 1000 / len(texts)


def pysbd_starts(segmenter: pysbd.Segmenter, text: str) -> set[int]:
    """Sentence starts of pysbd's output, located in the original text.

    pysbd returns strings, not offsets, and may move whitespace even with ``clean=False``;
    searching forward for each stripped sentence recovers where it starts.
    """
    starts: set[int] = set()
    position = 0
    for sentence in segmenter.segment(text):
        stripped = sentence.strip()
        found = text.find(stripped, position) if stripped else -1
        if found >= 0:
            starts.add(found)
            position = found + len(stripped)
    return starts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("articles", nargs="?", type=Path, default=DEFAULT_ARTICLES)
    parser.add_argument("--limit", type=int, default=None, help="only the first N articles")
    parser.add_argument("--repeat", type=int, default=3, help="passes; the best one counts")
    args = parser.parse_args()

    texts = load_texts(args.articles, args.limit)
    if not texts:
        raise SystemExit(f"no articles in {args.articles}")
    segmenter = pysbd.Segmenter(language="en", clean=False)

    def citewire_both(text: str) -> object:
        split_sentences(text)
        return make_passages(text)

    ours_sentences = best_ms_per_article(split_sentences, texts, args.repeat)
    ours = best_ms_per_article(citewire_both, texts, args.repeat)
    # pysbd is ~70x slower; one pass is enough to measure it.
    baseline = best_ms_per_article(segmenter.segment, texts, 1)

    shared = union = 0
    for text in texts:
        our_starts = {start for start, _ in split_sentences(text)}
        their_starts = pysbd_starts(segmenter, text)
        shared += len(our_starts & their_starts)
        union += len(our_starts | their_starts)

    words = statistics.mean(len(text.split()) for text in texts)
    print(f"{len(texts)} articles from {args.articles}, {words:.0f} words on average")
    print(f"citewire split_sentences:                 {ours_sentences:.3f} ms/article")
    print(f"citewire split_sentences + make_passages: {ours:.3f} ms/article")
    print(f"pysbd segment (clean=False):              {baseline:.3f} ms/article")
    print(f"ratio citewire / pysbd:                   {ours / baseline:.3f}")
    print(f"sentence starts shared with pysbd:        {shared / union:.1%} of {union}")


if __name__ == "__main__":
    main()
