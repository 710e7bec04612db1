"""BM25 over code tokens (bm25s).

Code needs its own tokenizer: `getUserName` must match `user_name`, and the operators that
make a bug pattern (`<=`, `+ 1`, `!=`) must count, while brackets and commas, present in
every snippet, only cost time on long posting lists.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from pathlib import Path

import bm25s
import numpy as np

_TOKEN = re.compile(
    r"[A-Za-z_][A-Za-z0-9_]*|\d+(?:\.\d+)?|==|!=|<=|>=|\+=|-=|\*\*|//|&&|\|\||<<|>>|->|\+\+|--|[-+*/%<>=!&|^~@]"
)
POSTINGS_BUDGET = 2_000_000  # ~10 ms of summing on this machine kind
_WORD_PART = re.compile(r"[A-Z]+(?=[A-Z][a-z]|\d|\b|_)|[A-Z]?[a-z]+|[A-Z]+|\d+")


def code_tokens(text: str) -> list[str]:
    """Lower-cased identifiers, their camelCase/snake_case parts, numbers and operators."""
    return [term for token in _TOKEN.findall(text) for term in _terms(token)]


@functools.lru_cache(maxsize=200_000)
def _terms(token: str) -> tuple[str, ...]:
    """Cached: code repeats its names, and splitting them dominates indexing time."""
    if not (token[0].isalpha() or token[0] == "_"):
        return (token,)
    parts = _WORD_PART.findall(token)
    return (token.lower(), *(part.lower() for part in parts)) if len(parts) > 1 else (token.lower(),)


class LexicalIndex:
    """A BM25 index over documents 0..n-1; bm25s has no incremental add, so growing the
    corpus means `build` again (seconds per 100k snippets)."""

    def __init__(self, bm25: bm25s.BM25 | None = None, size: int = 0) -> None:
        self._bm25 = bm25
        self.size = size

    @classmethod
    def build(cls, texts: Iterable[str]) -> LexicalIndex:
        # Token ids built here: handing bm25s strings makes it do the same, twice as slowly.
        vocabulary: dict[str, int] = {}
        corpus = [[vocabulary.setdefault(term, len(vocabulary)) for term in code_tokens(text)] for text in texts]
        if not corpus:
            return cls()
        bm25 = bm25s.BM25()
        bm25.index((corpus, vocabulary), show_progress=False)
        return cls(bm25, len(corpus))

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every document (0 for no shared token).

        Summed here from bm25s's precomputed per-(term, document) scores with one
        `np.bincount`: bm25s's own scorer loops in Python unless numba is installed. Each
        distinct query term counts once, rarest first, until `POSTINGS_BUDGET` postings are
        taken: only in a large corpus does that leave out anything, and then only terms like
        `=` or `self` that occur in a large share of documents and so carry little weight.
        """
        if self._bm25 is None:
            return np.zeros(self.size, dtype=np.float32)
        vocabulary = self._bm25.vocab_dict
        distinct = dict.fromkeys(vocabulary[term] for term in code_tokens(query) if term in vocabulary)
        terms = np.array(list(distinct), dtype=np.int64)
        matrix = self._bm25.scores  # CSC by term: data / indices / indptr
        starts, ends = matrix["indptr"][terms], matrix["indptr"][terms + 1]
        order = np.argsort(ends - starts, kind="stable")
        taken = order[np.cumsum((ends - starts)[order]) <= POSTINGS_BUDGET]
        if len(taken) == 0:
            return np.zeros(self.size, dtype=np.float32)
        documents = np.concatenate([matrix["indices"][starts[i] : ends[i]] for i in taken])
        weights = np.concatenate([matrix["data"][starts[i] : ends[i]] for i in taken])
        return np.bincount(documents, weights=weights, minlength=self.size).astype(np.float32)

    def save(self, directory: Path) -> None:
        if self._bm25 is not None:
            self._bm25.save(str(directory), show_progress=False)

    @classmethod
    def load(cls, directory: Path, size: int) -> LexicalIndex:
        """Memory-mapped: the score matrix stays on disk until a query touches it."""
        if size == 0:
            return cls()
        return cls(bm25s.BM25.load(str(directory), mmap=True, show_progress=False), size)
