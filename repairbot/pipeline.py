"""One repair job, stage by stage:

    intake -> reproduce -> localize -> generate -> validate -> rank -> report

This module is the only place that knows the order. Each stage is a function or class of
its own module taking and returning the dataclasses of `repairbot.domain`; this file
composes them, times them, records them in the database and enforces the job's budgets.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from repairbot.config import Settings
from repairbot.db.models import JobStatus
from repairbot.db.store import JobStore
from repairbot.domain import Candidate, RepairResult, SuspiciousLocation, ValidationResult, Verdict
from repairbot.errors import BadInput
from repairbot.generate.templates import TemplateGenerator
from repairbot.localize import localize
from repairbot.rank import order_for_validation, rank_patches
from repairbot.reproduce import reproduce
from repairbot.workspace import Workspace
from validators.pytest_runner import PytestRunner, default_test_command
from validators.validate import CandidateValidator

Progress = Callable[[str], None]


class Generator(Protocol):
    name: str

    def generate(self, project_root: Path, locations: list[SuspiciousLocation], limit: int) -> list[Candidate]: ...


def repair(project: Path, settings: Settings, store: JobStore, progress: Progress = lambda _: None) -> RepairResult:
    """Run a whole job on `project`; the user's tree is only read. Raises BadInput (after
    recording it on the job) when the input cannot be repaired as given."""
    command = settings.test_command or default_test_command()
    job_id = store.start_job(str(project.resolve()), command, settings.model_dump(mode="json"))
    try:
        result = _run_job(job_id, project, settings, PytestRunner(command), store, progress)
    except BadInput as exc:
        store.finish_job(job_id, JobStatus.FAILED, error=str(exc))
        raise
    except BaseException as exc:
        store.finish_job(job_id, JobStatus.FAILED, error=f"internal error: {exc!r}")
        raise
    return result


def check_project(project: Path) -> None:
    if not project.exists():
        raise BadInput(f"{project} does not exist")
    if not project.is_dir():
        raise BadInput(f"{project} is not a directory")
    if next(project.rglob("*.py"), None) is None:
        raise BadInput(f"{project} is not a Python project: it holds no .py files")


def _run_job(
    job_id: int, project: Path, settings: Settings, runner: PytestRunner, store: JobStore, progress: Progress
) -> RepairResult:
    timings: dict[str, float] = {}
    job_start = time.monotonic()

    @contextmanager
    def stage(name: str, message: str) -> Iterator[None]:
        store.set_stage(job_id, name)
        progress(message)
        start = time.monotonic()
        yield
        timings[name] = time.monotonic() - start

    with stage("intake", f"copying {project}"):
        check_project(project)
        workspace = Workspace(project)
    with workspace:
        coverage_file = workspace.scratch / "coverage"
        with stage("reproduce", "running the test suite with per-test coverage"):
            reproduction = reproduce(runner, workspace.root, coverage_file, settings.test_timeout_s)
            store.record_reproduction(job_id, reproduction)
        with stage("localize", f"{len(reproduction.failing)} failing test(s); ranking suspicious lines"):
            locations = localize(reproduction, workspace.root, coverage_file, settings.max_locations)
            store.record_locations(job_id, locations)
        if not locations:
            raise BadInput("the failing tests execute no source line outside the tests: nothing to localize")
        with stage("generate", f"generating patches for {len(locations)} suspicious line(s)"):
            generators: list[Generator] = [TemplateGenerator()]
            candidates = order_for_validation(
                [c for g in generators for c in g.generate(workspace.root, locations, settings.max_candidates)]
            )[: settings.max_candidates]
        validations: list[ValidationResult] = []
        candidate_ids: dict[Candidate, int] = {}
        first_plausible: float | None = None
        with stage("validate", f"validating {len(candidates)} candidate(s)"):
            validator = CandidateValidator(runner, workspace.root, reproduction)
            plausible = 0
            for index, candidate in enumerate(candidates, start=1):
                if time.monotonic() - job_start > settings.time_budget_s:
                    progress(f"time budget of {settings.time_budget_s:.0f}s spent")
                    break
                progress(f"validating {index}/{len(candidates)}: {candidate.file} {candidate.description}")
                validation = validator.validate(candidate)
                validations.append(validation)
                candidate_ids[candidate] = store.record_validation(job_id, validation)
                if validation.verdict is Verdict.PLAUSIBLE:
                    plausible += 1
                    if first_plausible is None:
                        first_plausible = time.monotonic() - job_start
                    if plausible >= settings.max_plausible:
                        break
    patches = rank_patches(validations)
    timings["total"] = time.monotonic() - job_start
    store.finish_job(
        job_id,
        JobStatus.SUCCEEDED if patches else JobStatus.NO_PATCH,
        timings=timings,
        time_to_first_plausible_s=first_plausible,
        ranked_candidate_ids=[candidate_ids[p.candidate] for p in patches],
    )
    return RepairResult(
        job_id=job_id,
        project=str(project.resolve()),
        reproduction=reproduction,
        locations=locations,
        validations=validations,
        patches=patches,
        timings=timings,
        time_to_first_plausible_s=first_plausible,
    )
