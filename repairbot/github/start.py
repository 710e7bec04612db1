"""A verified delivery becomes an answer, and for a failed CI run a repair job on the queue.

The order matters: the event is read first (a malformed payload is 400 and not recorded),
then the delivery id is recorded (a redelivery stops here), then the guards, then the job is
recorded and queued, and only then older jobs of the branch are superseded (their repair job
cancelled): the webhook answers in milliseconds, the reporter does the talking to GitHub."""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from repairbot.config import Settings
from repairbot.db.queue import RecordedInput
from repairbot.github import events, guards
from repairbot.github.client import GitHub
from repairbot.github.settings import BotSettings
from repairbot.github.store import SUPERSEDED, BotStore
from repairbot.github.webhook import Delivery
from repairbot.queue.submit import dispatch_all

logger = logging.getLogger(__name__)

# A hint the pipeline can use as a given location: FILE, FILE:LINE, FILE:START-END, FILE::FUNCTION.
LOCATION_HINT = re.compile(r"^(?!/)(?!.*\.\.)[\w./-]+(?::\d+(?:-\d+)?|::\w+)?$")
MAY_RETRY = {"admin", "maintain", "write"}


@dataclass(frozen=True)
class Answer:
    """The webhook's HTTP answer."""

    status: int
    body: dict[str, Any] = field(default_factory=dict)


class Starter:
    """Turns deliveries into jobs for one service process."""

    def __init__(self, bot: BotSettings, operator: Settings, store: BotStore,
                 github: Callable[[int | None], GitHub]) -> None:
        self.bot, self.operator, self.store = bot, operator, store
        self.github = github  # installation id -> its API client
        # SQLite takes one writer at a time and makes the others wait, at most a few seconds:
        # a burst of deliveries handled by many threads at once timed out ("database is
        # locked"). Taking turns in this process leaves the wait to the worker's short writes.
        self._turn: contextlib.AbstractContextManager[Any] = \
            threading.Lock() if store.single_writer else contextlib.nullcontext()

    def handle(self, delivery: Delivery) -> Answer:
        if delivery.event == "ping":
            return Answer(200, {"status": "pong"})
        wanted = events.read(delivery.event, delivery.payload, self.bot.app_id)  # Refused(400) first
        with self._turn:
            return self._handle(delivery, wanted)

    def _handle(self, delivery: Delivery, wanted: events.Wanted) -> Answer:
        ignored = Answer(202, {"status": "ignored", "reason": wanted.reason}) if isinstance(wanted, events.Ignored) \
            else None
        if not self.store.record_delivery(delivery.delivery_id, delivery.event, str(ignored.body) if ignored else ""):
            return Answer(202, {"status": "ignored", "reason": f"delivery {delivery.delivery_id} was seen before"})
        if ignored is not None:
            return ignored
        try:
            if isinstance(wanted, events.RetryRequest):
                answer = self._retry(delivery.delivery_id, wanted)
            else:
                answer = self.start(delivery.delivery_id, wanted)
        except Exception:  # nothing started: a redelivery must not be taken for a duplicate
            self.store.forget_delivery(delivery.delivery_id)
            raise
        self.store.set_delivery_outcome(delivery.delivery_id, str(answer.body))
        return answer

    def start(self, delivery_id: str, request: events.RepairRequest, retry_of: int | None = None,
              hint: str | None = None, pr: tuple[int, str] | None = None) -> Answer:
        older = self.store.pending_on_branch(request.repo, request.branch)
        refused = guards.refusal(request, self.bot, self.store, superseding=len(older))
        if refused is not None:
            return Answer(202, {"status": "ignored", "reason": refused})
        overrides = _hint_overrides(hint)
        recorded = RecordedInput("github", overrides, url=request.clone_url, commit=request.head_sha)
        bot_job_id, repair_job_id = self.store.add_job(
            recorded, self.operator.test_command or [], delivery_id, request, retry_of, hint, pr
        )
        supersede_older(self.store, request.repo, request.branch, bot_job_id)
        # The reporter, polling, may have superseded them first, on this job's behalf.
        superseded = [job.id for job in older if (now := self.store.bot_job(job.id)) and now.state == SUPERSEDED]
        dispatch_all([repair_job_id], self.operator, self.store)
        logger.info("bot job %d (repair job %d): %s %s at %s", bot_job_id, repair_job_id, request.repo,
                    request.branch, request.head_sha[:7])
        return Answer(202, {"status": "accepted", "job": bot_job_id, "repair_job": repair_job_id,
                            "superseded": superseded})

    def _retry(self, delivery_id: str, retry: events.RetryRequest) -> Answer:
        words = retry.hint.split()
        mention = f"@{self.bot.bot_name}".lower()
        at = next((i for i, word in enumerate(words[:-1]) if word.lower() == mention and words[i + 1] == "retry"), None)
        if at is None:
            return Answer(202, {"status": "ignored", "reason": f"the comment asks {mention} for nothing"})
        original = self.store.job_of_pull(retry.repo, retry.pull_number)
        if original is None:
            return Answer(202, {"status": "ignored", "reason": "not a pull request of repairbot"})
        permission, role = self.github(retry.installation_id).permission(retry.repo, retry.user)
        if permission not in MAY_RETRY and role not in MAY_RETRY:
            return Answer(202, {"status": "ignored",
                                "reason": f"{retry.user} may not ask for a retry (needs write, maintain or admin)"})
        hint = " ".join(words[at + 2:])[:500] or None
        request = events.RepairRequest(
            repo=original.repo, clone_url=original.clone_url, branch=original.branch, head_sha=original.head_sha,
            installation_id=retry.installation_id, fork=original.fork, pull_numbers=original.pull_numbers,
        )
        assert original.pr_number is not None and original.pr_url is not None
        return self.start(delivery_id, request, original.id, hint, (original.pr_number, original.pr_url))



def supersede_older(store: BotStore, repo: str, branch: str, newest: int) -> list[int]:
    """Supersede the pending jobs of the branch older than job `newest` and cancel their
    repair jobs; returns their ids. Read after the newest job is recorded, so of two
    deliveries handled at once the later one sees the earlier; the reporter runs it again
    for each branch (a transaction that committed late is caught there)."""
    superseded = []
    for job in store.pending_on_branch(repo, branch):
        if job.id < newest and store.mark_superseded(job.id, newest):
            store.request_cancel(job.repair_job_id)
            superseded.append(job.id)
    return superseded


def _hint_overrides(hint: str | None) -> dict[str, Any]:
    """A hint that names a place in the code is the job's given location; any other words
    go into the code model's prompts."""
    if not hint:
        return {}
    return {"locations": [hint]} if LOCATION_HINT.match(hint) else {"model_hint": hint}
