"""Evaluation is code: the one scoring module behind ``bench/bench_answers.py``, ``citewire eval``
and the CI gate (floors pinned in a file, with the sha256 of every data file they were measured on).

1. Scoring: pure functions on strings and ``Answer`` objects (does the text contain the gold
   answer, is a fact cited, does the answer report a disagreement, does every shown citation
   still support its sentence, decline precision/recall, percentiles).
2. Sets: ``run_eval(set_name, data_dir, ...)`` reads one data folder, builds the index its
   protocol needs in a temporary directory with the real ingest pipeline, asks every question
   through ``Engine.ask``, scores the answers and returns an ``EvalReport``:
   - ``rgb_en_fact``: one index per item and condition (true + counterfactual + noise passages;
     counterfactual + noise; true + noise); contains-true, contains-fake, conflict reported.
   - ``multihop_rag_sample500``: the evidence facts as small articles (one per URL), optionally
     among ``bbc_news`` distractors; evidence coverage of cited quotes, and declining on the
     ``null_query`` items.
   - ``realtimeqa``: all 2,210 articles; the gold answer in the answer as of the question date;
     then the same questions against an index with every article holding the answer held out.
   Every set also reports the citation support rate (re-checked here, independently of the
   answer's own checks), latency, and the retrieval-only baseline: the top passages the writer
   was given, pasted as the answer, scored the same way. With an LLM writer (wrapped in
   ``evaluate_llm.MeteredWriter``) also the model's seconds and tokens per answer, how often it
   failed and the extractive writer stood in, and the unchecked one-shot baseline: its first
   reply shown as it is, scored the same way, with the share of its sentences that would have
   passed the checks.
3. Floors: ``corpus_hashes``, ``check_floors`` and ``pin_floors`` for the gate.
4. ``report_text`` renders an ``EvalReport``; ``EvalReport.to_dict`` is its JSON form.

Embedding is the expensive part (a 2,210-article index takes most of an hour on two cores), so an
index that already holds the same texts can lend its stored vectors (``home``): the new index is
still built by the real pipeline, only the model calls for known passages are skipped.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import sqlite3
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from citewire.answer import EVIDENCE_K
from citewire.embed import Embedder, default_embedder
from citewire.engine import INDEX_FILE, Engine
from citewire.errors import ConfigError, LLMError
from citewire.evaluate_llm import LLMRecord, MeteredWriter
from citewire.extract import FieldMap
from citewire.ingest import IngestOptions
from citewire.llm import ChatWriter, draft_from_reply
from citewire.models import Answer, AnswerStatus, Article, Hit, Paragraph, SearchFilters
from citewire.verify import check_citation_span, check_support
from citewire.write import Writer

SET_FILES: dict[str, tuple[str, ...]] = {
    "rgb_en_fact": ("en_fact.jsonl",),
    "multihop_rag_sample500": ("queries.jsonl", "evidence_facts.jsonl"),
    "realtimeqa": ("questions_2022.jsonl", "articles_2022.jsonl"),
}
SETS = tuple(SET_FILES)
# Sized so that the three default runs fit in ~25 minutes on two busy cores (see bench_answers).
DEFAULT_LIMITS = {"rgb_en_fact": 100, "multihop_rag_sample500": 150, "realtimeqa": 100}
# RGB snippets and BBC articles carry no date, and `ask` only reads evidence published by its
# as-of date, so undated articles would be invisible to it: they get a stand-in date.
RGB_DATE = "2022-01-01"
RGB_AS_OF = datetime(2023, 1, 1, tzinfo=UTC)
BBC_DATE = "2005-01-01"  # the collection is from 2004-2005
MULTIHOP_AS_OF = datetime(2024, 1, 1, tzinfo=UTC)  # after the last evidence (2023-12-26)
# A held-out question needs an answer string specific enough to find every article holding it;
# "California" (400 articles) or "6" cannot be held out without emptying the index.
MAX_ANSWER_BEARING = 20
FACT_CITED_SHARE = 0.5
EXAMPLES_PER_KIND = 3
RGB_PAPER_NOTE = (
    "RGB paper (Chen et al., AAAI 2024, arXiv:2309.01431), ChatGPT on en counterfactual: see "
    "paper (the data README gives no figure); its ED counts replies that say 'factual errors'"
)

UNCHECKED_NOTE = (
    "baseline_llm = the LLM's first reply to the same one-shot prompt and passages (temperature "
    "0; the very reply the checked answer started from, not a second call), shown as it is: no "
    "checks, no removal, no rewrite; its claim sentences are parsed by the writer's parser and "
    "re-checked like shown ones (baseline_llm.support); a failed call counts as an empty reply"
)

Progress = Callable[[str], None]


# --- 1. scoring ------------------------------------------------------------------------------
_QUOTES = re.compile(r"[\"'“”‘’`´]")


def normalise(text: str) -> str:
    """Case-folded, quote characters removed, whitespace collapsed: '“Squid Game”' → 'squid
    game'. Quotes go because sources and quizzes style them differently."""
    return " ".join(_QUOTES.sub("", text).casefold().split())


def answer_pattern(answer: str) -> re.Pattern[str] | None:
    """The normalised answer, starting at a word start; it must also end a word only when it
    ends in a digit. So "6" is not found in "2016" or "60", "Ford" not in "afford", while
    "Saudi Arabia" is found in "Saudi Arabian officials" and "Ford" in "Fords"."""
    needle = normalise(answer)
    if not needle:
        return None
    end = r"(?!\d)" if needle[-1].isdigit() else ""
    return re.compile(r"(?<!\w)" + re.escape(needle) + end)


def contains_answer(text: str, alternatives: Sequence[str]) -> bool:
    """Does ``text`` contain any of the accepted answers (see ``answer_pattern``)?"""
    haystack = normalise(text)
    patterns = (answer_pattern(a) for a in alternatives)
    return any(p is not None and p.search(haystack) for p in patterns)


def rgb_match(text: str, answer: Any) -> bool:
    """RGB's own ``checkanswer``: the answer is a string, or a list whose every element must be
    found, an element being a string or a list of alternatives (one suffices). Plain substring
    matching, lower-cased, as in RGB's evalue.py."""
    prediction = text.lower()
    required = answer if isinstance(answer, list) else [answer]
    labels = []
    for instance in required:
        options = instance if isinstance(instance, list) else [instance]
        labels.append(any(str(o).lower() in prediction for o in options))
    return bool(labels) and all(labels)


def shown_text(answer: Answer) -> str:
    """What the reader reads: every sentence of every paragraph."""
    return " ".join(s.text for s in answer.sentences)


def cited_quotes(answer: Answer) -> list[str]:
    return [c.quote for s in answer.sentences for c in s.citations]


