"""The delivery worker's main loop: wait for due pushes, hand them to their destinations.

Destinations register in `sounding.destinations.REGISTRY`. Until one is registered there is
nothing to deliver, but the worker runs all the same, so `sounding serve` and a scaled-out
deployment have their final shape from the start.
"""

from __future__ import annotations

import logging
import threading

from django.db import close_old_connections

from sounding import destinations

log = logging.getLogger("sounding.worker")
POLL_SECONDS = 0.5


def run_once() -> int:
    """Deliver what is due now; return how many pushes were handled."""
    handled = 0
    for kind in destinations.REGISTRY:
        deliver = getattr(destinations.load(kind), "deliver_due", None)
        if deliver is not None:
            handled += deliver()
    return handled


def run_forever(stop: threading.Event) -> None:
    kinds = ", ".join(destinations.REGISTRY) or "none yet"
    log.info("delivery worker started (destinations: %s)", kinds)
    while not stop.is_set():
        close_old_connections()
        if not run_once():
            stop.wait(POLL_SECONDS)
    log.info("delivery worker stopped")
