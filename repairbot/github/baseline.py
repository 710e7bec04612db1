"""A bot job's last good revision: the head of the branch's newest successful CI run.

A test can fail in repairbot's sandbox for the environment's sake (no network, a missing
tool, a secret only CI has) while it passed in the project's CI. Taken as a target, no
patch could make the suite pass; the commit CI last found green is where the failure did
not exist yet, so a test that fails there too in the sandbox is set aside
(`baseline_rev`, repairbot.reproduce.failing_at_revision). Asked for by the worker that
runs the job, with its own copy of the bot's settings, after the clone: a commit the clone
does not hold (a force-pushed branch) is no baseline.
"""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

import httpx

from repairbot.github.auth import AuthError, Tokens
from repairbot.github.client import GitHub, GitHubError
from repairbot.github.settings import load_bot_settings
from repairbot.github.store import BotStore

logger = logging.getLogger(__name__)


def last_green_revision(repair_job_id: int, database_url: str, project: Path) -> str | None:
    """The commit to compare the job's failing tests with, or None (none known, the same
    commit as the job's, not in the clone, turned off, GitHub unreachable: the job then
    runs as before, every failing test a target)."""
    settings = load_bot_settings()
    if not settings.baseline_from_green_run:
        return None
    store = BotStore(database_url, migrate=False)
    try:
        job = store.bot_job_of(repair_job_id)
    finally:
        store.close()
    if job is None:
        return None
    try:
        with httpx.Client(base_url=settings.api_url, timeout=30) as http:
            sha = GitHub(Tokens(settings, http), job.installation_id, http).last_green_commit(job.repo, job.branch)
    except (GitHubError, AuthError, httpx.HTTPError) as exc:
        logger.warning("job %d: no last green run of %s %s: %s", repair_job_id, job.repo, job.branch, exc)
        return None
    if sha is None or sha == job.head_sha or not _holds(project, sha):
        return None
    return sha


def _holds(project: Path, sha: str) -> bool:
    """Whether the clone has commit `sha` (a hash, never an option: it comes from GitHub)."""
    if not sha.isalnum():
        return False
    done = subprocess.run(["git", "cat-file", "-e", f"{sha}^{{commit}}"], cwd=project, capture_output=True)
    return done.returncode == 0
