"""One repair job, stage by stage:

    intake -> reproduce -> localize -> [retrieve] -> generate -> validate -> rank -> report

(retrieve runs only when a generator that reads past fixes, the model's, gets its turn;
with several failing tests, validation goes in small chunks and a pair of partial fixes that
together fix every failing test is validated as soon as it exists, and each generator
batch's validation is followed by combine -> validate: the other pairs, multi-hunk.)

This module is the only place that knows the order. Each stage is a function or class of
its own module taking and returning the dataclasses of `repairbot.domain`; this file
composes them, times them, records them in the database and enforces the job's budgets.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from repairbot.config import LocalizeSettings, Settings, validation_workers
from repairbot.db.models import JobStatus
from repairbot.db.store import JobStore
from repairbot.domain import (
    Candidate,
    RepairResult,
    Reproduction,
    SuspiciousLocation,
    ValidationResult,
    Verdict,
)
from repairbot.errors import BadInput, Cancelled
from repairbot.generate.combine import combine, fixed_tests
from repairbot.generate.failures import FailingTest, failing_tests
from repairbot.generate.registry import (
    GenerationContext, Generator, LearningGenerator, Retrieved, generator_kind, generator_kinds,
)
from repairbot.languages.registry import language_for, languages
from repairbot.localize import GivenLines, Suspect, check_given, parse_given, suspects
from repairbot.localize_model import rerank
from repairbot.models import load, resolve
from repairbot.overfitting import signs
from repairbot.rank import generator_family, normalized, order_for_validation, program_key, rank_patches
from repairbot.reproduce import baseline_plan, failing_at_revision, passing_in_full_copy, reproduce
from repairbot.revision import Revision
from repairbot.revision import resolve as resolve_revision
from repairbot.workspace import Workspace
from validators.pytest_runner import PytestRunner
from validators.runner import CoverageCut, CoverageUnavailable, LineCoverage, TestRunner
from validators.runners import runner_for

from validators import safe_files
from validators.outcome_cache import OutcomeCache, project_fingerprint
from validators.pool import ValidationPool
from validators.sandbox import SandboxUnavailable

Progress = Callable[[str], None]
# With several failing tests, candidates validated per worker between two looks for pairs:
# small enough that a pair follows its halves closely, large enough to keep workers busy.
PAIRING_CHUNK_PER_WORKER = 2


def repair(project: Path, settings: Settings, store: JobStore, progress: Progress = lambda _: None) -> RepairResult:
    """Run a whole job on `project`; the user's tree is only read. Raises BadInput (after
    recording it on the job) when the input cannot be repaired as given, and Cancelled
    (after recording the job as cancelled) when the caller's signal handler raised it."""
    job_id = store.start_job(str(project.resolve()), settings.test_command or [], settings.model_dump(mode="json"))
    return repair_recorded(job_id, project, settings, store, progress)


def repair_recorded(
    job_id: int, project: Path, settings: Settings, store: JobStore, progress: Progress = lambda _: None
) -> RepairResult:
    """`repair` for a job already recorded as running (by `repair`, or by a queue worker that
    claimed it: `repairbot.queue.execute`)."""
    try:
        check_project(project)
        check_given(settings.locations, project)  # before the baseline run
        revision = baseline_revision(project, settings)
        runner = make_runner(settings, project)
        store.set_runner(job_id, runner_command(runner), runner.sandbox.description)
        result = _run_job(job_id, project, settings, runner, revision, store, progress)
    except BadInput as exc:
        store.finish_job(job_id, JobStatus.FAILED, error=str(exc))
        raise
    except Cancelled as exc:  # unwinding to here ended the test runs and removed the workspace
        store.finish_job(job_id, JobStatus.CANCELLED, error=str(exc))
        exc.job_id = job_id
        raise
    except KeyboardInterrupt:  # SIGINT where no caller installed repairbot.cancel
        store.finish_job(job_id, JobStatus.CANCELLED, error="cancelled by SIGINT")
        raise
    except BaseException as exc:
        store.finish_job(job_id, JobStatus.FAILED, error=f"internal error: {exc!r}")
        raise
    return result


