"""A scripted OpenAI-compatible chat server on 127.0.0.1, for testing LLM writers and judges.

    from tests.support.fake_llm import FakeLLM, Reply, fake_llm

    __all__ = ["fake_llm"]  # mark the fixture as used, or ruff --fix deletes the import

    def test_something(fake_llm: FakeLLM) -> None:
        fake_llm.reply("Veloria refused [1].")                 # queued, served in order
        fake_llm.reply(lambda request: "It said no [1].")      # sees the request JSON
        fake_llm.error(500, "model crashed")                   # {"error": {"message": ...}}
        writer = OpenAIWriter(fake_llm.config())
        ...
        assert "Question:" in fake_llm.requests[0]["messages"][-1]["content"]

It is a real HTTP server (``LocalHTTPServer``): ``POST /v1/chat/completions`` takes the next
scripted step, ``GET /v1/models`` lists the model. Steps are a ``Reply`` (text, finish reason,
optional delay and top logprobs), an ``Error`` (status + JSON error body), a ``Raw`` body (for
non-JSON or odd JSON), ``DROP`` (close the connection without answering), or a callable that
gets the request JSON and returns any of those (or a plain string). A request with no step left
fails the test, unless a ``default`` step is set: the fake never makes up an answer.

Logprobs come back only when the request asks (``logprobs: true``), as OpenAI shapes them:
``choices[0].logprobs.content[i].{token, logprob, top_logprobs}``, one entry per
whitespace-separated token of the text; the first token's ``top_logprobs`` are the ``Reply``'s
``top_logprobs`` (cut to the request's ``top_logprobs``).
"""

from __future__ import annotations

import itertools
import json
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from citewire.llm import LLMConfig
from tests.support.httpserver import _PROXY_VARIABLES, LocalHTTPServer, Request, Response

__all__ = ["DROP", "Error", "FakeLLM", "Raw", "Reply", "fake_llm"]

MODEL = "fake-model"


@dataclass(frozen=True)
class Reply:
    text: str | None  # None sends "content": null
    finish_reason: str = "stop"
    delay: float = 0.0  # seconds before the status line (to provoke client timeouts)
    top_logprobs: Mapping[str, float] = field(default_factory=dict)
    logprobs: bool = True  # False: never send logprobs, like a server that does not support them


@dataclass(frozen=True)
class Error:
    status: int = 500
    message: str = "internal server error"


@dataclass(frozen=True)
class Raw:
    body: str
    status: int = 200
    content_type: str = "text/html; charset=utf-8"


class _Drop:
    def __repr__(self) -> str:
        return "DROP"


DROP = _Drop()

Step = Reply | Error | Raw | _Drop
Script = Step | str | Callable[[dict[str, Any]], "Step | str"]


