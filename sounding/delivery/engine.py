"""The delivery flow for one destination: claim, build, send, record.

Each step is a small function; `deliver_due` strings them together. What a destination's
answer means is decided by the destination (`protocol.Verdict`); what to do about it is
decided here, once for every destination.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db import DatabaseError, transaction
from django.db.models import F
from django.utils import timezone

from sounding import destinations
from sounding.answers.models import Answer, Response
from sounding.delivery import claim as claims
from sounding.delivery import record, unconfirmed
from sounding.delivery.models import Attempt, Outcome, Push, PushState
from sounding.delivery.protocol import Answer as Reply
from sounding.delivery.protocol import (
    Connection,
    Destination,
    Item,
    Parcel,
    RequestLimit,
    Verdict,
)
from sounding.delivery.settle import Settlement, settle
from sounding.surveys.models import Survey

BACKOFF_BASE = 1.0
BACKOFF_CAP = 300.0
# Tries for a push whose parcel cannot be built (the destination raised on its answers): a
# passing cause gets a few more chances, backing off; then it fails, to be sent again with
# "Retry failed" once the survey, its answers or Sounding are fixed.
BROKEN_TRIES = 5
# During an outage the lane tries one request at a time, at growing intervals up to this: the
# longest a destination can be back before Sounding notices.
PROBE_CAP = 5.0

log = logging.getLogger("sounding.delivery")


def backoff(attempts: int) -> float:
    """Seconds before try number `attempts + 1`: exponential, capped, with jitter so that
    pushes that failed together do not come back together."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(attempts - 1, 0))
    return ceiling * random.uniform(0.5, 1.0)


def probe_delay(failures: int) -> float:
    """Seconds until the next try of a lane whose last `failures` requests all failed: the
    backoff's first steps, capped at PROBE_CAP, with jitter to keep workspaces apart."""
    ceiling = min(PROBE_CAP, BACKOFF_CAP, BACKOFF_BASE * 2 ** max(failures - 1, 0))
    return ceiling * random.uniform(0.5, 1.0)


def deliver_due(kind: str, worker: str) -> int:
    """Deliver one claim's worth of due pushes; return how many were handled (0: idle)."""
    destination = destinations.load(kind)
    linger = getattr(destination, "linger", claims.LINGER)
    found = claims.claim(kind, worker, destination.max_objects, linger)
    if found is None:
        return 0
    try:
        conn = destination.connection(found.workspace_id)
        if isinstance(conn, str):
            record.pause(found.workspace_id, kind, conn, notify=False)
        else:
            parcels = build(destination, _fit(found.push_ids, conn, worker), worker)
            batches = _full_requests(pack(parcels, conn.limit), conn, worker)
            if len(batches) > 1 and hasattr(destination, "send_each"):
                send_together(destination, conn, batches)
            else:
                for batch in batches:
                    if not send(destination, conn, batch):
                        break
    except BaseException:
        # Stopped half way (the database went away while recording an answer): a request may
        # have been applied without its outcome written. Releasing would hide that; ending the
        # lease lets the next claim take the pushes at once and count their events as
        # ambiguous. If the database is still away, the worker ends them when it is back.
        claims.end_lease(worker, found.push_ids)
        raise
    claims.release(found.push_ids, worker)
    return len(found.push_ids)


def _fit(push_ids: list[int], conn: Connection, worker: str) -> list[int]:
    """The claim's oldest pushes, as many people as the claim's requests can carry (one
    request, unless the destination sends one person per request); the others go back at
    once, for the next claim to fill its own request with."""
    people = conn.limit.people * conn.requests_per_claim
    if len(push_ids) > people:
        claims.release(push_ids[people:], worker)
    return push_ids[:people]


def _full_requests(
    batches: list[list[Parcel]], conn: Connection, worker: str
) -> list[list[Parcel]]:
    """The claim's requests, except a last one with room left when there are others: its
    people go back at once and start the next claim's first request, which fills it (people
    with several objects each rarely fill a request exactly)."""
    if len(batches) < 2 or conn.limit.full(_counts(batches[-1])):
        return batches
    claims.release([parcel.push_id for parcel in batches[-1]], worker)
    return batches[:-1]


