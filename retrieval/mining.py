"""Mining bug-fix pairs from a repository's git history.

A commit counts as a bug fix when its message says so (fix, bug, crash, ... in the subject,
or an explicit "fixes #12") and it is small: large commits mix refactorings and features
into the fix, and their pairs would teach generation to rewrite code wholesale. Only
source files count towards "small" and yield pairs; test files change alongside fixes but
are not the fix.

Each qualifying commit yields hunk pairs (the changed lines with `context` lines around
them, the shape of a suspicious statement with its neighbours) and function pairs (the
whole function before and after, the unit RAP-Gen retrieves), matched by qualified name
through tree-sitter.
"""

from __future__ import annotations

import difflib
import re
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import git

from repairbot.languages.registry import is_test_file
from retrieval import syntax
from retrieval.corpus import MAX_FIELD_CHARS, BugFixPair, same_code, unique

_FIX_SUBJECT = re.compile(
    r"\b(fix(e[sd]|ing)?|bug(s|fix(es)?)?|hotfix(es)?|crash(es|ed|ing)?|regressions?|"
    r"incorrect(ly)?|wrong(ly)?|broken|mistakes?|faults?|defects?)\b",
    re.IGNORECASE,
)
# In the body only an explicit reference counts: bodies mention "issue" and "bug" in passing.
_FIX_REFERENCE = re.compile(
    r"\b(fix(e[sd])?|close[sd]?|resolve[sd]?|issue):?\s+(#|GH-|https://\S+/issues/)\d+", re.IGNORECASE
)
_NOT_FIX = re.compile(r"\b(typos?|revert(s|ed)?|bump(s|ed)?|release[sd]?)\b", re.IGNORECASE)
# (marker in the license text, SPDX id or, for families whose version is not read, the
# family's name); the first match wins.
_LICENSES = (
    ("Apache License", "Apache-2.0"),
    ("MIT License", "MIT"),
    ("Permission is hereby granted, free of charge", "MIT"),
    ("Mozilla Public License", "MPL-2.0"),
    ("GNU LESSER GENERAL PUBLIC LICENSE", "LGPL"),
    ("GNU AFFERO GENERAL PUBLIC LICENSE", "AGPL-3.0"),
    ("GNU GENERAL PUBLIC LICENSE", "GPL"),
    ("Neither the name", "BSD-3-Clause"),
    ("Redistribution and use in source and binary forms", "BSD-2-Clause"),
    ("Eclipse Public License", "EPL"),
)
# The repository is untrusted: a "source file" of megabytes (generated, or planted) is not
# a small fix, and is never read whole.
MAX_SOURCE_BYTES = 1024 * 1024
# License markers are in a license file's first lines.
_LICENSE_HEAD_BYTES = 64 * 1024


@dataclass(frozen=True)
class MiningLimits:
    """What counts as a small fix, and how far back to look."""

    max_files: int = 3
    max_changed_lines: int = 40
    max_function_lines: int = 150
    context: int = 1
    max_commits: int | None = None


@dataclass
class MiningResult:
    head: str | None
    commits_scanned: int = 0
    fix_commits: int = 0
    pairs: list[BugFixPair] = field(default_factory=list)


def is_fix_message(message: str) -> bool:
    """A fix word in the subject line, or "fixes #12" anywhere; never a typo fix or revert."""
    subject = message.strip().split("\n", 1)[0]
    if _NOT_FIX.search(subject):
        return False
    return bool(_FIX_SUBJECT.search(subject) or _FIX_REFERENCE.search(message))


