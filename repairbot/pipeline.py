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
from repairbot.generate.infill import infill_generator
from repairbot.generate.templates import TemplateGenerator
from repairbot.localize import localize
from repairbot.models import resolve
from repairbot.rank import normalized, order_for_validation, rank_patches
from repairbot.reproduce import reproduce
from repairbot.workspace import Workspace
from validators.pytest_runner import PytestRunner, choose_sandbox, default_test_command
from validators.sandbox import SandboxUnavailable
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
        result = _run_job(job_id, project, settings, make_runner(settings), store, progress)
    except BadInput as exc:
        store.finish_job(job_id, JobStatus.FAILED, error=str(exc))
        raise
    except BaseException as exc:
        store.finish_job(job_id, JobStatus.FAILED, error=f"internal error: {exc!r}")
        raise
    return result


def make_runner(settings: Settings) -> PytestRunner:
    """The test runner of a job: its command in the sandbox the settings ask for."""
    try:
        return PytestRunner(settings.test_command or default_test_command(), choose_sandbox(settings.sandbox))
    except SandboxUnavailable as exc:
        raise BadInput(f"{exc} (set REPAIRBOT_SANDBOX=auto to fall back to resource limits only)") from exc


def generator_names(settings: Settings) -> tuple[list[str], str]:
    """The generators to run, in order, and a note for the progress when infill is left out
    because no model is installed (only when the settings did not name the generators).
    Raises BadInput when the settings ask for infill and the model is not usable."""
    if settings.generators is not None:
        if "infill" in settings.generators:
            resolve(settings.model, settings.data_dir)
        return list(settings.generators), ""
    try:
        resolve(settings.model, settings.data_dir)
    except BadInput:
        return ["templates"], f" (templates only: model {settings.model} is not installed, see `repairbot model list`)"
    return ["templates", "infill"], ""


def _generator(name: str, settings: Settings, time_left_s: float) -> Generator:
    return TemplateGenerator() if name == "templates" else infill_generator(settings, time_left_s)


def _batches(name: str, locations: list[SuspiciousLocation]) -> list[list[SuspiciousLocation]]:
    """Templates rank the edits of all locations together (enumerating them takes
    milliseconds); a model takes seconds per location, so the candidates of each location
    are validated before the model is asked about the next one."""
    return [locations] if name == "templates" else [[location] for location in locations]


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
        timings[name] = timings.get(name, 0.0) + time.monotonic() - start

    def over_budget() -> bool:
        spent = time.monotonic() - job_start > settings.time_budget_s
        if spent:
            progress(f"time budget of {settings.time_budget_s:.0f}s spent")
        return spent

    with stage("intake", f"copying {project}"):
        check_project(project)
        names, note = generator_names(settings)
        workspace = Workspace(project)
    with workspace:
        runner.prepare(workspace.root)
        store.set_sandbox(job_id, runner.sandbox.description)
        coverage_file = runner.coverage_file(workspace.root)
        with stage("reproduce", f"running the test suite with per-test coverage ({runner.sandbox.mode} sandbox)"):
            reproduction = reproduce(runner, workspace.root, settings.test_timeout_s)
            store.record_reproduction(job_id, reproduction)
        with stage("localize", f"{len(reproduction.failing)} failing test(s); ranking suspicious lines"):
            locations = localize(
                reproduction, workspace.root, coverage_file, settings.max_locations,
                formula=settings.localize_formula, granularity=settings.localize_granularity,
                trace_weight=settings.stack_trace_weight, given=settings.locations,
            )
            store.record_locations(job_id, locations)
        if not locations:
            raise BadInput("the failing tests execute no source line outside the tests: nothing to localize")
        validator = CandidateValidator(runner, workspace.root, reproduction)
        validations: list[ValidationResult] = []
        candidate_ids: dict[Candidate, int] = {}
        tried: set[tuple[str, str]] = set()
        first_plausible: float | None = None
        plausible = 0
        for name in names:
            generator: Generator | None = None
            for batch in _batches(name, locations):
                if plausible >= settings.max_plausible or len(validations) >= settings.max_candidates or over_budget():
                    break
                with stage("generate", f"{name}: generating patches for {len(batch)} suspicious line(s){note}"):
                    time_left = settings.time_budget_s - (time.monotonic() - job_start)
                    generator = generator or _generator(name, settings, time_left)
                    fresh = [
                        c for c in generator.generate(workspace.root, batch, settings.max_candidates)
                        if (c.file, normalized(c)) not in tried
                    ]
                    candidates = order_for_validation(fresh)[: settings.max_candidates - len(validations)]
                with stage("validate", f"validating {len(candidates)} candidate(s)"):
                    for index, candidate in enumerate(candidates, start=1):
                        if over_budget():
                            break
                        progress(f"validating {index}/{len(candidates)}: {candidate.file} {candidate.description}")
                        tried.add((candidate.file, normalized(candidate)))
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
