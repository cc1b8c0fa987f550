"""The contrast maths (WCAG 2.x) and the accent shades chosen from it."""

from __future__ import annotations

import colorsys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sounding.branding.contrast import (
    DARK_BACKGROUND,
    NEAR_BLACK,
    WHITE,
    ColourError,
    contrast,
    luminance,
    nearest_readable,
    normalize_hex,
    plan_accent,
    ratio_text,
    text_on,
)

# Pure functions: no database, the same on any.
pytestmark = pytest.mark.any_db

# Pairs whose ratios are published (WebAIM's checker, the WCAG understanding documents).
KNOWN = [
    ("#777777", "#FFFFFF", 4.48),
    ("#767676", "#FFFFFF", 4.54),
    ("#000000", "#FFFFFF", 21.0),
    ("#FFFFFF", "#FFFFFF", 1.0),
    ("#FF0000", "#FFFFFF", 4.0),
    ("#0000FF", "#FFFFFF", 8.59),
    ("#808080", "#000000", 5.32),
    ("#3D3AB8", "#FFFFFF", 8.41),
]


@pytest.mark.parametrize(("a", "b", "expected"), KNOWN)
def test_contrast_matches_published_ratios(a: str, b: str, expected: float) -> None:
    assert round(contrast(a, b), 2) == expected
    assert contrast(a, b) == contrast(b, a)


def test_luminance_runs_from_black_to_white_with_wcag_channel_weights() -> None:
    assert luminance("#000000") == 0
    assert luminance("#FFFFFF") == pytest.approx(1)
    assert luminance("#FF0000") == pytest.approx(0.2126)
    assert luminance("#00FF00") == pytest.approx(0.7152)
    assert luminance("#0000FF") == pytest.approx(0.0722)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("#abc", "#AABBCC"), ("abc", "#AABBCC"), ("  #3d3ab8 ", "#3D3AB8"), ("FFD400", "#FFD400")],
)
def test_hex_colours_are_read_in_their_usual_spellings(typed: str, expected: str) -> None:
    assert normalize_hex(typed) == expected


@pytest.mark.parametrize("typed", ["", "#12345", "red", "#GGGGGG", "#3d3ab8ff", "rgb(0,0,0)"])
def test_anything_else_is_refused_with_a_message(typed: str) -> None:
    with pytest.raises(ColourError, match="six hex digits"):
        normalize_hex(typed)


def test_ratios_are_shown_rounded_down_so_a_failing_one_never_looks_passing() -> None:
    assert ratio_text(contrast("#777777", "#FFFFFF")) == "4.4:1"
    assert ratio_text(4.5) == "4.5:1"
    assert ratio_text(21) == "21.0:1"


def test_button_text_is_white_on_dark_accents_and_near_black_on_light_ones() -> None:
    assert text_on("#3D3AB8") == WHITE
    assert text_on("#FFD400") == NEAR_BLACK


def _hue(colour: str) -> float:
    r, g, b = (int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return colorsys.rgb_to_hls(r, g, b)[0]


def _lightness(colour: str) -> float:
    r, g, b = (int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return colorsys.rgb_to_hls(r, g, b)[1]


def test_a_yellow_too_light_for_white_is_darkened_keeping_its_hue() -> None:
    shade = nearest_readable("#FFD400", WHITE)
    assert shade == "#8C7500"
    assert contrast(shade, WHITE) >= 4.5
    assert _hue(shade) == pytest.approx(_hue("#FFD400"), abs=0.01)


def test_the_adjusted_shade_is_the_nearest_passing_one() -> None:
    # One step lighter than the chosen shade no longer reads at 4.5:1 on white.
    shade = nearest_readable("#FFD400", WHITE)
    r, g, b = (int(shade[i : i + 2], 16) / 255 for i in (1, 3, 5))
    h, lightness, s = colorsys.rgb_to_hls(r, g, b)
    lighter = colorsys.hls_to_rgb(h, lightness + 2 / 255, s)
    lighter_hex = "#" + "".join(f"{round(c * 255):02X}" for c in lighter)
    assert contrast(lighter_hex, WHITE) < 4.5


def test_a_passing_colour_is_left_alone() -> None:
    assert nearest_readable("#3D3AB8", WHITE) == "#3D3AB8"
    assert nearest_readable("#FFD400", DARK_BACKGROUND) == "#FFD400"


def test_a_dark_accent_is_lightened_for_dark_mode() -> None:
    shade = nearest_readable("#3D3AB8", DARK_BACKGROUND)
    assert _lightness(shade) > _lightness("#3D3AB8")
    assert contrast(shade, DARK_BACKGROUND) >= 4.5


def test_the_plan_says_what_changed_with_both_values_and_the_ratio() -> None:
    plan = plan_accent("#ffd400")
    assert plan.light.adjusted and not plan.dark.adjusted
    assert plan.notices() == [
        "#FFD400 is too light for text on white; Sounding will use #8C7500 for links and "
        "buttons, which reads at 4.5:1."
    ]
    assert plan.light.text == WHITE and plan.dark.text == NEAR_BLACK


def test_a_grey_in_the_middle_fails_both_modes_and_is_moved_both_ways() -> None:
    plan = plan_accent("#777777")
    assert plan.light.colour == "#767676"
    assert _lightness(plan.dark.colour) > _lightness("#777777")
    assert len(plan.notices()) == 2
    assert "dark mode" in plan.notices()[1] and plan.dark.colour in plan.notices()[1]


def test_a_colour_that_reads_everywhere_needs_no_notice() -> None:
    assert plan_accent("#FF0000").dark.adjusted is False
    assert plan_accent("#2E7D32").light.adjusted is False


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 0xFFFFFF))
def test_every_colour_gets_shades_that_pass_aa_for_every_use(value: int) -> None:
    plan = plan_accent(f"#{value:06X}")
    # Links and focus on the page, and a filled button's label on the accent, in both modes.
    assert contrast(plan.light.colour, WHITE) >= 4.5
    assert contrast(plan.light.text, plan.light.colour) >= 4.5
    assert contrast(plan.dark.colour, DARK_BACKGROUND) >= 4.5
    assert contrast(plan.dark.text, plan.dark.colour) >= 4.5
