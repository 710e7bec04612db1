"""Repair jobs on the task queue, end to end: `repairbot worker` processes on the real Redis
and RabbitMQ of this machine, a fresh database on the real PostgreSQL server, `repairbot
submit` and `repairbot cancel` as a user runs them; and the embedded default (no broker)."""

from __future__ import annotations

import contextlib
import glob
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import func, select

from benchmarks.evaluate import read_results
from benchmarks.examples import EXAMPLES_DIR, write_slow_project
from repairbot.config import load_settings
from repairbot.db.models import CandidateRow, JobStatus, ValidationRun
from repairbot.db.queue import JobState, QueueStore
from repairbot.models import install
from repairbot.queue.tasks import make_app, send
from tests.budgets import NEVER_S, UNHURRIED_ENV, long_job
from tests.conftest import fresh_postgres_database

pytestmark = [pytest.mark.postgres, long_job]

RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672//"
LEASE_S = 4


@pytest.fixture
def rabbitmq_url() -> str:
    make_app(RABBITMQ_URL).control.purge()  # messages an interrupted run left behind
    return RABBITMQ_URL


@pytest.fixture(params=["redis", "embedded"])
def redis_or_embedded(request: pytest.FixtureRequest) -> str | None:
    """The broker URL of a Redis database of the test's own, or None: the embedded default."""
    return request.getfixturevalue("redis_url") if request.param == "redis" else None


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with fresh_postgres_database() as url:
        yield url


def service_env(tmp_path: Path, database_url: str, broker_url: str | None) -> dict[str, str]:
    """The environment of a worker and of `submit`: templates only (no model in this data
    dir), budgets no loaded machine reaches, short leases so a dead worker is noticed soon."""
    env = {
        **os.environ, **UNHURRIED_ENV,
        "REPAIRBOT_DATABASE_URL": database_url,
        "REPAIRBOT_DATA_DIR": str(tmp_path / "data"),
        "REPAIRBOT_GENERATORS": "templates",
        "REPAIRBOT_JOB_LEASE_S": str(LEASE_S),
    }
    env.pop("REPAIRBOT_BROKER_URL", None)
    if broker_url:
        env["REPAIRBOT_BROKER_URL"] = broker_url
    return env


@contextlib.contextmanager
def worker(env: dict[str, str], log: Path, *args: str) -> Iterator[subprocess.Popen[bytes]]:
    """`repairbot worker` in a session of its own, killed with its pool at the end."""
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "repairbot", "worker", *args], env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "repairbot", *args], env=env, capture_output=True, text=True, timeout=NEVER_S + 300
    )


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = 600) -> None:
    """A hang guard, not a speed test: far above what any machine needs."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def changed_lines(diff: str) -> list[str]:
    return [line for line in diff.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")]


def expected_lines(example: str) -> list[str]:
    return changed_lines((EXAMPLES_DIR / example / "expected.patch").read_text())


def submitted_and_fixed(env: dict[str, str], example: str) -> int:
    """`submit --wait` prints the job id, then the patch: the example's reference fix."""
    result = cli(env, "submit", str(EXAMPLES_DIR / example), "--wait")
    assert result.returncode == 0, result.stderr
    job_id, _, diff = result.stdout.partition("\n")
    assert changed_lines(diff) == expected_lines(example)
    return int(job_id)


def rows(store: QueueStore, job_id: int) -> tuple[int, int, int]:
    """(candidate rows, distinct diffs among them, cached verdicts) of a job."""
    with store._sessions() as session:
        candidates = session.scalar(select(func.count()).where(CandidateRow.job_id == job_id)) or 0
        distinct = session.scalar(select(func.count(func.distinct(CandidateRow.diff))).where(
            CandidateRow.job_id == job_id)) or 0
        cached = session.scalar(
            select(func.count()).select_from(ValidationRun).join(ValidationRun.candidate)
            .where(CandidateRow.job_id == job_id, ValidationRun.cached.is_(True))
        ) or 0
    return candidates, distinct, cached


