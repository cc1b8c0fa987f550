"""/health for load balancers and probes: 200 when the database answers, its schema is current
and a delivery worker beats; 503 with the reason otherwise. No credentials, nothing to hide.

The database being away is checked with real processes in tests/test_processes_stay_up.py.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.test import Client
from django.utils import timezone

from sounding import health
from sounding.delivery.models import Worker

KEYS = {
    "status",
    "database",
    "schema",
    "worker",
    "worker_heartbeat_age_seconds",
    "workers_alive",
}


@pytest.fixture(autouse=True)
def _bound(settings: Any) -> None:
    settings.WORKER_DEAD_AFTER_SECONDS = 30


def probe(query: str = "", **extra: Any) -> Any:
    return Client().get("/health" + query, **extra)


def beating(seconds_ago: float, worker_id: str = "machine-a:10:beat01") -> Worker:
    beat = timezone.now() - timedelta(seconds=seconds_ago)
    return Worker.objects.create(id=worker_id, host="machine-a", pid=10, beat_at=beat)


@pytest.mark.django_db
def test_healthy_when_the_database_answers_its_schema_is_current_and_a_worker_beats() -> None:
    beating(seconds_ago=3)

    response = probe()

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    report = response.json()
    assert set(report) == KEYS
    assert report["status"] == "ok"
    assert (report["database"], report["schema"], report["worker"]) == ("ok", "current", "ok")
    assert 3 <= report["worker_heartbeat_age_seconds"] < 10
    assert report["workers_alive"] == 1


@pytest.mark.django_db
def test_unhealthy_when_no_worker_has_ever_beaten() -> None:
    response = probe()

    assert response.status_code == 503
    report = response.json()
    assert report["status"] == "fail"
    assert report["worker"] == "none" and report["workers_alive"] == 0
    assert report["worker_heartbeat_age_seconds"] is None
    assert report["database"] == "ok" and report["schema"] == "current"


@pytest.mark.django_db
def test_unhealthy_when_the_newest_beat_is_older_than_the_bound() -> None:
    beating(seconds_ago=45)
    beating(seconds_ago=600, worker_id="machine-b:11:beat02")

    response = probe()

    assert response.status_code == 503
    report = response.json()
    assert report["worker"] == "stale" and report["workers_alive"] == 0
    assert 45 <= report["worker_heartbeat_age_seconds"] < 60


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["?worker=0", "?worker=false", "?worker=no"])
def test_the_worker_check_can_be_left_out_for_a_web_only_probe(query: str) -> None:
    response = probe(query)

    assert response.status_code == 200
    assert response.json()["worker"] == "skipped"


@pytest.mark.django_db
def test_unhealthy_while_a_migration_is_not_applied() -> None:
    beating(seconds_ago=1)
    latest = max(health._latest_migrations())
    MigrationRecorder(connection).record_unapplied(*latest)

    for query in ("", "?worker=0"):
        response = probe(query)
        assert response.status_code == 503
        assert response.json()["schema"] == "behind"
    assert health.pending_migrations() == [f"{latest[0]}.{latest[1]}"]


@pytest.mark.django_db
def test_probes_need_no_allowed_host_no_https_and_no_credentials(settings: Any) -> None:
    # What a Kubernetes probe sends: the pod's address as the host, plain HTTP, nothing else.
    settings.ALLOWED_HOSTS = ["surveys.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    settings.METRICS_TOKEN = "s3cret"
    beating(seconds_ago=1)

    response = probe(HTTP_HOST="10.1.2.3:8000")

    assert response.status_code == 200
    assert "s3cret" not in response.content.decode()
    # Every other page still refuses that host.
    assert Client().get("/login", HTTP_HOST="10.1.2.3:8000").status_code == 400


@pytest.mark.django_db
def test_only_get_and_head_are_answered() -> None:
    beating(seconds_ago=1)

    assert Client().head("/health").status_code == 200
    refused = Client().post("/health")
    assert refused.status_code == 405
    assert refused["Allow"] == "GET, HEAD"
