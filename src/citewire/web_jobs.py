"""Ingest jobs for the web app: started by ``POST /api/ingest``, polled at ``GET /api/jobs/{id}``.

An ingest can take minutes (fetching feeds, embedding), longer than any HTTP request should
wait, so it runs as a job:

1. ``JobRunner.submit`` records the job as ``queued`` and hands it to a background thread;
2. the thread takes the index's ingest lock (an ``flock`` on a file beside the index, so one
   ingest runs at a time per index across every worker process), marks the job ``running`` and
   ingests through its *own* ``Engine`` (its own SQLite connection: in WAL mode the pages keep
   reading while it writes);
3. progress (documents read, added, failed, the current source) is written as it goes, at most
   twice a second, and the report (or the error) when it ends: ``done`` or ``failed``.

Jobs live in a small SQLite file beside the index (``web-jobs.db``), not in memory, so a job
started through one uvicorn worker can be polled through another. A job whose process died is
reported as failed when polled.
"""

from __future__ import annotations

import fcntl
import io
import json
import logging
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from citewire.embed import Embedder
from citewire.engine import Engine
from citewire.errors import CitewireError
from citewire.ingest import IngestOptions, Progress, ProgressCallback

log = logging.getLogger("citewire.web")

JOBS_FILE = "web-jobs.db"
LOCK_FILE = "ingest.lock"
PROGRESS_EVERY = 0.5  # seconds between progress writes

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    pid INTEGER NOT NULL,
    sources TEXT NOT NULL,      -- JSON list of what was asked for (URLs, "N documents")
    progress TEXT NOT NULL,     -- JSON object
    report TEXT,                -- JSON IngestReport.to_dict() once done
    error TEXT                  -- JSON {"code", "message", "hint"} once failed
);
"""


def _now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass(frozen=True)
class Job:
    id: str
    kind: str
    status: str
    created_at: datetime
    updated_at: datetime
    sources: tuple[str, ...]
    progress: dict[str, Any]
    report: dict[str, Any] | None
    error: dict[str, Any] | None

    @property
    def finished(self) -> bool:
        return self.status in (DONE, FAILED)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "sources": list(self.sources),
            "progress": self.progress,
            "report": self.report,
            "error": self.error,
        }


class JobStore:
    """The jobs table. One short-lived connection per call: calls come from many threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            conn.execute("PRAGMA busy_timeout=30000")
            yield conn
        finally:
            conn.close()

    def create(self, kind: str, sources: Sequence[str]) -> Job:
        job_id = secrets.token_urlsafe(9)
        now = _now()
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO jobs(id, kind, status, created_at, updated_at, pid, sources, "
                "progress) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (job_id, kind, QUEUED, now, now, os.getpid(), json.dumps(list(sources)), "{}"),
            )
        job = self.get(job_id)
        assert job is not None
        return job

    def update(
        self,
        job_id: str,
        *,
        status: str | None = None,
        progress: dict[str, Any] | None = None,
        report: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
    ) -> None:
        sets, params = ["updated_at = ?"], [_now()]
        for column, value in (
            ("status", status),
            ("progress", progress),
            ("report", report),
            ("error", error),
        ):
            if value is not None:
                sets.append(f"{column} = ?")
                params.append(value if isinstance(value, str) else json.dumps(value))
        with self._connect() as conn:
            conn.execute(f"UPDATE jobs SET {', '.join(sets)} WHERE id = ?", [*params, job_id])

    def get(self, job_id: str) -> Job | None:
        with self._connect() as conn:
            row = conn.execute(
                "SELECT id, kind, status, created_at, updated_at, pid, sources, progress, report, "
                "error FROM jobs WHERE id = ?",
                (job_id,),
            ).fetchone()
        if row is None:
            return None
        status, error = row[2], json.loads(row[9]) if row[9] else None
        if status in (QUEUED, RUNNING) and not _alive(int(row[5])):
            status = FAILED
            error = {
                "code": "job_lost",
                "message": "the server process running this job stopped before it finished",
                "hint": "what was committed is kept; submit the same ingest again to finish it",
            }
        return Job(
            id=row[0],
            kind=row[1],
            status=status,
            created_at=datetime.fromisoformat(row[3]),
            updated_at=datetime.fromisoformat(row[4]),
            sources=tuple(json.loads(row[6])),
            progress=json.loads(row[7]),
            report=json.loads(row[8]) if row[8] else None,
            error=error,
        )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class JobRunner:
    """Runs ingest jobs one at a time on a background thread of this process."""

    def __init__(self, home: Path, embedder: Embedder) -> None:
        self.home = home
        self.embedder = embedder
        self.jobs = JobStore(home / JOBS_FILE)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="citewire-ingest")

    def submit(
        self, urls: Sequence[str], documents: Sequence[dict[str, Any]], options: IngestOptions
    ) -> Job:
        described = [*urls]
        if documents:
            described.append(f"{len(documents)} document(s) in the request")
        job = self.jobs.create("ingest", described)
        payload = "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in documents).encode()
        sources = [*urls, *(["-"] if documents else [])]
        self._executor.submit(self._run, job.id, sources, payload, options)
        return job

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    def _run(self, job_id: str, sources: list[str], payload: bytes, options: IngestOptions) -> None:
        try:
            with _ingest_lock(self.home / LOCK_FILE):
                self.jobs.update(job_id, status=RUNNING)
                with Engine(self.home, embedder=self.embedder) as engine:
                    report = engine.ingest(
                        sources,
                        options,
                        stdin=io.BytesIO(payload),
                        progress=self._progress_writer(job_id),
                    )
            self.jobs.update(job_id, status=DONE, report=report.to_dict())
        except CitewireError as exc:
            error = {"code": "ingest_failed", "message": str(exc), "hint": exc.hint}
            self.jobs.update(job_id, status=FAILED, error=error)
        except Exception:  # a bug: keep the traceback in the server log, not in the job
            log.exception("ingest job %s failed", job_id)
            error = {
                "code": "internal",
                "message": "the ingest stopped on an internal error",
                "hint": "the server log has the details",
            }
            self.jobs.update(job_id, status=FAILED, error=error)

    def _progress_writer(self, job_id: str) -> ProgressCallback:
        last = [0.0]

        def write(p: Progress) -> None:
            now = time.monotonic()
            if now - last[0] < PROGRESS_EVERY:
                return
            last[0] = now
            self.jobs.update(
                job_id,
                progress={
                    "inputs_done": p.inputs_done,
                    "documents": p.documents,
                    "added": p.added,
                    "failed": p.failed,
                    "current": p.current,
                },
            )

        return write


_INGEST_MUTEX = threading.Lock()


@contextmanager
def _ingest_lock(path: Path) -> Iterator[None]:
    """An exclusive lock across processes (``flock``) and across this process's threads."""
    with _INGEST_MUTEX, open(path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
