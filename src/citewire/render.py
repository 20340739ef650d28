"""Turning results into text and JSON. The CLI prints these; the web app has its own templates."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from citewire.codec import carrier_to_dict
from citewire.models import (
    Answer,
    AnswerStatus,
    Article,
    Audit,
    AuditClaim,
    AuditReference,
    Carrier,
    ClaimLabel,
    Hit,
    IngestReport,
    Reference,
    Relevance,
    Sentence,
    Stats,
)


def date_label(value: datetime | None, precision: str | None = None) -> str:
    if value is None:
        return "undated"
    if precision == "day":
        return value.strftime("%Y-%m-%d")
    return value.strftime("%Y-%m-%d %H:%M UTC")


def article_to_dict(article: Article) -> dict[str, Any]:
    # JSON shapes for answers live in citewire.codec; these are the search-result shapes.
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
        "also_carried_by": [carrier_to_dict(c) for c in hit.also_carried_by],
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
        lines.append(f"   also carried by: {carriers_label(hit.also_carried_by)}")
    return lines


def carriers_label(carriers: Sequence[Carrier]) -> str:
    """Outlets (else URL hosts) that also carried a story; copies with neither are counted."""
    names = sorted(
        {c.outlet or urlsplit(c.url or "").netloc for c in carriers if c.outlet or c.url}
    )
    unnamed = sum(1 for c in carriers if not (c.outlet or c.url))
    if unnamed:
        names.append(f"{unnamed} cop{'y' if unnamed == 1 else 'ies'} with no outlet or URL")
    return ", ".join(names)


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


# --- answers -------------------------------------------------------------------------------------
def _markers(sentence: Sentence) -> str:
    refs = list(dict.fromkeys(c.ref for c in sentence.citations))
    return "".join(f"[{r}]" for r in refs)


def sentence_text(sentence: Sentence) -> str:
    marks = _markers(sentence)
    return f"{sentence.text} {marks}" if marks else sentence.text


def answer_status_line(answer: Answer) -> str:
    parts = [f"As of {date_label(answer.as_of, 'day')}"]
    if answer.status == AnswerStatus.ANSWERED:
        parts.append(
            f"{answer.sentences_passed} of {answer.sentences_checked} sentences passed their "
            "citation checks"
        )
    else:
        parts.append(answer.status.replace("_", " "))
        if answer.sentences_checked:
            parts.append(
                f"{answer.sentences_passed} of {answer.sentences_checked} drafted sentences "
                "passed their citation checks"
            )
    parts.append(f"writer: {answer.writer}")
    if answer.id:
        parts.append(f"id: {answer.id}")
    return " · ".join(parts)


def reference_line(ref: Reference) -> str:
    bits = [f"[{ref.number}]", f"{ref.title or '(untitled)'}."]
    bits.append(
        f"{ref.outlet or 'Unknown outlet'}, {date_label(ref.published_at, ref.date_precision)}."
    )
    if ref.url:
        bits.append(ref.url)
    line = " ".join(bits)
    if ref.also_carried_by:
        line += f" (also carried by: {carriers_label(ref.also_carried_by)})"
    return line


def _insufficient_lines(answer: Answer) -> list[str]:
    lines = [
        "The indexed sources do not answer this question"
        f" (searched articles published up to {date_label(answer.as_of, 'day')})."
    ]
    if answer.related:
        lines += ["", "Nearest related sources:"]
        lines += [f"- {reference_line(r)[len(f'[{r.number}] ') :]}" for r in answer.related]
    return lines


def support_lines(answer: Answer, width: int = 60) -> list[str]:
    """One line per checked sentence: its support score, the layer that decided, its opening."""
    lines = []
    for number, sentence in enumerate((s for s in answer.sentences if s.check), start=1):
        assert sentence.check is not None
        opening = (
            sentence.text if len(sentence.text) <= width else sentence.text[: width - 3] + "..."
        )
        lines.append(
            f"{number:>2}. {sentence.check.score:.2f} {sentence.check.layer:<13} {opening}"
        )
    return lines


def answer_text(answer: Answer, width: int = 100, explain: bool = False) -> str:
    lines = [answer.question, answer_status_line(answer), ""]
    if answer.status == AnswerStatus.INSUFFICIENT_EVIDENCE:
        lines += _insufficient_lines(answer)
    for paragraph in answer.paragraphs:
        body = " ".join(sentence_text(s) for s in paragraph.sentences)
        lines += [textwrap.fill(body, width=width), ""]
    if answer.notes:
        lines += ["Notes:"] + [f"- {n}" for n in answer.notes] + [""]
    if answer.references:
        lines.append("References")
        lines += [reference_line(r) for r in answer.references]
    if any(s.check for s in answer.sentences):
        lines += ["", "Support (each sentence against what it cites: score, deciding check):"]
        lines += [f"  {line}" for line in support_lines(answer)]
    if explain:
        lines += ["", "Candidates considered (score, kept?, why):"]
        for d in answer.explain:
            mark = "KEPT" if d.kept else "drop"
            snippet = d.text if len(d.text) < 110 else d.text[:107] + "..."
            lines.append(f"  {d.score:6.3f} {mark} {d.reason}: {snippet}")
    return "\n".join(lines).rstrip() + "\n"


def reference_markdown(ref: Reference) -> str:
    title = ref.title or "(untitled)"
    linked = f"[{title}]({ref.url})" if ref.url else title
    when = date_label(ref.published_at, ref.date_precision)
    line = f"{ref.number}. {linked}, {ref.outlet or 'unknown outlet'}, {when}"
    if ref.also_carried_by:
        line += f" (also carried by {carriers_label(ref.also_carried_by)})"
    return line


def answer_markdown(answer: Answer, explain: bool = False) -> str:
    lines = [f"## {answer.question}", "", f"*{answer_status_line(answer)}*", ""]
    if answer.status == AnswerStatus.INSUFFICIENT_EVIDENCE:
        lines += [*_insufficient_lines(answer), ""]
    for paragraph in answer.paragraphs:
        if paragraph.role == "disagreement":
            lines.append(
                "> **Sources disagree.** " + " ".join(sentence_text(s) for s in paragraph.sentences)
            )
        else:
            lines.append(" ".join(sentence_text(s) for s in paragraph.sentences))
        lines.append("")
    if answer.notes:
        lines += [f"- *{n}*" for n in answer.notes] + [""]
    if answer.references:
        lines += ["### References", ""]
        lines += [reference_markdown(ref) for ref in answer.references]
    if any(s.check for s in answer.sentences):
        lines += ["", "### Support", ""]
        lines += [f"- `{line}`" for line in support_lines(answer)]
    if explain and answer.explain:
        lines += ["", "### Candidates considered", ""]
        lines += [
            f"- `{d.score:.3f}` {'kept' if d.kept else 'dropped'} ({d.reason}): {d.text}"
            for d in answer.explain
        ]
    return "\n".join(lines).rstrip() + "\n"


def safe_url(url: str | None) -> str:
    """Only http(s) links are rendered as links: a stored ``javascript:`` URL must not run."""
    return url if url and url.lower().startswith(("http://", "https://")) else "#"


def _html_env() -> Any:
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(
        loader=PackageLoader("citewire", "resources"), autoescape=select_autoescape(["html"])
    )
    env.globals.update(date_label=date_label, AnswerStatus=AnswerStatus, LABELS=CLAIM_LABELS)
    env.filters["safe_url"] = safe_url
    return env


def answer_html(answer: Answer) -> str:
    """A standalone page: no external assets, every [n] shows its quoted passage on click/hover
    (a <details> element, so it works without JavaScript)."""
    refs = {r.number: r for r in answer.references}
    return str(_html_env().get_template("answer.html").render(answer=answer, refs=refs))


# --- audits --------------------------------------------------------------------------------------
CLAIM_LABELS = {
    ClaimLabel.SUPPORTED: "supported",
    ClaimLabel.CONTRADICTED: "contradicted",
    ClaimLabel.NOT_FOUND: "not found in the indexed sources",
    ClaimLabel.OPINION: "opinion or framing (nothing checkable)",
}


def audit_totals(audit: Audit) -> str:
    n = len(audit.claims)
    counts = ", ".join(
        f"{audit.count(label)} {label.replace('_', ' ')}" for label in ClaimLabel.ALL
    )
    refs = audit.references
    return (
        f"{n} claim{'s' if n != 1 else ''}: {counts} · references: {len(refs)} listed, "
        f"{sum(1 for r in refs if r.article_id)} in the index, "
        f"{sum(1 for r in refs if r.supports)} supporting a claim, "
        f"{sum(1 for r in refs if r.relevant == Relevance.RELEVANT)} relevant"
    )


def audit_status_line(audit: Audit) -> str:
    parts = [f"As of {date_label(audit.as_of, 'day')}", audit_totals(audit)]
    if audit.id:
        parts.append(f"id: {audit.id}")
    return " · ".join(parts)


def reference_verdict(ref: AuditReference) -> str:
    """One line on what became of a listed reference."""
    found = {
        "url": "in the index (matched by URL)",
        "title": "in the index (matched by title)",
    }.get(ref.matched_by or "", ref.note or "not in the index")
    relevance = {
        Relevance.RELEVANT: "relevant to the question",
        Relevance.IRRELEVANT: "NOT relevant to the question",
        Relevance.UNCERTAIN: "relevance uncertain (judged from its title only)",
    }[ref.relevant] + f" ({ref.relevance:.2f})"
    if ref.supports:
        used = "supports claim" + ("s " if len(ref.supports) > 1 else " ")
        used += ", ".join(str(i + 1) for i in ref.supports)
    else:
        used = "supports no claim"
    pointed = (
        "no claim points at it"
        if not ref.pointed_at
        else "cited by claim"
        + ("s " if len(ref.pointed_at) > 1 else " ")
        + ", ".join(str(i + 1) for i in ref.pointed_at)
    )
    return f"{found} · {relevance} · {used} · {pointed}"


def _evidence_lines(claim: AuditClaim) -> list[str]:
    lines = []
    for item in claim.evidence:
        if claim.label == ClaimLabel.SUPPORTED:
            head = f"[{item.citation.ref}] supports ({item.check.layer}, {item.check.score:.2f}):"
        elif claim.label == ClaimLabel.CONTRADICTED:
            head = f"[{item.citation.ref}] says otherwise:"
        else:
            head = f"closest [{item.citation.ref}] (does not support it):"
        lines.append(f'{head} "{item.citation.quote}"')
    return lines


def audit_text(audit: Audit, width: int = 100) -> str:
    def wrap(text: str, first: int, rest: int) -> str:
        return textwrap.fill(
            text, width=width, initial_indent=" " * first, subsequent_indent=" " * rest
        )

    lines = [f"Audit: {audit.question or '(no question given)'}", audit_status_line(audit), ""]
    lines.append("Claims")
    for number, claim in enumerate(audit.claims, start=1):
        if claim.part == 1 and claim.sentence:
            lines.append(wrap(f"From the sentence: {claim.sentence}", 5, 5))
        marks = "".join(f"[{m}]" for m in claim.markers)
        head = f"{number:>3}. {claim.label.upper().replace('_', ' ')}"
        lines.append(wrap(f"{head}: {claim.text} {marks}".rstrip(), 0, 5))
        lines += [wrap(line, 7, 9) for line in _evidence_lines(claim)]
        if claim.label != ClaimLabel.SUPPORTED and claim.reasons:
            lines.append(wrap(f"why: {'; '.join(claim.reasons)}", 7, 9))
    lines.append("")
    if audit.references:
        lines.append("References as listed")
        for ref in audit.references:
            lines.append(wrap(f"{ref.number:>3}. {ref.text}", 0, 5))
            lines.append(wrap(reference_verdict(ref), 7, 7))
        lines.append("")
    if audit.sources:
        lines.append("Sources of the evidence")
        lines += [reference_line(r) for r in audit.sources]
        lines.append("")
    if audit.notes:
        lines += ["Notes:"] + [f"- {n}" for n in audit.notes]
    return "\n".join(lines).rstrip() + "\n"


def audit_markdown(audit: Audit) -> str:
    lines = [f"## Audit: {audit.question or '(no question given)'}", ""]
    lines += [f"*{audit_status_line(audit)}*", "", "### Claims", ""]
    for number, claim in enumerate(audit.claims, start=1):
        if claim.part == 1 and claim.sentence:
            lines.append(f"   *From the sentence: {claim.sentence}*")
        marks = "".join(f"[{m}]" for m in claim.markers)
        lines.append(f"{number}. **{CLAIM_LABELS[claim.label]}** — {claim.text} {marks}".rstrip())
        lines += [f"   - {line}" for line in _evidence_lines(claim)]
        if claim.label != ClaimLabel.SUPPORTED and claim.reasons:
            lines.append(f"   - *why: {'; '.join(claim.reasons)}*")
    lines.append("")
    if audit.references:
        lines += ["### References as listed", ""]
        for ref in audit.references:
            lines.append(f"{ref.number}. {ref.text}  \n   *{reference_verdict(ref)}*")
        lines.append("")
    if audit.sources:
        lines += ["### Sources of the evidence", ""]
        lines += [reference_markdown(source) for source in audit.sources]
        lines.append("")
    if audit.notes:
        lines += [f"- *{n}*" for n in audit.notes]
    return "\n".join(lines).rstrip() + "\n"


def audit_html(audit: Audit) -> str:
    """A standalone page like ``answer_html``: claims coloured by label, each decided by quoted,
    cited passages behind a <details> element."""
    sources = {r.number: r for r in audit.sources}
    return str(
        _html_env()
        .get_template("audit.html")
        .render(
            audit=audit,
            sources=sources,
            totals=audit_totals(audit),
            verdict=reference_verdict,
        )
    )
