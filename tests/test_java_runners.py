"""The Java test runners on real javac, JVMs, Maven and sandbox runs, with tiny projects
written by each test; Defects4J through tests/fakes/defects4j, which speaks its command-line
contract. Each JVM costs ~0.5-1 s here, so projects are shared where a test only reads."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import textwrap
import time
import zipfile
from pathlib import Path

import pytest

from repairbot.config import LocalizeSettings
from repairbot.domain import Reproduction, TestOutcome, TestStatus
from repairbot.errors import BadInput
from repairbot.pipeline import localize_failure
from tests.test_sandbox import processes_with
from tests.files import write_files
from validators.defects4j_runner import (
    Defects4JRunner, coverage_order, parse_all_tests, parse_failing_tests, perl_error,
)
from validators.junit_runner import JavacJUnitRunner, choose_sandbox
from validators.jvm import compile_errors, read_listener_outcomes, remove_artifact
from validators.junit_xml import parse_java_junit_xml
from validators.maven_runner import MavenRunner, surefire_filter
from validators.process import CommandNotRunnable
from validators.runner import CoverageCut, CoverageUnavailable
from validators.runners import detect_kind, runner_for
from validators.sandbox import Sandbox, detect_sandbox

FAKE_DEFECTS4J = Path(__file__).parent / "fakes" / "defects4j"
DEBIAN_MAVEN_REPO = Path("/usr/share/maven-repo")
# The plugin versions Debian packages there (maven-debian-helper, libsurefire-java, ...).
MAVEN_PLUGINS = {
    "maven-resources-plugin": "3.3.0",
    "maven-compiler-plugin": "3.10.1",
    "maven-surefire-plugin": "2.22.3",
}

CALC = """\
    package calc;
    public class Calc {
        public static int add(int a, int b) { return a - b; }
        public static int neg(int a) { return -a; }
    }
    """
CALC_FIXED = CALC.replace("a - b", "a + b")
CALC_BROKEN = CALC.replace("a - b;", "a - b")
JUNIT4_TEST = """\
    package calc;
    import org.junit.Test;
    import static org.junit.Assert.assertEquals;
    public class CalcTest {
        @Test public void add() { assertEquals(3, Calc.add(1, 2)); }
        @Test public void neg() { assertEquals(-2, Calc.neg(2)); }
    }
    """
JAVA_PROJECT = {
    "src/main/java/calc/Calc.java": CALC,
    "src/test/java/calc/CalcTest.java": JUNIT4_TEST,
    "src/test/java/calc/ParamTest.java": """\
        package calc;
        import java.util.Arrays;
        import java.util.Collection;
        import org.junit.Test;
        import org.junit.runner.RunWith;
        import org.junit.runners.Parameterized;
        import static org.junit.Assert.assertEquals;
        @RunWith(Parameterized.class)
        public class ParamTest {
            @Parameterized.Parameters public static Collection<Object[]> data() {
                return Arrays.asList(new Object[][] {{0}, {5}});
            }
            private final int x;
            public ParamTest(int x) { this.x = x; }
            @Test public void addZero() { assertEquals(x, Calc.add(x, 0)); }
        }
        """,
    "src/main/java/calc/Words.java": """\
        package calc;
        public class Words {
            public static String greet(String name) { return greet.Greeter.hello(name); }
        }
        """,
    "src/test/java/calc/WordsTest.java": """\
        package calc;
        import org.junit.Test;
        import static org.junit.Assert.assertEquals;
        public class WordsTest {
            @Test public void greet() { assertEquals("hello, ada", Words.greet("ada")); }
        }
        """,
    "src/test/java/calc/Calc5Test.java": """\
        package calc;
        import org.junit.jupiter.api.DisplayName;
        import org.junit.jupiter.api.Nested;
        import org.junit.jupiter.api.Test;
        import org.junit.jupiter.params.ParameterizedTest;
        import org.junit.jupiter.params.provider.ValueSource;
        import static org.junit.jupiter.api.Assertions.assertEquals;
        class Calc5Test {
            @Test @DisplayName("negation works") void neg() { assertEquals(-3, Calc.neg(3)); }
            @ParameterizedTest @ValueSource(ints = {1, 2}) void addOne(int x) { assertEquals(x + 1, Calc.add(x, 1)); }
            @Nested class Inner { @Test void deep() { assertEquals(0, Calc.neg(0)); } }
        }
        """,
}
ALL_OUTCOMES = {
    "calc.CalcTest#add": TestStatus.FAILED,
    "calc.CalcTest#neg": TestStatus.PASSED,
    "calc.ParamTest#addZero": TestStatus.PASSED,
    "calc.Calc5Test#neg": TestStatus.PASSED,
    "calc.Calc5Test#addOne(int)": TestStatus.FAILED,
    "calc.Calc5Test$Inner#deep": TestStatus.PASSED,
    "calc.WordsTest#greet": TestStatus.PASSED,  # through lib/greet.jar
}


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    return choose_sandbox()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, sandbox: Sandbox) -> tuple[JavacJUnitRunner, Path]:
    """The JUnit 4 + 5 project, prepared and compiled once for the tests that only run it."""
    runner = JavacJUnitRunner(sandbox)
    workdir = write_files(tmp_path_factory.mktemp("built"), JAVA_PROJECT, dedent=True)
    make_jar(workdir / "lib/greet.jar", tmp_path_factory.mktemp("jar"), "greet/Greeter.java", """\
        package greet;
        public class Greeter { public static String hello(String name) { return "hello, " + name; } }
        """)
    runner.prepare(workdir)
    assert runner.compile(workdir).error is None
    return runner, workdir


def make_jar(jar: Path, scratch: Path, source: str, text: str) -> None:
    """A library jar for a project's lib/, compiled on the host (trusted test code)."""
    write_files(scratch / "src", {source: text}, dedent=True)
    subprocess.run(["javac", "-d", str(scratch / "classes"), str(scratch / "src" / source)], check=True)
    jar.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(jar, "w") as archive:
        for path in (scratch / "classes").rglob("*.class"):
            archive.write(path, path.relative_to(scratch / "classes").as_posix())