def test_a_python_example_is_repaired_by_a_worker_on_redis(tmp_path: Path, postgres_url: str, redis_url: str) -> None:
    env = service_env(tmp_path, postgres_url, redis_url)
    with worker(env, tmp_path / "worker.log"):
        job_id = submitted_and_fixed(env, "shopping_cart")
    detail = QueueStore(postgres_url).get_job(job_id)
    assert detail is not None
    assert detail.summary.status == "succeeded" and detail.summary.attempts == 1
    assert detail.summary.worker is not None and detail.summary.worker.startswith("repairbot")
    assert changed_lines(detail.patches[0].diff) == expected_lines("shopping_cart")
    shown = cli(env, "show", str(job_id))
    assert f"worker: {detail.summary.worker} (attempt 1)" in shown.stdout


@pytest.mark.slow
def test_a_java_example_is_repaired_by_a_worker_on_rabbitmq_with_the_model(
    tmp_path: Path, postgres_url: str, rabbitmq_url: str
) -> None:
    """The worker loads the default model (infill alone: the fix templates repair this one too)."""
    data_dir = load_settings().data_dir
    if not install.is_assembled(install.default_model_path(data_dir)):
        pytest.skip("the default model is not installed (repairbot model install)")
    env = {**service_env(tmp_path, postgres_url, rabbitmq_url), "REPAIRBOT_DATA_DIR": str(data_dir),
           "REPAIRBOT_GENERATORS": "infill"}
    with worker(env, tmp_path / "worker.log"):
        result = cli(env, "submit", str(EXAMPLES_DIR / "stock_levels"), "--wait")
    assert result.returncode == 0, result.stderr
    assert "+        return quantity <= reorderLevel;" in result.stdout
    job_id = int(result.stdout.partition("\n")[0])
    assert QueueStore(postgres_url).state(job_id).status is JobStatus.SUCCEEDED




def parent_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as stat:
        return int(stat.read().rpartition(")")[2].split()[1])


def test_a_killed_workers_job_is_finished_by_another_without_duplicate_rows(
    tmp_path: Path, postgres_url: str, rabbitmq_url: str
) -> None:
    env = service_env(tmp_path, postgres_url, rabbitmq_url)
    store = QueueStore(postgres_url)
    project = write_slow_project(tmp_path / "project")
    with worker(env, tmp_path / "a.log") as a, worker(env, tmp_path / "b.log") as b:
        submitted = cli(env, "submit", str(project))
        assert submitted.returncode == 0, submitted.stderr
        job_id = int(submitted.stdout)
        wait_until(lambda: (store.get_job(job_id) or pytest.fail("no job")).summary.candidates_tried >= 1,
                   "the first validated candidate")
        holder = store.state(job_id).worker
        assert holder is not None
        pool_process = int(holder.rpartition("/")[2])
        victim = a if parent_of(pool_process) == a.pid else b
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait()
        wait_until(lambda: store.state(job_id).finished, "the job's end on the other worker")
    state = store.state(job_id)
    assert state.status is JobStatus.SUCCEEDED, state.error
    assert state.attempts == 2 and state.worker != holder
    candidates, distinct, cached = rows(store, job_id)
    detail = store.get_job(job_id)
    assert detail is not None and candidates == detail.summary.candidates_tried == distinct
    assert cached >= 1  # what the dead worker validated was not validated again
    assert not glob.glob(os.path.join(tempfile.gettempdir(), f"repairbot-job*-p{pool_process}-*"))  # removed


def test_a_duplicate_message_runs_nothing_twice(tmp_path: Path, postgres_url: str, redis_url: str) -> None:
    env = service_env(tmp_path, postgres_url, redis_url)
    store = QueueStore(postgres_url)
    project = write_slow_project(tmp_path / "project")
    with worker(env, tmp_path / "a.log"), worker(env, tmp_path / "b.log"):
        job_id = int(cli(env, "submit", str(project)).stdout)
        wait_until(lambda: store.state(job_id).status is JobStatus.RUNNING, "the job's start")
        send(job_id, 60, make_app(redis_url))
        wait_until(lambda: store.state(job_id).finished, "the job's end")
        wait_until(lambda: "nothing to run" in (tmp_path / "a.log").read_text() + (tmp_path / "b.log").read_text(),
                   "the duplicate's delivery")
    state = store.state(job_id)
    assert (state.status, state.attempts) == (JobStatus.SUCCEEDED, 1)
    candidates, distinct, _ = rows(store, job_id)
    assert candidates == distinct


