"""The ``Writer`` protocol: turn numbered evidence passages into a draft answer.

Writers are interchangeable: the extractive writer (default; no model) and LLM writers behind an
OpenAI-compatible API or a local GGUF model. Whatever a writer produces, ``citewire.answer``
checks every sentence against the span it cites before anything is shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from citewire.models import Decision, Hit, Paragraph
from citewire.question import Question


@dataclass(frozen=True)
class Draft:
    paragraphs: tuple[Paragraph, ...]
    notes: tuple[str, ...] = ()
    explain: tuple[Decision, ...] = ()
    status: str | None = None  # a writer may conclude insufficient_evidence itself


class Writer(Protocol):
    name: str

    def write(self, question: Question, evidence: Sequence[Hit]) -> Draft:
        """``evidence[i]`` is passage number i + 1 in prompts and ``[n]`` markers."""
        ...


@runtime_checkable
class Reviser(Protocol):
    """Optional: a writer that can rewrite sentences that failed their checks (LLM writers)."""

    def revise(
        self, question: Question, evidence: Sequence[Hit], failed: Sequence[tuple[str, str]]
    ) -> Draft:
        """``failed`` holds (sentence, why it failed); return replacement paragraphs."""
        ...
