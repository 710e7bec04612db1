"""Throughput and overheads of the job queue (issue 14), on this machine's real services.

    python scripts/bench_queue.py [--broker redis://127.0.0.1:6379/14] [--rounds 1] [--kills 3]

- jobs per minute: every bundled Python example submitted at once (templates only, so the
  figure is the queue's and the test runs', not the model's), run by 1 worker and then by 2
  worker processes (each one job at a time), from the first submit to the last job's end;
- queue overhead per job: submit -> start (the job's `started_at` minus its `created_at`,
  both written by the database's clients on this host) and finish -> visible (when a client
  polling every 50 ms saw the job end, minus its `finished_at`);
- a killed worker's job: two workers, a job whose tests take seconds, the worker holding it
  killed with SIGKILL (with its pool) after its first validated candidate; the time from the
  kill to the job's next start on the other worker (lease `--lease` seconds: the other
  worker's sweep finds the expired lease and sends the job again).

Each run uses a new PostgreSQL database (dropped afterwards). Run it alone: the test runs
of two workers share the machine's cores.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy

from benchmarks.examples import example_projects, write_slow_project
from repairbot.db.queue import QueueStore

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


@contextlib.contextmanager
def fresh_database() -> Iterator[str]:
    name = f"repairbot_bench_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def purge(broker: str) -> None:
    from repairbot.queue.tasks import make_app

    make_app(broker).control.purge()


@contextlib.contextmanager
def workers(env: dict[str, str], count: int, logs: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    processes = []
    for index in range(count):
        with open(logs / f"worker{index}-{time.monotonic_ns()}.log", "wb") as log:
            processes.append(subprocess.Popen(
                [sys.executable, "-m", "repairbot", "worker"], env=env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            ))
    time.sleep(5)  # imports and the broker connection: not part of any job's figures
    try:
        yield processes
    finally:
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def submit(env: dict[str, str], path: Path) -> int:
    result = subprocess.run([sys.executable, "-m", "repairbot", "submit", str(path)], env=env, capture_output=True,
                            text=True, check=True)
    return int(result.stdout)


def throughput(env: dict[str, str], database_url: str, count: int, logs: Path) -> dict[str, float]:
    store = QueueStore(database_url)
    examples = example_projects("python")
    with workers(env, count, logs):
        start = time.monotonic()
        ids = [submit(env, path) for path in examples]
        seen: dict[int, float] = {}
        while len(seen) < len(ids):
            for job_id in ids:
                if job_id not in seen and store.state(job_id).finished:
                    seen[job_id] = time.time()
            time.sleep(0.05)
        wall = time.monotonic() - start
    starts, visible, statuses = [], [], []
    for job_id in ids:
        detail = store.get_job(job_id)
        assert detail is not None and detail.summary.finished_at is not None
        with store._sessions() as session:
            from repairbot.db.models import RepairJob

            job = session.get(RepairJob, job_id)
            assert job is not None and job.started_at is not None
            starts.append((job.started_at - job.created_at).total_seconds())
        visible.append(seen[job_id] - detail.summary.finished_at.timestamp())
        statuses.append(detail.summary.status)
    store.close()
    return {
        "jobs": len(ids), "wall_s": wall, "jobs_per_min": len(ids) / wall * 60,
        "succeeded": statuses.count("succeeded"),
        "first_start_s": min(starts), "visible_median_s": statistics.median(visible),
    }


def pickup_after_kill(env: dict[str, str], database_url: str, logs: Path) -> float:
    store = QueueStore(database_url)
    with tempfile.TemporaryDirectory() as tmp:
        project = write_slow_project(Path(tmp) / "project")
        with workers(env, 2, logs) as processes:
            job_id = submit(env, project)
            while (store.get_job(job_id) or sys.exit("no job")).summary.candidates_tried < 1:
                time.sleep(0.05)
            holder = store.state(job_id).worker or ""
            pool_process = int(holder.rpartition("/")[2])
            with open(f"/proc/{pool_process}/stat") as stat:
                parent = int(stat.read().rpartition(")")[2].split()[1])
            victim = next(p for p in processes if p.pid == parent)
            os.killpg(victim.pid, signal.SIGKILL)
            killed = time.time()
            while store.state(job_id).attempts < 2:
                time.sleep(0.05)
            from repairbot.db.models import RepairJob

            with store._sessions() as session:
                job = session.get(RepairJob, job_id)
                assert job is not None and job.started_at is not None
                picked = job.started_at.timestamp() - killed
            while not store.state(job_id).finished:
                time.sleep(0.2)
    store.close()
    return picked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--rounds", type=int, default=1, help="throughput runs per worker count")
    parser.add_argument("--kills", type=int, default=3, help="killed-worker runs")
    parser.add_argument("--lease", type=float, default=10.0, help="REPAIRBOT_JOB_LEASE_S of the workers")
    args = parser.parse_args()
    purge(args.broker)
    with tempfile.TemporaryDirectory(prefix="bench-queue-") as tmp:
        logs = Path(tmp)
        base = {**os.environ, "REPAIRBOT_BROKER_URL": args.broker, "REPAIRBOT_DATA_DIR": str(logs / "data"),
                "REPAIRBOT_GENERATORS": "templates", "REPAIRBOT_JOB_LEASE_S": f"{args.lease:g}"}
        results: dict[int, list[dict[str, float]]] = {1: [], 2: []}
        for count in (1, 2):
            for _ in range(args.rounds):
                with fresh_database() as url:
                    run = throughput({**base, "REPAIRBOT_DATABASE_URL": url}, url, count, logs)
                results[count].append(run)
                print(f"{count} worker(s): {run['jobs']} jobs ({run['succeeded']} patched) in {run['wall_s']:.1f} s "
                      f"= {run['jobs_per_min']:.1f} jobs/min; submit->start of the first job "
                      f"{run['first_start_s'] * 1000:.0f} ms; finish->visible median {run['visible_median_s'] * 1000:.0f} ms",
                      flush=True)
        one = statistics.median(r["jobs_per_min"] for r in results[1])
        two = statistics.median(r["jobs_per_min"] for r in results[2])
        print(f"jobs/min: 1 worker {one:.1f}, 2 workers {two:.1f}, ratio {two / one:.2f}")
        picks = []
        for _ in range(args.kills):
            with fresh_database() as url:
                picks.append(pickup_after_kill({**base, "REPAIRBOT_DATABASE_URL": url}, url, logs))
            print(f"killed worker's job started again after {picks[-1]:.1f} s", flush=True)
        if picks:
            print(f"pickup after a kill: median {statistics.median(picks):.1f} s (lease {args.lease:g} s)")


if __name__ == "__main__":
    main()
