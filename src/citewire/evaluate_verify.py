"""The verifier's measured accuracy: citation verification and claim audit on public sets.

The one scoring module behind ``citewire eval <set>`` for the verifier's sets and
``bench/bench_verify.py`` (the ``ask`` sets live in ``evaluate.py``).

1. Scoring: pure functions. ``binary_scores`` (accuracy, balanced accuracy, precision / recall /
   F1 of the "not supported" class: the class a verifier exists to catch), ``calibrate_threshold``
   (the threshold with the best balanced accuracy, preferring the current constant on a plateau),
   ``multiclass_scores`` (accuracy, macro-F1 and F1 per label) and ``audit_verdict``.
2. Pairs. Each citation set becomes (claim, evidence, supported?) pairs:
   - ``attributionbench``: claim ↔ its cited references; ``attributable`` is supported. ``dev``
     calibrates the thresholds; the report is on ``test_id`` (in-domain) and ``test_ood``.
   - ``wice``: a Wikipedia sentence ↔ the web article it cites (test split); only
     ``supported`` counts as supported (partial support is the failure to catch).
   - ``summedits_news``: a one- or two-sentence summary ↔ its news article (all 819 pairs).
   - ``climate_fever``: sentence level, claim ↔ one Wikipedia sentence (7,675 pairs);
     SUPPORTS is supported, REFUTES and NOT_ENOUGH_INFO are not.
   Evidence longer than ``MAX_EVIDENCE_WORDS`` is cut to its sentences sharing most words with
   the claim (in their order), for every layer alike: citewire cites passages, not whole pages,
   and a local judge cannot read a 1,000-word page per claim in useful time.
3. Layers, each scored on the same pairs in the same run: the majority class; a plain
   word-overlap baseline (share of the claim's words, lower-cased, stopwords out, found in the
   evidence); ``check_support`` with no model (extractive, facts, content-word recall); with the
   MiniLM cosine (the best of the evidence's ~100-word chunks); with an LLM judge, on a sample
   (``judge_limit`` pairs; the other configurations are scored again on that sample). Speed is
   pairs per second of each layer's own work (embedding included).
4. Claim audit (``averitec_dev``, ``politihop``): every evidence passage of a claim is checked;
   ``audit_verdict`` turns the checks into supported / refuted / conflicting / not enough info,
   scored by accuracy and macro-F1 against the sets' verdicts.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from citewire.chunk import split_sentences
from citewire.embed import Embedder, default_embedder
from citewire.errors import ConfigError
from citewire.evaluate import EvalReport, Figure
from citewire.models import Check
from citewire.retrieve import STOPWORDS
from citewire.verify import (
    EMBED_THRESHOLD,
    JUDGE_THRESHOLD,
    OVERLAP_THRESHOLD,
    Judge,
    check_support,
    contradictions,
)

__all__ = [
    "AUDIT_SETS",
    "CITATION_SETS",
    "VERIFY_SETS",
    "BinaryScores",
    "Calibration",
    "MultiScores",
    "Pair",
    "audit_verdict",
    "binary_scores",
    "calibrate",
    "calibrate_threshold",
    "focus_evidence",
    "load_pairs",
    "multiclass_scores",
    "run_verify_eval",
    "word_overlap",
]

VERIFY_SET_FILES: dict[str, tuple[str, ...]] = {
    "attributionbench": ("dev.jsonl", "test_id_sampled500.jsonl", "test_ood.jsonl"),
    "wice": ("claim_test.jsonl",),
    "summedits_news": ("docs.jsonl", "pairs.jsonl"),
    "climate_fever": ("climate-fever.jsonl",),
    "averitec_dev": ("dev.jsonl",),
    "politihop": ("politihop_test.jsonl",),
}
CITATION_SETS = ("attributionbench", "wice", "summedits_news", "climate_fever")
AUDIT_SETS = ("averitec_dev", "politihop")
VERIFY_SETS = CITATION_SETS + AUDIT_SETS
# The parts of a set that are reported (attributionbench's dev split only calibrates).
REPORT_PARTS = {"attributionbench": ("test_id", "test_ood")}
AB_FILES = {
    "dev": "dev.jsonl",
    "test_id": "test_id_sampled500.jsonl",
    "test_ood": "test_ood.jsonl",
}
# Judge samples sized for ~10-20 minutes a set with the Qwen 1.5B judge on two cores (see
# docs/benchmarks.md for the measured pairs/s); an OpenAI-compatible server may take more.
DEFAULT_JUDGE_LIMIT = 60
MAX_EVIDENCE_WORDS = 300
CHUNK_WORDS = 100  # embedding chunks: about one citewire passage
SAMPLE_SEED = 20261129
# The word-overlap baseline's threshold, calibrated like the verifier's on the AttributionBench
# dev split (bench_verify.py --calibrate: balanced accuracy 0.640 at 0.5, 0.660 at 0.59).
BASELINE_OVERLAP_THRESHOLD = 0.59
# Thresholds whose balanced accuracy is within this of the best are not told apart (at least two
# flipped pairs of the smaller class; ~0.005 on the 1,198-pair dev split).
CALIBRATION_TOLERANCE = 0.005

Progress = Callable[[str], None]


# --- 1. scoring ------------------------------------------------------------------------------
@dataclass(frozen=True)
class BinaryScores:
    """Scores of a supported / not supported decision; the positive class is "not supported"."""

    n: int
    not_supported: int  # gold count of the positive class
    accuracy: float
    balanced_accuracy: float
    precision: float  # of the "not supported" class
    recall: float
    f1: float


def binary_scores(
    predicted_supported: Sequence[bool], gold_supported: Sequence[bool]
) -> BinaryScores:
    """Balanced accuracy = mean of the recalls of both classes (0.5 for any constant guess);
    F1 of the "not supported" class (0 when it is never predicted or never present)."""
    if len(predicted_supported) != len(gold_supported):
        raise ValueError("predictions and gold labels differ in length")
    n = len(gold_supported)
    pairs = list(zip(predicted_supported, gold_supported, strict=True))
    tp = sum(1 for p, g in pairs if not p and not g)  # caught an unsupported claim
    fp = sum(1 for p, g in pairs if not p and g)
    fn = sum(1 for p, g in pairs if p and not g)
    tn = sum(1 for p, g in pairs if p and g)
    recall_neg = tp / (tp + fn) if tp + fn else 0.0
    recall_pos = tn / (tn + fp) if tn + fp else 0.0
    present = [r for r, count in ((recall_neg, tp + fn), (recall_pos, tn + fp)) if count]
    precision = tp / (tp + fp) if tp + fp else 0.0
    f1 = 2 * precision * recall_neg / (precision + recall_neg) if precision + recall_neg else 0.0
    return BinaryScores(
        n=n,
        not_supported=tp + fn,
        accuracy=(tp + tn) / n if n else 0.0,
        balanced_accuracy=sum(present) / len(present) if present else 0.0,
        precision=precision,
        recall=recall_neg,
        f1=f1,
    )


@dataclass(frozen=True)
class Calibration:
    layer: str
    current: float  # the constant in verify.py
    chosen: float  # the calibrated threshold
    balanced_accuracy: float  # at ``chosen``
    current_balanced_accuracy: float
    best_balanced_accuracy: float
    plateau: tuple[float, float]  # thresholds within the tolerance of the best
    n: int


def calibrate_threshold(
    scores: Sequence[float],
    gold_supported: Sequence[bool],
    current: float,
    *,
    layer: str = "",
    grid: Sequence[float] | None = None,
    tolerance: float | None = None,
) -> Calibration:
    """The threshold t (predict supported when score >= t) with the best balanced accuracy.

    Thresholds within ``tolerance`` of the best (default: two flipped pairs of the smaller class,
    at least ``CALIBRATION_TOLERANCE``) are a plateau that the data cannot tell apart;
    on it, the one nearest ``current`` is chosen, so a prior is kept unless the data beats it.
    A score below 0 (facts failed) is never supported, whatever the threshold.
    """
    candidates = sorted({*(grid or [i / 100 for i in range(101)]), current})
    values = np.asarray(scores, dtype=np.float64)
    if tolerance is None:
        smaller = min(sum(gold_supported), len(gold_supported) - sum(gold_supported)) or 1
        tolerance = max(CALIBRATION_TOLERANCE, 1 / smaller)  # two flips move it 2 * 1/(2 n)
    results = []
    for t in candidates:
        predicted = [bool(v) for v in (values >= t) & (values >= 0)]
        results.append((t, binary_scores(predicted, gold_supported).balanced_accuracy))
    best = max(ba for _, ba in results)
    near = [t for t, ba in results if ba >= best - tolerance]
    chosen = min(near, key=lambda t: (abs(t - current), t))
    at = dict(results)
    return Calibration(
        layer=layer,
        current=current,
        chosen=chosen,
        balanced_accuracy=at[chosen],
        current_balanced_accuracy=at[current],
        best_balanced_accuracy=best,
        plateau=(min(near), max(near)),
        n=len(values),
    )


@dataclass(frozen=True)
class MultiScores:
    n: int
    accuracy: float
    macro_f1: float
    f1: dict[str, float] = field(default_factory=dict)  # per label


def multiclass_scores(
    predicted: Sequence[str], gold: Sequence[str], labels: Sequence[str]
) -> MultiScores:
    """Accuracy, and F1 per label of ``labels`` with their unweighted mean (macro-F1)."""
    if len(predicted) != len(gold):
        raise ValueError("predictions and gold labels differ in length")
    n = len(gold)
    per_label = {}
    for label in labels:
        tp = sum(1 for p, g in zip(predicted, gold, strict=True) if p == label and g == label)
        fp = sum(1 for p, g in zip(predicted, gold, strict=True) if p == label and g != label)
        fn = sum(1 for p, g in zip(predicted, gold, strict=True) if p != label and g == label)
        per_label[label] = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    correct = sum(1 for p, g in zip(predicted, gold, strict=True) if p == g)
    return MultiScores(
        n=n,
        accuracy=correct / n if n else 0.0,
        macro_f1=sum(per_label.values()) / len(labels) if labels else 0.0,
        f1=per_label,
    )


VERDICTS = ("supported", "refuted", "conflicting", "not_enough_info")


def audit_verdict(checks: Iterable[Check]) -> str:
    """One claim's verdict from the checks of its evidence passages: supported when a passage
    supports it, refuted when one contradicts it (a different number or date, a negation flip),
    conflicting when both happen, else not enough information."""
    supported = refuted = False
    for check in checks:
        supported |= check.passed
        refuted |= bool(contradictions(check))
    if supported and refuted:
        return "conflicting"
    return "supported" if supported else "refuted" if refuted else "not_enough_info"


_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")


def _content_words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in STOPWORDS]


def word_overlap(claim: str, evidence: str) -> float:
    """The baseline: share of the claim's words (lower-cased, stopwords out) in the evidence."""
    words = _content_words(claim)
    if not words:
        return 0.0
    present = set(_content_words(evidence))
    return sum(1 for w in words if w in present) / len(words)


