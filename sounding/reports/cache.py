"""Counting each answer once: the report's tallies of settled responses, kept between views.

The pass over the answers is the report's whole cost, and grows with their number (a million
answers take most of a second on SQLite). Most of them stop changing soon after they are given,
so the tallies of *settled* responses (not updated for `SETTLED_AFTER`) are kept in Django's
cache, and each view adds only the recent responses to them.

Kept tallies are reused only while the database says they are still right, so every web process
(each with a cache of its own, unless a shared one is configured) shows the same numbers. The key
holds the survey, its definition's version (a definition edit may rewrite stored answers, as a
choice rename does) and the filters; the kept value holds a fingerprint of the settled responses
the filters keep, read from the database on every view: their number and two checksums over those
responses of a mix of the response's id, answers' version and completion: the sum of the mixes, and
the sum of their squares modulo a prime. Answers only change with their response's `updated_at`
(the respondent flow and erasure both set it to now), which moves the response out of the settled
set; an author's edit of stored answers bumps their versions; a deletion, an erasure or a change of
delivery state that a filter reads changes which responses are in the set. Any of these changes the
fingerprint and the tallies are counted again.

The squares matter: sums of ids, or of any linear function of them (a multiplier modulo a
prime is one, up to its wrap-arounds), miss a change of members that keeps their number and sum
(responses 1 and 4 leaving a `sync=failed` filter while 2 and 3 enter it). Each response's mix
is therefore also squared modulo a second prime, which no such symmetry survives; a change then
leaves both checksums as they were only by an unlikely coincidence.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    ExpressionWrapper,
    F,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast
from django.utils import timezone

from sounding.answers.models import Response
from sounding.reports import periods, stats, tallying
from sounding.surveys.models import Survey
from sounding.surveys.spec import SurveySpec

SETTLED_AFTER = timedelta(minutes=10)
KEPT_FOR = 6 * 3600  # seconds


@dataclass(frozen=True)
class Trend:
    """A trend to count with the tallies: the score questions' keys, the bucket and the days
    the report covers."""

    keys: tuple[str, ...]
    bucket: str
    span: periods.Span


@dataclass(frozen=True)
class Counted:
    """The answers' tallies and where incomplete responses stopped (their completed count is
    not part of it: the summary has the current one), and the trend's tallies per bucket."""

    tallies: dict[str, stats.KeyTally]
    stopped: list[int]
    never_answered: int
    trend: dict[str, dict[date, stats.KeyTally]] = field(default_factory=dict)
    groups: dict[str, dict[str, stats.KeyTally]] = field(default_factory=dict)  # breakdown

    def plus(self, other: Counted) -> Counted:
        keys = self.trend.keys() | other.trend.keys()
        grouped = self.groups.keys() | other.groups.keys()
        return Counted(
            stats.merge_tallies(self.tallies, other.tallies),
            [a + b for a, b in zip(self.stopped, other.stopped, strict=True)],
            self.never_answered + other.never_answered,
            {k: _merge_buckets(self.trend.get(k, {}), other.trend.get(k, {})) for k in keys},
            {
                k: stats.merge_tallies(self.groups.get(k, {}), other.groups.get(k, {}))
                for k in grouped
            },
        )

    def progress(self, completed: int) -> stats.Progress:
        return stats.Progress(completed, self.stopped, self.never_answered)


def _merge_buckets(
    first: dict[date, stats.KeyTally], second: dict[date, stats.KeyTally]
) -> dict[date, stats.KeyTally]:
    # merge_tallies for date keys: the same, but typed by what it is keyed on.
    out = dict(first)
    for at, found in second.items():
        out[at] = out[at].plus(found) if at in out else found
    return out


def count(
    spec: SurveySpec,
    responses: QuerySet[Response],
    trend: Trend | None = None,
    by: str = "",
) -> Counted:
    """The tallies of `responses`' answers, with the trend's and the breakdown's: one pass over
    the answers (`tallying`) and one over the incomplete responses (`stats.progress`)."""
    progress = stats.progress(responses, spec, 0)
    wanted = tallying.Pass(by=by)
    if trend is not None:
        wanted = tallying.Pass(trend.keys, trend.bucket, trend.span, by)
    found = tallying.count(responses, spec, wanted)
    return Counted(
        found.tallies, progress.stopped, progress.never_answered, found.trend, found.groups
    )


# A prime below 2^31 and a multiplier below 2^30: every product below stays within 63 bits, so
# the arithmetic is exact in SQLite's and PostgreSQL's 64-bit integers.
FIRST_PRIME, FIRST_MULTIPLIER = 2_147_483_647, 48_271
SECOND_PRIME = 2_147_483_629


def _big(value: int) -> Value:
    return Value(value, output_field=BigIntegerField())


def _modulo(product: Any, prime: int) -> ExpressionWrapper:
    # The `%` operator, not Django's Mod(): SQLite's MOD() is a float function and would
    # round products beyond 2^53.
    return ExpressionWrapper(product % _big(prime), BigIntegerField())


def fingerprint(responses: QuerySet[Response]) -> tuple[int, int, int]:
    """The settled responses' number and two checksums of (id, answers' version, completed)."""
    completed = Case(
        When(completed_at__isnull=False, then=_big(1)),
        default=_big(0),
        output_field=BigIntegerField(),
    )
    version = Cast(F("answers_version"), BigIntegerField())
    # Below 2^31, so that its square fits in 63 bits.
    mixed = _modulo(F("pk") * _big(FIRST_MULTIPLIER) + version * _big(2) + completed, FIRST_PRIME)
    found = responses.aggregate(
        n=Count("pk"),
        first=Sum(mixed),
        second=Sum(_modulo(mixed * mixed, SECOND_PRIME)),
    )
    # PostgreSQL sums bigints as numerics (Decimal); the kept value compares as int.
    return found["n"], int(found["first"] or 0), int(found["second"] or 0)


def cache_key(survey: Survey, filters: dict[str, Any]) -> str:
    described = json.dumps(filters, sort_keys=True, default=str)
    digest = hashlib.sha256(described.encode()).hexdigest()[:24]
    return f"reports:tallies:{survey.pk}:{survey.version}:{digest}"


def _settled(
    key: str,
    spec: SurveySpec,
    responses: QuerySet[Response],
    trend: Trend | None,
    by: str,
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
    counted = count(spec, settled, trend, by)
    cache.set(key, (border, print_, counted), KEPT_FOR)
    return border, counted


def counted(
    survey: Survey,
    filters: dict[str, Any],
    responses: QuerySet[Response],
    trend: Trend | None = None,
    by: str = "",
) -> Counted:
    """The tallies of `responses`' answers, of `trend` if given and of the breakdown `by` if
    given, counting again only what changed since they were last kept."""
    spec = survey.spec
    keyed = {**filters, "by": by}
    if trend is not None:
        # A response's bucket depends on the bucket and the time zone, never on the span.
        keyed |= {"bucket": trend.bucket, "zone": timezone.get_current_timezone_name()}
    border, settled = _settled(cache_key(survey, keyed), spec, responses, trend, by)
    recent = count(spec, responses.filter(updated_at__gte=border), trend, by)
    return settled.plus(recent)
