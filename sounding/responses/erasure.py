"""Deleting responses, at once or only after their destinations have forgotten what they wrote.

A plain delete removes the response, its answers and its pushes in one statement each. When a
destination must also forget the answers, the response cannot simply disappear: the delivery
worker needs it to know which profile to clear. So it is *erased* instead, in one transaction:
its answers go, it is marked `erase_requested_at`, and its pushes to the destinations that hold
something from it (`Plugin.held`) become due for the empty set of answers. Each destination
then clears what it acknowledged, and the worker's sweep (`sounding.delivery.erased`) deletes the
response once its pushes are settled. Until then it is hidden from exports and reports.

Clearing depends on what a destination acknowledged, not on the survey's integration: a push
withdrawn while it was off still remembers it, and a destination never withdraws an erasure's
push. Only the workspace's connection can stop it (missing, or refused); the response then
waits, and the erasure says why (`clearing_blocked`).

In the API, `clear_destinations` and `clearing_at_destinations` mean every destination that
holds something; the names they had before are destinations' `aliases`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypedDict

from django.db import transaction
from django.db.models import Count, F, QuerySet
from django.utils import timezone

from sounding import destinations
from sounding.answers.models import Answer, Response
from sounding.delivery.erased import sweep as sweep
from sounding.delivery.models import Lane, Push, PushState
from sounding.delivery.outbox import user_key


@dataclass(frozen=True)
class Erased:
    """What a deletion did: responses gone or going, in how many surveys, and how many of them
    stay until their destinations have cleared what they hold."""

    responses: int = 0
    surveys: int = 0
    clearing: int = 0
    # Why a destination cannot clear now ("" when all can): they wait until it is fixed.
    clearing_blocked: str = ""
    # The labels of the destinations being cleared, for messages.
    clearing_at: tuple[str, ...] = field(default=(), compare=False)

    def as_dict(self) -> dict[str, int | str | None]:
        return {
            "responses": self.responses,
            "surveys": self.surveys,
            "clearing_at_destinations": self.clearing,
            **{old: self.clearing for old in destinations.aliases_of("clearing_at_destinations")},
            "clearing_blocked": self.clearing_blocked or None,
        }


def visible(responses: QuerySet[Response]) -> QuerySet[Response]:
    """Leave out responses being erased: reports and exports must not count them."""
    return responses.filter(erase_requested_at__isnull=True)


def identifiers() -> list[str]:
    """What responses can be found by for erasure: every identity a link may carry."""
    return list(destinations.identities())


def matching(workspace_id: int, identifier: str, value: str) -> QuerySet[Response]:
    """The workspace's responses whose link carried this identifier (emails in any case)."""
    if identifier not in identifiers():
        raise ValueError(f"unknown identifier {identifier!r}")
    # Stored emails are lower case (`normalize_identity`); older rows may not be.
    lookup = f"identities__{identifier}" + ("__iexact" if identifier == "email" else "")
    return Response.objects.filter(survey__workspace_id=workspace_id, **{lookup: value})


def held(push: Push | None) -> list[str]:
    """What the push's destination holds from it and clearing would remove."""
    if push is None or push.destination not in destinations.REGISTRY:
        return []
    return destinations.plugin(push.destination).held(push)


def _needs_clearing(responses: list[Response]) -> dict[int, set[str]]:
    """Of these, the ones some destination holds a value from (whether the survey sends to it
    now or not), with the kinds that hold one."""
    pushes = Push.objects.filter(response_id__in=[r.pk for r in responses]).only(
        "id", "response_id", "destination", "acknowledged"
    )
    holding: dict[int, set[str]] = {}
    for push in pushes:
        if held(push):
            holding.setdefault(push.response_id, set()).add(push.destination)
    return {r.pk: holding[r.pk] for r in responses if r.pk in holding and user_key(r) is not None}


def clearing_blocked(workspace_id: int, kinds: Iterable[str]) -> str:
    """Why one of these destinations cannot clear now ("" when all can): the workspace's
    connection is missing or unreadable, or was refused and sending is paused until fixed."""
    for kind in kinds:
        connection = destinations.load(kind).connection(workspace_id)
        if isinstance(connection, str):
            return connection
        lane = Lane.objects.filter(workspace_id=workspace_id, destination=kind).first()
        if lane is not None and lane.paused_at is not None:
            return lane.paused_reason
    return ""


def _delete(ids: Iterable[int]) -> None:
    # The answers, pushes and their delivery log go with the rows (ON DELETE CASCADE in Django).
    Response.objects.filter(pk__in=list(ids)).delete()


def _empty(response: Response) -> None:
    """Delete the response's answers and mark it erased: it stays only for its pushes."""
    now = timezone.now()
    Answer.objects.filter(response_id=response.pk).delete()
    Response.objects.filter(pk=response.pk).update(
        completed_at=None,
        updated_at=now,
        erase_requested_at=response.erase_requested_at or now,
        answers_version=F("answers_version") + 1,
    )
    response.refresh_from_db(fields=["answers_version", "erase_requested_at", "completed_at"])


def _start_clearing(response: Response, kinds: set[str]) -> None:
    """Empty the response and make its pushes to `kinds` due, so the worker clears them."""
    now = timezone.now()
    _empty(response)
    # Not `outbox.mark_due`, which only marks destinations the survey sends to now: clearing
    # is owed even when an integration was turned off, its push withdrawn.
    Push.objects.filter(response_id=response.pk, destination__in=kinds).update(
        state=PushState.PENDING, wanted_version=response.answers_version, next_attempt_at=now
    )


def erase(responses: QuerySet[Response], clear: bool) -> Erased:
    """Delete these responses; with `clear`, those a destination holds answers from stay
    until the worker has cleared them there (the rest go at once)."""
    found = list(responses.select_related("survey").order_by("pk"))
    if not found:
        return Erased()
    surveys = len({r.survey_id for r in found})
    clearing = _needs_clearing(found) if clear else {}
    with transaction.atomic():
        for response in found:
            if response.pk in clearing:
                _start_clearing(response, clearing[response.pk])
        # Destinations told of erasures (webhooks) keep a response until they have been.
        telling = destinations.erasing([r for r in found if r.pk not in clearing])
        for response in found:
            if response.pk in telling:
                _empty(response)
        _delete(r.pk for r in found if r.pk not in clearing and r.pk not in telling)
    kinds = [kind for kind in destinations.REGISTRY if any(kind in k for k in clearing.values())]
    blocked = clearing_blocked(found[0].survey.workspace_id, kinds) if clearing else ""
    labels = tuple(destinations.label(kind) for kind in kinds)
    return Erased(len(found), surveys, len(clearing), blocked, labels)


def erase_one(response: Response, clear: bool) -> Erased:
    return erase(Response.objects.filter(pk=response.pk), clear)


class SurveyCount(TypedDict):
    survey_id: int
    survey__title: str
    count: int


def by_survey(responses: QuerySet[Response]) -> list[SurveyCount]:
    """How many of these responses each survey has, for a data-subject request's preview."""
    return list(
        responses.values("survey_id", "survey__title")
        .annotate(count=Count("pk"))
        .order_by("survey__title", "survey_id")
    )
