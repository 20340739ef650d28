"""citewire.dedup on small fixtures written for these tests (a fictional wire story, copies of it
as outlets republish it, and a different story on the same topic). Nothing here reads
/work/shared: quality on real articles is measured by bench/bench_dedup.py."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys

import pytest

from citewire import dedup
from citewire.dedup import (
    BANDS,
    NEAR_DUPLICATE_THRESHOLD,
    NUM_PERM,
    ROWS_PER_BAND,
    Fingerprint,
    content_hash,
    fingerprint,
    normalize_text,
    similarity,
)
from citewire.errors import StoreError

# A fictional wire story, ~300 words, as the agency sends it.
WIRE_STORY = """\
Harbour town approves Europe's largest floating solar farm

PORT ELLERY - Councillors in the coastal town of Port Ellery voted on Tuesday to approve a \
floating solar farm on the disused Brackwater reservoir, a project its backers say will be the \
largest of its kind in Europe.

The 48-megawatt array, made up of roughly 90,000 panels mounted on plastic pontoons, is expected \
to generate enough electricity for about 14,000 homes once it is completed in the spring of 2027.

The council's planning committee backed the scheme by seven votes to two after a four-hour \
meeting that heard objections from anglers and a local birdwatching group, who warned that the \
panels could disturb wintering ducks.

"This is the most significant investment the town has seen in a generation," said council leader \
Miriam Okafor. "We have listened carefully to the concerns of residents, and the developer has \
agreed to leave a third of the water surface uncovered."

The developer, Tidewater Renewables, said it would spend 62 million euros on the project and \
create around 150 jobs during construction. The company's chief executive, Anders Holm, said \
floating panels stay cooler than those on land, which makes them slightly more efficient.

Opponents said they were considering a legal challenge. "Nobody asked the people who actually \
use the reservoir," said Gerald Pike, chairman of the Brackwater Angling Club, which has fished \
the site since 1962.

Floating solar farms have spread quickly in Asia, where land is scarce, but remain rare in Europe. \
The largest existing European installation, in the Netherlands, produces about 41 megawatts.

National grid operators have said they will need to upgrade a substation near the reservoir \
before the farm can connect, work that could add several months to the timetable.

Construction is due to begin next year, subject to a final environmental review by the regional \
water authority.
"""

# The same story as one outlet runs it: its own header and footer, curly quotes, re-wrapped lines.
WIRE_COPY_WITH_BOILERPLATE = (
    "By Staff Writers | The Coastal Courier\nPublished 6:12 PM, Tue March 3\n\n"
    + WIRE_STORY.replace('"', "\u201d").replace(" - ", " \u2014 ").replace("\n\n", "\n\n\n")
    + "\n\nCopyright 2026 The Coastal Courier. All rights reserved. This material may not be "
    "published, broadcast, rewritten or redistributed.\n\n"
    "Sign up for our Morning Briefing newsletter to get the day's top stories in your inbox.\n\n"
    "Read more: Council tax to rise by 4% as budget gap widens\n"
)


def _edited_copy() -> str:
    """How a regional US outlet republishes it: new headline, US spelling, a few copy-edits, a
    typo fixed, the last paragraph cut, a paragraph of its own, and its own boilerplate."""
    text = WIRE_STORY
    text = text.replace(
        "Harbour town approves Europe's largest floating solar farm",
        "Seaside town OKs huge floating solar project",
    )
    for uk, us in (
        ("Harbour", "Harbor"),
        ("Councillors", "Council members"),
        ("spring of", "spring"),
    ):
        text = text.replace(uk, us)
    text = text.replace("said council leader", "said Council Leader")
    text = text.replace("about 14,000 homes", "some 14,000 households")
    text = text.replace("wintering ducks", "wintering waterfowl")
    text = text.replace("reservoir", "resevoir", 1)  # the typo one version carries
    paragraphs = text.strip().split("\n\n")
    paragraphs = paragraphs[:-1]  # the outlet cut the final paragraph
    paragraphs.insert(
        5,
        "Floating solar has been proposed for several reservoirs in our region as well, though "
        "none has yet reached the planning stage, according to state energy officials.",
    )
    return (
        "The Lakeshore Ledger\n\n"
        + "\n\n".join(paragraphs)
        + "\n\nReporting by Tidewater Wire Service; additional reporting by Ledger staff.\n\n"
        "Related:\n- City weighs new bus routes\n- High school robotics team heads to finals\n"
    )


EDITED_COPY = _edited_copy()

# A different story on the same topic: same vocabulary, different facts and sentences.
SAME_TOPIC_STORY = """\
Floating solar plan for Lake Marrow rejected after residents object