def statuses(run) -> dict[str, TestStatus]:
    return {o.test_id: o.status for o in run.outcomes}


# --- javac + JUnit -------------------------------------------------------------------------


def test_junit4_and_junit5_outcomes_in_one_run(built: tuple[JavacJUnitRunner, Path]) -> None:
    runner, workdir = built
    run = runner.run(workdir, 60)
    assert statuses(run) == ALL_OUTCOMES, run.output
    assert run.exit_code == 1 and not run.timed_out and run.violation is None
    by_id = {o.test_id: o for o in run.outcomes}
    assert "expected:<3> but was:<-1>" in by_id["calc.CalcTest#add"].message
    assert "[1] 1: " in by_id["calc.Calc5Test#addOne(int)"].message  # each failed invocation
    assert run.cpu_time_s and run.peak_memory_bytes
    assert runner.diagnose(run) is None


def test_selection_by_the_ids_the_runner_reports(built: tuple[JavacJUnitRunner, Path]) -> None:
    """Ids of parameterized (JUnit 4 and 5) and nested tests select them; a class id
    selects its class."""
    runner, workdir = built
    chosen = ["calc.Calc5Test#addOne(int)", "calc.ParamTest#addZero", "calc.Calc5Test$Inner#deep", "calc.CalcTest"]
    run = runner.run(workdir, 60, tests=chosen)
    left_out = {"calc.Calc5Test#neg", "calc.WordsTest#greet"}
    assert statuses(run) == {k: v for k, v in ALL_OUTCOMES.items() if k not in left_out}, run.output


def test_unknown_test_id_is_diagnosed(built: tuple[JavacJUnitRunner, Path]) -> None:
    runner, workdir = built
    run = runner.run(workdir, 60, tests=["calc.Nope#x"])
    assert run.outcomes == [] and run.exit_code == 255
    assert "calc.Nope" in (runner.diagnose(run) or "")


def test_settable_roots_and_any_test_class_name(tmp_path: Path, sandbox: Sandbox) -> None:
    """QuixBugs' layout: programs and tests in package dirs at the top, tests named `*_TEST`."""
    workdir = write_files(tmp_path, {
        "java_programs/Calc.java": CALC.replace("package calc;", "package java_programs;"),
        "java_testcases/junit/CALC_TEST.java": JUNIT4_TEST.replace("package calc;", "package java_testcases.junit;\n"
                                                                  "import java_programs.Calc;").replace("CalcTest", "CALC_TEST"),
    }, dedent=True)
    runner = JavacJUnitRunner(sandbox, main_roots=["java_programs"], test_roots=["java_testcases"])
    runner.prepare(workdir)
    run = runner.run(workdir, 60)
    assert statuses(run) == {
        "java_testcases.junit.CALC_TEST#add": TestStatus.FAILED, "java_testcases.junit.CALC_TEST#neg": TestStatus.PASSED,
    }, run.output


HOME_TEST = """\
    package calc;
    import java.io.File;
    import org.junit.Test;
    import static org.junit.Assert.assertTrue;
    public class HomeTest {
        @Test public void home() throws Exception {
            File probe = File.createTempFile("probe", ".txt", new File(System.getProperty("user.home")));
            assertTrue(probe.delete());
        }
    }
    """


def test_tests_get_a_writable_home(tmp_path: Path, sandbox: Sandbox) -> None:
    """Issue 16: the JVM reads user.home from the password file, /nonexistent for the sandbox
    uid; a test writing there failed only in the sandbox."""
    workdir = write_files(tmp_path / "p", {"src/main/java/calc/Calc.java": CALC, "src/test/java/calc/HomeTest.java": HOME_TEST}, dedent=True)
    runner = JavacJUnitRunner(sandbox)
    runner.prepare(workdir)
    run = runner.run(workdir, 60)
    assert statuses(run) == {"calc.HomeTest#home": TestStatus.PASSED}, run.output


def test_no_tests_found_is_diagnosed(tmp_path: Path, sandbox: Sandbox) -> None:
    workdir = write_files(tmp_path, {"src/Calc.java": CALC}, dedent=True)  # flat layout, no test dir
    runner = JavacJUnitRunner(sandbox)
    runner.prepare(workdir)
    run = runner.run(workdir, 60)
    assert run.exit_code == 2 and run.outcomes == [] and run.compile_error is None
    assert "no JUnit tests were found" in (runner.diagnose(run) or "")


def test_compile_error_comes_back_in_the_run(tmp_path: Path, sandbox: Sandbox) -> None:
    workdir = write_files(tmp_path, {"src/calc/Calc.java": CALC_BROKEN, "test/calc/CalcTest.java": JUNIT4_TEST}, dedent=True)
    runner = JavacJUnitRunner(sandbox)
    runner.prepare(workdir)
    run = runner.run(workdir, 60)
    assert run.outcomes == [] and run.exit_code != 0 and not run.timed_out
    assert run.compile_error == "src/calc/Calc.java:3: error: ';' expected", run.output
    assert runner.diagnose(run) == f"the project does not compile: {run.compile_error}"


