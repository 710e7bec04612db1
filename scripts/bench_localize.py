"""Fault-localization accuracy: Top-1/3/5 at statement and method level, per formula.

    python scripts/bench_localize.py [--quixbugs PATH [--quixbugs-languages python java]]
                                     [--no-examples] [--model-weights 0.5 1] [--json FILE]

Every bug runs through the real reproduce stage (per-test coverage: pytest with
coverage.py, javac + JUnit with JaCoCo) and `repairbot.localize`, with the test runner a
repair job of it gets. The bugs are the repo's examples, Python and Java, and, with
--quixbugs, every Python and/or Java program of a QuixBugs checkout, each in a temporary
project of its own with no code changed (benchmarks/quixbugs.py). The fault: the statements
the reference fix changes (benchmarks/bugs.py `fault_of`). A bug counts as found at rank N
when a faulty statement (or, at method level, a function holding one) is the N-th entry of
the ranking; equal scores are ordered by file and line, exactly as generation receives them.

--model-weights adds model-aided variants (repairbot/localize_model.py, issue 17): the
settings' formula at statement level, re-weighed by the settings' code model's surprisal
with each weight over `localize_model_functions` functions, as `localize_model_weight` does
in a repair job. Those variants rank statements only (method columns "-").

QuixBugs Python: three buggy programs loop forever, so each test gets --timeout seconds
(pytest-timeout; the default 5 s lets bitcount's 9 looping tests fit in the 60 s of CPU time
the sandbox gives the pytest process). QuixBugs Java: the looping programs' tests carry
JUnit's own `timeout = 3000`, which fails each after 3 s; their threads spin on until the
JVM exits (and, with per-test coverage, set probes in the dumps of the tests after them:
those are failing tests too, since every test of these programs loops). A suite still
running after --suite-timeout is killed whole and counts as not reproduced.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from benchmarks import quixbugs
from benchmarks.bugs import Bug, Fault, fault_of
from benchmarks.examples import example_bugs
from repairbot.config import LocalizeSettings, load_settings
from repairbot.errors import BadInput
from repairbot.localize import FORMULAS, TRACE_WEIGHT, Evidence, Suspect, collect, rank
from repairbot.localize_model import rerank
from repairbot.models import LanguageModel
from repairbot.models.registry import load, resolve
from repairbot.reproduce import reproduce
from validators.runner import TestRunner
from validators.runners import runner_for

TOP_N = (1, 3, 5)
LEVELS = ("statement", "method")


def position(ranking: list[Suspect], fault: Fault, level: str) -> int | None:
    """1-based rank of the first entry that is (or holds) a faulty statement."""
    wanted: frozenset[tuple[str, str | int]] = fault.functions if level == "method" else fault.statements
    for index, suspect in enumerate(ranking, start=1):
        if (suspect.location.file, suspect.function if level == "method" else suspect.line) in wanted:
            return index
    return None


def runner_of(bug: Bug) -> TestRunner:
    """The runner a repair job of `bug` gets with default settings (detected, as in the
    pipeline)."""
    return runner_for(bug.project, command=bug.test_command, main_roots=bug.main_roots, test_roots=bug.test_roots)


@dataclass(frozen=True)
class ModelAided:
    """The model-aided variants: the model, the settings' localize section, the weights."""

    model: LanguageModel
    section: LocalizeSettings
    weights: list[float]

    def names(self) -> list[str]:
        return [self.name(weight) for weight in self.weights]

    def name(self, weight: float) -> str:
        return f"{self.section.formula} + model (weight {weight:g})"

    def ranks(self, evidence: Evidence, workdir: Path, fault: Fault) -> dict[str, dict[str, int | None]]:
        ranked = rank(evidence, self.section.formula, "statement", self.section.trace_weight)
        return {
            self.name(weight): {
                "statement": position(rerank(ranked, workdir, self.model, weight, self.section.model_functions),
                                      fault, "statement"),
            }
            for weight in self.weights
        }


def model_aided(weights: list[float]) -> ModelAided | None:
    if not weights:
        return None
    settings = load_settings()
    code = settings.code_model
    return ModelAided(load(resolve(code.name, code.data_dir), code.threads, code.token_merging),
                      settings.localize, weights)