def mine_repository(
    path: Path, since: str | None = None, limits: MiningLimits = MiningLimits(), name: str | None = None
) -> MiningResult:
    """Pairs from the bug-fix commits reachable from HEAD, newest first, skipping those
    reachable from `since` (the HEAD of a previous run), unless history was rewritten since
    then, in which case everything is mined again (duplicates are dropped by the index).
    `name` overrides the repository name recorded in each pair (default: origin URL).

    Raises git.InvalidGitRepositoryError / git.NoSuchPathError for a path that is not a repo.
    """
    repo = git.Repo(path, search_parent_directories=True)
    try:
        if not repo.head.is_valid():
            return MiningResult(head=None)
        head = repo.head.commit.hexsha
        if since == head:
            return MiningResult(head=head)
        revision = f"{since}..HEAD" if since and _is_ancestor(repo, since, head) else "HEAD"
        result = MiningResult(head=head)
        name = name or repository_name(repo)
        license_id = detect_license(repo)
        pairs: list[BugFixPair] = []
        for commit in repo.iter_commits(revision, no_merges=True, max_count=limits.max_commits):
            result.commits_scanned += 1
            message = _text(commit.message)
            if not commit.parents or not is_fix_message(message):
                continue
            commit_pairs = _commit_pairs(commit, limits)
            if commit_pairs:
                result.fix_commits += 1
                pairs.extend(
                    BugFixPair(buggy=buggy, fixed=fixed, language=language, kind=kind, file_path=file_path,
                               repository=name, commit=commit.hexsha, message=message.strip()[:MAX_FIELD_CHARS],
                               license=license_id)
                    for kind, language, file_path, buggy, fixed in commit_pairs
                )
        result.pairs = list(unique(pairs))
        return result
    finally:
        repo.close()


def repository_name(repo: git.Repo) -> str:
    """The origin URL when there is one (stable across clones), else the folder name.
    Credentials in the URL (`https://user:token@host/...`) are dropped: pairs get shared."""
    try:
        url = repo.remotes.origin.url
    except (AttributeError, ValueError):
        return Path(repo.working_tree_dir or repo.git_dir).resolve().name
    parts = urllib.parse.urlsplit(url)
    if parts.scheme and "@" in parts.netloc:
        return urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))
    return url


def detect_license(repo: git.Repo) -> str | None:
    """SPDX id of the license file at HEAD, so mined pairs carry the terms they may be
    redistributed under; None when there is no recognizable license file."""
    tree = repo.head.commit.tree
    for blob in tree.blobs:
        if blob.name.upper().split(".")[0] in ("LICENSE", "LICENCE", "COPYING"):
            text = _text(blob.data_stream.read(_LICENSE_HEAD_BYTES))
            for marker, spdx in _LICENSES:
                if marker.lower() in text.lower():
                    return spdx
    return None


def file_pairs(before: str, after: str, language: str, limits: MiningLimits) -> Iterator[tuple[str, str, str]]:
    """(kind, buggy, fixed) for one modified file: its changed functions, then its hunks
    (functions first: when a hunk spans a whole small function, deduplication keeps the
    more telling label).

    Only changes to code count: an edit confined to comments or docstrings is documentation,
    even inside a fix commit, and would teach generation to rewrite comments.
    """
    old_bytes, new_bytes = before.encode("utf-8"), after.encode("utf-8")
    a, b = before.splitlines(keepends=True), after.splitlines(keepends=True)
    old_code, new_code = syntax.code_rows(old_bytes, language), syntax.code_rows(new_bytes, language)
    touched_rows: list[tuple[int, int]] = []
    hunks: list[tuple[str, str, str]] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for group in matcher.get_grouped_opcodes(limits.context):
        code_changes = [
            (i1, i2) for tag, i1, i2, j1, j2 in group
            if tag != "equal" and (old_code.intersection(range(i1, i2)) or new_code.intersection(range(j1, j2)))
        ]
        if not code_changes:
            continue
        # An insertion touches the line it follows: inside the function the new lines went into.
        touched_rows.extend((i1 - 1, i1 - 1) if i1 == i2 else (i1, i2 - 1) for i1, i2 in code_changes)
        buggy, fixed = "".join(a[group[0][1]:group[-1][2]]), "".join(b[group[0][3]:group[-1][4]])
        if _usable(buggy, fixed, language):
            hunks.append(("hunk", buggy, fixed))
    new = {f.key: f for f in syntax.functions(new_bytes, language)}
    for function in _innermost_touched(syntax.functions(old_bytes, language), touched_rows):
        counterpart = new.get(function.key)
        if counterpart is None or function.end_row - function.start_row >= limits.max_function_lines:
            continue
        buggy = _with_indent(old_bytes, function.start_byte, function.end_byte)
        fixed = _with_indent(new_bytes, counterpart.start_byte, counterpart.end_byte)
        if _usable(buggy, fixed, language):
            yield "function", buggy, fixed
    yield from hunks


