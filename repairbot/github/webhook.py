"""A webhook delivery: signature verified over the raw body, then the JSON parsed.

Each refusal is a `Refused` with the HTTP status GitHub's delivery log will show: 413 for a
body over the limit (checked before anything is hashed), 401 for a missing or wrong
`X-Hub-Signature-256` (HMAC-SHA256 of the raw body with the webhook secret, compared in
constant time), 400 for a body that is not a JSON object or a delivery without its headers."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Delivery:
    """A verified delivery: `X-GitHub-Delivery`, `X-GitHub-Event` and the parsed body."""

    delivery_id: str
    event: str
    payload: dict[str, Any]


class Refused(Exception):
    """A delivery answered with `status` and a one-line `reason`."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def signature(secret: bytes, body: bytes) -> str:
    """What GitHub sends in `X-Hub-Signature-256` for `body`."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify(secret: bytes, body: bytes, headers: dict[str, str], max_bytes: int) -> Delivery:
    """The delivery in `body` (headers with lower-case names), or `Refused`."""
    if len(body) > max_bytes:
        raise Refused(413, f"body of {len(body)} bytes is over the limit of {max_bytes}")
    sent = headers.get("x-hub-signature-256", "")
    if not sent:
        raise Refused(401, "no X-Hub-Signature-256 header")
    if not hmac.compare_digest(sent.encode(), signature(secret, body).encode()):
        raise Refused(401, "X-Hub-Signature-256 does not match the body")
    event = headers.get("x-github-event", "")
    delivery_id = headers.get("x-github-delivery", "")
    if not event or not delivery_id or len(delivery_id) > 64 or len(event) > 64:
        raise Refused(400, "X-GitHub-Event and X-GitHub-Delivery headers are required")
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Refused(400, f"body is not JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise Refused(400, "body is not a JSON object")
    return Delivery(delivery_id, event, payload)
