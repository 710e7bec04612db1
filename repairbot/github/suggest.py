"""A patch as GitHub suggested changes: one review comment per changed block, anchored on
the lines the block replaces in the failing commit (`start_line`..`line`, right side), whose
body is a ```` ```suggestion ```` block of the new lines, so the PR's author applies it with
one click. A block that only inserts is anchored on the line before it (kept, then the new
lines). A patch that creates or deletes a file, or inserts before a file's first line, has no
such form: None."""

from __future__ import annotations

import re
from dataclasses import dataclass

HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+\d+(?:,\d+)? @@")


@dataclass(frozen=True)
class Suggestion:
    path: str
    start_line: int
    line: int
    new_lines: list[str]

    def comment(self) -> dict[str, object]:
        """The entry of a review's `comments` (GitHub's create-review request)."""
        fence = "````" if any("```" in text for text in self.new_lines) else "```"
        body = f"{fence}suggestion\n" + "".join(f"{text}\n" for text in self.new_lines) + fence
        entry: dict[str, object] = {"path": self.path, "line": self.line, "side": "RIGHT", "body": body}
        if self.start_line != self.line:
            entry.update(start_line=self.start_line, start_side="RIGHT")
        return entry


def suggestions(diff: str) -> list[Suggestion] | None:
    found: list[Suggestion] = []
    path: str | None = None
    old = 0
    previous: tuple[int, str] | None = None  # the last context line: an insertion's anchor
    removed: list[int] = []
    added: list[str] = []

    def flush() -> bool:
        nonlocal removed, added
        if not removed and not added:
            return True
        if path is None:
            return False
        if removed:
            found.append(Suggestion(path, removed[0], removed[-1], added))
        elif previous is not None:
            found.append(Suggestion(path, previous[0], previous[0], [previous[1], *added]))
        else:
            return False
        removed, added = [], []
        return True

    for line in diff.splitlines():
        if line.startswith("--- "):
            if not flush():
                return None
            path = None if line == "--- /dev/null" else line[4:].removeprefix("a/")
        elif line.startswith("+++ "):
            if line == "+++ /dev/null" or path is None:
                return None
        elif (hunk := HUNK.match(line)) is not None:
            if not flush():
                return None
            old, previous = int(hunk.group(1)), None
        elif line.startswith("-"):
            removed.append(old)
            old += 1
        elif line.startswith("+"):
            added.append(line[1:])
        elif line.startswith(" ") or line == "":
            if not flush():
                return None
            previous = (old, line[1:])
            old += 1
    return found if flush() and found else None
