"""pytest plugin: a test that hangs fails, and the run ends there.

Loaded with `-p validators.pytest_hang --repairbot-test-cpu-s=S` in candidate validation
runs and in the baseline's flakiness rerun (`repairbot.reproduce`). A candidate that makes one test hang is rejected whatever the other tests do, and a
mutant that loops forever in one test usually loops in the next ones too: without this each
of them would cost its limit, and a suite with no per-test limit the whole run's timeout
(five times the baseline suite's time).

The limit is CPU time (`ITIMER_VIRTUAL`, SIGVTALRM), not wall-clock time: a mutant's hang is a
loop that burns CPU, a busy machine slows a test down without making it use more CPU, and
SIGALRM stays the project's own (pytest-timeout's signal method uses it). A test that hangs
without using CPU (waiting on a lock) is left to the run's timeout. The failure raised is
pytest's own `Failed`, a BaseException, so the test's `except Exception:` cannot swallow it.
A test that pytest-timeout failed ("Timeout >Ns", the project's own limit) ends the run too.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

_LIMIT = pytest.StashKey[float]()
_HUNG = pytest.StashKey[bool]()
# pytest-timeout's failure messages: "Timeout >5.0s", "Timeout (>5.0s) from pytest-timeout."
PYTEST_TIMEOUT_MARKS = ("Timeout >", "Timeout (>")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--repairbot-test-cpu-s", type=float, default=0.0,
                     help="CPU seconds a test may use before it fails as hung and the run stops (0: no limit)")


def pytest_configure(config: pytest.Config) -> None:
    limit = config.getoption("--repairbot-test-cpu-s")
    if limit and hasattr(signal, "SIGVTALRM"):
        config.stash[_LIMIT] = limit
        signal.signal(signal.SIGVTALRM, _hung)


def _hung(signum: int, frame: object) -> None:
    raise pytest.fail.Exception("repairbot: the test used its CPU limit and was stopped as hung", pytrace=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    limit = item.config.stash.get(_LIMIT, 0.0)
    if limit:
        signal.setitimer(signal.ITIMER_VIRTUAL, limit)
    try:
        yield
    finally:
        if limit:
            item.stash[_HUNG] = signal.setitimer(signal.ITIMER_VIRTUAL, 0)[0] == 0.0


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    text = report.longreprtext
    if item.stash.get(_HUNG, False) or any(mark in text for mark in PYTEST_TIMEOUT_MARKS):
        item.session.shouldstop = f"repairbot: {item.nodeid} hung; the tests after it were not run"
