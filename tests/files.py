"""Lay out a project for a test from a {relative path: text} map.

Texts written inline in a test are indented with it: `dedent=True` strips that common
indent. Texts whose bytes are the point (hostile names, whitespace-only lines) go verbatim.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path


def write_files(root: Path, files: Mapping[str, str], *, dedent: bool = False) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text) if dedent else text)
    return root
