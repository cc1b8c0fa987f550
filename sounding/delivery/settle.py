"""Writing the outcome of a request onto its pushes: one statement for the whole request.

A request carries up to 75 people; an UPDATE each would cost the worker more than the request
itself. `UPDATE ... FROM (VALUES ...)` reads the same on SQLite (3.33+) and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.utils import timezone


@dataclass(frozen=True)
class Settlement:
    push_id: int
    version: int  # the answers' version the request was built from
    state: str  # what the push becomes if nothing newer arrived meanwhile
    success: bool  # delivered: the failed-tries count starts again
    error: str = ""
    acknowledged: dict[str, Any] | None = None  # None: keep what is stored
    notes: str = ""


def settle(rows: Sequence[Settlement], holder: str) -> int:
    """Write these outcomes on the pushes that `holder` still holds; return how many it did.

    A worker whose lease ran out and was taken by another says nothing more about the push:
    the new holder may have a request about the same person in flight, and only it knows
    what it carried."""
    if not rows:
        return 0
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    ack = "CAST(v.column5 AS jsonb)" if connection.vendor == "postgresql" else "v.column5"
    values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(rows))
    sql = (
        "UPDATE delivery_push SET "
        # Answers newer than the request's keep the push pending: they are still owed.
        "state = CASE WHEN delivery_push.wanted_version <= v.column2 THEN v.column3 "
        "ELSE 'pending' END, "
        "sent_version = v.column2, last_error = v.column4, "
        f"acknowledged = COALESCE({ack}, delivery_push.acknowledged), "
        "attempts = CASE WHEN v.column7 = 1 THEN 0 ELSE delivery_push.attempts END, "
        "synced_at = CASE WHEN v.column7 = 1 THEN %s ELSE delivery_push.synced_at END, "
        "notes = CASE WHEN v.column7 = 1 THEN v.column6 ELSE delivery_push.notes END, "
        "last_attempt_at = %s, next_attempt_at = %s, claimed_by = '', claimed_until = NULL "
        f"FROM (VALUES {values}) AS v "
        "WHERE delivery_push.id = v.column1 AND delivery_push.claimed_by = %s"
    )
    params: list[Any] = [now, now, now]
    for row in rows:
        params += [
            row.push_id,
            row.version,
            row.state,
            row.error[:2000],
            None if row.acknowledged is None else json.dumps(row.acknowledged),
            row.notes[:2000],
            1 if row.success else 0,
        ]
    # The three timestamps come first in the SQL text, then the VALUES rows, then the holder.
    params.append(holder)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount
