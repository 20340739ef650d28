"""Split article text into sentences and retrieval passages, as exact character spans.

Everything here returns ``(start, end)`` offsets into the text it was given, never rewritten
text: citations quote ``text[start:end]`` and are re-verified against the stored article later,
so a segmenter that normalises whitespace or quotes (pysbd's ``clean=True``, blingfire) would
break every citation.

Why a rule-based segmenter and not pysbd: on the BBC corpus pysbd costs 11-16 ms per 400-word
article, against an ingest budget of ~3 ms for all of chunking (the embedding model takes
~140 ms per article and everything else must stay under 20% of that). These rules cost
~0.13 ms for the sentences and ~0.2 ms for the passages, sentences included, and differ from
pysbd mainly on quotations, where pysbd is the weaker of the two (see "Known failures" below;
measured by ``bench/bench_chunk.py``). The cascade:

1. Paragraphs. A whitespace run with two or more line breaks is a paragraph break. A single
   line break is judged (``_joins_lines``): it is a break before a bulleted line and between
   lines that look like headlines or separate items, and just whitespace inside hard-wrapped
   prose (next line starts lower-case, previous line ends with a comma, a dash of a dateline,
   a function word or a title such as "Dr.", or most lines of the block do so).
2. Candidates. Inside a paragraph, every whitespace-delimited token that ends in ``. ! ? …``
   (plus any closing quotes and brackets) is a possible sentence end.
3. Each candidate is a boundary unless (``_ends_sentence``): the next word starts lower-case;
   the token is a title ("Mr.", "Sen.", "e.g."); it is an abbreviation, an initial or an
   acronym ("Inc.", "Jan.", "J.", "U.S.", "p.m.") not followed by a word that typically starts
   a sentence ("The", "He", "But"...); it is "No."/"p." before a number; it is a list number;
   or it closes a quotation whose attribution follows (``"Why?" Jones asked.``).
4. Quotations. A split inside an open quotation is suppressed when the quotation closes within
   the paragraph, is short (``_MAX_HELD_QUOTE_WORDS``) and is followed by its attribution, so
   ``"We will not accept it. It is a trap," he said.`` stays one sentence: the attribution
   belongs to every sentence of the quote. A closing quote detached by a space
   (``than ever. " A ruling``) ends the sentence it closes.
5. Passages. Sentences are grouped greedily to about ``target_words`` words, never above
   ``max_words``, breaking early at a paragraph boundary once a passage has half its target.
   A single sentence longer than ``max_words`` is cut at word boundaries into even pieces,
   and a last passage under a quarter of the target joins the one before it if that fits.

Known failures (pinned as strict xfails in ``tests/test_chunk.py``): a sentence that ends in an
abbreviation or a single capital letter before a name stays joined to the next one ("... called
MCI Inc. Bernard Ebbers founded it.", "... starred in Malcolm X. Attallah Shabazz said"); a
sentence opening with a lower-case brand after an abbreviation ("the U.S. iPhone sales") is not
split; a quotation held with its attribution is one sentence even when it holds several. On the
BBC corpus the boundaries differ from pysbd's in ~10% of sentence starts, almost all of them
quotations: pysbd never splits inside a quotation and often splits a closing quote off as a
sentence of its own.
"""

from __future__ import annotations

import itertools
import math
import re
from typing import Final

from citewire.errors import ConfigError

__all__ = ["make_passages", "split_sentences"]


def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


# --- 1. paragraphs ------------------------------------------------------------------------

# Characters Python's str.splitlines() treats as line ends (\r\n counts once, see _LINE_BREAK).
_BREAK_CHARS: Final = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
# From the first line break of a whitespace run to the run's end. Starting on a literal class
# lets the regex engine skip ahead to the next break instead of trying every position.
_BREAK_RUN: Final = re.compile(rf"[{_BREAK_CHARS}]\s*")
_LINE_BREAK: Final = re.compile(rf"\r\n|[{_BREAK_CHARS}]")
# Form feed and the Unicode paragraph separator always end a paragraph, even alone.
_ALWAYS_HARD: Final = ("\x0c", "\u2029")

