"""Writing what is owed to destinations, inside the caller's transaction."""

from __future__ import annotations

from django.utils import timezone

from sounding import destinations
from sounding.collect.models import Response
from sounding.delivery.models import Push, PushState
from sounding.surveys.models import Survey


def mark_due(response: Response, survey: Survey) -> int:
    """Record that every destination enabled for the survey owes the response's latest answers.

    Must run in the transaction that changed the answers (`response.answers_version` already
    bumped). Returns how many pushes were marked.
    """
    kinds = destinations.enabled_kinds(survey)
    if not kinds:
        return 0
    now = timezone.now()
    # The caller bumped the version with an F() expression; read it back under its own lock.
    response.refresh_from_db(fields=["answers_version"])
    for kind in kinds:
        updated = Push.objects.filter(response=response, destination=kind).update(
            wanted_version=response.answers_version,
            state=PushState.PENDING,
            next_attempt_at=now,
        )
        if not updated:
            Push.objects.create(
                response=response,
                destination=kind,
                wanted_version=response.answers_version,
                next_attempt_at=now,
            )
    return len(kinds)
