"""Spectrum-based fault localization at statement level from per-test coverage.

Each executed source line gets a spectrum: how many failing (ef) and passing (ep) tests
executed it. Ochiai, ef / sqrt(F * (ef + ep)) with F the number of failing tests, ranks
lines that every failing test runs and few passing tests run highest; it is the most
accurate single formula in empirical SBFL studies. Test code is never a suspect: a failing
assertion is the symptom, not the fault.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

import coverage

from repairbot.domain import Reproduction, SuspiciousLocation


def ochiai(ef: int, ep: int, total_failing: int) -> float:
    if ef == 0 or total_failing == 0:
        return 0.0
    return ef / math.sqrt(total_failing * (ef + ep))


def is_test_file(relative: str) -> bool:
    path = PurePosixPath(relative)
    return (
        path.name == "conftest.py"
        or path.name.startswith("test_")
        or path.stem.endswith("_test")
        or any(part in ("test", "tests", "testing") for part in path.parts[:-1])
    )


def localize(
    reproduction: Reproduction, workdir: Path, coverage_file: Path, limit: int
) -> list[SuspiciousLocation]:
    """The `limit` most suspicious source lines, best first, ties broken by file and line."""
    failing = {o.test_id for o in reproduction.failing}
    passing = set(reproduction.passing)
    data = coverage.CoverageData(basename=str(coverage_file))
    data.read()
    scored: list[SuspiciousLocation] = []
    for measured in data.measured_files():
        relative = _relative(Path(measured), workdir)
        if relative is None or is_test_file(relative):
            continue
        for line, contexts in (data.contexts_by_lineno(measured) or {}).items():
            score = ochiai(*_spectrum(contexts, failing, passing), len(failing))
            if score > 0:
                scored.append(SuspiciousLocation(relative, line, line, score))
    scored.sort(key=lambda loc: (-loc.score, loc.file, loc.start_line))
    return scored[:limit]


def _spectrum(contexts: Iterable[str], failing: set[str], passing: set[str]) -> tuple[int, int]:
    ef = ep = 0
    for context in set(contexts):
        ef += context in failing
        ep += context in passing
    return ef, ep


def _relative(measured: Path, workdir: Path) -> str | None:
    try:
        return measured.resolve().relative_to(workdir.resolve()).as_posix()
    except ValueError:
        return None
