"""Java helpers of repairbot's own (the JaCoCo listener and reader, the Ant compiler adapter),
compiled on first use into a cache dir, never into the user's project.

A build is keyed by a fingerprint of its sources, the JDK (javac's real path names its
version) and the jars it compiles against (size and mtime change with a package upgrade),
so an upgrade of any of them builds anew. The sandbox runs tests as another uid and binds
the cache dir read-only: everything in it is made world-readable.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import platformdirs


class HelperBuildError(RuntimeError):
    """A helper cannot be compiled (no JDK, a missing jar, a compile error)."""


def default_cache_root() -> Path:
    return Path(platformdirs.user_cache_dir("repairbot")) / "java"


def javac() -> str:
    found = shutil.which("javac")
    if found is None:
        raise HelperBuildError("javac not found: repairbot's Java helpers need a JDK")
    return found


def fingerprint(sources_dir: Path, jars: tuple[Path, ...]) -> str:
    digest = hashlib.sha256(os.path.realpath(javac()).encode())
    for source in sorted(sources_dir.rglob("*")):
        if source.is_file():
            digest.update(source.relative_to(sources_dir).as_posix().encode() + b"\0" + source.read_bytes())
    for jar in jars:
        try:
            stat = jar.stat()
        except OSError as exc:
            raise HelperBuildError(f"{jar} is missing: {exc}") from exc
        digest.update(f"{jar}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


@functools.cache
def build(
    cache_root: Path, sources_dir: Path, jars: tuple[Path, ...], finish: Callable[[Path], None] | None = None
) -> Path:
    """The dir holding `classes/` (every `.java` under `sources_dir`, compiled against
    `jars`) and whatever `finish(staging)` adds. Compiled into a fresh dir beside the final
    one, then renamed into place: workers racing to build see either nothing or a whole build."""
    target = cache_root / fingerprint(sources_dir, jars)
    if target.is_dir():
        return target
    make_readable_dir(cache_root)
    staging = Path(tempfile.mkdtemp(prefix="build-", dir=cache_root))
    try:
        sources = sorted(str(p) for p in sources_dir.rglob("*.java"))
        result = subprocess.run(
            [javac(), "-nowarn", "-d", str(staging / "classes"), "-cp", os.pathsep.join(map(str, jars)), *sources],
            capture_output=True, text=True,
        )
        if result.returncode != 0:
            raise HelperBuildError(f"compiling {sources_dir.name} helpers failed: {result.stderr.strip()}")
        if finish is not None:
            finish(staging)
        _make_tree_readable(staging)
        try:
            staging.rename(target)
        except OSError:
            if not target.is_dir():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def make_readable_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o755)


def _make_tree_readable(root: Path) -> None:
    root.chmod(0o755)
    for path in root.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
