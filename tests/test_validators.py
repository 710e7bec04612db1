"""The subprocess runner, JUnit parsing and the pytest runner on real pytest runs."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from repairbot.domain import TestStatus
from validators.junit_xml import JUnitParseError, parse_junit_xml
from validators.process import scrubbed_env
from validators.pytest_runner import PytestRunner, collection_errors
from tests.files import write_files


def test_host_secrets_are_not_passed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_secret")
    monkeypatch.setenv("REPAIRBOT_DATABASE_URL", "postgresql://user:pw@db/x")
    env = scrubbed_env()
    assert "GITHUB_TOKEN" not in env and "REPAIRBOT_DATABASE_URL" not in env
    assert env["PATH"] == os.environ["PATH"] and env["PYTHONDONTWRITEBYTECODE"] == "1"


def test_junit_ids_match_pytest_node_ids(tmp_path: Path) -> None:
    report = tmp_path / "r.xml"
    report.write_text(textwrap.dedent("""\
        <testsuites><testsuite name="pytest">
          <testcase classname="tests.test_a" name="test_ok" file="tests/test_a.py" line="1" time="0.01"/>
          <testcase classname="tests.test_a.TestK" name="test_p[1-x]" file="tests/test_a.py" line="5" time="0.2">
            <failure message="assert 1 == 2">trace</failure></testcase>
          <testcase classname="tests.test_a" name="test_s" file="tests/test_a.py"><skipped message="why"/></testcase>
          <testcase classname="" name="tests.test_b" time="0"><error message="collection failure">SyntaxError</error></testcase>
          <testcase classname="com.x.FooTest" name="testBar" time="0.5"><error message="NPE"/></testcase>
        </testsuite></testsuites>"""))
    outcomes = parse_junit_xml(report)
    assert [(o.test_id, o.status, o.message) for o in outcomes] == [
        ("tests/test_a.py::test_ok", TestStatus.PASSED, ""),
        ("tests/test_a.py::TestK::test_p[1-x]", TestStatus.FAILED, "assert 1 == 2\ntrace"),
        ("tests/test_a.py::test_s", TestStatus.SKIPPED, "why"),
        ("tests.test_b", TestStatus.ERROR, "collection failure\nSyntaxError"),
        ("com.x.FooTest.testBar", TestStatus.ERROR, "NPE"),
    ]
    assert outcomes[1].duration_s == pytest.approx(0.2)


def test_unreadable_junit_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "r.xml").write_text("<testsuites><testcase")
    with pytest.raises(JUnitParseError):
        parse_junit_xml(tmp_path / "r.xml")


PROJECT = {
    "calc.py": """\
        def add(a, b):
            return a - b

        def neg(a):
            return -a
        """,
    "tests/test_calc.py": """\
        import pytest
        from calc import add, neg

        def test_add():
            assert add(1, 2) == 3

        def test_neg():
            assert neg(2) == -2

        class TestGroup:
            @pytest.mark.parametrize("x", [0, 5])
            def test_add_zero(self, x):
                assert add(x, 0) == x
        """,
}


def test_pytest_runner_outcomes_and_per_test_coverage(tmp_path: Path) -> None:
    import coverage

    project = write_files(tmp_path / "p", PROJECT, dedent=True)
    runner = PytestRunner()
    runner.prepare(project)
    run = runner.run(project, 60, with_coverage=True)
    assert run.exit_code == 1 and run.violation is None
    assert {o.test_id: o.status for o in run.outcomes} == {
        "tests/test_calc.py::test_add": TestStatus.FAILED,
        "tests/test_calc.py::test_neg": TestStatus.PASSED,
        "tests/test_calc.py::TestGroup::test_add_zero[0]": TestStatus.PASSED,
        "tests/test_calc.py::TestGroup::test_add_zero[5]": TestStatus.PASSED,
    }
    data = coverage.CoverageData(basename=str(runner.coverage_file(project)))
    data.read()
    lines = data.contexts_by_lineno(str((project / "calc.py").resolve()))
    assert set(lines[2]) == {
        "tests/test_calc.py::test_add",
        "tests/test_calc.py::TestGroup::test_add_zero[0]",
        "tests/test_calc.py::TestGroup::test_add_zero[5]",
    }
    assert set(lines[5]) == {"tests/test_calc.py::test_neg"}


def test_pytest_runner_selects_tests(tmp_path: Path) -> None:
    project = write_files(tmp_path / "p", PROJECT, dedent=True)
    runner = PytestRunner()
    runner.prepare(project)
    run = runner.run(project, 60, tests=["tests/test_calc.py::TestGroup::test_add_zero[5]"])
    assert [o.test_id for o in run.outcomes] == ["tests/test_calc.py::TestGroup::test_add_zero[5]"]
    assert run.exit_code == 0


def test_a_src_layout_tests_the_work_copys_package(tmp_path: Path) -> None:
    """No config names `src`: as tox would, the tests import the package; here the copy's."""
    project = write_files(tmp_path / "p", {
        "pyproject.toml": "[project]\nname = 'shop'\n",
        "src/shop/__init__.py": "def total(prices):\n    return sum(prices)\n",
        "tests/test_shop.py": "from shop import total\n\ndef test_total():\n    assert total([1, 2]) == 3\n",
    }, dedent=True)
    runner = PytestRunner()
    runner.prepare(project)
    run = runner.run(project, 60)
    assert [(o.test_id, o.status) for o in run.outcomes] == [("tests/test_shop.py::test_total", TestStatus.PASSED)]


def test_an_inherited_test_method_gets_the_node_id_of_the_class_that_collects_it(tmp_path: Path) -> None:
    """The report's `file` is where the method is written (a mixin in tests/__init__.py);
    selecting the test again needs the module that collected it."""
    project = write_files(tmp_path / "p", {
        "tests/__init__.py": """\
            class SizeChecks:
                def test_small(self):
                    assert self.size() < 3
            """,
        "tests/test_box.py": """\
            import unittest
            from tests import SizeChecks

            class BoxTest(unittest.TestCase, SizeChecks):
                def size(self):
                    return 5
            """,
    }, dedent=True)
    runner = PytestRunner()
    runner.prepare(project)
    [outcome] = runner.run(project, 60).outcomes
    assert (outcome.test_id, outcome.status) == ("tests/test_box.py::BoxTest::test_small", TestStatus.FAILED)
    [again] = runner.run(project, 60, tests=[outcome.test_id]).outcomes
    assert again.test_id == outcome.test_id


def test_collection_errors_are_recognized(tmp_path: Path) -> None:
    project = write_files(tmp_path / "p", {**PROJECT, "calc.py": "def add(a, b)\n    return a\n"}, dedent=True)
    runner = PytestRunner()
    runner.prepare(project)
    run = runner.run(project, 60)
    errors = collection_errors(run)
    assert [e.test_id for e in errors] == ["tests/test_calc.py"]
    assert "SyntaxError" in errors[0].message or "invalid syntax" in errors[0].message
