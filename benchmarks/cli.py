"""`repairbot bench ...`: batch evaluation from the command line (see benchmarks.evaluate)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from benchmarks import examples, quixbugs
from benchmarks.bugs import Bug
from benchmarks.evaluate import Mode, evaluate, summary_table

bench_app = typer.Typer(help="Repair benchmark bugs in batch and compare with the reference fixes.", no_args_is_help=True)
err = Console(stderr=True)

MODE_HELP = "Fault locations: 'localized' (repairbot's own), 'given' (the reference fix's lines) or 'both'."
OUT_HELP = "Results folder (results.jsonl, jobs.db); a rerun resumes from it."


def _modes(mode: str) -> list[Mode]:
    if mode not in ("localized", "given", "both"):
        raise typer.BadParameter("use localized, given or both", param_hint="--mode")
    return ["localized", "given"] if mode == "both" else [mode]  # type: ignore[list-item]


def _run(suite: str, bugs: list[Bug], mode: str, out: Path, time_budget: float) -> None:
    with err.status(f"{suite}: {len(bugs)} bug(s)") as status:
        rows = evaluate(suite, bugs, _modes(mode), out, {"time_budget_s": time_budget}, progress=status.update)
    typer.echo(summary_table(rows))
    err.print(f"per-bug results: {out / 'results.jsonl'}")


@bench_app.command("quixbugs")
def bench_quixbugs(
    path: Annotated[Path, typer.Option("--path", help="Your QuixBugs checkout (jkoppel/QuixBugs).")],
    out: Annotated[Path, typer.Option(help=OUT_HELP)] = Path("bench-results/quixbugs"),
    mode: Annotated[str, typer.Option(help=MODE_HELP)] = "both",
    bugs: Annotated[Optional[str], typer.Option(help="Comma-separated program names (default: all).")] = None,
    time_budget: Annotated[float, typer.Option(help="Seconds per bug and mode.")] = 300.0,
    test_timeout: Annotated[float, typer.Option(help="Seconds per test (three buggy programs loop forever).")] = 5.0,
) -> None:
    """Repair QuixBugs' Python programs from a checkout."""
    names = {name.strip() for name in bugs.split(",")} if bugs else None
    scratch = Path(tempfile.mkdtemp(prefix="repairbot-quixbugs-"))
    try:
        selected = quixbugs.python_bugs(path, scratch, test_timeout, names)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--path") from None
    if names and len(selected) != len(names):
        unknown = names - {bug.name for bug in selected}
        raise typer.BadParameter(f"no such QuixBugs program: {', '.join(sorted(unknown))}", param_hint="--bugs")
    _run("QuixBugs Python", selected, mode, out, time_budget)


@bench_app.command("examples")
def bench_examples(
    out: Annotated[Path, typer.Option(help=OUT_HELP)] = Path("bench-results/examples"),
    mode: Annotated[str, typer.Option(help=MODE_HELP)] = "both",
    time_budget: Annotated[float, typer.Option(help="Seconds per bug and mode.")] = 300.0,
) -> None:
    """Repair the repo's own example bugs."""
    scratch = Path(tempfile.mkdtemp(prefix="repairbot-examples-"))
    _run("examples", examples.example_bugs(scratch), mode, out, time_budget)
