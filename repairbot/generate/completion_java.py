"""The completion engine for Java holes: the syntax half of Repilot's engine.

What it refuses while the model writes: a closing bracket that matches nothing open (counting
the brackets the code before the hole left open, so `} else {` holes work), a string or char
literal broken by a newline, and a filling that ends the hole while the file does not parse
(tree-sitter-java), or, in a one-line hole, whose code before a `//` comment does not. Member
and type checks against the project's symbols and the JDK (Repilot's `javap`-based half) are
not done yet: a Java filling is judged by syntax only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from repairbot.languages import java

OPENERS = {"(": ")", "[": "]", "{": "}"}


@dataclass
class _Scan:
    brackets: list[str] = field(default_factory=list)
    broken: bool = False
    in_literal: bool = False
    line_comment_start: int | None = None  # where the `//` comment the text ends in starts


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
    return result


class JavaCompletionEngine:
    """The engine for one hole; `prefix` + filling + `line_end` + `suffix` is the file.
    It implements `repairbot.models.Guide`."""

    def __init__(self, prefix: str, suffix: str, line_end: str, single_line: bool = False) -> None:
        self.prefix = prefix
        self.suffix = suffix
        self.line_end = line_end
        self.single_line = single_line
        self._open = scan(prefix).brackets
        self._parses: dict[str, bool] = {}

    def allows(self, text: str, final: bool) -> bool:
        scanned = scan(text, self._open)
        if scanned.broken:
            return False
        if final:
            return not scanned.in_literal and self._parses_with(text)
        if scanned.line_comment_start is not None and self.single_line:
            return self._parses_with(text[: scanned.line_comment_start])
        return True

    def forced(self, text: str) -> str:
        return ""

    def _parses_with(self, text: str) -> bool:
        if text not in self._parses:
            self._parses[text] = not java.has_syntax_error(self.prefix + text.rstrip() + self.line_end + self.suffix)
        return self._parses[text]
