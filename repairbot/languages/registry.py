"""The languages repairbot repairs, by file suffix: the one place a stage asks what a file is.

Each language is one `LanguageSupport` built in its own module (`python.py`, `java.py`);
`BUILTIN` lists them, and `register` adds another at run time (a plugin, a test), so a new
language is a new module, not a new branch in every stage. Everything a stage needs to
know about a language hangs off its object: how to parse it, the program a text denotes,
its statements and functions for localization, which files are tests, how its tracebacks
read, and the generation hooks (masked templates, the completion engine).

The generation hooks are callables that import their generator's module when called:
`validators/` and `retrieval/` read this layer, and must not pull the generators in.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePath, PurePosixPath
from typing import TYPE_CHECKING, Any

from tree_sitter import Language, Node, Tree

if TYPE_CHECKING:
    from repairbot.models.base import Guide

# The modules holding the built-in languages' `SUPPORT`, imported on first lookup.
BUILTIN = ("repairbot.languages.python", "repairbot.languages.java")


@dataclass(frozen=True)
class CompletionRequest:
    """A hole the completion engine guards: the text around it, the file on disk as it was
    before the hole was cut (`path`), and the project whose names a filling may use."""

    prefix: str
    middle: str  # the hole's original text (Python's engine needs the file as it was)
    suffix: str
    line_end: str
    single_line: bool
    path: Path  # the engine reads the file's names from it
    project_root: Path  # the work copy: the names of the project


@dataclass(frozen=True)
class InsertionPoint:
    """Where a missing line may go near a suspicious statement (a missing `i += 1`, guard or
    `break`): the new line becomes line `line` (1-based: it goes before the file's line of
    that number), written at `indentation`. `where` places it for a patch's description:
    "before" or "after" the statement, or "body": first in the body of its loop or branch."""

    line: int
    indentation: str
    where: str


@dataclass(frozen=True)
class Frame:
    """One traceback entry, as a language's `traceback_frame` reads it. `file`: a path as
    printed (relative to the run's directory or absolute) or, for a language whose frames
    name no path, the name its `source_index` looks up (Java's `pkg/sub/Cls.java`)."""

    file: str
    line: int
    function: str | None = None


@dataclass(frozen=True)
class LanguageSupport:
    """What every stage needs to know of a language. The fields without a default are what
    any language must say; the defaults fit a language with none of the feature."""

    name: str
    title: str  # as a message names it: "Python"
    suffixes: tuple[str, ...]
    line_comment: str
    grammar: Language
    parse: Callable[[bytes], Tree]
    has_syntax_error: Callable[[str | bytes], bool]
    # The program a text denotes, without layout and comments; None when it does not parse.
    # Two candidates with one program need one test run, and a filling that gives back the
    # buggy program is no patch.
    program: Callable[[str], str | None]
    # Benchmarks compare a patch with a reference fix (`benchmarks/bugs.py`): the program up
    # to what does not change behaviour (docstrings; Java's package and imports, since
    # QuixBugs' correct programs live in another package), and the code of each line.
    reference_program: Callable[[str], str | None]
    code_lines: Callable[[str], dict[int, str]]
    # Localization: the statement each line belongs to, a statement's function and its name.
    line_statements: Callable[[Node], dict[int, Node]]
    enclosing_function: Callable[[Node], Node | None]
    qualified_name: Callable[[Node], str]
    # Node types of functions (methods): prompts keep their headers, retrieval cuts them out.
    functions: frozenset[str]
    # The completion engine on a hole, and whether a filling closes a bracket it did not open
    # (a mask replaces a balanced span).
    completion_engine: Callable[[CompletionRequest], Guide]
    unbalanced: Callable[[str], bool]
    # Node types of types (classes) and import lines, whose headers prompts keep.
    types: frozenset[str] = frozenset()
    imports: frozenset[str] = frozenset()
    # Statements that report a failure the program detected (raise, throw, assert): their
    # being in a traceback says where the check is, not where the state went wrong, so they
    # get no stack-trace boost.
    detection_statements: frozenset[str] = frozenset()
    # A statement that does nothing when run (a docstring): never a suspect.
    is_inert: Callable[[Node], bool] = lambda node: False
    # Each statement of a function that reaches one of its outputs, by first line: its
    # distance from the nearest output (ties in localization go to the nearer).
    output_distances: Callable[[Node], dict[int, int]] = lambda function: {}
    # A function that only moves values (getter, setter, plain constructor): its statements
    # go after the others of an equal score.
    is_accessor: Callable[[Node], bool] = lambda function: False
    # Coverage reports lines of no statement: code the compiler generated (Java's default
    # constructors, implicit `super()`), where no fault can be.
    generated_lines: bool = False
    # Functions are told apart by their parameter lists too (Java's overloads).
    overloads: bool = False
    # Indentation is code (Python's blocks): two snippets that differ only in it may be two
    # programs, so retrieval's "same code up to layout" keeps it.
    significant_indentation: bool = False
    # Node types of one name or one literal value: the units token merging averages.
    atoms: frozenset[str] = frozenset({"identifier"})
    # A file name of this language that is a test wherever it lies (`is_test_file` adds the
    # test folders every language shares): pytest's `test_*.py` and `conftest.py`,
    # Surefire's `*Test.java`.
    is_test_name: Callable[[PurePath], bool] = lambda path: False
    # The encoding of a source file's bytes (PEP 263 for Python); raises ValueError.
    source_encoding: Callable[[bytes, str], str] = lambda data, relative: "utf-8"
    # How its runtime prints a traceback (`repairbot.stacktrace`): the frame a line names,
    # if any, and whether a line starts the next traceback of a chained exception (Python's
    # "The above exception was the direct cause...", Java's `Caused by:`). A line is read by
    # the registered languages in turn: a frame may name a file of another language (a
    # Starlark file run by Python).
    traceback_frame: Callable[[str], Frame | None] = lambda line: None
    chains_traceback: Callable[[str], bool] = lambda line: False
    # A failure message saying that a collection changed while a loop iterated over it
    # (Python's "dictionary changed size during iteration", Java's
    # ConcurrentModificationException): the loop's body changed it, not the header that
    # threw (`repairbot.localize.collect`).
    iteration_invalidated: Callable[[str], bool] = lambda message: False
    # Tracebacks print the innermost frame first (the JVM) rather than last (Python).
    innermost_frame_first: bool = False
    # Where a traceback's frames do not name a file by its path (Java's name `pkg/Cls.java`
    # below a source root): an index of the project at a work dir, from the frame's file to
    # the project file (None for the JDK's or a library's). None: frames name paths.
    source_index: Callable[[Path], Callable[[str], str | None]] | None = None
    # The masked templates (`repairbot.generate.masks.Mask`) over lines `start..end` of a
    # parsed file; typed loosely, for this layer does not import the generators.
    masks: Callable[[bytes, Tree, int, int], Iterable[Any]] = lambda data, tree, start, end: ()
    # Where infill may insert a missing line around the statements on lines `start..end` of
    # a parsed file, in source order; and the statement that does nothing (`pass`), which
    # such a line is not worth a test run for.
    insertion_points: Callable[[bytes, Tree, int, int], Iterable[InsertionPoint]] = lambda data, tree, start, end: ()
    empty_statement: str = ""
    # The fix templates' mechanical rewrites (`repairbot.generate.templates.TemplateEdit`)
    # of the statements on lines `start..end` of a parsed file, which is `file` of the
    # project at `project_root` (for what its other files declare); None: no templates.
    fix_templates: Callable[[bytes, Tree, int, int, Path, str], Iterable[Any]] | None = None

    @property
    def globs(self) -> tuple[str, ...]:
        """The glob patterns of its files (`*.java`): how a runner lists a project's sources."""
        return tuple(f"*{suffix}" for suffix in self.suffixes)

    @classmethod
    def of_module(cls, module_name: str, **fields: Any) -> LanguageSupport:
        """The language a module describes: the functions every language needs are the
        module's own of the same names (`parse`, `program`, `line_statements`, ...)."""
        module = sys.modules[module_name]
        return cls(**{name: getattr(module, name) for name in MODULE_FUNCTIONS}, **fields)


# The functions a language's module defines under these names (`LanguageSupport.of_module`).
MODULE_FUNCTIONS = (
    "parse", "has_syntax_error", "program", "reference_program", "code_lines", "line_statements",
    "enclosing_function", "qualified_name",
)


def lazy(module: str, name: str) -> Callable[..., Any]:
    """`module.name`, imported on the first call: how a language names a hook that lives
    with a stage (a generator's engine) without importing the stage."""

    def call(*args: Any) -> Any:
        return getattr(importlib.import_module(module), name)(*args)

    return call


_REGISTERED: dict[str, LanguageSupport] = {}
_BY_SUFFIX: dict[str, LanguageSupport] = {}
_builtin_loaded = False


def register(language: LanguageSupport) -> LanguageSupport:
    """Add `language`; a suffix another language claims is refused (ValueError)."""
    _load_builtin()
    taken = [s for s in language.suffixes if s in _BY_SUFFIX and _BY_SUFFIX[s].name != language.name]
    if taken:
        raise ValueError(f"language {language.name}: suffix {taken[0]} belongs to {_BY_SUFFIX[taken[0]].name}")
    _add(language)
    return language


def unregister(name: str) -> None:
    _load_builtin()
    language = _REGISTERED.pop(name)
    for suffix in language.suffixes:
        _BY_SUFFIX.pop(suffix, None)


def language_for(file: str | PurePath) -> LanguageSupport | None:
    """The language of `file` by its suffix; None for a file repairbot does not read as code."""
    return for_suffix(PurePath(file).suffix)


# Folders whose files are tests in any language (pytest's `tests/`, Maven's `src/test/`),
# also as the end of a name (QuixBugs' `python_testcases/`, `unit_tests/`).
TEST_DIRS = ("test", "tests", "testing", "testcases")
TEST_DIR_ENDINGS = ("_test", "_tests", "_testcases")


def is_test_file(relative: str | PurePath) -> bool:
    """A test (or a test's helper) of the project, never a suspect nor a mined fix: a file
    below a test folder, or one its language names a test (`LanguageSupport.is_test_name`)."""
    path = PurePosixPath(relative)
    language = language_for(path)
    return (language is not None and language.is_test_name(path)) or any(_is_test_dir(part) for part in path.parts[:-1])


def _is_test_dir(name: str) -> bool:
    return name in TEST_DIRS or name.endswith(TEST_DIR_ENDINGS)


def for_suffix(suffix: str) -> LanguageSupport | None:
    _load_builtin()
    return _BY_SUFFIX.get(suffix)


def languages() -> Iterator[LanguageSupport]:
    _load_builtin()
    return iter(list(_REGISTERED.values()))


def by_name(name: str) -> LanguageSupport | None:
    _load_builtin()
    return _REGISTERED.get(name)


def _add(language: LanguageSupport) -> None:
    _REGISTERED[language.name] = language
    for suffix in language.suffixes:
        _BY_SUFFIX[suffix] = language


def _load_builtin() -> None:
    global _builtin_loaded
    if _builtin_loaded:
        return
    _builtin_loaded = True
    for module in BUILTIN:
        _add(importlib.import_module(module).SUPPORT)
