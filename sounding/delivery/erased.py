"""Deleting erased responses once every destination has settled what it was asked to clear.

Erasing (`sounding.responses.erasure`) empties a response and leaves it only for its pushes;
the worker sweeps it away here when none of them is pending any more.
"""

from __future__ import annotations

from django.db import transaction

from sounding.answers.models import Response
from sounding.delivery.models import PushState

# Enough for a burst of data-subject requests; the next sweep takes the rest.
SWEEP_BATCH = 500
SWEEP_EVERY_SECONDS = 1.0


def sweep(limit: int = SWEEP_BATCH) -> int:
    """Delete erased responses whose push is settled (synced or failed) or that have none.

    Called by the delivery worker every SWEEP_EVERY_SECONDS: when nothing is being erased it
    costs one query on a partial index that is empty.
    """
    settled = Response.objects.filter(erase_requested_at__isnull=False).exclude(
        pushes__state=PushState.PENDING
    )
    ids = list(settled.values_list("pk", flat=True)[:limit])
    if not ids:
        return 0
    with transaction.atomic():
        # Checked again inside the transaction: an answer may have made a push due meanwhile.
        _, deleted = (
            Response.objects.filter(pk__in=ids, erase_requested_at__isnull=False)
            .exclude(pushes__state=PushState.PENDING)
            .delete()
        )
    return deleted.get(Response._meta.label, 0)
