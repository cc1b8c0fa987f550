"""Calling Braze's /users/track and reading its answer into a delivery verdict.

This is the only module that knows Braze's status codes and rate-limit headers.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sounding import outbound
from sounding.delivery.protocol import Answer, Verdict
from sounding.destinations.braze import clusters, errors, replies

# A reset value below this is "seconds from now", above it a UTC epoch (both are in use).
EPOCH_THRESHOLD = 10**9


@dataclass(frozen=True)
class Target:
    endpoint: str
    api_key: str

    @property
    def url(self) -> str:
        return f"{self.endpoint}/users/track"


def request_body(
    objects: Sequence[tuple[str, dict[str, Any]]],
) -> tuple[dict[str, list[Any]], dict[str, list[int]]]:
    """The body, and for each array the flat index of its objects (Braze reports errors by
    array and position)."""
    body: dict[str, list[Any]] = {}
    positions: dict[str, list[int]] = {}
    for i, (array, obj) in enumerate(objects):
        body.setdefault(array, []).append(obj)
        positions.setdefault(array, []).append(i)
    return body, positions


def send(target: Target, objects: Sequence[tuple[str, dict[str, Any]]]) -> Answer:
    body, positions = request_body(objects)
    try:
        reply = outbound.post_json(
            target.url,
            body,
            headers={"Authorization": f"Bearer {target.api_key}"},
            allowed=clusters.is_allowed,
        )
    except outbound.OutboundError as exc:
        return Answer(
            Verdict.RETRY,
            reason=errors.unreachable(str(exc)),
            maybe_applied=exc.maybe_applied,
            may_still_apply=exc.timed_out,
        )
    return read(reply.status, reply.headers, reply.body, positions)


def read(
    status: int,
    headers: Mapping[str, str],
    body: Any,
    positions: Mapping[str, list[int]] | None = None,
) -> Answer:
    """The verdict on one answer; `positions` (from `request_body`) places the objects that
    Braze names by array and index in the request's flat object list."""
    blocked = _blocked_until(headers)
    if 200 <= status < 300:
        # A 2xx is only as good as its body (see `replies`).
        return replies.read_2xx(status, body, positions or {}, blocked)
    if status == 429:
        retry_after = _retry_after(headers)
        return Answer(
            Verdict.RATE_LIMITED,
            reason=errors.RATE_LIMITED,
            status=status,
            retry_after=retry_after,
            blocked_until=blocked,
        )
    if status == 401:
        return Answer(Verdict.REFUSED, reason=errors.WRONG_KEY, status=status)
    if status == 403:
        return Answer(Verdict.REFUSED, reason=errors.NO_PERMISSION, status=status)
    if status == 404:
        return Answer(Verdict.REFUSED, reason=errors.WRONG_URL, status=status)
    if status >= 500:
        # Braze may have applied the request before failing; it never replays one itself.
        return Answer(
            Verdict.RETRY, reason=errors.server_error(status), status=status, maybe_applied=True
        )
    if status == 413:
        # The body as a whole was too large for something on the way (Braze's own "too many
        # objects" is a 400): no object is said to be bad, and only a smaller body can fit.
        return Answer(Verdict.TOO_LARGE, reason=errors.too_large(_said(body)), status=status)
    if status != 400:
        # Only a 400 says something in the request is bad. Any other status (408, 409, 422, a
        # redirect...) says nothing against the objects, and Braze applies nothing it answers
        # so: wait, send again, and show what it said meanwhile.
        return Answer(Verdict.RETRY, reason=errors.unexpected(status, _said(body)), status=status)
    message = body.get("message", "") if isinstance(body, dict) else body
    return Answer(
        Verdict.BAD_REQUEST,
        reason=errors.refused(status, str(message or "")[: replies.MESSAGE_LIMIT]),
        status=status,
        # Named bad objects fail alone; without names the core splits the request to find them.
        object_errors=replies.listed(body, positions or {}).objects,
    )


def _said(body: Any) -> str:
    """What a refusal's body says, for whoever reads the delivery log."""
    if not isinstance(body, dict):
        return str(body or "")[: replies.MESSAGE_LIMIT]
    parts = [str(body.get("message") or ""), *replies.listed(body, {}).unplaced]
    text = "; ".join(part for part in parts if part)
    if not text and body:
        text = json.dumps(body, ensure_ascii=False, default=str)
    return text[: replies.MESSAGE_LIMIT]


def _number(headers: Mapping[str, str], name: str) -> float | None:
    raw = headers.get(name)
    try:
        value = float(raw) if raw is not None else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None


def _reset_at(headers: Mapping[str, str]) -> datetime | None:
    reset = _number(headers, "x-ratelimit-reset")
    if reset is None:
        return None
    now = datetime.now(UTC)
    if reset < EPOCH_THRESHOLD:
        return now + timedelta(seconds=max(reset, 0))
    return datetime.fromtimestamp(reset, UTC)


def _blocked_until(headers: Mapping[str, str]) -> datetime | None:
    remaining = _number(headers, "x-ratelimit-remaining")
    if remaining is None or remaining > 0:
        return None
    return _reset_at(headers)


def _retry_after(headers: Mapping[str, str]) -> float:
    after = _number(headers, "x-ratelimit-retry-after") or _number(headers, "retry-after")
    if after is not None:
        return max(after, 0.0)
    reset = _reset_at(headers)
    if reset is not None:
        return max((reset - datetime.now(UTC)).total_seconds(), 0.0)
    return 1.0


# --- Test connection -----------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    ok: bool
    message: str


def check(target: Target) -> Check:
    """Tell a working key from a wrong one, a missing permission and an unreachable host.

    An empty request changes nothing on any profile; Braze checks the key before the body,
    so anything but 401/403/404 means the key works on this cluster.
    """
    try:
        reply = outbound.post_json(
            target.url,
            {"attributes": []},
            headers={"Authorization": f"Bearer {target.api_key}"},
            allowed=clusters.is_allowed,
            timeout=10.0,
        )
    except outbound.OutboundError as exc:
        return Check(False, errors.unreachable(str(exc)))
    answer = read(reply.status, reply.headers, reply.body)
    if answer.verdict is Verdict.REFUSED:
        return Check(False, answer.reason)
    # Any 2xx or 4xx got past the key, even one whose body refuses the empty request.
    if answer.verdict is Verdict.RETRY and reply.status >= 500:
        return Check(False, answer.reason)
    return Check(True, "Connected: Braze accepted the key, and it may update users.")
