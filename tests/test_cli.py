"""The CLI as a user runs it: click's CliRunner for most cases, a real subprocess for a few."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from citewire.cli import cli


@pytest.fixture
def run(home: Path):  # type: ignore[no-untyped-def]
    runner = CliRunner()

    def invoke(*args: str, input: bytes | None = None):  # type: ignore[no-untyped-def]
        return runner.invoke(cli, [*args], env={"CITEWIRE_HOME": str(home)}, input=input)

    return invoke


def test_ingest_search_stats(run, corpus_file: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = run("ingest", str(corpus_file), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["added"] == 5 and report["near_duplicates"] == 1

    result = run("search", "fuel blockade southern ports", "--k", "3")
    assert result.exit_code == 0
    assert "Meridian Wire" in result.output
    assert "also carried by: Harbor Times" in result.output
    assert "2026-04-07" in result.output

    result = run("search", "fuel blockade", "--json", "--until", "2026-03-31")
    hits = json.loads(result.output)
    assert all(h["article"]["published_at"] < "2026-04" for h in hits)

    result = run("stats", "--json")
    stats = json.loads(result.output)
    assert stats["articles"] == 6 and stats["groups"] == 5


def test_dry_run_writes_nothing(run, corpus_file: Path) -> None:  # type: ignore[no-untyped-def]
    result = run("ingest", str(corpus_file), "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["added"] == 5
    assert json.loads(run("stats", "--json").output)["articles"] == 0


def test_failures_reported_one_line_each(run, corpus_file: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "empty.html").write_bytes(b"")
    (bad / "binary.txt").write_bytes(bytes(range(256)) * 40)
    (bad / "broken.jsonl").write_text('{"title": "ok", "text": "Fine text here."}\n{not json\n')
    result = run("ingest", str(bad), str(corpus_file), str(tmp_path / "missing.html"))
    assert result.exit_code == 1
    failures = [line for line in result.output.splitlines() if line.startswith("failed:")]
    assert len(failures) == 4, result.output
    assert any("missing.html" in f and "no such file" in f for f in failures)
    assert any("broken.jsonl:2" in f for f in failures)
    # The good input still went in.
    assert json.loads(run("stats", "--json").output)["articles"] == 7


def test_stdin_jsonl(run, corpus_file: Path) -> None:  # type: ignore[no-untyped-def]
    result = run("ingest", "-", "--json", input=corpus_file.read_bytes())
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["added"] == 5


def test_errors_are_one_line(run) -> None:  # type: ignore[no-untyped-def]
    result = run("search", "  ")
    assert result.exit_code == 1
    assert result.output.strip().startswith("Error: empty query")
    assert "Traceback" not in result.output
    result = run("search", "x", "--since", "yesterday-ish")
    assert result.exit_code == 1 and "Error:" in result.output


def test_home_option_keeps_indexes_apart(corpus_file: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    one, two = tmp_path / "one", tmp_path / "two"
    assert runner.invoke(cli, ["ingest", str(corpus_file), "--home", str(one)]).exit_code == 0
    stats_two = runner.invoke(cli, ["stats", "--json", "--home", str(two)])
    assert json.loads(stats_two.output)["articles"] == 0
    stats_one = runner.invoke(cli, ["stats", "--json", "--home", str(one)])
    assert json.loads(stats_one.output)["articles"] == 6


def test_real_subprocess(corpus_file: Path, home: Path) -> None:
    env = {**os.environ, "CITEWIRE_HOME": str(home)}
    done = subprocess.run(
        [sys.executable, "-m", "citewire", "ingest", str(corpus_file), "-q"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "added 5" in done.stdout


def test_default_outlet_and_unnamed_copies(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    text = (
        "The harbour authority said on Monday that the new ferry terminal would open in May, "
        "two years later than planned, after a dispute with the builders over costs."
    )
    records = [
        {"title": "Ferry terminal delayed", "text": text},
        {"title": "Ferry terminal opening put back", "text": text},  # same text, no URL
        {
            "title": "Council budget",
            "text": "The council approved its budget on Tuesday.",
            "outlet": "Civic Post",
        },
    ]
    path = tmp_path / "r.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    assert run("ingest", str(path), "--outlet", "Harbour Gazette").exit_code == 0
    hits = json.loads(run("search", "ferry terminal delay", "--json").output)
    assert hits[0]["article"]["outlet"] == "Harbour Gazette"
    outlets = {h["article"]["outlet"] for h in json.loads(run("search", "budget", "--json").output)}
    assert "Civic Post" in outlets  # a record's own outlet wins over the default