def _counts(batch: list[Parcel]) -> Counter[str]:
    return Counter(array for parcel in batch for array, _ in parcel.objects)


# --- build ---------------------------------------------------------------------------------


def load_items(push_ids: Sequence[int]) -> list[Item]:
    pushes = list(
        Push.objects.filter(id__in=push_ids).values("id", "response_id", "acknowledged", "attempts")
    )
    responses = Response.objects.in_bulk([p["response_id"] for p in pushes])
    surveys = Survey.objects.in_bulk({r.survey_id for r in responses.values()})
    answers: dict[int, dict[str, Any]] = defaultdict(dict)
    answered_at: dict[int, dict[str, datetime]] = defaultdict(dict)
    rows = Answer.objects.filter(response_id__in=list(responses)).values_list(
        "response_id", "question_key", "value", "answered_at"
    )
    for response_id, key, value, when in rows:
        answers[response_id][key] = value
        answered_at[response_id][key] = when
    items = []
    for p in pushes:
        response = responses[p["response_id"]]
        items.append(
            Item(
                push_id=p["id"],
                response=response,
                survey=surveys[response.survey_id],
                answers=answers[response.pk],
                answered_at=answered_at[response.pk],
                # Read before the answers: a newer answer than this version is harmless (it is
                # sent now, and sent again as a no-op delta), an older one is impossible.
                version=response.answers_version,
                acknowledged=p["acknowledged"] or {},
                attempts=p["attempts"],
            )
        )
    return items


def build(destination: Destination, push_ids: Sequence[int], holder: str) -> list[Parcel]:
    """Parcels with something to send; settle at once the pushes that owe nothing.

    `holder` is the worker whose claim holds the pushes: only it may write their outcome."""
    if not holder:
        raise ValueError("parcels are built under a worker's lease")
    items = load_items(push_ids)
    known = {item.push_id: item for item in items}
    built = _parcels(destination, items)
    for parcel in built:
        parcel.prior = known[parcel.push_id].acknowledged
        parcel.attempts = known[parcel.push_id].attempts
        parcel.holder = holder
    if all(p.objects and not p.unsendable and not p.withdrawn and not p.broken for p in built):
        return built
    with transaction.atomic():  # one commit for all the pushes settled here
        return _sort_out(built, destination.kind)


def _parcels(destination: Destination, items: Sequence[Item]) -> list[Parcel]:
    """The destination's parcels, all at once; when that raises, one item at a time, so that
    one person's answers the destination chokes on hold back no one else of the claim."""
    if len(items) > 1:
        try:
            return destination.parcels(items)
        except DatabaseError:
            raise  # not the answers' fault: the round stops and its leases end, as ever
        except Exception:
            log.info("building %d parcels failed; building them one by one", len(items))
    return [_parcel(destination, item) for item in items]


def _parcel(destination: Destination, item: Item) -> Parcel:
    try:
        (parcel,) = destination.parcels([item])
    except DatabaseError:
        raise
    except Exception as exc:
        log.exception("%s: could not build push %s", destination.kind, item.push_id)
        return Parcel(item.push_id, item.version, broken=f"{type(exc).__name__}: {exc}"[:500])
    return parcel


def _sort_out(built: list[Parcel], kind: str) -> list[Parcel]:
    parcels, done = [], []
    for parcel in built:
        if parcel.broken:
            done += _broken(parcel, kind)
        elif parcel.withdrawn:
            # Unless an answer came since (then it is owed again, if turned back on). Kept, not
            # deleted: what the destination acknowledged must outlive it, or turning it on
            # again, "Resend all" or a backfill would send its events a second time.
            Push.objects.filter(
                pk=parcel.push_id, wanted_version__lte=parcel.version, claimed_by=parcel.holder
            ).update(
                state=PushState.WITHDRAWN,
                attempts=0,
                last_error="",
                claimed_by="",
                claimed_until=None,
            )
        elif parcel.unsendable:
            done.append(_final(parcel, PushState.FAILED, error=parcel.unsendable))
        elif not parcel.objects:
            done.append(_final(parcel, PushState.SYNCED))
        else:
            parcels.append(parcel)
    settle(done, _holder(built))
    return parcels


