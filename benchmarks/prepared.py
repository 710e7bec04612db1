"""A benchmark bug made ready for a generation experiment: a private copy of its project,
the failure reproduced, a validation pool, and the reference fix's lines as locations.

Experiments that compare generators or decoding settings (scripts/bench_constrained.py,
scripts/bench_rag.py) give every variant the same holes (perfect fault localization) and
validate every candidate, so their differences come from generation alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from benchmarks.bugs import Bug, given_locations
from repairbot.config import load_settings
from repairbot.domain import SuspiciousLocation
from repairbot.localize import GivenLines, parse_given
from repairbot.pipeline import baseline_revision, make_runner, reproduce_failure
from repairbot.workspace import Workspace
from validators.pool import ValidationPool

REPRODUCE_TIMEOUT_S = 300


@dataclass(frozen=True)
class PreparedBug:
    root: Path  # the copy every variant generates against; the pool validates on its own copies
    pool: ValidationPool
    locations: list[SuspiciousLocation]  # one per run of faulty lines, each scored 1.0


@contextmanager
def prepared(bug: Bug) -> Iterator[PreparedBug]:
    settings = load_settings(
        bug.project, test_command=bug.test_command, java_main_roots=bug.main_roots, java_test_roots=bug.test_roots,
        test_timeout_s=REPRODUCE_TIMEOUT_S, baseline_reruns=0,
    )
    with Workspace(bug.project) as workspace:
        runner = make_runner(settings, workspace.root)
        runner.prepare(workspace.root)
        reproduction = reproduce_failure(runner, workspace, settings, baseline_revision(bug.project, settings))
        pool = ValidationPool(runner, workspace.root, reproduction, 1, workspace.scratch)
        locations = []
        for spec in given_locations(bug):
            given = parse_given(spec)
            assert isinstance(given, GivenLines)
            locations.append(SuspiciousLocation(given.file, given.start_line, given.end_line, 1.0, "given"))
        yield PreparedBug(workspace.root, pool, locations)
