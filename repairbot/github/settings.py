"""The bot's settings: the operator's environment alone (`REPAIRBOT_GITHUB_*`).

Kept apart from `repairbot.config.Settings`, which a repository's own file may partly set:
nothing here ever comes from a repository."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PUBLIC_API = "https://api.github.com"


class BotSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REPAIRBOT_GITHUB_", extra="ignore")

    webhook_secret: SecretStr = Field(description="The GitHub App's (or repository webhook's) secret.")
    api_url: str = Field(default=PUBLIC_API, description="GitHub's REST API: the public one, Enterprise's or a fake.")
    app_id: str | None = Field(default=None, description="GitHub App id: with the private key, tokens per installation.")
    private_key: SecretStr | None = Field(default=None, description="The App's PEM private key (the text).")
    private_key_path: Path | None = Field(default=None, description="Or the path of the PEM file.")
    token: SecretStr | None = Field(default=None, description="Instead of an App: one token for one repository.")
    bot_name: str = Field(default="repairbot", description="The name comments mention: `@repairbot retry`.")
    public_url: str = Field(default="", description="Where people reach this service: links in check runs and PRs.")
    max_body_bytes: int = Field(default=4 * 1024 * 1024, gt=0, description="Larger webhook bodies get 413.")
    allow_repos: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="owner/name patterns (fnmatch, comma-separated) repaired; empty: every one."
    )
    deny_repos: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="owner/name patterns never repaired (wins over allow)."
    )
    allow_forks: bool = Field(
        default=False, description="Repair failures of pull requests from forks (reported, never pushed)."
    )
    review_pull_requests: bool = Field(
        default=False, description="A failing pull request gets the fix as a review with suggested changes "
        "instead of a pull request of its own.",
    )
    baseline_from_green_run: bool = Field(
        default=True,
        description="A job's baseline_rev is the head of the branch's last successful workflow run: a test that fails "
        "there too in repairbot's sandbox is the environment's, not the change's, and is set aside.",
    )
    max_concurrent_per_repo: int = Field(default=2, gt=0, description="Jobs of one repository pending at once.")
    max_jobs_per_day: int = Field(default=50, gt=0, description="Jobs started for one repository per 24 hours.")
    poll_s: float = Field(default=1.0, gt=0, description="How often the reporter looks at the jobs it follows.")

    @field_validator("allow_repos", "deny_repos", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [name.strip() for name in value.split(",") if name.strip()]
        return value

    @model_validator(mode="after")
    def _one_way_in(self) -> BotSettings:
        if self.token is None and (self.app_id is None or (self.private_key is None and self.private_key_path is None)):
            raise ValueError("set REPAIRBOT_GITHUB_TOKEN, or REPAIRBOT_GITHUB_APP_ID with "
                             "REPAIRBOT_GITHUB_PRIVATE_KEY or REPAIRBOT_GITHUB_PRIVATE_KEY_PATH")
        return self

    def pem(self) -> str:
        """The App's private key."""
        if self.private_key is not None:
            return self.private_key.get_secret_value()
        assert self.private_key_path is not None
        return self.private_key_path.read_text()


def load_bot_settings() -> BotSettings:
    """From the environment; a clear one-line error (BadInput) when something is missing."""
    from pydantic import ValidationError

    from repairbot.errors import BadInput

    try:
        return BotSettings()  # type: ignore[call-arg]
    except ValidationError as exc:
        problems = "; ".join(
            f"{'REPAIRBOT_GITHUB_' + str(e['loc'][0]).upper() + ': ' if e['loc'] else ''}{e['msg']}"
            for e in exc.errors()
        )
        raise BadInput(f"invalid GitHub bot settings (REPAIRBOT_GITHUB_*): {problems}") from exc
