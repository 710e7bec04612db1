"""Attack: corpora and histories that make the fix index's memory blow up or crash it
(issue 12, hole 7: a 50 MB JSONL line took 21.8 GB; a deeply nested line gave a
RecursionError traceback), and `index query` on a missing index (hole 8: exit 0).

`index build` runs as a real subprocess under an address-space limit of 1 GiB: the old code
read the whole line, kept the pair and loaded the encoder stack, and died of MemoryError.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import git

from retrieval.corpus import MAX_FIELD_CHARS, MAX_LINE_BYTES
from retrieval.mining import MAX_SOURCE_BYTES, mine_repository

MEMORY_LIMIT = 1 << 30  # the old code needed 21.8 GB for one 50 MB line
GOOD = {"buggy": "if a < b:\n    return a\n", "fixed": "if a <= b:\n    return a\n", "language": "python"}


def limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def repairbot_index(*args: str, bounded: bool = True) -> subprocess.CompletedProcess[str]:
    """`repairbot index ARGS`; `bounded`: in 1 GiB of address space, which is enough to
    report a bad corpus but not to load the encoder stack."""
    return subprocess.run(
        [sys.executable, "-m", "repairbot", "index", *args],
        capture_output=True, text=True, timeout=600, preexec_fn=limit_memory if bounded else None,
        env={**os.environ, "COLUMNS": "300"},
    )


def write_huge_pair_line(path: Path, size: int) -> None:
    """A syntactically valid pair whose `buggy` field is `size` bytes of code, written in
    chunks so the test itself stays small."""
    chunk = "total = total + value\\n" * 4096
    with path.open("w") as handle:
        handle.write('{"buggy": "')
        for _ in range(size // len(chunk) + 1):
            handle.write(chunk)
        handle.write('", "fixed": "total = 0\\n", "language": "python"}\n')
        handle.write(json.dumps(GOOD) + "\n")


def assert_clear_refusal(result: subprocess.CompletedProcess[str], message: str, index: Path) -> None:
    assert result.returncode == 2, result.stderr[-3000:]
    assert message in result.stderr
    assert "Traceback" not in result.stderr and "Error:" not in result.stderr
    assert not index.exists()  # nothing added


def test_a_50_mb_line_is_refused_by_number_in_bounded_memory(tmp_path: Path) -> None:
    corpus = tmp_path / "huge.jsonl"
    write_huge_pair_line(corpus, 50 * 1024 * 1024)
    result = repairbot_index("build", str(corpus), "--index-dir", str(tmp_path / "index"))
    assert_clear_refusal(result, f"{corpus}:1: line is longer than {MAX_LINE_BYTES // 2**20} MiB", tmp_path / "index")
    assert "1 malformed line(s)" in result.stderr  # line 2, a good pair, is read past the long one


def test_a_deeply_nested_line_is_a_malformed_line_not_a_traceback(tmp_path: Path) -> None:
    corpus = tmp_path / "nested.jsonl"
    corpus.write_text(json.dumps(GOOD) + "\n" + "[" * 100_000 + "\n" + '{"buggy": ' + "[" * 100_000 + "\n")
    result = repairbot_index("build", str(corpus), "--index-dir", str(tmp_path / "index"))
    assert_clear_refusal(result, f"{corpus}:2: invalid JSON: nested too deeply", tmp_path / "index")
    assert f"{corpus}:3: invalid JSON: nested too deeply" in result.stderr


def test_a_field_over_the_cap_is_refused_by_name(tmp_path: Path) -> None:
    corpus = tmp_path / "long.jsonl"
    lines = [
        {**GOOD, "buggy": "x = 1\n" * (MAX_FIELD_CHARS // 6 + 1)},
        {**GOOD, "message": "m" * (MAX_FIELD_CHARS + 1)},
    ]
    corpus.write_text("".join(json.dumps(line) + "\n" for line in lines))
    result = repairbot_index("build", str(corpus), "--index-dir", str(tmp_path / "index"))
    assert_clear_refusal(result, f"{corpus}:1: field 'buggy' is longer than {MAX_FIELD_CHARS} characters",
                         tmp_path / "index")
    assert f"{corpus}:2: field 'message' is longer than" in result.stderr


def test_query_on_a_missing_index_is_an_error(tmp_path: Path) -> None:
    source = tmp_path / "calc.py"
    source.write_text("def add(a, b):\n    return a - b\n")
    result = repairbot_index("query", "--file", str(source), "--line", "2", "--index-dir", str(tmp_path / "none"),
                             bounded=False)
    assert result.returncode == 2, result.stderr
    assert f"no index in {tmp_path / 'none'}" in result.stderr and "repairbot index build" in result.stderr
    assert result.stdout == ""


def commit(repo: git.Repo, files: dict[str, str], message: str) -> None:
    for name, text in files.items():
        (Path(repo.working_tree_dir) / name).write_text(text)
    repo.index.add(list(files))
    repo.index.commit(message)


def test_mining_a_history_skips_huge_sources_and_huge_lines(tmp_path: Path) -> None:
    """The repository under repair is mined for past fixes: a fix of a megabyte file, or of
    a line of 100K characters, would become a pair too big to encode."""
    repo = git.Repo.init(tmp_path / "repo")
    long_line = "x = [" + ", ".join(["1"] * (MAX_FIELD_CHARS // 3)) + "]\n"
    huge = "def f():\n    return 1\n" + "y = 0\n" * (MAX_SOURCE_BYTES // 6 + 1)
    commit(repo, {"small.py": "def g(a, b):\n    return a < b\n", "line.py": long_line, "huge.py": huge}, "start")
    commit(repo, {"line.py": long_line.replace("[1,", "[2,")}, "fix the long line")
    commit(repo, {"huge.py": huge.replace("return 1", "return 2")}, "fix the huge file")
    commit(repo, {"small.py": "def g(a, b):\n    return a <= b\n"}, "fix the comparison")
    result = mine_repository(Path(repo.working_tree_dir))
    assert result.commits_scanned == 4
    assert {pair.file_path for pair in result.pairs} == {"small.py"}
    assert all(len(pair.buggy) <= MAX_FIELD_CHARS for pair in result.pairs)