# A line that starts like a list item: "- ", "• ", "1. ", "2) ", "(a) ".
_BULLET: Final = re.compile(r"(?:[-*•·–—▪►‣◦+]|\(?\d{1,3}[.)]|\([a-zA-Z]\)|[a-z]\))(?=\s)")
# "WASHINGTON (Reuters)" or "LONDON, Jan. 5 (AP)" alone on a line: it belongs to the next line.
_DATELINE_LINE: Final = re.compile(r"[A-Z][A-Z .'’-]*(?:,[\w .]+)?\s*\([\w .&]+\)\s*[-–—:]?")
_LINE_CONTINUES_AFTER: Final = frozenset(",([{-–—/&")
# A hard-wrapped line may end on one of these; a headline or list item almost never does.
_FUNCTION_WORDS: Final = _wordset(
    "a an the of to and or nor but in on at by for with from as that than into onto over "
    "under about after before between its their his her our your my is are was were be "
    "has have had will would could should may might must"
)

# --- 2./3. sentence boundaries -------------------------------------------------------------

_OPENERS: Final = "\"'“‘«([{"
_CLOSERS: Final = "\"'”’»)]}"
_QUOTE_CLOSERS: Final = frozenset("\"'”’»")
# Terminal punctuation plus optional closers, followed by whitespace or the end of the
# paragraph. The word before it is found by walking back (``_token_start``): a pattern that
# also matched the word would be tried at every word of the text, three times slower.
_CANDIDATE: Final = re.compile(r"([.!?…]+)([\"'”’»)\]}]*)(?=\s|\Z)")
_NEXT_TOKEN: Final = re.compile(r"\s+(\S+)")
_WORD: Final = re.compile(r"\S+")
# The word inside a token, past openers, and the character right after it ("A." vs "A").
_LEADING_WORD: Final = re.compile(r"[\"'“‘«(\[{]*([^\W\d_]+)(.?)")
# "U.S", "p.m", "e.g", "Ph.D", "bbc.co.uk": letters with internal periods.
_DOTTED: Final = re.compile(r"[^\W\d_]{1,4}(?:\.[^\W\d_]{1,4})+")
_LIST_MARKER: Final = re.compile(r"\(?(?:\d{1,3}|[a-zA-Z]|[ivxlcIVXLC]{1,5})")

