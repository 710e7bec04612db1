"""A fake of GitHub's REST API (real HTTP, a thread), with exactly the endpoints the bot
uses, for tests and `scripts/bench_bot.py`: GitHub itself cannot be reached from here.

Shapes follow GitHub's REST documentation (API version 2022-11-28); the fields relied on:
- `POST /app/installations/{id}/access_tokens`, `Authorization: Bearer <JWT>`: the JWT is
  verified (RS256 with the App's public key, `iss` = the App id, `exp` at most 10 minutes
  after `iat`) -> 201 `{token, expires_at}`; a bad JWT -> 401.
- every other endpoint needs `Authorization: Bearer <token>` with a token issued above (or
  the static one given) -> else 401 `{message}`.
- `POST /repos/{owner}/{repo}/check-runs` `{name, head_sha, status?, details_url?,
  output?{title, summary, text?}}` -> 201 `{id, name, head_sha, status, conclusion, details_url, output}`;
  422 without name/head_sha or with an output lacking title or summary.
- `PATCH /repos/{owner}/{repo}/check-runs/{id}` `{status?, conclusion?, completed_at?, output?}`
  -> 200 the check run; `status: completed` needs a `conclusion` (422).
- `POST /repos/{owner}/{repo}/pulls` `{title, head, base, body?}` -> 201 `{number, html_url,
  state, title, body, head{ref, sha}, base{ref}}`; 422 when `head` is no branch of the
  repository's remote (the bare repository given) or a pull request for it is open.
- `PATCH /repos/{owner}/{repo}/pulls/{number}` `{body?}` -> 200 the pull request; 404.
- `POST /repos/{owner}/{repo}/pulls/{number}/reviews` `{commit_id, body, event, comments[{path, line,
  side, start_line?, start_side?, body}]}` -> 200 `{id, html_url, state, body}`; 422 "Line could not
  be resolved" when a comment's lines are not all right-side lines of the pull request's diff
  (`git diff base...head` of the remote: added and context lines of its hunks).
- `POST /repos/{owner}/{repo}/issues/{number}/comments` `{body}` -> 201 `{id, html_url, body}`.
- `GET /repos/{owner}/{repo}/collaborators/{username}/permission` -> 200 `{permission, role_name,
  user{login}}` from the permissions given (else `none`).
- `GET /repos/{owner}/{repo}/actions/runs?branch=B&status=success&per_page=1` -> 200 `{total_count,
  workflow_runs[{id, head_branch, head_sha, status, conclusion}]}`: the run recorded in `green`
  for the branch (none: an empty list).
Issue and pull request numbers share one sequence per repository, as on GitHub.

It also serves each remote over git's smart HTTP protocol at `/git/{owner}/{repo}.git`
(`git http-backend` as a CGI program, as GitHub serves `https://github.com/{owner}/{repo}.git`),
and only to a request carrying an issued token the way GitHub takes it from an App: basic auth
with user `x-access-token` (else 401 with `WWW-Authenticate`, so git would ask for a password).
`git_requests` records (method, path, token) of each: the test sees which token git sent.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import subprocess
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import jwt


@dataclass
class FakeGitHub:
    """State of the fake, readable by the test: every request, check runs, pulls, comments."""

    app_id: str
    public_key: str
    remotes: dict[str, Path]  # owner/name -> its bare repository
    permissions: dict[str, str] = field(default_factory=dict)  # login -> admin/write/read
    static_token: str | None = None
    token_ttl_s: int = 3600
    requests: list[tuple[str, str]] = field(default_factory=list)
    tokens: dict[str, int] = field(default_factory=dict)  # token -> installation id
    check_runs: dict[int, dict[str, Any]] = field(default_factory=dict)
    pulls: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)
    comments: list[dict[str, Any]] = field(default_factory=list)
    git_requests: list[tuple[str, str, str]] = field(default_factory=list)
    reviews: list[dict[str, Any]] = field(default_factory=list)
    green: dict[tuple[str, str], str] = field(default_factory=dict)  # (repo, branch) -> last green head sha
    _numbers: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def next_number(self, repo: str) -> int:
        self._numbers[repo] = self._numbers.get(repo, 0) + 1
        return self._numbers[repo]

    def add_pull(self, repo: str, head: str, base: str) -> int:
        """A pull request someone opened (not the bot): `head` and `base` branches of the remote."""
        with self.lock:
            number = self.next_number(repo)
            self.pulls[(repo, number)] = {
                "number": number, "html_url": f"https://github.example/{repo}/pull/{number}", "state": "open",
                "title": "a change", "body": "", "head": {"ref": head, "sha": _rev(self.remotes[repo], head)},
                "base": {"ref": base}, "created_at": _now(),
            }
        return number

    def clone_url(self, repo: str) -> str:
        return f"{self.url}/git/{repo}.git"

    def count(self, method: str, pattern: str) -> int:
        return sum(1 for m, path in self.requests if m == method and re.fullmatch(pattern, path))


ROUTES = [
    ("POST", re.compile(r"/app/installations/(\d+)/access_tokens"), "access_token"),
    ("POST", re.compile(r"/repos/([\w.-]+/[\w.-]+)/check-runs"), "create_check_run"),
    ("PATCH", re.compile(r"/repos/([\w.-]+/[\w.-]+)/check-runs/(\d+)"), "update_check_run"),
    ("POST", re.compile(r"/repos/([\w.-]+/[\w.-]+)/pulls"), "create_pull"),
    ("PATCH", re.compile(r"/repos/([\w.-]+/[\w.-]+)/pulls/(\d+)"), "update_pull"),
    ("POST", re.compile(r"/repos/([\w.-]+/[\w.-]+)/pulls/(\d+)/reviews"), "create_review"),
    ("POST", re.compile(r"/repos/([\w.-]+/[\w.-]+)/issues/(\d+)/comments"), "comment"),
    ("GET", re.compile(r"/repos/([\w.-]+/[\w.-]+)/collaborators/([\w-]+)/permission"), "permission"),
    ("GET", re.compile(r"/repos/([\w.-]+/[\w.-]+)/actions/runs"), "workflow_runs"),
]


class _Reply(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status, self.body = status, body


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Handler(BaseHTTPRequestHandler):
    fake: FakeGitHub
    query: dict[str, str]  # the request's query parameters, the last value of each

    def log_message(self, *_: Any) -> None:  # quiet
        pass

    def _serve(self, method: str) -> None:
        fake = self.fake
        path, _, query = self.path.partition("?")
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if path.startswith("/git/"):
            self._git(method, path, query, raw)
            return
        with fake.lock:
            fake.requests.append((method, path))
        self.query = {name: values[-1] for name, values in parse_qs(query).items()}
        try:
            body = json.loads(raw) if raw else {}
            for route_method, pattern, name in ROUTES:
                found = pattern.fullmatch(path)
                if found and route_method == method:
                    if name != "access_token":
                        self._authorized()
                    with fake.lock:
                        status, reply = getattr(self, name)(body, *found.groups())
                    break
            else:
                raise _Reply(404, {"message": "Not Found"})
        except _Reply as answer:
            status, reply = answer.status, answer.body
        data = json.dumps(reply).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def _git(self, method: str, path: str, query: str, raw: bytes) -> None:
        """One request of git's smart HTTP protocol, answered by `git http-backend`."""
        found = re.fullmatch(r"/git/([\w.-]+/[\w.-]+)\.git(/.*)", path)
        remote = self.fake.remotes.get(found.group(1)) if found else None
        scheme, _, credential = self.headers.get("Authorization", "").partition(" ")
        user, _, token = base64.b64decode(credential or "").decode(errors="replace").partition(":") \
            if scheme == "Basic" else ("", "", "")
        with self.fake.lock:
            self.fake.git_requests.append((method, path, token))
        if remote is None or user != "x-access-token" or token not in self.fake.tokens:
            self.send_response(404 if remote is None else 401)
            self.send_header("WWW-Authenticate", 'Basic realm="GitHub"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        assert found is not None
        env = {
            "PATH": os.environ["PATH"], "GIT_PROJECT_ROOT": str(remote.parent), "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": f"/{remote.name}{found.group(2)}", "QUERY_STRING": query, "REQUEST_METHOD": method,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""), "CONTENT_LENGTH": str(len(raw)),
            "REMOTE_USER": user, "REMOTE_ADDR": "127.0.0.1",
            "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
            "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
        }
        result = subprocess.run(["git", "http-backend"], input=raw, env=env, capture_output=True, check=False)
        head, _, body = result.stdout.partition(b"\r\n\r\n")
        headers = [line.split(":", 1) for line in head.decode().split("\r\n") if ":" in line]
        status = next((int(value.split()[0]) for name, value in headers if name.lower() == "status"), 200)
        self.send_response(status)
        for name, value in headers:
            if name.lower() != "status":
                self.send_header(name, value.strip())
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _bearer(self) -> str:
        header = self.headers.get("Authorization", "")
        scheme, _, credential = header.partition(" ")
        if scheme.lower() not in ("bearer", "token") or not credential:
            raise _Reply(401, {"message": "Requires authentication"})
        return credential

    def _authorized(self) -> None:
        token = self._bearer()
        if token not in self.fake.tokens and token != self.fake.static_token:
            raise _Reply(401, {"message": "Bad credentials"})

    def access_token(self, _: dict[str, Any], installation: str) -> tuple[int, dict[str, Any]]:
        try:
            claims = jwt.decode(self._bearer(), self.fake.public_key, algorithms=["RS256"],
                                options={"require": ["iat", "exp", "iss"]}, leeway=60)
        except jwt.PyJWTError as exc:
            raise _Reply(401, {"message": f"A JSON web token could not be decoded: {exc}"}) from None
        if str(claims["iss"]) != self.fake.app_id or claims["exp"] - claims["iat"] > 600:
            raise _Reply(401, {"message": "'Issuer' claim or expiry is wrong"})
        token = "ghs_" + secrets.token_hex(18)
        self.fake.tokens[token] = int(installation)
        expires = datetime.now(timezone.utc) + timedelta(seconds=self.fake.token_ttl_s)
        return 201, {"token": token, "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%SZ"), "permissions": {}}

    @staticmethod
    def _check_output(body: dict[str, Any]) -> None:
        output = body.get("output")
        if output is not None and not (isinstance(output.get("title"), str) and isinstance(output.get("summary"), str)):
            raise _Reply(422, {"message": "Invalid request: output needs title and summary"})

    def create_check_run(self, body: dict[str, Any], repo: str) -> tuple[int, dict[str, Any]]:
        if not body.get("name") or not body.get("head_sha"):
            raise _Reply(422, {"message": "Invalid request: name and head_sha are required"})
        self._check_output(body)
        run_id = len(self.fake.check_runs) + 1
        run = {"id": run_id, "repo": repo, "name": body["name"], "head_sha": body["head_sha"],
               "status": body.get("status", "queued"), "conclusion": None, "details_url": body.get("details_url"),
               "started_at": _now(), "completed_at": None, "output": body.get("output", {}), "history": []}
        self.fake.check_runs[run_id] = run
        return 201, run

    def update_check_run(self, body: dict[str, Any], repo: str, run_id: str) -> tuple[int, dict[str, Any]]:
        run = self.fake.check_runs.get(int(run_id))
        if run is None or run["repo"] != repo:
            raise _Reply(404, {"message": "Not Found"})
        if body.get("status") == "completed" and not body.get("conclusion"):
            raise _Reply(422, {"message": "Invalid request: conclusion is required when status is completed"})
        self._check_output(body)
        run["history"].append(run["status"])
        for name in ("status", "conclusion", "completed_at", "output"):
            if name in body:
                run[name] = body[name]
        return 200, run

    def create_pull(self, body: dict[str, Any], repo: str) -> tuple[int, dict[str, Any]]:
        for name in ("title", "head", "base"):
            if not isinstance(body.get(name), str):
                raise _Reply(422, {"message": f"Invalid request: {name} is required"})
        remote = self.fake.remotes.get(repo)
        if remote is None:
            raise _Reply(404, {"message": "Not Found"})
        head_sha = _rev(remote, body["head"])
        if head_sha is None or _rev(remote, body["base"]) is None:
            raise _Reply(422, {"message": "Validation Failed", "errors": [{"field": "head", "code": "invalid"}]})
        if any(p["head"]["ref"] == body["head"] and p["state"] == "open" for (r, _), p in self.fake.pulls.items()
               if r == repo):
            raise _Reply(422, {"message": f"A pull request already exists for {body['head']}."})
        number = self.fake.next_number(repo)
        pull = {"number": number, "html_url": f"https://github.example/{repo}/pull/{number}", "state": "open",
                "title": body["title"], "body": body.get("body") or "", "head": {"ref": body["head"], "sha": head_sha},
                "base": {"ref": body["base"]}, "created_at": _now()}
        self.fake.pulls[(repo, number)] = pull
        return 201, pull

    def _pull(self, repo: str, number: str) -> dict[str, Any]:
        pull = self.fake.pulls.get((repo, int(number)))
        if pull is None:
            raise _Reply(404, {"message": "Not Found"})
        return pull

    def update_pull(self, body: dict[str, Any], repo: str, number: str) -> tuple[int, dict[str, Any]]:
        pull = self._pull(repo, number)
        for name in ("title", "body", "state"):
            if name in body:
                pull[name] = body[name]
        return 200, pull

    def create_review(self, body: dict[str, Any], repo: str, number: str) -> tuple[int, dict[str, Any]]:
        pull = self._pull(repo, number)
        if body.get("event") not in ("COMMENT", "APPROVE", "REQUEST_CHANGES") or not isinstance(body.get("body"), str):
            raise _Reply(422, {"message": "Invalid request: event and body are required"})
        commentable = _right_lines(self.fake.remotes[repo], pull["base"]["ref"], pull["head"]["ref"])
        for comment in body.get("comments", []):
            first = comment.get("start_line", comment.get("line"))
            lines = set(range(first, comment["line"] + 1)) if isinstance(first, int) else {None}
            if comment.get("side", "RIGHT") != "RIGHT" or not lines <= commentable.get(comment.get("path"), set()):
                raise _Reply(422, {"message": "Unprocessable Entity",
                                   "errors": ["Pull request review thread line must be part of the diff",
                                              "Line could not be resolved"]})
        review = {"id": len(self.fake.reviews) + 1, "repo": repo, "number": int(number), "state": "COMMENTED",
                  "commit_id": body.get("commit_id"), "body": body["body"], "comments": body.get("comments", []),
                  "html_url": f"https://github.example/{repo}/pull/{number}#pullrequestreview-{len(self.fake.reviews) + 1}"}
        self.fake.reviews.append(review)
        return 200, review

    def comment(self, body: dict[str, Any], repo: str, number: str) -> tuple[int, dict[str, Any]]:
        if not isinstance(body.get("body"), str):
            raise _Reply(422, {"message": "Invalid request: body is required"})
        comment_id = len(self.fake.comments) + 1
        comment = {"id": comment_id, "repo": repo, "number": int(number), "body": body["body"],
                   "html_url": f"https://github.example/{repo}/pull/{number}#issuecomment-{comment_id}"}
        self.fake.comments.append(comment)
        return 201, comment

    def workflow_runs(self, _: dict[str, Any], repo: str) -> tuple[int, dict[str, Any]]:
        sha = self.fake.green.get((repo, self.query.get("branch", "")))
        if self.query.get("status") != "success" or sha is None:
            return 200, {"total_count": 0, "workflow_runs": []}
        run = {"id": 1, "head_branch": self.query["branch"], "head_sha": sha, "status": "completed",
               "conclusion": "success"}
        return 200, {"total_count": 1, "workflow_runs": [run]}

    def permission(self, _: dict[str, Any], repo: str, login: str) -> tuple[int, dict[str, Any]]:
        permission = self.fake.permissions.get(login, "none")
        return 200, {"permission": permission, "role_name": permission, "user": {"login": login}}


