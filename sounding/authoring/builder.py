"""What the survey builder page shows: each question with its condition in words, its answer
count and its editor; the add form; the preview; the data the page script reads.

Views decide what happened; this module only lays out the page for them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from sounding.authoring.forms import QuestionEditForm, initial_for
from sounding.surveys import rules
from sounding.surveys.edits import type_label, types_with
from sounding.surveys.models import Survey

FIELD_TYPES = ("choices", "min", "min_label", "labels", "placeholder")


def preview_url(survey: Survey, key: str = "") -> str:
    query = {"preview": 1, **({"q": key} if key else {})}
    return f"{survey.public_path()}?{urlencode(query)}"


def edit_form(
    survey: Survey,
    key: str,
    data: Any = None,
    *,
    answered: int = 0,
    locked: bool = False,
) -> QuestionEditForm:
    """The editor of question `key`: bound to `data` when given, else showing the saved one."""
    questions = survey.definition["questions"]
    question = next(q for q in questions if q["key"] == key)
    return QuestionEditForm(
        data,
        prefix=f"q-{key}",
        initial={**initial_for(question), "version": survey.version},
        questions=questions,
        key=key,
        answered=answered,
        key_locked=locked,
    )


@dataclass
class Row:
    question: dict[str, Any]
    number: int
    type_label: str
    sentence: rules.Sentence | None
    answers: int
    form: QuestionEditForm | None
    open: bool
    preview: str
    # What destinations say about the question (`SurveyPanel.notes`).
    notes: list[str] = field(default_factory=list)


def rows(
    survey: Survey,
    *,
    can_edit: bool,
    counts: dict[str, int],
    locked: bool,
    editing: tuple[str, QuestionEditForm] | None = None,
    notes: Sequence[Mapping[str, str]] = (),
) -> list[Row]:
    questions = survey.definition["questions"]
    out = []
    for number, question in enumerate(questions, 1):
        key = question["key"]
        form = None
        if editing is not None and editing[0] == key:
            form = editing[1]
        elif can_edit:
            form = edit_form(survey, key, answered=counts.get(key, 0), locked=locked)
        rule = question.get("show_if")
        out.append(
            Row(
                question=question,
                number=number,
                type_label=type_label(question["type"]),
                sentence=rules.describe(rule, questions) if rule else None,
                answers=counts.get(key, 0),
                form=form,
                open=editing is not None and editing[0] == key,
                preview=preview_url(survey, key),
                notes=[said[key] for said in notes if key in said],
            )
        )
    return out


def types_with_fields() -> dict[str, str]:
    return {field: " ".join(types_with(field)) for field in FIELD_TYPES}


def script_data(survey: Survey) -> dict[str, Any]:
    """What builder.js needs to build a condition's inputs without asking the server."""
    return {
        "version": survey.version,
        "questions": [
            {
                "key": q["key"],
                "type": q["type"],
                "prompt": rules.short_prompt(q["prompt"]),
                "kind": rules.value_kind(q["type"]),
                "choices": q.get("choices") or [],
                "operators": [
                    [op, rules.operator_label(op, q["type"])]
                    for op in rules.operators_for(q["type"])
                ],
            }
            for q in survey.definition["questions"]
        ],
    }


def _ops(question: dict[str, Any]) -> list[str]:
    return rules.operators_for(question["type"])
