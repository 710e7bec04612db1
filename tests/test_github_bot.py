"""`repairbot serve` end to end: a real service process, signed webhook deliveries over
HTTP, a fake GitHub API (tests/fakes/github_api.py, real HTTP) and a local bare repository
as the remote. The repair jobs run on the embedded worker with the templates generator."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import git
import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from repairbot.db.queue import QueueStore
from repairbot.github import guards
from repairbot.github.events import RepairRequest
from repairbot.github.settings import BotSettings
from repairbot.github.store import BotStore
from repairbot.github.webhook import signature
from tests.budgets import UNHURRIED_ENV
from tests.conftest import fresh_postgres_database
from tests.fakes.github_api import FakeGitHub, Server, wait_for
from tests.test_queue_workers import worker

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SECRET = "it's a secret to everybody"
REPO = "octo/word-stats"
APP_ID = "4242"
INSTALLATION = 77


def changed_lines(diff: str) -> list[str]:
    return [line for line in diff.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")]


EXPECTED = changed_lines((EXAMPLES / "word_stats" / "expected.patch").read_text())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bare_remote(root: Path, example: str) -> tuple[Path, git.Repo]:
    """A bare repository holding the example on `main`, and a work clone to add commits."""
    bare = root / "remote.git"
    git.Repo.init(bare, bare=True, initial_branch="main")
    work = git.Repo.init(root / "work", initial_branch="main")
    shutil.copytree(EXAMPLES / example, root / "work", dirs_exist_ok=True, ignore=shutil.ignore_patterns("expected.patch"))
    with work.config_writer() as config:
        config.set_value("user", "name", "dev").set_value("user", "email", "dev@example.com")
    work.git.add("-A")
    work.index.commit("buggy")
    work.create_remote("origin", str(bare)).push("main:main")
    return bare, work


def new_commit(work: git.Repo, branch: str, message: str) -> str:
    """A commit on `branch` of the remote that keeps the bug (a README edit)."""
    work.git.checkout("-B", branch)
    readme = Path(work.working_tree_dir) / "README.md"
    readme.write_text(readme.read_text() + f"\n{message}\n")
    work.git.add("README.md")
    work.index.commit(message)
    work.remote("origin").push(f"{branch}:{branch}", force=True)
    return work.head.commit.hexsha


def workflow_run(head_sha: str, branch: str = "main", conclusion: str = "failure", head_repo: str = REPO,
                 clone_url: str = "", pulls: tuple[int, ...] = ()) -> dict[str, Any]:
    """A `workflow_run` payload with the fields GitHub sends that the bot reads."""
    return {
        "action": "completed",
        "workflow_run": {"id": 1, "name": "CI", "head_branch": branch, "head_sha": head_sha, "status": "completed",
                         "conclusion": conclusion, "event": "pull_request" if pulls else "push",
                         "pull_requests": [{"number": n, "head": {"ref": branch, "sha": head_sha}} for n in pulls],
                         "head_repository": {"full_name": head_repo, "html_url": f"https://github.com/{head_repo}"}},
        "repository": {"full_name": REPO, "clone_url": clone_url},
        "installation": {"id": INSTALLATION},
    }


@dataclass
class Bot:
    url: str
    fake: FakeGitHub
    bare: Path
    work: git.Repo
    head_sha: str
    database_url: str
    http: httpx.Client
    env: dict[str, str]  # the service's environment, which a worker of its jobs needs too
    deliveries: int = 0

    def post(self, event: str, payload: Any, *, delivery: str | None = None, secret: str = SECRET,
             body: bytes | None = None, signed: bool = True) -> httpx.Response:
        raw = body if body is not None else json.dumps(payload).encode()
        self.deliveries += 1
        headers = {"X-GitHub-Event": event, "X-GitHub-Delivery": delivery or f"d-{self.deliveries}-{time.time_ns()}",
                   "Content-Type": "application/json"}
        if signed:
            headers["X-Hub-Signature-256"] = signature(secret.encode(), raw)
        return self.http.post(f"{self.url}/github/webhook", content=raw, headers=headers)

    @property
    def clone_url(self) -> str:
        """The remote as the fake serves it: git over HTTP, only with an installation token."""
        return self.fake.clone_url(REPO)

    def jobs(self, limit: int = 50) -> list[dict[str, Any]]:
        return self.http.get(f"{self.url}/jobs", params={"limit": limit}).json()

    def job(self, job_id: int) -> dict[str, Any]:
        return self.http.get(f"{self.url}/jobs/{job_id}").json()


def rsa_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


@contextlib.contextmanager
def running_bot(root: Path, database_url: str, extra_env: dict[str, str] | None = None) -> Iterator[Bot]:
    bare, work = bare_remote(root, "word_stats")
    private, public = rsa_pair()
    fake = FakeGitHub(app_id=APP_ID, public_key=public, remotes={REPO: bare},
                      permissions={"maintainer": "write", "stranger": "read"})
    port = free_port()
    env = {
        **{name: value for name, value in os.environ.items() if name != "REPAIRBOT_BROKER_URL"}, **UNHURRIED_ENV,
        "REPAIRBOT_DATABASE_URL": database_url,
        "REPAIRBOT_DATA_DIR": str(root / "data"),
        "REPAIRBOT_GENERATORS": "templates",
        "REPAIRBOT_GITHUB_WEBHOOK_SECRET": SECRET,
        "REPAIRBOT_GITHUB_APP_ID": APP_ID,
        "REPAIRBOT_GITHUB_PRIVATE_KEY": private,
        "REPAIRBOT_GITHUB_POLL_S": "0.2",
        "REPAIRBOT_GITHUB_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "REPAIRBOT_GITHUB_DENY_REPOS": "octo/secret-*",
        **(extra_env or {}),
    }
    with Server(fake) as api_url:
        env["REPAIRBOT_GITHUB_API_URL"] = api_url
        with open(root / "serve.log", "ab") as log:
            process = subprocess.Popen([sys.executable, "-m", "repairbot", "serve", "--port", str(port)], env=env,
                                       stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_for(lambda: _healthy(url, process), "the service to answer /health", 120)
            with httpx.Client(timeout=60, limits=httpx.Limits(max_connections=16)) as http:
                yield Bot(url, fake, bare, work, work.head.commit.hexsha, database_url, http, env)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=60)
            # the embedded worker it started runs in a session of its own: stop it by its lock's holder
            _stop_worker(root / "data")


def _healthy(url: str, process: subprocess.Popen[bytes]) -> bool:
    if process.poll() is not None:
        raise AssertionError(f"repairbot serve exited with {process.returncode}")
    try:
        return httpx.get(f"{url}/health", timeout=5).status_code == 200
    except httpx.TransportError:
        return False


def _stop_worker(data_dir: Path) -> None:
    """The embedded worker exits 10 s after its last job; wait for that (it holds the lock)."""
    import fcntl

    lock = data_dir / "local-worker.lock"
    if not lock.exists():
        return
    with open(lock, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # returns once the worker has exited


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def bot(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bot]:
    """One service per database backend for the module's tests, which build on each other's
    jobs (a retry needs the first test's pull request)."""
    root = tmp_path_factory.mktemp("bot")
    with contextlib.ExitStack() as stack:
        url = f"sqlite:///{root / 'db' / 'repairbot.db'}" if request.param == "sqlite" else \
            stack.enter_context(fresh_postgres_database())
        yield stack.enter_context(running_bot(root, url, {"REPAIRBOT_GITHUB_REVIEW_PULL_REQUESTS": "true"}))


def test_a_failed_workflow_run_ends_with_a_pushed_branch_a_pull_request_and_a_check_run(bot: Bot) -> None:
    answer = bot.post("workflow_run", workflow_run(bot.head_sha, clone_url=bot.clone_url), delivery="first")
    assert answer.status_code == 202, answer.text
    assert answer.json()["status"] == "accepted"
    job_id = answer.json()["job"]

    wait_for(lambda: bot.job(job_id)["state"] == "reported", "the job to be reported")
    job = bot.job(job_id)
    assert job["conclusion"] == "success" and job["pr_number"] is not None
    branch = f"repairbot/fix-{bot.head_sha[:7]}"
    remote = git.Repo(bot.bare)
    pushed = remote.commit(branch)
    assert pushed.parents[0].hexsha == bot.head_sha
    assert changed_lines(remote.git.diff(bot.head_sha, branch)) == EXPECTED
    assert pushed.author.name == "repairbot"

    pull = bot.fake.pulls[(REPO, job["pr_number"])]
    assert (pull["head"]["ref"], pull["base"]["ref"]) == (branch, "main")
    for line in EXPECTED:
        assert line in pull["body"]
    assert "test_tokenize_lowercases_by_default" in pull["body"]
    assert "`template:negate_condition`" in pull["body"] and "`wordstats/counting.py:14`" in pull["body"]
    assert f"/ui/jobs/{job_id}" in pull["body"]

    (run,) = [r for r in bot.fake.check_runs.values() if r["head_sha"] == bot.head_sha]
    assert run["history"] == ["in_progress"] and run["status"] == "completed" and run["conclusion"] == "success"
    assert changed_lines(job["repair"]["patches"][0]["diff"]) == EXPECTED
    assert pull["html_url"] in run["output"]["summary"]
    # The App authenticated with a JWT for an installation token, which every later call carried.
    assert bot.fake.count("POST", rf"/app/installations/{INSTALLATION}/access_tokens") >= 1
    assert set(bot.fake.tokens.values()) == {INSTALLATION}


def test_the_token_is_in_no_url_and_no_database_row(bot: Bot) -> None:
    wait_for(lambda: bot.fake.pulls, "the first test's pull request")
    import sqlalchemy

    engine = sqlalchemy.create_engine(bot.database_url)
    with engine.connect() as connection:
        dumped = "".join(str(row) for table in ("job_inputs", "repair_jobs", "github_jobs", "github_deliveries")
                         for row in connection.exec_driver_sql(f"SELECT * FROM {table}"))
    engine.dispose()
    assert bot.fake.tokens and not any(token in dumped for token in bot.fake.tokens)
    assert bot.clone_url in dumped  # the clone URL itself is recorded, plain


def test_git_reached_the_remote_only_with_an_installation_token(bot: Bot) -> None:
    wait_for(lambda: bot.fake.pulls, "the first test's pull request")
    requests = bot.fake.git_requests
    assert any(path.endswith("/git-upload-pack") for _, path, _ in requests)  # the worker's clone (and the push's)
    assert any(path.endswith("/git-receive-pack") for _, path, _ in requests)  # the push
    assert all(token in bot.fake.tokens for _, _, token in requests)
    probe = httpx.get(f"{bot.clone_url}/info/refs?service=git-upload-pack", timeout=30)
    assert probe.status_code == 401  # no token, no repository


def test_a_redelivery_starts_nothing(bot: Bot) -> None:
    wait_for(lambda: bot.jobs(), "the first job")
    before = len(bot.jobs())
    again = bot.post("workflow_run", workflow_run(bot.head_sha, clone_url=bot.clone_url), delivery="first")
    assert again.status_code == 202 and "seen before" in again.json()["reason"]
    assert len(bot.jobs()) == before


@pytest.mark.parametrize("case", ["unsigned", "wrong secret", "tampered", "oversized", "not json", "no head_sha",
                                  "head_sha not a hash", "not an object"])
def test_bad_requests_get_their_status(bot: Bot, case: str) -> None:
    payload = workflow_run(bot.head_sha, clone_url=bot.clone_url)
    expected = {"unsigned": 401, "wrong secret": 401, "tampered": 401, "oversized": 413, "not json": 400,
                "no head_sha": 400, "head_sha not a hash": 400, "not an object": 400}[case]
    if case == "unsigned":
        answer = bot.post("workflow_run", payload, signed=False)
    elif case == "wrong secret":
        answer = bot.post("workflow_run", payload, secret="guess")
    elif case == "tampered":
        raw = json.dumps(payload).encode()
        headers = {"X-GitHub-Event": "workflow_run", "X-GitHub-Delivery": "tampered",
                   "X-Hub-Signature-256": signature(SECRET.encode(), raw)}
        answer = httpx.post(f"{bot.url}/github/webhook", content=raw.replace(b"failure", b"failurf"), headers=headers)
    elif case == "oversized":
        answer = bot.post("workflow_run", None, body=b"{" + b" " * (5 * 1024 * 1024) + b"}")
    elif case == "not json":
        answer = bot.post("workflow_run", None, body=b"{not json")
    elif case == "not an object":
        answer = bot.post("workflow_run", None, body=b"[1, 2]")
    elif case == "no head_sha":
        del payload["workflow_run"]["head_sha"]
        answer = bot.post("workflow_run", payload)
    else:
        payload["workflow_run"]["head_sha"] = "--upload-pack=touch /tmp/pwned"
        answer = bot.post("workflow_run", payload)
    assert answer.status_code == expected, answer.text
    assert answer.json()["reason"]


@pytest.mark.parametrize(("event", "change", "reason"), [
    ("push", {}, "starts no repair"),
    ("workflow_run", {"conclusion": "success"}, "only failures"),
    ("workflow_run", {"branch": "repairbot/fix-abcdef1"}, "repairbot's own"),
    ("workflow_run", {"head_repo": "mallory/word-stats"}, "fork"),
])
def test_events_that_need_no_job_are_answered_202_with_the_reason(bot: Bot, event: str, change: dict[str, str],
                                                                   reason: str) -> None:
    before = len(bot.jobs())
    answer = bot.post(event, workflow_run(bot.head_sha, clone_url=bot.clone_url, **change))
    assert answer.status_code == 202 and reason in answer.json()["reason"], answer.text
    assert len(bot.jobs()) == before


def test_a_denied_repository_starts_nothing(bot: Bot) -> None:
    payload = workflow_run(bot.head_sha, clone_url=bot.clone_url)
    payload["repository"]["full_name"] = "octo/secret-sauce"
    answer = bot.post("workflow_run", payload)
    assert answer.status_code == 202 and "deny list" in answer.json()["reason"]


def test_ping_is_answered(bot: Bot) -> None:
    answer = bot.post("ping", {"zen": "Keep it logically awesome.", "hook_id": 1})
    assert answer.status_code == 200 and answer.json() == {"status": "pong"}


def test_the_read_side_renders(bot: Bot) -> None:
    wait_for(lambda: any(job["pr_url"] for job in bot.jobs()), "a reported job")
    job = next(job for job in bot.jobs() if job["pr_url"])
    listing = httpx.get(f"{bot.url}/ui", timeout=30)
    assert listing.status_code == 200 and listing.headers["content-type"].startswith("text/html")
    assert f'href="/ui/jobs/{job["id"]}"' in listing.text and REPO in listing.text
    page = httpx.get(f"{bot.url}/ui/jobs/{job['id']}", timeout=30)
    assert page.status_code == 200
    assert "test_tokenize_lowercases_by_default" in page.text and "counting.py" in page.text
    assert 'class="diff"' in page.text and 'class="gd"' in page.text and 'class="gi"' in page.text  # deleted/inserted
    assert "if not case_sensitive:" in page.text
    assert httpx.get(f"{bot.url}/ui/jobs/99999", timeout=30).status_code == 404
    schema = httpx.get(f"{bot.url}/openapi.json", timeout=30).json()
    assert {"/github/webhook", "/health", "/jobs", "/jobs/{job_id}"} <= set(schema["paths"])
    assert httpx.get(f"{bot.url}/health", timeout=30).json()["status"] == "ok"


def comment(bot: Bot, number: int, body: str, user: str) -> httpx.Response:
    return bot.post("issue_comment", {
        "action": "created",
        "issue": {"number": number, "pull_request": {"url": "..."}},
        "comment": {"body": body, "user": {"login": user}, "author_association": "MEMBER"},
        "repository": {"full_name": REPO, "clone_url": bot.clone_url},
        "installation": {"id": INSTALLATION},
    })


def test_a_maintainers_retry_with_a_location_updates_the_pull_request(bot: Bot) -> None:
    wait_for(lambda: any(job["pr_number"] for job in bot.jobs()), "a reported job")
    first = next(job for job in bot.jobs() if job["pr_number"])
    number = first["pr_number"]

    refused = comment(bot, number, "@repairbot retry wordstats/counting.py:14", "stranger")
    assert refused.status_code == 202 and "may not" in refused.json()["reason"]

    answer = comment(bot, number, "Thanks! @repairbot retry wordstats/counting.py:14", "maintainer")
    assert answer.status_code == 202 and answer.json()["status"] == "accepted", answer.text
    retry_id = answer.json()["job"]
    wait_for(lambda: bot.job(retry_id)["state"] == "reported", "the retry to be reported")
    retry = bot.job(retry_id)
    assert retry["hint"] == "wordstats/counting.py:14" and retry["retry_of"] == first["id"]
    assert retry["conclusion"] == "success" and retry["pr_number"] == number
    # The hint was the job's given location: the only suspicious line.
    assert [(s["file"], s["start_line"]) for s in retry["repair"]["suspicious"]] == [("wordstats/counting.py", 14)]
    notes = [c for c in bot.fake.comments if c["number"] == number]
    assert len(notes) == 1 and "Retried" in notes[0]["body"] and "counting.py:14" in notes[0]["body"]
    assert len([p for (repo, _), p in bot.fake.pulls.items() if repo == REPO]) == 1  # updated, not a second one

    # Words that name no place go into the code model's prompts.
    answer = comment(bot, number, "@repairbot retry the  count\nis off by one", "maintainer")
    assert answer.status_code == 202 and answer.json()["status"] == "accepted", answer.text
    worded = bot.job(answer.json()["job"])
    wait_for(lambda: bot.job(worded["id"])["state"] == "reported", "the worded retry to be reported")
    recorded = QueueStore(bot.database_url).recorded_input(worded["repair_job_id"])
    assert recorded.overrides == {"model_hint": "the count is off by one"}


def test_a_newer_failure_on_the_branch_supersedes_the_older_job(bot: Bot) -> None:
    older_sha = new_commit(bot.work, "feature", "first change")
    older = bot.post("workflow_run", workflow_run(older_sha, "feature", clone_url=bot.clone_url)).json()
    newer_sha = new_commit(bot.work, "feature", "second change")
    newer = bot.post("workflow_run", workflow_run(newer_sha, "feature", clone_url=bot.clone_url)).json()
    assert newer["superseded"] == [older["job"]]
    wait_for(lambda: bot.job(newer["job"])["state"] == "reported", "the newer job's report")
    assert bot.job(older["job"])["state"] == "superseded"
    assert bot.job(older["job"])["repair"]["status"] == "cancelled"
    pull = bot.fake.pulls[(REPO, bot.job(newer["job"])["pr_number"])]
    assert pull["head"]["ref"] == f"repairbot/fix-{newer_sha[:7]}" and pull["base"]["ref"] == "feature"
    assert not any(p["head"]["ref"] == f"repairbot/fix-{older_sha[:7]}" for p in bot.fake.pulls.values())


def user_pull(bot: Bot, branch: str, path: str, old: str, new: str) -> tuple[str, int]:
    """Someone's pull request from `branch` (off main, `old` replaced by `new` in `path`),
    which keeps the bug: its CI fails."""
    bot.work.git.checkout("-B", branch, "main")
    file = Path(bot.work.working_tree_dir) / path
    file.write_text(file.read_text().replace(old, new))
    bot.work.git.add(path)
    bot.work.index.commit(f"edit {path}")
    bot.work.remote("origin").push(f"{branch}:{branch}", force=True)
    return bot.work.head.commit.hexsha, bot.fake.add_pull(REPO, branch, "main")


def test_a_failing_pull_request_gets_the_fix_as_a_suggested_change(bot: Bot) -> None:
    sha, number = user_pull(bot, "tidy-tokenize", "wordstats/counting.py", "    words = WORD.findall(text)\n",
                            "    words = WORD.findall(text)  # letters and inner apostrophes\n")
    answer = bot.post("workflow_run", workflow_run(sha, "tidy-tokenize", clone_url=bot.clone_url, pulls=(number,)))
    job_id = answer.json()["job"]
    wait_for(lambda: bot.job(job_id)["state"] == "reported", "the job to be reported")
    assert bot.job(job_id)["conclusion"] == "success" and bot.job(job_id)["pr_number"] is None
    (review,) = [r for r in bot.fake.reviews if r["number"] == number]
    assert review["commit_id"] == sha and review["state"] == "COMMENTED"
    assert review["comments"] == [{"path": "wordstats/counting.py", "line": 14, "side": "RIGHT",
                                   "body": "```suggestion\n    if not case_sensitive:\n```"}]
    assert "test_tokenize_lowercases_by_default" in review["body"]
    assert f"repairbot/fix-{sha[:7]}" not in [ref.name for ref in git.Repo(bot.bare).heads]  # nothing pushed


def test_a_fix_outside_the_pull_requests_diff_comes_as_a_comment(bot: Bot) -> None:
    sha, number = user_pull(bot, "docs-only", "README.md", "# word_stats\n", "# word_stats, documented\n")
    answer = bot.post("workflow_run", workflow_run(sha, "docs-only", clone_url=bot.clone_url, pulls=(number,)))
    job_id = answer.json()["job"]
    wait_for(lambda: bot.job(job_id)["state"] == "reported", "the job to be reported")
    assert not [r for r in bot.fake.reviews if r["number"] == number]  # GitHub refused the lines: 422
    (note,) = [c for c in bot.fake.comments if c["number"] == number]
    assert all(line in note["body"] for line in EXPECTED)


def test_a_test_failing_at_the_last_green_commit_too_is_set_aside(bot: Bot) -> None:
    """Issue 17: a test that fails in the sandbox for the environment's sake (here: a secret
    only CI has) failed at the commit CI last found green too; the worker asks GitHub for that
    commit, sets the test aside, and repairs the bug the newer commit brought back."""
    work, patch = bot.work, str(EXAMPLES / "word_stats" / "expected.patch")
    root = Path(work.working_tree_dir)
    work.git.checkout("-B", "env-secret", bot.head_sha)
    work.git.apply(patch)
    (root / "tests" / "test_ci_secret.py").write_text(
        "import os\n\n\ndef test_deploy_key():\n    assert os.environ.get('DEPLOY_KEY'), 'only CI has it'\n"
    )
    work.git.add("-A")
    green = work.index.commit("fixed, and a test that needs CI's secret").hexsha
    work.git.apply("-R", patch)
    work.git.add("-A")
    broken = work.index.commit("the bug is back").hexsha
    work.remote("origin").push("env-secret:env-secret", force=True)
    bot.fake.green[(REPO, "env-secret")] = green

    answer = bot.post("workflow_run", workflow_run(broken, "env-secret", clone_url=bot.clone_url))
    job_id = answer.json()["job"]
    wait_for(lambda: bot.job(job_id)["state"] == "reported", "the job to be reported")
    job = bot.job(job_id)
    assert job["conclusion"] == "success", job
    assert changed_lines(job["repair"]["patches"][0]["diff"]) == EXPECTED
    why = job["repair"]["set_aside"]["tests/test_ci_secret.py::test_deploy_key"]
    assert why.startswith(f"fails at {green}") and why.endswith("too: not this change's failure")
    assert bot.fake.count("GET", rf"/repos/{REPO}/actions/runs") >= 1


def test_deliveries_dedupe_and_limits_refuse_with_the_reason_on_every_backend(database_url: str) -> None:
    store = BotStore(database_url)
    assert store.record_delivery("abc", "workflow_run") and not store.record_delivery("abc", "workflow_run")
    settings = BotSettings(webhook_secret=SECRET, token="t",  # type: ignore[arg-type]
                           max_concurrent_per_repo=1, max_jobs_per_day=2)
    from repairbot.db.queue import RecordedInput

    def request(branch: str) -> RepairRequest:
        return RepairRequest(REPO, "file:///x", branch, "a" * 40, None, False)

    def add(branch: str) -> int:
        recorded = RecordedInput("github", {}, url="file:///x", commit="a" * 40)
        return store.add_job(recorded, [], f"d-{branch}", request(branch))[0]

    assert guards.refusal(request("one"), settings, store) is None
    add("one")
    assert "jobs running" in (guards.refusal(request("two"), settings, store) or "")
    assert guards.refusal(request("one"), settings, store, superseding=1) is None  # it would replace the pending one
    store.mark_superseded(1, 2)
    add("two")
    assert "in 24 hours" in (guards.refusal(request("three"), settings, store, superseding=1) or "")
    store.close()


def check_payload(event: str, app_id: int = 1) -> dict[str, Any]:
    """`check_suite` / `check_run` payloads with the fields GitHub sends that the bot reads."""
    suite = {"head_branch": "dev", "head_sha": "b" * 40, "conclusion": "failure", "pull_requests": [{"number": 5}]}
    run = {"head_sha": "b" * 40, "conclusion": "failure", "check_suite": suite, "app": {"id": app_id},
           "pull_requests": [{"number": 5}]}
    return {"action": "completed", event: suite if event == "check_suite" else run,
            "repository": {"full_name": REPO, "clone_url": "https://github.com/octo/word-stats.git"},
            "installation": {"id": INSTALLATION}}


@pytest.mark.parametrize("event", ["check_suite", "check_run"])
def test_check_suite_and_check_run_failures_are_repair_requests(event: str) -> None:
    from repairbot.github import events

    request = events.read(event, check_payload(event), own_app_id=APP_ID)
    assert request == RepairRequest(REPO, "https://github.com/octo/word-stats.git", "dev", "b" * 40, INSTALLATION,
                                    False, [5])


def test_the_bots_own_check_run_is_no_repair_request() -> None:
    from repairbot.github import events

    assert isinstance(events.read("check_run", check_payload("check_run", int(APP_ID)), APP_ID), events.Ignored)


def hostile_job() -> tuple[Any, Any]:
    """A bot job whose repository wrote markup into its test ids, file names and patch."""
    from datetime import datetime, timezone

    from repairbot.db.store import JobDetail, JobSummary, StoredPatch
    from repairbot.domain import SuspiciousLocation
    from repairbot.github.store import BotJob

    now = datetime.now(timezone.utc)
    evil = "<script>alert(1)</script> ``` @everyone [x](http://evil)"
    job = BotJob(1, 1, "d", REPO, "main", "c" * 40, "https://x", None, False, [], "reported", "success", None, 3,
                 1, "https://github.example/pr/1", None, evil, now, now)
    summary = JobSummary(1, "https://x", "succeeded", None, now, now, 1, 1, None, "bwrap", None, 1)
    diff = f"--- a/{evil}.py\n+++ b/{evil}.py\n@@ -1 +1 @@\n-x = '{evil}'\n+y = 1\n"
    detail = JobDetail(summary, ["pytest"], [(f"tests/test_x.py::{evil}", "boom")], [],
                       [SuspiciousLocation(f"{evil}.py", 1, 1, 0.5, "ochiai")],
                       [StoredPatch(1, f"{evil}.py", "template:x", evil, diff, "plausible")], {}, None)
    return job, detail


def test_the_pages_escape_what_the_repository_wrote() -> None:
    from repairbot.github import pages

    page = pages.job_detail(*hostile_job())
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_the_pull_request_body_keeps_what_the_repository_wrote_in_code() -> None:
    """Rendered as CommonMark (markdown-it, rich's parser): the repository's text shows only
    inside code, never as HTML, a link or a mention."""
    import re

    from markdown_it import MarkdownIt

    from repairbot.github import markdown

    html = MarkdownIt("commonmark").render(markdown.fix_body(*hostile_job(), None))
    outside_code = re.sub(r"<code[^>]*>.*?</code>", "", html, flags=re.DOTALL)
    assert "@everyone" in html and "@everyone" not in outside_code
    assert "<script>" not in html and 'href="http://evil"' not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_serve_without_its_settings_is_a_one_line_error(tmp_path: Path) -> None:
    env = {name: value for name, value in os.environ.items() if not name.startswith("REPAIRBOT_GITHUB_")}
    env["REPAIRBOT_DATA_DIR"] = str(tmp_path)
    result = subprocess.run([sys.executable, "-m", "repairbot", "serve"], env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2
    assert "REPAIRBOT_GITHUB_WEBHOOK_SECRET: Field required" in result.stderr and len(result.stderr.splitlines()) == 1


@pytest.mark.postgres
def test_with_a_broker_a_worker_of_its_own_runs_the_bots_job(tmp_path: Path, redis_url: str) -> None:
    """The service and a worker share only the database and the broker, as on two machines:
    the worker clones with an installation token it gets from its own settings."""
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(fresh_postgres_database())
        bot = stack.enter_context(running_bot(tmp_path, url, {"REPAIRBOT_BROKER_URL": redis_url}))
        stack.enter_context(worker(bot.env, tmp_path / "worker.log"))
        answer = bot.post("workflow_run", workflow_run(bot.head_sha, clone_url=bot.clone_url))
        assert answer.status_code == 202 and answer.json()["status"] == "accepted", answer.text
        job_id = answer.json()["job"]
        wait_for(lambda: bot.job(job_id)["state"] == "reported", "the worker's job to be reported")
        job = bot.job(job_id)
        assert job["conclusion"] == "success" and job["pr_number"] is not None
        assert not (tmp_path / "data" / "local-worker.lock").exists()  # no embedded worker ran it
        branch = f"repairbot/fix-{bot.head_sha[:7]}"
        assert changed_lines(git.Repo(bot.bare).git.diff(bot.head_sha, branch)) == EXPECTED