def _commit_pairs(commit: git.Commit, limits: MiningLimits) -> list[tuple[str, str, str, str, str]]:
    """(kind, language, path, buggy, fixed) of a commit, or nothing when it is not a small
    source fix."""
    sources = []
    for diff in commit.parents[0].diff(commit):
        path = diff.b_path or diff.a_path or ""
        language = syntax.language_for(path)
        if language is None or is_test_file(path):
            continue
        if diff.change_type != "M" or diff.a_blob is None or diff.b_blob is None:
            return []  # a fix that adds, deletes or moves a source file is not a local edit
        if max(diff.a_blob.size, diff.b_blob.size) > MAX_SOURCE_BYTES:
            return []
        sources.append((path, language, diff.a_blob, diff.b_blob))
    if not 1 <= len(sources) <= limits.max_files:
        return []
    texts = []
    changed = 0
    for path, language, a_blob, b_blob in sources:
        try:
            before = a_blob.data_stream.read().decode("utf-8")
            after = b_blob.data_stream.read().decode("utf-8")
        except UnicodeDecodeError:
            return []
        matcher = difflib.SequenceMatcher(None, before.splitlines(), after.splitlines(), autojunk=False)
        changed += sum(max(i2 - i1, j2 - j1) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal")
        texts.append((path, language, before, after))
    if changed > limits.max_changed_lines:
        return []
    return [
        (kind, language, path, buggy, fixed)
        for path, language, before, after in texts
        for kind, buggy, fixed in file_pairs(before, after, language, limits)
    ]


def _innermost_touched(functions: list[syntax.Function], rows: list[tuple[int, int]]) -> list[syntax.Function]:
    """The innermost function around each changed row range, once each: a fix in a nested
    function is a pair of the nested function, not of its whole enclosing one."""
    touched: dict[str, syntax.Function] = {}
    for start, end in rows:
        around = [f for f in functions if f.start_row <= start and end <= f.end_row]
        if around:
            innermost = min(around, key=lambda f: f.end_row - f.start_row)
            touched.setdefault(innermost.key, innermost)
    return list(touched.values())


def _with_indent(source: bytes, start: int, end: int) -> str:
    """The function's text from the start of its first line, so a method keeps its
    indentation and both sides of a pair align line by line."""
    line_start = source.rfind(b"\n", 0, start) + 1
    return source[line_start:end].decode("utf-8") + "\n"


def _usable(buggy: str, fixed: str, language: str) -> bool:
    """False for layout-only edits (reformatting is not a fix), for pure insertions after
    blank lines, which leave no buggy code to retrieve the pair by, and for code too long
    to be a corpus field (a few huge lines)."""
    if max(len(buggy), len(fixed)) > MAX_FIELD_CHARS:
        return False
    return bool(buggy.strip()) and not same_code(buggy, fixed, language)


def _is_ancestor(repo: git.Repo, ancestor: str, descendant: str) -> bool:
    try:
        return repo.is_ancestor(ancestor, descendant)
    except git.GitCommandError:
        return False  # `since` is unknown here: a rewritten history or another repository


def _text(data: str | bytes) -> str:
    return data.decode("utf-8", "replace") if isinstance(data, bytes) else data
