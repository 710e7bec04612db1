"""Mining bug-fix pairs from a real git history built in the test, and the incremental
memory that the repair job keeps of it."""

from __future__ import annotations

import json
from pathlib import Path

import git
import pytest

from retrieval.corpus import BugFixPair
from retrieval.index import HybridIndex
from retrieval.memory import (
    MINED_FILE,
    mined_repositories,
    remember_repository,
    repository_identity,
)
from retrieval.mining import MiningLimits, is_fix_message, is_test_file, mine_repository
from tests.hashing_encoder import HashingEncoder
from tests.files import write_files

AUTHOR = git.Actor("Dev", "dev@example.com")

CART_V1 = '''\
"""Shopping cart arithmetic."""


def total(items):
    """Sum of the prices."""
    result = 0
    for i in range(len(items) - 1):
        result += items[i]
    return result


def discount(price, percent):
    return price - price * percent / 10


class Cart:
    def __init__(self):
        self.items = []

    def add(self, price):
        if price > 0:
            self.items.append(price)
'''

JAVA_V1 = '''\
package shop;

public class Stats {
    public static int max(int[] xs) {
        int best = xs[0];
        for (int x : xs) {
            if (x < best) {
                best = x;
            }
        }
        return best;
    }

    public static int sum(int[] xs) {
        int s = 0;
        for (int x : xs) s += x;
        return s;
    }
}
'''

MIT = "MIT License\n\nPermission is hereby granted, free of charge, to any person obtaining a copy\n"


