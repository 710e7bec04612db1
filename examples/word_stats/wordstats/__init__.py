"""Word statistics for plain text."""

from wordstats.counting import average_word_length, most_common, tokenize, word_counts

__all__ = ["average_word_length", "most_common", "tokenize", "word_counts"]
