"""Candidates validated per minute, serial vs parallel, with and without the outcome cache,
and (Python) with each candidate's first run lean or full, for a small Python project and a
small Java project.

    python scripts/bench_validation.py [--repeat N] [--workers 2] [--languages python java] [--json FILE]

The candidate stream is what a job hands validation: real template candidates for the
example's most suspicious lines (Python: examples/shopping_cart; Java: a small bank-account
project written here, with operator and constant mutations of its suspicious lines), each
followed later by a differently formatted copy of the same program, as several generators
or model samples produce. So half the stream is normalized duplicates: the cache can answer
those, the workers cannot avoid them. Every candidate runs to its verdict (no early stop).
Rates are medians over N repeats; each repeat starts with fresh copies and an empty cache.
A lean first run leaves out the pytest plugins the failing tests do not need
(`PytestRunner.fast_filter`); a full one loads every plugin installed beside pytest, as
every run did before it. Java's first runs are always full.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import statistics
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass, replace
from pathlib import Path

from repairbot.domain import Candidate, Reproduction, SuspiciousLocation
from repairbot.generate.templates import TemplateGenerator
from repairbot.localize import localize
from repairbot.rank import normalized, order_for_validation
from repairbot.reproduce import reproduce
from repairbot.workspace import Workspace
from validators.outcome_cache import MemoryOutcomeStore, OutcomeCache, project_fingerprint
from validators.pool import ValidationPool
from validators.runner import TestRunner
from validators.runners import runner_for
from validators.sandbox import Preference

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
UNIQUE_CANDIDATES = 16

JAVA_PROJECT = {
    "src/main/java/bank/Account.java": """\
        package bank;

        public class Account {
            private long balanceCents;

            public Account(long openingCents) {
                this.balanceCents = openingCents;
            }

            public long balance() {
                return balanceCents;
            }

            public void deposit(long cents) {
                if (cents <= 0) {
                    throw new IllegalArgumentException("deposit must be positive");
                }
                balanceCents += cents;
            }

            public boolean withdraw(long cents) {
                if (cents > balanceCents + 1) {
                    return false;
                }
                balanceCents -= cents;
                return true;
            }
        }
        """,
    "src/test/java/bank/AccountTest.java": """\
        package bank;

        import static org.junit.Assert.assertEquals;
        import static org.junit.Assert.assertFalse;
        import static org.junit.Assert.assertTrue;

        import org.junit.Test;

        public class AccountTest {
            @Test public void depositAdds() {
                Account a = new Account(100);
                a.deposit(50);
                assertEquals(150, a.balance());
            }

            @Test(expected = IllegalArgumentException.class) public void depositRejectsZero() {
                new Account(0).deposit(0);
            }

            @Test public void withdrawWithinBalance() {
                Account a = new Account(100);
                assertTrue(a.withdraw(100));
                assertEquals(0, a.balance());
            }

            @Test public void overdraftIsRefused() {
                Account a = new Account(100);
                assertFalse(a.withdraw(101));
                assertEquals(100, a.balance());
            }
        }
        """,
}
# Operator and constant mutations, the Java counterpart of the Python templates.
JAVA_MUTATIONS = [
    (r"\+ 1", "- 1"), (r"\+ 1", ""), (r"\+ 1", "+ 2"), (r" > ", " >= "), (r" > ", " < "), (r" > ", " <= "),
    (r" <= 0", " < 0"), (r" <= 0", " <= 1"), (r"\+= cents", "-= cents"), (r"-= cents", "+= cents"),
    (r"return false", "return true"), (r"return true", "return false"), (r"balanceCents \+ 1", "cents"),
    (r"cents > ", "cents >= "), (r"= openingCents", "= 0"), (r"return balanceCents", "return balanceCents + 1"),
]


@dataclass
class Setup:
    name: str
    runner: TestRunner
    root: Path
    scratch: Path
    reproduction: Reproduction
    candidates: list[Candidate]


def with_duplicates(unique: list[Candidate]) -> list[Candidate]:
    """Each candidate, then (half a stream later) the same program formatted differently."""
    variants = [replace(c, patched=c.patched.replace(" = ", " =  ", 1), description=c.description + " (reformatted)") for c in unique]
    assert all(normalized(v) == normalized(c) for v, c in zip(variants, unique))
    return unique + variants


def python_setup(workspace: Workspace, sandbox_pref: Preference) -> Setup:
    runner = runner_for(workspace.root, "pytest", None, sandbox_pref)
    runner.prepare(workspace.root)
    reproduction = reproduce(runner, workspace.root, 120, reruns=0)
    locations = localize(reproduction, workspace.root, runner.line_coverage(workspace.root), 5)
    unique = order_for_validation(TemplateGenerator().generate(workspace.root, locations, 200))[:UNIQUE_CANDIDATES]
    return Setup("python (examples/shopping_cart)", runner, workspace.root, workspace.scratch, reproduction, with_duplicates(unique))


def java_setup(workspace: Workspace, sandbox_pref: Preference) -> Setup:
    runner = runner_for(workspace.root, "javac", None, sandbox_pref)
    runner.prepare(workspace.root)
    reproduction = reproduce(runner, workspace.root, 120, reruns=0)
    file = "src/main/java/bank/Account.java"
    original = (workspace.root / file).read_text()
    unique = []
    for pattern, replacement in JAVA_MUTATIONS:
        patched = re.sub(pattern, replacement, original, count=1)
        if patched != original:
            line = original[: re.search(pattern, original).start()].count("\n") + 1
            location = SuspiciousLocation(file, line, line, 1.0)
            unique.append(Candidate(file, original, patched, "mutation", f"{pattern} -> {replacement}", location))
    return Setup("java (bank account, javac + JUnit 4)", runner, workspace.root, workspace.scratch, reproduction, with_duplicates(unique))


def measure(setup: Setup, workers: int, cached: bool, lean: bool, attempt: int) -> tuple[float, int, str]:
    """Candidates per minute over the whole stream, the cache hits, and what the first runs left out."""
    cache = None
    if cached:
        context = project_fingerprint(setup.root, setup.runner.describe())
        cache = OutcomeCache(MemoryOutcomeStore(), context, normalized)
    copies = setup.scratch / f"w{workers}-c{int(cached)}-l{int(lean)}-{attempt}"
    pool = ValidationPool(setup.runner, setup.root, setup.reproduction, workers, copies, cache)
    if not lean:
        for validator in pool.validators:
            validator.filter_runner = validator.runner
    left_out = ", ".join(getattr(pool.validators[0].filter_runner, "disabled_plugins", ())) or "nothing"
    start = time.monotonic()
    results = list(pool.run(setup.candidates, should_stop=lambda: False))
    elapsed = time.monotonic() - start
    assert len(results) == len(setup.candidates)
    return 60.0 * len(results) / elapsed, cache.hits if cache else 0, left_out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sandbox", default="auto", choices=["auto", "bwrap", "none"])
    parser.add_argument("--json", type=Path)
    parser.add_argument("--languages", nargs="+", default=["python", "java"], choices=["python", "java"])
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        java_project = Path(tmp) / "bank"
        for name, text in JAVA_PROJECT.items():
            (java_project / name).parent.mkdir(parents=True, exist_ok=True)
            (java_project / name).write_text(textwrap.dedent(text))
        setups = {"python": (python_setup, EXAMPLES / "shopping_cart"), "java": (java_setup, java_project)}
        for make, project in (setups[language] for language in args.languages):
            with Workspace(project) as workspace:
                setup = make(workspace, args.sandbox)
                leans = (True, False) if setup.runner.language == "python" else (True,)
                for workers, cached, lean in itertools.product((1, args.workers), (False, True), leans):
                    rates, hits, left_out = [], 0, ""
                    for attempt in range(args.repeat):
                        rate, hits, left_out = measure(setup, workers, cached, lean, attempt)
                        rates.append(rate)
                    row = {
                        "project": setup.name, "sandbox": setup.runner.sandbox.mode,
                        "candidates": len(setup.candidates), "workers": workers, "cache": cached,
                        "first_run_leaves_out": left_out,
                        "cache_hits": hits, "median_candidates_per_min": statistics.median(rates),
                        "rates": [round(r, 1) for r in rates],
                    }
                    rows.append(row)
                    print(json.dumps(row), file=sys.stderr)
    print("| project | workers | outcome cache | first run leaves out | candidates (cache hits) | candidates/min (median) |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['project']} | {r['workers']} | {'on' if r['cache'] else 'off'} | {r['first_run_leaves_out']} "
              f"| {r['candidates']} ({r['cache_hits']}) | {r['median_candidates_per_min']:.1f} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
