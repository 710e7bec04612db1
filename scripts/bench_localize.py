"""Fault-localization accuracy: Top-1/3/5 at statement and method level, per formula.

    python scripts/bench_localize.py [--quixbugs PATH [--quixbugs-languages python java]]
                                     [--no-examples] [--json FILE]

Every bug runs through the real reproduce stage (per-test coverage: pytest with
coverage.py, javac + JUnit with JaCoCo) and `repairbot.localize`. The bugs are the repo's
examples, Python and Java (the fault: the lines expected.patch changes) and, with
--quixbugs, every Python and/or Java program of a QuixBugs checkout (the fault: the code
lines where python_programs/X.py differs from correct_python_programs/X.py, or
java_programs/X.java from correct_java_programs/X.java; comments, and Java's package and
import lines, which follow from the other folder, do not count). A fix that only inserts code makes the
statements just before and after the insertion the fault. In Java only statements count
(a changed declaration line is no statement that coverage can rank). A bug counts as found
at rank N when a faulty statement (or, at method level, a function holding one) is the
N-th entry of the ranking; equal scores are ordered by file and line, exactly as
generation receives them.

Each QuixBugs program runs in a temporary project of its own, with no code changed.
Python: the program and its test file in their QuixBugs folders, with the QuixBugs
conftest.py, node.py, load_testdata.py and JSON test data. Three buggy programs loop
forever, so each test gets --timeout seconds (pytest-timeout; the default 5 s lets
bitcount's 9 looping tests fit in the 60 s of CPU time the sandbox gives the pytest
process). Java: java_programs/X.java (with the Node and WeightedEdge helpers) and
java_testcases/junit/X_TEST.java (with QuixFixOracleHelper), compiled with javac and run
with JUnit 4 through the JUnit Platform. The looping programs' tests carry JUnit's own
`timeout = 3000`, which fails each after 3 s; their threads spin on until the JVM exits
(and, with per-test coverage, set probes in the dumps of the tests after them: those are
failing tests too, since every test of these programs loops). A suite still running after
--suite-timeout is killed whole and counts as not reproduced.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import io
import json
import shutil
import sys
import tempfile
import tokenize
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from benchmarks.examples import apply_reference_fix, example_projects
from repairbot.errors import BadInput
from repairbot.languages import java
from repairbot.localize import FORMULAS, TRACE_WEIGHT, Evidence, SourceMap, Suspect, collect, rank
from repairbot.reproduce import reproduce
from validators.junit_runner import JavacJUnitRunner
from validators.pytest_runner import PytestRunner, default_test_command
from validators.runner import TestRunner

TOP_N = (1, 3, 5)
LEVELS = ("statement", "method")


@dataclass(frozen=True)
class Bug:
    name: str
    project: Path
    fixed: dict[str, str]  # file -> text of the reference fix, for each file the fix changes


@dataclass(frozen=True)
class Fault:
    """The statements a fix touches, and the functions holding them."""

    statements: frozenset[tuple[str, int]]
    functions: frozenset[tuple[str, str]]


def code_lines(text: str, suffix: str) -> dict[int, str]:
    return java_code_lines(text) if suffix == java.SUFFIX else python_code_lines(text)


def python_code_lines(text: str) -> dict[int, str]:
    """1-based line -> its code with comments dropped and whitespace collapsed, for lines
    holding code: not blank, not comments, not docstrings or other bare string statements
    (QuixBugs' correct programs keep alternative fixes in such strings)."""
    strings: set[int] = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            strings.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    lines = text.splitlines()
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type == tokenize.COMMENT:
            row, column = token.start
            lines[row - 1] = lines[row - 1][:column]
    return {
        number: " ".join(line.split())
        for number, line in enumerate(lines, start=1)
        if line.strip() and number not in strings
    }


def java_code_lines(text: str) -> dict[int, str]:
    """Like `python_code_lines` for Java: comments, the package declaration and imports are
    blanked before lines are compared (QuixBugs' correct programs live in another package,
    so they import the helper classes the buggy ones share a package with)."""
    data = bytearray(text.encode("utf-8"))
    pending = [java.parse(bytes(data)).root_node]
    while pending:
        node = pending.pop()
        if node.type in ("line_comment", "block_comment", "package_declaration", "import_declaration"):
            data[node.start_byte:node.end_byte] = bytes(b if b == ord("\n") else ord(" ") for b in data[node.start_byte:node.end_byte])
        else:
            pending.extend(node.children)
    lines = data.decode("utf-8").splitlines()
    return {number: " ".join(line.split()) for number, line in enumerate(lines, start=1) if line.strip()}


def changed_lines(buggy: str, fixed: str, statements: set[int], suffix: str) -> set[int]:
    """Buggy-side code lines the fix replaces or deletes; around a pure insertion, the
    statements (of `statements`, their first lines) just before and after it."""
    before, after = code_lines(buggy, suffix), code_lines(fixed, suffix)
    old = list(before)
    matcher = difflib.SequenceMatcher(a=list(before.values()), b=list(after.values()), autojunk=False)
    lines: set[int] = set()
    for tag, i1, i2, _, _ in matcher.get_opcodes():
        if tag in ("replace", "delete"):
            lines.update(old[i1:i2])
        elif tag == "insert":
            lines.update([line for line in reversed(old[:i1]) if line in statements][:1])
            lines.update([line for line in old[i1:] if line in statements][:1])
    return lines


def fault_of(bug: Bug) -> Fault:
    statements, functions = set(), set()
    for file, fixed in bug.fixed.items():
        buggy = (bug.project / file).read_text()
        suffix = Path(file).suffix
        source = SourceMap(buggy, suffix)
        for line in changed_lines(buggy, fixed, source.statement_lines(), suffix):
            if not source.is_generated(line):
                statements.add((file, source.statement_line(line)))
                functions.add((file, source.function(line)[0]))
    return Fault(frozenset(statements), frozenset(functions))


def position(ranking: list[Suspect], fault: Fault, level: str) -> int | None:
    """1-based rank of the first entry that is (or holds) a faulty statement."""
    wanted: frozenset[tuple[str, str | int]] = fault.functions if level == "method" else fault.statements
    for index, suspect in enumerate(ranking, start=1):
        if (suspect.location.file, suspect.function if level == "method" else suspect.line) in wanted:
            return index
    return None


def example_bugs(scratch: Path, language: str) -> Iterator[Bug]:
    for example in example_projects(language):
        fixed = apply_reference_fix(example, scratch / "fixed" / example.name)
        diff = (example / "expected.patch").read_text().splitlines()
        files = [line.removeprefix("+++ b/") for line in diff if line.startswith("+++ b/")]
        yield Bug(example.name, example, {file: (fixed / file).read_text() for file in files})


def quixbugs_bugs(checkout: Path, scratch: Path) -> Iterator[Bug]:
    shared = ["conftest.py", "python_testcases/node.py", "python_testcases/load_testdata.py"]
    for test in sorted((checkout / "python_testcases").glob("test_*.py")):
        name = test.stem.removeprefix("test_")
        project = scratch / "quixbugs" / name
        program = f"python_programs/{name}.py"
        data = f"json_testcases/{name}.json"
        for relative in [*shared, program, f"python_testcases/{test.name}", data]:
            if (checkout / relative).is_file():
                (project / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(checkout / relative, project / relative)
        fixed = (checkout / "correct_python_programs" / f"{name}.py").read_text()
        yield Bug(name, project, {program: fixed})


def quixbugs_java_bugs(checkout: Path, scratch: Path) -> Iterator[Bug]:
    shared = ["java_programs/Node.java", "java_programs/WeightedEdge.java", "java_testcases/junit/QuixFixOracleHelper.java"]
    for test in sorted((checkout / "java_testcases" / "junit").glob("*_TEST.java")):
        name = test.stem.removesuffix("_TEST")
        project = scratch / "quixbugs-java" / name
        program = f"java_programs/{name}.java"
        for relative in dict.fromkeys([*shared, program, f"java_testcases/junit/{test.name}"]):
            (project / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(checkout / relative, project / relative)
        fixed = (checkout / "correct_java_programs" / f"{name}.java").read_text()
        yield Bug(name, project, {program: fixed})


def quixbugs_java_runner() -> JavacJUnitRunner:
    """QuixBugs keeps its folders (packages `java_programs`, `java_testcases.junit`) at the
    checkout's root: those folders are what javac compiles."""
    return JavacJUnitRunner(main_roots=["java_programs"], test_roots=["java_testcases/junit"])


def evaluate(bug: Bug, runner: TestRunner, timeout_s: float, scratch: Path, weights: list[float]) -> dict:
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
    return {
        "bug": bug.name,
        "failing": evidence.failing,
        "passing": evidence.passing,
        "fault": sorted(f"{file}:{line}" for file, line in fault.statements),
        "ranks": {variant(formula, weight): {level: position(rank(evidence, formula, level, weight), fault, level)
                                             for level in LEVELS}
                  for formula in FORMULAS for weight in weights},
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
            str(sum(1 for row in ranked if (p := row["ranks"][name][level]) is not None and p <= n))
            for level in LEVELS
            for n in TOP_N
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quixbugs", type=Path, help="a QuixBugs checkout")
    parser.add_argument("--quixbugs-languages", nargs="+", choices=["python", "java"], default=["python", "java"])
    parser.add_argument("--no-examples", action="store_true", help="skip the repo's examples")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds per test (QuixBugs Python)")
    parser.add_argument("--suite-timeout", type=float, default=600.0, help="seconds per test suite")
    parser.add_argument("--trace-weights", type=float, nargs="+", default=[TRACE_WEIGHT, 0.0])
    parser.add_argument("--json", type=Path, help="write the per-bug ranks here")
    args = parser.parse_args()
    results: dict[str, list[dict]] = {}
    variants = [variant(f, w) for f in FORMULAS for w in args.trace_weights]
    with tempfile.TemporaryDirectory(prefix="bench-localize-") as tmp:
        scratch = Path(tmp)
        suites: list[tuple[str, list[Bug], TestRunner]] = []
        if not args.no_examples:
            suites.append(("Python examples", list(example_bugs(scratch, "python")), PytestRunner()))
            suites.append(("Java examples", list(example_bugs(scratch, "java")), JavacJUnitRunner()))
        if args.quixbugs and "python" in args.quixbugs_languages:
            command = [*default_test_command(), f"--timeout={args.timeout:g}"]
            suites.append(("QuixBugs Python", list(quixbugs_bugs(args.quixbugs, scratch)), PytestRunner(command)))
        if args.quixbugs and "java" in args.quixbugs_languages:
            suites.append(("QuixBugs Java", list(quixbugs_java_bugs(args.quixbugs, scratch)), quixbugs_java_runner()))
        for title, bugs, runner in suites:
            results[title] = []
            for bug in bugs:
                results[title].append(evaluate(bug, runner, args.suite_timeout, scratch, args.trace_weights))
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
