"""Answers reaching a webhook endpoint through the delivery core, over real HTTP to the local
receiver, every signature checked with `standardwebhooks` (the specification's reference).

The worker's rounds run in the test's thread. Time is moved by hand (`time_passes`): what is
asserted is what the receiver and the pushes say, never how long anything took.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.core import mail
from django.db.models import F
from standardwebhooks.webhooks import Webhook

from sounding.accounts.models import User, Workspace
from sounding.answers.models import Answer, Response
from sounding.delivery import engine, worker
from sounding.delivery.models import Lane, Push, PushState
from sounding.destinations.braze.models import BrazeSettings
from sounding.destinations.webhooks import endpoints
from sounding.destinations.webhooks.models import Endpoint, Message
from sounding.destinations.webhooks.receiver import Receiver
from sounding.responses import erasure
from sounding.surveys.models import Status, Survey
from tests.delivery_fixtures import integrate, respond
from tests.standin import StandinHarness
from tests.webhook_fixtures import hook_url, trust

WORKER = "test-host:1:webhooks"

FEEDBACK: dict[str, Any] = {
    "title": "Checkout feedback",
    "hidden_fields": ["plan"],
    "questions": [
        {"key": "nps", "type": "nps", "prompt": "How likely are you to recommend us?"},
        {
            "key": "liked",
            "type": "multiple_choice",
            "prompt": "What did you like?",
            "choices": ["Speed", "Price", "Support"],
        },
        {"key": "again", "type": "yes_no", "prompt": "Would you buy again?"},
        {"key": "note", "type": "long_text", "prompt": "Anything else?", "required": False},
    ],
}


@pytest.fixture
def survey(workspace: Workspace, owner: User) -> Survey:
    found = Survey.create(workspace, FEEDBACK, owner)
    found.set_status(Status.LIVE)
    return found


def hook(
    workspace: Workspace, receiver: Receiver, settings: Any, **options: Any
) -> tuple[Endpoint, str]:
    endpoint, secret = endpoints.create(workspace.pk, hook_url(receiver), **options)
    trust(receiver, secret)
    return endpoint, secret


def rounds(limit: int = 200) -> int:
    """Worker rounds until one finds nothing due now; how many pushes were handled."""
    handled = 0
    for _ in range(limit):
        found = worker.run_once(WORKER)
        if not found:
            return handled
        handled += found
    raise AssertionError("the worker never ran out of work")


def drained(timeout: float = 30.0) -> None:
    """Rounds until nothing is pending (Braze lingers a moment to fill its requests)."""
    deadline = time.monotonic() + timeout
    while Push.objects.filter(state=PushState.PENDING).exists():
        assert time.monotonic() < deadline, "pushes still pending"
        if not worker.run_once(WORKER):
            time.sleep(0.02)


def time_passes(delta: timedelta) -> None:
    Push.objects.filter(state=PushState.PENDING).update(
        next_attempt_at=F("next_attempt_at") - delta
    )
    Lane.objects.exclude(probe_at=None).update(probe_at=F("probe_at") - delta)


def verified(entry: dict[str, Any], secret: str) -> dict[str, Any]:
    """The message's body, after the reference implementation accepted its signature."""
    payload: dict[str, Any] = Webhook(secret).verify(entry["raw"], entry["headers"])
    return payload


def accepted(receiver: Receiver) -> list[dict[str, Any]]:
    return [m for m in receiver.messages() if 200 <= m["status"] < 300]


def test_every_answer_as_given_then_one_completion_in_order(
    workspace: Workspace, survey: Survey, receiver: Receiver, settings: Any
) -> None:
    _, secret = hook(workspace, receiver, settings)
    assert "webhooks" in Survey.objects.get(pk=survey.pk).destinations
    respond(survey, "p1", {"nps": 3})
    respond(survey, "p1", {"nps": 9, "liked": ["Speed", "Support"], "again": True}, complete=True)
    rounds()

    got = accepted(receiver)
    bodies = [verified(m, secret) for m in got]
    assert [b["type"] for b in bodies] == [
        "response.answered",
        "response.answered",
        "response.answered",
        "response.answered",
        "response.completed",
    ]
    # Every answer as it was given, typed as in the API: the changed score too.
    given = [(b["data"]["answer"]["question"], b["data"]["answer"]["value"]) for b in bodies[:4]]
    assert given == [("nps", 3), ("nps", 9), ("liked", ["Speed", "Support"]), ("again", True)]
    completed = bodies[-1]["data"]
    assert completed["survey"] == {"id": survey.pk, "slug": survey.slug, "title": survey.title}
    assert completed["response"]["identity"]["braze_id"] == "p1"
    assert completed["response"]["completed_at"] is not None
    assert completed["answers"] == {"nps": 9, "liked": ["Speed", "Support"], "again": True}
    assert len({m["id"] for m in got}) == 5
    assert all(m["id"].startswith("msg_") for m in got)
    assert not any(m["duplicate"] for m in got)
    assert Push.objects.get().state == PushState.SYNCED


