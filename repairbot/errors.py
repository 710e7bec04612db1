"""Errors that end a job with a clear one-line message, and the exit codes they map to."""

from __future__ import annotations

EXIT_PATCH_FOUND = 0
EXIT_NO_PATCH = 1
EXIT_BAD_INPUT = 2


class RepairbotError(Exception):
    """Base of the errors the CLI turns into a one-line message."""

    exit_code = EXIT_BAD_INPUT


class BadInput(RepairbotError):
    """The user's input cannot be repaired as given: wrong path, nothing fails, tests hang..."""
