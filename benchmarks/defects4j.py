"""Defects4J (Just et al., 2014) from the user's own installation: each bug checked out by the
framework, what the framework knows about it exported, and its developer fix as the reference.

Nothing of Defects4J is committed here. `--defects4j` names the installation (the folder
holding `framework/`) or its `framework/bin/defects4j`. For each bug:

* `defects4j checkout -p P -v Nb -w OUT/checkouts/P-N` (kept: a rerun reuses a checkout
  whose `.defects4j.config` names the same version);
* `defects4j export` of the trigger tests, relevant tests, modified classes, source and test
  dirs and class paths, run in the sandbox like every framework call and kept in
  `OUT/defects4j/P-N.json`;
* the reference fix from the developer patch shipped with the installation,
  `framework/projects/P/patches/N.src.patch`. Defects4J builds each buggy version by applying
  that patch to the fixed version, so it normally reads fixed -> buggy (Math-70's removes
  `solve(f, min, max)` and adds the buggy `solve(min, max)`); the direction is checked on the
  checkout: the patch reversed must apply to it, else the patch as written. The fixed files
  are the checkout's with the patch applied that way, on a copy.

Given mode then takes the faulty lines from the difference between buggy and fixed files as
every suite does (`benchmarks.bugs.fault_of`: the changed lines of each hunk on the buggy
side, the statements around the insert point of a pure addition). A bug that cannot be set up
(checkout, export, a patch that does not apply) is a row with its reason; one whose checkout
does not compile or whose failure does not reproduce gets its reason from the repair job.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from benchmarks.bugs import Bug, git_apply
from benchmarks.defects4j_confirm import FullSuiteCheck, check_full_suite
from benchmarks.evaluate import BugResult, Mode, append_result, evaluate, read_results
from repairbot.config import Settings
from validators import defects4j_runner
from validators.defects4j_runner import Defects4JRunner, install_dir, perl_error
from validators.process import CommandNotRunnable, scrubbed_env

CHECKOUT_TIMEOUT_S = 600.0
BIDS_TIMEOUT_S = 120.0
BUG_NAME = re.compile(r"^([A-Za-z][A-Za-z0-9]*)-(\d+)$")
# Exported per bug: key in the JSON file -> `defects4j export -p` property.
EXPORTS = {
    "trigger_tests": "tests.trigger",
    "relevant_tests": "tests.relevant",
    "modified_classes": "classes.modified",
    "dir_src_classes": "dir.src.classes",
    "dir_src_tests": "dir.src.tests",
    "cp_compile": "cp.compile",
    "cp_test": "cp.test",
}


class SetupFailed(Exception):
    """A bug could not be made ready for repair; the message says which step and why."""


@dataclass(frozen=True)
class Installation:
    home: Path  # the folder holding framework/
    executable: Path  # its framework/bin/defects4j
    env: dict[str, str] = field(default_factory=dict)  # the settings' defects4j_env (e.g. PERL5LIB)

    @classmethod
    def at(cls, path: Path, env: dict[str, str] | None = None) -> Installation:
        """The installation `path` names: its home or its executable. Raises ValueError."""
        path = path.expanduser().resolve()
        executable = path if path.is_file() else path / "framework" / "bin" / "defects4j"
        if not executable.is_file() or not os.access(executable, os.X_OK):
            raise ValueError(f"{path} is no Defects4J installation (no executable framework/bin/defects4j)")
        home = install_dir(executable)
        if not (home / "framework" / "projects").is_dir():
            raise ValueError(f"{home} is no Defects4J installation (no framework/projects/)")
        return cls(home, executable, dict(env or {}))

    def patch_file(self, project: str, bug_id: int) -> Path:
        return self.home / "framework" / "projects" / project / "patches" / f"{bug_id}.src.patch"

    def projects(self) -> list[str]:
        return sorted(p.name for p in (self.home / "framework" / "projects").iterdir() if (p / "patches").is_dir())

    def _framework(self, args: list[str], timeout_s: float) -> subprocess.CompletedProcess[str]:
        """A framework call that runs no project code (bids, checkout), on the host; the
        operator's installation is trusted, the environment scrubbed like the sandbox's."""
        try:
            return subprocess.run(
                [str(self.executable), *args], capture_output=True, text=True, timeout=timeout_s,
                env=scrubbed_env(self.env), stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as exc:
            raise SetupFailed(f"defects4j {args[0]} did not finish within {timeout_s:.0f}s") from exc
        except OSError as exc:
            raise SetupFailed(f"cannot run {self.executable}: {exc}") from exc

    def bug_ids(self, project: str) -> list[int]:
        """The project's active bugs (`defects4j bids -p P`)."""
        done = self._framework(["bids", "-p", project], BIDS_TIMEOUT_S)
        if done.returncode != 0:
            raise SetupFailed(f"defects4j bids -p {project} failed: {perl_error(done.stdout + done.stderr)}")
        return [int(line) for line in done.stdout.split() if line.strip().isdigit()]

    def checkout(self, project: str, bug_id: int, workdir: Path) -> None:
        """The buggy version in `workdir`, reused when a checkout of it is already there."""
        version = f"{bug_id}b"
        if _checked_out(workdir) == (project, version):
            return
        if workdir.exists():
            shutil.rmtree(workdir)  # a checkout of something else, or one that died half-way
        workdir.parent.mkdir(parents=True, exist_ok=True)
        done = self._framework(["checkout", "-p", project, "-v", version, "-w", str(workdir)], CHECKOUT_TIMEOUT_S)
        if done.returncode != 0 or _checked_out(workdir) != (project, version):
            raise SetupFailed(f"checkout failed: {perl_error(done.stdout + done.stderr)}")


