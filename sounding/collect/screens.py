"""The question screens respond.js shows without asking the server for a page.

Once an answer is stored (sounding.collect.answers), the script needs only the facts that
depend on the answers to show the next question (progress, buttons, the stored value, the
token); the markup it takes from these screens: question.html's own, rendered blank in the
survey's language, each in an inert `<template>`. So the client never needs a renderer of its
own per question type.

They come with the reply to the script's first answer, not inside the page: a browser without
JavaScript never downloads them, the page weighs what it always did (a branded page with its
logo stays under 30 KB), a page's text holds one form only, and they cost no request of their
own. Only a request the answers endpoint takes gets them, so a survey that signs its links
shows them only on a link it signed. They change only with the survey's version, so each
process renders them once per version and language.
"""

from __future__ import annotations

from typing import Any

from django.template import engines
from django.utils import translation

from sounding.collect import widgets
from sounding.surveys.cache import PerVersion
from sounding.surveys.models import Survey
from sounding.surveys.spec import SurveySpec


def _fresh(survey: Survey) -> dict[tuple[str, str], str]:
    return {}


# Per survey version: the screens by (survey language, language of the app's own words).
_rendered: PerVersion[dict[tuple[str, str], str]] = PerVersion(_fresh)


def render(survey: Survey, spec: SurveySpec) -> str:
    """Every question's screen in `spec`'s language (the active one for the app's words)."""
    key = (spec.language, translation.get_language() or "")
    by_language = _rendered(survey)
    found = by_language.get(key)
    if found is None:
        found = _render(spec)
        by_language[key] = found
    return found


def _render(spec: SurveySpec) -> str:
    total = len(spec.questions)
    screens = [
        {
            "q": q,
            # The intro shows above the first question only; the count is the script's.
            "number": i + 1,
            "options": widgets.options(q, []),
            "attrs": widgets.input_attrs(q),
            "auto": widgets.auto_advances(q),
        }
        for i, q in enumerate(spec.questions)
    ]
    context: dict[str, Any] = {
        "spec": spec,
        "screens": screens,
        "total": total,
        "percent": 0,
        # Both buttons are drawn; the script labels Next and keeps Back where it applies.
        "is_last": False,
        "can_go_back": True,
        "token": "",
        "value": "",
        "other": "",
        "error": "",
        "action": "",
        "preview": False,
        "offered": False,
        "confirm_after": 0,
        "saved": False,
    }
    return engines["jinja2"].get_template("collect/screens.html").render(context)
