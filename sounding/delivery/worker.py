"""The delivery worker's main loop: claim due pushes and hand them to the delivery flow.

Any number of workers may run against one PostgreSQL database (claims are serialized and
leased); on SQLite, one per machine is plenty. An idle worker polls every POLL_SECONDS, which
bounds how long a new answer waits when nothing else is going on.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time

from django.db import DatabaseError, close_old_connections

from sounding import destinations
from sounding.answers.models import prune_clicks
from sounding.delivery import claim, engine, erased, heartbeat, record

log = logging.getLogger("sounding.worker")
POLL_SECONDS = 0.1
ERROR_PAUSE_SECONDS = 2.0
PRUNE_EVERY_SECONDS = 600.0


def worker_id() -> str:
    # A container's host name can be long; the id must fit `Push.claimed_by`.
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"


def run_once(worker: str) -> int:
    """Deliver what is due now; return how many pushes were handled."""
    return sum(engine.deliver_due(kind, worker) for kind in destinations.lanes())


def run_forever(stop: threading.Event) -> None:
    worker = worker_id()
    close_old_connections()
    heartbeat.register(worker)
    freed = claim.release_dead(heartbeat.dead_after())
    if freed:
        log.info("took back %d pushes from a worker that stopped beating", freed)
    # Beats on a thread of its own: a round waiting on a slow request must not look dead.
    beating = heartbeat.Heartbeat(worker, stop)
    beating.start()
    log.info(
        "delivery worker %s started (destinations: %s)", worker, ", ".join(destinations.REGISTRY)
    )
    pruned_at = swept_at = 0.0
    failed = False
    while not stop.is_set():
        close_old_connections()
        try:
            if failed:
                # A round that failed may have left leases it could not end (the database was
                # away): end them now, or its pushes would wait out the whole lease.
                claim.end_lease(worker)
                failed = False
            if time.monotonic() - pruned_at > PRUNE_EVERY_SECONDS:
                pruned_at = time.monotonic()
                record.prune()
                prune_clicks()
                destinations.prune()
            if time.monotonic() - swept_at > erased.SWEEP_EVERY_SECONDS:
                swept_at = time.monotonic()
                erased.sweep()
            busy = run_once(worker)
        except Exception:
            # The database went away or a bug: say so, wait, and go on; nothing was lost,
            # because nothing is settled until its outcome is written.
            log.exception("delivery round failed; trying again shortly")
            failed = True
            stop.wait(ERROR_PAUSE_SECONDS)
            continue
        if not busy:
            stop.wait(POLL_SECONDS)
    beating.join(timeout=ERROR_PAUSE_SECONDS)
    leave(worker)
    log.info("delivery worker stopped")


def leave(worker: str) -> None:
    """On a clean stop, between rounds: hand back what a failed round left leased (as the loop
    does after one) and remove the worker's row, so that nothing waits for its heartbeat to
    go stale. With the database away, the others do both once the beat is old enough."""
    try:
        claim.end_lease(worker)
        heartbeat.forget(worker)
    except DatabaseError:
        log.warning("could not remove worker %s; the others will once it stops beating", worker)
