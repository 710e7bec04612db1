"""Startup overhead of the sandbox: wall time of `python -c pass` run plainly and through
each sandbox mode available here.

    python scripts/bench_sandbox.py [--runs N]

The modes take turns run by run, so load from other processes on this (shared, 2-core)
machine hits them alike; the table quotes the median and p90 and the median's overhead
over the plain run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from validators.sandbox import Sandbox, SandboxLimits, SandboxUnavailable, detect_sandbox

COMMAND = [sys.executable, "-c", "pass"]


def plain(workdir: Path) -> None:
    subprocess.run(COMMAND, cwd=workdir, stdin=subprocess.DEVNULL, check=True)


def sandboxed(sandbox: Sandbox) -> Callable[[Path], None]:
    def run(workdir: Path) -> None:
        result = sandbox.run(COMMAND, workdir, SandboxLimits(timeout_s=30), {})
        if result.exit_code != 0:
            raise RuntimeError(f"{sandbox.mode} run failed: {result.output}")

    return run


Runners = dict[str, tuple[Callable[[Path], None], Sandbox | None]]


def runners() -> Runners:
    found: Runners = {"none (subprocess)": (plain, None)}
    rlimits = detect_sandbox("none")
    found["rlimits"] = (sandboxed(rlimits), rlimits)
    try:
        bwrap = detect_sandbox("bwrap")
    except SandboxUnavailable as exc:
        print(f"bwrap: not available ({exc})\n")
    else:
        found["bwrap"] = (sandboxed(bwrap), bwrap)
    return found


def measure(runs: int, workdir: Path) -> dict[str, list[float]]:
    """One warm-up round, then `runs` rounds of every runner in turn."""
    table = runners()
    for run, sandbox in table.values():
        if sandbox is not None:
            sandbox.prepare_workdir(workdir)
        run(workdir)
    times: dict[str, list[float]] = {name: [] for name in table}
    for _ in range(runs):
        for name, (run, _) in table.items():
            start = time.perf_counter()
            run(workdir)
            times[name].append(time.perf_counter() - start)
    for name, (_, sandbox) in table.items():
        if sandbox is not None:
            print(f"{name}: {sandbox.description}")
    return times


def p90(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=10)[8]


def report(times: dict[str, list[float]]) -> str:
    baseline = statistics.median(times["none (subprocess)"])
    lines = [
        "| mode | median (ms) | p90 (ms) | overhead vs none, median (ms) |",
        "|---|---:|---:|---:|",
    ]
    for name, samples in times.items():
        median = statistics.median(samples)
        lines.append(
            f"| {name} | {median * 1e3:.1f} | {p90(samples) * 1e3:.1f} | "
            f"{(median - baseline) * 1e3:+.1f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=50, help="runs per mode (default 50)")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="repairbot-bench-"))
    try:
        base.chmod(0o711)  # the sandbox uid must reach work/ inside
        workdir = base / "work"
        workdir.mkdir()
        load_before = os.getloadavg()[0]
        times = measure(args.runs, workdir)
        load_after = os.getloadavg()[0]
    finally:
        shutil.rmtree(base)
    print(f"\n`{' '.join(COMMAND)}`, {args.runs} runs per mode, "
          f"load average {load_before:.1f} -> {load_after:.1f} on {os.cpu_count()} cores\n")
    print(report(times))


if __name__ == "__main__":
    main()
