"""The persistence layer against real SQLite files and a real PostgreSQL server: migrations,
the models' agreement with them, and JobStore round trips."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.orm import Session

from repairbot.db import JobStatus, JobStore, JobSummary, StoredPatch, downgrade, make_engine, upgrade
from repairbot.db.models import Base, TestRunRow, ValidationRun
from repairbot.domain import (
    Candidate,
    Reproduction,
    StoredOutcome,
    SuspiciousLocation,
    TestOutcome,
    TestRun,
    TestStatus,
    ValidationResult,
    Verdict,
)

TABLES = {
    "repositories",
    "repair_jobs",
    "failures",
    "suspicious_locations",
    "candidates",
    "validation_runs",
    "test_runs",
    "validation_outcomes",
    "job_inputs",
    "github_deliveries",
    "github_jobs",
}

BUGGY = "def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n"
LOCATION = SuspiciousLocation("calc.py", 2, 2, 0.9, "ochiai")


@contextlib.contextmanager
def engine_for(url: str) -> Iterator[Engine]:
    """An engine whose pooled connections are closed at the end: PostgreSQL databases are
    dropped after each test."""
    engine = make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


def tables_and_revision(url: str) -> tuple[set[str], str | None]:
    with engine_for(url) as engine, engine.connect() as connection:
        return set(inspect(connection).get_table_names()), MigrationContext.configure(connection).get_current_revision()


@pytest.fixture
def store(database_url: str) -> Iterator[JobStore]:
    store = JobStore(database_url)
    yield store
    store.close()


def candidate(new_line: str, description: str, prior: float) -> Candidate:
    return Candidate(
        file="calc.py",
        original=BUGGY,
        patched=BUGGY.replace("    return a - b\n", new_line),
        generator="template",
        description=description,
        location=LOCATION,
        prior=prior,
    )


def reproduction() -> Reproduction:
    outcomes = [
        TestOutcome("tests/test_calc.py::test_add", TestStatus.FAILED, "assert -1 == 5", 0.01),
        TestOutcome("tests/test_calc.py::test_add_zero", TestStatus.ERROR, "TypeError: bad operand", 0.02),
        TestOutcome("tests/test_calc.py::test_mul", TestStatus.PASSED, "", 0.005),
    ]
    run = TestRun(outcomes=outcomes, exit_code=1, duration_s=0.75, output="2 failed, 1 passed")
    return Reproduction(run=run, failing=outcomes[:2], passing=["tests/test_calc.py::test_mul"])


def test_upgrade_creates_every_table(database_url: str) -> None:
    upgrade(database_url)

    assert tables_and_revision(database_url) == (TABLES | {"alembic_version"}, "0006")


def test_downgrade_to_base_then_upgrade_again(database_url: str, tmp_path: Path) -> None:
    upgrade(database_url)
    store = JobStore(database_url, migrate=False)
    store.start_job(str(tmp_path), ["pytest"], {})
    store.close()

    downgrade(database_url, "base")
    assert tables_and_revision(database_url) == ({"alembic_version"}, None)

    upgrade(database_url)
    store = JobStore(database_url, migrate=False)
    assert tables_and_revision(database_url) == (TABLES | {"alembic_version"}, "0006")
    assert store.list_jobs() == []
    store.close()


def test_models_match_the_migrations(database_url: str) -> None:
    upgrade(database_url)
    with engine_for(database_url) as engine, engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_full_job_round_trip(store: JobStore, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    command = ["python", "-m", "pytest", "-x", "tests"]
    settings = {"max_candidates": 3, "sandbox": "none", "time_budget_s": 60.0}
    before = datetime.now(timezone.utc)

    job_id = store.start_job(str(project / ".." / "project"), [], settings)
    store.set_stage(job_id, "reproduce")
    store.set_runner(job_id, command, "rlimits only: bubblewrap does not work here (no user namespaces)")
    store.record_reproduction(job_id, reproduction())
    store.set_stage(job_id, "localize")
    store.record_locations(job_id, [LOCATION, SuspiciousLocation("calc.py", 5, 6, 0.25, "dstar")])
    store.set_stage(job_id, "validate")
    fix = candidate("    return a + b\n", "replace - with +", 0.8)
    passing_outcome = TestOutcome("tests/test_calc.py::test_add", TestStatus.PASSED, "", 0.01)
    ids = [
        store.record_validation(job_id, ValidationResult(
            candidate("    return a * b\n", "replace - with *", 0.5), Verdict.FAILS,
            [TestOutcome("tests/test_calc.py::test_add", TestStatus.FAILED, "assert 6 == 5", 0.01)], 0.4,
            "1 failing test", "bwrap",
        )),
        store.record_validation(job_id, ValidationResult(fix, Verdict.PLAUSIBLE, [passing_outcome], 0.5, "", "bwrap")),
        store.record_validation(job_id, ValidationResult(
            candidate("    while True: pass\n", "loop", 0.1), Verdict.TIMEOUT, [], 10.0, "killed after 10s", "bwrap",
        )),
    ]
    store.finish_job(
        job_id,
        JobStatus.SUCCEEDED,
        timings={"reproduce": 0.75, "localize": 0.5, "validate": 10.9},
        time_to_first_plausible_s=1.25,
        ranked_candidate_ids=[ids[1]],
        stopped="found 1 plausible patch(es) (max_plausible)",
    )
    after = datetime.now(timezone.utc)

    [summary] = store.list_jobs()
    assert before <= summary.created_at <= summary.finished_at <= after
    assert summary.created_at.tzinfo == timezone.utc
    assert summary == JobSummary(
        id=job_id,
        project_path=str(project.resolve()),
        status="succeeded",
        stage="validate",
        created_at=summary.created_at,
        finished_at=summary.finished_at,
        candidates_tried=3,
        plausible=1,
        error=None,
        sandbox="rlimits only: bubblewrap does not work here (no user namespaces)",
        worker=None,
        attempts=0,
    )
    detail = store.get_job(job_id)
    assert detail is not None
    assert detail.summary == summary
    assert detail.test_command == command
    assert detail.failures == [
        ("tests/test_calc.py::test_add", "assert -1 == 5"),
        ("tests/test_calc.py::test_add_zero", "TypeError: bad operand"),
    ]
    assert detail.locations == [LOCATION, SuspiciousLocation("calc.py", 5, 6, 0.25, "dstar")]
    assert detail.patches == [StoredPatch(1, "calc.py", "template", "replace - with +", fix.diff, "plausible")]
    assert detail.patches[0].diff == (
        "--- a/calc.py\n+++ b/calc.py\n@@ -1,5 +1,5 @@\n def add(a, b):\n"
        "-    return a - b\n+    return a + b\n \n \n def mul(a, b):\n"
    )
    assert detail.timings == {"reproduce": 0.75, "localize": 0.5, "validate": 10.9}
    assert detail.time_to_first_plausible_s == 1.25
    assert detail.stopped == "found 1 plausible patch(es) (max_plausible)"
    assert store.get_job(job_id + 1) is None


def test_evidence_rows_keep_the_test_outcomes(store: JobStore, database_url: str, tmp_path: Path) -> None:
    job_id = store.start_job(str(tmp_path), ["pytest"], {})
    store.record_reproduction(job_id, reproduction())
    outcome = TestOutcome("tests/test_calc.py::test_add", TestStatus.PASSED, "", 0.01)
    store.record_validation(job_id, ValidationResult(
        candidate("    return a + b\n", "fix", 0.8), Verdict.PLAUSIBLE, [outcome], 0.5, "", "subprocess",
        cpu_time_s=0.42, peak_memory_bytes=5 * 2**30, test_runs=2,
    ))

    with engine_for(database_url) as engine, Session(engine) as session:
        baseline = session.scalars(select(TestRunRow)).one()
        validation = session.scalars(select(ValidationRun)).one()
    assert (baseline.job_id, baseline.kind, baseline.exit_code, baseline.duration_s, baseline.timed_out) == (
        job_id, "baseline", 1, 0.75, False,
    )
    assert baseline.outcomes[1] == {
        "test_id": "tests/test_calc.py::test_add_zero", "status": "error",
        "message": "TypeError: bad operand", "duration_s": 0.02,
    }
    assert len(baseline.outcomes) == 3
    assert (validation.verdict, validation.duration_s, validation.sandbox) == (Verdict.PLAUSIBLE, 0.5, "subprocess")
    # Past 32 bits: peak memory needs a BIGINT on PostgreSQL.
    assert (validation.cpu_time_s, validation.peak_memory_bytes, validation.test_runs, validation.cached) == (
        0.42, 5 * 2**30, 2, False,
    )
    assert validation.outcomes == [
        {"test_id": "tests/test_calc.py::test_add", "status": "passed", "message": "", "duration_s": 0.01}
    ]


def test_baseline_failures_are_kept_apart_from_the_targets(store: JobStore, tmp_path: Path) -> None:
    job_id = store.start_job(str(tmp_path), ["pytest"], {})
    flaky = "tests/test_calc.py::test_add_zero"
    repro = replace(reproduction(), baseline_failures={flaky: "flaky: failed in the first run, passed in a rerun"})
    repro.failing = repro.failing[:1]
    store.record_reproduction(job_id, repro)

    detail = store.get_job(job_id)
    assert detail is not None
    assert detail.failures == [("tests/test_calc.py::test_add", "assert -1 == 5")]
    assert detail.baseline_failures == [(flaky, "flaky: failed in the first run, passed in a rerun")]


def test_outcome_cache_store_round_trip(store: JobStore) -> None:
    outcome = StoredOutcome(
        Verdict.FAILS, [TestOutcome("t::a", TestStatus.FAILED, "assert 1 == 2", 0.25)], "t::a failed", 1.5
    )
    assert store.load_outcome("k" * 64) is None
    store.save_outcome("k" * 64, outcome)
    store.save_outcome("k" * 64, replace(outcome, detail="a second writer"))  # first one wins, no error
    assert store.load_outcome("k" * 64) == outcome


def test_failed_job_is_listed_with_its_error(store: JobStore, tmp_path: Path) -> None:
    older = store.start_job(str(tmp_path), ["pytest"], {})
    store.finish_job(older, JobStatus.NO_PATCH)
    job_id = store.start_job(str(tmp_path), ["pytest", "-q"], {"sandbox": "auto"})
    store.set_stage(job_id, "reproduce")
    store.finish_job(job_id, JobStatus.FAILED, error="nothing to repair: all 12 tests pass")

    jobs = store.list_jobs()
    assert [job.id for job in jobs] == [job_id, older]
    assert [job.id for job in store.list_jobs(limit=1)] == [job_id]
    failed = jobs[0]
    assert failed.finished_at is not None
    assert replace(failed, created_at=None, finished_at=None) == JobSummary(
        id=job_id,
        project_path=str(tmp_path.resolve()),
        status="failed",
        stage="reproduce",
        created_at=None,  # type: ignore[arg-type]
        finished_at=None,
        candidates_tried=0,
        plausible=0,
        error="nothing to repair: all 12 tests pass",
        sandbox=None,
        worker=None,
        attempts=0,
    )
    detail = store.get_job(job_id)
    assert detail is not None
    assert (detail.failures, detail.locations, detail.patches, detail.timings) == ([], [], [], {})


def test_cancelled_job_and_a_huge_error_are_stored_on_every_backend(store: JobStore, tmp_path: Path) -> None:
    """`cancelled` is a status the migrations' VARCHAR column takes as it is (no enum type
    to alter), and an error quoting a megabyte-long test output line is stored capped."""
    cancelled = store.start_job(str(tmp_path), ["pytest"], {})
    store.finish_job(cancelled, JobStatus.CANCELLED, error="cancelled by SIGTERM")
    failed = store.start_job(str(tmp_path), ["pytest"], {})
    store.finish_job(failed, JobStatus.FAILED, error="tests fail: " + "x" * 1_000_000)

    jobs = {job.id: job for job in store.list_jobs()}
    assert (jobs[cancelled].status, jobs[cancelled].error) == ("cancelled", "cancelled by SIGTERM")
    error = jobs[failed].error
    assert error is not None and len(error) < 2100 and error.endswith("(998012 more characters)")


def test_deleting_a_job_deletes_its_evidence(store: JobStore, database_url: str, tmp_path: Path) -> None:
    job_id = store.start_job(str(tmp_path), ["pytest"], {})
    store.record_reproduction(job_id, reproduction())
    store.record_locations(job_id, [LOCATION])
    store.record_validation(job_id, ValidationResult(candidate("    return a + b\n", "fix", 0.8), Verdict.PLAUSIBLE))

    with engine_for(database_url) as engine, engine.begin() as connection:
        connection.execute(text("DELETE FROM repair_jobs"))
        counts = {table: connection.execute(text(f"SELECT count(*) FROM {table}")).scalar() for table in TABLES}
    assert counts == dict.fromkeys(TABLES, 0) | {"repositories": 1}


def test_unknown_job_or_foreign_candidate_is_refused(store: JobStore, tmp_path: Path) -> None:
    job_id = store.start_job(str(tmp_path), ["pytest"], {})
    other_job = store.start_job(str(tmp_path), ["pytest"], {})
    foreign = store.record_validation(other_job, ValidationResult(candidate("    return a + b\n", "fix", 0.8), Verdict.PLAUSIBLE))

    with pytest.raises(LookupError, match="no repair job"):
        store.set_stage(job_id + 100, "reproduce")
    with pytest.raises(LookupError, match=f"candidate {foreign} is not one of repair job {job_id}'s"):
        store.finish_job(job_id, JobStatus.SUCCEEDED, ranked_candidate_ids=[foreign])
    assert store.list_jobs()[1].status == "running"