MARROWFORD - Plans for a floating solar farm on Lake Marrow were rejected on Thursday after \
planning officers sided with residents who said the panels would spoil one of the region's best \
known views.

The proposal, from the energy company Brightwell Power, would have covered about a fifth of the \
lake with 30,000 panels, producing 15 megawatts, enough for roughly 4,500 homes.

Planning officers said in their report that the scheme's benefits did not outweigh the harm to \
the landscape, and that the company had not shown how it would protect nesting grebes on the lake.

"We are disappointed but not surprised," a Brightwell spokeswoman said. "We will study the \
decision carefully before deciding whether to appeal."

More than 600 residents had written to the council to object, and a petition against the plan \
gathered 2,400 signatures in a month. Supporters, including a local climate group, argued that \
the town needed cheaper and cleaner electricity and that the panels would barely be visible from \
the shore.

Floating solar farms are cheaper to build than many rooftop schemes, but they have faced \
opposition from anglers, sailing clubs and wildlife groups across Europe.

The company has six months to lodge an appeal with the national planning inspectorate. A decision \
on a second site, a former gravel pit north of the town, is expected in the autumn.
"""


# --- content_hash / normalize_text ----------------------------------------------------------


def test_exact_copies_differing_only_in_typography_share_content_hash() -> None:
    variant = "  " + WIRE_STORY.replace('"', "\u201c").replace("'", "\u2019").replace(
        " - ", " \u2014 "
    )
    variant = variant.replace("\n\n", "\r\n\r\n").replace(" ", "  ").upper()
    # Same story with NBSPs and full-width digits, as some CMSs produce.
    variant = variant.replace("48-", "\uff14\uff18-").replace(" homes", "\u00a0homes")
    assert content_hash(variant) == content_hash(WIRE_STORY)


def test_content_hash_is_hex_sha256_of_normalized_text() -> None:
    digest = content_hash(WIRE_STORY)
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert content_hash(EDITED_COPY) != digest
    assert content_hash(WIRE_STORY + " Extra.") != digest


def test_normalize_text_unifies_quotes_dashes_whitespace_and_case() -> None:
    assert normalize_text("  \u201cHello\u201d \u2014  \u2018World\u2019\u2026\n\tOK ") == (
        "\"hello\" - 'world'... ok"
    )
    assert normalize_text("soft\u00adhyphen zero\u200bwidth") == "softhyphen zerowidth"
    assert normalize_text("STRASSE Straße") == "strasse strasse"


def test_normalize_text_is_idempotent() -> None:
    for text in (WIRE_STORY, EDITED_COPY, "\u01c5 \ufb01 \u2460 \u00bd \u0390 \u1e9e", ""):
        once = normalize_text(text)
        assert normalize_text(once) == once


# --- fingerprint / similarity -----------------------------------------------------------------


def test_fingerprint_shape() -> None:
    result = fingerprint(WIRE_STORY)
    assert isinstance(result, Fingerprint)
    assert len(result.signature) == NUM_PERM * 4
    assert len(result.bands) == BANDS
    assert BANDS * ROWS_PER_BAND <= NUM_PERM
    for index, key in enumerate(result.bands):
        assert re.fullmatch(rf"{index}:[0-9a-f]{{16}}", key)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.bands = ()  # type: ignore[misc]


@pytest.mark.parametrize(
    "copy", [WIRE_COPY_WITH_BOILERPLATE, EDITED_COPY], ids=["wire-copy", "edited-copy"]
)
def test_syndicated_copies_are_found_and_grouped(copy: str) -> None:
    original, republished = fingerprint(WIRE_STORY), fingerprint(copy)
    # The store finds candidates by equal band keys, so at least one must match...
    assert set(original.bands) & set(republished.bands)
    # ...and then the copy joins the original's group.
    assert similarity(original.signature, republished.signature) >= NEAR_DUPLICATE_THRESHOLD


def test_copies_of_the_same_story_match_each_other() -> None:
    wire, edited = fingerprint(WIRE_COPY_WITH_BOILERPLATE), fingerprint(EDITED_COPY)
    assert similarity(wire.signature, edited.signature) >= NEAR_DUPLICATE_THRESHOLD


def test_same_topic_different_story_stays_apart() -> None:
    story = fingerprint(SAME_TOPIC_STORY)
    for text in (WIRE_STORY, WIRE_COPY_WITH_BOILERPLATE, EDITED_COPY):
        other = fingerprint(text)
        assert similarity(story.signature, other.signature) < NEAR_DUPLICATE_THRESHOLD
        # Far below, not just under: different stories share only stock phrases.
        assert similarity(story.signature, other.signature) < 0.15


def test_similarity_estimates_jaccard() -> None:
    a = fingerprint(WIRE_STORY).signature
    assert similarity(a, a) == 1.0
    assert similarity(a, fingerprint("an entirely unrelated sentence about cats").signature) < 0.05
    value = similarity(a, fingerprint(EDITED_COPY).signature)
    assert 0.0 <= value <= 1.0


def test_similarity_rejects_signatures_of_another_size() -> None:
    a = fingerprint(WIRE_STORY).signature
    with pytest.raises(StoreError, match="508 bytes, expected 512") as raised:
        similarity(a, a[:-4])
    assert "re-index" in raised.value.one_line()
    with pytest.raises(StoreError):
        similarity(b"", b"")


def test_fingerprint_ignores_typography_like_content_hash() -> None:
    variant = WIRE_STORY.replace('"', "\u201c").replace(" - ", " \u2014 ").upper()
    assert fingerprint(variant) == fingerprint(WIRE_STORY)


# --- short, empty and long texts ----------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   \n\t", "...", "Hi", "Two words", "Three short words"])
def test_short_and_empty_texts_get_valid_fingerprints(text: str) -> None:
    result = fingerprint(text)
    assert len(result.signature) == NUM_PERM * 4
    assert len(result.bands) == BANDS
    assert similarity(result.signature, result.signature) == 1.0


def test_short_texts_are_told_apart() -> None:
    assert fingerprint("") == fingerprint("  \n ")  # like their content_hash, both are empty
    assert fingerprint("Hi") == fingerprint("hi!")
    short = [fingerprint(t) for t in ("", "Hi", "Bye", "Two words", "Three short words")]
    for i, left in enumerate(short):
        for right in short[i + 1 :]:
            assert similarity(left.signature, right.signature) < 0.1
            assert not set(left.bands) & set(right.bands)


def test_long_text_spanning_several_chunks() -> None:
    words = [f"w{i % 7919}x{i % 104729}" for i in range(12_000)]  # > 4096 shingles per chunk
    text = " ".join(words)
    extended = text + " and a closing sentence added by another outlet"
    assert similarity(fingerprint(text).signature, fingerprint(extended).signature) > 0.95
    # The chunked minimum equals the minimum over all shingles at once.
    shingles = dedup._shingle_hashes(text)
    direct = ((shingles[None, :] * dedup._PERM_A + dedup._PERM_B).min(axis=1) >> 32).astype("<u4")
    assert direct.tobytes() == fingerprint(text).signature


# --- determinism --------------------------------------------------------------------------------


def test_fingerprint_is_the_same_in_another_process() -> None:
    script = (
        "import sys; from citewire.dedup import fingerprint, content_hash\n"
        "text = sys.stdin.read()\n"
        "f = fingerprint(text)\n"
        "print(f.signature.hex()); print(','.join(f.bands)); print(content_hash(text))\n"
    )
    # A different hash seed: the result must not depend on Python's salted hash().
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    completed = subprocess.run(
        [sys.executable, "-c", script],
        input=EDITED_COPY,
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=60,
    )
    signature_hex, bands, digest = completed.stdout.split("\n")[:3]
    here = fingerprint(EDITED_COPY)
    assert signature_hex == here.signature.hex()
    assert bands.split(",") == list(here.bands)
    assert digest == content_hash(EDITED_COPY)


def test_fingerprint_is_pinned() -> None:
    # Stored fingerprints must keep matching new ones: a change here means every stored article
    # needs re-fingerprinting (see _SEED in dedup.py). Update the pin only deliberately.
    assert fingerprint("").bands[0] == PINNED_EMPTY_BAND_0
    assert fingerprint(WIRE_STORY).bands[:2] == PINNED_WIRE_BANDS


PINNED_EMPTY_BAND_0 = "0:122c75f8ff787075"
PINNED_WIRE_BANDS = ("0:34b8f05872a8a890", "1:716419aa378d4036")
