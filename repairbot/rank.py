"""Order candidates before validation (cheapest likely-correct first) and patches after it."""

from __future__ import annotations

import ast

from repairbot.domain import Candidate, ValidationResult, Verdict


def normalized(candidate: Candidate) -> str:
    """Python's own AST dump: two patches that differ only in spacing, parentheses or
    comments are the same program and need one test run, not two."""
    if candidate.file.endswith(".py"):
        try:
            return ast.dump(ast.parse(candidate.patched))
        except (SyntaxError, ValueError):
            pass
    return " ".join(candidate.patched.split())


def dedupe(candidates: list[Candidate]) -> list[Candidate]:
    seen: set[tuple[str, str]] = set()
    unique = []
    for candidate in candidates:
        key = (candidate.file, normalized(candidate))
        if key not in seen:
            seen.add(key)
            unique.append(candidate)
    return unique


def order_for_validation(candidates: list[Candidate]) -> list[Candidate]:
    """Highest prior first; at equal prior the smaller patch (Occam's razor)."""
    return sorted(dedupe(candidates), key=lambda c: (-c.prior, c.size))


def rank_patches(validations: list[ValidationResult]) -> list[ValidationResult]:
    plausible = [v for v in validations if v.verdict is Verdict.PLAUSIBLE]
    return sorted(plausible, key=lambda v: (-v.candidate.prior, v.candidate.size))
