"""`citewire audit` end to end on real news, with ground truth built by perturbation.

Index: the RealTime QA index built by ``python bench/bench_ingest.py realtimeqa`` (read only:
every audit runs with ``save=False``). Claims (sentences of 12-40 words, drawn with a fixed seed,
one per article, each article used once):

1. verbatim       a sentence of an indexed article                         -> supported
2. number         the same with one number changed, format kept (40 -> 55)   -> contradicted
3. negation       the same with a negation inserted or removed               -> contradicted
                  ("said" -> "did not say", "will" -> "will not", "isn't" -> "is")
4. bbc            a sentence of a BBC article (2004-2005, not indexed)       -> not supported
5. entity_swap    a verbatim sentence with one person or place name replaced by one of the
                  same kind from another article                            -> not supported

Claims are shuffled into answers of ten in the shape of ../shared/examples/seed-answer.txt (a
question line, paragraphs, a References list holding some indexed articles' URLs -- as listed,
with tracking parameters, with a fragment -- and some made-up ones), audited with
``engine.audit(text, save=False)`` so the parser runs too, and each output claim is mapped back
to its ground truth by text. Speed baseline, measured in the same run right after each audit:
``engine.search(claim, k=6)`` alone for each claim of the answer.

    python bench/bench_audit.py                        # --per-category 80, ~10 min here
    python bench/bench_audit.py --per-category 10      # a quick look
    python bench/bench_audit.py --judge local --judge-claims 30

Per-claim details: bench/out/audit_claims.json.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from _util import DATA, OUT, command_line, peak_rss_mib, percentile
from citewire.chunk import split_sentences
from citewire.engine import Engine
from citewire.models import Article, Audit, ClaimLabel
from citewire.verify import Judge

CATEGORIES = ("verbatim", "number", "negation", "bbc", "entity_swap")
EXPECTED = {
    "verbatim": "supported",
    "number": "contradicted",
    "negation": "contradicted",
    "bbc": "not supported",
    "entity_swap": "not supported",
}
MIN_WORDS, MAX_WORDS = 12, 40
CLAIMS_PER_ANSWER = 10
SEARCH_K = 6  # audit.CLAIM_SEARCH_K: the baseline searches as deep as the audit does
URL_VARIANTS = ("as listed", "tracking parameters", "fragment")

# --- drawing sentences -------------------------------------------------------------------------
# Characters the answer parser reads as markup ([n] markers, emphasis, headings, tables), and
# the URL-encoding debris of some USA Today pages: such sentences would test the parser's
# markup handling, not the verifier.
_UNUSABLE = re.compile(r"[\[\]*_#|<>\n?]|%2|%3|https?://|www\.")
_SENTENCE_OPENING = re.compile(r"^[\"“]?[A-Z]")
_SENTENCE_CLOSE = re.compile(r"[.!][\"”’']?$")


def usable_sentences(text: str) -> list[str]:
    out = []
    for start, end in split_sentences(text):
        sentence = text[start:end]
        if not MIN_WORDS <= len(sentence.split()) <= MAX_WORDS:
            continue
        if _UNUSABLE.search(sentence) or not _SENTENCE_OPENING.match(sentence):
            continue
        if _SENTENCE_CLOSE.search(sentence):
            out.append(" ".join(sentence.split()))
    return out


# --- 2. numbers --------------------------------------------------------------------------------
# Digits only (spelled-out numbers are left alone); not part of a word, code, time or decimal
# run; not a year (1900-2100 reads as a date); not an ordinal ("3rd" fails the look-ahead).
_NUMBER = re.compile(r"(?<![\w./:,-])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(?![\w/:]|[.,]\d)")


def change_number(sentence: str, source_text: str, rng: random.Random) -> str | None:
    candidates = []
    for match in _NUMBER.finditer(sentence):
        whole = match.group(0)
        value = float(whole.replace(",", ""))
        is_year = not match.group(2) and "," not in whole and 1900 <= value <= 2100
        if value == 0 or is_year:
            continue
        candidates.append(match)
    if not candidates:
        return None
    match = rng.choice(candidates)
    for _ in range(20):
        new = _other_number(match.group(0), match.group(2), rng)
        as_token = re.compile(rf"(?<![\d,.]){re.escape(new)}(?![\d]|,\d)")
        if new != match.group(0) and not as_token.search(source_text):
            return sentence[: match.start()] + new + sentence[match.end() :]
    return None


def _other_number(text: str, decimals: str | None, rng: random.Random) -> str:
    value = float(text.replace(",", ""))
    if decimals:
        places = len(decimals)
        new_value = round(value * rng.choice((0.5, 0.6, 0.7, 1.3, 1.4, 1.6)), places)
        return f"{new_value:,.{places}f}" if "," in text else f"{new_value:.{places}f}"
    whole = int(value)
    if whole < 10:
        return str(rng.choice([n for n in range(2, 10) if n != whole]))
    digits = text.replace(",", "")
    step = 10 ** min(len(digits) - len(digits.rstrip("0")), len(digits) - 1)  # keep roundness
    new_whole = round(whole * rng.choice((0.5, 0.6, 0.7, 1.3, 1.4, 1.6)) / step) * step
    new_whole = max(step, new_whole if new_whole != whole else whole + step)
    return f"{new_whole:,}" if "," in text else str(new_whole)


# --- 3. negation -------------------------------------------------------------------------------
_REMOVE = [
    (r"\b(is|was|are|were|will|would|could|should|does|did|has|have|had|can) not\b", r"\1"),
    (r"\bcannot\b", "can"),
    (r"\bwon't\b", "will"),
    (r"\bcan't\b", "can"),
    (r"\b(is|was|are|were|does|did|do|has|have|had|would|could|should)n[’']t\b", r"\1"),
]
_INSERT = [
    (r"(?<=\s)said(?=\s)", "did not say"),
    (r"(?<=\s)says(?=\s)", "does not say"),
    (r"(?<=\s)(will|is|was|are|were)(?=\s)(?!\s+(?:not|never|no)\b)", r"\1 not"),
]


def flip_negation(sentence: str, rng: random.Random) -> tuple[str, str] | None:
    """(sentence with the first negation removed, or one inserted; "removed" | "inserted")."""
    options = []
    for pattern, repl in _REMOVE:
        match = re.search(pattern, sentence)
        if match:
            options.append((match, repl, "removed"))
    if not options:
        for pattern, repl in _INSERT:
            match = re.search(pattern, sentence)
            if match:
                options.append((match, repl, "inserted"))
    if not options:
        return None
    match, repl, how = min(options, key=lambda o: o[0].start())  # the first one in the sentence
    new = sentence[: match.start()] + match.expand(repl) + sentence[match.end() :]
    return new, how


# --- 5. entity swap ----------------------------------------------------------------------------
PLACES = frozenset(
    """Afghanistan Albania Algeria Argentina Armenia Australia Austria Azerbaijan Bahrain
    Bangladesh Belarus Belgium Bolivia Bosnia Brazil Bulgaria Cambodia Cameroon Canada Chile
    China Colombia Croatia Cuba Cyprus Denmark Ecuador Egypt Estonia Ethiopia Finland France
    Georgia Germany Ghana Greece Guatemala Haiti Honduras Hungary Iceland India Indonesia Iran
    Iraq Ireland Israel Italy Jamaica Japan Jordan Kazakhstan Kenya Kosovo Kuwait Latvia Lebanon
    Libya Lithuania Luxembourg Malaysia Mali Mexico Moldova Mongolia Morocco Mozambique Myanmar
    Nepal Netherlands Nicaragua Niger Nigeria Norway Oman Pakistan Panama Paraguay Peru
    Philippines Poland Portugal Qatar Romania Russia Rwanda Scotland Senegal Serbia Singapore
    Slovakia Slovenia Somalia Spain Sudan Sweden Switzerland Syria Taiwan Tanzania Thailand
    Tunisia Turkey Uganda Ukraine Uruguay Venezuela Vietnam Wales Yemen Zambia Zimbabwe
    Alabama Alaska Arizona Arkansas California Colorado Connecticut Delaware Florida Hawaii
    Idaho Illinois Indiana Iowa Kansas Kentucky Louisiana Maine Maryland Massachusetts Michigan
    Minnesota Mississippi Missouri Montana Nebraska Nevada Ohio Oklahoma Oregon Pennsylvania
    Tennessee Texas Utah Vermont Virginia Washington Wisconsin Wyoming Atlanta Baltimore Beijing
    Berlin Boston Brussels Chicago Dallas Denver Detroit Houston Istanbul Jerusalem Kabul Kyiv
    London Madrid Miami Moscow Mumbai Nashville Paris Philadelphia Phoenix Rome Seattle Seoul
    Sydney Tehran Tokyo Toronto""".split()
) | {
    "New York",
    "New Jersey",
    "New Mexico",
    "New Hampshire",
    "North Carolina",
    "South Carolina",
    "North Dakota",
    "South Dakota",
    "West Virginia",
    "Rhode Island",
    "Los Angeles",
    "San Francisco",
    "San Diego",
    "Las Vegas",
    "New Orleans",
    "South Africa",
    "South Korea",
    "North Korea",
    "Saudi Arabia",
    "New Zealand",
    "Hong Kong",
}
# Words that make a two-word capitalised run something other than a person's name.
_NOT_PERSON = frozenset(
    """The A An And Of In On At For To By With From This That These Those It He She They We I
    Mr Mrs Ms Dr Sen Rep Gov President Senator Governor Judge Justice Minister Secretary Prime
    Officer Chief General Gen Capt Coach Pope King Queen Prince Princess Lord Lady Saint St
    Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March April May
    June July August September October November December North South East West New Old Great
    United American British Republican Democratic Democrat Republicans Democrats House Senate
    Congress Court Supreme Federal National State County City Department University College
    School Center Centre Party Committee Council Association Company Corp Inc Group News Times
    Post Journal Street Avenue Road Park Bay River Lake Mountain Island Valley Beach Club League
    Cup Award Awards Festival Day Week Year Church Hospital Police Army Navy Air Force Bank Fund
    Institute Foundation Office Agency Service Board Commission Health Security Museum Black White
    Green Red Blue Covid Coronavirus Twitter Facebook Instagram Google Apple Amazon Netflix TV
    Olympic Olympics Super Bowl World Series Open Championship Games Game Season""".split()
)
_NAME_RUN = re.compile(r"(?<![\w'’-])([A-Z][a-z]+(?:[ ][A-Z][a-z]+)?)(?![\w'’-])")


@dataclass(frozen=True)
class Name:
    text: str
    kind: str  # "person" | "place"


def names_in(sentence: str, article_text: str) -> list[tuple[re.Match[str], Name]]:
    """Places from the gazetteer, and two-word capitalised runs that look like a person: neither
    word a title, month, organisation word or place, and the surname used alone elsewhere in the
    article (how news refers to a person the second time)."""
    found = []
    for match in _NAME_RUN.finditer(sentence):
        run = match.group(1)
        words = run.split()
        if run in PLACES:
            found.append((match, Name(run, "place")))
        elif (
            len(words) == 2
            and not any(w in _NOT_PERSON or w in PLACES for w in words)
            and len(re.findall(rf"\b{words[1]}\b", article_text)) >= 2
        ):
            found.append((match, Name(run, "person")))
    return found


def swap_entity(
    sentence: str,
    article_text: str,
    pool: dict[str, list[tuple[str, str]]],
    group: str,
    rng: random.Random,
) -> tuple[str, dict[str, str]] | None:
    candidates = names_in(sentence, article_text)
    if not candidates:
        return None
    match, name = rng.choice(candidates)
    for _ in range(30):
        other, other_group = rng.choice(pool[name.kind])
        if other_group == group or any(
            re.search(rf"\b{re.escape(w)}\b", article_text) for w in other.split()
        ):
            continue
        swapped = sentence[: match.start()] + other + sentence[match.end() :]
        where = "sentence start" if match.start() <= 1 else "inside"
        return swapped, {"name": name.text, "replaced_by": other, "kind": name.kind, "at": where}
    return None


# --- ground truth and answers ------------------------------------------------------------------
@dataclass
class Item:
    category: str
    text: str
    original: str | None = None  # the verbatim sentence it was made from
    article_id: str | None = None  # the indexed article it came from (None for bbc)
    source: str | None = None  # bbc doc_id
    detail: dict[str, str] = field(default_factory=dict)
    # filled by the audit
    label: str | None = None
    mapped: str | None = None  # "exact" | "part" | None (the parser did not return it alone)
    reasons: list[str] = field(default_factory=list)
    evidence: str | None = None
    check: str | None = None
    score: float = 0.0


def draw_items(
    articles: Sequence[Article], bbc: Sequence[dict[str, str]], per_category: int, seed: int
) -> list[Item]:
    rng = random.Random(seed)
    canonical = [a for a in articles if a.id == a.group_id and a.text]
    # A sentence that several articles share (bylines, newsletter plugs) says nothing specific.
    by_article = {a.id: usable_sentences(a.text) for a in canonical}
    counts = Counter(s for sentences in by_article.values() for s in set(sentences))
    pool: dict[str, list[tuple[str, str]]] = {"person": [], "place": []}
    sentences_of: dict[str, list[str]] = {}
    for article in canonical:
        sentences_of[article.id] = [s for s in by_article[article.id] if counts[s] == 1]
        for sentence in sentences_of[article.id]:
            for _match, name in names_in(sentence, article.text):
                pool[name.kind].append((name.text, article.group_id))
    order = list(canonical)
    rng.shuffle(order)
    wanted = {c: per_category for c in CATEGORIES if c != "bbc"}
    items: list[Item] = []
    for article in order:
        if not any(wanted.values()):
            break
        sentences = list(sentences_of[article.id])
        rng.shuffle(sentences)
        # The scarcest perturbations first, so every category fills.
        for category in ("entity_swap", "negation", "number", "verbatim"):
            if not wanted[category]:
                continue
            item = _make(category, sentences, article, pool, rng)
            if item is not None:
                items.append(item)
                wanted[category] -= 1
                break
    short = {c: n for c, n in wanted.items() if n}
    if short:
        print(f"note: too few sentences for {short}", file=sys.stderr)
    bbc_rng = random.Random(seed + 1)
    shuffled = [r for r in bbc if not r.get("exact_duplicate_of")]
    bbc_rng.shuffle(shuffled)
    drawn = 0
    for record in shuffled:
        if drawn == per_category:
            break
        sentences = usable_sentences(record["text"])
        if sentences:
            sentence = bbc_rng.choice(sentences)
            items.append(Item("bbc", sentence, source=record["doc_id"]))
            drawn += 1
    return items


def _make(
    category: str,
    sentences: Sequence[str],
    article: Article,
    pool: dict[str, list[tuple[str, str]]],
    rng: random.Random,
) -> Item | None:
    for sentence in sentences:
        base = Item(category, sentence, original=sentence, article_id=article.id)
        if category == "verbatim":
            return base
        if category == "number":
            changed = change_number(sentence, article.text, rng)
            if changed:
                base.text = changed
                return base
        elif category == "negation":
            flipped = flip_negation(sentence, rng)
            if flipped:
                base.text, how = flipped
                base.detail = {"negation": how}
                return base
        elif category == "entity_swap":
            swapped = swap_entity(sentence, article.text, pool, article.group_id, rng)
            if swapped:
                base.text, base.detail = swapped
                return base
    return None


@dataclass
class Ref:
    line: str
    expected_id: str | None  # None: made up, must not be found
    variant: str
    found_id: str | None = None
    matched_by: str | None = None


def _clean_title(title: str) -> str:
    return re.sub(r"[\"“”\[\]*_#]", "", title).strip() or "Untitled"


def build_answer(
    items: Sequence[Item],
    articles: dict[str, Article],
    bbc_titles: Sequence[str],
    decoy_hosts: Sequence[str],
    rng: random.Random,
    variant_counter: list[int],
) -> tuple[str, list[Ref]]:
    sources = [articles[i.article_id] for i in items if i.article_id]
    topic = _clean_title(sources[0].title) if sources and sources[0].title else "the news"
    question = f"What do the reports say about {topic.rstrip('?.!')}?"
    sizes = (3, 3, len(items) - 6) if len(items) > 6 else (len(items),)
    paragraphs, start = [], 0
    for size in sizes:
        paragraphs.append(" ".join(i.text for i in items[start : start + size]))
        start += size
    refs: list[Ref] = []
    seen: set[str] = set()
    for article in sources:
        if len(refs) == 3:
            break
        if not article.url or article.id in seen:
            continue
        seen.add(article.id)
        variant = URL_VARIANTS[variant_counter[0] % len(URL_VARIANTS)]
        variant_counter[0] += 1
        url = article.url
        if variant == "tracking parameters":
            joiner = "&" if "?" in url else "?"
            url += f"{joiner}utm_source=twitter&utm_medium=social"
        elif variant == "fragment":
            url += "#comments"
        line = f'- {article.outlet or "News"}, "{_clean_title(article.title or "")}" {url}'
        refs.append(Ref(line, article.id, variant))
    for n, host in enumerate(rng.sample(list(decoy_hosts), 2)):
        title = _clean_title(rng.choice(bbc_titles))
        slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
        url = f"https://{host}/story/news/2022/0{n + 3}/1{n}/{slug}/{rng.randrange(10**7, 10**8)}/"
        refs.append(Ref(f'- {host}, "{title}" {url}', None, "made up"))
    rng.shuffle(refs)
    text = "\n".join([question, *paragraphs, "References", *(r.line for r in refs)]) + "\n"
    return text, refs


# --- running -----------------------------------------------------------------------------------
def _norm(text: str) -> str:
    return " ".join(text.split())


_RANK = {ClaimLabel.SUPPORTED: 0, ClaimLabel.CONTRADICTED: 1, ClaimLabel.NOT_FOUND: 2}
_RANK[ClaimLabel.OPINION] = 3


def record(audit: Audit, items: Sequence[Item], refs: Sequence[Ref]) -> int:
    """Copy each claim's label onto its item; returns how many claims matched no item."""
    by_text = {_norm(i.text): i for i in items}
    unmatched = 0
    for claim in audit.claims:
        text = _norm(claim.text)
        item = by_text.get(text)
        how = "exact"
        if item is None:  # the parser split a sentence in two: the part carries the label
            item = next((i for i in items if text in _norm(i.text)), None)
            how = "part"
        if item is None:
            unmatched += 1
            continue
        # A sentence the parser split in parts: a perturbed sentence takes the label of the
        # part that holds the change (its other parts are verbatim and rightly supported);
        # otherwise the strongest label of its parts counts (any supported part is support).
        perturbed = item.original is not None and item.original != item.text
        if how == "part" and perturbed and text in _norm(item.original or ""):
            continue
        if item.label is not None and _RANK[item.label] <= _RANK[claim.label]:
            continue
        item.label, item.mapped = claim.label, how
        if how == "part":
            item.detail = {**item.detail, "split by the parser": "yes"}
        item.reasons = list(claim.reasons)
        if claim.evidence:
            item.evidence = claim.evidence[0].citation.quote
            item.check = claim.evidence[0].check.layer
        item.score = claim.score
    for ref, audited in zip(refs, _in_listed_order(audit, refs), strict=True):
        ref.found_id, ref.matched_by = audited
    return unmatched


