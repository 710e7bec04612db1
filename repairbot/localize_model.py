"""Model-aided fault localization: the spectrum's ranking, re-weighed by how unlikely the
code model finds each suspicious line.

Spectrum-based scores tie every statement that the same tests run (a loop body and the
line before it), and a line all failing tests run but some passing ones too sinks below
ones only the failing tests reach. A code model read over a function is surprised where
the code departs from what such code usually says, and a bug often does: an operator
flipped, a bound off by one, a call with its arguments swapped (the "naturalness" of buggy
code, Ray et al. 2016; LLMAO and FLACOCO-style rerankers use it the same way). So each of
the most suspicious functions is read once (one forward pass, `LanguageModel.surprisal`),
a line's surprisal is its most surprising token's, and a suspect's score becomes

    score x (1 + weight x r)

where r in [0, 1] is the line's surprisal rank among the suspects of its function (1: the
most surprising). Only the order inside and between the functions read changes; suspects
elsewhere keep their scores. `localize_model_weight` 0 (the default) turns it off.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from repairbot.languages import function_at
from repairbot.languages.registry import language_for
from repairbot.localize import Suspect
from repairbot.models import LanguageModel
from repairbot.models.base import DeadlinePassed
from validators import safe_files


def rerank(
    suspects: Sequence[Suspect], root: Path, model: LanguageModel, weight: float, functions: int = 3,
    deadline: float | None = None,
) -> list[Suspect]:
    """`suspects` re-weighed and re-sorted (see the module doc); a function the model could
    not read before `deadline` keeps its spectrum scores."""
    reads: dict[tuple[str, str], list[Suspect]] = {}
    for suspect in suspects:
        if suspect.spectrum is None:
            continue  # a given location: its place is the user's
        key = (suspect.location.file, suspect.function)
        if key in reads or len(reads) < functions:
            reads.setdefault(key, []).append(suspect)
    boosted: dict[int, float] = {}
    for (file, _), members in reads.items():
        try:
            surprise = line_surprisal(root, file, [m.line for m in members], model, deadline)
        except DeadlinePassed:
            break
        ordered = sorted(members, key=lambda m: surprise.get(m.line, 0.0))
        for rank, member in enumerate(ordered):
            share = rank / (len(ordered) - 1) if len(ordered) > 1 else 1.0
            boosted[id(member)] = member.location.score * (1.0 + weight * share)
    reweighed = [
        replace(s, location=replace(s.location, score=boosted[id(s)])) if id(s) in boosted else s for s in suspects
    ]
    given = [s for s in reweighed if s.spectrum is None]
    ranked = sorted((s for s in reweighed if s.spectrum is not None), key=lambda s: -s.location.score)
    return given + ranked


def line_surprisal(
    root: Path, file: str, lines: Sequence[int], model: LanguageModel, deadline: float | None = None
) -> dict[int, float]:
    """Line (1-based) -> its most surprising token's -log p, for the lines of the function
    around `lines[0]`, read from its first line on."""
    language = language_for(file)
    if language is None:
        return {}
    data = safe_files.read_bytes(root, file)
    text = data.decode("utf-8", errors="replace")
    rows = text.splitlines(keepends=True)
    row = lines[0] - 1
    if not 0 <= row < len(rows):
        return {}
    function = function_at(language.parse(data), data, lines[0], language.enclosing_function)
    first, last = (function.start_point[0], function.end_point[0]) if function is not None else (row, row)
    body = "".join(rows[first : last + 1])
    starts = [0]
    for part in rows[first : last + 1]:
        starts.append(starts[-1] + len(part))
    worst: dict[int, float] = {}
    begin = 0
    for end, surprisal in model.surprisal(body, deadline):
        if body[begin:end].strip():
            line = first + bisect_right(starts, max(begin, end - 1))
            worst[line] = max(worst.get(line, 0.0), surprisal)
        begin = end
    return worst
