"""Token merging: group boundaries from tree-sitter, the averaging itself, and encoders
with merging switched on (tiny BERT and T5 models built here; MiniLM in one slow test)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from retrieval.encoders import TransformerEncoder, minilm_path
from retrieval.syntax import atom_spans
from retrieval.token_merging import (
    Architecture,
    TokenMergingUnsupported,
    check_supported,
    merge_states,
    token_groups,
)

os.environ["HF_HUB_OFFLINE"] = "1"

CODE = [
    "def getUserName(self):\n    return self.user_name_value + 'hello world'\n",
    "for index in range(len(shoppingCartItems) + 1):\n    runningTotal += shoppingCartItems[index]\n",
    "x = y + 1\n",
]
NOTHING_TO_MERGE = ["a + b * c", "( x ) - [ y ]", "1 + 2 == 3"]


@pytest.fixture(scope="module")
def tokenizer_dir() -> Path:
    return minilm_path()


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory, tokenizer_dir: Path) -> Path:
    from transformers import AutoTokenizer, BertConfig, BertModel

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir, local_files_only=True)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=128)
    path = tmp_path_factory.mktemp("tiny-bert")
    BertModel(config).eval().save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def tiny_t5(tmp_path_factory: pytest.TempPathFactory, tokenizer_dir: Path) -> Path:
    """A CodeT5-shaped checkpoint (a whole encoder-decoder): the encoder is used."""
    from transformers import AutoTokenizer, T5Config, T5Model

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir, local_files_only=True)
    config = T5Config(vocab_size=tokenizer.vocab_size, d_model=32, d_kv=16, d_ff=64, num_layers=2,
                      num_decoder_layers=1, num_heads=2, decoder_start_token_id=0)
    path = tmp_path_factory.mktemp("tiny-t5")
    T5Model(config).eval().save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


# --- boundaries and averaging ------------------------------------------------------------

def test_atoms_are_identifiers_and_literals() -> None:
    source = "total = getUserName(x) + 'a b' + 42"
    atoms = [source[s:e] for s, e in atom_spans(source, "python")]
    assert atoms == ["total", "getUserName", "x", "'a b'", "42"]
    fstring = 'f"{userName}: {count}"'
    assert [fstring[s:e] for s, e in atom_spans(fstring, "python")] == ["userName", ": ", "count"]
    java = 'String s = obj.getName() + "x y" + 0x1F;'
    assert [java[s:e] for s, e in atom_spans(java, "java")] == ["String", "s", "obj", "getName", '"x y"', "0x1F"]
    assert atom_spans("anything at all", None) == []


def test_atom_spans_are_character_offsets_in_non_ascii_text() -> None:
    source = "naïve = 'café' + größe"
    assert [source[s:e] for s, e in atom_spans(source, "python")] == ["naïve", "'café'", "größe"]


def test_subtokens_inside_one_atom_share_a_group() -> None:
    # [CLS] get ##user ##name ( x ) [SEP] [PAD]
    offsets = [(0, 0), (0, 3), (3, 7), (7, 11), (11, 12), (12, 13), (13, 14), (0, 0), (0, 0)]
    attended = [1, 1, 1, 1, 1, 1, 1, 1, 0]
    spans = [(12, 13), (0, 11)]
    assert token_groups(offsets, attended, spans) == [0, 1, 1, 1, 2, 3, 4, 5, -1]
    # Two adjacent atoms do not merge with each other.
    assert token_groups([(0, 2), (2, 4)], [1, 1], [(0, 2), (2, 4)]) == [0, 1]


def test_merge_states_averages_groups_and_copies_singletons_exactly() -> None:
    hidden = torch.randn(2, 5, 4)
    groups = torch.tensor([[0, 1, 1, 1, 2], [0, 1, 2, -1, -1]])
    merged, mask = merge_states(hidden, groups)
    assert merged.shape == (2, 3, 4)
    assert mask.tolist() == [[1, 1, 1], [1, 1, 1]]
    assert torch.equal(merged[0, 0], hidden[0, 0]) and torch.equal(merged[0, 2], hidden[0, 4])
    assert torch.allclose(merged[0, 1], hidden[0, 1:4].mean(dim=0))
    assert torch.equal(merged[1], hidden[1, :3])
    identity, identity_mask = merge_states(hidden, torch.tensor([[0, 1, 2, 3, 4], [0, 1, 2, -1, -1]]))
    assert torch.equal(identity[0], hidden[0]) and identity_mask.tolist() == [[1] * 5, [1, 1, 1, 0, 0]]


def test_flops_count_merged_layers_on_the_shorter_sequence() -> None:
    arch = Architecture(layers=6, hidden=384, attention=384, ffn=1536)
    assert arch.flops(100, 100) == arch.flops(100) == 6 * arch.layer_flops(100)
    assert arch.flops(100, 60, after_layer=2) == 2 * arch.layer_flops(100) + 4 * arch.layer_flops(60)
    assert arch.layer_flops(60) < 0.6 * arch.layer_flops(100)


# --- encoders with merging ---------------------------------------------------------------

@pytest.mark.parametrize("after_layer", [0, 1])
def test_merging_keeps_the_output_shape_and_shortens_the_sequence(tiny_bert: Path, after_layer: int) -> None:
    plain = TransformerEncoder(tiny_bert)
    merging = TransformerEncoder(tiny_bert, token_merging=True, merge_after_layer=after_layer)
    languages = ["python"] * len(CODE)
    vectors, costs = merging.encode_with_costs(CODE, languages)
    reference, plain_costs = plain.encode_with_costs(CODE, languages)
    assert vectors.shape == reference.shape == (len(CODE), 32)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert [c.tokens for c in costs] == [c.tokens for c in plain_costs]
    assert costs[0].merged_tokens < costs[0].tokens and costs[1].merged_tokens < costs[1].tokens
    assert costs[2].merged_tokens == costs[2].tokens  # every name is one subtoken already
    assert costs[0].merged_flops < costs[0].flops
    assert all(c.merged_tokens == c.tokens and c.merged_flops == c.flops for c in plain_costs)
    assert not np.allclose(vectors[0], reference[0], atol=1e-4)  # merging did change something


@pytest.mark.parametrize("after_layer", [0, 1])
def test_nothing_to_merge_gives_identical_results(tiny_bert: Path, after_layer: int) -> None:
    plain = TransformerEncoder(tiny_bert)
    merging = TransformerEncoder(tiny_bert, token_merging=True, merge_after_layer=after_layer)
    languages = ["python"] * len(NOTHING_TO_MERGE)
    vectors, costs = merging.encode_with_costs(NOTHING_TO_MERGE, languages)
    assert all(c.merged_tokens == c.tokens for c in costs)
    np.testing.assert_allclose(vectors, plain.encode(NOTHING_TO_MERGE, languages), atol=1e-6)
    # Text in no known language has no atoms: nothing merges, whatever it says.
    prose = ["getUserName returns the user_name_value"]
    np.testing.assert_allclose(merging.encode(prose, [None]), plain.encode(prose, [None]), atol=1e-6)


def test_inputs_without_merges_are_unaffected_by_merging_neighbours_in_the_batch(tiny_bert: Path) -> None:
    merging = TransformerEncoder(tiny_bert, token_merging=True)
    alone = merging.encode(NOTHING_TO_MERGE[:1], ["python"])
    batched = merging.encode([CODE[1], NOTHING_TO_MERGE[0]], ["python", "python"])
    np.testing.assert_allclose(batched[1], alone[0], atol=1e-5)


def test_t5_encoders_merge_after_the_embedding_layer(tiny_t5: Path) -> None:
    plain = TransformerEncoder(tiny_t5)
    merging = TransformerEncoder(tiny_t5, token_merging=True)
    vectors, costs = merging.encode_with_costs(CODE, ["python"] * len(CODE))
    assert vectors.shape == plain.encode(CODE, ["python"] * len(CODE)).shape == (len(CODE), 32)
    assert costs[1].merged_tokens < costs[1].tokens
    np.testing.assert_allclose(merging.encode(NOTHING_TO_MERGE, ["python"] * 3),
                               plain.encode(NOTHING_TO_MERGE, ["python"] * 3), atol=1e-6)
    with pytest.raises(TokenMergingUnsupported, match="embedding layer"):
        TransformerEncoder(tiny_t5, token_merging=True, merge_after_layer=1)


def test_unsupported_merging_is_refused_up_front(tiny_bert: Path) -> None:
    with pytest.raises(TokenMergingUnsupported, match="0..1"):
        TransformerEncoder(tiny_bert, token_merging=True, merge_after_layer=2)
    with pytest.raises(TokenMergingUnsupported, match="BERT- or T5-style"):
        check_supported(torch.nn.Linear(2, 2), 0)


@pytest.mark.slow
def test_minilm_with_merging_saves_work_on_real_code_and_keeps_the_meaning() -> None:
    sources = sorted((Path(__file__).resolve().parents[1] / "retrieval").glob("*.py"))
    functions = [chunk for path in sources for chunk in path.read_text().split("\n\n\n") if "def " in chunk][:24]
    plain = TransformerEncoder()
    merging = TransformerEncoder(token_merging=True)
    languages = ["python"] * len(functions)
    vectors, costs = merging.encode_with_costs(functions, languages)
    reference = plain.encode(functions, languages)
    saved = 1 - sum(c.merged_flops for c in costs) / sum(c.flops for c in costs)
    assert sum(c.merged_tokens for c in costs) < 0.9 * sum(c.tokens for c in costs)
    assert saved > 0.1
    cosine = (vectors * reference).sum(axis=1)
    assert cosine.mean() > 0.7
    # Each merged vector is still nearest to its own unmerged vector among all of them.
    assert ((vectors @ reference.T).argmax(axis=1) == np.arange(len(functions))).mean() > 0.9
