"""A completion engine for Python holes (Repilot's idea): while the model writes into a
hole, refuse tokens that cannot lead to valid code, and write what is certain without
asking the model.

What it refuses, each check chosen to be sound (never refuse what could be valid) and cheap
enough to run on every token:
- brackets: a closer with no matching opener, or the wrong kind, can never be completed;
- a filling that ends the hole must make the whole file parse (`ast`), so the model keeps
  going (or picks another ending) instead of stopping on half an expression; in a one-line
  hole a comment ends the code, so the code before it must parse as soon as it starts;
- a keyword after a dot (`queue.is`) is never an attribute, and two names in a row with
  only spaces between (`queue empty`) are never Python unless one is a keyword;
- attributes: `obj.name` where jedi knows `obj`'s members and none is (or starts with)
  `name` — the hallucinated method the model would otherwise call (`items.lenght`);
  assigning a new attribute (`obj.name =`) stays allowed;
- names: a name that is called, indexed or dereferenced (`name(`, `name[`, `name.`) must be
  bound somewhere in the file, be a builtin, or be bound in the hole itself; a file with a
  star import is not judged, since anything may come from it.
- layout: a comment (in a hole of several lines; in a one-line hole a comment ends the hole
  instead, `code_end`), a blank line, spaces at a line's end, two spaces after code, spaces
  where the indentation is already written never change the program, so a completion that
  writes them can only end in a program some other completion reaches without them.
What it completes: an attribute whose typed start matches exactly one member (jedi), so
`self.coup` becomes `self.coupon_percent` in one batched model call instead of several
sampled tokens.

Every check runs on text outside strings and comments only; jedi answers are memoized per
code prefix, so the samples of one hole (which share most of their prefixes) pay once.
"""

from __future__ import annotations

import ast
import builtins
import keyword
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import jedi
from repairbot.languages.registry import CompletionRequest

IDENTIFIER = re.compile(r"[^\W\d]\w*")  # Python 3 names may hold any letter (`größe`, `数`)
OPENERS = {"(": ")", "[": "]", "{": "}"}
CLOSERS = {")", "]", "}"}
# After these a name is being defined, not used: the name checks stay out of such lines.
BINDING_KEYWORDS = re.compile(r"\b(def|class|lambda|import|from|global|nonlocal|as|for|with|except|del)\b")


@dataclass
class _Scan:
    """The hole's text as Python's tokenizer would see it, reduced to what the checks need."""

    brackets: list[str] = field(default_factory=list)
    broken: bool = False  # a closer that can never match
    in_string: bool = False
    in_comment: bool = False
    comment_start: int = 0  # where the comment the text ends in starts
    # Identifiers outside strings and comments: (start, end) offsets in the text.
    names: list[tuple[int, int]] = field(default_factory=list)


def scan(text: str) -> _Scan:
    result = _Scan()
    quote = ""
    i = 0
    while i < len(text):
        char = text[i]
        if result.in_comment:
            result.in_comment = char != "\n"
        elif quote:
            if char == "\\":
                i += 1
            elif text.startswith(quote, i):
                i += len(quote) - 1
                quote = ""
            elif char == "\n" and len(quote) == 1:
                result.broken = True  # a one-quote string cannot span lines
                return result
        elif char == "#":
            result.in_comment = True
            result.comment_start = i
        elif char in "'\"":
            quote = text[i : i + 3] if text[i : i + 3] in ("'''", '"""') else char
            i += len(quote) - 1
        elif char in OPENERS:
            result.brackets.append(char)
        elif char in CLOSERS:
            if not result.brackets or OPENERS[result.brackets.pop()] != char:
                result.broken = True
                return result
        elif char.isalpha() or char == "_":
            match = IDENTIFIER.match(text, i)
            assert match is not None
            # A string prefix (f"", rb'') is not a name.
            if not (match.end() < len(text) and text[match.end()] in "'\"" and match.group().lower() in _STRING_PREFIXES):
                result.names.append((i, match.end()))
            i = match.end() - 1
        elif char.isdigit():
            while i + 1 < len(text) and (text[i + 1].isalnum() or text[i + 1] in "._"):
                i += 1
        i += 1
    result.in_string = bool(quote)
    return result


