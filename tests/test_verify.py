"""Checking sentences against what they cite: facts, the check cascade, and span re-reads.

Every sentence pair here is written for these tests, about the fictional Veloria ceasefire story
of ``tests/support/corpus.py``.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from citewire.chunk import split_sentences
from citewire.models import Citation
from citewire.verify import (
    EMBED_THRESHOLD,
    OVERLAP_THRESHOLD,
    Quantity,
    check_citation_span,
    check_support,
    facts,
    quote_hash,
)
from tests.support.corpus import WIRE_STORY

REFUSAL = (
    "Veloria's foreign ministry said on Tuesday that it would not accept a temporary ceasefire "
    "with the Northern Alliance, calling the proposal a pause that would only let its opponents "
    "rearm."
)
TRAP = (
    "Foreign Minister Adira Kessan told reporters that any halt had to be permanent. "
    '"A temporary truce is a trap. We have seen three of them collapse since March," Kessan said.'
)
BLOCKADE = "Officials estimated that the blockade had cut fuel imports by 40 per cent since June."
OFFER = (
    "The Northern Alliance has offered a 30-day ceasefire, mediated by the government of "
    "Ostrava. Its spokesman, Corvin Hale, said the offer remained on the table."
)
MISSION = (
    "The mediators proposed a monitoring mission of 200 observers along the front line on "
    "April 7, 2026. Neither side has accepted the plan."
)
AID = "Donors pledged $1.2 billion in aid to the southern ports, a rise of 3.5% on last year."


# --- facts ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("About 1,200 people fled.", [(1200, None)]),
        ("It will cost 1.2 million.", [(1.2e6, None)]),
        ("a $1.2bn package", [(1.2e9, "$")]),
        ("a rise of 3.5%", [(3.5, "%")]),
        ("down 40 per cent", [(40, "%")]),
        ("down 40 percent", [(40, "%")]),
        ("a 30-day ceasefire", [(30, "day")]),
        ("200 observers", [(200, None)]),
        ("2,000 observers", [(2000, None)]),
        ("between 20-30 observers", [(20, None), (30, None)]),
        ("it fell to -5 degrees", [(-5, "degree")]),
        ("twenty-five thousand people", [(25000, None)]),
        ("three of them collapsed", [(3, None)]),
        ("a million people", [(1e6, None)]),
        ("the third attempt", [(3, "ordinal")]),
        ("the 3rd attempt", [(3, "ordinal")]),
        # Not quantities: a pronoun, a fraction, a year, a code, list numbering.
        ("one of them", []),
        ("a third of voters", []),
        ("since 2026", []),
        ("F-16 jets", []),
        ("1. Choose a location", []),
    ],
)
def test_numbers(text: str, expected: list[tuple[float, str | None]]) -> None:
    found = [(q.value, q.unit) for q in facts(text).numbers]
    assert len(found) == len(expected)
    for (value, unit), (want_value, want_unit) in zip(found, expected, strict=True):
        assert math.isclose(value, want_value) and unit == want_unit


def test_quantity_keeps_the_text_as_written() -> None:
    assert facts("a $1.2bn package").numbers == (Quantity(1.2e9, "$", "$1.2bn"),)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("on Tuesday, April 7, 2026", {"tuesday", "april", "april 7", "2026"}),
        ("published 2026-04-07", {"2026", "april", "april 7"}),
        ("on 7 April", {"april", "april 7"}),
        ("at 3 p.m.", {"15:00"}),
        ("since March", {"march"}),
        ("in May", {"may"}),
        ("May said no", set()),  # the modal verb, or a name: not a month
        ("in the 1990s", {"1990s"}),
    ],
)
def test_dates(text: str, expected: set[str]) -> None:
    assert set(facts(text).dates) == expected


def test_names_of_the_wire_story() -> None:
    names = facts(WIRE_STORY).names
    assert "Foreign Minister Adira Kessan" in names
    assert "Corvin Hale" in names and "Ostrava" in names and "Northern Alliance" in names
    assert "Veloria" in names  # from "Veloria's": the possessive is stripped
    assert "Officials" not in names  # a capitalised sentence start, not a name
    assert "Tuesday" not in names  # a date


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Officials said talks had stalled.", ()),
        ("Ostrava's mediators met the UN envoy.", ("Ostrava", "UN")),
        ("Talks resumed, Corvin Hale said.", ("Corvin Hale",)),
        ("The Council on Digital Standards met.", ("Council", "Digital Standards")),
    ],
)
def test_names(text: str, expected: tuple[str, ...]) -> None:
    assert facts(text).names == expected


def test_quotes() -> None:
    text = (
        'Kessan said "a temporary truce is a trap" and “we will not sign”, and Hale said '
        "‘the offer stands’. The players' union called it 'fine'."
    )
    assert facts(text).quotes == (
        "a temporary truce is a trap",
        "we will not sign",
        "the offer stands",
    )  # a one-word quote is emphasis, and an apostrophe never opens a quote


@pytest.mark.parametrize(
    ("text", "negated"),
    [
        ("Veloria did not agree to the truce.", True),
        ("Veloria won't accept it.", True),
        ("Veloria refused to sign.", True),
        ("Neither side has accepted the plan.", True),
        ("Veloria agreed to the truce.", False),
        ("The truce is not only fragile but short.", False),
    ],
)
def test_negation(text: str, negated: bool) -> None:
    assert facts(text).negated is negated


# --- check_support: what passes ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("claim", "evidence"),
    [
        ("On Tuesday Veloria said it would not accept a temporary truce.", REFUSAL),
        ("Veloria rejected a temporary ceasefire with the Northern Alliance.", REFUSAL),
        ("Kessan said a temporary truce is a trap.", TRAP),
        ("Adira Kessan said three truces had collapsed since March.", TRAP),
        ("The blockade cut fuel imports by 40% since June, officials estimated.", BLOCKADE),
        ("Ostrava mediated the Alliance's offer of a 30 day ceasefire.", OFFER),
        ("Mediators proposed sending 200 observers to the front line in April 2026.", MISSION),
        ("Donors pledged $1.2bn in aid to the southern ports.", AID),
        ("Donors pledged 1,200 million dollars in aid to the southern ports.", AID),
    ],
)
def test_supported_paraphrases_pass(claim: str, evidence: str) -> None:
    check = check_support(claim, evidence)
    assert check.passed, check.reasons
    assert check.layer == "deterministic" and OVERLAP_THRESHOLD <= check.score <= 1


def test_a_sentence_of_the_cited_text_passes_as_extractive() -> None:
    check = check_support("Neither side has accepted the plan.", MISSION)
    assert check.passed and check.layer == "extractive" and check.score == 1.0


def test_reference_markers_are_not_part_of_the_claim() -> None:
    assert check_support("Neither side has accepted the plan [1].", MISSION).layer == "extractive"


# --- check_support: what fails, and why ----------------------------------------------------------
@pytest.mark.parametrize(
    ("claim", "evidence", "reason"),
    [
        (
            "The mediators proposed a mission of 2,000 observers.",
            MISSION,
            'number "2,000" not in the cited text (it says "200")',
        ),
        (
            "Donors pledged $1.2 million in aid to the southern ports.",
            AID,
            'number "$1.2 million" not in the cited text (it says "$1.2 billion")',
        ),
        (
            "Donors pledged £1.2 billion in aid to the southern ports.",
            AID,
            'number "£1.2 billion" not in the cited text (it says "$1.2 billion")',
        ),
        (
            "The blockade cut fuel imports by 40 since June.",
            BLOCKADE,
            'number "40" not in the cited text (it says "40 per cent")',
        ),
        (
            "The blockade cut fuel imports by 14 per cent since June.",
            BLOCKADE,
            'number "14 per cent" not in the cited text (it says "40 per cent")',
        ),
        (
            "The Alliance offered a 30-week ceasefire mediated by Ostrava.",
            OFFER,
            'number "30-week" not in the cited text (it says "30-day")',
        ),
        (
            "Kessan said four truces had collapsed since March.",
            TRAP,
            'number "four" not in the cited text (it says "three")',
        ),
    ],
)
def test_changed_numbers_fail_naming_the_number(claim: str, evidence: str, reason: str) -> None:
    check = check_support(claim, evidence)
    assert not check.passed and check.layer == "deterministic" and check.score == 0.0
    assert reason in check.reasons


def test_rounding_is_allowed_only_to_the_precision_the_claim_was_written_with() -> None:
    evidence = "The fund holds 1,234,567 dollars."
    assert check_support("The fund holds 1.2 million dollars.", evidence).passed
    assert not check_support("The fund holds 1.25 million dollars.", evidence).passed


@pytest.mark.parametrize(
    ("claim", "evidence", "reason"),
    [
        ("A temporary truce is a trap, Hale said.", TRAP, 'name "Hale" not in the cited text'),
        (
            "Corvin Kessan said a temporary truce is a trap.",
            TRAP,
            'name "Corvin Kessan" not in the cited text',
        ),
        (
            "The Southern Alliance has offered a 30-day ceasefire mediated by Ostrava.",
            OFFER,
            'name "Southern Alliance" not in the cited text',
        ),
        (
            "The Northern Alliance has offered a 30-day ceasefire mediated by Veloria.",
            OFFER,
            'name "Veloria" not in the cited text',
        ),
    ],
)
def test_swapped_names_fail(claim: str, evidence: str, reason: str) -> None:
    check = check_support(claim, evidence)
    assert not check.passed and reason in check.reasons


@pytest.mark.xfail(strict=True, reason="known: a name opening a sentence is not checked")
def test_a_swapped_name_at_the_start_of_a_sentence() -> None:
    # "Hale" could be a common word for all the rules know; the judge catches this one.
    assert not check_support("Hale said a temporary truce is a trap.", TRAP).passed


@pytest.mark.parametrize(
    ("claim", "evidence"),
    [
        ("Velorian officials would not accept a temporary ceasefire.", REFUSAL),  # demonym
        ("President Vask warned of the price.", "Dorran Vask warned of the price."),  # title
        ("Dorran Vask warned of the price.", "President Vask warned of the price."),  # surname
        ("The UN envoy met Kessan.", "An envoy of the United Nations met Kessan."),  # acronym
        ("The United Nations envoy met Kessan.", "The UN envoy met Kessan."),
    ],
)
def test_names_match_in_other_forms(claim: str, evidence: str) -> None:
    check = check_support(claim, evidence)
    assert check.passed, check.reasons


@pytest.mark.parametrize(
    ("claim", "passed"),
    [
        ('Kessan said "a temporary truce is a trap".', True),
        ("Kessan said “A TEMPORARY TRUCE IS A TRAP”.", True),  # case and quote style
        ('Kessan said "a temporary truce is a snare".', False),
        ('Kessan said "a temporary truce ... collapse since March".', True),
        ('Kessan said "a temporary truce is a trap. [...] three of them collapse".', True),
        ('Kessan said "three of them collapse ... a temporary truce".', False),  # order matters
    ],
)
def test_quotes_must_be_verbatim_up_to_elisions(claim: str, passed: bool) -> None:
    check = check_support(claim, TRAP)
    assert check.passed is passed, check.reasons
    if not passed:
        assert any(reason.startswith('quote "') for reason in check.reasons)


@pytest.mark.parametrize(
    ("claim", "evidence", "reason"),
    [
        (
            "Veloria said on Monday it would not accept a temporary ceasefire.",
            REFUSAL,
            'date "Monday" not in the cited text (it says "Tuesday")',
        ),
        (
            "Mediators proposed 200 observers along the front line in 2025.",
            MISSION,
            'date "2025" not in the cited text (it says "April 7, 2026")',
        ),
        (
            "Mediators proposed 200 observers along the front line on April 8.",
            MISSION,
            'date "April 8" not in the cited text (it says "April 7, 2026")',
        ),
    ],
)
def test_changed_dates_fail(claim: str, evidence: str, reason: str) -> None:
    check = check_support(claim, evidence)
    assert not check.passed and reason in check.reasons


@pytest.mark.parametrize(
    ("claim", "evidence"),
    [
        ("Veloria agreed to the ceasefire.", "Veloria did not agree to the ceasefire."),
        ("Veloria did not agree to the ceasefire.", "Veloria agreed to the ceasefire."),
        ("Veloria said it would accept a temporary ceasefire.", REFUSAL),
        ("Both sides have accepted the plan.", "Neither side has accepted the plan."),
        ("Veloria refused to sign the ceasefire.", "Veloria signed the ceasefire."),
    ],
)
def test_negation_flips_fail(claim: str, evidence: str) -> None:
    check = check_support(claim, evidence)
    assert not check.passed
    assert any(reason.startswith("negation differs") for reason in check.reasons)


def test_negation_elsewhere_in_the_cited_sentence_is_not_a_flip() -> None:
    evidence = "Hale said the offer remained on the table, though no date was set for talks."
    assert check_support("Hale said the offer remained on the table.", evidence).passed
    # ...and two ways of saying no agree with each other.
    assert check_support("Veloria refused a temporary ceasefire.", REFUSAL).passed


def test_unrelated_sentence_fails_on_overlap() -> None:
    check = check_support("Striker Tomas Reyes scored twice.", REFUSAL)
    assert not check.passed and check.layer == "deterministic"
    assert check.reasons[0].startswith("name ")
    check = check_support("The striker scored twice in the second half.", REFUSAL)
    assert not check.passed and check.score < OVERLAP_THRESHOLD
    assert check.reasons[0].startswith("only 0% of its words are in the cited text")


# --- check_support: judge and embedding layers ---------------------------------------------------
@dataclass
class FakeJudge:
    probability: float
    name: str = "fake-judge"
    calls: list[tuple[str, str]] = field(default_factory=list)

    def support(self, claim: str, evidence: str) -> float:
        self.calls.append((claim, evidence))
        return self.probability


def test_judge_decides_when_the_facts_agree() -> None:
    claim = "Veloria rejected a temporary ceasefire."
    judge = FakeJudge(0.9)
    check = check_support(claim, REFUSAL, judge=judge)
    assert check.passed and check.layer == "fake-judge" and check.score == 0.9
    assert judge.calls == [(claim, REFUSAL)]

    check = check_support(claim, REFUSAL, judge=FakeJudge(0.2))
    assert not check.passed and check.layer == "fake-judge" and check.score == 0.2
    assert "fake-judge judged the cited text not to support it (p=0.20)" in check.reasons


def test_judge_never_overrules_a_fact_mismatch() -> None:
    judge = FakeJudge(1.0)
    check = check_support(
        "Veloria said on Monday it would not accept a truce.", REFUSAL, judge=judge
    )
    assert not check.passed and check.layer == "deterministic"
    assert judge.calls == []


def test_judge_is_not_asked_about_a_sentence_of_the_cited_text() -> None:
    judge = FakeJudge(0.0)
    assert check_support(REFUSAL, REFUSAL, judge=judge).layer == "extractive"
    assert judge.calls == []


def test_judge_probability_is_clamped_to_a_probability() -> None:
    claim = "Veloria rejected a temporary ceasefire."
    assert check_support(claim, REFUSAL, judge=FakeJudge(1.7)).score == 1.0
    assert not check_support(claim, REFUSAL, judge=FakeJudge(float("nan"))).passed


def test_embedding_similarity_decides_without_a_judge() -> None:
    claim = "Veloria turned down the idea of a short pause in fighting."
    check = check_support(claim, REFUSAL, embed_similarity=EMBED_THRESHOLD + 0.2)
    assert check.passed and check.layer == "embedding"
    check = check_support(claim, REFUSAL, embed_similarity=EMBED_THRESHOLD - 0.2)
    assert not check.passed and check.layer == "embedding"
    assert check.reasons[0].startswith("meaning too far from the cited text")
    check = check_support("Ostrava turned it down on Monday.", REFUSAL, embed_similarity=0.99)
    assert not check.passed and check.layer == "deterministic"


def test_a_judge_takes_precedence_over_similarity() -> None:
    claim = "Veloria rejected a temporary ceasefire."
    check = check_support(claim, REFUSAL, judge=FakeJudge(0.1), embed_similarity=0.99)
    assert check.layer == "fake-judge" and not check.passed


# --- citation spans ------------------------------------------------------------------------------
def cite(text: str, start: int, end: int) -> Citation:
    quote = text[start:end]
    return Citation(
        article_id="a1", start=start, end=end, quote=quote, quote_hash=quote_hash(quote)
    )


def test_quote_hash_is_sha256_of_utf8() -> None:
    assert quote_hash("Kessan’s “trap”") == hashlib.sha256("Kessan’s “trap”".encode()).hexdigest()


def test_intact_citation() -> None:
    start = WIRE_STORY.index("A temporary truce")
    assert check_citation_span(WIRE_STORY, cite(WIRE_STORY, start, start + 28)) is None


def test_changed_article_is_caught() -> None:
    start = WIRE_STORY.index("40 per cent")
    citation = cite(WIRE_STORY, start, start + 11)
    edited = WIRE_STORY.replace("40 per cent", "14 per cent")
    assert (
        check_citation_span(edited, citation) == "cited text changed since the answer was written"
    )
    shifted = "Updated: " + WIRE_STORY
    assert check_citation_span(shifted, citation) is not None


def test_tampered_hash_is_caught() -> None:
    citation = cite(WIRE_STORY, 0, 11)
    forged = Citation(**{**citation.__dict__, "quote_hash": quote_hash("something else")})
    assert check_citation_span(WIRE_STORY, forged) is not None


@pytest.mark.parametrize(("start", "end"), [(-1, 5), (5, 10**6), (10, 10), (12, 3)])
def test_offsets_out_of_range(start: int, end: int) -> None:
    citation = Citation(article_id="a1", start=start, end=end, quote="", quote_hash=quote_hash(""))
    assert check_citation_span(WIRE_STORY, citation) == "offsets out of range"


# --- properties ----------------------------------------------------------------------------------
WORDS = (
    "ceasefire talks mediators guarantees blockade ports observers minister offer proposal "
    "monitoring mission southern front line fuel medicine shortages outside powers spokesman "
    "Veloria Ostrava Kessan Hale Alliance Tuesday March 200 40% $1.2bn 30-day 2026"
).split()
FUNCTION = "the a of to and on said that would not has had was by in".split()
sentence = st.lists(st.sampled_from(WORDS + FUNCTION), min_size=3, max_size=14).map(
    lambda words: " ".join(["The", *words]) + "."
)
evidence_text = st.lists(sentence, min_size=1, max_size=5).map(" ".join)


@settings(max_examples=60, deadline=None)
@given(evidence_text, st.data())
def test_a_sentence_of_the_cited_text_always_passes(evidence: str, data: st.DataObject) -> None:
    spans = split_sentences(evidence)
    start, end = data.draw(st.sampled_from(spans))
    check = check_support(evidence[start:end], evidence, judge=FakeJudge(0.0))
    assert check.passed and check.layer == "extractive"


@settings(max_examples=60, deadline=None)
@given(evidence_text, st.integers(min_value=2, max_value=10**7), st.booleans(), st.data())
def test_a_number_not_in_the_cited_text_always_fails(
    evidence: str, number: int, commas: bool, data: st.DataObject
) -> None:
    assume(not 1900 <= number <= 2100)  # a bare year is a date: it fails as one, tested above
    assume(all(q.value != number for q in facts(evidence).numbers))
    spans = split_sentences(evidence)
    start, end = data.draw(st.sampled_from(spans))
    written = f"{number:,}" if commas else str(number)
    claim = evidence[start : end - 1] + f" with {written} observers."
    check = check_support(claim, evidence, judge=FakeJudge(1.0))
    assert not check.passed
    assert f'number "{written}" not in the cited text' in " ".join(check.reasons)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300), st.text(max_size=300))
def test_any_text_gives_a_check_with_a_score_in_range(claim: str, evidence: str) -> None:
    facts(claim)
    check = check_support(claim, evidence)
    assert 0.0 <= check.score <= 1.0
    assert check.passed or check.reasons


@settings(max_examples=100, deadline=None)
@given(st.text(min_size=1, max_size=200), st.data())
def test_any_change_to_a_cited_span_is_caught(text: str, data: st.DataObject) -> None:
    start = data.draw(st.integers(0, len(text) - 1))
    end = data.draw(st.integers(start + 1, len(text)))
    citation = cite(text, start, end)
    assert check_citation_span(text, citation) is None
    position = data.draw(st.integers(start, end - 1))
    replacement = data.draw(st.characters().filter(lambda c: c != text[position]))
    changed = text[:position] + replacement + text[position + 1 :]
    assert (
        check_citation_span(changed, citation) == "cited text changed since the answer was written"
    )


# Found by bench/bench_audit.py on real news: negation edits the first version let through.
@pytest.mark.parametrize(
    ("claim", "evidence"),
    [
        # a negation on both sides, but not on the same thing
        (
            "The council will not vote on the plan and has not set a date.",
            "The council will vote on the plan and has not set a date.",
        ),
        # the governed word lies beyond the function words right after "not"
        (
            "The minister did not say that he will resign over the report.",
            "The minister said that he will resign over the report.",
        ),
    ],
)
def test_negation_is_compared_word_by_word(claim: str, evidence: str) -> None:
    for said, cited in ((claim, evidence), (evidence, claim)):
        result = check_support(said, cited, embed_similarity=0.95)
        assert not result.passed and result.reasons[0].startswith("negation differs")


def test_negation_by_another_word_still_agrees() -> None:
    result = check_support(
        "Veloria refused a temporary ceasefire.",
        "Veloria said it would not accept a temporary ceasefire.",
        embed_similarity=0.9,
    )
    assert result.passed


@pytest.mark.parametrize("text", ["That includes No. 1 Ash Barty.", "He threw a no-hitter."])
def test_abbreviations_and_compounds_with_no_do_not_negate(text: str) -> None:
    assert not facts(text).negated


def test_an_organisation_is_not_matched_by_its_first_and_last_words() -> None:
    # Found by bench/bench_audit.py: a person's name put inside an agency's name passed.
    result = check_support(
        "The figures come from the National Highway Boris Johnson Administration.",
        "The figures come from the National Highway Traffic Safety Administration.",
        embed_similarity=0.97,
    )
    assert (
        not result.passed and "National Highway Boris Johnson Administration" in result.reasons[0]
    )
