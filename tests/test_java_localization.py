"""Fault localization for Java: per-test JaCoCo coverage through the javac + JUnit runner,
Java statements and methods by line, Java stack traces, and the Java examples' ranks."""

from __future__ import annotations

import math
import shutil
import stat
from pathlib import Path

import pytest

from benchmarks.examples import EXAMPLES_DIR, example_projects
from repairbot.domain import Reproduction, TestOutcome, TestRun, TestStatus
from repairbot.languages.java import JavaSources
from repairbot.localize import MODULE, Evidence, SourceMap, Spectrum, collect, is_test_file, localize, rank
from repairbot.reproduce import reproduce
from repairbot.stacktrace import Frame, frame_lines, frame_weights, parse_tracebacks
from validators.jacoco import AGENT_ENTRY, JacocoCoverage
from validators.junit_runner import JavacJUnitRunner
from validators.runner import LineCoverage

from tests.test_localize import removed_lines
from tests.files import write_files

pytestmark = pytest.mark.skipif(shutil.which("javac") is None, reason="needs a JDK")

JAVA_EXAMPLES = [p.name for p in example_projects("java")]
# Rank of the statement expected.patch changes, with the default settings (Ochiai, trace
# weight 0.5). stock_levels: the faulty comparison ties (ef = 2, ep = 2) with the loop of
# reorderList and the getter it calls for reordered items, which sort before it.
# ring_buffer: the faulty array index is where the ArrayIndexOutOfBoundsException arises.
JAVA_EXAMPLE_RANKS = {"ring_buffer": 1, "stock_levels": 1}  # stock_levels: 4 before data-flow tie-breaking, 2 before accessors went last

# Java 17 constructs (a record, a switch expression) in the measured code: Debian's
# JaCoCo 0.8.6 must instrument class files of major version 61 (validators/jacoco.py).
TINY = {
    "src/main/java/shapes/Area.java": """\
        package shapes;

        public final class Area {
            record Rect(int w, int h) {}

            public static int of(int w, int h) {
                Rect r = new Rect(w, h);
                return switch (r.w()) {
                    case 0 -> 0;
                    default -> r.w() * r.h();
                };
            }

            public static int sum(int... sides) {
                int total = 0;
                for (int side : sides) {
                    total += side;
                }
                return total;
            }
        }
        """,
    "src/test/java/shapes/AreaTest.java": """\
        package shapes;

        import static org.junit.jupiter.api.Assertions.assertEquals;

        import org.junit.jupiter.api.Nested;
        import org.junit.jupiter.api.Test;
        import org.junit.jupiter.params.ParameterizedTest;
        import org.junit.jupiter.params.provider.ValueSource;

        class AreaTest {
            @Test
            void zeroWidth() {
                assertEquals(0, Area.of(0, 5));
            }

            @ParameterizedTest
            @ValueSource(ints = {1, 2})
            void square(int side) {
                assertEquals(side * side, Area.of(side, side));
            }

            @Nested
            class Wide {
                @Test
                void wide() {
                    assertEquals(6, Area.of(3, 2));
                }
            }
        }
        """,
    "src/test/java/shapes/SumParamTest.java": """\
        package shapes;

        import static org.junit.Assert.assertEquals;

        import org.junit.Test;
        import org.junit.runner.RunWith;
        import org.junit.runners.Parameterized;

        @RunWith(Parameterized.class)
        public class SumParamTest {
            @Parameterized.Parameters
            public static Object[] sides() {
                return new Object[] {1, 2};
            }

            @Parameterized.Parameter
            public int side;

            @Test
            public void single() {
                assertEquals(side, Area.sum(side));
            }
        }
        """,
    "src/test/java/shapes/SumTest.java": """\
        package shapes;

        import static org.junit.Assert.assertEquals;

        import org.junit.Test;

        public class SumTest {
            @Test
            public void sums() {
                assertEquals(3, Area.sum(1, 2));
            }

            @Test
            public void nothing() {
                assertEquals(0, Area.sum());
            }
        }
        """,
}


# --- per-test coverage with JaCoCo ---

