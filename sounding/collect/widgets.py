"""How each question type is drawn: the choices offered and the attributes of its input.

Kept apart from the question types themselves, which only know about values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from sounding.surveys.questions import LONG_TEXT_MAX, OTHER, SHORT_TEXT_MAX
from sounding.surveys.spec import Question


@dataclass(frozen=True, slots=True)
class Option:
    value: str
    label: str
    checked: bool
    # Read by screen readers after the label: the meaning of a scale's end points.
    hint: str = ""


def options(q: Question, values: list[str]) -> list[Option]:
    picked = set(values)
    if q.type in ("nps", "rating", "scale"):
        points = q.points()
        return [
            Option(
                str(n),
                str(n),
                str(n) in picked,
                q.min_label if n == points[0] else q.max_label if n == points[-1] else "",
            )
            for n in points
        ]
    if q.type == "csat":
        return [
            Option(str(n), label, str(n) in picked)
            for n, label in zip(q.points(), q.labels, strict=False)
        ]
    if q.type == "yes_no":
        return [Option("yes", _("Yes"), "yes" in picked), Option("no", _("No"), "no" in picked)]
    labels = q.choice_labels or q.choices
    # The value is the default language's text, whatever language the label is in.
    out = [Option(c, label, c in picked) for c, label in zip(q.choices, labels, strict=True)]
    if q.allow_other:
        out.append(Option(OTHER, q.other_label, OTHER in picked))
    return out


def input_attrs(q: Question) -> dict[str, Any]:
    """Attributes of the single input that text, email, number and date questions use."""
    if q.type == "email":
        return {"type": "email", "maxlength": 254, "autocomplete": "email", "inputmode": "email"}
    if q.type == "number":
        return {"type": "text", "inputmode": "decimal", "maxlength": 40, "autocomplete": "off"}
    if q.type == "date":
        return {"type": "date"}
    if q.type == "long_text":
        return {"maxlength": LONG_TEXT_MAX}
    return {"type": "text", "maxlength": SHORT_TEXT_MAX, "autocomplete": "off"}


def auto_advances(q: Question) -> bool:
    """Whether a tap on a choice should save and move on (with JavaScript)."""
    return q.kind.template == "scale" or (
        q.kind.template == "options" and q.type != "multiple_choice" and not q.allow_other
    )