def test_anonymous_responses_are_sent_too(
    workspace: Workspace, survey: Survey, receiver: Receiver, settings: Any
) -> None:
    _, secret = hook(workspace, receiver, settings, event_types=["response.completed"])
    respond(survey, None, {"nps": 10, "liked": ["Price"], "again": False}, complete=True)
    rounds()
    (only,) = accepted(receiver)
    body = verified(only, secret)
    assert body["type"] == "response.completed"
    assert body["data"]["response"]["identity"] == {
        "braze_id": None,
        "external_id": None,
        "email": None,
    }


def test_an_outage_delays_messages_and_loses_none(
    workspace: Workspace, survey: Survey, receiver: Receiver, settings: Any
) -> None:
    endpoint, secret = hook(workspace, receiver, settings)
    receiver.state.set_behaviour({"status": 500})
    for person in ("a", "b", "c"):
        respond(survey, person, {"nps": 7, "liked": ["Speed"], "again": True}, complete=True)
    rounds()
    failed_ids = {m["id"] for m in receiver.messages()}
    assert failed_ids and all(m["status"] == 500 for m in receiver.messages())
    lane = Lane.objects.get(destination=endpoint.kind)
    # Three messages sent together and failed together: one step of the retry schedule.
    assert lane.failures == 1 and lane.probe_at is not None
    assert "500" in lane.last_error

    # Still failing at the next try: the lane waits longer each time (the retry schedule).
    time_passes(timedelta(days=1))
    rounds()
    assert Lane.objects.get(destination=endpoint.kind).failures == 2

    receiver.state.set_behaviour({"status": 200})
    for _ in range(20):
        time_passes(timedelta(days=1))
        rounds()
        if not Push.objects.filter(state=PushState.PENDING).exists():
            break
    got = accepted(receiver)
    bodies = [verified(m, secret) for m in got]
    assert len(got) == 3 * 4 == len({m["id"] for m in got})
    assert not any(m["duplicate"] for m in got)
    # Tries of one message carry one id: the ones that failed came back under the same ids.
    assert failed_ids <= {m["id"] for m in got}
    assert Message.objects.count() == 12
    assert [b["type"] for b in bodies].count("response.completed") == 3
    assert Endpoint.objects.get(pk=endpoint.pk).enabled
    assert Lane.objects.get(destination=endpoint.kind).failures == 0


