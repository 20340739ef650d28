"""Audit an answer written elsewhere: which of its claims the indexed sources support, and
which of its listed references are in the index, relevant, and used.

1. ``audit_input.parse_answer`` reads the answer (text, Markdown, JSON or HTML) into its
   question, claims and listed references; with a model, ``ModelSplitter`` splits compound
   sentences into atomic claims.
2. ``Auditor.audit`` matches each listed reference to an indexed article (by URL, then by
   title), then checks each claim against the passages that could decide it — the articles its
   own markers point at first, then the best of a search of the whole index — with the same
   verifier that checks ``citewire ask`` (``verify.check_support``).
3. Each claim gets one label (``ClaimLabel``):
   - supported: some passage passes the check (the evidence is cited);
   - contradicted: no passage supports it, and a passage about the same thing states a
     different number or date, or the opposite (the verifier's contradiction reasons);
   - opinion: no passage supports it and it holds nothing checkable (no number, date, name or
     quotation) — framing and judgement, reported as such rather than as "unsupported";
   - not_found: everything else. The closest passage is shown, with why it does not support it.
   Never "supported" without a cited passage that passed the check.
4. References: relevant when a claim's evidence comes from it, or when what it is (the matched
   article's headline and lead, else the entry's own words) is close in meaning to the question
   (cosine ≥ ``REFERENCE_RELEVANCE``, the same bar the extractive writer sets for a sentence to
   be about the question); "uncertain" when only a listed title was there to judge and it is
   neither close nor far. References no claim points at or draws support from are called out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Protocol

import numpy as np
import numpy.typing as npt

from citewire.answer import numbered_references
from citewire.audit_input import (
    LIST_ITEM,
    SHORT_CLAIM_WORDS,
    ParsedAnswer,
    ParsedClaim,
    ParsedReference,
)
from citewire.chunk import split_sentences
from citewire.embed import Embedder
from citewire.errors import LLMError
from citewire.extractive import MIN_SIMILARITY
from citewire.ingest import article_id, canonical_url
from citewire.models import (
    Article,
    Audit,
    AuditClaim,
    AuditReference,
    Citation,
    ClaimEvidence,
    ClaimLabel,
    Passage,
    Reference,
    Relevance,
    SearchFilters,
)
from citewire.retrieve import MAX_QUERY_CHARS, Retriever, query_terms
from citewire.store import Store
from citewire.verify import Judge, check_support, contradictions, facts, quote_hash

__all__ = [
    "MAX_CLAIMS",
    "REFERENCE_RELEVANCE",
    "Auditor",
    "ClaimSplitter",
    "ModelSplitter",
]

# Each claim costs a search and embeddings of the sentences it is compared with (~1 s a claim on
# a busy 2-core machine, bench/bench_audit.py); past this the report would take minutes more, so
# the rest is listed as not checked.
MAX_CLAIMS = 200
CLAIM_SEARCH_K = 6  # stories searched per claim, besides the articles its markers name
EVIDENCE_SHOWN = 3  # passages shown per supported or contradicted claim
EVIDENCE_MARGIN = 0.1  # ... each within this much of the best one's support score
# A contradiction counts only from a passage about the same thing: a different number in an
# unrelated sentence says nothing about the claim.
CONTRADICTION_SIMILARITY = 0.6
JUDGED_SPANS = 3  # with a model judge, only the spans closest to the claim are checked
REFERENCE_RELEVANCE = MIN_SIMILARITY
# A reference judged by its listed title alone (it is not in the index) scoring between this and
# REFERENCE_RELEVANCE is "uncertain": unrelated news sentences score about 0.1-0.3 with MiniLM,
# and a title is shorter and vaguer than a sentence.
TITLE_ONLY_FLOOR = 0.2
TITLE_MATCH = 0.8  # share of the listed title's words an indexed headline must hold (both ways)


# --- 1b. atomic claims (with a model) ---------------------------------------------------------
SPLIT_MIN_WORDS = 15  # shorter sentences rarely hold two claims; not worth a model call
MAX_PARTS = 6
_SPLIT_INSTRUCTIONS = (
    "Split the sentence inside <sentence> into the separate factual claims it makes. Write one "
    "claim per line, each a short complete sentence that names its subject instead of using "
    "a pronoun. Use only what the sentence says: add nothing, and leave out no fact. If the "
    "sentence makes a single claim, write it unchanged on one line. Write nothing else."
)


class ClaimSplitter(Protocol):
    """Splits a compound sentence into atomic claims (a chat model: ``ModelSplitter``)."""

    @property
    def name(self) -> str: ...

    def split(self, sentence: str) -> list[str]: ...


class ChatModel(Protocol):
    """What ``ModelSplitter`` needs of a model: ``llm.ChatWriter`` (server or local) has it."""

    name: str

    def reply(self, messages: Sequence[Mapping[str, str]]) -> str: ...


class ModelSplitter:
    """A ``ClaimSplitter`` over any chat model citewire can write with."""

    def __init__(self, model: ChatModel) -> None:
        self.model = model

    @property
    def name(self) -> str:
        return self.model.name

    def split(self, sentence: str) -> list[str]:
        guarded = sentence.replace("<", "‹").replace(">", "›")  # data, never markup
        reply = self.model.reply(
            [
                {"role": "system", "content": _SPLIT_INSTRUCTIONS},
                {"role": "user", "content": f"<sentence>{guarded}</sentence>"},
            ]
        )
        parts = []
        for line in reply.splitlines():
            line = LIST_ITEM.sub("", line).strip().strip('"')
            if len(line.split()) >= SHORT_CLAIM_WORDS - 1:
                parts.append(line)
        return parts[:MAX_PARTS]


def _split_all(
    splitter: ClaimSplitter, claims: Sequence[ParsedClaim]
) -> tuple[list[ParsedClaim], list[str]]:
    """Replace each compound sentence by its atomic claims. A part the sentence itself does not
    support (a number, name or date it lacks; most of its words absent) is the model's
    invention: then the sentence is kept whole, so the audit never checks words nobody wrote."""
    out: list[ParsedClaim] = []
    split = rejected = 0
    failure: str | None = None
    for claim in claims:
        if len(claim.text.split()) < SPLIT_MIN_WORDS or failure:
            out.append(claim)
            continue
        try:
            parts = splitter.split(claim.text)
        except LLMError as exc:
            failure = exc.one_line()
            out.append(claim)
            continue
        if len(parts) < 2:
            out.append(claim)
            continue
        if not all(check_support(part, claim.text).passed for part in parts):
            rejected += 1
            out.append(claim)
            continue
        split += 1
        out += [
            replace(claim, text=part, sentence=claim.text, part=number)
            for number, part in enumerate(parts, start=1)
        ]
    notes = []
    if split or rejected:
        note = f"{splitter.name} split {split} compound sentence(s) into atomic claims"
        if rejected:
            note += f"; {rejected} split(s) added words the sentence lacks and were not used"
        notes.append(note + ".")
    if failure:
        notes.append(f"Splitting compound sentences stopped ({failure}); the rest were whole.")
    return out, notes


# --- 2-4. auditing -----------------------------------------------------------------------------
@dataclass
class _Candidate:
    passage: Passage
    article: Article


@dataclass
class _Resolved:
    references: list[AuditReference]
    by_number: dict[int, Article] = field(default_factory=dict)


class Auditor:
    """Checks a parsed answer against the index with the verifier ``ask`` uses."""

    def __init__(
        self,
        store: Store,
        retriever: Retriever,
        embedder: Embedder,
        judge: Judge | None = None,
        max_claims: int = MAX_CLAIMS,
        splitter: ClaimSplitter | None = None,
    ) -> None:
        self.store = store
        self.retriever = retriever
        self.embedder = embedder
        self.judge = judge
        self.max_claims = max_claims
        self.splitter = splitter
        # Claims of one answer keep meeting the same passages: embed each span once.
        self._vectors: dict[str, npt.NDArray[np.float32]] = {}

    def audit(
        self,
        parsed: ParsedAnswer,
        as_of: datetime | None = None,
        origin: str | None = None,
    ) -> Audit:
        filters = SearchFilters(until=as_of) if as_of is not None else SearchFilters()
        notes = list(parsed.notes)
        resolved = self._resolve_references(parsed.references, filters)
        # The cap holds for what is checked: sentences before a split, parts after it.
        claims_in = list(parsed.claims[: self.max_claims])
        if self.splitter is not None:
            claims_in, split_notes = _split_all(self.splitter, claims_in)
            notes += split_notes
        found = max(len(parsed.claims), len(claims_in))
        if found > self.max_claims:
            notes.append(
                f"Only the first {self.max_claims} of {found} claims were checked; the rest are "
                "not in this report."
            )
            claims_in = claims_in[: self.max_claims]
        if not claims_in:
            notes.append("The answer holds no sentence that makes a claim: nothing was checked.")
        if not _looks_english(parsed.body):
            notes.append(
                "The text does not look like English; the fact checks and the embedding model "
                "are built for English, so expect claims to be reported as not found."
            )
        claims = [self._claim(claim, resolved, filters) for claim in claims_in]
        claims, sources = self._number_sources(claims)
        topic = parsed.question or (parsed.body.split("\n\n")[0] if parsed.body else "")
        references = self._judge_references(resolved.references, claims, topic)
        if self.store.stats().articles == 0:
            notes.append("The index is empty: ingest articles first, then audit again.")
        return Audit(
            question=parsed.question,
            body=parsed.body,
            claims=tuple(claims),
            references=tuple(references),
            sources=sources,
            as_of=as_of or datetime.now(UTC),
            input_format=parsed.input_format,
            notes=tuple(notes),
            origin=origin,
        )

    # references ---------------------------------------------------------------------------
    def _resolve_references(
        self, parsed: Sequence[ParsedReference], filters: SearchFilters
    ) -> _Resolved:
        resolved = _Resolved([])
        for ref in parsed:
            article, how = self._find(ref, filters)
            note = None
            if article is None:
                note = "not in the index" + (" (no URL given)" if not ref.url else "")
            else:
                resolved.by_number[ref.number] = article
            resolved.references.append(
                AuditReference(
                    number=ref.number,
                    text=ref.text,
                    title=ref.title,
                    url=ref.url,
                    article_id=article.id if article else None,
                    matched_by=how,
                    note=note,
                )
            )
        return resolved

    def _find(
        self, ref: ParsedReference, filters: SearchFilters
    ) -> tuple[Article | None, str | None]:
        canonical = canonical_url(ref.url)
        if canonical:
            found = self.store.get_article(article_id(canonical, ""))
            if found is not None:
                return found, "url"
        if ref.title and len(ref.title.split()) >= 2:
            wanted = _title_words(ref.title)
            for hit in self.retriever.search(ref.title[:MAX_QUERY_CHARS], k=5, filters=filters):
                have = _title_words(hit.article.title or "")
                if wanted and have:
                    shared = len(wanted & have)
                    if min(shared / len(wanted), shared / len(have)) >= TITLE_MATCH:
                        return hit.article, "title"
        return None, None

    def _judge_references(
        self, references: Sequence[AuditReference], claims: Sequence[AuditClaim], topic: str
    ) -> list[AuditReference]:
        if not references:
            return []
        supported_by: dict[str, list[int]] = {}
        groups: dict[str, str] = {}
        for index, claim in enumerate(claims):
            if claim.label != ClaimLabel.SUPPORTED:
                continue
            for evidence in claim.evidence:
                supported_by.setdefault(evidence.citation.article_id, []).append(index)
        articles = self.store.articles(
            [*supported_by, *(r.article_id for r in references if r.article_id)]
        )
        for aid, article in articles.items():
            groups[aid] = article.group_id
        # A reference to one copy of a syndicated story supports what another copy supports.
        by_group: dict[str, set[int]] = {}
        for aid, indexes in supported_by.items():
            by_group.setdefault(groups.get(aid, aid), set()).update(indexes)
        texts = []
        for ref in references:
            matched = articles.get(ref.article_id) if ref.article_id else None
            if matched is not None:
                texts.append(f"{matched.title or ''}. {matched.text[:600]}")
            else:
                texts.append(ref.title or ref.text)
        vectors = self.embedder.embed([topic or " ", *texts])
        similarities = vectors[1:] @ vectors[0]
        out = []
        for ref, similarity in zip(references, similarities, strict=True):
            group = groups.get(ref.article_id or "", ref.article_id or "")
            supports = tuple(sorted(by_group.get(group, set()))) if ref.article_id else ()
            pointed = tuple(i for i, c in enumerate(claims) if ref.number in c.markers)
            score = float(similarity)
            if supports or score >= REFERENCE_RELEVANCE:
                relevant = Relevance.RELEVANT
            elif ref.article_id is None and score >= TITLE_ONLY_FLOOR:
                relevant = Relevance.UNCERTAIN  # a few words of title: too little to rule out
            else:
                relevant = Relevance.IRRELEVANT
            out.append(
                replace(
                    ref,
                    relevant=relevant,
                    relevance=round(float(similarity), 3),
                    supports=supports,
                    pointed_at=pointed,
                )
            )
        return out

    # claims -------------------------------------------------------------------------------
    def _claim(self, claim: ParsedClaim, resolved: _Resolved, filters: SearchFilters) -> AuditClaim:
        candidates = self._candidates(claim, resolved, filters)
        base = AuditClaim(
            text=claim.text,
            start=claim.start,
            end=claim.end,
            paragraph=claim.paragraph,
            label=ClaimLabel.NOT_FOUND,
            markers=claim.markers,
            links=claim.links,
            sentence=claim.sentence,
            part=claim.part,
        )
        checkable = _checkable(claim.text)
        if not candidates:
            label = ClaimLabel.NOT_FOUND if checkable else ClaimLabel.OPINION
            why = "no indexed passage is about it"
            return replace(base, label=label, reasons=(why,))
        scored = self._check_candidates(claim.text, candidates)
        passed = [(e, s) for e, s in scored if e.check.passed]
        if passed:
            passed.sort(key=lambda pair: (-pair[0].check.score, -pair[1]))
            shown = _strongest(passed, candidates)
            return replace(
                base, label=ClaimLabel.SUPPORTED, score=shown[0].check.score, evidence=shown
            )
        against = [
            (e, s) for e, s in scored if contradictions(e.check) and s >= CONTRADICTION_SIMILARITY
        ]
        if against:
            against.sort(key=lambda pair: -pair[1])
            shown = _strongest(against, candidates)
            return replace(
                base,
                label=ClaimLabel.CONTRADICTED,
                evidence=shown,
                reasons=tuple(dict.fromkeys(r for e in shown for r in contradictions(e.check))),
            )
        closest, _similarity = max(scored, key=lambda pair: pair[1])
        if not checkable:
            return replace(
                base,
                label=ClaimLabel.OPINION,
                evidence=(closest,),
                reasons=("no checkable fact (no number, date, name or quotation)",),
            )
        return replace(
            base,
            label=ClaimLabel.NOT_FOUND,
            score=closest.check.score,
            evidence=(closest,),
            reasons=closest.check.reasons or ("no indexed passage supports it",),
        )

    def _candidates(
        self, claim: ParsedClaim, resolved: _Resolved, filters: SearchFilters
    ) -> list[_Candidate]:
        seen: set[int] = set()
        out: list[_Candidate] = []
        # The articles the author cites for this claim come first: if the claim is supported
        # anywhere, it should be by its own reference.
        for number in claim.markers:
            article = resolved.by_number.get(number)
            if article is None:
                continue
            for passage in self.store.article_passages(article.id):
                if passage.id not in seen:
                    seen.add(passage.id)
                    out.append(_Candidate(passage, article))
        if query_terms(claim.text):
            hits = self.retriever.search(
                claim.text[:MAX_QUERY_CHARS], k=CLAIM_SEARCH_K, filters=filters, per_group=2
            )
            for hit in hits:
                if hit.passage.id not in seen:
                    seen.add(hit.passage.id)
                    out.append(_Candidate(hit.passage, hit.article))
        return out

    def _check_candidates(
        self, claim: str, candidates: Sequence[_Candidate]
    ) -> list[tuple[ClaimEvidence, float]]:
        """For each candidate passage, the span (one sentence, or two adjacent ones) closest in
        meaning to the claim, checked by the verifier; with that span's cosine similarity."""
        # Sentences first; then the best sentence of each passage joined with each neighbour
        # (a claim often spans two). Embedding every adjacent pair would triple the model's
        # work for the same choice.
        per_passage = [
            (c, split_sentences(c.passage.text) or [(0, len(c.passage.text))]) for c in candidates
        ]
        singles = [(c, s, e) for c, sentences in per_passage for s, e in sentences]
        claim_vector, *vectors = self._embed([claim, *(c.passage.text[s:e] for c, s, e in singles)])
        best: dict[int, tuple[tuple[_Candidate, int, int], float]] = {}
        for span, vector in zip(singles, vectors, strict=True):
            similarity = float(vector @ claim_vector)
            passage_id = span[0].passage.id
            if passage_id not in best or similarity > best[passage_id][1]:
                best[passage_id] = (span, similarity)
        pairs = []
        for candidate, sentences in per_passage:
            (_, start, end), _ = best[candidate.passage.id]
            i = sentences.index((start, end))
            if i > 0:
                pairs.append((candidate, sentences[i - 1][0], end))
            if i + 1 < len(sentences):
                pairs.append((candidate, start, sentences[i + 1][1]))
        if pairs:
            pair_vectors = self._embed([c.passage.text[s:e] for c, s, e in pairs])
            for span, vector in zip(pairs, pair_vectors, strict=True):
                similarity = float(vector @ claim_vector)
                if similarity > best[span[0].passage.id][1]:
                    best[span[0].passage.id] = (span, similarity)
        ranked = sorted(best.values(), key=lambda pair: -pair[1])
        if self.judge is not None:
            # A model judge costs about a second a pair on a laptop CPU; the evidence that
            # decides a claim is almost always among the spans closest to it in meaning.
            ranked = ranked[:JUDGED_SPANS]
        results = []
        for (candidate, start, end), similarity in ranked:
            passage, article = candidate.passage, candidate.article
            quote = passage.text[start:end]
            citation = Citation(
                article_id=article.id,
                start=passage.start + start,
                end=passage.start + end,
                quote=quote,
                quote_hash=quote_hash(quote),
                passage_id=passage.id,
            )
            # The headline names what the body calls "the ministry": context, not invention.
            evidence = f"{article.title.rstrip('.')}. {quote}" if article.title else quote
            # Meaning chooses the span; it does not decide support. Without a judge the
            # content-word recall decides, as in `ask`: on AttributionBench test and WiCE it beats
            # the embedding cosine calibrated on the dev split (docs/benchmarks.md, Verifier).
            check = check_support(claim, evidence, judge=self.judge)
            results.append((ClaimEvidence(citation, check), similarity))
        return results

    def _embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if missing:
            self._vectors.update(zip(missing, self.embedder.embed(missing), strict=True))
        return np.stack([self._vectors[t] for t in texts])

    def _number_sources(
        self, claims: list[AuditClaim]
    ) -> tuple[list[AuditClaim], tuple[Reference, ...]]:
        """Number the articles that decide claims by first use, like an answer's References.
        Only evidence for supported or contradicted claims is numbered; the closest passage
        shown for an unsupported claim is a pointer, numbered too so a reader can open it."""
        numbers: dict[str, int] = {}
        numbered = []
        for claim in claims:
            evidence = []
            for item in claim.evidence:
                number = numbers.setdefault(item.citation.article_id, len(numbers) + 1)
                evidence.append(replace(item, citation=replace(item.citation, ref=number)))
            numbered.append(replace(claim, evidence=tuple(evidence)))
        return numbered, numbered_references(self.store, numbers)


