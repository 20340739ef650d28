"""`ask` with an LLM writer behind the real OpenAI-compatible HTTP interface (a scripted server
on 127.0.0.1): checks, one revision, and honest fallback when the server misbehaves."""

from __future__ import annotations

from pathlib import Path

import pytest

from citewire.engine import Engine
from citewire.llm import OpenAIWriter
from citewire.models import AnswerStatus
from citewire.render import answer_text
from tests.support.fake_llm import FakeLLM, fake_llm

__all__ = ["fake_llm"]

QUESTION = "Why does Veloria refuse a temporary ceasefire?"


@pytest.fixture
def loaded(engine: Engine, corpus_file: Path) -> Engine:
    engine.ingest([str(corpus_file)])
    return engine


def passage_number(prompt: str, needle: str) -> int:
    """The [n] under which the prompt shows the passage containing ``needle``."""
    blocks = prompt.split("<passage id=")
    for block in blocks[1:]:
        if needle in block:
            return int(block.split('"')[1])
    raise AssertionError(f"{needle!r} not in the prompt")


def test_llm_answer_is_checked_and_revised(loaded: Engine, fake_llm: FakeLLM) -> None:
    def first(request: dict) -> str:  # type: ignore[type-arg]
        prompt = request["messages"][-1]["content"]
        n = passage_number(prompt, "rearm")
        return (
            f"Veloria's foreign ministry said a temporary ceasefire would only let its opponents "
            f"rearm [{n}]. The ministry said fuel imports fell by 75 per cent [{n}]. "
            f"Veloria also demanded a seat at the United Nations [99]."
        )

    def second(request: dict) -> str:  # type: ignore[type-arg]
        prompt = request["messages"][-1]["content"]
        assert "75 per cent" in prompt and "[99]" in prompt  # the failures are shown
        n = passage_number(prompt, "40 per cent")
        return f"Officials estimated that the blockade had cut fuel imports by 40 per cent [{n}]."

    fake_llm.reply(first)
    fake_llm.reply(second)
    with OpenAIWriter(fake_llm.config()) as writer:
        answer = loaded.ask(QUESTION, writer=writer)
    assert answer.status == AnswerStatus.ANSWERED
    assert answer.writer.startswith("openai")
    texts = [s.text for s in answer.sentences]
    assert any("rearm" in t for t in texts)
    assert any("40 per cent" in t for t in texts)  # the revised sentence, checked again
    assert not any("75 per cent" in t or "United Nations" in t for t in texts)
    assert answer.sentences_checked == 4 and answer.sentences_passed == 2
    for s in answer.sentences:
        assert s.check is not None and s.check.passed
        for c in s.citations:
            article = loaded.store.get_article(c.article_id)
            assert article is not None and article.text[c.start : c.end] == c.quote
    assert any("removed" in n for n in answer.notes)


@pytest.mark.parametrize("failure", ["error", "non_json", "empty", "drop"])
def test_broken_server_falls_back_to_extractive(
    loaded: Engine, fake_llm: FakeLLM, failure: str
) -> None:
    getattr(fake_llm, failure)()
    with OpenAIWriter(fake_llm.config()) as writer:
        answer = loaded.ask(QUESTION, writer=writer)
    assert answer.writer == "extractive"
    assert answer.status == AnswerStatus.ANSWERED
    assert any("openai" in n and "extractive writer instead" in n for n in answer.notes)


def test_slow_server_falls_back(loaded: Engine, fake_llm: FakeLLM) -> None:
    fake_llm.slow(3.0)
    with OpenAIWriter(fake_llm.config(timeout=0.5)) as writer:
        answer = loaded.ask(QUESTION, writer=writer)
    assert answer.writer == "extractive"
    assert any("0.5" in n for n in answer.notes)


def test_uncited_answer_never_shown(loaded: Engine, fake_llm: FakeLLM) -> None:
    fake_llm.reply("Veloria refuses because it fears a trap. It wants guarantees.")
    fake_llm.reply("The sources do not say.")
    with OpenAIWriter(fake_llm.config()) as writer:
        answer = loaded.ask(QUESTION, writer=writer)
    assert answer.status == AnswerStatus.INSUFFICIENT_EVIDENCE
    assert answer.sentences == ()


class ScriptedJudge:
    """A judge with a fixed opinion, behind the real ``Judge`` protocol."""

    def __init__(self, probability: float) -> None:
        self.probability = probability
        self.calls: list[tuple[str, str]] = []

    @property
    def name(self) -> str:
        return "scripted-judge"

    def support(self, claim: str, evidence: str) -> float:
        self.calls.append((claim, evidence))
        return self.probability


@pytest.mark.parametrize("probability", [0.9, 0.1])
def test_judge_decides_paraphrases(loaded: Engine, fake_llm: FakeLLM, probability: float) -> None:
    def paraphrase(request: dict) -> str:  # type: ignore[type-arg]
        n = passage_number(request["messages"][-1]["content"], "rearm")
        return (
            f"Veloria's foreign ministry said a temporary ceasefire would let its foes rearm [{n}]."
        )

    fake_llm.reply(paraphrase)
    fake_llm.reply(paraphrase)  # the one revision says the same
    judge = ScriptedJudge(probability)
    with OpenAIWriter(fake_llm.config()) as writer:
        answer = loaded.ask(QUESTION, writer=writer, judge=judge)
    assert judge.calls and "rearm" in judge.calls[0][1]  # it saw the cited passage
    if probability > 0.5:
        assert answer.status == AnswerStatus.ANSWERED
        (sentence,) = answer.sentences
        assert sentence.check is not None and sentence.check.layer == "scripted-judge"
        assert sentence.check.score == pytest.approx(0.9)
        assert "0.90 scripted-judge" in answer_text(answer)
    else:
        assert answer.status == AnswerStatus.INSUFFICIENT_EVIDENCE
        assert not any("foes" in s.text for s in answer.sentences)
        # why it declined stays on record: two drafts (the first and the rewrite), none passed
        assert (answer.sentences_checked, answer.sentences_passed) == (2, 0)
        assert "0 of 2 drafted sentences passed" in answer_text(answer)
