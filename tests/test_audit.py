"""``citewire audit``: the parser for each input shape, the seed case, and bad input.

The seed case uses the test corpus (tests/support/corpus.py): a government refusing a temporary
truce and demanding guarantees, a threat against its "whole civilization", plus AI-policy and
sport stories. The audited answer is written in the shape of ../shared/examples/seed-answer.txt:
a question line, paragraphs one per line, a "References" list of organisations, titles and URLs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from citewire.audit import MAX_CLAIMS, Auditor, ModelSplitter
from citewire.audit_input import MAX_AUDIT_CHARS, parse_answer
from citewire.cli import cli
from citewire.codec import audit_from_dict, audit_to_dict
from citewire.engine import Engine
from citewire.errors import QueryError
from citewire.llm import OpenAIWriter
from citewire.models import Audit, ClaimLabel, Relevance
from citewire.render import audit_html, audit_markdown, audit_text
from citewire.verify import check_citation_span
from tests.support.fake_llm import FakeLLM, fake_llm
from tests.support.httpserver import LocalHTTPServer, closed_port_url, http_server

__all__ = ["fake_llm", "http_server"]

SHARED_SEED = Path(__file__).resolve().parents[2] / "shared" / "examples" / "seed-answer.txt"

WIRE_URL = "https://meridianwire.example/world/veloria-rejects-truce"
AI_URL = "https://digitalstandards.example/ai-report"

SEED_SHAPED = "\n".join(
    [
        'Veloria says it refuses a "temporary ceasefire"; President Vask threatens Veloria\'s '
        "whole civilization. What is the reason for refusing?",
        "The refusal is a matter of principle for a proud nation that will not be intimidated "
        "by threats. Veloria's foreign ministry said it would not accept a temporary ceasefire "
        "with the Northern Alliance, calling the proposal a pause that would only let its "
        "opponents rearm. Foreign Minister Adira Kessan said any halt to the fighting had to be "
        "permanent and backed by written security guarantees from at least two outside powers.",
        "The blockade matters too. Officials estimated that the blockade had cut fuel imports by "
        "60 per cent since June. Veloria's leadership also fears that accepting a pause would "
        "undermine the founding narrative of the Velorian Unity Party.",
        "Consequently, the stance is a deliberate choice to absorb the risk of escalation rather "
        "than demonstrate vulnerability.",
        "References",
        f'- Meridian Wire, "Veloria rejects temporary ceasefire, demands guarantees" {WIRE_URL}',
        '- Ostrava Post, "Veloria talks stall over guarantees"',
        "- Council on Digital Standards, "
        f'"AI report finds investment in language models doubled" {AI_URL}',
        '- AI Policy Observatory, "Observatory publishes database of national AI laws"',
        '- Stanford HAI, "AI Index Report" https://aiindex.stanford.edu/report/',
        "",
    ]
)


@pytest.fixture
def indexed(engine: Engine, corpus_file: Path) -> Engine:
    engine.ingest([str(corpus_file)])
    return engine


def claim_with(audit: Audit, words: str):  # type: ignore[no-untyped-def]
    found = [c for c in audit.claims if words in c.text]
    assert len(found) == 1, [c.text for c in audit.claims]
    return found[0]


def assert_evidence_holds(audit: Audit, engine: Engine) -> None:
    """Never "supported" without a cited passage that passed the check and re-reads intact."""
    for claim in audit.claims:
        if claim.label in (ClaimLabel.SUPPORTED, ClaimLabel.CONTRADICTED):
            assert claim.evidence, claim
        for item in claim.evidence:
            article = engine.article(item.citation.article_id)
            assert check_citation_span(article.text, item.citation) is None
            assert item.check.passed == (claim.label == ClaimLabel.SUPPORTED)
            assert item.citation.ref in {s.number for s in audit.sources}


# --- the seed case ---------------------------------------------------------------------------
def test_seed_shaped_answer(indexed: Engine) -> None:
    audit = indexed.audit(SEED_SHAPED)
    assert audit.question is not None and audit.question.startswith("Veloria says")
    assert audit.input_format == "text"
    assert audit.id  # stored

    quoted = claim_with(audit, "foreign ministry said it would not accept")
    assert quoted.label == ClaimLabel.SUPPORTED
    kessan = claim_with(audit, "Adira Kessan said")
    assert kessan.label == ClaimLabel.SUPPORTED
    wire = next(s for s in audit.sources if s.url == WIRE_URL)
    assert kessan.evidence[0].citation.ref == wire.number
    assert "written security guarantees" in kessan.evidence[0].citation.quote

    sixty = claim_with(audit, "60 per cent")
    assert sixty.label == ClaimLabel.CONTRADICTED
    assert "40 per cent" in sixty.evidence[0].citation.quote
    invented = claim_with(audit, "Velorian Unity Party")
    assert invented.label == ClaimLabel.NOT_FOUND
    assert any("Velorian Unity Party" in r for r in invented.reasons)
    framing = claim_with(audit, "deliberate choice to absorb the risk")
    assert framing.label == ClaimLabel.OPINION

    refs = {r.number: r for r in audit.references}
    assert [r.number for r in audit.references] == [1, 2, 3, 4, 5]
    assert refs[1].matched_by == "url" and refs[1].relevant == Relevance.RELEVANT
    assert {claim_with(audit, "Adira Kessan said").text} <= {
        audit.claims[i].text for i in refs[1].supports
    }
    assert refs[2].matched_by == "title" and refs[2].relevant == Relevance.RELEVANT
    # The AI-policy references: found in the index (by URL and by title) yet irrelevant, and
    # one not in the index at all, irrelevant by its title alone.
    assert refs[3].matched_by == "url" and refs[3].relevant == Relevance.IRRELEVANT
    assert refs[4].matched_by == "title" and refs[4].relevant == Relevance.IRRELEVANT
    assert refs[5].article_id is None and refs[5].relevant == Relevance.IRRELEVANT
    assert not refs[3].supports and not refs[4].supports and not refs[5].supports
    assert_evidence_holds(audit, indexed)

    text = audit_text(audit)
    assert "NOT relevant to the question" in text and "CONTRADICTED" in text
    assert "references: 5 listed, 4 in the index" in text


@pytest.mark.skipif(not SHARED_SEED.exists(), reason="../shared/examples is not beside this clone")
def test_the_seed_file_itself(indexed: Engine) -> None:
    """The real seed answer, against an index that holds nothing about Iran: nothing it claims
    is supported, and its AI-policy references are called irrelevant."""
    audit = indexed.audit(SHARED_SEED.read_text(encoding="utf-8"), save=False)
    assert audit.question and "temporary ceasefire" in audit.question
    assert len(audit.claims) >= 15
    assert audit.count(ClaimLabel.SUPPORTED) == 0
    assert len(audit.references) == 4
    by_title = {r.title or r.text: r for r in audit.references}
    ai = [r for t, r in by_title.items() if "AI" in t]
    assert len(ai) == 2 and all(r.relevant == Relevance.IRRELEVANT for r in ai)
    assert all(r.article_id is None for r in audit.references)


# --- parsing ---------------------------------------------------------------------------------
def test_parse_seed_shape() -> None:
    parsed = parse_answer(SEED_SHAPED)
    assert parsed.question and parsed.question.endswith("reason for refusing?")
    assert parsed.body.count("\n\n") == 2  # three paragraphs
    assert [c.paragraph for c in parsed.claims] == [0, 0, 0, 1, 1, 1, 2]
    refs = parsed.references
    assert [r.title for r in refs][:2] == [
        "Veloria rejects temporary ceasefire, demands guarantees",
        "Veloria talks stall over guarantees",
    ]
    assert refs[0].url == WIRE_URL and refs[1].url is None
    for claim in parsed.claims:
        assert parsed.body[claim.start : claim.end] == claim.text


def test_parse_markdown_markers_links_and_footnotes() -> None:
    text = (
        "# Why did Veloria refuse the truce?\n\n"
        "Veloria said a **temporary** truce is a trap [1]. It wants guarantees from outside "
        "powers.[2][3] The [ministry](https://example.org/ministry) also named the blockade.\n\n"
        "The plan had 200 observers [^4].\n\n"
        "## Sources\n\n"
        "1. [Veloria rejects truce](https://meridianwire.example/a)\n"
        "2. Ostrava Post: *Talks stall* https://ostravapost.example/b\n"
        "3. Harbor Times\n"
        "   (syndicated copy)\n\n"
        "[^4]: https://observers.example/c\n"
    )
    parsed = parse_answer(text)
    assert parsed.input_format == "markdown"
    assert parsed.question == "Why did Veloria refuse the truce?"
    claims = parsed.claims
    assert claims[0].text == "Veloria said a temporary truce is a trap."
    assert claims[0].markers == (1,)
    assert claims[1].markers == (2, 3)
    assert claims[2].links == ("https://example.org/ministry",)
    assert "The ministry also named" in claims[2].text
    assert claims[3].markers == (4,)
    refs = {r.number: r for r in parsed.references}
    assert (
        refs[1].title == "Veloria rejects truce" and refs[1].url == "https://meridianwire.example/a"
    )
    assert refs[2].url == "https://ostravapost.example/b"
    assert refs[3].text == "Harbor Times (syndicated copy)"
    assert refs[4].url == "https://observers.example/c"
    for claim in claims:
        assert parsed.body[claim.start : claim.end] == claim.text


def test_parse_json_shapes() -> None:
    generic = json.dumps(
        {
            "question": "Why?",
            "answer": "Veloria refused a temporary truce [1]. It demanded guarantees.",
            "references": [{"title": "Truce refused", "url": "https://x.example/a"}, "Plain ref"],
        }
    )
    parsed = parse_answer(generic)
    assert parsed.input_format == "json" and parsed.question == "Why?"
    assert parsed.claims[0].markers == (1,)
    assert [(r.number, r.title) for r in parsed.references] == [
        (1, "Truce refused"),
        (2, "Plain ref"),
    ]
    with pytest.raises(QueryError, match="no answer text"):
        parse_answer('{"question": "Why?"}')
    with pytest.raises(QueryError, match="not valid JSON"):
        parse_answer("{broken", fmt="json")
    with pytest.raises(QueryError, match="must be an object"):
        parse_answer("[1, 2]", fmt="json")


def test_a_citewire_answer_record_can_be_audited(indexed: Engine) -> None:
    answer = indexed.ask("Why did Veloria refuse a temporary ceasefire?")
    parsed = parse_answer(json.dumps(answer_to_dict_for(answer)))
    assert parsed.question == answer.question
    assert len(parsed.claims) == sum(1 for s in answer.sentences if s.kind == "claim")
    audit = indexed.audit(json.dumps(answer_to_dict_for(answer)), save=False)
    # citewire's own sentences quote their sources: all of them check out again.
    assert audit.count(ClaimLabel.SUPPORTED) == len(audit.claims) > 0
    assert_evidence_holds(audit, indexed)


def answer_to_dict_for(answer):  # type: ignore[no-untyped-def]
    from citewire.codec import answer_to_dict

    return answer_to_dict(answer)


def test_parse_html_page() -> None:
    page = (
        "<html><head><title>Q</title></head><body><article>"
        "<h1>Why did Veloria refuse a ceasefire?</h1>"
        "<p>Veloria refused a <em>temporary</em> ceasefire, its ministry said "
        '<a href="https://meridianwire.example/a">[1]</a>. It wants written guarantees.[2]</p>'
        "<p>Talks stalled over the question of guarantees, mediators in Ostrava said.</p>"
        "<h2>References</h2><ol>"
        '<li>Meridian Wire, "Veloria rejects truce" '
        '<a href="https://meridianwire.example/a">link</a></li>'
        '<li><a href="https://oecd.example/ai">AI Policy Observatory</a></li>'
        "</ol></article></body></html>"
    )
    parsed = parse_answer(page)
    assert parsed.input_format == "html"
    assert parsed.question == "Why did Veloria refuse a ceasefire?"
    assert parsed.claims[0].markers == (1,) and parsed.claims[1].markers == (2,)
    assert [r.url for r in parsed.references] == [
        "https://meridianwire.example/a",
        "https://oecd.example/ai",
    ]
    assert parsed.references[1].title == "AI Policy Observatory"


def test_question_override_and_no_question() -> None:
    body = "Veloria refused the truce on Tuesday. Its minister demanded guarantees."
    parsed = parse_answer(body)
    assert parsed.question is None
    assert "The answer lists no references." in parsed.notes
    assert parse_answer(body, question="Why?").question == "Why?"


# --- bad input -------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["", "   \n\n  "])
def test_empty_input(text: str) -> None:
    with pytest.raises(QueryError, match="nothing to audit"):
        parse_answer(text)


def test_enormous_input_is_refused_and_long_one_capped(indexed: Engine) -> None:
    with pytest.raises(QueryError, match="limit"):
        parse_answer("Veloria refused. " * (MAX_AUDIT_CHARS // 10))
    many = " ".join(f"Claim number {i} says Veloria met {i} envoys." for i in range(12))
    auditor = Auditor(indexed.store, indexed.retriever, indexed.embedder, max_claims=5)
    audit = auditor.audit(parse_answer(many))
    assert len(audit.claims) == 5
    assert any("first 5 of 12" in n for n in audit.notes)
    assert MAX_CLAIMS >= 100  # the default leaves room for a long essay


def test_empty_index_supports_nothing(engine: Engine) -> None:
    audit = engine.audit(SEED_SHAPED, save=False)
    assert audit.count(ClaimLabel.SUPPORTED) == 0 and audit.count(ClaimLabel.CONTRADICTED) == 0
    assert all(c.label in (ClaimLabel.NOT_FOUND, ClaimLabel.OPINION) for c in audit.claims)
    assert any("index is empty" in n for n in audit.notes)
    assert all(r.article_id is None for r in audit.references)


def test_non_english_and_broken_references(indexed: Engine) -> None:
    text = (
        "¿Por qué rechaza Veloria una tregua temporal?\n"
        "El ministerio de Asuntos Exteriores dijo que no aceptaría una tregua temporal con la "
        "Alianza del Norte. La ministra Adira Kessan exigió garantías de seguridad por escrito.\n"
        "References\n"
        "- htp://broken url with spaces\n"
        "- Just a title with no link\n"
    )
    audit = indexed.audit(text, save=False)
    assert any("does not look like English" in n for n in audit.notes)
    assert all(r.article_id is None for r in audit.references)
    assert audit.references[0].url is None  # not an http(s) URL: nothing to fetch or match
    assert_evidence_holds(audit, indexed)


# --- storage, codec, output --------------------------------------------------------------------
def test_stored_audit_round_trips(indexed: Engine) -> None:
    audit = indexed.audit(SEED_SHAPED, origin="seed.txt")
    assert audit.id is not None
    assert indexed.get_audit(audit.id) == audit
    assert audit_from_dict(audit_to_dict(audit)) == audit
    assert [s.id for s in indexed.audits()] == [audit.id]
    totals = audit_to_dict(audit)["totals"]
    assert totals["claims"] == len(audit.claims)
    assert totals["references_listed"] == 5 and totals["references_in_index"] == 4


def test_outputs_escape_hostile_text(indexed: Engine) -> None:
    hostile = (
        "Why <script>alert(1)</script>?\n"
        "Veloria's foreign ministry said it would not accept a temporary ceasefire "
        '<img src=x onerror="alert(2)">.\n'
        "References\n"
        '- [click me](javascript:alert(3)) "Evil" javascript:alert(4)\n'
    )
    audit = indexed.audit(hostile, save=False)
    page = audit_html(audit)
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page
    assert "<img src=x" not in page
    assert 'href="javascript:' not in page
    markdown = audit_markdown(audit)
    assert markdown.startswith("## Audit:")


# --- the command -------------------------------------------------------------------------------
def test_cli_audit_file_stdin_url_and_show(
    home: Path, corpus_file: Path, tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    runner = CliRunner()
    env = {"CITEWIRE_HOME": str(home)}

    def run(*args: str, input: str | None = None):  # type: ignore[no-untyped-def]
        return runner.invoke(cli, list(args), env=env, input=input)

    assert run("ingest", str(corpus_file), "-q").exit_code == 0
    seed = tmp_path / "answer.txt"
    seed.write_text(SEED_SHAPED, encoding="utf-8")
    result = run("audit", str(seed), "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["totals"]["references_listed"] == 5
    assert report["origin"] == str(seed)
    audit_id = report["id"]

    result = run("audit", "-", "--no-save", input=SEED_SHAPED)
    assert result.exit_code == 0 and "Claims" in result.output

    url = http_server.add("/answer.md", body=SEED_SHAPED, content_type="text/markdown")
    result = run("audit", url, "--format", "markdown", "--no-save")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("## Audit: Veloria says")

    result = run("audits")
    assert audit_id in result.output and result.output.count("\n") == 1  # --no-save stored none
    result = run("show", audit_id, "--format", "html")
    assert result.exit_code == 0 and "<h1>Audit:" in result.output

    for bad, why in (
        (str(tmp_path / "missing.txt"), "cannot read"),
        (closed_port_url("/answer"), "error"),
    ):
        result = run("audit", bad)
        assert result.exit_code == 1
        assert why in result.output.lower()
        assert "Traceback" not in result.output
    result = run("show", "nosuchid")
    assert result.exit_code == 1 and "no answer or audit" in result.output


# --- atomic claims with a model ----------------------------------------------------------------
COMPOUND = (
    "Why did Veloria refuse?\n"
    "Veloria's foreign ministry said it would not accept a temporary ceasefire with the Northern "
    "Alliance, and Foreign Minister Adira Kessan demanded written security guarantees from at "
    "least two outside powers.\n"
)


def test_model_splits_compound_sentences(indexed: Engine, fake_llm: FakeLLM) -> None:
    fake_llm.reply(
        "Veloria's foreign ministry said it would not accept a temporary ceasefire with the "
        "Northern Alliance.\n"
        "Foreign Minister Adira Kessan demanded written security guarantees from at least two "
        "outside powers."
    )
    with OpenAIWriter(fake_llm.config()) as model:
        audit = indexed.audit(COMPOUND, splitter=ModelSplitter(model), save=False)
    assert [c.part for c in audit.claims] == [1, 2]
    assert all(c.sentence and c.sentence.startswith("Veloria's foreign") for c in audit.claims)
    assert all(c.label == ClaimLabel.SUPPORTED for c in audit.claims)
    assert any("split 1 compound sentence" in n for n in audit.notes)
    assert "From the sentence:" in audit_text(audit)
    assert audit_from_dict(audit_to_dict(audit)) == audit


def test_a_split_that_invents_is_not_used(indexed: Engine, fake_llm: FakeLLM) -> None:
    fake_llm.reply(
        "Veloria's foreign ministry rejected the ceasefire.\n"
        "Veloria has 60 warships in the southern ports."  # nowhere in the sentence
    )
    with OpenAIWriter(fake_llm.config()) as model:
        audit = indexed.audit(COMPOUND, splitter=ModelSplitter(model), save=False)
    (claim,) = audit.claims
    assert claim.part == 0 and "Adira Kessan" in claim.text
    assert any("added words the sentence lacks" in n for n in audit.notes)


def test_a_dead_model_leaves_sentences_whole(indexed: Engine, fake_llm: FakeLLM) -> None:
    fake_llm.error(500)
    with OpenAIWriter(fake_llm.config()) as model:
        audit = indexed.audit(COMPOUND, splitter=ModelSplitter(model), save=False)
    assert len(audit.claims) == 1 and audit.claims[0].part == 0
    assert any("Splitting compound sentences stopped" in n for n in audit.notes)


def test_a_paragraph_opening_with_a_quotation_is_not_part_of_the_question() -> None:
    # Found by bench/bench_audit.py: the first paragraph was glued onto the question line.
    parsed = parse_answer(
        'Why did it happen?\n"We will not go back," the minister said on Monday.\n'
        "The ministry said 40 people were hurt.\n"
    )
    assert parsed.question == "Why did it happen?"
    assert [c.text for c in parsed.claims] == [
        '"We will not go back," the minister said on Monday.',
        "The ministry said 40 people were hurt.",
    ]


# --- shapes found by review ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "urls"),
    [
        # unbulleted entries, one per line, each with its URL
        (
            "References\nReuters, Fuel rises, https://a.example/x\nBBC, Strike, https://b.example/y",
            ["https://a.example/x", "https://b.example/y"],
        ),
        ("References\n[1]https://a.example/x\n[2]https://b.example/y", None),
        # no heading: a trailing run of link lines
        ("https://a.example/x\nhttps://b.example/y", None),
        ("1. https://a.example/x\n2. https://b.example/y", None),
        # heading and entries on one line
        ("Sources: [1] https://a.example/x [2] https://b.example/y", None),
    ],
)
def test_reference_lists_in_other_shapes(text: str, urls: list[str] | None) -> None:
    body = "The fuel price rose by 10 percent in May [1]. The union said it would strike [2].\n\n"
    parsed = parse_answer(body + text)
    assert [r.url for r in parsed.references] == (
        urls or ["https://a.example/x", "https://b.example/y"]
    )
    assert [c.text for c in parsed.claims] == [
        "The fuel price rose by 10 percent in May.",
        "The union said it would strike.",
    ]
    assert not parsed.notes


def test_urls_keep_their_underscores_and_linked_markers_count() -> None:
    parsed = parse_answer(
        "See [the BBC report](https://bbc.example/news/uk_politics_123) on the *strike* today.\n"
        "Prices rose by ten percent in May, officials said [[2]](https://a.example/x).\n"
    )
    assert parsed.claims[0].links == ("https://bbc.example/news/uk_politics_123",)
    assert parsed.claims[0].text == "See the BBC report on the strike today."
    assert parsed.claims[1].markers == (2,)
    assert "](" not in parsed.claims[1].text


def test_emphasis_is_matched_within_a_bound() -> None:
    # An unbounded "*(.+?)*" scanned the rest of the text from every asterisk: a 200 kB paste
    # of "The *word " took 44 s. Emphasis spans at most 300 characters of one line (no timing
    # here: speed belongs in bench/, the bound is what keeps it linear).
    short = parse_answer(f"Officials said the *{('long ' * 20).strip()}* talks ended on Monday.")
    assert "*" not in short.claims[0].text
    long = parse_answer(f"Officials said the *{('long ' * 70).strip()}* talks ended on Monday.")
    assert long.claims[0].text.count("*") == 2
    parsed = parse_answer("The *word " * 20_000, "markdown")
    assert parsed.claims and "*" in parsed.claims[0].text


@pytest.mark.parametrize(
    "record",
    [
        {
            "paragraphs": [
                {"sentences": [{"text": "Fuel rose by ten percent.", "citations": ["1"]}]}
            ]
        },
        {
            "paragraphs": [
                {"sentences": [{"text": "Fuel rose by ten percent.", "citations": [{"ref": [1]}]}]}
            ]
        },
        {
            "answer": "Fuel rose by ten percent [3].",
            "references": [{"number": "²", "url": "https://a.example"}],
        },
    ],
)
def test_odd_json_never_crashes(record: dict) -> None:  # type: ignore[type-arg]
    parsed = parse_answer(json.dumps(record))
    assert parsed.claims and parsed.claims[0].text == "Fuel rose by ten percent."


def test_json_references_are_not_reported_missing() -> None:
    parsed = parse_answer(
        '{"answer": "Fuel rose by ten percent [3].", '
        '"references": [{"number": 3, "url": "https://a.example"}]}'
    )
    assert [r.number for r in parsed.references] == [3] and not parsed.notes


def test_html_references_made_only_of_links_are_kept() -> None:
    # trafilatura drops a list of bare links; the page's references are read before it runs.
    page = (
        "<html><body><article><h1>Why did Veloria refuse a ceasefire?</h1>"
        "<p>Veloria refused a temporary ceasefire, its ministry said "
        '<a href="https://meridianwire.example/a">[1]</a>. It wants written guarantees.[2]</p>'
        "<p>Talks stalled over the question of guarantees, mediators in Ostrava said.</p>"
        "<h2>References</h2><ol>"
        '<li><a href="https://meridianwire.example/a">Meridian Wire: Veloria rejects truce</a></li>'
        '<li><a href="https://oecd.example/ai">AI Policy Observatory</a></li>'
        "</ol></article></body></html>"
    )
    parsed = parse_answer(page)
    assert [(r.number, r.url) for r in parsed.references] == [
        (1, "https://meridianwire.example/a"),
        (2, "https://oecd.example/ai"),
    ]
    assert parsed.claims[0].text.endswith("its ministry said.")
    assert not any("References" in c.text for c in parsed.claims) and not parsed.notes
