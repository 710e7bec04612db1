"""pytest plugin: per-test line coverage as coverage.py dynamic contexts.

Loaded with `-p validators.pytest_coverage --repairbot-coverage=FILE`. Every line executed
while a test runs (setup, call and teardown) is recorded under the test's node id, which is
exactly the spectrum fault localization needs. Coverage starts at configure time so module
code imported during collection is measured too (under the empty context).
"""

from __future__ import annotations

import coverage
import pytest

_COVERAGE = pytest.StashKey[coverage.Coverage]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--repairbot-coverage", default=None, help="coverage data file to write")


def pytest_configure(config: pytest.Config) -> None:
    data_file = config.getoption("--repairbot-coverage")
    if not data_file:
        return
    cov = coverage.Coverage(data_file=data_file, source=[str(config.rootpath)], config_file=False)
    cov.start()
    config.stash[_COVERAGE] = cov


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    cov = item.config.stash.get(_COVERAGE, None)
    if cov is not None:
        cov.switch_context(item.nodeid)
    yield
    if cov is not None:
        cov.switch_context("")


def pytest_unconfigure(config: pytest.Config) -> None:
    cov = config.stash.get(_COVERAGE, None)
    if cov is not None:
        cov.stop()
        cov.save()