def reports_disagreement(answer: Answer, cites_true: bool, cites_fake: bool) -> bool:
    """RGB's "error detection", in citewire's terms: a disagreement paragraph, a contradicted
    premise, or both the true and the counterfactual answer quoted with their sources."""
    return (
        any(p.role == "disagreement" for p in answer.paragraphs)
        or answer.status == AnswerStatus.PREMISE_CONTRADICTED
        or (cites_true and cites_fake)
    )


def overlap_share(target: str, quote: str) -> float:
    """Share of ``target`` (a gold fact) covered by the longest stretch it shares with ``quote``
    (a cited span or passage), after normalising both."""
    a, b = normalise(target), normalise(quote)
    if not a or not b:
        return 0.0
    match = SequenceMatcher(None, a, b, autojunk=False).find_longest_match(0, len(a), 0, len(b))
    return match.size / len(a)


def fact_cited(fact: str, quotes: Iterable[str], share: float = FACT_CITED_SHARE) -> bool:
    return any(overlap_share(fact, q) >= share for q in quotes)


@dataclass(frozen=True)
class DeclineScores:
    """Declining as a classifier: positive = the answer declined (insufficient_evidence),
    relevant = the question has no answer in the index."""

    precision: float | None
    recall: float | None
    declined: int
    should_decline: int
    correct: int


def decline_scores(declined: Sequence[bool], should_decline: Sequence[bool]) -> DeclineScores:
    pairs = list(zip(declined, should_decline, strict=True))
    correct = sum(d and s for d, s in pairs)
    n_declined, n_should = sum(d for d, _ in pairs), sum(s for _, s in pairs)
    return DeclineScores(
        precision=correct / n_declined if n_declined else None,
        recall=correct / n_should if n_should else None,
        declined=n_declined,
        should_decline=n_should,
        correct=correct,
    )


def recheck_support(answer: Answer, articles: Mapping[str, Article]) -> tuple[int, int]:
    """(passed, shown): claim sentences whose citations re-read intact from the stored articles
    and whose cited text supports them by ``verify.check_support``, run here afresh rather than
    trusting the check stored on the sentence."""
    passed = shown = 0
    for sentence in answer.sentences:
        if sentence.kind != "claim":
            continue
        shown += 1
        quotes = []
        for citation in sentence.citations:
            article = articles.get(citation.article_id)
            if article is None or check_citation_span(article.text, citation) is not None:
                break
            quotes.append(citation.quote)
        else:
            if quotes and check_support(sentence.text, " ".join(quotes)).passed:
                passed += 1
    return passed, shown


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0-100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def spread(items: Sequence[Any], limit: int | None) -> list[Any]:
    """``limit`` items evenly spaced through ``items`` (all of them for None/0 or a big limit):
    a sample that keeps every week / type of a set file ordered by time or type."""
    if not limit or limit >= len(items):
        return list(items)
    return [items[i * len(items) // limit] for i in range(limit)]


# --- report ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Figure:
    """One number. ``key`` is "<system>.<metric>" (system: citewire, baseline_top1,
    baseline_topk, reference); ``n`` is its denominator."""

    key: str
    label: str
    value: float | None
    n: int
    unit: str = "share"  # "share" | "seconds" | "words" | "count"
    note: str = ""


@dataclass(frozen=True)
class Example:
    """One answer worth reading (usually a miss), to see what the figures hide."""

    kind: str
    item_id: str
    question: str
    expected: str
    status: str
    answer: str


@dataclass(frozen=True)
class EvalReport:
    set_name: str
    writer: str
    limit: int | None
    n_items: int
    protocol: str
    figures: tuple[Figure, ...]
    corpus: Mapping[str, str]  # data file name -> sha256
    notes: tuple[str, ...] = ()
    examples: tuple[Example, ...] = ()
    seconds: float = 0.0
    # What else changes the figures besides limit and writer (e.g. multihop's distractors);
    # floors are pinned per variant.
    variant: str = ""

    def figure(self, key: str) -> Figure | None:
        return next((f for f in self.figures if f.key == key), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "set": self.set_name,
            "writer": self.writer,
            "limit": self.limit,
            "variant": self.variant,
            "n_items": self.n_items,
            "protocol": self.protocol,
            "figures": [
                {
                    "key": f.key,
                    "label": f.label,
                    "value": f.value,
                    "n": f.n,
                    "unit": f.unit,
                    "note": f.note,
                }
                for f in self.figures
            ],
            "corpus": dict(self.corpus),
            "notes": list(self.notes),
            "examples": [vars(e) for e in self.examples],
            "seconds": round(self.seconds, 1),
        }


def _value_text(figure: Figure) -> str:
    if figure.value is None:
        return "n/a"
    if figure.unit == "share":
        return f"{figure.value:.1%}"
    if figure.unit == "seconds":
        return f"{figure.value * 1000:.0f} ms"
    return f"{figure.value:.1f}"


def report_text(report: EvalReport) -> str:
    lines = [
        f"{report.set_name} · writer {report.writer} · n={report.n_items} · {report.seconds:.0f} s",
        f"protocol: {report.protocol}",
    ]
    width = max((len(f.label) for f in report.figures), default=0)
    for f in report.figures:
        note = f"  ({f.note})" if f.note else ""
        lines.append(f"  {f.label:<{width}}  {_value_text(f):>8}  n={f.n:<4} [{f.key}]{note}")
    lines += [f"note: {note}" for note in report.notes]
    for e in report.examples:
        lines.append(f"example ({e.kind}) #{e.item_id}: {e.question}")
        lines.append(f"    expected: {e.expected} | status: {e.status} | answer: {e.answer}")
    lines.append("corpus sha256: " + ", ".join(f"{k} {v[:12]}" for k, v in report.corpus.items()))
    return "\n".join(lines)


K = EVIDENCE_K
# What each figure key means; "[tag] " is prefixed for a set's conditions or parts.
LABELS = {
    "citewire.contains_true": "answer contains the true answer",
    "citewire.contains_fake": "answer contains the fake answer",
    "citewire.reports_conflict": "answer reports a disagreement (ED)",
    "citewire.disagreement_paragraph": "  of which: has a disagreement paragraph",
    "citewire.premise_contradicted": "  of which: status premise_contradicted",
    "citewire.cites_both": "  of which: cites both true and fake",
    "citewire.disagreement_on_answer": "a disagreement paragraph quoting both true and fake",
    "citewire.declined": "declined (insufficient_evidence)",
    "baseline_top1.contains_true": "baseline top-1 passage contains true",
    "baseline_top1.contains_fake": "baseline top-1 passage contains fake",
    "baseline_topk.contains_true": f"baseline top-{K} passages contain true",
    "baseline_topk.contains_fake": f"baseline top-{K} passages contain fake",
    "baseline_topk.contains_both": f"baseline top-{K} passages contain both",
    "index.positive_wrong_hidden": "fake passages merged into another's group (unsearchable)",
    "index.positive_hidden": "true passages merged into another's group (unsearchable)",
    "citewire.evidence_coverage": "gold evidence facts cited (mean share per query)",
    "citewire.all_evidence_cited": "queries with every gold fact cited",
    "baseline_top1.evidence_coverage": "baseline top-1 passage: gold facts contained",
    "baseline_topk.evidence_coverage": f"baseline top-{K} passages: gold facts contained",
    "citewire.contains_answer": "answer contains the gold answer",
    "baseline_top1.contains_answer": "baseline top-1 passage contains the gold answer",
    "baseline_topk.contains_answer": f"baseline top-{K} passages contain the gold answer",
    "citewire.decline_precision": "declined answers that should decline (precision)",
    "citewire.decline_recall": "questions without an answer declined (recall)",
    "citewire.false_decline": "answerable questions declined",
    "citewire.gold_cited": "answer cites a gold article",
    "retrieval.gold_in_evidence": f"a gold article among the top-{K} evidence passages",
    "citewire.answered_without_answer": "answered anyway, without the gold answer",
    "citewire.leak": "answer still contains the gold answer (leak check)",
    "citewire.support_shown": "shown claim sentences whose citations pass check_support (re-run)",
    "citewire.support_drafted": "drafted claim sentences that passed before removal",
    "citewire.question_claims": "shown claim sentences that are questions ('...?')",
    "citewire.latency_p50": "ask latency p50",
    "citewire.latency_p95": "ask latency p95",
    "citewire.answer_words": "mean words per answer (answered only)",
    "baseline_topk.words": f"mean words of the top-{K} passages pasted",
    "baseline_llm.contains_true": "unchecked LLM reply contains true",
    "baseline_llm.contains_fake": "unchecked LLM reply contains fake",
    "baseline_llm.contains_answer": "unchecked LLM reply contains the gold answer",
    "baseline_llm.leak": "unchecked LLM reply contains the gold answer",
    "baseline_llm.support": "unchecked LLM reply: claim sentences that pass the re-check",
    "baseline_llm.no_citation": "  of which failing: no usable [n] (none, or not a passage)",
    "baseline_llm.declined": "unchecked LLM reply: 'the sources do not say'",
    "llm.fallback": "answers the extractive writer wrote because the LLM failed",
    "llm.support_drafted": "LLM drafts and rewrites: claim sentences that pass the re-check",
    "llm.completions": "LLM completions per answer (draft + one rewrite)",
    "llm.seconds_p50": "LLM seconds per answer p50 (its completions)",
    "llm.seconds_p95": "LLM seconds per answer p95 (its completions)",
    "llm.generated_tokens": "tokens generated per answer (mean)",
    "llm.tokens_per_second": "generation speed: generated tokens / generation time",
    "llm.tokens_per_call_second": "generated tokens / LLM call time (prompt included)",
}


def _tagged(key: str, tag: str) -> tuple[str, str]:
    system, metric = key.split(".", 1)
    if not tag:
        return key, LABELS[key]
    return f"{system}.{tag}.{metric}", f"[{tag}] {LABELS[key]}"


class _Figures:
    """Collects figures in order. A share is a count over n; a tally (a Counter keyed by
    figure key) gives one share per key."""

    def __init__(self) -> None:
        self.items: list[Figure] = []

    def share(self, key: str, count: float, n: int, tag: str = "", note: str = "") -> None:
        full, label = _tagged(key, tag)
        self.items.append(Figure(full, label, count / n if n else None, n, "share", note))

    def shares(self, tally: Counter[str], n: int, keys: Iterable[str], tag: str = "") -> None:
        for key in keys:
            self.share(key, tally[key], n, tag)

    def value(self, key: str, value: float | None, n: int, unit: str, tag: str = "") -> None:
        full, label = _tagged(key, tag)
        self.items.append(Figure(full, label, value, n, unit))

    def mean(self, key: str, values: Sequence[float], unit: str = "share", tag: str = "") -> None:
        self.value(key, sum(values) / len(values) if values else None, len(values), unit, tag)


# --- running answers -------------------------------------------------------------------------
class CachedEmbedder:
    """An ``Embedder`` that remembers vectors by text, optionally preloaded from an index that
    already embedded the same passages; only unseen texts reach the model."""

    def __init__(
        self, inner: Embedder, preload: Mapping[str, npt.NDArray[np.float32]] | None = None
    ) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.cache: dict[str, npt.NDArray[np.float32]] = dict(preload or {})
        self.model_texts = 0

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        missing = [t for t in dict.fromkeys(texts) if t not in self.cache]
        if missing:
            self.model_texts += len(missing)
            self.cache.update(zip(missing, self.inner.embed(missing), strict=True))
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self.cache[t] for t in texts]).astype(np.float32)