def focus_evidence(claim: str, evidence: str, max_words: int = MAX_EVIDENCE_WORDS) -> str:
    """``evidence`` itself when it has at most ``max_words`` words, else its sentences sharing
    most words with the claim, up to ``max_words`` words, in their original order."""
    if len(evidence.split()) <= max_words:
        return evidence
    claim_words = set(_content_words(claim))
    sentences = [evidence[s:e] for s, e in split_sentences(evidence)]
    ranked = sorted(
        range(len(sentences)),
        key=lambda i: (-len(claim_words & set(_content_words(sentences[i]))), i),
    )
    chosen: list[int] = []
    words = 0
    for i in ranked:
        length = len(sentences[i].split())
        if words + length > max_words and chosen:
            continue
        chosen.append(i)
        words += length
        if words >= max_words:
            break
    return " ".join(sentences[i] for i in sorted(chosen))


def _chunks(text: str, words: int = CHUNK_WORDS) -> list[str]:
    """Sentence-aligned pieces of about ``words`` words (a long sentence is a piece alone)."""
    pieces: list[str] = []
    current: list[str] = []
    count = 0
    for start, end in split_sentences(text):
        sentence = text[start:end]
        length = len(sentence.split())
        if current and count + length > words:
            pieces.append(" ".join(current))
            current, count = [], 0
        current.append(sentence)
        count += length
    if current:
        pieces.append(" ".join(current))
    return pieces or [text]


