"""Run one command with a hard wall-clock limit and bounded output.

The command gets its own session so that a timeout kills its whole process group, not just
the direct child; output goes to a file (not a pipe) so a chatty test can neither deadlock
us nor fill our memory, and only its tail is kept. Full containment (namespaces, cgroups)
is the sandbox's job; this is the minimal safe way to run a subprocess.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

OUTPUT_TAIL_BYTES = 64 * 1024

# Variables a test process may see; everything else of the host (tokens, passwords,
# REPAIRBOT_* settings) stays out.
PASSED_ENV = ("PATH", "LANG", "LC_ALL", "TZ", "JAVA_HOME")


@dataclass
class ProcessResult:
    exit_code: int | None
    output: str
    duration_s: float
    timed_out: bool


class CommandNotRunnable(Exception):
    """The executable does not exist or cannot be started."""


def scrubbed_env(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: os.environ[k] for k in PASSED_ENV if k in os.environ}
    env.update(
        HOME=str(home),
        TMPDIR=str(home),
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONHASHSEED="0",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra or {})
    return env


def run_command(
    argv: list[str], cwd: Path, timeout_s: float, env: dict[str, str] | None = None
) -> ProcessResult:
    with tempfile.TemporaryFile() as out:
        start = time.monotonic()
        try:
            proc = subprocess.Popen(
                argv,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except (FileNotFoundError, PermissionError, NotADirectoryError) as exc:
            raise CommandNotRunnable(f"cannot run {argv[0]!r}: {exc.strerror or exc}") from exc
        timed_out = False
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
        # Kill the group even after a normal exit: a test may have left children behind.
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
        duration = time.monotonic() - start
        size = out.seek(0, os.SEEK_END)
        out.seek(max(0, size - OUTPUT_TAIL_BYTES))
        output = out.read().decode("utf-8", errors="replace")
    return ProcessResult(
        exit_code=None if timed_out else proc.returncode,
        output=output,
        duration_s=duration,
        timed_out=timed_out,
    )
