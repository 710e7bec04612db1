"""Masked-template patches (GAMMA): the model fills the mask of a fix template.

`repairbot.generate.masks` says where a fix of a known shape goes (a condition, an
operator, the callee, an argument, a guard before the statement ...); here a code model
fills each mask as a fill-in-the-middle hole: the prefix is the file up to the mask, the
suffix the rest of it. A mask is small (an operator, a name, a condition), so a filling is
a few tokens, and the model's knowledge of the code around it picks the ingredient a
mechanical template would have to guess (`any` -> `all` where the docstring says "all").

What a call costs, on a CPU: decoding is cheap (a mask takes a few tokens), reading the
prompt is not. llama.cpp keeps the tokens of the previous prompt and re-reads only from
the first token that differs; in a prefix-suffix-middle prompt that is the mask's start,
so every mask re-reads the statement's tail *and the whole suffix*, whatever the order of
the calls (masks of equal prior go in source order, which keeps the longest shared prefix,
but measured on QuixBugs that changed nothing). So the prompt's suffix is cut to the next
`suffix_lines` lines: the model reads what follows the statement, not the rest of the file
(on 12 QuixBugs programs, 81 prompt tokens re-read per mask instead of 116; in a long file
the difference is the rest of the file). In a long file the prefix is cut too, to the
enclosing function and its neighbourhood (`repairbot.generate.prompt`, as for infill).

Each mask's greedy filling would often be the code already there; the guide refuses that
ending (and an empty one), so the model's first choice is its best *other* filling.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from repairbot.config import MaskedSettings
from repairbot.domain import Candidate, SuspiciousLocation
from repairbot.generate.describe import describe_change
from repairbot.generate.infill import Hole, load_code_model, with_hints
from repairbot.generate.masks import Mask, Name, OneOf, masks
from repairbot.generate.prompt import bounded_prompt
from repairbot.generate.sources import SourceFile, load_source
from repairbot.languages.registry import CompletionRequest
from repairbot.models import Completion, Guide, LanguageModel
from repairbot.rank import program_key

@dataclass(frozen=True)
class MaskedBudget:
    """Greedy plus one sample per mask: a mask is narrow, so further samples mostly repeat
    the first two, while each mask costs a prompt read; the time goes to more masks."""

    samples: int = 2
    max_tokens: int = 24  # a condition or an argument list; a guard gets twice as many
    time_limit_s: float = 120.0
    constrained: bool = True
    suffix_lines: int = 16


@dataclass
class MaskedStats:
    masks: int = 0  # masks the model filled
    completions: int = 0
    candidates: int = 0
    model_s: float = 0.0


@dataclass(frozen=True)
class _Proposal:
    prior: float  # location score x template weight: the order in which the model fills masks
    location: SuspiciousLocation
    source: SourceFile
    mask: Mask


class MaskedTemplateGenerator:
    name = "masked"

    def __init__(self, model: LanguageModel, budget: MaskedBudget = MaskedBudget(), hint: str | None = None) -> None:
        """`hint`: a person's words about the fault, shown in every prompt."""
        self._model = model
        self._budget = budget
        self._hint = hint
        self.stats = MaskedStats()

    def generate(self, project_root: Path, locations: list[SuspiciousLocation], limit: int) -> list[Candidate]:
        """Up to `limit` candidates, best prior first: deletions for free, then the masks'
        fillings, most likely mask first, while the model's time budget lasts (counted over
        every call on this generator)."""
        proposals = self._proposals(project_root, locations)
        best: dict[tuple[str, str], Candidate] = {}
        for proposal in proposals:
            if len(best) >= limit:
                break
            for candidate in self._fill(proposal, project_root):
                key = program_key(candidate)
                if key not in best or best[key].prior < candidate.prior:
                    best[key] = candidate
        self.stats.candidates += len(best)
        return sorted(best.values(), key=lambda c: -c.prior)[: max(limit, 0)]

    def _proposals(self, project_root: Path, locations: list[SuspiciousLocation]) -> list[_Proposal]:
        sources: dict[str, SourceFile | None] = {}
        proposals = []
        for location in locations:
            if location.file not in sources:
                sources[location.file] = load_source(project_root, location.file, self.name)
            source = sources[location.file]
            if source is None:
                continue
            tree = source.language.parse(source.data)
            for mask in masks(location.file, source.data, tree, location.start_line, location.end_line):
                proposals.append(_Proposal(location.score * mask.template.weight, location, source, mask))
        # Most likely first; of equal priors, one file's masks in source order (see above).
        return sorted(proposals, key=lambda p: (-p.prior, p.location.file, p.mask.start, p.mask.end))

    def _fill(self, proposal: _Proposal, project_root: Path) -> list[Candidate]:
        mask, source = proposal.mask, proposal.source
        if not mask.hole:
            candidate = _candidate(proposal, "", 0.0)
            return [candidate] if candidate is not None else []
        remaining = self._budget.time_limit_s - self.stats.model_s
        if remaining <= 0:
            return []
        hole = _hole(source, mask)
        # A mask replaces a balanced span, so its filling may not close a bracket it did not
        # open (the Java engine lets a hole close what its prefix opened, as a whole-line hole must).
        guide = _MaskGuide(
            _engine(source, mask, hole, project_root) if self._budget.constrained else None,
            original=hole.middle, unbalanced=source.language.unbalanced, lead=_lead(hole.prefix), shape=mask.shape,
        )
        start = time.monotonic()
        prefix, suffix = bounded_prompt(source, hole.prefix, hole.suffix)
        if self._hint:
            prefix = _with_hint(prefix, self._hint, source.language.line_comment)
        completions = self._model.infill(
            prefix, _window(suffix, self._budget.suffix_lines), n=self._budget.samples,
            max_tokens=self._budget.max_tokens * (2 if mask.multi_line else 1), stop=hole.stop,
            deadline=start + remaining, guide=guide,
        )
        self.stats.model_s += time.monotonic() - start
        self.stats.masks += 1
        self.stats.completions += len(completions)
        return [c for c in (_filled(proposal, completion) for completion in completions) if c is not None]