def test_incremental_compile_recompiles_only_what_changed(tmp_path: Path, sandbox: Sandbox) -> None:
    workdir = write_files(tmp_path, {
        "src/main/java/calc/Calc.java": CALC,
        "src/test/java/calc/CalcTest.java": JUNIT4_TEST,
        "src/test/java/calc/OtherTest.java": JUNIT4_TEST.replace("CalcTest", "OtherTest"),
    }, dedent=True)
    runner = JavacJUnitRunner(sandbox)
    runner.prepare(workdir)
    manifest = runner.manifest_file(workdir)
    first = runner.compile(workdir)
    assert first.full and len(first.runs) == 2 and first.error is None
    assert first.compiled == [
        "src/main/java/calc/Calc.java", "src/test/java/calc/CalcTest.java", "src/test/java/calc/OtherTest.java",
    ]
    assert runner.compile(workdir).compiled == []

    calc = workdir / "src/main/java/calc/Calc.java"
    calc.write_text(textwrap.dedent(CALC_FIXED))
    patched = runner.compile(workdir)
    assert (patched.full, patched.compiled) == (False, ["src/main/java/calc/Calc.java"])
    assert statuses(runner.run(workdir, 60, tests=["calc.CalcTest#add"])) == {"calc.CalcTest#add": TestStatus.PASSED}

    calc.write_text(textwrap.dedent(CALC_BROKEN))
    assert runner.run(workdir, 60).compile_error
    assert "src/main/java/calc/Calc.java" not in json.loads(manifest.read_text())["sources"]
    calc.write_text(textwrap.dedent(CALC))
    assert runner.compile(workdir).compiled == ["src/main/java/calc/Calc.java"]

    (workdir / "src/test/java/calc/OtherTest.java").unlink()
    rebuilt = runner.compile(workdir)
    assert rebuilt.full and rebuilt.compiled == ["src/main/java/calc/Calc.java", "src/test/java/calc/CalcTest.java"]
    assert not (runner.test_classes_dir(workdir) / "calc/OtherTest.class").exists()


def test_hanging_test_times_out_and_no_jvm_survives(tmp_path: Path, sandbox: Sandbox) -> None:
    workdir = write_files(tmp_path, {
        "src/main/java/calc/Calc.java": CALC,
        "src/test/java/calc/SpinTest.java": """\
            package calc;
            import org.junit.Test;
            public class SpinTest {
                @Test public void spin() { while (true) { Calc.neg(1); } }
            }
            """,
    }, dedent=True)
    runner = JavacJUnitRunner(sandbox)
    runner.prepare(workdir)
    assert runner.compile(workdir).error is None
    run = runner.run(workdir, 2)
    assert run.timed_out and run.exit_code is None and run.outcomes == []
    assert 2 <= run.duration_s < 4
    assert processes_with(str(workdir)) == []


def test_a_validation_run_ends_at_the_first_hung_test(tmp_path: Path, sandbox: Sandbox) -> None:
    """JUnit 4's own timeout, then the CPU limit (a Jupiter test with none of its own): each
    ends the run there, with the outcomes of the tests before it and of the hung one; the
    tests after it never run. The limit is one thread's: a test that computes on four
    threads for more than the limit altogether passes. Without a CPU limit (a baseline)
    every test runs."""
    workdir = write_files(tmp_path, {
        "src/main/java/calc/Calc.java": CALC,
        "src/test/java/calc/OwnTimeoutTest.java": """\
            package calc;
            import org.junit.FixMethodOrder;
            import org.junit.Test;
            import org.junit.runners.MethodSorters;
            import static org.junit.Assert.assertEquals;
            @FixMethodOrder(MethodSorters.NAME_ASCENDING)
            public class OwnTimeoutTest {
                @Test public void a_passes() { assertEquals(-1, Calc.neg(1)); }
                @Test public void b_fails() { assertEquals(3, Calc.add(1, 2)); }
                @Test(timeout = 300) public void c_spins() { while (true) { Calc.neg(1); } }
                @Test public void d_never_runs() { assertEquals(0, Calc.neg(0)); }
            }
            """,
        "src/test/java/calc/SpinTest.java": """\
            package calc;
            import org.junit.jupiter.api.MethodOrderer;
            import org.junit.jupiter.api.Test;
            import org.junit.jupiter.api.TestMethodOrder;
            @TestMethodOrder(MethodOrderer.MethodName.class)
            class SpinTest {
                @Test void a_spins() { while (true) { Calc.neg(1); } }
                @Test void b_never_runs() { Calc.neg(1); }
            }
            """,
        "src/test/java/calc/ParallelTest.java": """\
            package calc;
            import java.lang.management.ManagementFactory;
            import java.lang.management.ThreadMXBean;
            import org.junit.jupiter.api.Test;
            class ParallelTest {
                // Four threads that each compute for 0.3 s of their own CPU: more than the
                // limit together, far less each.
                @Test void computes_on_four_threads() throws Exception {
                    ThreadMXBean bean = ManagementFactory.getThreadMXBean();
                    Thread[] workers = new Thread[4];
                    for (int i = 0; i < workers.length; i++) {
                        workers[i] = new Thread(() -> {
                            while (bean.getCurrentThreadCpuTime() < 300_000_000L) { Calc.neg(1); }
                        });
                        workers[i].start();
                    }
                    for (Thread worker : workers) { worker.join(); }
                }
            }
            """,
    }, dedent=True)
    runner = JavacJUnitRunner(sandbox)
    runner.prepare(workdir)
    own = runner.run(workdir, 120, tests=["calc.OwnTimeoutTest"], test_cpu_limit_s=60)
    assert not own.timed_out
    assert {o.test_id: o.status for o in own.outcomes} == {
        "calc.OwnTimeoutTest#a_passes": TestStatus.PASSED,
        "calc.OwnTimeoutTest#b_fails": TestStatus.FAILED,
        "calc.OwnTimeoutTest#c_spins": TestStatus.ERROR,
    }
    assert "TestTimedOutException" in next(o.message for o in own.outcomes if o.test_id.endswith("c_spins"))

    spin = runner.run(workdir, 120, tests=["calc.SpinTest"], test_cpu_limit_s=0.5)
    assert not spin.timed_out
    assert [(o.test_id, o.status) for o in spin.outcomes] == [("calc.SpinTest#a_spins", TestStatus.FAILED)]
    assert "stopped as hung" in spin.outcomes[0].message
    assert processes_with(str(workdir)) == []
    assert not list((workdir / ".repairbot").glob("outcomes-*"))  # the listener's file is gone

    parallel = runner.run(workdir, 120, tests=["calc.ParallelTest"], test_cpu_limit_s=1.0)
    assert [(o.test_id, o.status) for o in parallel.outcomes] == [
        ("calc.ParallelTest#computes_on_four_threads", TestStatus.PASSED)
    ]

    baseline = runner.run(workdir, 120, tests=["calc.OwnTimeoutTest"])
    assert len(baseline.outcomes) == 4 and {o.test_id: o.ok for o in baseline.outcomes}["calc.OwnTimeoutTest#d_never_runs"]