def evaluate(bug: Bug, timeout_s: float, scratch: Path, weights: list[float], aided: ModelAided | None) -> dict:
    runner = runner_of(bug)
    (scratch / "run").mkdir(exist_ok=True)
    run_dir = Path(tempfile.mkdtemp(prefix=f"{bug.name}-", dir=scratch / "run"))
    workdir = Path(shutil.copytree(bug.project, run_dir / bug.name, ignore=shutil.ignore_patterns("expected.patch")))
    fault = fault_of(bug)
    try:
        runner.prepare(workdir)
        reproduction = reproduce(runner, workdir, timeout_s)
    except BadInput as exc:
        return {"bug": bug.name, "error": str(exc)}
    evidence = collect(reproduction, workdir, runner.line_coverage(workdir))
    ranks = {variant(formula, weight): {level: position(rank(evidence, formula, level, weight), fault, level)
                                        for level in LEVELS}
             for formula in FORMULAS for weight in weights}
    return {
        "bug": bug.name,
        "failing": evidence.failing,
        "passing": evidence.passing,
        "fault": sorted(f"{file}:{line}" for file, line in fault.statements),
        "ranks": ranks | (aided.ranks(evidence, workdir, fault) if aided else {}),
        "trace_evidence": _traced(evidence, fault),
    }


def variant(formula: str, weight: float) -> str:
    return formula if weight == TRACE_WEIGHT else f"{formula} (trace weight {weight:g})"


def _traced(evidence: Evidence, fault: Fault) -> bool:
    """Whether any faulty statement has stack-trace evidence (reported to explain ranks)."""
    return any(key in evidence.trace for key in fault.statements)


def table(title: str, rows: list[dict], variants: list[str]) -> str:
    ranked = [row for row in rows if "ranks" in row]
    lines = [
        f"### {title}: {len(ranked)} bugs localized ({len(rows) - len(ranked)} not reproduced)",
        "",
        "| formula | stmt Top-1 | stmt Top-3 | stmt Top-5 | method Top-1 | method Top-3 | method Top-5 |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in variants:
        cells = [
            _found(ranked, name, level, n) if not ranked or level in ranked[0]["ranks"][name] else "-"
            for level in LEVELS
            for n in TOP_N
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _found(ranked: list[dict], name: str, level: str, n: int) -> str:
    return str(sum(1 for row in ranked if (p := row["ranks"][name][level]) is not None and p <= n))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quixbugs", type=Path, help="a QuixBugs checkout")
    parser.add_argument("--quixbugs-languages", nargs="+", choices=["python", "java"], default=["python", "java"])
    parser.add_argument("--no-examples", action="store_true", help="skip the repo's examples")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds per test (QuixBugs Python)")
    parser.add_argument("--suite-timeout", type=float, default=600.0, help="seconds per test suite")
    parser.add_argument("--trace-weights", type=float, nargs="+", default=[TRACE_WEIGHT, 0.0])
    parser.add_argument("--model-weights", type=float, nargs="*", default=[],
                        help="add the settings' formula re-weighed by the code model with each weight")
    parser.add_argument("--json", type=Path, help="write the per-bug ranks here")
    args = parser.parse_args()
    results: dict[str, list[dict]] = {}
    aided = model_aided(args.model_weights)
    variants = [variant(f, w) for f in FORMULAS for w in args.trace_weights] + (aided.names() if aided else [])
    with tempfile.TemporaryDirectory(prefix="bench-localize-") as tmp:
        scratch = Path(tmp)
        suites: dict[str, list[Bug]] = {}
        if not args.no_examples:
            suites["Python examples"] = example_bugs(scratch, "python")
            suites["Java examples"] = example_bugs(scratch, "java")
        if args.quixbugs and "python" in args.quixbugs_languages:
            suites["QuixBugs Python"] = quixbugs.python_bugs(args.quixbugs, scratch, args.timeout)
        if args.quixbugs and "java" in args.quixbugs_languages:
            suites["QuixBugs Java"] = quixbugs.java_bugs(args.quixbugs, scratch)
        for title, bugs in suites.items():
            results[title] = []
            for bug in bugs:
                results[title].append(evaluate(bug, args.suite_timeout, scratch, args.trace_weights, aided))
                print(json.dumps(results[title][-1]), file=sys.stderr)
    for title, rows in results.items():
        print(table(title, rows, variants) + "\n")
        for row in rows:
            if "error" in row:
                print(f"- {row['bug']}: not reproduced: {row['error']}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
