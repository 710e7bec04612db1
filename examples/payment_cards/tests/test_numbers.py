import pytest

from cards import brand, digits_only, format_groups, luhn_valid, mask

VISA = "4111 1111 1111 1111"
MASTERCARD = "5555-5555-5555-4444"
AMEX = "3782 822463 10005"


def test_digits_only_accepts_spaces_and_dashes():
    assert digits_only(MASTERCARD) == "5555555555554444"
    assert digits_only(" 4111 1111 ") == "41111111"
    with pytest.raises(ValueError):
        digits_only("4111-1111-x111")


@pytest.mark.parametrize("number, valid", [
    (VISA, True), (MASTERCARD, True), (AMEX, True), ("6011 1111 1111 1117", True),
    ("4111 1111 1111 1112", False), ("3782 822463 10006", False), ("0000 0000 0", False),
])
def test_luhn_checksum(number, valid):
    assert luhn_valid(number) is valid


def test_brand_from_prefix():
    assert [brand(n) for n in (VISA, MASTERCARD, AMEX, "6011111111111117")] == [
        "visa", "mastercard", "amex", "unknown",
    ]


def test_format_groups_of_four_and_amex_layout():
    assert format_groups("4111111111111111") == VISA
    assert format_groups(MASTERCARD) == "5555 5555 5555 4444"
    assert format_groups("378282246310005") == AMEX


def test_mask_leaves_partial_numbers_alone():
    assert mask("") == ""
    assert mask("41") == "41"
    assert mask("411") == "411"


def test_mask_shows_only_the_last_four_digits():
    assert mask(VISA) == "************1111"
    assert mask(AMEX) == "***********0005"


def test_mask_keeps_a_four_digit_number_in_clear():
    assert mask("4-4-4-4") == "4444"
    assert mask("54444") == "*4444"
