"""The verifier's accuracy per layer, scored by citewire.evaluate_verify (the module behind
`citewire eval attributionbench ...`), with the majority class and a word-overlap baseline.

    python bench/bench_verify.py --calibrate --judge local   # thresholds on attributionbench dev
    python bench/bench_verify.py --probe --judge local       # judge speed, passage reused or not
    python bench/bench_verify.py                             # every set, no judge
    python bench/bench_verify.py wice --judge local --judge-limit 40

Each report goes to bench/out/verify_<set>.json (and .txt); calibration and the probe to
bench/out/verify_calibration.txt and verify_probe.txt. Data is read from ../shared/data.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from _util import DATA, OUT, command_line, peak_rss_mib
from citewire.embed import default_embedder
from citewire.evaluate import EvalReport, report_text
from citewire.evaluate_verify import (
    VERIFY_SETS,
    calibrate,
    load_pairs,
    run_verify_eval,
    verify_set_folder,
)
from citewire.judge import LlamaJudge, make_judge
from citewire.verify import Judge


def table(report: EvalReport | dict[str, Any]) -> str:
    """The report's figures as a Markdown table: one row per system, one column per metric."""
    rows: dict[str, dict[str, str]] = {}
    columns: list[str] = []
    figures = report["figures"] if isinstance(report, dict) else [vars(f) for f in report.figures]
    for f in figures:
        label, number, unit = f["label"], f["value"], f["unit"]
        tag = label.split("] ", 1)[0] + "] " if label.startswith("[") else ""
        system, _, metric = label.removeprefix(tag).partition(": ")
        if metric not in columns:
            columns.append(metric)
        if number is None:
            value = "n/a"
        elif unit == "share":
            value = f"{number:.3f}"
        else:
            value = f"{number:.3g}" if number < 100 else f"{number:.0f}"
        rows.setdefault(tag + system.strip(), {})[metric] = f"{value} (n={f['n']})"
    lines = ["| system | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for system, cells in rows.items():
        lines.append(f"| {system} | " + " | ".join(cells.get(c, "") for c in columns) + " |")
    return "\n".join(lines)


def probe(judge: LlamaJudge, claims: int = 6) -> str:
    """Seconds per claim with the passage prefix reused vs evaluated cold, on one SummEdits
    article (~510 words) and its first summaries."""
    pairs = load_pairs("summedits_news", verify_set_folder("summedits_news", DATA))
    doc = pairs[0].group
    chosen = [p for p in pairs if p.group == doc][:claims]
    judge.load()
    cold, warm, same = [], [], 0
    for pair in chosen:
        judge.forget()
        started = time.perf_counter()
        p_cold = judge.support(pair.claim, pair.evidence)
        cold.append(time.perf_counter() - started)
        started = time.perf_counter()
        p_warm = judge.support(pair.claim + " ", pair.evidence)  # a new claim, same passage
        warm.append(time.perf_counter() - started)
        started = time.perf_counter()
        same += judge.support(pair.claim, pair.evidence) == p_cold
        del p_warm
    return (
        f"judge {judge.name}, {len(chosen)} SummEdits claims on one ~"
        f"{len(chosen[0].evidence.split())}-word article: cold {sum(cold) / len(cold):.2f} s/claim,"
        f" passage reused {sum(warm) / len(warm):.2f} s/claim; reused == cold probability for "
        f"{same}/{len(chosen)} claims; tokens evaluated {judge.stats.evaluated_tokens}, "
        f"reused {judge.stats.reused_tokens}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("sets", nargs="*", help=f"default: {' '.join(VERIFY_SETS)}")
    parser.add_argument("--limit", type=int, default=0, help="pairs (claims) per part; 0: all")
    parser.add_argument("--judge", default=None, help="none | llm | local | smollm2 | PATH.gguf")
    parser.add_argument("--judge-limit", type=int, default=None)
    parser.add_argument("--calibrate", action="store_true")
    parser.add_argument("--probe", action="store_true")
    parser.add_argument("--probe-claims", type=int, default=3)
    parser.add_argument("--tables", action="store_true", help="print the saved reports' tables")
    args = parser.parse_args()
    if args.tables:
        for name in args.sets or VERIFY_SETS:
            path = OUT / f"verify_{name}.json"
            if path.is_file():
                saved = json.loads(path.read_text())
                print(f"### {name}\n\n{table(saved)}\n\n" + "\n".join(saved["notes"]) + "\n")
        return
    OUT.mkdir(parents=True, exist_ok=True)
    judge: Judge | None = make_judge(args.judge)
    embedder = default_embedder()
    header = f"$ {command_line()}\n"

    if args.probe:
        assert isinstance(judge, LlamaJudge), "--probe needs a local judge"
        text = header + probe(judge, args.probe_claims)
        print(text)
        (OUT / "verify_probe.txt").write_text(text + "\n")
        return
    if args.calibrate:
        started = time.perf_counter()
        results = calibrate(
            DATA,
            embedder=embedder,
            judge=judge,
            judge_limit=args.judge_limit or 60,
            progress=print,
        )
        lines = [header, "AttributionBench dev split (calibration only; never the test splits)"]
        for c in results:
            lines.append(
                f"{c.layer:<10} current {c.current:.2f} (BA {c.current_balanced_accuracy:.3f}) "
                f"-> chosen {c.chosen:.2f} (BA {c.balanced_accuracy:.3f}); best BA "
                f"{c.best_balanced_accuracy:.3f}, plateau {c.plateau[0]:.2f}-{c.plateau[1]:.2f},"
                f" n={c.n}"
            )
        lines.append(f"{time.perf_counter() - started:.0f} s, peak RSS {peak_rss_mib():.0f} MiB")
        text = "\n".join(lines)
        print(text)
        (OUT / "verify_calibration.txt").write_text(text + "\n")
        return

    for name in args.sets or VERIFY_SETS:
        report = run_verify_eval(
            name,
            DATA,
            limit=args.limit or None,
            judge=judge,
            judge_limit=args.judge_limit,
            embedder=embedder,
            progress=print,
        )
        text = header + report_text(report) + "\n\n" + table(report)
        print(text)
        Path(OUT / f"verify_{name}.txt").write_text(text + "\n")
        Path(OUT / f"verify_{name}.json").write_text(
            json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"
        )
    print(f"peak RSS {peak_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
