"""Fill-in-the-middle patches: mask the suspicious lines and let a code model rewrite them.

Templates only reach fixes of a few known shapes; a model that reads the code around a
hole proposes fixes of any shape (Repilot's setting, with its completion engine guiding
every token: see `repairbot.generate.completion`). Each suspicious location becomes one
hole: the prefix is the file up to the hole, kept indentation included (fixes rarely
change it, and it anchors the statement), the suffix the rest; in a long file the model
reads only the enclosing function and its neighbourhood (`repairbot.generate.prompt`),
while the completion engine still checks the whole file. Completions that do not parse,
or that give back the original program (same AST: only spacing or comments changed), cost
a test run for nothing and are dropped here.

Reading a prompt costs seconds on a CPU, so the model's time is a budget of its own,
counted over every call on one generator (the pipeline calls it location by location,
validating each location's candidates before paying for the next). It reaches the model
as a deadline that decoding checks before every step, the prompt's chunks included, and
the greedy filling comes first: a call cut short keeps the fillings finished in time.

A hole over the suspicious lines can only rewrite them; a fix that is a missing line (an
`i += 1`, a `if x is None: return` guard, a `break`) needs somewhere to put it. So each
location also gets empty holes where a line may be inserted, at the places its language
names (`LanguageSupport.insertion_points`: before and after the statement, first in the
body of a loop or branch whose header it is). They come after the location's replacement
hole, with fewer samples (`InfillBudget.insert_samples`), and their candidates weigh less
(`INSERT_WEIGHT`): a missing line is the rarer fix, and its holes must not take the model
time or the first validations that the rewrites of the suspicious line need.
"""

from __future__ import annotations

import difflib
import math
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from repairbot.config import CodeModelSettings, InfillSettings
from repairbot.domain import Candidate, SuspiciousLocation
from repairbot.generate.describe import describe_change
from repairbot.generate.prompt import bounded_prompt
from repairbot.generate.sources import SourceFile, load_source
from repairbot.languages.registry import CompletionRequest, InsertionPoint
from repairbot.models import Completion, Guide, LanguageModel, load, resolve
from repairbot.rank import program_key

if TYPE_CHECKING:  # the retrieval stack (torch, FAISS) loads only where an index is used
    from retrieval.index import RetrievedFix
    from retrieval.retrieve import RetrievalContext, SimilarLine


@dataclass(frozen=True)
class InfillBudget:
    samples: int = 4
    max_tokens: int = 64
    time_limit_s: float = 120.0
    # Decode under the completion engine (repairbot.generate.completion), as Repilot does.
    constrained: bool = True
    # Holes where a missing line may be inserted, each filled greedily plus `insert_samples - 1` samples.
    insert_holes: bool = True
    insert_samples: int = 2


@dataclass
class InfillStats:
    """What the model produced over one generator's life: for benchmarks and progress."""

    completions: int = 0
    candidates: int = 0  # completions that parse, change the program and are new
    pruned_tokens: int = 0
    forced_tokens: int = 0
    model_s: float = 0.0


@dataclass(frozen=True)
class Hole:
    """The masked lines of a file: `prefix + middle + suffix` is the whole text."""

    prefix: str
    middle: str
    suffix: str
    line_end: str
    start_line: int
    end_line: int

    @property
    def single_line(self) -> bool:
        return self.start_line == self.end_line

    @property
    def stop(self) -> list[str]:
        """A one-line hole ends at the newline: FIM on an instruct model otherwise runs on
        past the hole (usage examples, prints). A longer hole ends where the model starts
        writing the suffix's first line again."""
        if self.single_line:
            return ["\n"]
        following = next((line for line in self.suffix.splitlines() if line.strip()), "")
        return ["\n" + following] if following else []

    def fill(self, text: str) -> str:
        return self.prefix + text.rstrip() + self.line_end + self.suffix


# An inserted line's prior, against a rewrite of the suspicious line's: most one-location
# fixes change a line rather than add one (as the masked templates weigh `insert_before`).
INSERT_WEIGHT = 0.3
MAX_INSERTIONS = 3  # per location: a location of many statements (a method) gets its first ones'


def make_hole(text: str, start_line: int, end_line: int) -> Hole | None:
    """Lines `start_line..end_line` (1-based) masked after the first one's indentation."""
    lines = text.splitlines(keepends=True)
    if not 1 <= start_line <= end_line <= len(lines):
        return None
    first = lines[start_line - 1]
    indentation = first[: len(first) - len(first.lstrip(" \t"))]
    middle = "".join(lines[start_line - 1 : end_line])[len(indentation) :]
    body = middle.rstrip("\r\n")
    return Hole(
        prefix="".join(lines[: start_line - 1]) + indentation,
        middle=body,
        suffix="".join(lines[end_line:]),
        line_end=middle[len(body) :],
        start_line=start_line,
        end_line=end_line,
    )


