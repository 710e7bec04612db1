"""Local Hugging Face checkpoints through transformers: causal LMs and T5-style seq2seq.

A causal model fills the middle when its tokenizer knows the FIM tokens (Qwen-, StarCoder-
style code models) and otherwise just continues the prefix, which is how left-to-right
models repair code. A seq2seq model (CodeT5) gets the T5 span task: the sentinel marks the
hole in the input, and the output starts with the same sentinel and ends at the next
special token. Only local files are read (`local_files_only`): a job never reaches a hub.

A seq2seq model's encoder can merge the subtokens of each identifier and literal into one
position (`token_merging`, see `retrieval.token_merging`): the encoder runs on a shorter
sequence and the decoder reads the merged states. The model is not told the file's
language, so the grammar under which the prompt parses with fewer errors gives the
identifier boundaries.
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
from transformers.modeling_outputs import BaseModelOutput

from repairbot.errors import BadInput
from repairbot.models.base import (
    FIM_MIDDLE, FIM_PREFIX, FIM_SUFFIX, T5_SENTINEL, Completion, DeadlinePassed, Guide, Message, check_deadline,
    chunks, fit, plain_chat,
)
from repairbot.models.decode import Sampling, complete, token_surprisal
from retrieval import syntax
from retrieval.token_merging import TokenMergingUnsupported, check_supported, merged_forward, token_groups

# Qwen's FIM ends at `<|endoftext|>`, which its generation config leaves out (it lists
# `<|im_end|>`, for chat): without it a FIM completion runs on to max_tokens.
END_OF_TEXT = "<|endoftext|>"


class TransformersModel:
    def __init__(
        self, path: Path, name: str, threads: int = 1, context_tokens: int = 2048, seed: int = 0,
        token_merging: bool = False,
    ) -> None:
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
        self.context_tokens = context_tokens
        self._sampling = Sampling(seed=seed)
        self._fim = [self._token_id(token) for token in (FIM_PREFIX, FIM_SUFFIX, FIM_MIDDLE)]
        self._sentinel = self._token_id(T5_SENTINEL)
        if self.seq2seq and self._sentinel is None:
            raise BadInput(f"model {name} has no {T5_SENTINEL} token: it cannot fill a span")
        self._ends = self._end_tokens()
        self._lock = threading.Lock()
        if token_merging:
            if not self.seq2seq:
                raise BadInput(f"model {name} has no encoder: token merging applies to seq2seq (CodeT5-style) models")
            try:
                check_supported(self._model.get_encoder(), after_layer=0)
            except TokenMergingUnsupported as exc:
                raise BadInput(f"model {name}: {exc}") from exc
        self.token_merging = token_merging
        # Over all prompts so far: tokens in the encoder's input, positions it ran on.
        self.input_tokens = self.encoder_positions = 0

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
            try:
                session = self._session(prefix, suffix, max_tokens, deadline)
            except DeadlinePassed:  # the prompt was not read in time: nothing to decode from
                return []
            return complete(session, n, max_tokens, stop, deadline, self._sampling, guide)

    def chat_prompt(self, messages: Sequence[Message], answer_start: str = "") -> str:
        self._check_continues()
        if not getattr(self._tokenizer, "chat_template", None):
            return plain_chat(messages, answer_start)
        text = self._tokenizer.apply_chat_template(list(messages), tokenize=False, add_generation_prompt=True)
        return str(text) + answer_start

    def continue_text(
        self,
        prompt: str,
        n: int,
        max_tokens: int,
        stop: Sequence[str] = (),
        deadline: float | None = None,
        guide: Guide | None = None,
    ) -> list[Completion]:
        self._check_continues()
        bos = self._tokenizer.bos_token
        tokens = self._encode(prompt if not bos or prompt.startswith(bos) else bos + prompt)
        if len(tokens) + max_tokens > self.context_tokens:  # the caller bounds its prompt (count_tokens)
            raise ValueError(f"{len(tokens)} prompt tokens and {max_tokens} to write exceed the context")
        with self._lock, torch.inference_mode():
            try:
                check_deadline(deadline)
                session = self._start(tokens, "input_ids", deadline)
            except DeadlinePassed:
                return []
            return complete(session, n, max_tokens, stop, deadline, self._sampling, guide)

    def count_tokens(self, text: str) -> int:
        return len(self._encode(text))

    def surprisal(self, text: str, deadline: float | None = None) -> list[tuple[int, float]]:
        self._check_continues()
        tokens = self._encode(text)[: self.context_tokens]
        if len(tokens) < 2:
            return []
        with self._lock, torch.inference_mode():
            return token_surprisal(self._start(tokens[:1], "input_ids", deadline), tokens)

    def _check_continues(self) -> None:
        if self.seq2seq:
            raise BadInput(f"model {self.name} is a seq2seq span filler: it cannot answer a conversation")

    def _session(self, prefix: str, suffix: str, max_tokens: int, deadline: float | None = None) -> _TorchSession:
        """The model after reading the prompt. A causal model reads it in chunks with the
        `deadline` checked between them; an encoder reads its input in one step."""
        check_deadline(deadline)
        before, after = fit(self._encode(prefix), self._encode(suffix), room=self.context_tokens - max_tokens - 3)
        tokenizer = self._tokenizer
        if self.seq2seq:
            eos = [] if tokenizer.eos_token_id is None else [tokenizer.eos_token_id]
            input_ids = torch.tensor([[*before, self._sentinel, *after, *eos]])
            start = [self._model.config.decoder_start_token_id, self._sentinel]
            if self.token_merging:
                groups = self._merge_groups(prefix, suffix, len(before), len(after), len(eos))
                hidden, mask = merged_forward(
                    self._model.get_encoder(), input_ids, torch.ones_like(input_ids), torch.tensor([groups]), 0
                )
                self.input_tokens += input_ids.shape[1]
                self.encoder_positions += hidden.shape[1]
                encoded = BaseModelOutput(last_hidden_state=hidden)
                return self._start(start, "decoder_input_ids", deadline, encoder_outputs=encoded, attention_mask=mask)
            self.input_tokens += input_ids.shape[1]
            self.encoder_positions += input_ids.shape[1]
            encoded = self._model.get_encoder()(input_ids=input_ids)
            return self._start(start, "decoder_input_ids", deadline, encoder_outputs=encoded)
        if self.sees_suffix:
            start_of, suffix_of, middle_of = self._fim
            return self._start([start_of, *before, suffix_of, *after, middle_of], "input_ids", deadline)
        bos = [] if tokenizer.bos_token_id is None else [tokenizer.bos_token_id]
        return self._start([*bos, *before], "input_ids", deadline)

    def _start(self, prompt: list[int], input_name: str, deadline: float | None, **fixed: Any) -> _TorchSession:
        def step(tokens: list[int], cache: Any) -> tuple[np.ndarray, Any]:
            inputs = {input_name: torch.tensor([tokens]), self._cache_name: cache}
            output = self._model(**inputs, **fixed, use_cache=True)
            return output.logits[0, -1].float().numpy(), output[self._cache_name]

        return _TorchSession(step, prompt, self._encode, self._decode, self._ends, deadline)

    def _encode(self, text: str) -> list[int]:
        return list(self._tokenizer(text, add_special_tokens=False)["input_ids"])

    def _merge_groups(self, prefix: str, suffix: str, kept_before: int, kept_after: int, ends: int) -> list[int]:
        """Merge groups of the encoder input `prefix[-kept_before:] <sentinel> suffix[:kept_after] <eos>`
        (in tokens, as `fit` cut them): each identifier or literal one group, the sentinel
        and EOS groups of their own."""
        language = syntax.likeliest_language(prefix + suffix)
        sides = []
        for text, keep_end in ((prefix, True), (suffix, False)):
            offsets = self._tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
            groups = token_groups(offsets, [1] * len(offsets), syntax.atom_spans(text, language))
            sides.append(groups[len(groups) - kept_before :] if keep_end else groups[:kept_after])
        before, after = (_renumbered(side) for side in sides)
        sentinel = (before[-1] + 1) if before else 0
        after = [sentinel + 1 + group for group in after]
        last = after[-1] if after else sentinel
        return [*before, sentinel, *after, *range(last + 1, last + 1 + ends)]

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


def _renumbered(groups: list[int]) -> list[int]:
    """Groups numbered from 0 again after `fit` cut the tokens of a side's start."""
    first = groups[0] if groups else 0
    return [group - first for group in groups]


