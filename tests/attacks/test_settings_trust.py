"""Attack: the repository under repair sets repairbot's settings through its own
`repairbot.toml` or `[tool.repairbot]` table (issue 12, hole 1).

A repository may describe itself (test command, runner, source roots, ignore lists) and
lower budgets; it may never choose the sandbox, the database, the data dir, the model, the
fault locations or what the model is shown. Each refused setting leaves the operator's value
in place and says so in a warning.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from repairbot.cli import app
from repairbot.config import Settings, load_settings
from repairbot.db.store import JobStore
from repairbot.errors import BadInput
from validators.sandbox import bwrap_failure

OPERATOR_ENV = {
    "REPAIRBOT_SANDBOX": "bwrap",
    "REPAIRBOT_MODEL": "operator.gguf",
    "REPAIRBOT_DATABASE_URL": "sqlite:////srv/operator/repairbot.db",
}


def hostile_settings(tmp_path: Path) -> dict[str, str]:
    """TOML values of every setting an attacker wants, by name."""
    return {
        "sandbox": '"none"',
        "database_url": f'"sqlite:///{tmp_path}/evil.db"',
        "broker_url": '"redis://evil.example:6379/0"',
        "data_dir": f'"{tmp_path}/evil-data"',
        "model": f'"{tmp_path}/evil.gguf"',
        "locations": '["/etc/passwd:1"]',
        "retrieval": "true",
        "mine_history": "false",
        "generators": '["infill"]',
        "validation_workers": "64",
        "outcome_cache": "false",
        # A revision at which the repository's real failures fail too would set them aside.
        "baseline_rev": '"HEAD~1"',
    }


def write_settings(project: Path, where: str, lines: dict[str, str]) -> None:
    body = "".join(f"{name} = {value}\n" for name, value in lines.items())
    if where == "repairbot.toml":
        (project / "repairbot.toml").write_text(body)
    else:
        (project / "pyproject.toml").write_text("[project]\nname = 'victim'\n\n[tool.repairbot]\n" + body)


@pytest.fixture
def operator_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("REPAIRBOT_") and name != "REPAIRBOT_INDEX_DIR":
            monkeypatch.delenv(name)
    for name, value in OPERATOR_ENV.items():
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize("where", ["repairbot.toml", "pyproject.toml"])
def test_repository_cannot_set_security_settings(
    where: str, tmp_path: Path, operator_env: None, caplog: pytest.LogCaptureFixture
) -> None:
    hostile = hostile_settings(tmp_path)
    write_settings(tmp_path, where, {**hostile, "test_command": '"python -m pytest -q tests"',
                                     "ignore_tests": '["tests/test_net.py::*"]'})
    with caplog.at_level(logging.WARNING, logger="repairbot.config"):
        settings = load_settings(tmp_path)

    defaults = Settings.model_construct()
    assert settings.sandbox == "bwrap"  # the operator's, not the repository's "none"
    assert settings.model == "operator.gguf"
    assert settings.database_url == "sqlite:////srv/operator/repairbot.db"
    assert settings.broker_url is None and settings.data_dir == Settings().data_dir
    assert settings.locations == [] and settings.generators is None
    for name in ("retrieval", "mine_history", "validation_workers", "outcome_cache", "baseline_rev"):
        assert getattr(settings, name) == getattr(defaults, name), name
    # What describes the project still applies.
    assert settings.test_command == ["python", "-m", "pytest", "-q", "tests"]
    assert settings.ignore_tests == ["tests/test_net.py::*"]
    # One warning per refused setting, on the settings (for the CLI) and in the log.
    for name in hostile:
        assert sum(f"'{name}'" in w and "refused" in w for w in settings.repo_warnings) == 1, name
        assert any(f"'{name}'" in r.getMessage() for r in caplog.records), name
    assert len(settings.repo_warnings) == len(hostile)


def test_repository_budgets_are_capped_at_the_operators(
    tmp_path: Path, operator_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_settings(tmp_path, "repairbot.toml", {
        "time_budget_s": "86400", "test_timeout_s": "86400", "max_candidates": "1000000",
        "baseline_reruns": "50", "max_locations": "5",
    })
    monkeypatch.setenv("REPAIRBOT_MAX_CANDIDATES", "50")
    settings = load_settings(tmp_path)
    defaults = Settings.model_construct()
    assert settings.time_budget_s == defaults.time_budget_s
    assert settings.test_timeout_s == defaults.test_timeout_s
    assert settings.baseline_reruns == defaults.baseline_reruns
    assert settings.max_candidates == 50  # the operator set it: theirs, whatever the repository says
    assert settings.max_locations == 5  # lowering a budget is the repository's right
    capped = [w for w in settings.repo_warnings if "capped" in w]
    assert len(capped) == 3 and all(name in " ".join(capped) for name in ("time_budget_s", "test_timeout_s",
                                                                          "baseline_reruns"))


@pytest.mark.parametrize("program", ["/usr/bin/python3", "../../bin/defects4j", "tools/../../../bin/x"])
def test_repository_test_command_cannot_name_a_program_outside_it(
    program: str, tmp_path: Path, operator_env: None
) -> None:
    """Defects4J's runner shows the executable's installation folder to the sandbox: a
    repository must not pick a host folder that way."""
    write_settings(tmp_path, "repairbot.toml", {"test_command": f'"{program} test"', "runner": '"defects4j"'})
    settings = load_settings(tmp_path)
    assert settings.test_command is None and settings.runner == "defects4j"
    assert any("'test_command'" in w for w in settings.repo_warnings)


def test_repository_may_run_its_own_wrapper(tmp_path: Path, operator_env: None) -> None:
    write_settings(tmp_path, "repairbot.toml", {"test_command": '"./mvnw -q"', "runner": '"maven"'})
    settings = load_settings(tmp_path)
    assert settings.test_command == ["./mvnw", "-q"] and settings.repo_warnings == []


@pytest.mark.parametrize("root", ["/etc", "../../host"])
def test_repository_source_roots_stay_inside_it(root: str, tmp_path: Path, operator_env: None) -> None:
    write_settings(tmp_path, "repairbot.toml", {"runner": '"javac"', "java_main_roots": f'["{root}"]'})
    with pytest.raises(BadInput, match="not a folder inside the project"):
        load_settings(tmp_path)


@pytest.mark.parametrize("name", ["repairbot.toml", "pyproject.toml"])
def test_settings_file_through_a_symlink_is_refused(name: str, tmp_path: Path, operator_env: None) -> None:
    """A link could name any host file: its keys would end up in error messages."""
    project = tmp_path / "project"
    project.mkdir()
    secret = tmp_path / "secret.toml"
    secret.write_text('[tool.repairbot]\napi_token = "hunter2"\napi_token2 = "hunter2"\n')
    (project / name).symlink_to(secret)
    with pytest.raises(BadInput, match="symlink") as raised:
        load_settings(project)
    assert "hunter2" not in str(raised.value)


def test_settings_file_that_is_a_fifo_is_refused_without_blocking(tmp_path: Path, operator_env: None) -> None:
    os.mkfifo(tmp_path / "repairbot.toml")  # a blocking open would wait for a writer forever
    with pytest.raises(BadInput, match="not a regular file"):
        load_settings(tmp_path)


def test_oversized_settings_file_is_refused(tmp_path: Path, operator_env: None) -> None:
    (tmp_path / "pyproject.toml").write_text("# padding\n" * 200_000)
    with pytest.raises(BadInput, match="larger than"):
        load_settings(tmp_path)


def test_settings_file_that_is_not_utf8_is_bad_input(tmp_path: Path, operator_env: None) -> None:
    (tmp_path / "repairbot.toml").write_bytes(b'test_command = "caf\xe9"\n')
    with pytest.raises(BadInput, match="cannot read repairbot settings"):
        load_settings(tmp_path)


# --- end to end: `repairbot repair` on a project that asks for no sandbox ---

VICTIM_TEST = """\
import pathlib