def baseline_revision(project: Path, settings: Settings) -> Revision | None:
    """The `baseline_rev` setting resolved in the project's git repository (None where it
    is not set); BadInput, before any test runs, where it cannot be."""
    return None if settings.baseline_rev is None else resolve_revision(project, settings.baseline_rev)


def make_runner(settings: Settings, project: Path) -> TestRunner:
    """The project's test runner (pytest, javac + JUnit, Maven, Defects4J: detected or as
    the settings say) in the sandbox the settings ask for."""
    try:
        java = settings.java
        return runner_for(
            project, settings.runner, settings.test_command, settings.sandbox, java.main_roots, java.test_roots,
            settings.defects4j,
        )
    except SandboxUnavailable as exc:
        raise BadInput(f"{exc} (set REPAIRBOT_SANDBOX=auto to fall back to resource limits only)") from exc
    except (ValueError, FileNotFoundError) as exc:
        raise BadInput(f"cannot test {project}: {exc}") from exc


def runner_command(runner: TestRunner) -> list[str]:
    """The command recorded with the job: pytest's own argv, else the runner's description."""
    return list(runner.command) if isinstance(runner, PytestRunner) else [runner.describe()]


def generator_names(settings: Settings) -> tuple[list[str], str]:
    """The generators to run, in order, and a note for the progress when the model's
    generators are left out because no model is installed (only when the settings did not
    name the generators). Raises BadInput for a name no generator is registered under, and
    when the settings ask for a generator that needs the model and the model is not usable."""
    model = settings.code_model
    if settings.generators is not None:
        try:
            kinds = [generator_kind(name) for name in settings.generators]
        except ValueError as exc:
            raise BadInput(f"generators: {exc}") from None
        if any(kind.needs_model for kind in kinds):
            resolve(model.name, model.data_dir)
        return list(settings.generators), ""
    try:
        resolve(model.name, model.data_dir)
    except BadInput:
        names = [kind.name for kind in generator_kinds() if kind.by_default and not kind.needs_model]
        return names, f" ({', '.join(names)} only: model {model.name} is not installed, see `repairbot model list`)"
    return [kind.name for kind in generator_kinds() if kind.by_default], ""


def _generator(
    job: _Job, turn: _Turn, project: Path, root: Path, locations: list[SuspiciousLocation], reproduction: Reproduction
) -> Generator:
    """The generator, made when its turn comes: a job that templates repair never loads the
    model nor retrieves the past fixes only the model reads (RAP-Gen). Its own time limit
    ends with the turn's share of the budget."""
    kind = generator_kind(turn.name)
    retrieved: Retrieved = {}
    past_fixes = job.settings.fix_retrieval
    if kind.reads_past_fixes and past_fixes.enabled:
        with job.stage("retrieve", "looking up similar past fixes"):
            from retrieval.memory import recall  # numpy, FAISS, bm25s: only when used

            retrieved = recall(
                project, root, locations, past_fixes.k, past_fixes.similar_lines, mine=past_fixes.mine_history
            )
    context = GenerationContext(
        turn.until_s - job.elapsed(), retrieved, failing_tests(root, reproduction.failing), tuple(locations)
    )
    if not kind.needs_model:
        return kind.build(job.settings, context)
    with job.stage("generate", f"{kind.name}: loading the model"):
        return kind.build(job.settings, context)


def localize_failure(
    runner: TestRunner, root: Path, reproduction: Reproduction, section: LocalizeSettings,
    deadline: float | None = None,
) -> list[Suspect]:
    """The localize stage as every command takes it (`repair`, `localize`): every suspect,
    best first, ranked as the settings' `localize` section says, the code model's surprise
    weighed in where it asks for it (until `deadline`: the job's budget)."""
    ranked = suspects(
        reproduction, root, _coverage(runner, root, section.given, deadline),
        formula=section.formula, granularity=section.granularity, trace_weight=section.trace_weight,
        given=section.given,
    )
    if section.model_weight <= 0 or section.model is None or not any(s.spectrum for s in ranked):
        return ranked
    code = section.model
    model = load(resolve(code.name, code.data_dir), code.threads, code.token_merging)
    return rerank(ranked, root, model, section.model_weight, section.model_functions, deadline)


