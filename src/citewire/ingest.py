"""The ingest stage: inputs → documents → deduplicated, chunked, embedded articles in the store.

1. ``expand_sources`` turns each SOURCE (file, folder, glob, URL, ``-``) into inputs.
2. Each input is read or fetched and extracted into ``Document``s (``citewire.extract``); a feed's
   entries are fetched by link, falling back to the content embedded in the feed.
3. Documents are indexed in batches, one transaction per batch, so a killed process loses at
   most the batch in flight and a re-run skips what is already committed:
   a. identity: canonical URL, else a hash of the normalised text;
   b. same id and same text: unchanged; same id, new text: the article is updated in place;
   c. exact copy of another article's text: recorded as another carrier of that story;
   d. near-duplicate (MinHash/LSH over word shingles): joins that syndication group;
   e. otherwise a new group: its text is chunked into passages and embedded.
4. Every input that fails adds one ``IngestFailure`` line; the rest still goes in.
"""

from __future__ import annotations

import glob
import hashlib
import io
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import IO
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from citewire.chunk import make_passages, split_sentences
from citewire.dedup import (
    NEAR_DUPLICATE_THRESHOLD,
    content_hash,
    fingerprint,
    normalize_text,
    similarity,
)
from citewire.embed import Embedder
from citewire.errors import CitewireError, ExtractError, FetchError, SourceError
from citewire.extract import (
    FieldMap,
    decode,
    detect_kind,
    entry_document,
    extract,
    extract_html,
    parse_feed,
)
from citewire.fetch import Fetcher, FetchPolicy
from citewire.models import Article, Document, IngestFailure, IngestReport
from citewire.store import NewPassage, Store
from citewire.verify import check_support

# Extensions taken from a folder; a file named explicitly is always tried (by sniffing).
KNOWN_EXTENSIONS = frozenset(
    [
        ".html",
        ".htm",
        ".xhtml",
        ".shtml",
        ".json",
        ".jsonl",
        ".ndjson",
        ".txt",
        ".text",
        ".md",
        ".markdown",
        ".pdf",
        ".xml",
        ".rss",
        ".atom",
    ]
)
MAX_FILE_BYTES = 64 * 2**20  # one HTML/PDF/text file; JSONL is streamed and has no total cap
MAX_LINE_BYTES = 16 * 2**20
# Word-set Jaccard above which a copy's sentence is compared fact by fact with the original's.
CLOSE_VARIANT = 0.6
MIN_NOVEL_WORDS = 8
TRACKING_PARAMS = ("utm_", "fbclid", "gclid", "mc_cid", "mc_eid", "ocid", "cmpid")


@dataclass(frozen=True)
class IngestOptions:
    fields: FieldMap = field(default_factory=FieldMap)
    dry_run: bool = False
    batch_size: int = 64
    max_file_bytes: int = MAX_FILE_BYTES
    # For exports whose records name no outlet (e.g. one publisher's archive).
    default_outlet: str | None = None
    fetch: FetchPolicy = field(default_factory=FetchPolicy)


@dataclass(frozen=True)
class Progress:
    inputs_done: int
    documents: int
    added: int
    failed: int
    current: str


ProgressCallback = Callable[[Progress], None]


# --- 1. sources ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Input:
    kind: str  # "file" | "url" | "stdin"
    location: str


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def expand_sources(sources: Iterable[str]) -> Iterator[Input | IngestFailure]:
    for source in sources:
        if source == "-":
            yield Input("stdin", "stdin")
        elif is_url(source):
            yield Input("url", source)
        elif "://" in source:
            yield IngestFailure(source, "unsupported URL scheme (only http and https are fetched)")
        elif os.path.isdir(source):
            found = False
            for root, dirs, files in os.walk(source):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if not name.startswith(".") and Path(name).suffix.lower() in KNOWN_EXTENSIONS:
                        found = True
                        yield Input("file", os.path.join(root, name))
            if not found:
                yield IngestFailure(source, "folder holds no files citewire can read")
        elif os.path.exists(source):
            yield Input("file", source)
        else:
            matches = sorted(glob.glob(source, recursive=True))
            files = [m for m in matches if os.path.isfile(m)]
            if not files:
                yield IngestFailure(source, "no such file, folder or matching glob")
            for match in files:
                yield Input("file", match)


