"""The web side of /metrics: requests by route and status class, and how long they took.

`sounding web` runs several Granian worker processes and a scrape reaches one of them, so each
process writes its numbers to memory-mapped files in a directory they share
(prometheus_client's multiprocess mode), and /metrics adds them up. `sounding web` and
`sounding serve` empty that directory at every start (`PROMETHEUS_MULTIPROC_DIR`, see
`web_environment` in sounding.processes): the counters start from zero with the server, as
Prometheus expects of a restarted target, and a Granian worker that was replaced still counts.
Without the directory (tests, a management command) the numbers are the process's own.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

log = logging.getLogger("sounding.web")
MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
# Respondent pages take a few milliseconds; exports and report pages can take seconds.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# The multiprocess files keep no creation times: leave them out in a single process too, so
# /metrics lists the same series either way.
disable_created_metrics()
REGISTRY = CollectorRegistry(auto_describe=True)
REQUESTS = Counter(
    "sounding_http_requests",
    "HTTP requests answered, by route name and status class",
    ["route", "status"],
    registry=REGISTRY,
)
DURATION = Histogram(
    "sounding_http_request_duration_seconds",
    "Time from receiving a request to starting its response, by route name",
    ["route"],
    buckets=BUCKETS,
    registry=REGISTRY,
)


def route(request: HttpRequest) -> str:
    """The URL pattern's name: a small, fixed set of values, never the path itself."""
    match = getattr(request, "resolver_match", None)
    if match is not None and match.view_name:
        return match.view_name
    if request.path_info.startswith(settings.STATIC_URL):
        return "static"  # WhiteNoise answers before URLs are resolved
    return "unmatched"  # no such page, a refused host, a redirect to HTTPS


class RequestMetricsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.failed = False

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        try:
            name = route(request)
            DURATION.labels(name).observe(time.perf_counter() - started)
            REQUESTS.labels(name, f"{response.status_code // 100}xx").inc()
        except Exception:
            # Counting must never cost an answer (the directory removed by hand, a full disk).
            if not self.failed:
                log.exception("request metrics cannot be recorded; requests are answered")
                self.failed = True
        return response


def exposition() -> str:
    directory = os.environ.get(MULTIPROCESS_DIR)
    if not directory:
        return generate_latest(REGISTRY).decode()
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)
    return generate_latest(registry).decode()
