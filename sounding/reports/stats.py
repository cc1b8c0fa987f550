"""The numbers of a survey's report, counted by the database.

A survey can hold 100,000 responses and a million answers, so nothing here loads answers one
by one: every figure comes from a handful of aggregate queries over the responses the report's
filters keep (see docs/results.md for what each query costs). Turning the counts into scores,
shares and medians is plain arithmetic on at most a few hundred numbers (`reports.results`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import (
    Case,
    Count,
    IntegerField,
    Max,
    Q,
    QuerySet,
    Value,
    When,
)

from sounding.answers.models import Answer, Response
from sounding.reports.expressions import JsonText, contains_folded
from sounding.surveys.spec import SurveySpec

SCORE_TYPES = frozenset({"nps", "rating", "csat", "scale"})
CHOICE_TYPES = frozenset({"single_choice", "dropdown", "multiple_choice", "yes_no"})
TEXT_TYPES = frozenset({"short_text", "long_text", "email"})
# Types whose answers are counted value by value: few distinct values each.
GROUPED_TYPES = SCORE_TYPES | CHOICE_TYPES


@dataclass(frozen=True)
class Summary:
    started: int
    completed: int
    last_at: datetime | None

    @property
    def rate(self) -> float | None:
        """Completed responses as a percentage of those started (None when there are none)."""
        return 100 * self.completed / self.started if self.started else None


@dataclass
class KeyTally:
    """What the answers to one question key add up to."""

    answered: int = 0
    # Each distinct value with its count, for keys counted value by value.
    values: list[tuple[Any, int]] = field(default_factory=list)
    low: float | None = None  # number questions
    high: float | None = None
    total: float | None = None
    numbers: int = 0  # how many answers are numbers (the mean's divisor)
    first: str | None = None  # date questions (ISO dates sort as text)
    last: str | None = None

    @property
    def mean(self) -> float | None:
        return self.total / self.numbers if self.numbers and self.total is not None else None

    def plus(self, other: KeyTally) -> KeyTally:
        """The tally of both sets of answers (of different responses)."""
        values: dict[str, tuple[Any, int]] = {}
        for value, n in self.values + other.values:
            name = json.dumps(value, sort_keys=True)
            values[name] = (value, values.get(name, (value, 0))[1] + n)
        return KeyTally(
            answered=self.answered + other.answered,
            values=list(values.values()),
            low=_pick(min, self.low, other.low),
            high=_pick(max, self.high, other.high),
            total=_pick(_add, self.total, other.total),
            numbers=self.numbers + other.numbers,
            first=_pick(min, self.first, other.first),
            last=_pick(max, self.last, other.last),
        )


def _add(a: float, b: float) -> float:
    return a + b


def _pick(choose: Any, a: Any, b: Any) -> Any:
    """`choose(a, b)`, or whichever is not None."""
    if a is None or b is None:
        return b if a is None else a
    return choose(a, b)


def merge_tallies(first: dict[str, KeyTally], second: dict[str, KeyTally]) -> dict[str, KeyTally]:
    out = dict(first)
    for key, found in second.items():
        out[key] = out[key].plus(found) if key in out else found
    return out


@dataclass(frozen=True)
class Progress:
    """How far incomplete responses got, in the order of the survey's questions."""

    completed: int
    stopped: list[int]  # incomplete responses whose last answered question is question i
    never_answered: int  # incomplete responses without a single answer

    def reached(self, i: int) -> int:
        """Responses that answered question i or a later one, or finished the survey."""
        return self.completed + sum(self.stopped[i:])


def summary(responses: QuerySet[Response]) -> Summary:
    found = responses.aggregate(
        started=Count("pk"),
        completed=Count("pk", filter=Q(completed_at__isnull=False)),
        last_at=Max("updated_at"),
    )
    return Summary(found["started"], found["completed"], found["last_at"])


def grouped_keys(spec: SurveySpec) -> list[str]:
    """Keys counted value by value: scores and choices, and any question a condition reads
    (its values decide how many respondents a conditional question was meant for)."""
    keys = {q.key for q in spec.questions if q.type in GROUPED_TYPES}
    keys |= {q.show_if.question for q in spec.questions if q.show_if is not None}
    return sorted(keys)


def progress(responses: QuerySet[Response], spec: SurveySpec, completed: int) -> Progress:
    """Where incomplete responses stopped: the furthest question each answered, counted per
    question in one query (an aggregate over a per-response aggregate)."""
    keys = spec.keys
    position = Case(
        *[When(answers__question_key=key, then=Value(i)) for i, key in enumerate(keys)],
        default=Value(None),
        output_field=IntegerField(),
    )
    furthest = responses.filter(completed_at__isnull=True).annotate(furthest=Max(position))
    counts = {f"at_{i}": Count("pk", filter=Q(furthest=i)) for i in range(len(keys))}
    found = furthest.aggregate(none=Count("pk", filter=Q(furthest__isnull=True)), **counts)
    return Progress(
        completed=completed,
        stopped=[found[f"at_{i}"] for i in range(len(keys))],
        never_answered=found["none"],
    )


def condition_met(spec: SurveySpec, tallies: dict[str, KeyTally]) -> dict[str, int]:
    """For each conditional question, how many responses' answers meet its condition."""
    out: dict[str, int] = {}
    for q in spec.questions:
        if q.show_if is None:
            continue
        read = tallies.get(q.show_if.question, KeyTally())
        out[q.key] = sum(n for v, n in read.values if q.show_if.holds({q.show_if.question: v}))
    return out


def text_answers(answers: QuerySet[Answer], key: str, search: str = "") -> QuerySet[Answer]:
    """The answers to `key`, newest response first, with their response (for who said it).

    With `answers` filtered through their own join on the response (`filters.answers`), the
    database walks the responses' (survey, started_at) index newest first and stops once a
    page is full: a first page costs the same with a hundred responses or a hundred thousand."""
    found = answers.filter(question_key=key)
    if search:
        found = found.filter(contains_folded(JsonText("value"), search))
    return found.select_related("response").order_by("-response__started_at", "-response__id")


def decode_text(value: Any) -> str:
    """An answer shown as text: strings as they are, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