def _coverage(runner: TestRunner, root: Path, given: Sequence[str], deadline: float | None) -> LineCoverage:
    """Per-test coverage; none when the user gave the exact faulty lines (they need no
    ranking, and a Defects4J checkout would measure it in a run of its own), a clear error
    from a runner that cannot measure it or whose measuring run the budget cut."""
    if given and all(isinstance(parse_given(spec), GivenLines) for spec in given):
        return {}
    try:
        return runner.line_coverage(root, deadline)
    except CoverageCut as exc:
        raise BadInput(
            f"the job's time budget ended: {exc}: raise time_budget_s (REPAIRBOT_TIME_BUDGET_S, --time-budget)"
        ) from exc
    except CoverageUnavailable as exc:
        raise BadInput(f"{exc}: give the faulty lines instead (--location FILE:LINE or FILE:START-END)") from exc


def check_project(project: Path) -> None:
    if not project.exists():
        raise BadInput(f"{project} does not exist")
    if not project.is_dir():
        raise BadInput(f"{project} is not a directory")
    if not any(language_for(path) is not None for path in project.rglob("*") if path.is_file()):
        names = " or ".join(language.title for language in languages())
        raise BadInput(f"{project} holds no {names} sources: repairbot repairs {names} projects")


@dataclass
class _Tally:
    """What validation has produced so far in one job."""

    validations: list[ValidationResult] = field(default_factory=list)
    candidate_ids: dict[Candidate, int] = field(default_factory=dict)
    tried: set[tuple[str, str]] = field(default_factory=set)
    # program_key -> the generators that proposed that program (agreement ranks patches).
    proposers: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    # The failing tests (their code and messages), what a plausible patch may overfit.
    tests: list[FailingTest] = field(default_factory=list)
    # Per plausible patch: its signs of overfitting them (repairbot.overfitting).
    signs: dict[Candidate, list[str]] = field(default_factory=dict)
    plausible: int = 0
    first_plausible_s: float | None = None

    @property
    def unflagged(self) -> int:
        """Plausible patches without signs of overfitting: only these end the search
        (`max_plausible`); a flagged one is kept, and reported if nothing better comes."""
        return sum(1 for found in self.signs.values() if not found)


@dataclass
class _Turn:
    """One generator's part of a job. Each generator gets a share of the budget in its turn
    (the time and the candidates left, each split evenly among it and those after it), so
    that on a suite whose every validation takes seconds the templates cannot spend the
    time before the model is asked (issue 18), nor, where a validation takes a fraction of
    a second, spend `max_candidates`; what a share left unvalidated waits for a second round."""

    name: str
    batches: Iterator[list[SuspiciousLocation]]
    until_s: float = 0.0  # job time at which this turn ends
    until_validations: int = 0  # ... or the job's count of validations at which it ends
    generator: Generator | None = None
    pending: list[Candidate] = field(default_factory=list)  # generated, not yet validated
    # The batch the generator was last asked about, and what it proposed for it: a
    # generator that learns from verdicts may ask for another turn at the same batch.
    batch: list[SuspiciousLocation] = field(default_factory=list)
    proposed: list[Candidate] = field(default_factory=list)
    again: bool = False

    def stop_asking(self, job: _Job, tally: _Tally) -> Callable[[], bool]:
        return lambda: job.done(tally) or job.elapsed() >= self.until_s or self.candidates_left(tally) <= 0

    def candidates_left(self, tally: _Tally) -> int:
        return self.until_validations - len(tally.validations)