def _broken(parcel: Parcel, kind: str) -> list[Settlement]:
    """Put back a push whose parcel could not be built, or fail it after BROKEN_TRIES."""
    tries = parcel.attempts + 1
    why = f"These answers could not be prepared for {kind.title()}: {parcel.broken}."
    if tries < BROKEN_TRIES:
        _put_back(
            [parcel],
            None,
            f"{why} Trying again later (try {tries} of {BROKEN_TRIES}).",
            counts_as_failure=True,
            maybe_applied=False,
        )
        return []
    Push.objects.filter(pk=parcel.push_id, claimed_by=parcel.holder).update(attempts=tries)
    record.bump(pushes_failed=1)
    why += f" Gave up after {tries} tries; once it is fixed, use Retry failed to send them."
    return [_final(parcel, PushState.FAILED, error=why)]


def pack(parcels: list[Parcel], limit: RequestLimit) -> list[list[Parcel]]:
    """Requests within `limit`, each filled before the next begins; a parcel (one person) is
    never split."""
    batches: list[list[Parcel]] = []
    counts: Counter[str] = Counter()
    for parcel in parcels:
        own = Counter(array for array, _ in parcel.objects)
        if not batches or not limit.fits(counts + own):
            batches.append([])
            counts = Counter()
        batches[-1].append(parcel)
        counts += own
    return batches


# --- send ----------------------------------------------------------------------------------


def send(destination: Destination, conn: Connection, batch: list[Parcel]) -> bool:
    """Send one request and act on the answer; False when the lane must stop for now."""
    request_id = uuid.uuid4().hex
    # The budget first: the attempt's start is then when the request goes out, which is what
    # `claim.release_dead` counts from when its worker dies with the request in flight.
    _wait_for_budget(conn, destination.kind)
    with transaction.atomic():
        # Only what the worker still holds goes out, under a lease that outlasts the request.
        held = claims.renew([p.push_id for p in batch], _holder(batch))
        batch = [p for p in batch if p.push_id in held]
        if not batch:
            return True
        objects = [obj for parcel in batch for obj in parcel.objects]
        record.start(request_id, batch, len(objects))
    try:
        reply = destination.send(conn, objects)
    except Exception as exc:  # a bug must not lose the batch: retry it, visibly
        reply = Reply(Verdict.RETRY, reason=f"internal error: {exc!r}", maybe_applied=True)
    if reply.verdict is Verdict.BAD_REQUEST and reply.object_errors:
        return _refuse_named(destination, conn, batch, reply, request_id, len(objects))
    if reply.verdict is Verdict.TOO_LARGE and len(batch) == 1:
        # No smaller request to try, and nothing says the answers are bad, nor that the
        # destination is down (no outage): this person waits a backoff of their own and goes
        # again, and the round goes on.
        with transaction.atomic():
            record.bump(requests=1, objects_sent=len(objects))
            record.finish(request_id, Outcome.RETRY, reply.status, reply.reason)
            _put_back(batch, None, reply.reason, counts_as_failure=True, maybe_applied=False)
        return True
    if reply.verdict in (Verdict.BAD_REQUEST, Verdict.TOO_LARGE):
        return _split(destination, conn, batch, reply, request_id, len(objects))
    # Everything the answer changes is written in one transaction: one commit per request.
    with transaction.atomic():
        return _act(destination.kind, conn, batch, reply, request_id, len(objects))


