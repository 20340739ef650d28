"""An approximate nearest-neighbour (HNSW) index kept in a file beside the SQLite database.

The SQLite database is the source of truth: every embedding lives there. This file is a derived,
rebuildable cache (a faiss HNSW graph over float16 vectors), because exact search over a million
384-d vectors costs ~100 ms a query on two cores while HNSW answers in about a millisecond.

Consistency without a shared transaction: passage ids only grow (SQLite AUTOINCREMENT), so the
index records the highest id it holds (``synced_upto``) in a sidecar JSON written *after* the
index file. Anything stored since is the "delta", searched exactly by the caller; deleted
passages are filtered out by the caller against the database; faiss cannot delete from an HNSW
graph, so the sidecar counts them and the owner rebuilds the file once they pass a quarter of it.
A process killed mid-save leaves either the old pair of files or the new one (write + rename).

Why faiss and not usearch: usearch 2.x's shared library crashes the process (SIGSEGV) when
onnxruntime is imported after it, which every citewire process does.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import faiss as _faiss
import numpy as np
import numpy.typing as npt

# faiss's SWIG bindings ship partial type stubs that do not know the HNSW attributes.
faiss: Any = _faiss

EF_CONSTRUCTION = 80
# efSearch 96 -> 256 raised source-passage recall@10 at 1M passages from 0.70 to 0.87
# (bench/bench_search.py) for well under a millisecond on one thread.
EF_SEARCH = 256


class AnnIndex:
    def __init__(self, path: Path, dim: int) -> None:
        self.path = path
        self.meta_path = path.with_name(path.name + ".json")
        self.dim = dim
        self.synced_upto = 0
        self.model: str | None = None
        self.removed = 0  # ids deleted from the database but still in the graph
        self._index: Any = None
        self._writable = False

    def __len__(self) -> int:
        return 0 if self._index is None else int(self._index.ntotal)

    def open(self, writable: bool) -> None:
        """Load the file if present; a missing or unreadable one means "start over" (the
        database still has every vector)."""
        self._writable = writable
        meta = self._read_meta()
        self._index, self.synced_upto, self.model, self.removed = None, 0, None, 0
        if meta is None or not self.path.exists() or meta.get("dim") != self.dim:
            return
        # Readers memory-map the file: it opens in under a second at a million vectors and the
        # pages are shared between processes serving the same index.
        flags = 0 if writable else faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY
        try:
            index = faiss.read_index(str(self.path), flags)
        except RuntimeError:
            return
        if index.d != self.dim:
            return
        faiss.downcast_index(index.index).hnsw.efSearch = EF_SEARCH
        self._index = index
        self.synced_upto = int(str(meta.get("synced_upto", 0)))
        self.removed = int(str(meta.get("removed", 0)))
        self.model = str(meta.get("model")) if meta.get("model") else None

    def _read_meta(self) -> dict[str, object] | None:
        try:
            data = json.loads(self.meta_path.read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def _new_index(self) -> Any:
        # Vectors are L2-normalised, so inner product is cosine similarity. M=16 neighbours per
        # node; recall against exact search is measured in bench/bench_search.py.
        graph = faiss.IndexHNSWSQ(
            self.dim, faiss.ScalarQuantizer.QT_fp16, 16, faiss.METRIC_INNER_PRODUCT
        )
        graph.hnsw.efConstruction = EF_CONSTRUCTION
        graph.hnsw.efSearch = EF_SEARCH
        return faiss.IndexIDMap2(graph)

    def reset(self) -> None:
        self._index, self.synced_upto, self.removed = None, 0, 0

    def add(self, keys: npt.NDArray[np.int64], vectors: npt.NDArray[np.float32]) -> None:
        if not self._writable:
            raise RuntimeError("AnnIndex opened read-only")
        if self._index is None:
            self._index = self._new_index()
        if len(keys):
            faiss.omp_set_num_threads(os.cpu_count() or 1)  # building does parallelise
            self._index.add_with_ids(
                np.ascontiguousarray(vectors, dtype=np.float32), keys.astype(np.int64)
            )

    def mark_removed(self, count: int) -> None:
        self.removed += count

    @property
    def stale(self) -> bool:
        """True once so many graph entries are dead that a rebuild beats filtering them."""
        return self._index is not None and self.removed * 4 > max(len(self), 1)

    def save(self, synced_upto: int, model: str) -> None:
        if self._index is None:
            return
        tmp = self.path.with_name(self.path.name + ".tmp")
        faiss.write_index(self._index, str(tmp))
        os.replace(tmp, self.path)
        meta_tmp = self.meta_path.with_name(self.meta_path.name + ".tmp")
        meta_tmp.write_text(
            json.dumps(
                {
                    "synced_upto": synced_upto,
                    "dim": self.dim,
                    "model": model,
                    "removed": self.removed,
                }
            )
        )
        os.replace(meta_tmp, self.meta_path)
        self.synced_upto, self.model = synced_upto, model

    def search(
        self, vector: npt.NDArray[np.float32], k: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        if self._index is None or len(self) == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        # efSearch must be at least k for HNSW to return k results.
        graph = faiss.downcast_index(self._index.index)
        graph.hnsw.efSearch = max(EF_SEARCH, k)
        # One query is too small to split across threads: with OpenMP's default (all cores) a
        # search took 8-12 ms p50 on a busy 2-core machine, against 0.2 ms on one thread.
        faiss.omp_set_num_threads(1)
        sims, keys = self._index.search(vector.reshape(1, -1).astype(np.float32), min(k, len(self)))
        found = keys[0] >= 0
        return keys[0][found].astype(np.int64), sims[0][found].astype(np.float32)

    def size_bytes(self) -> int:
        return self.path.stat().st_size if self.path.exists() else 0
