"""QuixBugs (Lin et al., 2017) from the user's own checkout: 40 one-line bugs, each program
in Python and Java with its tests and the correct version.

Nothing of QuixBugs is committed here: `python_bugs` and `java_bugs` copy each program with
its tests into a project of its own under `scratch`, code unchanged.

Python: the program and its test file in their QuixBugs folders, with QuixBugs' conftest.py,
node.py, load_testdata.py and the JSON test data. Three buggy programs loop forever
(bitcount, sqrt, find_first_in_sorted), so every test gets `test_timeout_s` through
pytest-timeout, and the slowest correct test takes ~4 s: allow at least 5 s.

Java: java_programs/X.java (with the Node and WeightedEdge helpers) and
java_testcases/junit/X_TEST.java (with QuixFixOracleHelper), compiled with javac and run with
JUnit 4 through the JUnit Platform. QuixBugs keeps these folders (packages `java_programs`,
`java_testcases.junit`) at its root, a layout the javac runner cannot guess: each bug names
them as its source roots. The looping programs' tests carry JUnit's own `timeout = 3000`.

Java programs are spelled in upper case (BITCOUNT), Python's in lower case: `names` match
either in any case.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from benchmarks.bugs import Bug
from validators.pytest_runner import default_test_command

SHARED_PYTHON = ("conftest.py", "python_testcases/node.py", "python_testcases/load_testdata.py")
SHARED_JAVA = ("java_programs/Node.java", "java_programs/WeightedEdge.java", "java_testcases/junit/QuixFixOracleHelper.java")
JAVA_MAIN_ROOTS = ("java_programs",)
JAVA_TEST_ROOTS = ("java_testcases/junit",)


def check_checkout(checkout: Path, language: str) -> None:
    programs = "python_programs" if language == "python" else "java_programs"
    if not (checkout / programs).is_dir() or not (checkout / f"correct_{programs}").is_dir():
        raise ValueError(f"{checkout} is not a QuixBugs checkout (no {programs}/ and correct_{programs}/)")


def python_bugs(checkout: Path, scratch: Path, test_timeout_s: float = 5.0, names: set[str] | None = None) -> list[Bug]:
    check_checkout(checkout, "python")
    command = [*default_test_command(), f"--timeout={test_timeout_s:g}"]
    bugs = []
    for test in sorted((checkout / "python_testcases").glob("test_*.py")):
        name = test.stem.removeprefix("test_")
        if not _wanted(name, names):
            continue
        program = f"python_programs/{name}.py"
        project = _copy(checkout, scratch / "quixbugs-python" / name,
                        [*SHARED_PYTHON, program, f"python_testcases/{test.name}", f"json_testcases/{name}.json"])
        fixed = (checkout / "correct_python_programs" / f"{name}.py").read_text(encoding="utf-8")
        bugs.append(Bug(name, "python", project, {program: fixed}, command))
    return bugs


def java_bugs(checkout: Path, scratch: Path, names: set[str] | None = None) -> list[Bug]:
    check_checkout(checkout, "java")
    bugs = []
    for test in sorted((checkout / "java_testcases" / "junit").glob("*_TEST.java")):
        name = test.stem.removesuffix("_TEST")
        if not _wanted(name, names):
            continue
        program = f"java_programs/{name}.java"
        project = _copy(checkout, scratch / "quixbugs-java" / name, [*SHARED_JAVA, program, f"java_testcases/junit/{test.name}"])
        fixed = (checkout / "correct_java_programs" / f"{name}.java").read_text(encoding="utf-8")
        bugs.append(Bug(name, "java", project, {program: fixed},
                        main_roots=list(JAVA_MAIN_ROOTS), test_roots=list(JAVA_TEST_ROOTS)))
    return bugs


def _wanted(name: str, names: set[str] | None) -> bool:
    return names is None or name.lower() in {n.lower() for n in names}


def _copy(checkout: Path, project: Path, files: list[str]) -> Path:
    """`project` holding those of `files` (relative paths) that the checkout has."""
    for relative in files:
        if (checkout / relative).is_file():
            (project / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(checkout / relative, project / relative)
    return project