def job_leftovers(job_id: int) -> list[str]:
    """The job's temp folder (its unpacked project and workspaces), and processes still
    running in it."""
    folders = glob.glob(os.path.join(tempfile.gettempdir(), f"repairbot-job{job_id}-p*"))
    processes = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                cmdline = Path(f"/proc/{entry.name}/cmdline").read_bytes()
                if any(folder.encode() in cmdline for folder in folders) or b"tests/test_tariff.py" in cmdline:
                    processes.append(entry.name)
    return folders + processes


def test_cancel_stops_a_running_job_and_leaves_nothing_behind(
    tmp_path: Path, postgres_url: str, redis_or_embedded: str | None
) -> None:
    env = service_env(tmp_path, postgres_url, redis_or_embedded)
    store = QueueStore(postgres_url)
    with worker(env, tmp_path / "worker.log"):
        job_id = int(cli(env, "submit", str(write_slow_project(tmp_path / "project"))).stdout)
        wait_until(lambda: store.state(job_id).stage in ("reproduce", "localize", "validate"), "the job's start")
        cancelled = cli(env, "cancel", str(job_id))
        assert cancelled.returncode == 0 and "cancel requested" in cancelled.stderr
        wait_until(lambda: store.state(job_id).finished, "the cancelled job's end", timeout_s=60)
        state: JobState = store.state(job_id)
        assert (state.status, state.error) == (JobStatus.CANCELLED, "cancelled by request")
        wait_until(lambda: not job_leftovers(job_id), "the job's files and processes to go", timeout_s=30)
        assert not job_leftovers(job_id)


def test_the_embedded_default_runs_jobs_with_no_broker(tmp_path: Path, postgres_url: str) -> None:
    """No worker is started here: `submit` starts a local one, which exits when idle."""
    env = service_env(tmp_path, f"sqlite:///{tmp_path / 'jobs.db'}", None)
    job_id = submitted_and_fixed(env, "meeting_rooms")
    listed = cli(env, "jobs").stdout.splitlines()
    assert listed[1].split("\t")[:2] == [str(job_id), "succeeded"]


