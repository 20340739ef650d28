"""A small news corpus written for citewire's tests (fictional events, our own words).

The shape follows the seed question: a government (Veloria) refuses a "temporary ceasefire",
demands guarantees, and a foreign leader threatens it; a wire story is syndicated by several
outlets with edits; unrelated AI-policy and sport stories act as distractors.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from citewire.chunk import make_passages
from citewire.models import Article, Hit, Passage

WIRE_STORY = """VELORA CITY (Meridian Wire) - Veloria's foreign ministry said on Tuesday that it would not accept a temporary ceasefire with the Northern Alliance, calling the proposal a pause that would only let its opponents rearm.

Foreign Minister Adira Kessan told reporters that any halt to the fighting had to be permanent and backed by written security guarantees from at least two outside powers. "A temporary truce is a trap. We have seen three of them collapse since March," Kessan said.

The ministry said the country also wanted the lifting of the fuel blockade on its southern ports before talks could begin. Officials estimated that the blockade had cut fuel imports by 40 per cent since June.

The Northern Alliance has offered a 30-day ceasefire, mediated by the government of Ostrava. Its spokesman, Corvin Hale, said the offer remained on the table.

President Dorran Vask of the Northern Alliance warned on Monday that Veloria's "whole civilization" would pay the price if it rejected the offer, a remark that drew criticism from aid agencies."""

SYNDICATED_COPY = """Veloria rejects temporary truce, demands guarantees

VELORA CITY (Meridian Wire) - Veloria's foreign ministry said on Tuesday it would not accept a temporary ceasefire with the Northern Alliance, calling the proposal a pause that would only let its opponents rearm.

Foreign Minister Adira Kessan told reporters that any halt to the fighting had to be permanent and backed by written security guarantees from at least two outside powers. "A temporary truce is a trap. We have seen three of them collapse since March," Kessan said.

The ministry said the country also wanted the lifting of the fuel blockade on its southern ports before talks could begin. Officials estimated that the blockade had cut fuel imports by 40 percent since June.

The Northern Alliance has offered a 30-day ceasefire, mediated by the government of Ostrava. Its spokesman, Corvin Hale, said the offer remained on the table.

Sign up for our morning briefing to get the day's top stories in your inbox. Copyright 2026 Harbor Times. All rights reserved."""

FOLLOW_UP = """Ostrava's mediators said on Thursday that talks between Veloria and the Northern Alliance had stalled over the question of guarantees. Veloria wants any agreement to be underwritten by outside powers, while the Alliance says a short ceasefire must come first to build trust.

The mediators proposed a monitoring mission of 200 observers along the front line. Neither side has accepted the plan. Humanitarian groups said shortages of fuel and medicine were worsening in the south of the country."""

AI_POLICY = """The Council on Digital Standards published its annual report on artificial intelligence on Wednesday, finding that investment in large language models doubled over the year. The report recommends that governments require independent audits of frontier models before they are released.

The council's chair, Lena Ortiz, said that regulators had struggled to keep pace with the technology. "Rules written for yesterday's software do not fit systems that learn," she said."""

AI_POLICY_2 = """An intergovernmental observatory on AI policy released a database of more than 800 national AI strategies and laws. Researchers can compare how countries regulate facial recognition, data protection and automated decision-making. The observatory said the number of AI laws passed worldwide rose sharply in the past two years."""

SPORT = """Harbor City Rovers beat Eastfield United 3-1 on Saturday to move top of the league. Striker Tomas Reyes scored twice in the second half, and the Rovers' coach said the team had finally found its rhythm after a difficult autumn."""


# Two reports that disagree on a figure (40 vs 60 per cent), three days apart.
FUEL_RECORDS: list[dict[str, Any]] = [
    {
        "url": "https://one.example/fuel",
        "title": "Blockade cuts Veloria fuel imports",
        "text": "Port officials in Veloria said on Monday that the blockade of the southern "
        "ports had cut fuel imports by 40 per cent since June. Queues formed at petrol "
        "stations across the capital.",
        "published": "2026-04-06",
        "outlet": "Southern Courier",
    },
    {
        "url": "https://two.example/fuel-imports",
        "title": "Fuel shortages deepen in Veloria",
        "text": "Trade ministry figures released on Thursday show the blockade of the southern "
        "ports has cut fuel imports by 60 per cent since June. Hospitals said they were "
        "rationing generator fuel.",
        "published": "2026-04-09",
        "outlet": "Capital Ledger",
    },
]


