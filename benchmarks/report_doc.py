"""A benchmark report as a document (sections of tables, text, a plot and patch pairs), and
that document as Markdown. `benchmarks.report` builds it; `benchmarks.report_html` renders
the same document as HTML, so both formats say the same thing.

Table cells, titles and patches hold untrusted text (bug names, error messages, diffs from
the benchmark): in Markdown a cell is one line with HTML and link syntax escaped, and a
patch sits in a fence longer than any backtick run inside it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from repairbot.text import printable


@dataclass(frozen=True)
class Table:
    header: list[str]
    rows: list[list[str]]
    marked: list[bool] = field(default_factory=list)  # rows to highlight (an outcome that changed)

    def is_marked(self, index: int) -> bool:
        return index < len(self.marked) and self.marked[index]


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Plot:
    alt: str


@dataclass(frozen=True)
class PatchPair:
    """A bug's first patch, and the reference fix where the results hold it."""

    title: str
    patch: str
    reference: str


Block = Table | Text | Plot | PatchPair


@dataclass(frozen=True)
class Section:
    heading: str
    blocks: list[Block]


@dataclass(frozen=True)
class Document:
    title: str
    sections: list[Section]


_MD_SPECIAL = re.compile(r"([\\`|\[\]*_])")


def md_text(text: str) -> str:
    """Untrusted text in one Markdown line or table cell: no HTML, no link, no column break."""
    text = printable(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text)


def md_table(table: Table) -> str:
    lines = ["| " + " | ".join(md_text(h) for h in table.header) + " |", "|" + "---|" * len(table.header)]
    for index, cells in enumerate(table.rows):
        shown = [md_text(c) for c in cells]
        if table.is_marked(index):
            shown = [f"**{c}**" if c else c for c in shown]
        lines.append("| " + " | ".join(shown) + " |")
    return "\n".join(lines)


def md_code(text: str, language: str = "diff") -> str:
    """A fenced block that no backtick run inside `text` can close."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{printable(text, multiline=True).rstrip(chr(10))}\n{fence}"


def markdown(document: Document, plot_file: str) -> str:
    """The document as Markdown; the plot is the PNG `plot_file`, beside the Markdown file."""
    parts = [f"# {md_text(document.title)}"]
    for section in document.sections:
        parts.append(f"## {md_text(section.heading)}")
        for block in section.blocks:
            if isinstance(block, Table):
                parts.append(md_table(block))
            elif isinstance(block, Text):
                parts.append(md_text(block.text))
            elif isinstance(block, Plot):
                parts.append(f"![{md_text(block.alt)}]({plot_file})")
            else:
                parts += [f"### {md_text(block.title)}", md_code(block.patch)]
                parts += ["Reference fix:", md_code(block.reference)] if block.reference else \
                         ["The results hold no reference fix for this bug."]
    return "\n\n".join(parts) + "\n"
