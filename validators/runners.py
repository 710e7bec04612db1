"""The test runners, by name: which one a project needs, and that runner in the sandbox the
settings ask for.

Each kind says how to recognize a project that needs it and how to build it from the
options the settings give. Detection asks the kinds in `BUILTIN` order, most specific
first: a Defects4J checkout (`defects4j.build.properties`) is also a Maven or Ant project
but must run through Defects4J's own command; a `pom.xml` means Maven; a project that
declares itself Python (pyproject.toml, setup.py, ...) runs pytest even when it carries
some Java files (this repository does); other Java sources mean plain javac + JUnit;
anything else is taken for a pytest project. `register` adds a kind ahead of the
catch-all. Gradle is not offered: Debian's Gradle 4.4.1 does not run on Java 17.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from repairbot.languages import java
from validators import defects4j_runner, junit_runner, maven_runner, pytest_runner
from validators.defects4j_runner import Defects4JOptions, Defects4JRunner
from validators.junit_runner import JavacJUnitRunner
from validators.maven_runner import MavenRunner
from validators.pytest_runner import PytestRunner, default_test_command
from validators.runner import TestRunner
from validators.sandbox import Preference

PYTHON_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", "pytest.ini", "tox.ini")
# Not searched for Java sources: version control, virtual environments, build outputs.
SKIPPED_DIRS = {".git", ".hg", ".svn", ".venv", "venv", "node_modules", "target", "build", ".repairbot"}


@dataclass(frozen=True)
class RunnerOptions:
    """`command`: the test command for pytest, the `mvn` to use (e.g. `./mvnw`) for Maven,
    the `defects4j` executable for Defects4J; javac projects take none. `main_roots` and
    `test_roots`: where a javac project keeps its code and its tests when that is not where
    the runner looks (junit_runner.detect_layout); a build tool knows its own. `defects4j`:
    the options of a Defects4J runner, ignored by the others."""

    command: list[str] | None = None
    sandbox: Preference = "auto"
    main_roots: list[str] | None = None
    test_roots: list[str] | None = None
    defects4j: Defects4JOptions = Defects4JOptions()


@dataclass(frozen=True)
class RunnerKind:
    name: str
    needs: Callable[[Path], bool]  # the project declares that it runs its tests so
    build: Callable[[RunnerOptions], TestRunner]
    takes_source_roots: bool = False


def _has_java_sources(project: Path) -> bool:
    for glob in java.SUPPORT.globs:
        for path in project.rglob(glob):
            if not SKIPPED_DIRS.intersection(path.relative_to(project).parts[:-1]):
                return True
    return False


def _is_javac_project(project: Path) -> bool:
    return not any((project / marker).is_file() for marker in PYTHON_MARKERS) and _has_java_sources(project)


def _javac(options: RunnerOptions) -> TestRunner:
    if options.command:
        raise ValueError("a javac + JUnit project takes no test command (set its source roots instead)")
    return JavacJUnitRunner(junit_runner.choose_sandbox(options.sandbox), options.main_roots, options.test_roots)


def _maven(options: RunnerOptions) -> TestRunner:
    repository = maven_runner.default_local_repository()
    return MavenRunner(options.command or ["mvn"], repository, maven_runner.choose_sandbox(repository, options.sandbox))


def _defects4j(options: RunnerOptions) -> TestRunner:
    executable = Path(options.command[0]) if options.command else defects4j_runner.find_executable()
    given = options.defects4j
    return Defects4JRunner(
        executable, defects4j_runner.choose_sandbox(executable, options.sandbox), relevant_only=given.relevant_only,
        env=dict(given.env), memory_mib=given.memory_mib, coverage_timeout_s=given.coverage_timeout_s,
        javac_min_level=given.javac_min_level,
    )


def _pytest(options: RunnerOptions) -> TestRunner:
    return PytestRunner(options.command or default_test_command(), pytest_runner.choose_sandbox(options.sandbox))


BUILTIN = (
    RunnerKind("defects4j", lambda project: (project / "defects4j.build.properties").is_file(), _defects4j),
    RunnerKind("maven", lambda project: (project / "pom.xml").is_file(), _maven),
    RunnerKind("javac", _is_javac_project, _javac, takes_source_roots=True),
    RunnerKind("pytest", lambda project: True, _pytest),  # the catch-all: stays last
)
_REGISTERED: list[RunnerKind] = list(BUILTIN)


def register(kind: RunnerKind) -> RunnerKind:
    """Add `kind`, asked before the catch-all (pytest) when a runner is detected."""
    if any(known.name == kind.name for known in _REGISTERED):
        raise ValueError(f"a test runner named {kind.name} exists")
    _REGISTERED.insert(len(_REGISTERED) - 1, kind)
    return kind


def unregister(name: str) -> None:
    _REGISTERED[:] = [kind for kind in _REGISTERED if kind.name != name]


def runner_names() -> list[str]:
    return [kind.name for kind in _REGISTERED]


def runner_kind(name: str) -> RunnerKind:
    """Raises ValueError naming the known runners."""
    for kind in _REGISTERED:
        if kind.name == name:
            return kind
    raise ValueError(f"unknown test runner kind {name!r} (known: auto, {', '.join(runner_names())})")


def detect_kind(project: Path) -> str:
    """The name of the runner `project` needs (never "auto")."""
    return next(kind.name for kind in _REGISTERED if kind.needs(project))


def runner_for(
    project: Path,
    kind: str = "auto",
    command: list[str] | None = None,
    sandbox: Preference = "auto",
    main_roots: list[str] | None = None,
    test_roots: list[str] | None = None,
    defects4j: Defects4JOptions = Defects4JOptions(),
) -> TestRunner:
    """The runner `kind` names (`auto`: the one the project needs), built with the options
    (see `RunnerOptions`)."""
    chosen = runner_kind(detect_kind(project) if kind == "auto" else kind)
    if not chosen.takes_source_roots and (main_roots is not None or test_roots is not None):
        raise ValueError(f"source roots are for javac + JUnit projects, not a {chosen.name} one")
    return chosen.build(RunnerOptions(command, sandbox, main_roots, test_roots, defects4j))