from calc import add


def test_add():
    try:  # only possible outside the sandbox: the host's folder is not visible inside
        pathlib.Path({marker!r}).write_text("ran unconfined")
    except OSError:
        pass
    assert add(1, 2) == 3
"""


@pytest.mark.skipif(bwrap_failure() is not None, reason="bubblewrap does not work on this machine")
def test_repair_keeps_the_sandbox_the_repository_turns_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The operator leaves `sandbox` at "auto" (bubblewrap here); the repository says "none"
    and points the database elsewhere. Before the fix its tests ran unconfined (the marker
    was written on the host) and the job went to the repository's database."""
    project = tmp_path / "project"
    project.mkdir()
    marker = tmp_path / "marker"
    (project / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    (project / "test_calc.py").write_text(VICTIM_TEST.format(marker=str(marker)))
    write_settings(project, "repairbot.toml", hostile_settings(tmp_path))
    for name in list(os.environ):
        if name.startswith("REPAIRBOT_") and name != "REPAIRBOT_INDEX_DIR":
            monkeypatch.delenv(name)
    operator_db = f"sqlite:///{tmp_path / 'operator.db'}"
    monkeypatch.setenv("REPAIRBOT_DATABASE_URL", operator_db)
    monkeypatch.setenv("REPAIRBOT_DATA_DIR", str(tmp_path / "operator-data"))
    monkeypatch.setenv("REPAIRBOT_GENERATORS", "templates")

    with caplog.at_level(logging.WARNING, logger="repairbot.config"):
        result = CliRunner().invoke(app, ["repair", str(project), "--max-candidates", "5", "--time-budget", "600"])

    assert result.exit_code in (0, 1), result.output
    assert not marker.exists(), "the project's tests ran outside the sandbox"
    assert not (tmp_path / "evil.db").exists() and not (tmp_path / "evil-data").exists()
    [job] = JobStore(operator_db).list_jobs()
    assert job.sandbox is not None and job.sandbox.startswith("bwrap as uid")
    assert any("'sandbox'" in r.getMessage() and "refused" in r.getMessage() for r in caplog.records)
