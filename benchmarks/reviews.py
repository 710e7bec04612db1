"""Reviewed equivalences: plausible patches that are not the reference fix's text but are
its behaviour, each judged once by a person and written down with why.

A patch "is correct" in the APR literature when it is the developer's fix or semantically
equivalent to it, and the equivalence is judged by hand (Qi et al., Liu et al.): no tool
decides it, and a textual comparison (`bugs.same_program`) misses an index scheme shifted
throughout a function or a guard written before a statement instead of inside its condition.
So `equivalent_patches.toml` beside this module lists such patches by `bugs.patch_id` (a
hash: a published run quotes no benchmark code, yet a review names exactly one program, and
a patch that differs in one token is not covered), with the suite, the bug and the reason.
A report counts a row correct when its top patch is the reference fix or a reviewed
equivalent, and shows both numbers, so a reader can check every review against the patch.
"""

from __future__ import annotations

import functools
import tomllib
from pathlib import Path

from repairbot.errors import BadInput

REVIEWS = Path(__file__).with_name("equivalent_patches.toml")
_FIELDS = ("suite", "bug", "patch", "why")


@functools.cache
def reviewed(path: Path = REVIEWS) -> dict[tuple[str, str, str], str]:
    """(suite, bug, patch id) -> why that patch is the reference fix's behaviour."""
    try:
        entries = tomllib.loads(path.read_text(encoding="utf-8")).get("equivalent", [])
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise BadInput(f"{path}: not a file of reviews ({exc})") from None
    found = {}
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or not all(isinstance(entry.get(key), str) and entry[key] for key in _FIELDS):
            raise BadInput(f"{path}: review {number} needs a non-empty {', '.join(_FIELDS)}")
        found[entry["suite"], entry["bug"], entry["patch"]] = entry["why"]
    return found


def equivalence(suite: str, bug: str, patch: str, path: Path | None = None) -> str:
    """Why the patch is equivalent to `bug`'s reference fix; "" when no review says so
    (`path`: the reviews, the shipped file by default)."""
    return reviewed(path or REVIEWS).get((suite, bug, patch), "") if patch else ""
