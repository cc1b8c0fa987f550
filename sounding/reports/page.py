"""The report page's content: the figures of `stats` and `results`, one section per question,
with its charts, in the survey's order."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.utils.safestring import SafeString

from sounding import destinations
from sounding.collect.models import Answer, Response
from sounding.reports import cache, charts, stats
from sounding.reports.results import Result, percent, result_for, show_percent
from sounding.surveys.authoring import type_label
from sounding.surveys.conditions import Condition
from sounding.surveys.models import Survey
from sounding.surveys.spec import Question, SurveySpec

PREVIEWED = 3  # newest answers shown under a text question; the rest are a click away
OPERATOR_WORDS = {
    "equals": "is",
    "one_of": "is one of",
    "less_than": "is less than",
    "greater_than": "is more than",
}


@dataclass(frozen=True)
class TextAnswer:
    text: str
    who: str
    started_at: datetime
    token: str


@dataclass
class Section:
    number: int
    question: Question
    type_label: str
    result: Result
    reached: int
    stopped: int
    condition: str = ""
    condition_met: int | None = None
    chart: SafeString | None = None
    groups_chart: SafeString | None = None
    latest: list[TextAnswer] = field(default_factory=list)

    @property
    def base(self) -> int:
        """Who could have answered: those the condition was met for, or those who got here."""
        return self.condition_met if self.condition_met is not None else self.reached

    @property
    def answer_rate(self) -> str:
        return show_percent(percent(self.result.answered, self.base) if self.base else None)


@dataclass
class Report:
    summary: stats.Summary
    sections: list[Section]
    never_answered: int
    removed: list[tuple[str, int]]

    @property
    def rate(self) -> str:
        return show_percent(self.summary.rate)


def who(response: Response) -> str:
    """The respondent by the identifier their link carried, or "Anonymous"."""
    if not response.identity_kind or not response.identity_value:
        return "Anonymous"
    name = destinations.identity_label(response.identity_kind)
    return f"{name} {response.identity_value}"


def text_answer(answer: Any) -> TextAnswer:
    r = answer.response
    return TextAnswer(stats.decode_text(answer.value), who(r), r.started_at, r.token)


def _value_words(q: Question | None, value: Any) -> str:
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, tuple | list):
        return ", ".join(_value_words(q, v) for v in value)
    if isinstance(value, str):
        return f"“{value}”"
    return str(value)


def describe(spec: SurveySpec, condition: Condition) -> str:
    """A condition in words: "Shown when question 1 is less than 7"."""
    source = spec.get(condition.question)
    name = f"question {spec.position(condition.question) + 1}" if source else condition.question
    verb = OPERATOR_WORDS.get(condition.op, condition.op)
    if source is not None and source.type == "multiple_choice":
        verb = "includes" if condition.op == "equals" else "includes any of"
    return f"Shown when {name} {verb} {_value_words(source, condition.value)}"


def _charts(section: Section) -> None:
    q, result = section.question, section.result
    if result.rows:
        title = f"Question {section.number}: answers to “{q.prompt}”"
        section.chart = charts.bar_chart(f"chart-{q.key}", title, result.rows)
    if result.groups:
        title = f"Question {section.number}: detractors, passives and promoters"
        section.groups_chart = charts.stacked_bar(f"chart-{q.key}-nps", title, result.groups)


def build(
    survey: Survey,
    filters: dict[str, Any],
    responses: QuerySet[Response],
    answers: QuerySet[Answer],
) -> Report:
    """The report of `responses`, those `filters` keep; `answers` must be theirs."""
    spec = survey.spec
    summary = stats.summary(responses)
    tallies: dict[str, stats.KeyTally] = {}
    progress = None
    if summary.started:
        counted = cache.counted(survey, filters, responses, answers)
        tallies, progress = counted.tallies, counted.progress(summary.completed)
    met = stats.condition_met(spec, tallies)
    sections = []
    for i, q in enumerate(spec.questions):
        section = Section(
            number=i + 1,
            question=q,
            type_label=type_label(q.type),
            result=result_for(q, tallies.get(q.key)),
            reached=progress.reached(i) if progress else 0,
            stopped=progress.stopped[i] if progress else 0,
            condition=describe(spec, q.show_if) if q.show_if else "",
            condition_met=met.get(q.key),
        )
        _charts(section)
        if section.result.kind == "text" and section.result.answered:
            found = stats.text_answers(answers, q.key)[:PREVIEWED]
            section.latest = [text_answer(a) for a in found]
        sections.append(section)
    current = set(spec.keys)
    removed = sorted((k, t.answered) for k, t in tallies.items() if k not in current)
    return Report(summary, sections, progress.never_answered if progress else 0, removed)