def stored_vectors(home: Path, model: str) -> dict[str, npt.NDArray[np.float32]]:
    """Passage text → stored vector, read-only, from an index built with the same model.

    This reads the SQLite layout directly (the ``Store`` protocol has no reason to hand out
    vectors); anything unexpected returns {} and the caller embeds for real, only slower.
    """
    path = home / INDEX_FILE
    if not path.exists():
        return {}
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'embedding_model'").fetchone()
            if row is None or row[0] != model:
                return {}
            rows = conn.execute(
                "SELECT p.text, e.vector FROM passages p JOIN embeddings e ON e.passage_id = p.id"
            ).fetchall()
    except sqlite3.Error:
        return {}
    return {text: np.frombuffer(blob, dtype=np.float16).astype(np.float32) for text, blob in rows}


@dataclass
class _Asked:
    answer: Answer
    evidence: list[Hit]
    seconds: float
    llm: LLMRecord | None = None  # with an LLM writer: what the model did for this answer

    @property
    def unchecked(self) -> str:
        """The LLM's first reply as it is (the one-shot baseline); "" when the call failed."""
        return (self.llm.reply if self.llm is not None else None) or ""


@dataclass
class _Run:
    """What every set measures the same way: support, latency, baseline text."""

    writer: Writer | None
    shown: int = 0
    shown_passed: int = 0
    drafted: int = 0
    drafted_passed: int = 0
    question_claims: int = 0
    seconds: list[float] = field(default_factory=list)
    answer_words: list[int] = field(default_factory=list)
    topk_words: list[int] = field(default_factory=list)
    examples: list[Example] = field(default_factory=list)
    llm: list[LLMRecord] = field(default_factory=list)
    llm_drafted: int = 0
    llm_drafted_passed: int = 0
    unchecked_shown: int = 0
    unchecked_passed: int = 0
    unchecked_no_citation: int = 0
    unchecked_declined: int = 0

    @property
    def metered(self) -> bool:
        return isinstance(self.writer, MeteredWriter)

    def ask(self, engine: Engine, question: str, as_of: datetime) -> _Asked:
        question = " ".join(question.split())
        # The same search the answer pipeline runs, for the baseline and retrieval figures.
        evidence = engine.retriever.search(
            question, k=EVIDENCE_K, filters=SearchFilters(until=as_of), per_group=2
        )
        record = self.writer.start() if isinstance(self.writer, MeteredWriter) else None
        started = time.perf_counter()
        answer = engine.ask(question, as_of=as_of, writer=self.writer)
        seconds = time.perf_counter() - started
        self.seconds.append(seconds)
        cited = engine.store.articles([c.article_id for s in answer.sentences for c in s.citations])
        passed, shown = recheck_support(answer, cited)
        self.shown += shown
        self.shown_passed += passed
        self.drafted += answer.sentences_checked
        self.drafted_passed += answer.sentences_passed
        # A quoted question ("Which company ...?", e.g. from a news quiz) answers nothing.
        self.question_claims += sum(
            s.kind == "claim" and s.text.rstrip("\"”’' )").endswith("?") for s in answer.sentences
        )
        if answer.status != AnswerStatus.INSUFFICIENT_EVIDENCE:
            self.answer_words.append(len(shown_text(answer).split()))
        self.topk_words.append(sum(len(h.passage.text.split()) for h in evidence))
        if record is not None:
            self.llm.append(record)
            # Everything the model drafted (first reply and rewrite), re-checked here: the
            # answer's own counters are not kept when it ends as insufficient_evidence.
            for number, reply in enumerate([record.reply, *record.rewrites]):
                passed, shown, broken, declined = self._recheck_reply(engine, answer, reply, record)
                self.llm_drafted += shown
                self.llm_drafted_passed += passed
                if number == 0:  # the first reply, shown as it is: the unchecked baseline
                    self.unchecked_shown += shown
                    self.unchecked_passed += passed
                    self.unchecked_no_citation += broken
                    self.unchecked_declined += declined
        return _Asked(answer, evidence, seconds, record)

    @staticmethod
    def _recheck_reply(
        engine: Engine, answer: Answer, reply: str | None, record: LLMRecord
    ) -> tuple[int, int, int, bool]:
        """A raw LLM reply judged as ``ask`` would judge it: parsed by the writer's own parser,
        then every claim sentence re-checked like a shown one. (passed, claim sentences, of
        them without a usable [n], whether it said the sources do not say)."""
        if reply is None:
            return 0, 0, 0, False
        try:
            draft = draft_from_reply(reply, record.evidence)
        except LLMError:
            return 0, 0, 0, False  # not one sentence in it: nothing to judge
        declined = draft.status == AnswerStatus.INSUFFICIENT_EVIDENCE
        claims = [s for p in draft.paragraphs for s in p.sentences if s.kind == "claim"]
        # A marker the parser already found broken (no [n], or a passage that was not given)
        # fails its sentence, as in ask: its other citations do not rescue it.
        broken = [s.check is not None and not s.check.passed for s in claims]
        judged = tuple(
            replace(s, citations=()) if bad else s for s, bad in zip(claims, broken, strict=True)
        )
        shown_as_is = Answer(
            answer.question, answer.as_of, AnswerStatus.ANSWERED, (Paragraph(judged),), ()
        )
        cited = engine.store.articles([c.article_id for s in judged for c in s.citations])
        passed, shown = recheck_support(shown_as_is, cited)
        return passed, shown, sum(broken), declined

    def example(self, kind: str, item_id: str, question: str, expected: str, asked: _Asked) -> None:
        if sum(e.kind == kind for e in self.examples) >= EXAMPLES_PER_KIND:
            return
        text = shown_text(asked.answer)
        self.examples.append(
            Example(
                kind,
                item_id,
                question,
                expected,
                asked.answer.status,
                text[:300] + ("…" if len(text) > 300 else ""),
            )
        )

    def common_figures(self, figures: _Figures, tag: str = "") -> None:
        figures.share("citewire.support_shown", self.shown_passed, self.shown, tag)
        figures.share("citewire.support_drafted", self.drafted_passed, self.drafted, tag)
        figures.share("citewire.question_claims", self.question_claims, self.shown, tag)
        for q in (50, 95):
            latency = percentile(self.seconds, q)
            figures.value(f"citewire.latency_p{q}", latency, len(self.seconds), "seconds", tag)
        figures.mean("citewire.answer_words", self.answer_words, "words", tag)
        figures.mean("baseline_topk.words", self.topk_words, "words", tag)
        if self.metered:
            self._llm_figures(figures, tag)

    def _llm_figures(self, figures: _Figures, tag: str) -> None:
        answers = len(self.llm)
        figures.share("llm.fallback", sum(r.failed is not None for r in self.llm), answers, tag)
        figures.share("llm.support_drafted", self.llm_drafted_passed, self.llm_drafted, tag)
        figures.mean("llm.completions", [len(r.completions) for r in self.llm], "count", tag)
        called = [r.seconds for r in self.llm if r.completions]
        for q in (50, 95):
            figures.value(f"llm.seconds_p{q}", percentile(called, q), len(called), "seconds", tag)
        completions = [c for r in self.llm for c in r.completions]
        counted = [c for c in completions if c.generated is not None]
        generated = sum(c.generated or 0 for c in counted)
        per_answer = [
            sum(c.generated or 0 for c in r.completions)
            for r in self.llm
            if r.completions and all(c.generated is not None for c in r.completions)
        ]
        figures.mean("llm.generated_tokens", per_answer, "count", tag)
        timed = [c for c in counted if c.generation_seconds]
        speed = (
            sum(c.generated or 0 for c in timed) / sum(c.generation_seconds or 0 for c in timed)
            if timed
            else None
        )
        figures.value("llm.tokens_per_second", speed, len(timed), "tokens/s", tag)
        call_seconds = sum(c.seconds for c in counted)
        overall = generated / call_seconds if counted and call_seconds else None
        figures.value("llm.tokens_per_call_second", overall, len(counted), "tokens/s", tag)
        figures.share("baseline_llm.support", self.unchecked_passed, self.unchecked_shown, tag)
        figures.share(
            "baseline_llm.no_citation", self.unchecked_no_citation, self.unchecked_shown, tag
        )
        figures.share("baseline_llm.declined", self.unchecked_declined, answers, tag)


