"""Speed of the default model on this machine, and what the infill generator repairs alone.

    python scripts/bench_generation.py [--samples N] [--json FILE]

Part 1 fills the buggy line of each example (the line `expected.patch` removes) and quotes
medians over the examples: prompt tokens/s (a cold prompt), generation tokens/s, and the
time per candidate (prompt plus N completions, divided by N). Part 2 repairs every example
with `generators=["infill"]` (localization included, default budgets) and reports whether a
plausible patch came out, whether it is the reference fix, and the time to the first one.
Run it on a quiet machine: generation on a core shared with a test run is 2-5x slower.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from llama_cpp import Llama

from benchmarks.bugs import matches_fix
from benchmarks.examples import example_bug, example_projects
from repairbot.config import load_settings
from repairbot.db.store import JobStore
from repairbot.generate.infill import make_hole
from repairbot.models import DEFAULT_MODEL, load, resolve
from repairbot.pipeline import repair

MAX_TOKENS = 64


def buggy_line(example: Path) -> tuple[str, int]:
    """The file and 1-based line that the example's reference fix removes."""
    file, line = "", 0
    for text in (example / "expected.patch").read_text().splitlines():
        if text.startswith("--- a/"):
            file = text.removeprefix("--- a/")
        elif text.startswith("@@"):
            line = int(text.split()[1].split(",")[0].lstrip("-")) - 1
        elif text.startswith((" ", "-")) and not text.startswith("---"):
            line += 1
            if text.startswith("-"):
                return file, line
    raise ValueError(f"{example}: expected.patch removes no line")


def speed(samples: int) -> list[dict]:
    settings = load_settings()
    source = resolve(DEFAULT_MODEL, settings.data_dir)
    model = load(source, settings.model_threads)
    vocab = Llama(str(source.path), vocab_only=True, verbose=False)

    def tokens(text: str) -> int:
        return len(vocab.tokenize(text.encode("utf-8"), add_bos=False))

    rows = []
    for example in example_projects("python"):
        file, line = buggy_line(example)
        hole = make_hole((example / file).read_text(), line, line)
        start = time.monotonic()
        model.infill(hole.prefix, hole.suffix, n=1, max_tokens=1)  # reads the whole prompt
        prompt_s = time.monotonic() - start
        start = time.monotonic()
        completions = model.infill(hole.prefix, hole.suffix, n=samples, max_tokens=MAX_TOKENS, stop=hole.stop)
        generate_s = time.monotonic() - start  # the prompt is cached: generation only
        generated = sum(tokens(c.text) + 1 for c in completions)  # +1: the token that ended it
        rows.append({
            "example": example.name,
            "prompt_tokens": tokens(hole.prefix) + tokens(hole.suffix) + 3,
            "prompt_tokens_per_s": (tokens(hole.prefix) + tokens(hole.suffix) + 3) / prompt_s,
            "generated_tokens_per_s": generated / generate_s,
            "time_per_candidate_s": (prompt_s + generate_s) / len(completions),
            "greedy": completions[0].text,
            "original": hole.middle,
        })
        print(json.dumps(rows[-1]), file=sys.stderr)
    return rows



def repairs(samples: int) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        store = JobStore(f"sqlite:///{tmp}/bench.db")
        for example in example_projects("python"):
            settings = load_settings(example, generators=["infill"], infill_samples=samples)
            result = repair(example, settings, store)
            top = result.patches[0].candidate if result.patches else None
            rows.append({
                "example": example.name,
                "plausible": top is not None,
                "top_matches_reference": top is not None and matches_fix(
                    example_bug(example, Path(tmp)), {edit.file: edit.patched for edit in top.edits}
                ),
                "candidates_tried": result.candidates_tried,
                "time_to_first_plausible_s": result.time_to_first_plausible_s,
                "generate_s": result.timings.get("generate", 0.0),
                "total_s": result.timings["total"],
                "top": top.description if top else None,
            })
            print(json.dumps(rows[-1]), file=sys.stderr)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=load_settings().infill_samples)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    speeds = speed(args.samples)
    print(f"{DEFAULT_MODEL}, {args.samples} completions per hole, medians over {len(speeds)} examples:")
    for key in ("prompt_tokens", "prompt_tokens_per_s", "generated_tokens_per_s", "time_per_candidate_s"):
        print(f"- {key}: {statistics.median(r[key] for r in speeds):.2f}")
    rows = repairs(args.samples)
    print("\n| example | plausible | top = reference | candidates tried | time to first plausible (s) | generate (s) | total (s) |")
    print("|" + "---|" * 7)
    for r in rows:
        ttfp = f"{r['time_to_first_plausible_s']:.1f}" if r["plausible"] else "-"
        print(f"| {r['example']} | {r['plausible']} | {r['top_matches_reference']} | {r['candidates_tried']} "
              f"| {ttfp} | {r['generate_s']:.1f} | {r['total_s']:.1f} |")
    if args.json:
        args.json.write_text(json.dumps({"speed": speeds, "repairs": rows}, indent=2))


if __name__ == "__main__":
    main()
