"""Counting each answer once: the report's tallies of settled responses, kept between views.

The pass over the answers is the report's whole cost, and grows with their number (a million
answers take most of a second on SQLite). Most of them stop changing soon after they are given,
so the tallies of *settled* responses (not updated for `SETTLED_AFTER`) are kept in Django's
cache, and each view adds only the recent responses to them.

Kept tallies are reused only while they are certainly still right. The key holds the survey,
its definition's version (a definition edit may rewrite stored answers, as a choice rename does)
and the filters; the kept value holds a fingerprint of the settled responses the filters keep:
their number, the sum of their ids and of their answers' versions. Answers only change with
their response's `updated_at` (the respondent flow and erasure both set it to now), which moves
the response out of the settled set and changes the fingerprint; so do a deletion, an erasure
and a change of delivery state that a filter reads. Any difference and the tallies are counted
again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db.models import Count, QuerySet, Sum
from django.utils import timezone

from sounding.collect.models import Answer, Response
from sounding.reports import stats
from sounding.surveys.models import Survey
from sounding.surveys.spec import SurveySpec

SETTLED_AFTER = timedelta(minutes=10)
KEPT_FOR = 6 * 3600  # seconds


@dataclass(frozen=True)
class Counted:
    """The answers' tallies and where incomplete responses stopped (their completed count is
    not part of it: the summary has the current one)."""

    tallies: dict[str, stats.KeyTally]
    stopped: list[int]
    never_answered: int

    def plus(self, other: Counted) -> Counted:
        return Counted(
            stats.merge_tallies(self.tallies, other.tallies),
            [a + b for a, b in zip(self.stopped, other.stopped, strict=True)],
            self.never_answered + other.never_answered,
        )

    def progress(self, completed: int) -> stats.Progress:
        return stats.Progress(completed, self.stopped, self.never_answered)


def count(spec: SurveySpec, responses: QuerySet[Response], answers: QuerySet[Answer]) -> Counted:
    progress = stats.progress(responses, spec, 0)
    return Counted(stats.tally(answers, spec), progress.stopped, progress.never_answered)


def fingerprint(responses: QuerySet[Response]) -> tuple[int, int, int]:
    found = responses.aggregate(n=Count("pk"), ids=Sum("pk"), versions=Sum("answers_version"))
    return found["n"], found["ids"] or 0, found["versions"] or 0


def cache_key(survey: Survey, filters: dict[str, Any]) -> str:
    described = json.dumps(filters, sort_keys=True, default=str)
    digest = hashlib.sha256(described.encode()).hexdigest()[:24]
    return f"reports:tallies:{survey.pk}:{survey.version}:{digest}"


def _settled(
    key: str, spec: SurveySpec, responses: QuerySet[Response], answers: QuerySet[Answer]
) -> tuple[datetime, Counted]:
    """The kept tallies if still right, else the settled responses counted again and kept."""
    kept = cache.get(key)
    if kept is not None:
        border, print_, counted = kept
        if fingerprint(responses.filter(updated_at__lt=border)) == print_:
            return border, counted
    border = timezone.now() - SETTLED_AFTER
    settled = responses.filter(updated_at__lt=border)
    # The fingerprint first: a response changing between the two queries then leaves the
    # fingerprint out of date, never the tallies, and the next view counts again.
    print_ = fingerprint(settled)
    counted = count(spec, settled, answers.filter(response__updated_at__lt=border))
    cache.set(key, (border, print_, counted), KEPT_FOR)
    return border, counted


def counted(
    survey: Survey,
    filters: dict[str, Any],
    responses: QuerySet[Response],
    answers: QuerySet[Answer],
) -> Counted:
    """The tallies of `responses` (whose answers are `answers`), counting again only what
    changed since they were last kept."""
    spec = survey.spec
    border, settled = _settled(cache_key(survey, filters), spec, responses, answers)
    recent = count(
        spec,
        responses.filter(updated_at__gte=border),
        answers.filter(response__updated_at__gte=border),
    )
    return settled.plus(recent)
