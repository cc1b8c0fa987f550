"""Claiming due pushes for one worker, safely on SQLite and PostgreSQL alike.

Claims are serialized (SQLite's IMMEDIATE transactions already hold the write lock; on
PostgreSQL a transaction-scoped advisory lock does the same), which is what makes "never the
same person in two requests in flight" hold across any number of workers: a push is skipped
while any push for the same person is leased. A claim takes one workspace's oldest due work,
at most one push per person, so one request can carry all of it.

Workspaces take turns (`turns`): a backlog of any size in one workspace delays another's
fresh answer by one claim, not by the backlog.
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
from sounding.delivery.models import Attempt, Lane, Outcome, Push, PushState, Worker

# Long enough for a request with its retries after a 400 split; a worker that dies holding a
# lease is cleared sooner by `release_dead` once its heartbeat is old enough.
LEASE = timedelta(seconds=120)
SCAN = 2000
# A request that could carry more waits this long after its oldest push fell due, so answers
# arriving together (one person's next answers, other people's) share it. Well under the
# one-second promise, and skipped as soon as a request would be full.
LINGER = timedelta(seconds=0.2)
# Workspaces a claim looks at, in turn order, for one with work ready to go (the first may
# still be lingering, or have every due person in flight).
TURNS = 8


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


def _ready(kind: str, now: datetime) -> QuerySet[Push]:
    """Pushes that may go now as far as they go: pending, due and not leased."""
    return Push.objects.filter(
        destination=kind, state=PushState.PENDING, next_attempt_at__lte=now
    ).filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))


def turns(kind: str, now: datetime) -> list[int]:
    """Workspaces with work due, the one whose turn it is first.

    A workspace's turn comes at the later of its oldest due push and its last claim. Workspaces
    with a backlog therefore take turns, each claimed once while the others wait once, and
    otherwise the oldest answer goes first: however large one workspace's backlog, another
    workspace's answer waits for one claim per other busy workspace, not for the backlog.
    One indexed look per workspace (`push_due_by_workspace`), not a scan of the backlog.
    In plain SQL, as `worth_claiming`: every claim asks, and through the ORM building the
    query took a quarter of a delivery round's CPU.
    """
    at = connection.ops.adapt_datetimefield_value(now)
    sql = _TURNS.format(greatest=_GREATEST[connection.vendor])
    params = [kind, PushState.PENDING.value, at, at, kind, kind, at, at, TURNS]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [workspace_id for (workspace_id,) in cursor.fetchall()]


# What `_ready` asks of a push (parameters: destination, state, now, now), and the workspaces
# not to send for now: paused, waiting out a rate limit, or an outage's next probe
# (destination, now, now).
_READY = (
    "delivery_push.destination = %s AND delivery_push.state = %s "
    "AND delivery_push.next_attempt_at <= %s "
    "AND (delivery_push.claimed_until IS NULL OR delivery_push.claimed_until <= %s)"
)
_HELD = (
    "SELECT workspace_id FROM delivery_lane WHERE destination = %s "
    "AND (paused_at IS NOT NULL OR blocked_until > %s OR probe_at > %s)"
)
_GREATEST = {"postgresql": "GREATEST", "sqlite": "MAX"}
_TURNS = (
    "SELECT turns.id FROM ("
    "SELECT accounts_workspace.id AS id, "
    "(SELECT delivery_push.next_attempt_at FROM delivery_push "
    f"WHERE delivery_push.workspace_id = accounts_workspace.id AND {_READY} "
    "ORDER BY delivery_push.next_attempt_at LIMIT 1) AS oldest, "
    "(SELECT delivery_lane.claimed_at FROM delivery_lane "
    "WHERE delivery_lane.workspace_id = accounts_workspace.id "
    "AND delivery_lane.destination = %s LIMIT 1) AS claimed "
    f"FROM accounts_workspace WHERE accounts_workspace.id NOT IN ({_HELD})"
    ") AS turns WHERE turns.oldest IS NOT NULL "
    "ORDER BY {greatest}(turns.oldest, COALESCE(turns.claimed, turns.oldest)), turns.id "
    "LIMIT %s"
)


def worth_claiming(kind: str, limit: int, now: datetime, linger: timedelta = LINGER) -> bool:
    """A cheap look, without the lock, so that idle and lingering rounds cost one statement (a
    paused workspace's backlog included: it must not wake the claim ten times a second).

    In plain SQL: an idle worker asks this ten times a second, and building the query through
    the ORM cost several times running it (an idle round took 1.35 ms of CPU, now 0.32)."""
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        at = adapt(now)
        params = [adapt(now - linger), kind, PushState.PENDING.value, at, at, kind, at, at, limit]
        cursor.execute(_WORTH_CLAIMING, params)
        due, ripe = cursor.fetchone()
    return bool(ripe) or due >= limit


# The oldest `limit` pushes that may go now (pending, due, not leased, of a workspace free to
# send): how many there are, and whether one has waited out the linger. Both from one indexed
# range (`push_due`), however large the backlog.
_WORTH_CLAIMING = (
    "SELECT COUNT(*), COUNT(CASE WHEN due.next_attempt_at <= %s THEN 1 END) FROM ("
    f"SELECT delivery_push.next_attempt_at FROM delivery_push WHERE {_READY} "
    f"AND delivery_push.workspace_id NOT IN ({_HELD}) "
    "ORDER BY delivery_push.next_attempt_at LIMIT %s) AS due"
)


def claim(kind: str, worker: str, limit: int, linger: timedelta = LINGER) -> Claim | None:
    """The oldest due work of one workspace, up to `limit` people. `linger`: how long a claim
    that could carry more waits for others to join (none for a destination that sends one
    person per request: there is nothing to fill)."""
    now = timezone.now()
    if not worth_claiming(kind, limit, now, linger):
        return None
    with transaction.atomic():
        _serialize(kind)
        busy = set(
            Push.objects.filter(destination=kind, claimed_until__gt=now).values_list(
                "user_key", flat=True
            )
        )
        for workspace_id in turns(kind, now):
            found = _pick(kind, workspace_id, busy, limit, now, linger)
            if found is not None:
                return _take(kind, worker, workspace_id, *found, now)
    return None


def _pick(
    kind: str,
    workspace_id: int,
    busy: set[str],
    limit: int,
    now: datetime,
    linger: timedelta = LINGER,
) -> tuple[list[int], list[int]] | None:
    """The workspace's oldest due pushes, one per person not in flight; None when it has none
    or should wait for more (not full yet, and nobody has waited long)."""
    due = (
        _ready(kind, now)
        .filter(workspace_id=workspace_id)
        .order_by("next_attempt_at", "id")
        .values_list("id", "user_key", "next_attempt_at", "claimed_by")[:SCAN]
    )
    picked: list[int] = []
    ended: list[int] = []
    taken: set[str] = set()
    oldest: datetime | None = None
    for push_id, key, due_at, holder in due:
        oldest = oldest or due_at
        if key in busy or key in taken:
            continue
        taken.add(key)
        picked.append(push_id)
        if holder:
            ended.append(push_id)
        if len(picked) >= limit:
            break
    if oldest is None or not picked:
        return None
    if len(picked) < limit and now - oldest < linger:
        return None
    return picked, ended


def _take(
    kind: str, worker: str, workspace_id: int, picked: list[int], ended: list[int], now: datetime
) -> Claim:
    Push.objects.filter(id__in=picked).update(claimed_by=worker, claimed_until=now + LEASE)
    if ended:
        # Leases that ran out (or were cut short by `end_lease`) without their worker
        # recording an outcome: whatever that worker sent is of unknown outcome.
        record.abandoned(ended)
    # The workspace's turn moves behind everyone else's who has waited since.
    if not Lane.objects.filter(workspace_id=workspace_id, destination=kind).update(claimed_at=now):
        record.lane(workspace_id, kind)
        Lane.objects.filter(workspace_id=workspace_id, destination=kind).update(claimed_at=now)
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


def release_dead(dead_after: timedelta) -> int:
    """End the leases held by workers whose heartbeat stopped (killed, crashed, their machine
    gone), whatever host they ran on, and forget those workers; return how many leases ended.

    A push whose request was still out when its worker died stays leased until that request
    would have timed out (`in_flight()` after it started): the destination may still be working
    on it, and sending the same person again before then could put two requests about them in
    flight, the older of which could land last and undo a newer answer.
    """
    now = timezone.now()
    stale = Worker.objects.filter(beat_at__lt=now - dead_after)
    dead = list(stale.values_list("id", flat=True))
    if not dead:
        return 0
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
        # A worker that beat again meanwhile (it was only slow) keeps its row, and renews
        # whatever it still holds before sending anything.
        stale.filter(id__in=dead).delete()
    return freed