_STRING_PREFIXES = {"r", "u", "b", "f", "br", "rb", "fr", "rf"}


class PythonCompletionEngine:
    """The engine for one hole of one file: `prefix` + filling + `line_end` + `suffix` is
    the patched file. It implements `repairbot.models.Guide`."""

    def __init__(
        self, prefix: str, middle: str, suffix: str, line_end: str, path: Path, project_root: Path,
        single_line: bool = False,
    ) -> None:
        """`middle` is the hole's original text: the file as it was must parse. In a
        `single_line` hole a comment ends the code: what precedes it must already be whole."""
        self.prefix = prefix
        self.single_line = single_line
        self.suffix = suffix
        self.line_end = line_end
        self._path = path
        self._project = jedi.Project(project_root, smart_sys_path=False, load_unsafe_extensions=False)
        self._bound, self._star_import = _bound_names(prefix + middle + line_end + suffix)
        self._line_start = prefix[prefix.rfind("\n") + 1 :]
        self._members: dict[str, frozenset[str]] = {}
        self._parses: dict[str, bool] = {}

    def allows(self, text: str, final: bool) -> bool:
        scanned = scan(text)
        if scanned.broken:
            return False
        if final:
            return not scanned.in_string and self._parses_with(text)
        if scanned.in_comment and self.single_line:
            return self._parses_with(text[: scanned.comment_start])
        if not self.single_line and scanned.in_comment:
            return False
        if layout_noise(text, self._line_start, _in_code):
            return False
        return not _adjacent_names(text, scanned.names) and all(
            self._name_allowed(text, start, end) for start, end in scanned.names
        )

    def code_end(self, text: str) -> int | None:
        scanned = scan(text)
        return scanned.comment_start if self.single_line and scanned.in_comment and not scanned.broken else None

    def forced(self, text: str) -> str:
        scanned = scan(text)
        if scanned.broken or scanned.in_string or scanned.in_comment or not scanned.names:
            return ""
        start, end = scanned.names[-1]
        if end != len(text) or start == 0 or text[start - 1] != ".":
            return ""
        partial = text[start:end]
        matches = [m for m in self._attributes(text[:start]) if m.startswith(partial)]
        return matches[0][len(partial) :] if len(matches) == 1 else ""

    def _name_allowed(self, text: str, start: int, end: int) -> bool:
        name = text[start:end]
        after = text[end:].lstrip(" \t")
        if start > 0 and text[start - 1] == ".":
            if keyword.iskeyword(name):
                return False  # `obj.is`: never an attribute
            return self._attribute_allowed(text[:start], name, complete=bool(after), after=after)
        line_before = (self._line_start + text[:start]).rsplit("\n", 1)[-1]
        if keyword.iskeyword(name) or keyword.issoftkeyword(name) or BINDING_KEYWORDS.search(line_before):
            return True
        if not after or self._star_import or name in self._bound or name in _BUILTINS:
            return True
        if after[0] in "(.[":
            return name in _bound_in(text[:start])
        return True

    def _attribute_allowed(self, before: str, name: str, complete: bool, after: str) -> bool:
        if after.startswith("=") and not after.startswith("=="):
            return True  # assigning a new attribute
        members = self._attributes(before)
        if not members:
            return True  # jedi does not know the object: no judgement
        return name in members if complete else any(m.startswith(name) for m in members)

    def _attributes(self, before_name: str) -> frozenset[str]:
        """The members jedi sees after `prefix + before_name` (which ends with a dot)."""
        if before_name not in self._members:
            code = self.prefix + before_name
            line = code.count("\n") + 1
            column = len(code) - code.rfind("\n") - 1
            try:
                script = jedi.Script(code + "\n" + self.suffix, path=self._path, project=self._project)
                names = frozenset(c.name for c in script.complete(line, column))
            except Exception:  # jedi's own errors on odd code: no judgement rather than a crash
                names = frozenset()
            self._members[before_name] = names
        return self._members[before_name]

    def _parses_with(self, text: str) -> bool:
        if text not in self._parses:
            try:
                ast.parse(self.prefix + text.rstrip() + self.line_end + self.suffix)
                self._parses[text] = True
            except (SyntaxError, ValueError):
                self._parses[text] = False
        return self._parses[text]


