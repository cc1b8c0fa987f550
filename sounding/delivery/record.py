"""The delivery record: attempts (written before the request goes out), lanes, counters."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from sounding import destinations
from sounding.delivery import unconfirmed
from sounding.delivery.models import Attempt, Lane, Outcome, Push, PushState
from sounding.delivery.protocol import Parcel

log = logging.getLogger("sounding.delivery")

COUNTERS = {
    "requests": "Requests made to destinations",
    "objects_sent": "Objects carried by requests",
    "pushes_sent": "Pushes acknowledged by the destination",
    "pushes_failed": "Pushes refused for good (see the delivery log)",
    "pushes_retried": "Pushes put back for another try (5xx, timeouts, rate limits)",
    "events_ambiguous": "Events re-sent after a request whose outcome was unknown",
}


def start(request_id: str, parcels: Iterable[Parcel], total: int) -> None:
    start_many([(request_id, parcels, total)])


def start_many(requests: Iterable[tuple[str, Iterable[Parcel], int]]) -> None:
    """The attempts of several requests about to go out, in one statement."""
    now = timezone.now()
    Attempt.objects.bulk_create(
        Attempt(
            push_id=p.push_id,
            request_id=request_id,
            started_at=now,
            request_objects=total,
            payload=[obj for _, obj in p.objects],
            detail="; ".join(p.notes),
            events=len(p.events),
            attributes=sorted(p.attributes),
        )
        for request_id, parcels, total in requests
        for p in parcels
    )


def finish(
    request_id: str | Iterable[str],
    outcome: str,
    status: int | None,
    detail: str = "",
    push_id: int | None = None,
) -> None:
    ids = [request_id] if isinstance(request_id, str) else list(request_id)
    attempts = Attempt.objects.filter(request_id__in=ids)
    if push_id is not None:
        attempts = attempts.filter(push_id=push_id)
    fields: dict[str, object] = {
        "finished_at": timezone.now(),
        "outcome": outcome,
        "status_code": status,
    }
    if detail:
        fields["detail"] = detail[:2000]
    attempts.update(**fields)


ABANDONED = (
    "No answer recorded: the worker stopped during the request (killed, or its database went "
    "away). Sent again; its events may arrive twice."
)


def abandoned(push_ids: Iterable[int]) -> int:
    """Close the attempts of these pushes that never got an outcome: the worker that sent them
    stopped before writing one. The destination may have applied them, so their events, sent
    again, are counted as ambiguous, and the attribute values they carried are unconfirmed,
    exactly as after a timeout. Returns how many attempts were closed."""
    open_attempts = list(
        Attempt.objects.filter(push_id__in=list(push_ids), outcome=Outcome.SENDING).values_list(
            "id", "push_id", "events", "attributes"
        )
    )
    if not open_attempts:
        return 0
    Attempt.objects.filter(id__in=[row[0] for row in open_attempts]).update(
        finished_at=timezone.now(), outcome=Outcome.RETRY, detail=ABANDONED
    )
    names: dict[int, set[str]] = {}
    for _, push_id, _, carried in open_attempts:
        names.setdefault(push_id, set()).update(carried or ())
    unconfirmed.mark(names)
    events: dict[int, int] = {}
    for _, push_id, count, _ in open_attempts:
        events[push_id] = events.get(push_id, 0) + count
    for push_id, count in events.items():
        if count:
            Push.objects.filter(pk=push_id).update(ambiguous_events=F("ambiguous_events") + count)
    bump(pushes_retried=len(events), events_ambiguous=sum(events.values()))
    return len(open_attempts)


# The delivery log keeps this long; pushes keep their state and acknowledged values for ever.
LOG_DAYS = 30


def prune(batch: int = 5000) -> int:
    """Delete delivery-log rows older than LOG_DAYS, a batch at a time (short transactions)."""
    cutoff = timezone.now() - timedelta(days=LOG_DAYS)
    old = list(Attempt.objects.filter(started_at__lt=cutoff).values_list("id", flat=True)[:batch])
    if old:
        Attempt.objects.filter(id__in=old).delete()
    return len(old)


def finish_remaining(request_id: str | Iterable[str], outcome: str, status: int | None) -> None:
    """Close the attempts of a request (or of several) that no earlier `finish` gave an
    outcome."""
    ids = [request_id] if isinstance(request_id, str) else list(request_id)
    Attempt.objects.filter(request_id__in=ids, outcome=Outcome.SENDING).update(
        finished_at=timezone.now(), outcome=outcome, status_code=status
    )


def bump(**counts: int) -> None:
    """Add to the /metrics counters in one statement, safe under concurrent workers."""
    rows = [(name, n) for name, n in counts.items() if n]
    if not rows:
        return
    values = ", ".join(["(%s, %s)"] * len(rows))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO delivery_counter (name, value) VALUES {values} "
            "ON CONFLICT (name) DO UPDATE SET value = delivery_counter.value + excluded.value",
            [v for row in rows for v in row],
        )


def lane(workspace_id: int, kind: str) -> Lane:
    # Insert-or-nothing, then read: two workers' first requests for a workspace may get here
    # together, and an IntegrityError would roll back the outcome being recorded with it.
    Lane.objects.bulk_create(
        [Lane(workspace_id=workspace_id, destination=kind)], ignore_conflicts=True
    )
    return Lane.objects.get(workspace_id=workspace_id, destination=kind)


def block(workspace_id: int, kind: str, until: datetime) -> None:
    lane(workspace_id, kind)
    Lane.objects.filter(workspace_id=workspace_id, destination=kind).update(blocked_until=until)


def pause(workspace_id: int, kind: str, reason: str, notify: bool = True) -> None:
    """Stop sending for this workspace until its settings change, and tell its owners once."""
    row = lane(workspace_id, kind)
    if row.paused_at is not None and row.paused_reason == reason:
        return
    now = timezone.now()
    Lane.objects.filter(pk=row.pk).update(
        paused_reason=reason, paused_at=now, last_error=reason, last_error_at=now
    )
    log.warning("delivery to %s paused for workspace %s: %s", kind, workspace_id, reason)
    if notify:
        # After the commit: mail is slow, and must not go out for a pause that rolled back.
        transaction.on_commit(lambda: _tell_owners(workspace_id, kind, reason))


def resume(workspace_id: int, kind: str) -> int:
    """Settings changed: lift a pause and make everything that waited due now."""
    Lane.objects.filter(workspace_id=workspace_id, destination=kind).update(
        paused_reason="",
        paused_at=None,
        blocked_until=None,
        failures=0,
        failing_since=None,
        probe_at=None,
    )
    return Push.objects.filter(
        workspace_id=workspace_id, destination=kind, state=PushState.PENDING
    ).update(next_attempt_at=timezone.now())


def succeeded(workspace_id: int, kind: str) -> None:
    """The destination took a request: any outage is over, and the lane sends freely again.
    What waited for the outage's next probe is due by then already (see `outage`)."""
    lanes = Lane.objects.filter(workspace_id=workspace_id, destination=kind)
    over = {"failures": 0, "failing_since": None, "probe_at": None}
    if not lanes.update(last_success_at=timezone.now(), **over):
        lane(workspace_id, kind)
        lanes.update(last_success_at=timezone.now(), **over)


