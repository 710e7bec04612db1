"""Attack: fault locations (`--location`, REPAIRBOT_LOCATIONS) that name files outside the
project, through symlinks, or that cannot be read as source (issue 12, holes 3 and 8).

Every location is resolved inside the project root and checked (a regular file reached
without a symlink, decodable, its lines within the file) before the baseline test run:
the victim project's test writes a marker file when it runs, and the marker must stay
absent. With `--apply`, a file outside the project must stay as it was.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from repairbot.cli import app
from repairbot.db.store import JobStore
from repairbot.errors import BadInput
from repairbot.localize import GivenLines, Scope, check_given, read_source
from validators.sandbox import bwrap_failure

from tests.attacks.hostile import SANDBOXES

OUTSIDE_TEXT = "def add(a, b):\n    return a - b\n"
CALC = "def add(a, b):\n    return a - b\n\n\ndef double(a):\n    return add(a, a)\n"
VICTIM_TEST = """\
import pathlib

from calc import add


def test_add():
    pathlib.Path({marker!r}).write_text("the baseline ran")
    assert add(1, 2) == 3
"""


def victim(tmp_path: Path) -> Path:
    """A failing project next to a file outside it; a marker path its test writes."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "calc.py").write_text(CALC)
    (project / "test_calc.py").write_text(VICTIM_TEST.format(marker=str(tmp_path / "marker")))
    (project / "pkg").mkdir()
    (project / "latin.py").write_bytes(b"# caf\xe9\nX = 1\n")  # Latin-1 without a coding line
    (project / "declared.py").write_bytes(b"# -*- coding: latin-1 -*-\nNAME = 'caf\xe9'\n")
    (project / "klingon.py").write_bytes(b"# -*- coding: klingon -*-\nX = 1\n")
    (tmp_path / "outside.py").write_text(OUTSIDE_TEXT)
    (tmp_path / "outside_dir").mkdir()
    (tmp_path / "outside_dir" / "x.py").write_text(OUTSIDE_TEXT)
    (project / "link.py").symlink_to(tmp_path / "outside.py")
    (project / "linkdir").symlink_to(tmp_path / "outside_dir")
    return project


REFUSED = {
    "absolute host file": ("/etc/passwd:1", "absolute"),
    "absolute file outside": ("{tmp}/outside.py:1", "absolute"),
    "absolute file inside": ("{tmp}/project/calc.py:1", "absolute"),
    "dot-dot": ("../outside.py:1", "leaves the project"),
    "dot-dot inside a path": ("pkg/../../outside.py:1-2", "leaves the project"),
    "symlinked file": ("link.py:1", "symlink"),
    "symlinked folder": ("linkdir/x.py:1", "symlink"),
    "symlinked file as scope": ("link.py", "symlink"),
    "dot-dot function scope": ("../outside.py::add", "leaves the project"),
    "missing file": ("missing.py:1", "not a file of the project"),
    "a folder": ("pkg:1", "not a regular file"),
    "line past the end": ("calc.py:7", "past the end"),
    "range past the end": ("calc.py:5-9", "past the end"),
    "not UTF-8, no coding line": ("latin.py:1", "latin.py"),
    "unknown coding": ("klingon.py:1", "klingon"),
    "NUL byte": ("calc\0.py:1", "NUL"),
}


@pytest.mark.parametrize("case", REFUSED)
def test_check_given_refuses(case: str, tmp_path: Path) -> None:
    project = victim(tmp_path)
    spec, message = REFUSED[case]
    with pytest.raises(BadInput, match=message):
        check_given([spec.format(tmp=tmp_path)], project)


def test_check_given_refuses_a_fifo_without_blocking(tmp_path: Path) -> None:
    project = victim(tmp_path)
    os.mkfifo(project / "pipe.py")  # a blocking open would wait for a writer forever
    for spec in ("pipe.py:1", "pipe.py"):
        with pytest.raises(BadInput, match="not a regular file"):
            check_given([spec], project)


def test_check_given_accepts_and_normalizes(tmp_path: Path) -> None:
    project = victim(tmp_path)
    assert check_given(["./calc.py:2", "calc.py:5-6", "calc.py::double", "declared.py:2"], project) == [
        GivenLines("calc.py", 2, 2), GivenLines("calc.py", 5, 6), Scope("calc.py", "double"),
        GivenLines("declared.py", 2, 2),
    ]


