"""Validate candidates N at a time, each worker in a work copy of its own.

Test runs are separate processes, so threads are enough to keep N of them busy. Each worker
keeps its copy for the whole job (it restores the patched file after every candidate), so
copying the project and, for Java, its compiled classes is paid once per worker, not once
per candidate. Outcome-cache hits are answered before any worker is asked.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path

from repairbot.domain import Candidate, Reproduction, ValidationResult
from repairbot.errors import BadInput
from validators import safe_files
from validators.outcome_cache import OutcomeCache
from validators.runner import TestRunner
from validators.validate import CandidateValidator


class ValidationPool:
    """`root` is the prepared work copy the baseline ran in (worker 0 uses it); the other
    workers get copies of it under `copies_dir`. The tests ran in `root`: it is copied
    without following a link and within the work dir caps. A worker whose copy the tests
    tampered with (`CandidateValidator.tampered`) gets no further candidates."""

    def __init__(
        self,
        runner: TestRunner,
        root: Path,
        reproduction: Reproduction,
        workers: int,
        copies_dir: Path,
        cache: OutcomeCache | None = None,
    ) -> None:
        self.cache = cache
        first = CandidateValidator(runner, root, reproduction)
        # Checked once, in the copy the baseline ran in; every worker's first runs use it.
        self.filter_runner = runner.fast_filter(root, reproduction.failing, first.timeout_s, first.test_cpu_limit_s)
        first.filter_runner = self.filter_runner
        self.validators = [first]
        for index in range(1, max(1, workers)):
            copy = copies_dir / f"worker-{index}" / root.name
            try:
                safe_files.copy_tree(root, copy, safe_files.WORKSPACE_LIMITS, "the work copy")
            except safe_files.TooLarge as exc:
                raise BadInput(f"{exc} ({safe_files.WORKSPACE_LIMIT}): not copied for another worker") from exc
            runner.prepare(copy)
            self.validators.append(CandidateValidator(runner, copy, reproduction, self.filter_runner))

    @property
    def workers(self) -> int:
        return len(self.validators)

    def run(
        self, candidates: Iterable[Candidate], should_stop: Callable[[], bool], deadline: float | None = None
    ) -> Iterator[ValidationResult]:
        """Results in the order they finish. `should_stop` is asked before each candidate
        starts (the caller updates what it reads after each result); once it says stop, the
        runs in flight finish and are yielded, nothing new starts. A run still going at
        `deadline` (the job's budget) is stopped there. Raises BadInput when the
        tests have tampered with every worker's copy: no verdict could be trusted."""
        pending = deque(candidates)
        free = [v for v in reversed(self.validators) if v.tampered is None]
        in_flight: dict[Future[ValidationResult], CandidateValidator] = {}
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="validate") as executor:
            while True:
                while pending and free and not should_stop():
                    candidate = pending.popleft()
                    hit = self.cache.lookup(candidate) if self.cache is not None else None
                    if hit is not None:
                        yield hit
                        continue
                    validator = free.pop()
                    in_flight[executor.submit(validator.validate, candidate, deadline)] = validator
                if not in_flight:
                    if pending and not free and not should_stop():
                        raise BadInput(f"the tests tampered with every work copy ({self._tampering()}): repair stopped")
                    return
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    validator = in_flight.pop(future)
                    if validator.tampered is None:
                        free.append(validator)
                    result = future.result()
                    if self.cache is not None:
                        self.cache.remember(result)
                    yield result

    def _tampering(self) -> str:
        return next((v.tampered for v in self.validators if v.tampered), "")