def test_bad_input_gets_repairs_exit_codes_and_one_line_errors(
    tmp_path: Path, postgres_url: str, redis_or_embedded: str | None
) -> None:
    env = service_env(tmp_path, postgres_url, redis_or_embedded)
    missing = cli(env, "submit", str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and missing.stderr.strip() == f"error: {tmp_path / 'nowhere'} does not exist"
    commit_without_url = cli(env, "submit", str(EXAMPLES_DIR / "shopping_cart"), "--commit", "abc123")
    assert commit_without_url.returncode == 2 and "--commit goes with a git URL" in commit_without_url.stderr
    passing = write_slow_project(tmp_path / "passing")
    (passing / "tariff.py").write_text("def fare(zones):\n    return 2 * zones + 1\n")
    with worker(env, tmp_path / "worker.log"):
        result = cli(env, "submit", str(passing), "--wait")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == "error: all 3 tests pass: there is no failure to repair"


@contextlib.contextmanager
def own_redis(port: int) -> Iterator[subprocess.Popen[bytes]]:
    """A Redis server of the test's own (never the machine's), keeping nothing on disk."""
    server = subprocess.Popen(["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(port=port)
    wait_until(lambda: _pings(client), "the test's Redis server", timeout_s=30)
    try:
        yield server
    finally:
        server.kill()
        server.wait()


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


def test_a_broker_outage_mid_job_is_survived_and_a_dead_broker_is_reported(tmp_path: Path, postgres_url: str) -> None:
    port = random.randint(20000, 30000)
    env = service_env(tmp_path, postgres_url, f"redis://127.0.0.1:{port}/0")
    store = QueueStore(postgres_url)
    down = cli(env, "submit", str(EXAMPLES_DIR / "shopping_cart"))
    assert down.returncode == 2
    assert down.stderr.strip().startswith(f"error: job 1 not queued: the broker at redis://127.0.0.1:{port}/0 is unreachable")
    assert store.state(1).status is JobStatus.FAILED
    with own_redis(port) as server, worker(env, tmp_path / "worker.log"):
        job_id = int(cli(env, "submit", str(write_slow_project(tmp_path / "project"))).stdout)
        wait_until(lambda: store.state(job_id).stage == "validate", "the job's validation")
        server.kill()  # the broker gone mid-job, its messages with it
        server.wait()
        time.sleep(3)
        with own_redis(port):
            wait_until(lambda: store.state(job_id).finished, "the job's end")
            assert store.state(job_id).status is JobStatus.SUCCEEDED
            after = submitted_and_fixed(env, "meeting_rooms")  # the worker reconnected
    assert store.state(after).attempts == 1


def test_a_benchmark_run_fans_out_over_the_workers_and_resumes(tmp_path: Path, postgres_url: str, redis_url: str) -> None:
    """`bench --queue`: one job per bug on the broker, taken by two worker processes at once,
    judged against the reference fixes from the database; a run stopped while its jobs were
    queued is resumed by following the same jobs, and a finished run submits nothing again."""
    env = service_env(tmp_path, postgres_url, redis_url)
    out = tmp_path / "bench"
    bench = [sys.executable, "-m", "repairbot", "bench", "examples", "--queue", "--language", "python", "--mode",
             "given", "--bugs", "shopping_cart,meeting_rooms", "--generators", "templates", "--out", str(out)]
    queued = out / "queued.jsonl"
    with subprocess.Popen(bench, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as stopped:
        wait_until(lambda: queued.is_file() and len(queued.read_text().splitlines()) == 2, "the jobs' recording")
        stopped.kill()
    job_ids = [json.loads(line)["job_id"] for line in queued.read_text().splitlines()]
    store = QueueStore(postgres_url)
    with worker(env, tmp_path / "worker.log", "--concurrency", "2"):
        resumed = subprocess.run(bench, env=env, capture_output=True, text=True, timeout=NEVER_S + 300)
    assert resumed.returncode == 0, resumed.stderr
    rows = read_results(out / "results.jsonl")
    assert sorted(row.bug for row in rows) == ["meeting_rooms", "shopping_cart"]
    assert all(row.plausible and row.top_matches_reference and not row.error for row in rows), rows
    assert {store.state(job_id).status for job_id in job_ids} == {JobStatus.SUCCEEDED}
    assert len({store.state(job_id).worker for job_id in job_ids}) == 2  # one job in each pool process
    assert "| examples Python | given | 2 | 2 | 2 |" in (out / "summary.md").read_text()
    again = subprocess.run(bench, env=env, capture_output=True, text=True, timeout=NEVER_S)
    assert again.returncode == 0 and "| examples Python | given | 2 | 2 | 2 |" in again.stdout
    assert [job.id for job in store.list_jobs()] == sorted(job_ids, reverse=True)  # nothing submitted again


def test_a_job_whose_message_the_broker_lost_is_sent_again_by_an_idle_worker(tmp_path: Path, postgres_url: str) -> None:
    """Redis as this machine runs it keeps nothing on disk: a job queued while no worker ran
    loses its message when the broker restarts, and stays queued in the database until a
    worker with nothing to do sends it again."""
    port = random.randint(30001, 40000)
    env = service_env(tmp_path, postgres_url, f"redis://127.0.0.1:{port}/0")
    store = QueueStore(postgres_url)
    with own_redis(port):
        job_id = int(cli(env, "submit", str(EXAMPLES_DIR / "shopping_cart")).stdout)
        assert redis.Redis(port=port).llen("repairbot") == 1  # the message, waiting
    with own_redis(port), worker(env, tmp_path / "worker.log"):
        assert redis.Redis(port=port).llen("repairbot") == 0  # lost with the restart
        wait_until(lambda: store.state(job_id).finished, "the job's end")
    assert store.state(job_id).status is JobStatus.SUCCEEDED
    assert store.state(job_id).attempts == 1
    assert "sent again (queued for over" in (tmp_path / "worker.log").read_text()
