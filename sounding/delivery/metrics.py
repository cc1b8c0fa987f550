"""What /metrics reports about delivery, written in Prometheus' text exposition format 0.0.4.

Counters come from the `Counter` table, which every worker process adds to; gauges are read
from the outbox and the workers' heartbeats when scraped. A few small queries per scrape, none
of them per row.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from sounding.delivery import heartbeat, record
from sounding.delivery.models import Counter, Lane, Push, PushState

# The classic text format: what generate_latest writes for these names, and what every
# Prometheus version reads.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
PREFIX = "sounding_delivery_"

Labels = dict[str, str]


@dataclass(frozen=True)
class Metric:
    name: str
    kind: str  # "counter" or "gauge"
    help: str
    samples: list[tuple[Labels, float]]


def collect(now: datetime | None = None) -> list[Metric]:
    now = now or timezone.now()
    return [*counters(), pushes(), lanes_paused(), oldest_pending(now), *workers(now)]


def counters() -> list[Metric]:
    # Every known counter is written, 0 before its first bump, so a rate() has a start point.
    stored = dict(Counter.objects.values_list("name", "value"))
    return [
        Metric(f"{PREFIX}{name}_total", "counter", text, [({}, stored.get(name, 0))])
        for name, text in record.COUNTERS.items()
    ]


def pushes() -> Metric:
    rows = Push.objects.order_by().values_list("state").annotate(n=Count("pk"))
    counts = dict(rows)
    return Metric(
        f"{PREFIX}pushes",
        "gauge",
        "Responses owed to (pending), taken by (synced) or refused by (failed) a destination, "
        "or owed nothing since it was turned off for their survey (withdrawn)",
        [({"state": state}, counts.get(state, 0)) for state in PushState.values],
    )


def lanes_paused() -> Metric:
    paused = Lane.objects.filter(paused_at__isnull=False).count()
    return Metric(
        f"{PREFIX}lanes_paused",
        "gauge",
        "Workspace destinations paused until their settings change (refused credentials)",
        [({}, paused)],
    )


def oldest_pending(now: datetime) -> Metric:
    due = Push.objects.filter(state=PushState.PENDING, next_attempt_at__lte=now)
    oldest = due.aggregate(oldest=Min("next_attempt_at"))["oldest"]
    seconds = max((now - oldest).total_seconds(), 0.0) if oldest else 0.0
    return Metric(
        f"{PREFIX}oldest_pending_seconds",
        "gauge",
        "How long the longest-waiting due push has been due; growing means delivery is stuck",
        [({}, seconds)],
    )


def workers(now: datetime) -> list[Metric]:
    newest, alive = heartbeat.newest_beat()
    # No sample while no worker has a row: there is no age to tell, and the count says why.
    age: list[tuple[Labels, float]] = (
        [({}, max((now - newest).total_seconds(), 0.0))] if newest else []
    )
    return [
        Metric(
            f"{PREFIX}workers",
            "gauge",
            "Delivery workers whose heartbeat is recent (SOUNDING_WORKER_DEAD_AFTER_SECONDS)",
            [({}, alive)],
        ),
        Metric(
            f"{PREFIX}worker_heartbeat_age_seconds",
            "gauge",
            "Seconds since the most recent heartbeat of any delivery worker",
            age,
        ),
    ]


class _Collector:
    """Hands prometheus_client the families read from the database at scrape time."""

    def __init__(self, metrics: list[Metric]) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        for metric in self.metrics:
            if metric.kind == "counter":
                family: CounterMetricFamily | GaugeMetricFamily = CounterMetricFamily(
                    metric.name.removesuffix("_total"), metric.help, labels=_label_names(metric)
                )
            else:
                family = GaugeMetricFamily(metric.name, metric.help, labels=_label_names(metric))
            for labels, value in metric.samples:
                family.add_metric(list(labels.values()), value)
            yield family


def _label_names(metric: Metric) -> list[str]:
    return list(metric.samples[0][0]) if metric.samples else []


def exposition(metrics: list[Metric]) -> str:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector(metrics))
    return generate_latest(registry).decode()
