"""The index's pairs, in id order, on disk.

A JSONL file (the corpus format itself, so an index's pairs can be read or exported with any
tool) plus an array of line offsets: looking up the ten pairs a query returns reads ten
lines, and a million-pair index costs 8 MB of offsets in memory rather than its text.
The file is append-only: saving new pairs appends their lines, then replaces the offsets
file, so an interrupted save leaves the previous state readable.
"""

from __future__ import annotations

import json
import mmap
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from retrieval.corpus import BugFixPair
from retrieval.files import save_array

PAIRS_FILE = "pairs.jsonl"
OFFSETS_FILE = "offsets.npy"


class PairStore:
    def __init__(self) -> None:
        self._directory: Path | None = None
        self._map: mmap.mmap | None = None
        self._offsets = np.zeros(1, dtype=np.int64)  # line i is bytes offsets[i]..offsets[i+1]
        self._pending: list[BugFixPair] = []

    @classmethod
    def load(cls, directory: Path) -> PairStore:
        store = cls()
        store._open(directory)
        return store

    def __len__(self) -> int:
        return len(self._offsets) - 1 + len(self._pending)

    def __getitem__(self, index: int) -> BugFixPair:
        saved = len(self._offsets) - 1
        if not 0 <= index < len(self):
            raise IndexError(index)
        if index >= saved:
            return self._pending[index - saved]
        assert self._map is not None
        line = self._map[self._offsets[index] : self._offsets[index + 1]]
        return BugFixPair(**json.loads(line))  # validated when it was added

    def __iter__(self) -> Iterator[BugFixPair]:
        return (self[i] for i in range(len(self)))

    def extend(self, pairs: list[BugFixPair]) -> None:
        self._pending.extend(pairs)

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / PAIRS_FILE
        saved_bytes = int(self._offsets[-1])
        if self._directory is None or self._directory.resolve() != directory.resolve():
            if self._directory is not None:
                shutil.copyfile(self._directory / PAIRS_FILE, target)
            else:
                target.write_bytes(b"")
        lines = [(pair.to_json() + "\n").encode("utf-8") for pair in self._pending]
        with target.open("r+b") as handle:
            handle.truncate(saved_bytes)  # drop what an interrupted save appended
            handle.seek(saved_bytes)
            handle.writelines(lines)
            handle.flush()
            os.fsync(handle.fileno())
        sizes = np.fromiter((len(line) for line in lines), dtype=np.int64, count=len(lines))
        offsets = np.concatenate([self._offsets, saved_bytes + np.cumsum(sizes)])
        save_array(directory / OFFSETS_FILE, offsets)
        self._pending = []
        self._open(directory)

    def _open(self, directory: Path) -> None:
        offsets = np.load(directory / OFFSETS_FILE)
        if self._map is not None:
            self._map.close()
        self._map = None
        if offsets[-1] > 0:
            with (directory / PAIRS_FILE).open("rb") as handle:
                self._map = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
            if len(self._map) < offsets[-1]:
                raise ValueError(f"{directory / PAIRS_FILE} is shorter than its offsets say: the index is damaged")
        self._offsets = offsets
        self._directory = directory

