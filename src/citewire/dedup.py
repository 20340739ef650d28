"""Duplicate detection: one wire story republished by many outlets counts as one source.

Two layers, cheapest first:

1. ``content_hash``: sha256 of ``normalize_text(text)``. Catches byte-for-byte copies and copies
   that differ only in case, whitespace, Unicode form, curly vs straight quotes or dash style.
2. ``fingerprint``: a MinHash signature over word shingles plus LSH band keys. The store keeps the
   band keys in an indexed table; an article's candidates are the stored articles sharing at least
   one key, and a candidate whose ``similarity`` is ``>= NEAR_DUPLICATE_THRESHOLD`` puts the new
   article in its group. This catches syndicated copies: different boilerplate, a trimmed ending,
   copy-edits, a local paragraph.

Every hash here is deterministic and platform-independent (seeded blake2b, a fixed numpy seed,
explicit little-endian packing), never Python's ``hash()``, which is salted per process:
fingerprints are stored and compared across processes and machines.

The constants were chosen by ``python bench/bench_dedup.py``; the numbers quoted in comments come
from its output.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from citewire.errors import StoreError

__all__ = [
    "BANDS",
    "NEAR_DUPLICATE_THRESHOLD",
    "NUM_PERM",
    "ROWS_PER_BAND",
    "SHINGLE_WORDS",
    "Fingerprint",
    "content_hash",
    "fingerprint",
    "normalize_text",
    "similarity",
]

# Measured by bench/bench_dedup.py on syndicated copies made from BBC and RealTimeQA articles
# (2,400 copy pairs) against 4,804 hard negatives (same-category BBC pairs with the most words in
# common, RealTimeQA articles retrieved for the same question) and 2,000 random pairs.
#
# Shingle width: the best F1 over thresholds on exact Jaccard hardly moves with width (0.9875 for
# 2 words, 0.9882 for 3, 0.9884 for 4, 0.9882 for 5, 0.9872 for 6); 4 words is the top and keeps
# the hard negatives' tail lower than 2-3 words do (p99 0.24 vs 0.33 for 2 words).
SHINGLE_WORDS: Final = 4

# 128 permutations: the estimate's error against exact Jaccard has sd 0.022 (0.044 at J = 0.5),
# small next to the gap between copies and distinct stories; the signature is 512 bytes.
NUM_PERM: Final = 128

# Join the most similar earlier article when estimated Jaccard >= 0.5. Grouping the benchmark
# corpus (5,593 articles, 2,662 same-story pairs) the way ingest will, pair-counted:
#
#   threshold  precision  recall   F1     copies grouped with their original: wire  edited  heavy
#     0.30      0.979     0.978   0.978                                        1.000  1.000   0.953
#     0.40      0.993     0.941   0.966                                        1.000  1.000   0.875
#     0.45      0.994     0.911   0.951                                        1.000  0.998   0.815
#     0.50      0.998     0.866   0.927                                        1.000  0.985   0.725
#     0.60      0.999     0.750   0.857                                        0.998  0.900   0.535
#     0.70      1.000     0.603   0.752                                        0.993  0.713   0.350
#
# F1 alone would pick 0.3, but what the lower thresholds add are wrong merges of *different*
# stories (55 pairs at 0.3, 19 at 0.4, 4 at 0.5) that share a template or background paragraphs:
# CNN's daily "5 things" newsletters (0.42-0.57), listicles reusing text (0.41), and copies
# chained onto a same-topic story. A false merge hides a distinct, often newer story; a missed
# merge only counts a heavily rewritten copy (trimmed + local paragraph + rewritten sentences +
# related links, on a short story) as a second source. The 4 wrong pairs left at 0.5 are
# follow-ups reusing most of the earlier text (a NASA mission preview and its result at 0.65; a
# BBC "talks planned" story and its "talks failed" rewrite at 0.66): no threshold below 0.66
# separates those, and copies of a story cut to its first half need < 0.5 (31% grouped at 0.5).
NEAR_DUPLICATE_THRESHOLD: Final = 0.5

# LSH: 42 bands of 3 rows (126 of the 128 values; the last 2 only feed similarity()).
# P(some band equal) = 1 - (1 - s**3)**42:
#
#   s      0.05    0.1    0.2    0.3    0.4    0.5    0.6    0.7
#   P     0.005  0.041  0.286  0.683  0.938  0.996  1.000  1.000
#
# so an article at the threshold is found 99.6% of the time (32x4: 87%; measured on copy pairs
# above the threshold, 2,010 of 2,024 found with 32x4 and 2,023 with 42x3), while unrelated
# articles (J < 0.05) rarely collide: the 6,035-article bench corpus has 8.9 candidate pairs
# below 0.2 per 1,000 articles (32x4: ~0, 64x2: 591). Per article that grows linearly with the
# store, and each costs one 512-byte comparison.
BANDS: Final = 42
ROWS_PER_BAND: Final = 3

# Changing the seed, NUM_PERM, the word hash or the shingle mixing changes every signature: stored
# fingerprints must then be recomputed, or old and new articles will never match.
_SEED: Final = 20220617
_SIGNATURE_DTYPE: Final = np.dtype("<u4")

# Typographic variants that outlets' CMSs swap freely and NFKC leaves distinct. Applied as a chain
# of str.replace: str.translate with a dict costs ~200 µs on a 400-word article, the chain ~10 µs.
_CHAR_REPLACEMENTS: Final = (
    ("\u2018", "'"),  # left single quotation mark
    ("\u2019", "'"),  # right single quotation mark / typographic apostrophe
    ("\u201a", "'"),  # single low-9 quotation mark
    ("\u201b", "'"),  # single high-reversed-9 quotation mark
    ("\u2032", "'"),  # prime
    ("\u00b4", "'"),  # acute accent used as an apostrophe
    ("`", "'"),
    ("\u201c", '"'),  # left double quotation mark
    ("\u201d", '"'),  # right double quotation mark
    ("\u201e", '"'),  # double low-9 quotation mark
    ("\u201f", '"'),  # double high-reversed-9 quotation mark
    ("\u2033", '"'),  # double prime
    ("\u00ab", '"'),  # left guillemet
    ("\u00bb", '"'),  # right guillemet
    ("\u2010", "-"),  # hyphen
    ("\u2011", "-"),  # non-breaking hyphen
    ("\u2012", "-"),  # figure dash
    ("\u2013", "-"),  # en dash
    ("\u2014", "-"),  # em dash
    ("\u2015", "-"),  # horizontal bar
    ("\u2212", "-"),  # minus sign
    # Invisible characters some CMSs insert (soft hyphen for line breaking, zero-width joiners,
    # byte order mark): they would split a word in two without showing.
    ("\u00ad", ""),
    ("\u200b", ""),
    ("\u200c", ""),
    ("\u200d", ""),
    ("\u2060", ""),
    ("\ufeff", ""),
)
_WORD: Final = re.compile(r"\w+")

# The bench tries other shingle widths through ``_shingle_hashes(text, width)``.
_MAX_SHINGLE_WORDS: Final = 8


def normalize_text(text: str) -> str:
    """Canonical form for exact-duplicate hashing: NFKC, casefolded, one quote and one dash
    style, whitespace runs collapsed to a single space, no leading or trailing space."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    for variant, canonical in _CHAR_REPLACEMENTS:
        if variant in folded:
            folded = folded.replace(variant, canonical)
    # NFKC once more: casefolding can leave text that is not NFKC-normal ("ΐ" folds to three
    # code points that NFKC joins again), and normalize_text must be idempotent. Each NFKC call
    # costs ~5 µs on a 400-word article that is already normal.
    folded = unicodedata.normalize("NFKC", folded)
    # str.split() with no argument splits on every Unicode whitespace run, NBSP included.
    return " ".join(folded.split())