def test_tests_cannot_reach_the_network_or_write_outside_the_workdir(tmp_path: Path, sandbox: Sandbox) -> None:
    """Also: a test that eats memory fails with an OutOfMemoryError (the heap is capped
    below the memory cgroup) instead of getting the whole JVM killed; a test that swaps the
    compile manifest for a link to a host file does not get the host file written."""
    if sandbox.mode != "bwrap":
        pytest.skip(f"isolation needs the bwrap sandbox: {sandbox.description}")
    server = socket.create_server(("127.0.0.1", 0))
    outside = tmp_path / "outside.txt"
    outside.write_text("host")
    workdir = tmp_path / "work"
    planted = workdir.parent / "planted"
    write_files(workdir, {
        "src/main/java/calc/Calc.java": CALC,
        "src/test/java/calc/EscapeTest.java": f"""\
            package calc;
            import java.nio.file.Files;
            import java.nio.file.Path;
            import org.junit.Test;
            public class EscapeTest {{
                @Test public void connect() throws Exception {{
                    new java.net.Socket("127.0.0.1", {server.getsockname()[1]}).close();
                }}
                @Test public void overwrite() throws Exception {{ Files.writeString(Path.of("{outside}"), "pwned"); }}
                @Test public void plant() throws Exception {{ Files.writeString(Path.of("{planted}"), "pwned"); }}
                @Test public void inside() throws Exception {{ Files.writeString(Path.of("inside.txt"), "ok"); }}
                @Test public void tamper() throws Exception {{
                    Path manifest = Path.of(".repairbot/javac/manifest.json");
                    Files.delete(manifest);
                    Files.createSymbolicLink(manifest, Path.of("{outside}"));
                }}
                @Test public void hog() {{
                    java.util.List<byte[]> hog = new java.util.ArrayList<>();
                    while (true) {{ hog.add(new byte[64 << 20]); }}
                }}
            }}
            """,
    }, dedent=True)
    runner = JavacJUnitRunner(sandbox, memory_bytes=512 * 1024 * 1024)  # a quick OutOfMemoryError
    runner.prepare(workdir)
    with server:
        run = runner.run(workdir, 60)
        socket.create_connection(server.getsockname(), timeout=2).close()  # the host can
    assert statuses(run) == {
        "calc.EscapeTest#connect": TestStatus.ERROR,
        "calc.EscapeTest#overwrite": TestStatus.ERROR,
        "calc.EscapeTest#plant": TestStatus.ERROR,
        "calc.EscapeTest#inside": TestStatus.PASSED,
        "calc.EscapeTest#tamper": TestStatus.PASSED,
        "calc.EscapeTest#hog": TestStatus.ERROR,
    }, run.output
    by_id = {o.test_id: o.message for o in run.outcomes}
    assert "java.net." in by_id["calc.EscapeTest#connect"]  # ConnectException / unreachable
    assert "OutOfMemoryError" in by_id["calc.EscapeTest#hog"] and run.violation is None
    assert outside.read_text() == "host" and not planted.exists()
    assert (workdir / "inside.txt").stat().st_uid == sandbox.uid
    assert runner.compile(workdir).full  # the manifest is not trusted, nor written through
    assert outside.read_text() == "host" and not runner.manifest_file(workdir).is_symlink()


def test_the_hang_stops_outcomes_are_read_as_untrusted(tmp_path: Path) -> None:
    """Invocations of one method merge (the worst status, each message labelled); a line of
    any other shape, and a file planted as a link, give nothing."""
    listened = tmp_path / ".repairbot" / "outcomes-1.tsv"
    listened.parent.mkdir()
    listened.write_text(
        "passed\tcalc.P%23add%28int%29\t\t0.010\n"
        "failed\tcalc.P%23add%28int%29\tjava.lang.AssertionError%3A+expected%3A%3C2%3E\t0.020\n"
        "error\tcalc.T%23spin\torg.junit.runners.model.TestTimedOutException\t0.300\n"
        "exploded\tcalc.T%23other\t\t0.0\n"
        "passed\tcalc.T%23cut\n"
    )
    outcomes = {o.test_id: o for o in read_listener_outcomes(listened, tmp_path)}
    assert {test_id: o.status for test_id, o in outcomes.items()} == {
        "calc.P#add(int)": TestStatus.FAILED, "calc.T#spin": TestStatus.ERROR,
    }
    assert outcomes["calc.P#add(int)"].message == "[2]: java.lang.AssertionError: expected:<2>"
    assert outcomes["calc.P#add(int)"].duration_s == pytest.approx(0.03)

    planted = tmp_path / ".repairbot" / "outcomes-2.tsv"
    planted.symlink_to(listened)
    assert read_listener_outcomes(planted, tmp_path) == []


