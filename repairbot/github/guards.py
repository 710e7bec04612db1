"""What the bot refuses to start, each with the reason the webhook's answer gives.

- its own branches (`repairbot/...`): a failure there is a failure of its own fix, and
  repairing it would loop;
- repositories outside the allow list or on the deny list (the operator's settings);
- pull requests from forks, unless the operator allows them: their code is untrusted like
  every repository's (the sandbox gives it no network, no secrets, no token), but the fix
  would come from a stranger's commit, so the bot never pushes it; it reports a check run
  and a comment with the patch instead;
- more than `max_concurrent_per_repo` pending jobs or `max_jobs_per_day` started jobs for
  one repository (a newer failure on the same branch supersedes the older job, so it does
  not count against the concurrent limit)."""

from __future__ import annotations

from fnmatch import fnmatchcase

from repairbot.github.events import OWN_BRANCH_PREFIX, RepairRequest
from repairbot.github.settings import BotSettings
from repairbot.github.store import BotStore


def refusal(request: RepairRequest, settings: BotSettings, store: BotStore, superseding: int = 0) -> str | None:
    """Why `request` starts no job, or None. `superseding`: pending jobs on the same branch
    that this one would supersede (they leave room under the concurrent limit)."""
    if request.branch.startswith(OWN_BRANCH_PREFIX):
        return f"branch {request.branch!r} is repairbot's own: never repaired"
    if any(fnmatchcase(request.repo, pattern) for pattern in settings.deny_repos):
        return f"repository {request.repo} is on the deny list"
    if settings.allow_repos and not any(fnmatchcase(request.repo, pattern) for pattern in settings.allow_repos):
        return f"repository {request.repo} is not on the allow list"
    if request.fork and not settings.allow_forks:
        return "the commit comes from a fork's pull request: not repaired (REPAIRBOT_GITHUB_ALLOW_FORKS)"
    if store.pending_count(request.repo) - superseding >= settings.max_concurrent_per_repo:
        return f"repository {request.repo} has {settings.max_concurrent_per_repo} jobs running (the limit)"
    if store.started_since(request.repo, 24) >= settings.max_jobs_per_day:
        return f"repository {request.repo} had {settings.max_jobs_per_day} jobs in 24 hours (the limit)"
    return None
