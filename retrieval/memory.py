"""The platform's memory of bug fixes: where the index lives, opening it, and keeping it
up to date with the history of the repositories repairbot works on.

Mining a repository is incremental by commit: `mined.json` in the index directory records,
per repository, the HEAD mined last time, and the next run mines only the commits since.
A repository is identified by its root commit, so a clone, a fork or a temporary copy of it
continue where the other left off.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import git

from repairbot.config import load_settings
from repairbot.domain import SuspiciousLocation
from retrieval.files import write_text
from retrieval.index import META_FILE, HybridIndex, read_meta
from retrieval.mining import MiningLimits, mine_repository
from retrieval.retrieve import RetrievalContext, retrieve

if TYPE_CHECKING:  # torch loads only when an index is opened
    from retrieval.encoders import Encoder

INDEX_DIR_ENV = "REPAIRBOT_INDEX_DIR"
MINED_FILE = "mined.json"
# A repair job mines at most this many recent commits of its repository on the first run
# (click's 2,100 commits took ~15 s here); later runs only mine the commits since.
JOB_LIMITS = MiningLimits(max_commits=1000)


@dataclass(frozen=True)
class MemoryUpdate:
    """What one mining run added."""

    repository: str
    head: str | None
    commits_scanned: int
    fix_commits: int
    pairs_found: int
    pairs_added: int


def index_dir() -> Path:
    """`REPAIRBOT_INDEX_DIR`, else `index/` in the operator's data dir (the `data_dir`
    setting, where the models are too). Raises BadInput for invalid settings."""
    configured = os.environ.get(INDEX_DIR_ENV)
    return Path(configured).expanduser() if configured else load_settings().data_dir / "index"


def open_index(directory: Path | None = None, encoder: Encoder | None = None) -> HybridIndex:
    """The index in `directory` (default `index_dir()`), or a new empty one if there is none.
    Without `encoder`, the encoder the index was built with is loaded, with the same
    settings (for a new index: `encoders.DEFAULT_CONFIG`)."""
    from retrieval.encoders import DEFAULT_CONFIG, TransformerEncoder

    directory = directory or index_dir()
    if (directory / META_FILE).is_file():
        config = read_meta(directory)["encoder_config"]
        return HybridIndex.load(directory, encoder or TransformerEncoder.from_config(config))
    return HybridIndex.for_encoder(encoder or TransformerEncoder.from_config(DEFAULT_CONFIG))


def remember_repository(
    index: HybridIndex, repository: Path, directory: Path | None = None, limits: MiningLimits = JOB_LIMITS
) -> MemoryUpdate | None:
    """Mine the bug fixes committed to `repository` since the last run into `index`, then
    save the index to `directory` (default `index_dir()`). None when `repository` is not a
    git repository (nothing to remember, not an error: many projects arrive as plain trees)."""
    directory = directory or index_dir()
    try:
        identity = repository_identity(repository)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None
    if identity is None:
        return MemoryUpdate(str(repository), None, 0, 0, 0, 0)
    state = _read_state(directory)
    previous = state.get(identity, {})
    result = mine_repository(repository, since=previous.get("head"), limits=limits)
    added = index.add(result.pairs)
    index.save(directory)
    state[identity] = {
        "head": result.head, "path": str(repository.resolve()), "pairs": previous.get("pairs", 0) + added,
    }
    write_text(directory / MINED_FILE, json.dumps(state, indent=2) + "\n")
    return MemoryUpdate(str(repository), result.head, result.commits_scanned, result.fix_commits,
                        len(result.pairs), added)


def mined_repositories(directory: Path | None = None) -> dict[str, dict]:
    """Root commit -> {head, path, pairs} of every repository mined into the index."""
    return _read_state(directory or index_dir())


def repository_identity(repository: Path) -> str | None:
    """The root commit's hash; None for a repository without commits."""
    repo = git.Repo(repository, search_parent_directories=True)
    try:
        if not repo.head.is_valid():
            return None
        return repo.git.rev_list("--max-parents=0", "HEAD").split()[-1]
    finally:
        repo.close()


def _read_state(directory: Path) -> dict[str, dict]:
    path = directory / MINED_FILE
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except ValueError:
        return {}  # a damaged cache only costs a full re-mine; duplicates are dropped


def recall(
    project: Path, work_copy: Path, locations: list[SuspiciousLocation], k: int, similar_lines: int = 0,
    directory: Path | None = None, mine: bool = True,
) -> dict[SuspiciousLocation, RetrievalContext]:
    """The retrieve stage of a repair job: for each suspicious location, the `k` past fixes
    most like its code (RAP-Gen) and the `similar_lines` lines of its file most like it
    (MultiMend). With `mine`, the project's own history (when `project` is a git repository)
    is mined into the index first, incrementally. Costs nothing, not even loading the
    encoder, when there is nothing to look up: no index, nothing to mine, no similar lines."""
    directory = directory or index_dir()
    mineable = mine and (project / ".git").exists()
    if not (directory / META_FILE).is_file() and not mineable and similar_lines <= 0:
        return {}
    index = open_index(directory)
    if mineable:
        remember_repository(index, project, directory)
    if len(index) == 0 and similar_lines <= 0:
        return {}
    contexts = retrieve(work_copy, locations, index, k=k, similar_lines=similar_lines)
    return {location: context for location, context in contexts.items() if context.fixes or context.similar_lines}
