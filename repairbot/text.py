"""Text that came from the repository under repair, made safe to show and to store.

File names, test ids, failure messages and tool output are written by untrusted code. Shown
as they are, `[/x]` in a name is rich markup (a crash), and an ESC or OSC sequence in a test's
message drives the operator's terminal (clears it, retitles it, hides text). A failing run
can also print gigabytes on one line. Everything such text passes through to reach a
terminal or the job history goes through one of these functions.
"""

from __future__ import annotations

import re

from rich.markup import escape

MAX_LINE_CHARS = 500  # one line of tool output quoted in an error
MAX_ERROR_CHARS = 2000  # a job's error message, which may quote such a line and a path

# C0 controls (ESC, CR, BEL, backspace...), DEL, C1 controls (a lone 0x9b is a CSI on some
# terminals) and the bidirectional overrides that reorder what is displayed.
_CONTROL = "\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"
_ONE_LINE = re.compile(f"[\t\n{_CONTROL}]")
_MULTILINE = re.compile(f"[{_CONTROL}]")


def printable(text: str, *, multiline: bool = False) -> str:
    """`text` with every control character written as its escape (`\\x1b`, `\\r`), so it
    shows what the repository wrote and cannot act on the terminal. A `multiline` block keeps
    its newlines and tabs; a one-line field (a name, a table cell) escapes them too, so it
    cannot forge lines of its own."""
    pattern = _MULTILINE if multiline else _ONE_LINE
    return pattern.sub(lambda found: found.group().encode("unicode_escape").decode("ascii"), text)


def markup(text: str, *, multiline: bool = False) -> str:
    """`printable` text to embed in a rich markup string: brackets cannot open or close tags."""
    return escape(printable(text, multiline=multiline))


def capped(text: str, limit: int = MAX_ERROR_CHARS) -> str:
    """At most `limit` characters of `text`, and a note of how many were left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit} more characters)"