# --- 2. pairs --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Pair:
    pair_id: str
    claim: str
    evidence: str  # already focused (see focus_evidence)
    supported: bool
    group: str = ""  # pairs with the same group share their evidence (judge prefix reuse)
    subset: str = ""


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _pair(pair_id: str, claim: str, evidence: str, supported: bool, **rest: str) -> Pair:
    return Pair(pair_id, claim, focus_evidence(claim, evidence), supported, **rest)


def load_pairs(set_name: str, folder: Path, part: str = "") -> list[Pair]:
    """The (claim, evidence, supported) pairs of a citation set (``part``: attributionbench's
    dev / test_id / test_ood)."""
    if set_name == "attributionbench":
        records = _read_jsonl(folder / AB_FILES[part or "test_id"])
        return [
            _pair(
                str(r.get("id", i)),
                r["claim"],
                "\n\n".join(r.get("references") or []),
                r["attribution_label"] == "attributable",
                group=f"ab{i}",
                subset=str(r.get("src_dataset", "")),
            )
            for i, r in enumerate(records)
        ]
    if set_name == "wice":
        records = _read_jsonl(folder / "claim_test.jsonl")
        return [
            _pair(
                str(r.get("meta", {}).get("id", i)),
                r["claim"],
                "\n".join(s for s in r["evidence"] if not s.startswith("(meta data)")),
                r["label"] == "supported",
                group=f"wice{i}",
                subset=r["label"],
            )
            for i, r in enumerate(records)
        ]
    if set_name == "summedits_news":
        docs = {d["doc_id"]: d["text"] for d in _read_jsonl(folder / "docs.jsonl")}
        return [
            _pair(
                r["id"],
                r["summary"],
                docs[r["doc_id"]],
                int(r["label"]) == 1,
                group=r["doc_id"],
                subset=",".join(r.get("edit_types") or []) or "unedited",
            )
            for r in _read_jsonl(folder / "pairs.jsonl")
        ]
    if set_name == "climate_fever":
        pairs = []
        for r in _read_jsonl(folder / "climate-fever.jsonl"):
            for e in r["evidences"]:
                pairs.append(
                    _pair(
                        f"{r['claim_id']}/{e['evidence_id']}",
                        r["claim"],
                        e["evidence"],
                        e["evidence_label"] == "SUPPORTS",
                        group=e["evidence_id"],
                        subset=e["evidence_label"],
                    )
                )
        return pairs
    raise ConfigError(f"{set_name} is not a citation set", hint=f"use one of {CITATION_SETS}")