def send_together(destination: Any, conn: Connection, batches: list[list[Parcel]]) -> None:
    """A claim's requests at once, for a destination that takes one person per request and
    can send several in parallel (`send_each`). Each answer is then acted on as `send` would,
    except that a lane failing several requests at once counts one failure, not one each:
    they failed together."""
    started: list[tuple[str, list[Parcel], list[tuple[str, dict[str, Any]]]]] = []
    with transaction.atomic():  # one commit for every request's start
        held = claims.renew([p.push_id for batch in batches for p in batch], _holder(batches[0]))
        for batch in batches:
            batch = [p for p in batch if p.push_id in held]
            if batch:
                objects = [obj for parcel in batch for obj in parcel.objects]
                started.append((uuid.uuid4().hex, batch, objects))
        record.start_many((rid, batch, len(objects)) for rid, batch, objects in started)
    if not started:
        return
    try:
        replies = destination.send_each(conn, [objects for _, _, objects in started])
    except Exception as exc:  # a bug must not lose the requests: retry them, visibly
        replies = [Reply(Verdict.RETRY, reason=f"internal error: {exc!r}", maybe_applied=True)]
        replies *= len(started)
    with transaction.atomic():  # and one for every outcome
        taken = [
            (request_id, batch, objects, reply)
            for (request_id, batch, objects), reply in zip(started, replies, strict=True)
            if reply.verdict is Verdict.OK and not reply.object_errors and not reply.unconfirmed
        ]
        if taken:
            # Plain successes, the common case, recorded together: a few statements for the
            # claim rather than a few for each request.
            record.bump(requests=len(taken), objects_sent=sum(len(t[2]) for t in taken))
            parcels = [parcel for _, batch, _, _ in taken for parcel in batch]
            ids = [request_id for request_id, _, _, _ in taken]
            _delivered(parcels, taken[0][3], ids, conn.workspace_id, destination.kind)
        done = {request_id for request_id, _, _, _ in taken}
        probe_at: datetime | None = None
        for (request_id, batch, objects), reply in zip(started, replies, strict=True):
            if request_id in done:
                continue
            if reply.verdict in (Verdict.OK, Verdict.REFUSED, Verdict.RATE_LIMITED):
                _act(destination.kind, conn, batch, reply, request_id, len(objects))
                continue
            # Any other answer is this request's failure; the first one of the claim records
            # the outage, the others wait for the same next try.
            record.bump(requests=1, objects_sent=len(objects))
            probe_at = _retry_later(destination.kind, conn, batch, reply, request_id, probe_at)


def _act(
    kind: str, conn: Connection, batch: list[Parcel], reply: Reply, request_id: str, size: int
) -> bool:
    record.bump(requests=1, objects_sent=size)
    if reply.blocked_until is not None:
        record.block(conn.workspace_id, kind, reply.blocked_until)
    if reply.verdict is Verdict.OK:
        _delivered(batch, reply, request_id, conn.workspace_id, kind)
        return True
    if reply.verdict is Verdict.REFUSED:
        record.finish(request_id, Outcome.PAUSED, reply.status, reply.reason)
        record.pause(conn.workspace_id, kind, reply.reason)
        return False
    if reply.verdict is Verdict.RATE_LIMITED:
        wait = reply.retry_after if reply.retry_after is not None else 1.0
        until = reply.blocked_until or timezone.now() + timedelta(seconds=wait)
        record.block(conn.workspace_id, kind, until)
        record.finish(request_id, Outcome.RATE_LIMITED, reply.status, reply.reason)
        _put_back(batch, until, reply.reason, counts_as_failure=False, maybe_applied=False)
        return False
    _retry_later(kind, conn, batch, reply, request_id)
    return False


def _retry_later(
    kind: str,
    conn: Connection,
    batch: list[Parcel],
    reply: Reply,
    request_id: str,
    probe_at: datetime | None = None,
) -> datetime:
    """A request that failed as a whole: its people wait for the lane's next try, which is
    returned. `probe_at`: that try, when a request sent beside this one already recorded the
    outage (`send_together`)."""
    record.finish(request_id, Outcome.RETRY, reply.status, reply.reason)
    if probe_at is None:
        # Nothing says whether this request or the destination is at fault: the lane waits,
        # and its people with it, until one request tries again (`record.outage`).
        probe_in = conn.probe_delay or probe_delay
        probe_at = record.outage(conn.workspace_id, kind, reply.reason, probe_in)
    # No answer in time: the far end may still be working on the request, so its people wait
    # until it can no longer be in flight; a second request about them could otherwise race
    # it and lose. An answer, even a 5xx, or a closed connection means it is done with it.
    unanswered = reply.may_still_apply
    _put_back(
        batch,
        probe_at,
        reply.reason,
        counts_as_failure=True,
        maybe_applied=reply.maybe_applied,
        in_flight_until=_started(request_id) + claims.in_flight() if unanswered else None,
    )
    return probe_at


