"""Answers and respondents as a person reads them on the responses pages."""

from __future__ import annotations

from datetime import date
from typing import Any

from sounding import destinations
from sounding.answers.models import Response
from sounding.surveys import other_text
from sounding.surveys.spec import Question

SCORES = frozenset({"nps", "rating", "scale"})


def identities(response: Response) -> list[tuple[str, str]]:
    """(label, value) of every identifier the link carried, the one they are known by first."""
    found = [(k, v) for k, v in response.identity.items() if v]
    found.sort(key=lambda kv: kv[0] != response.identity_kind)
    return [(destinations.identity_label(k), v) for k, v in found]


def who(response: Response) -> str:
    found = identities(response)
    if not found:
        return "Anonymous"
    label, value = found[0]
    return f"{label} {value}"


def _number(value: float | int) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value:,}" if isinstance(value, int) else f"{value:,.10g}"


def _score(question: Question, value: Any) -> str:
    if question.type == "csat" and question.labels:
        low = int(question.min or 1)
        index = int(value) - low
        if 0 <= index < len(question.labels):
            return f"{value} ({question.labels[index]})"
    if question.max is not None:
        return f"{value} of {_number(question.max)}"
    return str(value)


def readable(question: Question | None, value: Any) -> str:
    """The answer in words: "Yes", "9 of 10", "Email, SMS", "4 Mar 2021", "Email, Other: “By
    post”" (the text typed in "Other" after its label, as the exports split it)."""
    if value is None:
        return "—"
    if question is not None and other_text.offers_other(question):
        picked, text = other_text.split(question, value)
        if text is not None:
            return f"{readable(None, picked)}: “{text}”"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, int | float):
        if question is not None and (question.type in SCORES or question.type == "csat"):
            return _score(question, value)
        return _number(value)
    if question is not None and question.type == "date" and isinstance(value, str):
        try:
            return date.fromisoformat(value).strftime("%-d %b %Y")
        except ValueError:
            return value
    return str(value)


def shorten(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
