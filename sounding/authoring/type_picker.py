"""The builder's question type picker: one radio card per type, with an icon and a line saying
what respondents get. A plain radio group in the form, so it works without JavaScript; the
builder script only closes it after a pick and follows the type with the fields shown.

The icons are inline SVG drawn with presentation attributes and the stylesheet (the
Content-Security-Policy allows no `style` attribute), one path each on a 24-unit grid.
"""

from __future__ import annotations

from typing import Any

from django import forms

DESCRIPTIONS = {
    "nps": "How likely they are to recommend you, from 0 to 10.",
    "rating": "A score from 1 to 5.",
    "csat": "Five labelled steps, from very unsatisfied to very satisfied.",
    "scale": "A number between two ends you choose.",
    "single_choice": "One answer from a list.",
    "multiple_choice": "Any number of answers from a list.",
    "dropdown": "One answer from a menu, for long lists.",
    "yes_no": "Yes or no.",
    "short_text": "A line of text.",
    "long_text": "A few sentences.",
    "email": "An email address, checked as typed.",
    "number": "A number, within limits if you set them.",
    "date": "A day from a calendar.",
}

ICONS = {
    "nps": "M4 17a8 8 0 0 1 16 0M12 17l4-5M4 20h16",
    "rating": "M12 3l2.8 5.7 6.2.9-4.5 4.4 1.1 6.2L12 17.3l-5.6 2.9 1.1-6.2L3 9.6l6.2-.9z",
    "csat": "M12 3a9 9 0 1 0 0 18 9 9 0 1 0 0-18zM8 14.5s1.5 2 4 2 4-2 4-2M9 9.5h.01M15 9.5h.01",
    "scale": "M3 12h18M5 8v8M19 8v8M12 9v6",
    "single_choice": "M12 4a8 8 0 1 0 0 16 8 8 0 1 0 0-16zM12 9a3 3 0 1 0 0 6 3 3 0 1 0 0-6z",
    "multiple_choice": "M4 4h16v16H4zM8 12l3 3 5-6",
    "dropdown": "M3 6h18v12H3zM14 11l2 2 2-2M6 12h5",
    "yes_no": "M3 12l3 3 6-6M15 8l6 6M21 8l-6 6",
    "short_text": "M3 8h18v8H3zM6 12h7",
    "long_text": "M4 6h16M4 10h16M4 14h16M4 18h10",
    "email": "M3 6h18v12H3zM3 7l9 6 9-6",
    "number": "M10 4L8 20M16 4l-2 16M4 9h16M3 15h16",
    "date": "M4 6h16v14H4zM4 10h16M8 3v5M16 3v5",
}


def icon(name: str) -> str:
    return ICONS.get(name, ICONS["short_text"])


class TypePicker(forms.RadioSelect):
    """The question types as radio cards: name, icon and description."""

    template_name = "surveys/widgets/type_picker.html"

    def create_option(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(*args, **kwargs)
        value = str(option["value"])
        option["icon"] = icon(value)
        option["description"] = DESCRIPTIONS.get(value, "")
        option["attrs"]["aria-describedby"] = f"{option['attrs']['id']}_desc"
        return option
