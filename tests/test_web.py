"""The web app in-process (FastAPI's TestClient against the real app, real SQLite, real model),
and a real ``citewire serve`` with two uvicorn workers on 127.0.0.1."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from citewire.embed import OnnxEmbedder
from citewire.engine import Engine
from citewire.models import AnswerStatus
from citewire.web import create_app
from tests.support.corpus import write_jsonl
from tests.support.httpserver import LocalHTTPServer, http_server
from tests.support.webserver import HOSTILE_URL, CitewireServer, web_records

__all__ = ["http_server"]

TOKEN = "s3cret-token"
FUEL_QUESTION = "By how much has the blockade cut Veloria's fuel imports?"
HOSTILE_QUESTION = "What did the lighthouse keepers of Marrow Bay vote?"


def build_home(home: Path, embedder: OnnxEmbedder) -> Path:
    with Engine(home, embedder=embedder) as engine:
        report = engine.ingest([str(write_jsonl(home.parent / "web.jsonl", web_records()))])
    assert not report.failed
    return home


@pytest.fixture(scope="module")
def site_home(tmp_path_factory: pytest.TempPathFactory, embedder: OnnxEmbedder) -> Path:
    return build_home(tmp_path_factory.mktemp("site") / "home", embedder)


@pytest.fixture(scope="module")
def client(site_home: Path, embedder: OnnxEmbedder) -> Iterator[TestClient]:
    """Read-mostly: tests may ask questions here, but only ``fresh`` tests ingest or refresh."""
    app = create_app(site_home, token=TOKEN, rate_limit=0, embedder=embedder)
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def fresh(tmp_path: Path, embedder: OnnxEmbedder) -> Iterator[TestClient]:
    app = create_app(
        build_home(tmp_path / "home", embedder),
        token=TOKEN,
        rate_limit=0,
        embedder=embedder,
        allow_private_urls=False,
    )
    with TestClient(app) as test_client:
        yield test_client


def ask_form(client: TestClient, question: str, **extra: str) -> str:
    response = client.post("/ask", data={"question": question, **extra}, follow_redirects=False)
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert re.fullmatch(r"/questions/[A-Za-z0-9]+", location)
    return location


def error_of(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "hint"}
    error: dict[str, Any] = body["error"]
    return error


def wait_for_job(client: TestClient | httpx.Client, job_id: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/jobs/{job_id}").json()["job"]
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish")


class Elements(HTMLParser):
    """Every start tag with its attributes, and the text, as a browser's parser sees them."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def all(self, tag: str, **attrs: str) -> list[dict[str, str | None]]:
        return [
            a
            for t, a in self.tags
            if t == tag and all(a.get(k.rstrip("_")) == v for k, v in attrs.items())
        ]


def assert_inert(html: str) -> None:
    """No script, no event handler, no javascript: link anywhere in the page."""
    page = Elements(html)
    assert not page.all("script"), "a <script> element reached the page"
    for tag, attrs in page.tags:
        for name, value in attrs.items():
            assert not name.startswith("on"), f"<{tag} {name}=…> reached the page"
            if name in ("href", "src", "action", "formaction"):
                assert not (value or "").strip().lower().startswith("javascript:"), (tag, value)


# --- pages ---------------------------------------------------------------------------------------
def test_home_shows_ask_form_recent_questions_and_stats(client: TestClient) -> None:
    location = ask_form(client, "Why did Veloria refuse a temporary ceasefire?")
    page = client.get("/")
    assert page.status_code == 200
    html = Elements(page.text)
    assert html.all("form", action="/ask", method="post")
    assert html.all("input", name="as_of", type="date")
    assert f'href="{location}"' in page.text
    assert re.search(r'id="stat-articles">9<', page.text)  # 9 records, one syndicated copy
    assert "Meridian Wire" in page.text and "2026-02-02" in page.text


