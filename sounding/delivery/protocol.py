"""What the delivery core and a destination say to each other.

The core claims pushes, loads each response with its current answers and asks the destination
for a `Parcel`: the objects that bring the destination up to date. It packs parcels into
requests, records them, asks the destination to `send`, and acts on the `Verdict` the
destination reads from the answer. Only the destination knows its vendor's status codes and
headers; only the core knows about retries, pacing and the record.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sounding.answers.models import Response
from sounding.surveys.models import Survey


@dataclass(frozen=True)
class Item:
    """One response to bring up to date, as the core read it."""

    push_id: int
    response: Response
    survey: Survey
    answers: Mapping[str, Any]
    answered_at: Mapping[str, datetime]
    version: int
    acknowledged: Mapping[str, Any]
    attempts: int = 0


@dataclass
class Parcel:
    """What one response owes a destination: objects for a request, and what to acknowledge."""

    push_id: int
    version: int
    # (array name, object): the part of the request it goes in ("attributes", "events") and
    # the object itself.
    objects: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    # Merged into Push.acknowledged["attributes"] when the attributes object is applied.
    attributes: dict[str, Any] = field(default_factory=dict)
    # Event id -> object index in `objects`, acknowledged one by one.
    events: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # Something owed was left for the next request (too many objects for one): stay pending.
    deferred: bool = False
    # Filled in by the core: what was acknowledged before, failed tries so far, and the worker
    # whose lease the parcel was built under (only that worker may write the push's outcome).
    prior: Mapping[str, Any] = field(default_factory=dict)
    attempts: int = 0
    holder: str = ""
    # Set when the response cannot be sent at all (no usable identifier): a permanent failure.
    unsendable: str = ""
    # Set when the destination was turned off for the survey since the answer: nothing is
    # owed any more (as if the answer had come after turning it off). The push is kept as
    # withdrawn, with what was acknowledged, for when it is owed again.
    withdrawn: bool = False
    # Set by the core when building the parcel raised: what went wrong. The push is retried
    # after a backoff, then failed; the rest of its claim goes on without it.
    broken: str = ""


class Verdict(enum.Enum):
    OK = "ok"  # answered; per-object failures may be listed
    RETRY = "retry"  # transient: back off and send again
    RATE_LIMITED = "rate_limited"  # wait as told, then send again; not the request's fault
    # Nothing applied, something in the request refused: the objects in `object_errors`, or,
    # when none is named, found by splitting the request.
    BAD_REQUEST = "bad_request"
    # Nothing applied, the body was too large as a whole: sent again in halves. One parcel
    # still too large alone is not called bad for it: it is retried like any RETRY.
    TOO_LARGE = "too_large"
    REFUSED = "refused"  # credentials or account refused: pause the lane until they change


@dataclass(frozen=True)
class Answer:
    verdict: Verdict
    reason: str = ""
    status: int | None = None
    # Index in the request's flat object list -> why the destination refused that object.
    object_errors: Mapping[int, str] = field(default_factory=dict)
    retry_after: float | None = None  # seconds, when the destination said how long to wait
    # For RETRY: whether the request may have been applied (a timeout, a 5xx after applying).
    maybe_applied: bool = False
    # For RETRY: no answer came in time, so the far end may still be working on the request
    # and apply it later: its people are not sent again until it cannot be in flight.
    may_still_apply: bool = False
    # Pacing read from the answer: block the lane until then (rate-limit window exhausted).
    blocked_until: datetime | None = None
    # For OK: indexes in the flat object list whose outcome the answer leaves unknown (the
    # destination counted fewer objects than it was sent). They are not acknowledged: sent
    # again, their events counted as ambiguous. `reason` then says what was missing.
    unconfirmed: frozenset[int] = frozenset()


@dataclass(frozen=True)
class RequestLimit:
    """How many objects one request may carry: `total` across its arrays, and `per_array` in
    each of them (None: no such limit)."""

    total: int | None = None
    per_array: int | None = None

    @property
    def people(self) -> int:
        """The most people one request can carry: each brings at least one object."""
        return min(n for n in (self.total, self.per_array) if n is not None)

    def fits(self, counts: Mapping[str, int]) -> bool:
        """Whether a request with this many objects in each array is within the limit."""
        if self.total is not None and sum(counts.values()) > self.total:
            return False
        return self.per_array is None or all(n <= self.per_array for n in counts.values())

    def full(self, counts: Mapping[str, int]) -> bool:
        """Whether a request with this many objects has no room for one more in its arrays."""
        return not any(self.fits({**counts, array: n + 1}) for array, n in counts.items())


@dataclass(frozen=True)
class Connection:
    """A workspace's configured access to a destination."""

    workspace_id: int
    credentials: Any
    requests_per_second: int | None = None
    limit: RequestLimit = RequestLimit(total=75)
    # Requests one claim may make, one after the other. One for destinations that take many
    # people per request (a claim fills one request); more for one that takes one
    # person per request (a webhook message), so a backlog is not one claim per message.
    requests_per_claim: int = 1
    # Seconds before the next try of a lane whose last N requests failed, when the
    # destination has its own schedule (the core's is quick: most are back within seconds).
    probe_delay: Callable[[int], float] | None = None


class Destination(Protocol):
    kind: str
    # The most people one claim takes: as many as the largest request any connection allows.
    max_objects: int

    def connection(self, workspace_id: int) -> Connection | str:
        """The workspace's connection, or why there is none (it is not set up)."""
        ...

    def parcels(self, items: Sequence[Item]) -> list[Parcel]:
        """One parcel per item, in order."""
        ...

    def send(
        self, connection: Connection, objects: Sequence[tuple[str, dict[str, Any]]]
    ) -> Answer: ...
