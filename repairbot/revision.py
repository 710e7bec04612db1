"""A past revision of the user's project (`baseline_rev`): the last one without the bug.

A test can fail in repairbot's sandbox for reasons no patch can fix: the network, a missing
tool, the JDK. Such a test fails at a revision before the bug too, which is how a job tells
it from the bug's failures without the user listing it in `ignore_tests` (issue 17).

The revision is read from the git objects alone: its tree is written into a folder of
repairbot's own, so the user's working tree, index and HEAD are never touched (no checkout,
no `git worktree`, not even a temporary index). Blobs are written as git stores them: no
`.gitattributes` filter or `export-ignore` applies, so the tree is the commit's exactly.
What the commit never held (untracked or git-ignored files of the user's checkout, build
outputs, `.git` itself) is not there; a test that needs one fails at the revision for that
reason, and is set aside where it fails in the checkout too.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import git

from repairbot.errors import BadInput
from repairbot.text import capped
from validators import safe_files

# Git's mode of a symlink blob; a submodule is a commit in the tree, not a blob.
_LINK_MODE = 0o120000
_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW


@dataclass(frozen=True)
class Revision:
    """`name` as the user gave it, resolved to the commit `sha` of the repository at
    `repo_dir`, whose folder `prefix` is the project (empty: the repository's root)."""

    name: str
    sha: str
    repo_dir: Path
    prefix: str

    @property
    def short(self) -> str:
        return self.sha[:10]

    def describe(self) -> str:
        return f"{self.name} ({self.short})"

    def write_tree(self, target: Path, ignore: Callable[[str], bool]) -> None:
        """The project's folder at this revision as the new dir `target`: files with their
        executable bit, directories, symlinks as links (never followed); submodules and
        entries named by `ignore` are left out. Raises `safe_files.TooLarge` past
        `safe_files.WORKSPACE_LIMITS`, as a work copy of the checkout would."""
        with git.Repo(self.repo_dir) as repo:
            tree = repo.commit(self.sha).tree
            _write(tree / self.prefix if self.prefix else tree, target, ignore)


def resolve(project: Path, name: str) -> Revision:
    """`name` (a sha, tag, branch, `HEAD~1`) in the git repository that holds `project`.
    Raises BadInput when there is none, when `name` names no commit there, or when the
    project's folder did not exist in that commit: each before any test runs."""
    try:
        repo = git.Repo(project, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise BadInput(
            f"baseline_rev {name!r}: {project} is not in a git repository, so it has no revision to compare with"
        ) from None
    with repo:
        if repo.working_tree_dir is None:
            raise BadInput(f"baseline_rev {name!r}: {project} is in a bare git repository")
        repo_dir = Path(repo.working_tree_dir).resolve()
        try:
            sha = repo.git.rev_parse("--verify", "--quiet", f"{name}^{{commit}}")
        except git.GitCommandError:
            raise BadInput(f"baseline_rev {name!r} does not name a commit of the repository at {repo_dir}") from None
        prefix = project.resolve().relative_to(repo_dir).as_posix()
        prefix = "" if prefix == "." else prefix
        if prefix:
            try:
                folder = repo.commit(sha).tree / prefix
            except KeyError:
                folder = None
            if folder is None or folder.type != "tree":
                raise BadInput(f"baseline_rev {name!r}: {capped(prefix)} is not a folder of the repository at {name}")
    return Revision(name, sha, repo_dir, prefix)


def _write(tree: git.Tree, target: Path, ignore: Callable[[str], bool]) -> None:
    """Every path is created fresh (`mkdir` without `exist_ok`, files with `O_EXCL`), inside
    folders this function made: a crafted tree (a name twice, a link and a folder of the
    same name) fails here rather than writing through a link."""
    limits, what = safe_files.WORKSPACE_LIMITS, "the project at the baseline revision"
    size = safe_files.TreeSize()
    target.mkdir(parents=True)
    pending = [(tree, target)]
    while pending:
        folder, directory = pending.pop()
        for item in folder:
            if ignore(item.name) or item.type == "commit" or not _plain(item.name):
                continue
            destination = directory / item.name
            size.files += 1
            if item.type == "tree":
                destination.mkdir()
                pending.append((item, destination))
                size.check(limits, what)
                continue
            size.bytes += item.size
            size.check(limits, what)
            if item.mode == _LINK_MODE:
                os.symlink(os.fsdecode(item.data_stream.read()), destination)
            else:
                mode = 0o755 if item.mode & 0o111 else 0o644
                with os.fdopen(os.open(destination, _FILE_FLAGS, mode), "wb") as out:
                    item.stream_data(out)


def _plain(name: str) -> bool:
    """A name git would check out: never one that climbs out or is git's own folder."""
    return name not in ("", ".", "..") and "/" not in name and "\0" not in name and name.lower() != ".git"