@dataclass
class _Context:
    folder: Path
    limit: int | None
    embedder: CachedEmbedder
    run: _Run
    work: Path
    progress: Progress


def _write_jsonl(path: Path, records: Iterable[Mapping[str, Any]]) -> Path:
    with path.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _ingest(engine: Engine, path: Path, fields: FieldMap | None = None) -> None:
    report = engine.ingest([str(path)], IngestOptions(fields=fields or FieldMap()))
    if report.failed:
        raise ConfigError(
            f"ingesting {path.name} failed for {len(report.failed)} record(s): "
            f"{report.failed[0].reason}",
            hint="check the data file against its README",
        )


def _articles_by_record(engine: Engine) -> dict[str, Article]:
    """record id (the data file's own doc id) → stored article."""
    return {
        str(a.metadata["record_id"]): a
        for a in engine.store.iter_articles()
        if "record_id" in a.metadata
    }


# --- 2a. RGB ---------------------------------------------------------------------------------
RGB_CONDITIONS = {
    # true + counterfactual + noise: the engine should show the conflict
    "conflict": ("positive", "positive_wrong", "negative"),
    # RGB's own counterfactual setting (plus its noise passages): only falsified evidence
    "counterfactual": ("positive_wrong", "negative"),
    # true + noise: a disagreement reported here is a false alarm
    "clean": ("positive", "negative"),
}
RGB_KEYS = (
    "citewire.contains_true",
    "citewire.contains_fake",
    "citewire.reports_conflict",
    "citewire.disagreement_paragraph",
    "citewire.premise_contradicted",
    "citewire.cites_both",
    "citewire.disagreement_on_answer",
    "citewire.declined",
    "baseline_top1.contains_true",
    "baseline_top1.contains_fake",
    "baseline_topk.contains_true",
    "baseline_topk.contains_fake",
    "baseline_topk.contains_both",
)
RGB_LLM_KEYS = ("baseline_llm.contains_true", "baseline_llm.contains_fake")


