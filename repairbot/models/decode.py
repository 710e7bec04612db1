"""One decoding loop for every backend: greedy, then samples from the same prompt state.

Reading the prompt is most of the cost on a CPU (about 40 tokens/s against 8-12 to
generate), so all completions of one hole restart from the one state the prompt left.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from repairbot.models.base import Completion, Guide, Session


@dataclass(frozen=True)
class Sampling:
    """Temperature and nucleus for the samples after the greedy completion.

    0.8 / 0.95 are the usual settings for sampling code candidates (Codex, Repilot): varied
    enough to reach fixes the greedy path misses, while keeping most tokens near the mode.
    """

    temperature: float = 0.8
    top_p: float = 0.95
    seed: int = 0


def complete(
    session: Session,
    n: int,
    max_tokens: int,
    stop: Sequence[str] = (),
    deadline: float | None = None,
    sampling: Sampling = Sampling(),
    guide: Guide | None = None,
) -> list[Completion]:
    """`n` completions, the first greedy; a repeated call gives the same texts (fixed seed).

    With a `guide` (a completion engine, as in Repilot) every chosen token is checked before
    it is accepted: a token the guide refuses is masked out and the choice made again (the
    next best, or a new sample without it), so the model spends no tokens on code that
    cannot be completed; and whatever the guide says every valid continuation starts with
    is written without asking the model, in one batch."""
    rng = np.random.default_rng(sampling.seed)
    completions: list[Completion] = []
    for index in range(n):
        if index > 0 and deadline is not None and time.monotonic() >= deadline:
            break
        completions.append(_one(session, max_tokens, stop, rng if index > 0 else None, sampling, deadline, guide))
    return completions


# A step whose best tokens the guide refuses this many times gives up, and so does a
# completion with this many refusals in all: it ends as truncated (and is dropped) rather
# than walking the vocabulary or writing on around a dead end until max_tokens.
MAX_REFUSALS_PER_TOKEN = 16
MAX_REFUSALS_PER_COMPLETION = 32
# A model that tried to end the hole this many times with code that cannot end it there is
# wandering: the text it goes on to write is rarely a fix and costs a model call per token.
MAX_REFUSED_ENDINGS = 2
# Nucleus sampling looks at the most likely tokens only: sorting all 150k logits per token
# costs more than the model's step on small holes, and the tail beyond this many tokens
# holds a negligible share of a code model's probability mass.
NUCLEUS_CANDIDATES = 2048


@dataclass
class _Decoding:
    tokens: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    text: str = ""
    pruned: int = 0
    forced: int = 0
    refused_endings: int = 0

    def result(self, text: str, stop: Sequence[str], truncated: bool = False) -> Completion:
        """The end token's probability counts: a model sure the hole is done scores higher.
        Forced tokens are not the model's choices and carry no log-probability."""
        cut = _cut(text, stop)
        return Completion(
            text=text if cut is None else text[:cut],
            mean_logprob=float(np.mean(self.logprobs)) if self.logprobs else 0.0,
            truncated=truncated,
            pruned=self.pruned,
            forced_tokens=self.forced,
        )


def _one(
    session: Session,
    max_tokens: int,
    stop: Sequence[str],
    rng: np.random.Generator | None,
    sampling: Sampling,
    deadline: float | None,
    guide: Guide | None,
) -> Completion:
    logits = session.restart()
    state = _Decoding()
    while len(state.tokens) < max_tokens:
        log_probs = _log_softmax(logits)
        choice = _choose(session, state, logits, stop, rng, sampling, guide)
        if choice is None or state.pruned > MAX_REFUSALS_PER_COMPLETION or state.refused_endings > MAX_REFUSED_ENDINGS:
            return state.result(state.text, stop, truncated=True)
        token, text, final = choice
        state.logprobs.append(float(log_probs[token]))
        if session.is_end(token):
            return state.result(state.text, stop)
        state.tokens.append(token)
        if final:
            return state.result(text, stop)
        state.text = text
        if deadline is not None and time.monotonic() >= deadline:
            break
        forced = session.encode(guide.forced(text)) if guide is not None else []
        if forced:
            state.tokens += forced
            state.forced += len(forced)
            state.text = session.decode(state.tokens)
        logits = session.feed([token, *forced])
    return state.result(state.text, stop, truncated=True)


def _choose(
    session: Session,
    state: _Decoding,
    logits: np.ndarray,
    stop: Sequence[str],
    rng: np.random.Generator | None,
    sampling: Sampling,
    guide: Guide | None,
) -> tuple[int, str, bool] | None:
    """The next token, the hole's text with it, and whether it ends the hole; None when the
    guide refuses every candidate it is offered."""
    for _ in range(MAX_REFUSALS_PER_TOKEN + 1):
        token = int(np.argmax(logits)) if rng is None else _sample(logits, rng, sampling)
        if session.is_end(token):
            text, final = state.text, True
        else:
            text = session.decode(state.tokens + [token])
            cut = _cut(text, stop)
            final = cut is not None
            if cut is not None:
                text = text[:cut]
        if guide is None or guide.allows(text, final):
            return token, text, final
        if not np.isfinite(logits).any():
            return None
        logits = logits.copy()
        logits[token] = -np.inf
        state.pruned += 1
        state.refused_endings += final
    return None


def _cut(text: str, stop: Sequence[str]) -> int | None:
    found = [index for index in (text.find(s) for s in stop if s) if index >= 0]
    return min(found) if found else None


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits.astype(np.float64) - float(np.max(logits))
    return shifted - np.log(np.sum(np.exp(shifted)))


def _sample(logits: np.ndarray, rng: np.random.Generator, sampling: Sampling) -> int:
    probs = np.exp(_log_softmax(logits / sampling.temperature))
    top = np.argpartition(-probs, NUCLEUS_CANDIDATES)[:NUCLEUS_CANDIDATES] if len(probs) > NUCLEUS_CANDIDATES else np.arange(len(probs))
    order = top[np.argsort(-probs[top])]
    cumulative = np.cumsum(probs[order])
    keep = order[: int(np.searchsorted(cumulative, sampling.top_p)) + 1]
    kept = probs[keep] / probs[keep].sum()
    return int(keep[rng.choice(len(keep), p=kept)])