class _Job:
    """The clock, the stage records and the budgets of one running job."""

    def __init__(self, job_id: int, settings: Settings, store: JobStore, progress: Progress) -> None:
        self.id = job_id
        self.settings = settings
        self.store = store
        self.progress = progress
        self.start = time.monotonic()
        self.timings: dict[str, float] = {}
        self.budget_spent = False
        self.spent_during: str | None = None  # the stage in which the budget ran out

    @contextmanager
    def stage(self, name: str, message: str) -> Iterator[None]:
        self.store.set_stage(self.id, name)
        self.progress(message)
        start = time.monotonic()
        yield
        self.timings[name] = self.timings.get(name, 0.0) + time.monotonic() - start
        if self.spent_during is None and self.elapsed() > self.settings.time_budget_s:
            self.spent_during = name

    def stop_reason(self, tally: _Tally) -> str:
        """Why the job stopped looking: a job with no patch says whether it ran out of time
        (and where the time went) or of candidates (issue 16)."""
        settings = self.settings
        if tally.unflagged >= settings.max_plausible:
            return f"found {tally.plausible} plausible patch(es) (max_plausible)"
        if len(tally.validations) >= settings.max_candidates:
            return f"validated max_candidates ({settings.max_candidates}) candidates"
        if self.spent_during is not None or self.elapsed() > settings.time_budget_s:
            during = f" during {self.spent_during}" if self.spent_during else ""
            return f"time budget of {settings.time_budget_s:g}s spent{during}"
        return "the generators gave no more candidates (each within its own time limit) and all were validated"

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    @property
    def deadline(self) -> float:
        """When the budget ends (`time.monotonic()`): test runs still going then are stopped."""
        return self.start + self.settings.time_budget_s

    def time_left(self) -> float:
        return max(0.0, self.settings.time_budget_s - self.elapsed())

    def over_budget(self) -> bool:
        """Asked before every candidate; says so in the progress once (a log shows each message)."""
        if not self.budget_spent and self.elapsed() > self.settings.time_budget_s:
            self.budget_spent = True
            self.progress(f"time budget of {self.settings.time_budget_s:.0f}s spent")
        return self.budget_spent

    def done(self, tally: _Tally) -> bool:
        return (
            tally.unflagged >= self.settings.max_plausible
            or len(tally.validations) >= self.settings.max_candidates
            or self.over_budget()
        )


def _run_job(
    job_id: int, project: Path, settings: Settings, runner: TestRunner, revision: Revision | None, store: JobStore,
    progress: Progress,
) -> RepairResult:
    """One call per stage, in the order of the module's docstring (retrieve, generate,
    validate and combine alternate inside `_generate_and_validate`; the report is the caller's)."""
    job = _Job(job_id, settings, store, progress)
    with job.stage("intake", f"copying {project}"):
        names, note = generator_names(settings)
        workspace = Workspace(project)
    with workspace:
        reproduction = _reproduce(job, runner, workspace, revision)
        locations = _localize(job, runner, workspace.root, reproduction)
        pool = _validation_pool(job, runner, workspace, reproduction)
        tally = _generate_and_validate(job, names, note, project, workspace.root, locations, pool, reproduction)
    return _finish(job, project, reproduction, locations, tally)


def _reproduce(job: _Job, runner: TestRunner, workspace: Workspace, revision: Revision | None) -> Reproduction:
    runner.prepare(workspace.root)
    with job.stage("reproduce", f"running the test suite with per-test coverage ({runner.sandbox.mode} sandbox)"):
        reproduction = reproduce_failure(runner, workspace, job.settings, revision, job.progress, job.deadline)
        job.store.record_reproduction(job.id, reproduction)
    return reproduction


def _localize(job: _Job, runner: TestRunner, root: Path, reproduction: Reproduction) -> list[SuspiciousLocation]:
    """The locations generation works on: the `limit` most suspicious, best first."""
    section = job.settings.localize
    with job.stage("localize", f"{len(reproduction.failing)} failing test(s); ranking suspicious lines"):
        ranked = localize_failure(runner, root, reproduction, section, job.deadline)
        locations = [suspect.location for suspect in ranked[: section.limit]]
        job.store.record_locations(job.id, locations)
    if not locations:
        raise BadInput("the failing tests execute no source line outside the tests: nothing to localize")
    return locations


def _validation_pool(job: _Job, runner: TestRunner, workspace: Workspace, reproduction: Reproduction) -> ValidationPool:
    settings = job.settings
    workers = validation_workers(settings)
    with job.stage("validate", f"preparing {workers} validation worker(s): work copies, what a first run may leave out"):
        return ValidationPool(
            runner, workspace.root, reproduction, workers, workspace.scratch,
            _outcome_cache(settings, job.store, runner, workspace.root, reproduction),
        )