def _wait_for_budget(conn: Connection, kind: str) -> None:
    rate = conn.requests_per_second
    if not rate:
        return
    interval = timedelta(seconds=1 / rate)
    with transaction.atomic():
        lane = record.lane(conn.workspace_id, kind)
        lane = type(lane).objects.select_for_update().get(pk=lane.pk)
        now = timezone.now()
        slot = max(now, lane.next_slot_at or now)
        lane.next_slot_at = slot + interval
        lane.save(update_fields=["next_slot_at"])
    delay = (slot - timezone.now()).total_seconds()
    if delay > 0:
        time.sleep(delay)


def _split(
    destination: Destination,
    conn: Connection,
    batch: list[Parcel],
    reply: Reply,
    request_id: str,
    size: int,
) -> bool:
    """A 400 that names no object refuses the whole request for one bad object: halve until
    it is found. A request too large as a whole is halved the same way, until it fits."""
    with transaction.atomic():
        record.bump(requests=1, objects_sent=size)
        if len(batch) == 1:
            record.finish(request_id, Outcome.FAILED, reply.status, reply.reason)
            record.bump(pushes_failed=1)
            settle([_final(batch[0], PushState.FAILED, error=reply.reason)], _holder(batch))
            return True
        record.finish(request_id, Outcome.RETRY, reply.status, f"{reply.reason} (splitting)")
    middle = len(batch) // 2
    return all(send(destination, conn, half) for half in (batch[:middle], batch[middle:]))


def _refuse_named(
    destination: Destination,
    conn: Connection,
    batch: list[Parcel],
    reply: Reply,
    request_id: str,
    size: int,
) -> bool:
    """Nothing was applied, and the answer names the objects it refused: their people fail
    with its reasons, and everyone else goes again at once, in one request."""
    refused: list[Settlement] = []
    rest: list[Parcel] = []
    for parcel, errors in zip(batch, _by_parcel(batch, reply.object_errors), strict=True):
        if errors:
            refused.append(_final(parcel, PushState.FAILED, error=_describe(errors)))
        else:
            rest.append(parcel)
    again = f"{reply.reason} (sent again without the objects it refused)"
    with transaction.atomic():
        record.bump(requests=1, objects_sent=size, pushes_failed=len(refused))
        record.finish(request_id, Outcome.RETRY, reply.status, again)
        for outcome in refused:
            record.finish(request_id, Outcome.FAILED, reply.status, outcome.error, outcome.push_id)
        settle(refused, _holder(batch))
        record.failed(conn.workspace_id, destination.kind, reply.reason)
        if reply.blocked_until is not None:
            record.block(conn.workspace_id, destination.kind, reply.blocked_until)
        if rest and reply.blocked_until is not None:
            # Sending now would only earn a 429: the others wait for the window like any push.
            _put_back(
                rest, reply.blocked_until, again, counts_as_failure=False, maybe_applied=False
            )
            return False
    return send(destination, conn, rest) if rest else True


def _by_parcel(batch: list[Parcel], flat: Mapping[int, str]) -> list[dict[int, str]]:
    """`flat`, keyed by index in the request's object list, as each parcel's own indexes."""
    found, offset = [], 0
    for parcel in batch:
        end = offset + len(parcel.objects)
        found.append({i - offset: flat[i] for i in range(offset, end) if i in flat})
        offset = end
    return found


def _holder(batch: Sequence[Parcel]) -> str:
    holders = {parcel.holder for parcel in batch}
    if len(holders) != 1 or not next(iter(holders)):
        raise ValueError(f"a request's parcels come from one worker's claim, not {holders}")
    return holders.pop()


