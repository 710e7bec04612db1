"""A benchmark report (`benchmarks.report_doc.Document`) as one self-contained HTML page:
the CSS inline, the plot a base64 PNG in a data: URI, nothing fetched from anywhere, so the
file can be mailed or archived with a paper's artefacts and opened offline.

Every text of the document passes through `html.escape` (quotes included): bug names,
error messages and patches come from the benchmark and must stay text.
"""

from __future__ import annotations

import base64
from html import escape

from benchmarks.report_doc import Document, PatchPair, Plot, Table, Text
from repairbot.text import printable

CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
tr.changed td { background: #fff0c0; font-weight: bold; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 1em; }
pre { background: #f7f7f7; padding: 0.5em; overflow-x: auto; font-size: 0.85em; }
img { max-width: 100%; }
"""


def _text(text: str) -> str:
    return escape(printable(text))


def _table(table: Table) -> str:
    head = "".join(f"<th>{_text(h)}</th>" for h in table.header)
    rows = []
    for index, cells in enumerate(table.rows):
        css = ' class="changed"' if table.is_marked(index) else ""
        rows.append(f"<tr{css}>" + "".join(f"<td>{_text(c)}</td>" for c in cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _code(text: str) -> str:
    return f"<pre>{escape(printable(text, multiline=True))}</pre>"


def _pair(pair: PatchPair) -> str:
    reference = _code(pair.reference) if pair.reference else "<p>The results hold no reference fix for this bug.</p>"
    return (f"<h3>{_text(pair.title)}</h3><div class=\"pair\"><div><h4>First patch</h4>{_code(pair.patch)}</div>"
            f"<div><h4>Reference fix</h4>{reference}</div></div>")


def html_page(document: Document, png: bytes) -> str:
    """The page; `png` is the plot's image."""
    body = []
    for section in document.sections:
        body.append(f"<h2>{_text(section.heading)}</h2>")
        for block in section.blocks:
            if isinstance(block, Table):
                body.append(_table(block))
            elif isinstance(block, Text):
                body.append(f"<p>{_text(block.text)}</p>")
            elif isinstance(block, Plot):
                data = base64.b64encode(png).decode("ascii")
                body.append(f'<img alt="{_text(block.alt)}" src="data:image/png;base64,{data}">')
            else:
                body.append(_pair(block))
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{_text(document.title)}</title><style>{CSS}</style></head>\n"
        f"<body><h1>{_text(document.title)}</h1>\n" + "\n".join(body) + "\n</body></html>\n"
    )