def _generate_and_validate(
    job: _Job, names: list[str], note: str, project: Path, root: Path, locations: list[SuspiciousLocation],
    pool: ValidationPool, reproduction: Reproduction,
) -> _Tally:
    """Each generator's turn with its share of the budget, in order (`_Turn`), then a second
    round of what the shares left unvalidated, in the same order, until the budget ends."""
    tally = _Tally(tests=failing_tests(project, reproduction.failing))
    turns = [_Turn(name, iter(generator_kind(name).batches(locations))) for name in names]
    for index, turn in enumerate(turns):
        turn.until_s = job.elapsed() + job.time_left() / (len(turns) - index)
        candidates_left = job.settings.max_candidates - len(tally.validations)
        turn.until_validations = len(tally.validations) + -(-candidates_left // (len(turns) - index))
        _take_turn(job, turn, note, project, root, locations, pool, tally, reproduction)
    for turn in turns:
        turn.until_s = job.settings.time_budget_s
        turn.until_validations = job.settings.max_candidates
        _take_turn(job, turn, note, project, root, locations, pool, tally, reproduction)
    return tally


def _finish(
    job: _Job, project: Path, reproduction: Reproduction, locations: list[SuspiciousLocation], tally: _Tally
) -> RepairResult:
    """Rank the plausible patches (one that shows signs of overfitting the tests after those
    that do not: repairbot.overfitting) and record the job's end."""
    ranked = rank_patches(tally.validations, tally.proposers)
    flagged = [(validation, tally.signs[validation.candidate]) for validation in ranked]
    flagged.sort(key=lambda pair: bool(pair[1]))  # stable: the ranking holds within each group
    patches = [validation for validation, _ in flagged]
    job.timings["total"] = job.elapsed()
    stopped = job.stop_reason(tally)
    job.store.finish_job(
        job.id,
        JobStatus.SUCCEEDED if patches else JobStatus.NO_PATCH,
        timings=job.timings,
        time_to_first_plausible_s=tally.first_plausible_s,
        ranked_candidate_ids=[tally.candidate_ids[p.candidate] for p in patches],
        stopped=stopped,
    )
    return RepairResult(
        job_id=job.id,
        project=str(project.resolve()),
        reproduction=reproduction,
        locations=locations,
        validations=tally.validations,
        patches=patches,
        timings=job.timings,
        time_to_first_plausible_s=tally.first_plausible_s,
        stopped=stopped,
        overfitting=[found for _, found in flagged],
    )


def rank_suspects(project: Path, settings: Settings) -> list[Suspect]:
    """Intake, reproduce and localize, as a repair job does, without recording a job
    (`repairbot localize`): every suspect with its function and line, for ties and display."""
    check_project(project)
    check_given(settings.locations, project)  # before the baseline run
    revision = baseline_revision(project, settings)
    runner = make_runner(settings, project)
    with Workspace(project) as workspace:
        runner.prepare(workspace.root)
        reproduction = reproduce_failure(runner, workspace, settings, revision)
        return localize_failure(runner, workspace.root, reproduction, settings.localize)


def reproduce_failure(
    runner: TestRunner, workspace: Workspace, settings: Settings, revision: Revision | None,
    progress: Progress = lambda _: None, deadline: float | None = None,
) -> Reproduction:
    """The failure as every command takes it (`repair`, `localize`): the baseline runs with
    flaky and ignored tests subtracted; where the work copy left something out (`.git`, a
    venv), the failing tests run once more in a full copy: one that passes there is no
    target (`passing_in_full_copy`); and with a `revision` (`baseline_revision`), those left
    run at it: one that fails there too is no target either (`failing_at_revision`)."""
    plan = baseline_plan(runner, workspace.root, settings)
    reproduction = reproduce(
        runner, workspace.root, plan, reruns=settings.baseline_reruns, ignore=settings.ignore_tests, deadline=deadline
    )
    if workspace.left_out:
        reproduction = _in_full_copy(runner, workspace, reproduction, plan.timeout_s, progress, deadline)
    if revision is not None:  # asked for: bounded by the budget, not skipped
        left = plan.timeout_s if deadline is None else max(0.0, deadline - time.monotonic())
        reproduction = _at_revision(runner, workspace, reproduction, min(plan.timeout_s, left), revision, progress)
    return reproduction


def _in_full_copy(
    runner: TestRunner, workspace: Workspace, reproduction: Reproduction, timeout_s: float, progress: Progress,
    deadline: float | None,
) -> Reproduction:
    left_out = ", ".join(sorted(workspace.left_out))
    try:
        with workspace.full_copy() as full:
            progress(f"running the {len(reproduction.failing)} failing test(s) in a full copy (with {left_out})")
            return passing_in_full_copy(runner, full, reproduction, timeout_s, left_out, deadline)
    except safe_files.TooLarge as exc:
        progress(f"failing tests not checked in a full copy: {exc}")
        return reproduction


def _at_revision(
    runner: TestRunner, workspace: Workspace, reproduction: Reproduction, timeout_s: float, revision: Revision,
    progress: Progress,
) -> Reproduction:
    at = revision.describe()
    with ExitStack() as stack:
        progress(f"writing the project as it was at {at} (baseline_rev)")
        try:
            copy = stack.enter_context(workspace.revision_copy(revision))
        except OSError as exc:  # over the caps, or a tree no checkout could write
            progress(f"failing tests not checked at {at}: {exc}")
            return reproduction
        count = len(reproduction.failing)
        progress(f"running the {count} failing test(s) at {at}: one that fails there too is not this change's failure")
        checked = failing_at_revision(runner, copy, reproduction, timeout_s, revision, progress)
    set_aside = count - len(checked.failing)
    progress(f"{set_aside} of {count} failing test(s) fail at {at} too: set aside; {len(checked.failing)} to repair")
    return checked


def _outcome_cache(
    settings: Settings, store: JobStore, runner: TestRunner, root: Path, reproduction: Reproduction
) -> OutcomeCache | None:
    if not settings.outcome_cache:
        return None
    must_pass = sorted(o.test_id for o in reproduction.failing) + sorted(reproduction.passing)
    context = project_fingerprint(root, runner.describe(), runner.sandbox.mode, "\n".join(must_pass))
    return OutcomeCache(store, context, normalized)


def _take_turn(
    job: _Job, turn: _Turn, note: str, project: Path, root: Path, locations: list[SuspiciousLocation],
    pool: ValidationPool, tally: _Tally, reproduction: Reproduction,
) -> None:
    """A generator's turn until `turn.until_s`: generate for a batch of locations, validate,
    pair the partial fixes found so far (multi-hunk), tell a generator that learns the
    verdicts (it may ask again about the same batch), repeat. What its share left
    unvalidated stays with the turn for the second round."""
    settings = job.settings
    failing = [o.test_id for o in reproduction.failing]
    pairing = settings.multi_hunk and len(failing) > 1
    stop = turn.stop_asking(job, tally)
    while not stop():
        if not turn.pending:
            batch = turn.batch if turn.again else next(turn.batches, None)
            if batch is None:
                return
            turn.generator = turn.generator or _generator(job, turn, project, root, locations, reproduction)
            with job.stage("generate", f"{turn.name}: generating patches for {len(batch)} suspicious line(s){note}"):
                turn.pending = order_for_validation(turn.generator.generate(root, batch, settings.max_candidates))
            for candidate in turn.pending:
                tally.proposers.setdefault(program_key(candidate), set()).add(generator_family(candidate))
            turn.batch, turn.proposed, turn.again = batch, list(turn.pending), False
        untried = [c for c in turn.pending if program_key(c) not in tally.tried]
        candidates = untried[: turn.candidates_left(tally)]
        # A model's decoding may end only with the share: its likeliest candidate (the
        # greedy completion, as a rule) is still validated now, not in the second round.
        validated = _validate(job, candidates[:1], pool, tally, lambda: job.done(tally))
        validated |= _validate_pairing_early(job, candidates[1:], pool, tally, failing if pairing else [], stop)
        turn.pending = [c for c in untried if c not in validated]
        if turn.pending and not job.done(tally):
            job.progress(f"{turn.name}: its share of the budget is spent; {len(turn.pending)} candidate(s) wait")
        elif pairing and not stop():
            _validate(job, _pairs(job, tally, failing, complete_only=False), pool, tally, stop)
        if not turn.pending and isinstance(turn.generator, LearningGenerator):
            turn.again = turn.generator.learn(_verdicts_of(turn.proposed, tally))


def _verdicts_of(candidates: list[Candidate], tally: _Tally) -> list[ValidationResult]:
    """The verdicts on `candidates`, each under the candidate itself even where an equal
    (normalized) patch was validated before, under another generator's candidate."""
    by_key = {program_key(v.candidate): v for v in tally.validations}
    found = []
    for candidate in candidates:
        verdict = by_key.get(program_key(candidate))
        if verdict is not None:
            found.append(verdict if verdict.candidate == candidate else replace(verdict, candidate=candidate))
    return found


def _validate_pairing_early(
    job: _Job, candidates: list[Candidate], pool: ValidationPool, tally: _Tally, failing: list[str],
    stop: Callable[[], bool],
) -> set[Candidate]:
    """Validate `candidates` until `stop` says so, returning those validated; with several
    `failing` tests (multi-hunk on), a few per worker at a time, and as soon as a chunk
    brings a new partial fix, the pairs that together fix every failing test are validated
    before the rest of the batch: a two-edit bug's halves are often far apart in a batch of
    dozens of template candidates (issue 18: the budget ran out before the two halves were
    paired)."""
    if not failing:
        return _validate(job, candidates, pool, tally, stop)
    validated: set[Candidate] = set()
    size = PAIRING_CHUNK_PER_WORKER * pool.workers
    for start in range(0, len(candidates), size):
        if stop():
            break
        before = len(tally.validations)
        validated |= _validate(job, candidates[start : start + size], pool, tally, stop)
        new = tally.validations[before:]
        if any(0 < len(fixed_tests(v, failing)) < len(failing) for v in new) and not stop():
            _validate(job, _pairs(job, tally, failing, complete_only=True), pool, tally, stop)
    return validated


def _pairs(job: _Job, tally: _Tally, failing: list[str], complete_only: bool) -> list[Candidate]:
    with job.stage("combine", "combine: pairing partial fixes of different hunks"):
        untried = (
            c for c in combine(tally.validations, failing, complete_only) if program_key(c) not in tally.tried
        )
        return list(itertools.islice(untried, job.settings.max_combinations))


def _validate(
    job: _Job, candidates: list[Candidate], pool: ValidationPool, tally: _Tally, stop: Callable[[], bool]
) -> set[Candidate]:
    """Validate `candidates` until `stop` says so; returns those validated."""
    validated: set[Candidate] = set()
    if not candidates:
        return validated
    message = f"validating {len(candidates)} candidate(s), {pool.workers} at a time"
    with job.stage("validate", message):
        for validation in pool.run(candidates, should_stop=stop, deadline=job.deadline):
            _record(job, validation, tally, total=len(candidates))
            validated.add(validation.candidate)
    return validated


def _record(job: _Job, validation: ValidationResult, tally: _Tally, total: int) -> None:
    tally.validations.append(validation)
    tally.tried.add(program_key(validation.candidate))
    tally.candidate_ids[validation.candidate] = job.store.record_validation(job.id, validation)
    candidate = validation.candidate
    cached = " (cached)" if validation.cached else ""
    job.progress(
        f"validated {len(tally.validations)} ({total} in this batch): {candidate.file} "
        f"{candidate.description}: {validation.verdict.value}{cached}"
    )
    if validation.verdict is Verdict.PLAUSIBLE:
        tally.plausible += 1
        if tally.first_plausible_s is None:
            tally.first_plausible_s = job.elapsed()
        tally.signs[candidate] = found = signs(candidate, tally.tests)
        if found:
            job.progress(f"plausible, but it may overfit the tests ({found[0]}): looking on for another")
