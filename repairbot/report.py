"""What a repair job tells its user: the patch as a diff, or the whole result as JSON."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from repairbot.domain import RepairResult, ValidationResult
from repairbot.rank import generator_family


def patch_text(result: RepairResult) -> str:
    """The best plausible patch as a unified diff (`git apply`-able); empty if none."""
    return result.patches[0].candidate.diff if result.patches else ""


def to_json(result: RepairResult) -> dict[str, Any]:
    return {
        "job_id": result.job_id,
        "project": result.project,
        "status": "patch_found" if result.patches else "no_patch",
        "failing_tests": [
            {"test_id": o.test_id, "status": o.status.value, "message": o.message}
            for o in result.reproduction.failing
        ],
        "ignored_tests": dict(result.reproduction.baseline_failures),
        "suspicious_locations": [
            {"file": loc.file, "start_line": loc.start_line, "end_line": loc.end_line,
             "score": round(loc.score, 6), "formula": loc.formula}
            for loc in result.locations
        ],
        "candidates_tried": result.candidates_tried,
        "candidates_by_generator": dict(Counter(generator_family(v.candidate) for v in result.validations)),
        "time_to_first_plausible_s": result.time_to_first_plausible_s,
        "timings_s": {stage: round(seconds, 3) for stage, seconds in result.timings.items()},
        "stopped": result.stopped,
        "patches": [
            {**_patch(rank, v), "overfitting": result.overfitting[rank - 1] if rank <= len(result.overfitting) else []}
            for rank, v in enumerate(result.patches, start=1)
        ],
    }


def dumps(result: RepairResult) -> str:
    return json.dumps(to_json(result), indent=2)


def _patch(rank: int, validation: ValidationResult) -> dict[str, Any]:
    candidate = validation.candidate
    return {
        "rank": rank,
        "file": candidate.file,
        "files": [edit.file for edit in candidate.edits],
        "generator": candidate.generator,
        "description": candidate.description,
        "prior": round(candidate.prior, 6),
        "validation_s": round(validation.duration_s, 3),
        "diff": candidate.diff,
    }