def test_compile_errors_from_javac_ant_and_maven(tmp_path: Path) -> None:
    root = tmp_path.resolve()
    output = "\n".join([
        "[INFO] Compiling 1 source file",
        f"[ERROR] {root}/src/main/java/calc/Calc.java:[3,52] ';' expected",
        f"    [javac] {root}/src/Foo.java:12: error: cannot find symbol",
        "src/Bar.java:1: error: class, interface, enum, or record expected",
        "2 errors",
    ])
    assert compile_errors(output, root).splitlines() == [
        "src/main/java/calc/Calc.java:3: error: ';' expected",
        "src/Foo.java:12: error: cannot find symbol",
        "src/Bar.java:1: error: class, interface, enum, or record expected",
    ]
    assert compile_errors("error: invalid flag: -Xbogus\nUsage: javac <options>\n", root) == "javac: error: invalid flag: -Xbogus"
    ant_on_java17 = "    [javac] error: Source option 6 is no longer supported. Use 7 or later.\nBUILD FAILED\n"
    assert compile_errors(ant_on_java17, root) == "javac: error: Source option 6 is no longer supported. Use 7 or later."
    assert compile_errors("Exception in thread \"main\"\nBUILD FAILED\n", root) == "BUILD FAILED"


def test_surefire_style_java_reports(tmp_path: Path) -> None:
    report = tmp_path / "TEST-x.xml"
    report.write_text(textwrap.dedent("""\
        <testsuite name="x">
          <testcase name="addOne(int)[1]" classname="calc.C5" time="0.1"><failure message="m1">t1</failure></testcase>
          <testcase name="addOne(int)[2]" classname="calc.C5" time="0.2"/>
          <testcase name="neg()" classname="calc.C5" time="0"/>
          <testcase name="addZero[0]" classname="calc.P" time="0"><skipped/></testcase>
          <testcase name="addZero[1]" classname="calc.P" time="0"/>
        </testsuite>"""))
    outcomes = {o.test_id: o for o in parse_java_junit_xml(report)}
    assert {k: o.status for k, o in outcomes.items()} == {
        "calc.C5#addOne(int)": TestStatus.FAILED, "calc.C5#neg": TestStatus.PASSED, "calc.P#addZero": TestStatus.PASSED,
    }
    assert outcomes["calc.C5#addOne(int)"].message == "[1]: m1\nt1"
    assert outcomes["calc.C5#addOne(int)"].duration_s == pytest.approx(0.3)


# --- Maven ------------------------------------------------------------------------------------


def maven_project(root: Path) -> Path:
    plugins = "".join(
        f"<plugin><groupId>org.apache.maven.plugins</groupId><artifactId>{name}</artifactId>"
        f"<version>{version}</version></plugin>"
        for name, version in MAVEN_PLUGINS.items()
    )
    pom = f"""\
        <project xmlns="http://maven.apache.org/POM/4.0.0">
          <modelVersion>4.0.0</modelVersion>
          <groupId>t</groupId><artifactId>calc</artifactId><version>1</version>
          <properties>
            <maven.compiler.release>17</maven.compiler.release>
            <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
          </properties>
          <dependencies><dependency>
            <groupId>junit</groupId><artifactId>junit</artifactId><version>4.13.2</version><scope>test</scope>
          </dependency></dependencies>
          <build><plugins>{plugins}</plugins></build>
        </project>
        """
    return write_files(root, {
        "pom.xml": pom,
        "src/main/java/calc/Calc.java": CALC,
        "src/test/java/calc/CalcTest.java": JUNIT4_TEST,
        "src/test/java/calc/OtherTest.java": JUNIT4_TEST.replace("CalcTest", "OtherTest"),
    }, dedent=True)


def test_maven_runner_offline_outcomes_selection_and_compile_error(tmp_path: Path) -> None:
    plugins = DEBIAN_MAVEN_REPO / "org/apache/maven/plugins"
    missing = [f"{name} {version}" for name, version in MAVEN_PLUGINS.items() if not (plugins / name / version).is_dir()]
    if missing:
        pytest.skip(f"Debian's Maven plugins are not installed under {DEBIAN_MAVEN_REPO}: {missing}")
    workdir = maven_project(tmp_path / "mvn")
    write_files(workdir, {"src/test/java/calc/HomeTest.java": HOME_TEST}, dedent=True)  # in Surefire's forked JVM
    runner = MavenRunner(local_repository=DEBIAN_MAVEN_REPO)
    runner.prepare(workdir)
    run = runner.run(workdir, 120, tests=["calc.CalcTest#add", "calc.CalcTest#neg", "calc.HomeTest#home"])
    assert statuses(run) == {
        "calc.CalcTest#add": TestStatus.FAILED, "calc.CalcTest#neg": TestStatus.PASSED,
        "calc.HomeTest#home": TestStatus.PASSED,
    }, run.output
    assert runner.diagnose(run) is None

    (workdir / "src/main/java/calc/Calc.java").write_text(textwrap.dedent(CALC_BROKEN))
    broken = runner.run(workdir, 120)
    assert broken.compile_error == "src/main/java/calc/Calc.java:3: error: ';' expected", broken.output
    assert broken.outcomes == []


def test_surefire_filter_groups_methods_by_class() -> None:
    assert surefire_filter(["a.B#x", "a.B#y(int)", "a.C", "a.D#z", "a.D"]) == "a.B#x+y,a.C,a.D"


