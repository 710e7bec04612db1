"""A deterministic encoder for retrieval tests: a hashed bag of tokens, so that the index,
mining and retrieve tests need no transformer (the real MiniLM has tests of its own)."""

from __future__ import annotations

import hashlib
import re

import numpy as np


class HashingEncoder:
    name = "hashing-test-encoder"
    dim = 64
    config = {"source": "hashing-test-encoder"}

    def encode(self, texts: list[str], languages: list[str | None]) -> np.ndarray:
        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in re.findall(r"\w+|[^\s\w]", text):
                vectors[row, int(hashlib.md5(token.encode()).hexdigest(), 16) % self.dim] += 1
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)
