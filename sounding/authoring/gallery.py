"""The template gallery of the new-survey page: each template as a marketer reads it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sounding.authoring.forms import TemplateStartForm
from sounding.authoring.translate import short_name
from sounding.surveys import rules
from sounding.surveys.edits import type_label
from sounding.surveys.library import Template, templates


@dataclass(frozen=True)
class Line:
    number: int
    prompt: str
    kind: str
    # "Only if question 1 is less than 7", or "" for a question always shown.
    condition: str


@dataclass(frozen=True)
class Card:
    template: Template
    form: TemplateStartForm
    lines: list[Line]
    languages: str

    @property
    def count(self) -> str:
        n = len(self.lines)
        return f"{n} question{'s' * (n != 1)}"


def _lines(questions: list[dict[str, Any]]) -> list[Line]:
    numbers = {q["key"]: i for i, q in enumerate(questions, start=1)}
    lines = []
    for i, q in enumerate(questions, start=1):
        rule = q.get("show_if")
        condition = ""
        if rule:
            source = rules.find(questions, rule["question"])
            kind = source["type"] if source else ""
            # "is 7 or 8" reads better on a card than "is one of 7 or 8".
            op_name = (
                "equals" if rule["op"] == "one_of" and kind != "multiple_choice" else rule["op"]
            )
            op = rules.operator_label(op_name, kind)
            raw = rule["value"]
            value = f"“{raw}”" if isinstance(raw, str) else rules.format_value(raw)
            condition = f"Only if question {numbers.get(rule['question'], '?')} {op} {value}"
        lines.append(Line(i, q["prompt"], type_label(q["type"]), condition))
    return lines


def cards(posted: TemplateStartForm | None = None) -> list[Card]:
    """Every template with its form; `posted` (a form sent back with errors) takes its
    template's place, so the errors show on the card they belong to."""
    found = []
    for template in templates():
        form = posted if posted is not None and posted.slug == template.slug else None
        found.append(
            Card(
                template=template,
                form=form or TemplateStartForm(template.slug, title=template.title),
                lines=_lines(template.questions),
                languages=", ".join(short_name(code) for code in template.languages),
            )
        )
    return found
