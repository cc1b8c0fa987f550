"""The first question inside a Braze email: one link per answer, as email-safe HTML and text.

Forms in email are unreliable everywhere, so every vendor puts one link per answer; each of
ours is the survey link (the identity as Liquid, signed when the survey signs links) plus the
pre-answer (`nps=9`). Opening one stores nothing: the page shows the answer selected and the
person confirms it (`docs/survey-links.md`, one-click answers), which is what keeps mail
scanners, which open every link of a message, from answering for people.

The HTML follows what the oldest engines render: tables, inline styles, no forms, no
background images, and buttons that are table cells with a padded link inside (Outlook on
Windows draws the cell, every other client the link). A `<style>` block adds only what
inline styles cannot say (dark mode, narrow screens); Braze's "Inline CSS" option would copy
it into every element and defeat the dark-mode rules, hence the note on the Share page.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from urllib.parse import quote

from django.utils import translation

from sounding.branding.models import FONT_STACKS, Fill, Font, Shape
from sounding.branding.resolve import Choices, load
from sounding.destinations.braze.destination import survey_link
from sounding.surveys.models import Survey
from sounding.surveys.spec import Question, SurveySpec

SCORES = frozenset({"nps", "rating", "csat", "scale"})
CHOICES = frozenset({"single_choice", "dropdown"})
EMBEDDABLE = SCORES | CHOICES | {"yes_no"}
MAX_CHOICES = 8
# Well under Gmail's clipping (about 102 KB) once the customer's own template is around it.
MAX_BYTES = 20_000
TAP = 44  # px: the smallest comfortable target on a phone
RADII = {Shape.ROUNDED: "8px", Shape.PILL: "22px", Shape.SQUARE: "0"}

# Colours that hold in both schemes; the accent comes from the brand's own light/dark plan.
PAGE_LIGHT, CARD_LIGHT, INK_LIGHT, MUTED_LIGHT = "#f4f4f7", "#ffffff", "#1b1b29", "#55556a"
PAGE_DARK, CARD_DARK, INK_DARK, MUTED_DARK = "#121218", "#1e1e28", "#f2f2f7", "#b9b9c8"


class NotEmbeddable(ValueError):
    """The survey's first question cannot be answered by a tap in an email; the message says
    why, for the author."""


@dataclass(frozen=True)
class Option:
    value: str  # what the link carries, as the respondent page parses it ("" opens the survey)
    label: str


@dataclass(frozen=True)
class EmailEmbed:
    html: str
    text: str
    question: str


def why_not(spec: SurveySpec) -> str | None:
    """Why the first question cannot go inside an email, or None when it can."""
    if not spec.questions:
        return "The survey has no question yet."
    first = spec.questions[0]
    if first.type not in EMBEDDABLE:
        return (
            "The first question is a question people type or pick several answers for, which "
            "an email cannot take in one tap. Put an NPS, rating, CSAT, scale, yes/no or "
            "single-choice question first, or send the plain link."
        )
    if first.type in CHOICES and len(first.choices) > MAX_CHOICES:
        return (
            f"The first question has {len(first.choices)} choices; an email shows at most "
            f"{MAX_CHOICES} as buttons. Shorten the list, or send the plain link."
        )
    return None


def options(question: Question, language: str) -> list[Option]:
    """The answers of `question` as the email offers them, labels in `language`'s text."""
    if question.type in SCORES:
        points = question.points()
        if question.type == "csat" and len(question.labels) == len(points):
            return [Option(str(p), label) for p, label in zip(points, question.labels, strict=True)]
        return [Option(str(p), str(p)) for p in points]
    if question.type == "yes_no":
        with translation.override(language):
            return [
                Option("yes", translation.gettext("Yes")),
                Option("no", translation.gettext("No")),
            ]
    labels = question.choice_labels or question.choices
    found = [Option(c, label) for c, label in zip(question.choices, labels, strict=True)]
    if question.allow_other:
        # "Other" needs the person's own words: it opens the survey at the question.
        found.append(Option("", question.other_label))
    return found


def answer_link(link: str, question: Question, option: Option, language: str, default: str) -> str:
    out = link
    if language != default:
        out += f"&lang={_param(language)}"
    if option.value:
        out += f"&{question.key}={_param(option.value)}"
    return out


def _param(value: str) -> str:
    return quote(value, safe="")


def embed(
    survey: Survey, base: str, identifier: str, secret: str | None, language: str = ""
) -> EmailEmbed:
    """The email embed of `survey`'s first question, read in `language` (its own by default).

    `secret` is the signing secret to put in the Liquid (or the placeholder), None for a
    survey whose links are not signed. Raises `NotEmbeddable` with the reason.
    """
    spec = survey.spec
    problem = why_not(spec)
    if problem is not None:
        raise NotEmbeddable(problem)
    language = language if language in spec.languages else spec.language
    shown = spec.translated(language)
    question = shown.questions[0]
    link = survey_link(survey, identifier, base, secret)
    offered = options(question, language)
    links = [answer_link(link, question, o, language, spec.language) for o in offered]
    brand = load(survey.pk)
    html = _document(shown, question, offered, links, brand, base, language)
    text = _text(question, offered, links)
    return EmailEmbed(html=html, text=text, question=question.key)