def _score_rgb(tally: Counter[str], asked: _Asked, truth: Any, fake: Any) -> tuple[bool, bool]:
    answer = asked.answer
    text, quotes = shown_text(answer), " ".join(cited_quotes(answer))
    cites_true, cites_fake = rgb_match(quotes, truth), rgb_match(quotes, fake)
    has_true, has_fake = rgb_match(text, truth), rgb_match(text, fake)
    top1 = " ".join(h.passage.text for h in asked.evidence[:1])
    topk = " ".join(h.passage.text for h in asked.evidence)
    disputed = " ".join(
        c.quote
        for p in answer.paragraphs
        if p.role == "disagreement"
        for s in p.sentences
        for c in s.citations
    )
    flags = {
        "citewire.contains_true": has_true,
        "citewire.contains_fake": has_fake,
        "citewire.reports_conflict": reports_disagreement(answer, cites_true, cites_fake),
        "citewire.disagreement_paragraph": any(p.role == "disagreement" for p in answer.paragraphs),
        "citewire.premise_contradicted": answer.status == AnswerStatus.PREMISE_CONTRADICTED,
        "citewire.cites_both": cites_true and cites_fake,
        "citewire.disagreement_on_answer": rgb_match(disputed, truth) and rgb_match(disputed, fake),
        "citewire.declined": answer.status == AnswerStatus.INSUFFICIENT_EVIDENCE,
        "baseline_top1.contains_true": rgb_match(top1, truth),
        "baseline_top1.contains_fake": rgb_match(top1, fake),
        "baseline_topk.contains_true": rgb_match(topk, truth),
        "baseline_topk.contains_fake": rgb_match(topk, fake),
        "baseline_topk.contains_both": rgb_match(topk, truth) and rgb_match(topk, fake),
    }
    if asked.llm is not None:
        flags["baseline_llm.contains_true"] = rgb_match(asked.unchecked, truth)
        flags["baseline_llm.contains_fake"] = rgb_match(asked.unchecked, fake)
    tally.update(key for key, flag in flags.items() if flag)
    return has_true, has_fake


def _run_rgb(ctx: _Context) -> tuple[int, str, _Figures, list[str]]:
    items = spread(_read_jsonl(ctx.folder / "en_fact.jsonl"), ctx.limit)
    figures = _Figures()
    for condition, kinds in RGB_CONDITIONS.items():
        tally: Counter[str] = Counter()
        for number, item in enumerate(items, start=1):
            passages = [(kind, i, text) for kind in kinds for i, text in enumerate(item[kind])]
            # Ingest order decides which of two near-identical passages becomes the canonical
            # copy of a syndication group; a seeded shuffle favours neither side.
            random.Random(f"{item['id']}-{condition}").shuffle(passages)
            name = f"rgb-{item['id']}-{condition}"
            records = (
                {"id": f"{kind}-{i}", "text": text, "published": RGB_DATE, "outlet": f"Source {n}"}
                for n, (kind, i, text) in enumerate(passages, start=1)
            )
            with Engine(ctx.work / name, embedder=ctx.embedder) as engine:
                _ingest(engine, _write_jsonl(ctx.work / f"{name}.jsonl", records))
                for record_id, article in _articles_by_record(engine).items():
                    kind = record_id.rsplit("-", 1)[0]
                    tally[f"indexed.{kind}"] += 1
                    tally[f"index.{kind}_hidden"] += article.group_id != article.id
                asked = ctx.run.ask(engine, item["query"], RGB_AS_OF)
            has_true, has_fake = _score_rgb(tally, asked, item["answer"], item["fakeanswer"])
            expected = f"{item['answer']} (fake: {item['fakeanswer']})"
            if condition == "conflict" and has_fake and not has_true:
                ctx.run.example(
                    "rgb conflict: fake only", item["id"], item["query"], expected, asked
                )
            if condition == "clean" and not has_true:
                ctx.run.example(
                    "rgb clean: true missed", item["id"], item["query"], expected, asked
                )
            if number % 25 == 0:
                ctx.progress(f"rgb {condition}: {number}/{len(items)}")
        llm_keys = RGB_LLM_KEYS if ctx.run.metered else ()
        figures.shares(tally, len(items), RGB_KEYS + llm_keys, condition)
        if condition == "conflict":
            for kind in ("positive_wrong", "positive"):
                figures.share(
                    f"index.{kind}_hidden",
                    tally[f"index.{kind}_hidden"],
                    tally[f"indexed.{kind}"],
                    condition,
                )
    figures.items.append(
        Figure(
            "reference.counterfactual.ed_chatgpt",
            "[counterfactual] RGB paper, ChatGPT ED",
            None,
            0,
            note="see paper",
        )
    )
    protocol = (
        "per item and condition a fresh index of its passages (seeded shuffle, dated "
        f"{RGB_DATE} because ask reads only dated evidence, neutral outlet names 'Source N'); "
        "conditions: conflict = positive + positive_wrong + negative; counterfactual = "
        "positive_wrong + negative (RGB's setting plus noise); clean = positive + negative (a "
        "disagreement reported there is a false alarm); matching = RGB's checkanswer "
        "(lower-cased substring; list answers: every element, any alternative)"
    )
    return len(items), protocol, figures, [RGB_PAPER_NOTE]


# --- 2b. MultiHop-RAG ------------------------------------------------------------------------
MULTIHOP_KEYS = (
    "citewire.contains_answer",
    "baseline_top1.contains_answer",
    "baseline_topk.contains_answer",
)