def content_hash(text: str) -> str:
    """Hex sha256 of ``normalize_text(text)``."""
    return hashlib.sha256(normalize_text(text).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Fingerprint:
    """MinHash signature (``NUM_PERM`` little-endian uint32) and its LSH band keys
    (``"{band_index}:{16 hex}"``, one per band; equal keys mean an equal band)."""

    signature: bytes
    bands: tuple[str, ...]


# Copying a keyed hasher is cheaper than building one per word.
_WORD_HASHER: Final = hashlib.blake2b(digest_size=8, salt=_SEED.to_bytes(16, "little"))


def _word_hashes(words: list[str]) -> npt.NDArray[np.uint64]:
    """A seeded 64-bit blake2b hash per word, computed once per distinct word."""
    digests: dict[str, bytes] = {}
    for word in set(words):
        hasher = _WORD_HASHER.copy()
        hasher.update(word.encode("utf-8"))
        digests[word] = hasher.digest()
    return np.frombuffer(b"".join([digests[word] for word in words]), dtype="<u8").astype(np.uint64)


def _splitmix64(values: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """SplitMix64 finaliser: spreads every input bit over the output, so the linear mixing of word
    hashes into a shingle hash below doesn't leave structure for the MinHash permutations to see."""
    values = values ^ (values >> np.uint64(30))
    values = values * np.uint64(0xBF58476D1CE4E5B9)
    values = values ^ (values >> np.uint64(27))
    values = values * np.uint64(0x94D049BB133111EB)
    return values ^ (values >> np.uint64(31))


def _make_constants() -> tuple[
    npt.NDArray[np.uint64], npt.NDArray[np.uint64], npt.NDArray[np.uint64]
]:
    rng = np.random.Generator(np.random.PCG64(_SEED))

    def odd(size: int) -> npt.NDArray[np.uint64]:
        # An even multiplier would throw away the top bit of its input.
        return rng.integers(0, 1 << 63, size=size, dtype=np.uint64) * np.uint64(2) + np.uint64(1)

    position = odd(_MAX_SHINGLE_WORDS)
    perm_a = odd(NUM_PERM)
    perm_b = rng.integers(0, 1 << 63, size=NUM_PERM, dtype=np.uint64)
    return position, perm_a[:, None], perm_b[:, None]


_POSITION_MULT, _PERM_A, _PERM_B = _make_constants()
# Bounds the (NUM_PERM x chunk) uint64 temporary for very long texts to 4 MiB.
_CHUNK: Final = 4096


def _shingle_hashes(text: str, width: int = SHINGLE_WORDS) -> npt.NDArray[np.uint64]:
    """64-bit hashes of the word ``SHINGLE_WORDS``-grams of the normalised text.

    Punctuation is dropped (``\\w+`` words), so "U.S." and "US" differ but a moved comma doesn't
    break a shingle. A text shorter than ``SHINGLE_WORDS`` words is one shingle of all its words;
    an empty text is one shingle of no words, so it still gets a valid signature (equal to every
    other empty text's, as its content hash is).
    """
    ids = _word_hashes(_WORD.findall(normalize_text(text)))
    width = min(width, len(ids))
    count = len(ids) - width + 1
    mixed = np.zeros(count, dtype=np.uint64)
    for offset in range(width):
        mixed += ids[offset : offset + count] * _POSITION_MULT[offset]
    # Fold the width in, so a 2-word text's shingle can't equal some 4-word shingle by accident.
    mixed += np.uint64(width)
    # Repeated shingles are left in: they can't change a minimum, and np.unique would cost more
    # than the whole MinHash step.
    return _splitmix64(mixed)


def _signature(shingles: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint32]:
    """Min over shingles of NUM_PERM multiply-add-shift hashes (a*x + b mod 2**64) >> 32.

    The inputs are already well-mixed 64-bit hashes, so this cheap family behaves like random
    permutations; the bench checks the estimate against exact Jaccard.
    """
    lowest = np.full(NUM_PERM, np.iinfo(np.uint64).max, dtype=np.uint64)
    for start in range(0, len(shingles), _CHUNK):
        hashed = shingles[None, start : start + _CHUNK] * _PERM_A
        hashed += _PERM_B
        np.minimum(lowest, hashed.min(axis=1), out=lowest)
    # The shift is monotone, so taking it after the min gives the same values for one pass over
    # NUM_PERM numbers instead of NUM_PERM x shingles (10x faster on a 400-word article).
    return (lowest >> np.uint64(32)).astype(np.uint32)


def _band_keys(signature: npt.NDArray[np.uint32]) -> tuple[str, ...]:
    packed = (
        signature[: BANDS * ROWS_PER_BAND].astype(_SIGNATURE_DTYPE).reshape(BANDS, ROWS_PER_BAND)
    )
    return tuple(
        f"{index}:{hashlib.blake2b(row.tobytes(), digest_size=8).hexdigest()}"
        for index, row in enumerate(packed)
    )


def fingerprint(text: str) -> Fingerprint:
    """MinHash signature and LSH band keys of ``text`` (any length, including empty)."""
    signature = _signature(_shingle_hashes(text))
    return Fingerprint(
        signature=signature.astype(_SIGNATURE_DTYPE).tobytes(), bands=_band_keys(signature)
    )


_SIGNATURE_BYTES: Final = NUM_PERM * _SIGNATURE_DTYPE.itemsize


def similarity(a: bytes, b: bytes) -> float:
    """Estimated Jaccard similarity of the two texts' shingle sets: the fraction of equal
    signature slots, in [0, 1]."""
    for signature in (a, b):
        if len(signature) != _SIGNATURE_BYTES:
            # Only a stored signature from another version of this module can get here.
            raise StoreError(
                f"a fingerprint signature is {len(signature)} bytes, expected {_SIGNATURE_BYTES}",
                hint="the index holds fingerprints from another citewire version: re-index it",
            )
    left = np.frombuffer(a, dtype=_SIGNATURE_DTYPE)
    right = np.frombuffer(b, dtype=_SIGNATURE_DTYPE)
    return float(np.count_nonzero(left == right)) / NUM_PERM
