"""The fix as a branch of the repository: cloned at the failing commit, the patch applied
and committed by the bot, pushed (forced: a retry replaces the branch's one commit).
git gets the token in its environment (`gitauth`), never in the URL."""

from __future__ import annotations

import tempfile
from pathlib import Path

import git

from repairbot.queue.gitsource import clone

AUTHOR = git.Actor("repairbot", "repairbot@users.noreply.github.com")


def branch_name(head_sha: str) -> str:
    return f"repairbot/fix-{head_sha[:7]}"


def push_fix(clone_url: str, head_sha: str, diff: str, message: str, env: dict[str, str]) -> str:
    """Push the fix of `head_sha` to its branch; returns the branch's name."""
    branch = branch_name(head_sha)
    with tempfile.TemporaryDirectory(prefix="repairbot-push-") as scratch:
        project = Path(scratch) / "repo"
        clone(clone_url, head_sha, project, env)
        repo = git.Repo(project)
        patch = Path(scratch) / "fix.diff"
        patch.write_text(diff if diff.endswith("\n") else diff + "\n")
        repo.git.apply("--index", str(patch))
        repo.index.commit(message, author=AUTHOR, committer=AUTHOR)
        with repo.git.custom_environment(**env):
            repo.git.push("--force", "--quiet", "origin", f"HEAD:refs/heads/{branch}")
    return branch
