"""Jobs whose worker died or whose message was lost: found in the database, sent again or
given up with a reason.

A worker killed mid-job (SIGKILL, out of memory, its machine gone) stops renewing its lease.
The broker may redeliver its message (RabbitMQ at once, Redis after its visibility timeout),
but a message can also be lost with the worker's process (a pool process killed by the hard
time limit is acknowledged by its parent), so every worker looks for expired leases itself.
A queued job's message can be lost before any worker took it too: a broker that keeps
nothing on disk restarted (Redis as this machine runs it), or the submitter stopped between
recording and sending; an idle worker that sees such a job waiting sends it again
(`resend_waiting`).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

from repairbot.db.models import JobStatus
from repairbot.db.queue import QueueStore

logger = logging.getLogger(__name__)


def sweep(store: QueueStore, max_attempts: int, resend: Callable[[int], None] | None) -> list[str]:
    """Act on each stale job: a cancelled one ends as cancelled, one that has used up its
    attempts fails with the reason, any other is handed to `resend` (a new message; the
    embedded worker passes None, as it claims stale jobs straight from the database).
    Returns one line per job acted on."""
    done = []
    for job_id, attempts, worker in store.stale_jobs():
        state = store.state(job_id)
        if state.cancel_requested:
            if store.fail_stale(job_id, "cancelled by request; its worker had stopped", JobStatus.CANCELLED):
                done.append(f"job {job_id}: cancelled (its worker {worker} had stopped)")
        elif attempts >= max_attempts:
            reason = (f"its worker stopped before the job ended {attempts} time(s), last {worker} "
                      "(killed, out of memory, past the hard time limit, or its machine lost)")
            if store.fail_stale(job_id, reason, JobStatus.FAILED):
                done.append(f"job {job_id}: failed: {reason}")
        elif resend is not None:
            resend(job_id)
            done.append(f"job {job_id}: requeued (its worker {worker} stopped renewing its lease)")
    for line in done:
        logger.warning("%s", line)
    return done


def resend_waiting(
    store: QueueStore, resend: Callable[[int], None], waited_s: float, last_sent: dict[int, float]
) -> list[str]:
    """Send again each job that has waited as queued longer than `waited_s` while the caller,
    a worker with nothing to do, got no message: its message was lost. A job is sent at most
    once per `waited_s` by one worker (`last_sent`: job id -> monotonic time, the caller's
    memory); a message too many runs nothing twice (`QueueStore.claim`)."""
    now = time.monotonic()
    done = []
    for job_id in store.waiting_jobs(waited_s):
        if now - last_sent.get(job_id, -math.inf) >= waited_s:
            last_sent[job_id] = now
            resend(job_id)
            done.append(f"job {job_id}: sent again (queued for over {waited_s:g} s while a worker was idle)")
    for line in done:
        logger.warning("%s", line)
    return done
