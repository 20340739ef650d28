"""JSON encoding of answers: what the store keeps, what `--format json` and the REST API print.

``answer_from_dict(answer_to_dict(a)) == a`` holds for every answer; the round trip is tested.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from citewire.models import (
    Answer,
    Carrier,
    Check,
    Citation,
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
                        citations=tuple(
                            Citation(
                                article_id=c["article_id"],
                                start=c["start"],
                                end=c["end"],
                                quote=c["quote"],
                                quote_hash=c["quote_hash"],
                                passage_id=c["passage_id"],
                                ref=c["ref"],
                            )
                            for c in s["citations"]
                        ),
                        check=(
                            Check(
                                passed=s["check"]["passed"],
                                score=s["check"]["score"],
                                layer=s["check"]["layer"],
                                reasons=tuple(s["check"]["reasons"]),
                            )
                            if s["check"]
                            else None
                        ),
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
