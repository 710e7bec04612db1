"""Attacks by signal (issue 12, hole 6): SIGTERM during validation used to leave the job
`running` forever and its workspace (the project's size times the workers) in the temp dir;
SIGINT was recorded as an internal error.

Each case starts `repairbot repair` as a real subprocess on a project whose tests sleep,
signals it while its test runs are in flight, then checks what is left: the exit code, the
job's status, the temp dir, the test processes and the runs' cgroups.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from repairbot.cancel import cancellable, stop_main_thread
from repairbot.db.store import JobStore
from repairbot.errors import Cancelled
from validators.sandbox import cgroup_layout
from tests.files import write_files

# The unpatched add() makes the baseline slow (5 s: a validation run's timeout is five times
# the baseline's, so 25 s or more) and failing; every candidate that changes its result
# sleeps far longer. A cancellation that waited for the runs in flight would take 25 s.
SLOW_VALIDATION = {
    "lib.py": "def add(a, b):\n    return a - b\n",
    "tests/test_lib.py": (
        "import time\nfrom lib import add\n\n\ndef test_add():\n"
        "    time.sleep(5 if add(1, 2) == -1 else 600)\n    assert add(1, 2) == 3\n"
    ),
}
SLOW_BASELINE = {**SLOW_VALIDATION, "tests/test_lib.py": "import time\n\n\ndef test_add():\n    time.sleep(600)\n"}
STAGES = {"validate": (SLOW_VALIDATION, "validating "), "reproduce": (SLOW_BASELINE, "running the test suite")}
EXITS_WITHIN_S = 20.0
STARTS_WITHIN_S = 300.0


def descendants(pid: int) -> dict[int, str]:
    """{pid: start time} of every process below `pid` (start times tell a reused pid)."""
    parents: dict[int, int] = {}
    started: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            parents[int(entry.name)], started[int(entry.name)] = int(fields[1]), fields[19]
    found: dict[int, str] = {}
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        for child, its_parent in parents.items():
            if its_parent == parent and child not in found:
                found[child] = started[child]
                frontier.append(child)
    return found


def alive(processes: dict[int, str]) -> list[int]:
    def same(pid: int, start: str) -> bool:
        try:
            return (Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[19]) == start
        except OSError:
            return False

    return [pid for pid, start in processes.items() if same(pid, start)]


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def wait_for_tests_in_flight(proc: subprocess.Popen[bytes], log: Path, line: str) -> dict[int, str]:
    """Once the stage's progress line is in the log and a pytest of the job runs: the
    processes of the job's test runs."""
    deadline = time.monotonic() + STARTS_WITHIN_S
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text(errors="replace")
        if line in log.read_text(errors="replace"):
            below = descendants(proc.pid)
            if any("pytest" in cmdline(pid) for pid in below):
                return below
        time.sleep(0.2)
    raise AssertionError(f"no {line!r} with a test run in flight: {log.read_text(errors='replace')}")


@pytest.mark.parametrize("sandbox", ["bwrap", "none"])
@pytest.mark.parametrize(
    ("signum", "stage"),
    [(signal.SIGTERM, "validate"), (signal.SIGINT, "validate"), (signal.SIGTERM, "reproduce")],
    ids=["SIGTERM-validate", "SIGINT-validate", "SIGTERM-reproduce"],
)
def test_a_signal_cancels_the_job_and_leaves_nothing(signum: int, stage: str, sandbox: str, tmp_path: Path) -> None:
    files, progress_line = STAGES[stage]
    project = write_files(tmp_path / "project", files)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    log = tmp_path / "stderr.log"
    env = {**os.environ, "TMPDIR": str(tmp), "REPAIRBOT_DATABASE_URL": url, "REPAIRBOT_SANDBOX": sandbox,
           "REPAIRBOT_GENERATORS": "templates", "REPAIRBOT_VALIDATION_WORKERS": "2",
           "REPAIRBOT_BASELINE_RERUNS": "0", "REPAIRBOT_TEST_TIMEOUT_S": "900"}
    with log.open("wb") as stderr:
        proc = subprocess.Popen([sys.executable, "-m", "repairbot", "repair", str(project)],
                                stdout=subprocess.PIPE, stderr=stderr, env=env)
    try:
        in_flight = wait_for_tests_in_flight(proc, log, progress_line)
        assert list(tmp.glob("repairbot-ws-*"))  # the workspace exists while the job runs
        proc.send_signal(signum)
        proc.wait(timeout=EXITS_WITHIN_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    output = log.read_text(errors="replace")

    assert proc.returncode == 128 + signum, output
    [job] = JobStore(url).list_jobs()
    assert f"cancelled: job {job.id}, workspace removed" in output and "Traceback" not in output
    assert (job.status, job.error) == ("cancelled", f"cancelled by {signal.Signals(signum).name}")
    assert list(tmp.iterdir()) == []  # no workspace, no worker copy, no output file
    deadline = time.monotonic() + EXITS_WITHIN_S  # the last ones may still be being reaped
    while alive(in_flight) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert alive(in_flight) == [], [cmdline(pid) for pid in alive(in_flight)]
    assert [cgroup for parent in cgroup_layout().parents() for cgroup in parent.glob(f"repairbot-{proc.pid}-*")] == []


def test_a_stop_from_another_thread_is_recorded_with_its_reason() -> None:
    """A worker's lease thread stops the job: the `Cancelled` that unwinds it says why at
    once (the job's first record of its end), not "cancelled by SIGTERM"."""
    main = threading.main_thread().ident
    assert main is not None and threading.get_ident() == main
    with pytest.raises(Cancelled, match="^cancelled by request$") as raised:
        with cancellable():
            threading.Thread(target=stop_main_thread, args=(main, "cancelled by request")).start()
            time.sleep(60)
    assert raised.value.signum == signal.SIGTERM
