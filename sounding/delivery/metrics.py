"""What /metrics reports about delivery, written in Prometheus' text exposition format 0.0.4.

Counters come from the `Counter` table, which every worker process adds to; gauges are read
from the outbox when scraped. A few small queries per scrape, none of them per row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Min
from django.utils import timezone

from sounding.delivery import record
from sounding.delivery.models import Counter, Lane, Push, PushState

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
    return [*counters(), pushes(), lanes_paused(), oldest_pending(now)]


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
        "Responses owed to (pending), taken by (synced) or refused by (failed) a destination",
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


def exposition(metrics: list[Metric]) -> str:
    lines: list[str] = []
    for metric in metrics:
        lines.append(f"# HELP {metric.name} {_escape_help(metric.help)}")
        lines.append(f"# TYPE {metric.name} {metric.kind}")
        lines.extend(
            f"{metric.name}{_labels(labels)} {_number(value)}" for labels, value in metric.samples
        )
    return "\n".join(lines) + "\n"


def _labels(labels: Labels) -> str:
    if not labels:
        return ""
    pairs = ",".join(f'{key}="{_escape_label(value)}"' for key, value in labels.items())
    return "{" + pairs + "}"


def _number(value: float) -> str:
    # Fixed point for fractions: scrapers read "1e-05", but people grepping the page do not.
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return f"{value:.3f}"


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _escape_label(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
