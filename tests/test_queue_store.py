"""The queue's database side: snapshots of a project, leases, cancel requests, stale jobs;
on SQLite and the real PostgreSQL server."""

from __future__ import annotations

import io
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

from repairbot.db.models import JobStatus
from repairbot.db.queue import QueueStore, RecordedInput
from repairbot.domain import Candidate, SuspiciousLocation, ValidationResult, Verdict
from repairbot.errors import BadInput
from repairbot.queue import snapshot
from repairbot.queue.sweep import sweep
from tests.files import write_files


PROJECT = {
    ".gitignore": "build/\n*.log\n",
    "lib.py": "def one():\n    return 1\n",
    "tests/test_lib.py": "def test_one():\n    pass\n",
    "build/out.bin": "x" * 100,
    "debug.log": "noise",
    "sub/.gitignore": "local.txt\n",
    "sub/local.txt": "ignored by the nested .gitignore",
    "sub/kept.txt": "kept",
}
KEPT = [".gitignore", "lib.py", "sub/.gitignore", "sub/kept.txt", "tests/test_lib.py"]


def names_in(archive: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        return sorted(member.name for member in tar.getmembers())


def test_snapshot_of_a_plain_folder_honours_gitignore(tmp_path: Path) -> None:
    project = write_files(tmp_path / "p", PROJECT)
    (project / "link.py").symlink_to("/etc/passwd")
    archive = snapshot.pack(project, max_bytes=1_000_000)
    assert names_in(archive) == sorted([*KEPT, "link.py"])
    target = tmp_path / "out"
    target.mkdir()
    with pytest.raises(BadInput, match="outside its folder"):  # the link leaves the folder: refused on unpack
        snapshot.unpack(archive, target)


def test_snapshot_of_a_git_work_tree_keeps_tracked_and_untracked_files(tmp_path: Path) -> None:
    project = write_files(tmp_path / "p", PROJECT)
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    subprocess.run(["git", "add", "lib.py"], cwd=project, check=True)
    (project / "new.py").write_text("x = 1\n")
    archive = snapshot.pack(project, max_bytes=1_000_000)
    assert names_in(archive) == sorted([*KEPT, "new.py"])
    target = tmp_path / "out"
    target.mkdir()
    snapshot.unpack(archive, target)
    assert (target / "lib.py").read_text() == PROJECT["lib.py"]
    assert not (target / "build").exists() and not (target / ".git").exists()


def test_snapshot_over_the_limit_is_a_clear_error(tmp_path: Path) -> None:
    project = write_files(tmp_path / "p", {"lib.py": "x = 1\n", "data.csv": "1,2\n" * 300_000})
    with pytest.raises(BadInput, match=r"more than the snapshot limit of 1 MiB .*data\.csv \(1\.1 MiB\)"):
        snapshot.pack(project, max_bytes=1024 * 1024)


def test_unpack_refuses_a_member_climbing_out(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        data = b"owned"
        info = tarfile.TarInfo("../escape.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    target = tmp_path / "out"
    target.mkdir()
    with pytest.raises(BadInput):
        snapshot.unpack(buffer.getvalue(), target)
    assert not (tmp_path / "escape.txt").exists()


@pytest.fixture
def store(database_url: str) -> QueueStore:
    return QueueStore(database_url)


def queued(store: QueueStore, tmp_path: Path) -> int:
    return store.enqueue_job(str(tmp_path), ["pytest"], RecordedInput("snapshot", {"time_budget_s": 60.0}, b"tar"))


def test_a_job_is_claimed_by_one_worker_at_a_time(store: QueueStore, tmp_path: Path) -> None:
    job_id = queued(store, tmp_path)
    assert store.recorded_input(job_id) == RecordedInput("snapshot", {"time_budget_s": 60.0}, b"tar")
    assert store.state(job_id).budget_s == 60.0
    assert store.queued_jobs() == [job_id]
    assert store.claim(job_id, "a/1", lease_s=60) == 1
    assert store.claim(job_id, "b/2", lease_s=60) is None  # a duplicate message runs nothing
    assert store.queued_jobs() == []
    assert store.renew(job_id, "a/1", lease_s=60) is False
    assert store.renew(job_id, "b/2", lease_s=60) is None  # not b's lease
    state = store.state(job_id)
    assert (state.status, state.worker, state.attempts) == (JobStatus.RUNNING, "a/1", 1)
    assert str(state) == "running on a/1 (attempt 1): starting"


def test_an_expired_lease_lets_another_worker_take_the_job_without_duplicate_rows(
    store: QueueStore, tmp_path: Path
) -> None:
    job_id = queued(store, tmp_path)
    assert store.claim(job_id, "a/1", lease_s=0.01) == 1
    store.begin_attempt(job_id, {"time_budget_s": 60.0})
    location = SuspiciousLocation("lib.py", 1, 1, 1.0, "ochiai")
    candidate = Candidate("lib.py", "x = 1\n", "x = 2\n", "templates", "x", location)
    store.record_validation(job_id, ValidationResult(candidate, Verdict.FAILS))
    time.sleep(0.05)
    assert store.stale_jobs() == [(job_id, 1, "a/1")]
    assert store.queued_jobs() == [job_id]
    assert store.claim(job_id, "b/2", lease_s=60) == 2
    assert store.renew(job_id, "a/1", lease_s=60) is None  # a, if alive after all, learns it lost the job
    store.begin_attempt(job_id, {"time_budget_s": 60.0})
    detail = store.get_job(job_id)
    assert detail is not None and detail.summary.candidates_tried == 0 and detail.summary.attempts == 2


def test_cancel_drops_a_queued_job_and_flags_a_running_one(store: QueueStore, tmp_path: Path) -> None:
    waiting, running = queued(store, tmp_path), queued(store, tmp_path)
    assert store.request_cancel(waiting).status is JobStatus.CANCELLED
    assert store.claim(waiting, "a/1", lease_s=60) is None
    assert store.claim(running, "a/1", lease_s=60) == 1
    state = store.request_cancel(running)
    assert (state.status, state.cancel_requested) == (JobStatus.RUNNING, True)
    assert store.renew(running, "a/1", lease_s=60) is True
    not_queued = store.start_job(str(tmp_path), [], {})
    with pytest.raises(ValueError, match="not queued"):
        store.request_cancel(not_queued)


def test_sweep_requeues_gives_up_and_cancels_jobs_whose_worker_died(store: QueueStore, tmp_path: Path) -> None:
    again, spent, cancelled = (queued(store, tmp_path) for _ in range(3))
    for job_id in (again, spent, cancelled):
        store.claim(job_id, "dead/1", lease_s=0.01)
    for _ in range(2):  # two more attempts of `spent`, each dying
        time.sleep(0.05)
        store.claim(spent, "dead/1", lease_s=0.01)
    store.request_cancel(cancelled)
    time.sleep(0.05)
    resent: list[int] = []
    lines = sweep(store, max_attempts=3, resend=resent.append)
    assert resent == [again]
    assert store.state(spent).status is JobStatus.FAILED
    assert "stopped before the job ended 3 time(s), last dead/1" in (store.state(spent).error or "")
    assert store.state(cancelled).status is JobStatus.CANCELLED
    assert len(lines) == 3
