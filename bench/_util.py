"""Small helpers shared by the benchmark scripts."""

from __future__ import annotations

import resource
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data"
OUT = REPO / "bench" / "out"


def peak_rss_mib() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(values: list[float]) -> str:
    return (
        f"p50 {percentile(values, 50) * 1000:.2f} ms, p95 {percentile(values, 95) * 1000:.2f} ms, "
        f"mean {statistics.fmean(values) * 1000:.2f} ms (n={len(values)})"
    )


def command_line() -> str:
    return "python " + " ".join(sys.argv)
