"""Dense vectors in FAISS, inner product over unit vectors (= cosine).

Exact search (`IndexFlatIP`) while the index is small: it needs no training and is exact,
and at 50k x 384 a query still takes a few milliseconds. Past `exact_max` vectors the index
is rebuilt as IVF (default) or HNSW. IVF because on this machine kind an HNSW build over 1M
x 384 took ~22 minutes while IVF trains on a sample in seconds; HNSW stays available for
read-heavy indexes that grow slowly. An IVF index is retrained once it has grown
`retrain_growth` times past the size it was trained at, since its centroids then describe an
older corpus.

Loading memory-maps the file (zero copy). FAISS aborts the process on an add to a mapped
index, so the first add after a load reads the file fully into memory first.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import faiss
import numpy as np

# One thread: with the other core busy, 2 threads were 3-6x slower here.
faiss.omp_set_num_threads(1)

Kind = Literal["flat", "ivf", "hnsw"]


@dataclass(frozen=True)
class DensePolicy:
    exact_max: int = 50_000
    large: Kind = "ivf"
    nprobe: int = 16
    hnsw_m: int = 32
    hnsw_ef_search: int = 64
    hnsw_ef_construction: int = 80
    train_sample: int = 100_000
    retrain_growth: int = 8


class DenseIndex:
    def __init__(self, dim: int, policy: DensePolicy = DensePolicy()) -> None:
        self.dim = dim
        self.policy = policy
        self.index: faiss.Index = faiss.IndexFlatIP(dim)
        self.kind: Kind = "flat"
        self.built_size = 0  # vectors present when the current structure was built
        self._file: Path | None = None  # set while the index is a read-only mapping of it

    @property
    def size(self) -> int:
        return int(self.index.ntotal)

    def add(self, vectors: np.ndarray) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise ValueError(f"expected vectors of shape (n, {self.dim}), got {vectors.shape}")
        if self._file is not None:
            self.index = faiss.read_index(str(self._file))
            self._file = None
        total = self.size + len(vectors)
        if self.kind == "flat" and total > self.policy.exact_max:
            self._rebuild(self.policy.large, vectors)
        elif self.kind == "ivf" and total > self.policy.retrain_growth * self.built_size:
            self._rebuild("ivf", vectors)
        else:
            self.index.add(vectors)

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, ids) for one query vector; `allowed` is a bitmap (np.packbits,
        little bit order) of the ids that may be returned. Fewer than k come back when fewer
        pass the filter (or, approximately, fall in the probed lists)."""
        if self.size == 0 or k <= 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        selector = None if allowed is None else faiss.IDSelectorBitmap(self.size, faiss.swig_ptr(allowed))
        if self.kind == "ivf":
            params = faiss.SearchParametersIVF(sel=selector, nprobe=self.policy.nprobe)
        elif self.kind == "hnsw":
            params = faiss.SearchParametersHNSW(sel=selector, efSearch=max(self.policy.hnsw_ef_search, k))
        else:
            params = faiss.SearchParameters(sel=selector)
        scores, ids = self.index.search(np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32), k, params=params)
        found = ids[0] >= 0
        return scores[0][found], ids[0][found]

    def save(self, path: Path) -> None:
        partial = path.with_name(path.name + ".partial")
        faiss.write_index(self.index, str(partial))
        os.replace(partial, path)

    @classmethod
    def load(cls, path: Path, dim: int, kind: Kind, built_size: int, policy: DensePolicy = DensePolicy()) -> DenseIndex:
        dense = cls(dim, policy)
        flag = faiss.IO_FLAG_MMAP if kind == "ivf" else faiss.IO_FLAG_MMAP_IFC
        dense.index = faiss.read_index(str(path), flag)
        dense.kind = kind
        dense.built_size = built_size
        dense._file = path
        return dense

    def _rebuild(self, kind: Kind, extra: np.ndarray) -> None:
        vectors = np.concatenate([self.index.reconstruct_n(0, self.size), extra]) if self.size else extra
        if kind == "hnsw":
            index = faiss.IndexHNSWFlat(self.dim, self.policy.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = self.policy.hnsw_ef_construction
        else:
            # ~sqrt(n) lists, a power of two: list scans and centroid comparisons balance.
            nlist = max(64, 2 ** round(math.log2(math.sqrt(len(vectors)))))
            index = faiss.IndexIVFFlat(faiss.IndexFlatIP(self.dim), self.dim, nlist, faiss.METRIC_INNER_PRODUCT)
            rng = np.random.default_rng(0)
            sample = rng.choice(len(vectors), min(len(vectors), self.policy.train_sample), replace=False)
            index.train(vectors[np.sort(sample)])
            index.make_direct_map()  # so a later rebuild can read the vectors back
        index.add(vectors)
        self.index, self.kind, self.built_size = index, kind, len(vectors)
