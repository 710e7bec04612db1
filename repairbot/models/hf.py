"""Local Hugging Face checkpoints through transformers: causal LMs and T5-style seq2seq.

A causal model fills the middle when its tokenizer knows the FIM tokens (Qwen-, StarCoder-
style code models) and otherwise just continues the prefix, which is how left-to-right
models repair code. A seq2seq model (CodeT5) gets the T5 span task: the sentinel marks the
hole in the input, and the output starts with the same sentinel and ends at the next
special token. Only local files are read (`local_files_only`): a job never reaches a hub.
"""

from __future__ import annotations

import copy
import inspect
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer, PreTrainedModel

from repairbot.errors import BadInput
from repairbot.models.base import FIM_MIDDLE, FIM_PREFIX, FIM_SUFFIX, T5_SENTINEL, Completion, Guide, fit
from repairbot.models.decode import Sampling, complete

# Qwen's FIM ends at `<|endoftext|>`, which its generation config leaves out (it lists
# `<|im_end|>`, for chat): without it a FIM completion runs on to max_tokens.
END_OF_TEXT = "<|endoftext|>"


class TransformersModel:
    def __init__(self, path: Path, name: str, threads: int = 1, context_tokens: int = 2048, seed: int = 0) -> None:
        # Process-wide, like llama's n_threads: on 2 busy cores one thread is the fast setting.
        torch.set_num_threads(threads)
        self.name = name
        self._tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        config = AutoConfig.from_pretrained(path, local_files_only=True)
        self.seq2seq = bool(getattr(config, "is_encoder_decoder", False))
        loader = AutoModelForSeq2SeqLM if self.seq2seq else AutoModelForCausalLM
        self._model: PreTrainedModel = loader.from_pretrained(path, local_files_only=True).eval()
        # transformers 5 renamed `past_key_values` to `cache` (and warns on the old name).
        forward = inspect.signature(self._model.forward).parameters
        self._cache_name = "cache" if "cache" in forward else "past_key_values"
        self._context_tokens = context_tokens
        self._sampling = Sampling(seed=seed)
        self._fim = [self._token_id(token) for token in (FIM_PREFIX, FIM_SUFFIX, FIM_MIDDLE)]
        self._sentinel = self._token_id(T5_SENTINEL)
        if self.seq2seq and self._sentinel is None:
            raise BadInput(f"model {name} has no {T5_SENTINEL} token: it cannot fill a span")
        self._ends = self._end_tokens()
        self._lock = threading.Lock()

    @property
    def sees_suffix(self) -> bool:
        """Seq2seq and FIM-trained causal models fill the middle; others only continue the prefix."""
        return self.seq2seq or None not in self._fim

    def infill(
        self,
        prefix: str,
        suffix: str,
        n: int,
        max_tokens: int,
        stop: Sequence[str] = (),
        deadline: float | None = None,
        guide: Guide | None = None,
    ) -> list[Completion]:
        with self._lock, torch.inference_mode():
            session = self._session(prefix, suffix, max_tokens)
            return complete(session, n, max_tokens, stop, deadline, self._sampling, guide)

    def _session(self, prefix: str, suffix: str, max_tokens: int) -> _TorchSession:
        before, after = fit(self._encode(prefix), self._encode(suffix), room=self._context_tokens - max_tokens - 3)
        tokenizer = self._tokenizer
        if self.seq2seq:
            eos = [] if tokenizer.eos_token_id is None else [tokenizer.eos_token_id]
            encoder = self._model.get_encoder()(input_ids=torch.tensor([[*before, self._sentinel, *after, *eos]]))
            start = [self._model.config.decoder_start_token_id, self._sentinel]
            return self._start(start, "decoder_input_ids", encoder_outputs=encoder)
        if self.sees_suffix:
            start_of, suffix_of, middle_of = self._fim
            return self._start([start_of, *before, suffix_of, *after, middle_of], "input_ids")
        bos = [] if tokenizer.bos_token_id is None else [tokenizer.bos_token_id]
        return self._start([*bos, *before], "input_ids")

    def _start(self, prompt: list[int], input_name: str, **fixed: Any) -> _TorchSession:
        def step(tokens: list[int], cache: Any) -> tuple[np.ndarray, Any]:
            inputs = {input_name: torch.tensor([tokens]), self._cache_name: cache}
            output = self._model(**inputs, **fixed, use_cache=True)
            return output.logits[0, -1].float().numpy(), output[self._cache_name]

        return _TorchSession(step, prompt, self._encode, self._decode, self._ends)

    def _encode(self, text: str) -> list[int]:
        return list(self._tokenizer(text, add_special_tokens=False)["input_ids"])

    def _decode(self, tokens: list[int]) -> str:
        return self._tokenizer.decode(tokens, skip_special_tokens=False, clean_up_tokenization_spaces=False)

    def _token_id(self, token: str) -> int | None:
        if token not in self._tokenizer.get_vocab():
            return None
        return self._tokenizer.convert_tokens_to_ids(token)

    def _end_tokens(self) -> frozenset[int]:
        """Every special token ends a hole: EOS, `<|endoftext|>`, pad, the next T5 sentinel..."""
        configured = self._model.generation_config.eos_token_id
        configured = configured if isinstance(configured, list) else [configured]
        ids = {*self._tokenizer.all_special_ids, *configured, self._token_id(END_OF_TEXT)}
        return frozenset(i for i in ids if i is not None)


Step = Callable[[list[int], Any], tuple[np.ndarray, Any]]


class _TorchSession:
    """The KV cache after the prompt is kept and each completion decodes from a copy of it:
    the prompt is read once per hole, not once per sample."""

    def __init__(
        self, step: Step, prompt: list[int], encode: Callable[[str], list[int]],
        decode: Callable[[list[int]], str], ends: frozenset[int],
    ) -> None:
        self._step = step
        self._prompt_logits, self._prompt_cache = step(prompt, None)
        self._cache = self._prompt_cache
        self.encode = encode
        self.decode = decode
        self._ends = ends

    def restart(self) -> np.ndarray:
        self._cache = copy.deepcopy(self._prompt_cache)
        return self._prompt_logits

    def feed(self, tokens: list[int]) -> np.ndarray:
        logits, self._cache = self._step(tokens, self._cache)
        return logits

    def is_end(self, token: int) -> bool:
        return token in self._ends
