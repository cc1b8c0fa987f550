"""Claiming due pushes for one worker, safely on SQLite and PostgreSQL alike.

Claims are serialized (SQLite's IMMEDIATE transactions already hold the write lock; on
PostgreSQL a transaction-scoped advisory lock does the same), which is what makes "never the
same person in two requests in flight" hold across any number of workers: a push is skipped
while any push for the same person is leased. A claim takes one workspace's oldest due work,
at most one push per person, so one request can carry all of it.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from sounding.delivery.models import Lane, Push, PushState

# Long enough for a request with its retries after a 400 split; a worker that dies holding a
# lease is cleared sooner by `release_dead` when another worker on the same host starts.
LEASE = timedelta(seconds=120)
SCAN = 2000
# A request that could carry more waits this long after its oldest push fell due, so answers
# arriving together (one person's next answers, other people's) share it. Well under the
# one-second promise, and skipped as soon as a request would be full.
LINGER = timedelta(seconds=0.2)


@dataclass(frozen=True)
class Claim:
    workspace_id: int
    push_ids: list[int]


def _serialize(kind: str) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [zlib.crc32(kind.encode())])


def held_lanes(kind: str) -> QuerySet[Lane, int]:
    """Workspaces not to send for now (paused, or waiting out a rate limit), as a subquery."""
    return (
        Lane.objects.filter(destination=kind)
        .filter(Q(paused_at__isnull=False) | Q(blocked_until__gt=timezone.now()))
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
            .values_list("id", "workspace_id", "user_key", "next_attempt_at")[:SCAN]
        )
        picked: list[int] = []
        workspace_id: int | None = None
        oldest = now
        for push_id, ws, key, due_at in due:
            if workspace_id is None:
                workspace_id, oldest = ws, due_at
            if ws != workspace_id or key in busy:
                continue
            busy.add(key)
            picked.append(push_id)
            if len(picked) >= limit:
                break
        if workspace_id is None or not picked:
            return None
        if len(picked) < limit and now - oldest < LINGER:
            return None  # not full yet, and nobody has waited long
        Push.objects.filter(id__in=picked).update(claimed_by=worker, claimed_until=now + LEASE)
    return Claim(workspace_id, picked)


def release(push_ids: list[int], worker: str) -> None:
    """Give back whatever of these the worker still holds (after a crash in the middle)."""
    Push.objects.filter(id__in=push_ids, claimed_by=worker).update(
        claimed_by="", claimed_until=None
    )


def release_dead(host: str, alive: set[str]) -> int:
    """Clear leases held by workers of this host that are gone (killed, crashed)."""
    held = (
        Push.objects.filter(claimed_by__startswith=f"{host}:")
        .exclude(claimed_by__in=alive)
        .values_list("claimed_by", flat=True)
        .distinct()
    )
    dead = [w for w in held if not _alive(w)]
    if not dead:
        return 0
    return Push.objects.filter(claimed_by__in=dead).update(claimed_by="", claimed_until=None)


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