def insertion_hole(text: str, point: InsertionPoint) -> Hole | None:
    """An empty hole where the new line `point.line` goes, after its indentation: `fill`
    writes the line and a line end before the line that was there. None past the file's
    end, or after a last line without a line end."""
    lines = text.splitlines(keepends=True)
    if not 1 <= point.line <= len(lines) + 1:
        return None
    before = lines[: point.line - 1]
    neighbour = before[-1] if before else lines[0] if lines else "\n"
    line_end = neighbour[len(neighbour.rstrip("\r\n")) :]
    if not line_end:
        return None
    return Hole(
        prefix="".join(before) + point.indentation,
        middle="",
        suffix="".join(lines[point.line - 1 :]),
        line_end=line_end,
        start_line=point.line,
        end_line=point.line,
    )


@dataclass(frozen=True)
class _Slot:
    """One hole the model fills for a location: its replacement hole, or an insertion."""

    hole: Hole
    insertion: InsertionPoint | None = None
    key: tuple[str, int, str] | None = None  # an insertion's (file, line, indentation)


class InfillGenerator:
    name = "infill"

    def __init__(
        self, model: LanguageModel, budget: InfillBudget = InfillBudget(),
        retrieved: Mapping[SuspiciousLocation, RetrievalContext] | None = None, hint: str | None = None,
    ) -> None:
        """`retrieved`: past fixes (RAP-Gen) and similar lines (MultiMend) per location,
        shown in its prompt; the past fixes also favour candidates that make the same edit.
        `hint`: a person's words about the fault, shown in every prompt."""
        self._model = model
        self._budget = budget
        self._retrieved = retrieved or {}
        self._hint = hint
        self._inserted: set[tuple[str, int, str]] = set()  # insertion holes asked about: (file, line, indentation)
        self.stats = InfillStats()

    def generate(self, project_root: Path, locations: list[SuspiciousLocation], limit: int) -> list[Candidate]:
        """Candidates for the locations in the given order, until `limit` or the time budget:
        of each location, its replacement hole's, then its insertion holes'."""
        candidates: list[Candidate] = []
        seen: set[tuple[str, str]] = set()
        sources: dict[str, SourceFile | None] = {}
        for location in locations:
            if len(candidates) >= limit or self.stats.model_s >= self._budget.time_limit_s:
                break
            if location.file not in sources:
                sources[location.file] = load_source(project_root, location.file, self.name)
            source = sources[location.file]
            if source is None:
                continue
            for slot in self._slots(source, location):
                remaining = self._budget.time_limit_s - self.stats.model_s
                if len(candidates) >= limit or remaining <= 0:
                    break
                if slot.key is not None:
                    self._inserted.add(slot.key)
                for candidate in self._fill(source, slot, location, project_root, remaining):
                    key = program_key(candidate)
                    if key not in seen:
                        seen.add(key)
                        candidates.append(candidate)
                        self.stats.candidates += 1
        return sorted(candidates, key=lambda c: -c.prior)[: max(limit, 0)]

    def _slots(self, source: SourceFile, location: SuspiciousLocation) -> list[_Slot]:
        """The location's replacement hole, then the insertion holes not asked about yet
        (after line 2 is before line 3: two suspicious neighbours share it)."""
        hole = make_hole(source.text, location.start_line, location.end_line)
        slots = [_Slot(hole)] if hole is not None else []
        if not self._budget.insert_holes or hole is None:
            return slots
        tree = source.language.parse(source.data)
        points = source.language.insertion_points(source.data, tree, location.start_line, location.end_line)
        keys = set(self._inserted)
        for point in list(points)[:MAX_INSERTIONS]:
            key = (location.file, point.line, point.indentation)
            insertion = insertion_hole(source.text, point)
            if insertion is not None and key not in keys:
                keys.add(key)
                slots.append(_Slot(insertion, point, key))
        return slots

    def _fill(
        self, source: SourceFile, slot: _Slot, location: SuspiciousLocation, project_root: Path, remaining: float
    ) -> list[Candidate]:
        """The candidates of one hole's completions, asked within `remaining` model seconds."""
        hole = slot.hole
        start = time.monotonic()
        idle = _idle_lines(hole, source.language.empty_statement) if slot.insertion is not None else ()
        guide = completion_guide(source, hole, project_root, idle) if self._budget.constrained else None
        context = self._retrieved.get(location)
        prompt_prefix, prompt_suffix = bounded_prompt(source, hole.prefix, hole.suffix)
        if context is not None or self._hint:
            prompt_prefix = with_hints(
                prompt_prefix, context.fixes if context else (), context.similar_lines if context else (),
                source.language.line_comment, self._hint,
            )
        samples = self._budget.samples
        if slot.insertion is not None:
            samples = min(self._budget.insert_samples, samples)
        completions = self._model.infill(
            prompt_prefix, prompt_suffix, n=samples, max_tokens=self._budget.max_tokens,
            stop=hole.stop, deadline=start + remaining, guide=guide,
        )
        self.stats.model_s += time.monotonic() - start
        candidates = []
        for completion in completions:
            self.stats.completions += 1
            self.stats.pruned_tokens += completion.pruned
            self.stats.forced_tokens += completion.forced_tokens
            candidate = (
                self._candidate(source, hole, location, completion) if slot.insertion is None
                else self._inserted_line(source, slot, location, completion, idle)
            )
            if candidate is not None:
                candidates.append(candidate)
        return candidates

    def _candidate(
        self, source: SourceFile, hole: Hole, location: SuspiciousLocation, completion: Completion
    ) -> Candidate | None:
        new = completion.text.rstrip()
        if completion.truncated or not new.strip():
            return None
        lines = f"line {hole.start_line}" if hole.single_line else f"lines {hole.start_line}-{hole.end_line}"
        context = self._retrieved.get(location)
        support = retrieval_support(hole.middle, new, context.fixes) if context is not None else 0.0
        prior = location.score * math.exp(completion.mean_logprob) * (1.0 + support)
        return self._filled(source, hole, new, location, f"{lines}: {describe_change(hole.middle, new)}", prior)

    def _inserted_line(
        self, source: SourceFile, slot: _Slot, location: SuspiciousLocation, completion: Completion,
        idle: tuple[str, ...],
    ) -> Candidate | None:
        """The patch of a line written into an insertion hole: none for an empty line or one
        of the `idle` lines."""
        point = slot.insertion
        assert point is not None
        new = completion.text.strip()
        if completion.truncated or not new or new in idle:
            return None
        where = {"before": f"before line {point.line}", "after": f"after line {point.line - 1}"}.get(
            point.where, f"first in the body, line {point.line}"
        )
        prior = INSERT_WEIGHT * location.score * math.exp(completion.mean_logprob)
        description = f"inserts a line {where}: `{' '.join(new.split())}`"
        return self._filled(source, slot.hole, new, location, description, prior)

    def _filled(
        self, source: SourceFile, hole: Hole, new: str, location: SuspiciousLocation, description: str, prior: float
    ) -> Candidate | None:
        """The candidate of `hole` filled with `new`; none for a file that does not parse or
        that is the same program (the completion engine refuses these too, but decoding may
        run unguided)."""
        patched = hole.fill(new)
        if source.language.program(patched) in (None, source.program):
            return None
        return Candidate(
            file=location.file, original=source.text, patched=patched, generator=f"infill:{self._model.name}",
            description=description, location=location, prior=prior,
        )


