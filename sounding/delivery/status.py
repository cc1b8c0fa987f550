"""Where a response stands with a destination, in words the person who wrote the survey reads.

The same description is used by the delivery log page and the API, so both always agree. The
reasons written by destinations (`Push.last_error`) are already meant for that reader; this
module only adds what the core knows: nothing sent yet, a paused or rate-limited lane.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TypedDict

from django.db.models import FilteredRelation, Q, QuerySet
from django.utils import timezone

from sounding import destinations
from sounding.answers.models import Response
from sounding.delivery.models import Lane, Push, PushState
from sounding.delivery.outbox import user_key
from sounding.surveys.models import Survey

NOT_SENT = "not_sent"


class SyncState(TypedDict):
    state: str
    reason: str
    last_attempt_at: datetime | None
    attempts: int
    synced_at: datetime | None


def label(kind: str) -> str:
    return destinations.label(kind)


def _alias(kind: str) -> str:
    return f"sync_push_{kind}"


def with_pushes(responses: QuerySet[Response], kinds: Iterable[str]) -> QuerySet[Response]:
    """Responses with their push to each of `kinds` read in the same query (at most one per
    response and kind, by the model's unique constraint): a page costs no query per row."""
    for kind in kinds:
        alias = _alias(kind)
        joined = FilteredRelation("pushes", condition=Q(pushes__destination=kind))
        # What the destination acknowledged can be large and says nothing about the state.
        responses = (
            responses.annotate(**{alias: joined})
            .select_related(alias)
            .defer(f"{alias}__acknowledged")
        )
    return responses


def state_is(kind: str, state: str) -> Q:
    """Responses (read through `with_pushes`) in `state` with `kind`."""
    if state == NOT_SENT:
        alias = _alias(kind)
        return Q(**{f"{alias}__isnull": True}) | Q(**{f"{alias}__state": PushState.WITHDRAWN})
    return Q(**{f"{_alias(kind)}__state": state})


def state_of(push: Push | None) -> str:
    """The state people and exports see: a withdrawn push owes nothing and is sent nothing, as
    if it had never been made; it is kept only for what the destination acknowledged."""
    if push is None or push.state == PushState.WITHDRAWN:
        return NOT_SENT
    return push.state


def joined_push(response: Response, kind: str) -> Push | None:
    """The push `with_pushes` read, or None when the response has none."""
    push: Push | None = getattr(response, _alias(kind), None)
    return push


def waiting_lane(responses: Iterable[Response], workspace_id: int, kind: str) -> Lane | None:
    """The workspace's lane, read only when a response still waits on it: only then can its
    pause or rate limit explain anything."""
    for response in responses:
        push = joined_push(response, kind)
        if push is not None and push.state == PushState.PENDING:
            return Lane.objects.filter(workspace_id=workspace_id, destination=kind).first()
    return None


def page_states(responses: list[Response], survey: Survey) -> dict[int, dict[str, SyncState]]:
    """Every registered destination's state of each response read by `with_pushes`."""
    enabled = set(destinations.enabled_kinds(survey))
    out: dict[int, dict[str, SyncState]] = {r.pk: {} for r in responses}
    for kind in destinations.tracked_kinds():
        lane = waiting_lane(responses, survey.workspace_id, kind)
        for r in responses:
            push = joined_push(r, kind)
            out[r.pk][kind] = sync_state(push, r, kind=kind, enabled=kind in enabled, lane=lane)
    return out


def sync_state(
    push: Push | None,
    response: Response,
    *,
    kind: str = "",
    enabled: bool = False,
    lane: Lane | None = None,
) -> SyncState:
    """Describe where `response` stands with destination `kind`.

    `enabled` says whether the survey sends to `kind` now; `lane` is the workspace's lane, whose
    pause or rate limit explains why pending work waits. Without `kind`, the push's own, or
    else the first registered destination's.
    """
    kind = kind or (
        push.destination if push is not None else next(iter(destinations.tracked_kinds()))
    )
    if push is None or push.state == PushState.WITHDRAWN:
        return _not_sent(response, kind, enabled, withdrawn=push is not None)
    return {
        "state": push.state,
        "reason": _reason(push, kind, lane),
        "last_attempt_at": push.last_attempt_at,
        "attempts": push.attempts,
        "synced_at": push.synced_at,
    }


def _not_sent(response: Response, kind: str, enabled: bool, withdrawn: bool) -> SyncState:
    if user_key(response) is None:
        reason = f"No {label(kind)} identifier in the link"
    elif enabled and withdrawn:
        reason = f"Held back while {label(kind)} was off for this survey"
    elif enabled:
        reason = f"Answered before {label(kind)} was turned on for this survey"
    else:
        reason = f"{label(kind)} is off for this survey"
    return {
        "state": NOT_SENT,
        "reason": reason,
        "last_attempt_at": None,
        "attempts": 0,
        "synced_at": None,
    }


def _reason(push: Push, kind: str, lane: Lane | None) -> str:
    if push.state == PushState.SYNCED:
        return _synced(push, kind)
    if push.state == PushState.FAILED:
        return push.last_error or f"{label(kind)} refused these answers"
    return _pending(push, kind, lane)


def _synced(push: Push, kind: str) -> str:
    reason = f"{label(kind)} has these answers"
    # Notes say what was changed to fit (a long text cut short): worth knowing while it is true.
    return f"{reason} ({push.notes})" if push.notes else reason


def _pending(push: Push, kind: str, lane: Lane | None) -> str:
    if lane is not None and lane.paused_at is not None:
        return f"Sending to {label(kind)} is paused: {lane.paused_reason}"
    if push.last_error:
        return push.last_error
    if lane is not None and lane.blocked_until and lane.blocked_until > timezone.now():
        return f"{label(kind)} asked us to slow down; sending resumes when its limit resets"
    if push.attempts:
        return f"The last try failed; trying again ({push.attempts} so far)"
    return f"Waiting to be sent to {label(kind)}"