def _fact_records(facts: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One article per URL: its facts joined as paragraphs, with the article's metadata (two
    records with one URL would be one article updated twice)."""
    by_url: dict[str, list[Mapping[str, Any]]] = {}
    for fact in facts:
        by_url.setdefault(fact["url"], []).append(fact)
    return [
        {
            "id": url,
            "url": url,
            "text": "\n\n".join(f["fact"] for f in group),
            "title": group[0]["title"],
            "published": group[0]["published_at"],
            "outlet": group[0]["source"],
            "authors": group[0]["author"],
        }
        for url, group in by_url.items()
    ]


def _run_multihop(ctx: _Context, distractors: Path | None) -> tuple[int, str, _Figures, list[str]]:
    queries = _read_jsonl(ctx.folder / "queries.jsonl")
    facts = _read_jsonl(ctx.folder / "evidence_facts.jsonl")
    null = [q for q in queries if q["question_type"] == "null_query"]
    answerable = sorted(
        (q for q in queries if q["question_type"] != "null_query"), key=lambda q: q["question_type"]
    )
    size = ctx.limit or len(queries)
    chosen = spread(null, min(len(null), size // 2))
    chosen += spread(answerable, size - len(chosen))
    fact_text = {f["fact_id"]: f["fact"] for f in facts}
    records = _fact_records(facts)
    notes = []
    tally: Counter[str] = Counter()
    coverage: dict[str, list[float]] = {"citewire": [], "baseline_top1": [], "baseline_topk": []}
    declined: list[bool] = []
    with Engine(ctx.work / "multihop", embedder=ctx.embedder) as engine:
        if distractors is not None:
            bbc = ({**r, "published": BBC_DATE} for r in _read_jsonl(distractors))
            _ingest(engine, _write_jsonl(ctx.work / "bbc.jsonl", bbc))
            notes.append(f"distractors: bbc_news, dated {BBC_DATE} (ask ignores undated articles)")
        else:
            notes.append("distractors: only the other queries' facts (no bbc_news index given)")
        _ingest(engine, _write_jsonl(ctx.work / "facts.jsonl", records))
        stats = engine.stats()
        for number, query in enumerate(chosen, start=1):
            asked = ctx.run.ask(engine, query["question"], MULTIHOP_AS_OF)
            declined.append(asked.answer.status == AnswerStatus.INSUFFICIENT_EVIDENCE)
            if number % 25 == 0:
                ctx.progress(f"multihop: {number}/{len(chosen)}")
            if query["question_type"] == "null_query":
                if not declined[-1]:
                    ctx.run.example(
                        "multihop null answered", query["id"], query["question"], "decline", asked
                    )
                continue
            gold = [fact_text[i] for i in query["evidence_fact_ids"]]
            passages = [h.passage.text for h in asked.evidence]
            texts = {
                "citewire": cited_quotes(asked.answer),
                "baseline_top1": passages[:1],
                "baseline_topk": passages,
            }
            for system, quotes in texts.items():
                coverage[system].append(sum(fact_cited(f, quotes) for f in gold) / len(gold))
            tally["citewire.all_evidence_cited"] += coverage["citewire"][-1] == 1.0
            if coverage["citewire"][-1] == 0:
                ctx.run.example(
                    "multihop: no gold fact cited",
                    query["id"],
                    query["question"],
                    query["answer"],
                    asked,
                )
            if normalise(query["answer"]) not in {"yes", "no"}:
                tally["entity_answers"] += 1
                texts["citewire"] = [shown_text(asked.answer)]
                for system, parts in texts.items():
                    found = contains_answer(" ".join(parts), [query["answer"]])
                    tally[f"{system}.contains_answer"] += found
                if asked.llm is not None:
                    found = contains_answer(asked.unchecked, [query["answer"]])
                    tally["baseline_llm.contains_answer"] += found
    figures = _Figures()
    for system, values in coverage.items():
        figures.mean(f"{system}.evidence_coverage", values)
    figures.share(
        "citewire.all_evidence_cited",
        tally["citewire.all_evidence_cited"],
        len(coverage["citewire"]),
    )
    llm_keys = ("baseline_llm.contains_answer",) if ctx.run.metered else ()
    figures.shares(tally, tally["entity_answers"], MULTIHOP_KEYS + llm_keys)
    scores = decline_scores(declined, [q["question_type"] == "null_query" for q in chosen])
    figures.value("citewire.decline_precision", scores.precision, scores.declined, "share")
    figures.value("citewire.decline_recall", scores.recall, scores.should_decline, "share")
    figures.share(
        "citewire.false_decline",
        scores.declined - scores.correct,
        len(chosen) - scores.should_decline,
    )
    protocol = (
        f"one index: {len(records)} articles made of the {len(facts)} evidence facts (the "
        "facts of one URL joined, with its title/source/url/published time)"
        f"{' + bbc_news distractors' if distractors else ''}; {stats.articles} articles, "
        f"{stats.passages} passages; as of {MULTIHOP_AS_OF:%Y-%m-%d}; sample: "
        f"{scores.should_decline} null + {len(chosen) - scores.should_decline} answerable "
        f"queries spread over types; a gold fact counts as cited when one quote covers >= "
        f"{FACT_CITED_SHARE:.0%} of it (longest shared stretch of normalised text); 'contains "
        "the gold answer' only for entity answers (not yes/no)"
    )
    return len(chosen), protocol, figures, notes


# --- 2c. RealTime QA -------------------------------------------------------------------------
RTQA_KEYS = (
    "citewire.contains_answer",
    "citewire.gold_cited",
    "citewire.declined",
    "retrieval.gold_in_evidence",
    "baseline_top1.contains_answer",
    "baseline_topk.contains_answer",
)
HELDOUT_KEYS = ("citewire.declined", "citewire.answered_without_answer", "citewire.leak")


def _end_of_day(date: str) -> datetime:
    day = datetime.strptime(date, "%Y/%m/%d").replace(tzinfo=UTC)
    return day + timedelta(days=1, seconds=-1)


def _answer_bearing(
    questions: Sequence[Mapping[str, Any]], records: Sequence[Mapping[str, Any]]
) -> list[tuple[Mapping[str, Any], set[str]]]:
    """The questions that can be held out, each with the doc ids to leave out: its gold
    articles and every article published by the question date that holds the answer string."""
    texts = [(r["doc_id"], r.get("publish_date") or "", normalise(r["text"])) for r in records]
    out = []
    for q in questions:
        patterns = [p for p in map(answer_pattern, q["answer_text"]) if p is not None]
        needles = [normalise(a) for a in q["answer_text"] if normalise(a)]
        bearing = {
            doc_id
            for doc_id, day, text in texts
            if day <= q["question_date"]
            # the plain `in` first: it rules out most articles far faster than the regex
            and any(n in text and p.search(text) for n, p in zip(needles, patterns, strict=True))
        }
        if len(bearing) <= MAX_ANSWER_BEARING:
            out.append((q, bearing | set(q["gold_doc_ids"])))
    return out


def _run_realtimeqa(ctx: _Context) -> tuple[int, str, _Figures, list[str]]:
    questions = [q for q in _read_jsonl(ctx.folder / "questions_2022.jsonl") if q["gold_doc_ids"]]
    chosen = spread(questions, ctx.limit)
    articles_path = ctx.folder / "articles_2022.jsonl"
    fields = FieldMap.parse("published=publish_date")
    tally: Counter[str] = Counter()
    with Engine(ctx.work / "realtimeqa", embedder=ctx.embedder) as engine:
        ctx.progress("realtimeqa: building the index")
        _ingest(engine, articles_path, fields)
        stats = engine.stats()
        by_record = _articles_by_record(engine)
        for number, q in enumerate(chosen, start=1):
            asked = ctx.run.ask(engine, q["question"], _end_of_day(q["question_date"]))
            answer, answers = asked.answer, q["answer_text"]
            gold = {by_record[d].group_id for d in q["gold_doc_ids"] if d in by_record}
            cited = engine.store.articles(
                [c.article_id for s in answer.sentences for c in s.citations]
            )
            flags = {
                "citewire.contains_answer": contains_answer(shown_text(answer), answers),
                "citewire.gold_cited": any(a.group_id in gold for a in cited.values()),
                "citewire.declined": answer.status == AnswerStatus.INSUFFICIENT_EVIDENCE,
                "retrieval.gold_in_evidence": any(
                    h.article.group_id in gold for h in asked.evidence
                ),
                "baseline_top1.contains_answer": contains_answer(
                    " ".join(h.passage.text for h in asked.evidence[:1]), answers
                ),
                "baseline_topk.contains_answer": contains_answer(
                    " ".join(h.passage.text for h in asked.evidence), answers
                ),
                "baseline_llm.contains_answer": contains_answer(asked.unchecked, answers),
            }
            tally.update(key for key, flag in flags.items() if flag)
            if not flags["citewire.contains_answer"]:
                ctx.run.example(
                    "realtimeqa: answer missed", q["question_id"], q["question"], answers[0], asked
                )
            if number % 25 == 0:
                ctx.progress(f"realtimeqa: {number}/{len(chosen)}")
    figures = _Figures()
    llm_keys = ("baseline_llm.contains_answer",) if ctx.run.metered else ()
    figures.shares(tally, len(chosen), RTQA_KEYS + llm_keys)
    ctx.run.common_figures(figures)

    # Held out: the same questions against an index without any article that is gold or holds
    # the answer by the question date. One index serves the whole batch: each question loses
    # all its answer-bearing articles, and the index a few hundred others.
    records = _read_jsonl(articles_path)
    held = spread(_answer_bearing(chosen, records), max(1, len(chosen) // 2))
    removed = set().union(*(ids for _, ids in held))
    held_run = _Run(ctx.run.writer)
    held_tally: Counter[str] = Counter()
    if held:
        ctx.progress(f"realtimeqa: building an index without {len(removed)} held-out articles")
        kept = (r for r in records if r["doc_id"] not in removed)
        with Engine(ctx.work / "realtimeqa-heldout", embedder=ctx.embedder) as engine:
            _ingest(engine, _write_jsonl(ctx.work / "heldout.jsonl", kept), fields)
            for q, _ in held:
                asked = held_run.ask(engine, q["question"], _end_of_day(q["question_date"]))
                if asked.answer.status == AnswerStatus.INSUFFICIENT_EVIDENCE:
                    held_tally["citewire.declined"] += 1
                elif contains_answer(shown_text(asked.answer), q["answer_text"]):
                    held_tally["citewire.leak"] += 1
                else:
                    held_tally["citewire.answered_without_answer"] += 1
                    ctx.run.example(
                        "realtimeqa held-out: answered",
                        q["question_id"],
                        q["question"],
                        "decline",
                        asked,
                    )
                # The model may know the answer from its training data, not from the index.
                held_tally["baseline_llm.leak"] += contains_answer(
                    asked.unchecked, q["answer_text"]
                )
    llm_keys = ("baseline_llm.leak",) if ctx.run.metered else ()
    figures.shares(held_tally, len(held), HELDOUT_KEYS + llm_keys, "heldout")
    held_run.common_figures(figures, "heldout")
    notes = [
        f"held out: {len(held)} of the {len(chosen)} questions, those whose answer string occurs "
        f"in at most {MAX_ANSWER_BEARING} articles published by the question date (commoner "
        "answers such as 'California' or '6' cannot be held out); their gold and "
        f"answer-bearing articles ({len(removed)} in all) are left out of a second index"
    ]
    protocol = (
        f"{stats.articles} articles ({stats.passages} passages) ingested from "
        "articles_2022.jsonl; questions with a gold article, spread over the weeks; as_of = the "
        "question date, end of day UTC; 'contains' = an answer_text option in the shown "
        "answer, normalised (case, quotes, whitespace), from a word start (see answer_pattern)"
    )
    return len(chosen), protocol, figures, notes


# --- 2. entry point --------------------------------------------------------------------------
def set_folder(set_name: str, data_dir: str | os.PathLike[str]) -> Path:
    """``data_dir`` may be the folder of all sets (``../shared/data``) or the set's own."""
    if set_name not in SET_FILES:
        raise ConfigError(
            f"unknown evaluation set {set_name!r}", hint=f"choose one of {', '.join(SETS)}"
        )
    root = Path(data_dir)
    folder = root / set_name if (root / set_name).is_dir() else root
    missing = [name for name in SET_FILES[set_name] if not (folder / name).is_file()]
    if missing:
        raise ConfigError(
            f"{set_name}: {', '.join(missing)} not found in {folder}",
            hint="point --data at the folder holding the sets (e.g. ../shared/data)",
        )
    return folder


