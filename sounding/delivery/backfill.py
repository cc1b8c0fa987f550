"""Sending again on request: retry what failed, or resend everything a survey has collected.

Both only mark pushes due; the worker does the sending, paced and batched like any other work.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, QuerySet, Subquery
from django.utils import timezone

from sounding.answers.models import Response
from sounding.delivery.models import Push, PushState
from sounding.delivery.outbox import user_key
from sounding.surveys.models import Survey


def owe_again(responses: QuerySet[Any]) -> int:
    """Answers of `responses` were changed by an author (a renamed choice kept matched), not
    by the respondent: bump their versions so every destination sends the new values.

    Must run in the transaction that changed the answers. Returns how many pushes are due.
    """
    affected = Response.objects.filter(pk__in=responses, erase_requested_at__isnull=True)
    affected.update(answers_version=F("answers_version") + 1)
    version = Response.objects.filter(pk=OuterRef("response_id")).values("answers_version")
    # A withdrawn push owes nothing, as if it had never been made: an author's edit does not
    # change that (the next answer, "Resend all" or a backfill does).
    owing = Push.objects.filter(response__in=affected).exclude(state=PushState.WITHDRAWN)
    return owing.update(
        state=PushState.PENDING,
        attempts=0,
        last_error="",
        next_attempt_at=timezone.now(),
        wanted_version=Subquery(version),
    )


def retry_failed(survey: Survey, kind: str) -> int:
    """Make the survey's failed pushes due again, with a fresh backoff."""
    return Push.objects.filter(
        response__survey=survey, destination=kind, state=PushState.FAILED
    ).update(state=PushState.PENDING, attempts=0, next_attempt_at=timezone.now(), last_error="")


def resend_all(survey: Survey, kind: str) -> int:
    """Owe every identified response's answers again, as if the destination never saw them.

    Acknowledged attribute values are forgotten, so each one is written again; acknowledged
    events are kept, because an event sent twice is counted twice. Withdrawn pushes are owed
    again with what they remember, rather than made anew. The responses' versions
    are bumped so that a request in flight right now cannot settle a push as synced: its
    outcome is merged, and the rest is sent again. Returns how many responses are now due.
    """
    now = timezone.now()
    # A response being erased keeps its own course: forgetting what the destination holds would
    # lose the nulls it still owes.
    identified = Response.objects.filter(
        survey=survey, identity_kind__isnull=False, erase_requested_at__isnull=True
    )
    with transaction.atomic():
        identified.update(answers_version=F("answers_version") + 1)
        _create_missing(survey, kind, now)
        pushes = Push.objects.filter(
            response__survey=survey,
            response__erase_requested_at__isnull=True,
            destination=kind,
        )
        _forget_attributes(survey.pk, kind)
        version = Response.objects.filter(pk=OuterRef("response_id")).values("answers_version")
        pushes.update(
            state=PushState.PENDING,
            attempts=0,
            last_error="",
            next_attempt_at=now,
            wanted_version=Subquery(version),
        )
    return identified.count()


# Keep only the acknowledged events, in one statement whatever the survey's size.
_FORGET = {
    "postgresql": (
        "CASE WHEN acknowledged ? 'events' "
        "THEN jsonb_build_object('events', acknowledged -> 'events') ELSE '{}'::jsonb END"
    ),
    "sqlite": (
        "CASE WHEN json_type(acknowledged, '$.events') IS NOT NULL "
        "THEN json_object('events', json(json_extract(acknowledged, '$.events'))) ELSE '{}' END"
    ),
}


def _forget_attributes(survey_id: int, kind: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE delivery_push SET acknowledged = {_FORGET[connection.vendor]} "
            "WHERE destination = %s AND response_id IN "
            "(SELECT id FROM collect_response WHERE survey_id = %s "
            "AND erase_requested_at IS NULL)",
            [kind, survey_id],
        )


def _create_missing(survey: Survey, kind: str, now: datetime) -> None:
    have = Push.objects.filter(response__survey=survey, destination=kind).values("response_id")
    missing = (
        Response.objects.filter(
            survey=survey, identity_kind__isnull=False, erase_requested_at__isnull=True
        )
        .exclude(pk__in=have)
        .only("id", "identity_kind", "identity_value", "answers_version")
    )
    new = []
    for response in missing.iterator(chunk_size=2000):
        key = user_key(response)
        if key is not None:
            new.append(
                Push(
                    response_id=response.pk,
                    workspace_id=survey.workspace_id,
                    destination=kind,
                    user_key=key,
                    wanted_version=response.answers_version,
                    next_attempt_at=now,
                )
            )
    Push.objects.bulk_create(new, batch_size=1000)


def owed_count(survey: Survey, kind: str) -> int:
    """Identified responses the destination is not following (backfill offer): never sent, or
    withdrawn while it was off for the survey."""
    owing = Push.objects.filter(response=OuterRef("pk"), destination=kind).exclude(
        state=PushState.WITHDRAWN
    )
    return (
        Response.objects.filter(
            survey=survey, identity_kind__isnull=False, erase_requested_at__isnull=True
        )
        .filter(~Exists(owing))
        .count()
    )
