"""Settings precedence: defaults < project file < environment < explicit overrides."""

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
    (tmp_path / "pyproject.toml").write_text("[tool.repairbot]\nmax_plausible = 2\n")
    (tmp_path / "repairbot.toml").write_text("max_plausible = 3\n")
    assert load_settings(tmp_path).max_plausible == 3


@pytest.mark.parametrize(
    ("text", "message"),
    [("[tool.repairbot]\nmax_candidates = -1\n", "max_candidates"),
     ("[tool.repairbot]\nno_such_setting = 1\n", "no_such_setting"),
     ("[tool.repairbot\n", "cannot read repairbot settings")],
)
def test_invalid_project_settings_are_bad_input(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "pyproject.toml").write_text(text)
    with pytest.raises(BadInput, match=message):
        load_settings(tmp_path)
