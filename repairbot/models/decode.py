"""One decoding loop for every backend: greedy, then samples from the same prompt state.

Reading the prompt is most of the cost on a CPU (about 40 tokens/s against 8-12 to
generate), so all completions of one hole restart from the one state the prompt left.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from repairbot.models.base import Completion, Session


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
) -> list[Completion]:
    """`n` completions, the first greedy; a repeated call gives the same texts (fixed seed)."""
    rng = np.random.default_rng(sampling.seed)
    completions: list[Completion] = []
    for index in range(n):
        if index > 0 and deadline is not None and time.monotonic() >= deadline:
            break
        completions.append(_one(session, max_tokens, stop, rng if index > 0 else None, sampling, deadline))
    return completions


def _one(
    session: Session,
    max_tokens: int,
    stop: Sequence[str],
    rng: np.random.Generator | None,
    sampling: Sampling,
    deadline: float | None,
) -> Completion:
    logits = session.restart()
    tokens: list[int] = []
    logprobs: list[float] = []
    while len(tokens) < max_tokens:
        log_probs = _log_softmax(logits)
        token = int(np.argmax(logits)) if rng is None else _sample(logits, rng, sampling)
        if session.is_end(token):
            return _completion(session.decode(tokens), logprobs + [float(log_probs[token])], stop)
        tokens.append(token)
        logprobs.append(float(log_probs[token]))
        text = session.decode(tokens)
        if _cut(text, stop) is not None:
            return _completion(text, logprobs, stop)
        if deadline is not None and time.monotonic() >= deadline:
            break
        logits = session.feed(token)
    return _completion(session.decode(tokens), logprobs, stop, truncated=True)


def _completion(text: str, logprobs: list[float], stop: Sequence[str], truncated: bool = False) -> Completion:
    """The end token's probability counts: a model sure the hole is done scores higher."""
    cut = _cut(text, stop)
    return Completion(
        text=text if cut is None else text[:cut],
        mean_logprob=float(np.mean(logprobs)) if logprobs else 0.0,
        truncated=truncated,
    )


def _cut(text: str, stop: Sequence[str]) -> int | None:
    found = [index for index in (text.find(s) for s in stop if s) if index >= 0]
    return min(found) if found else None


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits.astype(np.float64) - float(np.max(logits))
    return shifted - np.log(np.sum(np.exp(shifted)))


def _sample(logits: np.ndarray, rng: np.random.Generator, sampling: Sampling) -> int:
    probs = np.exp(_log_softmax(logits / sampling.temperature))
    order = np.argsort(-probs)
    cumulative = np.cumsum(probs[order])
    keep = order[: int(np.searchsorted(cumulative, sampling.top_p)) + 1]
    kept = probs[keep] / probs[keep].sum()
    return int(keep[rng.choice(len(keep), p=kept)])
