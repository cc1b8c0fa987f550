"""Who and when: a score's trend over days, weeks or months, the score of the period just before,
and every closed question broken down by another answer, a hidden field or the language.

Their counts come with the answers' tallies, in the same pass over the answers
(`reports.tallying`), grouped by question, value, bucket and group: the database returns at most
(questions × values × buckets × groups) rows, however many answers there are. Scores are worked
out from those counts by `reports.results`.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.conf import settings

from sounding.reports import periods
from sounding.reports.results import (
    Result,
    csat_share,
    mean,
    nps_score,
    result_for,
    score_counts,
    show_nps,
    show_number,
    show_percent,
)
from sounding.reports.stats import SCORE_TYPES, KeyTally
from sounding.surveys.spec import Question, SurveySpec

MAX_GROUPS = 20  # a breakdown's groups beyond these (by answers) are added up as one
NOT_GIVEN = "Not given"
NOT_ANSWERED = "Not answered"
NOT_RECORDED = "Not recorded"
REST = "All other values"


# -- a score in one number -----------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """A score question's headline over some answers: NPS, CSAT or the average."""

    name: str
    value: float | None
    shown: str
    answered: int


def figure_name(q: Question) -> str:
    return {"nps": "NPS", "csat": "CSAT"}.get(q.type, "Average")


def figure(q: Question, tally: KeyTally | None) -> Figure:
    counts = score_counts(q, tally or KeyTally())
    answered = sum(n for _, n in counts)
    if q.type == "nps":
        score, _ = nps_score(counts)
        return Figure("NPS", score, show_nps(score), answered)
    if q.type == "csat":
        share = csat_share(counts)
        return Figure("CSAT", share, show_percent(share), answered)
    average = mean(counts)
    shown = show_number(None if average is None else round(average, 2))
    return Figure("Average", average, shown, answered)


def _signed(value: float, text: str) -> str:
    if text.strip("0.%") in ("", "−", "+"):
        return "no change"
    return ("+" if value > 0 else "−") + text


def change(q: Question, now: Figure, then: Figure) -> str:
    """The difference as it reads on the page: NPS points, CSAT percentage points, or the
    average's difference (from the shown, rounded figures, so they add up)."""
    if now.value is None or then.value is None:
        return "—"
    if q.type == "nps":
        diff = float(_whole(now.value) - _whole(then.value))
        return _signed(diff, f"{abs(diff):.0f}")
    if q.type == "csat":
        diff = round(now.value, 1) - round(then.value, 1)
        return _signed(diff, f"{abs(diff):.1f} points".replace(".0 ", " "))
    diff = round(now.value, 2) - round(then.value, 2)
    return _signed(diff, f"{abs(diff):.2f}")


def _whole(score: float) -> int:
    shown = show_nps(score).replace("−", "-")
    return int(shown)


def score_questions(spec: SurveySpec) -> list[Question]:
    return [q for q in spec.questions if q.type in SCORE_TYPES]


# -- trend ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    start: date
    label: str
    short: str
    figure: Figure


@dataclass
class Trend:
    bucket: str
    points: list[Point]

    @property
    def empty_buckets(self) -> int:
        return sum(1 for p in self.points if not p.figure.answered)


def trend(q: Question, found: Mapping[date, KeyTally], span: periods.Span, bucket: str) -> Trend:
    points = [
        Point(
            start,
            periods.label(start, bucket),
            periods.short_label(start, bucket),
            figure(q, found.get(start)),
        )
        for start in periods.starts(span, bucket)
    ]
    return Trend(bucket, points)


# -- comparison with the period before -----------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    now: Figure
    then: Figure
    change: str


def compare(q: Question, now: KeyTally | None, then: KeyTally | None) -> Comparison:
    a, b = figure(q, now), figure(q, then)
    return Comparison(a, b, change(q, a, b))


# -- breakdown -----------------------------------------------------------------------------------