def _idle_lines(hole: Hole, empty_statement: str) -> tuple[str, ...]:
    """Lines an insertion hole gains nothing from: the language's statement that does
    nothing (`pass`), and the lines either side of the hole, which a model asked for the
    line between two often writes again."""
    above = hole.prefix.rstrip(" \t").rstrip("\r\n").rpartition("\n")[2].strip()
    below = hole.suffix.split("\n", 1)[0].strip()
    return tuple(line for line in (empty_statement, above, below) if line)


MAX_HINTS = 2
MAX_HINT_LINES = 4  # changed lines shown per side of one fix
_TOKEN = re.compile(r"\w+|[^\w\s]")


def with_hints(
    prefix: str, fixes: Sequence[RetrievedFix], similar_lines: Sequence[SimilarLine] = (), comment: str = "#",
    note: str | None = None,
) -> str:
    """The prompt's prefix with retrieved context as comments just above the hole, at its
    indentation: a person's `note` about the fault (one line: it stays a comment), the lines
    of the file most like the suspicious one (MultiMend: a bug is often the line that differs
    from its siblings, which a long file's prompt may have cut) and past fixes (RAP-Gen puts
    them in the generator's input; for a decoder that fills a hole, the nearest context is
    what it reads most). Of a fix only the changed lines are shown: the context lines of a
    mined hunk are noise here."""
    head, newline, indentation = prefix.rpartition("\n")
    lines = [f"{comment} hint: {' '.join(note.split())}"] if note and note.strip() else []
    if similar_lines:
        lines.append(f"{comment} similar lines in this file:")
        lines += [f"{comment}   {similar.text.strip()}" for similar in similar_lines]
    for fix in fixes[:MAX_HINTS]:
        removed, added = _changed_lines(fix.pair.buggy, fix.pair.fixed)
        if removed or added:
            lines.append(f"{comment} a similar past fix:")
            lines += [f"{comment} - {line}" for line in removed[:MAX_HINT_LINES]]
            lines += [f"{comment} + {line}" for line in added[:MAX_HINT_LINES]]
    if not lines or indentation.strip():
        return prefix  # nothing to show, or a hole that starts mid-line
    hint = "".join(f"{indentation}{line}\n" for line in lines)
    return head + newline + hint + indentation


