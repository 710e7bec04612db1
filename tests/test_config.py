"""Settings precedence: defaults < project file < environment < explicit overrides; what the
project file may set at all is tested with the other attacks in tests/attacks/test_settings_trust.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from repairbot.config import load_settings
from repairbot.errors import BadInput


def test_defaults_use_sqlite_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REPAIRBOT_DATABASE_URL", raising=False)
    settings = load_settings()
    assert settings.database_url.startswith("sqlite:///") and settings.database_url.endswith("repairbot.db")
    assert settings.broker_url is None and settings.test_command is None


def test_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.repairbot]\ntest_command = "python -m pytest tests/unit"\nmax_candidates = 7\ntime_budget_s = 60\n'
    )
    monkeypatch.setenv("REPAIRBOT_MAX_CANDIDATES", "9")
    settings = load_settings(tmp_path, time_budget_s=30.0, test_command=None)
    assert settings.test_command == ["python", "-m", "pytest", "tests/unit"]
    assert settings.max_candidates == 9
    assert settings.time_budget_s == 30.0


def test_repairbot_toml_wins_over_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.repairbot]\nignore_tests = ["a"]\n')
    (tmp_path / "repairbot.toml").write_text('ignore_tests = ["b"]\n')
    assert load_settings(tmp_path).ignore_tests == ["b"]


def test_repo_warnings_are_not_dumped(tmp_path: Path) -> None:
    """The job records `model_dump`; what the repository was refused is for the operator's
    eyes, not a setting."""
    (tmp_path / "repairbot.toml").write_text('model = "x.gguf"\n')
    settings = load_settings(tmp_path)
    assert settings.repo_warnings and "repo_warnings" not in settings.model_dump()
    assert load_settings().repo_warnings == []


@pytest.mark.parametrize("root", ["/opt/src", "../elsewhere", "src/../../x"])
def test_java_source_roots_stay_inside_the_project(root: str) -> None:
    with pytest.raises(BadInput, match="not a folder inside the project"):
        load_settings(java_main_roots=[root])
    assert load_settings(java_main_roots=["src/main/java", "."]).java_main_roots == ["src/main/java", "."]


@pytest.mark.parametrize(
    ("text", "message"),
    [("[tool.repairbot]\nmax_candidates = -1\n", "max_candidates"),
     ("[tool.repairbot]\nno_such_setting = 1\n", "no_such_setting"),
     ("[tool.repairbot\n", "cannot read repairbot settings"),
     ('[tool.repairbot]\ntest_command = "python \\"unclosed"\n', "test_command")],
)
def test_invalid_project_settings_are_bad_input(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "pyproject.toml").write_text(text)
    with pytest.raises(BadInput, match=message):
        load_settings(tmp_path)
