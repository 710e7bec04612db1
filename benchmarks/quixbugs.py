"""QuixBugs (Lin et al., 2017) from the user's own checkout: 40 one-line bugs, each program
in Python and Java with its tests and the correct version.

Nothing of QuixBugs is committed here: `python_bugs(checkout, scratch)` copies each program
with its tests into a project of its own under `scratch`, code unchanged. A Python project
holds the program, its test file, QuixBugs' conftest.py, node.py, load_testdata.py and the
JSON test data. Three buggy programs loop forever (bitcount, sqrt, find_first_in_sorted),
so every test gets `test_timeout_s` through pytest-timeout, and the slowest correct test
takes ~4 s: allow at least 5 s (DESIGN.md).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from benchmarks.bugs import Bug

SHARED_PYTHON = ("conftest.py", "python_testcases/node.py", "python_testcases/load_testdata.py")


def check_checkout(checkout: Path) -> None:
    if not (checkout / "python_programs").is_dir() or not (checkout / "correct_python_programs").is_dir():
        raise ValueError(f"{checkout} is not a QuixBugs checkout (no python_programs/ and correct_python_programs/)")


def python_bugs(checkout: Path, scratch: Path, test_timeout_s: float = 5.0, names: set[str] | None = None) -> list[Bug]:
    check_checkout(checkout)
    command = [sys.executable, "-m", "pytest", f"--timeout={test_timeout_s:g}"]
    bugs = []
    for test in sorted((checkout / "python_testcases").glob("test_*.py")):
        name = test.stem.removeprefix("test_")
        if names is not None and name not in names:
            continue
        project = scratch / "quixbugs-python" / name
        program = f"python_programs/{name}.py"
        for relative in [*SHARED_PYTHON, program, f"python_testcases/{test.name}", f"json_testcases/{name}.json"]:
            if (checkout / relative).is_file():
                (project / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(checkout / relative, project / relative)
        fixed = (checkout / "correct_python_programs" / f"{name}.py").read_text(encoding="utf-8")
        bugs.append(Bug(name, "python", project, {program: fixed}, command))
    return bugs
