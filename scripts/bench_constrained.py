"""Constrained (completion engine) vs unconstrained decoding of the default model, on the
same holes with the same budget.

    python scripts/bench_constrained.py [--language java] [--quixbugs PATH [--bugs a,b,...]]
        [--samples 8 | --seconds-per-hole S] [--json FILE]

For every bug (the repo's examples in the language; with --quixbugs, QuixBugs' programs) the
faulty lines of the reference fix become one hole each (perfect fault localization, so both
modes work on the same holes). Each mode asks the model for N completions per hole (greedy
plus samples, fixed seed); or, with --seconds-per-hole, as many as it decodes in that time
(the same budget for both modes: more completions from a mode that spends fewer tokens on
each, fewer new programs from one whose samples repeat). Reported per mode, summed over bugs:
- completions, and the share that finish and make the file parse;
- unique candidates: parsing programs that differ from the buggy one and from each other;
- plausible: unique candidates that pass the bug's whole test suite (validated in the
  sandbox), and bugs with at least one;
- decoding time (the prompt is read once before both modes, so neither pays it), time per
  unique candidate, and the engine's refused and forced tokens.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from benchmarks.bugs import Bug
from benchmarks.examples import example_bugs
from benchmarks.prepared import prepared
from benchmarks.quixbugs import java_bugs, python_bugs
from repairbot.config import load_settings
from repairbot.domain import Candidate, Verdict
from repairbot.generate.infill import completion_guide, make_hole
from repairbot.generate.sources import load_source
from repairbot.models import DEFAULT_MODEL, load, resolve

MODES = ("unconstrained", "constrained")
UNLIMITED = 10_000  # completions per hole when time is the budget


@dataclass
class Tally:
    bugs: int = 0
    completions: int = 0
    parsing: int = 0
    unique: int = 0
    plausible: int = 0
    bugs_plausible: int = 0
    decode_s: float = 0.0
    pruned_tokens: int = 0
    forced_tokens: int = 0
    per_bug: dict[str, dict[str, float]] = field(default_factory=dict)


def run_bug(
    bug: Bug, model, samples: int, max_tokens: int, tallies: dict[str, Tally], seconds_per_hole: float | None,
) -> None:
    with prepared(bug) as ready:
        holes = []
        for location in ready.locations:
            source = load_source(ready.root, location.file, "bench")
            assert source is not None, f"{location.file} does not parse"
            hole = make_hole(source.text, location.start_line, location.end_line)
            if hole is not None:
                holes.append((location, source, hole))
                model.infill(hole.prefix, hole.suffix, n=1, max_tokens=1)  # read the prompt once
        for mode in MODES:
            tally = tallies[mode]
            seen: set[str] = set()
            candidates: list[Candidate] = []
            row = {"completions": 0, "parsing": 0, "unique": 0, "plausible": 0, "decode_s": 0.0}
            for location, source, hole in holes:
                guide = completion_guide(source, hole, ready.root) if mode == "constrained" else None
                start = time.monotonic()
                deadline = None if seconds_per_hole is None else start + seconds_per_hole
                completions = model.infill(
                    hole.prefix, hole.suffix, n=samples, max_tokens=max_tokens, stop=hole.stop, guide=guide,
                    deadline=deadline,
                )
                row["decode_s"] += time.monotonic() - start
                for completion in completions:
                    row["completions"] += 1
                    tally.pruned_tokens += completion.pruned
                    tally.forced_tokens += completion.forced_tokens
                    patched = hole.fill(completion.text)
                    parsed = None if completion.truncated or not completion.text.strip() else source.language.program(patched)
                    if parsed is None:
                        continue
                    row["parsing"] += 1
                    if parsed != source.program and parsed not in seen:
                        seen.add(parsed)
                        candidates.append(Candidate(location.file, source.text, patched, f"infill:{mode}", completion.text, location))
            row["unique"] = len(candidates)
            results = list(ready.pool.run(candidates, should_stop=lambda: False))
            row["plausible"] = sum(r.verdict is Verdict.PLAUSIBLE for r in results)
            tally.bugs += 1
            tally.completions += row["completions"]
            tally.parsing += row["parsing"]
            tally.unique += row["unique"]
            tally.plausible += row["plausible"]
            tally.bugs_plausible += row["plausible"] > 0
            tally.decode_s += row["decode_s"]
            tally.per_bug[bug.name] = row
            print(json.dumps({"bug": bug.name, "mode": mode, **row}), file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--language", choices=("python", "java"), default="python")
    parser.add_argument("--quixbugs", type=Path, help="a QuixBugs checkout")
    parser.add_argument("--bugs", help="comma-separated QuixBugs programs (default: all)")
    parser.add_argument("--no-examples", action="store_true")
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--seconds-per-hole", type=float, help="decode each hole this long (no limit on completions)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    settings = load_settings()
    model = load(resolve(DEFAULT_MODEL, settings.data_dir), settings.model_threads)
    tallies = {mode: Tally() for mode in MODES}
    with tempfile.TemporaryDirectory(prefix="bench-constrained-") as tmp:
        bugs = [] if args.no_examples else example_bugs(Path(tmp), args.language)
        if args.quixbugs:
            names = set(args.bugs.split(",")) if args.bugs else None
            if args.language == "java":
                bugs += java_bugs(args.quixbugs, Path(tmp), names)
            else:
                bugs += python_bugs(args.quixbugs, Path(tmp), 5.0, names)
        for bug in bugs:
            run_bug(bug, model, args.samples if args.seconds_per_hole is None else UNLIMITED, args.max_tokens, tallies,
                    args.seconds_per_hole)
    budget = f"{args.samples} completions" if args.seconds_per_hole is None else f"{args.seconds_per_hole:g} s of decoding"
    print(f"{DEFAULT_MODEL}, {budget} per hole, {tallies['constrained'].bugs} bugs, given locations:\n")
    print("| decoding | completions | finish and parse | unique candidates | plausible (bugs) | decoding s | s per unique candidate | refused / forced tokens |")
    print("|---|---|---|---|---|---|---|---|")
    for mode, t in tallies.items():
        share = t.parsing / t.completions if t.completions else 0.0
        per = t.decode_s / t.unique if t.unique else float("nan")
        print(f"| {mode} | {t.completions} | {t.parsing} ({share:.0%}) | {t.unique} | {t.plausible} ({t.bugs_plausible}) "
              f"| {t.decode_s:.1f} | {per:.2f} | {t.pruned_tokens} / {t.forced_tokens} |")
    if args.json:
        args.json.write_text(json.dumps({mode: asdict(t) for mode, t in tallies.items()}, indent=2))


if __name__ == "__main__":
    main()
