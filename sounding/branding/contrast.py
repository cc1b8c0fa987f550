"""Colour contrast after WCAG 2.x, and the accent shades that meet it.

The accent is read as text twice: links and the focus ring on the page background (white in
light mode, near-black in dark mode), and the label of a filled button drawn on the accent
itself. No single colour reads at 4.5:1 on both white and near-black, so the light and dark
modes get a shade each, found by moving the lightness in HSL and keeping hue and saturation:
the author's colour stays recognisably theirs.
"""

from __future__ import annotations

import colorsys
import math
import re
from dataclasses import dataclass

AA_TEXT = 4.5
WHITE = "#FFFFFF"
NEAR_BLACK = "#141418"  # the respondent pages' dark-mode background
LIGHT_BACKGROUND = "#FFFFFF"
DARK_BACKGROUND = NEAR_BLACK

_HEX = re.compile(r"#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})")

RGB = tuple[int, int, int]


class ColourError(ValueError):
    pass


def normalize_hex(value: str) -> str:
    """`#abc`, `abc`, `#aabbcc` or `aabbcc` as `#AABBCC`; anything else is a ColourError."""
    match = _HEX.fullmatch(value.strip())
    if match is None:
        raise ColourError(f"“{value.strip()}” is not a colour: use six hex digits, like #3D3AB8.")
    digits = match.group(1)
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    return "#" + digits.upper()


def to_rgb(colour: str) -> RGB:
    digits = normalize_hex(colour)[1:]
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)


def to_hex(rgb: RGB) -> str:
    return "#{:02X}{:02X}{:02X}".format(*rgb)


def _linear(channel: int) -> float:
    c = channel / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def luminance(colour: str) -> float:
    """WCAG 2.x relative luminance, from 0 (black) to 1 (white)."""
    r, g, b = (_linear(c) for c in to_rgb(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """The contrast ratio of two colours, from 1 to 21, whichever is lighter."""
    la, lb = luminance(a), luminance(b)
    return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)


def ratio_text(ratio: float) -> str:
    """`4.6:1`, rounded down so that a ratio shown as passing never fails."""
    return f"{math.floor(ratio * 10) / 10:.1f}:1"


def text_on(background: str) -> str:
    """White or near-black, whichever reads better on `background`."""
    if contrast(WHITE, background) >= contrast(NEAR_BLACK, background):
        return WHITE
    return NEAR_BLACK


def _with_lightness(hls: tuple[float, float, float], lightness: float) -> str:
    r, g, b = colorsys.hls_to_rgb(hls[0], lightness, hls[2])
    return to_hex((round(r * 255), round(g * 255), round(b * 255)))


def nearest_readable(colour: str, background: str, minimum: float = AA_TEXT) -> str:
    """`colour` itself if it reads on `background`, else the closest shade of the same hue
    that does: darker on a light background, lighter on a dark one."""
    colour = normalize_hex(colour)
    if contrast(colour, background) >= minimum:
        return colour
    r, g, b = to_rgb(colour)
    hls = colorsys.rgb_to_hls(r / 255, g / 255, b / 255)
    darken = luminance(background) > 0.5
    # The lightness that passes is a range ending at 0 (or 1); bisect for its edge, nearest
    # the author's colour. Rounding to hex can cross the edge, so the result is checked again.
    passing, failing = (0.0, hls[1]) if darken else (1.0, hls[1])
    for _ in range(24):
        middle = (passing + failing) / 2
        if contrast(_with_lightness(hls, middle), background) >= minimum:
            passing = middle
        else:
            failing = middle
    shade = _with_lightness(hls, passing)
    step = -1 / 255 if darken else 1 / 255
    while contrast(shade, background) < minimum:
        passing = min(1.0, max(0.0, passing + step))
        shade = _with_lightness(hls, passing)
    return shade


@dataclass(frozen=True)
class Shade:
    """The accent as one colour scheme uses it."""

    colour: str  # links, focus ring, progress bar, button background
    text: str  # the label of a filled button
    ratio: float  # of `colour` on the page background
    adjusted: bool


@dataclass(frozen=True)
class AccentPlan:
    """What an author's accent becomes in light and dark mode, and what to tell them."""

    picked: str
    light: Shade
    dark: Shade

    @property
    def adjusted(self) -> bool:
        return self.light.adjusted or self.dark.adjusted

    def notices(self) -> list[str]:
        found = []
        if self.light.adjusted:
            found.append(
                f"{self.picked} is too light for text on white; Sounding will use "
                f"{self.light.colour} for links and buttons, which reads at "
                f"{ratio_text(self.light.ratio)}."
            )
        if self.dark.adjusted:
            found.append(
                f"{self.picked} is too dark for text on the dark background people see in "
                f"dark mode; there Sounding will use {self.dark.colour}, which reads at "
                f"{ratio_text(self.dark.ratio)}."
            )
        return found


def _shade(picked: str, background: str) -> Shade:
    colour = nearest_readable(picked, background)
    return Shade(
        colour=colour,
        text=text_on(colour),
        ratio=contrast(colour, background),
        adjusted=colour != picked,
    )


def plan_accent(picked: str) -> AccentPlan:
    picked = normalize_hex(picked)
    return AccentPlan(
        picked=picked,
        light=_shade(picked, LIGHT_BACKGROUND),
        dark=_shade(picked, DARK_BACKGROUND),
    )