# --- HTML ----------------------------------------------------------------------------------


def _html(text: str) -> str:
    """Author text as HTML that Braze's Liquid leaves alone: braces become entities, which a
    mail client shows as braces, so a prompt about `{{ price }}` cannot break the send."""
    return escape(text).replace("{", "&#123;").replace("}", "&#125;")


def _plain(text: str) -> str:
    """Author text for the plain-text part, where entities mean nothing: kept out of Liquid
    by `raw`, in which only an `endraw` could end it early."""
    if "{{" not in text and "{%" not in text:
        return text
    return "{% raw %}" + text.replace("{%", "{ %") + "{% endraw %}"


def _attr(url: str) -> str:
    """A URL as an href value. Only `&` and `"` are escaped: Braze reads the Liquid inside
    (`prepend: 'braze_id:'`) before any client parses the HTML, so quotes must stay as typed."""
    return url.replace("&", "&amp;").replace('"', "%22")


def _font(brand: Choices) -> str:
    return FONT_STACKS[Font(brand.font)].replace('"', "'")


def _button_colours(brand: Choices, dark: bool) -> tuple[str, str, str]:
    """Background, text and border of an answer button in one scheme."""
    shade = brand.plan.dark if dark else brand.plan.light
    if brand.button_fill == Fill.OUTLINE:
        return ("transparent", shade.colour, shade.colour)
    return (shade.colour, shade.text, shade.colour)


def _style_block(brand: Choices) -> str:
    bg, fg, border = _button_colours(brand, dark=True)
    return (
        "<style>"
        ":root{color-scheme:light dark;supported-color-schemes:light dark}"
        f"@media (prefers-color-scheme:dark){{"
        f".snd-page{{background:{PAGE_DARK}!important}}"
        f".snd-card{{background:{CARD_DARK}!important}}"
        f".snd-ink{{color:{INK_DARK}!important}}"
        f".snd-muted{{color:{MUTED_DARK}!important}}"
        f".snd-btn{{background:{bg}!important;border-color:{border}!important}}"
        f".snd-btn a{{color:{fg}!important}}}}"
        # Outlook.com marks the elements it recolours: keep the buttons' own pair there too.
        f"[data-ogsc] .snd-btn a{{color:{fg}!important}}"
        f"[data-ogsb] .snd-btn{{background:{bg}!important}}"
        "@media (max-width:480px){.snd-card{padding:20px 16px!important}}"
        "</style>"
    )


def _button(label: str, href: str, brand: Choices, width: str, title: str = "") -> str:
    bg, fg, border = _button_colours(brand, dark=False)
    radius = RADII[Shape(brand.button_shape)]
    titled = f' title="{_html(title)}"' if title else ""
    cell_bg = f' bgcolor="{bg}"' if bg != "transparent" else ""
    # A number is a square; a word gets room to breathe. Both are at least TAP high and wide
    # with their border, so eleven scores fit one line of a 600 px email.
    short = len(label) <= 2
    size = f"width:{TAP - 4}px;padding:0" if short else f"min-width:{TAP - 4}px;padding:0 14px"
    return (
        f'<table role="presentation" cellpadding="0" cellspacing="0" border="0" '
        f'style="border-collapse:separate;{width}"><tr>'
        f'<td class="snd-btn" align="center"{cell_bg} style="background:{bg};'
        f'border:2px solid {border};border-radius:{radius};mso-padding-alt:10px 12px">'
        f'<a href="{_attr(href)}"{titled} style="display:block;{size};'
        f"line-height:{TAP - 4}px;color:{fg};font-family:{_font(brand)};"
        f'font-size:16px;font-weight:600;text-decoration:none;border-radius:{radius}">'
        f"{_html(label)}</a></td></tr></table>"
    )