def test_question_page_shows_citations_support_and_disagreement(client: TestClient) -> None:
    page = client.get(ask_form(client, FUEL_QUESTION))
    assert page.status_code == 200
    text = page.text
    assert "As of <strong>" in text
    assert "Sources disagree" in text
    assert "40 per cent" in text and "60 per cent" in text
    # Each [n] is a <details> whose hidden part quotes the passage, with outlet, date and links.
    cites = re.findall(
        r'<details class="cite"><summary[^>]*>\[(\d+)\]</summary>(.*?)</details>', text
    )
    assert len(cites) >= 2
    _ref, body = cites[0]
    assert "<q>" in body and "/sources/" in body and 'rel="noopener noreferrer nofollow"' in body
    assert re.search(r"(Southern Courier|Capital Ledger|Meridian Wire), 2026-04-0\d", body)
    assert re.search(r'class="support ok"[^>]*>✓ \d+%', text)
    assert "<h2>References</h2>" in text


def test_insufficient_evidence_page(client: TestClient) -> None:
    page = client.get(ask_form(client, "Who won the chess olympiad in Reykjavik?"))
    assert "The indexed sources do not answer this question" in page.text


def test_as_of_date_restricts_evidence(client: TestClient) -> None:
    answer_id = ask_form(client, FUEL_QUESTION, as_of="2026-04-07").rsplit("/", 1)[1]
    body = client.get(f"/api/answers/{answer_id}").json()
    assert body["as_of"].startswith("2026-04-07T23:59:59")
    assert all(r["published_at"] < "2026-04-08" for r in body["references"])
    assert "Capital Ledger" not in client.get(f"/questions/{answer_id}").text


def test_source_page_highlights_cited_spans_and_lists_answers(client: TestClient) -> None:
    location = ask_form(client, FUEL_QUESTION)
    body = client.get("/api" + location.replace("/questions/", "/answers/")).json()
    cite = body["paragraphs"][0]["sentences"][1]["citations"][0]
    page = client.get(f"/sources/{cite['article_id']}")
    assert page.status_code == 200
    anchor = f'id="c{cite["start"]}-{cite["end"]}"'
    assert anchor in page.text
    marked = re.findall(r"<mark>(.*?)</mark>", page.text, flags=re.S)
    assert any(cite["quote"] in m for m in marked)
    assert f'href="{location}"' in page.text


def hits_of(page: httpx.Response) -> str:
    found = re.search(r'<ol class="hits">(.*?)</ol>', page.text, flags=re.S)
    return found.group(1) if found else ""


def test_search_page_with_date_and_outlet_filters(client: TestClient) -> None:
    page = client.get("/search", params={"q": "fuel imports blockade"})
    assert page.status_code == 200 and "<mark>" in hits_of(page)
    assert "Capital Ledger" in hits_of(page) and "Southern Courier" in hits_of(page)
    only = client.get("/search", params={"q": "fuel imports blockade", "outlet": "capital ledger"})
    assert "Capital Ledger" in hits_of(only) and "Southern Courier" not in hits_of(only)
    late = client.get("/search", params={"q": "fuel imports blockade", "since": "2026-04-09"})
    assert "Fuel shortages deepen" in hits_of(late)
    assert "Blockade cuts Veloria" not in hits_of(late)
    bad = client.get("/search", params={"q": "fuel", "since": "2026-13-45"})
    assert bad.status_code == 400 and "not a valid date" in bad.text


def test_unknown_pages_are_404_pages(client: TestClient) -> None:
    for path in ("/questions/nope", "/sources/nope", "/no/such/page", "/jobs/nope"):
        page = client.get(path)
        assert page.status_code == 404, path
        assert page.headers["content-type"].startswith("text/html")
        assert "Traceback" not in page.text


def test_empty_question_form_shows_the_error_on_the_home_page(client: TestClient) -> None:
    page = client.post("/ask", data={"question": "   "})
    assert page.status_code == 400
    assert "empty question" in page.text and 'role="alert"' in page.text