# --- 3. layers -------------------------------------------------------------------------------
@dataclass
class _Scored:
    """Per pair: each configuration's decision and continuous score (-1: facts failed)."""

    pairs: list[Pair]
    overlap: list[float]
    deterministic: list[Check]
    embedding: list[Check]
    similarity: list[float]
    seconds: dict[str, float]


def _similarities(embedder: Embedder, pairs: Sequence[Pair]) -> list[float]:
    """Cosine of the claim and the best-matching ~100-word chunk of its evidence."""
    chunked = [_chunks(p.evidence) if p.evidence.strip() else [""] for p in pairs]
    texts = sorted({p.claim for p in pairs} | {c for chunks in chunked for c in chunks})
    vectors = embedder.embed(texts)
    row = {text: i for i, text in enumerate(texts)}
    out = []
    for pair, chunks in zip(pairs, chunked, strict=True):
        claim = vectors[row[pair.claim]]
        out.append(max(float(vectors[row[c]] @ claim) for c in chunks) if pair.evidence else 0.0)
    return out


def _score(pairs: list[Pair], embedder: Embedder | None) -> _Scored:
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    overlap = [word_overlap(p.claim, p.evidence) for p in pairs]
    seconds["overlap"] = time.perf_counter() - started
    started = time.perf_counter()
    deterministic = [check_support(p.claim, p.evidence) for p in pairs]
    seconds["deterministic"] = time.perf_counter() - started
    similarity: list[float] = []
    embedding: list[Check] = []
    if embedder is not None:
        started = time.perf_counter()
        similarity = _similarities(embedder, pairs)
        embedding = [
            check_support(p.claim, p.evidence, embed_similarity=s)
            for p, s in zip(pairs, similarity, strict=True)
        ]
        seconds["embedding"] = time.perf_counter() - started
    return _Scored(pairs, overlap, deterministic, embedding, similarity, seconds)


def _facts_agree(check: Check) -> bool:
    """Did the facts layer let the pair through? For a check made with a similarity or a judge:
    only a fact mismatch leaves the layer at "deterministic"."""
    return check.layer != "deterministic"