class Repo:
    """A repository grown commit by commit, files given as whole texts."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.repo = git.Repo.init(root, initial_branch="main")

    def commit(self, message: str, files: dict[str, str]) -> str:
        write_files(self.root, files)
        self.repo.index.add(list(files))
        return self.repo.index.commit(message, author=AUTHOR, committer=AUTHOR).hexsha


@pytest.fixture
def history(tmp_path: Path) -> tuple[Repo, dict[str, str]]:
    """A small project with real fixes, non-fixes and fixes that mining must skip."""
    repo = Repo(tmp_path / "shop")
    shas = {}
    shas["initial"] = repo.commit("Initial version", {
        "src/shop/cart.py": CART_V1, "src/main/java/shop/Stats.java": JAVA_V1,
        "tests/test_cart.py": "from shop.cart import total\n", "README.md": "shop\n", "LICENSE": MIT,
    })
    cart = CART_V1.replace("range(len(items) - 1)", "range(len(items))")
    shas["off_by_one"] = repo.commit("Fix off-by-one in total (#3)", {
        "src/shop/cart.py": cart,
        "tests/test_cart.py": "from shop.cart import total\n\ndef test_total():\n    assert total([1, 2]) == 3\n",
    })
    cart_feature = cart + "\n\ndef currency(value):\n    return f'${value:.2f}'\n"
    shas["feature"] = repo.commit("Add currency formatting", {"src/shop/cart.py": cart_feature})
    shas["readme"] = repo.commit("Fix README wording", {"README.md": "shop: a cart\n"})
    shas["java"] = repo.commit("Fix wrong comparison in Stats.max", {
        "src/main/java/shop/Stats.java": JAVA_V1.replace("if (x < best)", "if (x > best)"),
    })
    cart_docs = cart_feature.replace('"""Sum of the prices."""', '"""Sum of all the prices in the cart."""')
    shas["docstring"] = repo.commit("Fix docstring of total", {"src/shop/cart.py": cart_docs})
    big = cart_docs + "".join(f"\n\ndef helper_{i}(x):\n    return x + {i}\n" for i in range(20))
    shas["big"] = repo.commit("Fix many things at once", {"src/shop/cart.py": big})
    cart_discount = big.replace("percent / 10", "percent / 100")
    shas["reference"] = repo.commit("Use hundredths in discount\n\nFixes #12", {"src/shop/cart.py": cart_discount})
    return repo, shas


def by_commit(pairs: list[BugFixPair]) -> dict[str, list[BugFixPair]]:
    grouped: dict[str, list[BugFixPair]] = {}
    for pair in pairs:
        grouped.setdefault(pair.commit, []).append(pair)
    return grouped


def test_fix_messages_are_recognized_by_subject_words_or_explicit_references() -> None:
    assert is_fix_message("Fix off-by-one in total")
    assert is_fix_message("fixes crash when the list is empty")
    assert is_fix_message("Handle empty input\n\nCloses #41")
    assert is_fix_message("Bug: wrong rounding of totals")
    assert not is_fix_message("Add currency formatting")
    assert not is_fix_message("Fix typo in the docs")
    assert not is_fix_message('Revert "Fix total"')
    assert not is_fix_message("Document the :issue: role\n\nSee the issue tracker for bugs.")
    assert not is_fix_message("Prefix names with the module")


def test_test_files_are_told_apart_from_sources() -> None:
    assert is_test_file("tests/test_cart.py")
    assert is_test_file("src/shop/cart_test.py")
    assert is_test_file("src/test/java/shop/StatsTest.java")
    assert not is_test_file("src/shop/cart.py")
    assert not is_test_file("src/main/java/shop/Stats.java")
    assert not is_test_file("src/shop/contest.py")


def test_mining_extracts_function_and_hunk_pairs_of_small_source_fixes(history: tuple[Repo, dict[str, str]]) -> None:
    repo, shas = history
    result = mine_repository(repo.root)
    grouped = by_commit(result.pairs)
    assert set(grouped) == {shas["off_by_one"], shas["java"], shas["reference"]}
    assert result.commits_scanned == 8
    assert result.fix_commits == 3
    assert result.head == shas["reference"]

    python = grouped[shas["off_by_one"]]
    function = next(p for p in python if p.kind == "function")
    assert function.buggy == (
        'def total(items):\n    """Sum of the prices."""\n    result = 0\n'
        "    for i in range(len(items) - 1):\n        result += items[i]\n    return result\n"
    )
    assert function.fixed == function.buggy.replace("range(len(items) - 1)", "range(len(items))")
    hunk = next(p for p in python if p.kind == "hunk")
    assert hunk.buggy == "    result = 0\n    for i in range(len(items) - 1):\n        result += items[i]\n"
    assert hunk.fixed == "    result = 0\n    for i in range(len(items)):\n        result += items[i]\n"
    assert {p.file_path for p in python} == {"src/shop/cart.py"}  # the test file changed too, but is no fix
    assert hunk.language == "python" and hunk.license == "MIT" and hunk.message == "Fix off-by-one in total (#3)"
    assert hunk.repository == "shop"

    java = grouped[shas["java"]]
    method = next(p for p in java if p.kind == "function")
    assert method.language == "java"
    assert method.buggy.startswith("    public static int max(int[] xs) {\n")
    assert "if (x < best)" in method.buggy and "if (x > best)" in method.fixed
    assert "sum" not in method.buggy

    discount = next(p for p in grouped[shas["reference"]] if p.kind == "function")
    assert discount.buggy == "def discount(price, percent):\n    return price - price * percent / 10\n"


def test_a_nested_fix_pairs_the_innermost_function(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "nested")
    source = (
        "class Box:\n    def size(self):\n        return len(self.items) - 1\n\n"
        "    def empty(self):\n        return not self.items\n"
    )
    repo.commit("Initial", {"box.py": source})
    fixed_sha = repo.commit("Fix size", {"box.py": source.replace("len(self.items) - 1", "len(self.items)")})
    pairs = [p for p in mine_repository(repo.root).pairs if p.kind == "function"]
    assert [p.commit for p in pairs] == [fixed_sha]
    assert pairs[0].buggy == "    def size(self):\n        return len(self.items) - 1\n"


def test_limits_bound_the_size_of_a_fix(history: tuple[Repo, dict[str, str]]) -> None:
    repo, shas = history
    generous = mine_repository(repo.root, limits=MiningLimits(max_changed_lines=1000))
    assert shas["big"] in by_commit(generous.pairs)
    recent = mine_repository(repo.root, limits=MiningLimits(max_commits=2))
    assert recent.commits_scanned == 2
    assert set(by_commit(recent.pairs)) == {shas["reference"]}


def test_mining_is_incremental_by_commit(history: tuple[Repo, dict[str, str]]) -> None:
    repo, shas = history
    first = mine_repository(repo.root)
    assert mine_repository(repo.root, since=first.head).pairs == []
    cart = (repo.root / "src/shop/cart.py").read_text()
    fixed_cart = cart.replace("price > 0", "price >= 0")
    new_sha = repo.commit("Fix Cart.add accepting free items", {"src/shop/cart.py": fixed_cart})
    update = mine_repository(repo.root, since=first.head)
    assert update.commits_scanned == 1
    assert set(by_commit(update.pairs)) == {new_sha}
    # A `since` that is not in this history (rewritten or another repo): everything again.
    again = mine_repository(repo.root, since="0" * 40)
    assert set(by_commit(again.pairs)) == {shas["off_by_one"], shas["java"], shas["reference"], new_sha}


def test_remember_repository_mines_new_commits_only_and_survives_a_restart(
    history: tuple[Repo, dict[str, str]], tmp_path: Path
) -> None:
    repo, _ = history
    directory = tmp_path / "index"
    index = HybridIndex.for_encoder(HashingEncoder())
    first = remember_repository(index, repo.root, directory)
    assert first is not None and first.pairs_added == first.pairs_found > 0
    state = json.loads((directory / MINED_FILE).read_text())
    assert list(state) == [repository_identity(repo.root)]
    assert mined_repositories(directory)[repository_identity(repo.root)]["pairs"] == first.pairs_added

    reopened = HybridIndex.load(directory, HashingEncoder())
    second = remember_repository(reopened, repo.root, directory)
    assert second is not None and second.commits_scanned == 0 and second.pairs_added == 0

    cart = (repo.root / "src/shop/cart.py").read_text()
    repo.commit("Fix Cart.add accepting free items", {"src/shop/cart.py": cart.replace("price > 0", "price >= 0")})
    third = remember_repository(reopened, repo.root, directory)
    assert third is not None and third.commits_scanned == 1 and third.pairs_added > 0
    assert len(HybridIndex.load(directory, HashingEncoder())) == first.pairs_added + third.pairs_added


def test_a_clone_continues_where_the_original_left_off(history: tuple[Repo, dict[str, str]], tmp_path: Path) -> None:
    repo, _ = history
    directory = tmp_path / "index"
    index = HybridIndex.for_encoder(HashingEncoder())
    remember_repository(index, repo.root, directory)
    clone = git.Repo.clone_from(repo.root, tmp_path / "clone")
    update = remember_repository(index, Path(clone.working_tree_dir or ""), directory)
    assert update is not None and update.commits_scanned == 0


def test_plain_directories_and_empty_repositories_have_nothing_to_remember(tmp_path: Path) -> None:
    index = HybridIndex.for_encoder(HashingEncoder())
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "m.py").write_text("x = 1\n")
    assert remember_repository(index, plain, tmp_path / "index") is None
    empty = tmp_path / "empty"
    git.Repo.init(empty)
    update = remember_repository(index, empty, tmp_path / "index")
    assert update is not None and update.head is None and update.pairs_added == 0


def test_an_indentation_fix_is_a_fix_in_python(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "indent")
    buggy = (
        "def find(xs, x):\n    for i, y in enumerate(xs):\n        if y == x:\n"
        "            return i\n        return -1\n"
    )
    repo.commit("Initial", {"find.py": buggy})
    fixed = buggy.replace("        return -1", "    return -1")
    repo.commit("Fix find giving up after the first element", {"find.py": fixed})
    function = next(p for p in mine_repository(repo.root).pairs if p.kind == "function")
    assert function.buggy == buggy and function.fixed.endswith("\n    return -1\n")


def test_pairs_name_their_repository_by_origin_url_without_credentials(history: tuple[Repo, dict[str, str]]) -> None:
    repo, _ = history
    repo.repo.create_remote("origin", "https://dev:s3cret@example.com/org/shop.git")
    assert {p.repository for p in mine_repository(repo.root).pairs} == {"https://example.com/org/shop.git"}
    assert {p.repository for p in mine_repository(repo.root, name="shop-mirror").pairs} == {"shop-mirror"}
