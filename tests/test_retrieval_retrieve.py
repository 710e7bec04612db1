"""The retrieve stage and the `repairbot index` commands."""

from __future__ import annotations

import os
import re
from pathlib import Path

import git
import pytest
import torch
from typer.testing import CliRunner

from repairbot.domain import SuspiciousLocation
from retrieval.cli import index_app
from retrieval.corpus import read_corpus
from retrieval.encoders import minilm_path
from retrieval.index import HybridIndex
from retrieval.memory import INDEX_DIR_ENV, index_dir
from retrieval.retrieve import RetrievalContext, query_text, retrieve
from tests.hashing_encoder import HashingEncoder

os.environ["HF_HUB_OFFLINE"] = "1"
CORPUS = Path(__file__).parent / "data" / "retrieval" / "pairs.jsonl"

STATS = '''\
def mean(values):
    total = 0
    for i in range(len(values) + 1):
        total += values[i]
    return total / len(values)


def spread(values):
    low = min(values)
    high = max(values)
    return high - low
'''


@pytest.fixture
def index() -> HybridIndex:
    index = HybridIndex.for_encoder(HashingEncoder())
    index.add(read_corpus(CORPUS))
    return index


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "stats.py").write_text(STATS)
    (tmp_path / "Sum.java").write_text(
        "class Sum {\n    int sum(int[] xs) {\n        int s = 0;\n"
        "        for (int i = 0; i <= xs.length; i++) {\n            s += xs[i];\n        }\n"
        "        return s;\n    }\n}\n"
    )
    (tmp_path / "notes.txt").write_text("for i in range(len(values) + 1):\n")
    return tmp_path


def test_each_location_gets_past_fixes_of_its_language_and_similar_lines(project: Path, index: HybridIndex) -> None:
    loop = SuspiciousLocation("pkg/stats.py", 3, 3, 0.9)
    java = SuspiciousLocation("Sum.java", 4, 4, 0.8)
    contexts = retrieve(project, [loop, java], index, k=3)
    assert contexts[loop].fixes[0].pair.message == "Fix IndexError in sum loop"
    assert all(fix.pair.language == "python" for fix in contexts[loop].fixes)
    assert contexts[java].fixes[0].pair.message == "Fix ArrayIndexOutOfBoundsException in sum"
    assert all(fix.pair.language == "java" for fix in contexts[java].fixes)

    similar = contexts[loop].similar_lines
    lines = STATS.splitlines()
    assert len(similar) == 5
    assert {s.line for s in similar} <= {1, 2, 4, 5, 8, 9, 10, 11}  # not itself, not blank lines
    assert all(s.text == lines[s.line - 1] for s in similar)
    assert [s.score for s in similar] == sorted((s.score for s in similar), reverse=True)


def test_the_query_is_the_location_with_one_line_of_context() -> None:
    lines = STATS.splitlines(keepends=True)
    assert query_text(lines, SuspiciousLocation("s.py", 3, 3, 1.0)) == (
        "total = 0\nfor i in range(len(values) + 1):\n    total += values[i]\n"
    )
    assert query_text(lines, SuspiciousLocation("s.py", 1, 1, 1.0)) == "def mean(values):\n    total = 0\n"


def test_unsupported_or_unreadable_files_get_an_empty_context(project: Path, index: HybridIndex) -> None:
    notes = SuspiciousLocation("notes.txt", 1, 1, 0.5)
    gone = SuspiciousLocation("pkg/missing.py", 1, 1, 0.5)
    contexts = retrieve(project, [notes, gone], index)
    assert contexts == {notes: RetrievalContext(), gone: RetrievalContext()}


def test_an_empty_index_still_gives_similar_lines(project: Path) -> None:
    loop = SuspiciousLocation("pkg/stats.py", 3, 3, 0.9)
    context = retrieve(project, [loop], HybridIndex.for_encoder(HashingEncoder()))[loop]
    assert context.fixes == [] and context.similar_lines


def test_index_dir_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(INDEX_DIR_ENV, str(tmp_path / "elsewhere"))
    assert index_dir() == tmp_path / "elsewhere"
    monkeypatch.delenv(INDEX_DIR_ENV)
    assert index_dir().name == "index" and "repairbot" in str(index_dir())


