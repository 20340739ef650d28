"""``citewire serve``: question pages with receipts, and a REST API, over one index.

``create_app(home=..., token=...)`` builds the FastAPI app; ``citewire serve`` runs it with
uvicorn. Like the CLI, the app only parses, calls ``Engine``, renders (server-side jinja2
templates in ``resources/templates``; no JavaScript anywhere, so it works with JS off) and maps
errors. A request goes through:

1. ``web_guard.Guard``: rate limit per client, body size limit, security headers (CSP);
2. the route: form or JSON in, ``Engine`` call, template or JSON out;
3. the error handlers: every ``CitewireError`` (and every refusal of the app's own) becomes one
   JSON shape ``{"error": {"code", "message", "hint"}}`` under ``/api/`` and an error page
   elsewhere; anything unexpected is logged and answered with a generic 500, never a traceback.

Writes that change the index or add versions (ingest, refresh) need the server's token
(``Authorization: Bearer <token>``, or the token field of the page's form); a server started
without a token refuses them. Asking and auditing are open (they are what the site is for) but
rate-limited. Each worker process holds one ``Engine``; searches and answers run one at a time
per worker (the store's caches are not built for concurrent writers), so ``--workers N`` is how
to serve N at once; ingest jobs run on their own thread and connection (``web_jobs``).
"""

from __future__ import annotations

import hmac
import itertools
import logging
import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

from fastapi import FastAPI, Form, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader, select_autoescape
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from citewire import __version__
from citewire.codec import answer_to_dict
from citewire.dates import parse_user_date
from citewire.embed import Embedder
from citewire.engine import Engine, pinned_as_of
from citewire.errors import (
    CitewireError,
    ConfigError,
    LLMError,
    ModelError,
    NotFoundError,
    QueryError,
    SourceError,
    StoreError,
)
from citewire.fetch import FetchPolicy
from citewire.ingest import IngestOptions
from citewire.models import Answer, AnswerStatus, Hit, SearchFilters, Stats
from citewire.render import date_label, hit_to_dict, safe_url
from citewire.web_guard import Guard
from citewire.web_jobs import JobRunner

log = logging.getLogger("citewire.web")

TOKEN_ENV = "CITEWIRE_TOKEN"
DEFAULT_RATE_LIMIT = 300  # requests per minute per client; asking costs 10
DEFAULT_MAX_BODY = 2 * 2**20  # bytes per request body
MAX_QUESTION_CHARS = 1_000
MAX_URLS = 200
MAX_DOCUMENTS = 2_000
STATS_TTL = 5.0  # seconds a worker reuses the corpus stats on the home page
# An audit holds its worker for ~0.4-1 s a claim (searches are one at a time per worker): a
# pasted essay is checked up to here, and the report says where it stopped.
WEB_MAX_CLAIMS = 40
ANSWERS_SCANNED = 500  # stored answers searched for one asking an audit's question
RECENT = 20