# Never end a sentence: they stand before a name or an example. Compared lower-cased, without
# the final period.
_TITLES: Final = _wordset(
    "mr mrs ms mx messrs mmes dr drs prof profs sen sens rep reps gov lt col maj capt cmdr cdr "
    "adm gen brig sgt cpl pvt rev revd hon pres supt det insp msgr fr rt amb atty asst mt "
    "e.g i.e cf vs v viz approx"
)
# Stand before a number ("No. 10", "p. 5", "Fig. 3"); otherwise ordinary words.
_NUMBER_PREFIXES: Final = _wordset("no nos vol vols p pp fig figs art ch sec para op pt")
# Can end a sentence but usually do not: a boundary only before a typical sentence starter.
_ABBREVIATIONS: Final = _wordset(
    "inc ltd co corp plc llc llp bros cos etc jr sr st ave blvd rd sq dept univ assn est al "
    "govt intl natl"
)
# The same, but only in this capitalisation: as lower-case words they are ordinary
# ("the sun.", "a mass.").
_CASED_ABBREVIATIONS: Final = _wordset(
    "Jan Feb Mar Apr Jun Jul Aug Sep Sept Oct Nov Dec Ft "
    "Ala Ariz Ark Calif Colo Conn Fla Ga Ill Ind Kan Kans Ky Md Mich Minn Mont Neb Nev "
    "Okla Penn Pa Tenn Tex Vt Va Wis Wyo"
)
# Words that typically open a sentence. After an abbreviation ("in the U.S. The ...") they
# mark a boundary; a name or a noun ("U.S. President", "Apple Inc. Chief") does not.
_SENTENCE_STARTERS: Final = _wordset(
    "The A An This That These Those There Their They Them He She It Its His Her We Our Us You "
    "Your I My But And Or Nor So Yet Also However Meanwhile Moreover Furthermore Nevertheless "
    "Still Then Now Thus Therefore Hence Instead Indeed In On At By For From With Without To "
    "Of As If When While Whereas Where What Which Who Whom Whose Why How After Before Since "
    "Until During Although Though Because Despite Unless Once Some Many Most Several Few All "
    "Both Each Every Other Others Another Such No Not Neither Either Last Next First Earlier "
    "Later Today Yesterday Tomorrow Here Is Are Was Were Do Does Did Has Have Had Will Would "
    "Can Could Should Former Shares Analysts Officials Police"
)
# Brand names that end in "!" mid-sentence.
_BANG_NAMES: Final = frozenset({"yahoo", "jeopardy", "wham", "oklahoma"})
# After a quotation closed by "?" or "!", one of these within a few words is its attribution:
# '"Why?" Jones asked.' is one sentence.
_SPEECH_VERBS: Final = _wordset(
    "said says asked asks added adds told tells replied replies explained explains insisted "
    "insists wrote writes continued continues argued argues warned warns noted notes shouted "
    "shouts cried cries demanded demands wondered wonders recalled recalls joked jokes quipped "
    "declared declares admitted admits conceded concedes claimed claims responded answered "
    "commented observed remarked stated suggested urged tweeted"
)
_ATTRIBUTION_WINDOW: Final = 4  # words after a closing quote searched for a speech verb
# A quotation longer than this is segmented inside even when an attribution follows: holding
# a whole paragraph of speech as one "sentence" would make citations too coarse.
_MAX_HELD_QUOTE_WORDS: Final = 60


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Return the ``(start, end)`` spans of the sentences of ``text``, in order.

    Spans never overlap, never include surrounding whitespace, never cross a paragraph break,
    and together cover every non-whitespace character of ``text``.
    """
    return [(start, end) for start, end, _ in _sentences(text)]


def make_passages(text: str, target_words: int = 80, max_words: int = 140) -> list[tuple[int, int]]:
    """Group consecutive sentences of ``text`` into passages of about ``target_words`` words.

    Words are whitespace-separated tokens. A passage never exceeds ``max_words`` words and
    never splits a sentence, except a single sentence longer than ``max_words``, which is cut at
    word boundaries into even pieces. A passage is closed at a paragraph boundary once it holds
    half its target; a last passage under a quarter of the target joins the one before it when
    that fits. Every non-whitespace character of ``text`` is in exactly one passage.
    """
    if target_words < 1 or max_words < target_words:
        raise ConfigError(
            f"invalid passage size: target_words={target_words}, max_words={max_words}",
            hint="use 1 <= target_words <= max_words (the defaults are 80 and 140)",
        )
    units = _passage_units(text, target_words, max_words)
    passages: list[tuple[int, int, int]] = []  # (start, end, words)
    start = end = words = 0
    paragraph = -1
    for unit_start, unit_end, unit_words, unit_paragraph in units:
        if words and _closes_before(
            words, unit_words, unit_paragraph != paragraph, target_words, max_words
        ):
            passages.append((start, end, words))
            words = 0
        if not words:
            start = unit_start
        end = unit_end
        words += unit_words
        paragraph = unit_paragraph
    if words:
        passages.append((start, end, words))
    if len(passages) >= 2:
        # A closing line ("The trial continues.") says little on its own: it joins the passage
        # before it when that fits.
        (start, _, words), (_, end, tail_words) = passages[-2:]
        if 4 * tail_words < target_words and words + tail_words <= max_words:
            passages[-2:] = [(start, end, words + tail_words)]
    return [(start, end) for start, end, _ in passages]


def _closes_before(
    words: int, next_words: int, new_paragraph: bool, target_words: int, max_words: int
) -> bool:
    """Whether a passage of ``words`` words ends before a unit of ``next_words`` words."""
    total = words + next_words
    if total > max_words or words >= target_words:
        return True
    if 2 * words < target_words:
        # Too short to stand alone: take the next unit even across a paragraph.
        return False
    # Half full: a paragraph is a good place to stop, and so is the point where taking the
    # unit would overshoot the target by more than stopping undershoots it.
    return new_paragraph or total - target_words > target_words - words


def _passage_units(text: str, target_words: int, max_words: int) -> list[tuple[int, int, int, int]]:
    """Sentences as ``(start, end, words, paragraph)``, over-long ones cut into pieces."""
    units: list[tuple[int, int, int, int]] = []
    for start, end, paragraph in _sentences(text):
        words = len(text[start:end].split())
        if words <= max_words:
            units.append((start, end, words, paragraph))
            continue
        # Even pieces near the target rather than max-sized pieces and a stub.
        pieces = math.ceil(words / target_words)
        spans = [(m.start(), m.end()) for m in _WORD.finditer(text, start, end)]
        for index in range(pieces):
            first = index * len(spans) // pieces
            last = (index + 1) * len(spans) // pieces - 1
            units.append((spans[first][0], spans[last][1], last - first + 1, paragraph))
    return units


def _sentences(text: str) -> list[tuple[int, int, int]]:
    """Sentences as ``(start, end, paragraph_index)``."""
    sentences: list[tuple[int, int, int]] = []
    for index, (start, end) in enumerate(_paragraphs(text)):
        for sentence_start, sentence_end in _split_paragraph(text, start, end):
            sentences.append((sentence_start, sentence_end, index))
    return sentences


# --- 1. paragraphs ------------------------------------------------------------------------


def _paragraphs(text: str) -> list[tuple[int, int]]:
    """Spans of the paragraphs of ``text`` (step 1 of the module docstring)."""
    lines: list[tuple[int, int]] = []
    hard_gaps: list[bool] = []  # hard_gaps[i] separates lines[i] and lines[i + 1]
    pending_hard = False
    position = 0
    for run in _BREAK_RUN.finditer(text):
        run_start = _token_start(text, 0, run.start(), whitespace=True)
        if run_start > position:
            if lines:
                hard_gaps.append(pending_hard)
            lines.append((position, run_start))
        run_text = text[run_start : run.end()]
        pending_hard = len(_LINE_BREAK.findall(run_text)) >= 2 or any(
            char in run_text for char in _ALWAYS_HARD
        )
        position = run.end()
    if position < len(text):
        if lines:
            hard_gaps.append(pending_hard)
        lines.append((position, len(text)))
    if not lines:
        return []
    # Only the first line can start, and the last end, with whitespace that holds no break.
    first_start, first_end = lines[0]
    lines[0] = (first_end - len(text[first_start:first_end].lstrip()), first_end)
    last_start, last_end = lines[-1]
    lines[-1] = (last_start, last_start + len(text[last_start:last_end].rstrip()))
    if lines[0][0] >= lines[0][1]:  # whitespace only
        return []

    paragraphs: list[tuple[int, int]] = []
    block_first = 0
    for block_last in [*(i for i, hard in enumerate(hard_gaps) if hard), len(lines) - 1]:
        block = lines[block_first : block_last + 1]
        wrapped = _is_hard_wrapped(text, block)
        paragraph_start = block[0][0]
        for (_, previous_end), (next_start, _) in itertools.pairwise(block):
            if not _joins_lines(text, previous_end, next_start, wrapped):
                paragraphs.append((paragraph_start, previous_end))
                paragraph_start = next_start
        paragraphs.append((paragraph_start, block[-1][1]))
        block_first = block_last + 1
    return paragraphs


def _ends_terminal(line_tail: str) -> bool:
    stripped = line_tail.rstrip(_CLOSERS)
    return bool(stripped) and stripped[-1] in ".!?…:;"


def _is_hard_wrapped(text: str, block: list[tuple[int, int]]) -> bool:
    """Whether a block of single-newline lines is prose wrapped at a fixed width.

    In wrapped prose many lines end mid-sentence and the next one starts lower-case; in a
    list of headlines none does. One such line in three is plenty of evidence.
    """
    if len(block) < 3:
        return False
    open_ends = continued = 0
    for (_, previous_end), (next_start, _) in itertools.pairwise(block):
        if not _ends_terminal(text[max(0, previous_end - 4) : previous_end]):
            open_ends += 1
            continued += text[next_start].islower()
    return open_ends >= 2 and 3 * continued >= open_ends


def _joins_lines(text: str, previous_end: int, next_start: int, wrapped: bool) -> bool:
    """Whether a single line break between two lines is mere whitespace inside a paragraph."""
    next_head = text[next_start : next_start + 8]
    if _BULLET.match(next_head):
        return False
    if next_head[0].islower() or next_head[0] in ",;:)]}%":
        return True
    # The previous line: up to 80 characters are plenty for its last word or a dateline.
    previous_line = _LINE_BREAK.split(text[max(0, previous_end - 80) : previous_end])[-1]
    if previous_line[-1] in _LINE_CONTINUES_AFTER:
        return True
    last_word = previous_line.rsplit(None, 1)[-1]
    if last_word in _FUNCTION_WORDS or _DATELINE_LINE.fullmatch(previous_line):
        return True
    if wrapped:
        return True
    # "Dr.\nJones": a title or an initial cannot end the line's sentence.
    word = last_word.rstrip(_CLOSERS).lstrip(_OPENERS)
    return word.endswith(".") and (
        word[:-1].lower() in _TITLES or (len(word) == 2 and word[0].isupper())
    )


# --- 2.-4. sentences ------------------------------------------------------------------------


def _split_paragraph(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentence spans of the paragraph ``text[start:end]`` (steps 2-4)."""
    spans: list[tuple[int, int]] = []
    sentence_start = start
    for candidate in _CANDIDATE.finditer(text, start, end):
        boundary = candidate.end()
        if boundary >= end:
            break
        token_start = _token_start(text, sentence_start, candidate.start(), whitespace=False)
        if not _ends_sentence(text, token_start, candidate, sentence_start, end):
            continue
        if _inside_held_quote(text, start, boundary, end):
            continue
        next_token = _NEXT_TOKEN.match(text, boundary, end)
        # A candidate is followed by whitespace, and the paragraph does not end in it.
        assert next_token is not None
        if _closes_detached(text, start, boundary, next_token.group(1)):
            # 'stronger than ever. " A judgement...': the stray quote closes this sentence.
            boundary = next_token.end()
            next_token = _NEXT_TOKEN.match(text, boundary, end)
            if next_token is None:
                break  # it also ends the paragraph: the span below takes it in
        spans.append((sentence_start, boundary))
        sentence_start = next_token.start(1)
    spans.append((sentence_start, end))
    return spans


