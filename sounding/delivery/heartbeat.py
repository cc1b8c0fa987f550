"""Which delivery workers are alive, known from the database rather than from process ids.

Each worker has a `Worker` row whose `beat_at` a thread of its own moves every few seconds, on
its own database connection, so a worker waiting on a slow request still beats. A worker whose
beat is older than SOUNDING_WORKER_DEAD_AFTER_SECONDS is dead, on whatever machine or in
whatever container it ran: the same thread, in every live worker, ends the dead one's leases
(`claim.release_dead`) and removes its row. Process ids and host names are only shown.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import datetime, timedelta

from django.conf import settings
from django.db import close_old_connections, connection
from django.db.models import Max
from django.utils import timezone

from sounding.delivery import claim
from sounding.delivery.models import Worker

log = logging.getLogger("sounding.worker")
# Beats per SOUNDING_WORKER_DEAD_AFTER_SECONDS: several may be late before a worker counts
# as dead (a busy database, a pause of the machine).
BEATS_PER_BOUND = 6


def dead_after() -> timedelta:
    return timedelta(seconds=settings.WORKER_DEAD_AFTER_SECONDS)


def interval() -> float:
    return settings.WORKER_DEAD_AFTER_SECONDS / BEATS_PER_BOUND


def register(worker: str) -> None:
    defaults = {"host": socket.gethostname(), "pid": os.getpid(), "beat_at": timezone.now()}
    Worker.objects.update_or_create(id=worker, defaults=defaults)


def beat(worker: str) -> None:
    if not Worker.objects.filter(id=worker).update(beat_at=timezone.now()):
        # Another worker found our beat too old (the machine paused, the database was away)
        # and ended our leases: whatever we still hold is renewed before each request.
        log.warning("worker %s was taken for dead; its leases were ended", worker)
        register(worker)


def forget(worker: str) -> None:
    Worker.objects.filter(id=worker).delete()


def newest_beat() -> tuple[datetime | None, int]:
    """The most recent beat of any worker, and how many workers beat within the bound."""
    now = timezone.now()
    newest = Worker.objects.aggregate(newest=Max("beat_at"))["newest"]
    alive = Worker.objects.filter(beat_at__gte=now - dead_after()).count() if newest else 0
    return newest, alive


class Heartbeat(threading.Thread):
    """Beats for `worker` until `stop` is set, and ends the leases of workers that stopped."""

    def __init__(self, worker: str, stop: threading.Event) -> None:
        super().__init__(name="heartbeat", daemon=True)
        self.worker = worker
        self.stop = stop

    def run(self) -> None:
        try:
            while not self.stop.wait(interval()):
                close_old_connections()
                if not self.once():
                    connection.close()  # the next beat tries again on a new connection
        finally:
            connection.close()  # this thread's own connection

    def once(self) -> bool:
        """Beat, and end the leases of the workers that stopped; False if the database failed."""
        try:
            beat(self.worker)
            freed = claim.release_dead(dead_after())
        except Exception:
            log.exception("heartbeat of worker %s failed; trying again", self.worker)
            return False
        if freed:
            log.info("took back %d pushes from a worker that stopped beating", freed)
        return True