# --- security ------------------------------------------------------------------------------------
def test_hostile_article_renders_inert_everywhere(client: TestClient, site_home: Path) -> None:
    question = client.get(ask_form(client, HOSTILE_QUESTION))
    assert "Marrow Bay" in question.text
    article_id = re.search(r'href="/sources/([^"#]+)', question.text)
    assert article_id is not None
    source = client.get(f"/sources/{article_id.group(1)}")
    search = client.get("/search", params={"q": "lighthouse keepers strike"})
    home = client.get("/")
    for page in (question, source, search, home):
        assert page.status_code == 200
        assert_inert(page.text)
    # The hostile text is shown as text, not dropped.
    assert "&lt;script&gt;alert(&#34;title&#34;)&lt;/script&gt;" in source.text
    assert "onerror=alert(4)" in source.text  # inside escaped text, not an attribute


def test_javascript_urls_are_never_links(client: TestClient, site_home: Path) -> None:
    answer_id = ask_form(client, HOSTILE_QUESTION).rsplit("/", 1)[1]
    store = client.app.state.citewire.engine.store  # type: ignore[attr-defined]
    answer = store.get_answer(answer_id)
    refs = tuple(replace(r, url=HOSTILE_URL) for r in answer.references)
    forged = store.save_answer(replace(answer, id=None, created_at=None, references=refs))
    page = client.get(f"/questions/{forged.id}")
    assert_inert(page.text)
    assert "javascript:alert(document.cookie)" in page.text  # shown as text only


def test_security_headers(client: TestClient) -> None:
    for path in ("/", "/api/health", "/nope", "/static/citewire.css"):
        headers = client.get(path).headers
        csp = headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src" not in csp and "unsafe" not in csp
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"


def test_writes_need_the_token(client: TestClient) -> None:
    answer_id = ask_form(client, FUEL_QUESTION).rsplit("/", 1)[1]
    missing = client.post("/api/ingest", json={"urls": ["https://example.org/a"]})
    assert missing.status_code == 401 and error_of(missing)["code"] == "unauthorized"
    wrong = client.post(
        f"/api/answers/{answer_id}/refresh", headers={"Authorization": "Bearer nope"}
    )
    assert wrong.status_code == 401
    form = client.post(f"/questions/{answer_id}/refresh", data={"token": "nope"})
    assert form.status_code == 401 and "valid token" in form.text


def test_server_without_token_refuses_writes(site_home: Path, embedder: OnnxEmbedder) -> None:
    with TestClient(create_app(site_home, token=None, embedder=embedder)) as client:
        refused = client.post(
            "/api/ingest",
            json={"urls": ["https://example.org/a"]},
            headers={"Authorization": "Bearer anything"},
        )
        assert refused.status_code == 403
        error = error_of(refused)
        assert error["code"] == "writes_disabled" and "--token" in error["hint"]
        assert "started without a token" in client.get("/").text


def test_server_ingest_refuses_files_and_private_addresses(fresh: TestClient) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    for source in ("/etc/passwd", "file:///etc/passwd", "-", "ftp://example.org/x"):
        refused = fresh.post("/api/ingest", json={"urls": [source]}, headers=auth)
        assert refused.status_code == 400, source
        assert error_of(refused)["code"] == "bad_url"
    urls = [
        "http://127.0.0.1:9/story",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.1.2.3/x",
        "http://[::1]/x",
        "http://localhost:9/x",
    ]
    started = fresh.post("/api/ingest", json={"urls": urls}, headers=auth)
    assert started.status_code == 202
    job = wait_for_job(fresh, started.json()["job"]["id"])
    assert job["status"] == "done"
    reasons = {f["source"]: f["reason"] for f in job["report"]["failed"]}
    assert set(reasons) == set(urls)
    assert "loopback" in reasons[urls[0]] and "link-local" in reasons[urls[1]]
    assert "private" in reasons[urls[2]] and "refused when serving" in reasons[urls[4]]


def test_request_size_limit(site_home: Path, embedder: OnnxEmbedder) -> None:
    app = create_app(site_home, token=TOKEN, max_body_bytes=4096, embedder=embedder)
    with TestClient(app) as client:
        big = client.post("/api/ask", json={"question": "why " * 5000})
        assert big.status_code == 413 and error_of(big)["code"] == "request_too_large"

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
            for _ in range(10):
                yield b"x" * 1000

        streamed = client.post(
            "/api/ask", content=chunks(), headers={"Content-Type": "application/json"}
        )
        assert streamed.status_code == 413
        assert client.post("/api/ask", json={"question": "x" * 1001}).status_code == 422


