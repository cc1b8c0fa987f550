"""Writing what is owed to destinations, inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection
from django.utils import timezone

from sounding import destinations
from sounding.answers.models import Response
from sounding.surveys.models import Survey

# One statement per destination, whether the row exists or not: the respondent path pays
# for it on every answer. A claimed row stays claimed; its worker sees the new version when it
# records the outcome and leaves the row pending.
_COLUMNS = (
    "INSERT INTO delivery_push (response_id, workspace_id, destination, user_key, state, "
    "wanted_version, sent_version, claimed_by, next_attempt_at, attempts, last_error, "
    "acknowledged, ambiguous_events, notes) "
)
_ON_CONFLICT = (
    " ON CONFLICT (response_id, destination) DO UPDATE SET "
    "wanted_version = excluded.wanted_version, state = 'pending', "
    # A push already waiting keeps its place: someone answering again and again must not
    # push their update back for ever. One waiting out a backoff is due again at once.
    "next_attempt_at = CASE WHEN delivery_push.state = 'pending' "
    "AND delivery_push.next_attempt_at < excluded.next_attempt_at "
    "THEN delivery_push.next_attempt_at ELSE excluded.next_attempt_at END"
)
# The new row's values: the response, workspace, destination and person, its version, and
# when it falls due (now).
_ROW = "%s, %s, %s, %s, 'pending', {version}, 0, '', %s, 0, '', '{{}}', 0, ''"
_UPSERT = f"{_COLUMNS}VALUES ({_ROW.format(version='%s')}){_ON_CONFLICT}"


def upsert_after(source: str, column: str) -> str:
    """`_UPSERT` as a part of a larger statement, the version read from `source.column` (a
    data-modifying WITH query's RETURNING): parameters response_id, workspace_id, kind, key,
    now."""
    row = _ROW.format(version=f"{source}.{column}")
    return f"{_COLUMNS}SELECT {row} FROM {source}{_ON_CONFLICT}"


def owed_plainly(response: Response, survey: Survey) -> list[tuple[int, str, str]] | None:
    """What `mark_due` would upsert for this response, as (workspace, destination, person),
    or None when one of the survey's destinations decides what it is owed itself (`owe`),
    which only `mark_due` does."""
    kinds = destinations.enabled_kinds(survey)
    if any(getattr(destinations.load(kind), "owe", None) is not None for kind in kinds):
        return None
    key = user_key(response)
    return [] if key is None else [(survey.workspace_id, kind, key) for kind in kinds]


@dataclass(frozen=True)
class Change:
    """What one stored change did, for destinations that send events as they happen rather
    than the response's current state."""

    at: datetime
    # Every answer after the change, and the ones it changed (None: cleared).
    answers: Mapping[str, Any] = field(default_factory=dict)
    changed: Mapping[str, Any] = field(default_factory=dict)
    completed: bool = False


def upsert(response_id: int, workspace_id: int, kind: str, key: str, version: int) -> None:
    """Make `kind` owe this response's answers as of `version`, in the caller's transaction."""
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT, [response_id, workspace_id, kind, key, version, now])


def user_key(response: Response) -> str | None:
    """Who the response is about, for destinations that need a person; None if anonymous."""
    if not response.identity_kind or not response.identity_value:
        return None
    return f"{response.identity_kind}:{response.identity_value}"


def mark_due(response: Response, survey: Survey, version: int, change: Change | None = None) -> int:
    """Record that every destination enabled for the survey owes the response's answers as of
    `version`. Must run in the transaction that changed them. Returns how many were marked.

    A destination with its own `owe` decides what it is owed (events, several endpoints);
    the others are owed the current answers of a response that names a person."""
    kinds = destinations.enabled_kinds(survey)
    if not kinds:
        return 0
    key = user_key(response)
    marked = 0
    for kind in kinds:
        owe = getattr(destinations.load(kind), "owe", None)
        if owe is not None:
            marked += owe(response, survey, version, change)
        elif key is not None:
            upsert(response.pk, survey.workspace_id, kind, key, version)
            marked += 1
    return marked
