"""The hybrid index: dedup, filters, fusion, the FAISS structures, persistence."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from retrieval.corpus import BugFixPair
from retrieval.dense import DenseIndex, DensePolicy
from retrieval.index import BadIndex, HybridIndex
from tests.hashing_encoder import HashingEncoder

os.environ["HF_HUB_OFFLINE"] = "1"


def pair(buggy: str, fixed: str, language: str = "python", **fields: str) -> BugFixPair:
    return BugFixPair(buggy=buggy, fixed=fixed, language=language, **fields)


PAIRS = [
    pair("if a < b:\n    return a\n", "if a <= b:\n    return a\n", repository="r1"),
    pair("for i in range(len(xs) - 1):\n    s += xs[i]\n", "for i in range(len(xs)):\n    s += xs[i]\n"),
    pair("return price * percent / 10\n", "return price * percent / 100\n"),
    pair("if (x < best) {\n    best = x;\n}\n", "if (x > best) {\n    best = x;\n}\n", "java"),
    pair("for (int i = 0; i <= n; i++) {\n    s += a[i];\n}\n",
         "for (int i = 0; i < n; i++) {\n    s += a[i];\n}\n", "java"),
]


def test_identical_pairs_are_stored_once() -> None:
    index = HybridIndex.for_encoder(HashingEncoder())
    assert index.add(PAIRS) == len(PAIRS)
    same_fix_elsewhere = pair("    if a < b:\n        return a   \n", "    if a <= b:\n        return a\n",
                              repository="fork")
    assert index.add([same_fix_elsewhere, PAIRS[1], same_fix_elsewhere]) == 0
    other_language = pair(PAIRS[0].buggy, PAIRS[0].fixed, "ruby")
    assert index.add([other_language]) == 1
    assert len(index) == len(PAIRS) + 1


def test_search_filters_by_language() -> None:
    index = HybridIndex.for_encoder(HashingEncoder())
    index.add(PAIRS)
    java = index.search("if (x < y) { y = x; }", "java", k=10)
    assert [hit.pair.language for hit in java] == ["java", "java"]
    assert java[0].pair == PAIRS[3]
    assert {hit.pair.language for hit in index.search("if (x < y) { y = x; }", None, k=10)} == {"python", "java"}
    assert index.search("if a < b:", "kotlin") == []


def test_fusion_ranks_agreement_of_both_sides_first() -> None:
    """Reciprocal-rank fusion: a pair near the top of both rankings beats a pair at the very
    top of only one of them."""
    index = HybridIndex("synthetic", 3)
    pairs = [pair(f"def {name}():\n    return {name}\n", f"def {name}():\n    return None\n")
             for name in ("alpha", "beta", "gamma")]
    index.add(pairs, vectors=np.eye(3, dtype=np.float32))
    query = np.array([1.0, 0.9, 0.0], dtype=np.float32)  # dense: pair 0, then pair 1
    hits = index.search("beta", k=3, vector=query / np.linalg.norm(query))  # lexical: pair 1 only
    assert [hits[0].pair, hits[1].pair] == [pairs[1], pairs[0]]
    assert hits[0].dense_score is not None and hits[0].lexical_score is not None
    assert hits[1].lexical_score is None  # pair 0 shares no token with the query
    assert hits[0].score > hits[1].score > hits[2].score


def test_round_trip_save_load_then_grow(tmp_path: Path) -> None:
    index = HybridIndex.for_encoder(HashingEncoder())
    index.add(PAIRS)
    directory = tmp_path / "index"
    index.save(directory)
    before = [(h.pair, round(h.score, 6)) for h in index.search("for i in range(len(xs) - 1):", "python", 3)]

    loaded = HybridIndex.load(directory, HashingEncoder())
    assert len(loaded) == len(PAIRS)
    assert [loaded.store[i] for i in range(len(PAIRS))] == PAIRS
    assert [(h.pair, round(h.score, 6)) for h in loaded.search("for i in range(len(xs) - 1):", "python", 3)] == before
    assert loaded.stats().languages == {"python": 3, "java": 2}
    assert loaded.encoder_config == HashingEncoder.config
    assert loaded.stats().disk_bytes > 0

    # The loaded index is memory-mapped: adding must not touch the mapping (FAISS aborts).
    extra = pair("while i <= n:\n    i += 1\n", "while i < n:\n    i += 1\n")
    assert loaded.add([extra, PAIRS[0]]) == 1
    loaded.save(directory)
    again = HybridIndex.load(directory, HashingEncoder())
    assert len(again) == len(PAIRS) + 1
    assert again.search("while i <= n:", "python", 1)[0].pair == extra
    assert again.add([extra]) == 0  # dedup keys survive the round trip
    pairs_file = (directory / "pairs.jsonl").read_text().splitlines()
    assert [json.loads(line)["buggy"] for line in pairs_file][-1] == extra.buggy


def test_an_interrupted_save_leaves_the_previous_state_readable(tmp_path: Path) -> None:
    index = HybridIndex.for_encoder(HashingEncoder())
    index.add(PAIRS)
    directory = tmp_path / "index"
    index.save(directory)
    with (directory / "pairs.jsonl").open("a") as handle:
        handle.write('{"buggy": "half a li')  # what a crash mid-append leaves
    loaded = HybridIndex.load(directory, HashingEncoder())
    assert len(loaded) == len(PAIRS)
    loaded.add([pair("x = y\n", "x = z\n")])
    loaded.save(directory)
    assert len(HybridIndex.load(directory, HashingEncoder())) == len(PAIRS) + 1


def test_broken_or_foreign_indexes_are_refused(tmp_path: Path) -> None:
    with pytest.raises(BadIndex, match="no index"):
        HybridIndex.load(tmp_path / "missing")
    index = HybridIndex.for_encoder(HashingEncoder())
    index.add(PAIRS)
    directory = tmp_path / "index"
    index.save(directory)

    class OtherEncoder(HashingEncoder):
        name = "another-model"

    with pytest.raises(BadIndex, match="hashing-test-encoder"):
        HybridIndex.load(directory, OtherEncoder())
    meta = json.loads((directory / "meta.json").read_text())
    (directory / "meta.json").write_text(json.dumps({**meta, "size": 99}))
    with pytest.raises(BadIndex, match="inconsistent"):
        HybridIndex.load(directory)
    (directory / "meta.json").write_text(json.dumps({**meta, "format": 0}))
    with pytest.raises(BadIndex, match="format"):
        HybridIndex.load(directory)


def test_an_index_opened_without_encoder_serves_vectors_but_not_text(tmp_path: Path) -> None:
    index = HybridIndex.for_encoder(HashingEncoder())
    index.add(PAIRS)
    index.save(tmp_path / "index")
    bare = HybridIndex.load(tmp_path / "index")
    vector = HashingEncoder().encode([PAIRS[2].buggy], ["python"])[0]
    assert bare.search(PAIRS[2].buggy, "python", 1, vector=vector)[0].pair == PAIRS[2]
    with pytest.raises(BadIndex, match="without an encoder"):
        bare.search("x")


def clustered(n: int, dim: int, seed: int) -> np.ndarray:
    """Unit vectors around 20 centres: real embeddings cluster, uniform noise does not."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(20, dim))
    vectors = centres[rng.integers(0, 20, n)] + 0.3 * rng.normal(size=(n, dim))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