def test_rate_limit_per_client(site_home: Path, embedder: OnnxEmbedder) -> None:
    with TestClient(create_app(site_home, rate_limit=12, embedder=embedder)) as client:
        assert client.post("/api/ask", json={"question": FUEL_QUESTION}).status_code == 201
        codes = [client.get("/api/answers").status_code for _ in range(4)]
        assert codes[:2] == [200, 200] and 429 in codes
        limited = client.get("/api/answers")
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        assert error_of(limited)["code"] == "rate_limited"
        assert client.get("/").status_code == 429
        assert client.get("/api/health").status_code == 200  # never limited
        assert client.get("/static/citewire.css").status_code == 200


# --- API -----------------------------------------------------------------------------------------
def test_api_ask_get_and_list(client: TestClient) -> None:
    created = client.post("/api/ask", json={"question": FUEL_QUESTION, "k": 8})
    assert created.status_code == 201
    body = created.json()
    assert body["status"] == AnswerStatus.ANSWERED and body["id"]
    assert created.headers["location"] == f"/api/answers/{body['id']}"
    assert body["links"]["html"] == f"/questions/{body['id']}"
    fetched = client.get(f"/api/answers/{body['id']}").json()
    assert fetched["paragraphs"] == body["paragraphs"]
    assert fetched["versions"] == [{"id": body["id"], "created_at": body["created_at"]}]
    assert fetched["newer_sources"] == []
    listed = client.get("/api/answers", params={"limit": 3}).json()["answers"]
    assert listed[0]["id"] == body["id"]


def test_api_search(client: TestClient) -> None:
    hits = client.get(
        "/api/search",
        params={"q": "fuel imports", "outlet": ["Capital Ledger", "Southern Courier"], "k": 5},
    ).json()["hits"]
    assert {h["article"]["outlet"] for h in hits} == {"Capital Ledger", "Southern Courier"}
    dated = client.get("/api/search", params={"q": "fuel imports", "until": "2026-04-06"})
    found = dated.json()["hits"]
    assert found[0]["article"]["outlet"] == "Southern Courier"
    assert all(h["article"]["published_at"] < "2026-04-07" for h in found)
    assert client.get("/api/search", params={"q": "x", "mode": "magic"}).status_code == 422


def test_api_errors_have_one_shape(client: TestClient) -> None:
    cases = [
        (client.get("/api/answers/nope"), 404, "not_found"),
        (client.post("/api/ask", json={"question": "   "}), 400, "bad_query"),
        (client.post("/api/ask", json={"question": "why", "as_of": "2026-13-45"}), 400, None),
        (client.post("/api/ask", json={}), 422, "invalid_request"),
        (
            client.post(
                "/api/ask", content=b"{not json", headers={"Content-Type": "application/json"}
            ),
            422,
            "invalid_request",
        ),
        (client.get("/api/search"), 422, "invalid_request"),
        (client.get("/api/no-such-route"), 404, "not_found"),
        (client.delete("/api/ask"), 405, "method_not_allowed"),
        (client.get("/api/jobs/nope"), 404, "not_found"),
    ]
    for response, status, code in cases:
        assert response.status_code == status, response.text
        error = error_of(response)
        assert error["message"]
        if code:
            assert error["code"] == code
    assert "hint" in error_of(client.get("/api/answers/nope"))
    assert "citewire answers" in error_of(client.get("/api/answers/nope"))["hint"]


def test_unexpected_errors_leak_nothing(site_home: Path, embedder: OnnxEmbedder) -> None:
    app = create_app(site_home, rate_limit=0, embedder=embedder)
    engine = app.state.citewire.engine

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret detail from /srv/citewire/index.db")

    engine.search = broken
    with TestClient(app, raise_server_exceptions=False) as client:
        for response in (client.get("/api/search", params={"q": "x"}), client.get("/search?q=x")):
            assert response.status_code == 500
            assert "secret detail" not in response.text and "Traceback" not in response.text
        assert error_of(client.get("/api/search", params={"q": "x"}))["code"] == "internal"


