"""What generation needs from a code language model, whatever runs it.

Every backend only has to fill a hole between a prefix and a suffix. Decoding (greedy
first, then samples, stop strings, per-token log-probabilities, budgets) is written once,
in `decode.py`, over a `Session`: so llama.cpp and transformers models rank and stop the
same way, and a patch's prior means the same thing whichever model proposed it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import numpy as np

# Qwen2.5-Coder's fill-in-the-middle tokens (prefix-suffix-middle order); StarCoder-style
# checkpoints use the same three names.
FIM_PREFIX = "<|fim_prefix|>"
FIM_SUFFIX = "<|fim_suffix|>"
FIM_MIDDLE = "<|fim_middle|>"
# The seq2seq (T5, CodeT5) way to ask for a span: the input holds a sentinel where the span
# goes, the output starts with the same sentinel and ends at the next one.
T5_SENTINEL = "<extra_id_0>"
# When a prompt must be cut, the suffix keeps at most this share of it: the code before a
# hole (imports, definitions, the start of the function) says more about what goes in it.
SUFFIX_SHARE = 0.25
# A backend reads a prompt this many tokens at a time and checks the deadline between two
# reads: on a loaded CPU a 2,000-token prompt read in one call took minutes past the time
# limit, while 64 tokens take 1-6 s and read about as fast per token as one big batch.
PROMPT_CHUNK = 64


class DeadlinePassed(Exception):
    """A session's deadline passed before its next model step: whatever was decoded so far
    is all there is."""


def past(deadline: float | None) -> bool:
    """Whether `deadline` (a `time.monotonic()` value; None: no deadline) has passed."""
    return deadline is not None and time.monotonic() >= deadline


def check_deadline(deadline: float | None) -> None:
    """Raise `DeadlinePassed` once `deadline` is past. Every model step goes through here
    (or `past`) first, so a call overruns its deadline by at most one step."""
    if past(deadline):
        raise DeadlinePassed


def chunks(tokens: list[int], size: int = PROMPT_CHUNK) -> list[list[int]]:
    """`tokens` in consecutive reads of at most `size`."""
    return [tokens[start : start + size] for start in range(0, len(tokens), size)]


@dataclass(frozen=True)
class Completion:
    """One filling of a hole.

    `mean_logprob` is the average natural-log probability per generated token under the
    model's own (untempered) distribution: comparable across lengths, unlike the sum.
    `truncated` says decoding hit `max_tokens` before the model ended the hole.
    """

    text: str
    mean_logprob: float
    truncated: bool = False
    pruned: int = 0  # tokens the completion engine refused while this completion was decoded
    forced_tokens: int = 0  # tokens the engine wrote without asking the model


class Guide(Protocol):
    """A completion engine for one hole (Repilot): it knows the code around the hole and
    judges the text the model has written into it so far."""

    def allows(self, text: str, final: bool) -> bool:
        """Whether `text` can still grow into valid code; with `final`, whether it is a
        valid filling of the whole hole as it stands."""
        ...

    def forced(self, text: str) -> str:
        """The characters every valid continuation of `text` starts with ('' if none)."""
        ...

    def code_end(self, text: str) -> int | None:
        """Where the hole's code ends in `text` when nothing written after it can change the
        program (a comment running to the end of a one-line hole); None while it can.
        Decoding ends the hole there: the model's comments are no part of a patch, and
        each differently worded one would otherwise cost a whole completion."""
        ...


def fit(before: list[int], after: list[int], room: int) -> tuple[list[int], list[int]]:
    """Prefix and suffix tokens cut to `room` on the far side of the hole: the prefix loses
    its start, the suffix its end; either gets what the other leaves unused."""
    after = after[: max(int(room * SUFFIX_SHARE), room - len(before))]
    return before[max(0, len(before) - (room - len(after))) :], after


Message = dict[str, str]  # {"role": "system" | "user" | "assistant", "content": ...}


def plain_chat(messages: Sequence[Message], answer_start: str) -> str:
    """A conversation as plain text, for a model without a chat template of its own (a base
    or test checkpoint): each message under its role, the answer begun."""
    turns = "".join(f"### {m['role'].capitalize()}:\n{m['content'].rstrip()}\n\n" for m in messages)
    return f"{turns}### Assistant:\n{answer_start}"


class LanguageModel(Protocol):
    name: str
    context_tokens: int  # what one prompt and its completion may hold together

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
        """Up to `n` fillings of the hole between `prefix` and `suffix`: the greedy one first,
        then samples. Nothing is read after `deadline` (a `time.monotonic()` value), the
        prompt included (it is read in chunks): fewer come back, none if the prompt was not
        read in time; the text of each ends before the first `stop` string. A `guide`
        constrains every token (see `decode.complete`)."""
        ...

    def chat_prompt(self, messages: Sequence[Message], answer_start: str = "") -> str:
        """The conversation in the model's own chat template (the GGUF's or the tokenizer's;
        `plain_chat` without one), the assistant's answer begun with `answer_start`.
        BadInput for a model that cannot continue a text (a seq2seq span filler)."""
        ...

    def continue_text(
        self,
        prompt: str,
        n: int,
        max_tokens: int,
        stop: Sequence[str] = (),
        deadline: float | None = None,
        guide: Guide | None = None,
    ) -> list[Completion]:
        """Up to `n` continuations of `prompt` (special tokens in it read as such), decoded
        as `infill`'s fillings are. The model keeps what it read: a prompt that starts as the
        last one did (the next turn of a conversation) reads only its new tokens."""
        ...

    def count_tokens(self, text: str) -> int: ...

    def surprisal(self, text: str, deadline: float | None = None) -> list[tuple[int, float]]:
        """Each token of `text` as (its end offset in `text`, -log p given the text before
        it), the first token excepted (see `decode.token_surprisal`). Raises DeadlinePassed
        when `deadline` comes first; BadInput for a model that cannot read a text left to
        right (a seq2seq span filler)."""
        ...


class Session(Protocol):
    """A model that has read one prompt; decoding walks a tree of continuations from it."""

    def seek(self, path: list[int]) -> np.ndarray:
        """The logits of the token after the prompt and the generated `path`. A backend
        keeps what it last read and re-reads only from where `path` differs, in one batch.
        Raises `DeadlinePassed` instead of reading once the session's deadline is past."""
        ...

    def encode(self, text: str) -> list[int]: ...

    def decode(self, tokens: list[int]) -> str: ...

    def is_end(self, token: int) -> bool:
        """End of the hole: end-of-text, or any special token (it would print as nothing)."""
        ...