def test_index_dir_follows_the_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(INDEX_DIR_ENV)
    monkeypatch.setenv("REPAIRBOT_DATA_DIR", str(tmp_path / "data"))
    assert index_dir() == tmp_path / "data" / "index"


# --- the CLI, with a tiny BERT checkpoint as the encoder ---------------------------------

@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from transformers import AutoTokenizer, BertConfig, BertModel

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(minilm_path(), local_files_only=True)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=256)
    path = tmp_path_factory.mktemp("tiny-bert")
    BertModel(config).eval().save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(index_app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_cli_build_stats_query(tmp_path: Path, tiny_bert: Path, project: Path,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(INDEX_DIR_ENV, str(tmp_path / "index"))
    code, _, err = run("build", str(CORPUS), "--encoder", str(tiny_bert))
    assert code == 0, err
    assert "added 8 new pair(s) (0 already present)" in err
    code, _, err = run("build", str(CORPUS))
    assert code == 0 and "added 0 new pair(s) (8 already present)" in err

    code, out, _ = run("stats")
    assert code == 0
    assert "pairs: 8 (java 3, python 5)" in out
    assert f"encoder: {tiny_bert.resolve()} (32-d, token merging after layer 0)" in out

    code, out, _ = run("query", "--file", str(project / "pkg" / "stats.py"), "--line", "3", "-k", "2")
    assert code == 0
    assert out.count("score ") == 2 and "python" in out and "java" not in out.split("similar lines")[0]
    assert re.search(r"^--- a/\S+\n\+\+\+ b/\S+\n@@ ", out, re.MULTILINE)  # each pair shown as a diff
    assert "similar lines in the same file:" in out


def test_cli_reports_bad_input_with_exit_code_2(tmp_path: Path, tiny_bert: Path, project: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"buggy": "x"}\n{oops\n')
    code, _, err = run("build", str(bad), "--index-dir", str(tmp_path / "index"), "--encoder", str(tiny_bert))
    assert code == 2
    assert "2 malformed line(s)" in err and "bad.jsonl:1: missing required field(s) fixed, language" in err
    assert not (tmp_path / "index").exists()

    code, _, err = run("stats", "--index-dir", str(tmp_path / "nothing"))
    assert code == 2 and "no index" in err
    code, _, err = run("query", "--file", str(project / "notes.txt"), "--line", "1", "--index-dir", str(tmp_path))
    assert code == 2 and "unsupported language" in err
    stats = str(project / "pkg" / "stats.py")
    code, _, err = run("query", "--file", stats, "--line", "99", "--index-dir", str(tmp_path))
    assert code == 2 and "outside" in err
    code, _, err = run("build", str(CORPUS), "--index-dir", str(tmp_path / "i2"),
                       "--encoder", str(tmp_path / "no-model"))
    assert code == 2 and "not a directory" in err


def test_cli_mine(tmp_path: Path, tiny_bert: Path) -> None:
    directory = tmp_path / "index"
    code, _, err = run("build", str(CORPUS), "--index-dir", str(directory), "--encoder", str(tiny_bert),
                       "--no-token-merging")
    assert code == 0, err
    repo = git.Repo.init(tmp_path / "repo")
    author = git.Actor("Dev", "dev@example.com")
    source = tmp_path / "repo" / "calc.py"
    source.write_text("def half(x):\n    return x / 3\n")
    repo.index.add(["calc.py"])
    repo.index.commit("Initial", author=author, committer=author)
    source.write_text("def half(x):\n    return x / 2\n")
    repo.index.add(["calc.py"])
    repo.index.commit("Fix half", author=author, committer=author)

    code, _, err = run("mine", str(tmp_path / "repo"), "--index-dir", str(directory))
    assert code == 0, err
    assert "2 new commit(s) scanned, 1 small fix(es): 1 pair(s), 1 new" in err
    code, _, err = run("mine", str(tmp_path / "repo"), "--index-dir", str(directory))
    assert "0 new commit(s) scanned" in err
    code, out, _ = run("stats", "--index-dir", str(directory))
    assert "pairs: 9" in out and f"mined: {(tmp_path / 'repo').resolve()}" in out
    assert "token merging off" in out
    code, _, err = run("mine", str(tmp_path / "plain"), "--index-dir", str(directory))
    assert code == 2 and "not a git repository" in err
