"""Bug-fix pairs and their JSONL corpus format.

One JSON object per line, so corpora can be concatenated, streamed and diffed, and a bad
line can be reported by number. Fields:

    buggy       code before the fix (a hunk or a whole function)        required
    fixed       the same code after the fix                              required
    language    lower-case language name, e.g. "python", "java"          required
    kind        "hunk" or "function"                                     default "hunk"
    file_path, repository, commit, message                               default ""
    license     SPDX id of the code's license, null when unknown         default null

Unknown fields are errors rather than ignored: a misspelt optional field ("licence") would
otherwise vanish silently from every pair.

Corpora come from anywhere (and mined pairs from the repositories under repair), so reading
is bounded: a line longer than `MAX_LINE_BYTES` is reported without being held in memory, a
field longer than `MAX_FIELD_CHARS` is refused (one 50 MB pair once took 21.8 GB to index),
and a line nested too deeply for the JSON parser is a malformed line, not a crash.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import textwrap
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from repairbot.languages.registry import by_name

KINDS = ("hunk", "function")
_LANGUAGE = re.compile(r"^[a-z][a-z0-9+#_-]*$")
MAX_REPORTED_PROBLEMS = 20
# A hunk or function of real code is a few KiB; a field of megabytes is data, not a fix.
MAX_FIELD_CHARS = 64 * 1024
# Room for every field at its cap even when JSON escapes each character as `\uXXXX`.
MAX_LINE_BYTES = 4 * 1024 * 1024
_SKIP_CHUNK_BYTES = 1024 * 1024
_SHOWN_VALUE_CHARS = 40


@dataclass(frozen=True)
class BugFixPair:
    """A piece of code before and after a fix, with where it came from."""

    buggy: str
    fixed: str
    language: str
    kind: str = "hunk"
    file_path: str = ""
    repository: str = ""
    commit: str = ""
    message: str = ""
    license: str | None = None

    @property
    def key(self) -> str:
        """Identity for deduplication: the same fix cherry-picked to another branch, mined from
        a fork or re-indentated is the same pair, so provenance and whitespace are left out."""
        digest = hashlib.blake2b(digest_size=16)
        for part in (self.language, _normalize(self.buggy), _normalize(self.fixed)):
            digest.update(part.encode("utf-8"))
            digest.update(b"\0")
        return digest.hexdigest()

    def to_json(self) -> str:
        return json.dumps({name: getattr(self, name) for name in _FIELD_NAMES}, ensure_ascii=False)


_FIELD_NAMES = tuple(f.name for f in dataclasses.fields(BugFixPair))
_REQUIRED = ("buggy", "fixed", "language")


class CorpusError(ValueError):
    """A corpus with malformed lines: `count` of them, the first `MAX_REPORTED_PROBLEMS` kept
    in `problems` as `path:line: what` (a corpus of a million bad lines is not a million
    messages in memory)."""

    def __init__(self, problems: list[str], count: int | None = None) -> None:
        self.problems = problems[:MAX_REPORTED_PROBLEMS]
        self.count = len(problems) if count is None else count
        more = self.count - len(self.problems)
        super().__init__("\n".join(self.problems + ([f"... and {more} more"] if more else [])))


def pair_from_dict(data: Any) -> BugFixPair:
    """Validate one decoded JSON value; raises ValueError naming the offending field."""
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object, got {type(data).__name__}")
    unknown = sorted(set(data) - set(_FIELD_NAMES))
    if unknown:
        raise ValueError(f"unknown field(s) {', '.join(unknown)}; allowed: {', '.join(_FIELD_NAMES)}")
    missing = [name for name in _REQUIRED if name not in data]
    if missing:
        raise ValueError(f"missing required field(s) {', '.join(missing)}")
    for name, value in data.items():
        nullable = name == "license"
        if not (isinstance(value, str) or (nullable and value is None)):
            expected = "a string or null" if nullable else "a string"
            raise ValueError(f"field {name!r} must be {expected}, got {type(value).__name__}")
    pair = BugFixPair(**data)
    oversized = _oversized_field(pair)
    if oversized:
        raise ValueError(f"field {oversized!r} is longer than {MAX_FIELD_CHARS} characters: not a hunk or function")
    if not pair.buggy.strip():
        raise ValueError("field 'buggy' is empty: retrieval looks pairs up by their buggy code")
    if not _LANGUAGE.match(pair.language):
        raise ValueError(f"field 'language' must be a lower-case name like 'python', got {_shown(pair.language)}")
    if pair.kind not in KINDS:
        raise ValueError(f"field 'kind' must be one of {', '.join(KINDS)}, got {_shown(pair.kind)}")
    if same_code(pair.buggy, pair.fixed, pair.language):
        raise ValueError("'buggy' and 'fixed' differ in layout only: not a fix")
    return pair


def _oversized_field(pair: BugFixPair) -> str | None:
    """The name of the first field longer than `MAX_FIELD_CHARS`, None when all fit."""
    for name in _FIELD_NAMES:
        value = getattr(pair, name)
        if value is not None and len(value) > MAX_FIELD_CHARS:
            return name
    return None


def read_corpus(path: Path) -> list[BugFixPair]:
    """All pairs of a JSONL file; raises CorpusError listing every malformed line, so a user
    fixes a generated corpus in one pass instead of one error per run."""
    pairs: list[BugFixPair] = []
    problems: list[str] = []
    count = 0
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise CorpusError([f"{path}: cannot read: {exc.strerror or exc}"]) from exc
    with handle:
        for number, line in _numbered_lines(handle):
            try:
                pair = _parse_line(line)
            except ValueError as exc:
                count += 1
                if len(problems) < MAX_REPORTED_PROBLEMS:
                    problems.append(f"{path}:{number}: {exc}")
                continue
            if pair is not None:
                pairs.append(pair)
    if count:
        raise CorpusError(problems, count)
    return pairs


def _numbered_lines(handle: IO[bytes]) -> Iterator[tuple[int, bytes | None]]:
    """(line number, bytes) of each line, with None for a line over `MAX_LINE_BYTES`: its
    rest is read in chunks and dropped, so memory stays bounded whatever the file holds."""
    number = 0
    while line := handle.readline(MAX_LINE_BYTES + 1):
        number += 1
        if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
            while (rest := handle.readline(_SKIP_CHUNK_BYTES)) and not rest.endswith(b"\n"):
                pass
            yield number, None
        else:
            yield number, line


def _parse_line(line: bytes | None) -> BugFixPair | None:
    """The pair on one line, None for a blank line; ValueError says what is wrong with it."""
    if line is None:
        raise ValueError(f"line is longer than {MAX_LINE_BYTES // 2**20} MiB: skipped unread, not a bug-fix pair")
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 text: {exc.reason} at byte {exc.start}") from None
    if not text.strip():
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON: {exc.msg} (column {exc.colno})") from None
    except RecursionError:
        raise ValueError("invalid JSON: nested too deeply (a pair is one flat object)") from None
    return pair_from_dict(data)


def write_corpus(path: Path, pairs: Iterable[BugFixPair]) -> int:
    """Write `pairs` as JSONL (replacing the file); returns how many were written."""
    count = 0
    with path.open("w", encoding="utf-8") as handle:
        for pair in pairs:
            handle.write(pair.to_json() + "\n")
            count += 1
    return count


def unique(pairs: Iterable[BugFixPair], seen: set[str] | None = None) -> Iterator[BugFixPair]:
    """`pairs` without duplicates (by `key`), first occurrence kept; `seen` is updated."""
    seen = set() if seen is None else seen
    for pair in pairs:
        if pair.key not in seen:
            seen.add(pair.key)
            yield pair


def same_code(a: str, b: str, language: str) -> bool:
    """Equal up to layout. Where indentation is code (`significant_indentation`: in Python
    a `return` moved out of a loop is a classic fix), each line's relative indentation must
    match too."""
    return _layout_free(a, language) == _layout_free(b, language)


def _layout_free(code: str, language: str) -> list[tuple[int, str]]:
    lines = [line for line in textwrap.dedent(code.expandtabs(4)).splitlines() if line.strip()]
    support = by_name(language)
    if support is None or not support.significant_indentation:
        return [(0, "".join("".join(lines).split()))]
    return [(len(line) - len(line.lstrip()), "".join(line.split())) for line in lines]


def _shown(value: str) -> str:
    """`value` quoted for an error message, cut short: a field may be 64K characters."""
    if len(value) <= _SHOWN_VALUE_CHARS:
        return repr(value)
    return repr(value[:_SHOWN_VALUE_CHARS]) + "..."


def _normalize(code: str) -> str:
    lines = [line.rstrip() for line in textwrap.dedent(code.expandtabs(4)).splitlines()]
    return "\n".join(lines).strip("\n")
