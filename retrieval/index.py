"""The hybrid index of bug-fix pairs: dense (FAISS) and lexical (BM25) search over the
buggy side of each pair, fused by reciprocal rank.

Why both: dense vectors find the same bug pattern under other names (`range(len(xs) + 1)`
for `range(len(items) + 1)`); BM25 finds rare identifiers and API names exactly, which a
small sentence encoder blurs. Reciprocal-rank fusion needs no score calibration between the
two (a cosine and a BM25 score live on unrelated scales) and no tuning data.

On disk, one directory:

    meta.json      format, size, encoder, dense kind (written last: the commit point)
    pairs.jsonl    the pairs, id order (see pairstore)
    offsets.npy
    dense.faiss    FAISS index, memory-mapped on load
    bm25/          bm25s index, memory-mapped on load
    languages.npy  language code of each id (filters)
    keys.npy       dedup key of each id
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from retrieval.corpus import BugFixPair
from retrieval.dense import DenseIndex, DensePolicy
from retrieval.files import locked, save_array, write_text
from retrieval.lexical import LexicalIndex
from retrieval.pairstore import PairStore

if TYPE_CHECKING:  # torch loads only where text is encoded
    from retrieval.encoders import Encoder

FORMAT = 1
META_FILE = "meta.json"
DENSE_FILE = "dense.faiss"
BM25_DIR = "bm25"
LANGUAGES_FILE = "languages.npy"
KEYS_FILE = "keys.npy"


class BadIndex(ValueError):
    """An index directory that cannot be used: missing, damaged, or built by another encoder."""


@dataclass(frozen=True)
class RetrievedFix:
    """One search hit. `score` is the fused score that orders hits; `dense_score` (cosine)
    and `lexical_score` (BM25) are the components, None where the pair was not among that
    side's candidates."""

    pair: BugFixPair
    score: float
    dense_score: float | None
    lexical_score: float | None


@dataclass(frozen=True)
class IndexStats:
    size: int
    languages: dict[str, int]
    encoder: str
    dim: int
    dense_kind: str
    disk_bytes: int


