"""The extractive writer: the default, with no language model. Offline, deterministic, fast.

Every claim sentence it writes is a sentence of a source, quoted verbatim, so support holds by
construction; the checks in ``citewire.answer`` still re-read each span from the store.

1. Candidates: every sentence of every retrieved passage, with its offsets in the article.
2. Scoring: meaning (cosine of the sentence and the question embeddings), the question's content
   words and names found in the sentence, cue words for the kind of question (a reason for "why",
   a date for "when", a number for "how many"), attribution ("…, the ministry said"), minus
   penalties for fragments, questions and boilerplate.
3. Stand-alone sentences: a sentence that opens on a pronoun or a connective with no referent
   ("He said…", "This…") is quoted together with the sentence before it, or dropped.
4. Selection: greedy, best first, skipping what repeats a chosen sentence (near-identical meaning
   or wording, e.g. across syndicated copies that escaped grouping), at most a few per article.
5. Disagreement: two chosen-or-candidate sentences from different stories that say nearly the
   same thing with different numbers are shown side by side, the later report named.
6. Arrangement: a lead paragraph that answers directly, then support grouped by source; sources
   in date order when the question is about what happened or when.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from citewire.chunk import split_sentences
from citewire.embed import Embedder
from citewire.models import AnswerStatus, Citation, Decision, Hit, Paragraph, Sentence
from citewire.question import ATTRIBUTION, CUES, Question
from citewire.render import date_label
from citewire.retrieve import STOPWORDS
from citewire.verify import check_support, contradictions, quote_hash
from citewire.write import Draft

MAX_SENTENCES = 6
MAX_PER_ARTICLE = 3
# A sentence must reach this share of the best sentence's score to be kept as support.
RELATIVE_FLOOR = 0.5
# Evidence is "relevant enough to answer" only if the best sentence's meaning is close enough and
# the best few sentences together hold enough of the question's content words. These are simple,
# principled defaults (a cosine well above unrelated news, which sits around 0.1-0.2 for MiniLM;
# two in five content words), not tuned to any example; `citewire eval` is where they get measured.
MIN_SIMILARITY = 0.35
MIN_TERM_RECALL = 0.4
TOP_FOR_COVERAGE = 5
REDUNDANT_COSINE = 0.86
# Disagreement: two sentences must be about the same thing before a fact mismatch between them
# means anything (a clean set's "39 medals in 2018" vs "37 medals in 2010" is no conflict).
DISAGREEMENT_POOL = 40
DISAGREEMENT_COSINE = 0.75
SAME_FRAME = 0.5
REDUNDANT_JACCARD = 0.6

_DANGLING = re.compile(
    r"^(?:[\"“‘']\s*)?(he|she|it|they|this|that|these|those|his|her|its|their|him|them|"
    r"but|and|also|so|yet|still|then|such)\b",
    re.I,
)
_BOILERPLATE = re.compile(
    r"(sign up|subscribe|newsletter|all rights reserved|copyright|click here|read more|"
    r"follow us|cookie|advertisement|share this|related:|image caption|getty images)",
    re.I,
)
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


@dataclass
class _Candidate:
    hit: Hit
    rank: int
    start: int  # offsets into the article text
    end: int
    text: str
    index: int  # position among the passage's sentences
    score: float = 0.0
    similarity: float = 0.0
    term_recall: float = 0.0
    vector: np.ndarray | None = None


def _stem(word: str) -> str:
    word = word.lower()
    return word[:6] if len(word) > 6 else word


def _words(text: str) -> set[str]:
    return {_stem(w) for w in _WORD.findall(text)}


class ExtractiveWriter:
    name = "extractive"

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def write(self, question: Question, evidence: Sequence[Hit]) -> Draft:
        candidates = self._candidates(evidence)
        if not candidates:
            return Draft((), status=AnswerStatus.INSUFFICIENT_EVIDENCE)
        self._score(question, candidates)
        ranked = sorted(candidates, key=lambda c: -c.score)
        explain: list[Decision] = []
        best = ranked[0]
        # Long questions restate background ("X says…; Y threatens…"): no single sentence holds
        # all their words, so word coverage is measured over the best few sentences together.
        terms = {_stem(t) for t in question.terms}
        # Questions also name where and what was published ("a TechCrunch article on…"): the
        # sources' outlets and headlines count towards coverage along with their sentences.
        top = ranked[:TOP_FOR_COVERAGE]
        context = " ".join(
            f"{c.text} {c.hit.article.title or ''} {c.hit.article.outlet or ''}" for c in top
        )
        covered = _words(context) & terms
        coverage = len(covered) / len(terms) if terms else 0.0
        if best.similarity < MIN_SIMILARITY or coverage < MIN_TERM_RECALL:
            explain.extend(
                Decision(c.hit.article.id, c.text, round(c.score, 4), False, "below relevance bar")
                for c in ranked[:10]
            )
            return Draft(
                (),
                notes=(
                    f"The best-matching sentence scored {best.similarity:.2f} similarity and the "
                    f"best {TOP_FOR_COVERAGE} sentences covered {coverage:.0%} of the question's "
                    f"terms; citewire requires {MIN_SIMILARITY:.2f} and {MIN_TERM_RECALL:.0%}.",
                ),
                explain=tuple(explain),
                status=AnswerStatus.INSUFFICIENT_EVIDENCE,
            )
        chosen = self._select(ranked, explain)
        disagreements = self._disagreements(chosen, ranked)
        paragraphs = self._arrange(question, chosen, disagreements)
        return Draft(tuple(paragraphs), explain=tuple(explain))

    # 1 ------------------------------------------------------------------------------------
    def _candidates(self, evidence: Sequence[Hit]) -> list[_Candidate]:
        out: list[_Candidate] = []
        for rank, hit in enumerate(evidence):
            spans = split_sentences(hit.passage.text)
            for index, (s, e) in enumerate(spans):
                text = hit.passage.text[s:e]
                start, end = hit.passage.start + s, hit.passage.start + e
                # 3: a dangling opener takes the previous sentence of the article with it.
                if _DANGLING.match(text):
                    prev = self._previous_sentence(hit, start)
                    if prev is None or _DANGLING.match(hit.article.text[prev:start].strip()):
                        continue
                    start = prev
                    text = hit.article.text[start:end]
                out.append(_Candidate(hit, rank, start, end, text, index))
        return out

    @staticmethod
    def _previous_sentence(hit: Hit, start: int) -> int | None:
        # Look back within the article (the previous sentence may sit in the previous passage).
        window_start = max(0, start - 600)
        window = hit.article.text[window_start:start]
        spans = split_sentences(window)
        if not spans:
            return None
        s, _ = spans[-1]
        # The first span of a cut window may be a fragment; only trust it if the window began
        # at the article start or the span is not the first one.
        if len(spans) == 1 and window_start > 0:
            return None
        return window_start + s

    # 2 ------------------------------------------------------------------------------------
    def _score(self, question: Question, candidates: list[_Candidate]) -> None:
        vectors = self.embedder.embed([question.text] + [c.text for c in candidates])
        qvec, cvecs = vectors[0], vectors[1:]
        sims = cvecs @ qvec
        terms = {_stem(t) for t in question.terms}
        entities = [e.lower() for e in question.entities]
        cue = CUES.get(question.kind)
        for cand, vec, sim in zip(candidates, cvecs, sims, strict=True):
            words = _words(cand.text)
            recall = len(terms & words) / len(terms) if terms else 0.0
            lower = cand.text.lower()
            entity_share = sum(e in lower for e in entities) / len(entities) if entities else recall
            n_words = len(cand.text.split())
            score = 0.5 * float(sim) + 0.2 * recall + 0.1 * entity_share
            if cue is not None and cue.search(cand.text):
                # A sentence of the kind asked for (a reason, a date, a number) is worth more
                # than one that only shares the topic.
                score += 0.15
            if ATTRIBUTION.search(cand.text):
                score += 0.05
            score += 0.05 / (1 + cand.rank)  # retrieval's own judgement, as a tie-breaker
            if n_words < 6:
                score -= 0.2
            if n_words > 80:
                score -= 0.1
            if cand.text.rstrip("\"”’' ").endswith("?"):
                score -= 0.15
            if _BOILERPLATE.search(cand.text):
                score -= 0.3
            cand.score, cand.similarity, cand.term_recall, cand.vector = (
                score,
                float(sim),
                recall,
                vec,
            )

    # 4 ------------------------------------------------------------------------------------
    def _select(self, ranked: list[_Candidate], explain: list[Decision]) -> list[_Candidate]:
        chosen: list[_Candidate] = []
        per_article: dict[str, int] = {}
        floor = ranked[0].score * RELATIVE_FLOOR
        for cand in ranked:
            reason = ""
            aid = cand.hit.article.id
            if len(chosen) >= MAX_SENTENCES:
                reason = "enough sentences already"
            elif cand.score < floor:
                reason = f"score below {RELATIVE_FLOOR:.0%} of the best"
            elif per_article.get(aid, 0) >= MAX_PER_ARTICLE:
                reason = "enough from this article"
            elif any(_overlaps(cand, c) for c in chosen if c.hit.article.id == aid):
                reason = "overlaps a chosen sentence"
            else:
                twin = next((c for c in chosen if _redundant(cand, c)), None)
                if twin is not None:
                    reason = "repeats a chosen sentence"
            explain.append(
                Decision(
                    aid,
                    cand.text,
                    round(cand.score, 4),
                    not reason,
                    reason or "answers the question",
                )
            )
            if not reason:
                chosen.append(cand)
                per_article[aid] = per_article.get(aid, 0) + 1
        return chosen

    # 5 ------------------------------------------------------------------------------------
    def _disagreements(
        self, chosen: list[_Candidate], ranked: list[_Candidate]
    ) -> list[tuple[_Candidate, _Candidate]]:
        """Pairs of sentences from different articles that report the same thing (same
        wording once numbers and names are set aside, close in meaning) but contradict each
        other on a checkable fact (a number, a date, a negation)."""
        pairs: list[tuple[_Candidate, _Candidate]] = []
        seen: set[frozenset[tuple[str, int]]] = set()
        pool = ranked[:DISAGREEMENT_POOL]
        for a in chosen:
            for b in pool:
                if b is a or b.hit.article.id == a.hit.article.id:
                    continue
                key = frozenset({(a.hit.article.id, a.start), (b.hit.article.id, b.start)})
                if key in seen:
                    continue
                assert a.vector is not None and b.vector is not None
                if float(a.vector @ b.vector) < DISAGREEMENT_COSINE:
                    continue
                frame_a, frame_b = _frame(a.text), _frame(b.text)
                if not frame_a or len(frame_a & frame_b) / len(frame_a | frame_b) < SAME_FRAME:
                    continue
                if contradictions(check_support(a.text, b.text)):
                    seen.add(key)
                    pairs.append((a, b))
                    break
        return pairs

    # 6 ------------------------------------------------------------------------------------
    def _arrange(
        self,
        question: Question,
        chosen: list[_Candidate],
        disagreements: list[tuple[_Candidate, _Candidate]],
    ) -> list[Paragraph]:
        clusters = _clusters(disagreements)
        in_dispute = {id(c) for cluster in clusters for c in cluster}
        lead = [c for c in chosen[:1] if id(c) not in in_dispute]
        rest = [c for c in chosen if c not in lead and id(c) not in in_dispute]
        by_article: dict[str, list[_Candidate]] = {}
        for cand in rest:
            by_article.setdefault(cand.hit.article.id, []).append(cand)
        groups = list(by_article.values())
        if question.kind in ("what_happened", "when") or _spans_days(chosen):
            groups.sort(key=lambda g: _when(g[0]))
        paragraphs = []
        if lead:
            paragraphs.append(Paragraph(tuple(_sentence(c) for c in lead), role="lead"))
        for group in groups:
            group.sort(key=lambda c: c.start)
            paragraphs.append(Paragraph(tuple(_sentence(c) for c in group)))
        for cluster in clusters:
            accounts = sorted(cluster, key=_when)
            newest, before = accounts[-1], accounts[-2]
            newer = newest.hit.article
            where = (
                f"({newer.outlet or 'unknown outlet'}, "
                f"{date_label(newer.published_at, newer.date_precision)})"
            )
            if _when(newest) <= _when(before):
                when = (
                    "Both accounts carry the same date."
                    if len(accounts) == 2
                    else ("The most recent accounts carry the same date.")
                )
            elif len(accounts) == 2:
                when = f"The second account is the more recent one {where}."
            else:
                when = f"The last account is the most recent one {where}."
            intro = (
                "The sources disagree here, so both accounts are quoted."
                if len(accounts) == 2
                else "The sources disagree here, so each account is quoted."
            )
            paragraphs.append(
                Paragraph(
                    (
                        Sentence(intro, kind="connective"),
                        *(_sentence(c) for c in accounts),
                        Sentence(when, kind="connective"),
                    ),
                    role="disagreement",
                )
            )
        return paragraphs


def _clusters(pairs: list[tuple[_Candidate, _Candidate]]) -> list[list[_Candidate]]:
    """Disagreeing pairs that share a sentence become one dispute: "40 per cent" in two
    reports against "60 per cent" in a third is shown once, with all three accounts."""
    clusters: list[list[_Candidate]] = []
    for a, b in pairs:
        keys = {_key(a), _key(b)}
        joined = [c for c in clusters if keys & {_key(m) for m in c}]
        merged: list[_Candidate] = [m for c in joined for m in c]
        for cand in (a, b):
            if _key(cand) not in {_key(m) for m in merged}:
                merged.append(cand)
        clusters = [c for c in clusters if c not in joined] + [merged]
    return clusters


def _key(cand: _Candidate) -> tuple[str, int]:
    return cand.hit.article.id, cand.start


def _sentence(cand: _Candidate) -> Sentence:
    quote = cand.hit.article.text[cand.start : cand.end]
    citation = Citation(
        article_id=cand.hit.article.id,
        start=cand.start,
        end=cand.end,
        quote=quote,
        quote_hash=quote_hash(quote),
        passage_id=cand.hit.passage.id,
    )
    return Sentence(text=" ".join(quote.split()), citations=(citation,))


def _when(cand: _Candidate) -> datetime:
    # Undated articles sort first: "the more recent one" is only said of a dated report.
    return cand.hit.article.published_at or datetime.min.replace(tzinfo=UTC)


def _frame(text: str) -> set[str]:
    """The sentence's content words with numbers and names set aside: what it is *about*, so
    that "cut imports by 40 per cent" and "cut imports by 60 per cent" share a frame."""
    return {
        _stem(w)
        for w in _WORD.findall(text)
        if not w[0].isupper() and not any(ch.isdigit() for ch in w) and w.lower() not in STOPWORDS
    }


def _overlaps(a: _Candidate, b: _Candidate) -> bool:
    return a.start < b.end and b.start < a.end


def _redundant(a: _Candidate, b: _Candidate) -> bool:
    assert a.vector is not None and b.vector is not None
    if float(a.vector @ b.vector) >= REDUNDANT_COSINE:
        return True
    wa, wb = _words(a.text), _words(b.text)
    return bool(wa and wb) and len(wa & wb) / len(wa | wb) >= REDUNDANT_JACCARD


def _spans_days(chosen: list[_Candidate]) -> bool:
    days = {c.hit.article.published_at.date() for c in chosen if c.hit.article.published_at}
    return len(days) > 1