# --- Defects4J (through the fake) ---------------------------------------------------------


D4J_PROJECT = {
    ".defects4j.config": "pid=Calc\nvid=1b\n",
    "defects4j.build.properties": """\
        d4j.dir.src.classes=src/main/java
        d4j.dir.src.tests=src/test/java
        d4j.tests.trigger=calc.CalcTest::add
        d4j.classes.modified=calc.Calc
        d4j.tests.relevant=calc.CalcTest
        """,
    "src/main/java/calc/Calc.java": CALC,
    "src/test/java/calc/CalcTest.java": JUNIT4_TEST,
    "src/test/java/calc/OtherTest.java": JUNIT4_TEST.replace("CalcTest", "OtherTest").replace(
        "assertEquals(3, Calc.add(1, 2))", "assertEquals(0, Calc.add(0, 0))"
    ),
    # Not a `*Test`: only ever run alone, with -t.
    "src/test/java/calc/SpinCase.java": """\
        package calc;
        import org.junit.Test;
        public class SpinCase {
            @Test public void spin() { while (true) { Calc.neg(1); } }
        }
        """,
}


# Run alone (-t): what every JVM of a Defects4J call gets from the runner.
ENV_CASE = """\
    package calc;
    import java.io.File;
    import org.junit.Test;
    import static org.junit.Assert.assertTrue;
    public class EnvCase {
        @Test public void home() throws Exception {
            File probe = File.createTempFile("probe", ".txt", new File(System.getProperty("user.home")));
            assertTrue(probe.delete());
        }
        @Test public void heap() {
            assertTrue("max heap " + Runtime.getRuntime().maxMemory(), Runtime.getRuntime().maxMemory() <= 768L << 20);
        }
    }
    """


def make_checkout(root: Path, **options: object) -> tuple[Defects4JRunner, Path]:
    workdir = write_files(root, D4J_PROJECT, dedent=True)
    runner = Defects4JRunner(FAKE_DEFECTS4J, **options)  # type: ignore[arg-type]
    runner.prepare(workdir)
    return runner, workdir


@pytest.fixture
def checkout(tmp_path: Path) -> tuple[Defects4JRunner, Path]:
    """A checkout of its own, for a test that changes it."""
    return make_checkout(tmp_path / "checkout")


@pytest.fixture(scope="module")
def shared_checkout(tmp_path_factory: pytest.TempPathFactory) -> tuple[Defects4JRunner, Path]:
    """One checkout for the tests that only run it (the fake compiles only stale files)."""
    return make_checkout(tmp_path_factory.mktemp("checkout"))


def test_defects4j_full_run_and_trigger_tests(shared_checkout: tuple[Defects4JRunner, Path]) -> None:
    runner, workdir = shared_checkout
    assert runner.trigger_tests(workdir) == ["calc.CalcTest#add"]
    run = runner.run(workdir, 60)
    assert statuses(run) == {
        "calc.CalcTest#add": TestStatus.FAILED,
        "calc.CalcTest#neg": TestStatus.PASSED,
        "calc.OtherTest#add": TestStatus.PASSED,
        "calc.OtherTest#neg": TestStatus.PASSED,
    }, run.output
    assert run.outcomes[0].message.startswith("java.lang.AssertionError: expected:<3> but was:<-1>")
    assert "Running ant (run.dev.tests)" in run.output and runner.diagnose(run) is None


def test_defects4j_single_and_relevant_tests(shared_checkout: tuple[Defects4JRunner, Path]) -> None:
    runner, workdir = shared_checkout
    single = runner.run(workdir, 60, tests=["calc.CalcTest#neg"])
    assert statuses(single) == {"calc.CalcTest#neg": TestStatus.PASSED}, single.output
    relevant = Defects4JRunner(FAKE_DEFECTS4J, runner.sandbox, relevant_only=True).run(workdir, 60)
    assert statuses(relevant) == {"calc.CalcTest#add": TestStatus.FAILED, "calc.CalcTest#neg": TestStatus.PASSED}


def test_defects4j_compile_failure(checkout: tuple[Defects4JRunner, Path]) -> None:
    runner, workdir = checkout
    (workdir / "src/main/java/calc/Calc.java").write_text(textwrap.dedent(CALC_BROKEN))
    run = runner.run(workdir, 60)
    assert run.outcomes == [] and run.exit_code != 0
    assert run.compile_error == "src/main/java/calc/Calc.java:3: error: ';' expected", run.output
    assert "Running ant (compile)" in run.output and "FAIL" in run.output


def test_defects4j_outside_a_checkout_is_diagnosed(checkout: tuple[Defects4JRunner, Path]) -> None:
    runner, workdir = checkout
    (workdir / ".defects4j.config").unlink()
    run = runner.run(workdir, 60)
    assert run.outcomes == [] and (runner.diagnose(run) or "").startswith("not a Defects4J checkout")


def test_defects4j_hanging_test_is_killed_at_the_timeout(shared_checkout: tuple[Defects4JRunner, Path]) -> None:
    runner, workdir = shared_checkout
    run = runner.run(workdir, 2, tests=["calc.SpinCase#spin"])
    assert run.timed_out and run.outcomes == []
    assert processes_with(str(workdir)) == []


