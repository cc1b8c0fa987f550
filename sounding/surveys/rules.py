"""Skip logic as authors see it: which conditions fit a question, how a condition reads, and
which questions lean on which.

A condition is the `show_if` of a question (see docs/survey-definition.md):
`{"question": <an earlier key>, "op": ..., "value": ...}`. `definition.normalize` is the judge
of what is valid; this module words things for people and spots, before an edit is saved,
the ones that would leave a condition pointing nowhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sounding.surveys.conditions import CHOICE_TYPES, NUMERIC_TYPES, OPERATORS

OPERATOR_LABELS = {
    "equals": "is",
    "one_of": "is one of",
    "less_than": "is less than",
    "greater_than": "is greater than",
}
# A multiple-choice answer is a list: "equals X" means X is among the picks.
MULTIPLE_LABELS = {"equals": "includes", "one_of": "includes any of"}
PROMPT_LENGTH = 60

Question = dict[str, Any]


def value_kind(question_type: str) -> str:
    """What a condition on a question of this type compares: choice, yes_no, number or text."""
    if question_type in CHOICE_TYPES:
        return "choice"
    if question_type == "yes_no":
        return "yes_no"
    if question_type in NUMERIC_TYPES:
        return "number"
    return "text"


def operators_for(question_type: str) -> list[str]:
    kind = value_kind(question_type)
    if kind == "number":
        return list(OPERATORS)
    if kind == "yes_no":
        return ["equals"]
    return ["equals", "one_of"]


def operator_label(op: str, question_type: str) -> str:
    if question_type == "multiple_choice" and op in MULTIPLE_LABELS:
        return MULTIPLE_LABELS[op]
    return OPERATOR_LABELS.get(op, op)


def short_prompt(prompt: str) -> str:
    prompt = " ".join(prompt.split())
    return prompt if len(prompt) <= PROMPT_LENGTH else prompt[: PROMPT_LENGTH - 1].rstrip() + "…"


def format_value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        items = [format_value(v) for v in value]
        return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]
    return str(value)


@dataclass(frozen=True)
class Sentence:
    """ "Only if *prompt* condition": the prompt apart, so a page can set it off."""

    prompt: str
    condition: str

    def __str__(self) -> str:
        return f"Only if “{self.prompt}” {self.condition}"


def describe(rule: dict[str, Any], questions: list[Question]) -> Sentence:
    source = find(questions, rule.get("question", ""))
    if source is None:
        return Sentence(rule.get("question", "?"), "is answered (that question is gone)")
    label = operator_label(rule.get("op", ""), source["type"])
    return Sentence(short_prompt(source["prompt"]), f"{label} {format_value(rule.get('value'))}")


def find(questions: list[Question], key: str) -> Question | None:
    return next((q for q in questions if q.get("key") == key), None)


def dependents(questions: list[Question], key: str) -> list[Question]:
    """The questions shown only depending on the answer to `key`."""
    return [q for q in questions if (q.get("show_if") or {}).get("question") == key]


def order_problem(questions: list[Question]) -> str | None:
    """Why this order breaks a condition (one must follow the question it depends on)."""
    seen: set[str] = set()
    for question in questions:
        source_key = (question.get("show_if") or {}).get("question")
        if source_key and source_key not in seen:
            source = find(questions, source_key)
            name = f"“{short_prompt(source['prompt'])}”" if source else source_key
            return (
                f"“{short_prompt(question['prompt'])}” must stay after {name}: it is shown "
                "only depending on that answer. Change or remove its condition first."
            )
        seen.add(question["key"])
    return None


def renamed_value(value: Any, renames: dict[str, str]) -> Any:
    """A condition's value with renamed choices given their new text."""
    if isinstance(value, list):
        return [renames.get(v, v) if isinstance(v, str) else v for v in value]
    return renames.get(value, value) if isinstance(value, str) else value