@pytest.mark.parametrize("kind", ["ivf", "hnsw"])
def test_large_indexes_switch_from_exact_search_and_stay_searchable_after_reload(kind: str, tmp_path: Path) -> None:
    policy = DensePolicy(exact_max=300, large=kind, nprobe=8)  # type: ignore[arg-type]
    index = HybridIndex("synthetic", 16, policy=policy)
    vectors = clustered(600, 16, seed=1)
    pairs = [pair(f"value_{i} = compute_{i}()\n", f"value_{i} = compute_{i}(x)\n", "java" if i % 3 == 0 else "python")
             for i in range(600)]
    index.add(pairs[:200], vectors=vectors[:200])
    assert index.dense.kind == "flat"
    index.add(pairs[200:], vectors=vectors[200:])
    assert index.dense.kind == kind
    for i in (0, 299, 599):
        assert index.search(f"value_{i}", k=1, vector=vectors[i])[0].pair == pairs[i]
    index.save(tmp_path / "index")
    loaded = HybridIndex.load(tmp_path / "index", policy=policy)
    assert loaded.dense.kind == kind
    hits = loaded.search("value_3 compute_3", "java", k=5, vector=vectors[3])
    assert hits[0].pair == pairs[3] and all(hit.pair.language == "java" for hit in hits)
    more = clustered(10, 16, seed=2)
    loaded.add([pair(f"extra_{i}()\n", f"extra_{i}(y)\n") for i in range(10)], vectors=more)
    assert loaded.search("extra_4", k=1, vector=more[4])[0].pair.buggy == "extra_4()\n"


def test_ivf_is_retrained_when_the_corpus_outgrows_its_centroids() -> None:
    dense = DenseIndex(8, DensePolicy(exact_max=100, retrain_growth=2))
    dense.add(clustered(150, 8, seed=3))
    assert (dense.kind, dense.built_size) == ("ivf", 150)
    dense.add(clustered(100, 8, seed=4))
    assert dense.built_size == 150
    dense.add(clustered(100, 8, seed=5))
    assert (dense.size, dense.built_size) == (350, 350)


# --- with the real encoder ---------------------------------------------------------------

@pytest.fixture(scope="module", params=[False, True], ids=["plain", "token-merging"])
def minilm(request: pytest.FixtureRequest):
    from retrieval.encoders import TransformerEncoder

    return TransformerEncoder(token_merging=request.param)


def test_a_pair_sharing_the_bug_pattern_ranks_above_lexical_noise(minilm) -> None:
    """The query shares its names (`items`, `total`) with many pairs but its bug (iterating
    one past the end) with one pair that uses other names: that pair must come first."""
    pattern = pair("for j in range(len(values) + 1):\n    acc += values[j]\n",
                   "for j in range(len(values)):\n    acc += values[j]\n")
    noise = [
        pair("total = sum(items)\nprint(total)\n", "total = sum(items)\nlog(total)\n"),
        pair("items.append(total)\n", "items.append(float(total))\n"),
        pair("if total > items.limit:\n    raise ValueError(items)\n",
             "if total >= items.limit:\n    raise ValueError(items)\n"),
        pair("total = items.total()\nitems.clear()\n", "total = items.total()\nitems.reset()\n"),
        pair("return {'items': items, 'total': total}\n", "return {'items': list(items), 'total': total}\n"),
        pair("def total(items):\n    return items.total\n", "def total(items):\n    return items.total()\n"),
        pair("items = [i for i in items if i.total]\n", "items = [i for i in items if i.total > 0]\n"),
        pair("self.total = total\nself.items = items\n", "self.total = total\nself.items = list(items)\n"),
    ]
    index = HybridIndex.for_encoder(minilm)
    index.add(noise + [pattern])
    hits = index.search("for i in range(len(items) + 1):\n    total += items[i]\n", "python", k=5)
    assert hits[0].pair == pattern
    assert hits[0].dense_score is not None and hits[0].lexical_score is not None
