"""Order candidates before validation (cheapest likely-correct first) and patches after it."""

from __future__ import annotations

from functools import lru_cache

from repairbot.domain import Candidate, ValidationResult, Verdict
from repairbot.languages.registry import language_for


@lru_cache(maxsize=512)
def normalized(candidate: Candidate) -> str:
    """The program a patch denotes: Python's AST dump, Java's tokens without comments. Two
    patches that differ only in spacing, parentheses (Python) or comments are the same
    program and need one test run, not two.

    Memoized: a candidate's program is asked for by the generator's dedupe, the pipeline's
    seen-set, the ordering and the outcome cache, and each answer is a full parse.
    A candidate that changes several files (a combination) denotes all their programs."""
    others = (f"\0{edit.file}\0{_program(edit.file, edit.patched)}" for edit in candidate.other_files)
    return _program(candidate.file, candidate.patched) + "".join(others)


def _program(file: str, text: str) -> str:
    """The language's program; a text that does not parse (or of no known language) stands
    for itself up to layout."""
    language = language_for(file)
    program = language.program(text) if language is not None else None
    return program if program is not None else " ".join(text.split())


def dedupe(candidates: list[Candidate]) -> list[Candidate]:
    seen: set[tuple[str, str]] = set()
    unique = []
    for candidate in candidates:
        key = program_key(candidate)
        if key not in seen:
            seen.add(key)
            unique.append(candidate)
    return unique


def order_for_validation(candidates: list[Candidate]) -> list[Candidate]:
    """Location-major, as template-based APR tools (TBar) do: every candidate for the most
    suspicious location before any for the next, then the highest prior, then the smaller
    patch (Occam's razor). A template's weight must not push a likelier location's fix
    behind dozens of guesses at less suspicious lines."""
    return sorted(dedupe(candidates), key=_preference)


def rank_patches(
    validations: list[ValidationResult], proposers: dict[tuple[str, str], set[str]] | None = None
) -> list[ValidationResult]:
    """Plausible patches, those that more generators proposed first, then in the order they
    would have been validated (so the ranking does not depend on which parallel validation
    happened to finish first). Independent generators (a template, the model's infill, its
    whole-function rewrite) that arrive at the same program are evidence for it that no
    single generator's prior gives: the agreement that ranks patches in ensemble repair.
    `proposers` maps `program_key(candidate)` to the generators that proposed it."""
    plausible = [v for v in validations if v.verdict is Verdict.PLAUSIBLE]

    def agreement(candidate: Candidate) -> int:
        return len((proposers or {}).get(program_key(candidate), ()))

    return sorted(plausible, key=lambda v: (-agreement(v.candidate), *_preference(v.candidate)))


def program_key(candidate: Candidate) -> tuple[str, str]:
    """A patch's identity: the same program in the same file is one test run (the seen-sets)
    and, proposed by two generators, their agreement."""
    return candidate.file, normalized(candidate)


def generator_family(candidate: Candidate) -> str:
    """The generator a candidate came from, without its variant (`masked:callee` and
    `masked:operator` are one generator; two of its templates agreeing is no agreement)."""
    return candidate.generator.split(":", 1)[0]


def _preference(candidate: Candidate) -> tuple[float, float, int]:
    return (-candidate.location.score, -candidate.prior, candidate.size)
