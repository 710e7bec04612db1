"""Function-level repair with test feedback: the model rewrites a whole suspicious function,
shown the failing tests and their errors, and is told how its last answer failed.

A one-line hole cannot add a missing line, change two lines together, or use what the
failing test expects. ChatRepair and the function-level repair study ("How Far Can We Go
with Practical Function-Level Program Repair?") give the model the buggy function, the
failing test and its error, and ask for the whole function back; a wrong answer's own
failure goes into the next turn of the same conversation. Here, with a local model:

* one conversation per suspicious function (its most suspicious line first), the
  suspicious lines marked with a comment (`# <- suspicious`), the failing tests' code and
  trimmed errors (repairbot.generate.failures), retrieved past fixes and a person's hint
  when there are any;
* the answer is begun for the model (the code fence, the function's header as it is), so
  it writes only the body, which is a hole like infill's: decoded under the language's
  completion engine (brackets, parse, names that exist), never the original program or a
  repeat; the suspicious-line markers are taken out
  of what it wrote;
* when no candidate of a turn is plausible, the failure of the best one (the fewest
  failing targets; a compile error's message else) is the next user message, for up to
  `turns` turns. llama.cpp keeps the conversation read so far: a turn reads only its new
  tokens (repairbot.models.llama).

A function whose body is longer than `max_tokens` (it could not be written back whole), or
whose prompt does not fit the model's context even without the tests, is left to the
line-level generators.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from repairbot.config import FunctionSettings
from repairbot.domain import Candidate, SuspiciousLocation, ValidationResult, Verdict
from repairbot.generate.describe import describe_change
from repairbot.generate.failures import FailingTest, trim_message
from repairbot.generate.infill import Hole, completion_guide, load_code_model, make_hole
from repairbot.generate.sources import SourceFile, load_source
from repairbot.languages import function_at
from repairbot.models import LanguageModel
from repairbot.models.base import Guide, Message
from repairbot.rank import normalized

if TYPE_CHECKING:
    from retrieval.retrieve import RetrievalContext

MARK = "<- suspicious"
FENCE = "```"
# A body's tokens grow a little when rewritten; room to spare before `max_tokens`.
REWRITE_SLACK = 1.25
SYSTEM = "You are an expert software engineer. You fix bugs with small, correct changes."


@dataclass(frozen=True)
class FunctionBudget:
    samples: int = 2
    turns: int = 3
    max_tokens: int = 384
    time_limit_s: float = 180.0
    constrained: bool = True


@dataclass
class FunctionStats:
    conversations: int = 0
    turns: int = 0
    candidates: int = 0
    skipped: int = 0  # functions too long to rewrite or to show
    model_s: float = 0.0


@dataclass(frozen=True)
class _Function:
    """A suspicious function split for rewriting: `header` (through its body's `{` where
    there is one) is given, `hole` (the rest of it) is written."""

    name: str
    start_line: int
    header: str
    hole: Hole
    text: str  # the whole function with the suspicious lines marked


@dataclass
class _Conversation:
    location: SuspiciousLocation
    source: SourceFile
    function: _Function
    answer_start: str
    messages: list[Message]
    turn: int = 1
    # The candidates of the last turn and the answer each came from.
    answers: dict[Candidate, str] = field(default_factory=dict)


class FunctionGenerator:
    name = "function"

    def __init__(
        self, model: LanguageModel, budget: FunctionBudget, failing: Sequence[FailingTest],
        suspicious: Sequence[SuspiciousLocation] = (),
        retrieved: Mapping[SuspiciousLocation, RetrievalContext] | None = None, hint: str | None = None,
    ) -> None:
        """`failing`: the tests to show; `suspicious`: every suspicious location of the job,
        marked in the function they fall in."""
        self._model = model
        self._budget = budget
        self._failing = list(failing)
        self._suspicious = list(suspicious)
        self._retrieved = retrieved or {}
        self._hint = hint
        self._seen: set[tuple[str, int]] = set()  # (file, first line) of functions taken up
        self._current: _Conversation | None = None
        self._follow_up: _Conversation | None = None
        self.stats = FunctionStats()

    def generate(self, project_root: Path, locations: list[SuspiciousLocation], limit: int) -> list[Candidate]:
        """The candidates of one turn: the next turn of the conversation `learn` continued,
        else the first turn about the function of `locations[0]` (nothing if it was taken up
        already, through another of its lines)."""
        conversation, self._follow_up = self._follow_up, None
        if conversation is None and locations:
            conversation = self._start(project_root, locations[0])
        self._current = conversation
        if conversation is None or limit <= 0:
            return []
        return self._turn(project_root, conversation)[:limit]

    def learn(self, results: Sequence[ValidationResult]) -> bool:
        """Take the verdicts of the last turn's candidates; whether another turn is wanted
        (then the pipeline asks `generate` again for the same locations). The next turn
        answers the best of them: a plausible one (for an alternative), else the one that
        fails the fewest tests."""
        conversation = self._current
        if conversation is None or not conversation.answers:
            return False
        mine = [r for r in results if r.candidate in conversation.answers]
        if not mine or conversation.turn >= self._budget.turns or self._time_left() <= 0:
            return False
        worst = len(self._failing) + 1
        best = min(mine, key=lambda r: (r.verdict is not Verdict.PLAUSIBLE, r.verdict is not Verdict.FAILS,
                                        _failing_count(r) if r.verdict is Verdict.FAILS else worst))
        answer = conversation.answer_start + conversation.answers[best.candidate] + "\n" + FENCE
        conversation.messages += [
            {"role": "assistant", "content": answer},
            {"role": "user", "content": _feedback(best, conversation.source.language.title)},
        ]
        conversation.turn += 1
        self._follow_up = conversation
        return True

    def _start(self, project_root: Path, location: SuspiciousLocation) -> _Conversation | None:
        source = load_source(project_root, location.file, self.name)
        if source is None:
            return None
        function = self._function(source, location)
        if function is None:
            return None
        key = (location.file, function.start_line)
        if key in self._seen:
            return None
        self._seen.add(key)
        if self._model.count_tokens(function.hole.middle) * REWRITE_SLACK > self._budget.max_tokens:
            self.stats.skipped += 1
            return None
        answer_start = f"{FENCE}{source.language.name}\n{function.header}"
        self.stats.conversations += 1
        return _Conversation(location, source, function, answer_start, self._first_messages(source, function, location))

    def _function(self, source: SourceFile, location: SuspiciousLocation) -> _Function | None:
        language = source.language
        tree = language.parse(source.data)
        function = function_at(tree, source.data, location.start_line, language.enclosing_function)
        body = function.child_by_field_name("body") if function is not None else None
        if function is None or body is None:
            return None
        braced = body.text is not None and body.text.startswith(b"{")
        first_body_line = body.start_point[0] + (2 if braced else 1)  # 1-based
        start, end = function.start_point[0] + 1, function.end_point[0] + 1
        if first_body_line <= start or first_body_line > end:
            return None  # a one-line function: nothing to split
        hole = make_hole(source.text, first_body_line, end)
        if hole is None:
            return None
        lines = source.text.splitlines(keepends=True)
        marked = {
            n for s in self._suspicious if s.file == location.file
            for n in range(s.start_line, s.end_line + 1) if start <= n <= end
        } | set(range(location.start_line, location.end_line + 1))
        comment = f" {language.line_comment} {MARK}"
        text = "".join(
            (lines[n - 1].rstrip("\r\n") + comment + "\n") if n in marked else lines[n - 1]
            for n in range(start, end + 1)
        )
        header = "".join(lines[start - 1 : first_body_line - 1])
        return _Function(language.qualified_name(function), start, header, hole, text)

    def _first_messages(self, source: SourceFile, function: _Function, location: SuspiciousLocation) -> list[Message]:
        language = source.language
        fence = FENCE + language.name
        parts = [
            f"The tests fail because of a bug in this {language.title} function from `{location.file}`. "
            f"Lines marked `{language.line_comment} {MARK}` are where the bug most likely is.",
            f"{fence}\n{function.text.rstrip()}\n{FENCE}",
        ]
        for test in self._failing:
            parts.append(f"Failing test `{test.test_id}`:" + (f"\n{fence}\n{test.code}\n{FENCE}" if test.code else ""))
            parts.append(f"Error:\n{FENCE}\n{test.message}\n{FENCE}")
        context = self._retrieved.get(location)
        for fix in (context.fixes[:2] if context is not None else ()):
            diff = f"-{fix.pair.buggy.strip()}\n+{fix.pair.fixed.strip()}"
            parts.append(f"A similar fix made elsewhere:\n{FENCE}diff\n{diff}\n{FENCE}")
        if self._hint:
            parts.append(f"Hint from the developer: {' '.join(self._hint.split())}")
        parts.append(f"Reply with the whole corrected function in one {fence} code block.")
        return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "\n\n".join(parts)}]

    def _turn(self, project_root: Path, conversation: _Conversation) -> list[Candidate]:
        remaining = self._time_left()
        prompt = self._bounded_prompt(conversation)
        if prompt is None or remaining <= 0:
            self.stats.skipped += prompt is None
            return []
        function, source = conversation.function, conversation.source
        start = time.monotonic()
        indentation = function.hole.prefix[function.hole.prefix.rfind("\n") + 1 :]
        guide = completion_guide(source, function.hole, project_root) if self._budget.constrained else None
        guide = Indented(guide, indentation) if guide is not None else None
        completions = self._model.continue_text(
            prompt, n=self._budget.samples, max_tokens=self._budget.max_tokens, stop=[FENCE],
            deadline=start + remaining, guide=guide,
        )
        self.stats.model_s += time.monotonic() - start
        self.stats.turns += 1
        conversation.answers = {}
        # The marker, or the model's own arrow comments after it (`# <- fixed`).
        unmark = re.compile(rf"[ \t]*{re.escape(source.language.line_comment)}[ \t]*<-.*$", re.M)
        seen: set[str] = set()
        for completion in completions:
            written = unmark.sub("", completion.text).rstrip()
            if completion.truncated or not written.startswith(indentation) or not written.strip():
                continue
            written = written[len(indentation) :]
            patched = function.hole.fill(written)
            if source.language.program(patched) in (None, source.program):
                continue
            candidate = Candidate(
                file=conversation.location.file,
                original=source.text,
                patched=patched,
                generator=f"function:{self._model.name}",
                description=f"{function.name} rewritten (turn {conversation.turn}): "
                f"{describe_change(function.hole.middle, written)}",
                location=conversation.location,
                prior=conversation.location.score * math.exp(completion.mean_logprob),
            )
            key = normalized(candidate)
            if key not in seen:
                seen.add(key)
                conversation.answers[candidate] = completion.text.rstrip()
        self.stats.candidates += len(conversation.answers)
        return sorted(conversation.answers, key=lambda c: -c.prior)

    def _bounded_prompt(self, conversation: _Conversation) -> str | None:
        """The conversation as a prompt that fits the context with `max_tokens` to write:
        the oldest feedback turns go first; None when even the first turn does not fit."""
        messages = list(conversation.messages)
        room = self._model.context_tokens - self._budget.max_tokens
        while True:
            prompt = self._model.chat_prompt(messages, conversation.answer_start)
            if self._model.count_tokens(prompt) <= room:
                return prompt
            if len(messages) <= 2:
                return None
            del messages[2:4]  # the oldest answer and its feedback

    def _time_left(self) -> float:
        return self._budget.time_limit_s - self.stats.model_s


class Indented:
    """The completion engine of a body hole for an answer that writes the body's first
    indentation itself. The prompt cannot end in it: the model's tokens carry their leading
    space (` words`), and after a prompt ending in four spaces it writes five. Until the
    indentation is written only it is allowed; after it, the engine judges the rest."""

    def __init__(self, engine: Guide, indentation: str) -> None:
        self._engine = engine
        self._indentation = indentation

    def allows(self, text: str, final: bool) -> bool:
        if not text.startswith(self._indentation):
            return not final and self._indentation.startswith(text)
        rest = text[len(self._indentation) :]
        return not rest[:1].isspace() and self._engine.allows(rest, final)

    def forced(self, text: str) -> str:
        if not text.startswith(self._indentation):
            return ""  # the model's own tokens: forcing spaces would split its words from theirs
        return self._engine.forced(text[len(self._indentation) :])

    def code_end(self, text: str) -> int | None:
        if not text.startswith(self._indentation):
            return None
        end = self._engine.code_end(text[len(self._indentation) :])
        return None if end is None else end + len(self._indentation)


def _failing_count(result: ValidationResult) -> int:
    return sum(not o.ok for o in result.outcomes)


def _feedback(result: ValidationResult, language: str) -> str:
    """What the next turn is told of an answer: of one that failed, the failing tests'
    messages, or the compiler's (or runner's) words; of a plausible one, that it passed and
    another fix is wanted (the job asks for more plausible patches, `max_plausible`): as in
    ChatRepair, a plausible patch seeds alternatives, of which the ranking keeps the best."""
    if result.verdict is Verdict.PLAUSIBLE:
        return (
            "That version passes every test. Write another fix of the same bug, with as small a change "
            f"as you can, that does not special-case the tests' inputs, and reply with the whole {language} function."
        )
    failed = [o for o in result.outcomes if not o.ok][:2]
    again = f"Fix the function again and reply with the whole {language} function."
    if result.verdict is Verdict.FAILS and failed:
        said = "\n\n".join(f"`{o.test_id}`:\n{FENCE}\n{trim_message(o.message)}\n{FENCE}" for o in failed)
        return f"That version still fails:\n\n{said}\n\n{again}"
    detail = trim_message(result.detail) or result.verdict.value
    return f"That version is not accepted ({result.verdict.value}):\n{FENCE}\n{detail}\n{FENCE}\n\n{again}"


def function_generator(
    section: FunctionSettings, time_left_s: float, failing: Sequence[FailingTest],
    suspicious: Sequence[SuspiciousLocation] = (),
    retrieved: Mapping[SuspiciousLocation, RetrievalContext] | None = None,
) -> FunctionGenerator:
    budget = FunctionBudget(
        samples=section.samples, turns=section.turns, max_tokens=section.max_tokens,
        time_limit_s=min(section.time_limit_s, time_left_s), constrained=section.constrained,
    )
    return FunctionGenerator(load_code_model(section.model), budget, failing, suspicious, retrieved, section.model.hint)
