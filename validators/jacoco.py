"""Per-test line coverage of Java tests with the JaCoCo agent from Debian's `libjacoco-java`.

How one coverage run works:

* the test JVM gets the JaCoCo agent (`jvm_args`) and, on its classpath (`classpath`), a
  JUnit Platform listener (validators/java/repairbot/coverage/PerTestCoverage.java) that
  resets the agent's probes when a test starts and dumps them when it ends, one `.exec`
  file per test id (`pkg.ClassTest#method`) under the run's exec dir;
* afterwards, on the host, a small reader (CoveredLines.java) analyzes the compiled classes
  against each dump with org.jacoco.core and prints the source lines each test covered,
  which `read` turns into `LineCoverage` with paths relative to the work dir.

The listener works for every JUnit Platform engine (Jupiter, and Vintage for JUnit 4), so
coverage is per test method, never per class.

JaCoCo counts a line as run once a probe placed after it (at the end of its basic block)
has run: a line whose call threw, and the lines before it in its block, are not covered
for the test that crashed through them. Localization adds those lines back from the
failing tests' stack traces (`repairbot.stacktrace.frame_lines`).

The helpers are compiled on first use into a cache dir (validators/java_helpers.py), with
repairbot's other JUnit listener, the hang stop of validation runs
(validators/java/repairbot/junit/StopAtHang.java; `classpath` serves both). The
sandboxed test JVM must read them: the cache dir is one of the sandbox's read-only binds
(`sandbox_paths`); the agent's other jars are under /usr/share/java, which the sandbox
always shows.

Java 17: Debian's JaCoCo is 0.8.6, which upstream only supports up to Java 15/16 class
files; Debian's build, however, shades ASM 9.4 into the agent and links the core against
the system's ASM 9.4, which read class files up to Java 19, and 0.8.6's own version check
only special-cases major version 60. Class files javac 17 writes (major 61, records and
switch expressions included) are instrumented and analyzed correctly
(tests/test_java_localization.py), so the project's classes need no `--release`
downgrade for coverage. A class the agent cannot instrument still runs, uninstrumented,
and simply shows no coverage (the agent prints the error to the test output).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote_plus

from repairbot.languages import java
from validators import java_helpers
from validators.runner import LineCoverage

JAVA_LIB = Path("/usr/share/java")
# Debian ships the agent proper (with its Premain-Class) inside this jar, as upstream does.
AGENT_CONTAINER = JAVA_LIB / "org.jacoco.agent.jar"
AGENT_ENTRY = "jacocoagent.jar"
# What the helpers compile against; the reader also runs with the core and its ASM.
RUNTIME_API = JAVA_LIB / "org.jacoco.agent.rt.jar"
PLATFORM_JARS = [JAVA_LIB / f"junit-platform-{name}.jar" for name in ("launcher", "engine", "commons")]
CORE_JARS = [JAVA_LIB / f"{name}.jar" for name in ("org.jacoco.core", "asm", "asm-commons", "asm-tree")]
SOURCES_DIR = Path(__file__).resolve().parent / "java"
DIR_PROPERTY = "repairbot.coverage.dir"
# Not worth instrumenting: the test frameworks and our listener. Everything else, the
# tests included, is measured; localization drops test files itself.
EXCLUDES = ("org.junit.*", "junit.*", "org.hamcrest.*", "org.opentest4j.*", "org.apiguardian.*", "repairbot.*")
READ_TIMEOUT_S = 600


class JacocoError(java_helpers.HelperBuildError):
    """The coverage helpers cannot be built or their output read."""


@dataclass(frozen=True)
class JacocoCoverage:
    cache_root: Path = field(default_factory=java_helpers.default_cache_root)

    def sandbox_paths(self) -> list[Path]:
        """Host dirs the sandbox must bind read-only for coverage runs. The dir exists from
        here on (bwrap cannot bind a missing one); helpers compiled into it later show up
        in the next run's bind."""
        java_helpers.make_readable_dir(self.cache_root)
        return [self.cache_root]

    def helpers(self) -> Path:
        """The compiled listener and reader, with the agent jar: built on first use."""
        jars = (AGENT_CONTAINER, RUNTIME_API, *PLATFORM_JARS, *CORE_JARS)
        return java_helpers.build(self.cache_root, SOURCES_DIR, jars, _finish_helpers)

    def jvm_args(self, exec_dir: Path) -> list[str]:
        """Options for the test JVM: the agent (no output of its own: the listener dumps)
        and where the listener writes its per-test dumps."""
        agent = self.helpers() / AGENT_ENTRY
        options = f"output=none,excludes={':'.join(EXCLUDES)}"
        return [f"-javaagent:{agent}={options}", f"-D{DIR_PROPERTY}={exec_dir}"]

    def classpath(self) -> list[Path]:
        """Entries for the test JVM's classpath: the listener and its service registration."""
        return [self.helpers() / "classes"]

    def read(self, exec_dir: Path, class_dirs: list[Path], source_roots: list[str], workdir: Path) -> LineCoverage:
        """Lines each test covered, by source file relative to `workdir`. JaCoCo names a
        class's source `pkg/Name.java`: it is looked up by that path under `source_roots`
        (directories relative to `workdir`; see `JavaSources`); a class whose source is not
        in the project (generated code) is left out. No exec dir (the JVM died before the
        first test ended) means no coverage.

        The sandboxed tests could write both dirs: the caller checks that neither is (or
        lies under) a planted link; the reader follows no link inside them."""
        if not exec_dir.is_dir():
            return {}
        classpath = [self.helpers() / "classes", *CORE_JARS]
        argv = [
            _java(), "-cp", os.pathsep.join(map(str, classpath)),
            "repairbot.coverage.CoveredLines", str(exec_dir), *map(str, class_dirs),
        ]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=READ_TIMEOUT_S)
        if result.returncode != 0:
            raise JacocoError(f"reading JaCoCo execution data failed: {result.stderr.strip()[-2000:]}")
        sources = java.JavaSources(workdir.resolve(), source_roots)
        coverage: LineCoverage = {}
        for row in result.stdout.splitlines():
            dump, source, lines = row.split("\t")
            file = sources.find(source)
            if file is None:
                continue
            test = unquote_plus(dump.removesuffix(".exec"))
            by_line = coverage.setdefault(file, {})
            for line in lines.split():
                by_line.setdefault(int(line), set()).add(test)
        return coverage


def _java() -> str:
    return shutil.which("java") or "java"


def _finish_helpers(staging: Path) -> None:
    """The listener's service registration and the agent jar beside the compiled classes."""
    shutil.copytree(SOURCES_DIR / "META-INF", staging / "classes" / "META-INF")
    with zipfile.ZipFile(AGENT_CONTAINER) as container:
        (staging / AGENT_ENTRY).write_bytes(container.read(AGENT_ENTRY))
