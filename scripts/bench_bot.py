"""The GitHub bot under load (issue 15): `repairbot serve` as a real process, the fake GitHub
API of the tests (tests/fakes/github_api.py, real HTTP, git over HTTP with tokens) and a bare
repository holding the `word_stats` example; jobs on the embedded worker, templates only.

    python scripts/bench_bot.py [--runs 5] [--requests 300] [--burst 100] [--postgres]

- latency: a signed `workflow_run` failure for a new commit on a new branch -> the pull request
  recorded on the fake (the service's answer, the queue, the clone, the repair, the push,
  the API calls), one after another; median and every value;
- webhook requests per second accepted while a job runs: `--requests` signed deliveries
  (a successful `workflow_run`: verified, deduplicated, read and answered 202, no job) from 8
  client threads sharing one HTTP client, during a repair job;
- a burst of `--burst` failure deliveries for one branch, from 8 threads: answers by status,
  how long they took, and then what ran: jobs recorded, superseded, check runs, pull requests.

Run it alone: the service, the worker and the test runs share the machine's cores.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import concurrent.futures
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import fresh_postgres_database  # noqa: E402
from tests.fakes.github_api import wait_for  # noqa: E402
from tests.test_github_bot import REPO, Bot, new_commit, running_bot, workflow_run  # noqa: E402


def latency(bot: Bot, runs: int) -> list[float]:
    seconds = []
    for run in range(runs):
        sha = new_commit(bot.work, f"latency-{run}", f"latency run {run}")
        start = time.monotonic()
        answer = bot.post("workflow_run", workflow_run(sha, f"latency-{run}", clone_url=bot.clone_url))
        assert answer.status_code == 202 and answer.json()["status"] == "accepted", answer.text
        head = f"repairbot/fix-{sha[:7]}"
        wait_for(lambda: any(p["head"]["ref"] == head for p in list(bot.fake.pulls.values())), "the pull request")
        seconds.append(time.monotonic() - start)
        print(f"  run {run + 1}: {seconds[-1]:.2f} s", flush=True)
    return seconds


def accepted_per_second(bot: Bot, requests: int) -> tuple[float, collections.Counter[int], str]:
    sha = new_commit(bot.work, "busy", "a job running meanwhile")
    job = bot.post("workflow_run", workflow_run(sha, "busy", clone_url=bot.clone_url)).json()["job"]
    wait_for(lambda: bot.job(job)["repair"]["status"] == "running", "the job to run")
    payload = workflow_run(bot.head_sha, conclusion="success", clone_url=bot.clone_url)
    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        codes = collections.Counter(pool.map(lambda _: bot.post("workflow_run", payload).status_code, range(requests)))
    elapsed = time.monotonic() - start
    state = bot.job(job)["repair"]["status"]
    wait_for(lambda: bot.job(job)["state"] == "reported", "the busy job's report")
    return requests / elapsed, codes, state


def burst(bot: Bot, count: int) -> dict[str, object]:
    sha = new_commit(bot.work, "burst", "one commit, many deliveries")
    payload = workflow_run(sha, "burst", clone_url=bot.clone_url)
    runs_before, pulls_before = len(bot.fake.check_runs), len(bot.fake.pulls)
    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: bot.post("workflow_run", payload), range(count)))
    answered_s = time.monotonic() - start
    codes = collections.Counter(a.status_code for a in answers)
    head = f"repairbot/fix-{sha[:7]}"
    wait_for(lambda: any(p["head"]["ref"] == head for p in list(bot.fake.pulls.values())), "the burst's pull request")
    wait_for(lambda: all(j["state"] != "pending" for j in bot.jobs(500) if j["branch"] == "burst"), "every report")
    to_pr_s = time.monotonic() - start
    jobs = [j for j in bot.jobs(500) if j["branch"] == "burst"]
    return {
        "answers": dict(codes), "answered_s": round(answered_s, 2),
        "accepted": sum(1 for a in answers if a.status_code == 202 and a.json().get("status") == "accepted"),
        "ignored": collections.Counter(a.json().get("reason", "")[:60] for a in answers
                                       if a.json().get("status") == "ignored"),
        "jobs_recorded": len(jobs), "superseded": sum(1 for j in jobs if j["state"] == "superseded"),
        "reported": sum(1 for j in jobs if j["state"] == "reported"),
        "repair_job_statuses": dict(collections.Counter(j["repair_status"] for j in jobs)),
        "failed_repair_jobs": [bot.job(j["id"])["repair"]["error"] for j in jobs if j["repair_status"] == "failed"],
        "check_runs_closed_as_cancelled": sum(1 for r in list(bot.fake.check_runs.values())[runs_before:]
                                              if r["conclusion"] == "cancelled"),
        "check_runs": len(bot.fake.check_runs) - runs_before, "pull_requests": len(bot.fake.pulls) - pulls_before,
        "burst_to_pull_request_s": round(to_pr_s, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--burst", type=int, default=100)
    parser.add_argument("--postgres", action="store_true", help="a new database on the local PostgreSQL server "
                        "(default: a new SQLite file)")
    args = parser.parse_args()
    print("load before:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    with tempfile.TemporaryDirectory(prefix="bench-bot-") as scratch, contextlib.ExitStack() as stack:
        root = Path(scratch)
        database = stack.enter_context(fresh_postgres_database()) if args.postgres else \
            f"sqlite:///{root / 'db' / 'repairbot.db'}"
        print(f"database: {database.split(':')[0]}")
        limits = {"REPAIRBOT_GITHUB_MAX_CONCURRENT_PER_REPO": "1000", "REPAIRBOT_GITHUB_MAX_JOBS_PER_DAY": "100000"}
        with running_bot(root, database, limits) as bot:
            print(f"latency webhook -> pull request ({args.runs} runs, {REPO}, templates, embedded worker):")
            seconds = latency(bot, args.runs)
            print(f"  median {statistics.median(seconds):.2f} s (min {min(seconds):.2f}, max {max(seconds):.2f})")
            rate, codes, state = accepted_per_second(bot, args.requests)
            print(f"webhook deliveries accepted while a job ran: {rate:.0f} requests/s over {args.requests} "
                  f"(answers {dict(codes)}; the job was {state} at the end)")
            print(f"burst of {args.burst} failure deliveries for one branch:")
            for name, value in burst(bot, args.burst).items():
                print(f"  {name}: {value}")
    print("load after:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
