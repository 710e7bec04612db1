"""`repairbot bench ...`: batch evaluation from the command line (see benchmarks.evaluate)."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from benchmarks import defects4j as d4j
from benchmarks import examples, quixbugs
from benchmarks.bugs import Bug
from benchmarks.evaluate import BugResult, Mode, bug_table, evaluate, summary_table
from repairbot.config import load_settings
from repairbot.errors import RepairbotError
from repairbot.generate.registry import generator_kind
from repairbot.text import markup

bench_app = typer.Typer(help="Repair benchmark bugs in batch and compare with the reference fixes.", no_args_is_help=True)
err = Console(stderr=True)

MODE_HELP = "Fault locations: 'localized' (repairbot's own), 'given' (the reference fix's lines) or 'both'."
OUT_HELP = "Results folder (results.jsonl, jobs.db); a rerun resumes from it."
LANGUAGE_HELP = "Which programs: 'python', 'java' or 'both'."
LANGUAGE_NAMES = {"python": "Python", "java": "Java"}
QUEUE_HELP = ("One job per bug and mode on the task queue (REPAIRBOT_BROKER_URL, else the embedded worker), "
              "run by every worker; this process waits for them.")
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


def _names(bugs: str | None) -> set[str] | None:
    """The `--bugs` option: names in any case, None for all."""
    return {name.strip().lower() for name in bugs.split(",") if name.strip()} if bugs else None


def _listed(text: str | None) -> list[str]:
    """A comma-separated option's items."""
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def _check_known(names: set[str] | None, suites: dict[str, list[Bug]], what: str) -> None:
    unknown = (names or set()) - {bug.name.lower() for selected in suites.values() for bug in selected}
    if unknown:
        raise typer.BadParameter(f"no such {what}: {', '.join(sorted(unknown))}", param_hint="--bugs")


def _run(
    suites: dict[str, list[Bug]], mode: str, out: Path, time_budget: float, generators: str | None,
    queue: bool = False, repeat: int = 1,
) -> list[BugResult]:
    """One suite per benchmark and language, so that the table gives each its own rows; with
    `queue`, every (bug, mode) a job on the task queue. The summary is printed and written to
    `out/summary.md` once the last bug is done."""
    overrides: dict[str, object] = {"time_budget_s": time_budget}
    if generators:
        overrides["generators"] = _generators(generators)
    modes = _modes(mode)
    with err.status(f"{sum(map(len, suites.values()))} bug(s)") as status:
        progress = lambda message: status.update(markup(message))  # noqa: E731
        if queue:
            rows = _queued(suites, modes, out, overrides, progress)
        else:
            rows = [row for suite, bugs in suites.items()
                    for row in evaluate(suite, bugs, modes, out, overrides, progress=progress, repeat=repeat)]
    return _summarize(rows, out)


def _summarize(rows: list[BugResult], out: Path) -> list[BugResult]:
    """Print the summary and write it to `out/summary.md`."""
    summary = summary_table(rows)
    (out / "summary.md").write_text(summary + "\n", encoding="utf-8")
    typer.echo(summary)
    err.print(f"per-bug results: {out / 'results.jsonl'}")
    return rows


def _queued(
    suites: dict[str, list[Bug]], modes: list[Mode], out: Path, overrides: dict[str, object],
    progress: Callable[[str], None],
) -> list[BugResult]:
    from benchmarks.queued import evaluate_queued  # the queue's client: only when used

    try:
        return evaluate_queued(suites, modes, out, overrides, load_settings(), progress)
    except RepairbotError as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(exc.exit_code) from None


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
    queue: Annotated[bool, typer.Option("--queue", help=QUEUE_HELP)] = False,
) -> None:
    """Repair QuixBugs' Python and/or Java programs from a checkout."""
    names = _names(bugs)
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
    _check_known(names, suites, "QuixBugs program")
    _run(suites, mode, out, time_budget, generators, queue)


@bench_app.command("examples")
def bench_examples(
    out: Annotated[Path, typer.Option(help=OUT_HELP)] = Path("bench-results/examples"),
    mode: Annotated[str, typer.Option(help=MODE_HELP)] = "both",
    language: Annotated[str, typer.Option(help=LANGUAGE_HELP)] = "both",
    bugs: Annotated[Optional[str], typer.Option(help="Comma-separated example names (default: all).")] = None,
    time_budget: Annotated[float, typer.Option(help="Seconds per bug and mode.")] = 300.0,
    generators: Annotated[Optional[str], typer.Option(help=GENERATORS_HELP)] = None,
    repeat: Annotated[int, typer.Option(min=1, help="Repairs per example and mode; timings are their medians.")] = 1,
    json_file: Annotated[Optional[Path], typer.Option("--json", help="Also write this run's rows to FILE as JSON.")] = None,
    queue: Annotated[bool, typer.Option("--queue", help=QUEUE_HELP)] = False,
) -> None:
    """Repair the repo's own example bugs; a table per example too: the time to the first
    plausible patch, the candidates tried, and whether the top patch is the reference fix."""
    if queue and repeat > 1:
        raise typer.BadParameter("timings of repeated repairs are taken on this machine, not on the queue", param_hint="--repeat")
    names = _names(bugs)
    scratch = Path(tempfile.mkdtemp(prefix="repairbot-examples-"))
    suites = {
        f"examples {LANGUAGE_NAMES[lang]}": [bug for bug in examples.example_bugs(scratch, lang)
                                            if names is None or bug.name.lower() in names]
        for lang in _languages(language)
    }
    _check_known(names, suites, "example")
    rows = _run(suites, mode, out, time_budget, generators, queue, repeat)
    typer.echo(bug_table(rows))
    if json_file is not None:
        json_file.write_text(json.dumps([asdict(row) for row in rows], indent=2), encoding="utf-8")


