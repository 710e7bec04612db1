"""The patch generators, by name: what the pipeline needs to know to run one.

A generator kind says whether it needs the model (a job without one leaves it out), how it
takes the suspicious locations (all at once, or one per batch so that a location's
candidates are validated before the model is asked about the next), whether the past fixes
retrieval finds go into its prompt, and how it is built when its turn comes: from its own
section of the settings (`settings.infill`, `settings.masked`), not from the whole object.
`BUILTIN` is the default order; `register` adds another (a plugin, a test). Each `build`
imports its generator's module when called: a job the templates repair never loads the
model's code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from repairbot.domain import Candidate, SuspiciousLocation, ValidationResult

if TYPE_CHECKING:
    from repairbot.config import Settings
    from repairbot.generate.failures import FailingTest
    from retrieval.retrieve import RetrievalContext

Retrieved = Mapping[SuspiciousLocation, "RetrievalContext"]


class Generator(Protocol):
    name: str

    def generate(self, project_root: Path, locations: list[SuspiciousLocation], limit: int) -> list[Candidate]: ...


@runtime_checkable
class LearningGenerator(Generator, Protocol):
    """A generator that is told the verdicts of its last candidates (test feedback)."""

    def learn(self, results: Sequence[ValidationResult]) -> bool:
        """Whether it wants another turn at the same locations (`generate` is then asked again)."""
        ...


@dataclass(frozen=True)
class GenerationContext:
    """What a generator may be built from besides its settings section."""

    time_left_s: float  # its share of the job's budget
    retrieved: Retrieved = field(default_factory=dict)  # past fixes by location, for `reads_past_fixes` kinds
    failing: Sequence[FailingTest] = ()  # the failing tests' code and errors
    suspicious: Sequence[SuspiciousLocation] = ()  # every location the job hands to generation


@dataclass(frozen=True)
class GeneratorKind:
    name: str
    needs_model: bool
    # One location per batch: a model takes seconds per location, so each location's
    # candidates are validated before the next is asked about. Else all locations at once
    # (templates rank the edits of all of them together in milliseconds).
    per_location: bool
    reads_past_fixes: bool  # retrieval's similar fixes go into its prompt
    # (settings, context) -> the generator, built from its own section of the settings.
    build: Callable[[Settings, GenerationContext], Generator]
    # In the order a job runs when the settings name no generators.
    by_default: bool = True

    def batches(self, locations: list[SuspiciousLocation]) -> list[list[SuspiciousLocation]]:
        return [[location] for location in locations] if self.per_location else [locations]


def _templates(settings: Settings, context: GenerationContext) -> Generator:
    from repairbot.generate.templates import TemplateGenerator

    return TemplateGenerator(context.time_left_s, [failure.message for failure in context.failing])


def _infill(settings: Settings, context: GenerationContext) -> Generator:
    from repairbot.generate import infill

    return infill.infill_generator(settings.infill, context.time_left_s, context.retrieved)


def _masked(settings: Settings, context: GenerationContext) -> Generator:
    from repairbot.generate import masked

    return masked.masked_generator(settings.masked, context.time_left_s)


def _function(settings: Settings, context: GenerationContext) -> Generator:
    from repairbot.generate import function

    return function.function_generator(
        settings.function, context.time_left_s, context.failing, context.suspicious, context.retrieved
    )


# The default order: the templates (no model) first; then infill, whose one prompt per
# location reaches a plausible patch sooner than the masked templates' prompt per mask
# (QuixBugs, README); each repairs bugs the other misses. Masks are mid-line: no room for
# past fixes in their prompt.
BUILTIN = (
    GeneratorKind("templates", needs_model=False, per_location=False, reads_past_fixes=False, build=_templates),
    GeneratorKind("infill", needs_model=True, per_location=True, reads_past_fixes=True, build=_infill),
    GeneratorKind("masked", needs_model=True, per_location=True, reads_past_fixes=False, build=_masked),
    # Not in the default order yet: a whole function per prompt costs a minute of model time
    # where a one-line hole costs seconds; choose it with `generators`.
    GeneratorKind(
        "function", needs_model=True, per_location=True, reads_past_fixes=True, build=_function, by_default=False
    ),
)
_REGISTERED: dict[str, GeneratorKind] = {kind.name: kind for kind in BUILTIN}


def register(kind: GeneratorKind) -> GeneratorKind:
    if kind.name in _REGISTERED:
        raise ValueError(f"a generator named {kind.name} exists")
    _REGISTERED[kind.name] = kind
    return kind


def unregister(name: str) -> None:
    del _REGISTERED[name]


def generator_kind(name: str) -> GeneratorKind:
    """Raises ValueError naming the known generators."""
    try:
        return _REGISTERED[name]
    except KeyError:
        raise ValueError(f"no generator {name!r} (known: {', '.join(_REGISTERED)})") from None


def generator_kinds() -> list[GeneratorKind]:
    return list(_REGISTERED.values())
