"""Turning results into text and JSON. The CLI prints these; the web app has its own templates."""

from __future__ import annotations

import textwrap
from datetime import datetime
from typing import Any

from citewire.models import Article, Hit, IngestReport, Stats


def date_label(value: datetime | None, precision: str | None = None) -> str:
    if value is None:
        return "undated"
    if precision == "day":
        return value.strftime("%Y-%m-%d")
    return value.strftime("%Y-%m-%d %H:%M UTC")


def article_to_dict(article: Article) -> dict[str, Any]:
    return {
        "id": article.id,
        "title": article.title,
        "outlet": article.outlet,
        "url": article.url,
        "published_at": article.published_at.isoformat() if article.published_at else None,
        "date_precision": article.date_precision,
        "authors": list(article.authors),
        "source": article.source,
        "group_id": article.group_id,
        "metadata": dict(article.metadata),
    }


def hit_to_dict(hit: Hit) -> dict[str, Any]:
    return {
        "score": round(hit.score, 6),
        "bm25_rank": hit.bm25_rank,
        "dense_rank": hit.dense_rank,
        "article": article_to_dict(hit.article),
        "passage": {
            "id": hit.passage.id,
            "start": hit.passage.start,
            "end": hit.passage.end,
            "text": hit.passage.text,
            "matched": [[s.start, s.end] for s in hit.matched],
        },
        "also_carried_by": [
            {
                "article_id": c.article_id,
                "outlet": c.outlet,
                "url": c.url,
                "title": c.title,
                "published_at": c.published_at.isoformat() if c.published_at else None,
            }
            for c in hit.also_carried_by
        ],
    }


def mark_matches(hit: Hit, open_mark: str = "[", close_mark: str = "]") -> str:
    text = hit.passage.text
    out: list[str] = []
    last = 0
    for span in hit.matched:
        out.append(text[last : span.start])
        out.append(open_mark + text[span.start : span.end] + close_mark)
        last = span.end
    out.append(text[last:])
    return "".join(out)


def hit_header(rank: int, hit: Hit) -> list[str]:
    a = hit.article
    meta = " · ".join(
        x
        for x in (a.outlet or "unknown outlet", date_label(a.published_at, a.date_precision), a.url)
        if x
    )
    lines = [f"{rank}. {a.title or '(untitled)'}", f"   {meta}"]
    if hit.also_carried_by:
        names = sorted({c.outlet or c.url or c.article_id for c in hit.also_carried_by})
        lines.append(f"   also carried by: {', '.join(names)}")
    return lines


def hits_text(hits: list[Hit], width: int = 100) -> str:
    if not hits:
        return "No passages matched."
    blocks = []
    for rank, hit in enumerate(hits, start=1):
        body = textwrap.fill(
            mark_matches(hit), width=width, initial_indent="   ", subsequent_indent="   "
        )
        blocks.append("\n".join([*hit_header(rank, hit), body]))
    return "\n\n".join(blocks)


def ingest_text(report: IngestReport) -> str:
    verb = "would add" if report.dry_run else "added"
    line = (
        f"{verb} {report.added}, updated {report.updated}, unchanged {report.unchanged}, "
        f"duplicates {report.duplicates}, near-duplicates grouped {report.near_duplicates}, "
        f"passages {report.passages}, failed {len(report.failed)} "
        f"({report.seconds:.1f}s)"
    )
    failures = [f"failed: {f.source}: {f.reason}" for f in report.failed]
    return "\n".join([*failures, line])


def stats_text(stats: Stats) -> str:
    span = (
        f"{date_label(stats.earliest, 'day')} … {date_label(stats.latest, 'day')}"
        if stats.earliest
        else "no dated articles"
    )
    top = ", ".join(f"{name} ({n})" for name, n in stats.outlets[:10])
    more = f" and {len(stats.outlets) - 10} more" if len(stats.outlets) > 10 else ""
    return "\n".join(
        [
            f"index:     {stats.path}",
            f"articles:  {stats.articles} in {stats.groups} stories (syndication groups)",
            f"passages:  {stats.passages}",
            f"dates:     {span}; {stats.undated} undated",
            f"outlets:   {len(stats.outlets)}: {top}{more}",
            f"size:      {stats.index_bytes / 2**20:.1f} MiB",
            f"last ingest: {stats.last_ingest.isoformat() if stats.last_ingest else 'never'}",
        ]
    )
