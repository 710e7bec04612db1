"""One settings object, merged from defaults, the target repo's own file, the environment
and explicit overrides (CLI flags), in increasing priority.

The repo file lets a project pin what only it knows (its test command, its budgets); the
environment lets an operator point every job at a shared database or broker; flags win
because the person typing them meant it.

The repository under repair is untrusted (see "Security model" in the README): its file
may only describe the project (`REPO_DESCRIBES`) and lower budgets (`REPO_BUDGETS`). Every
other setting it names is refused with a warning, so the sandbox, the database, the model,
the data dir and the fault locations come from the operator alone.
"""

from __future__ import annotations

import logging
import os
import shlex
import tomllib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal

import platformdirs
from pydantic import Field, PrivateAttr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from repairbot.errors import BadInput
from repairbot.localize import TRACE_WEIGHT, FormulaName, Granularity
from repairbot.models.install import DEFAULT_MODEL
from validators import safe_files
from validators.defects4j_runner import DEFAULT_MEMORY_MIB, Defects4JOptions
from validators.runners import runner_kind

logger = logging.getLogger(__name__)

# What a repository may say about itself: how its tests run and where its code is.
REPO_DESCRIBES = frozenset({
    "test_command", "runner", "java_main_roots", "java_test_roots", "ignore_tests", "open_pull_request",
})
# Budgets a repository may set where the operator set none, at most to the default: a
# project may ask for less work, never for more than the operator agreed to.
REPO_BUDGETS = frozenset({
    "time_budget_s", "max_candidates", "max_plausible", "max_locations", "test_timeout_s", "baseline_reruns",
    "infill_time_limit_s", "masked_time_limit_s", "function_time_limit_s", "defects4j_test_timeout_s",
})
# A settings file larger than this is not a settings file.
MAX_REPO_CONFIG_BYTES = safe_files.MiB


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("repairbot"))