def _started(request_id: str) -> datetime:
    started = Attempt.objects.filter(request_id=request_id).values_list("started_at", flat=True)
    return started.first() or timezone.now()


# --- record the outcome --------------------------------------------------------------------


def _delivered(
    batch: list[Parcel], reply: Reply, request_id: str | list[str], workspace_id: int, kind: str
) -> None:
    """`request_id`: the request's, or, for successes recorded together (`send_together`),
    theirs; per-object outcomes (refusals, doubts) only ever come with a single request."""
    outcomes = []
    doubtful: list[tuple[Parcel, Settlement]] = []
    ambiguous: dict[int, int] = {}
    # Merge into what is stored now, not what was read before the request: "Resend all" may
    # have cleared it meanwhile, and must win. The caller's transaction holds the rows.
    stored = {
        row["id"]: row["acknowledged"] or {}
        for row in Push.objects.select_for_update()
        .filter(id__in=[p.push_id for p in batch], claimed_by=_holder(batch))
        .values("id", "acknowledged")
    }
    # Pushes another worker took over meanwhile (this request outlived its lease): their
    # outcome is not ours to write, but the values we just set are on the profile now.
    taken = {p.push_id: p.attributes.keys() for p in batch if p.push_id not in stored}
    unconfirmed.mark(taken)
    refused = _by_parcel(batch, reply.object_errors)
    unknown = _by_parcel(batch, dict.fromkeys(reply.unconfirmed, reply.reason))
    for parcel, errors, unsure in zip(batch, refused, unknown, strict=True):
        outcome = _acknowledge(
            parcel, errors, stored.get(parcel.push_id, {}), unsure.keys(), reply.reason
        )
        if unsure:
            doubtful.append((parcel, outcome))
            events = sum(1 for index in parcel.events.values() if index in unsure)
            if events:
                ambiguous[parcel.push_id] = events
            record.finish(request_id, Outcome.RETRY, reply.status, outcome.error, parcel.push_id)
            continue
        outcomes.append(outcome)
        if not outcome.success:
            record.finish(request_id, Outcome.FAILED, reply.status, outcome.error, parcel.push_id)
    settle(outcomes, _holder(batch))
    record.finish_remaining(request_id, Outcome.OK, reply.status)
    if doubtful:
        _doubt(doubtful, ambiguous, reply.reason, workspace_id, kind)
    failed = sum(1 for o in outcomes if o.state == PushState.FAILED)
    record.bump(pushes_sent=len(outcomes) - failed, pushes_failed=failed)
    record.succeeded(workspace_id, kind)


def _doubt(
    doubtful: list[tuple[Parcel, Settlement]],
    ambiguous: dict[int, int],
    reason: str,
    workspace_id: int,
    kind: str,
) -> None:
    """The answer counted fewer objects than were sent without saying which: what it did
    confirm is kept, the rest goes again after a backoff, and the events among the rest, which
    may have arrived, are counted."""
    log.warning("%s took fewer objects than sent (workspace %s): %s", kind, workspace_id, reason)
    record.failed(workspace_id, kind, reason)
    parcels = [parcel for parcel, _ in doubtful]
    holder = _holder(parcels)
    now = timezone.now()
    # One delay for all, as `_put_back` does. Not `settle` then `_put_back`: settling ends the
    # lease, and a push whose lease ended is no longer this worker's to back off.
    when = now + timedelta(seconds=backoff(max(p.attempts for p in parcels) + 1))
    for parcel, outcome in doubtful:
        Push.objects.filter(pk=parcel.push_id, claimed_by=holder).update(
            acknowledged=outcome.acknowledged,
            attempts=F("attempts") + 1,
            next_attempt_at=when,
            last_attempt_at=now,
            last_error=outcome.error[:2000],
            claimed_by="",
            claimed_until=None,
        )
    for push_id, count in ambiguous.items():
        Push.objects.filter(pk=push_id).update(ambiguous_events=F("ambiguous_events") + count)
    record.bump(pushes_retried=len(parcels), events_ambiguous=sum(ambiguous.values()))


