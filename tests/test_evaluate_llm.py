"""`citewire eval` with an LLM writer, against the scripted OpenAI-compatible server on 127.0.0.1:
the checked writer and its unchecked one-shot baseline scored in one run, on self-made fixture
sets (see test_evaluate.py); nothing here reads ../shared/data."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from citewire.embed import OnnxEmbedder
from citewire.evaluate import UNCHECKED_NOTE, EvalReport, report_text, run_eval
from citewire.llm import BASE_URL_ENV, MODEL_ENV, OpenAIWriter
from tests.support.fake_llm import Error, FakeLLM, Step, fake_llm
from tests.test_evaluate import _write_realtimeqa, _write_rgb

__all__ = ["fake_llm"]

_PASSAGE = re.compile(r'<passage id="(\d+)"[^>]*>\n(.*?)\n</passage>', re.S)


def _passages(request: dict[str, Any]) -> dict[int, str]:
    return {int(n): text for n, text in _PASSAGE.findall(request["messages"][-1]["content"])}


def _is_revision(request: dict[str, Any]) -> bool:
    return "failed a check" in request["messages"][-1]["content"]


def three_kinds(request: dict[str, Any]) -> Step | str:
    """A first draft with one sentence of each kind: passage 1 copied with [1] (passes), an
    invented year cited to [1] (fails the number check), and no citation at all (fails). Asked
    to rewrite, it gives up."""
    if _is_revision(request):
        return "The sources do not say."
    first = _passages(request)[1].strip()
    return f"{first} [1] It happened in 1875 [1]. Experts were surprised."


def _value(report: EvalReport, key: str) -> float | None:
    figure = report.figure(key)
    assert figure is not None, key
    return figure.value


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("eval-llm-data")
    _write_rgb(root)
    _write_realtimeqa(root)
    return root


def test_llm_writer_and_unchecked_baseline_in_one_run(
    data_dir: Path, embedder: OnnxEmbedder, fake_llm: FakeLLM
) -> None:
    fake_llm.reply(Error(500, "model crashed"))  # the first answer falls back to extractive
    fake_llm.default = three_kinds
    with OpenAIWriter(fake_llm.config()) as writer:
        report = run_eval("rgb_en_fact", data_dir, limit=2, writer=writer, embedder=embedder)
    assert report.writer == "openai:fake-model" and report.n_items == 2
    # 2 items x 3 conditions = 6 answers: 1 failed call, 5 drafts and 5 rewrites. The baseline
    # is the drafts' own text: no extra call.
    assert len(fake_llm.requests) == 11
    assert sum(_is_revision(r) for r in fake_llm.requests) == 5
    fallback = report.figure("llm.fallback")
    assert fallback is not None and fallback.n == 6 and fallback.value == pytest.approx(1 / 6)
    assert _value(report, "llm.completions") == pytest.approx(11 / 6)

    # Unchecked, 1 of every 3 claim sentences holds up; checked, only that one is shown.
    unchecked = report.figure("baseline_llm.support")
    assert unchecked is not None and unchecked.n == 15
    assert unchecked.value == pytest.approx(1 / 3)
    assert _value(report, "baseline_llm.no_citation") == pytest.approx(1 / 3)
    # The model's own drafts (the fallback answer's sentences are counted apart): 3 a draft.
    drafted = report.figure("llm.support_drafted")
    assert drafted is not None and drafted.n == 15 and drafted.value == pytest.approx(1 / 3)
    assert _value(report, "citewire.support_shown") == 1.0
    assert _value(report, "baseline_llm.declined") == 0.0

    # The same contains-the-answer metric for both, per condition; the reply is shown as it is,
    # so the counterfactual condition's fake answer reaches the reader unchecked.
    for condition in ("conflict", "counterfactual", "clean"):
        assert report.figure(f"baseline_llm.{condition}.contains_true") is not None
    assert _value(report, "baseline_llm.clean.contains_fake") == 0.0
    assert (_value(report, "baseline_llm.counterfactual.contains_fake") or 0) > 0

    # The fake server reports completion tokens but no generation time.
    assert _value(report, "llm.tokens_per_second") is None
    assert (_value(report, "llm.tokens_per_call_second") or 0) > 0
    assert _value(report, "llm.generated_tokens") is not None
    seconds = report.figure("llm.seconds_p95")
    assert seconds is not None and seconds.n == 6 and seconds.unit == "seconds"
    assert UNCHECKED_NOTE in report.notes
    assert "[baseline_llm.support]" in report_text(report)
    json.dumps(report.to_dict())


def test_unchecked_baseline_shows_what_the_model_knows_without_the_index(
    data_dir: Path, embedder: OnnxEmbedder, fake_llm: FakeLLM
) -> None:
    """A model that answers from memory: with the gold articles held out, the unchecked reply
    still names the answer; the checks remove that sentence, so the answer cannot leak it."""

    def from_memory(request: dict[str, Any]) -> str:
        if _is_revision(request):
            return "The sources do not say."
        question = request["messages"][-1]["content"].rsplit("Question:", 1)[1]
        if "Glimmer" in question:
            return "Brightline Media bought Glimmer [1]."
        return "The sources do not say."

    fake_llm.default = from_memory
    with OpenAIWriter(fake_llm.config()) as writer:
        report = run_eval("realtimeqa", data_dir, limit=0, writer=writer, embedder=embedder)
    assert report.n_items == 5
    # Only the Glimmer question gets an answer; contains-the-answer is the one metric for both.
    assert _value(report, "baseline_llm.contains_answer") == pytest.approx(1 / 5)
    assert _value(report, "baseline_llm.declined") == pytest.approx(4 / 5)
    # Held out: 2 questions (the Glimmer one and the Coastal Games one), no gold article left.
    held = report.figure("baseline_llm.heldout.leak")
    assert held is not None and held.n == 2 and held.value == pytest.approx(1 / 2)
    assert _value(report, "citewire.heldout.leak") == 0.0


def test_cli_eval_with_an_llm_writer(
    data_dir: Path, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from citewire.cli import cli

    fake_llm.default = three_kinds
    args = ["eval", "rgb_en_fact", "--data", str(data_dir), "--limit", "1", "--writer", "openai"]
    server = ["--llm-url", fake_llm.base_url, "--llm-model", "fake-model"]
    result = CliRunner().invoke(cli, [*args, *server, "--json"])
    assert result.exit_code == 0, result.output
    (report,) = json.loads(result.output[result.output.index("[") :])
    assert report["writer"] == "openai:fake-model"
    keys = {f["key"]: f for f in report["figures"]}
    assert keys["baseline_llm.support"]["n"] == 9  # 3 answers x 3 drafted claims
    assert keys["llm.seconds_p50"]["unit"] == "seconds"
    assert len(fake_llm.requests) == 6  # 3 drafts + 3 rewrites, nothing more

    for name in (BASE_URL_ENV, MODEL_ENV):
        monkeypatch.delenv(name, raising=False)
    missing = CliRunner().invoke(cli, args)
    assert missing.exit_code == 1 and missing.output.startswith("Error:")
    assert BASE_URL_ENV in missing.output
