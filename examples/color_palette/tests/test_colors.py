import pytest

from palette import build_theme, clamp, darken, lighten, mix, parse_hex, to_hex


def test_clamp():
    assert clamp(300, 0, 255) == 255
    assert clamp(-5, 0, 255) == 0
    assert clamp(7, 0, 255) == 7
    assert clamp(5, 10, 20) == 10


def test_parse_and_format_hex():
    assert parse_hex("#1e90FF") == (30, 144, 255)
    assert parse_hex(" fc0 ") == (255, 204, 0)
    assert to_hex((0, 128, 255)) == "#0080ff"
    for bad in ("#12345", "#ggg000", "#1234567"):
        with pytest.raises(ValueError):
            parse_hex(bad)


def test_mix():
    assert mix("#000000", "#ffffff") == "#808080"
    assert mix("#ff0000", "#0000ff", 0.25) == "#bf0040"
    assert mix("#123456", "#abcdef", 0) == "#123456"
    assert mix("#123456", "#abcdef", 1) == "#abcdef"


def test_lighten_within_range():
    assert lighten("#102030", 16) == "#203040"
    assert lighten("#102030", 0) == "#102030"


def test_darken_saturates_at_black():
    assert darken("#102030", 32) == "#000010"
    assert darken("#ffffff", 255) == "#000000"


def test_lighten_saturates_at_white():
    assert lighten("#f0e0d0", 32) == "#fffff0"
    assert lighten("#000000", 300) == "#ffffff"


def test_theme_from_a_mid_tone_brand_color():
    assert build_theme("#3366cc") == {
        "primary": "#3366cc",
        "hover": "#1f52b8",
        "pressed": "#0b3ea4",
        "highlight": "#5b8ef4",
        "muted": "#5a73a6",
    }


def test_theme_from_a_light_brand_color():
    theme = build_theme("#e0f0ff", step=40)
    assert theme["highlight"] == "#ffffff"
    assert theme["pressed"] == "#b8c8d7"
