"""Which webhook events mean a repair job, read from the payload fields GitHub documents.

- `workflow_run` (action `completed`, `workflow_run.conclusion` `failure`):
  `workflow_run.head_sha`, `.head_branch`, `.head_repository.full_name` (and `.html_url` for a
  fork's, which is cloned instead), `.pull_requests[].number`;
- `check_suite` (action `completed`, `check_suite.conclusion` `failure`):
  `check_suite.head_sha`, `.head_branch`, `.pull_requests[].number`;
- `check_run` (action `completed`, `check_run.conclusion` `failure`): `check_run.head_sha`,
  `.check_suite.head_branch`, `.pull_requests[].number`; a check run of this bot's own App
  (`check_run.app.id`) is skipped, or a neutral report would start a job on itself;
- every one: `repository.full_name`, `.clone_url`, and `installation.id` for an App;
- `issue_comment` (action `created` on a pull request): `issue.number`,
  `issue.pull_request`, `comment.body`, `comment.user.login`.

A payload that lacks a field its event needs is `Refused(400)`; an event that needs no job
is `Ignored` with the reason, answered 202."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from repairbot.github.webhook import Refused

OWN_BRANCH_PREFIX = "repairbot/"
HANDLED = ("workflow_run", "check_suite", "check_run")


@dataclass(frozen=True)
class Ignored:
    reason: str


@dataclass(frozen=True)
class RepairRequest:
    """A failed CI run to repair: the repository at `head_sha`."""

    repo: str  # owner/name of the repository where CI ran (and where a fix is pushed)
    clone_url: str
    branch: str
    head_sha: str
    installation_id: int | None
    fork: bool  # the commit comes from another repository (a fork's pull request)
    pull_numbers: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class RetryRequest:
    """`@bot retry <hint>` on a pull request."""

    repo: str
    pull_number: int
    user: str  # may ask only with write, maintain or admin permission (asked of the API, not the payload)
    hint: str
    installation_id: int | None


Wanted = RepairRequest | RetryRequest | Ignored

SHA = re.compile(r"^[0-9a-f]{40}$|^[0-9a-f]{64}$")
REPO = re.compile(r"^[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}$")
LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?$")


def _repo(payload: dict[str, Any]) -> str:
    repo = _get(payload, "repository.full_name")
    if not REPO.match(repo) or ".." in repo:
        raise Refused(400, "payload's repository.full_name is not owner/name")
    return repo


def _get(payload: dict[str, Any], path: str, kind: type | tuple[type, ...] = str) -> Any:
    value: Any = payload
    for name in path.split("."):
        if not isinstance(value, dict) or name not in value:
            raise Refused(400, f"payload has no {path}")
        value = value[name]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise Refused(400, f"payload's {path} is not a {getattr(kind, '__name__', kind)}")
    return value


def _installation(payload: dict[str, Any]) -> int | None:
    return _get(payload, "installation.id", int) if "installation" in payload else None


def read(event: str, payload: dict[str, Any], own_app_id: str | None = None) -> Wanted:
    """What `event` with `payload` asks of the bot."""
    if event == "issue_comment":
        return _comment(payload)
    if event not in HANDLED:
        return Ignored(f"event {event!r} starts no repair")
    action = _get(payload, "action")
    run = _get(payload, event, dict)
    if action != "completed":
        return Ignored(f"{event} {action}: only completed runs are repaired")
    conclusion = run.get("conclusion")
    if conclusion != "failure":
        return Ignored(f"{event} concluded {conclusion!r}: only failures are repaired")
    if event == "check_run" and own_app_id is not None and str((run.get("app") or {}).get("id")) == own_app_id:
        return Ignored("a check run of repairbot itself")
    head_sha = _get(payload, f"{event}.head_sha")
    if not SHA.match(head_sha):
        raise Refused(400, f"payload's {event}.head_sha is not a commit hash")
    branch_path = f"{event}.check_suite.head_branch" if event == "check_run" else f"{event}.head_branch"
    branch = _get(payload, branch_path)
    repo = _repo(payload)
    head_repo = _get(payload, "workflow_run.head_repository", dict) if event == "workflow_run" else {}
    fork = head_repo.get("full_name", repo) != repo
    # A fork's commit is in the fork (the base repository has it only under refs/pull/N/head).
    clone_url = _get(payload, "workflow_run.head_repository.html_url") + ".git" if fork else \
        _get(payload, "repository.clone_url")
    pulls = run.get("pull_requests") or []
    numbers = [pull["number"] for pull in pulls if isinstance(pull, dict) and isinstance(pull.get("number"), int)]
    return RepairRequest(
        repo=repo, clone_url=clone_url, branch=branch, head_sha=head_sha,
        installation_id=_installation(payload), fork=fork, pull_numbers=numbers,
    )


def _comment(payload: dict[str, Any]) -> RetryRequest | Ignored:
    if _get(payload, "action") != "created":
        return Ignored("only new comments are read")
    issue = _get(payload, "issue", dict)
    if not issue.get("pull_request"):
        return Ignored("a comment on an issue, not on a pull request")
    user = _get(payload, "comment.user.login")
    if not LOGIN.match(user):
        raise Refused(400, "payload's comment.user.login is not a GitHub login")
    return RetryRequest(
        repo=_repo(payload), pull_number=_get(payload, "issue.number", int), user=user, hint=_get(payload, "comment.body"), installation_id=_installation(payload),
    )
