"""A private copy of the user's project where every test run happens.

Running in a copy is what guarantees the user's tree is never modified (not even by
`__pycache__` or a test that writes files) unless they ask for `--apply`.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

# Derived or private state that tests never need; copying it would only cost time.
IGNORED = shutil.ignore_patterns(
    ".git", "__pycache__", "*.pyc", ".pytest_cache", ".mypy_cache", ".ruff_cache",
    ".tox", ".nox", ".venv", "venv", "node_modules", ".coverage", "*.egg-info",
)


class Workspace:
    """A temporary copy of `project`; use as a context manager to remove it afterwards."""

    def __init__(self, project: Path) -> None:
        self.project = project
        self._tmp = tempfile.TemporaryDirectory(prefix="repairbot-ws-")
        self.root = Path(self._tmp.name) / project.name
        shutil.copytree(project, self.root, ignore=IGNORED, symlinks=True)
        self.scratch = Path(self._tmp.name) / "scratch"
        self.scratch.mkdir()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._tmp.cleanup()

    def read(self, relative: str) -> str:
        return (self.root / relative).read_text(encoding="utf-8")

    def write(self, relative: str, text: str) -> None:
        (self.root / relative).write_text(text, encoding="utf-8")