def test_410_gone_turns_the_endpoint_off_and_tells_the_owners(
    workspace: Workspace,
    survey: Survey,
    receiver: Receiver,
    settings: Any,
    owner: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    endpoint, _ = hook(workspace, receiver, settings)
    receiver.state.set_behaviour({"status": 410})
    respond(survey, "p1", {"nps": 8})
    with django_capture_on_commit_callbacks(execute=True):
        rounds()
    endpoint.refresh_from_db()
    assert not endpoint.enabled
    assert "410" in endpoint.disabled_reason
    assert Lane.objects.get(destination=endpoint.kind).paused_at is not None
    assert "webhooks" not in Survey.objects.get(pk=survey.pk).destinations
    (told,) = mail.outbox
    assert told.to == [owner.email]
    assert "410" in told.body and endpoint.url in told.subject
    # Nothing more is queued for it, and nothing more is sent.
    respond(survey, "p2", {"nps": 9})
    rounds()
    assert len(receiver.messages()) == 1

    # Turned on again, what waited goes; the next answers too.
    receiver.state.set_behaviour({"status": 200})
    endpoints.update(endpoint, enabled=True)
    rounds()
    assert [m["type"] for m in accepted(receiver)] == ["response.answered"]


def test_endpoints_for_chosen_surveys_get_only_those(
    workspace: Workspace, owner: User, survey: Survey, receiver: Receiver, settings: Any
) -> None:
    other = Survey.create(workspace, {**FEEDBACK, "title": "Other"}, owner)
    other.set_status(Status.LIVE)
    hook(workspace, receiver, settings, survey_ids=[other.pk])
    assert "webhooks" not in Survey.objects.get(pk=survey.pk).destinations
    respond(survey, "p1", {"nps": 1})
    respond(other, "p1", {"nps": 2})
    rounds()
    (only,) = accepted(receiver)
    assert only["body"]["data"]["survey"]["id"] == other.pk


def test_a_survey_created_later_is_covered_by_an_all_surveys_endpoint(
    workspace: Workspace, owner: User, receiver: Receiver, settings: Any
) -> None:
    hook(workspace, receiver, settings)
    later = Survey.create(workspace, FEEDBACK, owner)
    assert "webhooks" in Survey.objects.get(pk=later.pk).destinations


def test_rotation_signs_with_both_secrets_during_the_grace_period(
    workspace: Workspace, survey: Survey, receiver: Receiver, settings: Any
) -> None:
    endpoint, old = hook(workspace, receiver, settings)
    new = endpoints.rotate(endpoint)
    assert new != old and new.startswith("whsec_")
    receiver.state.set_secrets({"secrets": [new]})
    respond(survey, "p1", {"nps": 5})
    rounds()
    (entry,) = accepted(receiver)
    # A receiver still on the old secret, and one already on the new, both accept it.
    assert verified(entry, old)["type"] == verified(entry, new)["type"] == "response.answered"
    assert len(entry["signature"].split(" ")) == 2


def test_resend_sends_the_same_message_again(
    workspace: Workspace, survey: Survey, receiver: Receiver, settings: Any
) -> None:
    endpoint, _ = hook(workspace, receiver, settings)
    respond(survey, "p1", {"nps": 5})
    rounds()
    (first,) = receiver.messages()
    assert endpoints.resend(endpoint, first["id"])
    rounds()
    first_again = receiver.messages()[-1]
    assert first_again["id"] == first["id"] and first_again["duplicate"]
    assert json.loads(first_again["raw"]) == json.loads(first["raw"])


def test_braze_and_webhooks_on_one_survey_each_get_the_answers(
    workspace: Workspace,
    survey: Survey,
    receiver: Receiver,
    settings: Any,
    connected: BrazeSettings,
    braze_standin: StandinHarness,
) -> None:
    integrate(survey)
    hook(workspace, receiver, settings)
    assert sorted(Survey.objects.get(pk=survey.pk).destinations) == ["braze", "webhooks"]
    respond(survey, "p1", {"nps": 4})
    drained()
    assert [m["type"] for m in accepted(receiver)] == ["response.answered"]
    assert set(Push.objects.values_list("state", flat=True)) == {PushState.SYNCED}
    assert Push.objects.filter(destination="braze", user_key="braze_id:p1").exists()


def test_an_erased_response_is_told_then_forgotten(
    workspace: Workspace, survey: Survey, receiver: Receiver, settings: Any
) -> None:
    hook(workspace, receiver, settings)
    response = respond(survey, "p1", {"nps": 6})
    kept = respond(survey, "p2", {"nps": 7})
    rounds()
    erasure.erase_one(response, clear=False)
    # Emptied at once, kept only until the endpoint has been told.
    assert not Answer.objects.filter(response_id=response.pk).exists()
    assert Response.objects.filter(pk=response.pk).exists()
    rounds()
    erased = accepted(receiver)[-1]
    assert erased["type"] == "response.erased"
    assert erased["body"]["data"]["response"]["id"] == response.token
    assert "answers" not in erased["body"]["data"]
    assert erasure.sweep() == 1
    assert not Response.objects.filter(pk=response.pk).exists()
    # Its messages went with it: their bodies held the answers.
    assert not Message.objects.filter(response_id=response.pk).exists()
    assert Message.objects.filter(response_id=kept.pk).count() == 1


def test_an_endpoint_that_does_not_want_erasures_lets_responses_go_at_once(
    workspace: Workspace, survey: Survey, receiver: Receiver, settings: Any
) -> None:
    hook(workspace, receiver, settings, event_types=["response.answered"])
    response = respond(survey, "p1", {"nps": 6})
    erasure.erase_one(response, clear=False)
    assert not Response.objects.filter(pk=response.pk).exists()
    assert not Message.objects.exists()


def test_one_claim_sends_many_responses_messages_one_request_each(
    workspace: Workspace, survey: Survey, receiver: Receiver, settings: Any
) -> None:
    endpoint, _ = hook(workspace, receiver, settings, event_types=["response.answered"])
    for person in range(5):
        respond(survey, f"p{person}", {"nps": person})
    # No lingering for company: each message is its own request, so the claim goes at once.
    assert engine.deliver_due(endpoint.kind, WORKER) == 5
    got = accepted(receiver)
    assert sorted(m["body"]["data"]["answer"]["value"] for m in got) == [0, 1, 2, 3, 4]
    assert len({m["id"] for m in got}) == 5


class _Together(BaseHTTPRequestHandler):
    """Answers 200 only once five requests are in at the same time; 503 if they never are."""

    barrier = threading.Barrier(5, timeout=20)
    seen: list[str] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        try:
            self.barrier.wait()
            status = 200
        except threading.BrokenBarrierError:
            status = 503
        self.seen.append(self.headers["webhook-id"])
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_a_claims_messages_are_sent_at_once(
    workspace: Workspace, survey: Survey, settings: Any
) -> None:
    _Together.barrier = threading.Barrier(5, timeout=20)
    _Together.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Together)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        settings.WEBHOOK_ALLOWED_URLS = [url]
        endpoint, _ = endpoints.create(workspace.pk, url, event_types=["response.answered"])
        for person in range(5):
            respond(survey, f"p{person}", {"nps": person})
        # Sent one after the other, no request would find the other four waiting beside it.
        assert engine.deliver_due(endpoint.kind, WORKER) == 5
        assert len(_Together.seen) == 5
        assert set(Push.objects.values_list("state", flat=True)) == {PushState.SYNCED}
    finally:
        server.shutdown()
        server.server_close()
