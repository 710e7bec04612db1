"""Stopping a job on SIGINT or SIGTERM without leaving anything behind.

Python's default SIGTERM ends the process on the spot: no `finally` runs, so the job stays
`running` in the history and its workspace (the project's size times the validation
workers) stays in the temp dir. Inside `cancellable()` both signals raise `Cancelled` in the
main thread instead, and unwinding does the cleanup the code already does for errors: a
sandbox run kills its processes and removes its cgroup in its `finally`, workspaces are
context managers, the pipeline records the job as cancelled.

Validation runs in worker threads, which no signal interrupts, and the validation pool waits
for them as it shuts down. So from the first signal until the block is left, the children of
this process are killed every few milliseconds: a run in flight ends at once (its thread's
own `finally` then removes its cgroup) and a worker cannot start a run that outlives the job.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from types import FrameType

from repairbot.errors import Cancelled

SIGNALS = (signal.SIGINT, signal.SIGTERM)
KILL_INTERVAL_S = 0.05
_reasons: list[str] = []  # why `stop_main_thread` sent its signal, for the `Cancelled` it raises


def stop_main_thread(main_thread_id: int, reason: str) -> None:
    """From another thread: end the main thread's `cancellable` block with `reason` as the
    `Cancelled` message, so that the job is recorded with why it stopped at once (not as
    "cancelled by SIGTERM", corrected later)."""
    _reasons.append(reason)
    signal.pthread_kill(main_thread_id, signal.SIGTERM)


@contextlib.contextmanager
def cancellable() -> Iterator[None]:
    """SIGINT and SIGTERM raise `Cancelled` while the block runs (main thread only, where
    Python runs signal handlers). A second signal does not interrupt the cleanup the first
    one started."""
    stop = threading.Event()
    killer = threading.Thread(target=_kill_children_until, args=(stop,), name="cancel", daemon=True)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if killer.ident is not None:
            return
        killer.start()
        raise Cancelled(signum, _reasons.pop() if signum == signal.SIGTERM and _reasons else None)

    previous = {signum: signal.signal(signum, on_signal) for signum in SIGNALS}
    try:
        yield
    finally:
        stop.set()
        if killer.ident is not None:
            killer.join()
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _kill_children_until(stop: threading.Event) -> None:
    while True:
        for pid, group in _children():
            _kill(pid, group)
        if stop.wait(KILL_INTERVAL_S):
            return


def _children() -> list[tuple[int, int]]:
    """(pid, process group) of each child of this process, from /proc."""
    me = os.getpid()
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="utf-8", errors="replace") as stat:
                # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
                fields = stat.read().rpartition(")")[2].split()
        except OSError:  # exited meanwhile
            continue
        if len(fields) > 2 and int(fields[1]) == me:
            found.append((int(entry.name), int(fields[2])))
    return found


def _kill(pid: int, group: int) -> None:
    """The whole group of a child that leads one (a sandbox run starts a session of its own),
    else the child alone: never this process's own group."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if group == pid:
            os.killpg(pid, signal.SIGKILL)
        else:
            os.kill(pid, signal.SIGKILL)
