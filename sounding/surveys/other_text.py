"""What a respondent typed in "Other", read apart from the choices they picked.

A choice question that offers "Other" stores the typed text in place of a choice (among the
choices, for multiple choice): the respondent page shows the answer back from that. Everything
that hands answers on (exports, the API, every destination) reads them through `split`: the
choices with the "Other" label where the text was, and the text on its own, so that
"Packaging; Gift wrapping" becomes "Packaging; Other" and "Gift wrapping".

Which text is "Other" is read against the question as it is now, the way the report counts
it: a stored value that is not one of its choices. An answer naming a choice since removed
therefore reads as "Other" text while the question offers "Other" (renamed choices are carried
along by the edit, so they stay choices).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sounding.surveys.questions import OTHER_LABEL
from sounding.surveys.spec import Question, SurveySpec

CHOICE_TYPES = frozenset({"single_choice", "dropdown", "multiple_choice"})
# Joins the texts of an answer that holds more than one value outside the choices (a removed
# choice beside the typed text); the same separator as lists in a CSV cell.
JOIN = "; "


def offers_other(q: Question) -> bool:
    return q.type in CHOICE_TYPES and q.allow_other


def label(q: Question) -> str:
    """The value that stands for "Other" among the choices: the label the survey shows in its
    own language."""
    return q.other_label.strip() or OTHER_LABEL


def split(q: Question, value: Any) -> tuple[Any, str | None]:
    """(the answer with the "Other" label in place of typed text, the typed text or None).

    Values of any other shape, and questions that offer no "Other", come back as they are."""
    if not offers_other(q):
        return value, None
    if isinstance(value, str):
        return (label(q), value) if value not in q.choices else (value, None)
    if not isinstance(value, list):
        return value, None
    typed = [v for v in value if isinstance(v, str) and v not in q.choices]
    if not typed:
        return value, None
    picked = [v for v in value if not (isinstance(v, str) and v not in q.choices)]
    if label(q) not in picked:
        picked.append(label(q))
    return picked, JOIN.join(typed)


def split_answers(
    spec: SurveySpec, answers: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """A response's answers with every "Other" text moved out: (answers, key -> text)."""
    out: dict[str, Any] = {}
    other: dict[str, str] = {}
    for key, value in answers.items():
        q = spec.get(key)
        if q is None:
            out[key] = value
            continue
        out[key], text = split(q, value)
        if text is not None:
            other[key] = text
    return out, other