def _in_listed_order(audit: Audit, refs: Sequence[Ref]) -> list[tuple[str | None, str | None]]:
    by_text = {_norm(r.text): (r.article_id, r.matched_by) for r in audit.references}
    return [by_text.get(_norm(ref.line.lstrip("- ")), (None, "missing")) for ref in refs]


def run(
    engine: Engine,
    items: Sequence[Item],
    articles: dict[str, Article],
    bbc_titles: Sequence[str],
    decoy_hosts: Sequence[str],
    seed: int,
    judge: Judge | None = None,
    progress: bool = True,
) -> dict[str, object]:
    rng = random.Random(seed)
    order = list(items)
    rng.shuffle(order)
    variant_counter = [0]
    audit_s: list[float] = []
    search_s: list[float] = []  # per answer: the searches alone
    per_claim_search: list[float] = []
    claims_audited = unmatched = 0
    refs_all: list[Ref] = []
    answers = [order[i : i + CLAIMS_PER_ANSWER] for i in range(0, len(order), CLAIMS_PER_ANSWER)]
    for number, chunk in enumerate(answers, start=1):
        text, refs = build_answer(chunk, articles, bbc_titles, decoy_hosts, rng, variant_counter)
        started = time.perf_counter()
        audit = engine.audit(text, save=False, judge=judge)
        audit_s.append(time.perf_counter() - started)
        claims_audited += len(audit.claims)
        unmatched += record(audit, chunk, refs)
        refs_all += refs
        searched = 0.0
        for item in chunk:
            started = time.perf_counter()
            engine.search(item.text, k=SEARCH_K)
            elapsed = time.perf_counter() - started
            per_claim_search.append(elapsed)
            searched += elapsed
        search_s.append(searched)
        if progress and (number % 10 == 0 or number == len(answers)):
            print(
                f"  .. {number}/{len(answers)} answers, {sum(audit_s):.0f} s auditing",
                file=sys.stderr,
                flush=True,
            )
    return {
        "audit_s": audit_s,
        "search_s": search_s,
        "per_claim_search": per_claim_search,
        "claims_audited": claims_audited,
        "unmatched_claims": unmatched,
        "refs": refs_all,
        "answers": len(answers),
    }


