"""/health: whether this installation can answer respondents and deliver their answers.

For load balancers and Kubernetes probes: `200` when healthy, `503` otherwise, with a small
JSON body saying which check failed. It is answered by the first middleware, before the host
check, the HTTPS redirect and sessions, because probes ask by address over plain HTTP; it
needs no credentials and tells nothing worth hiding. Three small queries per probe.
`?worker=0` leaves out the delivery workers, for a probe that judges only this web process.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.db import DatabaseError, connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

PATH = "/health"
SKIP = {"0", "false", "no", "off"}


@functools.cache
def _latest_migrations() -> frozenset[tuple[str, str]]:
    # The migrations on disk do not change while a process runs: read them once.
    return frozenset(MigrationLoader(None, ignore_no_migrations=True).graph.leaf_nodes())


def pending_migrations() -> list[str]:
    """The latest migration of each app that the database has not applied yet."""
    applied = MigrationRecorder(connection).applied_migrations()
    return sorted(f"{app}.{name}" for app, name in _latest_migrations() - applied.keys())


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return "ok"


def _worker(report: dict[str, Any]) -> str:
    from sounding.delivery import heartbeat

    newest, alive = heartbeat.newest_beat()
    report["workers_alive"] = alive
    if newest is None:
        return "none"
    age = max((timezone.now() - newest).total_seconds(), 0.0)
    report["worker_heartbeat_age_seconds"] = round(age, 1)
    return "ok" if alive else "stale"


def check(include_worker: bool = True) -> tuple[bool, dict[str, Any]]:
    report: dict[str, Any] = {"database": "unreachable", "schema": "unknown"}
    report["worker"] = "unknown" if include_worker else "skipped"
    report["worker_heartbeat_age_seconds"] = None
    report["workers_alive"] = None
    try:
        report["database"] = _database()
        report["schema"] = "behind" if pending_migrations() else "current"
        if include_worker and report["schema"] == "current":
            report["worker"] = _worker(report)
    except DatabaseError:
        pass  # the report says what could not be checked
    healthy = report["database"] == "ok" and report["schema"] == "current"
    healthy = healthy and report["worker"] in ("ok", "skipped")
    return healthy, {"status": "ok" if healthy else "fail", **report}


class HealthMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info != PATH:
            return self.get_response(request)
        if request.method not in ("GET", "HEAD"):
            return HttpResponse(status=405, headers={"Allow": "GET, HEAD"})
        include_worker = request.GET.get("worker", "1").lower() not in SKIP
        healthy, report = check(include_worker)
        return JsonResponse(
            report, status=200 if healthy else 503, headers={"Cache-Control": "no-store"}
        )
