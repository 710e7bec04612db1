"""One settings object, merged from defaults, the target repo's own file, the environment
and explicit overrides (CLI flags), in increasing priority.

The repo file lets a project pin what only it knows (its test command, its budgets); the
environment lets an operator point every job at a shared database or broker; flags win
because the person typing them meant it.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

import platformdirs
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from repairbot.errors import BadInput
from repairbot.localize import TRACE_WEIGHT, FormulaName, Granularity
from repairbot.models.install import DEFAULT_MODEL
from validators.runners import RunnerKind


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("repairbot"))


def default_database_url() -> str:
    return f"sqlite:///{default_data_dir() / 'repairbot.db'}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REPAIRBOT_", extra="forbid")

    database_url: str = Field(default_factory=default_database_url)
    broker_url: str | None = Field(
        default=None, description="Celery broker; None runs every stage in-process."
    )
    data_dir: Path = Field(default_factory=default_data_dir)
    model: str = Field(
        default=DEFAULT_MODEL,
        description="The default model's name, a GGUF file's name in data_dir/models, or a path to a GGUF file "
        "or a Hugging Face checkpoint directory.",
    )
    generators: Annotated[list[Literal["templates", "masked", "infill"]] | None, NoDecode] = Field(
        default=None,
        min_length=1,
        description="Patch generators in the order they run (comma-separated in the environment); "
        "None: templates, then infill and masked templates when the model is installed.",
    )
    infill_samples: int = Field(
        default=4, gt=0, description="Model completions per suspicious location, the first greedy."
    )
    infill_max_tokens: int = Field(default=64, gt=0, description="Tokens the model may write into one hole.")
    infill_constrained: bool = Field(
        default=True, description="Constrain the model's decoding with the completion engine (Repilot)."
    )
    infill_time_limit_s: float = Field(default=120.0, gt=0, description="Model time of one job's infill generator.")
    masked_samples: int = Field(
        default=2, gt=0, description="Model completions per masked template (GAMMA), the first greedy."
    )
    masked_time_limit_s: float = Field(
        default=120.0, gt=0, description="Model time of one job's masked-template generator."
    )
    # Off by default: measured (scripts/bench_rag.py, 40 QuixBugs Python bugs, an index of
    # 1,149 fixes mined from an algorithms repository) past fixes in the prompt cost the
    # default 1.5B model 9 of 34 plausible patches; the hints distract more than they help.
    retrieval: bool = Field(
        default=False, description="Show the model similar past fixes from the index (RAP-Gen) when there is one."
    )
    multi_hunk: bool = Field(
        default=True, description="Pair partial fixes of different hunks when several tests fail (MultiMend)."
    )
    max_combinations: int = Field(default=20, ge=0, description="Two-hunk candidates tried per generator batch.")
    retrieval_k: int = Field(default=2, ge=0, description="Past fixes retrieved per suspicious location.")
    similar_lines: int = Field(
        default=0, ge=0,
        description="Lines of the same file most like the suspicious one, shown to the model (MultiMend); 0: none.",
    )
    mine_history: bool = Field(
        default=True, description="Mine the project's own git history into the fix index first (incremental)."
    )
    model_token_merging: bool = Field(
        default=False,
        description="Merge each identifier's subtokens in a seq2seq model's encoder (token merging); CodeT5-style only.",
    )
    model_threads: int = Field(
        default=1, gt=0, description="CPU threads of the model: 1 holds up best next to test runs."
    )
    test_command: list[str] | None = Field(
        default=None,
        description="pytest: a pytest-compatible command (default `python -m pytest`); Maven: the mvn to run; "
        "Defects4J: the defects4j executable; javac projects take none.",
    )
    time_budget_s: float = Field(default=300.0, gt=0, description="Wall-clock budget for one job.")
    max_candidates: int = Field(default=200, gt=0, description="Candidates validated at most.")
    max_plausible: int = Field(default=1, gt=0, description="Stop once this many plausible patches exist.")
    max_locations: int = Field(default=10, gt=0, description="Suspicious statements handed to generation.")
    test_timeout_s: float = Field(default=120.0, gt=0, description="Timeout of the first (baseline) test run.")
    sandbox: Literal["auto", "bwrap", "none"] = "auto"
    runner: RunnerKind = Field(
        default="auto", description="Test runner: auto-detected (defects4j, maven, pytest, javac) or named."
    )
    java_main_roots: Annotated[list[str] | None, NoDecode] = Field(
        default=None,
        description="javac projects: folders of the code (comma-separated in the environment); "
        "None: src/main/java, else src/.",
    )
    java_test_roots: Annotated[list[str] | None, NoDecode] = Field(
        default=None,
        description="javac projects: folders of the tests (comma-separated in the environment); "
        "None: src/test/java, else test/ or tests/.",
    )
    validation_workers: int = Field(
        default=0, ge=0, description="Candidates validated at once, each in its own copy; 0: one per CPU core, at most 4."
    )
    outcome_cache: bool = Field(
        default=True, description="Reuse the verdict of an identical (normalized) patch on the same project state."
    )
    baseline_reruns: int = Field(
        default=1, ge=0, description="Extra baseline runs that find flaky tests (outcome flips); 0 trusts one run."
    )
    ignore_tests: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Test ids (fnmatch patterns, comma-separated in the environment) that fail for reasons unrelated "
        "to the bug: neither repair targets nor regressions.",
    )
    localize_formula: FormulaName = "ochiai"
    localize_granularity: Granularity = Field(
        default="statement", description="What generation gets: templates rewrite one statement at a time."
    )
    stack_trace_weight: float = Field(
        default=TRACE_WEIGHT, ge=0, description="Score boost for lines in failing tests' tracebacks; 0 ignores them."
    )
    locations: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Given fault locations (comma-separated in the environment): FILE:LINE or FILE:START-END "
        "replace the ranking, FILE or FILE::FUNCTION restrict it.",
    )

    @field_validator("generators", "locations", "ignore_tests", "java_main_roots", "java_test_roots", mode="before")
    @classmethod
    def _split_names(cls, value: Any) -> Any:
        if isinstance(value, str):  # an empty variable means unset, not "no generators"
            return [name.strip() for name in value.split(",") if name.strip()] or None
        return value

    @field_validator("test_command", mode="before")
    @classmethod
    def _split_command(cls, value: Any) -> Any:
        import shlex

        return shlex.split(value) if isinstance(value, str) else value


def read_repo_config(project: Path) -> dict[str, Any]:
    """The `[tool.repairbot]` table of pyproject.toml, or the whole of repairbot.toml."""
    dedicated = project / "repairbot.toml"
    pyproject = project / "pyproject.toml"
    try:
        if dedicated.is_file():
            return tomllib.loads(dedicated.read_text())
        if pyproject.is_file():
            return tomllib.loads(pyproject.read_text()).get("tool", {}).get("repairbot", {})
    except tomllib.TOMLDecodeError as exc:
        raise BadInput(f"cannot read repairbot settings of {project}: {exc}") from exc
    return {}


def load_settings(project: Path | None = None, **overrides: Any) -> Settings:
    """Settings for a job on `project`; `overrides` with value None are ignored."""
    from pydantic import ValidationError

    try:
        from_env = Settings()
        merged: dict[str, Any] = read_repo_config(project) if project is not None else {}
        merged.update(from_env.model_dump(include=from_env.model_fields_set))
        merged.update({k: v for k, v in overrides.items() if v is not None})
        return Settings(**merged)
    except ValidationError as exc:
        raise BadInput(f"invalid repairbot settings: {exc}") from exc


def validation_workers(settings: Settings) -> int:
    """Test runs are CPU-bound: more workers than cores only queue inside the kernel."""
    return settings.validation_workers or max(1, min(4, os.cpu_count() or 1))