class FakeLLM:
    def __init__(self, server: LocalHTTPServer) -> None:
        self.server = server
        self.requests: list[dict[str, Any]] = []  # JSON bodies of chat requests, in order
        self.headers: list[dict[str, str]] = []  # their headers (lower-case names)
        self.default: Script | None = None  # served when the queue is empty
        self._queue: deque[Script] = deque()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        server.add_handler("/v1/chat/completions", self._chat)
        server.add_handler("/v1/models", self._models)

    @property
    def base_url(self) -> str:
        return self.server.url("/v1")

    def config(self, **overrides: Any) -> LLMConfig:
        return LLMConfig(**{"base_url": self.base_url, "model": MODEL, **overrides})

    # -- scripting ---------------------------------------------------------------------------

    def reply(self, script: Script, **options: Any) -> None:
        """Queue one step; a string with ``options`` becomes ``Reply(text, **options)``."""
        if options:
            if not isinstance(script, str):
                raise TypeError("options only go with a text reply")
            script = Reply(script, **options)
        with self._lock:
            self._queue.append(script)

    def error(self, status: int = 500, message: str = "internal server error") -> None:
        self.reply(Error(status, message))

    def slow(self, seconds: float, text: str = "Too late [1].") -> None:
        self.reply(Reply(text, delay=seconds))

    def non_json(self, body: str = "<html><body>502 Bad Gateway</body></html>") -> None:
        self.reply(Raw(body))

    def empty(self) -> None:
        self.reply(Reply(""))

    def drop(self) -> None:
        self.reply(DROP)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    # -- what the client sent ----------------------------------------------------------------

    @property
    def last(self) -> dict[str, Any]:
        return self.requests[-1]

    def prompt(self, index: int = -1) -> str:
        """The last user message of request ``index``: the task the model is given."""
        messages = self.requests[index]["messages"]
        return str([m for m in messages if m["role"] == "user"][-1]["content"])

    # -- handlers ----------------------------------------------------------------------------

    def _models(self, request: Request) -> Response:
        listing = {"object": "list", "data": [{"id": MODEL, "object": "model", "owned_by": "fake"}]}
        return _json(200, listing)

    def _chat(self, request: Request) -> Response | None:
        if request.method != "POST":
            return _json(405, {"error": {"message": "use POST", "type": "invalid_request_error"}})
        try:
            body = json.loads(request.body)
        except ValueError:
            return _json(400, {"error": {"message": "body is not JSON"}})
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            return _json(400, {"error": {"message": "'messages' is required"}})
        with self._lock:
            self.requests.append(body)
            self.headers.append({k.lower(): v for k, v in request.headers.items()})
            script = self._queue.popleft() if self._queue else self.default
        if script is None:
            # Raised into LocalHTTPServer.errors, which fails the test at teardown.
            raise AssertionError("fake LLM got a request with no scripted reply left")
        step = script(body) if callable(script) else script
        if isinstance(step, str):
            step = Reply(step)
        if isinstance(step, _Drop):
            request.raw.close_connection = True
            return None
        if isinstance(step, Error):
            error = {"message": step.message, "type": "server_error", "code": step.status}
            return _json(step.status, {"error": error})
        if isinstance(step, Raw):
            return Response(step.status, step.body, {"Content-Type": step.content_type})
        return _json(200, self._completion(body, step), delay=step.delay)

    def _completion(self, body: dict[str, Any], reply: Reply) -> dict[str, Any]:
        choice: dict[str, Any] = {
            "index": 0,
            "message": {"role": "assistant", "content": reply.text},
            "finish_reason": reply.finish_reason,
        }
        if body.get("logprobs") and reply.logprobs:
            choice["logprobs"] = {"content": _logprobs(reply, int(body.get("top_logprobs") or 0))}
        words = len((reply.text or "").split())
        return {
            "id": f"chatcmpl-fake-{next(self._ids)}",
            "object": "chat.completion",
            "created": 1_775_000_000,
            "model": body.get("model", MODEL),
            "choices": [choice],
            "usage": {"prompt_tokens": 0, "completion_tokens": words, "total_tokens": words},
        }


def _logprobs(reply: Reply, top: int) -> list[dict[str, Any]]:
    entries = []
    for number, token in enumerate((reply.text or "").split()):
        alternatives = sorted(reply.top_logprobs.items(), key=lambda item: -item[1])
        own = reply.top_logprobs.get(token, 0.0) if number == 0 else 0.0
        entries.append(
            {
                "token": token,
                "logprob": own,
                "bytes": list(token.encode("utf-8")),
                "top_logprobs": [
                    {"token": t, "logprob": lp, "bytes": list(t.encode("utf-8"))}
                    for t, lp in (alternatives[:top] if number == 0 else [(token, 0.0)][:top])
                ],
            }
        )
    return entries


def _json(status: int, payload: Any, delay: float = 0.0) -> Response:
    return Response(status, json.dumps(payload), {"Content-Type": "application/json"}, delay=delay)


@pytest.fixture
def fake_llm(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLLM]:
    """A started fake LLM server; fails the test if a handler raised (e.g. an unscripted call)."""
    # A developer's proxy settings would send requests for 127.0.0.1 to the proxy.
    for name in _PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    with LocalHTTPServer() as server:
        yield FakeLLM(server)
    if server.errors:
        raise AssertionError(f"fake LLM server handlers raised: {server.errors!r}")
