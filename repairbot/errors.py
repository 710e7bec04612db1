"""Errors that end a job with a clear one-line message, and the exit codes they map to."""

from __future__ import annotations

import signal

EXIT_PATCH_FOUND = 0
EXIT_NO_PATCH = 1
EXIT_BAD_INPUT = 2


class RepairbotError(Exception):
    """Base of the errors the CLI turns into a one-line message."""

    exit_code = EXIT_BAD_INPUT


class BadInput(RepairbotError):
    """The user's input cannot be repaired as given: wrong path, nothing fails, tests hang..."""


class Cancelled(BaseException):
    """SIGINT or SIGTERM arrived (see `repairbot.cancel`): unwinding kills the test runs,
    removes the workspaces and records the job as cancelled. A BaseException, like
    KeyboardInterrupt, so that no `except Exception` on the way swallows it."""

    def __init__(self, signum: int, reason: str | None = None) -> None:
        super().__init__(reason or f"cancelled by {signal.Signals(signum).name}")
        self.signum = signum
        self.job_id: int | None = None  # set by the pipeline once the job is recorded as cancelled

    @property
    def exit_code(self) -> int:
        """128 + the signal's number, as a shell reports a process the signal ended."""
        return 128 + self.signum
