"""The evaluation module: its scoring functions on tiny hand-made cases, then one end-to-end run
per set on self-made fixture sets in the shape of the real ones (fictional news, our own words),
with pinned floors: the CI gate for the extractive writer. Nothing here reads ../shared/data."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from citewire.embed import OnnxEmbedder
from citewire.errors import ConfigError
from citewire.evaluate import (
    CachedEmbedder,
    EvalReport,
    Figure,
    check_floors,
    contains_answer,
    corpus_hashes,
    decline_scores,
    fact_cited,
    gate_skip_reason,
    normalise,
    overlap_share,
    percentile,
    pin_floors,
    recheck_support,
    report_text,
    reports_disagreement,
    rgb_match,
    run_eval,
    spread,
)
from citewire.models import (
    Answer,
    AnswerStatus,
    Article,
    Citation,
    Paragraph,
    Sentence,
)
from citewire.verify import quote_hash

AS_OF = datetime(2026, 4, 10, tzinfo=UTC)


# --- scoring on hand-made cases --------------------------------------------------------------
def test_normalise_drops_quotes_case_and_spacing() -> None:
    assert normalise("“Squid  Game”") == "squid game"
    assert normalise("Macy’s\nparade") == "macys parade"


def test_contains_answer_matches_whole_words_of_any_alternative() -> None:
    text = "Netflix said “Squid Game” will return; the vote was 60% in favour."
    assert contains_answer(text, ['"Squid Game"'])
    assert contains_answer(text, ["Breaking Bad", "squid game"])
    assert contains_answer(text, ["60%"])
    assert not contains_answer(text, ["Squid Games"])
    assert not contains_answer("in 2016 they voted", ["6"])  # a digit inside a number
    assert not contains_answer("about 60 of them", ["6"])
    assert contains_answer("six, or 6.", ["6"])
    assert not contains_answer("they could not afford it", ["Ford"])
    assert contains_answer("Saudi Arabian officials said", ["Saudi Arabia"])  # a word's stem
    assert not contains_answer(text, [""])


def test_rgb_match_follows_rgbs_checkanswer() -> None:
    assert rgb_match("It was held in Tampa, Florida.", "tampa, florida")
    assert not rgb_match("It was held in Tampa.", "Tampa, Florida")
    # A list element that is a list: alternatives, one is enough.
    dates = [["May 15 2012", "May 15, 2012", "15 May 2012"]]
    assert rgb_match("Diablo 3 came out on 15 May 2012.", dates)
    assert not rgb_match("Diablo 3 came out in May 2012.", dates)
    # Several elements: every one must be found.
    assert rgb_match("Gold for Norway and silver for Germany", ["Norway", "Germany"])
    assert not rgb_match("Gold for Norway", ["Norway", "Germany"])
    assert not rgb_match("anything", [])


def _citation(article: Article, start: int, end: int) -> Citation:
    quote = article.text[start:end]
    return Citation(article.id, start, end, quote, quote_hash(quote))


def _article(text: str, aid: str = "a1") -> Article:
    return Article(
        id=aid,
        text=text,
        content_hash="x",
        source="test",
        title=None,
        url=None,
        published_at=AS_OF,
        date_precision=None,
        outlet="Meridian Wire",
        authors=(),
        metadata={},
        group_id=aid,
        ingested_at=AS_OF,
    )


def _answer(*paragraphs: Paragraph, status: str = AnswerStatus.ANSWERED) -> Answer:
    return Answer("q?", AS_OF, status, tuple(paragraphs), ())


def test_reports_disagreement_counts_each_way_of_showing_a_conflict() -> None:
    plain = Paragraph((Sentence("The final was in Tampa."),))
    assert not reports_disagreement(_answer(plain), cites_true=True, cites_fake=False)
    assert reports_disagreement(_answer(plain), cites_true=True, cites_fake=True)
    disputed = Paragraph((Sentence("Tampa."), Sentence("Glendale.")), role="disagreement")
    assert reports_disagreement(_answer(plain, disputed), cites_true=False, cites_fake=False)
    premise = _answer(plain, status=AnswerStatus.PREMISE_CONTRADICTED)
    assert reports_disagreement(premise, cites_true=False, cites_fake=False)


def test_fact_cited_by_overlap_of_quote_and_fact() -> None:
    fact = "The Justice Department is focused on the deals Google makes with Apple."
    assert overlap_share(fact, "Earlier. " + fact + " Later.") == 1.0
    assert fact_cited(fact, ["unrelated", fact.upper()])
    half = "The Justice Department is focused on the deals Google makes"
    assert fact_cited(fact, [half])  # most of the fact
    assert not fact_cited(fact, ["The Justice Department said nothing."])
    assert overlap_share("", "x") == 0.0


def test_decline_scores_precision_and_recall() -> None:
    scores = decline_scores(
        declined=[True, True, False, False, True], should_decline=[True, False, True, False, True]
    )
    assert (scores.correct, scores.declined, scores.should_decline) == (2, 3, 3)
    assert scores.precision == pytest.approx(2 / 3)
    assert scores.recall == pytest.approx(2 / 3)
    assert decline_scores([], []).precision is None


def test_recheck_support_rereads_spans_and_checks_support() -> None:
    text = "Veloria said on Tuesday it would not accept a temporary ceasefire. Talks stalled."
    article = _article(text)
    good = Sentence(
        "Veloria said on Tuesday it would not accept a temporary ceasefire.",
        (_citation(article, 0, 66),),
    )
    wrong_day = Sentence(
        "Veloria said on Monday it would not accept a temporary ceasefire.",
        (_citation(article, 0, 66),),
    )
    connective = Sentence("Both accounts are quoted.", kind="connective")
    answer = _answer(Paragraph((good, wrong_day, connective)))
    assert recheck_support(answer, {"a1": article}) == (1, 2)
    # The article changed under the citation: nothing passes; a missing article neither.
    edited = _article(text.replace("Tuesday", "Friday"))
    assert recheck_support(answer, {"a1": edited}) == (0, 2)
    assert recheck_support(answer, {}) == (0, 2)
    uncited = _answer(Paragraph((Sentence("Veloria refused."),)))
    assert recheck_support(uncited, {"a1": article}) == (0, 1)


def test_percentile_and_spread() -> None:
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([1.0, 2.0, 3.0, 4.0, 100.0], 95) == 100.0
    assert percentile([], 50) is None
    assert spread(list(range(10)), 5) == [0, 2, 4, 6, 8]
    assert spread([1, 2], 5) == [1, 2]
    assert spread([1, 2, 3], None) == [1, 2, 3]
    assert spread([1, 2, 3], 0) == [1, 2, 3]


class _CountingEmbedder:
    name = "counting"
    dim = 2

    def __init__(self) -> None:
        self.seen: list[str] = []

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        self.seen.extend(texts)
        return np.array([[len(t), 1.0] for t in texts], dtype=np.float32)


def test_cached_embedder_only_sends_unseen_texts_to_the_model() -> None:
    inner = _CountingEmbedder()
    cached = CachedEmbedder(inner, {"known": np.array([9.0, 9.0], dtype=np.float32)})
    vectors = cached.embed(["known", "new", "new"])
    assert inner.seen == ["new"]
    assert vectors.tolist() == [[9.0, 9.0], [3.0, 1.0], [3.0, 1.0]]
    cached.embed(["new"])
    assert inner.seen == ["new"] and cached.model_texts == 1
    assert cached.embed([]).shape == (0, 2)


# --- floors ----------------------------------------------------------------------------------
def _report(value: float | None, corpus: dict[str, str], limit: int = 5) -> EvalReport:
    figures = (
        Figure("citewire.evidence_coverage", "coverage", value, 10),
        Figure("citewire.decline_recall", "recall", 0.5, 4),
        Figure("citewire.decline_precision", "precision", 0.9, 4),
        Figure("citewire.support_shown", "support", 1.0, 40),
    )
    return EvalReport(
        "multihop_rag_sample500",
        "extractive",
        limit,
        10,
        "p",
        figures,
        corpus,
        variant="facts only",
    )


def test_floors_pin_check_and_skip(tmp_path: Path) -> None:
    folder = tmp_path / "multihop_rag_sample500"
    folder.mkdir()
    (folder / "queries.jsonl").write_text("{}\n")
    (folder / "evidence_facts.jsonl").write_text("{}\n")
    hashes = corpus_hashes("multihop_rag_sample500", tmp_path)
    assert set(hashes) == {"queries.jsonl", "evidence_facts.jsonl"}

    pinned = pin_floors([_report(0.6, hashes)], margin=0.05)
    entry = pinned["sets"]["multihop_rag_sample500"]
    assert entry["floors"]["citewire.evidence_coverage"] == {"kind": "min", "value": 0.55}
    assert entry["limit"] == 5 and entry["files"] == hashes
    assert gate_skip_reason("multihop_rag_sample500", tmp_path, pinned) is None

    assert check_floors(_report(0.58, hashes), pinned).passed
    low = check_floors(_report(0.5, hashes), pinned)
    assert low.checked and not low.passed
    assert [c.key for c in low.checks if not c.passed] == ["citewire.evidence_coverage"]
    assert not check_floors(_report(None, hashes), pinned).passed

    other_limit = check_floors(_report(0.6, hashes, limit=7), pinned)
    assert not other_limit.checked and "limit" in other_limit.reason
    pinned["sets"]["multihop_rag_sample500"]["variant"] = "bbc_news distractors"
    other_variant = check_floors(_report(0.6, hashes), pinned)
    assert not other_variant.checked and "variant" in other_variant.reason
    (folder / "queries.jsonl").write_text('{"changed": true}\n')
    assert "differs" in str(gate_skip_reason("multihop_rag_sample500", tmp_path, pinned))
    changed = check_floors(_report(0.6, corpus_hashes("multihop_rag_sample500", tmp_path)), pinned)
    assert not changed.checked
    (folder / "queries.jsonl").unlink()
    assert "absent" in str(gate_skip_reason("multihop_rag_sample500", tmp_path, pinned))
    assert gate_skip_reason("rgb_en_fact", tmp_path, pinned) == "no floors pinned for this set"


def test_run_eval_errors_name_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown evaluation set"):
        run_eval("squad", tmp_path)
    with pytest.raises(ConfigError, match=r"en_fact\.jsonl not found") as info:
        run_eval("rgb_en_fact", tmp_path)
    assert "--data" in info.value.hint


# --- fixture sets in the real sets' shapes ---------------------------------------------------
def _jsonl(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


RGB_ITEMS = [
    # (query, answer, fake, [positive passages with {A} for the answer], [negative passages])
    (
        "Who won the 2031 Lunar Cup final?",
        "Harbor City Rovers",
        "Northgate United",
        [
            "{A} won the 2031 Lunar Cup final on Saturday, beating their rivals 2-1 in extra time.",
            "The 2031 Lunar Cup went to {A} after a late winner from striker Tomas Reyes.",
        ],
        [
            "Tickets for the 2032 Lunar Cup final go on sale next month, organisers said.",
            "The Lunar Cup was first played in 1998 and is held every year in Velora City.",
        ],
    ),
    (
        "Which company acquired the photo app Glimmer?",
        "Brightline Media",
        "Orchard Systems",
        [
            "{A} acquired the photo-sharing app Glimmer for $1.2 billion, the company said.",
            "Glimmer, the photo app with 30 million users, is now owned by {A}.",
        ],
        [
            "Photo apps have grown quickly as phones gained better cameras, analysts said.",
            "Glimmer's founders started the app in a dormitory in 2024.",
        ],
    ),
    (
        "Who was elected mayor of Velora City in 2030?",
        "Adira Kessan",
        "Corvin Hale",
        [
            "{A} was elected mayor of Velora City in 2030 with 54 percent of the vote.",
            "Velora City's new mayor, {A}, was sworn in after winning the 2030 election.",
        ],
        [
            "Velora City holds municipal elections every four years, in the spring.",
            "Turnout in the city's elections has fallen for a decade, a study found.",
        ],
    ),
    (
        "Where will the 2033 Coastal Games be held?",
        "Port Amsel",
        "Eastfield",
        [
            "The 2033 Coastal Games will be held in {A}, the organising committee announced.",
            "{A} beat two rival bids to host the 2033 Coastal Games.",
        ],
        [
            "The Coastal Games feature sailing, rowing and open-water swimming.",
            "Athletes at the last Coastal Games complained about the heat.",
        ],
    ),
    (
        "Which film won best picture at the 2031 Meridian Awards?",
        "The Salt Road",
        "Glass Harbour",
        [
            "{A} won best picture at the 2031 Meridian Awards on Sunday night.",
            "Lena Ortiz's {A} took the top prize, best picture, at the 2031 Meridian Awards.",
        ],
        [
            "The Meridian Awards ceremony was hosted by a comedian for the third year running.",
            "Streaming services released more films than cinemas did last year.",
        ],
    ),
]


def _write_rgb(root: Path) -> None:
    rows = []
    for i, (query, answer, fake, positives, negatives) in enumerate(RGB_ITEMS):
        rows.append(
            {
                "id": i,
                "query": query,
                "answer": answer,
                "fakeanswer": fake,
                "positive": [p.format(A=answer) for p in positives],
                "positive_wrong": [p.format(A=fake) for p in positives],
                "negative": negatives,
            }
        )
    _jsonl(root / "rgb_en_fact" / "en_fact.jsonl", rows)


MULTIHOP_FACTS = [
    ("Brightline Media agreed to buy the photo app Glimmer for $1.2 billion.", "TechWire", 1),
    ("Glimmer's 30 million users will keep their accounts after the sale.", "TechWire", 1),
    (
        "Regulators in Veloria opened an inquiry into Brightline Media's purchase of Glimmer.",
        "Meridian Wire",
        2,
    ),
    (
        "Harbor City Rovers won the 2031 Lunar Cup, their first title in a decade.",
        "Sporting Desk",
        3,
    ),
    ("Rovers striker Tomas Reyes was named player of the Lunar Cup final.", "Harbor Times", 4),
    (
        "The Ostrava central bank raised interest rates by half a point on Thursday.",
        "Finance Daily",
        5,
    ),
    (
        "Ostrava's inflation rate reached 7 percent in October, its highest in years.",
        "Finance Daily",
        5,
    ),
]
MULTIHOP_QUERIES = [
    (
        "Which company, reported by TechWire as buying the photo app Glimmer and by Meridian Wire "
        "as facing an inquiry from Veloria's regulators, is behind the deal?",
        "inference_query",
        "Brightline Media",
        [0, 2],
    ),
    (
        "Which club, whose striker Tomas Reyes was named player of the final according to Harbor "
        "Times, won the 2031 Lunar Cup as reported by Sporting Desk?",
        "inference_query",
        "Harbor City Rovers",
        [3, 4],
    ),
    (
        "Did Finance Daily report both that Ostrava's central bank raised interest rates and that "
        "Ostrava's inflation reached 7 percent in October?",
        "comparison_query",
        "Yes",
        [5, 6],
    ),
    (
        "Which pianist, according to a Lyric Review article about the Salzgrund music festival and "
        "a Concert Notes interview, premiered a sonata written for harpsichord and theremin?",
        "null_query",
        "Insufficient information.",
        [],
    ),
    (
        "What is the name of the submarine cable operator that, according to Ocean Ledger and "
        "Subsea Today, laid a cable between Antarctica and Greenland?",
        "null_query",
        "Insufficient information.",
        [],
    ),
]


def _write_multihop(root: Path) -> None:
    facts = [
        {
            "fact_id": f"mhr-f{i:04d}",
            "fact": fact,
            "url": f"https://{source.lower().replace(' ', '')}.example/story-{story}",
            "title": f"Story {story}",
            "source": source,
            "published_at": f"2023-10-{10 + story:02d}T09:00:00+00:00",
            "author": "Staff",
            "category": "news",
        }
        for i, (fact, source, story) in enumerate(MULTIHOP_FACTS)
    ]
    queries = []
    for i, (question, kind, answer, ids) in enumerate(MULTIHOP_QUERIES):
        evidence = [{k: v for k, v in facts[j].items() if k != "fact_id"} for j in ids]
        queries.append(
            {
                "id": str(i),
                "question": question,
                "question_type": kind,
                "answer": answer,
                "evidence_list": evidence,
                "evidence_fact_ids": [facts[j]["fact_id"] for j in ids],
            }
        )
    folder = root / "multihop_rag_sample500"
    _jsonl(folder / "queries.jsonl", queries)
    _jsonl(folder / "evidence_facts.jsonl", facts)


RTQA_ARTICLES = [
    (
        "rtqa-a1",
        "2022/06/12",
        "Glimmer sold to Brightline Media",
        "Brightline Media has bought the photo app Glimmer for $1.2 billion, the companies said on "
        "Monday. Glimmer has 30 million users. The deal still needs approval from regulators.",
    ),
    (
        "rtqa-a2",
        "2022/06/20",
        "Lunar Cup final report",
        "Harbor City Rovers won the Lunar Cup on Saturday, beating Eastfield 2-1 after extra time. "
        "Tomas Reyes scored the winning goal in the 112th minute.",
    ),
    (
        "rtqa-a3",
        "2022/07/02",
        "Port Amsel to host Coastal Games",
        "The organising committee chose Port Amsel to host the 2033 Coastal Games. The city beat "
        "two rival bids with a plan to reuse its old harbour as the sailing venue.",
    ),
    (
        "rtqa-a4",
        "2022/07/15",
        "Veloria raises fuel tax",
        "Veloria's parliament voted to raise the fuel tax by 12 percent from September. The "
        "finance minister said the money would pay for repairs to southern ports.",
    ),
    (
        "rtqa-a5",
        "2022/07/28",
        "Meridian Awards",
        "The Salt Road won best picture at the Meridian Awards on Sunday. Director Lena Ortiz "
        "thanked the crew, who filmed for three months in the desert.",
    ),
    (
        "rtqa-d1",
        "2022/05/02",
        "Photo apps keep growing",
        "Photo-sharing apps grew quickly this spring as phones gained better cameras, analysts "
        "said. Advertising revenue across the sector rose by a fifth.",
    ),
    (
        "rtqa-d2",
        "2022/06/01",
        "Football season preview",
        "The new football season opens next week with twelve clubs in the top league. Coaches "
        "expect a close race for the title.",
    ),
    (
        "rtqa-d3",
        "2022/07/01",
        "Harbour plans approved",
        "City planners approved a new ferry terminal for the old harbour. Construction will begin "
        "next spring and last two years.",
    ),
]
RTQA_QUESTIONS = [
    ("2022/06/17", "Which company bought the photo app Glimmer?", "Brightline Media", "rtqa-a1"),
    ("2022/06/24", "Which club won the Lunar Cup final?", "Harbor City Rovers", "rtqa-a2"),
    ("2022/07/08", "Which city will host the 2033 Coastal Games?", "Port Amsel", "rtqa-a3"),
    ("2022/07/22", "By how much did Veloria raise its fuel tax?", "12 percent", "rtqa-a4"),
    (
        "2022/08/01",
        "Which film won best picture at the Meridian Awards?",
        "The Salt Road",
        "rtqa-a5",
    ),
]


def _write_realtimeqa(root: Path) -> None:
    folder = root / "realtimeqa"
    articles = [
        {
            "doc_id": doc_id,
            "url": f"https://news.example/{doc_id}",
            "title": title,
            "publish_date": date,
            "authors": [],
            "text": text,
            "origins": ["gold"],
        }
        for doc_id, date, title, text in RTQA_ARTICLES
    ]
    questions = [
        {
            "question_id": f"20220617_{i}",
            "question_date": date,
            "question": question,
            "choices": [answer, "Other A", "Other B", "Other C"],
            "answer_idx": [0],
            "answer_text": [f"“{answer}”"],
            "gold_doc_ids": [gold],
            "retrieved_doc_ids": [gold, "rtqa-d1"],
        }
        for i, (date, question, answer, gold) in enumerate(RTQA_QUESTIONS)
    ]
    _jsonl(folder / "articles_2022.jsonl", articles)
    _jsonl(folder / "questions_2022.jsonl", questions)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("eval-data")
    _write_rgb(root)
    _write_multihop(root)
    _write_realtimeqa(root)
    return root


def _value(report: EvalReport, key: str) -> float:
    figure = report.figure(key)
    assert figure is not None, key
    assert figure.value is not None, key
    return figure.value


# The CI gate on the fixture sets, extractive writer. Floors sit below what the writer reaches
# today (noted on each line) so a near-tie flipping one of five items does not fail the build.
def test_rgb_end_to_end(data_dir: Path, embedder: OnnxEmbedder) -> None:
    report = run_eval("rgb_en_fact", data_dir, limit=0, embedder=embedder)
    assert report.n_items == 5 and report.writer == "extractive"
    assert report.corpus.keys() == {"en_fact.jsonl"}
    for figure in report.figures:  # every per-condition figure counts the 5 items
        if figure.key.startswith(("citewire.", "baseline_")) and figure.key.count(".") == 2:
            assert figure.n == 5, figure.key
    assert _value(report, "citewire.clean.contains_true") >= 0.8  # 5/5 today
    assert _value(report, "citewire.clean.contains_fake") == 0.0
    assert _value(report, "citewire.counterfactual.contains_true") == 0.0
    # 2/5 today: ingest groups a true passage with its near-identical counterfactual copy, and
    # only the group's first copy is searchable (reported; see the real set's figures).
    assert _value(report, "citewire.conflict.contains_true") >= 0.2
    assert _value(report, "citewire.support_shown") == 1.0
    assert _value(report, "baseline_topk.clean.contains_true") == 1.0
    json.dumps(report.to_dict())  # serialisable as it is
    assert "citewire.conflict.reports_conflict" in report_text(report)


def test_multihop_end_to_end(data_dir: Path, embedder: OnnxEmbedder) -> None:
    report = run_eval("multihop_rag_sample500", data_dir, limit=0, embedder=embedder)
    assert report.n_items == 5
    coverage = report.figure("citewire.evidence_coverage")
    assert coverage is not None and coverage.n == 3
    recall = report.figure("citewire.decline_recall")
    assert recall is not None and recall.n == 2
    assert _value(report, "baseline_topk.evidence_coverage") == 1.0
    assert _value(report, "citewire.evidence_coverage") >= 0.5  # 3/3 today
    assert _value(report, "citewire.decline_recall") >= 0.5  # 2/2 today
    assert _value(report, "citewire.support_shown") == 1.0
    assert "only the other queries' facts" in " ".join(report.notes)
    assert report.variant == "facts only"


def test_realtimeqa_end_to_end(data_dir: Path, embedder: OnnxEmbedder) -> None:
    report = run_eval("realtimeqa", data_dir, limit=0, embedder=embedder)
    assert report.n_items == 5
    assert _value(report, "citewire.contains_answer") >= 0.6  # 5/5 today
    assert _value(report, "citewire.gold_cited") >= 0.8
    held = report.figure("citewire.heldout.declined")
    assert held is not None and held.n == 2
    assert _value(report, "citewire.heldout.leak") == 0.0
    assert _value(report, "citewire.heldout.declined") >= 0.5
    assert _value(report, "citewire.support_shown") == 1.0
    latency = report.figure("citewire.latency_p95")
    assert latency is not None and latency.n == 5 and latency.unit == "seconds"


def test_cli_eval_on_fixture_set(data_dir: Path) -> None:
    from click.testing import CliRunner

    from citewire.cli import cli

    result = CliRunner().invoke(
        cli, ["eval", "rgb_en_fact", "--data", str(data_dir), "--limit", "2", "--json"]
    )
    assert result.exit_code == 0, result.output
    start = result.output.index("[")  # progress lines go to stderr, mixed in by CliRunner
    (report,) = json.loads(result.output[start:])
    assert report["set"] == "rgb_en_fact" and report["n_items"] == 2
    bad = CliRunner().invoke(cli, ["eval", "no_such_set", "--data", str(data_dir)])
    assert bad.exit_code == 1 and bad.output.startswith("Error:")
