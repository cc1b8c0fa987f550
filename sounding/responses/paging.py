"""Keyset pages of responses by start time: the hundredth page costs what the first does.

A cursor is the (started_at, id) of the last row shown, written `<microseconds>-<id>`; ids
break ties between responses started in the same microsecond. The survey's
`(survey, -started_at)` index serves both directions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import Q, QuerySet

from sounding.answers.models import Response

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CURSOR = re.compile(r"(-?[0-9]{1,17})-([1-9][0-9]{0,18})")


class BadCursor(ValueError):
    pass


@dataclass(frozen=True)
class Cursor:
    started_at: datetime
    pk: int

    def __str__(self) -> str:
        return f"{(self.started_at - EPOCH) // timedelta(microseconds=1)}-{self.pk}"

    @classmethod
    def of(cls, response: Response) -> Cursor:
        return cls(response.started_at, response.pk)

    @classmethod
    def parse(cls, text: str) -> Cursor:
        match = _CURSOR.fullmatch(text)
        if match is None:
            raise BadCursor(text)
        try:
            when = EPOCH + timedelta(microseconds=int(match[1]))
        except OverflowError:
            raise BadCursor(text) from None
        return cls(when, int(match[2]))


def older_than(responses: QuerySet[Response], cursor: Cursor) -> QuerySet[Response]:
    t = cursor.started_at
    # The plain bound lets the index range scan; the OR only sorts out ties.
    return responses.filter(started_at__lte=t).filter(
        Q(started_at__lt=t) | Q(started_at=t, pk__lt=cursor.pk)
    )


def newer_than(responses: QuerySet[Response], cursor: Cursor) -> QuerySet[Response]:
    t = cursor.started_at
    return responses.filter(started_at__gte=t).filter(
        Q(started_at__gt=t) | Q(started_at=t, pk__gt=cursor.pk)
    )


def oldest_first(responses: QuerySet[Response]) -> QuerySet[Response]:
    return responses.order_by("started_at", "pk")


def newest_first(responses: QuerySet[Response]) -> QuerySet[Response]:
    return responses.order_by("-started_at", "-pk")


@dataclass(frozen=True)
class Page:
    rows: list[Response]
    older: Cursor | None  # where the next (older) page starts, if there is one
    newer: Cursor | None  # where the previous (newer) page starts, if there is one


def newest_page(
    responses: QuerySet[Response],
    size: int,
    before: Cursor | None = None,
    after: Cursor | None = None,
) -> Page:
    """A page of `size` responses, newest first: the first one, the one older than `before`,
    or the one newer than `after`."""
    if after is not None:
        found = list(oldest_first(newer_than(responses, after))[: size + 1])
        rows = found[:size][::-1]
        newer = Cursor.of(rows[0]) if len(found) > size else None
        older = Cursor.of(rows[-1]) if rows else None
        return Page(rows, older, newer)
    chosen = older_than(responses, before) if before is not None else responses
    found = list(newest_first(chosen)[: size + 1])
    rows = found[:size]
    older = Cursor.of(rows[-1]) if len(found) > size else None
    newer = None
    if before is not None and rows and newer_than(responses, Cursor.of(rows[0])).exists():
        newer = Cursor.of(rows[0])
    return Page(rows, older, newer)