def corpus_hashes(set_name: str, data_dir: str | os.PathLike[str]) -> dict[str, str]:
    """sha256 of each data file of a set (absent files are left out)."""
    root = Path(data_dir)
    folder = root / set_name if (root / set_name).is_dir() else root
    hashes = {}
    for name in SET_FILES[set_name]:
        path = folder / name
        if path.is_file():
            digest = hashlib.sha256()
            with path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
            hashes[name] = digest.hexdigest()
    return hashes


def run_eval(
    set_name: str,
    data_dir: str | os.PathLike[str],
    limit: int | None = None,
    home: str | os.PathLike[str] | None = None,
    writer: Writer | None = None,
    *,
    embedder: Embedder | None = None,
    progress: Progress | None = None,
) -> EvalReport:
    """Run one evaluation set and score it.

    ``limit``: how many questions (None: ``DEFAULT_LIMITS``; 0: all). ``home``: an existing
    index whose stored vectors are reused, read-only, so known passages are not embedded again:
    for ``realtimeqa`` an index of ``articles_2022.jsonl``; for ``multihop_rag_sample500`` an
    index of ``bbc_news/articles.jsonl``, which also turns the BBC articles into distractors
    (they are read from the ``bbc_news`` folder next to the set). ``writer``: the answer writer
    (None: extractive); a chat-model writer (``llm.ChatWriter``) is metered, and its unchecked
    first replies are scored as a baseline. Every index is built afresh in a temporary directory
    and deleted.
    """
    folder = set_folder(set_name, data_dir)
    limit = DEFAULT_LIMITS[set_name] if limit is None else limit
    say = progress or (lambda _: None)
    base = embedder or default_embedder()
    preload = stored_vectors(Path(home), base.name) if home is not None else {}
    if home is not None and not preload:
        say(f"no reusable vectors in {home}; embedding everything")
    cached = CachedEmbedder(base, preload)
    run = _Run(MeteredWriter(writer) if isinstance(writer, ChatWriter) else writer)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"citewire-eval-{set_name}-") as tmp:
        ctx = _Context(folder, limit, cached, run, Path(tmp), say)
        variant = ""
        if set_name == "rgb_en_fact":
            n, protocol, figures, notes = _run_rgb(ctx)
        elif set_name == "multihop_rag_sample500":
            bbc = folder.parent / "bbc_news" / "articles.jsonl"
            distractors = bbc if home is not None and bbc.is_file() else None
            variant = "bbc_news distractors" if distractors else "facts only"
            n, protocol, figures, notes = _run_multihop(ctx, distractors)
        else:
            n, protocol, figures, notes = _run_realtimeqa(ctx)
    if set_name != "realtimeqa":  # realtimeqa places them itself, before its held-out part
        run.common_figures(figures)
    if home is not None:
        notes.append(
            f"vectors reused from {home}: {len(preload)} passages; "
            f"{cached.model_texts} texts embedded by the model in this run"
        )
    if writer is not None and writer.name != "extractive":
        notes.append("an LLM writer that fails falls back to the extractive writer per answer")
    if run.metered:
        notes.append(UNCHECKED_NOTE)
    return EvalReport(
        set_name=set_name,
        writer=writer.name if writer is not None else "extractive",
        limit=limit,
        n_items=n,
        protocol=protocol,
        figures=tuple(figures.items),
        corpus=corpus_hashes(set_name, folder),
        notes=tuple(notes),
        examples=tuple(run.examples),
        seconds=time.perf_counter() - started,
        variant=variant,
    )


