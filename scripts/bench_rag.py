"""Retrieval-augmented generation on and off: the same holes, the same model and samples,
with and without retrieved context in the prompt (and its support in the ranking).

    python scripts/bench_rag.py --index DIR [--quixbugs PATH [--bugs a,b]] [--language python|java]
                                [--samples 4] [--json FILE]

`DIR` is a fix index (`repairbot index mine REPO --index-dir DIR`, `repairbot index build`).
For every bug (the repo's examples; with --quixbugs, QuixBugs' programs) the reference
fix's faulty lines become holes (perfect localization, so every mode works on the same
holes), and the default model fills each hole with N completions under the completion
engine, through the pipeline's own infill generator. Modes:
- none: the plain fill-in-the-middle prompt;
- fixes: the top 2 past fixes from the index as comments above the hole (RAP-Gen), and
  candidates that make a retrieved fix's edit ranked higher;
- fixes+lines: also the 3 lines of the file most like the suspicious one (MultiMend).
Every unique candidate is validated in the sandbox. Reported per mode: unique candidates,
plausible ones and bugs with one, bugs whose best-ranked candidate is plausible, and the
model's time.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from benchmarks.bugs import Bug
from benchmarks.prepared import prepared
from benchmarks.examples import example_bugs
from benchmarks.quixbugs import java_bugs, python_bugs
from repairbot.config import load_settings
from repairbot.domain import Verdict
from repairbot.generate.infill import InfillBudget, InfillGenerator
from repairbot.models import DEFAULT_MODEL, load, resolve
from repairbot.rank import order_for_validation
from retrieval.memory import open_index
from retrieval.retrieve import RetrievalContext, retrieve

MODES = {"none": (0, 0), "fixes": (2, 0), "fixes+lines": (2, 3)}  # mode -> (past fixes, similar lines)


@dataclass
class Tally:
    bugs: int = 0
    unique: int = 0
    plausible: int = 0
    bugs_plausible: int = 0
    top_plausible: int = 0
    model_s: float = 0.0


def run_bug(bug: Bug, model, index, samples: int, tallies: dict[str, Tally]) -> None:
    with prepared(bug) as ready:
        locations = ready.locations
        contexts = retrieve(ready.root, locations, index, k=max(k for k, _ in MODES.values()),
                            similar_lines=max(n for _, n in MODES.values()))
        for mode, (k, n) in MODES.items():
            retrieved = {
                location: RetrievalContext(context.fixes[:k], context.similar_lines[:n])
                for location, context in contexts.items()
            }
            generator = InfillGenerator(model, InfillBudget(samples=samples, time_limit_s=600), retrieved)
            candidates = order_for_validation(generator.generate(ready.root, locations, 1000))
            verdicts = {r.candidate: r.verdict for r in ready.pool.run(candidates, should_stop=lambda: False)}
            plausible = sum(v is Verdict.PLAUSIBLE for v in verdicts.values())
            tally = tallies[mode]
            tally.bugs += 1
            tally.unique += len(candidates)
            tally.plausible += plausible
            tally.bugs_plausible += plausible > 0
            tally.top_plausible += bool(candidates) and verdicts[candidates[0]] is Verdict.PLAUSIBLE
            tally.model_s += generator.stats.model_s
            row = {"bug": bug.name, "mode": mode, "unique": len(candidates), "plausible": plausible,
                   "model_s": round(generator.stats.model_s, 1)}
            print(json.dumps(row), file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True, help="a fix index directory")
    parser.add_argument("--quixbugs", type=Path, help="a QuixBugs checkout")
    parser.add_argument("--bugs", help="comma-separated QuixBugs programs (default: all)")
    parser.add_argument("--language", choices=("python", "java"), default="python")
    parser.add_argument("--no-examples", action="store_true")
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    settings = load_settings()
    model = load(resolve(DEFAULT_MODEL, settings.data_dir), settings.model_threads)
    index = open_index(args.index)
    tallies = {mode: Tally() for mode in MODES}
    with tempfile.TemporaryDirectory(prefix="bench-rag-") as tmp:
        bugs = [] if args.no_examples else example_bugs(Path(tmp), args.language)
        if args.quixbugs:
            names = set(args.bugs.split(",")) if args.bugs else None
            if args.language == "python":
                bugs += python_bugs(args.quixbugs, Path(tmp), 5.0, names)
            else:
                bugs += java_bugs(args.quixbugs, Path(tmp), names)
        for bug in bugs:
            run_bug(bug, model, index, args.samples, tallies)
    print(f"{DEFAULT_MODEL}, {args.samples} completions per hole, {len(bugs)} {args.language} bugs, given locations, "
          f"index {args.index} ({len(index)} pairs):\n")
    print("| prompt | unique candidates | plausible (bugs) | top-ranked plausible | model s |")
    print("|---|---|---|---|---|")
    for mode, t in tallies.items():
        print(f"| {mode} | {t.unique} | {t.plausible} ({t.bugs_plausible}) | {t.top_plausible} | {t.model_s:.1f} |")
    if args.json:
        args.json.write_text(json.dumps({mode: asdict(t) for mode, t in tallies.items()}, indent=2))


if __name__ == "__main__":
    main()
