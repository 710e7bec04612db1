"""The token for git, handed over in the environment of the one git command that needs it.

Never in the clone URL (git would store it in the clone's `.git/config`, where the
repository's own tests could read it, and it would reach the job's recorded input in the
database), never on a command line (`ps` shows it): `GIT_CONFIG_COUNT` / `GIT_CONFIG_KEY_0` /
`GIT_CONFIG_VALUE_0` set `http.extraHeader` for that process alone (git >= 2.31)."""

from __future__ import annotations

import base64


def git_env(token: str) -> dict[str, str]:
    """Environment entries that make git send `token` as GitHub expects from an App
    (basic auth with user `x-access-token`)."""
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "http.extraHeader",
        "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
        "GIT_TERMINAL_PROMPT": "0",
    }


def clone_env_for_job(job_id: int, database_url: str) -> dict[str, str]:
    """In a worker: the git environment for bot job of repair job `job_id`, from the bot's
    settings in this process's environment (the same as `repairbot serve`'s)."""
    from repairbot.errors import BadInput
    from repairbot.github.auth import AuthError, Tokens
    from repairbot.github.settings import load_bot_settings
    from repairbot.github.store import BotStore

    store = BotStore(database_url, migrate=False)
    try:
        return git_env(Tokens(load_bot_settings()).for_installation(store.installation_of(job_id)))
    except (AuthError, LookupError) as exc:
        raise BadInput(f"no token to clone with: {exc}") from exc
    finally:
        store.close()
