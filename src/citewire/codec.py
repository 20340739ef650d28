"""JSON encoding of answers and audits: what the store keeps, what `--format json` and the REST
API print.

``answer_from_dict(answer_to_dict(a)) == a`` holds for every answer, and the same for audits; the
round trips are tested.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from citewire.models import (
    Answer,
    AnswerSummary,
    Audit,
    AuditClaim,
    AuditReference,
    Carrier,
    Check,
    Citation,
    ClaimEvidence,
    ClaimLabel,
    Decision,
    Paragraph,
    Reference,
    Sentence,
)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def carrier_to_dict(c: Carrier) -> dict[str, Any]:
    return {
        "article_id": c.article_id,
        "outlet": c.outlet,
        "url": c.url,
        "title": c.title,
        "published_at": _iso(c.published_at),
    }


def reference_to_dict(r: Reference) -> dict[str, Any]:
    return {
        "number": r.number,
        "article_id": r.article_id,
        "title": r.title,
        "outlet": r.outlet,
        "published_at": _iso(r.published_at),
        "date_precision": r.date_precision,
        "url": r.url,
        "also_carried_by": [carrier_to_dict(c) for c in r.also_carried_by],
    }


def _citation(c: Citation) -> dict[str, Any]:
    return {
        "ref": c.ref,
        "article_id": c.article_id,
        "start": c.start,
        "end": c.end,
        "quote": c.quote,
        "quote_hash": c.quote_hash,
        "passage_id": c.passage_id,
    }


def _check(c: Check | None) -> dict[str, Any] | None:
    if c is None:
        return None
    return {"passed": c.passed, "score": c.score, "layer": c.layer, "reasons": list(c.reasons)}


def summary_to_dict(r: AnswerSummary) -> dict[str, Any]:
    return {
        "id": r.id,
        "question": r.question,
        "status": r.status,
        "as_of": _iso(r.as_of),
        "created_at": _iso(r.created_at),
        "writer": r.writer,
        "previous_id": r.previous_id,
    }


def answer_to_dict(answer: Answer) -> dict[str, Any]:
    return {
        "id": answer.id,
        "question": answer.question,
        "as_of": _iso(answer.as_of),
        "status": answer.status,
        "writer": answer.writer,
        "created_at": _iso(answer.created_at),
        "paragraphs": [
            {
                "role": p.role,
                "sentences": [
                    {
                        "text": s.text,
                        "kind": s.kind,
                        "citations": [_citation(c) for c in s.citations],
                        "check": _check(s.check),
                    }
                    for s in p.sentences
                ],
            }
            for p in answer.paragraphs
        ],
        "references": [reference_to_dict(r) for r in answer.references],
        "related": [reference_to_dict(r) for r in answer.related],
        "notes": list(answer.notes),
        "sentences_checked": answer.sentences_checked,
        "sentences_passed": answer.sentences_passed,
        "explain": [
            {
                "article_id": d.article_id,
                "text": d.text,
                "score": d.score,
                "kept": d.kept,
                "reason": d.reason,
            }
            for d in answer.explain
        ],
        "previous_id": answer.previous_id,
    }


def _carrier(d: dict[str, Any]) -> Carrier:
    return Carrier(d["article_id"], d["outlet"], d["url"], d["title"], _dt(d["published_at"]))


def _reference(d: dict[str, Any]) -> Reference:
    return Reference(
        number=d["number"],
        article_id=d["article_id"],
        title=d["title"],
        outlet=d["outlet"],
        published_at=_dt(d["published_at"]),
        date_precision=d["date_precision"],
        url=d["url"],
        also_carried_by=tuple(_carrier(c) for c in d["also_carried_by"]),
    )


def _citation_from(c: dict[str, Any]) -> Citation:
    return Citation(
        article_id=c["article_id"],
        start=c["start"],
        end=c["end"],
        quote=c["quote"],
        quote_hash=c["quote_hash"],
        passage_id=c["passage_id"],
        ref=c["ref"],
    )


NO_CHECK = Check(passed=False, score=0.0, layer="none")  # evidence read back without its check


def _check_from(c: dict[str, Any] | None) -> Check | None:
    if not c:
        return None
    return Check(
        passed=c["passed"], score=c["score"], layer=c["layer"], reasons=tuple(c["reasons"])
    )


def answer_from_dict(d: dict[str, Any]) -> Answer:
    as_of = _dt(d["as_of"])
    assert as_of is not None
    return Answer(
        question=d["question"],
        as_of=as_of,
        status=d["status"],
        paragraphs=tuple(
            Paragraph(
                sentences=tuple(
                    Sentence(
                        text=s["text"],
                        kind=s["kind"],
                        citations=tuple(_citation_from(c) for c in s["citations"]),
                        check=_check_from(s["check"]),
                    )
                    for s in p["sentences"]
                ),
                role=p["role"],
            )
            for p in d["paragraphs"]
        ),
        references=tuple(_reference(r) for r in d["references"]),
        related=tuple(_reference(r) for r in d["related"]),
        notes=tuple(d["notes"]),
        writer=d["writer"],
        id=d["id"],
        created_at=_dt(d["created_at"]),
        sentences_checked=d["sentences_checked"],
        sentences_passed=d["sentences_passed"],
        explain=tuple(
            Decision(e["article_id"], e["text"], e["score"], e["kept"], e["reason"])
            for e in d["explain"]
        ),
        previous_id=d.get("previous_id"),  # absent in answers stored before schema 3
    )


# --- audits --------------------------------------------------------------------------------------
def audit_to_dict(audit: Audit) -> dict[str, Any]:
    return {
        "id": audit.id,
        "question": audit.question,
        "as_of": _iso(audit.as_of),
        "created_at": _iso(audit.created_at),
        "input_format": audit.input_format,
        "origin": audit.origin,
        "totals": {
            "claims": len(audit.claims),
            **{label: audit.count(label) for label in ClaimLabel.ALL},
            "references_listed": len(audit.references),
            "references_in_index": sum(1 for r in audit.references if r.article_id),
            "references_used": sum(1 for r in audit.references if r.supports),
            "references_relevant": sum(1 for r in audit.references if r.relevant == "relevant"),
        },
        "claims": [
            {
                "text": c.text,
                "start": c.start,
                "end": c.end,
                "paragraph": c.paragraph,
                "label": c.label,
                "score": c.score,
                "markers": list(c.markers),
                "links": list(c.links),
                "reasons": list(c.reasons),
                "sentence": c.sentence,
                "part": c.part,
                "evidence": [
                    {"citation": _citation(e.citation), "check": _check(e.check)}
                    for e in c.evidence
                ],
            }
            for c in audit.claims
        ],
        "references": [
            {
                "number": r.number,
                "text": r.text,
                "title": r.title,
                "url": r.url,
                "article_id": r.article_id,
                "matched_by": r.matched_by,
                "relevant": r.relevant,
                "relevance": r.relevance,
                "supports": list(r.supports),
                "pointed_at": list(r.pointed_at),
                "note": r.note,
            }
            for r in audit.references
        ],
        "sources": [reference_to_dict(r) for r in audit.sources],
        "notes": list(audit.notes),
        "body": audit.body,
    }


def audit_from_dict(d: dict[str, Any]) -> Audit:
    as_of = _dt(d["as_of"])
    assert as_of is not None
    return Audit(
        question=d["question"],
        body=d["body"],
        claims=tuple(
            AuditClaim(
                text=c["text"],
                start=c["start"],
                end=c["end"],
                paragraph=c["paragraph"],
                label=c["label"],
                score=c["score"],
                evidence=tuple(
                    ClaimEvidence(
                        _citation_from(e["citation"]), _check_from(e["check"]) or NO_CHECK
                    )
                    for e in c["evidence"]
                ),
                markers=tuple(c["markers"]),
                links=tuple(c["links"]),
                reasons=tuple(c["reasons"]),
                sentence=c.get("sentence"),
                part=c.get("part", 0),
            )
            for c in d["claims"]
        ),
        references=tuple(
            AuditReference(
                number=r["number"],
                text=r["text"],
                title=r["title"],
                url=r["url"],
                article_id=r["article_id"],
                matched_by=r["matched_by"],
                relevant=r["relevant"],
                relevance=r["relevance"],
                supports=tuple(r["supports"]),
                pointed_at=tuple(r["pointed_at"]),
                note=r["note"],
            )
            for r in d["references"]
        ),
        sources=tuple(_reference(r) for r in d["sources"]),
        as_of=as_of,
        input_format=d["input_format"],
        notes=tuple(d["notes"]),
        origin=d["origin"],
        id=d["id"],
        created_at=_dt(d["created_at"]),
    )
