"""Answer quality on the public sets, scored by citewire.evaluate (the module `citewire eval` and
the CI gate use), with the retrieval-only baseline measured in the same run.

    python bench/bench_answers.py                      # rgb_en_fact, multihop, realtimeqa
    python bench/bench_answers.py rgb_en_fact --limit 20
    python bench/bench_answers.py --check              # compare with bench/eval_floors.json
    python bench/bench_answers.py --pin                # write the floors from this run

Indexes whose vectors are reused (built by bench_ingest.py): bench/out/realtimeqa for realtimeqa
(the set is skipped until that build has finished) and bench/out/bbc for the multihop
distractors. The extractive writer only: no LLM server runs here. Each report is also written
to bench/out/answers_<set>.json.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _util import DATA, OUT, REPO, command_line, peak_rss_mib
from citewire.embed import Embedder, default_embedder
from citewire.engine import INDEX_FILE, Engine
from citewire.evaluate import (
    SETS,
    EvalReport,
    check_floors,
    gate_skip_reason,
    percentile,
    pin_floors,
    report_text,
    run_eval,
)

FLOORS = REPO / "bench" / "eval_floors.json"


def _ingest_finished(corpus: str) -> bool:
    log = OUT / f"ingest_{corpus}.txt"
    return log.exists() and any(
        line.startswith("peak RSS") for line in log.read_text().splitlines()
    )


def home_for(set_name: str) -> tuple[Path | None, str | None]:
    """(home, reason to skip the set)."""
    if set_name == "realtimeqa":
        if not _ingest_finished("realtimeqa"):
            return None, (
                "bench/out/realtimeqa is not finished (run `python bench/bench_ingest.py "
                "realtimeqa` first; embedding all 2,210 articles here takes most of an hour)"
            )
        return OUT / "realtimeqa", None
    if set_name == "multihop_rag_sample500" and _ingest_finished("bbc"):
        return OUT / "bbc", None
    return None, None


def bbc_probe(embedder: Embedder, n: int = 30) -> str:
    """Latency of `ask` on the raw bbc_news index (a copy), with realtimeqa questions: the
    articles there carry no date, so this also shows what `ask` does with undated articles."""
    if not _ingest_finished("bbc"):
        return "bbc probe: skipped (bench/out/bbc not built)"
    lines = (DATA / "realtimeqa" / "questions_2022.jsonl").read_text().splitlines()
    questions = [json.loads(line)["question"] for line in lines]
    seconds, statuses = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        with (
            sqlite3.connect(OUT / "bbc" / INDEX_FILE) as src,
            sqlite3.connect(Path(tmp) / INDEX_FILE) as dst,
        ):
            src.backup(dst)
        with Engine(tmp, embedder=embedder) as engine:
            for question in questions[:: max(1, len(questions) // n)][:n]:
                started = time.perf_counter()
                answer = engine.ask(question, as_of=datetime.now(UTC))
                seconds.append(time.perf_counter() - started)
                statuses[answer.status] = statuses.get(answer.status, 0) + 1
    p50, p95 = percentile(seconds, 50), percentile(seconds, 95)
    assert p50 is not None and p95 is not None
    return (
        f"bbc probe (raw bench/out/bbc index, realtimeqa questions, as of now): ask latency p50 "
        f"{p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms (n={len(seconds)}); statuses {statuses}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("sets", nargs="*", metavar="SET", help=f"default: {' '.join(SETS)}")
    parser.add_argument("--limit", type=int, default=None, help="questions per set (0 = all)")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--check", action="store_true", help="fail when a pinned floor is missed")
    parser.add_argument("--pin", action="store_true", help=f"write {FLOORS.name} from this run")
    parser.add_argument("--no-bbc-probe", action="store_true")
    args = parser.parse_args()
    unknown = sorted(set(args.sets) - set(SETS))
    if unknown:
        parser.error(f"unknown set(s) {', '.join(unknown)}; choose from {', '.join(SETS)}")
    pinned: dict[str, Any] = json.loads(FLOORS.read_text()) if FLOORS.exists() else {"sets": {}}
    print(f"command: {command_line()}")
    embedder = default_embedder()
    reports: list[EvalReport] = []
    failed = False
    for set_name in args.sets or SETS:
        limit = args.limit
        if args.check:
            reason = gate_skip_reason(set_name, args.data, pinned)
            if reason is not None:
                print(f"\n{set_name}: not checked: {reason}")
                continue
            limit = pinned["sets"][set_name]["limit"]
        home, skip = home_for(set_name)
        if skip is not None:
            print(f"\n{set_name}: skipped: {skip}")
            continue
        print(f"\n== {set_name}", flush=True)
        report = run_eval(
            set_name,
            args.data,
            limit,
            home,
            embedder=embedder,
            progress=lambda m: print("  ..", m, flush=True),
        )
        reports.append(report)
        print(report_text(report), flush=True)
        (OUT / f"answers_{set_name}.json").write_text(json.dumps(report.to_dict(), indent=2))
        if args.check:
            gate = check_floors(report, pinned)
            if not gate.checked:
                print(f"gate: not checked: {gate.reason}")
            for check in gate.checks:
                mark = "ok  " if check.passed else "FAIL"
                sign = ">=" if check.kind == "min" else "<="
                value = "n/a" if check.value is None else f"{check.value:.3f}"
                print(f"gate {mark} {check.key} = {value} ({sign} {check.bound})")
            failed |= not gate.passed
    if not args.no_bbc_probe and not args.check:
        print("\n" + bbc_probe(embedder))
    if args.pin and reports:
        fresh = pin_floors(reports)
        pinned["sets"].update(fresh["sets"])
        pinned["comment"] = fresh["comment"]
        FLOORS.write_text(json.dumps(pinned, indent=2) + "\n")
        print(f"\nfloors written to {FLOORS} for {', '.join(r.set_name for r in reports)}")
    print("\nno LLM figures: no model server runs here (the OpenAI-compatible writer exists)")
    print(f"peak RSS {peak_rss_mib():.0f} MiB")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