def _rev(remote: Path, branch: str) -> str | None:
    result = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"], cwd=remote,
                            capture_output=True, text=True, check=False)
    return result.stdout.strip() or None


def _right_lines(remote: Path, base: str, head: str) -> dict[str, set[int]]:
    """Per file, the head-side line numbers a review may comment on: added and context lines
    of the hunks of `git diff base...head`."""
    diff = subprocess.run(["git", "diff", f"{base}...{head}"], cwd=remote, capture_output=True, text=True,
                          check=True).stdout
    lines: dict[str, set[int]] = {}
    path, new = "", 0
    for line in diff.splitlines():
        if line.startswith("+++ "):
            path = line[4:].removeprefix("b/")
        elif line.startswith("@@"):
            new = int(re.match(r"@@ -\S+ \+(\d+)", line).group(1))  # type: ignore[union-attr]
        elif line.startswith((" ", "+")) and not line.startswith("+++"):
            lines.setdefault(path, set()).add(new)
            new += 1
    return lines


class Server:
    """`with Server(fake) as url:` serves the fake on a free port of 127.0.0.1."""

    def __init__(self, fake: FakeGitHub) -> None:
        handler = type("Handler", (_Handler,), {"fake": fake})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.fake = fake
        fake.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="fake-github", daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        return self.fake.url

    def __exit__(self, *_: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def wait_for(condition: Any, what: str, timeout_s: float = 600) -> None:
    """A hang guard for a condition on the fake's state, not a speed test."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)