def default_database_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'repairbot.db'}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REPAIRBOT_", extra="forbid")

    broker_url: str | None = Field(
        default=None, description="Celery broker of `repairbot submit` and `repairbot worker` (redis://, amqp://); "
        "None: jobs queue in the database and run in a local worker process.",
    )
    data_dir: Path = Field(default_factory=default_data_dir)
    # After data_dir: its default is a file there.
    database_url: str = Field(default_factory=lambda fields: default_database_url(fields["data_dir"]))
    snapshot_max_bytes: int = Field(
        default=64 * safe_files.MiB, gt=0,
        description="`repairbot submit PATH`: the most bytes of (not git-ignored) files packed into the database.",
    )
    job_lease_s: float = Field(
        default=30.0, ge=3,
        description="Queued jobs: a worker renews its lease on a running job every second for this long; a job "
        "whose lease expired lost its worker and runs again.",
    )
    job_max_attempts: int = Field(
        default=3, gt=0, description="Queued jobs: runs of one job whose worker died before it is failed."
    )
    model: str = Field(
        default=DEFAULT_MODEL,
        description="The default model's name, a GGUF file's name in data_dir/models, or a path to a GGUF file "
        "or a Hugging Face checkpoint directory.",
    )
    generators: Annotated[list[str] | None, NoDecode] = Field(
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
    infill_insert_holes: bool = Field(
        default=True,
        description="Also let the model write a missing line before or after each suspicious statement, or first "
        "in the body it heads (fewer samples than the replacement hole; its candidates rank after).",
    )
    model_hint: str | None = Field(
        default=None, max_length=500,
        description="A person's hint for the code model (the bot's `@repairbot retry <sentence>`): "
        "a comment above each hole in the model's prompts.",
    )
    masked_samples: int = Field(
        default=2, gt=0, description="Model completions per masked template (GAMMA), the first greedy."
    )
    masked_time_limit_s: float = Field(
        default=120.0, gt=0, description="Model time of one job's masked-template generator."
    )
    function_samples: int = Field(
        default=2, gt=0, description="Function-level generator: answers per turn, the first greedy."
    )
    function_turns: int = Field(
        default=3, gt=0, description="Function-level generator: turns per function (a failed answer's errors fed back)."
    )
    function_max_tokens: int = Field(
        default=384, gt=0, description="Function-level generator: tokens of one answer (longer functions are skipped)."
    )
    function_time_limit_s: float = Field(
        default=180.0, gt=0, description="Model time of one job's function-level generator."
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
    max_plausible: int = Field(
        default=1, gt=0,
        description="Stop once this many plausible patches without signs of overfitting exist "
        "(repairbot.overfitting: a flagged one is kept, and reported if nothing better comes).",
    )
    max_locations: int = Field(default=10, gt=0, description="Suspicious statements handed to generation.")
    test_timeout_s: float = Field(default=120.0, gt=0, description="Timeout of the first (baseline) test run.")
    defects4j_test_timeout_s: float = Field(
        default=900.0, gt=0,
        description="Defects4J: timeout of the baseline test run (a Defects4J suite takes minutes: 4-8 for Lang), "
        "and of the per-test coverage run for localization.",
    )
    defects4j_relevant_tests: bool = Field(
        default=True,
        description="Defects4J: run the bug's relevant tests (`defects4j test -r`) wherever the whole suite would run "
        "(baseline, plausibility); false: the whole suite.",
    )
    defects4j_memory_mib: int = Field(
        default=DEFAULT_MEMORY_MIB, ge=512,
        description="Defects4J: memory limit of each framework call; the JVMs' heap is capped at 3/4 of it.",
    )
    defects4j_env: dict[str, str] = Field(
        default_factory=dict,
        description="Defects4J: extra environment of the framework (JSON in the environment), e.g. PERL5LIB, "
        "or JAVA_TOOL_OPTIONS with --add-opens for Java 17.",
    )
    localize_model_weight: float = Field(
        default=0.0, ge=0,
        description="Model-aided localization: a suspect's score is multiplied by 1 + this x its line's surprisal rank "
        "in its function (repairbot/localize_model.py); 0 turns it off.",
    )
    localize_model_functions: int = Field(
        default=3, gt=0, description="Model-aided localization: how many of the most suspicious functions the model reads."
    )
    defects4j_javac_min_level: int = Field(
        default=8, ge=0,
        description="Defects4J (and other Ant builds it runs): javac source/target levels below this are raised to it "
        "(javac 17 refuses 6, which most Defects4J build files ask for); 0 keeps the build's own levels.",
    )
    sandbox: Literal["auto", "bwrap", "none"] = "auto"
    runner: str = Field(
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
    # Operator-only (not in REPO_DESCRIBES): a repository's file could name a revision at
    # which its real failures also fail, and so have them set aside.
    baseline_rev: str | None = Field(
        default=None, min_length=1, max_length=256,
        description="A git revision without the bug (sha, tag, branch, HEAD~1): a failing test that fails there "
        "too fails for another reason (the environment, a missing tool) and is set aside, not repaired.",
    )
    open_pull_request: bool = Field(
        default=True, description="`repairbot serve`: push a branch and open a pull request with a fix; False: "
        "the fix goes only into the check run (and a comment on a failing pull request).",
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

    @field_validator("baseline_rev")
    @classmethod
    def _not_an_option(cls, value: str | None) -> str | None:
        """A revision is passed to git: one that starts with `-` would be read as an option."""
        if value is not None and (value.startswith("-") or not value.isprintable()):
            raise ValueError(f"{value!r} is not a git revision")
        return value

    @field_validator("runner")
    @classmethod
    def _known_runner(cls, value: str) -> str:
        if value != "auto":
            runner_kind(value)  # ValueError naming the known ones
        return value

    @field_validator("test_command", mode="before")
    @classmethod
    def _split_command(cls, value: Any) -> Any:
        return shlex.split(value) if isinstance(value, str) else value

    @field_validator("java_main_roots", "java_test_roots")
    @classmethod
    def _inside_project(cls, roots: list[str] | None) -> list[str] | None:
        """Source roots are folders of the project: relative, never climbing out of it."""
        for root in roots or []:
            if _leaves_project(root):
                raise ValueError(f"source root {root!r} is not a folder inside the project")
        return roots

    # Settings the repository's own file asked for and did not get, one sentence each.
    _repo_warnings: list[str] = PrivateAttr(default_factory=list)

    @property
    def repo_warnings(self) -> list[str]:
        """Why settings of the repository under repair were refused or capped: for the
        operator to see (the CLI prints them); never part of a dump."""
        return self._repo_warnings

    # The sections: each part of repairbot is built from its own, not from the whole object.
    # They are views of the flat fields, which stay the settings' names everywhere a user
    # meets them (REPAIRBOT_INFILL_SAMPLES, `infill_samples` in a project's file, the job's
    # recorded settings).

    @property
    def code_model(self) -> CodeModelSettings:
        return CodeModelSettings(
            self.model, self.data_dir, threads=self.model_threads, token_merging=self.model_token_merging,
            hint=self.model_hint,
        )

    @property
    def infill(self) -> InfillSettings:
        return InfillSettings(
            self.code_model, samples=self.infill_samples, max_tokens=self.infill_max_tokens,
            time_limit_s=self.infill_time_limit_s, constrained=self.infill_constrained,
            insert_holes=self.infill_insert_holes,
        )

    @property
    def masked(self) -> MaskedSettings:
        return MaskedSettings(
            self.code_model, samples=self.masked_samples, time_limit_s=self.masked_time_limit_s,
            constrained=self.infill_constrained,
        )

    @property
    def function(self) -> FunctionSettings:
        return FunctionSettings(
            self.code_model, samples=self.function_samples, turns=self.function_turns,
            max_tokens=self.function_max_tokens, time_limit_s=self.function_time_limit_s,
            constrained=self.infill_constrained,
        )

    @property
    def java(self) -> JavaSettings:
        return JavaSettings(main_roots=self.java_main_roots, test_roots=self.java_test_roots)

    @property
    def defects4j(self) -> Defects4JOptions:
        return Defects4JOptions(
            relevant_only=self.defects4j_relevant_tests, memory_mib=self.defects4j_memory_mib,
            env=dict(self.defects4j_env), coverage_timeout_s=self.defects4j_test_timeout_s,
            javac_min_level=self.defects4j_javac_min_level,
        )

    @property
    def fix_retrieval(self) -> FixRetrievalSettings:
        return FixRetrievalSettings(
            enabled=self.retrieval, k=self.retrieval_k, similar_lines=self.similar_lines, mine_history=self.mine_history
        )

    @property
    def localize(self) -> LocalizeSettings:
        return LocalizeSettings(
            formula=self.localize_formula, granularity=self.localize_granularity, trace_weight=self.stack_trace_weight,
            given=tuple(self.locations), limit=self.max_locations, model_weight=self.localize_model_weight,
            model_functions=self.localize_model_functions, model=self.code_model,
        )


@dataclass(frozen=True)
class CodeModelSettings:
    """The code model of the generators that need one (`model`, `data_dir`, `model_threads`,
    `model_token_merging`, `model_hint`): one model per process, shared by infill and masked
    templates."""

    name: str  # the default model's name, a GGUF file in data_dir/models, or a path
    data_dir: Path
    threads: int
    token_merging: bool
    hint: str | None = None  # `model_hint`: what a person said about the fault, shown in every prompt


@dataclass(frozen=True)
class InfillSettings:
    """The infill generator's section (`infill_*`)."""

    model: CodeModelSettings
    samples: int
    max_tokens: int
    time_limit_s: float
    constrained: bool
    insert_holes: bool  # `infill_insert_holes`: holes where a missing line may be inserted


@dataclass(frozen=True)
class FunctionSettings:
    """The function-level generator's section (`function_*`; `constrained` is `infill_constrained`)."""

    model: CodeModelSettings
    samples: int
    turns: int
    max_tokens: int
    time_limit_s: float
    constrained: bool


@dataclass(frozen=True)
class MaskedSettings:
    """The masked-template generator's section (`masked_*`); `constrained` is
    `infill_constrained`: one switch for the completion engine of every model generator."""

    model: CodeModelSettings
    samples: int
    time_limit_s: float
    constrained: bool


@dataclass(frozen=True)
class JavaSettings:
    """Where a javac project keeps its code and its tests (`java_main_roots`,
    `java_test_roots`); None: the runner's own layouts."""

    main_roots: list[str] | None
    test_roots: list[str] | None


@dataclass(frozen=True)
class FixRetrievalSettings:
    """The retrieve stage's section: whether the model's prompt shows past fixes
    (`retrieval`), how many per location (`retrieval_k`), the similar lines of the same file
    (`similar_lines`), and whether the project's history is mined first (`mine_history`)."""

    enabled: bool
    k: int
    similar_lines: int
    mine_history: bool


@dataclass(frozen=True)
class LocalizeSettings:
    """The localize stage's section: the formula, the granularity and the traceback boost
    of the ranking (`localize_formula`, `localize_granularity`, `stack_trace_weight`), the
    given locations (`locations`), how many locations generation gets (`max_locations`), and
    the model's part (`localize_model_weight`, `localize_model_functions`, the code model)."""

    formula: FormulaName
    granularity: Granularity
    trace_weight: float
    given: tuple[str, ...]
    limit: int
    # Model-aided localization (`localize_model_*`, repairbot/localize_model.py): off at 0.
    model_weight: float = 0.0
    model_functions: int = 3
    model: CodeModelSettings | None = None


def read_repo_config(project: Path) -> dict[str, Any]:
    """The `[tool.repairbot]` table of pyproject.toml, or the whole of repairbot.toml.

    Both are the repository's files: read without following a symlink (which could name a
    host file), never from a FIFO, and at most `MAX_REPO_CONFIG_BYTES`."""
    for name in ("repairbot.toml", "pyproject.toml"):
        text = _read_repo_file(project, name)
        if text is None:
            continue
        try:
            table = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise BadInput(f"cannot read repairbot settings of {project}: {name}: {exc}") from exc
        return table if name == "repairbot.toml" else table.get("tool", {}).get("repairbot", {})
    return {}


def _read_repo_file(project: Path, name: str) -> str | None:
    """The text of `project/name`, None when there is none."""
    try:
        return safe_files.read_text(project, name, MAX_REPO_CONFIG_BYTES)
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"cannot read repairbot settings of {project}: {name}: {exc}") from exc


def load_settings(project: Path | None = None, **overrides: Any) -> Settings:
    """Settings for a job on `project`; `overrides` with value None are ignored.

    What the project's own file says is filtered first (`repo_settings`); what it was
    refused is logged and kept on `Settings.repo_warnings`."""
    from pydantic import ValidationError

    try:
        from_env = Settings()
        operator = from_env.model_dump(include=from_env.model_fields_set)
        operator.update({k: v for k, v in overrides.items() if v is not None})
        repo, warnings = repo_settings(read_repo_config(project)) if project is not None else ({}, [])
        settings = Settings(**{**repo, **operator})
    except ValidationError as exc:
        raise BadInput(f"invalid repairbot settings: {exc}") from exc
    settings, capped = _cap_repo_budgets(settings, set(repo) - set(operator))
    settings._repo_warnings = [*warnings, *capped]
    for warning in settings.repo_warnings:
        logger.warning("%s", warning)
    return settings


def repo_settings(table: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The part of a repository's settings it may set, and a warning for each refused one.

    Names that are no setting at all pass through, so validation reports them as typos.
    A repository's test command runs inside the sandbox like its tests, which can run any
    program the sandbox shows anyway; only a program named by a path outside the project
    is refused, because the Defects4J runner shows the executable's installation to the
    sandbox (a repository must not pick which host folder that is)."""
    allowed: dict[str, Any] = {}
    warnings: list[str] = []
    for name, value in table.items():
        if name in Settings.model_fields and name not in REPO_DESCRIBES | REPO_BUDGETS:
            warnings.append(f"setting {name!r} of the repository under repair refused: only the operator sets it")
        elif name == "test_command" and _names_outside_program(value):
            warnings.append("setting 'test_command' of the repository under repair refused: "
                            "its program is a path outside the project")
        else:
            allowed[name] = value
    return allowed, warnings


def _names_outside_program(command: Any) -> bool:
    """Whether a test command runs a program by a path outside the project; a command that
    does not parse is left to validation, which says why."""
    try:
        words = shlex.split(command) if isinstance(command, str) else command
    except ValueError:
        return False
    return isinstance(words, list) and bool(words) and isinstance(words[0], str) and _leaves_project(words[0])


def _leaves_project(path: str) -> bool:
    """Whether `path`, taken relative to the project, names something outside it."""
    pure = PurePosixPath(path)
    return pure.is_absolute() or ".." in pure.parts


def _cap_repo_budgets(settings: Settings, from_repo: set[str]) -> tuple[Settings, list[str]]:
    """`settings` with each budget that only the repository set lowered to the default
    where it asked for more."""
    capped: dict[str, Any] = {}
    warnings: list[str] = []
    for name in sorted(from_repo & REPO_BUDGETS):
        default = Settings.model_fields[name].default
        if getattr(settings, name) > default:
            capped[name] = default
            warnings.append(f"setting {name!r} of the repository under repair capped at the operator's {default}")
    return settings.model_copy(update=capped), warnings


def validation_workers(settings: Settings) -> int:
    """Test runs are CPU-bound: more workers than cores only queue inside the kernel."""
    return settings.validation_workers or max(1, min(4, os.cpu_count() or 1))
