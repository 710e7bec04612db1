"""The report's plot: how many bugs had a plausible patch by each time, one line per run and
mode (the cumulative count of bugs by time to the first plausible patch), as the APR papers
draw it. matplotlib (the `bench` extra) draws it off-screen with the Agg canvas: no display,
no global pyplot state.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from repairbot.errors import BadInput
from repairbot.text import printable



@dataclass(frozen=True)
class Line:
    label: str
    times: list[float]  # each repaired bug's time to its first plausible patch
    dashed: bool = False  # the run compared with


def check_matplotlib() -> None:
    """A clear error before anything is written, where the extra is not installed."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise BadInput("the report's plot needs matplotlib: pip install 'repairbot[bench]'") from None


def repaired_over_time(lines: list[Line], until_s: float) -> bytes:
    """PNG of one step line per label: bugs repaired (y) within t seconds (x), drawn on to
    `until_s` (the longest job), so that a run whose last repair came early shows its plateau."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 4), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for line in lines:
        ordered = sorted(line.times)
        end = max([until_s, *ordered])
        # A label is text from the results: a `$` would start matplotlib's math mode.
        axes.step([0.0, *ordered, end], [*range(len(ordered) + 1), len(ordered)], where="post",
                  linestyle="--" if line.dashed else "-", label=printable(line.label).replace("$", r"\$"))
    if not any(line.times for line in lines):
        axes.text(0.5, 0.5, "no bug has a plausible patch", ha="center", va="center", transform=axes.transAxes)
    axes.set_xlabel("time to the first plausible patch (s)")
    axes.set_ylabel("bugs with a plausible patch")
    axes.set_xlim(left=0)
    axes.set_ylim(bottom=0)
    axes.yaxis.get_major_locator().set_params(integer=True)
    if lines:
        axes.legend(loc="upper left")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