def test_openapi_schema_lists_the_api(client: TestClient) -> None:
    schema = client.get("/api/openapi.json").json()
    for path in (
        "/api/ask",
        "/api/answers/{answer_id}",
        "/api/audit",
        "/api/search",
        "/api/ingest",
        "/api/jobs/{job_id}",
        "/api/health",
    ):
        assert path in schema["paths"], path
    assert "/questions/{answer_id}" not in schema["paths"]  # pages are not API
    assert client.get("/docs").status_code == 404  # Swagger UI needs a CDN


# --- jobs, versions, refresh ---------------------------------------------------------------------
NEW_REPORT = {
    "url": "https://capitalledger.example/fuel-deal",
    "title": "Blockade eased as fuel convoy reaches Veloria",
    "text": "A convoy of twelve tankers reached Veloria's southern ports on Sunday after the "
    "blockade was eased. Officials said the blockade had cut fuel imports by 60 per cent "
    "before the convoy arrived, and that imports would recover within a month.",
    "published": "2026-04-12",
    "outlet": "Capital Ledger",
}


def test_ingest_job_newer_articles_note_and_refresh_versions(fresh: TestClient) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    old = ask_form(fresh, FUEL_QUESTION)
    assert "Newer articles" not in fresh.get(old).text

    started = fresh.post("/api/ingest", json={"documents": [NEW_REPORT]}, headers=auth)
    assert started.status_code == 202
    assert started.headers["location"] == f"/api/jobs/{started.json()['job']['id']}"
    job = wait_for_job(fresh, started.json()["job"]["id"])
    assert job["status"] == "done" and job["report"]["added"] == 1, job
    assert "done" in fresh.get(f"/jobs/{job['id']}").text

    page = fresh.get(old)
    assert "Newer articles on this topic arrived" in page.text
    assert "Blockade eased as fuel convoy" in page.text
    api = fresh.get("/api" + old.replace("/questions/", "/answers/")).json()
    assert [h["article"]["title"] for h in api["newer_sources"]] == [NEW_REPORT["title"]]

    refreshed = fresh.post(f"{old}/refresh", data={"token": TOKEN}, follow_redirects=False)
    assert refreshed.status_code == 303
    new = refreshed.headers["location"]
    assert new != old
    new_body = fresh.get("/api" + new.replace("/questions/", "/answers/")).json()
    assert new_body["previous_id"] == old.rsplit("/", 1)[1]
    assert [v["id"] for v in new_body["versions"]] == [old.rsplit("/", 1)[1], new_body["id"]]
    assert new_body["newer_sources"] == []
    old_page = fresh.get(old).text
    assert "A newer version of this answer exists" in old_page and f'href="{new}"' in old_page
    assert "Newer articles on this topic arrived" not in old_page  # the newer version covers it
    assert f'href="{old}"' in fresh.get(new).text  # the versions list links back

    again = fresh.post(f"/api/answers/{new_body['id']}/refresh", headers=auth)
    assert again.status_code == 201 and again.json()["previous_id"] == new_body["id"]


def test_pages_stay_responsive_while_an_ingest_runs(
    tmp_path: Path, embedder: OnnxEmbedder, http_server: LocalHTTPServer
) -> None:
    home = build_home(tmp_path / "home", embedder)
    slow = http_server.add(
        "/slow-story",
        body="<html><head><title>Slow story</title></head><body><article><p>"
        + "The slow server finally sent this story about the harbour. " * 20
        + "</p></article></body></html>",
        delay=3.0,
    )
    app = create_app(home, token=TOKEN, rate_limit=0, embedder=embedder, allow_private_urls=True)
    with TestClient(app) as client:
        started = client.post(
            "/api/ingest", json={"urls": [slow]}, headers={"Authorization": f"Bearer {TOKEN}"}
        )
        job_id = started.json()["job"]["id"]
        time.sleep(0.3)
        assert client.get(f"/api/jobs/{job_id}").json()["job"]["status"] == "running"
        for path in ("/", "/search?q=ceasefire", "/api/search?q=fuel", f"/jobs/{job_id}"):
            began = time.monotonic()
            assert client.get(path).status_code == 200
            assert time.monotonic() - began < 1.0, path
        assert 'http-equiv="refresh"' in client.get(f"/jobs/{job_id}").text
        job = wait_for_job(client, job_id)
        assert job["status"] == "done" and job["report"]["added"] == 1


