"""Metering an LLM writer inside ``citewire eval``: its time, its tokens, and the reply it gave
before any check, which is the unchecked one-shot baseline.

``MeteredWriter`` wraps a ``ChatWriter`` (``OpenAIWriter``, ``LlamaWriter``) and is what
``evaluate.run_eval`` hands to ``Engine.ask``. It changes nothing the writer does: ``ask`` sees
the same drafts, the same ``LLMError`` (so the extractive fallback still happens), and can still
``revise``. Around every completion it notes

1. the wall-clock seconds of the call, a failed one included (a timeout costs the reader time);
2. the tokens generated and the time spent generating them, where the backend reports them:
   llama.cpp in-process (its own timers, ``LlamaWriter.last_stats``), llama.cpp's server
   (``timings``), or any OpenAI-compatible server's ``usage`` (tokens only);
3. the raw reply: for the first completion of an answer, with the passages it was given.

The baseline needs no second call: the first completion *is* a plain one-shot prompt (the same
rules, example, passages and question), at temperature 0, before ``ask`` checks, removes or
rewrites anything. ``evaluate`` scores that text with the same functions as the checked answer.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from citewire.errors import LLMError
from citewire.llm import ChatWriter, OpenAIWriter
from citewire.local_llm import LlamaWriter
from citewire.models import Hit
from citewire.question import Question
from citewire.write import Draft

__all__ = ["Completion", "LLMRecord", "MeteredWriter"]


@dataclass(frozen=True)
class Completion:
    seconds: float  # wall clock of the call
    generated: int | None = None  # tokens generated, when the backend says
    generation_seconds: float | None = None  # time spent generating them, when it says


@dataclass
class LLMRecord:
    """What the model did for one answer."""

    completions: list[Completion] = field(default_factory=list)
    reply: str | None = None  # the first completion's raw text: the unchecked baseline
    rewrites: list[str] = field(default_factory=list)  # raw replies to revise requests
    evidence: tuple[Hit, ...] = ()  # the passages that completion was given, [1] first
    failed: str | None = None  # why the first completion failed (ask fell back to extractive)

    @property
    def seconds(self) -> float:
        return sum(c.seconds for c in self.completions)


class MeteredWriter:
    """A ``Writer`` and ``Reviser`` that records ``LLMRecord``s around a ``ChatWriter``.

    Call ``start()`` before each ``ask``; the returned record fills in as ``ask`` runs.
    """

    def __init__(self, inner: ChatWriter) -> None:
        self.inner = inner
        self.name = inner.name
        self.record = LLMRecord()

    def start(self) -> LLMRecord:
        self.record = LLMRecord()
        return self.record

    def write(self, question: Question, evidence: Sequence[Hit]) -> Draft:
        self.record.evidence = tuple(evidence)
        return self._metered(lambda: self.inner.write(question, evidence), first=True)

    def revise(
        self, question: Question, evidence: Sequence[Hit], failed: Sequence[tuple[str, str]]
    ) -> Draft:
        return self._metered(lambda: self.inner.revise(question, evidence, failed), first=False)

    def _metered(self, call: Callable[[], Draft], first: bool) -> Draft:
        self._forget()
        started = time.perf_counter()
        error: LLMError | None = None
        try:
            return call()
        except LLMError as exc:
            error = exc
            if first:
                self.record.failed = exc.one_line()
            raise
        finally:
            # No reply and no error: the writer had nothing to ask (no evidence, no failed
            # sentence) and made no call.
            if self.inner.last_reply is not None or error is not None:
                generated, generation_seconds = self._tokens()
                seconds = time.perf_counter() - started
                self.record.completions.append(Completion(seconds, generated, generation_seconds))
            if first:
                self.record.reply = self.inner.last_reply
            elif self.inner.last_reply is not None:
                self.record.rewrites.append(self.inner.last_reply)

    def _forget(self) -> None:
        self.inner.last_reply = None
        if isinstance(self.inner, LlamaWriter):
            self.inner.last_stats = None
        elif isinstance(self.inner, OpenAIWriter):
            self.inner.last_result = None

    def _tokens(self) -> tuple[int | None, float | None]:
        """(tokens generated, seconds generating) of the call just made, as far as known."""
        if isinstance(self.inner, LlamaWriter) and self.inner.last_stats is not None:
            stats = self.inner.last_stats
            return stats.generated or stats.completion_tokens or None, stats.generation_seconds
        if isinstance(self.inner, OpenAIWriter) and self.inner.last_result is not None:
            result = self.inner.last_result
            tokens = result.usage.get("completion_tokens")
            predicted_ms = result.timings.get("predicted_ms")
            return (
                tokens if isinstance(tokens, int) else None,
                predicted_ms / 1000 if isinstance(predicted_ms, (int, float)) else None,
            )
        return None, None
