"""Managing a workspace's webhook endpoints: what the settings pages and the API both call.

Every change that decides which surveys send to webhooks ends with `subscriptions.sync`, in the
same transaction, so the respondent path never sees an endpoint half set up.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from sounding.delivery import record
from sounding.delivery.models import Attempt, Lane, Push, PushState
from sounding.destinations.webhooks import egress, events, signing, subscriptions
from sounding.destinations.webhooks.models import EVENTS, Endpoint, Message, new_message_id
from sounding.outbound import OutboundError
from sounding.surveys.models import Survey

TEST_EVENT = "sounding.test"


class Invalid(ValueError):
    """Input an author must fix: `field` names it, the message says how."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def clean_url(url: str) -> str:
    url = (url or "").strip()
    if not url:
        raise Invalid("url", "Enter the endpoint's address.")
    if len(url) > 2000:
        raise Invalid("url", "The address is longer than 2,000 characters.")
    refused = egress.refusal(url)
    if refused:
        raise Invalid("url", refused)
    return url


def clean_events(chosen: Iterable[str]) -> list[str]:
    chosen = list(dict.fromkeys(chosen))
    unknown = [e for e in chosen if e not in EVENTS]
    if unknown:
        raise Invalid("events", f"Unknown event {unknown[0]!r}: choose from {', '.join(EVENTS)}.")
    if not chosen:
        raise Invalid("events", "Choose at least one event.")
    return [e for e in EVENTS if e in chosen]


def clean_surveys(workspace_id: int, survey_ids: Sequence[int] | None) -> list[int]:
    if not survey_ids:
        return []
    ids = sorted(set(int(i) for i in survey_ids))
    found = set(
        Survey.objects.filter(workspace_id=workspace_id, pk__in=ids).values_list("pk", flat=True)
    )
    missing = [i for i in ids if i not in found]
    if missing:
        raise Invalid("surveys", f"Survey {missing[0]} is not one of this workspace's surveys.")
    return ids


def create(
    workspace_id: int,
    url: str,
    *,
    description: str = "",
    event_types: Iterable[str] = EVENTS,
    survey_ids: Sequence[int] | None = None,
    enabled: bool = True,
) -> tuple[Endpoint, str]:
    """A new endpoint and its secret, which is shown this once."""
    secret = signing.new_secret()
    endpoint = Endpoint(
        workspace_id=workspace_id,
        url=clean_url(url),
        description=(description or "").strip()[:200],
        events=clean_events(event_types),
        enabled=enabled,
    )
    surveys = clean_surveys(workspace_id, survey_ids)
    endpoint.all_surveys = not surveys
    endpoint.survey_ids = surveys
    endpoint.set_secret(secret)
    with transaction.atomic():
        endpoint.save()
        subscriptions.sync(workspace_id)
    return endpoint, secret


def update(endpoint: Endpoint, **changes: Any) -> Endpoint:
    """Change what was given; turning an endpoint on again sends what waited meanwhile."""
    was_enabled = endpoint.enabled
    if "url" in changes:
        endpoint.url = clean_url(changes["url"])
    if "description" in changes:
        endpoint.description = (changes["description"] or "").strip()[:200]
    if "events" in changes:
        endpoint.events = clean_events(changes["events"])
    if "survey_ids" in changes:
        surveys = clean_surveys(endpoint.workspace_id, changes["survey_ids"])
        endpoint.all_surveys = not surveys
        endpoint.survey_ids = surveys
    if "enabled" in changes:
        endpoint.enabled = bool(changes["enabled"])
        if endpoint.enabled:
            endpoint.disabled_reason = ""
    endpoint.updated_at = timezone.now()
    with transaction.atomic():
        endpoint.save()
        subscriptions.sync(endpoint.workspace_id)
        if endpoint.enabled:
            # New settings may be what fixes a pause (a new address after a 410).
            record.resume(endpoint.workspace_id, endpoint.kind)
            if not was_enabled:
                _owed_again(endpoint, Q(state=PushState.WITHDRAWN))
    return endpoint


def rotate(endpoint: Endpoint) -> str:
    """A new secret; the old one keeps signing beside it for `ROTATION_GRACE`."""
    secret = signing.new_secret()
    endpoint.rotate(secret)
    endpoint.updated_at = timezone.now()
    endpoint.save(
        update_fields=[
            "secret_encrypted",
            "previous_secret_encrypted",
            "previous_secret_until",
            "updated_at",
        ]
    )
    return secret


