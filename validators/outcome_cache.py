"""Never run the tests twice for the same program.

Candidates from different generators (or samples of one model, or a rerun of the same job)
often differ only in spacing, parentheses or comments. The cache keys a verdict by what
decides it: the project as it was before the patch, the test command, and the patched
file's normalized text. A hit returns the stored verdict without a test run.

The store behind it is pluggable: in memory for one job, or the job database
(`repairbot.db.store.JobStore`), so the cache also serves reruns and later jobs on the same
commit (benchmark sweeps, webhook retries).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from repairbot.domain import Candidate, StoredOutcome, ValidationResult, Verdict
from validators import safe_files


class OutcomeStore(Protocol):
    def load_outcome(self, key: str) -> StoredOutcome | None: ...

    def save_outcome(self, key: str, outcome: StoredOutcome) -> None: ...


@dataclass
class MemoryOutcomeStore:
    outcomes: dict[str, StoredOutcome] = field(default_factory=dict)

    def load_outcome(self, key: str) -> StoredOutcome | None:
        return self.outcomes.get(key)

    def save_outcome(self, key: str, outcome: StoredOutcome) -> None:
        self.outcomes[key] = outcome


# Verdicts that say something about the patch, not about the machine at that moment: a
# timeout or an infrastructure error may not repeat, so it is tried again next time.
CACHEABLE = frozenset({Verdict.PLAUSIBLE, Verdict.FAILS, Verdict.COMPILE_ERROR, Verdict.SANDBOX_VIOLATION})


@dataclass
class OutcomeCache:
    """`context` identifies the unpatched project and how it is tested (see
    `project_fingerprint`); `normalize` maps a candidate to the text its verdict depends on."""

    store: OutcomeStore
    context: str
    normalize: Callable[[Candidate], str]
    hits: int = 0

    def key(self, candidate: Candidate) -> str:
        digest = hashlib.sha256()
        for part in (self.context, candidate.file, self.normalize(candidate)):
            digest.update(part.encode("utf-8", "surrogatepass"))
            digest.update(b"\0")
        return digest.hexdigest()

    def lookup(self, candidate: Candidate) -> ValidationResult | None:
        stored = self.store.load_outcome(self.key(candidate))
        if stored is None:
            return None
        self.hits += 1
        return ValidationResult(
            candidate,
            stored.verdict,
            outcomes=list(stored.outcomes),
            duration_s=stored.duration_s,
            detail=stored.detail,
            sandbox="cache",
            cached=True,
        )

    def remember(self, result: ValidationResult) -> None:
        if result.cached or result.verdict not in CACHEABLE:
            return
        self.store.save_outcome(
            self.key(result.candidate),
            StoredOutcome(result.verdict, list(result.outcomes), result.detail, result.duration_s),
        )


def project_fingerprint(root: Path, *context: str, skip: tuple[str, ...] = (".repairbot",)) -> str:
    """SHA-256 over every file of the work copy (path and bytes) plus `context` (the test
    command, the tests that must pass...): any change to the project or the way it is tested
    gives a new key space. Reads the tree once per job, which is cheap next to one test run.
    The tests ran there: links and special files are skipped, never followed or opened
    blocking, and the tree is within the work dir caps (`safe_files.WORKSPACE_LIMITS`)."""
    digest = hashlib.sha256()
    for part in context:
        digest.update(part.encode("utf-8", "surrogatepass") + b"\0")
    for directory, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in skip and d != "__pycache__")
        for name in sorted(files):
            relative = Path(directory, name).relative_to(root).as_posix()
            try:
                content = safe_files.sha256(root, relative)
            except OSError:
                continue
            digest.update(relative.encode("utf-8", "surrogateescape") + b"\0")
            digest.update(content)
    return digest.hexdigest()
