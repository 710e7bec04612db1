"""The pull request's body and the check run's text, in GitHub's Markdown.

Everything from the repository (diff, test ids, file names, messages) is untrusted: it goes
into code spans and fenced blocks whose fences are longer than any backtick run inside, so
it cannot close them, render as Markdown, mention anyone or hide a link."""

from __future__ import annotations

import re

from repairbot.db.store import JobDetail
from repairbot.github.store import BotJob
from repairbot.text import printable

MAX_DIFF_CHARS = 30000


def _fence(text: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def code(text: str) -> str:
    """An inline code span holding `text` (one line)."""
    text = printable(text)
    ticks = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""  # GitHub strips one space each side
    return f"{ticks}{pad}{text}{pad}{ticks}"


def block(text: str, language: str = "") -> str:
    text = printable(text[:MAX_DIFF_CHARS], multiline=True)
    fence = _fence(text)
    return f"{fence}{language}\n{text.rstrip(chr(10))}\n{fence}"


def fix_body(job: BotJob, detail: JobDetail, details_url: str | None) -> str:
    """What the pull request (or the check run's text) shows: the diff, the tests that failed
    and now pass, the suspicious lines with their scores, the generator, the validation."""
    patch = detail.patches[0]
    lines = [
        f"repairbot found a fix for the tests failing on `{printable(job.branch)}` at {job.head_sha[:7]}.",
        "", "### Patch", "", block(patch.diff, "diff"), "",
        f"Made by the {code(patch.generator)} generator: {code(patch.description)}.", "",
        f"### Tests that failed and now pass ({len(detail.failures)})", "",
        *[f"- {code(test_id)}" for test_id, _ in detail.failures], "",
        "### Suspicious lines", "", "| location | score | formula |", "|---|---|---|",
        *[f"| {code(f'{loc.file}:{loc.start_line}' + (f'-{loc.end_line}' if loc.end_line != loc.start_line else ''))} "
          f"| {loc.score:.3f} | {loc.formula} |" for loc in detail.locations[:10]],
        "", "### How it was validated", "",
        f"The patched project's whole test suite ran in the sandbox ({code(detail.summary.sandbox or 'none')}) with "
        f"{code(' '.join(detail.test_command) or 'the detected runner')}: every failing test passes and no other test "
        f"fails (verdict {code(patch.verdict)}), after {detail.summary.candidates_tried} candidate(s).",
    ]
    if detail.baseline_failures:
        lines += ["", "Ignored (failing before, unrelated): " + ", ".join(code(t) for t, _ in detail.baseline_failures)]
    if details_url:
        lines += ["", f"[The job's page]({details_url})"]
    return "\n".join(lines) + "\n"


def no_fix_text(detail: JobDetail) -> str:
    s = detail.summary
    if s.status == "no_patch":
        return (f"No plausible patch among {s.candidates_tried} candidate(s) for {len(detail.failures)} failing "
                "test(s).")
    return f"The repair job ended {s.status}: {printable(s.error or 'no reason recorded')}"
