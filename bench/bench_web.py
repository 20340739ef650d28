"""Load on a real ``citewire serve``: requests/s and latency for a question page and for
``/api/search``, as ratios against ``/api/health`` (no index work) measured in the same run.

    python bench/bench_web.py                          # 1 and 2 workers, 8 clients, 10 s each
    python bench/bench_web.py --workers 2 --concurrency 16 --seconds 20

The index is a copy of bench/out/bbc/ (~10k passages of BBC News, built by
``python bench/bench_ingest.py bbc``), or the tests' small Veloria corpus when that is missing.
The server runs on 127.0.0.1 with rate limiting off; the load generator (httpx, asyncio, a fixed
number of clients each sending its next request when the last one returned: a closed loop, so
the offered load is bounded) runs on the same machine and competes for the same cores, so the
ratios are the figures to compare across machines, not the absolute numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._util import OUT, command_line, percentile
from tests.support.corpus import write_jsonl
from tests.support.webserver import CitewireServer, web_records

BBC_QUESTIONS = [
    "Why did the price of oil rise?",
    "What did the Chancellor say about the budget?",
    "Who won the Australian Open?",
    "Why are mobile phone sales growing?",
    "What happened to Yukos?",
    "How many jobs will be cut?",
]
CORPUS_QUESTIONS = [
    "Why did Veloria refuse a temporary ceasefire?",
    "By how much has the blockade cut Veloria's fuel imports?",
    "What did the lighthouse keepers of Marrow Bay vote?",
]
SEARCHES = [
    "oil prices",
    "budget tax",
    "tennis final",
    "mobile phones",
    "film award",
    "election campaign",
    "ceasefire guarantees",
    "fuel blockade",
]


def prepare_home(root: Path) -> tuple[Path, list[str], str]:
    home = root / "home"
    home.mkdir(parents=True)
    bbc = OUT / "bbc" / "index.db"
    if bbc.exists():
        shutil.copy(bbc, home / "index.db")  # a copy: the server stores answers in it
        return home, BBC_QUESTIONS, "bbc (bench/out/bbc, ~10k passages)"
    from citewire.engine import Engine

    with Engine(home) as engine:
        engine.ingest([str(write_jsonl(root / "corpus.jsonl", web_records()))])
    return home, CORPUS_QUESTIONS, "the tests' Veloria corpus (9 articles)"


async def load(base: str, paths: list[str], concurrency: int, seconds: float) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:

        async def worker(offset: int) -> None:
            nonlocal errors
            i = offset
            while time.perf_counter() < deadline:
                began = time.perf_counter()
                response = await client.get(paths[i % len(paths)])
                latencies.append(time.perf_counter() - began)
                if response.status_code != 200:
                    errors += 1
                i += concurrency

        began = time.perf_counter()
        await asyncio.gather(*(worker(n) for n in range(concurrency)))
        elapsed = time.perf_counter() - began
    return {
        "rps": len(latencies) / elapsed,
        "p50": percentile(latencies, 50) * 1000,
        "p95": percentile(latencies, 95) * 1000,
        "n": len(latencies),
        "errors": errors,
    }


def run(workers: int, concurrency: int, seconds: float) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="citewire-bench-web-") as tmp:
        home, questions, label = prepare_home(Path(tmp))
        with CitewireServer(home, workers=workers, log=Path(tmp) / "serve.log") as server:
            ids = []
            for question in questions:
                answer = httpx.post(
                    server.url("/api/ask"), json={"question": question}, timeout=120
                )
                answer.raise_for_status()
                ids.append(answer.json()["id"])
            targets = {
                "/api/health (baseline)": ["/api/health"],
                "question page": [f"/questions/{i}" for i in ids],
                "/api/search (k=10)": [f"/api/search?q={q.replace(' ', '+')}" for q in SEARCHES],
            }
            for paths in targets.values():  # warm every worker's caches, untimed
                asyncio.run(load(server.url(""), paths, concurrency, 1.0))
            results = {
                name: asyncio.run(load(server.url(""), paths, concurrency, seconds))
                for name, paths in targets.items()
            }
    base = results["/api/health (baseline)"]
    lines = [
        f"index: {label}; {workers} worker(s), {concurrency} concurrent clients, {seconds:.0f} s "
        "per target",
        "| target | requests/s | p50 ms | p95 ms | requests/s vs health | p95 vs health | errors |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['rps']:.0f} | {r['p50']:.1f} | {r['p95']:.1f} | "
            f"{r['rps'] / base['rps']:.3f} | {r['p95'] / base['p95']:.1f}× | {r['errors']:.0f} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, action="append", help="repeatable (default 1, 2)")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    print(command_line())
    for workers in args.workers or [1, 2]:
        print("\n".join(run(workers, args.concurrency, args.seconds)))
        print()


if __name__ == "__main__":
    main()
