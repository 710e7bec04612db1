"""One decoding loop for every backend: greedy, then samples without replacement.

Reading the prompt is most of the cost on a CPU (about 40 tokens/s against 8-12 to
generate), so all completions of one hole start from the one state the prompt left.

The completions of a hole grow one tree (UniqueRandomizer: Shi, Bieber and Singh, 2020,
"Incremental sampling without replacement for sequence models"). Each node is a token
sequence decoded so far, with the model's distribution after it, read once; a finished,
truncated or refused sequence's probability is taken out of the tree, and every sample is
drawn from what is left. So:
- no completion repeats an earlier one: on a one-line hole most plain samples are copies
  of the greedy filling, each costing a whole decode for nothing;
- a prefix shared with an earlier completion costs no model step (its distributions are
  in the tree), and where a sample leaves the tree the backend re-reads the path in one
  batch;
- a token the completion engine refused is never offered again, and a sample is never
  pushed on past an ending the engine refused: its mass is gone, and the next draw starts
  again from the top, where most of the probability left usually is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from repairbot.models.base import Completion, DeadlinePassed, Guide, Session, past


@dataclass(frozen=True)
class Sampling:
    """Temperature and nucleus for the samples after the greedy completion.

    0.8 / 0.95 are the usual settings for sampling code candidates (Codex, Repilot): varied
    enough to reach fixes the greedy path misses, while keeping most tokens near the mode.
    """

    temperature: float = 0.8
    top_p: float = 0.95
    seed: int = 0


# A draw with this many refusals gives up and ends as truncated (and is dropped): a dead
# end the engine keeps refusing costs one engine call per refused token, and those add up.
MAX_REFUSALS_PER_DRAW = 64
# The tree's distributions keep the most likely tokens only: sorting all 150k logits per
# token costs more than the model's step on small holes, and the tail beyond this many
# tokens holds a negligible share of a code model's probability mass.
NUCLEUS_CANDIDATES = 2048
# After a completion ends, this many of its last node's likeliest tokens are checked for
# endings that give the same text.
SAME_ENDING_CHECKS = 32
# A node whose untaken mass is below this share of its own is spent (float sums never
# come back to exactly zero).
SPENT = 1e-9


def complete(
    session: Session,
    n: int,
    max_tokens: int,
    stop: Sequence[str] = (),
    deadline: float | None = None,
    sampling: Sampling = Sampling(),
    guide: Guide | None = None,
) -> list[Completion]:
    """Up to `n` different completions, the first greedy; a repeated call gives the same
    texts (fixed seed). Fewer come back when the deadline passes or when the nucleus holds
    no other sequence.

    With a `guide` (a completion engine, as in Repilot) every new token is checked before it
    is accepted: a refused token is closed for good and the draw starts again from the
    top, so the model spends no tokens on code that cannot be completed; and whatever the
    guide says every valid continuation starts with is written without asking the model,
    in one batch.

    Past the `deadline` no model step starts (the check comes before each read, and before
    each retry after a refusal, since the guide's checks cost time too): a completion cut
    there comes back truncated, as one cut by `max_tokens`, and no generator takes it."""
    tree = _Tree(session, max_tokens, stop, sampling, guide, deadline)
    rng = np.random.default_rng(sampling.seed)
    completions: list[Completion] = []
    try:
        while len(completions) < n and not tree.done:
            if completions and past(deadline):
                break
            completion = tree.draw(rng if completions else None)
            if completion is not None:
                completions.append(completion)
    except DeadlinePassed:  # the session refused a read: the draw in progress is dropped
        pass
    return completions


@dataclass
class _Node:
    """A token sequence decoded so far and what the model says comes next."""

    path: list[int]  # generated tokens, forced ones included
    text: str
    mass: float  # probability of drawing this prefix (sampling distribution)
    logprobs: list[float]  # the model's own log-probability of each token it chose
    forced: int  # tokens on the path written by the guide
    parent: _Node | None = None
    index: int = -1  # this node's place in its parent's nucleus
    taken: float = 0.0  # mass of sequences below that were drawn or refused
    children: dict[int, _Node] = field(default_factory=dict)
    closed: set[int] = field(default_factory=set)
    # Read from the model once: the likeliest tokens, their sampling shares and log-probs.
    tokens: np.ndarray | None = None
    shares: np.ndarray | None = None
    token_logprobs: np.ndarray | None = None

    def available(self) -> np.ndarray:
        assert self.shares is not None
        left = self.mass * self.shares
        for index, child in self.children.items():
            left[index] = max(child.mass - child.taken, 0.0)
        left[list(self.closed)] = 0.0
        return left


class _Tree:
    def __init__(
        self, session: Session, max_tokens: int, stop: Sequence[str], sampling: Sampling,
        guide: Guide | None, deadline: float | None,
    ) -> None:
        self._session = session
        self._max_tokens = max_tokens
        self._stop = stop
        self._sampling = sampling
        self._guide = guide
        self._deadline = deadline
        self._root = _Node(path=[], text="", mass=1.0, logprobs=[], forced=0)
        self._read(self._root)
        self.done = False

    def draw(self, rng: np.random.Generator | None) -> Completion | None:
        """The greedy completion (no `rng`) or a sample among the sequences not yet drawn;
        None when none is left. A draw that the guide's refusals ran into the ground comes
        back truncated, so what the guide refused is still counted."""
        refused = 0
        node = self._root
        while True:
            if node.tokens is None:
                if past(self._deadline):
                    self.done = True
                    return _result(node.text, node.logprobs, refused, node.forced, truncated=True)
                self._read(node)
            index = self._pick(node, rng)
            if index is None:  # every sequence below is spent
                if node.parent is None:
                    self.done = True
                    return _result("", [], refused, 0, truncated=True) if refused else None
                self._close(node.parent, node.index)
                node = self._root
                continue
            if index in node.children:
                node = node.children[index]
                continue
            assert node.tokens is not None and node.shares is not None and node.token_logprobs is not None
            token = int(node.tokens[index])
            text, final = self._text_with(node, token)
            if self._guide is not None and not self._guide.allows(text, final):
                self._close(node, index)
                if final:
                    self._close_endings(node, text)
                refused += 1
                late = past(self._deadline)
                if refused > MAX_REFUSALS_PER_DRAW or late:
                    self.done = late
                    return _result(node.text, node.logprobs, refused, node.forced, truncated=True)
                node = self._root
                continue
            logprobs = [*node.logprobs, float(node.token_logprobs[index])]
            if final:
                self._close(node, index)
                self._close_endings(node, text)
                return _result(text, logprobs, refused, node.forced, truncated=False)
            forced = self._session.encode(self._guide.forced(text)) if self._guide is not None else []
            path = [*node.path, token, *forced]
            child = _Node(
                path=path,
                text=self._session.decode(path) if forced else text,
                mass=node.mass * float(node.shares[index]),
                logprobs=logprobs,
                forced=node.forced + len(forced),
                parent=node,
                index=index,
            )
            if len(path) >= self._max_tokens:
                self._close(node, index)
                return _result(child.text, logprobs, refused, child.forced, truncated=True)
            node.children[index] = child
            node = child

    def _read(self, node: _Node) -> None:
        """The model's distribution after the node's path: the tempered one over the most
        likely tokens for drawing, the untempered log-probabilities for scoring."""
        logits = self._session.seek(node.path)
        tempered = np.exp(_log_softmax(logits / self._sampling.temperature))
        if len(tempered) > NUCLEUS_CANDIDATES:
            top = np.argpartition(-tempered, NUCLEUS_CANDIDATES)[:NUCLEUS_CANDIDATES]
        else:
            top = np.arange(len(tempered))
        node.tokens = top
        node.shares = tempered[top] / tempered[top].sum()
        node.token_logprobs = _log_softmax(logits)[top]

    def _pick(self, node: _Node, rng: np.random.Generator | None) -> int | None:
        """The token with the most mass left under it (greedy), or one drawn from the
        nucleus of what is left: refused and drawn sequences are out before `top_p` cuts
        the tail, so a token the model was sure of but the guide refused gives way to the
        next best, however unlikely it looked beside it."""
        left = node.available()
        total = float(left.sum())
        if total <= node.mass * SPENT:
            return None
        if rng is None:
            return int(np.argmax(left))
        order = np.argsort(-left, kind="stable")
        cumulative = np.cumsum(left[order])
        keep = order[: int(np.searchsorted(cumulative, self._sampling.top_p * total)) + 1]
        return int(keep[rng.choice(len(keep), p=left[keep] / left[keep].sum())])

    def _close(self, node: _Node, index: int) -> None:
        """No sequence through `index` is drawn again: its mass leaves the node and every
        node above it."""
        if index in node.closed:
            return
        assert node.shares is not None
        child = node.children.get(index)
        left = max(child.mass - child.taken, 0.0) if child is not None else node.mass * float(node.shares[index])
        node.closed.add(index)
        above: _Node | None = node
        while above is not None:
            above.taken += left
            above = above.parent

    def _close_endings(self, node: _Node, text: str) -> None:
        """Close the node's other likely tokens that end the hole with the same `text` (a
        newline, two newlines, the end token...): each would be the same completion again."""
        assert node.tokens is not None and node.shares is not None
        for index in np.argsort(-node.shares)[:SAME_ENDING_CHECKS]:
            index = int(index)
            if index not in node.closed and index not in node.children:
                other, final = self._text_with(node, int(node.tokens[index]))
                if final and other == text:
                    self._close(node, index)

    def _text_with(self, node: _Node, token: int) -> tuple[str, bool]:
        """The hole's text with `token` appended, cut at a stop string or where the guide
        says the code ends, and whether it ends the hole."""
        if self._session.is_end(token):
            return node.text, True
        text = self._session.decode([*node.path, token])
        cut = _cut(text, self._stop)
        if cut is None and self._guide is not None:
            cut = self._guide.code_end(text)
        return (text, False) if cut is None else (text[:cut].rstrip(), True)


def _result(text: str, logprobs: list[float], pruned: int, forced: int, truncated: bool) -> Completion:
    """The end token's probability counts: a model sure the hole is done scores higher.
    Forced tokens are not the model's choices and carry no log-probability."""
    return Completion(
        text=text,
        mean_logprob=float(np.mean(logprobs)) if logprobs else 0.0,
        truncated=truncated,
        pruned=pruned,
        forced_tokens=forced,
    )


def _cut(text: str, stop: Sequence[str]) -> int | None:
    found = [index for index in (text.find(s) for s in stop if s) if index >= 0]
    return min(found) if found else None


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits.astype(np.float64) - float(np.max(logits))
    return shifted - np.log(np.sum(np.exp(shifted)))


def token_surprisal(session: Session, tokens: list[int]) -> list[tuple[int, float]]:
    """How surprised the model is by each token of `tokens` after the ones before it:
    (the token's end, as an offset in the decoded text, -log p). `session` has read
    `tokens[0]` as its prompt; each step reads one more token from where the last left
    off, so the whole text costs one forward pass over it. The first token, read without
    context, gets no score."""
    found = []
    for i in range(1, len(tokens)):
        logprobs = _log_softmax(session.seek(tokens[1:i]))
        found.append((len(session.decode(tokens[: i + 1])), float(-logprobs[tokens[i]])))
    return found