# --- errors --------------------------------------------------------------------------------------
class WebError(Exception):
    """A refusal of the web layer's own (no token, bad URL…), shaped like a CitewireError."""

    def __init__(self, status: int, code: str, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.hint = status, code, message, hint


_ERROR_STATUS: tuple[tuple[type[CitewireError], int, str], ...] = (
    (NotFoundError, 404, "not_found"),
    (QueryError, 400, "bad_query"),
    (ConfigError, 400, "bad_request"),
    (SourceError, 422, "bad_source"),
    (LLMError, 502, "llm_unavailable"),
    (StoreError, 503, "store_unavailable"),
    (ModelError, 503, "model_unavailable"),
)


def web_error(exc: CitewireError) -> WebError:
    for kind, status, code in _ERROR_STATUS:
        if isinstance(exc, kind):
            return WebError(status, code, str(exc), exc.hint)
    return WebError(500, "error", str(exc), exc.hint)


# --- settings and per-process state --------------------------------------------------------------
@dataclass
class WebState:
    engine: Engine
    token: str | None
    jobs: JobRunner
    fetch_policy: FetchPolicy
    env: Environment
    # The store's in-memory search caches are refreshed by whichever thread searches: one search
    # or answer at a time per worker process (plain reads by id need no lock).
    lock: threading.Lock = field(default_factory=threading.Lock)
    _stats: tuple[float, Stats] | None = None

    def stats(self) -> Stats:
        now = time.monotonic()
        if self._stats is None or now - self._stats[0] > STATS_TTL:
            self._stats = (now, self.engine.stats())
        return self._stats[1]

    def check_token(self, given: str | None) -> None:
        if not self.token:
            raise WebError(
                403,
                "writes_disabled",
                "this server accepts no writes (ingest, refresh): it was started without a token",
                f"start it with `citewire serve --token …` or {TOKEN_ENV}",
            )
        if not given or not hmac.compare_digest(given.encode(), self.token.encode()):
            raise WebError(
                401,
                "unauthorized",
                "a valid token is required for this",
                "send `Authorization: Bearer <token>` (API) or fill in the token field (pages)",
            )


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


T = TypeVar("T")


def _locked(state: WebState, call: Callable[[], T]) -> T:
    with state.lock:
        return call()


def _date(text: str | None, end_of_day: bool = False) -> datetime | None:
    text = (text or "").strip()
    return parse_user_date(text, end_of_day=end_of_day) if text else None


# --- the app -------------------------------------------------------------------------------------
def create_app(
    home: str | os.PathLike[str] | None = None,
    token: str | None = None,
    *,
    rate_limit: int = DEFAULT_RATE_LIMIT,
    max_body_bytes: int = DEFAULT_MAX_BODY,
    embedder: Embedder | None = None,
    allow_private_urls: bool = False,
) -> FastAPI:
    """The web app over the index in ``home``. ``token`` enables writes (ingest, refresh);
    ``rate_limit`` is requests per minute per client (0: no limit). ``allow_private_urls`` lets
    ingest fetch loopback/private addresses: only for tests and trusted intranets."""
    engine = Engine(home, embedder=embedder)
    policy = FetchPolicy(block_private=not allow_private_urls)
    env = Environment(
        loader=PackageLoader("citewire", "resources/templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(date_label=date_label, AnswerStatus=AnswerStatus, version=__version__)
    env.filters["safe_url"] = safe_url
    env.filters["pct"] = lambda x: f"{round(float(x) * 100)}%"
    env.filters["path"] = lambda x: quote(str(x), safe="")
    state = WebState(
        engine=engine,
        token=token or None,
        jobs=JobRunner(engine.home, engine.embedder),
        fetch_policy=policy,
        env=env,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        state.jobs.shutdown()
        engine.close()

    app = FastAPI(
        lifespan=lifespan,
        title="citewire",
        version=__version__,
        description="Answers about the news that cite and check every sentence.",
        openapi_url="/api/openapi.json",
        docs_url=None,  # Swagger UI and ReDoc load scripts from a CDN: offline, and against CSP
        redoc_url=None,
    )
    app.state.citewire = state
    app.add_middleware(Guard, max_body_bytes=max_body_bytes, rate_per_minute=rate_limit)
    static = Path(__file__).parent / "resources" / "static"
    app.mount("/static", StaticFiles(directory=static), name="static")
    _error_handlers(app, state)
    _page_routes(app, state)
    _api_routes(app, state)

    return app


def create_app_from_env() -> FastAPI:
    """The factory uvicorn's worker processes call (``citewire serve`` sets the environment)."""
    return create_app(
        os.environ.get("CITEWIRE_HOME") or None,
        os.environ.get(TOKEN_ENV) or None,
        rate_limit=int(os.environ.get("CITEWIRE_RATE_LIMIT", DEFAULT_RATE_LIMIT)),
        max_body_bytes=int(os.environ.get("CITEWIRE_MAX_BODY", DEFAULT_MAX_BODY)),
    )


# --- error handling ------------------------------------------------------------------------------
def _error_handlers(app: FastAPI, state: WebState) -> None:
    def respond(request: Request, error: WebError) -> Response:
        if request.url.path.startswith("/api/"):
            body = {"error": {"code": error.code, "message": error.message, "hint": error.hint}}
            return JSONResponse(body, status_code=error.status)
        html = state.env.get_template("error.html").render(error=error)
        return HTMLResponse(html, status_code=error.status)

    @app.exception_handler(WebError)
    async def _web(request: Request, exc: WebError) -> Response:
        return respond(request, exc)

    @app.exception_handler(CitewireError)
    async def _citewire(request: Request, exc: CitewireError) -> Response:
        return respond(request, web_error(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'body')}: {e.get('msg', '')}"
            for e in exc.errors()[:5]
        )
        hint = "the API schema is at /api/openapi.json"
        return respond(request, WebError(422, "invalid_request", problems, hint))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        hint = "see /api/openapi.json" if request.url.path.startswith("/api/") else "go to /"
        return respond(request, WebError(exc.status_code, code, str(exc.detail), hint))

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        error = WebError(500, "internal", "internal error", "the server log has the details")
        return respond(request, error)


# --- pages ---------------------------------------------------------------------------------------
def _page(state: WebState, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    html = state.env.get_template(template).render(writes=bool(state.token), **context)
    return HTMLResponse(html, status_code=status)


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


@dataclass(frozen=True)
class Segment:
    text: str
    marked: bool = False
    anchors: tuple[str, ...] = ()


def segments(text: str, spans: Sequence[tuple[int, int]]) -> list[Segment]:
    """``text`` cut at every span edge; pieces inside a span are marked, and each span's start
    carries an anchor ``c{start}-{end}`` (what question pages link to)."""
    spans = [(s, e) for s, e in spans if 0 <= s < e <= len(text)]
    cuts = sorted({0, len(text), *(s for s, _ in spans), *(e for _, e in spans)})
    out = []
    for a, b in itertools.pairwise(cuts):
        marked = any(s <= a and b <= e for s, e in spans)
        anchors = tuple(dict.fromkeys(f"c{s}-{e}" for s, e in spans if s == a))
        out.append(Segment(text[a:b], marked, anchors))
    return out


def _hit_view(hit: Hit) -> dict[str, Any]:
    spans = [(m.start, m.end) for m in hit.matched]
    return {"hit": hit, "segments": segments(hit.passage.text, spans)}


def _question_context(state: WebState, answer: Answer) -> dict[str, Any]:
    assert answer.id is not None
    versions = state.engine.versions(answer.id)
    newer = _locked(state, lambda: state.engine.newer_sources(answer))
    latest = versions[-1] if versions and versions[-1].id != answer.id else None
    return {
        "answer": answer,
        "refs": {r.number: r for r in answer.references},
        "versions": versions,
        "latest": latest,
        "newer": newer,
        "pinned": pinned_as_of(answer),
    }


def _page_routes(app: FastAPI, state: WebState) -> None:
    engine = state.engine

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home() -> HTMLResponse:
        return _page(state, "home.html", stats=state.stats(), recent=engine.answers(RECENT))

    @app.post("/ask", include_in_schema=False)
    def ask_form(
        question: Annotated[str, Form(max_length=MAX_QUESTION_CHARS)] = "",
        as_of: Annotated[str, Form(max_length=40)] = "",
    ) -> Response:
        try:
            when = _date(as_of, end_of_day=True)
            answer = _locked(state, lambda: engine.ask(question, as_of=when))
        except (QueryError, ConfigError) as exc:
            return _page(
                state,
                "home.html",
                status=400,
                stats=state.stats(),
                recent=engine.answers(RECENT),
                error=exc,
                question=question,
                as_of=as_of,
            )
        return _see_other(f"/questions/{answer.id}")

    @app.get("/questions/{answer_id}", response_class=HTMLResponse, include_in_schema=False)
    def question_page(answer_id: str) -> HTMLResponse:
        answer = engine.answer(answer_id)
        return _page(state, "question.html", **_question_context(state, answer))

    @app.post("/questions/{answer_id}/refresh", include_in_schema=False)
    def refresh_form(
        answer_id: str, token: Annotated[str, Form(max_length=500)] = ""
    ) -> RedirectResponse:
        state.check_token(token)
        engine.answer(answer_id)  # 404 before any work
        new = _locked(state, lambda: engine.refresh(answer_id))
        return _see_other(f"/questions/{new.id}")

    @app.get("/sources/{article_id}", response_class=HTMLResponse, include_in_schema=False)
    def source_page(article_id: str) -> HTMLResponse:
        article = engine.article(article_id)
        citing = engine.answers_citing(article_id)
        spans: list[tuple[int, int]] = []
        stale = 0
        for answer in citing:
            for sentence in answer.sentences:
                for c in sentence.citations:
                    if c.article_id != article_id:
                        continue
                    if article.text[c.start : c.end] == c.quote:
                        spans.append((c.start, c.end))
                    else:
                        stale += 1  # the article was updated since: its old offsets are wrong
        carriers = [
            c
            for c in engine.store.carriers([article.group_id]).get(article.group_id, [])
            if c.article_id != article.id
        ]
        return _page(
            state,
            "source.html",
            article=article,
            segments=segments(article.text, sorted(set(spans))),
            citing=citing,
            stale=stale,
            carriers=carriers,
        )

    @app.get("/search", response_class=HTMLResponse, include_in_schema=False)
    def search_page(
        q: Annotated[str, Query(max_length=MAX_QUESTION_CHARS)] = "",
        since: Annotated[str, Query(max_length=40)] = "",
        until: Annotated[str, Query(max_length=40)] = "",
        outlet: Annotated[str, Query(max_length=200)] = "",
        k: Annotated[int, Query(ge=1, le=50)] = 10,
    ) -> HTMLResponse:
        form = {"q": q, "since": since, "until": until, "outlet": outlet, "k": k}
        hits: list[Hit] = []
        error: CitewireError | None = None
        if q.strip():
            try:
                filters = SearchFilters(
                    since=_date(since),
                    until=_date(until, end_of_day=True),
                    outlets=(outlet.strip(),) if outlet.strip() else (),
                )
                hits = _locked(state, lambda: engine.search(q, k=k, filters=filters))
            except (QueryError, ConfigError) as exc:
                error = exc
        outlets = [name for name, _ in state.stats().outlets]
        return _page(
            state,
            "search.html",
            status=400 if error else 200,
            form=form,
            results=[_hit_view(h) for h in hits],
            searched=bool(q.strip()) and error is None,
            error=error,
            outlets=outlets,
        )

    @app.get("/audit", response_class=HTMLResponse, include_in_schema=False)
    def audit_form() -> HTMLResponse:
        return _page(state, "audit_form.html", recent=engine.audits(RECENT))

    @app.post("/audit", include_in_schema=False)
    def audit_post(
        text: Annotated[str, Form(max_length=200_000)] = "",
        url: Annotated[str, Form(max_length=2048)] = "",
        question: Annotated[str, Form(max_length=MAX_QUESTION_CHARS)] = "",
        as_of: Annotated[str, Form(max_length=40)] = "",
    ) -> Response:
        try:
            audit = _run_audit(state, text, url, question, as_of)
        except (QueryError, ConfigError, SourceError) as exc:
            return _page(
                state,
                "audit_form.html",
                status=web_error(exc).status,
                recent=engine.audits(RECENT),
                error=exc,
                form={"text": text, "url": url, "question": question, "as_of": as_of},
            )
        return _see_other(f"/audits/{audit.id}")

    @app.get("/audits/{audit_id}", response_class=HTMLResponse, include_in_schema=False)
    def audit_page(audit_id: str) -> HTMLResponse:
        audit = engine.get_audit(audit_id)
        # Side by side: citewire's own answers to the same question, if any were asked.
        asked = (audit.question or "").strip().casefold()
        answers = [
            a
            for a in engine.answers(ANSWERS_SCANNED)
            if asked and a.question.strip().casefold() == asked
        ]
        return _page(
            state,
            "audit.html",
            audit=audit,
            sources={s.number: s for s in audit.sources},
            answers=answers[:RECENT],
        )

    @app.post("/ingest", include_in_schema=False)
    def ingest_form(
        urls: Annotated[str, Form(max_length=200_000)] = "",
        token: Annotated[str, Form(max_length=500)] = "",
    ) -> RedirectResponse:
        state.check_token(token)
        job = _submit_ingest(state, urls.split(), [], None)
        return _see_other(f"/jobs/{job['id']}")

    @app.get("/jobs/{job_id}", response_class=HTMLResponse, include_in_schema=False)
    def job_page(job_id: str) -> HTMLResponse:
        job = state.jobs.jobs.get(job_id)
        if job is None:
            raise WebError(404, "not_found", f"no job with id {job_id!r}", "start one from /")
        return _page(state, "job.html", job=job)


def _run_audit(state: WebState, text: str, url: str, question: str, as_of: str) -> Any:
    from citewire.audit_input import AUDIT_TYPES, read_source
    from citewire.fetch import Fetcher

    origin: str | None = None
    fmt = "auto"
    if url.strip():
        if text.strip():
            raise QueryError("give either the answer's text or its URL, not both")
        if not url.strip().lower().startswith(("http://", "https://")):
            raise QueryError(f"not an http(s) URL: {url.strip()!r}", hint="paste the page's URL")
        policy = FetchPolicy(
            allowed_types=AUDIT_TYPES, block_private=state.fetch_policy.block_private
        )
        with Fetcher(policy) as fetcher:
            text, origin, fmt = read_source(url.strip(), fetcher=fetcher)
    when = _date(as_of, end_of_day=True)
    return _locked(
        state,
        lambda: state.engine.audit(
            text,
            fmt=fmt,
            question=question.strip() or None,
            as_of=when,
            origin=origin,
            max_claims=WEB_MAX_CLAIMS,
        ),
    )


def _submit_ingest(
    state: WebState,
    urls: Sequence[str],
    documents: Sequence[dict[str, Any]],
    outlet: str | None,
) -> dict[str, Any]:
    if not urls and not documents:
        raise WebError(400, "nothing_to_ingest", "give URLs or documents to ingest", "")
    if len(urls) > MAX_URLS or len(documents) > MAX_DOCUMENTS:
        raise WebError(
            413,
            "too_many_items",
            f"at most {MAX_URLS} URLs and {MAX_DOCUMENTS} documents per request",
            "split the ingest into several requests",
        )
    for url in urls:
        # Anything else would be read as a path on the server's disk.
        if not url.lower().startswith(("http://", "https://")) or len(url) > 2048:
            raise WebError(
                400,
                "bad_url",
                f"not an http(s) URL: {url[:200]!r}",
                "the server ingests http(s) URLs and documents sent in the request, not files",
            )
    for number, doc in enumerate(documents, start=1):
        if not isinstance(doc.get("text"), str) or not doc["text"].strip():
            raise WebError(
                400, "bad_document", f"document {number} has no text", 'give each a "text" field'
            )
    options = IngestOptions(fetch=state.fetch_policy, default_outlet=outlet)
    return state.jobs.submit(urls, documents, options).to_dict()


# --- API -----------------------------------------------------------------------------------------
class AskRequest(BaseModel):
    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS)
    as_of: str | None = Field(
        default=None, max_length=40, description="YYYY, YYYY-MM or YYYY-MM-DD (whole day)"
    )
    k: int = Field(default=12, ge=1, le=50, description="passages of evidence to read")


class AuditRequest(BaseModel):
    text: str | None = Field(default=None, max_length=200_000, description="the answer to audit")
    url: str | None = Field(default=None, max_length=2048, description="or a page holding it")
    question: str | None = Field(default=None, max_length=MAX_QUESTION_CHARS)
    as_of: str | None = Field(default=None, max_length=40)


class IngestRequest(BaseModel):
    urls: list[str] = Field(default_factory=list, description="article or RSS/Atom feed URLs")
    documents: list[dict[str, Any]] = Field(
        default_factory=list,
        description='records like a JSONL line: "text" (required), "title", "url", '
        '"published", "outlet", "authors"',
    )
    outlet: str | None = Field(default=None, max_length=200)


def _answer_json(answer: Answer) -> dict[str, Any]:
    body = answer_to_dict(answer)
    body["links"] = {"html": f"/questions/{answer.id}", "self": f"/api/answers/{answer.id}"}
    return body


def _api_routes(app: FastAPI, state: WebState) -> None:
    engine = state.engine

    @app.get("/api/health", tags=["meta"])
    async def health() -> dict[str, Any]:
        """Liveness: answers without touching the index (``worker``: the serving process)."""
        return {"status": "ok", "version": __version__, "worker": os.getpid()}

    @app.get("/api/stats", tags=["meta"])
    def stats() -> dict[str, Any]:
        result = state.stats().to_dict()
        result.pop("path", None)  # the server's filesystem layout is nobody's business
        return result

    @app.post("/api/ask", status_code=201, tags=["answers"])
    def ask(body: AskRequest, response: Response) -> dict[str, Any]:
        """Answer a question from the index; the answer is stored (``links.html`` is its page)."""
        when = _date(body.as_of, end_of_day=True)
        answer = _locked(state, lambda: engine.ask(body.question, as_of=when, k=body.k))
        response.headers["Location"] = f"/api/answers/{answer.id}"
        return _answer_json(answer)

    @app.get("/api/answers", tags=["answers"])
    def answers(limit: Annotated[int, Query(ge=1, le=200)] = 20) -> dict[str, Any]:
        from citewire.codec import summary_to_dict

        return {"answers": [summary_to_dict(r) for r in engine.answers(limit)]}

    @app.get("/api/answers/{answer_id}", tags=["answers"])
    def get_answer(answer_id: str) -> dict[str, Any]:
        """A stored answer, its versions (oldest first) and any newer sources on the topic."""
        answer = engine.answer(answer_id)
        context = _question_context(state, answer)
        body = _answer_json(answer)
        body["versions"] = [
            {"id": v.id, "created_at": v.created_at.isoformat()} for v in context["versions"]
        ]
        body["newer_sources"] = [hit_to_dict(h) for h in context["newer"]]
        return body

    @app.post("/api/answers/{answer_id}/refresh", status_code=201, tags=["answers"])
    def refresh(answer_id: str, request: Request) -> dict[str, Any]:
        """Ask again; the new version points at this one (``previous_id``). Needs the token."""
        state.check_token(_bearer(request))
        engine.answer(answer_id)
        return _answer_json(_locked(state, lambda: engine.refresh(answer_id)))

    @app.get("/api/search", tags=["search"])
    def search(
        q: Annotated[str, Query(min_length=1, max_length=MAX_QUESTION_CHARS)],
        k: Annotated[int, Query(ge=1, le=100)] = 10,
        since: Annotated[str | None, Query(max_length=40)] = None,
        until: Annotated[str | None, Query(max_length=40)] = None,
        outlet: Annotated[list[str] | None, Query(max_length=20)] = None,
        mode: Annotated[str, Query(pattern="^(hybrid|bm25|dense)$")] = "hybrid",
    ) -> dict[str, Any]:
        filters = SearchFilters(
            since=_date(since), until=_date(until, end_of_day=True), outlets=tuple(outlet or ())
        )
        hits = _locked(state, lambda: engine.search(q, k=k, filters=filters, mode=mode))
        return {"hits": [hit_to_dict(h) for h in hits]}

    @app.post("/api/audit", status_code=201, tags=["audits"])
    def audit(body: AuditRequest, response: Response) -> dict[str, Any]:
        """Audit an answer written elsewhere (its text, or the URL of a page holding it)."""
        from citewire.codec import audit_to_dict

        result = _run_audit(
            state, body.text or "", body.url or "", body.question or "", body.as_of or ""
        )
        response.headers["Location"] = f"/api/audits/{result.id}"
        data: dict[str, Any] = audit_to_dict(result)
        data["links"] = {"html": f"/audits/{result.id}", "self": f"/api/audits/{result.id}"}
        return data

    @app.get("/api/audits/{audit_id}", tags=["audits"])
    def get_audit(audit_id: str) -> dict[str, Any]:
        from citewire.codec import audit_to_dict

        data: dict[str, Any] = audit_to_dict(engine.get_audit(audit_id))
        return data

    @app.post("/api/ingest", status_code=202, tags=["ingest"])
    def ingest(body: IngestRequest, request: Request, response: Response) -> dict[str, Any]:
        """Start an ingest job (needs the token); poll ``GET /api/jobs/{id}`` for progress."""
        state.check_token(_bearer(request))
        job = _submit_ingest(state, body.urls, body.documents, body.outlet)
        response.headers["Location"] = f"/api/jobs/{job['id']}"
        return {"job": job}

    @app.get("/api/jobs/{job_id}", tags=["ingest"])
    def job(job_id: str) -> dict[str, Any]:
        """A job's status (queued, running, done, failed), progress, and report or error."""
        found = state.jobs.jobs.get(job_id)
        if found is None:
            raise WebError(404, "not_found", f"no job with id {job_id!r}", "POST /api/ingest")
        return {"job": found.to_dict()}


# --- running it ----------------------------------------------------------------------------------
def run_server(host: str, port: int, workers: int) -> None:
    """Run uvicorn on the app ``create_app_from_env`` builds (one per worker process)."""
    import socket

    import uvicorn
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config(
        "citewire.web:create_app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        server_header=False,
        log_level="warning",
    )
    if workers == 1:
        uvicorn.Server(config).run()
        return
    # uvicorn binds the shared listener with proto 0, so accepted sockets never get TCP_NODELAY
    # and every keep-alive response waits ~40 ms for a delayed ACK (uvicorn issue #3149; we
    # measured 48 ms vs 0.8 ms). Bind it ourselves with IPPROTO_TCP.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    Multiprocess(config, sockets=[sock]).run()