@dataclass
class Group:
    label: str
    result: Result
    figure: Figure | None = None  # score questions
    cells: list[tuple[int, float]] = field(default_factory=list)  # choices: count, % of group


@dataclass
class Breakdown:
    by: str  # in words: "Hidden field “plan”"
    kind: str  # "scores" or "choices"
    groups: list[Group]
    columns: list[str] = field(default_factory=list)  # choices
    base: str = "answers"

    @property
    def answered(self) -> int:
        return sum(g.result.answered for g in self.groups)


def group_names(spec: SurveySpec, by: str, value: Any) -> list[str]:
    """The groups an answer counts in: one, or one per choice picked for a multiple choice
    question (a respondent who picked two is in both groups). For `q:`, `value` is the other
    answer's JSON text as stored, read here once (read twice, the choice "1000" would be the
    number 1000, shown "1,000")."""
    if isinstance(value, str) and by.startswith("q:"):
        with contextlib.suppress(ValueError):
            value = json.loads(value)
    if value is None or value == "":
        if by == "language":
            return [NOT_RECORDED]
        return [NOT_ANSWERED if by.startswith("q:") else NOT_GIVEN]
    if isinstance(value, list):
        return [_name(v) for v in value] or [NOT_ANSWERED]
    return [_name(value)]


def _name(value: Any) -> str:
    if value is True:
        return "Yes"
    if value is False:
        return "No"
    if isinstance(value, int | float):
        return show_number(value)
    return str(value)


def language_name(code: str) -> str:
    names = dict(settings.LANGUAGES)
    return f"{names[code]} ({code})" if code in names else code


def _order(spec: SurveySpec, by: str, found: dict[str, KeyTally]) -> list[str]:
    """Another question's groups in its own order; others by answers, most first. The
    placeholders for no value come last."""
    last = {NOT_GIVEN, NOT_ANSWERED, NOT_RECORDED}
    names = [n for n in found if n not in last]
    source = spec.get(by.removeprefix("q:")) if by.startswith("q:") else None
    if source is not None:
        if source.type == "yes_no":
            known = ["Yes", "No"]
        elif source.type in SCORE_TYPES:
            known = [show_number(p) for p in source.points()] if source.min is not None else []
        else:
            known = list(source.choices)
        ranked = [n for n in known if n in found]
        ranked += sorted((n for n in names if n not in known), key=str.casefold)
    else:
        ranked = sorted(names, key=lambda n: (-found[n].answered, n.casefold()))
    return ranked + sorted(n for n in found if n in last)


def breakdown(
    q: Question, spec: SurveySpec, by: str, by_words: str, found: dict[str, KeyTally]
) -> Breakdown:
    names = _order(spec, by, found)
    if len(names) > MAX_GROUPS:
        rest = KeyTally()
        for name in names[MAX_GROUPS - 1 :]:
            rest = rest.plus(found[name])
        found = {**{n: found[n] for n in names[: MAX_GROUPS - 1]}, REST: rest}
        names = [*names[: MAX_GROUPS - 1], REST]
    if by == "language":
        labels = {n: language_name(n) if n != NOT_RECORDED else n for n in names}
    else:
        labels = {n: n for n in names}
    groups = [Group(labels[n], result_for(q, found[n])) for n in names]
    if q.type in SCORE_TYPES:
        for g, n in zip(groups, names, strict=True):
            g.figure = figure(q, found[n])
        return Breakdown(by_words, "scores", groups)
    columns: list[str] = []
    for g in groups:
        columns += [r.label for r in g.result.rows if r.label not in columns]
    for g in groups:
        mine = {r.label: (r.count, r.share) for r in g.result.rows}
        g.cells = [mine.get(c, (0, 0.0)) for c in columns]
    base = "respondents" if q.type == "multiple_choice" else "answers"
    return Breakdown(by_words, "choices", groups, columns, base)