def retrieval_support(old: str, new: str, fixes: Sequence[RetrievedFix]) -> float:
    """How much a candidate's edit looks like a retrieved past fix's, in [0, 1]: the Jaccard
    similarity of their edits as sets of removed and added tokens (`<` -> `<=` matches a past
    `<` -> `<=` whatever the names around it). A model score says what is likely code; this
    says what is a likely *fix*, which the prompt alone does not make the model weigh."""
    edit = _token_edit(old, new)
    best = 0.0
    for fix in fixes:
        removed, added = _changed_lines(fix.pair.buggy, fix.pair.fixed)
        past = _token_edit("\n".join(removed), "\n".join(added))
        if edit or past:
            best = max(best, len(edit & past) / len(edit | past))
    return best


def _token_edit(old: str, new: str) -> set[tuple[str, str]]:
    before, after = Counter(_TOKEN.findall(old)), Counter(_TOKEN.findall(new))
    return {("-", token) for token in before - after} | {("+", token) for token in after - before}


def _changed_lines(buggy: str, fixed: str) -> tuple[list[str], list[str]]:
    old, new = buggy.splitlines(), fixed.splitlines()
    removed, added = [], []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if tag != "equal":
            removed += [line.strip() for line in old[i1:i2] if line.strip()]
            added += [line.strip() for line in new[j1:j2] if line.strip()]
    return removed, added


def completion_guide(source: SourceFile, hole: Hole, project_root: Path, refused: Sequence[str] = ()) -> Guide:
    """The completion engine for the hole's language, refusing endings that repeat a program
    and the `refused` fillings (an insertion hole's idle lines)."""
    engine = source.language.completion_engine(CompletionRequest(
        hole.prefix, hole.middle, hole.suffix, hole.line_end, hole.single_line, source.path, project_root,
    ))

    def program(text: str) -> str | None:
        return source.language.program(hole.fill(text))

    written = [program(text) for text in refused]
    return NovelEndings(engine, program, source.program, [p for p in written if p is not None])


class NovelEndings:
    """A guide that also refuses to end the hole with a program already written: the
    original (a filling that gives back the buggy code is never a patch) or an earlier
    completion of the same hole; and to end it empty (deleting the lines is the masked
    templates' job, done there without the model). Samples of a one-line hole mostly repeat the greedy
    filling; each repeat costs a whole completion and yields nothing, where a refused
    ending makes the model write on from there, into a program not tried yet."""

    def __init__(
        self, engine: Guide, program: Callable[[str], str | None], original: str, refused: Sequence[str] = ()
    ) -> None:
        """`refused`: more programs never to end with."""
        self._engine = engine
        self._program = program
        self._written = {original, *refused}

    def allows(self, text: str, final: bool) -> bool:
        if not self._engine.allows(text, final):
            return False
        if not final:
            return True
        if not text.strip():
            return False
        program = self._program(text)
        if program in self._written:
            return False
        if program is not None:
            self._written.add(program)
        return True

    def forced(self, text: str) -> str:
        return self._engine.forced(text)

    def code_end(self, text: str) -> int | None:
        return self._engine.code_end(text)


def infill_generator(
    section: InfillSettings, time_left_s: float,
    retrieved: Mapping[SuspiciousLocation, RetrievalContext] | None = None,
) -> InfillGenerator:
    """The generator its settings section describes, its model loaded (once per process and model)."""
    budget = InfillBudget(
        samples=section.samples,
        max_tokens=section.max_tokens,
        time_limit_s=min(section.time_limit_s, time_left_s),
        constrained=section.constrained,
        insert_holes=section.insert_holes,
    )
    return InfillGenerator(load_code_model(section.model), budget, retrieved, section.model.hint)


def load_code_model(model: CodeModelSettings) -> LanguageModel:
    """The model the settings name, loaded once per process (infill and masked templates share it)."""
    return load(resolve(model.name, model.data_dir), model.threads, model.token_merging)
