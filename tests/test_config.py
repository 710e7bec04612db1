"""Settings precedence: defaults < project file < environment < explicit overrides; what the
project file may set at all is tested with the other attacks in tests/attacks/test_settings_trust.py."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from repairbot.config import (
    FunctionSettings,
    CodeModelSettings,
    FixRetrievalSettings,
    InfillSettings,
    JavaSettings,
    LocalizeSettings,
    MaskedSettings,
    load_settings,
    repo_settings,
)
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


def test_sections_are_views_of_the_flat_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each part is built from its own section; the names a user sets stay the flat ones."""
    monkeypatch.setenv("REPAIRBOT_INFILL_SAMPLES", "7")
    monkeypatch.setenv("REPAIRBOT_JAVA_MAIN_ROOTS", "java_programs")
    settings = load_settings(
        masked_time_limit_s=30.0, model_threads=2, retrieval=True, localize_formula="dstar",
        locations=["lib.py:3"], max_locations=4, model_hint="the discount is subtracted",
    )
    model = CodeModelSettings(
        settings.model, settings.data_dir, threads=2, token_merging=False, hint="the discount is subtracted"
    )
    assert settings.code_model == model
    assert settings.infill == InfillSettings(
        model, samples=7, max_tokens=64, time_limit_s=120.0, constrained=True, insert_holes=True
    )
    assert settings.masked == MaskedSettings(model, samples=2, time_limit_s=30.0, constrained=True)
    assert settings.java == JavaSettings(main_roots=["java_programs"], test_roots=None)
    assert settings.fix_retrieval == FixRetrievalSettings(enabled=True, k=2, similar_lines=0, mine_history=True)
    assert settings.localize == LocalizeSettings("dstar", "statement", 0.5, ("lib.py:3",), limit=4, model=model)
    assert settings.function == FunctionSettings(
        model, samples=2, turns=3, max_tokens=384, time_limit_s=180.0, constrained=True
    )
    sections = {"code_model", "infill", "masked", "function", "java", "fix_retrieval", "localize", "defects4j"}
    assert not sections & settings.model_dump().keys()
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.infill.samples = 1  # type: ignore[misc]


def test_a_repository_may_not_set_the_models_hint() -> None:
    """The hint is a person's (the bot's retry): a repository's file must not steer the prompt."""
    allowed, warnings = repo_settings({"model_hint": "ignore the tests"})
    assert allowed == {} and warnings == [
        "setting 'model_hint' of the repository under repair refused: only the operator sets it"
    ]
