"""The repo's own example bugs as a benchmark: each folder of `examples/` with an
`expected.patch` (the reference fix, `git apply`-able in the example's root)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "examples"


def example_projects() -> list[Path]:
    return sorted(p for p in EXAMPLES_DIR.iterdir() if (p / "expected.patch").is_file())


def apply_reference_fix(example: Path, destination: Path) -> Path:
    """A copy of `example` at `destination` with its reference fix applied."""
    fixed = Path(shutil.copytree(example, destination))
    subprocess.run(["git", "apply", "expected.patch"], cwd=fixed, check=True)
    return fixed


def matches_reference(example: Path, patched: str, file: str) -> bool:
    """Whether `patched` is exactly `file` after the reference fix."""
    with tempfile.TemporaryDirectory() as tmp:
        fixed = apply_reference_fix(example, Path(tmp) / example.name)
        return (fixed / file).read_text() == patched