def test_read_source_honours_pep_263(tmp_path: Path) -> None:
    project = victim(tmp_path)
    assert read_source(project, "declared.py") == "# -*- coding: latin-1 -*-\nNAME = 'café'\n"
    (project / "bom.py").write_bytes(b"\xef\xbb\xbfX = 'caf\xc3\xa9'\n")
    assert read_source(project, "bom.py") == "X = 'café'\n"
    with pytest.raises(ValueError, match="latin.py"):
        read_source(project, "latin.py")


# --- end to end: the CLI refuses with exit 2 before the baseline run ---

CLI_CASES = {
    "absolute host file": (["--location", "/etc/passwd:1"], {}),
    "absolute file outside": (["--location", "{tmp}/outside.py:1-2"], {}),
    "dot-dot": (["--location", "../outside.py:2"], {}),
    "symlinked file": (["--location", "link.py:2"], {}),
    "missing file": (["--location", "missing.py:1"], {}),
    "line past the end": (["--location", "calc.py:99"], {}),
    "not UTF-8": (["--location", "latin.py:1"], {}),
    "from the environment": ([], {"REPAIRBOT_LOCATIONS": "../outside.py:2"}),
}


@pytest.fixture
def operator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The operator's environment: a private database, rlimits only (so that a test run
    could write the marker, were one to happen), templates only."""
    for name in list(os.environ):
        if name.startswith("REPAIRBOT_") and name != "REPAIRBOT_INDEX_DIR":
            monkeypatch.delenv(name)
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    monkeypatch.setenv("REPAIRBOT_DATABASE_URL", url)
    monkeypatch.setenv("REPAIRBOT_SANDBOX", "none")
    monkeypatch.setenv("REPAIRBOT_GENERATORS", "templates")
    return url


@pytest.mark.parametrize("case", CLI_CASES)
def test_repair_refuses_bad_locations_before_the_baseline(
    case: str, tmp_path: Path, operator: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = victim(tmp_path)
    flags, env = CLI_CASES[case]
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    args = ["repair", str(project), "--apply", "--max-candidates", "5", *[f.format(tmp=tmp_path) for f in flags]]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "given location" in result.output
    assert not (tmp_path / "marker").exists(), "the baseline ran before the locations were checked"
    assert (tmp_path / "outside.py").read_text() == OUTSIDE_TEXT
    [job] = JobStore(operator).list_jobs()
    assert job.status == "failed" and job.error is not None and "given location" in job.error


@pytest.mark.parametrize("case", ["absolute host file", "symlinked file", "line past the end"])
def test_localize_refuses_bad_locations_before_the_baseline(case: str, tmp_path: Path, operator: str) -> None:
    project = victim(tmp_path)
    flags, _ = CLI_CASES[case]
    result = CliRunner().invoke(app, ["localize", str(project), *flags])
    assert result.exit_code == 2, result.output
    assert "given location" in result.output
    assert not (tmp_path / "marker").exists(), "the baseline ran before the locations were checked"


def test_localize_reads_a_declared_latin1_location(tmp_path: Path, operator: str) -> None:
    """A PEP 263 coding line is honoured: before the fix this was a UnicodeDecodeError (exit 1)."""
    project = victim(tmp_path)
    result = CliRunner().invoke(app, ["localize", str(project), "--location", "declared.py:2"])
    assert result.exit_code == 0, result.output
    assert "declared.py:2" in result.output


TAMPERING_TEST = """\
import os
import pathlib

from calc import add


def test_add():
    here = pathlib.Path(__file__).parent  # the work dir: the tests may change anything there
    if not (here / "calc.py").is_symlink():
        (here / "calc.py").unlink()
        os.symlink({outside!r}, here / "calc.py")
    assert add(1, 2) == 3
"""


@pytest.mark.parametrize("sandbox", SANDBOXES)
def test_location_turned_into_a_symlink_by_the_tests_is_refused(
    sandbox: str, tmp_path: Path, operator: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The locations are checked again on the work dir after the baseline run: its test
    replaced the given file with a link to a host file, which must be neither read nor patched."""
    if sandbox == "bwrap" and bwrap_failure() is not None:
        pytest.skip("bubblewrap does not work on this machine")
    monkeypatch.setenv("REPAIRBOT_SANDBOX", sandbox)
    project = victim(tmp_path)
    (project / "test_calc.py").write_text(TAMPERING_TEST.format(outside=str(tmp_path / "outside.py")))
    result = CliRunner().invoke(app, ["repair", str(project), "--apply", "--location", "calc.py:2",
                                      "--max-candidates", "5"])
    assert result.exit_code == 2, result.output
    assert "symlink" in result.output
    assert (tmp_path / "outside.py").read_text() == OUTSIDE_TEXT
    assert (project / "calc.py").read_text() == CALC and not (project / "calc.py").is_symlink()