def articles() -> list[dict[str, Any]]:
    """Records in the JSONL shape citewire ingests (url, title, text, published, outlet)."""
    return [
        {
            "url": "https://meridianwire.example/world/veloria-rejects-truce",
            "title": "Veloria rejects temporary ceasefire, demands guarantees",
            "text": WIRE_STORY,
            "published": "2026-04-07T09:30:00Z",
            "outlet": "Meridian Wire",
        },
        {
            "url": "https://harbortimes.example/news/2026/04/07/veloria-truce",
            "title": "Veloria rejects temporary truce, demands guarantees",
            "text": SYNDICATED_COPY,
            "published": "2026-04-07T11:00:00Z",
            "outlet": "Harbor Times",
        },
        {
            "url": "https://ostravapost.example/mediators-stall",
            "title": "Veloria talks stall over guarantees",
            "text": FOLLOW_UP,
            "published": "2026-04-09T15:00:00Z",
            "outlet": "Ostrava Post",
        },
        {
            "url": "https://digitalstandards.example/ai-report",
            "title": "AI report finds investment in language models doubled",
            "text": AI_POLICY,
            "published": "2026-03-18",
            "outlet": "Council on Digital Standards",
        },
        {
            "url": "https://aipolicy.example/observatory",
            "title": "Observatory publishes database of national AI laws",
            "text": AI_POLICY_2,
            "published": "2026-02-02",
            "outlet": "AI Policy Observatory",
        },
        {
            "url": "https://harbortimes.example/sport/rovers-top",
            "title": "Rovers go top with win over Eastfield",
            "text": SPORT,
            "published": "2026-04-04",
            "outlet": "Harbor Times",
        },
    ]


def write_jsonl(path: Path, records: list[dict[str, Any]] | None = None) -> Path:
    path.write_text(
        "".join(json.dumps(r) + "\n" for r in (records if records is not None else articles())),
        encoding="utf-8",
    )
    return path


def html_page(record: dict[str, Any], *, dated: bool = True, canonical: bool = True) -> str:
    """A news page as sites serve it: navigation, share buttons and a footer around the story."""
    paragraphs = "\n".join(f"<p>{p}</p>" for p in str(record["text"]).split("\n\n"))
    head = [f"<title>{record['title']} | {record['outlet']}</title>"]
    head.append(f'<meta property="og:site_name" content="{record["outlet"]}">')
    if dated:
        head.append(f'<meta property="article:published_time" content="{record["published"]}">')
    if canonical:
        head.append(f'<link rel="canonical" href="{record["url"]}">')
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">{"".join(head)}</head>
<body>
<nav><a href="/">Home</a> <a href="/world">World</a> <a href="/sport">Sport</a> <a href="/login">Sign in</a></nav>
<div class="share">Share on social media</div>
<article>
<h1>{record["title"]}</h1>
<div class="byline">By Staff Reporter</div>
{paragraphs}
</article>
<aside><h3>Most read</h3><ul><li><a href="/a">Celebrity chef opens new restaurant</a></li>
<li><a href="/b">Ten tips for a better night's sleep</a></li></ul></aside>
<footer>Copyright 2026. All rights reserved. <a href="/privacy">Privacy policy</a></footer>
</body></html>"""


def stored_article(
    article_id: str,
    text: str,
    title: str,
    outlet: str,
    published: str = "2026-04-07T09:30:00+00:00",
) -> Article:
    """An ``Article`` as the store would return it, for writer tests that need no index."""
    return Article(
        id=article_id,
        text=text,
        content_hash=hashlib.sha256(text.encode()).hexdigest(),
        source=f"test:{article_id}",
        title=title,
        url=f"https://{article_id}.example/story",
        published_at=datetime.fromisoformat(published),
        date_precision=None,
        outlet=outlet,
        authors=(),
        metadata={},
        group_id=article_id,
        ingested_at=datetime(2026, 4, 10, tzinfo=UTC),
    )


def passage_hits(article: Article, first_id: int) -> list[Hit]:
    """The article's passages as search hits, best first, passage ids from ``first_id``."""
    return [
        Hit(
            passage=Passage(first_id + seq, article.id, seq, start, end, article.text[start:end]),
            article=article,
            score=1.0 / (seq + 1),
            bm25_rank=seq + 1,
            dense_rank=None,
            matched=(),
        )
        for seq, (start, end) in enumerate(make_passages(article.text))
    ]
