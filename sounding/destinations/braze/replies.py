"""What the body of a Braze answer says, beyond its status code.

Braze documents `{"message": "success", ...}` for a request it took and `{"message": "<fatal
error message>", "errors": [...]}` for one it did not, without promising that a fatal error
comes with a 4xx. Integrations in production meet fatal errors under a 2xx, 2xx answers whose
body says nothing, `errors` given as plain strings, and counts (`attributes_processed`,
`events_processed`) short of what was sent. Each is read so that no answer is lost: what Braze
did not clearly take is sent again, and an event sent again after an unclear answer is
counted as ambiguous by the core.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sounding.delivery.protocol import Answer, Verdict
from sounding.destinations.braze import errors

SUCCESS = "success"
REASON_LIMIT = 500
MESSAGE_LIMIT = 300


@dataclass(frozen=True)
class Listed:
    """A body's `errors`: reasons by index in the request's flat object list, and the texts of
    entries that name no object we sent (plain strings, or objects without a usable index)."""

    objects: dict[int, str]
    unplaced: list[str]


def listed(body: Any, positions: Mapping[str, list[int]]) -> Listed:
    entries = body.get("errors") if isinstance(body, dict) else None
    if isinstance(entries, str):
        entries = [entries]
    objects: dict[int, str] = {}
    unplaced: list[str] = []
    for entry in entries if isinstance(entries, list) else ():
        slot = _slot(entry, positions)
        if slot is None:
            unplaced.append(_text(entry))
        else:
            objects[slot] = str(entry.get("type") or "refused by Braze")[:REASON_LIMIT]
    return Listed(objects, unplaced)


def _slot(entry: Any, positions: Mapping[str, list[int]]) -> int | None:
    if not isinstance(entry, dict):
        return None
    slots = positions.get(str(entry.get("input_array", "")), [])
    index = entry.get("index")
    if isinstance(index, int) and not isinstance(index, bool) and 0 <= index < len(slots):
        return slots[index]
    return None


def _text(entry: Any) -> str:
    if isinstance(entry, dict):
        said = entry.get("type") or entry.get("message")
        text = str(said) if said else json.dumps(entry, ensure_ascii=False, default=str)
    else:
        text = str(entry)
    return text[:REASON_LIMIT]


def read_2xx(
    status: int,
    body: Any,
    positions: Mapping[str, list[int]],
    blocked: datetime | None = None,
) -> Answer:
    message = body.get("message") if isinstance(body, dict) else None
    if not isinstance(message, str) or not message.strip():
        # Nothing says whether Braze took the request: the same doubt as after a timeout.
        return Answer(
            Verdict.RETRY,
            reason=errors.silent(status, body),
            status=status,
            maybe_applied=True,
            blocked_until=blocked,
        )
    found = listed(body, positions)
    if message.strip().lower() != SUCCESS:
        return _fatal(status, message, found, blocked)
    if found.unplaced:
        # An error that names no object may concern any of them: none is called delivered.
        said = "; ".join(found.unplaced)[:REASON_LIMIT]
        every = {i: found.objects.get(i, said) for slots in positions.values() for i in slots}
        return Answer(Verdict.OK, status=status, object_errors=every, blocked_until=blocked)
    reason, unconfirmed = _shortfall(body, positions, found.objects)
    return Answer(
        Verdict.OK,
        reason=reason,
        status=status,
        object_errors=found.objects,
        unconfirmed=unconfirmed,
        blocked_until=blocked,
    )


def _fatal(status: int, message: str, found: Listed, blocked: datetime | None) -> Answer:
    """Nothing was applied. Objects it names are refused like a 400's; otherwise nothing says
    the request is at fault, so it is sent again after a backoff rather than failed."""
    reason = errors.fatal(status, message[:MESSAGE_LIMIT])
    if found.unplaced:
        reason += f" ({'; '.join(found.unplaced)[:REASON_LIMIT]})"
    if found.objects:
        return Answer(
            Verdict.BAD_REQUEST,
            reason=reason,
            status=status,
            object_errors=found.objects,
            blocked_until=blocked,
        )
    return Answer(Verdict.RETRY, reason=reason, status=status, blocked_until=blocked)


def _shortfall(
    body: dict[str, Any], positions: Mapping[str, list[int]], refused: Mapping[int, str]
) -> tuple[str, frozenset[int]]:
    """Arrays whose `<array>_processed` is below what was sent and not refused: which of their
    objects were dropped is not said, so none of them is confirmed."""
    notes: list[str] = []
    unconfirmed: set[int] = set()
    for array, slots in positions.items():
        processed = body.get(f"{array}_processed")
        if isinstance(processed, bool) or not isinstance(processed, int):
            continue  # not given: nothing to compare
        taken = [i for i in slots if i not in refused]
        if processed < len(taken):
            notes.append(errors.short(array, processed, len(taken)))
            unconfirmed.update(taken)
    return " ".join(notes), frozenset(unconfirmed)