# --- 3. floors -------------------------------------------------------------------------------
# The figures the gate pins, and which way is good. Floors sit a margin below what was measured:
# the extractive writer is deterministic, but onnxruntime may change a vector's last bits across
# machines and flip a near-tie between two sentences; one flipped answer must not fail CI.
GATED: dict[str, dict[str, str]] = {
    "rgb_en_fact": {
        "citewire.conflict.contains_true": "min",
        "citewire.conflict.reports_conflict": "min",
        "citewire.clean.contains_true": "min",
        "citewire.clean.reports_conflict": "max",
        "citewire.support_shown": "min",
    },
    "multihop_rag_sample500": {
        "citewire.evidence_coverage": "min",
        "citewire.decline_recall": "min",
        "citewire.decline_precision": "min",
        "citewire.support_shown": "min",
    },
    "realtimeqa": {
        "citewire.contains_answer": "min",
        "citewire.gold_cited": "min",
        "citewire.heldout.declined": "min",
        "citewire.heldout.leak": "max",
        "citewire.support_shown": "min",
    },
}
FLOOR_MARGIN = 0.03


@dataclass(frozen=True)
class FloorCheck:
    key: str
    value: float | None
    bound: float
    kind: str  # "min" | "max"

    @property
    def passed(self) -> bool:
        if self.value is None:
            return False
        return self.value >= self.bound if self.kind == "min" else self.value <= self.bound


@dataclass(frozen=True)
class GateResult:
    set_name: str
    checked: bool
    reason: str  # why it was skipped, or ""
    checks: tuple[FloorCheck, ...] = ()

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)


def gate_skip_reason(
    set_name: str, data_dir: str | os.PathLike[str], pinned: Mapping[str, Any]
) -> str | None:
    """Why a set cannot be gated here (files absent or changed, nothing pinned), else None.
    Call it before running the set: a skipped set need not run at all."""
    entry = pinned.get("sets", {}).get(set_name)
    if entry is None:
        return "no floors pinned for this set"
    hashes = corpus_hashes(set_name, data_dir)
    for name, digest in entry["files"].items():
        if name not in hashes:
            return f"{name} is absent"
        if hashes[name] != digest:
            return f"{name} differs from the file the floors were measured on (sha256)"
    return None


def check_floors(report: EvalReport, pinned: Mapping[str, Any]) -> GateResult:
    entry = pinned.get("sets", {}).get(report.set_name)
    if entry is None:
        return GateResult(report.set_name, False, "no floors pinned for this set")
    for name, digest in entry["files"].items():
        if report.corpus.get(name) != digest:
            return GateResult(report.set_name, False, f"{name} absent or changed (sha256)")
    for setting in ("limit", "writer", "variant"):
        if entry.get(setting) != getattr(report, setting):
            return GateResult(
                report.set_name,
                False,
                f"floors were pinned with {setting}={entry.get(setting)!r}, "
                f"this run used {getattr(report, setting)!r}",
            )
    checks = []
    for key, bound in entry["floors"].items():
        figure = report.figure(key)
        checks.append(
            FloorCheck(key, figure.value if figure else None, bound["value"], bound["kind"])
        )
    return GateResult(report.set_name, True, "", tuple(checks))


def pin_floors(reports: Sequence[EvalReport], margin: float = FLOOR_MARGIN) -> dict[str, Any]:
    """A floors file from measured reports: each gated figure, moved by ``margin`` the lenient
    way (rounded to 3 decimals)."""
    sets: dict[str, Any] = {}
    for report in reports:
        floors = {}
        for key, kind in GATED[report.set_name].items():
            figure = report.figure(key)
            if figure is None or figure.value is None:
                continue
            bound = figure.value - margin if kind == "min" else figure.value + margin
            floors[key] = {"kind": kind, "value": round(min(1.0, max(0.0, bound)), 3)}
        sets[report.set_name] = {
            "files": dict(report.corpus),
            "limit": report.limit,
            "writer": report.writer,
            "variant": report.variant,
            "floors": floors,
        }
    return {
        "comment": "Pinned by `python bench/bench_answers.py --pin`; checked by --check.",
        "sets": sets,
    }