def _describe(errors: dict[int, str]) -> str:
    return "; ".join(sorted(set(errors.values())))


def _acknowledge(
    parcel: Parcel,
    errors: dict[int, str],
    stored: dict[str, Any],
    unsure: Collection[int] = (),
    doubt: str = "",
) -> Settlement:
    """What the destination applied, as the push's new state. Objects it refused or did not
    confirm (`unsure`) are not acknowledged."""
    now = timezone.now().isoformat()
    acknowledged = dict(stored)
    missed = any(parcel.objects[i][0] == "attributes" for i in (*errors, *unsure))
    if parcel.attributes and not missed:
        acknowledged["attributes"] = {**acknowledged.get("attributes", {}), **parcel.attributes}
    elif parcel.attributes and any(parcel.objects[i][0] == "attributes" for i in unsure):
        # They may be on the profile or not: neither they nor the values before are known.
        marked = dict.fromkeys(parcel.attributes, unconfirmed.UNCONFIRMED)
        acknowledged["attributes"] = {**acknowledged.get("attributes", {}), **marked}
    events = dict(acknowledged.get("events", {}))
    for event_id, index in parcel.events.items():
        # A refused event is recorded as such and not sent again: it would be refused again.
        if index in errors:
            events[event_id] = f"refused: {errors[index]}"
        elif index not in unsure:
            events[event_id] = now
    if events:
        acknowledged["events"] = events
    if unsure:
        # Still owed, whatever else happened to the push: the caller backs it off.
        error = "; ".join(filter(None, (doubt, _describe(errors))))
        return Settlement(
            parcel.push_id,
            parcel.version,
            PushState.PENDING,
            success=False,
            error=error,
            acknowledged=acknowledged,
        )
    if errors:
        return Settlement(
            parcel.push_id,
            parcel.version,
            PushState.FAILED,
            success=False,
            error=_describe(errors),
            acknowledged=acknowledged,
        )
    return Settlement(
        parcel.push_id,
        parcel.version,
        # Something owed did not fit in this request: it stays due.
        PushState.PENDING if parcel.deferred else PushState.SYNCED,
        success=True,
        acknowledged=acknowledged,
        notes="; ".join(parcel.notes),
    )


def _final(parcel: Parcel, state: str, error: str = "") -> Settlement:
    """Final word on a push without a delivery: nothing owed, or refused for good."""
    return Settlement(parcel.push_id, parcel.version, state, state == "synced", error=error)


def _put_back(
    batch: list[Parcel],
    until: datetime | None,
    reason: str,
    *,
    counts_as_failure: bool,
    maybe_applied: bool,
    in_flight_until: datetime | None = None,
) -> None:
    now = timezone.now()
    step = 1 if counts_as_failure else 0
    # One delay for the whole request: its pushes come back together and fill one request,
    # while the jitter keeps different failed requests apart.
    when = until or now + timedelta(seconds=backoff(max(p.attempts for p in batch) + step))
    if in_flight_until is not None:
        when = max(when, in_flight_until)
    if maybe_applied:
        # Whoever holds the push now, what this request carried may be on the profile.
        unconfirmed.mark({p.push_id: p.attributes.keys() for p in batch})
    # A worker whose lease was taken over leaves the push to its new holder.
    Push.objects.filter(id__in=[p.push_id for p in batch], claimed_by=_holder(batch)).update(
        attempts=F("attempts") + step,
        next_attempt_at=when,
        last_attempt_at=now,
        last_error=reason[:2000],
        claimed_by="",
        claimed_until=None,
    )
    ambiguous = 0
    if maybe_applied:
        # Their events may have arrived: they are sent again (a lost "completed" is worse),
        # and counted so a duplicate can be explained.
        for parcel in batch:
            if parcel.events:
                ambiguous += len(parcel.events)
                Push.objects.filter(pk=parcel.push_id).update(
                    ambiguous_events=F("ambiguous_events") + len(parcel.events)
                )
    record.bump(pushes_retried=len(batch), events_ambiguous=ambiguous)
