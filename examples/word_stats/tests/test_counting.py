from wordstats import average_word_length, most_common, tokenize, word_counts


def test_tokenize_keeps_apostrophes_inside_words():
    assert tokenize("don't stop -- it's 'quoted', ok?") == ["don't", "stop", "it's", "quoted", "ok"]
    assert tokenize("") == []


def test_tokenize_lowercases_by_default():
    assert tokenize("The Cat sat on THE mat") == ["the", "cat", "sat", "on", "the", "mat"]


def test_tokenize_can_keep_the_case():
    assert tokenize("The Cat sat", case_sensitive=True) == ["The", "Cat", "sat"]


def test_word_counts():
    assert word_counts("the cat and the hat") == {"the": 2, "cat": 1, "and": 1, "hat": 1}
    assert word_counts("the cat and the hat", skip_stopwords=True) == {"cat": 1, "hat": 1}
    assert word_counts("...") == {}


def test_word_counts_ignore_case_unless_asked():
    assert word_counts("Tea? TEA. tea!") == {"tea": 3}
    assert word_counts("Tea? TEA. tea!", case_sensitive=True) == {"Tea": 1, "TEA": 1, "tea": 1}


def test_most_common_skips_stopwords_and_breaks_ties_alphabetically():
    text = "to be or not to be, that is the question"
    assert most_common(text) == [("be", 2), ("not", 1), ("or", 1)]
    assert most_common(text, n=1) == [("be", 2)]


def test_average_word_length():
    assert average_word_length("i am here") == 2.33
    assert average_word_length("  ") == 0.0