def _judge_checks(judge: Judge, pairs: Sequence[Pair], say: Progress) -> tuple[list[Check], float]:
    started = time.perf_counter()
    checks = []
    for n, pair in enumerate(pairs, 1):
        checks.append(check_support(pair.claim, pair.evidence, judge=judge))
        if n % 10 == 0:
            rate = n / (time.perf_counter() - started)
            say(f"  judge: {n}/{len(pairs)} pairs ({rate:.2f} pairs/s)")
    return checks, time.perf_counter() - started


def _sample(pairs: Sequence[Pair], k: int, grouped: bool) -> list[int]:
    """``k`` pair indices drawn with a fixed seed, ordered by group so a judge reuses each
    passage; ``grouped``: draw whole groups (all claims about one article) until ``k``."""
    rng = random.Random(SAMPLE_SEED)
    if k >= len(pairs):
        chosen = list(range(len(pairs)))
    elif grouped:
        groups: dict[str, list[int]] = {}
        for i, p in enumerate(pairs):
            groups.setdefault(p.group, []).append(i)
        order = sorted(groups)
        rng.shuffle(order)
        chosen = []
        for name in order:
            if len(chosen) >= k:
                break
            chosen += groups[name]
    else:
        chosen = rng.sample(range(len(pairs)), k)
    return sorted(chosen, key=lambda i: (pairs[i].group, i))


# --- report figures --------------------------------------------------------------------------
class _Figures:
    def __init__(self) -> None:
        self.items: list[Figure] = []

    def binary(self, system: str, label: str, scores: BinaryScores, tag: str) -> None:
        prefix = f"[{tag}] " if tag else ""
        key = f"{system}.{tag}." if tag else f"{system}."
        self.items.append(
            Figure(
                key + "balanced_accuracy",
                f"{prefix}{label}: balanced accuracy",
                scores.balanced_accuracy,
                scores.n,
            )
        )
        self.items.append(
            Figure(
                key + "f1_not_supported",
                f"{prefix}{label}: F1 of not supported",
                scores.f1,
                scores.not_supported,
            )
        )

    def speed(self, system: str, label: str, n: int, seconds: float, tag: str) -> None:
        prefix = f"[{tag}] " if tag else ""
        key = f"{system}.{tag}.pairs_per_second" if tag else f"{system}.pairs_per_second"
        value = n / seconds if seconds > 0 else None
        self.items.append(Figure(key, f"{prefix}{label}: pairs/s", value, n, unit="pairs/s"))

    def multi(self, system: str, label: str, scores: MultiScores, tag: str = "") -> None:
        prefix = f"[{tag}] " if tag else ""
        key = f"{system}.{tag}." if tag else f"{system}."
        self.items.append(
            Figure(key + "accuracy", f"{prefix}{label}: accuracy", scores.accuracy, scores.n)
        )
        self.items.append(
            Figure(key + "macro_f1", f"{prefix}{label}: macro-F1", scores.macro_f1, scores.n)
        )
        for verdict, f1 in scores.f1.items():
            self.items.append(
                Figure(key + f"f1.{verdict}", f"{prefix}{label}:   F1 {verdict}", f1, scores.n)
            )


_LAYER_LABELS = {
    "majority": "majority class",
    "overlap": "word-overlap baseline",
    "deterministic": "verifier, no model",
    "embedding": "verifier + embeddings",
}


def _citation_figures(
    figures: _Figures,
    scored: _Scored,
    indices: Sequence[int],
    tag: str,
    judged: tuple[str, list[Check], float] | None = None,
) -> None:
    pairs = [scored.pairs[i] for i in indices]
    gold = [p.supported for p in pairs]
    majority = Counter(gold).most_common(1)[0][0] if gold else True
    decisions: dict[str, list[bool]] = {
        "majority": [majority] * len(pairs),
        "overlap": [scored.overlap[i] >= BASELINE_OVERLAP_THRESHOLD for i in indices],
        "deterministic": [scored.deterministic[i].passed for i in indices],
    }
    if scored.embedding:
        decisions["embedding"] = [scored.embedding[i].passed for i in indices]
    for system, predicted in decisions.items():
        figures.binary(system, _LAYER_LABELS[system], binary_scores(predicted, gold), tag)
    if judged is not None:
        name, checks, _ = judged
        figures.binary(
            "judge", f"verifier + {name}", binary_scores([c.passed for c in checks], gold), tag
        )
    share = len(indices) / len(scored.pairs) if scored.pairs else 0.0
    for system in ("overlap", "deterministic", "embedding"):
        if system in scored.seconds:
            figures.speed(
                system, _LAYER_LABELS[system], len(pairs), scored.seconds[system] * share, tag
            )
    if judged is not None:
        figures.speed("judge", f"verifier + {judged[0]}", len(pairs), judged[2], tag)


