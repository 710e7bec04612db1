"""The completion engine for Java holes: the syntax half of Repilot's engine.

What it refuses while the model writes: a closing bracket that matches nothing open (counting
the brackets the code before the hole left open, so `} else {` holes work), a string or char
literal broken by a newline, and a filling that ends the hole while the file does not parse
(tree-sitter-java), or, in a one-line hole, whose code before a `//` comment does not.

The type-aware half: a method called by its bare name (`solve(f, min, max)`) must be one the
class around the hole has (its own, inherited, or statically imported), where all of that is
known for certain. In `name.member`, where `name` is a local, parameter, field, `this` or
a class whose members are known for certain (`java_symbols`: the project's classes, and the
JDK's through `javap`), `member` must be (while being written: start) one of them, and a
member the typed start picks out alone is written without the model (`list.siz` -> `size`).
Receivers it cannot type (chained calls, `var`, type parameters, names the hole itself
declares) are never judged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from repairbot.generate.completion import layout_noise
from repairbot.languages import java, java_symbols
from repairbot.languages.registry import CompletionRequest
from validators import safe_files

OPENERS = {"(": ")", "[": "]", "{": "}"}
# Literals and comments, possibly unterminated at the end of the text: skipped by the patterns below.
_SKIPPED = r'"""[\s\S]*?(?:"""|$)|"(?:\\.|[^"\\\n])*(?:"|$)|\'(?:\\.|[^\'\\\n])*(?:\'|$)|//[^\n]*|/\*[\s\S]*?(?:\*/|$)'
# A `name.member` access whose receiver is a simple name (the lookbehind rules out chains).
_ACCESS = re.compile(
    _SKIPPED + r"|(?<![\w$.])(?<!\.\s)([A-Za-z_$][\w$]*)\s*\.\s*([A-Za-z_$][\w$]*)"
)
# A call by a bare name: `name(` not after a `.`, `@` (an annotation) or `::`.
_CALL = re.compile(
    _SKIPPED + r"|(?<![\w$.@:])(?<!\.\s)([A-Za-z_$][\w$]*)\s*\("
)
# Words that take a parenthesis without being a method: `if (`, `this(`, `super(` ...
_NOT_CALLS = frozenset({
    "if", "for", "while", "switch", "catch", "synchronized", "try", "return", "throw", "new", "assert", "this",
    "super", "case", "else", "do", "yield", "instanceof",
})
# A word before a bare call that makes it an expression, not a declaration (`int f(`).
_EXPRESSION_WORDS = frozenset({"return", "throw", "case", "else", "do", "yield", "assert"})


@dataclass
class _Scan:
    brackets: list[str] = field(default_factory=list)
    broken: bool = False
    in_literal: bool = False
    line_comment_start: int | None = None  # where the `//` comment the text ends in starts
    in_block_comment: bool = False


def scan(text: str, open_brackets: list[str] | None = None) -> _Scan:
    result = _Scan(brackets=list(open_brackets or []))
    i, quote, block_comment = 0, "", False
    while i < len(text):
        char = text[i]
        if result.line_comment_start is not None:
            if char == "\n":
                result.line_comment_start = None
        elif block_comment:
            if text.startswith("*/", i):
                block_comment, i = False, i + 1
        elif quote:
            if char == "\\":
                i += 1
            elif text.startswith(quote, i):
                i += len(quote) - 1
                quote = ""
            elif char == "\n" and len(quote) == 1:
                result.broken = True
                return result
        elif text.startswith("//", i):
            result.line_comment_start = i
        elif text.startswith("/*", i):
            block_comment, i = True, i + 1
        elif text.startswith('"""', i):
            quote, i = '"""', i + 2
        elif char in "\"'":
            quote = char
        elif char in OPENERS:
            result.brackets.append(char)
        elif char in ")]}":
            if not result.brackets or OPENERS[result.brackets.pop()] != char:
                result.broken = True
                return result
        i += 1
    result.in_literal = bool(quote) or block_comment
    result.in_block_comment = block_comment
    return result


class JavaCompletionEngine:
    """The engine for one hole; `prefix` + filling + `line_end` + `suffix` is the file.
    It implements `repairbot.models.Guide`."""

    def __init__(
        self, prefix: str, suffix: str, line_end: str, single_line: bool = False,
        path: Path | None = None, project_root: Path | None = None,
    ) -> None:
        """`path` (the file on disk, as it was before the hole was cut) and `project_root`
        give the symbols; without them only syntax is judged."""
        self.prefix = prefix
        self.suffix = suffix
        self.line_end = line_end
        self.single_line = single_line
        self._open = scan(prefix).brackets
        self._parses: dict[str, bool] = {}
        self._line_start = prefix[prefix.rfind("\n") + 1 :]
        self._path = path
        self._project_root = project_root
        self._scope: tuple[java_symbols.Project, java_symbols.Scope] | None = None
        self._receivers: dict[str, frozenset[str] | None] = {}

    def allows(self, text: str, final: bool) -> bool:
        scanned = scan(text, self._open)
        if scanned.broken:
            return False
        if self._path is not None and not (self._members_allowed(text) and self._calls_allowed(text)):
            return False
        if final:
            return not scanned.in_literal and self._parses_with(text)
        if scanned.line_comment_start is not None and self.single_line:
            return self._parses_with(text[: scanned.line_comment_start])
        if not self.single_line and (scanned.line_comment_start is not None or scanned.in_block_comment):
            return False
        return not layout_noise(text, self._line_start, self._in_code)

    def _in_code(self, text: str) -> bool:
        scanned = scan(text, self._open)
        return not (scanned.in_literal or scanned.line_comment_start is not None)

    def code_end(self, text: str) -> int | None:
        scanned = scan(text, self._open)
        return scanned.line_comment_start if self.single_line and not scanned.broken else None

    def forced(self, text: str) -> str:
        if self._path is None:
            return ""
        last = None
        for last in _ACCESS.finditer(self._line_start + text):
            pass
        if last is None or last.group(2) is None or last.end() != len(self._line_start) + len(text):
            return ""
        partial = last.group(2)
        members = self._members_of(last.group(1), text[: max(last.start() - len(self._line_start), 0)])
        if members is None or (partial[0].isupper() and "class" in members):
            return ""  # `Outer.In...` may be a nested type, which javap does not list
        matches = [m for m in members if m.startswith(partial)]
        return matches[0][len(partial) :] if len(matches) == 1 else ""

    def _members_allowed(self, text: str) -> bool:
        """Each `name.member` in the text names a member (its start, at the very end)."""
        code = self._line_start + text
        for access in _ACCESS.finditer(code):
            if access.group(2) is None:
                continue
            members = self._members_of(access.group(1), text[: max(access.start() - len(self._line_start), 0)])
            member = access.group(2)
            if members is None or (member[0].isupper() and "class" in members):
                continue
            if access.end() == len(code):
                if not any(m.startswith(member) for m in members):
                    return False
            elif member not in members:
                return False
        return True

    def _calls_allowed(self, text: str) -> bool:
        """Each method the text calls by its bare name is one the class around the hole has
        (unless the hole itself may declare it: after a type, as in `int f(`)."""
        code = self._line_start + text
        for call in _CALL.finditer(code):
            name = call.group(1)
            if name is None or name in _NOT_CALLS:
                continue
            before = re.search(r"([\w$]+|[>\]])\s+$", code[: call.start()])
            if before is not None and before.group(1) not in _EXPRESSION_WORDS:
                continue  # a declaration (`int f(`, `new Foo(`): not a call of a method
            callable = self._callable()
            if callable is None:
                return True
            if name not in callable:
                return False
        return True

    def _callable(self) -> frozenset[str] | None:
        """The methods a bare name may call at the hole: the members of every class around
        it and the static imports; None when any of them cannot be known for certain."""
        project, scope = self._symbols()
        if scope.opaque or not scope.classes:
            return None
        found: set[str] = set(project.current.static_members)
        for decl in scope.classes:
            members = project.members(decl)
            if members is None:
                return None
            found |= members
        for owner in project.current.static_wildcards:
            resolved = project.resolve(owner, project.current)
            members = project.members(resolved) if resolved is not None else None
            if members is None:
                return None
            found |= members
        return frozenset(found)

    def _members_of(self, name: str, before: str) -> frozenset[str] | None:
        """The members of what `name` is at the hole (`before`: the hole's text before it,
        which may declare `name` anew: then it cannot be told)."""
        if re.search(rf"[\w$>\]]\s+{re.escape(name)}\b|\b{re.escape(name)}\s*->|\([\w$\s,]*\b{re.escape(name)}\b[\w$\s,]*\)\s*->", before):
            return None
        if name not in self._receivers:
            self._receivers[name] = java_symbols.receiver_members(*self._symbols(), name)
        return self._receivers[name]

    def _symbols(self) -> tuple[java_symbols.Project, java_symbols.Scope]:
        """The file's symbols and the hole's scope, read once per hole: from the file on
        disk when it starts with the prefix (it parses whole), else from the file without the hole."""
        if self._scope is None:
            assert self._path is not None
            try:
                # Never through a link the tests may have planted in the work copy.
                on_disk = safe_files.read_bytes(self._path.parent, self._path.name).decode("utf-8")
            except (OSError, UnicodeDecodeError):
                on_disk = ""
            source = on_disk if on_disk.startswith(self.prefix) else self.prefix + self.line_end + self.suffix
            symbols, root = java_symbols.read_file(source.encode("utf-8"))
            project = java_symbols.Project(symbols, self._path, self._project_root)
            scope = java_symbols.scope_at(root, symbols, len(self.prefix.encode("utf-8")))
            self._scope = (project, scope)
        return self._scope

    def _parses_with(self, text: str) -> bool:
        if text not in self._parses:
            self._parses[text] = not java.has_syntax_error(self.prefix + text.rstrip() + self.line_end + self.suffix)
        return self._parses[text]


def java_engine(request: CompletionRequest) -> JavaCompletionEngine:
    return JavaCompletionEngine(
        request.prefix, request.suffix, request.line_end, single_line=request.single_line, path=request.path,
        project_root=request.project_root,
    )


def unbalanced(text: str) -> bool:
    """Whether `text` has a closer that can never match, or a one-line literal broken by a newline."""
    return scan(text).broken
