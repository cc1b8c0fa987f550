"""Edits the web app makes to a survey definition, as pure functions on the definition dict.

Each returns a new definition and leaves its input alone; `Survey.replace_definition`
validates the result, so these only need to refuse what validation cannot know about (a
question that is gone, a live survey left without questions).
"""

from __future__ import annotations

import copy
import re
from typing import Any

from sounding.surveys.questions import QUESTION_TYPES

TYPE_LABELS = {
    "nps": "Net Promoter Score (0–10)",
    "rating": "Rating (1–5)",
    "csat": "Satisfaction (CSAT)",
    "scale": "Scale",
    "single_choice": "Single choice",
    "multiple_choice": "Multiple choice",
    "dropdown": "Dropdown",
    "yes_no": "Yes / no",
    "short_text": "Short text",
    "long_text": "Long text",
    "email": "Email address",
    "number": "Number",
    "date": "Date",
}

_QUESTION_PATH = re.compile(r"^\$\.questions\[(\d+)\](?:\.([a-z_]+))?")


class EditRefused(ValueError):
    """An edit that would leave the survey unusable; the message says why."""


def type_label(name: str) -> str:
    return TYPE_LABELS.get(name, name.replace("_", " ").capitalize())


def types_with(field: str) -> list[str]:
    """The question types whose definition accepts `field` (e.g. "choices")."""
    return [name for name, kind in QUESTION_TYPES.items() if field in kind.fields]


def _questions(definition: dict[str, Any]) -> list[dict[str, Any]]:
    return list(definition.get("questions", []))


def _position(questions: list[dict[str, Any]], key: str) -> int:
    for i, question in enumerate(questions):
        if question.get("key") == key:
            return i
    raise EditRefused("That question is no longer in the survey; the page was out of date.")


def with_question(definition: dict[str, Any], question: dict[str, Any]) -> dict[str, Any]:
    return {**copy.deepcopy(definition), "questions": [*_questions(definition), question]}


def without_question(definition: dict[str, Any], key: str, *, live: bool) -> dict[str, Any]:
    questions = _questions(definition)
    del questions[_position(questions, key)]
    if live and not questions:
        # Respondents of a live survey need something to answer (see docs/survey-definition.md).
        raise EditRefused("A live survey needs at least one question: pause it first.")
    return {**copy.deepcopy(definition), "questions": questions}


def moved(definition: dict[str, Any], key: str, step: int) -> dict[str, Any]:
    """The question `key` moved `step` places (negative is up); clamped at either end."""
    questions = _questions(definition)
    start = _position(questions, key)
    end = max(0, min(len(questions) - 1, start + step))
    questions.insert(end, questions.pop(start))
    return {**copy.deepcopy(definition), "questions": questions}


def with_details(definition: dict[str, Any], details: dict[str, str]) -> dict[str, Any]:
    """Title and texts replaced; the questions are kept as they are."""
    return {**copy.deepcopy(definition), **details}


def question_field(path: str, index: int) -> str | None:
    """The question field a problem path points at, if it is about question `index`.

    `$.questions[3].choices[1]` is the field "choices" of question 3.
    """
    match = _QUESTION_PATH.match(path)
    if match is None or int(match.group(1)) != index:
        return None
    return match.group(2) or ""