@dataclass(frozen=True)
class BugInfo:
    """What the framework says about one bug (`EXPORTS`), as written to OUT/defects4j/."""

    trigger_tests: list[str]
    relevant_tests: list[str]
    modified_classes: list[str]
    dir_src_classes: list[str]
    dir_src_tests: list[str]
    cp_compile: list[str]
    cp_test: list[str]


def selected_bugs(install: Installation, projects: list[str] | None, bugs: list[str] | None) -> list[tuple[str, int]]:
    """(project, bug id) for `--bugs` (names like Lang-6) and every active bug of `--projects`,
    once each, in that order. Raises ValueError for a malformed name or an unknown project."""
    known = install.projects()
    chosen: dict[tuple[str, int], None] = {}
    for name in bugs or []:
        match = BUG_NAME.match(name.strip())
        if not match:
            raise ValueError(f"not a Defects4J bug name (Project-N, e.g. Lang-6): {name!r}")
        chosen[(_project_name(match[1], known), int(match[2]))] = None
    for project in projects or []:
        name = _project_name(project.strip(), known)
        for bug_id in install.bug_ids(name):
            chosen[(name, bug_id)] = None
    return list(chosen)


def _project_name(name: str, known: list[str]) -> str:
    """The installation's spelling of a project name given in any case."""
    for project in known:
        if project.lower() == name.lower():
            return project
    raise ValueError(f"no project {name!r} in this Defects4J installation (it has: {', '.join(known)})")


def prepare_bug(install: Installation, project: str, bug_id: int, out_dir: Path, settings: Settings) -> Bug:
    """Check out, export and read the reference fix of one bug (see the module doc).
    Raises SetupFailed with the step that failed."""
    name = f"{project}-{bug_id}"
    workdir = out_dir / "checkouts" / name
    install.checkout(project, bug_id, workdir)
    info_file = out_dir / "defects4j" / f"{name}.json"
    if not info_file.is_file():
        info = export_info(install, workdir, settings)
        info_file.parent.mkdir(parents=True, exist_ok=True)
        info_file.write_text(json.dumps(asdict(info), indent=2) + "\n", encoding="utf-8")
    patch = install.patch_file(project, bug_id)
    if not patch.is_file():
        raise SetupFailed(f"no developer patch at {patch}")
    fixed = fixed_files(workdir, patch.read_text(encoding="utf-8", errors="replace"))
    return Bug(name, "java", workdir, fixed, test_command=[str(install.executable)])


def framework_runner(install: Installation, settings: Settings) -> Defects4JRunner:
    """The installation's command line in the sandbox, as the settings configure it, over the
    whole suite (the benchmark chooses its tests itself)."""
    options = settings.defects4j
    return Defects4JRunner(
        install.executable, defects4j_runner.choose_sandbox(install.executable, settings.sandbox),
        env=dict(options.env), memory_mib=options.memory_mib, javac_min_level=options.javac_min_level,
    )


def export_info(install: Installation, workdir: Path, settings: Settings) -> BugInfo:
    """Every property of `EXPORTS`, each a `defects4j export` in the sandbox, with the
    framework's environment of the settings (some exports build the project first)."""
    runner = framework_runner(install, settings)
    runner.prepare(workdir)
    values: dict[str, list[str]] = {}
    for key, prop in EXPORTS.items():
        try:
            lines = runner.export(workdir, prop)
        except CommandNotRunnable as exc:
            raise SetupFailed(f"export: {exc}") from exc
        parts = (line.split(":") if prop.startswith("cp.") else [line] for line in lines)  # a class path: its entries
        values[key] = [part for split in parts for part in split if part]
    return BugInfo(**values)


def fixed_files(checkout: Path, patch: str) -> dict[str, str]:
    """file -> its text in the fixed version: the checkout's file with the developer patch
    applied in the direction that applies (reversed first: see the module doc)."""
    files = _patched_paths(patch)
    if not files:
        raise SetupFailed("the developer patch changes no file")
    for direction in (["-R"], []):
        with tempfile.TemporaryDirectory(prefix="repairbot-d4j-") as scratch:
            copy = Path(scratch) / "tree"
            for file in files:
                source = checkout / file
                if not source.is_file():
                    raise SetupFailed(f"the developer patch changes {file}, which the checkout does not have")
                (copy / file).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, copy / file)
            if git_apply(copy, patch, "--whitespace=nowarn", *direction).returncode == 0:
                return {file: (copy / file).read_text(encoding="utf-8", errors="replace") for file in files}
    raise SetupFailed("the developer patch applies to the checkout in neither direction")