def canonical_url(url: str | None) -> str | None:
    """Lower-case scheme and host, no fragment, no tracking parameters: so the same article
    reached through a newsletter link and a feed gets the same id."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return url.strip()
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return url.strip()
    netloc = parts.netloc.lower()
    if (parts.scheme == "http" and netloc.endswith(":80")) or (
        parts.scheme == "https" and netloc.endswith(":443")
    ):
        netloc = netloc.rsplit(":", 1)[0]
    query = urlencode(
        [
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not k.lower().startswith(TRACKING_PARAMS)
        ]
    )
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", query, ""))


def novel_spans(text: str, original: str, max_words: int = 140) -> list[tuple[int, int]]:
    """Runs of consecutive sentences of ``text`` that ``original`` does not already say, as
    passage spans into ``text``.

    A sentence is already said when the original holds it (after normalising case, spacing,
    quotes and dashes), or holds a close variant that supports it: copy-edits ("said that it"
    / "said it", "per cent" / "percent") are not news, a changed figure is.
    """
    spans = split_sentences(original)
    known = {normalize_text(original[s:e]) for s, e in spans}
    originals = [(original[s:e], _word_set(original[s:e])) for s, e in spans]
    runs: list[tuple[int, int]] = []
    words = 0
    for start, end in split_sentences(text):
        sentence = text[start:end]
        if normalize_text(sentence) in known or _said_before(sentence, originals):
            words = 0
            runs.append((-1, -1))  # a break between runs
            continue
        length = len(sentence.split())
        if runs and runs[-1][0] >= 0 and words + length <= max_words:
            runs[-1] = (runs[-1][0], end)
            words += length
        else:
            runs.append((start, end))
            words = length
    # A run shorter than a plain sentence is a headline, dateline or caption line, not news.
    return [(s, e) for s, e in runs if s >= 0 and len(text[s:e].split()) >= MIN_NOVEL_WORDS]


def _word_set(text: str) -> frozenset[str]:
    return frozenset(w.lower() for w in re.findall(r"[^\W_]+", text))


def _said_before(sentence: str, originals: list[tuple[str, frozenset[str]]]) -> bool:
    words = _word_set(sentence)
    if not words:
        return True
    best, best_overlap = "", 0.0
    for text, other in originals:
        overlap = len(words & other) / len(words | other) if other else 0.0
        if overlap > best_overlap:
            best, best_overlap = text, overlap
    return best_overlap >= CLOSE_VARIANT and check_support(sentence, best).passed


def article_id(url: str | None, text_hash: str) -> str:
    if url:
        return "u" + hashlib.sha256(url.encode("utf-8")).hexdigest()[:20]
    return "h" + text_hash[:20]


# --- 3. indexing ---------------------------------------------------------------------------
class _Counts:
    def __init__(self) -> None:
        self.added = self.updated = self.unchanged = 0
        self.duplicates = self.near_duplicates = self.passages = 0
        self.failed: list[IngestFailure] = []


class Ingestor:
    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        options: IngestOptions | None = None,
        fetcher: Fetcher | None = None,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.options = options or IngestOptions()
        self._fetcher = fetcher
        self._seen: set[str] = set()  # article ids written during this run

    @property
    def fetcher(self) -> Fetcher:
        if self._fetcher is None:
            self._fetcher = Fetcher(self.options.fetch)
        return self._fetcher

    def run(
        self,
        sources: Sequence[str],
        stdin: IO[bytes] | None = None,
        progress: ProgressCallback | None = None,
    ) -> IngestReport:
        started = time.perf_counter()
        counts = _Counts()
        batch: list[Document] = []
        inputs_done = documents = 0

        def report(current: str) -> None:
            if progress is not None:
                progress(
                    Progress(inputs_done, documents, counts.added, len(counts.failed), current)
                )

        try:
            for item in expand_sources(sources):
                if isinstance(item, IngestFailure):
                    counts.failed.append(item)
                    continue
                for outcome in self._documents(item, stdin):
                    if isinstance(outcome, SourceError):
                        counts.failed.append(IngestFailure(item.location, outcome.one_line()))
                        continue
                    documents += 1
                    batch.append(outcome)
                    if len(batch) >= self.options.batch_size:
                        self._index_batch(batch, counts)
                        batch = []
                        report(item.location)
                inputs_done += 1
                report(item.location)
            if batch:
                self._index_batch(batch, counts)
            if not self.options.dry_run:
                self.store.sync_indexes()
        finally:
            if self._fetcher is not None:
                self._fetcher.close()
        result = IngestReport(
            added=counts.added,
            updated=counts.updated,
            unchanged=counts.unchanged,
            duplicates=counts.duplicates,
            near_duplicates=counts.near_duplicates,
            passages=counts.passages,
            failed=tuple(counts.failed),
            dry_run=self.options.dry_run,
            seconds=time.perf_counter() - started,
        )
        if not self.options.dry_run:
            with self.store.transaction():
                self.store.record_ingest(result)
        return result

    # --- 2. reading and extracting ----------------------------------------------------------
    def _documents(self, item: Input, stdin: IO[bytes] | None) -> Iterator[Document | SourceError]:
        try:
            if item.kind == "stdin":
                yield from self._jsonl_stream(stdin or io.BytesIO(), "stdin")
            elif item.kind == "url":
                yield from self._url(item.location)
            else:
                yield from self._file(item.location)
        except SourceError as exc:
            yield exc
        except OSError as exc:
            yield ExtractError(f"cannot read: {exc.strerror or exc}")

    def _file(self, path: str) -> Iterator[Document | SourceError]:
        size = os.path.getsize(path)
        suffix = Path(path).suffix.lower()
        if suffix in (".jsonl", ".ndjson"):
            with open(path, "rb") as handle:
                yield from self._jsonl_stream(handle, path)
            return
        if size == 0:
            yield ExtractError("empty file")
            return
        limit = self.options.max_file_bytes
        if size > limit:
            yield ExtractError(
                f"file is {size / 2**20:.1f} MiB (limit {limit / 2**20:.1f} MiB)",
                hint="split it, or export it as JSONL (streamed, no size limit)",
            )
            return
        with open(path, "rb") as handle:
            data = handle.read()
        yield from extract(data, path, fields=self.options.fields)

    def _jsonl_stream(self, handle: IO[bytes], name: str) -> Iterator[Document | SourceError]:
        """JSONL is read line by line so a multi-GB export never sits in memory at once."""
        produced = False
        for item in self._jsonl_chunks(handle, name):
            produced = True
            yield item
        if not produced:
            yield ExtractError(f"{name}: no records (the input is empty or blank)")

    def _jsonl_chunks(self, handle: IO[bytes], name: str) -> Iterator[Document | SourceError]:
        chunk: list[bytes] = []
        first_line = 1
        for lineno, line in enumerate(handle, start=1):
            if len(line) > MAX_LINE_BYTES:
                yield ExtractError(f"{name}:{lineno}: line longer than {MAX_LINE_BYTES} bytes")
                chunk.append(b"\n")  # keep line numbers aligned
                continue
            chunk.append(line)
            if len(chunk) >= 256:
                yield from self._jsonl_chunk(chunk, name, first_line)
                first_line, chunk = lineno + 1, []
        if chunk:
            yield from self._jsonl_chunk(chunk, name, first_line)

    def _jsonl_chunk(
        self, lines: list[bytes], name: str, first_line: int
    ) -> Iterator[Document | SourceError]:
        data = b"".join(lines)
        if not data.strip():
            return  # a run of blank lines inside a larger file is not an error
        yield from extract(
            data,
            name,
            content_type="application/x-ndjson",
            fields=self.options.fields,
            first_line=first_line,
        )

    def _url(self, url: str) -> Iterator[Document | SourceError]:
        fetched = self.fetcher.fetch(url)
        kind = detect_kind(fetched.url, fetched.body, fetched.content_type)
        if kind != "feed":
            yield from extract(
                fetched.body,
                fetched.url,
                content_type=fetched.content_type,
                url=fetched.url,
                fields=self.options.fields,
            )
            return
        entries = parse_feed(fetched.body, fetched.url)
        by_link = {e.link: e for e in entries if e.link}
        for entry in entries:
            if not entry.link:
                yield self._entry_fallback(entry, fetched.url, "entry has no link")
        for link, result in self.fetcher.fetch_many(list(by_link)):
            entry = by_link[link]
            if isinstance(result, FetchError):
                yield self._entry_fallback(entry, link, result.one_line())
                continue
            try:
                page = extract_html(decode(result.body, result.charset), link, url=result.url)
            except ExtractError as exc:
                yield self._entry_fallback(entry, link, exc.one_line())
                continue
            # The feed's own date and title are more reliable than what a page's markup says.
            yield replace(
                page,
                published_at=page.published_at or entry.published_at,
                date_precision=page.date_precision or entry.date_precision,
                title=page.title or entry.title,
                outlet=page.outlet or entry.feed_title,
                metadata={**page.metadata, "feed": fetched.url},
            )

    def _entry_fallback(self, entry: object, where: str, reason: str) -> Document | SourceError:
        try:
            doc = entry_document(entry, where)  # type: ignore[arg-type]
        except ExtractError:
            return FetchError(f"{where}: {reason}; the feed entry has no content to fall back on")
        return replace(doc, metadata={**doc.metadata, "link_failed": reason})

    # --- 3. deduplicate, chunk, embed, store ------------------------------------------------
    def _index_batch(self, docs: list[Document], counts: _Counts) -> None:
        pending: list[tuple[Article, list[NewPassage]]] = []
        try:
            with self.store.transaction(rollback=self.options.dry_run):
                for doc in docs:
                    try:
                        new = self._place(doc, counts)
                    except CitewireError as exc:
                        counts.failed.append(IngestFailure(doc.source, exc.one_line()))
                        continue
                    if new is not None:
                        pending.append(new)
                texts = [p.text for _, passages in pending for p in passages]
                vectors = None if self.options.dry_run else self.embedder.embed(texts)
                offset = 0
                for article, passages in pending:
                    part = None if vectors is None else vectors[offset : offset + len(passages)]
                    offset += len(passages)
                    counts.passages += self.store.add_passages(article.id, passages, part)
        finally:
            if self.options.dry_run:
                self._seen.clear()

    def _place(self, doc: Document, counts: _Counts) -> tuple[Article, list[NewPassage]] | None:
        """Decide what ``doc`` is relative to the index, write its article row, and return the
        passages to embed when it starts a new group."""
        text = doc.text.strip()
        if not text:
            raise ExtractError("article has no text")
        url = canonical_url(doc.url)
        text_hash = content_hash(text)
        aid = article_id(url, text_hash)
        existing = self.store.get_article(aid)
        if existing is not None and existing.content_hash == text_hash:
            if aid in self._seen:
                counts.duplicates += 1
            else:
                counts.unchanged += 1
            return None
        prints = fingerprint(text)
        article = Article(
            id=aid,
            text=text,
            content_hash=text_hash,
            source=doc.source,
            title=doc.title,
            url=url,
            published_at=doc.published_at,
            date_precision=doc.date_precision,
            outlet=doc.outlet or self.options.default_outlet,
            authors=doc.authors,
            metadata=doc.metadata,
            group_id=aid,
            ingested_at=datetime.now(UTC),
        )
        self._seen.add(aid)
        group: str | None = None
        if existing is not None:
            counts.updated += 1
            group = existing.group_id if existing.group_id == aid else None
        if group is None:
            group, kind = self._match(text_hash, prints.signature, prints.bands, aid)
            if existing is None:
                if kind == "exact":
                    counts.duplicates += 1
                elif kind == "near":
                    counts.near_duplicates += 1
                else:
                    counts.added += 1
        article = replace(article, group_id=group)
        self.store.put_article(article, prints.signature, prints.bands)
        if group != aid:
            # A copy of a story already indexed. Its shared text is the group's one source; what
            # only this copy says (an edited figure, a local paragraph) is indexed as passages of
            # its own, so a changed fact is never silently hidden behind the original.
            canonical = self.store.get_article(group)
            if canonical is None or text_hash == canonical.content_hash:
                return None
            novel = novel_spans(text, canonical.text)
            if not novel:
                return None
            return article, [
                NewPassage(seq, start, end, text[start:end])
                for seq, (start, end) in enumerate(novel)
            ]
        self.store.ensure_group(aid, aid)
        passages = [
            NewPassage(seq, start, end, text[start:end])
            for seq, (start, end) in enumerate(make_passages(text))
        ]
        return article, passages

    def _match(
        self, text_hash: str, signature: bytes, bands: Sequence[str], aid: str
    ) -> tuple[str, str]:
        exact = self.store.find_by_hash(text_hash)
        if exact is not None and exact.id != aid:
            return exact.group_id, "exact"
        best: tuple[float, str] | None = None
        for candidate in self.store.lsh_candidates(bands):
            if candidate.article_id == aid:
                continue
            score = similarity(signature, candidate.signature)
            if score >= NEAR_DUPLICATE_THRESHOLD and (best is None or score > best[0]):
                best = (score, candidate.group_id)
        if best is not None:
            return best[1], "near"
        return aid, "new"