def test_per_test_coverage_of_junit4_and_junit5_tests(tmp_path: Path) -> None:
    project = write_files(tmp_path / "p", TINY, dedent=True)
    runner = JavacJUnitRunner()
    runner.prepare(project)
    run = runner.run(project, 120, with_coverage=True)
    zero, square, wide = "shapes.AreaTest#zeroWidth", "shapes.AreaTest#square(int)", "shapes.AreaTest$Wide#wide"
    sums, nothing, single = "shapes.SumTest#sums", "shapes.SumTest#nothing", "shapes.SumParamTest#single"
    assert {o.test_id: o.ok for o in run.outcomes} == dict.fromkeys([zero, square, wide, sums, nothing, single], True)
    # Main code only, per test method, under the ids the runner reports (a parameterized
    # method's invocations, JUnit 5's or JUnit 4's, are one id; a nested class is `$`).
    # Line 4 is the record's generated constructor; the class line (an implicit
    # constructor nobody calls) and closing braces are not covered.
    assert runner.line_coverage(project) == {
        "src/main/java/shapes/Area.java": {
            4: {zero, square, wide}, 7: {zero, square, wide}, 8: {zero, square, wide}, 9: {zero}, 10: {square, wide},
            15: {sums, nothing, single}, 16: {sums, nothing, single}, 17: {sums, single}, 19: {sums, nothing, single},
        },
    }
    # A run of chosen tests replaces the last run's dumps.
    runner.run(project, 120, tests=[nothing], with_coverage=True)
    assert runner.line_coverage(project) == {"src/main/java/shapes/Area.java": {15: {nothing}, 16: {nothing}, 19: {nothing}}}


def test_helpers_are_built_once_and_readable_by_the_sandbox_user(tmp_path: Path) -> None:
    coverage = JacocoCoverage(tmp_path / "cache")
    assert coverage.sandbox_paths() == [tmp_path / "cache"]
    helpers = coverage.helpers()
    assert coverage.helpers() == helpers and [p.name for p in (tmp_path / "cache").iterdir()] == [helpers.name]
    service = helpers / "classes/META-INF/services/org.junit.platform.launcher.TestExecutionListener"
    assert service.read_text().split() == ["repairbot.coverage.PerTestCoverage", "repairbot.junit.StopAtHang"]
    for path in [helpers, *helpers.rglob("*")]:
        assert path.stat().st_mode & (stat.S_IROTH | (stat.S_IXOTH if path.is_dir() else 0))
    args = coverage.jvm_args(tmp_path / "dumps")
    assert args[0].startswith(f"-javaagent:{helpers / AGENT_ENTRY}=output=none,")
    assert args[1] == f"-Drepairbot.coverage.dir={tmp_path / 'dumps'}"
    assert coverage.read(tmp_path / "no-run", [], ["src"], tmp_path) == {}


# --- statements and methods ---

SHOP = """\
package shop;

public class Cart {
    private int count = 0;

    public Cart(int start) {
        this.count = start;
    }

    int add(int[] items) {
        for (int i = 0;
             i < items.length; i++) {
            count += items[i];
        }
        if (count > 10) return 10;
        do {
            count--;
        } while (count > 5);
        items.forEach(x -> {
            check(x);
        });
        if (count < 0) {
            throw new IllegalStateException("negative");
        }
        return count;
    }

    int add(int item) {
        return add(new int[] {item});
    }

    static class Line {
        int total() {
            return switch (count) {
                case 0 -> 0;
                default -> count * 2;
            };
        }
    }
}
"""


def test_java_source_map_maps_lines_to_statements_and_methods() -> None:
    source = SourceMap(SHOP, ".java")
    # A multi-line `for` header is one statement; `if (...) return` on one line is the if;
    # a do loop's header is its trailing `while`; a lambda body's statement is its own.
    assert [source.statement_line(line) for line in (11, 12, 15, 18, 19, 20, 21, 35, 36)] == [
        11, 11, 15, 18, 19, 20, 19, 35, 36,
    ]
    assert source.statement_lines() == {4, 7, 11, 13, 15, 17, 18, 19, 20, 22, 23, 25, 29, 34, 35, 36}
    assert source.function(13) == ("Cart.add", 10, 26)
    assert source.function(29) == ("Cart.add", 28, 30)
    assert source.function(7) == ("Cart.Cart", 6, 8)
    assert source.function(36) == ("Cart.Line.total", 33, 38)
    assert source.function(4) == (MODULE, 4, 4)
    assert source.is_detection(23) and not source.is_detection(22)
    # Lines of no statement hold only code the compiler generated.
    assert [line for line in (3, 6, 8, 16, 21, 26) if source.is_generated(line)] == [3, 6, 8, 16, 26]


def test_overloads_are_separate_methods(tmp_path: Path) -> None:
    (tmp_path / "Cart.java").write_text(SHOP)
    spectra = {("Cart.java", 13): Spectrum(1, 0), ("Cart.java", 29): Spectrum(1, 1)}
    ranked = rank(Evidence(tmp_path, 1, 1, spectra, {}), granularity="method")
    assert [(s.function, s.location.start_line, s.location.end_line) for s in ranked] == [
        ("Cart.add", 10, 26), ("Cart.add", 28, 30),
    ]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("src/test/java/shop/CartHelper.java", True),
        ("src/main/java/shop/CartTest.java", True),
        ("src/main/java/shop/CartTests.java", True),
        ("src/main/java/shop/CartTestCase.java", True),
        ("src/main/java/shop/TestCart.java", True),
        ("java_testcases/junit/QuixFixOracleHelper.java", True),
        ("src/main/java/shop/Testament.java", False),
        ("src/main/java/shop/Contest.java", False),
        ("src/main/java/shop/Cart.java", False),
    ],
)
def test_java_test_files_are_never_suspects(path: str, expected: bool) -> None:
    assert is_test_file(path) is expected


