"""The pipeline's retrieve stage: for each suspicious location, the most similar past fixes
(RAP-Gen) and the most similar lines of the same file (MultiMend).

The query is the suspicious lines with one line of context on each side, the same shape as
the hunk pairs mining stores (see `MiningLimits.context`), so a location matches a past
hunk like for like. Similar lines come from the file itself, because a bug is often the one
line that differs from its siblings (`a[i] < b[j]` where every other comparison is `<=`);
generation sees them as context. They are ranked with the index's encoder, as MultiMend
ranks with embeddings: the lines share identifiers with the suspicious one by construction,
so lexical overlap would rank them all alike.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from repairbot.domain import SuspiciousLocation
from retrieval import syntax
from retrieval.index import HybridIndex, RetrievedFix

if TYPE_CHECKING:  # torch loads only where text is encoded
    from retrieval.encoders import Encoder

CONTEXT_LINES = 1
MAX_FILE_LINES = 2000  # lines of a file compared for similar lines (the first ones)


@dataclass(frozen=True)
class SimilarLine:
    line: int  # 1-based
    text: str
    score: float


@dataclass
class RetrievalContext:
    """What generation gets for one location: past fixes, best first, and similar lines."""

    fixes: list[RetrievedFix] = field(default_factory=list)
    similar_lines: list[SimilarLine] = field(default_factory=list)


def retrieve(
    project_root: Path, locations: list[SuspiciousLocation], index: HybridIndex, k: int = 5,
    similar_lines: int = 5,
) -> dict[SuspiciousLocation, RetrievalContext]:
    """Context for every location; an unreadable file or an unsupported language gets an
    empty context rather than an error, since generation can still work without it."""
    contexts: dict[SuspiciousLocation, RetrievalContext] = {}
    files: dict[str, list[str] | None] = {}
    line_vectors: dict[str, tuple[list[int], np.ndarray]] = {}
    for location in locations:
        if location.file not in files:
            files[location.file] = _read_lines(project_root / location.file)
        lines = files[location.file]
        language = syntax.language_for(location.file)
        if lines is None or language is None:
            contexts[location] = RetrievalContext()
            continue
        query = query_text(lines, location)
        context = RetrievalContext(fixes=index.search(query, language, k))
        if similar_lines > 0 and index.encoder is not None:
            if location.file not in line_vectors:
                line_vectors[location.file] = _embed_lines(lines, language, index.encoder)
            context.similar_lines = _similar(lines, location, language, index.encoder,
                                             line_vectors[location.file], similar_lines)
        contexts[location] = context
    return contexts


def query_text(lines: list[str], location: SuspiciousLocation) -> str:
    start = max(location.start_line - 1 - CONTEXT_LINES, 0)
    end = min(location.end_line + CONTEXT_LINES, len(lines))
    return textwrap.dedent("".join(lines[start:end]))


def _similar(
    lines: list[str], location: SuspiciousLocation, language: str, encoder: Encoder,
    embedded: tuple[list[int], np.ndarray], n: int,
) -> list[SimilarLine]:
    numbers, vectors = embedded
    keep = [i for i, number in enumerate(numbers) if not location.start_line <= number <= location.end_line]
    suspicious = textwrap.dedent("".join(lines[location.start_line - 1 : location.end_line]))
    if not keep or not suspicious.strip():
        return []
    scores = vectors[keep] @ encoder.encode([suspicious], [language])[0]
    best = np.argsort(-scores, kind="stable")[:n]
    return [SimilarLine(numbers[keep[i]], lines[numbers[keep[i]] - 1].rstrip("\n"), float(scores[i])) for i in best]


def _embed_lines(lines: list[str], language: str, encoder: Encoder) -> tuple[list[int], np.ndarray]:
    """Vectors of the file's code lines, with their 1-based numbers: blank lines, comments
    and lone brackets carry nothing to compare."""
    numbers = [
        number for number, line in enumerate(lines[:MAX_FILE_LINES], start=1)
        if len(line.strip()) >= 3 and not line.strip().startswith(("#", "//", "/*", "*"))
    ]
    texts = [lines[number - 1].strip() for number in numbers]
    vectors = encoder.encode(texts, [language] * len(texts)) if texts else np.zeros((0, encoder.dim), np.float32)
    return numbers, vectors


def _read_lines(path: Path) -> list[str] | None:
    try:
        return path.read_text(encoding="utf-8").splitlines(keepends=True)
    except (OSError, UnicodeDecodeError):
        return None
