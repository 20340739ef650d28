from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from citewire.embed import OnnxEmbedder, default_embedder
from citewire.engine import Engine
from tests.support.corpus import write_jsonl


@pytest.fixture(scope="session")
def embedder() -> OnnxEmbedder:
    """The real MiniLM model, loaded once per test session (0.3 s, but it adds up)."""
    return default_embedder()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def engine(home: Path, embedder: OnnxEmbedder) -> Iterator[Engine]:
    with Engine(home, embedder=embedder) as eng:
        yield eng


@pytest.fixture
def corpus_file(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "corpus.jsonl")