@bench_app.command("report")
def bench_report(
    folder: Annotated[Path, typer.Argument(help="A results folder of `repairbot bench ...` (its results.jsonl).")],
    compare: Annotated[Optional[Path], typer.Option(help="Another run's results folder, shown side by side.")] = None,
    out: Annotated[Optional[Path], typer.Option(help="Write OUT.md, OUT.png and OUT.html (default: FOLDER/report).")] = None,
) -> None:
    """Markdown and a self-contained HTML page of a run: per-bug table, totals, a plot of bugs
    repaired against time, localization Top-N, first patches beside the reference fixes."""
    from benchmarks.report import write_report  # matplotlib: only when a report is asked for

    try:
        written = write_report(folder, compare, out)
    except RepairbotError as exc:
        err.print(f"error: {exc}", markup=False, soft_wrap=True)
        raise typer.Exit(exc.exit_code) from None
    typer.echo(written.totals)
    err.print(f"report: {written.markdown} and {written.html}", markup=False, soft_wrap=True)


@bench_app.command("publish")
def bench_publish(
    folder: Annotated[Path, typer.Argument(help="A results folder of `repairbot bench ...` (its results.jsonl).")],
    to: Annotated[Path, typer.Option(help="The folder to write: results.jsonl and report.md/.html/.png.")],
) -> None:
    """A copy of a run's results without the benchmark's code (its patches), with its report:
    fit to commit where the benchmark may not go. Copied into a new run's folder as
    results.jsonl, it lets that run resume where this one stopped."""
    from benchmarks.publish import publish  # matplotlib: only when a report is asked for

    try:
        written = publish(folder, to)
    except RepairbotError as exc:
        err.print(f"error: {exc}", markup=False, soft_wrap=True)
        raise typer.Exit(exc.exit_code) from None
    typer.echo(written.totals)
    err.print(f"published: {to / 'results.jsonl'}, {written.markdown} and {written.html}", markup=False, soft_wrap=True)


@bench_app.command("defects4j")
def bench_defects4j(
    defects4j: Annotated[Path, typer.Option("--defects4j", help="Your Defects4J installation (the folder holding "
                                            "framework/) or its framework/bin/defects4j.")],
    projects: Annotated[Optional[str], typer.Option(
        help="Comma-separated projects (Lang,Math): all their active bugs.")] = None,
    bugs: Annotated[Optional[str], typer.Option(help="Comma-separated bugs (Lang-6,Math-70).")] = None,
    out: Annotated[Path, typer.Option(help=OUT_HELP)] = Path("bench-results/defects4j"),
    mode: Annotated[str, typer.Option(help=MODE_HELP)] = "given",
    time_budget: Annotated[float, typer.Option(help="Seconds per bug and mode.")] = 300.0,
    test_timeout: Annotated[Optional[float], typer.Option(
        help="Seconds for a bug's baseline test run (default: the setting defects4j_test_timeout_s).")] = None,
    generators: Annotated[Optional[str], typer.Option(help=GENERATORS_HELP)] = None,
    queue: Annotated[bool, typer.Option("--queue", help=QUEUE_HELP + " Workers need this Defects4J "
                                        "installation at the same path.")] = False,
    full_suite: Annotated[bool, typer.Option(
        "--full-suite/--no-full-suite",
        help="Run each plausible bug's top patch against the whole suite afterwards (tests that fail on the "
        "fixed version too are set aside); a rerun checks rows not yet checked.")] = True,
) -> None:
    """Repair Defects4J bugs from your installation: each checked out into OUT/checkouts,
    judged against the developer patch shipped with it; 'given' takes its faulty lines,
    'localized' ranks them from per-test JaCoCo coverage of the tests its baseline ran (the
    relevant tests by default) and records where the developer-patched lines ranked."""
    if not projects and not bugs:
        raise typer.BadParameter("name the bugs to repair with --projects and/or --bugs", param_hint="--projects")
    modes = _modes(mode)
    try:
        settings = load_settings()
    except RepairbotError as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(exc.exit_code) from None
    try:
        install = d4j.Installation.at(defects4j, settings.defects4j_env)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--defects4j") from None
    try:
        selected = d4j.selected_bugs(install, _listed(projects), _listed(bugs))
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--bugs" if bugs else "--projects") from None
    except d4j.SetupFailed as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(1) from None
    overrides: dict[str, object] = {"time_budget_s": time_budget, "defects4j_test_timeout_s": test_timeout}
    if generators:
        overrides["generators"] = _generators(generators)
    overrides = {k: v for k, v in overrides.items() if v is not None}
    with err.status(f"{len(selected)} Defects4J bug(s)") as status:
        progress = lambda message: status.update(markup(message))  # noqa: E731
        try:
            rows = d4j.evaluate_defects4j(
                install, selected, modes, out, overrides, settings, progress, queued=queue, full_suite=full_suite
            )
        except RepairbotError as exc:  # the queue: a broker that cannot be reached
            err.print(f"error: {exc}", markup=False)
            raise typer.Exit(exc.exit_code) from None
    _summarize(rows, out)
