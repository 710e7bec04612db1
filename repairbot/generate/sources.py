"""The source files the model-driven generators rewrite, read once per file and job.

A generator compares programs, not texts: a filling that only changes spacing or comments
gives back the buggy program and is no patch. So a file is loaded with the program it
denotes, and one that does not parse (or is not UTF-8) is skipped with a warning rather
than failing the job: the other suspicious files may still hold the fix. The tests ran in
the work copy first: a file they replaced with a link (to a host file) or a special file is
skipped too, never read (`safe_files`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from repairbot.languages.registry import LanguageSupport, language_for
from validators import safe_files

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceFile:
    path: Path
    data: bytes  # as on disk: tree-sitter offsets are byte offsets, \r\n line ends are kept
    text: str
    program: str
    language: LanguageSupport

    def text_before(self, offset: int) -> str:
        return self.data[:offset].decode("utf-8")

    def text_after(self, offset: int) -> str:
        return self.data[offset:].decode("utf-8")

    def line_of(self, offset: int) -> int:
        return self.data.count(b"\n", 0, offset) + 1


def load_source(project_root: Path, file: str, reader: str) -> SourceFile | None:
    """`file` (relative to `project_root`) when a generator can rewrite it; `reader` names
    the generator in the warning about a file it skips."""
    language = language_for(file)
    if language is None:
        return None
    path = project_root / file
    try:
        data = safe_files.read_bytes(project_root, file)
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        logger.warning("%s: skipping %s: %s", reader, file, error)
        return None
    program = language.program(text)
    if program is None:
        logger.warning("%s: skipping %s: it has a syntax error", reader, file)
        return None
    return SourceFile(path, data, text, program, language)
