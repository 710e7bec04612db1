"""What every test process gets from the host: an allow-listed environment.

Everything else of the host's environment (tokens, passwords, REPAIRBOT_* settings) stays
out, in every sandbox mode.
"""

from __future__ import annotations

import os

from repairbot.text import MAX_LINE_CHARS, capped

PASSED_ENV = ("PATH", "LANG", "LC_ALL", "TZ", "JAVA_HOME")


class CommandNotRunnable(Exception):
    """The executable does not exist or cannot be started."""


def scrubbed_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: os.environ[k] for k in PASSED_ENV if k in os.environ}
    env.update(PYTHONDONTWRITEBYTECODE="1", PYTHONHASHSEED="0", PYTHONUNBUFFERED="1")
    env.update(extra or {})
    return env


def is_alive(pid: int) -> bool:
    """Whether process `pid` runs; one of another user's counts as running. What the
    sandbox's cgroups and the queue's job folders are named by, to find a dead owner's."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def last_line(text: str) -> str:
    """The line of a tool's output that usually says what went wrong, capped: a test can
    print megabytes on one line, and this line ends up in a one-line error."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return capped(lines[-1], MAX_LINE_CHARS) if lines else "(no output)"
