"""`repairbot bench report DIR [--compare OTHER_DIR]`: what a benchmark run's result folder
says, as a Markdown file and a self-contained HTML page.

A result folder is what `repairbot bench quixbugs|examples|...` writes: `results.jsonl`, one
row per (suite, bug, mode) (`benchmarks.evaluate.BugResult`). The report reads the rows as
plain JSON, not as BugResult, so that a folder written by an older or newer repairbot (rows
with fewer or more fields) is still reported: a field a row lacks is reported absent. Rows
may carry the seconds of each stage (`stage_s`) and why the job stopped (`stopped`); the
columns appear when some row has them.

Everything in a row came from the benchmark (bug names, error messages, patches): the
Markdown and the HTML escape it (`benchmarks.report_doc`, `benchmarks.report_html`), so a planted `<script>` or
`](javascript:...)` stays text.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.report_doc import Block, Document, PatchPair, Plot, Section, Table, Text, markdown, md_table
from benchmarks.report_html import html_page
from benchmarks.report_plot import Line, check_matplotlib, repaired_over_time
from benchmarks.reviews import equivalence
from repairbot.errors import BadInput
from repairbot.text import printable

TOP_N = (1, 3, 5, 10)
Key = tuple[str, str, str]  # (suite, bug, mode), as BugResult.key


@dataclass(frozen=True)
class Row:
    """One (bug, mode) of a run as the report needs it."""

    suite: str
    bug: str
    mode: str
    plausible: bool
    same_as_reference: bool
    first_plausible_s: float | None
    candidates: int
    total_s: float
    patch: str
    generator: str
    error: str
    reference_patch: str = ""
    locations_ranked: int = 0  # 0: the row records no localization rank
    fault_rank: int | None = None
    stage_s: dict[str, float] = field(default_factory=dict)
    stopped: str = ""
    full_suite: str = ""  # Defects4J: the top patch against the whole suite ("" not run)
    overfitting: tuple[str, ...] = ()  # signs the top patch overfits the tests
    equivalent: str = ""  # why a review found the top patch the reference fix's behaviour (benchmarks.reviews)

    @property
    def key(self) -> Key:
        return (self.suite, self.bug, self.mode)

    @property
    def correct(self) -> bool:
        """The top patch is the reference fix or a reviewed equivalent of it."""
        return self.same_as_reference or bool(self.equivalent)

    @property
    def verdict(self) -> str:
        """What a comparison of two runs compares."""
        if self.same_as_reference:
            return "same as reference"
        if self.equivalent:
            return "equivalent (reviewed)"
        if self.plausible:
            return "plausible"
        return "not run" if self.error else "no patch"


@dataclass(frozen=True)
class Run:
    folder: Path
    rows: list[Row]


@dataclass(frozen=True)
class Totals:
    """One (suite, mode) of a run."""

    suite: str
    mode: str
    bugs: int
    not_run: int
    plausible: int
    same_as_reference: int
    correct: int  # the reference fix or a reviewed equivalent
    median_first_s: float | None
    job_s_per_candidate: float | None  # the jobs' whole time over the candidates they validated
    validation_s_per_candidate: float | None  # the validate stage's only, where rows record stages
    whole_suite_pass: int = 0  # plausible rows whose top patch also passed the whole suite


@dataclass(frozen=True)
class Localization:
    """Statement Top-N of the reference fault in one suite's "localized" rows that record a rank."""

    suite: str
    measured: int
    top: dict[int, int]  # N -> rows whose fault is among the first N locations
    # The N for which the count is a lower bound: a row whose fault was not among the fewer
    # than N locations it ranked may still have had it within N.
    lower_bound: frozenset[int]


@dataclass(frozen=True)
class Change:
    """One (suite, bug, mode) in either of two runs."""

    key: Key
    this: Row | None
    other: Row | None

    @property
    def changed(self) -> bool:
        return (self.this.verdict if self.this else None) != (self.other.verdict if self.other else None)


