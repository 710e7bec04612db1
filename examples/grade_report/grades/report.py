"""Letter grades and pass counts for a class's exam scores (0-100)."""

GRADE_FLOORS = (("A", 90), ("B", 80), ("C", 70), ("D", 60))
PASS_MARK = 60


def letter(score: int) -> str:
    """The letter of a score: the first grade whose floor it reaches, else F."""
    for grade, floor in GRADE_FLOORS:
        if score > floor:
            return grade
    return "F"


def passed(scores: list[int], mark: int = PASS_MARK) -> int:
    """How many scores reach the pass mark."""
    return sum(1 for score in scores if score > mark)


def average(scores: list[int]) -> float:
    """The mean score; 0.0 for an empty class."""
    if not scores:
        return 0.0
    return sum(scores) / len(scores)


def summary(scores: list[int]) -> dict[str, int]:
    """How many scores got each letter."""
    counts = {grade: 0 for grade, _ in GRADE_FLOORS}
    counts["F"] = 0
    for score in scores:
        counts[letter(score)] += 1
    return counts
