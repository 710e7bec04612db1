"""Code language models behind one interface: `LanguageModel.infill(prefix, suffix, ...)`.

Backends (llama.cpp for GGUF files, transformers for Hugging Face checkpoints) are
imported only when a model of their kind is loaded, so repairbot runs without either.
"""

from repairbot.models.base import Completion, Guide, LanguageModel
from repairbot.models.install import DEFAULT_MODEL, ModelNotInstalled
from repairbot.models.registry import ModelSource, load, resolve

__all__ = ["DEFAULT_MODEL", "Completion", "Guide", "LanguageModel", "ModelNotInstalled", "ModelSource", "load", "resolve"]
