"""From the `model` setting to a loaded model.

The setting is the default model's name, the name of a GGUF file in the models dir, or a
path to a GGUF file or a Hugging Face checkpoint directory. Resolving only looks at files;
loading (seconds, ~2 GB of memory) happens once per process and model, so a worker that
runs many jobs pays it once.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from repairbot.errors import BadInput
from repairbot.models import install
from repairbot.models.base import LanguageModel

GGUF_MAGIC = b"GGUF"


@dataclass(frozen=True)
class ModelSource:
    name: str
    path: Path
    backend: Literal["llama", "transformers"]
    from_parts: bool = False  # the default model: assembled from its PyPI parts on first load


def resolve(spec: str, data_dir: Path) -> ModelSource:
    """Where the model named by `spec` is and what runs it; BadInput says why it is unusable.

    The default model counts as usable once its parts are installed: `load` assembles it.
    """
    if spec == install.DEFAULT_MODEL:
        path = install.default_model_path(data_dir)
        if not install.is_assembled(path):
            install.require_parts()
        return ModelSource(spec, path, "llama", from_parts=True)
    named = install.models_dir(data_dir) / f"{spec}.gguf"
    path = named if named.is_file() else Path(spec).expanduser()
    if path.is_file() and _is_gguf(path):
        return ModelSource(path.stem, path, "llama")
    if path.is_dir() and (path / "config.json").is_file():
        return ModelSource(path.name, path, "transformers")
    raise BadInput(
        f"model {spec!r} is neither the default model ({install.DEFAULT_MODEL}), a GGUF file "
        "nor a Hugging Face checkpoint directory (with a config.json)"
    )


def load(source: ModelSource, threads: int = 1, token_merging: bool = False) -> LanguageModel:
    """The model, loaded once per process; `token_merging` switches it on in a seq2seq
    model's encoder (BadInput for a model without an encoder)."""
    if source.from_parts:
        install.assemble(source.path)
    return _load(source, threads, token_merging)


@functools.lru_cache(maxsize=1)
def _load(source: ModelSource, threads: int, token_merging: bool) -> LanguageModel:
    """One model at a time: two 2 GB models in a laptop's memory is one too many."""
    if source.backend == "llama":
        if token_merging:
            raise BadInput(f"model {source.name} is a GGUF decoder: token merging applies to seq2seq (encoder) models")
        from repairbot.models.llama import LlamaModel

        return LlamaModel(source.path, source.name, threads=threads)
    from repairbot.models.hf import TransformersModel

    return TransformersModel(source.path, source.name, threads=threads, token_merging=token_merging)


def _is_gguf(path: Path) -> bool:
    with path.open("rb") as file:
        return file.read(len(GGUF_MAGIC)) == GGUF_MAGIC
