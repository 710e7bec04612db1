"""Tokens for GitHub's API and for git: as a GitHub App (a JWT signed with the App's private
key, RS256, exchanged for an installation access token, cached until shortly before it
expires) or one operator-given token for a single repository."""

from __future__ import annotations

import threading
import time
from datetime import datetime

import httpx
import jwt

from repairbot.github.settings import BotSettings

API_HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
# A token is used again until this long before GitHub's `expires_at` (an hour after issue).
REFRESH_MARGIN_S = 300


class AuthError(Exception):
    """GitHub refused to issue a token."""


class Tokens:
    """`for_installation(id)`: a token valid for a while yet; thread-safe."""

    def __init__(self, settings: BotSettings, http: httpx.Client | None = None) -> None:
        self.settings = settings
        self._http = http or httpx.Client(base_url=settings.api_url, timeout=30)
        self._cache: dict[int, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def app_jwt(self) -> str:
        """The App's own credential (10 minutes at most; issued a minute in the past
        against clock drift)."""
        now = int(time.time())
        payload = {"iat": now - 60, "exp": now + 540, "iss": self.settings.app_id}
        return jwt.encode(payload, self.settings.pem(), algorithm="RS256")

    def for_installation(self, installation_id: int | None) -> str:
        if self.settings.token is not None:
            return self.settings.token.get_secret_value()
        if installation_id is None:
            raise AuthError("the event names no installation and REPAIRBOT_GITHUB_TOKEN is not set")
        with self._lock:
            cached = self._cache.get(installation_id)
            if cached is not None and cached[1] - REFRESH_MARGIN_S > time.time():
                return cached[0]
            response = self._http.post(
                f"/app/installations/{installation_id}/access_tokens",
                headers={**API_HEADERS, "Authorization": f"Bearer {self.app_jwt()}"},
            )
            if response.status_code != 201:
                raise AuthError(f"installation token for {installation_id}: HTTP {response.status_code} "
                                f"{response.text[:200]}")
            body = response.json()
            expires = datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00")).timestamp()
            self._cache[installation_id] = (body["token"], expires)
            return body["token"]
