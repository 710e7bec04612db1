from grades.report import average, letter, passed, summary


def test_scores_inside_a_band_get_its_letter():
    assert [letter(s) for s in (95, 85, 75, 65, 10)] == ["A", "B", "C", "D", "F"]


def test_a_score_of_exactly_90_is_an_a():
    assert letter(90) == "A"


def test_a_score_at_the_pass_mark_passes():
    assert passed([60, 59, 75]) == 2


def test_low_scores_do_not_pass():
    assert passed([10, 20, 59]) == 0


def test_average_of_no_scores_is_zero():
    assert average([]) == 0.0
    assert average([50, 100]) == 75.0


def test_summary_counts_each_letter():
    assert summary([95, 91, 55]) == {"A": 2, "B": 0, "C": 0, "D": 0, "F": 1}