# --- audit ---------------------------------------------------------------------------------------
AUDITED = """Why did Veloria refuse a temporary ceasefire?

Veloria's foreign ministry said it would not accept a temporary ceasefire with the Northern
Alliance [1]. The blockade had cut fuel imports by 90 per cent since June [1].

References
1. Veloria rejects temporary ceasefire, demands guarantees. https://meridianwire.example/world/veloria-rejects-truce
"""


def test_audit_form_permalink_and_api(client: TestClient) -> None:
    posted = client.post("/audit", data={"text": AUDITED}, follow_redirects=False)
    assert posted.status_code == 303, posted.text
    location = posted.headers["location"]
    page = client.get(location)
    assert page.status_code == 200
    assert "Why did Veloria refuse a temporary ceasefire?" in page.text
    assert "supported" in page.text and "contradicted" in page.text
    assert_inert(page.text)
    assert location in client.get("/audit").text  # listed as a recent audit
    # Side by side: the audit page offers citewire's own answer to the same question.
    assert 'action="/ask"' in page.text and "Ask citewire" in page.text
    asked = client.post(
        "/ask",
        data={"question": "Why did Veloria refuse a temporary ceasefire?"},
        follow_redirects=False,
    )
    assert asked.status_code == 303
    again = client.get(location).text
    assert asked.headers["location"] in again and "Ask citewire again" in again

    created = client.post("/api/audit", json={"text": AUDITED, "as_of": "2026-04-30"})
    assert created.status_code == 201
    body = created.json()
    labels = [c["label"] for c in body["claims"]]
    assert "supported" in labels and "contradicted" in labels
    assert client.get(f"/api/audits/{body['id']}").json()["claims"] == body["claims"]
    assert client.get("/api/audits/nope").status_code == 404
    empty = client.post("/api/audit", json={"text": "  "})
    assert empty.status_code == 400 and error_of(empty)["code"] == "bad_query"
    private = client.post("/api/audit", json={"url": "http://127.0.0.1:9/answer"})
    assert private.status_code == 422 and "loopback" in error_of(private)["message"]


# --- a real server -------------------------------------------------------------------------------
def test_real_server_with_two_workers_serves_one_index(
    tmp_path: Path, embedder: OnnxEmbedder
) -> None:
    home = build_home(tmp_path / "home", embedder)
    with CitewireServer(home, token=TOKEN, workers=2) as server:
        created = httpx.post(server.url("/api/ask"), json={"question": FUEL_QUESTION}, timeout=60)
        assert created.status_code == 201
        answer_id = created.json()["id"]
        workers = set()
        for _ in range(30):  # new connections: the kernel spreads them over both workers
            assert httpx.get(server.url(f"/questions/{answer_id}"), timeout=30).status_code == 200
            workers.add(httpx.get(server.url("/api/health"), timeout=10).json()["worker"])
        assert len(workers) == 2
        # A job started through one worker is polled through whichever answers.
        started = httpx.post(
            server.url("/api/ingest"),
            json={"documents": [NEW_REPORT]},
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=30,
        )
        assert started.status_code == 202
        with httpx.Client(base_url=server.url("")) as http:
            job = wait_for_job(http, started.json()["job"]["id"])
        assert job["status"] == "done" and job["report"]["added"] == 1
        seen_newer = {
            bool(
                httpx.get(server.url(f"/api/answers/{answer_id}"), timeout=30).json()[
                    "newer_sources"
                ]
            )
            for _ in range(6)
        }
        assert seen_newer == {True}  # every worker sees the other's writes
        page = httpx.get(server.url("/"), timeout=10)
        assert page.headers["content-security-policy"].startswith("default-src 'none'")
        assert "server" not in page.headers  # no version banner