def _closes_detached(text: str, start: int, boundary: int, token: str) -> bool:
    """Whether ``token`` is a lone quote or bracket that closes one open before ``boundary``."""
    if token == '"':
        return text.count('"', start, boundary) % 2 == 1
    opener = {"”": "“", ")": "("}.get(token)
    return opener is not None and text.count(opener, start, boundary) > text.count(
        token, start, boundary
    )


def _token_start(text: str, floor: int, position: int, *, whitespace: bool) -> int:
    """Walk back from ``position`` to the start of the whitespace (or non-whitespace) run."""
    while position > floor and text[position - 1].isspace() is whitespace:
        position -= 1
    return position


def _ends_sentence(
    text: str, token_start: int, candidate: re.Match[str], sentence_start: int, end: int
) -> bool:
    """Whether a candidate token ends its sentence (step 3 of the module docstring).

    ``text[token_start:candidate.start()]`` is the word before the punctuation.
    """
    punctuation, closers = candidate.group(1, 2)
    token = text[token_start : candidate.start()]
    next_token = _NEXT_TOKEN.match(text, candidate.end(), end)
    assert next_token is not None  # _split_paragraph only asks about candidates before `end`
    following = next_token.group(1)
    first = following[0]
    word = token.lstrip(_OPENERS)

    if first.islower():
        # "said. eBay" starts a sentence with a lower-case brand; "etc. and" does not.
        return (
            punctuation == "."
            and not _is_abbreviation(word)
            and any(char.isupper() for char in following)
        )
    if first in ",;:)]}%":
        return False
    if "?" in punctuation or "!" in punctuation:
        if punctuation == "!" and word.lower() in _BANG_NAMES:
            return _starts_sentence(following)
        # '"Why?" Jones asked.': the quotation's attribution continues the sentence.
        return not (
            closers
            and closers[-1] in _QUOTE_CLOSERS
            and _speech_verb_follows(text, candidate.end(), end)
        )
    if not word and token_start == sentence_start:
        return False  # a lone "..." or "." opens the next sentence rather than stand alone
    if punctuation != "." or not word:  # an ellipsis, "..", ". . ."
        return first != "."
    if token_start == sentence_start and _LIST_MARKER.fullmatch(word):
        return False  # "1. The first item", "(a). ..."
    lowered = word.lower()
    if lowered in _TITLES:
        return False
    if lowered in _NUMBER_PREFIXES and first.isdigit():
        return False
    if _is_abbreviation(word):
        return _starts_sentence(following)
    return True


