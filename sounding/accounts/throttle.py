"""Counts of recent events per subject, kept in the database, for the limits on sign-in,
password-reset emails and invitations (sounding.accounts.signin_limits, .email_limits).

The counts live in the database because every web process, on every machine, must see the
same ones: the default cache is each process's own memory. django-axes keeps sign-in failures
in the database too, but has no growing delays and nothing for emails; one small table of our
own serves all three limits, and lets a refused attempt cost a single read.

Counting is one upsert per subject (INSERT … ON CONFLICT DO UPDATE, on SQLite and
PostgreSQL alike): concurrent events on one subject are each counted, and a first event racing
another never fails on the unique constraint.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connection
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import ngettext

from sounding.accounts.models import Throttle

# Rows whose count was forgotten this long ago are deleted, a few at a time, by about one
# write in PURGE_ONE_IN: the table stays as small as the last day's activity.
PURGE_AFTER = timedelta(days=1)
PURGE_ONE_IN = 50
PURGE_BATCH = 500

# The time, and the dice for purging; tests put their own in.
clock: Callable[[], datetime] = timezone.now
dice: Callable[[], float] = random.random


@dataclass(frozen=True)
class Subject:
    """What is counted: a scope ("signin-account", …) and the thing within it."""

    scope: str
    name: str


@dataclass(frozen=True)
class Count:
    events: int
    last_at: datetime
    reset_at: datetime


_LONG_AGO = datetime.min.replace(tzinfo=UTC)
NONE = Count(0, _LONG_AGO, _LONG_AGO)


def read(subjects: Iterable[Subject], now: datetime) -> dict[Subject, Count]:
    """The live count of each subject, in one query; a subject without one counts NONE."""
    wanted = list(subjects)
    found = dict.fromkeys(wanted, NONE)
    condition = Q()
    for subject in wanted:
        condition |= Q(scope=subject.scope, subject=subject.name)
    rows = Throttle.objects.filter(condition, reset_at__gt=now).values_list(
        "scope", "subject", "events", "last_at", "reset_at"
    )
    for scope, name, events, last_at, reset_at in rows:
        found[Subject(scope, name)] = Count(events, last_at, reset_at)
    return found


def _upsert_sql() -> str:
    table = connection.ops.quote_name(Throttle._meta.db_table)
    # Every right-hand side reads the row as it was before this update (SQL's rule, which both
    # databases follow), so the order of the assignments does not matter.
    return (
        f"INSERT INTO {table} (scope, subject, events, last_at, reset_at) "
        "VALUES (%s, %s, 1, %s, %s) "
        "ON CONFLICT (scope, subject) DO UPDATE SET "
        f"events = CASE WHEN {table}.reset_at <= excluded.last_at THEN 1 "
        f"ELSE {table}.events + 1 END, "
        f"reset_at = CASE WHEN {table}.reset_at <= excluded.last_at OR %s "
        f"THEN excluded.reset_at ELSE {table}.reset_at END, "
        "last_at = excluded.last_at "
        "RETURNING events"
    )


def record(subject: Subject, now: datetime, span: timedelta, *, sliding: bool) -> int:
    """Count one event; the subject's count after it.

    A count is forgotten `span` after it started (`sliding=False`: a fixed window), or `span`
    after its latest event (`sliding=True`: a quiet window).
    """
    adapt = connection.ops.adapt_datetimefield_value
    params = [subject.scope, subject.name, adapt(now), adapt(now + span), sliding]
    with connection.cursor() as cursor:
        cursor.execute(_upsert_sql(), params)
        (events,) = cursor.fetchone()
    if dice() * PURGE_ONE_IN < 1:
        purge(now)
    return int(events)


def clear(subject: Subject) -> None:
    Throttle.objects.filter(scope=subject.scope, subject=subject.name).delete()


def purge(now: datetime) -> int:
    """Delete a batch of rows forgotten over PURGE_AFTER ago; how many went."""
    stale = Throttle.objects.filter(reset_at__lt=now - PURGE_AFTER).values("pk")[:PURGE_BATCH]
    deleted, _ = Throttle.objects.filter(pk__in=stale).delete()
    return deleted


def seconds_until(moment: datetime, now: datetime) -> int:
    """Whole seconds from `now` to `moment`, at least 1: what Retry-After and messages say."""
    return max(1, math.ceil((moment - now).total_seconds()))


def wait_text(seconds: int) -> str:
    """'12 seconds', '3 minutes', in the active language; minutes round up."""
    if seconds < 60:
        return ngettext("%(count)d second", "%(count)d seconds", seconds) % {"count": seconds}
    minutes = math.ceil(seconds / 60)
    return ngettext("%(count)d minute", "%(count)d minutes", minutes) % {"count": minutes}


@dataclass(frozen=True)
class Refusal:
    """Why a request is turned away, in words for the person, and when to come back."""

    message: str
    retry_after: int  # seconds

    @classmethod
    def until(cls, template: str, moment: datetime, now: datetime, **values: object) -> Refusal:
        """`template` (already translated) with `%(wait)s` filled in."""
        wait = seconds_until(moment, now)
        return cls(template % {"wait": wait_text(wait), **values}, wait)
