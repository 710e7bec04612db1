"""Follows the bot's jobs from the `repairbot serve` process and tells GitHub about them.

Every `poll_s`: a pending job gets its check run (in progress) as soon as the reporter
sees it; a job whose repair job ended is reported (`report`); a superseded one has its check
run closed as cancelled. State lives in the database, so a restarted service picks up where
the last one stopped. A GitHub or git error is retried on the next rounds, then recorded."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from datetime import datetime, timezone
from typing import Any, Callable

from repairbot.db.models import utcnow
from repairbot.github import markdown, suggest
from repairbot.github.auth import Tokens
from repairbot.github.client import GitHub, GitHubError
from repairbot.github.gitauth import git_env
from repairbot.github.push import push_fix
from repairbot.github.settings import BotSettings
from repairbot.github.start import supersede_older
from repairbot.github.store import PENDING, REPORTED, SUPERSEDED, BotJob, BotStore

logger = logging.getLogger(__name__)

CHECK_NAME = "repairbot"
MAX_TRIES = 3


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Reporter:
    def __init__(self, bot: BotSettings, store: BotStore, tokens: Tokens, github: Callable[[int | None], GitHub]) -> None:
        self.bot, self.store, self.tokens, self.github = bot, store, tokens, github
        self._failures: Counter[int] = Counter()

    def details_url(self, job: BotJob) -> str | None:
        return f"{self.bot.public_url.rstrip('/')}/ui/jobs/{job.id}" if self.bot.public_url else None

    def round(self) -> None:
        pending = self.store.pending_jobs()
        newest: dict[tuple[str, str], int] = {}
        for job in pending:
            if job.state == PENDING:
                newest[(job.repo, job.branch)] = max(job.id, newest.get((job.repo, job.branch), 0))
        for (repo, branch), job_id in newest.items():
            if supersede_older(self.store, repo, branch, job_id):
                pending = self.store.pending_jobs()
        for job in pending:
            try:
                self._step(job)
            except Exception as exc:  # GitHub or git failed: try again, then give up on this job
                self._failures[job.id] += 1
                logger.warning("bot job %d: report failed (%d/%d): %s", job.id, self._failures[job.id], MAX_TRIES, exc)
                if self._failures[job.id] >= MAX_TRIES:
                    self.store.update_job(job.id, state=REPORTED, conclusion="error", reason=f"report failed: {exc}",
                                          reported_at=utcnow())

    def _step(self, job: BotJob) -> None:
        github = self.github(job.installation_id)
        if job.state == SUPERSEDED:
            assert job.check_run_id is not None
            github.complete_check_run(job.repo, job.check_run_id, "cancelled",
                                      {"title": "Superseded", "summary": job.reason or "a newer failure"}, _now())
            self.store.update_job(job.id, reported_at=utcnow())
            return
        if job.check_run_id is None:
            check_run_id = github.create_check_run(
                job.repo, job.head_sha, CHECK_NAME, self.details_url(job),
                {"title": "Repairing", "summary": f"repairbot is looking for a fix (job {job.id})."},
            )
            self.store.update_job(job.id, check_run_id=check_run_id)
            job = self.store.bot_job(job.id) or job
        if not self.store.state(job.repair_job_id).finished:
            return
        # A newer delivery may have superseded the job after it was read: report it then.
        current = self.store.bot_job(job.id)
        if current is None or current.state != PENDING:
            return
        self._report(github, job)

    def _report(self, github: GitHub, job: BotJob) -> None:
        detail = self.store.get_job(job.repair_job_id)
        assert detail is not None and job.check_run_id is not None
        values: dict[str, Any] = {"state": REPORTED, "reported_at": utcnow()}
        if detail.patches:
            body = markdown.fix_body(job, detail, self.details_url(job))
            values.update(conclusion="success", reason="plausible patch")
            values.update(self._deliver(github, job, detail.patches[0].diff, body))
            github.complete_check_run(job.repo, job.check_run_id, "success",
                                      {"title": "A fix was found", "summary": _pr_line(values), "text": body}, _now())
        else:
            reason = markdown.no_fix_text(detail)
            values.update(conclusion="neutral", reason=reason)
            github.complete_check_run(job.repo, job.check_run_id, "neutral",
                                      {"title": "No fix found", "summary": reason}, _now())
            if job.pr_number is not None:
                github.comment(job.repo, job.pr_number, f"The retry found no fix: {reason}")
        self.store.update_job(job.id, **values)
        logger.info("bot job %d: reported %s", job.id, values.get("conclusion"))

    def _deliver(self, github: GitHub, job: BotJob, diff: str, body: str) -> dict[str, Any]:
        """Push the branch and open (or, for a retry, update) the pull request. A failing pull
        request gets a review with suggested changes instead when the operator asks for it,
        and always for a fork's (nothing is pushed for a fork) or a repository that asked for
        no pull requests; with no pull request named, the check run alone holds the patch."""
        wants_pr = self.store.wants_pull_request(job.repair_job_id)
        review = self.bot.review_pull_requests and bool(job.pull_numbers)
        if job.pr_number is None and (job.fork or not wants_pr or review):
            for number in job.pull_numbers:
                self._review(github, job, number, diff, body)
            return {}
        env = git_env(self.tokens.for_installation(job.installation_id))
        title = f"Fix failing tests on {job.branch} ({job.head_sha[:7]})"
        branch = push_fix(job.clone_url, job.head_sha, diff, title, env)
        if job.pr_number is not None:  # a retry: same branch, forced; the pull request follows
            github.update_pull_body(job.repo, job.pr_number, body)
            hint = f" with the hint {markdown.code(job.hint)}" if job.hint else ""
            github.comment(job.repo, job.pr_number, f"Retried{hint}: the branch now holds the new fix.\n\n{body}")
            return {}
        number, url = github.open_pull(job.repo, title, branch, job.branch, body)
        return {"pr_number": number, "pr_url": url}

    def _review(self, github: GitHub, job: BotJob, number: int, diff: str, body: str) -> None:
        """Suggested changes on pull request `number`; a plain comment with the patch when the
        patch has no such form or touches lines outside the pull request's diff (GitHub: 422)."""
        found = suggest.suggestions(diff)
        if found is not None:
            try:
                github.review(job.repo, number, job.head_sha, body, [s.comment() for s in found])
                return
            except GitHubError as exc:
                if exc.status != 422:
                    raise
        github.comment(job.repo, number, body)

def _pr_line(values: dict[str, Any]) -> str:
    return f"Pull request: {values['pr_url']}" if values.get("pr_url") else "The patch is below."


def start_thread(reporter: Reporter, poll_s: float, stop: threading.Event) -> threading.Thread:
    def loop() -> None:
        while not stop.wait(poll_s):
            try:
                reporter.round()
            except Exception:  # the database briefly gone: next round
                logger.exception("reporter round failed")

    thread = threading.Thread(target=loop, name="github-reporter", daemon=True)
    thread.start()
    return thread
