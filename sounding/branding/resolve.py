"""The brand a survey's respondent pages wear, resolved once per survey version per process.

The respondent path already reads the survey row; a saved brand bumps the `version` of every
survey it touches (see `branding.saving`), so keying this cache on the version costs no query
on a warm request and still shows a change on the next request, in every process.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.urls import reverse
from markupsafe import Markup

from sounding.branding.contrast import (
    DARK_BACKGROUND,
    LIGHT_BACKGROUND,
    WHITE,
    AccentPlan,
    ColourError,
    Shade,
    contrast,
    normalize_hex,
    plan_accent,
)
from sounding.branding.images import EXTENSIONS
from sounding.branding.models import DEFAULT_ACCENT, FONT_STACKS, Fill, Font, LogoChoice, Shape
from sounding.surveys.cache import PerVersion

if TYPE_CHECKING:
    pass

RADII = {Shape.ROUNDED: ".625rem", Shape.PILL: "999px", Shape.SQUARE: "0"}
FIELDS = ("accent", "button_shape", "button_fill", "font", "logo_alt")
LOGO_FIELDS = ("sha256", "content_type", "width", "height")

# Unbranded pages keep respond.css's own hand-picked pair: it reads well in both modes.
DEFAULT_DARK, DEFAULT_DARK_TEXT = "#A5A3FF", "#14142B"
DEFAULT_PLAN = AccentPlan(
    picked=DEFAULT_ACCENT,
    light=Shade(DEFAULT_ACCENT, WHITE, contrast(DEFAULT_ACCENT, LIGHT_BACKGROUND), False),
    dark=Shade(DEFAULT_DARK, DEFAULT_DARK_TEXT, contrast(DEFAULT_DARK, DARK_BACKGROUND), False),
)


@dataclass(frozen=True)
class LogoRef:
    sha256: str
    content_type: str
    width: int
    height: int

    @property
    def url(self) -> str:
        return reverse("brand-logo", args=[self.sha256, EXTENSIONS[self.content_type]])


@dataclass(frozen=True)
class Choices:
    """Every brand setting with a value: the workspace's, overridden by the survey's."""

    accent: str = DEFAULT_ACCENT
    button_shape: str = Shape.ROUNDED
    button_fill: str = Fill.FILLED
    font: str = Font.SYSTEM
    logo: LogoRef | None = None
    logo_alt: str = ""
    # Only beside the workspace's own logo: a survey's logo has no dark twin.
    logo_dark: LogoRef | None = None
    website: str = ""
    name: str = ""

    @property
    def plan(self) -> AccentPlan:
        return DEFAULT_PLAN if self.accent == DEFAULT_ACCENT else plan_accent(self.accent)


@dataclass(frozen=True)
class Brand:
    """What the respondent templates need: a style block and the logo."""

    css: Markup  # built only from checked hex colours and fixed choices
    logo_url: str = ""
    logo_alt: str = ""
    logo_width: int = 0
    logo_height: int = 0
    logo_dark_url: str = ""
    website: str = ""
    name: str = ""


def resolve(
    workspace: dict[str, Any] | None, survey: dict[str, Any] | None, workspace_name: str
) -> Choices:
    """Layer the survey's overrides (empty means inherit) on the workspace's brand."""
    values: dict[str, Any] = {}
    for layer in (workspace, survey):
        for name in FIELDS:
            if layer and layer.get(name) and _allowed(name, layer[name]):
                values[name] = layer[name]
    logo = workspace.get("logo") if workspace else None
    dark = workspace.get("logo_dark") if workspace and logo else None
    if survey and survey.get("logo_choice") == LogoChoice.OWN and survey.get("logo"):
        logo, dark = survey["logo"], None
    elif survey and survey.get("logo_choice") == LogoChoice.NONE:
        logo, dark = None, None
    values.setdefault("logo_alt", workspace_name)
    website = str(workspace.get("website") or "") if workspace else ""
    return Choices(logo=logo, logo_dark=dark, website=website, name=workspace_name, **values)


_KINDS: dict[str, type[Any]] = {"button_shape": Shape, "button_fill": Fill, "font": Font}


def _allowed(name: str, value: str) -> bool:
    """Whether a stored value may reach the page's CSS. The forms only save such values; a row
    changed by other means falls back to the default rather than break the respondent path."""
    if name == "accent":
        try:
            return normalize_hex(value) == value
        except ColourError:
            return False
    kind = _KINDS.get(name)
    return kind is None or value in kind.values


def css_for(choices: Choices) -> str:
    """Custom properties that differ from the respondent pages' own defaults, or ""."""
    light: list[str] = []
    dark: list[str] = []
    if choices.accent != DEFAULT_ACCENT:
        plan = choices.plan
        light += [f"--accent:{plan.light.colour}", f"--accent-text:{plan.light.text}"]
        dark += [f"--accent:{plan.dark.colour}", f"--accent-text:{plan.dark.text}"]
    if choices.button_shape != Shape.ROUNDED:
        light.append(f"--radius:{RADII[Shape(choices.button_shape)]}")
    if choices.button_shape == Shape.SQUARE:
        light.append("--field-radius:0")
    if choices.font != Font.SYSTEM:
        light.append(f"--font:{FONT_STACKS[Font(choices.font)]}")
    if choices.button_fill == Fill.OUTLINE:
        light += ["--btn-bg:transparent", "--btn-text:var(--accent)"]
    css = ":root{" + ";".join(light) + "}" if light else ""
    if dark:
        css += "@media (prefers-color-scheme:dark){:root{" + ";".join(dark) + "}}"
    return css


def brand_of(choices: Choices) -> Brand:
    logo = choices.logo
    return Brand(
        css=Markup(css_for(choices)),
        logo_url=logo.url if logo else "",
        logo_alt=choices.logo_alt if logo else "",
        logo_width=logo.width if logo else 0,
        logo_height=logo.height if logo else 0,
        logo_dark_url=choices.logo_dark.url if logo and choices.logo_dark else "",
        website=choices.website,
        name=choices.name,
    )


def _layer(row: dict[str, Any], prefix: str) -> dict[str, Any] | None:
    if row[prefix + "id"] is None:
        return None
    layer = {name: row[prefix + name] for name in FIELDS}
    layer["logo_choice"] = row.get(prefix + "logo_choice", "")
    if prefix + "website" in row:
        layer["website"] = row[prefix + "website"]
    for name in ("logo", "logo_dark"):
        if row.get(prefix + name + "__sha256"):
            layer[name] = LogoRef(*(row[prefix + name + "__" + f] for f in LOGO_FIELDS))
    return layer


def load(survey_id: int) -> Choices:
    """The survey's resolved brand, read in one query."""
    from sounding.surveys.models import Survey

    columns = ["workspace__name"]
    for prefix in ("workspace__brand__", "brand__"):
        columns += [prefix + name for name in ("id", *FIELDS)]
        columns += [prefix + "logo__" + name for name in LOGO_FIELDS]
    columns += ["workspace__brand__logo_dark__" + name for name in LOGO_FIELDS]
    columns.append("workspace__brand__website")
    columns.append("brand__logo_choice")
    row = Survey.objects.filter(pk=survey_id).values(*columns).first()
    if row is None:
        return Choices()
    return resolve(
        _layer(row, "workspace__brand__"), _layer(row, "brand__"), row["workspace__name"]
    )


# The brand of a survey's respondent pages; no query once this process has seen its current
# version (saving a brand bumps the versions of the surveys it applies to).
brand_for: PerVersion[Brand] = PerVersion(lambda survey: brand_of(load(survey.pk)))
