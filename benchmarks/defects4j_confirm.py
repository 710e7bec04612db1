"""A Defects4J bug's first plausible patch, run once more against the project's whole suite.

A job judges candidates on the bug's trigger tests, then its relevant tests (the test classes
that load a class the fix modifies; `defects4j_relevant_tests`): fast enough for a repair
budget, but a patch can still break a test elsewhere. The papers' "plausible" is the whole
suite, so the benchmark runs it once per plausible bug, after the repair and outside its
budget (`full_suite_s`).

A test can fail for reasons that are not the patch's: the JDK here (Java 17 where Defects4J
expects 11), the sandbox, a test Defects4J never excluded. Each test the patched checkout
fails is run on the bug's fixed version (the developer's files) too; one failing there as well
is set aside, and only the rest count against the patch. Both runs are the framework's, in
the sandbox, on copies of the checkout, never the checkout itself.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.bugs import Bug, git_apply
from repairbot.domain import TestRun
from validators import safe_files
from validators.defects4j_runner import Defects4JRunner

# Named in a row: at most this many tests of each kind.
SHOWN_TESTS = 5


@dataclass(frozen=True)
class FullSuiteCheck:
    verdict: str  # "pass", "fail" (a test the fixed version passes fails) or "error"
    broken: tuple[str, ...] = ()  # failing with the patch, passing on the fixed version
    set_aside: tuple[str, ...] = ()  # failing with the patch and on the fixed version
    seconds: float = 0.0
    detail: str = ""  # why it could not be judged ("error")

    def summary(self) -> str:
        """One line for a result row."""
        if self.verdict == "error":
            return f"error: {self.detail}"
        text = self.verdict
        if self.broken:
            text += f": breaks {_some(self.broken)}"
        if self.set_aside:
            text += f"; set aside (failing on the fixed version too): {_some(self.set_aside)}"
        return text


def _some(tests: tuple[str, ...]) -> str:
    more = len(tests) - SHOWN_TESTS
    return ", ".join(tests[:SHOWN_TESTS]) + (f" (+{more})" if more > 0 else "")


def check_full_suite(bug: Bug, patch: str, runner: Defects4JRunner, timeout_s: float) -> FullSuiteCheck:
    """Run the whole suite on the checkout with `patch` applied, then its failures on the
    fixed version (see the module doc). `runner` must run the whole suite (`relevant_only`
    off)."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="repairbot-d4j-suite-") as scratch:
        patched = _copy(bug.project, Path(scratch) / "patched" / bug.project.name)
        applied = git_apply(patched, patch)
        if applied.returncode != 0:
            return FullSuiteCheck("error", detail=f"the patch does not apply: {applied.stderr.strip()[:300]}")
        runner.prepare(patched)
        run = runner.run(patched, timeout_s)
        problem = _problem(runner, run, timeout_s)
        if problem:
            return FullSuiteCheck("error", seconds=time.monotonic() - started, detail=problem)
        failing = [o.test_id for o in run.outcomes if not o.ok]
        if not failing:
            return FullSuiteCheck("pass", seconds=time.monotonic() - started)
        fixed = _copy(bug.project, Path(scratch) / "fixed" / bug.project.name)
        for file, text in bug.fixed.items():
            safe_files.write_text(fixed, file, text)
        runner.prepare(fixed)
        on_fixed = runner.run(fixed, timeout_s, tests=failing)
        problem = _problem(runner, on_fixed, timeout_s)
        if problem:
            return FullSuiteCheck("error", seconds=time.monotonic() - started, detail=f"on the fixed version: {problem}")
        also_failing = {o.test_id for o in on_fixed.outcomes if not o.ok}
        broken = tuple(t for t in failing if t not in also_failing)
        set_aside = tuple(t for t in failing if t in also_failing)
        return FullSuiteCheck("fail" if broken else "pass", broken, set_aside, time.monotonic() - started)


def _copy(checkout: Path, target: Path) -> Path:
    """The checkout (where the framework built and exported, in the sandbox) copied without
    following a link, within the work copy caps."""
    safe_files.copy_tree(checkout, target, safe_files.WORKSPACE_LIMITS, "the checkout")
    return target


def _problem(runner: Defects4JRunner, run: TestRun, timeout_s: float) -> str:
    if run.timed_out:
        return f"the suite did not finish within {timeout_s:.0f}s"
    return runner.diagnose(run) or ""
