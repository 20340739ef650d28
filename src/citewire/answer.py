"""The ask pipeline: question → evidence → draft → checks → numbered references → stored answer.

1. ``analyse`` the question (type, names, terms) and fix the as-of date.
2. Retrieve evidence published by the as-of date (hybrid search, a couple of passages per story).
3. A writer drafts paragraphs whose claim sentences cite spans (extractive by default; an LLM
   writer that fails falls back to the extractive writer, and the answer says so).
4. Every claim sentence is checked before it is shown: its citations must exist and re-read
   intact from the stored article by their offsets, and the sentence's facts (numbers, names,
   dates, quotes, negation) must occur in the cited text. A failing sentence is removed, or for a
   writer that can revise, rewritten once and checked again.
5. References are numbered by first use and hold only what a surviving sentence cites.
6. No surviving claim → ``insufficient_evidence``, with the nearest related sources listed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime

import numpy as np

from citewire.chunk import split_sentences
from citewire.errors import LLMError
from citewire.models import (
    Answer,
    AnswerStatus,
    Article,
    Carrier,
    Check,
    Citation,
    Hit,
    Paragraph,
    Reference,
    SearchFilters,
    Sentence,
)
from citewire.question import Question, analyse
from citewire.retrieve import Retriever
from citewire.store import Store
from citewire.verify import (
    Judge,
    check_citation_span,
    check_support,
    contradictions,
    quote_hash,
)
from citewire.write import Draft, Reviser, Writer

EVIDENCE_K = 12
RELATED_K = 5
# A question's statement is compared with an evidence sentence only when they are about the same
# thing; a fact mismatch between unrelated sentences means nothing.
PREMISE_SIMILARITY = 0.6
PREMISE_CANDIDATES = 3


class Asker:
    def __init__(
        self,
        store: Store,
        retriever: Retriever,
        writer: Writer,
        fallback: Writer,
        judge: Judge | None = None,
        previous_id: str | None = None,
    ) -> None:
        self.store = store
        self.previous_id = previous_id  # set when this answer is a new version of a stored one
        self.retriever = retriever
        self.writer = writer
        self.fallback = fallback
        self.judge = judge

    def ask(self, text: str, as_of: datetime | None = None, k: int = EVIDENCE_K) -> Answer:
        # Without an explicit as-of date the answer is as of now and every article counts,
        # undated ones included (archives often carry no dates); no filter is applied, which
        # also keeps the fast unfiltered search paths. With one, only what is known to be
        # published by then counts.
        filters = SearchFilters(until=as_of) if as_of is not None else SearchFilters()
        as_of = as_of or datetime.now(UTC)
        question = analyse(text, as_of)
        evidence = self.retriever.search(question.text, k=k, filters=filters, per_group=2)
        notes: list[str] = []
        undated = {h.article.id for h in evidence if h.article.published_at is None}
        if undated:
            notes.append(
                f"{len(undated)} of the sources read carry no publication date; they are used "
                "because no --as-of date was given."
            )
        if not evidence:
            return self._insufficient(
                question,
                [],
                ("The index holds no article published by this date that matches the question.",),
            )
        writer = self.writer
        try:
            draft = writer.write(question, evidence)
        except LLMError as exc:
            notes.append(
                f"The {writer.name} writer failed ({exc.one_line()}); this answer was written "
                f"by the {self.fallback.name} writer instead."
            )
            writer = self.fallback
            draft = writer.write(question, evidence)
        premise = self._premise(question, evidence)
        drafted = ((premise,) if premise else ()) + draft.paragraphs
        paragraphs, checked, passed, dropped = self._check(drafted)
        if dropped:
            notes.append(
                f"{len(dropped)} sentence(s) were removed because their citations did not "
                "support them."
            )
        if dropped and isinstance(writer, Reviser):
            try:
                revised = writer.revise(question, evidence, dropped)
            except LLMError as exc:
                notes.append(f"Rewriting the failed sentences did not work ({exc.one_line()}).")
            else:
                extra, c2, p2, _ = self._check(revised.paragraphs)
                paragraphs += extra
                checked += c2
                passed += p2
                notes.append(
                    f"The {writer.name} writer rewrote them once; {p2} of {c2} rewritten "
                    "sentence(s) passed the checks."
                )
        notes.extend(draft.notes)
        claims = [s for p in paragraphs for s in p.sentences if s.kind == "claim"]
        if not claims or draft.status == AnswerStatus.INSUFFICIENT_EVIDENCE:
            # The counts stay: "3 drafted sentences, none passed" is why it declined.
            return self._insufficient(
                question, evidence, tuple(notes), writer.name, draft, checked, passed
            )
        paragraphs, references = self._number(paragraphs)
        answer = Answer(
            question=question.text,
            as_of=as_of,
            status=(
                AnswerStatus.PREMISE_CONTRADICTED
                if any(p.role == "premise" for p in paragraphs)
                else AnswerStatus.ANSWERED
            ),
            paragraphs=tuple(paragraphs),
            references=references,
            notes=tuple(notes),
            writer=writer.name,
            sentences_checked=checked,
            sentences_passed=passed,
            explain=draft.explain,
        )
        return self._save(answer)

    # 4 ------------------------------------------------------------------------------------
    def _check(
        self, paragraphs: Sequence[Paragraph]
    ) -> tuple[list[Paragraph], int, int, list[tuple[str, str]]]:
        kept: list[Paragraph] = []
        checked = passed = 0
        dropped: list[tuple[str, str]] = []
        articles = self.store.articles(
            [c.article_id for p in paragraphs for s in p.sentences for c in s.citations]
        )
        for paragraph in paragraphs:
            sentences: list[Sentence] = []
            for sentence in paragraph.sentences:
                if sentence.kind != "claim":
                    sentences.append(sentence)
                    continue
                checked += 1
                result = self._check_sentence(sentence, articles)
                if result.passed:
                    passed += 1
                    sentences.append(replace(sentence, check=result))
                else:
                    dropped.append((sentence.text, "; ".join(result.reasons)))
            if any(s.kind == "claim" for s in sentences):
                # A paragraph left with only connective words says nothing: drop it whole.
                kept.append(replace(paragraph, sentences=tuple(sentences)))
        return kept, checked, passed, dropped

    def _check_sentence(self, sentence: Sentence, articles: Mapping[str, Article]) -> Check:
        if sentence.check is not None and not sentence.check.passed:
            return sentence.check  # the writer already found it broken (e.g. a bad [n])
        if not sentence.citations:
            return Check(False, 0.0, "citation", ("no citation",))
        evidence_parts = []
        for citation in sentence.citations:
            article = articles.get(citation.article_id)
            if article is None:
                return Check(
                    False,
                    0.0,
                    "citation",
                    (f"cites article {citation.article_id}, which is not in the index",),
                )
            problem = check_citation_span(article.text, citation)
            if problem is not None:
                return Check(False, 0.0, "citation", (problem,))
            evidence_parts.append(citation.quote)
            # The headline names what the body calls "the country" or "the ministry": a name
            # it holds is context, not an invention.
            headline = f"{article.title.rstrip('.')}." if article.title else ""
            if headline and headline not in evidence_parts:
                evidence_parts.append(headline)
        return check_support(sentence.text, " ".join(evidence_parts), judge=self.judge)

    # 4b -----------------------------------------------------------------------------------
    def _premise(self, question: Question, evidence: Sequence[Hit]) -> Paragraph | None:
        """When the question states something ("X accepted a 60-day truce. Why?") that the
        closest evidence sentence contradicts on a checkable fact, say so with the citation.

        Only explicit statements in the question are examined; presuppositions inside a
        question sentence ("Why did X accept…?") are not parsed.
        """
        # A statement is a sentence the asker ended with a full stop or "!"; a bare phrase
        # ("Super Bowl 2021 location") is a search, not a claim.
        statements = [
            question.text[s:e]
            for s, e in split_sentences(question.text)
            if question.text[s:e].rstrip("\"”’' )").endswith((".", "!"))
            and len(question.text[s:e].split()) >= 4
        ]
        if not statements:
            return None
        spans = [
            (hit, hit.passage.start + s, hit.passage.start + e)
            for hit in evidence
            for s, e in split_sentences(hit.passage.text)
            if not hit.passage.text[s:e].rstrip("\"”’' )").endswith("?")  # asks, not says
        ]
        if not spans:
            return None
        texts = [hit.article.text[s:e] for hit, s, e in spans]
        vectors = self.retriever.embedder.embed(statements + texts)
        said, cited = vectors[: len(statements)], vectors[len(statements) :]
        sentences: list[Sentence] = []
        for statement, vector in zip(statements, said, strict=True):
            sims = cited @ vector
            for best in np.argsort(-sims)[:PREMISE_CANDIDATES].tolist():
                if float(sims[best]) < PREMISE_SIMILARITY:
                    break
                conflicts = contradictions(check_support(statement, texts[best]))
                if conflicts:
                    hit, start, end = spans[best]
                    sentences += self._premise_sentences(statement, conflicts[0], hit, start, end)
                    break
        return Paragraph(tuple(sentences), role="premise") if sentences else None

    @staticmethod
    def _premise_sentences(
        statement: str, conflict: str, hit: Hit, start: int, end: int
    ) -> list[Sentence]:
        quote = hit.article.text[start:end]
        citation = Citation(hit.article.id, start, end, quote, quote_hash(quote), hit.passage.id)
        return [
            Sentence(
                f'The question says: "{statement.strip()}" The sources say otherwise ({conflict}).',
                kind="connective",
            ),
            Sentence(" ".join(quote.split()), citations=(citation,)),
        ]

    # 5 ------------------------------------------------------------------------------------
    def _number(self, paragraphs: list[Paragraph]) -> tuple[list[Paragraph], tuple[Reference, ...]]:
        numbers: dict[str, int] = {}
        out: list[Paragraph] = []
        for paragraph in paragraphs:
            sentences = []
            for sentence in paragraph.sentences:
                cites: list[Citation] = []
                for citation in sentence.citations:
                    number = numbers.setdefault(citation.article_id, len(numbers) + 1)
                    cites.append(replace(citation, ref=number))
                sentences.append(replace(sentence, citations=tuple(cites)))
            out.append(replace(paragraph, sentences=tuple(sentences)))
        return out, numbered_references(self.store, numbers)

    # 6 ------------------------------------------------------------------------------------
    def _save(self, answer: Answer) -> Answer:
        # One write, link included: a version is never stored without its link to the old one.
        return self.store.save_answer(replace(answer, previous_id=self.previous_id))

    def _insufficient(
        self,
        question: Question,
        evidence: Sequence[Hit],
        notes: tuple[str, ...],
        writer: str = "extractive",
        draft: Draft | None = None,
        checked: int = 0,
        passed: int = 0,
    ) -> Answer:
        seen: dict[str, Hit] = {}
        for hit in evidence:
            seen.setdefault(hit.article.id, hit)
        related = tuple(
            make_reference(i, hit.article, hit.also_carried_by)
            for i, hit in enumerate(list(seen.values())[:RELATED_K], start=1)
        )
        answer = Answer(
            question=question.text,
            as_of=question.as_of,
            status=AnswerStatus.INSUFFICIENT_EVIDENCE,
            paragraphs=(),
            references=(),
            notes=notes,
            writer=writer,
            related=related,
            sentences_checked=checked,
            sentences_passed=passed,
            explain=draft.explain if draft else (),
        )
        return self._save(answer)


def numbered_references(store: Store, numbers: Mapping[str, int]) -> tuple[Reference, ...]:
    """References for articles numbered by first use (article id → number), in number order,
    each with the other outlets that carried the same story."""
    articles = store.articles(list(numbers))
    carriers = store.carriers([a.group_id for a in articles.values()])
    return tuple(
        make_reference(number, articles[aid], carriers.get(articles[aid].group_id, []))
        for aid, number in sorted(numbers.items(), key=lambda kv: kv[1])
        if aid in articles
    )


def make_reference(number: int, article: Article, carriers: Sequence[Carrier]) -> Reference:
    return Reference(
        number=number,
        article_id=article.id,
        title=article.title,
        outlet=article.outlet,
        published_at=article.published_at,
        date_precision=article.date_precision,
        url=article.url,
        also_carried_by=tuple(c for c in carriers if c.article_id != article.id),
    )