def test_defects4j_jvms_get_a_capped_heap_and_a_writable_home(tmp_path: Path) -> None:
    """Issue 16: the JVM sized its heap from the host's RAM (the cgroup is invisible in the
    sandbox) and took /nonexistent, the sandbox uid's home in the password file, as user.home."""
    runner, workdir = make_checkout(tmp_path / "checkout", memory_mib=1024)
    write_files(workdir, {"src/test/java/calc/EnvCase.java": ENV_CASE}, dedent=True)
    runner.prepare(workdir)
    assert runner.java_options()[0] == "-Xmx768m"
    run = runner.run(workdir, 120, tests=["calc.EnvCase#home", "calc.EnvCase#heap"])
    assert statuses(run) == {"calc.EnvCase#home": TestStatus.PASSED, "calc.EnvCase#heap": TestStatus.PASSED}, run.output


def test_defects4j_environment_from_settings_reaches_the_framework(checkout: tuple[Defects4JRunner, Path]) -> None:
    """Extra environment (e.g. PERL5LIB) reaches the framework: here the fake's stand-in for a
    missing Perl module, whose die output ends in Perl's `require` lines, never the reason."""
    _, workdir = checkout
    runner = Defects4JRunner(FAKE_DEFECTS4J, checkout[0].sandbox, env={"FAKE_D4J_MISSING_MODULE": "DBI"})
    run = runner.run(workdir, 60)
    assert run.compile_error is not None and run.compile_error.startswith("Can't locate DBI.pm in @INC"), run.output
    assert "Compilation failed in require" in run.output
    with pytest.raises(CommandNotRunnable, match=r"export -p tests.trigger failed: Can't locate DBI.pm"):
        runner.trigger_tests(workdir)


OLD_ANT_BUILD = """\
    <project name="calc" default="compile">
        <target name="compile">
            <mkdir dir="target/classes"/>
            <javac srcdir="src/main/java" destdir="target/classes" source="1.6" target="1.6"
                   includeantruntime="false" debug="true"/>
        </target>
    </project>
    """


def test_defects4j_old_ant_build_compiles_on_this_jdk_through_the_level_adapter(tmp_path: Path) -> None:
    """Issue 16: Defects4J's build files ask javac for `source="1.6"`, which javac 17 refuses
    (Jsoup, Gson, Codec, Time, ... did not compile). The runner hands Ant an adapter that
    raises the levels, in the sandbox, leaving the build file as it is; the user's own
    ANT_ARGS come first."""
    runner, workdir = make_checkout(tmp_path / "checkout", env={"ANT_ARGS": "-noinput"})
    write_files(workdir, {"build.xml": OLD_ANT_BUILD}, dedent=True)
    runner.prepare(workdir)
    assert runner.call_env()["ANT_ARGS"].startswith("-noinput -lib ")
    run = runner.run(workdir, 120, tests=["calc.CalcTest#add"])
    assert run.compile_error is None, run.output
    assert statuses(run) == {"calc.CalcTest#add": TestStatus.FAILED}, run.output  # the bug, compiled and run

    refused = Defects4JRunner(FAKE_DEFECTS4J, runner.sandbox, javac_min_level=0)
    remove_artifact(workdir / "target", workdir.resolve())
    run = refused.run(workdir, 120, tests=["calc.CalcTest#add"])
    assert run.compile_error is not None and "Source option 6 is no longer supported" in run.output, run.output


def test_defects4j_per_test_coverage_of_the_last_runs_test_classes(shared_checkout: tuple[Defects4JRunner, Path]) -> None:
    """Localization on a Defects4J checkout: JaCoCo per test, over the classes the framework
    built, for the test classes of the last run made with coverage (here the relevant ones)."""
    runner, workdir = shared_checkout
    relevant = Defects4JRunner(FAKE_DEFECTS4J, runner.sandbox, relevant_only=True)
    assert relevant.line_coverage(workdir) == {}  # no run with coverage: nothing to measure
    relevant.run(workdir, 60, with_coverage=True)
    assert relevant.line_coverage(workdir) == {
        "src/main/java/calc/Calc.java": {3: {"calc.CalcTest#add"}, 4: {"calc.CalcTest#neg"}},  # no OtherTest
    }
    # the job's deadline bounds the run (issue 17: the budget is a promise) and says so
    with pytest.raises(CoverageCut, match=r"did not finish within 0s \(the job's time budget\)"):
        relevant.line_coverage(workdir, deadline=time.monotonic() + 0.2)
    run = relevant.run(workdir, 60, with_coverage=True)
    failing = [o for o in run.outcomes if not o.ok]
    section = LocalizeSettings(formula="ochiai", granularity="statement", trace_weight=1.0, given=(), limit=5)
    with pytest.raises(BadInput, match="the job's time budget ended: the per-test coverage run .* raise time_budget_s"):
        localize_failure(relevant, workdir, Reproduction(run, failing, []), section, deadline=time.monotonic() + 0.2)
    relevant.coverage_timeout_s = 0.2
    with pytest.raises(CoverageUnavailable, match=r"coverage run of 1 test class\(es\) did not finish within 0s "
                       r"\(defects4j_test_timeout_s\)") as cut:
        relevant.line_coverage(workdir, deadline=time.monotonic() + 3600)
    assert not isinstance(cut.value, CoverageCut)  # its own timeout: no budget to raise
    if runner.sandbox.mode == "bwrap":  # one that shows the installation but not the coverage helpers
        bare = Defects4JRunner(FAKE_DEFECTS4J, detect_sandbox(ro_paths=[FAKE_DEFECTS4J.parent]), relevant_only=True)
        bare.run(workdir, 60, with_coverage=True)
        with pytest.raises(CoverageUnavailable, match="the sandbox does not show the coverage helpers"):
            bare.line_coverage(workdir)


