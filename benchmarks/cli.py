"""`repairbot bench ...`: batch evaluation from the command line (see benchmarks.evaluate)."""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from benchmarks import examples, quixbugs
from benchmarks.bugs import Bug
from benchmarks.evaluate import BugResult, Mode, bug_table, evaluate, summary_table
from repairbot.generate.registry import generator_kind
from repairbot.text import markup

bench_app = typer.Typer(help="Repair benchmark bugs in batch and compare with the reference fixes.", no_args_is_help=True)
err = Console(stderr=True)

MODE_HELP = "Fault locations: 'localized' (repairbot's own), 'given' (the reference fix's lines) or 'both'."
OUT_HELP = "Results folder (results.jsonl, jobs.db); a rerun resumes from it."
LANGUAGE_HELP = "Which programs: 'python', 'java' or 'both'."
LANGUAGE_NAMES = {"python": "Python", "java": "Java"}
GENERATORS_HELP = "Generators in the order they run, comma-separated (templates, infill, masked); default: the settings'."


def _modes(mode: str) -> list[Mode]:
    if mode not in ("localized", "given", "both"):
        raise typer.BadParameter("use localized, given or both", param_hint="--mode")
    return ["localized", "given"] if mode == "both" else [mode]  # type: ignore[list-item]


def _languages(language: str) -> list[str]:
    if language not in ("python", "java", "both"):
        raise typer.BadParameter("use python, java or both", param_hint="--language")
    return ["python", "java"] if language == "both" else [language]


def _generators(names: str) -> list[str]:
    """The names checked here, before any bug runs: a typo would otherwise be every bug's
    error row in the results file, which a rerun resumes rather than repeats."""
    listed = [name.strip() for name in names.split(",") if name.strip()]
    try:
        if not listed:
            raise ValueError("no generator named")
        for name in listed:
            generator_kind(name)
    except ValueError as exc:
        raise typer.BadParameter(f"not a list of generators: {exc}", param_hint="--generators") from None
    return listed


def _run(
    suites: dict[str, list[Bug]], mode: str, out: Path, time_budget: float, generators: str | None, repeat: int = 1
) -> list[BugResult]:
    """One suite per benchmark and language, so that the table gives each its own rows."""
    rows = []
    overrides: dict[str, object] = {"time_budget_s": time_budget}
    if generators:
        overrides["generators"] = _generators(generators)
    with err.status(f"{sum(map(len, suites.values()))} bug(s)") as status:
        for suite, bugs in suites.items():
            rows += evaluate(
                suite, bugs, _modes(mode), out, overrides, progress=lambda m: status.update(markup(m)), repeat=repeat
            )
    typer.echo(summary_table(rows))
    err.print(f"per-bug results: {out / 'results.jsonl'}")
    return rows


@bench_app.command("quixbugs")
def bench_quixbugs(
    path: Annotated[Path, typer.Option("--path", help="Your QuixBugs checkout (jkoppel/QuixBugs).")],
    out: Annotated[Path, typer.Option(help=OUT_HELP)] = Path("bench-results/quixbugs"),
    mode: Annotated[str, typer.Option(help=MODE_HELP)] = "both",
    language: Annotated[str, typer.Option(help=LANGUAGE_HELP)] = "python",
    bugs: Annotated[Optional[str], typer.Option(help="Comma-separated program names, any case (default: all).")] = None,
    time_budget: Annotated[float, typer.Option(help="Seconds per bug and mode.")] = 300.0,
    test_timeout: Annotated[float, typer.Option(help="Seconds per Python test (three buggy programs loop forever).")] = 5.0,
    generators: Annotated[Optional[str], typer.Option(help=GENERATORS_HELP)] = None,
) -> None:
    """Repair QuixBugs' Python and/or Java programs from a checkout."""
    names = {name.strip().lower() for name in bugs.split(",")} if bugs else None
    scratch = Path(tempfile.mkdtemp(prefix="repairbot-quixbugs-"))
    languages = _languages(language)
    suites: dict[str, list[Bug]] = {}
    try:
        if "python" in languages:
            suites["QuixBugs Python"] = quixbugs.python_bugs(path, scratch, test_timeout, names)
        if "java" in languages:
            suites["QuixBugs Java"] = quixbugs.java_bugs(path, scratch, names)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--path") from None
    unknown = (names or set()) - {bug.name.lower() for selected in suites.values() for bug in selected}
    if unknown:
        raise typer.BadParameter(f"no such QuixBugs program: {', '.join(sorted(unknown))}", param_hint="--bugs")
    _run(suites, mode, out, time_budget, generators)


@bench_app.command("examples")
def bench_examples(
    out: Annotated[Path, typer.Option(help=OUT_HELP)] = Path("bench-results/examples"),
    mode: Annotated[str, typer.Option(help=MODE_HELP)] = "both",
    language: Annotated[str, typer.Option(help=LANGUAGE_HELP)] = "both",
    time_budget: Annotated[float, typer.Option(help="Seconds per bug and mode.")] = 300.0,
    generators: Annotated[Optional[str], typer.Option(help=GENERATORS_HELP)] = None,
    repeat: Annotated[int, typer.Option(min=1, help="Repairs per example and mode; timings are their medians.")] = 1,
    json_file: Annotated[Optional[Path], typer.Option("--json", help="Also write this run's rows to FILE as JSON.")] = None,
) -> None:
    """Repair the repo's own example bugs; a table per example too: the time to the first
    plausible patch, the candidates tried, and whether the top patch is the reference fix."""
    scratch = Path(tempfile.mkdtemp(prefix="repairbot-examples-"))
    suites = {f"examples {LANGUAGE_NAMES[lang]}": examples.example_bugs(scratch, lang) for lang in _languages(language)}
    rows = _run(suites, mode, out, time_budget, generators, repeat)
    typer.echo(bug_table(rows))
    if json_file is not None:
        json_file.write_text(json.dumps([asdict(row) for row in rows], indent=2), encoding="utf-8")
