"""The `repairbot` command.

stdout carries only results (the patch, JSON), so `repairbot repair . > fix.diff` works;
progress and messages go to stderr. Exit codes: 0 patch found, 1 no patch, 2 bad input.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from repairbot import report
from repairbot.config import load_settings
from repairbot.db.session import upgrade
from repairbot.db.store import JobStore
from repairbot.domain import RepairResult
from repairbot.errors import EXIT_BAD_INPUT, EXIT_NO_PATCH, EXIT_PATCH_FOUND, BadInput, RepairbotError
from repairbot.pipeline import repair as run_repair

app = typer.Typer(help="Automated program repair: find the fault, generate patches, prove them by tests.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")
err = Console(stderr=True, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)


def _fail(message: str, code: int = EXIT_BAD_INPUT) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


@app.command()
def repair(
    path: Annotated[Path, typer.Argument(help="The project whose tests fail.")],
    test_cmd: Annotated[Optional[str], typer.Option(help="pytest-compatible test command.")] = None,
    apply: Annotated[bool, typer.Option("--apply", help="Write the best patch into PATH.")] = False,
    json_file: Annotated[Optional[Path], typer.Option("--json", help="Write the JSON report here.")] = None,
    max_candidates: Annotated[Optional[int], typer.Option(help="Validate at most this many candidates.")] = None,
    time_budget: Annotated[Optional[float], typer.Option(help="Seconds for the whole job.")] = None,
) -> None:
    """Repair PATH: print the best plausible patch as a unified diff."""
    try:
        settings = load_settings(path if path.is_dir() else None, test_command=test_cmd,
                                 max_candidates=max_candidates, time_budget_s=time_budget)
        store = JobStore(settings.database_url)
        with err.status("starting") as status:
            result = run_repair(path, settings, store, progress=lambda m: status.update(m))
    except RepairbotError as exc:
        raise _fail(str(exc), exc.exit_code) from None
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
                  f"in {result.time_to_first_plausible_s:.1f}s: {best.file} {best.description} "
                  f"({failing} failing test(s) now pass)", highlight=False)
    else:
        err.print(f"[yellow]job {result.job_id}: no plausible patch[/] among {result.candidates_tried} "
                  f"candidate(s) for {failing} failing test(s)", highlight=False)


def _apply(path: Path, result: RepairResult) -> None:
    candidate = result.patches[0].candidate
    target = path / candidate.file
    if target.read_text(encoding="utf-8") != candidate.original:
        raise _fail(f"{target} changed while repairbot ran; patch not applied")
    target.write_text(candidate.patched, encoding="utf-8")
    err.print(f"applied to {target}")


@app.command()
def jobs(limit: Annotated[int, typer.Option(help="Show this many, newest first.")] = 20) -> None:
    """List recent repair jobs."""
    store = JobStore(load_settings().database_url)
    table = Table()
    for name in ("job", "status", "stage", "candidates", "plausible", "created"):
        table.add_column(name, no_wrap=True)
    for name in ("project", "error"):
        table.add_column(name, overflow="fold")
    for job in store.list_jobs(limit):
        table.add_row(str(job.id), job.status, job.stage or "", str(job.candidates_tried), str(job.plausible),
                      f"{job.created_at:%Y-%m-%d %H:%M:%S}", job.project_path, job.error or "")
    out.print(table)


@app.command()
def show(job_id: Annotated[int, typer.Argument(help="Job id from `repairbot jobs`.")]) -> None:
    """Show one job: failing tests, suspicious lines and its patches."""
    detail = JobStore(load_settings().database_url).get_job(job_id)
    if detail is None:
        raise _fail(f"no job {job_id}")
    s = detail.summary
    out.print(f"job {s.id}  {s.status}  {s.project_path}")
    out.print(f"test command: {' '.join(detail.test_command)}")
    if s.error:
        out.print(f"error: {s.error}")
    for test_id, message in detail.failures:
        out.print(f"failing: {test_id}: {message.splitlines()[0] if message else ''}")
    for loc in detail.locations:
        out.print(f"suspicious: {loc.file}:{loc.start_line} {loc.formula}={loc.score:.3f}")
    out.print(f"candidates tried: {s.candidates_tried}; time to first plausible: {detail.time_to_first_plausible_s}")
    for patch in detail.patches:
        out.print(f"patch #{patch.rank} ({patch.generator}: {patch.description})")
        out.print(patch.diff, end="", markup=False)


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply the database migrations (the default SQLite file is created if missing)."""
    url = load_settings().database_url
    upgrade(url, revision)
    err.print(f"database at {url} upgraded to {revision}")
