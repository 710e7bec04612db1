"""A private copy of the user's project where every test run happens.

Running in a copy is what guarantees the user's tree is never modified (not even by
`__pycache__` or a test that writes files) unless they ask for `--apply`. The copy must be
what the tests see in the user's checkout: only caches, version control and virtual
environments are left out (`*.egg-info` stays: tests that read the package's metadata need
it), and a test that fails only for want of those is found by a run in a full copy. The
project is untrusted input: its symlinks are copied as links (never followed), FIFOs,
sockets and devices are left out, and a project over `safe_files.WORKSPACE_LIMITS` is
refused.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from fnmatch import fnmatchcase
from pathlib import Path

from repairbot.errors import BadInput
from repairbot.revision import Revision
from validators import safe_files

# Caches the tools rebuild: never part of what a test sees.
CACHES = ("__pycache__", "*.pyc", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".coverage")
# Left out of the work copy for its size (a `.git` can be larger than the project); a test
# may still read them (a version from `git describe`, a tool in the venv), so a test that
# fails in the copy is run once more in a full copy (`Workspace.full_copy`).
BULKY = (".git", ".tox", ".nox", ".venv", "venv", "node_modules")
IGNORED = CACHES + BULKY

# The copy's name when the project's own has none (the file system root) or is one that
# tools trip over (pytest refuses `[...]` in a path; a newline breaks every log line).
UNNAMED = "project"
_PLAIN_NAME = re.compile(r"[\w.+-]+")


def ignored(name: str) -> bool:
    return any(fnmatchcase(name, pattern) for pattern in IGNORED)


def is_cache(name: str) -> bool:
    return any(fnmatchcase(name, pattern) for pattern in CACHES)


class Workspace:
    """A temporary copy of `project`; use as a context manager to remove it afterwards."""

    def __init__(self, project: Path) -> None:
        self.project = project
        self._tmp = tempfile.TemporaryDirectory(prefix="repairbot-ws-")
        # Named as the project is (a test may print or check it) where the name is plain.
        name = project.resolve().name
        self.root = Path(self._tmp.name) / (name if _PLAIN_NAME.fullmatch(name) else UNNAMED)
        self.left_out: set[str] = set()  # the bulky names the copy left out

        def leave_out(entry: str) -> bool:
            if is_cache(entry):
                return True
            if ignored(entry):
                self.left_out.add(entry)
                return True
            return False

        try:
            safe_files.copy_tree(project, self.root, safe_files.WORKSPACE_LIMITS, f"the project {project}", leave_out)
        except safe_files.TooLarge as exc:
            self._tmp.cleanup()
            raise BadInput(f"{exc}, the cap of a work copy (caches and .git not counted): refused") from exc
        except BaseException:
            self._tmp.cleanup()
            raise
        self.scratch = Path(self._tmp.name) / "scratch"
        self.scratch.mkdir()

    @contextmanager
    def full_copy(self) -> Iterator[Path]:
        """A second copy with everything but the caches (`.git` and venvs included), for
        telling a test that fails only in the work copy from one the bug makes fail; removed
        on leaving. Raises `safe_files.TooLarge` past the work copies' caps."""
        outer = Path(self._tmp.name) / "full"
        try:
            root = outer / self.root.name
            safe_files.copy_tree(self.project, root, safe_files.WORKSPACE_LIMITS, f"the project {self.project}", is_cache)
            yield root
        finally:
            shutil.rmtree(outer, ignore_errors=True)

    @contextmanager
    def revision_copy(self, revision: Revision) -> Iterator[Path]:
        """The project as `revision` committed it, named as the work copy is and with what
        it leaves out left out (a test sees the same place at both), for telling a test
        that fails there too from one the bug makes fail; removed on leaving. Raises
        `safe_files.TooLarge` past the work copies' caps, OSError for a tree that cannot
        be written."""
        outer = Path(self._tmp.name) / "revision"
        try:
            root = outer / self.root.name
            revision.write_tree(root, ignored)
            yield root
        finally:
            shutil.rmtree(outer, ignore_errors=True)

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._tmp.cleanup()
