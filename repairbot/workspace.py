"""A private copy of the user's project where every test run happens.

Running in a copy is what guarantees the user's tree is never modified (not even by
`__pycache__` or a test that writes files) unless they ask for `--apply`. The copy must be
what the tests see in the user's checkout: only caches and version control are left out
(`*.egg-info` stays: tests that read the package's metadata need it). The project is
untrusted input: its symlinks are copied as links (never followed), FIFOs, sockets and
devices are left out, and a project over `safe_files.WORKSPACE_LIMITS` is refused.
"""

from __future__ import annotations

import re
import tempfile
from fnmatch import fnmatchcase
from pathlib import Path

from repairbot.errors import BadInput
from validators import safe_files

# Derived or private state that tests never need; copying it would only cost time.
# `.git` stays out too: it can be larger than the project, and tests rarely read it.
IGNORED = (
    ".git", "__pycache__", "*.pyc", ".pytest_cache", ".mypy_cache", ".ruff_cache",
    ".tox", ".nox", ".venv", "venv", "node_modules", ".coverage",
)
# The copy's name when the project's own has none (the file system root) or is one that
# tools trip over (pytest refuses `[...]` in a path; a newline breaks every log line).
UNNAMED = "project"
_PLAIN_NAME = re.compile(r"[\w.+-]+")


def ignored(name: str) -> bool:
    return any(fnmatchcase(name, pattern) for pattern in IGNORED)


class Workspace:
    """A temporary copy of `project`; use as a context manager to remove it afterwards."""

    def __init__(self, project: Path) -> None:
        self.project = project
        self._tmp = tempfile.TemporaryDirectory(prefix="repairbot-ws-")
        # Named as the project is (a test may print or check it) where the name is plain.
        name = project.resolve().name
        self.root = Path(self._tmp.name) / (name if _PLAIN_NAME.fullmatch(name) else UNNAMED)
        try:
            safe_files.copy_tree(project, self.root, safe_files.WORKSPACE_LIMITS, f"the project {project}", ignored)
        except safe_files.TooLarge as exc:
            self._tmp.cleanup()
            raise BadInput(f"{exc}, the cap of a work copy (caches and .git not counted): refused") from exc
        except BaseException:
            self._tmp.cleanup()
            raise
        self.scratch = Path(self._tmp.name) / "scratch"
        self.scratch.mkdir()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._tmp.cleanup()
