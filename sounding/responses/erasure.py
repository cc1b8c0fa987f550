"""Deleting responses, at once or only after Braze has forgotten what they wrote.

A plain delete removes the response, its answers and its pushes in one statement each. When
Braze must also forget the answers, the response cannot simply disappear: the delivery worker
needs it to know which profile to write the nulls to. So it is *erased* instead, in one
transaction: its answers go, it is marked `erase_requested_at`, and its push becomes due for the
empty set of answers. The Braze destination then sends `null` for every attribute Braze
acknowledged (`attributes_delta`), and `sweep`, called by the worker, deletes the response once
its push is settled. Until then it is hidden from exports and reports.

Clearing depends on what Braze acknowledged, not on the survey's integration: a push withdrawn
while it was off still remembers it, and the destination never withdraws an erasure's push. Only
the workspace's connection can stop it (missing, or refused by Braze); the response then waits,
and the erasure says why (`clearing_blocked`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypedDict

from django.db import transaction
from django.db.models import Count, F, QuerySet
from django.utils import timezone

from sounding import destinations
from sounding.collect.models import Answer, Response
from sounding.delivery.models import Lane, Push, PushState
from sounding.delivery.outbox import user_key

KIND = "braze"
IDENTIFIERS = ("braze_id", "external_id", "email")
# Enough for a burst of data-subject requests; the next sweep takes the rest.
SWEEP_BATCH = 500
SWEEP_EVERY_SECONDS = 1.0


@dataclass(frozen=True)
class Erased:
    """What a deletion did: responses gone or going, in how many surveys, and how many of them
    stay until Braze has taken the nulls."""

    responses: int = 0
    surveys: int = 0
    clearing_in_braze: int = 0
    # Why Braze cannot take the nulls now ("" when it can): they wait until it is fixed.
    clearing_blocked: str = ""

    def as_dict(self) -> dict[str, int | str | None]:
        return {
            "responses": self.responses,
            "surveys": self.surveys,
            "clearing_in_braze": self.clearing_in_braze,
            "clearing_blocked": self.clearing_blocked or None,
        }


def visible(responses: QuerySet[Response]) -> QuerySet[Response]:
    """Leave out responses being erased: reports and exports must not count them."""
    return responses.filter(erase_requested_at__isnull=True)


def matching(workspace_id: int, identifier: str, value: str) -> QuerySet[Response]:
    """The workspace's responses whose link carried this identifier (emails in any case)."""
    if identifier not in IDENTIFIERS:
        raise ValueError(f"unknown identifier {identifier!r}")
    lookup = "email__iexact" if identifier == "email" else identifier
    return Response.objects.filter(survey__workspace_id=workspace_id, **{lookup: value})


def held_in_braze(push: Push | None) -> list[str]:
    """Attribute names Braze acknowledged with a value for this push (what clearing nulls)."""
    if push is None:
        return []
    attributes: dict[str, Any] = (push.acknowledged or {}).get("attributes") or {}
    return sorted(name for name, value in attributes.items() if value is not None)


def _needs_clearing(responses: list[Response]) -> set[int]:
    """Of these, the ones Braze holds a value from, whether the survey sends to it now or not."""
    pushes = Push.objects.filter(response_id__in=[r.pk for r in responses], destination=KIND).only(
        "id", "response_id", "acknowledged"
    )
    holding = {p.response_id for p in pushes if held_in_braze(p)}
    return {r.pk for r in responses if r.pk in holding and user_key(r) is not None}


def clearing_blocked(workspace_id: int) -> str:
    """Why Braze cannot take the nulls now ("" when it can): the workspace's connection is
    missing or unreadable, or Braze refused it and sending is paused until it is fixed."""
    connection = destinations.load(KIND).connection(workspace_id)
    if isinstance(connection, str):
        return connection
    lane = Lane.objects.filter(workspace_id=workspace_id, destination=KIND).first()
    return lane.paused_reason if lane is not None and lane.paused_at is not None else ""


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


def _start_clearing(response: Response) -> None:
    """Empty the response and make its push due, so the worker sends Braze the nulls."""
    now = timezone.now()
    _empty(response)
    # Not `outbox.mark_due`, which only marks destinations the survey sends to now: the nulls
    # are owed to Braze even when its integration was turned off, its push withdrawn.
    Push.objects.filter(response_id=response.pk, destination=KIND).update(
        state=PushState.PENDING, wanted_version=response.answers_version, next_attempt_at=now
    )


def erase(responses: QuerySet[Response], clear_braze: bool) -> Erased:
    """Delete these responses; with `clear_braze`, those Braze holds answers from stay until
    the worker has written nulls over them (the rest go at once)."""
    found = list(responses.select_related("survey").order_by("pk"))
    if not found:
        return Erased()
    surveys = len({r.survey_id for r in found})
    clearing = _needs_clearing(found) if clear_braze else set()
    with transaction.atomic():
        for response in found:
            if response.pk in clearing:
                _start_clearing(response)
        # Destinations told of erasures (webhooks) keep a response until they have been.
        telling = destinations.erasing([r for r in found if r.pk not in clearing])
        for response in found:
            if response.pk in telling:
                _empty(response)
        _delete(r.pk for r in found if r.pk not in clearing and r.pk not in telling)
    blocked = clearing_blocked(found[0].survey.workspace_id) if clearing else ""
    return Erased(len(found), surveys, len(clearing), blocked)


def erase_one(response: Response, clear_braze: bool) -> Erased:
    return erase(Response.objects.filter(pk=response.pk), clear_braze)


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


def sweep(limit: int = SWEEP_BATCH) -> int:
    """Delete erased responses whose push is settled (synced or failed) or that have none.

    Called by the delivery worker every SWEEP_EVERY_SECONDS: when nothing is being erased it
    costs one query on a partial index that is empty.
    """
    settled = Response.objects.filter(erase_requested_at__isnull=False).exclude(
        pushes__state=PushState.PENDING
    )
    ids = list(settled.values_list("pk", flat=True)[:limit])
    if not ids:
        return 0
    with transaction.atomic():
        # Checked again inside the transaction: an answer may have made a push due meanwhile.
        _, deleted = (
            Response.objects.filter(pk__in=ids, erase_requested_at__isnull=False)
            .exclude(pushes__state=PushState.PENDING)
            .delete()
        )
    return deleted.get(Response._meta.label, 0)
