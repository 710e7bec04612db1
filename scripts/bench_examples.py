"""Repair every bundled Python example and report, per example, the time to the first plausible
patch, the candidates validated, and whether the top patch equals the reference fix.

    python scripts/bench_examples.py [--repeat N] [--json FILE]

Each example runs N times (default 3) against a throw-away SQLite database; the table
quotes medians because this machine is noisy.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

from benchmarks.examples import example_projects, matches_reference
from repairbot.config import load_settings
from repairbot.db.store import JobStore
from repairbot.pipeline import repair



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        store = JobStore(f"sqlite:///{tmp}/bench.db")
        for example in example_projects("python"):
            # No outcome cache: a repeat would reuse the first run's verdicts and time nothing.
            settings = load_settings(example, outcome_cache=False)
            results = [repair(example, settings, store) for _ in range(args.repeat)]
            first = results[0]
            top = first.patches[0].candidate if first.patches else None
            rows.append({
                "example": example.name,
                "plausible": bool(top),
                "top_matches_reference": bool(top) and all(matches_reference(example, edit.patched, edit.file) for edit in top.edits),
                "candidates_tried": first.candidates_tried,
                "median_time_to_first_plausible_s": statistics.median(
                    r.time_to_first_plausible_s for r in results if r.time_to_first_plausible_s is not None
                ) if top else None,
                "median_total_s": statistics.median(r.timings["total"] for r in results),
            })
            print(json.dumps(rows[-1]), file=sys.stderr)
    header = "| example | plausible | top = reference | candidates tried | time to first plausible (median s) | total (median s) |"
    print(header)
    print("|" + "---|" * 6)
    for r in rows:
        ttfp = f"{r['median_time_to_first_plausible_s']:.2f}" if r["plausible"] else "-"
        print(f"| {r['example']} | {r['plausible']} | {r['top_matches_reference']} | {r['candidates_tried']} "
              f"| {ttfp} | {r['median_total_s']:.2f} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
