"""Hybrid retrieval: BM25 (words) and dense vectors (meaning), fused by reciprocal rank.

1. The query is embedded and split into content terms (stopwords dropped).
2. The store returns the top ``POOL`` passages by BM25 and by cosine similarity, both under the
   same date/outlet filters.
3. Reciprocal-rank fusion (RRF, k=60) merges the two lists. RRF needs no score calibration
   between BM25's unbounded scores and cosine similarities, which is why it is the default.
4. Diversity: at most ``per_group`` passages per syndication group (a wire story carried by ten
   outlets is one source), and so at most that many per article.
5. Each hit carries its article, the outlets that also carried the story, and the spans of
   query terms inside the passage, for display.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from citewire.embed import Embedder
from citewire.errors import QueryError
from citewire.models import Hit, SearchFilters, Span
from citewire.store import Store

POOL = 100
RRF_K = 60
MAX_QUERY_CHARS = 2000

STOPWORDS = frozenset(
    (
        "a about above after again against all am an and any are as at be because been "
        "before being below between both but by can did do does doing down during each "
        "few for from further had has have having he her here hers herself him himself "
        "his how i if in into is it its itself just me more most my myself no nor not now "
        "of off on once only or other our ours ourselves out over own same she should so "
        "some such than that the their theirs them themselves then there these they this "
        "those through to too under until up very was we were what when where which while "
        "who whom why will with would you your yours yourself yourselves says said say "
        "tell told "
    ).split()
)

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)


def query_terms(query: str) -> list[str]:
    """Distinct lower-cased content words of the query, in order."""
    words = [w.lower().replace("’", "'") for w in _WORD.findall(query)]
    terms = [w for w in words if w not in STOPWORDS and (len(w) > 1 or w.isdigit())]
    # A query of only stopwords ("who is he?") still searches by its words.
    return list(dict.fromkeys(terms or words))


@dataclass(frozen=True)
class Ranked:
    passage_id: int
    score: float
    bm25_rank: int | None
    dense_rank: int | None


def fuse(
    bm25: Sequence[tuple[int, float]], dense: Sequence[tuple[int, float]], k: int = RRF_K
) -> list[Ranked]:
    ranks: dict[int, list[int | None]] = {}
    for rank, (pid, _) in enumerate(bm25, start=1):
        ranks.setdefault(pid, [None, None])[0] = rank
    for rank, (pid, _) in enumerate(dense, start=1):
        ranks.setdefault(pid, [None, None])[1] = rank
    fused = [
        Ranked(pid, sum(1.0 / (k + r) for r in pair if r is not None), pair[0], pair[1])
        for pid, pair in ranks.items()
    ]
    fused.sort(key=lambda r: (-r.score, r.passage_id))
    return fused


def match_spans(text: str, terms: Sequence[str]) -> tuple[Span, ...]:
    """Where query terms (or words sharing their stem-like prefix) occur in ``text``."""
    prefixes = [t[: max(4, len(t) - 2)] if len(t) > 4 else t for t in terms]
    spans = []
    for m in _WORD.finditer(text):
        word = m.group(0).lower().replace("’", "'")
        if any(
            word == t or (len(p) >= 4 and word.startswith(p))
            for t, p in zip(terms, prefixes, strict=True)
        ):
            spans.append(Span(m.start(), m.end()))
    return tuple(spans)


class Retriever:
    def __init__(self, store: Store, embedder: Embedder) -> None:
        self.store = store
        self.embedder = embedder

    def search(
        self,
        query: str,
        k: int = 10,
        filters: SearchFilters | None = None,
        mode: str = "hybrid",
        per_group: int = 1,
    ) -> list[Hit]:
        query = query.strip()
        if not query:
            raise QueryError(
                "empty query", hint='give some words to search for, e.g. "ceasefire talks"'
            )
        if len(query) > MAX_QUERY_CHARS:
            raise QueryError(
                f"query is {len(query)} characters long (limit {MAX_QUERY_CHARS})",
                hint="shorten it to the words that matter",
            )
        if mode not in ("hybrid", "bm25", "dense"):
            raise QueryError(f"unknown search mode {mode!r}", hint="use hybrid, bm25 or dense")
        if k < 1:
            raise QueryError("k must be at least 1")
        filters = filters or SearchFilters()
        terms = query_terms(query)
        pool = max(POOL, k * 5)
        bm25 = self.store.keyword_search(terms, pool, filters) if mode != "dense" else []
        dense: list[tuple[int, float]] = []
        if mode != "bm25":
            vector = self.embedder.embed([query])[0]
            dense = self.store.vector_search(vector, pool, filters)
        ranked = fuse(bm25, dense)
        return self._hits(ranked, terms, k, per_group)

    def _hits(self, ranked: list[Ranked], terms: list[str], k: int, per_group: int) -> list[Hit]:
        # Fetch a few more than needed: collapsing groups removes some.
        head = ranked[: k * 4 + 20]
        passages = self.store.passages([r.passage_id for r in head])
        articles = self.store.articles([p.article_id for p in passages.values()])
        chosen: list[tuple[Ranked, str]] = []
        per: dict[str, int] = {}
        for r in head:
            passage = passages.get(r.passage_id)
            if passage is None or passage.article_id not in articles:
                continue  # deleted since the index was read
            group = articles[passage.article_id].group_id
            if per.get(group, 0) >= per_group:
                continue
            per[group] = per.get(group, 0) + 1
            chosen.append((r, group))
            if len(chosen) == k:
                break
        carriers = self.store.carriers([g for _, g in chosen])
        hits = []
        for r, group in chosen:
            passage = passages[r.passage_id]
            article = articles[passage.article_id]
            others = tuple(c for c in carriers.get(group, []) if c.article_id != article.id)
            hits.append(
                Hit(
                    passage=passage,
                    article=article,
                    score=r.score,
                    bm25_rank=r.bm25_rank,
                    dense_rank=r.dense_rank,
                    matched=match_spans(passage.text, terms),
                    also_carried_by=others,
                )
            )
        return hits
