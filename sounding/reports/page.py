"""The report page's content: the figures of `stats` and `results`, one section per question,
with its charts, in the survey's order."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Max, Min, QuerySet
from django.utils import timezone
from django.utils.safestring import SafeString

from sounding import destinations
from sounding.answers.models import Answer, Response
from sounding.reports import cache, charts, filters, periods, stats, trends
from sounding.reports.results import Result, percent, result_for, show_percent
from sounding.surveys.conditions import Condition
from sounding.surveys.edits import type_label
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
    trend: trends.Trend | None = None
    trend_chart: SafeString | None = None
    comparison: trends.Comparison | None = None
    breakdown: trends.Breakdown | None = None
    breakdown_chart: SafeString | None = None

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
    bucket: str = periods.DEFAULT_BUCKET
    span: periods.Span | None = None  # the trend's days
    too_many_buckets: int = 0  # the trend left out: it would have this many buckets
    previous: periods.Span | None = None  # the period compared with
    previous_summary: stats.Summary | None = None
    by: str = ""  # the breakdown, in words

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


def scale(q: Question) -> tuple[float, float]:
    """The range a question's headline figure can take, for a chart's axis."""
    if q.type == "nps":
        return -100.0, 100.0
    if q.type == "csat":
        return 0.0, 100.0
    low = q.min if q.min is not None else 0.0
    high = q.max if q.max is not None else 10.0
    return float(low), float(high)


def _fraction(q: Question, value: float | None) -> float:
    if value is None:
        return 0.0
    low, high = scale(q)
    return (value - low) / (high - low) if high > low else 0.0


def _trend_chart(section: Section) -> None:
    q, found = section.question, section.trend
    if found is None:
        return
    name = trends.figure_name(q)
    points = [
        (p.short, p.figure.value, f"{p.figure.shown}, {p.figure.answered:,} answers")
        if p.figure.answered
        else (p.short, None, "no answers")
        for p in found.points
    ]
    title = f"Question {section.number}: {name} by {found.bucket}"
    low, high = scale(q)
    section.trend_chart = charts.trend_chart(f"trend-{q.key}", title, points, low, high)


def _breakdown_chart(section: Section) -> None:
    q, found = section.question, section.breakdown
    if found is None or found.kind != "scores":
        return
    bars = [
        (
            g.label,
            _fraction(q, g.figure.value),
            f"{g.figure.shown} · {g.result.answered:,} answered",
        )
        for g in found.groups
        if g.figure is not None
    ]
    name = trends.figure_name(q)
    title = f"Question {section.number}: {name} by {found.by}"
    section.breakdown_chart = charts.figure_bars(f"by-{q.key}", title, bars)


def _span(data: dict[str, Any], responses: QuerySet[Response]) -> periods.Span | None:
    """The days the report covers: those chosen, or from the first response to the last."""
    chosen = filters.span(data)
    if chosen is not None:
        return chosen
    found = responses.aggregate(first=Min("started_at"), last=Max("started_at"))
    if found["first"] is None:
        return None
    first, last = timezone.localtime(found["first"]), timezone.localtime(found["last"])
    return periods.Span(first.date(), last.date())


def _trend(spec: SurveySpec, bucket: str, span: periods.Span | None) -> cache.Trend | None:
    keys = tuple(q.key for q in trends.score_questions(spec))
    if not keys or span is None or periods.count(span, bucket) > periods.MAX_BUCKETS:
        return None
    return cache.Trend(keys, bucket, span)


def _when(
    survey: Survey,
    data: dict[str, Any],
    span: periods.Span | None,
    counted: cache.Counted,
    report: Report,
) -> None:
    """The trend of every score question and the comparison with the period before."""
    keys = [q.key for q in trends.score_questions(survey.spec)]
    then: dict[str, stats.KeyTally] = {}
    if filters.span(data) is not None and span is not None:
        before = span.previous()
        earlier = {**filters.counted(data), "since": before.first, "until": before.last}
        report.previous = before
        previous = filters.responses(survey, earlier)
        report.previous_summary = stats.summary(previous)
        if keys and report.previous_summary.started:
            # Its tallies kept between views too: a later view only adds what changed.
            then = cache.counted(survey, earlier, previous).tallies
    if not keys or span is None:
        return
    report.span = span
    if periods.count(span, report.bucket) > periods.MAX_BUCKETS:
        report.too_many_buckets = periods.count(span, report.bucket)
    now = {s.question.key: s for s in report.sections}
    for key in keys:
        section = now[key]
        q = section.question
        if not report.too_many_buckets:
            found = counted.trend.get(key, {})
            section.trend = trends.trend(q, found, span, report.bucket)
            _trend_chart(section)
        if report.previous is not None:
            section.comparison = trends.compare(q, counted.tallies.get(key), then.get(key))


def build(
    survey: Survey,
    filters_given: dict[str, Any],
    responses: QuerySet[Response],
    answers: QuerySet[Answer],
) -> Report:
    """The report of `responses`, those `filters_given` keep; `answers` must be theirs."""
    spec = survey.spec
    summary = stats.summary(responses)
    tallies: dict[str, stats.KeyTally] = {}
    progress = None
    bucket = filters_given.get("bucket") or periods.DEFAULT_BUCKET
    span = None
    counted = None
    if summary.started:
        span = _span(filters_given, responses)
        trend = _trend(spec, bucket, span)
        chosen = filters.counted(filters_given)
        by = filters_given.get("by") or ""
        counted = cache.counted(survey, chosen, responses, trend, by)
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
    report = Report(summary, sections, progress.never_answered if progress else 0, removed)
    report.bucket = bucket
    if counted is not None:
        _when(survey, filters_given, span, counted, report)
    by = filters_given.get("by") or ""
    if by and counted is not None:
        named = dict(filters.breakdowns(spec))[by]
        report.by = named[0].lower() + named[1:]  # read mid-sentence: "NPS by language"
        by_group = counted.groups
        for section in sections:
            q = section.question
            if q.type in stats.GROUPED_TYPES and q.key != by.removeprefix("q:"):
                groups = by_group.get(q.key, {})
                section.breakdown = trends.breakdown(q, spec, by, report.by, groups)
                _breakdown_chart(section)
    return report
