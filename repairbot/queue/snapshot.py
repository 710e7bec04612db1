"""A local project packed into the database, so that a worker on another machine can repair it.

Which files go in is git's answer: `git ls-files --cached --others --exclude-standard` in a
git work tree, and the same question asked of a throwaway repository for a plain folder, so
`.gitignore` (every level), `.git/info/exclude` and the user's global excludes are honoured
the way the user's own git honours them, and build outputs and virtual environments stay out.

The archive is untrusted when it is read back (the tree was the repository's), so it is
unpacked with tarfile's "data" filter: no absolute paths, no `..`, no links leaving the
folder, no devices, no set-uid bits.
"""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
import tempfile
from pathlib import Path

from repairbot.errors import BadInput

MiB = 1024 * 1024


def pack(project: Path, max_bytes: int) -> bytes:
    """The project's files as a gzipped tar; BadInput when the files git would keep add up to
    more than `max_bytes` (before compression), naming the largest."""
    names = _kept_files(project)
    sizes = {name: (project / name).lstat().st_size for name in names}
    total = sum(sizes.values())
    if total > max_bytes:
        largest = sorted(sizes, key=sizes.__getitem__, reverse=True)[:3]
        raise BadInput(
            f"{project} holds {total / MiB:.1f} MiB of files that are not git-ignored, more than the snapshot limit "
            f"of {max_bytes / MiB:.0f} MiB (REPAIRBOT_SNAPSHOT_MAX_BYTES); largest: "
            + ", ".join(f"{name} ({sizes[name] / MiB:.1f} MiB)" for name in largest)
            + ". Add build outputs and data to .gitignore, or submit a git URL"
        )
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=6) as archive:
        for name in names:
            archive.add(project / name, arcname=name, recursive=False)
    return buffer.getvalue()


def unpack(archive: bytes, destination: Path) -> None:
    """Write the archive's files under `destination` (an empty folder)."""
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        try:
            tar.extractall(destination, filter="data")
        except tarfile.FilterError as exc:
            raise BadInput(f"the job's snapshot holds a file outside its folder: {exc}") from exc


def _kept_files(project: Path) -> list[str]:
    """Relative paths of the files (and links) that are not git-ignored, sorted."""
    if not project.is_dir():
        raise BadInput(f"{project} is not a directory")
    inside_git = _git(project, "rev-parse", "--is-inside-work-tree").strip() == "true"
    if inside_git:
        listed = _git(project, "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", ".")
    else:
        with tempfile.TemporaryDirectory(prefix="repairbot-snapshot-") as git_dir:
            _git(project, "init", "-q", "--bare", git_dir)
            listed = _git(
                project, f"--git-dir={git_dir}", f"--work-tree={project}", "ls-files", "-z", "--others",
                "--exclude-standard",
            )
    # ls-files lists a deleted tracked file too; a submodule appears as its folder.
    names = [name for name in listed.split("\0") if name and os.path.lexists(project / name)]
    return sorted(name for name in names if not (project / name).is_dir() or (project / name).is_symlink())


def _git(project: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-c", "core.quotePath=false", *args], cwd=project, capture_output=True, text=True, check=False
    )
    if result.returncode != 0 and args[0] != "rev-parse":
        raise BadInput(f"cannot list the files of {project}: git {args[0]}: {result.stderr.strip()}")
    return result.stdout