# --- 4. entry points -------------------------------------------------------------------------
def verify_set_folder(set_name: str, data_dir: str | os.PathLike[str]) -> Path:
    if set_name not in VERIFY_SET_FILES:
        raise ConfigError(
            f"unknown verifier evaluation set {set_name!r}",
            hint=f"choose one of {', '.join(VERIFY_SETS)}",
        )
    root = Path(data_dir)
    folder = root / set_name if (root / set_name).is_dir() else root
    missing = [name for name in VERIFY_SET_FILES[set_name] if not (folder / name).is_file()]
    if missing:
        raise ConfigError(
            f"{set_name}: {', '.join(missing)} not found in {folder}",
            hint="point --data at the folder holding the sets (e.g. ../shared/data)",
        )
    return folder


def _hashes(folder: Path, names: Iterable[str]) -> dict[str, str]:
    out = {}
    for name in names:
        digest = hashlib.sha256()
        with (folder / name).open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        out[name] = digest.hexdigest()
    return out


def _limited(pairs: list[Pair], limit: int | None) -> list[Pair]:
    if not limit or limit >= len(pairs):
        return pairs
    return [pairs[i] for i in sorted(_sample(pairs, limit, grouped=False))]


def run_verify_eval(
    set_name: str,
    data_dir: str | os.PathLike[str],
    limit: int | None = None,
    *,
    judge: Judge | None = None,
    judge_limit: int | None = None,
    embedder: Embedder | None = None,
    progress: Progress | None = None,
) -> EvalReport:
    """Score the verifier's layers on one set (see the module docstring).

    ``limit``: pairs (claims, for the audit sets) per reported part, drawn with a fixed seed
    (None or 0: all). ``judge``: scored on ``judge_limit`` of them (default
    ``DEFAULT_JUDGE_LIMIT``). ``embedder``: None for the default MiniLM model.
    """
    folder = verify_set_folder(set_name, data_dir)
    say = progress or (lambda _: None)
    embedder = embedder or default_embedder()
    k = DEFAULT_JUDGE_LIMIT if judge_limit is None else judge_limit
    started = time.perf_counter()
    figures = _Figures()
    notes: list[str] = [
        f"thresholds (verify.py): overlap {OVERLAP_THRESHOLD}, embedding {EMBED_THRESHOLD}, "
        f"judge {JUDGE_THRESHOLD}; word-overlap baseline {BASELINE_OVERLAP_THRESHOLD}",
        f"evidence over {MAX_EVIDENCE_WORDS} words is cut to its sentences sharing most words "
        "with the claim, for every layer",
    ]
    if set_name in AUDIT_SETS:
        n = _run_audit(set_name, folder, limit, judge, k, embedder, figures, notes, say)
        protocol = (
            "claim + the set's evidence passages -> supported / refuted / conflicting / not "
            "enough info (audit_verdict over check_support of each passage)"
        )
    else:
        n = 0
        for part in REPORT_PARTS.get(set_name, ("",)):
            pairs = _limited(load_pairs(set_name, folder, part), limit)
            say(f"{set_name}{' ' + part if part else ''}: scoring {len(pairs)} pairs")
            scored = _score(pairs, embedder)
            _citation_figures(figures, scored, range(len(pairs)), part)
            n += len(pairs)
            if judge is not None and k > 0:
                indices = _sample(pairs, k, grouped=set_name == "summedits_news")
                say(f"{set_name}{' ' + part if part else ''}: judging {len(indices)} pairs")
                checks, seconds = _judge_checks(judge, [pairs[i] for i in indices], say)
                tag = f"{part}.sample" if part else "sample"
                _citation_figures(figures, scored, indices, tag, (judge.name, checks, seconds))
                notes.append(
                    f"{tag}: {len(indices)} pairs drawn with seed {SAMPLE_SEED}"
                    + (" (whole articles)" if set_name == "summedits_news" else "")
                )
        protocol = (
            "claim + cited evidence -> supported / not supported; positive class: not "
            "supported; majority class and word-overlap baseline in the same run"
        )
    return EvalReport(
        set_name=set_name,
        writer="verifier",
        limit=limit,
        n_items=n,
        protocol=protocol,
        figures=tuple(figures.items),
        corpus=_hashes(folder, VERIFY_SET_FILES[set_name]),
        notes=tuple(notes),
        seconds=time.perf_counter() - started,
        variant=f"judge {judge.name} on {k}" if judge is not None else "",
    )


