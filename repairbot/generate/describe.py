"""How a candidate's edit is named in progress lines, reports and the job history.

A description quotes the old and the new code on one line, so long code is cut; cut at a
fixed width, two different edits of one long line read the same (issue 18). So a long edit
is shown around where the two sides differ, with a little context, and two different edits
of the same code always get different descriptions.
"""

from __future__ import annotations

import os

SNIPPET_CHARS = 40  # of each side, quoted whole when both fit
CONTEXT_CHARS = 10  # kept before and after the change in a long edit


def describe_change(old: str, new: str) -> str:
    """"`old` -> `new`", whitespace runs flattened to one space."""
    old, new = " ".join(old.split()), " ".join(new.split())
    if max(len(old), len(new)) <= SNIPPET_CHARS:
        return f"`{old}` -> `{new}`"
    prefix = len(os.path.commonprefix([old, new]))
    suffix = len(os.path.commonprefix([old[prefix:][::-1], new[prefix:][::-1]]))
    start = max(0, prefix - CONTEXT_CHARS)
    return f"`{_window(old, start, len(old) - suffix)}` -> `{_window(new, start, len(new) - suffix)}`"


def _window(text: str, start: int, change_end: int) -> str:
    """`text` from `start` to a little past the change, at most SNIPPET_CHARS of it."""
    end = min(len(text), change_end + CONTEXT_CHARS, start + SNIPPET_CHARS)
    return ("…" if start else "") + text[start:end] + ("…" if end < len(text) else "")