def _row_of_scores(offered: list[Option], links: list[str], brand: Choices, q: Question) -> str:
    """Scores side by side, wrapping onto a second line on a narrow screen. Outlook on Windows
    knows no inline-block, so a table it alone reads keeps them on one line there."""
    cells = []
    for option, href in zip(offered, links, strict=True):
        title = option.label if option.label != option.value else ""
        button = _button(option.label, href, brand, "", title)
        cells.append(
            '<div style="display:inline-block;vertical-align:top;margin:0 4px 8px 0">'
            f"{button}</div>"
        )
    joined = "<!--[if mso]></td><td><![endif]-->".join(cells)
    row = (
        '<!--[if mso]><table role="presentation" cellpadding="0" cellspacing="0"><tr><td>'
        f"<![endif]-->{joined}<!--[if mso]></td></tr></table><![endif]-->"
    )
    ends = ""
    if q.min_label or q.max_label:
        ends = (
            '<table role="presentation" width="100%" cellpadding="0" cellspacing="0"><tr>'
            f'<td class="snd-muted" align="left" style="{_small(brand)}">{_html(q.min_label)}</td>'
            f'<td class="snd-muted" align="right" style="{_small(brand)}">'
            f"{_html(q.max_label)}</td></tr></table>"
        )
    return f'<div style="text-align:left">{row}</div>{ends}'


def _column_of_choices(offered: list[Option], links: list[str], brand: Choices) -> str:
    rows = "".join(
        f'<tr><td style="padding:0 0 8px 0">{_button(o.label, href, brand, "width:100%")}</td></tr>'
        for o, href in zip(offered, links, strict=True)
    )
    return f'<table role="presentation" width="100%" cellpadding="0" cellspacing="0">{rows}</table>'


def _small(brand: Choices) -> str:
    return f"padding:4px 0 0 0;color:{MUTED_LIGHT};font-family:{_font(brand)};font-size:13px"


def _document(
    spec: SurveySpec,
    question: Question,
    offered: list[Option],
    links: list[str],
    brand: Choices,
    base: str,
    language: str,
) -> str:
    font = _font(brand)
    logo = ""
    if brand.logo is not None:
        # At most 160 px wide and 48 px high, the aspect kept: the size of the page's own logo.
        scale = min(1.0, 160 / brand.logo.width, 48 / brand.logo.height)
        w, h = max(1, round(brand.logo.width * scale)), max(1, round(brand.logo.height * scale))
        logo = (
            f'<tr><td style="padding:0 0 16px 0"><img src="{escape(base + brand.logo.url)}" '
            f'width="{w}" height="{h}" alt="{_html(brand.logo_alt)}" '
            'style="display:block;border:0;outline:none;text-decoration:none"></td></tr>'
        )
    helptext = ""
    if question.help:
        helptext = (
            f'<tr><td class="snd-muted" style="padding:0 0 16px 0;color:{MUTED_LIGHT};'
            f'font-family:{font};font-size:15px;line-height:1.4">{_html(question.help)}</td></tr>'
        )
    if question.type in SCORES:
        answers = _row_of_scores(offered, links, brand, question)
    else:
        answers = _column_of_choices(offered, links, brand)
    return (
        "<!DOCTYPE html>"
        f'<html lang="{escape(language)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta name="color-scheme" content="light dark">'
        '<meta name="supported-color-schemes" content="light dark">'
        f"<title>{_html(spec.title)}</title>{_style_block(brand)}</head>"
        f'<body class="snd-page" style="margin:0;padding:0;background:{PAGE_LIGHT}">'
        "<!-- Sounding survey: start. Everything to the matching end comment can be pasted "
        "into another template. -->"
        f'<table role="presentation" class="snd-page" width="100%" cellpadding="0" '
        f'cellspacing="0" border="0" style="background:{PAGE_LIGHT}"><tr>'
        '<td align="center" style="padding:24px 8px">'
        '<!--[if mso]><table role="presentation" width="600" cellpadding="0" cellspacing="0">'
        "<tr><td><![endif]-->"
        f'<table role="presentation" class="snd-card" width="100%" cellpadding="0" '
        f'cellspacing="0" border="0" style="max-width:600px;background:{CARD_LIGHT};'
        'border-radius:12px;padding:28px 24px">'
        f"{logo}"
        f'<tr><td class="snd-ink" style="padding:0 0 16px 0;color:{INK_LIGHT};'
        f'font-family:{font};font-size:20px;font-weight:700;line-height:1.3">'
        f"{_html(question.prompt)}</td></tr>{helptext}"
        f"<tr><td>{answers}</td></tr>"
        "</table><!--[if mso]></td></tr></table><![endif]--></td></tr></table>"
        "<!-- Sounding survey: end -->"
        "</body></html>"
    )


# --- Plain text ----------------------------------------------------------------------------


def _text(question: Question, offered: list[Option], links: list[str]) -> str:
    lines = [_plain(question.prompt)]
    if question.help:
        lines.append(_plain(question.help))
    lines.append("")
    if question.type in SCORES and (question.min_label or question.max_label):
        lines.append(
            f"{offered[0].value} = {_plain(question.min_label or offered[0].value)}, "
            f"{offered[-1].value} = {_plain(question.max_label or offered[-1].value)}"
        )
        lines.append("")
    for option, href in zip(offered, links, strict=True):
        label = option.label if option.value else f"{option.label}…"
        lines.append(f"{_plain(label)}: {href}")
    return "\n".join(lines) + "\n"
