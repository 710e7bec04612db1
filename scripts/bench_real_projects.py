"""Repair bugs injected into real PyPI libraries (benchmarks/real_bugs.toml) with default
settings, as a user would: `repairbot repair PROJECT --json` on a git checkout of the
library's sdist with the bug committed on top.

    python scripts/bench_real_projects.py --out DIR [--repairbot-src SRC] [--bug ID ...]

Per bug: exit code, plausible (a patch came out), correct (the top patch gives the
library's own code back, as a Python program), wall time, time to the first plausible
patch, candidates per generator and the stage timings, so a reader sees where the time
went. `--repairbot-src` runs another checkout of repairbot (e.g. `git worktree add
/work/rb-before REV`), for before/after tables; each version gets its own SQLite database
in DIR. Install that checkout for the run (`pip install -e /work/rb-before --no-deps`, then
reinstall this one): the sandboxed test runs import repairbot's coverage plugin through the
installed package, and the sandbox shows only the checkout being run (keep it out of /tmp,
which the sandbox replaces). Sdists are downloaded once into
DIR/sdists with pip (the user's configured index); nothing of them is committed.
Run it alone on the machine: every job has a wall-clock budget.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import subprocess
import sys
import tarfile
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

BUGS = Path(__file__).resolve().parent.parent / "benchmarks" / "real_bugs.toml"


@dataclass(frozen=True)
class InjectedBug:
    id: str
    sdist: str
    file: str
    kind: str
    find: str
    replace: str


def load_bugs(path: Path = BUGS) -> list[InjectedBug]:
    return [InjectedBug(**entry) for entry in tomllib.loads(path.read_text())["bug"]]


def sdist_archive(requirement: str, cache: Path) -> Path:
    name, version = requirement.split("==")
    stem = f"{name.replace('-', '_').lower()}-{version}"
    found = [p for p in cache.glob("*.tar.gz") if p.name.lower().replace("-", "_").startswith(stem.replace("-", "_"))]
    if not found:
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:", requirement,
             "-d", str(cache)],
            check=True,
        )
        return sdist_archive(requirement, cache)
    return found[0]


def buggy_checkout(bug: InjectedBug, archive: Path, into: Path) -> str:
    """A git repository of the sdist with the bug committed on top; returns the original file."""
    with tarfile.open(archive) as tar:
        top = tar.getnames()[0].split("/")[0]
        tar.extractall(into, filter="data")
    project = into / top
    project.rename(into / "project")
    project = into / "project"
    git = ["git", "-C", str(project), "-c", "user.name=bench", "-c", "user.email=bench@localhost"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "sdist"], check=True)
    source = project / bug.file
    original = source.read_text()
    if original.count(bug.find) != 1:
        raise SystemExit(f"{bug.id}: the text to replace occurs {original.count(bug.find)} times in {bug.file}")
    source.write_text(original.replace(bug.find, bug.replace))
    subprocess.run([*git, "commit", "-q", "-am", f"inject {bug.id}"], check=True)
    return original


def same_program(a: str, b: str) -> bool:
    try:
        return ast.dump(ast.parse(a)) == ast.dump(ast.parse(b))
    except SyntaxError:
        return False


def top_patch_is_correct(project: Path, report: dict, bug: InjectedBug, original: str) -> bool:
    if not report.get("patches"):
        return False
    diff = report["patches"][0]["diff"]
    applied = subprocess.run(["git", "-C", str(project), "apply", "-"], input=diff, text=True, capture_output=True, check=False)
    try:
        return applied.returncode == 0 and same_program((project / bug.file).read_text(), original)
    finally:
        subprocess.run(["git", "-C", str(project), "checkout", "-q", "--", "."], check=True)


def run_bug(bug: InjectedBug, out: Path, src: Path | None, label: str) -> dict:
    work = out / label / bug.id
    if work.exists():
        subprocess.run(["rm", "-rf", str(work)], check=True)
    work.mkdir(parents=True)
    original = buggy_checkout(bug, sdist_archive(bug.sdist, out / "sdists"), work)
    project = work / "project"
    env = dict(os.environ, REPAIRBOT_DATABASE_URL=f"sqlite:///{out / label}/jobs.db")
    if src is not None:
        env["PYTHONPATH"] = str(src)
    report_file = work / "report.json"
    start = time.monotonic()
    with (work / "stderr.log").open("w") as log:
        done = subprocess.run(
            [sys.executable, "-m", "repairbot", "repair", str(project), "--json", str(report_file)],
            cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=log, check=False,
        )
    wall = time.monotonic() - start
    report = json.loads(report_file.read_text()) if report_file.exists() else {}
    row = {
        "bug": bug.id,
        "kind": bug.kind,
        "version": label,
        "exit": done.returncode,
        "plausible": bool(report.get("patches")),
        "correct": top_patch_is_correct(project, report, bug, original),
        "wall_s": round(wall, 1),
        "first_plausible_s": report.get("time_to_first_plausible_s"),
        "failing_tests": len(report.get("failing_tests", [])),
        "ignored_tests": len(report.get("ignored_tests", {})),
        "candidates_tried": report.get("candidates_tried"),
        "by_generator": report.get("candidates_by_generator") or _by_generator(report),
        "timings_s": report.get("timings_s", {}),
        "last_stderr": (work / "stderr.log").read_text().strip().splitlines()[-1:],
    }
    with (out / label / "results.jsonl").open("a") as results:
        results.write(json.dumps(row) + "\n")
    return row


def _by_generator(report: dict) -> dict[str, int]:
    """Older reports name only the plausible patches' generators."""
    counts: dict[str, int] = {}
    for patch in report.get("patches", []):
        name = patch["generator"].split(":")[0]
        counts[name] = counts.get(name, 0) + 1
    return counts


def table(rows: list[dict]) -> str:
    lines = [
        "| bug | version | plausible | correct | wall s | first plausible s | failing | tried | by generator | reproduce / localize / generate / validate s |",
        "|" + "---|" * 10,
    ]
    for r in rows:
        t = r["timings_s"]
        stages = " / ".join(f"{t.get(s, 0):.0f}" for s in ("reproduce", "localize", "generate", "validate"))
        first = f"{r['first_plausible_s']:.0f}" if r["first_plausible_s"] is not None else "-"
        gens = ", ".join(f"{k} {v}" for k, v in r["by_generator"].items()) or "-"
        lines.append(
            f"| {r['bug']} | {r['version']} | {r['plausible']} | {r['correct']} | {r['wall_s']:.0f} | {first} "
            f"| {r['failing_tests']} | {r['candidates_tried']} | {gens} | {stages} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--repairbot-src", type=Path, help="another repairbot checkout to run instead of this one")
    parser.add_argument("--label", help="name of this version in the table (default: after, or before with --repairbot-src)")
    parser.add_argument("--bug", action="append", help="only these bug ids")
    args = parser.parse_args()
    label = args.label or ("before" if args.repairbot_src else "after")
    bugs = [b for b in load_bugs() if not args.bug or b.id in args.bug]
    rows = []
    for bug in bugs:
        rows.append(run_bug(bug, args.out.resolve(), args.repairbot_src, label))
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    print(table(rows))


if __name__ == "__main__":
    main()
