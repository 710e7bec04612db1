"""A job's project from a git URL and commit: cloned by the worker that runs it."""

from __future__ import annotations

import re
from pathlib import Path

import git

from repairbot.errors import BadInput
from repairbot.text import capped

# What `submit` takes for a git URL rather than a local path: a scheme git speaks, or scp-like.
GIT_URL = re.compile(r"^(?:(?:https?|ssh|git|file)://\S+|[\w.-]+@[\w.-]+:\S+)$")
COMMIT = re.compile(r"^[0-9a-fA-F]{4,64}$|^[\w./-]{1,200}$")


def is_git_url(text: str) -> bool:
    return bool(GIT_URL.match(text))


def check_commit(commit: str) -> None:
    """A commit is a hash or a ref name, never an option (a leading `-`)."""
    if commit.startswith("-") or not COMMIT.match(commit):
        raise BadInput(f"{commit!r} is not a commit hash or ref name")


def clone(url: str, commit: str | None, project: Path, env: dict[str, str] | None = None) -> None:
    """Clone `url` into the empty folder `project` and check out `commit` (default: the
    remote's HEAD). Hooks of the clone never run: a clone copies none. `env`: extra
    environment of the clone (credentials in git's config variables, see
    repairbot.github.gitauth)."""
    try:
        repo = git.Repo.clone_from(url, project, env=env, no_checkout=commit is not None, multi_options=["--quiet"])
        if commit is not None:
            check_commit(commit)
            repo.git.checkout("--quiet", "--detach", commit)
    except git.GitCommandError as exc:
        detail = (exc.stderr or str(exc)).strip().removeprefix("stderr:").strip(" '")
        raise BadInput(f"cannot check out {url} at {commit or 'HEAD'}: {capped(detail)}") from exc
