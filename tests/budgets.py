"""Budgets for tests that check what a job finds, not how fast it finds it.

A wall-clock budget the test does not control must not decide its outcome: on a loaded
machine (CI runs beside other work) the same job takes several times as long. What ends
such a job is a count: its first plausible patch (max_plausible = 1), its candidates
(max_candidates), a model's samples. The seconds here are given only because a budget must
be; no machine, however busy, reaches them, and a quiet one never waits for them.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

NEVER_S = 3600.0

# A job's wall clock and each model generator's own (the model's deadline cuts even the
# greedy completion short: a test needing the model's fix must not race it).
UNHURRIED = {
    "time_budget_s": NEVER_S, "infill_time_limit_s": NEVER_S, "masked_time_limit_s": NEVER_S,
    "function_time_limit_s": NEVER_S,
}
UNHURRIED_ENV = {f"REPAIRBOT_{name.upper()}": f"{value:g}" for name, value in UNHURRIED.items()}

# pytest-timeout's hang guard for a test that runs such a job: past the job's budget, with
# room for the setup and checks around it (the suite's default guard is far shorter).
long_job = pytest.mark.timeout(NEVER_S + 600)


@dataclass
class ModelClock:
    """Stands for `time` in the generator under test: only the fake model moves it, so a
    time limit counts the model's seconds, never the machine's (no race on a loaded one)."""

    now: float = 1000.0

    def monotonic(self) -> float:
        return self.now
