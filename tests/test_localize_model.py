"""Model-aided fault localization (issue 17): the spectrum's suspects re-weighed by how
surprised the code model is by each line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from repairbot.domain import SuspiciousLocation
from repairbot.localize import Spectrum, Suspect
from repairbot.localize_model import line_surprisal, rerank
from repairbot.models import load, resolve
from tests.test_models import causal_checkpoint

SOURCE = """\
def area(w, h):
    s = w * h
    t = s - w
    return t
"""


class SurprisedBy:
    """Surprisal 5 for each token (a word) matching `pattern`, 1 for the others."""

    def __init__(self, pattern: str) -> None:
        self.pattern = re.compile(pattern)
        self.read: list[str] = []

    def surprisal(self, text: str, deadline: float | None = None) -> list[tuple[int, float]]:
        self.read.append(text)
        return [(m.end(), 5.0 if self.pattern.fullmatch(m.group()) else 1.0) for m in re.finditer(r"\s*\S+", text)][1:]


def suspect(line: int, score: float, function: str = "area") -> Suspect:
    return Suspect(SuspiciousLocation("m.py", line, line, score), function, line, Spectrum(1, 1), 0.0)


def test_a_tie_is_broken_by_the_line_the_model_finds_least_likely(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(SOURCE)
    model = SurprisedBy(r"\s*-")
    ranked = rerank([suspect(2, 0.5), suspect(3, 0.5), suspect(4, 0.5)], tmp_path, model, weight=1.0)
    assert [s.line for s in ranked] == [3, 4, 2]  # `t = s - w` first; return t, then s = w * h
    assert [round(s.location.score, 3) for s in ranked] == [1.0, 0.75, 0.5]
    assert model.read == [SOURCE]  # the function read once, from its first line
    # Weight 0.1: a clear spectrum lead stays ahead of the model's pick.
    ranked = rerank([suspect(2, 0.9), suspect(3, 0.5)], tmp_path, SurprisedBy(r"\s*-"), weight=0.1)
    assert [s.line for s in ranked] == [2, 3]


def test_given_locations_and_functions_past_the_limit_keep_their_place(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(SOURCE + "\n\ndef other(x):\n    return x - 1\n")
    given = Suspect(SuspiciousLocation("m.py", 2, 2, 1.0), "area", 2, None, 0.0)
    ranked = rerank([given, suspect(3, 0.5), suspect(8, 0.4, "other")], tmp_path, SurprisedBy(r"\s*-"),
                    weight=1.0, functions=1)
    assert [s.line for s in ranked] == [2, 3, 8]
    assert ranked[2].location.score == 0.4


def test_line_surprisal_attributes_each_token_to_its_line(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(SOURCE)
    surprise = line_surprisal(tmp_path, "m.py", [3], SurprisedBy(r"\s*-"))
    assert surprise == {1: 1.0, 2: 1.0, 3: 5.0, 4: 1.0}  # `def`, read without context, has no score


def test_a_causal_checkpoint_scores_every_token_after_the_first(tmp_path: Path) -> None:
    pytest.importorskip("transformers")
    model = load(resolve(str(causal_checkpoint(tmp_path / "causal", fim=True)), tmp_path))
    scores = model.surprisal(SOURCE)
    ends = [end for end, _ in scores]
    assert ends == sorted(ends) and ends[-1] == len(SOURCE)
    assert all(value >= 0 for _, value in scores) and len(scores) == model.count_tokens(SOURCE) - 1