def outage(workspace_id: int, kind: str, reason: str, probe_in: Callable[[int], float]) -> datetime:
    """A request failed as a whole: count it, and hold the lane until its next try, a probe
    `probe_in(failures in a row)` seconds from now. Returns the time of that probe, which is
    also when the failed request's people are due again: they wait for the lane, not for a
    backoff of their own, so the first success finds them all due and sends them in full
    requests. Never earlier than a probe another worker already set."""
    now = timezone.now()
    lane(workspace_id, kind)
    lanes = Lane.objects.filter(workspace_id=workspace_id, destination=kind)
    lanes.update(
        failures=F("failures") + 1,
        failing_since=Coalesce("failing_since", Value(now)),
        last_error=reason[:2000],
        last_error_at=now,
    )
    row = lanes.select_for_update().values("failures", "probe_at").get()
    probe_at = now + timedelta(seconds=probe_in(row["failures"]))
    if row["probe_at"] is not None and row["probe_at"] > probe_at:
        return row["probe_at"]
    lanes.update(probe_at=probe_at)
    return probe_at


def failed(workspace_id: int, kind: str, reason: str) -> None:
    lane(workspace_id, kind)
    Lane.objects.filter(workspace_id=workspace_id, destination=kind).update(
        last_error=reason[:2000], last_error_at=timezone.now()
    )


def _tell_owners(workspace_id: int, kind: str, reason: str) -> None:
    from sounding.accounts.models import Membership, Role

    emails = list(
        Membership.objects.filter(workspace_id=workspace_id, role=Role.OWNER)
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )
    if not emails:
        return
    site = settings.SITE_URL or "Sounding"
    send_mail(
        subject=f"Sounding stopped sending answers to {destinations.label(kind)}",
        message=(
            f"{reason}\n\nAnswers are still collected and nothing is lost: they wait and are "
            f"sent as soon as the connection settings are fixed.\n\n{site}"
        ),
        from_email=None,
        recipient_list=emails,
        fail_silently=True,
    )


__all__ = ["Outcome", "bump", "finish", "pause", "resume", "start"]