def _with_hint(prefix: str, hint: str, comment: str) -> str:
    """The prompt's prefix with a person's hint as a comment above the line the mask is on
    (a mask mostly starts mid-line, where no comment can go)."""
    line = prefix[prefix.rfind("\n") + 1 :]
    indented = len(prefix) - len(line.lstrip(" \t"))
    return with_hints(prefix[:indented], (), (), comment, hint) + prefix[indented:]


def _hole(source: SourceFile, mask: Mask) -> Hole:
    """The mask as a hole: `prefix + filling + suffix` is the patched file. A multi-line
    mask's hole ends where the model writes the statement after it again (`Hole.stop`)."""
    line = source.line_of(mask.start)
    return Hole(
        prefix=source.text_before(mask.start) + mask.before,
        middle=source.data[mask.start : mask.end].decode("utf-8"),
        suffix=mask.after + source.text_after(mask.end),
        line_end="",
        start_line=line,
        end_line=line + 1 if mask.multi_line else line,
    )


def _filled(proposal: _Proposal, completion: Completion) -> Candidate | None:
    if completion.truncated:
        return None
    text = completion.text.rstrip() if proposal.mask.multi_line else completion.text.strip()
    text = _without_repeated_terminator(text, proposal.mask.after + proposal.source.text_after(proposal.mask.end))
    if not text:
        return None
    return _candidate(proposal, text, completion.mean_logprob)


def _without_repeated_terminator(filling: str, following: str) -> str:
    """A filling that ends its statement with the `;` the code after the mask already has
    loses its own: `return <mask>;` filled with `solve(f, min, max);` would read
    `return solve(f, min, max);;`, an empty statement after a return that javac rejects as
    unreachable (issue 16: a correct fix lost so)."""
    if filling.endswith(";") and following.lstrip(" \t").startswith(";"):
        return filling[:-1].rstrip()
    return filling


def _candidate(proposal: _Proposal, filling: str, mean_logprob: float) -> Candidate | None:
    """The patch of a filled mask (a deletion has no filling), if it parses and changes
    the program. prior = location score x template weight x the filling's probability."""
    mask, source = proposal.mask, proposal.source
    new = mask.before + filling + mask.after
    patched = source.text_before(mask.start) + new + source.text_after(mask.end)
    if source.language.program(patched) in (None, source.program):
        return None
    old = source.data[mask.start : mask.end].decode("utf-8")
    return Candidate(
        file=proposal.location.file,
        original=source.text,
        patched=patched,
        generator=f"masked:{mask.template.name}",
        description=f"line {source.line_of(mask.start)}: {describe_change(old, new)}",
        location=proposal.location,
        prior=proposal.prior * math.exp(mean_logprob),
    )


@dataclass
class _MaskGuide:
    """The language's completion engine, plus what the template asks of a filling: that it
    differ from the code it masks (the greedy path would otherwise often write the original
    back), that its brackets balance, and that it have the mask's `shape` (an operator, a
    name) when it has one.

    `lead` is the member access the mask follows (`obj.`): the engine is given it as the
    start of the filling, so that it checks `obj.<name>` against `obj`'s members and
    completes a unique member name, as it does for a whole-line hole."""

    engine: Guide | None
    original: str
    unbalanced: Callable[[str], bool]
    lead: str = ""
    shape: OneOf | Name | None = None

    def allows(self, text: str, final: bool) -> bool:
        code = " ".join(text.split())
        if (final and code == " ".join(self.original.split())) or self.unbalanced(text):
            return False
        if self.shape is not None and not self.shape.allows(code, final):
            return False
        return self.engine is None or self.engine.allows(self.lead + text, final)

    def forced(self, text: str) -> str:
        return self.engine.forced(self.lead + text) if self.engine is not None else ""

    def code_end(self, text: str) -> int | None:
        end = self.engine.code_end(self.lead + text) if self.engine is not None else None
        return None if end is None else max(end - len(self.lead), 0)


def _lead(prefix: str) -> str:
    return "." if prefix.endswith(".") else ""


def _engine(source: SourceFile, mask: Mask, hole: Hole, project_root: Path) -> Guide:
    """The completion engine on the hole, the `lead` moved from the prefix into the filling.
    The Python engine reads the file's names from `prefix + middle + suffix`: the mask's
    placeholder makes that parse where the original span (empty for an insertion) would not."""
    lead = _lead(hole.prefix)
    middle = lead + (mask.placeholder if mask.placeholder is not None else hole.middle)
    return source.language.completion_engine(CompletionRequest(
        hole.prefix[: len(hole.prefix) - len(lead)], middle, hole.suffix, hole.line_end, hole.single_line,
        source.path, project_root,
    ))


def _window(suffix: str, lines: int) -> str:
    """The suffix's first `lines` lines (the rest of the mask's own line counts as one)."""
    kept = suffix.split("\n", lines + 1)
    return "\n".join(kept[: lines + 1])


def masked_generator(section: MaskedSettings, time_left_s: float) -> MaskedTemplateGenerator:
    """The generator its settings section describes, its model loaded (once per process and
    model: shared with infill)."""
    budget = MaskedBudget(
        samples=section.samples,
        time_limit_s=min(section.time_limit_s, time_left_s),
        constrained=section.constrained,
    )
    return MaskedTemplateGenerator(load_code_model(section.model), budget, section.model.hint)
