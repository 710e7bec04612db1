"""The pipeline's retrieve stage: for each suspicious location, the most similar past fixes
(RAP-Gen) and the most similar lines of the same file (MultiMend).

The query is the suspicious lines with one line of context on each side, the same shape as
the hunk pairs mining stores (see `MiningLimits.context`), so a location matches a past
hunk like for like. Similar lines come from the file itself, because a bug is often the one
line that differs from its siblings (`a[i] < b[j]` where every other comparison is `<=`);
generation sees them as context. They are ranked with the index's encoder, as MultiMend
ranks with embeddings: the lines share identifiers with the suspicious one by construction,
so lexical overlap would rank them all alike. Lexical overlap only shortlists them: encoding
costs ~10 ms a line, so a large file's lines are not all embedded for every location.
"""

from __future__ import annotations

import re
import textwrap
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from repairbot.domain import SuspiciousLocation
from retrieval import syntax
from retrieval.index import HybridIndex, RetrievedFix
from validators import safe_files

if TYPE_CHECKING:  # torch loads only where text is encoded
    from retrieval.encoders import Encoder

CONTEXT_LINES = 1
SHORTLIST = 48  # lines per location embedded for similar lines, chosen by shared tokens
_TOKEN = re.compile(r"\w+|[^\w\s]")


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
    line_vectors: dict[tuple[str, int], np.ndarray] = {}  # (file, line) -> vector, across locations
    for location in locations:
        if location.file not in files:
            files[location.file] = _read_lines(project_root, location.file)
        lines = files[location.file]
        language = syntax.language_for(location.file)
        if lines is None or language is None:
            contexts[location] = RetrievalContext()
            continue
        query = query_text(lines, location)
        context = RetrievalContext(fixes=index.search(query, language, k))
        if similar_lines > 0 and index.encoder is not None:
            context.similar_lines = similar(lines, location, language, index.encoder, similar_lines,
                                            line_vectors, location.file)
        contexts[location] = context
    return contexts


def query_text(lines: list[str], location: SuspiciousLocation) -> str:
    start = max(location.start_line - 1 - CONTEXT_LINES, 0)
    end = min(location.end_line + CONTEXT_LINES, len(lines))
    return textwrap.dedent("".join(lines[start:end]))


def similar(
    lines: list[str], location: SuspiciousLocation, language: str, encoder: Encoder, n: int,
    cache: dict[tuple[str, int], np.ndarray] | None = None, file: str = "",
) -> list[SimilarLine]:
    """The `n` code lines of the file most like the suspicious ones (not those themselves):
    a shortlist by shared tokens, ranked by the encoder. `cache` keeps line vectors between
    locations of the same `file`."""
    suspicious = textwrap.dedent("".join(lines[location.start_line - 1 : location.end_line]))
    shortlist = _shortlist(lines, location, suspicious)
    if not shortlist or not suspicious.strip():
        return []
    cache = {} if cache is None else cache
    missing = [number for number in shortlist if (file, number) not in cache]
    if missing:
        vectors = encoder.encode([lines[number - 1].strip() for number in missing], [language] * len(missing))
        cache.update({(file, number): vector for number, vector in zip(missing, vectors)})
    scores = np.stack([cache[(file, number)] for number in shortlist]) @ encoder.encode([suspicious], [language])[0]
    best = np.argsort(-scores, kind="stable")[:n]
    return [SimilarLine(shortlist[i], lines[shortlist[i] - 1].rstrip("\n"), float(scores[i])) for i in best]


def _shortlist(lines: list[str], location: SuspiciousLocation, suspicious: str) -> list[int]:
    """1-based numbers of the code lines sharing the most tokens with the suspicious text,
    in file order (blank lines, comments and lone brackets carry nothing to compare)."""
    wanted = Counter(_TOKEN.findall(suspicious))
    overlap = {
        number: sum((Counter(_TOKEN.findall(line)) & wanted).values())
        for number, line in enumerate(lines, start=1)
        if not location.start_line <= number <= location.end_line
        and len(line.strip()) >= 3 and not line.strip().startswith(("#", "//", "/*", "*"))
    }
    chosen = sorted(overlap, key=lambda number: (-overlap[number], number))[:SHORTLIST]
    return sorted(chosen)


def _read_lines(project_root: Path, file: str) -> list[str] | None:
    """The file's lines, read without following a link the tests may have planted."""
    try:
        return safe_files.read_text(project_root, file).splitlines(keepends=True)
    except (OSError, UnicodeDecodeError):
        return None