class HybridIndex:
    """Pairs, searchable by code. `encoder` is needed to add or search by text; an index
    opened without one still serves `add(..., vectors=)`, `search(..., vector=)` and stats.

    `depth` candidates are taken from each side before fusion; `fusion_k` is the RRF
    constant (60, as in Cormack et al.): larger flattens the advantage of the top ranks.
    """

    def __init__(
        self,
        encoder_name: str,
        dim: int,
        *,
        encoder_config: dict[str, Any] | None = None,
        encoder: Encoder | None = None,
        policy: DensePolicy = DensePolicy(),
        depth: int = 100,
        fusion_k: int = 60,
    ) -> None:
        if encoder is not None and (encoder.name != encoder_name or encoder.dim != dim):
            raise BadIndex(
                f"the index holds vectors of {encoder_name} ({dim}-d); "
                f"it cannot be used with {encoder.name} ({encoder.dim}-d)"
            )
        self.encoder_name = encoder_name
        self.encoder_config = encoder_config or {}
        self.dim = dim
        self.encoder = encoder
        self.depth = depth
        self.fusion_k = fusion_k
        self.dense = DenseIndex(dim, policy)
        self.store = PairStore()
        self._lexical: LexicalIndex | None = LexicalIndex()
        self._languages: list[str] = []
        self._codes = np.zeros(0, dtype=np.uint16)
        self._keys = np.zeros(0, dtype="S32")
        self._key_set: set[bytes] | None = None
        self._filters: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._saved_to: Path | None = None  # the directory this state equals, if any

    @classmethod
    def for_encoder(
        cls, encoder: Encoder, *, policy: DensePolicy = DensePolicy(), depth: int = 100, fusion_k: int = 60
    ) -> HybridIndex:
        """A new, empty index for `encoder`'s vectors."""
        return cls(encoder.name, encoder.dim, encoder_config=encoder.config, encoder=encoder, policy=policy,
                   depth=depth, fusion_k=fusion_k)

    def __len__(self) -> int:
        return len(self.store)

    def add(self, pairs: Iterable[BugFixPair], vectors: np.ndarray | None = None) -> int:
        """Add the pairs not already present (by `BugFixPair.key`); returns how many were new.
        `vectors` (one row per pair, unit length) skip encoding, e.g. when they were computed
        elsewhere."""
        pairs = list(pairs)
        if vectors is not None and len(vectors) != len(pairs):
            raise ValueError(f"{len(pairs)} pairs but {len(vectors)} vectors")
        known = self._known_keys()
        keys: dict[bytes, int] = {}  # new key -> position in `pairs`, first occurrence
        for i, pair in enumerate(pairs):
            key = pair.key.encode("ascii")
            if key not in known and key not in keys:
                keys[key] = i
        if not keys:
            return 0
        fresh = list(keys.values())
        new = [pairs[i] for i in fresh]
        if vectors is None:
            vectors = self._require_encoder().encode([p.buggy for p in new], [p.language for p in new])
        else:
            vectors = np.asarray(vectors, dtype=np.float32)[fresh]
        self.dense.add(vectors)  # first: it is what can fail (shape), before any state changes
        known.update(keys)
        self.store.extend(new)
        self._codes = np.concatenate([self._codes, np.array([self._code(p.language) for p in new], dtype=np.uint16)])
        self._keys = np.concatenate([self._keys, np.array(list(keys), dtype="S32")])
        self._lexical = None
        self._filters.clear()
        self._saved_to = None
        return len(new)

    def search(
        self, query: str, language: str | None = None, k: int = 10, vector: np.ndarray | None = None
    ) -> list[RetrievedFix]:
        """The k pairs whose buggy code best matches `query`, best first; only pairs of
        `language` when given. `vector` is the query's embedding, when already computed."""
        if len(self) == 0 or k <= 0:
            return []
        mask: np.ndarray | None = None
        bitmap: np.ndarray | None = None
        if language is not None:
            if language not in self._languages:
                return []
            mask, bitmap = self._filter(language)
        depth = max(self.depth, 5 * k)
        if vector is None:
            vector = self._require_encoder().encode([query], [language])[0]
        dense_scores, dense_ids = self.dense.search(vector, depth, bitmap)
        lexical = self._lexical_index().scores(query)
        if mask is not None:
            lexical = np.where(mask, lexical, 0.0)
        lexical_ids = _top(lexical, depth)
        fused: dict[int, float] = {}
        for ranked in (dense_ids.tolist(), lexical_ids.tolist()):
            for rank, doc in enumerate(ranked):
                fused[doc] = fused.get(doc, 0.0) + 1.0 / (self.fusion_k + rank + 1)
        dense_by_id = dict(zip(dense_ids.tolist(), dense_scores.tolist(), strict=True))
        dense_top = max(dense_scores[0], 1e-9) if len(dense_scores) else 1.0
        lexical_top = lexical[lexical_ids[0]] if len(lexical_ids) else 1.0

        def closeness(doc: int) -> float:
            """Breaks rank ties (first on one side, second on the other): the pair nearer
            to each side's best score, relative to that best, wins."""
            return dense_by_id.get(doc, 0.0) / dense_top + lexical[doc] / lexical_top

        best = sorted(fused, key=lambda doc: (-round(fused[doc], 12), -closeness(doc), doc))[:k]
        return [
            RetrievedFix(
                pair=self.store[doc],
                score=fused[doc],
                dense_score=dense_by_id.get(doc),
                lexical_score=float(lexical[doc]) if lexical[doc] > 0 else None,
            )
            for doc in best
        ]

    def stats(self) -> IndexStats:
        counts = np.bincount(self._codes, minlength=len(self._languages))
        disk = 0
        if self._saved_to is not None:
            disk = sum(f.stat().st_size for f in self._saved_to.rglob("*") if f.is_file())
        return IndexStats(
            size=len(self),
            languages={name: int(counts[i]) for i, name in enumerate(self._languages)},
            encoder=self.encoder_name,
            dim=self.dim,
            dense_kind=self.dense.kind,
            disk_bytes=disk,
        )

    def save(self, directory: Path) -> None:
        """Write the index to `directory`; a no-op when it already holds this state.

        Saves are serialized by a lock on the directory, so concurrent writers cannot mix
        their files; but each writes the state it holds, so with two writers the last save
        wins. Keep one writer per index directory.
        """
        if self._saved_to is not None and self._saved_to.resolve() == directory.resolve():
            return
        directory.mkdir(parents=True, exist_ok=True)
        with locked(directory):
            self.store.save(directory)
            self.dense.save(directory / DENSE_FILE)
            bm25 = directory / BM25_DIR
            partial = directory / (BM25_DIR + ".partial")
            shutil.rmtree(partial, ignore_errors=True)
            partial.mkdir()
            self._lexical_index().save(partial)
            shutil.rmtree(bm25, ignore_errors=True)
            os.replace(partial, bm25)
            save_array(directory / LANGUAGES_FILE, self._codes)
            save_array(directory / KEYS_FILE, self._keys)
            meta = {
                "format": FORMAT,
                "size": len(self),
                "encoder": self.encoder_name,
                "encoder_config": self.encoder_config,
                "dim": self.dim,
                "dense_kind": self.dense.kind,
                "dense_built_size": self.dense.built_size,
                "languages": self._languages,
            }
            write_text(directory / META_FILE, json.dumps(meta, indent=2) + "\n")
        self._saved_to = directory

    @classmethod
    def load(
        cls, directory: Path, encoder: Encoder | None = None, *, policy: DensePolicy = DensePolicy(),
        depth: int = 100, fusion_k: int = 60,
    ) -> HybridIndex:
        meta = read_meta(directory)
        index = cls(meta["encoder"], meta["dim"], encoder_config=meta["encoder_config"], encoder=encoder,
                    policy=policy, depth=depth, fusion_k=fusion_k)
        size = meta["size"]
        try:
            index.store = PairStore.load(directory)
            index.dense = DenseIndex.load(directory / DENSE_FILE, meta["dim"], meta["dense_kind"],
                                          meta["dense_built_size"], policy)
            index._lexical = LexicalIndex.load(directory / BM25_DIR, size)
            index._codes = np.load(directory / LANGUAGES_FILE)
            index._keys = np.load(directory / KEYS_FILE)
        except (OSError, ValueError, RuntimeError) as exc:
            raise BadIndex(f"cannot read the index in {directory}: {exc}") from exc
        sizes = {len(index.store), index.dense.size, len(index._codes), len(index._keys)}
        if sizes != {size}:
            raise BadIndex(f"the index in {directory} is inconsistent (an interrupted save?): "
                           f"parts hold {sorted(sizes)} pairs, meta.json says {size}; rebuild it")
        index._languages = list(meta["languages"])
        index._saved_to = directory
        return index

    def _known_keys(self) -> set[bytes]:
        """Loaded on the first add only: searching a large index never pays for the set."""
        if self._key_set is None:
            self._key_set = set(self._keys.tolist())
        return self._key_set

    def _code(self, language: str) -> int:
        if language not in self._languages:
            self._languages.append(language)
        return self._languages.index(language)

    def _filter(self, language: str) -> tuple[np.ndarray, np.ndarray]:
        """(boolean mask, FAISS bitmap) of the ids in `language`, cached until the next add."""
        if language not in self._filters:
            mask = self._codes == self._languages.index(language)
            self._filters[language] = (mask, np.packbits(mask, bitorder="little"))
        return self._filters[language]

    def _lexical_index(self) -> LexicalIndex:
        if self._lexical is None:
            self._lexical = LexicalIndex.build(pair.buggy for pair in self.store)
        return self._lexical

    def _require_encoder(self) -> Encoder:
        if self.encoder is None:
            raise BadIndex(f"this index was opened without an encoder; text needs {self.encoder_name}")
        return self.encoder


def read_meta(directory: Path) -> dict:
    path = directory / META_FILE
    if not path.is_file():
        raise BadIndex(f"no index in {directory} (no {META_FILE})")
    try:
        meta = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise BadIndex(f"cannot read {path}: {exc}") from exc
    if meta.get("format") != FORMAT:
        raise BadIndex(f"{path} has index format {meta.get('format')}, this version reads {FORMAT}: rebuild it")
    return meta


def _top(scores: np.ndarray, n: int) -> np.ndarray:
    """Ids of the n highest positive scores, best first."""
    positive = np.flatnonzero(scores > 0)
    if len(positive) > n:
        positive = positive[np.argpartition(-scores[positive], n - 1)[:n]]
    return positive[np.argsort(-scores[positive], kind="stable")]

