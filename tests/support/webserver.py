"""A real ``citewire serve`` (uvicorn) on 127.0.0.1 for tests and benches, and the records that
build the web tests' index: the Veloria corpus, two reports that disagree on a figure, and a
hostile article (script tags, event handlers, a ``javascript:`` URL) that must render inert.

    with CitewireServer(home, token="t", workers=2) as server:
        httpx.get(server.url("/api/health"))
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from tests.support.corpus import FUEL_RECORDS, articles

HOSTILE_TITLE = '<script>alert("title")</script> Veloria <img src=x onerror=alert(1)>'
HOSTILE_URL = "javascript:alert(document.cookie)"

HOSTILE_RECORD: dict[str, Any] = {
    "url": HOSTILE_URL,
    "title": HOSTILE_TITLE,
    "text": "The lighthouse keepers of Marrow Bay voted on Friday to end their strike after "
    'nine days. <script>alert("body")</script> Their union said <a href="javascript:alert(2)" '
    'onclick="alert(3)">the deal</a> raised night-shift pay by 12 per cent. '
    "<img src=x onerror=alert(4)> The harbour reopened on Saturday morning.",
    "published": "2026-04-08",
    "outlet": '<b onmouseover="alert(5)">Bay Gazette</b>',
}


def web_records() -> list[dict[str, Any]]:
    return [*articles(), *FUEL_RECORDS, HOSTILE_RECORD]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class CitewireServer:
    """``python -m citewire serve`` in a subprocess (its own process group), stopped on exit."""

    def __init__(
        self,
        home: Path,
        *,
        token: str | None = None,
        workers: int = 1,
        rate_limit: int = 0,
        log: Path | None = None,
    ) -> None:
        self.home = home
        self.port = free_port()
        self.token = token
        self.workers = workers
        self.rate_limit = rate_limit
        self.log = log or home.parent / f"serve-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self, timeout: float = 60.0) -> CitewireServer:
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        env.pop("CITEWIRE_TOKEN", None)
        cmd = [
            sys.executable,
            "-m",
            "citewire",
            "serve",
            "--home",
            str(self.home),
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
            "--rate-limit",
            str(self.rate_limit),
        ]
        if self.token:
            env["CITEWIRE_TOKEN"] = self.token
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(
                cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"citewire serve exited: {self.log.read_text()[-2000:]}")
            try:
                up = httpx.get(self.url("/api/health"), timeout=1).status_code == 200
                if up and (self.workers == 1 or self._all_workers_up()):
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"citewire serve did not come up: {self.log.read_text()[-2000:]}")

    def _all_workers_up(self) -> bool:
        # A fresh connection each time: uvicorn's workers share the socket, the kernel picks one.
        seen = set()
        for _ in range(20 * self.workers):
            body = httpx.get(self.url("/api/health"), timeout=2).json()
            seen.add(body["worker"])
            if len(seen) == self.workers:
                return True
        return False

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)  # the server and its workers, no one else
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)

    def __enter__(self) -> CitewireServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
