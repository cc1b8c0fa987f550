"""Claiming due pushes for one worker, safely on SQLite and PostgreSQL alike.

Claims are serialized (SQLite's IMMEDIATE transactions already hold the write lock; on
PostgreSQL a transaction-scoped advisory lock does the same), which is what makes "never the
same person in two requests in flight" hold across any number of workers: a push is skipped
while any push for the same person is leased. A claim takes one workspace's oldest due work,
at most one push per person, so one request can carry all of it.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Max, Q, QuerySet
from django.utils import timezone

from sounding import outbound
from sounding.delivery import record
from sounding.delivery.models import Attempt, Lane, Outcome, Push, PushState

# Long enough for a request with its retries after a 400 split; a worker that dies holding a
# lease is cleared sooner by `release_dead` when another worker on the same host starts.
LEASE = timedelta(seconds=120)
SCAN = 2000
# A request that could carry more waits this long after its oldest push fell due, so answers
# arriving together (one person's next answers, other people's) share it. Well under the
# one-second promise, and skipped as soon as a request would be full.
LINGER = timedelta(seconds=0.2)


def in_flight() -> timedelta:
    """The longest a request can be in the far end's hands before its worker gives up on it:
    connecting, writing the body, then waiting for the answer (outbound's timeouts)."""
    timeout = outbound.TIMEOUT
    return timedelta(seconds=sum(t or 0 for t in (timeout.connect, timeout.write, timeout.read)))


@dataclass(frozen=True)
class Claim:
    workspace_id: int
    push_ids: list[int]


def _serialize(kind: str) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [zlib.crc32(kind.encode())])


def held_lanes(kind: str) -> QuerySet[Lane, int]:
    """Workspaces not to send for now (paused, waiting out a rate limit, or an outage's next
    probe), as a subquery."""
    now = timezone.now()
    return (
        Lane.objects.filter(destination=kind)
        .filter(Q(paused_at__isnull=False) | Q(blocked_until__gt=now) | Q(probe_at__gt=now))
        .values_list("workspace_id", flat=True)
    )


def _due(kind: str, now: datetime) -> QuerySet[Push]:
    """Pushes that may go now: pending, due, not leased, and of a workspace free to send."""
    return (
        Push.objects.filter(destination=kind, state=PushState.PENDING, next_attempt_at__lte=now)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
        .exclude(workspace_id__in=held_lanes(kind))
    )


def worth_claiming(kind: str, limit: int, now: datetime) -> bool:
    """A cheap look, without the lock, so that idle and lingering rounds cost one query (a
    paused workspace's backlog included: it must not wake the claim ten times a second)."""
    due = _due(kind, now)
    oldest = due.order_by("next_attempt_at").values_list("next_attempt_at", flat=True).first()
    if oldest is None:
        return False
    return now - oldest >= LINGER or due[:limit].count() >= limit


def claim(kind: str, worker: str, limit: int) -> Claim | None:
    now = timezone.now()
    if not worth_claiming(kind, limit, now):
        return None
    with transaction.atomic():
        _serialize(kind)
        busy = set(
            Push.objects.filter(destination=kind, claimed_until__gt=now).values_list(
                "user_key", flat=True
            )
        )
        due = (
            _due(kind, now)
            .order_by("next_attempt_at", "id")
            .values_list("id", "workspace_id", "user_key", "next_attempt_at", "claimed_by")[:SCAN]
        )
        picked: list[int] = []
        ended: list[int] = []
        workspace_id: int | None = None
        oldest = now
        for push_id, ws, key, due_at, holder in due:
            if workspace_id is None:
                workspace_id, oldest = ws, due_at
            if ws != workspace_id or key in busy:
                continue
            busy.add(key)
            picked.append(push_id)
            if holder:
                ended.append(push_id)
            if len(picked) >= limit:
                break
        if workspace_id is None or not picked:
            return None
        if len(picked) < limit and now - oldest < LINGER:
            return None  # not full yet, and nobody has waited long
        Push.objects.filter(id__in=picked).update(claimed_by=worker, claimed_until=now + LEASE)
        if ended:
            # Leases that ran out (or were cut short by `end_lease`) without their worker
            # recording an outcome: whatever that worker sent is of unknown outcome.
            record.abandoned(ended)
    return Claim(workspace_id, picked)


def renew(push_ids: Sequence[int], worker: str) -> set[int]:
    """Extend the worker's lease on these pushes before it sends a request about them, so that
    the lease outlasts the request however long the round has run; return the ones it still
    holds. A push another worker has taken since (the lease ran out) is not sent: its parcel
    was built from answers that may no longer be the newest, and its person may be in flight.
    """
    now = timezone.now()
    held = Push.objects.filter(id__in=list(push_ids), claimed_by=worker)
    held.update(claimed_until=now + LEASE)
    return set(held.values_list("id", flat=True))


def release(push_ids: list[int], worker: str) -> None:
    """Give back whatever of these the worker still holds (after a crash in the middle)."""
    Push.objects.filter(id__in=push_ids, claimed_by=worker).update(
        claimed_by="", claimed_until=None
    )


def end_lease(worker: str, push_ids: list[int] | None = None) -> int:
    """End the worker's leases now (on `push_ids`, or all of them) without settling: its round
    stopped half way, after any request it made was answered or given up on. The next claim
    takes the pushes, and counts what that request may have delivered (`record.abandoned`)."""
    held = Push.objects.filter(claimed_by=worker)
    if push_ids is not None:
        held = held.filter(id__in=push_ids)
    return held.update(claimed_until=timezone.now())


def release_dead(host: str, alive: set[str]) -> int:
    """End the leases held by workers of this host that are gone (killed, crashed).

    A push whose request was still out when its worker died stays leased until that request
    would have timed out (`in_flight()` after it started): Braze may still be working on it,
    and sending the same person again before then could put two requests about them in
    flight, the older of which could land last and undo a newer answer.
    """
    held = (
        Push.objects.filter(claimed_by__startswith=f"{host}:")
        .exclude(claimed_by__in=alive)
        .values_list("claimed_by", flat=True)
        .distinct()
    )
    dead = [w for w in held if not _alive(w)]
    if not dead:
        return 0
    now = timezone.now()
    with transaction.atomic():
        pushes = Push.objects.filter(claimed_by__in=dead)
        sent = (
            Attempt.objects.filter(push__in=pushes, outcome=Outcome.SENDING)
            .values("push_id")
            .annotate(started=Max("started_at"))
        )
        freed = pushes.update(claimed_until=now)
        for row in sent:
            Push.objects.filter(pk=row["push_id"], claimed_by__in=dead).update(
                claimed_until=max(now, row["started"] + in_flight())
            )
    return freed


def _alive(worker: str) -> bool:
    import os

    try:
        pid = int(worker.split(":")[1])
        os.kill(pid, 0)
    except (IndexError, ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True
