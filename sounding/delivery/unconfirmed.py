"""Attribute values that a destination may or may not hold.

A request whose outcome is unknown (no answer before the timeout, a dropped connection, a 5xx,
a worker that died with it in flight) may have been applied. Until a later request about the
same person is acknowledged, neither the value acknowledged before nor the one that request
carried can be assumed to be on the profile. Leaving the old acknowledged value in place is
wrong: if the person then changes their answer back to it, the delta is empty, nothing is sent,
and the profile keeps the value of the request nobody heard back from.

So the names such a request carried are marked unconfirmed in `Push.acknowledged`. The marker
equals no value an answer can map to, so the next request sends the current value whatever it
is (`null` included), and acknowledging that request replaces the marker.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.db import transaction

from sounding.delivery.models import Push

# No destination takes an attribute name starting with "$", and no answer maps to an object:
# nothing acknowledged for real can be equal to this.
UNCONFIRMED = {"$unconfirmed": True}


def is_unconfirmed(value: object) -> bool:
    return value == UNCONFIRMED


def mark(names_by_push: Mapping[int, Iterable[str]], holder: str | None = None) -> int:
    """Mark these attribute names of these pushes unconfirmed; return how many pushes changed.

    With `holder`, only pushes that worker still holds are touched: a worker whose lease was
    taken over says nothing more about the push.
    """
    wanted = {push_id: set(names) for push_id, names in names_by_push.items() if names}
    if not wanted:
        return 0
    changed = 0
    with transaction.atomic():
        pushes = Push.objects.select_for_update().filter(id__in=list(wanted))
        if holder is not None:
            pushes = pushes.filter(claimed_by=holder)
        for push_id, acknowledged in pushes.values_list("id", "acknowledged"):
            acknowledged = dict(acknowledged or {})
            attributes = dict(acknowledged.get("attributes") or {})
            attributes.update({name: UNCONFIRMED for name in wanted[push_id]})
            acknowledged["attributes"] = attributes
            changed += Push.objects.filter(pk=push_id).update(acknowledged=acknowledged)
    return changed