# --- stack traces ---

# What the JUnit report holds for a test that failed with a chained exception.
JAVA_TRACE = """\
Index 3 out of bounds for length 3
java.lang.IllegalStateException: cannot average
\tat buffers.Averages.add(Averages.java:16)
\tat buffers.AveragesTest.averages(AveragesTest.java:21)
\tat java.base/jdk.internal.reflect.NativeMethodAccessorImpl.invoke0(Native Method)
\tat app//org.junit.runners.ParentRunner.run(ParentRunner.java:413)
Caused by: java.lang.ArrayIndexOutOfBoundsException: Index 3 out of bounds for length 3
\tat buffers.RingBuffer$Cursor.get(RingBuffer.java:54)
\tat buffers.RingBuffer.toList(RingBuffer.java:60)
\tat buffers.Averages.add(Averages.java:14)
\t... 25 more
"""


def test_java_frames_outermost_first_per_exception() -> None:
    assert parse_tracebacks(JAVA_TRACE) == [
        [
            Frame("org/junit/runners/ParentRunner.java", 413, "run"),
            Frame("buffers/AveragesTest.java", 21, "averages"),
            Frame("buffers/Averages.java", 16, "add"),
        ],
        [
            Frame("buffers/Averages.java", 14, "add"),
            Frame("buffers/RingBuffer.java", 60, "toList"),
            Frame("buffers/RingBuffer.java", 54, "get"),
        ],
    ]


def test_java_frames_resolve_through_the_package_path(tmp_path: Path) -> None:
    files = ["src/main/java/buffers/Averages.java", "src/main/java/buffers/RingBuffer.java",
             "src/test/java/buffers/AveragesTest.java", ".repairbot/copy/buffers/RingBuffer.java"]
    for file in files:
        (tmp_path / file).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / file).write_text("")
    sources = JavaSources(tmp_path)
    assert sources.find("buffers/RingBuffer.java") == "src/main/java/buffers/RingBuffer.java"
    assert sources.find("org/junit/runners/ParentRunner.java") is None
    weights = frame_weights([JAVA_TRACE, "expected: <1> but was: <2>"], tmp_path, lambda f: not is_test_file(f))
    # Each test: a line's best depth over its tracebacks (the test file's frame is skipped),
    # then the mean over both failing tests.
    assert weights == pytest.approx({
        ("src/main/java/buffers/Averages.java", 16): 1 / 2,
        ("src/main/java/buffers/RingBuffer.java", 54): 1 / 2,
        ("src/main/java/buffers/RingBuffer.java", 60): (1 / 2) / 2,
        ("src/main/java/buffers/Averages.java", 14): (1 / 3) / 2,
    })


GCD = """\
package numbers;

public class Gcd {
    public static int gcd(int a, int b) {
        if (b == 0) {
            return a;
        }
        return gcd(a % b, b);
    }
}
"""
OVERFLOW = "java.lang.StackOverflowError\n" + "\tat numbers.Gcd.gcd(Gcd.java:8)\n" * 3 + (
    "\tat numbers.GcdTest.coprime(GcdTest.java:9)\n"
)


def test_stack_traces_complete_what_jacoco_misses(tmp_path: Path) -> None:
    # JaCoCo's probe for lines 5 and 8 sits after the recursive call, which overflows the
    # stack: the crashing test covers nothing. Its trace says it ran line 8.
    (tmp_path / "src/numbers").mkdir(parents=True)
    (tmp_path / "src/numbers/Gcd.java").write_text(GCD)
    failing = [TestOutcome("numbers.GcdTest#coprime", TestStatus.ERROR, OVERFLOW)]
    coverage = {"src/numbers/Gcd.java": {5: {"numbers.GcdTest#zero"}, 6: {"numbers.GcdTest#zero"}}}
    assert frame_lines({o.test_id: o.message for o in failing}, tmp_path, lambda f: True) == {
        ("src/numbers/Gcd.java", 8): {"numbers.GcdTest#coprime"},
    }
    reproduction = Reproduction(TestRun(failing, 1, 0.0), failing, ["numbers.GcdTest#zero"])
    evidence = collect(reproduction, tmp_path, coverage)
    assert evidence.spectra == {("src/numbers/Gcd.java", 5): Spectrum(0, 1), ("src/numbers/Gcd.java", 6): Spectrum(0, 1),
                                ("src/numbers/Gcd.java", 8): Spectrum(1, 0)}
    assert evidence.trace == {("src/numbers/Gcd.java", 8): 1.0}