# --- reporting ---------------------------------------------------------------------------------
def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return float("nan"), float("nan")
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def share(k: int, n: int) -> str:
    if n == 0:
        return "n/a"
    low, high = wilson(k, n)
    return f"{k / n:.1%} ({k}/{n}; 95% CI {low:.0%}-{high:.0%})"


def label_table(items: Sequence[Item], title: str) -> list[str]:
    lines = [
        f"{title}",
        "| category | expected | n | supported | contradicted | not_found | opinion | no claim |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for category in CATEGORIES:
        group = [i for i in items if i.category == category]
        if not group:
            continue
        counts = Counter(i.label for i in group)
        cells = [
            f"{counts[label] / len(group):.1%}"
            for label in (*ClaimLabel.ALL[:2], ClaimLabel.NOT_FOUND, ClaimLabel.OPINION, None)
        ]
        lines.append(
            f"| {category} | {EXPECTED[category]} | {len(group)} | " + " | ".join(cells) + " |"
        )
    return lines


def headline(items: Sequence[Item]) -> list[str]:
    def of(*categories: str) -> list[Item]:
        return [i for i in items if i.category in categories]

    def count(group: Iterable[Item], label: str) -> int:
        return sum(1 for i in group if i.label == label)

    lines = ["| figure | value |", "| --- | --- |"]
    verbatim = of("verbatim")
    lines.append(
        f"| supported recall (verbatim) | {share(count(verbatim, 'supported'), len(verbatim))} |"
    )
    for category in ("number", "negation"):
        group = of(category)
        lines.append(
            f"| contradiction detection ({category}) | "
            f"{share(count(group, 'contradicted'), len(group))} |"
        )
        lines.append(
            f"| ... not supported at all ({category}) | "
            f"{share(len(group) - count(group, 'supported'), len(group))} |"
        )
    for category in ("bbc", "entity_swap"):
        group = of(category)
        lines.append(
            f"| **false support rate** ({category}) | "
            f"{share(count(group, 'supported'), len(group))} |"
        )
    both = of("bbc", "entity_swap")
    lines.append(
        f"| **false support rate** (bbc + entity_swap) | "
        f"{share(count(both, 'supported'), len(both))} |"
    )
    return lines


def breakdowns(items: Sequence[Item]) -> list[str]:
    lines = []
    for category, key in (("negation", "negation"), ("entity_swap", "at"), ("entity_swap", "kind")):
        groups: dict[str, list[Item]] = {}
        for item in items:
            if item.category == category:
                groups.setdefault(item.detail.get(key, "?"), []).append(item)
        parts = []
        for value, group in sorted(groups.items()):
            counts = Counter(i.label for i in group)
            shown = ", ".join(f"{label} {n}" for label, n in counts.most_common())
            parts.append(f"{value} (n={len(group)}): {shown}")
        lines.append(f"{category} by {key}: " + "; ".join(parts))
    layers = Counter((i.category, i.check) for i in items if i.label == "supported")
    lines.append(
        "check that decided each wrongly or rightly supported claim: "
        + ", ".join(f"{c}/{layer}: {n}" for (c, layer), n in sorted(layers.items(), key=str))
    )
    return lines


def reference_lines(refs: Sequence[Ref]) -> list[str]:
    lines = ["| references | n | outcome |", "| --- | --- | --- |"]
    for variant in URL_VARIANTS:
        group = [r for r in refs if r.variant == variant]
        by_url = sum(1 for r in group if r.found_id == r.expected_id and r.matched_by == "url")
        by_title = sum(1 for r in group if r.found_id == r.expected_id and r.matched_by == "title")
        lines.append(
            f"| indexed, URL {variant} | {len(group)} | found by URL {share(by_url, len(group))}"
            f"; by title {by_title} |"
        )
    made_up = [r for r in refs if r.expected_id is None]
    right = sum(1 for r in made_up if r.found_id is None)
    lines.append(
        f"| made up (URL and title) | {len(made_up)} | not found {share(right, len(made_up))} |"
    )
    indexed = [r for r in refs if r.expected_id is not None]
    correct = sum(1 for r in indexed if r.found_id == r.expected_id) + right
    lines.append(f"| all | {len(refs)} | matched correctly {share(correct, len(refs))} |")
    return lines


def speed_lines(result: dict[str, object], n_items: int) -> list[str]:
    audit_s: list[float] = result["audit_s"]  # type: ignore[assignment]
    search_s: list[float] = result["search_s"]  # type: ignore[assignment]
    per_claim: list[float] = result["per_claim_search"]  # type: ignore[assignment]
    total_audit, total_search = sum(audit_s), sum(search_s)
    ratios = [a / s for a, s in zip(audit_s, search_s, strict=True) if s > 0]
    return [
        "| speed | audit | baseline: search(claim, k=6) alone | ratio |",
        "| --- | --- | --- | --- |",
        f"| claims/s | {n_items / total_audit:.2f} | {n_items / total_search:.2f} | "
        f"{total_search / total_audit:.3f} |",
        f"| s per answer (≤ 10 claims), p50 | {percentile(audit_s, 50):.2f} | "
        f"{percentile(search_s, 50):.2f} | {percentile(ratios, 50):.1f}× (per-answer p50) |",
        f"| s per answer (≤ 10 claims), p95 | {percentile(audit_s, 95):.2f} | "
        f"{percentile(search_s, 95):.2f} | {percentile(ratios, 95):.1f}× (per-answer p95) |",
        f"| ms per claim, mean | {total_audit / n_items * 1000:.0f} | "
        f"{statistics.fmean(per_claim) * 1000:.0f} | {total_audit / total_search:.1f}× |",
    ]


def misclassified(items: Sequence[Item], per_category: int = 3) -> list[str]:
    lines = []
    for category in CATEGORIES:
        expected = EXPECTED[category]
        wrong = [
            i
            for i in items
            if i.category == category
            and (
                i.label != expected
                if expected != "not supported"
                else i.label == ClaimLabel.SUPPORTED
            )
        ]
        for item in wrong[:per_category]:
            lines.append(f"[{category} -> {item.label}] {item.text}")
            if item.original and item.original != item.text:
                lines.append(f"    original: {item.original}")
            if item.detail:
                lines.append(f"    detail: {item.detail}")
            if item.evidence:
                lines.append(f"    evidence ({item.check}, {item.score:.2f}): {item.evidence}")
            if item.reasons:
                lines.append(f"    reasons: {'; '.join(item.reasons)}")
    return lines


def stratified(items: Sequence[Item], total: int, seed: int) -> list[Item]:
    rng = random.Random(seed)
    per = max(1, total // len(CATEGORIES))
    out = []
    for category in CATEGORIES:
        group = [i for i in items if i.category == category]
        out += rng.sample(group, min(per, len(group)))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--home", type=Path, default=OUT / "realtimeqa")
    parser.add_argument("--bbc", type=Path, default=DATA / "bbc_news" / "articles.jsonl")
    parser.add_argument("--per-category", type=int, default=80, help="claims per category")
    parser.add_argument("--seed", type=int, default=20261129)
    parser.add_argument("--judge", default="none", help="judge spec for a judged sample")
    parser.add_argument("--judge-claims", type=int, default=30, help="size of the judged sample")
    parser.add_argument("--out", type=Path, default=OUT / "audit_claims.json")
    args = parser.parse_args()
    if not (args.home / "index.db").exists():
        parser.error(f"{args.home} holds no index: run `python bench/bench_ingest.py realtimeqa`")
    print(f"command: {command_line()}")
    bbc = [json.loads(line) for line in args.bbc.open()]
    with Engine(home=args.home) as engine:
        started = time.perf_counter()
        all_articles = list(engine.store.iter_articles())
        articles = {a.id: a for a in all_articles}
        items = draw_items(all_articles, bbc, args.per_category, args.seed)
        print(
            f"index: {len(all_articles)} articles; drew {len(items)} claims in "
            f"{time.perf_counter() - started:.1f} s: "
            + ", ".join(f"{c} {n}" for c, n in Counter(i.category for i in items).items())
        )
        bbc_titles = [r["title"] for r in bbc if r.get("title")]
        hosts = {a.url.split("/")[2] for a in all_articles if a.url and "://" in a.url}
        decoy_hosts = sorted(hosts & {"www.usatoday.com", "www.cnn.com", "edition.cnn.com"})
        decoy_hosts += ["news.example.org", "www.dailyherald-online.com"]
        # Warm up: the first search opens the ANN and BM25 caches (~1 s); the first embedding
        # call loads the model. Neither belongs to the figures.
        engine.search("warm up the caches", k=SEARCH_K)
        engine.audit("Why?\nOfficials said the bridge reopened on Monday.\n", save=False)
        started = time.perf_counter()
        result = run(engine, items, articles, bbc_titles, decoy_hosts, args.seed)
        wall = time.perf_counter() - started
        lines = [
            f"no judge: {len(items)} claims in {result['answers']} answers; {wall:.0f} s wall "
            f"(audits + baseline searches); audit output claims {result['claims_audited']}, "
            f"{result['unmatched_claims']} matched no ground truth",
            "",
            *label_table(
                items,
                "labels per category (share of n; 'no claim': the parser returned no claim for it)",
            ),
            "",
            *headline(items),
            "",
            *breakdowns(items),
            "",
            *reference_lines(result["refs"]),  # type: ignore[arg-type]
            "",
            *speed_lines(result, len(items)),
        ]
        print("\n".join(lines), flush=True)
        print("\nmisclassified (up to 3 per category):")
        print("\n".join(misclassified(items)))
        judged: list[Item] = []
        if args.judge.strip().lower() not in ("", "none"):
            from citewire.judge import make_judge

            judge = make_judge(args.judge)
            sample = stratified(items, args.judge_claims, args.seed)
            no_judge = {id(i): i.label for i in sample}
            judged = [
                Item(i.category, i.text, i.original, i.article_id, i.source, dict(i.detail))
                for i in sample
            ]
            result_j = run(engine, judged, articles, bbc_titles, decoy_hosts, args.seed, judge)
            print(f"\njudge {args.judge}: {len(judged)} claims")
            print("\n".join(label_table(judged, "labels per category, judged sample")))
            print("\n".join(headline(judged)))
            same = sum(1 for i, j in zip(sample, judged, strict=True) if no_judge[id(i)] == j.label)
            print(f"same label as without the judge: {same}/{len(judged)}")
            print("\n".join(speed_lines(result_j, len(judged))))
            print("\n".join(misclassified(judged)))
    args.out.write_text(
        json.dumps(
            {
                "command": command_line(),
                "items": [asdict(i) for i in items],
                "judged": [asdict(i) for i in judged],
            },
            indent=1,
        )
    )
    print(f"\nper-claim details: {args.out}")
    print(f"peak RSS {peak_rss_mib():.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