def load_run(folder: Path) -> Run:
    """The rows of `folder/results.jsonl`; for a key written twice (a rerun), the last. Raises
    BadInput with the line at fault for a folder that holds no readable results."""
    results = folder / "results.jsonl"
    if not folder.is_dir():
        raise BadInput(f"{folder} is not a folder")
    if not results.is_file():
        raise BadInput(f"{folder} holds no results.jsonl: not a `repairbot bench` result folder")
    rows: dict[Key, Row] = {}
    for number, line in enumerate(results.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = _row(json.loads(line))
        except (ValueError, TypeError, KeyError) as exc:
            raise BadInput(f"{results}:{number}: not a result row ({printable(str(exc))[:200]})") from None
        rows.pop(row.key, None)  # a rewritten row goes where it was last written
        rows[row.key] = row
    if not rows:
        raise BadInput(f"{results} holds no result row")
    return Run(folder, list(rows.values()))


def _row(data: Any) -> Row:
    if not isinstance(data, dict):
        raise TypeError("a JSON object was expected")
    first = data.get("time_to_first_plausible_s")
    rank = data.get("fault_rank")
    stages = data.get("stage_s") or {}
    if not isinstance(stages, dict):
        raise TypeError("stage_s is not an object of seconds per stage")
    suite, bug = str(data["suite"]), str(data["bug"])
    same = bool(data.get("top_matches_reference", False))
    return Row(
        suite=suite, bug=bug, mode=str(data["mode"]),
        plausible=bool(data.get("plausible", False)),
        same_as_reference=same,
        first_plausible_s=None if first is None else float(first),
        candidates=int(data.get("candidates_tried", 0)),
        total_s=float(data.get("total_s", 0.0)),
        patch=str(data.get("top_patch", "")),
        generator=str(data.get("top_generator", "")),
        error=str(data.get("error", "")),
        reference_patch=str(data.get("reference_patch", "")),
        locations_ranked=int(data.get("locations_ranked", 0)),
        fault_rank=None if rank is None else int(rank),
        stage_s={str(stage): float(spent) for stage, spent in stages.items()},
        stopped=str(data.get("stopped") or ""),
        full_suite=str(data.get("full_suite") or ""),
        overfitting=tuple(str(sign) for sign in data.get("overfitting") or ()),
        equivalent="" if same else equivalence(suite, bug, str(data.get("top_patch_id") or "")),
    )


def _groups(rows: list[Row], key: Callable[[Row], Any]) -> dict[Any, list[Row]]:
    groups: dict[Any, list[Row]] = {}
    for row in rows:
        groups.setdefault(key(row), []).append(row)
    return groups


ALL_SUITES = "all suites"


def totals(rows: list[Row]) -> list[Totals]:
    """Per (suite, mode), in the order the run met them; with several suites, then one row
    per mode over all of them (a run's overall figures come from here, not from a calculator)."""
    result = [_totals(suite, mode, group) for (suite, mode), group in _groups(rows, lambda r: (r.suite, r.mode)).items()]
    if len({r.suite for r in rows}) > 1:
        result += [_totals(ALL_SUITES, mode, group) for mode, group in _groups(rows, lambda r: r.mode).items()]
    return result


def _totals(suite: str, mode: str, group: list[Row]) -> Totals:
    times = [r.first_plausible_s for r in group if r.plausible and r.first_plausible_s is not None]
    staged = [r for r in group if "validate" in r.stage_s]
    return Totals(
        suite, mode, len(group), sum(bool(r.error) for r in group), sum(r.plausible for r in group),
        sum(r.same_as_reference for r in group), sum(r.correct for r in group),
        statistics.median(times) if times else None,
        _per(sum(r.total_s for r in group), sum(r.candidates for r in group)),
        _per(sum(r.stage_s["validate"] for r in staged), sum(r.candidates for r in staged)),
        sum(r.plausible and r.full_suite.startswith("pass") for r in group),
    )


def _per(spent_s: float, candidates: int) -> float | None:
    return spent_s / candidates if candidates else None


def localization(rows: list[Row]) -> list[Localization]:
    """Top-N per suite over the rows that record where localization ranked the reference
    fault ("localized" mode), then over all suites when there are several; empty when none
    does."""
    measured = [r for r in rows if r.locations_ranked > 0]
    groups = _groups(measured, lambda r: r.suite)
    if len(groups) > 1:
        groups[ALL_SUITES] = measured
    return [_localization(suite, group) for suite, group in groups.items()]


def _localization(suite: str, group: list[Row]) -> Localization:
    return Localization(
        suite, len(group),
        {n: sum(1 for r in group if r.fault_rank is not None and r.fault_rank <= n) for n in TOP_N},
        frozenset(n for n in TOP_N if any(r.fault_rank is None and r.locations_ranked < n for r in group)),
    )


def compare(run: Run, other: Run) -> list[Change]:
    """Every key of either run: this run's order first, then what only the other has."""
    mine = {row.key: row for row in run.rows}
    theirs = {row.key: row for row in other.rows}
    keys = list(mine) + [key for key in theirs if key not in mine]
    return [Change(key, mine.get(key), theirs.get(key)) for key in keys]


# -- the document: one text per table cell, escaped by the Markdown and HTML writers alike --

def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _two(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def bug_table(rows: list[Row]) -> Table:
    """One line per (bug, mode); the rank, stage, stop and error columns only where some row has them."""
    ranks, stages = any(r.locations_ranked for r in rows), any(r.stage_s for r in rows)
    stopped, errors = any(r.stopped for r in rows), any(r.error for r in rows)
    suites, overfits = any(r.full_suite for r in rows), any(r.overfitting for r in rows)
    header = ["suite", "bug", "mode", "plausible", "same as reference", "first plausible (s)", "candidates",
              "generator", "total (s)"]
    header += ["whole suite"] * suites + ["may overfit"] * overfits + ["fault rank"] * ranks + ["stages (s)"] * stages + ["stopped"] * stopped + ["error"] * errors
    body = []
    for r in rows:
        same = "equivalent (reviewed)" if r.equivalent else _yes(r.same_as_reference)
        cells = [r.suite, r.bug, r.mode, _yes(r.plausible), same, seconds(r.first_plausible_s),
                 str(r.candidates), r.generator or "-", seconds(r.total_s)]
        cells += [r.full_suite or "-"] * suites + ["; ".join(r.overfitting) or "-"] * overfits + [_rank(r)] * ranks
        cells += [", ".join(f"{stage} {s:.1f}" for stage, s in r.stage_s.items()) or "-"] * stages
        cells += [r.stopped or "-"] * stopped + [r.error or "-"] * errors
        body.append(cells)
    return Table(header, body)


def _rank(row: Row) -> str:
    if not row.locations_ranked:
        return "-"
    return str(row.fault_rank) if row.fault_rank is not None else f"not in top {row.locations_ranked}"


def totals_table(rows: list[Row]) -> Table:
    """The whole-suite column only where some row was checked against the whole suite."""
    suites = any(r.full_suite for r in rows)
    return Table(
        ["suite", "mode", "bugs", "not run", "plausible", *["plausible on the whole suite"] * suites,
         "same as reference", "correct", "median first plausible (s)", "s per candidate (job)",
         "s per candidate (validation)"],
        [[t.suite, t.mode, str(t.bugs), str(t.not_run), str(t.plausible), *[str(t.whole_suite_pass)] * suites,
          str(t.same_as_reference), str(t.correct), seconds(t.median_first_s), _two(t.job_s_per_candidate),
          _two(t.validation_s_per_candidate)]
         for t in totals(rows)],
    )


def localization_blocks(rows: list[Row]) -> list[Block]:
    found = localization(rows)
    if not found:
        return [Text("No row records where localization ranked the reference fault (given mode only, "
                     "or results written before ranks were recorded).")]
    table = Table(
        ["suite", "localized bugs ranked", *(f"Top-{n}" for n in TOP_N)],
        [[loc.suite, str(loc.measured), *(f"{loc.top[n]}" + "+" * (n in loc.lower_bound) for n in TOP_N)]
         for loc in found],
    )
    blocks: list[Block] = [table, Text("Statement level: a bug counts in Top-N when a statement its reference "
                                       "fix changes is within the first N locations handed to generation.")]
    if any(loc.lower_bound for loc in found):
        blocks.append(Text("A count marked + is a lower bound: some fault was not among the fewer than N "
                           "locations its localization handed to generation (at most max_locations)."))
    return blocks


def comparison_table(changes: list[Change]) -> Table:
    body = [
        [*change.key,
         change.this.verdict if change.this else "absent", change.other.verdict if change.other else "absent",
         seconds(change.this.first_plausible_s) if change.this else "-",
         seconds(change.other.first_plausible_s) if change.other else "-",
         "changed" if change.changed else ""]
        for change in changes
    ]
    return Table(["suite", "bug", "mode", "this run", "other run", "first plausible (s), this",
                  "first plausible (s), other", "outcome"], body, [change.changed for change in changes])


def delta_table(run: Run, other: Run) -> Table:
    """Totals of both runs per (suite, mode), and their differences."""
    mine = {(t.suite, t.mode): t for t in totals(run.rows)}
    theirs = {(t.suite, t.mode): t for t in totals(other.rows)}
    body = []
    for key in list(mine) + [k for k in theirs if k not in mine]:
        a, b = mine.get(key), theirs.get(key)
        body.append([
            *key,
            *_counts(a.plausible if a else None, b.plausible if b else None),
            *_counts(a.same_as_reference if a else None, b.same_as_reference if b else None),
            *_counts(a.correct if a else None, b.correct if b else None),
            seconds(a.median_first_s if a else None), seconds(b.median_first_s if b else None),
        ])
    return Table(["suite", "mode", "plausible, this", "plausible, other", "plausible, delta", "same, this",
                  "same, other", "same, delta", "correct, this", "correct, other", "correct, delta",
                  "median first plausible (s), this",
                  "median first plausible (s), other"], body)


def _counts(this: int | None, other: int | None) -> list[str]:
    delta = f"{this - other:+d}" if this is not None and other is not None else "-"
    return ["-" if this is None else str(this), "-" if other is None else str(other), delta]


def document(run: Run, other: Run | None) -> Document:
    sections = [
        Section("Totals per suite and mode", [
            totals_table(run.rows),
            Plot("bugs with a plausible patch by time to the first one"),
            Text("Correct: the top patch is the reference fix (same as reference) or a patch a review "
                 "found to behave as the reference fix does (benchmarks/equivalent_patches.toml, each with why). "
                 "Seconds per candidate: the jobs' whole time (job), or the validate stage's alone "
                 "(validation, where rows record stage timings), over the candidates they validated."),
        ]),
        Section("Fault localization", localization_blocks(run.rows)),
    ]
    reviewed = [r for r in run.rows if r.equivalent]
    if reviewed:
        sections.append(Section("Reviewed equivalents", [Table(
            ["suite", "bug", "mode", "why the top patch is the reference fix's behaviour"],
            [[r.suite, r.bug, r.mode, r.equivalent] for r in reviewed],
        )]))
    if other is not None:
        changes = compare(run, other)
        sections.append(Section(f"Compared with {other.folder}", [
            Text(f"This run: {run.folder}. Other run: {other.folder}. "
                 f"{sum(c.changed for c in changes)} of {len(changes)} outcomes changed."),
            delta_table(run, other), comparison_table(changes),
        ]))
    sections.append(Section("Per bug", [bug_table(run.rows)]))
    pairs: list[Block] = [PatchPair(f"{r.suite} / {r.bug} ({r.mode}): {r.generator or '-'}", r.patch, r.reference_patch)
                          for r in run.rows if r.patch]
    if not pairs:
        pairs = [Text("The patches were left out of this copy of the results (`repairbot bench publish`)."
                      if any(r.plausible for r in run.rows) else "No bug has a plausible patch.")]
    sections.append(Section("First patch and reference fix", pairs))
    return Document(f"Benchmark report: {run.folder}", sections)


def plot_lines(run: Run, other: Run | None) -> list[Line]:
    """One line per mode of each run; with two runs, each named by its folder (or "this run"
    and "other run" where the folders' names are the same), the other's dashed."""
    if other is None:
        runs = [(run, "")]
    elif run.folder.name != other.folder.name:
        runs = [(run, f"{run.folder.name}: "), (other, f"{other.folder.name}: ")]
    else:
        runs = [(run, "this run: "), (other, "other run: ")]
    return [
        Line(name + mode, [r.first_plausible_s for r in group if r.plausible and r.first_plausible_s is not None],
             dashed=each is other)
        for each, name in runs
        for mode, group in _groups(each.rows, lambda r: r.mode).items()
    ]


@dataclass(frozen=True)
class Written:
    markdown: Path
    html: Path
    plot: Path
    totals: str  # the totals table in Markdown, for the terminal


def write_report(folder: Path, other_folder: Path | None = None, out: Path | None = None) -> Written:
    """`out`.md (with `out`.png beside it) and `out`.html; `out` defaults to `folder`/report."""
    check_matplotlib()
    run = load_run(folder)
    other = load_run(other_folder) if other_folder is not None else None
    base = out.with_suffix("") if out is not None and out.suffix in (".md", ".html") else out or folder / "report"
    base.parent.mkdir(parents=True, exist_ok=True)
    written = Written(base.with_name(base.name + ".md"), base.with_name(base.name + ".html"),
                      base.with_name(base.name + ".png"), md_table(totals_table(run.rows)))
    doc = document(run, other)
    longest = max(r.total_s for each in [run] + ([other] if other else []) for r in each.rows)
    png = repaired_over_time(plot_lines(run, other), longest)
    written.plot.write_bytes(png)
    written.markdown.write_text(markdown(doc, written.plot.name), encoding="utf-8")
    written.html.write_text(html_page(doc, png), encoding="utf-8")
    return written