# --- claim audit -----------------------------------------------------------------------------
AVERITEC_LABELS = {
    "Supported": "supported",
    "Refuted": "refuted",
    "Conflicting Evidence/Cherrypicking": "conflicting",
    "Not Enough Evidence": "not_enough_info",
}
# PolitiHop's three labels; half-true ("partly right, partly wrong") is scored as conflicting.
POLITIHOP_LABELS = {"true": "supported", "false": "refuted", "half-true": "conflicting"}
RULING_SENTENCES_PER_PASSAGE = 3


@dataclass(frozen=True)
class AuditItem:
    item_id: str
    claim: str
    passages: tuple[str, ...]
    verdict: str  # one of VERDICTS


def load_audit_items(set_name: str, folder: Path) -> list[AuditItem]:
    items = []
    if set_name == "averitec_dev":
        for r in _read_jsonl(folder / "dev.jsonl"):
            passages = []
            for q in r.get("questions") or []:
                for a in q.get("answers") or []:
                    if a.get("answer_type") == "Unanswerable":
                        continue
                    text = " ".join(
                        part
                        for part in (q["question"], a.get("answer"), a.get("boolean_explanation"))
                        if part
                    )
                    passages.append(text)
            items.append(
                AuditItem(
                    str(r["claim_id"]), r["claim"], tuple(passages), AVERITEC_LABELS[r["label"]]
                )
            )
    elif set_name == "politihop":
        for r in _read_jsonl(folder / "politihop_test.jsonl"):
            sentences = r["ruling_sentences"]
            step = RULING_SENTENCES_PER_PASSAGE
            passages = [" ".join(sentences[i : i + step]) for i in range(0, len(sentences), step)]
            items.append(
                AuditItem(
                    str(r["article_id"]),
                    r["statement"],
                    tuple(passages),
                    POLITIHOP_LABELS[r["annotated_label"]],
                )
            )
    return items