Step = Callable[[list[int], Any], tuple[np.ndarray, Any]]


class _TorchSession:
    """The KV cache after the prompt is kept; a completion that leaves the path last read
    decodes from a copy of it: the prompt is read once per hole, not once per sample. The
    prompt is read `PROMPT_CHUNK` tokens at a time, the `deadline` checked before each."""

    def __init__(
        self, step: Step, prompt: list[int], encode: Callable[[str], list[int]],
        decode: Callable[[list[int]], str], ends: frozenset[int], deadline: float | None = None,
    ) -> None:
        self._step = step
        self._deadline = deadline
        cache = None
        for chunk in chunks(prompt):
            check_deadline(deadline)
            self._prompt_logits, cache = step(chunk, cache)
        self._prompt_cache = cache
        self._cache = self._prompt_cache
        self._path: list[int] = []
        self.encode = encode
        self.decode = decode
        self._ends = ends

    def seek(self, path: list[int]) -> np.ndarray:
        if not path:
            return self._prompt_logits
        if path[: len(self._path)] != self._path or len(path) == len(self._path):
            self._cache, self._path = copy.deepcopy(self._prompt_cache), []
        check_deadline(self._deadline)
        logits, self._cache = self._step(path[len(self._path) :], self._cache)
        self._path = list(path)
        return logits

    def is_end(self, token: int) -> bool:
        return token in self._ends
