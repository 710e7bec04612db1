"""Language support through tree-sitter: parsing, syntax checks and statement lookup.

One module per language, each building the `LanguageSupport` that `registry.py` finds by
file suffix, so the stages stay language-agnostic and a new language is a new module, not
a new branch in every stage.
"""

from __future__ import annotations

import threading

from tree_sitter import Language, Parser, Tree


class ThreadParser:
    """One tree-sitter parser per thread and language: a parser is not safe to share
    between threads (parallel validation and generation run in threads)."""

    def __init__(self, language: Language) -> None:
        self._language = language
        self._local = threading.local()

    def parse(self, source: bytes) -> Tree:
        parser = getattr(self._local, "parser", None)
        if parser is None:
            parser = self._local.parser = Parser(self._language)
        return parser.parse(source)
