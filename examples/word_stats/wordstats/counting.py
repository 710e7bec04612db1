"""Tokenizing and counting words. Words are runs of letters, apostrophes inside a word
('don't') included; by default counting ignores case."""

from __future__ import annotations

import re

WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)*")
STOPWORDS = frozenset({"a", "an", "and", "in", "is", "it", "of", "the", "to"})


def tokenize(text: str, case_sensitive: bool = False) -> list[str]:
    words = WORD.findall(text)
    if case_sensitive:
        words = [word.lower() for word in words]
    return words


def word_counts(text: str, case_sensitive: bool = False, skip_stopwords: bool = False) -> dict[str, int]:
    counts: dict[str, int] = {}
    for word in tokenize(text, case_sensitive):
        if skip_stopwords and word.lower() in STOPWORDS:
            continue
        counts[word] = counts.get(word, 0) + 1
    return counts


def most_common(text: str, n: int = 3) -> list[tuple[str, int]]:
    """The n most frequent non-stopwords, ties in alphabetical order."""
    counts = word_counts(text, skip_stopwords=True)
    return sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))[:n]


def average_word_length(text: str) -> float:
    words = tokenize(text)
    if not words:
        return 0.0
    return round(sum(len(word) for word in words) / len(words), 2)
