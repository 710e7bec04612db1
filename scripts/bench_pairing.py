"""Multi-hunk repair: candidates and seconds to the first plausible patch on the two-edit
examples, pairing partial fixes early (after each chunk of validations, as the pipeline
does) or only after the whole generator batch (as it did before).

    python scripts/bench_pairing.py [--repeat N] [--generators templates]

Candidates validated is the figure to compare across machines; seconds depend on the load.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile

from benchmarks.examples import EXAMPLES_DIR
from repairbot import pipeline
from repairbot.config import load_settings
from repairbot.db.store import JobStore

TWO_EDIT_EXAMPLES = ("grade_report", "trip_fares")
# A chunk no batch fills: pairs are looked for only once the whole batch is validated.
AFTER_BATCH = 10**9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--generators", default="templates")
    args = parser.parse_args()
    early = pipeline.PAIRING_CHUNK_PER_WORKER
    print("| example | pairing | candidates (median) | pairs | s to first plausible (median) |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        store = JobStore(f"sqlite:///{tmp}/bench.db")
        for name in TWO_EDIT_EXAMPLES:
            example = EXAMPLES_DIR / name
            for label, chunk in (("after the batch", AFTER_BATCH), ("early", early)):
                pipeline.PAIRING_CHUNK_PER_WORKER = chunk
                settings = load_settings(
                    example, outcome_cache=False, generators=args.generators.split(","), time_budget_s=3600.0
                )
                results = [pipeline.repair(example, settings, store) for _ in range(args.repeat)]
                tried = statistics.median(r.candidates_tried for r in results)
                pairs = statistics.median(
                    sum(v.candidate.generator.startswith("combine:") for v in r.validations) for r in results
                )
                seconds = [r.time_to_first_plausible_s for r in results if r.time_to_first_plausible_s is not None]
                first = f"{statistics.median(seconds):.1f}" if seconds else "none"
                print(f"| {name} | {label} | {tried:g} | {pairs:g} | {first} |", flush=True)


if __name__ == "__main__":
    main()
