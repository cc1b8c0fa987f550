"""The report's calendar: the range of days a report covers, the period just before it, and the
day, week or month buckets of a trend.

Days are those of the server's time zone (`settings.TIME_ZONE`, UTC unless configured): a
response started at 23:30 UTC on 31 January belongs to 31 January in UTC, to 1 February in
Paris if the server is set to Europe/Paris. Weeks start on Monday (ISO weeks).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

BUCKETS = [("week", "Week"), ("day", "Day"), ("month", "Month")]
DEFAULT_BUCKET = "week"
PERIODS = [
    ("", "Dates below"),
    ("7", "Last 7 days"),
    ("30", "Last 30 days"),
    ("90", "Last 90 days"),
]
# A trend of more buckets than this is unreadable (and its table endless): a coarser bucket.
MAX_BUCKETS = 400


@dataclass(frozen=True)
class Span:
    """Whole days, both ends included."""

    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def previous(self) -> Span:
        """The same number of days, ending the day before this span starts."""
        return Span(self.first - timedelta(days=self.days), self.first - timedelta(days=1))


def bucket_start(day: date, bucket: str) -> date:
    if bucket == "day":
        return day
    if bucket == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def next_start(start: date, bucket: str) -> date:
    if bucket == "day":
        return start + timedelta(days=1)
    if bucket == "week":
        return start + timedelta(days=7)
    return (start.replace(day=28) + timedelta(days=4)).replace(day=1)


def starts(span: Span, bucket: str) -> list[date]:
    """Every bucket the span touches, in order (empty ones included)."""
    out = []
    at = bucket_start(span.first, bucket)
    while at <= span.last:
        out.append(at)
        at = next_start(at, bucket)
    return out


def count(span: Span, bucket: str) -> int:
    if bucket == "day":
        return span.days
    if bucket == "week":
        return (bucket_start(span.last, "week") - bucket_start(span.first, "week")).days // 7 + 1
    return (span.last.year - span.first.year) * 12 + span.last.month - span.first.month + 1


def label(start: date, bucket: str) -> str:
    if bucket == "day":
        return f"{start:%-d %b %Y}"
    if bucket == "week":
        return f"Week of {start:%-d %b %Y}"
    return f"{start:%b %Y}"


def short_label(start: date, bucket: str) -> str:
    """For a chart's axis, where space is short."""
    return f"{start:%b %Y}" if bucket == "month" else f"{start:%-d %b}"
