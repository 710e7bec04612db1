"""The only way to GitHub's REST API: the few endpoints the bot uses, at `api_url`.

Requests and the response fields read (GitHub REST API, version 2022-11-28):
- `POST /repos/{owner}/{repo}/check-runs` {name, head_sha, status, details_url, output} -> 201 {id}
- `PATCH /repos/{owner}/{repo}/check-runs/{id}` {status, conclusion, completed_at, output} -> 200
- `POST /repos/{owner}/{repo}/pulls` {title, head, base, body, maintainer_can_modify} -> 201 {number, html_url}
- `PATCH /repos/{owner}/{repo}/pulls/{number}` {body} -> 200
- `POST /repos/{owner}/{repo}/pulls/{number}/reviews` {commit_id, body, event: COMMENT,
  comments[{path, line, side, start_line?, start_side?, body}]} -> 200 {id, html_url};
  422 when a line is not in the pull request's diff
- `POST /repos/{owner}/{repo}/issues/{number}/comments` {body} -> 201 {id, html_url}
- `GET /repos/{owner}/{repo}/collaborators/{username}/permission` -> 200 {permission, role_name}
Each call authenticates with the installation's token (`Authorization: Bearer ...`)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from repairbot.github.auth import API_HEADERS, Tokens

# GitHub caps a check run's output text and summary at 65535 characters each.
MAX_OUTPUT_CHARS = 65535


class GitHubError(Exception):
    """GitHub answered a request with an error status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class GitHub:
    """API calls for one installation (None: the operator's token)."""

    def __init__(self, tokens: Tokens, installation_id: int | None, http: httpx.Client) -> None:
        self.tokens, self.installation_id, self.http = tokens, installation_id, http

    def _call(self, method: str, path: str, expect: int, json: dict[str, Any] | None = None) -> dict[str, Any]:
        token = self.tokens.for_installation(self.installation_id)
        response = self.http.request(method, path, json=json, headers={**API_HEADERS, "Authorization": f"Bearer {token}"})
        if response.status_code != expect:
            raise GitHubError(f"{method} {path}: HTTP {response.status_code} {response.text[:300]}",
                              response.status_code)
        return response.json()

    def create_check_run(self, repo: str, head_sha: str, name: str, details_url: str | None,
                         output: dict[str, str]) -> int:
        body: dict[str, Any] = {"name": name, "head_sha": head_sha, "status": "in_progress", "output": _capped(output)}
        if details_url:
            body["details_url"] = details_url
        return int(self._call("POST", f"/repos/{repo}/check-runs", 201, body)["id"])

    def complete_check_run(self, repo: str, check_run_id: int, conclusion: str, output: dict[str, str],
                           completed_at: str) -> None:
        body = {"status": "completed", "conclusion": conclusion, "completed_at": completed_at, "output": _capped(output)}
        self._call("PATCH", f"/repos/{repo}/check-runs/{check_run_id}", 200, body)

    def open_pull(self, repo: str, title: str, head: str, base: str, body: str) -> tuple[int, str]:
        pull = self._call("POST", f"/repos/{repo}/pulls", 201,
                          {"title": title, "head": head, "base": base, "body": body, "maintainer_can_modify": True})
        return int(pull["number"]), str(pull["html_url"])

    def update_pull_body(self, repo: str, number: int, body: str) -> None:
        self._call("PATCH", f"/repos/{repo}/pulls/{number}", 200, {"body": body})

    def review(self, repo: str, number: int, commit_id: str, body: str, comments: list[dict[str, object]]) -> str:
        """A review (event COMMENT) with line comments: GitHub's suggested changes."""
        review = self._call("POST", f"/repos/{repo}/pulls/{number}/reviews", 200,
                            {"commit_id": commit_id, "body": body, "event": "COMMENT", "comments": comments})
        return str(review["html_url"])

    def comment(self, repo: str, number: int, body: str) -> str:
        return str(self._call("POST", f"/repos/{repo}/issues/{number}/comments", 201, {"body": body})["html_url"])

    def last_green_commit(self, repo: str, branch: str) -> str | None:
        """The head commit of the newest successful workflow run on `branch`, if there is one."""
        found = self._call("GET", f"/repos/{repo}/actions/runs?branch={quote(branch, safe='')}&status=success&per_page=1",
                           200)
        runs = found.get("workflow_runs") or []
        sha = runs[0].get("head_sha") if runs and isinstance(runs[0], dict) else None
        return str(sha) if sha else None

    def permission(self, repo: str, user: str) -> tuple[str, str]:
        """(permission, role_name) of `user` on `repo`: admin/write/read/none, and the role."""
        found = self._call("GET", f"/repos/{repo}/collaborators/{user}/permission", 200)
        return str(found.get("permission", "none")), str(found.get("role_name", ""))


def _capped(output: dict[str, str]) -> dict[str, str]:
    return {name: value if len(value) <= MAX_OUTPUT_CHARS else value[:MAX_OUTPUT_CHARS - 20] + "\n… (cut)"
            for name, value in output.items()}
