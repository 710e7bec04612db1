"""GGUF models through llama-cpp-python (the default model's backend).

One thread: on 2 cores shared with test runs, llama.cpp with 2 threads drops to 1-3
tokens/s as soon as another process takes a core, while 1 thread holds ~8.
Logits are read from the context after each `eval`: with `logits_all=False` (the only
setting that does not keep n_ctx x 152k floats) llama-cpp-python leaves `scores` empty.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import llama_cpp
import numpy as np
from llama_cpp import Llama

from repairbot.errors import BadInput
from llama_cpp.llama_chat_format import Jinja2ChatFormatter

from repairbot.models.base import (
    FIM_MIDDLE, FIM_PREFIX, FIM_SUFFIX, Completion, DeadlinePassed, Guide, Message, check_deadline, chunks, fit,
    plain_chat,
)
from repairbot.models.decode import Sampling, complete, token_surprisal


class LlamaModel:
    def __init__(self, path: Path, name: str, threads: int = 1, context_tokens: int = 4096, seed: int = 0) -> None:
        """4,096 tokens of context: a fill-in-the-middle prompt is capped far below it
        (repairbot.generate.prompt), a conversation about a whole function and its failing
        tests needs more than 2,048."""
        self.name = name
        self.context_tokens = context_tokens
        self._llm = Llama(
            model_path=str(path), n_ctx=context_tokens, n_threads=threads, n_threads_batch=threads,
            seed=seed, verbose=False,
        )
        self._sampling = Sampling(seed=seed)
        # A llama context is one sequence of tokens: two jobs in one process take turns.
        self._lock = threading.Lock()
        self._fim = [self._special(token) for token in (FIM_PREFIX, FIM_SUFFIX, FIM_MIDDLE)]

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
        with self._lock:
            try:
                session = _LlamaSession(self._llm, self._prompt(prefix, suffix, max_tokens), deadline)
            except DeadlinePassed:  # the prompt was not read in time: nothing to decode from
                return []
            return complete(session, n, max_tokens, stop, deadline, self._sampling, guide)

    def chat_prompt(self, messages: Sequence[Message], answer_start: str = "") -> str:
        template = self._llm.metadata.get("tokenizer.chat_template")
        if not template:
            return plain_chat(messages, answer_start)
        formatter = Jinja2ChatFormatter(template, eos_token=self._token_text(self._llm.token_eos()),
                                        bos_token=self._token_text(self._llm.token_bos()))
        return formatter(messages=list(messages)).prompt + answer_start  # type: ignore[arg-type]

    def continue_text(
        self,
        prompt: str,
        n: int,
        max_tokens: int,
        stop: Sequence[str] = (),
        deadline: float | None = None,
        guide: Guide | None = None,
    ) -> list[Completion]:
        tokens = self._llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=True)
        if len(tokens) + max_tokens > self.context_tokens:  # the caller bounds its prompt (count_tokens)
            raise ValueError(f"{len(tokens)} prompt tokens and {max_tokens} to write exceed the context")
        with self._lock:
            try:
                session = _LlamaSession(self._llm, tokens, deadline)
            except DeadlinePassed:
                return []
            return complete(session, n, max_tokens, stop, deadline, self._sampling, guide)

    def count_tokens(self, text: str) -> int:
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def surprisal(self, text: str, deadline: float | None = None) -> list[tuple[int, float]]:
        tokens = self._llm.tokenize(text.encode("utf-8"), add_bos=False)[: self.context_tokens]
        if len(tokens) < 2:
            return []
        with self._lock:
            return token_surprisal(_LlamaSession(self._llm, tokens[:1], deadline), tokens)

    def _token_text(self, token: int) -> str:
        return "" if token < 0 else self._llm.detokenize([token], special=True).decode("utf-8", errors="replace")

    def _prompt(self, prefix: str, suffix: str, max_tokens: int) -> list[int]:
        """`<|fim_prefix|>` prefix `<|fim_suffix|>` suffix `<|fim_middle|>`, cut to the context."""
        before, after = fit(
            self._llm.tokenize(prefix.encode("utf-8"), add_bos=False),
            self._llm.tokenize(suffix.encode("utf-8"), add_bos=False),
            room=self._llm.n_ctx() - max_tokens - len(self._fim),
        )
        start, middle_of, end = self._fim
        return [start, *before, middle_of, *after, end]

    def _special(self, text: str) -> int:
        tokens = self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        if len(tokens) != 1:
            raise BadInput(f"model {self.name} has no {text} token: it cannot fill in the middle")
        return tokens[0]


class _LlamaSession:
    """Reuses whatever the context already holds: the next hole in the same file re-reads
    only from where its prompt differs, and a completion only from where it leaves the path
    the context last read. Tokens are read `PROMPT_CHUNK` at a time with the `deadline`
    checked before each chunk (llama.cpp's own `eval` cannot be stopped): what was read
    before the deadline stays in the context, for the next prompt that starts the same."""

    def __init__(self, llm: Llama, prompt: list[int], deadline: float | None = None) -> None:
        self._llm = llm
        self._vocab = llama_cpp.llama_model_get_vocab(llm.model)
        self._prompt = prompt
        self._deadline = deadline
        self._prompt_logits = self._read(prompt)

    def seek(self, path: list[int]) -> np.ndarray:
        return self._read(self._prompt + path) if path else self._prompt_logits

    def _read(self, tokens: list[int]) -> np.ndarray:
        held = self._llm.input_ids[: self._llm.n_tokens].tolist()
        shared = 0
        while shared < min(len(held), len(tokens)) and held[shared] == tokens[shared]:
            shared += 1
        self._llm.n_tokens = min(shared, len(tokens) - 1)  # re-read at least one token: its logits
        for chunk in chunks(tokens[self._llm.n_tokens :]):
            check_deadline(self._deadline)
            self._llm.eval(chunk)
        return self._logits()

    def encode(self, text: str) -> list[int]:
        return self._llm.tokenize(text.encode("utf-8"), add_bos=False)

    def decode(self, tokens: list[int]) -> str:
        return self._llm.detokenize(tokens).decode("utf-8", errors="replace")

    def is_end(self, token: int) -> bool:
        return bool(
            llama_cpp.llama_vocab_is_eog(self._vocab, token) or llama_cpp.llama_vocab_is_control(self._vocab, token)
        )

    def _logits(self) -> np.ndarray:
        pointer = llama_cpp.llama_get_logits_ith(self._llm.ctx, -1)
        return np.ctypeslib.as_array(pointer, shape=(self._llm.n_vocab(),)).copy()
