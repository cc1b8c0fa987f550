"""Skip logic: a question shown only when an earlier answer matches a condition.

A condition (`show_if` in a definition) names one earlier question, an operator and a value:
`{"question": "nps", "op": "less_than", "value": 7}`. Values are compared with answers as they
are stored (numbers, choice texts in the survey's default language, booleans), so a condition
means the same whatever language the respondent reads the survey in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sounding.surveys.questions import QUESTION_TYPES, Problems

OPERATORS = ("equals", "one_of", "less_than", "greater_than")
NUMERIC_TYPES = frozenset({"nps", "rating", "csat", "scale", "number"})
CHOICE_TYPES = frozenset({"single_choice", "dropdown", "multiple_choice"})
RULE_FIELDS = frozenset({"question", "op", "value"})
MAX_ONE_OF = 100


@dataclass(frozen=True, slots=True)
class Condition:
    question: str
    op: str
    value: Any

    def holds(self, answers: Mapping[str, Any]) -> bool:
        """Whether the answers so far show the question; an unanswered question hides it."""
        if self.question not in answers:
            return False
        answer = answers[self.question]
        if self.op in ("less_than", "greater_than"):
            if not _is_number(answer):
                return False
            return answer < self.value if self.op == "less_than" else answer > self.value
        wanted = [self.value] if self.op == "equals" else list(self.value)
        given = answer if isinstance(answer, list) else [answer]
        # A multiple-choice answer matches when any pick does: "equals Email" reads as
        # "picked Email", and "one of" as "picked any of these".
        return any(_same(a, w) for a in given for w in wanted)

    def as_dict(self) -> dict[str, Any]:
        value = list(self.value) if isinstance(self.value, tuple) else self.value
        return {"question": self.question, "op": self.op, "value": value}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _same(answer: Any, wanted: Any) -> bool:
    # A boolean is not a number here: true must not match a score of 1.
    if isinstance(answer, bool) or isinstance(wanted, bool):
        return isinstance(answer, bool) and isinstance(wanted, bool) and answer == wanted
    return bool(answer == wanted)


def _value_problem(earlier: Mapping[str, Any], value: Any) -> str | None:
    """Why `value` could never be an answer of the question `earlier`, or None."""
    kind = earlier["type"]
    if kind in NUMERIC_TYPES:
        if not _is_number(value):
            return "must be a number"
        # A range left out is the type's default (a scale is 1 to 5); a broken one is reported
        # on that question, and ignored here.
        defaults = QUESTION_TYPES[kind].defaults()
        low, high = (
            bound if _is_number(bound) else None
            for bound in (earlier.get(name, defaults.get(name)) for name in ("min", "max"))
        )
        fixed = {"nps": (0, 10), "rating": (1, 5), "csat": (1, 5)}.get(kind)
        if fixed:
            low, high = fixed
        if (low is not None and value < low) or (high is not None and value > high):
            return "is not an answer that question can have"
        return None
    if kind in CHOICE_TYPES:
        given = earlier.get("choices")
        given = given if isinstance(given, list) else []
        choices = [c.strip() for c in given if isinstance(c, str)]
        if not isinstance(value, str) or value not in choices:
            return "must be one of that question's choices"
        return None
    if kind == "yes_no":
        return None if isinstance(value, bool) else "must be true or false"
    if not isinstance(value, str) or not value.strip() or len(value) > 255:
        return "must be a text of 1 to 255 characters"
    return None


def check(
    rule: Any, path: str, earlier: Mapping[str, Mapping[str, Any]], problems: Problems
) -> None:
    """Add a problem for everything wrong with one `show_if`; `earlier` maps the keys of the
    questions before it (already type-checked) to their raw definitions."""
    if not isinstance(rule, dict):
        problems.append((path, "must be an object with question, op and value"))
        return
    for name in sorted(set(rule) - RULE_FIELDS):
        problems.append((f"{path}.{name}", "is not a field of a condition"))
    key, op = rule.get("question"), rule.get("op")
    if not isinstance(key, str) or key not in earlier:
        problems.append((f"{path}.question", "must be the key of an earlier question"))
        return
    if op not in OPERATORS:
        problems.append((f"{path}.op", f"must be one of: {', '.join(OPERATORS)}"))
        return
    target = earlier[key]
    if "value" not in rule:
        problems.append((f"{path}.value", "is required"))
        return
    value = rule["value"]
    if op in ("less_than", "greater_than"):
        if target["type"] not in NUMERIC_TYPES:
            problems.append((f"{path}.op", f"{op} only applies to questions that take a number"))
        elif not _is_number(value):
            problems.append((f"{path}.value", "must be a number"))
        return
    if op == "one_of":
        if not isinstance(value, list) or not value or len(value) > MAX_ONE_OF:
            problems.append((f"{path}.value", f"must be a list of 1 to {MAX_ONE_OF} values"))
            return
        for i, item in enumerate(value):
            problem = _value_problem(target, item)
            if problem:
                problems.append((f"{path}.value[{i}]", problem))
        return
    problem = _value_problem(target, value)
    if problem:
        problems.append((f"{path}.value", problem))


def normalized(rule: dict[str, Any]) -> dict[str, Any]:
    value = rule["value"]
    if isinstance(value, str):
        value = value.strip()
    elif isinstance(value, list):
        value = list(dict.fromkeys(v.strip() if isinstance(v, str) else v for v in value))
    return {"question": rule["question"], "op": rule["op"], "value": value}


def from_definition(rule: Mapping[str, Any] | None) -> Condition | None:
    if not rule:
        return None
    value = rule["value"]
    return Condition(
        rule["question"], rule["op"], tuple(value) if isinstance(value, list) else value
    )
