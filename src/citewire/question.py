"""Working out what a question asks: its type, its entities, its content terms, its time frame.

The extractive writer uses this to prefer sentences that *answer* (a stated reason for "why", a
date for "when", a number for "how many") over sentences that merely mention the topic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from citewire.errors import QueryError
from citewire.retrieve import STOPWORDS, query_terms

MAX_QUESTION_CHARS = 2000

# Checked in order: the first pattern that matches decides the type.
_TYPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "why",
        re.compile(
            r"\b(why|reason|reasons|motive|cause[sd]?|rationale|what (?:led|drove))\b", re.I
        ),
    ),
    ("when", re.compile(r"\b(when|what (?:date|day|year|time))\b", re.I)),
    ("how_many", re.compile(r"\bhow (?:many|much|long|far|big|large|old)\b", re.I)),
    (
        "who",
        re.compile(r"\b(who|whom|whose|which (?:country|person|group|company|official))\b", re.I),
    ),
    ("how", re.compile(r"\bhow\b", re.I)),
    ("where", re.compile(r"\bwhere\b", re.I)),
    ("what_happened", re.compile(r"\bwhat (?:happened|is happening|has happened)\b", re.I)),
    (
        "yes_no",
        re.compile(r"^\s*(is|are|was|were|did|does|do|has|have|had|will|can|could|should)\b", re.I),
    ),
    ("what", re.compile(r"\b(what|which)\b", re.I)),
)

# Words that signal the kind of sentence each question type wants.
CUES: dict[str, re.Pattern[str]] = {
    "why": re.compile(
        r"\b(because|since|due to|owing to|as a result|in order to|so that|so as to|reason|"
        r"aimed at|to prevent|to avoid|to protect|calling it|calling the|describ\w+ (?:it|the) as|"
        r"argu\w+|insist\w*|demand\w*|refus\w+|reject\w*|would only|would not|"
        r"unless|until|condition\w*|guarantee\w*|trap|fear\w*|concern\w*|warn\w*|after)\b",
        re.I,
    ),
    "when": re.compile(
        r"\b(on (?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)|january|february|"
        r"march|april|may|june|july|august|september|october|november|december|\d{4}|"
        r"yesterday|today|last week)\b",
        re.I,
    ),
    "how_many": re.compile(
        r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|hundred|thousand|million|billion|dozen)\b",
        re.I,
    ),
    "who": re.compile(
        r"\b(said|says|told|announced|according to|spokes\w+|minister|president|official)\b", re.I
    ),
}
ATTRIBUTION = re.compile(
    r"\b(said|says|told|stated|announced|added|according to|argued|warned|insisted|claimed|"
    r"wrote|tweeted|declared|denied|accused|called)\b",
    re.I,
)

_ENTITY = re.compile(r"\b([A-Z][\w'’-]*(?:\s+(?:of\s+|the\s+)?[A-Z][\w'’-]*)*)")
_YEAR = re.compile(r"\b(19\d{2}|20\d{2})\b")


@dataclass(frozen=True)
class Question:
    text: str
    kind: str
    terms: tuple[str, ...]
    entities: tuple[str, ...]
    years: tuple[int, ...]
    as_of: datetime


def analyse(text: str, as_of: datetime) -> Question:
    text = " ".join(text.split())
    if not text:
        raise QueryError("empty question", hint='ask something, e.g. "Why did the talks stall?"')
    if len(text) > MAX_QUESTION_CHARS:
        raise QueryError(
            f"question is {len(text)} characters long (limit {MAX_QUESTION_CHARS})",
            hint="ask the question in a sentence or two; put background in the index instead",
        )
    if not re.search(r"[^\W\d_]", text):
        raise QueryError("the question has no words", hint="ask in words, e.g. who, what, why")
    kind = next((name for name, pattern in _TYPES if pattern.search(text)), "what")
    entities = []
    for match in _ENTITY.finditer(text):
        name = match.group(1)
        first = name.split()[0].lower()
        if first in STOPWORDS or first in {"what", "why", "how", "who", "when", "where", "which"}:
            rest = name.split()[1:]
            if not rest:
                continue
            name = " ".join(rest)
        entities.append(name)
    return Question(
        text=text,
        kind=kind,
        terms=tuple(query_terms(text)),
        entities=tuple(dict.fromkeys(entities)),
        years=tuple(int(y) for y in _YEAR.findall(text)),
        as_of=as_of,
    )