def _is_abbreviation(word: str) -> bool:
    """Abbreviations, initials and acronyms that may or may not end a sentence."""
    return (
        word.lower() in _ABBREVIATIONS
        or word in _CASED_ABBREVIATIONS
        or (len(word) == 1 and word.isalpha())
        or _DOTTED.fullmatch(word) is not None
    )


def _starts_sentence(following: str) -> bool:
    """Whether the token after an abbreviation opens a sentence ("The", '"We', not "J.")."""
    if following[0] in '"“‘«':
        return True
    match = _LEADING_WORD.match(following)
    if match is None:
        return False
    word, after = match.group(1, 2)
    # "A. A. Milne": "A" followed by "." is another initial, not the article "A".
    return after != "." and word in _SENTENCE_STARTERS


def _speech_verb_follows(text: str, position: int, end: int) -> bool:
    """Whether a speech verb ("said", "asked") follows ``position`` within the same sentence."""
    for _ in range(_ATTRIBUTION_WINDOW):
        token = _NEXT_TOKEN.match(text, position, end)
        if token is None:
            return False
        word = token.group(1)
        if word.rstrip(".,;:!?").lower() in _SPEECH_VERBS:
            return True
        if word[-1] in ".!?":
            return False  # the attribution would have to be in the next sentence
        position = token.end()
    return False


def _inside_held_quote(text: str, start: int, boundary: int, end: int) -> bool:
    """Whether ``boundary`` is inside a short quotation that closes on its attribution.

    ``"We will not accept it. It is a trap," he said.`` is one sentence (step 4).
    Straight quotes are paired by parity, curly ones by nesting; single quotes are ignored
    because they are indistinguishable from apostrophes.
    """
    if text.count('"', start, boundary) % 2:
        opening = text.rfind('"', start, boundary)
        closing = text.find('"', boundary, end)
    elif text.count("“", start, boundary) > text.count("”", start, boundary):
        opening = text.rfind("“", start, boundary)
        closing = text.find("”", boundary, end)
    else:
        return False
    if closing < 0 or len(text[opening:closing].split()) > _MAX_HELD_QUOTE_WORDS:
        return False
    if text[closing - 1] in ",—–-":
        return True  # '..., ' can only go on: "...a trap," he said.
    after = _NEXT_TOKEN.match(text, closing + 1, end)
    if after is None:
        return False
    if after.group(1)[0].islower():
        return True  # '... a trap." he said.'
    # '... a trap!" Jones said.'
    return text[closing - 1] in "?!" and _speech_verb_follows(text, closing + 1, end)
