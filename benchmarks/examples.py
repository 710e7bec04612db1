"""The repo's own example bugs as a benchmark: each folder of `examples/` with an
`expected.patch` (the reference fix, `git apply`-able in the example's root).

Examples are Python (pytest) or Java (javac + JUnit, Maven's `src/main/java` layout).
Without the model only Python is repaired (the fix templates are Python's), so callers that
expect a repair without it ask for `example_projects("python")`; localization takes both.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from benchmarks.bugs import Bug

EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "examples"


def example_language(example: Path) -> str:
    return "java" if (example / "src" / "main" / "java").is_dir() else "python"


def example_projects(language: str | None = None) -> list[Path]:
    """All examples, or those in `language` ("python", "java")."""
    return sorted(
        p for p in EXAMPLES_DIR.iterdir()
        if (p / "expected.patch").is_file() and language in (None, example_language(p))
    )


def apply_reference_fix(example: Path, destination: Path) -> Path:
    """A copy of `example` at `destination` with its reference fix applied."""
    fixed = Path(shutil.copytree(example, destination))
    subprocess.run(["git", "apply", "expected.patch"], cwd=fixed, check=True)
    return fixed


def example_bug(example: Path, scratch: Path) -> Bug:
    """`example` as a benchmark bug, judged by `benchmarks.bugs.matches_fix`; `scratch`
    receives its fixed copy."""
    fixed = apply_reference_fix(example, scratch / "fixed" / example.name)
    files = [line.removeprefix("+++ b/") for line in (example / "expected.patch").read_text().splitlines()
             if line.startswith("+++ b/")]
    texts = {file: (fixed / file).read_text(encoding="utf-8") for file in files}
    return Bug(example.name, example_language(example), example, texts)


def example_bugs(scratch: Path, language: str | None = None) -> list[Bug]:
    """The examples (all, or those in `language`) as benchmark bugs; `scratch` receives the
    fixed copies."""
    return [example_bug(example, scratch) for example in example_projects(language)]


# A bug whose every test takes a second: a job on it is still running when a test or a
# benchmark kills its worker or cancels it (tests/test_queue_workers.py, scripts/bench_queue.py).
SLOW_PROJECT = {
    "tariff.py": "def fare(zones):\n    base = 2\n    if zones > 3:\n        return base * zones - 1\n"
                 "    return base * zones + 1\n",
    "tests/conftest.py": "import time\nimport pytest\n\n@pytest.fixture(autouse=True)\ndef slow():\n"
                         "    time.sleep(1.0)\n",
    "tests/test_tariff.py": "from tariff import fare\n\ndef test_one_zone():\n    assert fare(1) == 3\n\n"
                            "def test_two_zones():\n    assert fare(2) == 5\n\ndef test_five_zones():\n"
                            "    assert fare(5) == 11\n",
}


def write_slow_project(root: Path) -> Path:
    for name, text in SLOW_PROJECT.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root