# Two spaces after code, spaces at a line's end, a blank line.
_LAYOUT_NOISE = re.compile(r"\S[ \t]{2,}|[ \t]+\n|\n[ \t]*\n")


def layout_noise(text: str, line_start: str, in_code: Callable[[str], bool]) -> bool:
    """Whether `text`, written after `line_start` (the prefix's last line), has layout no
    program needs where code is written (`in_code` says so of the text before a spot):
    spaces where the indentation is already written, two spaces after code, spaces at a
    line's end, a blank line. A filling with them is the same program as one without
    (Python's indentation is kept by the prefix, and layout elsewhere means nothing), so a
    model that writes them only pays for a repeat."""
    if text[:1] in (" ", "\t") and line_start and not line_start.strip():
        return True
    return any(in_code(text[: match.start() + 1]) for match in _LAYOUT_NOISE.finditer(text))


def _in_code(text: str) -> bool:
    scanned = scan(text)
    return not (scanned.in_string or scanned.in_comment)


_BUILTINS = frozenset(dir(builtins)) | {"__name__", "__file__", "__doc__", "__class__", "self", "cls"}


def _adjacent_names(text: str, names: list[tuple[int, int]]) -> bool:
    """Two names with only spaces between, neither a keyword (`x if`, `not x`, `match x`
    are fine): no Python statement has that shape."""
    for (first_start, first_end), (second_start, second_end) in zip(names, names[1:]):
        gap = text[first_end:second_start]
        if not gap or gap.strip(" \t") or _is_keyword(text[first_start:first_end]):
            continue
        second = text[second_start:second_end]
        growing = second_end == len(text) and any(k.startswith(second) for k in KEYWORDS)
        if not growing and not _is_keyword(second):  # `i` may still become `if`
            return True
    return False


KEYWORDS = (*keyword.kwlist, *keyword.softkwlist)


def _is_keyword(name: str) -> bool:
    return keyword.iskeyword(name) or keyword.issoftkeyword(name)


def _bound_names(code: str) -> tuple[frozenset[str], bool]:
    """Every name the file binds anywhere (any scope), and whether names may come from
    elsewhere (a star import; or a file that does not parse, where nothing is judged)."""
    names: set[str] = set()
    star = False
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return frozenset(), True
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                star = star or alias.name == "*"
                names.add((alias.asname or alias.name).split(".")[0])
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            names.update(node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            names.add(node.name)
    return frozenset(names), star


def _bound_in(text: str) -> set[str]:
    """Names the hole's unfinished text binds: assignment and walrus targets, loop, `as` and
    comprehension variables. Over-approximate on purpose: it only makes the engine refuse less."""
    names = set(re.findall(r"([A-Za-z_]\w*)\s*(?::=|=(?!=))", text))
    names.update(re.findall(r"\bas\s+([A-Za-z_]\w*)", text))
    for targets in re.findall(r"\bfor\s+([\w\s,()]+?)\s+in\b", text):
        names.update(IDENTIFIER.findall(targets))
    return names


def python_engine(request: CompletionRequest) -> PythonCompletionEngine:
    return PythonCompletionEngine(
        request.prefix, request.middle, request.suffix, request.line_end, request.path, request.project_root,
        single_line=request.single_line,
    )


def unbalanced(text: str) -> bool:
    """Whether `text` has a closer that can never match, or a one-line literal broken by a newline."""
    return scan(text).broken
