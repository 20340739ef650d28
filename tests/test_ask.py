"""`ask` end to end: real SQLite, the real embedding model, the extractive writer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from citewire.cli import cli
from citewire.codec import answer_from_dict, answer_to_dict
from citewire.dates import parse_user_date
from citewire.engine import Engine
from citewire.errors import QueryError
from citewire.models import Answer, AnswerStatus
from citewire.render import answer_html, answer_markdown, answer_text
from tests.support.corpus import FUEL_RECORDS, articles, write_jsonl

WHY = (
    "Veloria refuses a temporary ceasefire and is threatened by the Northern Alliance. "
    "Why does it refuse?"
)


@pytest.fixture
def loaded(engine: Engine, corpus_file: Path) -> Engine:
    engine.ingest([str(corpus_file)])
    return engine


def assert_well_cited(engine: Engine, answer: Answer) -> None:
    cited: list[int] = []
    for sentence in answer.sentences:
        if sentence.kind != "claim":
            assert not sentence.citations
            continue
        assert sentence.citations, sentence.text
        assert sentence.check is not None and sentence.check.passed
        for c in sentence.citations:
            article = engine.store.get_article(c.article_id)
            assert article is not None and article.text[c.start : c.end] == c.quote
            cited.append(c.ref)
    # References: exactly what is cited, numbered 1..n in order of first use.
    first_use = list(dict.fromkeys(cited))
    assert first_use == list(range(1, len(first_use) + 1))
    assert [r.number for r in answer.references] == first_use


def test_why_question_is_answered_with_reasons(loaded: Engine) -> None:
    answer = loaded.ask(WHY)
    assert answer.status == AnswerStatus.ANSWERED
    assert_well_cited(loaded, answer)
    outlets = {r.outlet for r in answer.references}
    assert not outlets & {"Council on Digital Standards", "AI Policy Observatory"}
    lead = answer.paragraphs[0]
    assert lead.role == "lead"
    text = " ".join(s.text for s in answer.sentences).lower()
    # The stated reasons: a pause to rearm, a trap, guarantees, the blockade.
    assert sum(w in text for w in ("rearm", "trap", "guarantees", "blockade")) >= 2
    assert answer.sentences_passed == answer.sentences_checked >= 2
    wire = next(r for r in answer.references if r.outlet == "Meridian Wire")
    assert {c.outlet for c in wire.also_carried_by} == {"Harbor Times"}
    # No sentence is said twice (the syndicated copy is one source).
    texts = [s.text for s in answer.sentences]
    assert len(texts) == len(set(texts))


def test_answers_are_stored_and_shown(loaded: Engine) -> None:
    answer = loaded.ask(WHY)
    assert answer.id and answer.created_at
    assert loaded.answer(answer.id) == answer
    assert [a.id for a in loaded.answers()] == [answer.id]
    assert answer_from_dict(json.loads(json.dumps(answer_to_dict(answer)))) == answer
    with pytest.raises(QueryError):
        loaded.answer("nope")


def test_not_in_the_sources(loaded: Engine) -> None:
    answer = loaded.ask("What did the Bank of Japan decide about interest rates?")
    assert answer.status == AnswerStatus.INSUFFICIENT_EVIDENCE
    assert answer.paragraphs == () and answer.references == ()
    assert answer.related  # nearest sources are listed
    assert "do not answer" in answer_text(answer)


def test_empty_index_and_bad_questions(engine: Engine) -> None:
    answer = engine.ask("Why did the talks stall?")
    assert answer.status == AnswerStatus.INSUFFICIENT_EVIDENCE and not answer.related
    for bad in ("", "   ", "?!?", "x" * 5000):
        with pytest.raises(QueryError):
            engine.ask(bad)


def test_as_of_limits_evidence(loaded: Engine) -> None:
    as_of = parse_user_date("2026-04-08", end_of_day=True)
    answer = loaded.ask("Why did the talks between Veloria and the Alliance stall?", as_of=as_of)
    assert answer.as_of == as_of
    for ref in answer.references:
        assert ref.published_at is not None and ref.published_at <= as_of
    assert "As of 2026-04-08" in answer_text(answer)


def test_disagreeing_sources_are_both_shown(engine: Engine, tmp_path: Path) -> None:
    engine.ingest([str(write_jsonl(tmp_path / "fuel.jsonl", FUEL_RECORDS))])
    answer = engine.ask("By how much has the blockade cut Veloria's fuel imports?")
    assert answer.status == AnswerStatus.ANSWERED
    disputes = [p for p in answer.paragraphs if p.role == "disagreement"]
    assert disputes, answer_text(answer)
    claims = [s for s in disputes[0].sentences if s.kind == "claim"]
    assert {"40 per cent" in c.text or "60 per cent" in c.text for c in claims} == {True}
    assert len({c.citations[0].article_id for c in claims}) == 2
    assert "Capital Ledger" in " ".join(s.text for s in disputes[0].sentences)


def test_one_dispute_with_every_account(engine: Engine, tmp_path: Path) -> None:
    """Two reports say 40 per cent (the wire story and a local paper), one says 60: a single
    dispute quotes all three, oldest first, instead of repeating the 60 in two disputes."""
    engine.ingest([str(write_jsonl(tmp_path / "all.jsonl", [*articles(), *FUEL_RECORDS]))])
    answer = engine.ask("By how much has the blockade cut Veloria's fuel imports?")
    disputes = [p for p in answer.paragraphs if p.role == "disagreement"]
    assert len(disputes) == 1, answer_text(answer)
    claims = [s for s in disputes[0].sentences if s.kind == "claim"]
    assert sum("60 per cent" in c.text for c in claims) == 1
    assert sum("40 per cent" in c.text for c in claims) == 2
    shown = [s.text for s in answer.sentences if s.kind == "claim"]
    assert len(shown) == len(set(shown))  # no sentence twice anywhere in the answer
    connective = disputes[0].sentences[-1].text
    assert connective.startswith("The last account is the most recent one (Capital Ledger")


def test_formats_and_hostile_text(engine: Engine, tmp_path: Path) -> None:
    hostile = {
        "url": "javascript:alert(1)",
        "title": "<script>alert('t')</script> Veloria closes border crossings",
        "text": "Veloria closed all border crossings with the Northern Alliance on Friday, the "
        "interior ministry said. <img src=x onerror=alert(1)> The ministry said the closure would "
        "last until a permanent ceasefire is signed.",
        "published": "2026-04-10",
        "outlet": "<b>Evil</b> Times",
    }
    engine.ingest([str(write_jsonl(tmp_path / "h.jsonl", [hostile, *articles()]))])
    answer = engine.ask("Why did Veloria close its border crossings?")
    assert answer.status == AnswerStatus.ANSWERED
    page = answer_html(answer)
    assert "<script>alert" not in page and "<img src=x" not in page and "<b>Evil" not in page
    assert 'href="javascript:' not in page
    assert "&lt;script&gt;" in page or "&lt;img" in page
    md = answer_markdown(answer)
    assert md.startswith("## Why did Veloria") and "### References" in md
    text = answer_text(answer, explain=True)
    assert "References" in text and "[1]" in text and "Candidates considered" in text


def test_cli_ask_answers_show(corpus_file: Path, home: Path) -> None:
    runner = CliRunner()
    env = {"CITEWIRE_HOME": str(home)}
    assert runner.invoke(cli, ["ingest", str(corpus_file)], env=env).exit_code == 0
    result = runner.invoke(cli, ["ask", WHY, "--format", "json"], env=env)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["status"] == "answered" and data["references"]
    listed = runner.invoke(cli, ["answers", "--json"], env=env)
    assert json.loads(listed.output)[0]["id"] == data["id"]
    shown = runner.invoke(cli, ["show", data["id"], "--format", "markdown"], env=env)
    assert shown.exit_code == 0 and "### References" in shown.output
    missing = runner.invoke(cli, ["show", "nope"], env=env)
    assert missing.exit_code == 1 and missing.output.startswith("Error: no answer")


def test_contradicted_premise_is_called_out(loaded: Engine) -> None:
    answer = loaded.ask(
        "The Northern Alliance has offered Veloria a 60-day ceasefire. Who is mediating it?"
    )
    assert answer.status == AnswerStatus.PREMISE_CONTRADICTED
    premise = answer.paragraphs[0]
    assert premise.role == "premise"
    assert "60-day" in premise.sentences[0].text and premise.sentences[0].kind == "connective"
    cited = premise.sentences[1]
    assert "30-day" in cited.text and cited.citations and cited.check and cited.check.passed
    assert "sources say otherwise" in " ".join(answer_text(answer).split())


def test_consistent_premise_is_not_flagged(loaded: Engine) -> None:
    answer = loaded.ask(
        "The Northern Alliance has offered Veloria a 30-day ceasefire. Who is mediating it?"
    )
    assert answer.status == AnswerStatus.ANSWERED
    assert all(p.role != "premise" for p in answer.paragraphs)


def test_undated_sources_count_only_without_an_as_of_date(engine: Engine, tmp_path: Path) -> None:
    record = {
        "title": "Harbour ferry terminal delayed",
        "text": "The harbour authority said the new ferry terminal would open two years late "
        "because of a dispute with the builders over rising costs.",
    }
    engine.ingest([str(write_jsonl(tmp_path / "undated.jsonl", [record]))])
    answer = engine.ask("Why is the ferry terminal delayed?")
    assert answer.status == AnswerStatus.ANSWERED
    assert any("no publication date" in n for n in answer.notes)
    dated = engine.ask("Why is the ferry terminal delayed?", as_of=parse_user_date("2030-01-01"))
    assert dated.status == AnswerStatus.INSUFFICIENT_EVIDENCE


def test_same_numbers_in_different_frames_are_no_disagreement(
    engine: Engine, tmp_path: Path
) -> None:
    records = [
        {
            "url": "https://a.example/medals",
            "title": "Norway tops the medal table",
            "text": "Norway collected 39 medals at the 2018 winter games, a record for a single "
            "games.",
            "published": "2018-02-26",
            "outlet": "Nordic Sport",
        },
        {
            "url": "https://b.example/history",
            "title": "A look back at Vancouver",
            "text": "In 2010 the United States led the medal count with 37 medals, ahead of "
            "Germany and Canada.",
            "published": "2018-02-20",
            "outlet": "Games Weekly",
        },
    ]
    engine.ingest([str(write_jsonl(tmp_path / "medals.jsonl", records))])
    answer = engine.ask("How many medals did Norway collect at the 2018 winter games?")
    assert answer.status == AnswerStatus.ANSWERED
    assert all(p.role != "disagreement" for p in answer.paragraphs)


def test_a_syndicated_copy_with_a_changed_figure_is_not_hidden(
    engine: Engine, tmp_path: Path
) -> None:
    from tests.support.corpus import SYNDICATED_COPY, WIRE_STORY

    records = articles()[:2]
    # The copy changes the wire story's figure: grouped as the same story, yet it disagrees.
    records[1] = {**records[1], "text": SYNDICATED_COPY.replace("40 percent", "65 percent")}
    assert "65 percent" in records[1]["text"] and "40 per cent" in WIRE_STORY
    report = engine.ingest([str(write_jsonl(tmp_path / "copy.jsonl", records))])
    assert report.near_duplicates == 1
    hits = engine.search("blockade cut fuel imports percent", k=5)
    assert any("65 percent" in h.passage.text for h in hits)
    answer = engine.ask("By how much did the blockade cut Veloria's fuel imports?")
    disputes = [p for p in answer.paragraphs if p.role == "disagreement"]
    assert disputes, answer_text(answer)
    quoted = " ".join(s.text for s in disputes[0].sentences)
    assert "40 per cent" in quoted and "65 percent" in quoted