MERGE = """\
package graphs;

import java.util.*;

public class Merge {
    public static void merge(Map<Integer, Set<Integer>> groups, int u, int v) {
        Set<Integer> target = groups.get(u);
        target.addAll(groups.get(v));
        for (int node : groups.get(v)) {
            groups.get(node).addAll(target);
        }
    }
}
"""
# The shape of the JVM's report (Java 17) when a for-each loop's body changes its set.
CONCURRENT_MODIFICATION = (
    "java.util.ConcurrentModificationException\n"
    "\tat java.base/java.util.HashMap$HashIterator.nextNode(HashMap.java:1597)\n"
    "\tat java.base/java.util.HashMap$KeyIterator.next(HashMap.java:1620)\n"
    "\tat graphs.Merge.merge(Merge.java:9)\n"
    "\tat graphs.MergeTest.merges(MergeTest.java:12)\n"
)


def test_a_concurrent_modification_blames_the_loop_body(tmp_path: Path) -> None:
    """The iterator throws at the for-each header; the body's `addAll` into the set being
    iterated changed it, and shares the header's evidence (not the lines before the loop)."""
    (tmp_path / "src/graphs").mkdir(parents=True)
    (tmp_path / "src/graphs/Merge.java").write_text(MERGE)
    failing = [TestOutcome("graphs.MergeTest#merges", TestStatus.ERROR, CONCURRENT_MODIFICATION)]
    everyone = {"graphs.MergeTest#merges", "graphs.MergeTest#same"}
    coverage = {"src/graphs/Merge.java": {line: set(everyone) for line in (7, 8, 9, 10)}}
    reproduction = Reproduction(TestRun(failing, 1, 0.0), failing, ["graphs.MergeTest#same"])
    evidence = collect(reproduction, tmp_path, coverage)
    assert evidence.trace == {("src/graphs/Merge.java", 9): 1.0, ("src/graphs/Merge.java", 10): 1.0}
    assert {s.line for s in rank(evidence)[:2]} == {9, 10}


# --- the Java examples ---

def reproduce_java(project: Path) -> tuple[Reproduction, Path, LineCoverage]:
    runner = JavacJUnitRunner()
    runner.prepare(project)
    return reproduce(runner, project, 120), project, runner.line_coverage(project)


@pytest.mark.parametrize("example", JAVA_EXAMPLES)
def test_faulty_statement_of_each_java_example_ranks_as_expected(example: str, tmp_path: Path) -> None:
    project = Path(shutil.copytree(EXAMPLES_DIR / example, tmp_path / example))
    faulty = {
        (file, SourceMap.read(project / file).statement_line(line))
        for file, line in removed_lines((project / "expected.patch").read_text())
    }
    ranked = localize(*reproduce_java(project), limit=10)
    position = next((i for i, loc in enumerate(ranked, start=1) if (loc.file, loc.start_line) in faulty), None)
    assert position == JAVA_EXAMPLE_RANKS[example]


def test_ring_buffer_crash_site_gets_the_stack_trace_boost(tmp_path: Path) -> None:
    # 3 failing tests, 5 passing; RingBuffer.get's return runs in all 3 failing and 3
    # passing tests, and every failing test's exception arises there (evidence 1).
    project = Path(shutil.copytree(EXAMPLES_DIR / "ring_buffer", tmp_path / "ring_buffer"))
    [top] = localize(*reproduce_java(project), limit=1)
    assert (top.file, top.start_line) == ("src/main/java/buffers/RingBuffer.java", 54)
    assert top.score == pytest.approx(3 / math.sqrt(3 * 6) * 1.5)


FEES = """\
class Fees {
    private int collected;
    int fee(int amount, boolean member) {
        int base = amount / 10;
        String note = "fee for " + amount;
        int extra = member ? 0 : 5;
        collected += base;
        return base + extra;
    }
}
"""


def test_ties_go_to_the_statements_the_outputs_depend_on(tmp_path: Path) -> None:
    # Five statements with one spectrum (line order would put the return last): the
    # outputs (the write to the field `collected`, the return), then the locals they read;
    # `note` reaches no output.
    (tmp_path / "Fees.java").write_text(FEES)
    spectra = {("Fees.java", line): Spectrum(1, 1) for line in (4, 5, 6, 7, 8)}
    ranked = rank(Evidence(tmp_path, 1, 1, spectra, {}))
    assert [s.location.start_line for s in ranked] == [7, 8, 4, 6, 5]
