"""A generator is one registered kind (`repairbot/generate/registry.py`): a new one, defined
in this module alone, is accepted by the settings and run by the pipeline in its turn."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from repairbot.config import load_settings
from repairbot.domain import Candidate, SuspiciousLocation
from repairbot.errors import BadInput
from repairbot.generate.registry import GenerationContext, GeneratorKind, generator_kind, register, unregister
from repairbot.pipeline import generator_names
from tests.files import write_files
from tests.test_infill import run


class SwapOperands:
    """Swaps the operands of a suspicious line's `a - b` (nothing else)."""

    name = "swap"

    def __init__(self) -> None:
        self.asked: list[list[SuspiciousLocation]] = []

    def generate(self, project_root: Path, locations: list[SuspiciousLocation], limit: int) -> list[Candidate]:
        self.asked.append(locations)
        candidates = []
        for location in locations:
            text = (project_root / location.file).read_text()
            lines = text.splitlines(keepends=True)
            line = lines[location.start_line - 1]
            if " - " not in line:
                continue
            left, _, right = line.rstrip("\n").partition(" - ")
            head, _, a = left.rpartition(" ")
            lines[location.start_line - 1] = f"{head} {right} - {a}\n"
            candidates.append(Candidate(
                location.file, text, "".join(lines), self.name, "swap the operands of -", location, location.score
            ))
        return candidates[:limit]


@pytest.fixture
def swap() -> Iterator[list[SwapOperands]]:
    built: list[SwapOperands] = []

    def build(settings, context):
        built.append(SwapOperands())
        return built[-1]

    register(GeneratorKind("swap", needs_model=False, per_location=True, reads_past_fixes=False, build=build))
    yield built
    unregister("swap")


def test_a_job_takes_registered_generators_only(swap: list[SwapOperands]) -> None:
    assert generator_names(load_settings(generators=["swap", "templates"])) == (["swap", "templates"], "")
    with pytest.raises(BadInput, match=r"no generator 'swapp' \(known: templates, infill, masked, function, swap\)"):
        generator_names(load_settings(generators=["swapp"]))
    assert generator_kind("swap").batches([SuspiciousLocation("a.py", 1, 1, 1.0)] * 2) == [
        [SuspiciousLocation("a.py", 1, 1, 1.0)]
    ] * 2


def test_a_registered_generator_runs_in_its_turn(tmp_path: Path, swap: list[SwapOperands]) -> None:
    files = {
        "lib.py": "def remaining(total, spent):\n    return spent - total\n",
        "tests/test_lib.py": "from lib import remaining\n\ndef test_remaining():\n    assert remaining(5, 2) == 3\n",
    }
    result, messages = run(write_files(tmp_path / "p", files), tmp_path, generators=["swap"])
    [patch] = result.patches
    assert patch.candidate.generator == "swap"
    assert patch.candidate.patched == "def remaining(total, spent):\n    return total - spent\n"
    [generator] = swap
    assert all(len(batch) == 1 for batch in generator.asked)  # per location, as its kind says
    assert any(m.startswith("swap: generating") for m in messages)


def test_each_model_generator_is_built_from_its_own_settings_section(monkeypatch: pytest.MonkeyPatch) -> None:
    from repairbot.generate import infill, masked

    built = []
    monkeypatch.setattr(infill, "infill_generator", lambda section, time_left_s, retrieved: built.append(section))
    monkeypatch.setattr(masked, "masked_generator", lambda section, time_left_s: built.append(section))
    settings = load_settings(infill_samples=3, masked_samples=5)
    generator_kind("infill").build(settings, GenerationContext(10.0))
    generator_kind("masked").build(settings, GenerationContext(10.0))
    assert built == [settings.infill, settings.masked]
    assert [section.samples for section in built] == [3, 5]


class FixedEdits:
    """Proposes fixed replacements of the suspicious line, each with its prior."""

    name = "fixed"

    def __init__(self, lines: dict[str, float]) -> None:
        self.lines = lines

    def generate(self, project_root: Path, locations: list[SuspiciousLocation], limit: int) -> list[Candidate]:
        location = locations[0]
        text = (project_root / location.file).read_text()
        lines = text.splitlines(keepends=True)
        candidates = []
        for line, prior in self.lines.items():
            patched = "".join(lines[: location.start_line - 1] + [line] + lines[location.start_line :])
            candidates.append(Candidate(location.file, text, patched, self.name, line.strip(), location, prior))
        return candidates[:limit]


def test_the_patch_two_generators_agree_on_ranks_first(tmp_path: Path, swap: list[SwapOperands]) -> None:
    """`fixed` validates both plausible patches in its turn (alone, its likelier one would
    rank first); `swap` then proposes the other again (not rerun: it was tried), and that
    agreement ranks it first."""
    register(GeneratorKind(
        "fixed", needs_model=False, per_location=True, reads_past_fixes=False,
        build=lambda settings, context: FixedEdits({
            "    return abs(spent - total)\n": 0.9, "    return total - spent\n": 0.1,
        }),
    ))
    try:
        files = {
            "lib.py": "def remaining(total, spent):\n    return spent - total\n",
            "tests/test_lib.py": "from lib import remaining\n\ndef test_remaining():\n    assert remaining(5, 2) == 3\n",
        }
        project = write_files(tmp_path / "p", files)
        both, _ = run(project, tmp_path, generators=["fixed", "swap"], max_plausible=3, locations=["lib.py:2"])
        assert [p.candidate.description for p in both.patches] == ["return total - spent", "return abs(spent - total)"]
        assert len(both.validations) == 2  # swap's proposal was the same program: agreement, no rerun
    finally:
        unregister("fixed")