def delete(endpoint: Endpoint) -> None:
    with transaction.atomic():
        Push.objects.filter(destination=endpoint.kind).delete()
        Lane.objects.filter(destination=endpoint.kind).delete()
        endpoint.delete()
        subscriptions.sync(endpoint.workspace_id)


def _owed_again(endpoint: Endpoint, which: Q) -> int:
    return (
        Push.objects.filter(destination=endpoint.kind)
        .filter(which)
        .update(state=PushState.PENDING, attempts=0, next_attempt_at=timezone.now())
    )


def resend_failed(endpoint: Endpoint) -> int:
    """Everything that failed or waited while the endpoint was off goes again."""
    with transaction.atomic():
        record.resume(endpoint.workspace_id, endpoint.kind)
        return _owed_again(endpoint, Q(state__in=[PushState.FAILED, PushState.WITHDRAWN]))


def resend(endpoint: Endpoint, msg_id: str) -> bool:
    """Send one message again (the receiver lost it): it goes with the same `webhook-id`."""
    message = Message.objects.filter(msg_id=msg_id, workspace_id=endpoint.workspace_id).first()
    if message is None or message.type not in endpoint.events:
        return False
    with transaction.atomic():
        push = (
            Push.objects.select_for_update()
            .filter(destination=endpoint.kind, response_id=message.response_id)
            .first()
        )
        if push is None:
            return False
        acknowledged = dict(push.acknowledged or {})
        taken = dict(acknowledged.get("events", {}))
        taken.pop(msg_id, None)
        acknowledged["events"] = taken
        push.acknowledged = acknowledged
        push.state = PushState.PENDING
        push.next_attempt_at = timezone.now()
        push.save(update_fields=["acknowledged", "state", "next_attempt_at"])
    return True


@dataclass(frozen=True)
class TestResult:
    ok: bool
    status: int | None
    detail: str


def send_test(endpoint: Endpoint) -> TestResult:
    """POST a signed `sounding.test` message now and say what the endpoint answered."""
    now = timezone.now()
    msg_id = new_message_id()
    body = events.body(
        TEST_EVENT, now, {"endpoint": {"id": endpoint.pk, "url": endpoint.url}}
    ).encode()
    refused = egress.refusal(endpoint.url)
    if refused:
        return TestResult(False, None, refused)
    headers = signing.headers(endpoint.signing_secrets(), msg_id, int(time.time()), body)
    try:
        reply = egress.post(endpoint.url, body, headers, timeout=15.0)
    except OutboundError as exc:
        return TestResult(False, None, f"No answer: {exc}")
    ok = 200 <= reply.status < 300
    # A JSON answer is shown as JSON, not as the Python value it was parsed into.
    shown = reply.body if isinstance(reply.body, str) else json.dumps(reply.body)
    snippet = shown[:300]
    return TestResult(
        ok, reply.status, f"Answered {reply.status}" + (f": {snippet}" if snippet else "")
    )


@dataclass(frozen=True)
class Delivery:
    """One try of one message, for the endpoint's delivery log."""

    msg_id: str
    type: str
    started_at: datetime
    outcome: str
    status: int | None
    detail: str


def log(endpoint: Endpoint, limit: int = 100) -> list[Delivery]:
    """The endpoint's latest tries, newest first."""
    attempts = (
        Attempt.objects.filter(push__destination=endpoint.kind)
        .order_by("-id")
        .values("payload", "started_at", "outcome", "status_code", "detail")[:limit]
    )
    found = []
    ids = [a["payload"][0]["id"] for a in attempts if a["payload"]]
    types = dict(Message.objects.filter(msg_id__in=ids).values_list("msg_id", "type"))
    for a in attempts:
        msg_id = a["payload"][0]["id"] if a["payload"] else ""
        found.append(
            Delivery(
                msg_id,
                types.get(msg_id, ""),
                a["started_at"],
                a["outcome"],
                a["status_code"],
                a["detail"],
            )
        )
    return found


def lane_state(endpoint: Endpoint) -> dict[str, Any]:
    """How the endpoint is doing: failing since when, its last error, what waits."""
    lane = Lane.objects.filter(destination=endpoint.kind).first()
    pending = Push.objects.filter(destination=endpoint.kind, state=PushState.PENDING).count()
    failed = Push.objects.filter(destination=endpoint.kind, state=PushState.FAILED).count()
    return {
        "pending": pending,
        "failed": failed,
        "failing_since": lane.failing_since if lane else None,
        "last_error": lane.last_error if lane else "",
        "last_error_at": lane.last_error_at if lane else None,
        "last_success_at": lane.last_success_at if lane else None,
        "paused": bool(lane and lane.paused_at),
        "paused_reason": lane.paused_reason if lane else "",
    }