def _run_audit(
    set_name: str,
    folder: Path,
    limit: int | None,
    judge: Judge | None,
    judge_limit: int,
    embedder: Embedder,
    figures: _Figures,
    notes: list[str],
    say: Progress,
) -> int:
    items = load_audit_items(set_name, folder)
    if limit and limit < len(items):
        items = [
            items[i] for i in sorted(random.Random(SAMPLE_SEED).sample(range(len(items)), limit))
        ]
    say(f"{set_name}: auditing {len(items)} claims")
    flat = [
        Pair(f"{item.item_id}/{j}", item.claim, focus_evidence(item.claim, passage), True)
        for item in items
        for j, passage in enumerate(item.passages)
    ]
    scored = _score(flat, embedder)
    gold = [item.verdict for item in items]
    labels = sorted(set(gold), key=VERDICTS.index)
    owners = [p.pair_id.rsplit("/", 1)[0] for p in flat]

    def verdicts(checks: Sequence[Check], subset: Sequence[AuditItem]) -> list[str]:
        by_item: dict[str, list[Check]] = {}
        for owner, check in zip(owners, checks, strict=True):
            by_item.setdefault(owner, []).append(check)
        return [audit_verdict(by_item.get(item.item_id, [])) for item in subset]

    majority = Counter(gold).most_common(1)[0][0]
    figures.multi(
        "majority", "majority class", multiclass_scores([majority] * len(gold), gold, labels)
    )
    figures.multi(
        "deterministic",
        "verifier, no model",
        multiclass_scores(verdicts(scored.deterministic, items), gold, labels),
    )
    figures.multi(
        "embedding",
        "verifier + embeddings",
        multiclass_scores(verdicts(scored.embedding, items), gold, labels),
    )
    predicted = Counter(verdicts(scored.embedding, items))
    notes.append(
        "verdicts given (verifier + embeddings): "
        + ", ".join(f"{v} {predicted.get(v, 0)}" for v in VERDICTS)
        + "; gold: "
        + ", ".join(f"{v} {gold.count(v)}" for v in labels)
    )
    notes.append(f"{len(flat)} evidence passages for {len(items)} claims")
    figures.speed(
        "deterministic", "verifier, no model", len(flat), scored.seconds["deterministic"], ""
    )
    figures.speed("embedding", "verifier + embeddings", len(flat), scored.seconds["embedding"], "")
    if judge is not None and judge_limit > 0:
        chosen = sorted(
            random.Random(SAMPLE_SEED).sample(range(len(items)), min(judge_limit, len(items)))
        )
        sample = [items[i] for i in chosen]
        wanted = {item.item_id for item in sample}
        idx = [i for i, owner in enumerate(owners) if owner in wanted]
        say(f"{set_name}: judging {len(sample)} claims ({len(idx)} passages)")
        checks, seconds = _judge_checks(judge, [flat[i] for i in idx], say)
        sample_gold = [item.verdict for item in sample]
        sub_owners = [owners[i] for i in idx]
        by_item: dict[str, list[Check]] = {}
        for owner, check in zip(sub_owners, checks, strict=True):
            by_item.setdefault(owner, []).append(check)
        judged = [audit_verdict(by_item.get(item.item_id, [])) for item in sample]
        for system, label, source in (
            ("deterministic", "verifier, no model", scored.deterministic),
            ("embedding", "verifier + embeddings", scored.embedding),
        ):
            figures.multi(
                system,
                label,
                multiclass_scores(verdicts(source, sample), sample_gold, labels),
                "sample",
            )
        figures.multi(
            "judge",
            f"verifier + {judge.name}",
            multiclass_scores(judged, sample_gold, labels),
            "sample",
        )
        figures.speed("judge", f"verifier + {judge.name}", len(idx), seconds, "sample")
        notes.append(f"sample: {len(sample)} claims drawn with seed {SAMPLE_SEED}")
    return len(items)


# --- calibration -----------------------------------------------------------------------------
def calibrate(
    data_dir: str | os.PathLike[str],
    *,
    embedder: Embedder | None = None,
    judge: Judge | None = None,
    judge_limit: int = DEFAULT_JUDGE_LIMIT,
    progress: Progress | None = None,
) -> list[Calibration]:
    """Thresholds calibrated on the AttributionBench dev split only (never a test split):
    the baseline's overlap share, the recall, cosine and judge thresholds of verify.py."""
    say = progress or (lambda _: None)
    folder = verify_set_folder("attributionbench", data_dir)
    pairs = load_pairs("attributionbench", folder, "dev")
    say(f"calibration: {len(pairs)} attributionbench dev pairs")
    scored = _score(pairs, embedder or default_embedder())
    gold = [p.supported for p in pairs]
    agree = [_facts_agree(c) for c in scored.embedding]
    out = [
        calibrate_threshold(scored.overlap, gold, BASELINE_OVERLAP_THRESHOLD, layer="baseline"),
        calibrate_threshold(
            [c.score if ok else -1.0 for c, ok in zip(scored.deterministic, agree, strict=True)],
            gold,
            OVERLAP_THRESHOLD,
            layer="overlap",
        ),
        calibrate_threshold(
            [
                (1.0 if c.layer == "extractive" else s) if ok else -1.0
                for c, s, ok in zip(scored.embedding, scored.similarity, agree, strict=True)
            ],
            gold,
            EMBED_THRESHOLD,
            layer="embedding",
        ),
    ]
    if judge is not None and judge_limit > 0:
        indices = _sample(pairs, judge_limit, grouped=False)
        say(f"calibration: judging {len(indices)} dev pairs")
        checks, _ = _judge_checks(judge, [pairs[i] for i in indices], say)
        out.append(
            calibrate_threshold(
                [
                    (1.0 if c.layer == "extractive" else c.score) if agree[i] else -1.0
                    for i, c in zip(indices, checks, strict=True)
                ],
                [gold[i] for i in indices],
                JUDGE_THRESHOLD,
                layer="judge",
            )
        )
    return out
