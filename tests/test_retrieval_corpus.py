"""The JSONL corpus format: round trip, validation, dedup keys; and the code tokenizer BM25
uses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from retrieval import corpus as corpus_module
from retrieval.corpus import MAX_REPORTED_PROBLEMS, BugFixPair, CorpusError, read_corpus, unique, write_corpus
from retrieval.lexical import LexicalIndex, code_tokens

DATA = Path(__file__).parent / "data" / "retrieval"


def test_round_trip(tmp_path: Path) -> None:
    pairs = read_corpus(DATA / "pairs.jsonl")
    assert len(pairs) == 8 and {p.language for p in pairs} == {"python", "java"}
    assert write_corpus(tmp_path / "copy.jsonl", pairs) == 8
    assert read_corpus(tmp_path / "copy.jsonl") == pairs
    minimal = tmp_path / "minimal.jsonl"
    minimal.write_text('{"buggy": "a < b", "fixed": "a <= b", "language": "python"}\n\n')
    assert read_corpus(minimal) == [BugFixPair("a < b", "a <= b", "python")]
    assert read_corpus(minimal)[0].license is None and read_corpus(minimal)[0].kind == "hunk"


def test_every_malformed_line_is_reported_with_its_number(tmp_path: Path) -> None:
    good = {"buggy": "a < b", "fixed": "a <= b", "language": "python"}
    lines = [
        json.dumps(good),
        "{not json",
        json.dumps([1, 2]),
        json.dumps({"buggy": "x", "language": "python"}),
        json.dumps({**good, "licence": "MIT"}),
        json.dumps({**good, "buggy": 3}),
        json.dumps({**good, "kind": "file"}),
        json.dumps({**good, "language": "Python 3"}),
        json.dumps({**good, "fixed": "a  <  b"}),
        json.dumps({**good, "buggy": "  \n"}),
        json.dumps({**good, "license": None, "message": "ok"}),
    ]
    corpus = tmp_path / "bad.jsonl"
    corpus.write_text("\n".join(lines) + "\n")
    with pytest.raises(CorpusError) as caught:
        read_corpus(corpus)
    problems = caught.value.problems
    assert [p.split(":")[1] for p in problems] == ["2", "3", "4", "5", "6", "7", "8", "9", "10"]
    assert "invalid JSON" in problems[0]
    assert "expected a JSON object" in problems[1]
    assert "missing required field(s) fixed" in problems[2]
    assert "unknown field(s) licence" in problems[3]
    assert "field 'buggy' must be a string" in problems[4]
    assert "'kind' must be one of hunk, function" in problems[5]
    assert "'language'" in problems[6]
    assert "layout only: not a fix" in problems[7]
    assert "'buggy' is empty" in problems[8]
    assert str(caught.value).startswith(f"{corpus}:2: invalid JSON")


def test_unreadable_corpora_are_corpus_errors(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="cannot read"):
        read_corpus(tmp_path / "missing.jsonl")
    binary = tmp_path / "binary.jsonl"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(CorpusError, match="not UTF-8"):
        read_corpus(binary)


def test_long_lines_are_skipped_unread_and_later_lines_keep_their_numbers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(corpus_module, "MAX_LINE_BYTES", 100)
    monkeypatch.setattr(corpus_module, "_SKIP_CHUNK_BYTES", 7)  # the rest of a long line, in pieces
    good = json.dumps({"buggy": "a < b", "fixed": "a <= b", "language": "python"})
    corpus = tmp_path / "long.jsonl"
    corpus.write_bytes(f"{good}\n{'x' * 1000}\n{good}\n".encode() + b"\xff\n" + b"y" * 101)
    with pytest.raises(CorpusError) as caught:
        read_corpus(corpus)
    assert [p.split(":")[1] for p in caught.value.problems] == ["2", "4", "5"]
    assert "line is longer than" in caught.value.problems[0] and "not UTF-8" in caught.value.problems[1]
    (tmp_path / "fits.jsonl").write_text(good + "\n" + good[:-1] + ' ' * (100 - len(good)) + "}\n")
    assert len(read_corpus(tmp_path / "fits.jsonl")) == 2  # 100 bytes and a newline: still a line


def test_many_bad_lines_keep_a_count_not_every_message(tmp_path: Path) -> None:
    corpus = tmp_path / "bad.jsonl"
    corpus.write_text("{oops\n" * 1000)
    with pytest.raises(CorpusError) as caught:
        read_corpus(corpus)
    assert caught.value.count == 1000 and len(caught.value.problems) == MAX_REPORTED_PROBLEMS
    assert str(caught.value).endswith(f"... and {1000 - MAX_REPORTED_PROBLEMS} more")


def test_dedup_key_ignores_provenance_and_whitespace_but_not_code_or_language() -> None:
    base = BugFixPair("if a < b:\n    go()\n", "if a <= b:\n    go()\n", "python", repository="x", commit="1")
    same = BugFixPair("    if a < b:   \n        go()\n\n", "    if a <= b:\n        go()\n", "python",
                      kind="function", repository="fork", commit="2", license="MIT")
    assert base.key == same.key
    assert base.key != BugFixPair(base.buggy, "if a == b:\n    go()\n", "python").key
    assert base.key != BugFixPair(base.buggy, base.fixed, "java").key
    assert list(unique([base, same, base])) == [base]


def test_code_tokens_split_names_and_keep_operators() -> None:
    tokens = code_tokens("if (i <= items.size()) { getUserName(HTTPServer, user_name); }")
    assert tokens == ["if", "i", "<=", "items", "size", "getusername", "get", "user", "name",
                      "httpserver", "http", "server", "user_name", "user", "name"]


def test_bm25_matches_across_naming_conventions() -> None:
    lexical = LexicalIndex.build(["user_name = load()", "count += 1", "total = price * 2"])
    scores = lexical.scores("getUserName()")
    assert scores.argmax() == 0 and scores[1] == scores[2] == 0
    assert LexicalIndex.build([]).scores("x").shape == (0,)