def test_defects4j_coverage_runs_the_classes_of_failing_tests_last() -> None:
    """Static initialization is charged to the test that first loads a class: to a passing
    one where it can be, not to the failing test (Lang-6: its tables outranked the fault)."""
    outcomes = [TestOutcome("a.STest#fails", TestStatus.FAILED), TestOutcome("a.BrokenTest", TestStatus.ERROR),
                TestOutcome("a.PTest#x", TestStatus.PASSED), TestOutcome("a.STest#ok", TestStatus.PASSED),
                TestOutcome("a.QTest#y", TestStatus.PASSED)]
    assert coverage_order(outcomes) == ["a.PTest", "a.QTest", "a.STest", "a.BrokenTest"]


def test_perl_error_is_the_line_before_the_require_unwinding() -> None:
    died = ("Running ant (compile.tests)................................................ OK\n"
            "Cannot compile test suite! at /d4j/framework/bin/d4j/d4j-test line 131.\n"
            "Compilation failed in require at /d4j/framework/bin/defects4j line 195.\n")
    assert perl_error(died) == "Cannot compile test suite! at /d4j/framework/bin/d4j/d4j-test line 131."
    assert perl_error("BEGIN failed--compilation aborted at /d4j/core/Project.pm line 3.\n") == (
        "BEGIN failed--compilation aborted at /d4j/core/Project.pm line 3.")  # nothing above it: kept
    assert perl_error("Failing tests: 0\n") == "Failing tests: 0"
    ant_failed = ("BUILD FAILED\n"
                  "/d4j/framework/projects/defects4j.build.xml:83: The following error occurred while executing this line:\n"
                  "/d4j/framework/projects/Math/Math.build.xml:66: Unable to create javax script engine for javascript\n"
                  "\nTotal time: 0 seconds\n"
                  "Cannot export property tests.trigger at /d4j/framework/bin/d4j/d4j-export line 112.\n"
                  "Compilation failed in require at /d4j/framework/bin/defects4j line 195.\n")
    assert perl_error(ant_failed) == (
        "Cannot export property tests.trigger at /d4j/framework/bin/d4j/d4j-export line 112. "
        "(Ant: /d4j/framework/projects/Math/Math.build.xml:66: Unable to create javax script engine for javascript)")


def test_defects4j_exports(shared_checkout: tuple[Defects4JRunner, Path]) -> None:
    runner, workdir = shared_checkout
    assert runner.relevant_tests(workdir) == ["calc.CalcTest"]
    assert runner.export(workdir, "dir.src.classes") == ["src/main/java"]
    classpath = runner.export(workdir, "cp.test")[0].split(":")
    assert str(workdir / "target/test-classes") in classpath and any(p.endswith("junit4.jar") for p in classpath)
    with pytest.raises(CommandNotRunnable, match="export -p no.such failed"):
        runner.export(workdir, "no.such")


def test_defects4j_result_files() -> None:
    failing = textwrap.dedent("""\
        --- calc.CalcTest::add
        java.lang.AssertionError: expected:<3> but was:<-1>
        \tat calc.CalcTest.add(CalcTest.java:5)
        --- calc.BrokenTest
        java.lang.ExceptionInInitializerError
        --- calc.ParamTest::addZero
        java.lang.AssertionError: one
        --- calc.ParamTest::addZero
        java.lang.AssertionError: two
        """)
    outcomes = {o.test_id: o for o in parse_failing_tests(failing)}
    assert {k: o.status for k, o in outcomes.items()} == {
        "calc.CalcTest#add": TestStatus.FAILED,
        "calc.BrokenTest": TestStatus.ERROR,
        "calc.ParamTest#addZero": TestStatus.FAILED,
    }
    assert outcomes["calc.CalcTest#add"].message.endswith("at calc.CalcTest.add(CalcTest.java:5)")
    assert outcomes["calc.ParamTest#addZero"].message.endswith("two")
    started = ["add(calc.CalcTest)", "addZero[0](calc.ParamTest)", "addZero[1](calc.ParamTest)", "initializationError(calc.X)"]
    assert parse_all_tests("\n".join(started)) == ["calc.CalcTest#add", "calc.ParamTest#addZero"]


# --- choosing a runner ------------------------------------------------------------------------


def test_detect_kind_and_runner_for(tmp_path: Path, sandbox: Sandbox) -> None:
    cases = {
        "d4j": {"defects4j.build.properties": "", "pom.xml": "", "src/A.java": ""},
        "mvn": {"pom.xml": "", "src/main/java/A.java": ""},
        "py_with_java": {"pyproject.toml": "", "tools/A.java": ""},
        "javac": {"src/A.java": "", "test/ATest.java": ""},
        "py": {"test_a.py": ""},
    }
    kinds = {name: detect_kind(write_files(tmp_path / name, files, dedent=True)) for name, files in cases.items()}
    assert kinds == {"d4j": "defects4j", "mvn": "maven", "py_with_java": "pytest", "javac": "javac", "py": "pytest"}
    assert isinstance(runner_for(tmp_path / "javac"), JavacJUnitRunner)
    maven = runner_for(tmp_path / "mvn", command=["./mvnw"], sandbox="none")
    assert isinstance(maven, MavenRunner) and maven.command == ["./mvnw"] and maven.sandbox.mode == "rlimits"
    d4j = runner_for(tmp_path / "d4j", command=[str(FAKE_DEFECTS4J)])
    assert isinstance(d4j, Defects4JRunner) and FAKE_DEFECTS4J.parent.resolve() in d4j.sandbox.ro_paths
    if sandbox.mode == "bwrap":  # one that binds only the system dirs
        with pytest.raises(ValueError, match="does not show the Defects4J installation"):
            Defects4JRunner(FAKE_DEFECTS4J, sandbox)
    with pytest.raises(ValueError, match="no test command"):
        runner_for(tmp_path / "javac", command=["make", "test"])
    assert os.access(FAKE_DEFECTS4J, os.X_OK)
