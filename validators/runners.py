"""Which test runner a project needs, and that runner in the sandbox the settings ask for.

Detection looks at what the project itself declares, most specific first: a Defects4J
checkout (`defects4j.build.properties`) is also a Maven or Ant project but must run through
Defects4J's own command; a `pom.xml` means Maven; a project that declares itself Python
(pyproject.toml, setup.py, ...) runs pytest even when it carries some Java files (this
repository does); other Java sources mean plain javac + JUnit; anything else is taken for a
pytest project. Gradle is not offered: Debian's Gradle 4.4.1 does not run on Java 17.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from validators import defects4j_runner, junit_runner, maven_runner, pytest_runner
from validators.defects4j_runner import Defects4JRunner
from validators.junit_runner import JavacJUnitRunner
from validators.maven_runner import MavenRunner
from validators.pytest_runner import PytestRunner, default_test_command
from validators.runner import TestRunner
from validators.sandbox import Preference

RunnerKind = Literal["auto", "pytest", "javac", "maven", "defects4j"]

PYTHON_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", "pytest.ini", "tox.ini")
# Not searched for Java sources: version control, virtual environments, build outputs.
SKIPPED_DIRS = {".git", ".hg", ".svn", ".venv", "venv", "node_modules", "target", "build", ".repairbot"}


def detect_kind(project: Path) -> RunnerKind:
    """The runner `project` needs (never "auto")."""
    if (project / "defects4j.build.properties").is_file():
        return "defects4j"
    if (project / "pom.xml").is_file():
        return "maven"
    if not any((project / marker).is_file() for marker in PYTHON_MARKERS) and _has_java_sources(project):
        return "javac"
    return "pytest"


def _has_java_sources(project: Path) -> bool:
    for path in project.rglob("*.java"):
        if not SKIPPED_DIRS.intersection(path.relative_to(project).parts[:-1]):
            return True
    return False


def runner_for(
    project: Path,
    kind: RunnerKind = "auto",
    command: list[str] | None = None,
    sandbox: Preference = "auto",
    main_roots: list[str] | None = None,
    test_roots: list[str] | None = None,
) -> TestRunner:
    """`command`: the test command for pytest, the `mvn` to use (e.g. `./mvnw`) for Maven,
    the `defects4j` executable for Defects4J; javac projects take none. `main_roots` and
    `test_roots`: where a javac project keeps its code and its tests when that is not where
    the runner looks (junit_runner.detect_layout); a build tool knows its own."""
    chosen = detect_kind(project) if kind == "auto" else kind
    if chosen != "javac" and (main_roots is not None or test_roots is not None):
        raise ValueError(f"source roots are for javac + JUnit projects, not a {chosen} one")
    if chosen == "pytest":
        return PytestRunner(command or default_test_command(), pytest_runner.choose_sandbox(sandbox))
    if chosen == "javac":
        if command:
            raise ValueError("a javac + JUnit project takes no test command (set its source roots instead)")
        return JavacJUnitRunner(junit_runner.choose_sandbox(sandbox), main_roots, test_roots)
    if chosen == "maven":
        repository = maven_runner.default_local_repository()
        return MavenRunner(command or ["mvn"], repository, maven_runner.choose_sandbox(repository, sandbox))
    if chosen == "defects4j":
        executable = Path(command[0]) if command else defects4j_runner.find_executable()
        return Defects4JRunner(executable, defects4j_runner.choose_sandbox(executable, sandbox))
    raise ValueError(f"unknown test runner kind {kind!r}")
