"""/metrics: Prometheus' text format, values read from the outbox and the workers' heartbeats,
the web side's requests, and who may read it."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from sounding.accounts.models import Workspace
from sounding.answers.models import Response
from sounding.delivery import record
from sounding.delivery.models import Counter, Lane, Push, PushState, Worker
from sounding.surveys.models import Survey

SAMPLE = re.compile(r"^[a-z_]+(\{[^}]*\})? -?[0-9.e+]+$")
COMMENT = re.compile(r"^# (HELP [a-z_]+ .+|TYPE [a-z_]+ (counter|gauge|histogram))$")
HISTOGRAM_SAMPLE = re.compile(r"_(bucket|count|sum)$")
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
TOKEN = "s3cret-metrics-token"
ELSEWHERE = "203.0.113.7"


def scrape(client: Client | None = None, **extra: Any) -> Any:
    return (client or Client()).get(reverse("metrics"), **extra)


def samples(body: str) -> dict[str, float]:
    """Every sample of the page by name and labels; asserts each line is well formed."""
    found: dict[str, float] = {}
    for line in body.splitlines():
        if line.startswith("#"):
            assert COMMENT.match(line), line
            continue
        assert SAMPLE.match(line), line
        name, value = line.rsplit(" ", 1)
        assert name not in found, f"{name} appears twice"
        found[name] = float(value)
    return found


def read() -> dict[str, float]:
    response = scrape()
    assert response.status_code == 200
    return samples(response.content.decode())


def push(survey: Survey, who: str, state: str = PushState.PENDING, **fields: Any) -> Push:
    response = Response.objects.create(
        survey=survey,
        identity_kind="braze_id",
        identity_value=who,
        identities={"braze_id": who},
    )
    return Push.objects.create(
        response=response,
        workspace_id=survey.workspace_id,
        destination="braze",
        user_key=f"braze_id:{who}",
        state=state,
        **fields,
    )


@pytest.fixture
def no_token(settings: Any) -> None:
    settings.METRICS_TOKEN = None


@pytest.fixture
def with_token(settings: Any) -> None:
    settings.METRICS_TOKEN = TOKEN


# --- The format --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_every_line_is_prometheus_text_format(no_token: None) -> None:
    response = scrape()

    assert response.status_code == 200
    assert response["Content-Type"] == CONTENT_TYPE
    body = response.content.decode()
    assert body.endswith("\n")
    samples(body)


@pytest.mark.django_db
def test_each_metric_has_help_and_type_lines_before_its_samples(no_token: None) -> None:
    lines = scrape().content.decode().splitlines()
    for i, line in enumerate(lines):
        if line.startswith("#"):
            continue
        name = re.split(r"[{ ]", line, maxsplit=1)[0]
        family = HISTOGRAM_SAMPLE.sub("", name)
        before = lines[:i]
        if f"# TYPE {family} histogram" in before:
            name = family
        assert any(re.match(rf"# HELP {name} \S", b) for b in before), name
        assert any(re.match(rf"# TYPE {name} (counter|gauge|histogram)$", b) for b in before), name


@pytest.mark.django_db
def test_every_counter_is_reported_as_zero_before_it_is_first_counted(no_token: None) -> None:
    values = read()

    for name in record.COUNTERS:
        assert values[f"sounding_delivery_{name}_total"] == 0
    body = scrape().content.decode()
    for name in record.COUNTERS:
        assert f"# TYPE sounding_delivery_{name}_total counter" in body


@pytest.mark.django_db
def test_an_empty_outbox_reports_zero_gauges(no_token: None) -> None:
    values = read()

    assert values['sounding_delivery_pushes{state="pending"}'] == 0
    assert values['sounding_delivery_pushes{state="synced"}'] == 0
    assert values['sounding_delivery_pushes{state="failed"}'] == 0
    assert values["sounding_delivery_lanes_paused"] == 0
    assert values["sounding_delivery_oldest_pending_seconds"] == 0


# --- The values --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_counters_follow_what_the_workers_counted(no_token: None) -> None:
    record.bump(requests=3, objects_sent=120)
    record.bump(requests=2)
    Counter.objects.create(name="pushes_failed", value=7)

    values = read()

    assert values["sounding_delivery_requests_total"] == 5
    assert values["sounding_delivery_objects_sent_total"] == 120
    assert values["sounding_delivery_pushes_failed_total"] == 7
    assert values["sounding_delivery_pushes_sent_total"] == 0


@pytest.mark.django_db
def test_pushes_are_counted_by_state(no_token: None, live_survey: Survey) -> None:
    for who in ("a", "b", "c"):
        push(live_survey, who, PushState.PENDING)
    push(live_survey, "d", PushState.SYNCED)
    push(live_survey, "e", PushState.FAILED)
    push(live_survey, "f", PushState.FAILED)

    values = read()

    assert values['sounding_delivery_pushes{state="pending"}'] == 3
    assert values['sounding_delivery_pushes{state="synced"}'] == 1
    assert values['sounding_delivery_pushes{state="failed"}'] == 2


@pytest.mark.django_db
def test_paused_lanes_are_counted(
    no_token: None, workspace: Workspace, other_workspace: Workspace
) -> None:
    Lane.objects.create(workspace=workspace, destination="braze", paused_at=timezone.now())
    Lane.objects.create(workspace=other_workspace, destination="braze")

    assert read()["sounding_delivery_lanes_paused"] == 1


@pytest.mark.django_db
def test_the_oldest_pending_age_counts_only_due_pending_pushes(
    no_token: None, live_survey: Survey
) -> None:
    now = timezone.now()
    push(live_survey, "due-long-ago", next_attempt_at=now - timedelta(minutes=10))
    push(live_survey, "due-recently", next_attempt_at=now - timedelta(minutes=1))
    push(live_survey, "backing-off", next_attempt_at=now + timedelta(minutes=5))
    push(live_survey, "old-but-done", PushState.SYNCED, next_attempt_at=now - timedelta(days=1))

    age = read()["sounding_delivery_oldest_pending_seconds"]

    assert 600 <= age < 660


@pytest.mark.django_db
def test_the_oldest_pending_age_is_zero_when_nothing_is_due_yet(
    no_token: None, live_survey: Survey
) -> None:
    push(live_survey, "later", next_attempt_at=timezone.now() + timedelta(minutes=5))

    assert read()["sounding_delivery_oldest_pending_seconds"] == 0


@pytest.mark.django_db
def test_the_workers_with_a_recent_heartbeat_and_the_newest_beats_age_are_reported(
    no_token: None, settings: Any
) -> None:
    settings.WORKER_DEAD_AFTER_SECONDS = 30
    now = timezone.now()
    Worker.objects.create(id="a:1:x", host="a", pid=1, beat_at=now - timedelta(seconds=5))
    Worker.objects.create(id="b:1:x", host="b", pid=1, beat_at=now - timedelta(minutes=10))

    values = read()

    assert values["sounding_delivery_workers"] == 1
    assert 5 <= values["sounding_delivery_worker_heartbeat_age_seconds"] < 60


@pytest.mark.django_db
def test_without_any_worker_the_count_is_zero_and_there_is_no_age(no_token: None) -> None:
    values = read()

    assert values["sounding_delivery_workers"] == 0
    assert "sounding_delivery_worker_heartbeat_age_seconds" not in values


# --- The web side ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_requests_are_counted_by_route_name_and_status_class(no_token: None, owner: Any) -> None:
    before = read()
    client = Client()
    client.get(reverse("login"))
    client.get(reverse("login"))
    client.get("/no/such/page")
    client.get(reverse("survey-list"))  # signed out: a redirect to the sign-in page

    values = read()

    def more(name: str) -> float:
        return values.get(name, 0) - before.get(name, 0)

    assert more('sounding_http_requests_total{route="login",status="2xx"}') == 2
    assert more('sounding_http_requests_total{route="unmatched",status="4xx"}') == 1
    assert more('sounding_http_requests_total{route="survey-list",status="3xx"}') == 1
    # The scrape before this one counts too; this one is counted once it is answered.
    assert more('sounding_http_requests_total{route="metrics",status="2xx"}') == 1


@pytest.mark.django_db
def test_request_durations_form_a_histogram_by_route(no_token: None, owner: Any) -> None:
    before = read()
    for _ in range(3):
        Client().get(reverse("login"))

    values = read()
    body = scrape().content.decode()

    assert "# TYPE sounding_http_request_duration_seconds histogram" in body
    count = 'sounding_http_request_duration_seconds_count{route="login"}'
    assert values[count] - before.get(count, 0) == 3
    buckets = {
        name: value
        for name, value in values.items()
        if name.startswith("sounding_http_request_duration_seconds_bucket")
        and 'route="login"' in name
    }
    assert len(buckets) == 12
    assert max(buckets.values()) == values[count]  # le="+Inf" holds every request
    assert values['sounding_http_request_duration_seconds_sum{route="login"}'] > 0


# --- Who may read it ---------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("address", ["127.0.0.1", "::1", "::ffff:127.0.0.1"])
def test_without_a_token_this_machine_may_read_the_metrics(no_token: None, address: str) -> None:
    assert scrape(REMOTE_ADDR=address).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("address", [ELSEWHERE, "10.0.0.2", "2001:db8::1", ""])
def test_without_a_token_other_machines_are_told_to_set_one(no_token: None, address: str) -> None:
    response = scrape(REMOTE_ADDR=address)

    assert response.status_code == 403
    body = response.content.decode()
    assert "SOUNDING_METRICS_TOKEN" in body
    assert body.count("\n") == 1
    assert "sounding_delivery" not in body


@pytest.mark.django_db
@pytest.mark.parametrize("header", ["HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP"])
def test_without_a_token_a_request_relayed_by_a_local_proxy_is_refused(
    no_token: None, header: str
) -> None:
    # Behind a reverse proxy on the same host every visitor arrives from 127.0.0.1.
    response = scrape(REMOTE_ADDR="127.0.0.1", **{header: ELSEWHERE})

    assert response.status_code == 403


@pytest.mark.django_db
def test_with_a_token_the_right_bearer_token_reads_from_anywhere(with_token: None) -> None:
    response = scrape(REMOTE_ADDR=ELSEWHERE, HTTP_AUTHORIZATION=f"Bearer {TOKEN}")

    assert response.status_code == 200
    samples(response.content.decode())


@pytest.mark.django_db
@pytest.mark.parametrize(
    "authorization",
    [None, "", f"Basic {TOKEN}", "Bearer wrong", f"Bearer {TOKEN}x", "Bearer", "Bearer é"],
)
def test_with_a_token_anything_but_the_right_one_is_401_even_from_this_machine(
    with_token: None, authorization: str | None
) -> None:
    extra = {} if authorization is None else {"HTTP_AUTHORIZATION": authorization}

    response = scrape(REMOTE_ADDR="127.0.0.1", **extra)

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "sounding_delivery" not in response.content.decode()


@pytest.mark.django_db
def test_metrics_need_no_session_and_only_answer_get(no_token: None) -> None:
    client = Client()

    assert client.get(reverse("metrics")).status_code == 200
    assert client.post(reverse("metrics")).status_code == 405