def _patched_paths(patch: str) -> list[str]:
    """The files a unified diff changes, from its `+++ b/` and `--- a/` lines."""
    paths: dict[str, None] = {}
    for line in patch.splitlines():
        if line.startswith(("--- a/", "+++ b/")):
            paths[line[6:].split("\t")[0].strip()] = None
    return list(paths)


def _checked_out(workdir: Path) -> tuple[str, str] | None:
    """(pid, vid) of the checkout in `workdir`, None when there is none."""
    try:
        text = (workdir / ".defects4j.config").read_text(encoding="utf-8")
    except OSError:
        return None
    pairs = dict(line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#"))
    pid, vid = pairs.get("pid", "").strip(), pairs.get("vid", "").strip()
    return (pid, vid) if pid and vid else None


def suite_name(project: str) -> str:
    """One suite per project, so that the summary totals each project."""
    return f"Defects4J {project}"


def evaluate_defects4j(
    install: Installation,
    selected: list[tuple[str, int]],
    modes: list[Mode],
    out_dir: Path,
    overrides: dict[str, Any],
    settings: Settings,
    progress: Callable[[str], None] = lambda _: None,
    queued: bool = False,
    full_suite: bool = True,
) -> list[BugResult]:
    """Set up and repair each bug in each mode, resuming from `out_dir/results.jsonl`: a bug
    whose rows are all there is not even checked out again. A bug that cannot be set up gets
    a row per mode with the reason; the rest is `benchmarks.evaluate.evaluate`'s, one bug
    after the other.

    `queued` (`--queue`): every bug is set up here first (checkout, export, reference fix),
    then one "benchmark" job per (bug, mode) goes on the task queue (`benchmarks.queued`),
    each carrying a snapshot of its checkout. A worker runs the framework as the job's test
    command, the executable's path on this machine: workers need the same installation at
    the same path, and their own settings' `defects4j_env`.

    `full_suite`: each plausible row's top patch is then run against the whole suite, once
    (a rerun checks the rows it finds unchecked; benchmarks.defects4j_confirm)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rows: list[BugResult] = []
    for_queue: dict[str, list[Bug]] = {}
    for project, bug_id in selected:
        ready = _ready(install, project, bug_id, modes, out_dir, settings, progress)
        if isinstance(ready, list):
            rows += ready
        elif queued:
            for_queue.setdefault(suite_name(project), []).append(ready)
        else:
            rows += evaluate(suite_name(project), [ready], modes, out_dir, overrides, progress=progress)
    if for_queue:
        from benchmarks.queued import evaluate_queued  # the queue's client: only when used

        rows += evaluate_queued(for_queue, modes, out_dir, overrides, settings, progress)
    if full_suite:
        rows = [_with_full_suite(install, row, out_dir, settings, progress) for row in rows]
    return rows


def _with_full_suite(
    install: Installation, row: BugResult, out_dir: Path, settings: Settings, progress: Callable[[str], None]
) -> BugResult:
    """`row` with its top patch checked against the whole suite (benchmarks.defects4j_confirm),
    written at once; a row without a plausible patch, or already checked, as it is."""
    if not row.plausible or row.full_suite or not row.top_patch:
        return row
    match = BUG_NAME.match(row.bug)
    if match is None:
        return row
    progress(f"{row.bug} ({row.mode}): the top patch against the whole suite")
    try:
        bug = prepare_bug(install, match[1], int(match[2]), out_dir, settings)
    except SetupFailed as exc:
        checked = FullSuiteCheck("error", detail=f"setup: {exc}")
    else:
        runner = framework_runner(install, settings)
        checked = check_full_suite(bug, row.top_patch, runner, settings.defects4j_test_timeout_s)
    return append_result(
        out_dir / "results.jsonl", replace(row, full_suite=checked.summary(), full_suite_s=round(checked.seconds, 1))
    )


def _ready(
    install: Installation, project: str, bug_id: int, modes: list[Mode], out_dir: Path, settings: Settings,
    progress: Callable[[str], None],
) -> Bug | list[BugResult]:
    """The bug set up for repair, or its rows instead: those of `out_dir/results.jsonl` when
    every mode has one (nothing is checked out again), else, for a bug that cannot be set up,
    a row per mode with the reason, written at once."""
    results_file = out_dir / "results.jsonl"
    suite, name = suite_name(project), f"{project}-{bug_id}"
    done = {row.key: row for row in read_results(results_file)}
    if all((suite, name, mode) in done for mode in modes):
        return [done[(suite, name, mode)] for mode in modes]
    progress(f"{name}: checkout and export")
    try:
        return prepare_bug(install, project, bug_id, out_dir, settings)
    except SetupFailed as exc:
        progress(f"{name}: setup: {exc}")
        return [
            done.get((suite, name, mode)) or append_result(results_file, BugResult(suite, name, mode, error=f"setup: {exc}"))
            for mode in modes
        ]