def _strongest(
    ranked: Sequence[tuple[ClaimEvidence, float]], candidates: Sequence[_Candidate]
) -> tuple[ClaimEvidence, ...]:
    """The best evidence per story (syndicated copies are one source), at most EVIDENCE_SHOWN,
    and only those about as strong as the best: a weak second passage adds doubt, not support."""
    group = {c.article.id: c.article.group_id for c in candidates}
    best = ranked[0][0].check.score
    shown: dict[str, ClaimEvidence] = {}
    for evidence, _similarity in ranked:
        key = group.get(evidence.citation.article_id, evidence.citation.article_id)
        if key not in shown and evidence.check.score >= best - EVIDENCE_MARGIN:
            shown[key] = evidence
    return tuple(shown.values())[:EVIDENCE_SHOWN]


def _checkable(text: str) -> bool:
    found = facts(text)
    return bool(found.numbers or found.dates or found.names or found.quotes)


def _title_words(title: str) -> set[str]:
    return {w for w in re.findall(r"[^\W_]+", title.lower()) if len(w) > 2}


_ENGLISH = frozenset(
    "the of and to in is that for on with as was by it are be this from at an or has have not "
    "said its were which their but will".split()
)


def _looks_english(text: str) -> bool:
    words = re.findall(r"[^\W\d_]+", text.lower())
    if len(words) < 8:
        return True  # too little to tell
    return sum(w in _ENGLISH for w in words) / len(words) >= 0.08
