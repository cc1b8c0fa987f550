"""Braze's answers read the way integrations in production meet them: a fatal error under a
2xx, a 2xx whose body says nothing, errors given as plain strings, a 400 that names its bad
objects, and counts of processed objects short of what was sent.

First `client.read` on each body shape, then delivery over real HTTP to the stand-in
misbehaving in each of these ways. Worker rounds run in the test's thread with every pending
push made due first: the backoff is skipped, never waited for.
"""

from __future__ import annotations

import logging
from collections import Counter as Tally
from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from sounding.accounts.models import User, Workspace
from sounding.answers.models import Response
from sounding.delivery import engine
from sounding.delivery.models import Attempt, Counter, Lane, Outcome, Push, PushState
from sounding.delivery.protocol import Answer, Verdict
from sounding.delivery.unconfirmed import is_unconfirmed
from sounding.destinations.braze import client
from sounding.destinations.braze.models import BrazeSettings, SurveyBraze
from sounding.surveys.models import Status, Survey
from tests.conftest import logged_in
from tests.delivery_fixtures import PULSE, WORKER, integrate, respond
from tests.standin import StandinHarness

FATAL = "Valid data must be provided in the 'attributes', 'events', or 'purchases' fields."
NAMED = "Invalid object for this user"  # the stand-in's reason for an object a fault names
NPS = "How likely are you to recommend us?"

# --- client.read, one body shape at a time -------------------------------------------------

# Two people, each an attributes object and an event, interleaved as the core packs them.
OBJECTS: list[tuple[str, dict[str, Any]]] = [
    ("attributes", {"braze_id": "a", "x": 1}),
    ("events", {"braze_id": "a", "name": "e"}),
    ("attributes", {"braze_id": "b", "x": 2}),
    ("events", {"braze_id": "b", "name": "e"}),
]
POSITIONS = client.request_body(OBJECTS)[1]


def read(status: int, body: Any) -> Answer:
    return client.read(status, {}, body, POSITIONS)


def success(**fields: Any) -> dict[str, Any]:
    return {"message": "success", "attributes_processed": 2, "events_processed": 2, **fields}


def named(array: str, index: int, reason: str = "bad") -> dict[str, Any]:
    return {"type": reason, "input_array": array, "index": index}


def test_braze_indexes_are_placed_in_the_requests_flat_list() -> None:
    assert POSITIONS == {"attributes": [0, 2], "events": [1, 3]}


def test_a_clean_success_confirms_everything() -> None:
    answer = read(201, success())
    assert answer.verdict is Verdict.OK
    assert (answer.object_errors, answer.unconfirmed, answer.reason) == ({}, frozenset(), "")


def test_success_is_read_whatever_its_case() -> None:
    assert read(200, success(message=" Success")).verdict is Verdict.OK


@pytest.mark.parametrize("status", [200, 201, 202])
def test_a_fatal_message_under_a_2xx_is_sent_again_as_nothing_applied(status: int) -> None:
    answer = read(status, {"message": FATAL, "errors": []})
    assert answer.verdict is Verdict.RETRY
    assert answer.maybe_applied is False
    assert answer.status == status
    assert answer.reason == f"Braze answered {status} but reported a fatal error: {FATAL}"


def test_a_fatal_2xx_naming_objects_refuses_them_like_a_400() -> None:
    answer = read(201, {"message": "Bad data", "errors": [named("attributes", 1, "bad x")]})
    assert answer.verdict is Verdict.BAD_REQUEST
    assert answer.object_errors == {2: "bad x"}
    assert answer.reason == "Braze answered 201 but reported a fatal error: Bad data"


def test_a_fatal_2xx_quotes_its_string_errors() -> None:
    answer = read(201, {"message": "Oops", "errors": ["quota exceeded"]})
    assert answer.verdict is Verdict.RETRY
    assert answer.reason == "Braze answered 201 but reported a fatal error: Oops (quota exceeded)"


@pytest.mark.parametrize(
    "body",
    ["", None, "<html><body>OK</body></html>", [], {}, {"message": ""}, {"message": 1}],
    ids=["empty", "null", "not-json", "array", "no-message", "blank-message", "odd-message"],
)
def test_a_2xx_whose_body_says_nothing_is_an_unknown_outcome(body: Any) -> None:
    answer = read(201, body)
    assert answer.verdict is Verdict.RETRY
    assert answer.maybe_applied is True
    assert "whether it took the answers is unknown" in answer.reason


def test_the_unknown_outcome_says_what_the_body_was() -> None:
    assert "201 with an empty body" in read(201, "").reason
    assert "<html>OK</html>" in read(200, "<html>OK</html>").reason


def test_string_errors_in_a_success_fail_every_object_with_their_text() -> None:
    answer = read(201, success(errors=["some text"]))
    assert answer.verdict is Verdict.OK
    assert answer.object_errors == dict.fromkeys(range(4), "some text")


def test_an_object_named_beside_string_errors_keeps_its_own_reason() -> None:
    answer = read(201, success(errors=[named("events", 0, "bad x"), "one", "two"]))
    assert answer.object_errors == {0: "one; two", 1: "bad x", 2: "one; two", 3: "one; two"}


def test_an_error_naming_an_object_not_sent_concerns_them_all() -> None:
    answer = read(201, success(errors=[named("purchases", 0, "gone")]))
    assert answer.object_errors == dict.fromkeys(range(4), "gone")


def test_indexed_errors_in_a_success_fail_only_their_objects() -> None:
    answer = read(201, success(attributes_processed=1, errors=[named("attributes", 1)]))
    assert answer.verdict is Verdict.OK
    assert answer.object_errors == {2: "bad"}
    assert answer.unconfirmed == frozenset()


def test_a_400_naming_objects_places_them_in_the_flat_list() -> None:
    body = {
        "message": "Invalid",
        "errors": [named("events", 1, "bad name"), named("attributes", 0, "bad value")],
    }
    answer = read(400, body)
    assert answer.verdict is Verdict.BAD_REQUEST
    assert answer.object_errors == {3: "bad name", 0: "bad value"}
    assert answer.reason == "Braze refused the request (400): Invalid"


@pytest.mark.parametrize(
    "body",
    [{"message": "Max Input Length Exceeded"}, {"message": "x", "errors": ["no index"]}, ""],
)
def test_a_400_naming_no_object_is_left_to_the_split(body: Any) -> None:
    answer = read(400, body)
    assert answer.verdict is Verdict.BAD_REQUEST
    assert answer.object_errors == {}


@pytest.mark.parametrize(
    ("counts", "unconfirmed", "said"),
    [
        ({"attributes_processed": 1}, {0, 2}, "Braze processed 1 of 2 attributes sent"),
        ({"events_processed": 0}, {1, 3}, "Braze processed 0 of 2 events sent"),
        ({"attributes_processed": 0, "events_processed": 1}, {0, 1, 2, 3}, "1 of 2 events"),
    ],
    ids=["attributes", "events", "both"],
)
def test_counts_short_of_what_was_sent_leave_that_array_unconfirmed(
    counts: dict[str, int], unconfirmed: set[int], said: str
) -> None:
    answer = read(201, success(**counts))
    assert answer.verdict is Verdict.OK
    assert answer.object_errors == {}
    assert answer.unconfirmed == unconfirmed
    assert said in answer.reason


def test_counts_are_compared_with_what_was_sent_less_what_was_refused() -> None:
    refused = [named("attributes", 0)]
    assert read(201, success(attributes_processed=1, errors=refused)).unconfirmed == frozenset()
    answer = read(201, success(attributes_processed=0, errors=refused))
    assert answer.object_errors == {0: "bad"}
    assert answer.unconfirmed == {2}
    assert answer.reason == (
        "Braze processed 0 of 1 attributes sent; those unconfirmed are sent again."
    )


@pytest.mark.parametrize(
    "body",
    [
        {"message": "success"},
        success(attributes_processed=5),
        success(attributes_processed="0", events_processed=None),
        success(events_processed=True),
    ],
    ids=["absent", "above", "not-numbers", "boolean"],
)
def test_counts_absent_or_not_short_confirm_everything(body: dict[str, Any]) -> None:
    answer = read(201, body)
    assert (answer.verdict, answer.unconfirmed) == (Verdict.OK, frozenset())


# --- delivery against the stand-in ---------------------------------------------------------


@pytest.fixture
def survey(pulse: Survey) -> Survey:
    """Product pulse with the completion event on: one event per completed response."""
    SurveyBraze.objects.filter(survey=pulse).update(completion_event=True)
    return pulse


def one_round() -> int:
    """One worker round with every pending push due now: the backoff, and the lane's wait for
    its next try after a failure, skipped, not waited."""
    past = timezone.now() - timedelta(seconds=1)
    Push.objects.filter(state=PushState.PENDING).update(next_attempt_at=past)
    Lane.objects.update(probe_at=None)
    return engine.deliver_due("braze", WORKER)


def deliver_all(limit: int = 10) -> int:
    """Rounds until nothing is pending; how many it took."""
    for rounds in range(limit):
        if not Push.objects.filter(state=PushState.PENDING).exists():
            return rounds
        one_round()
    raise AssertionError(f"still pending after {limit} rounds")


def received(standin: StandinHarness) -> list[dict[str, Any]]:
    return sorted(standin.requests(), key=lambda r: r["seq"])


def event_copies(standin: StandinHarness) -> Tally[str]:
    """How many times each event (by `sounding_event_id`) reached a profile."""
    return Tally(
        event["properties"]["sounding_event_id"]
        for profile in standin.users().values()
        for event in profile["events"]
    )


def push_of(braze_id: str) -> Push:
    return Push.objects.get(response__identities__braze_id=braze_id)


def counter(name: str) -> int:
    found = Counter.objects.filter(name=name).first()
    return found.value if found else 0


def values_acknowledged(push: Push) -> dict[str, Any]:
    """The attribute values the push holds as on the profile (not those marked unconfirmed)."""
    attributes = push.acknowledged.get("attributes", {})
    return {name: value for name, value in attributes.items() if not is_unconfirmed(value)}


def answer_three(survey: Survey) -> None:
    for i in range(3):
        respond(survey, f"u-{i}", {"nps": i}, complete=True)


def test_a_storm_of_fatal_201s_acknowledges_nothing_and_every_answer_lands_after_it(
    survey: Survey, braze_standin: StandinHarness, owner: User
) -> None:
    braze_standin.queue(*[{"kind": "fatal"}] * 4)
    answer_three(survey)
    for _ in range(4):
        assert one_round() == 3
        pushes = list(Push.objects.all())
        assert {p.state for p in pushes} == {PushState.PENDING}
        assert [p.acknowledged for p in pushes] == [{}, {}, {}]
        assert braze_standin.users() == {}
    reason = f"Braze answered 201 but reported a fatal error: {FATAL}"
    assert {(a.outcome, a.status_code, a.detail) for a in Attempt.objects.all()} == {
        (Outcome.RETRY, 201, reason)
    }
    assert Attempt.objects.count() == 12
    for push in Push.objects.all():
        # Failed tries that back off, never a failure for good.
        assert (push.attempts, push.last_error, push.ambiguous_events) == (4, reason, 0)
        assert push.next_attempt_at > push.last_attempt_at
    lane = Lane.objects.get()
    assert lane.last_error == reason and lane.paused_at is None
    page = logged_in(owner).get(reverse("survey-deliveries", args=[survey.pk]))
    # The lane's last error, each response's reason and each attempt's detail.
    assert page.content.decode().count(escape(reason)) == 1 + 3 + 12

    assert deliver_all() == 1
    assert set(Push.objects.values_list("state", flat=True)) == {PushState.SYNCED}
    users = braze_standin.users()
    assert {who: p["attributes"] for who, p in users.items()} == {
        f"braze_id:u-{i}": {NPS: i} for i in range(3)
    }
    assert sorted(event_copies(braze_standin).values()) == [1, 1, 1]
    requests = received(braze_standin)
    assert [(r["status"], r["applied"]) for r in requests] == [(201, False)] * 4 + [(201, True)]
    assert counter("pushes_failed") == 0 and counter("events_ambiguous") == 0


def test_a_fatal_2xx_naming_objects_fails_them_and_sends_the_others_at_once(
    survey: Survey, braze_standin: StandinHarness
) -> None:
    answer_three(survey)
    braze_standin.queue({"kind": "fatal", "status": 200, "users": ["braze_id:u-1"]})
    assert one_round() == 3
    first, second = received(braze_standin)
    assert (first["status"], first["objects"], first["applied"]) == (200, 6, False)
    assert (second["status"], second["objects"], second["users"]) == (
        201,
        4,
        ["braze_id:u-0", "braze_id:u-2"],
    )
    refused = push_of("u-1")
    assert (refused.state, refused.last_error, refused.acknowledged) == (
        PushState.FAILED,
        NAMED,
        {},
    )
    assert {push_of(who).state for who in ("u-0", "u-2")} == {PushState.SYNCED}
    assert set(braze_standin.users()) == {"braze_id:u-0", "braze_id:u-2"}
    reason = f"Braze answered 200 but reported a fatal error: {FATAL}"
    in_first = Attempt.objects.filter(request_id=Attempt.objects.order_by("id")[0].request_id)
    assert sorted(
        (a.push.response.identity["braze_id"], a.outcome, a.status_code, a.detail) for a in in_first
    ) == [
        ("u-0", Outcome.RETRY, 200, f"{reason} (sent again without the objects it refused)"),
        ("u-1", Outcome.FAILED, 200, NAMED),
        ("u-2", Outcome.RETRY, 200, f"{reason} (sent again without the objects it refused)"),
    ]
    assert Lane.objects.get().last_error == reason
    assert counter("pushes_failed") == 1


def test_a_400_naming_one_bad_object_among_75_costs_exactly_one_extra_request(
    pulse: Survey, braze_standin: StandinHarness
) -> None:
    for i in range(75):
        respond(pulse, f"u-{i}", {"nps": i % 11})
    braze_standin.queue({"kind": "bad_objects", "users": ["braze_id:u-40"]})
    assert deliver_all() == 1
    requests = received(braze_standin)
    assert [(r["objects"], r["status"]) for r in requests] == [(75, 400), (74, 201)]
    assert "braze_id:u-40" not in requests[1]["users"]
    bad = push_of("u-40")
    assert (bad.state, bad.last_error) == (PushState.FAILED, NAMED)
    attempt = Attempt.objects.get(push=bad)
    assert (attempt.outcome, attempt.status_code, attempt.detail) == (Outcome.FAILED, 400, NAMED)
    assert Push.objects.filter(state=PushState.SYNCED).count() == 74
    assert len(braze_standin.users()) == 74 and "braze_id:u-40" not in braze_standin.users()
    assert counter("requests") == 2 and counter("pushes_failed") == 1


def test_a_400_naming_the_object_braze_refuses_fails_that_person_with_brazes_reason(
    pulse: Survey, workspace: Workspace, owner: User, braze_standin: StandinHarness
) -> None:
    other = Survey.create(workspace, PULSE, owner)
    other.set_status(Status.LIVE)
    integrate(other)
    respond(pulse, "good-1", {"nps": 9})
    respond(other, "bad", {"nps": 9})
    respond(pulse, "good-2", {"nps": 8})
    # An identifier Braze refuses, written behind the validation's back (names are checked
    # again for every request, so a bad name no longer reaches Braze).
    Response.objects.filter(identities__braze_id="bad").update(identities={"braze_id": " "})
    braze_standin.queue({"kind": "bad_objects"})
    deliver_all()
    assert [(r["objects"], r["status"]) for r in received(braze_standin)] == [(3, 400), (2, 201)]
    bad = push_of(" ")
    assert bad.state == PushState.FAILED and "must be a non-empty string" in bad.last_error
    assert {push_of(who).state for who in ("good-1", "good-2")} == {PushState.SYNCED}


@pytest.mark.parametrize(
    ("fault", "copies"),
    [
        ({"kind": "empty_body"}, 2),
        ({"kind": "empty_body", "applied": False}, 1),
        ({"kind": "empty_body", "status": 200, "text": "OK"}, 2),
    ],
    ids=["empty-applied", "empty-not-applied", "not-json"],
)
def test_a_2xx_that_says_nothing_is_sent_again_and_its_events_counted(
    survey: Survey, braze_standin: StandinHarness, fault: dict[str, Any], copies: int
) -> None:
    respond(survey, "u-1", {"nps": 9}, complete=True)
    braze_standin.queue(fault)
    assert one_round() == 1
    push = Push.objects.get()
    assert (push.state, push.ambiguous_events) == (PushState.PENDING, 1)
    assert values_acknowledged(push) == {} and "events" not in push.acknowledged
    attempt = Attempt.objects.get()
    assert (attempt.outcome, attempt.status_code) == (Outcome.RETRY, fault.get("status", 201))
    assert "whether it took the answers is unknown" in attempt.detail
    assert deliver_all() == 1
    push.refresh_from_db()
    assert (push.state, push.ambiguous_events) == (PushState.SYNCED, 1)
    assert braze_standin.users()["braze_id:u-1"]["attributes"] == {NPS: 9}
    # Applied, the event arrived twice: the one duplicate the pipeline allows, and counted.
    assert list(event_copies(braze_standin).values()) == [copies]
    assert counter("events_ambiguous") == 1


def test_string_errors_fail_the_requests_pushes_with_their_text(
    survey: Survey, braze_standin: StandinHarness
) -> None:
    for who in ("u-1", "u-2"):
        respond(survey, who, {"nps": 9}, complete=True)
    braze_standin.queue({"kind": "string_errors", "errors": ["some text"]})
    assert deliver_all() == 1
    assert len(braze_standin.requests()) == 1
    for push in Push.objects.all():
        assert (push.state, push.last_error) == (PushState.FAILED, "some text")
        assert "attributes" not in push.acknowledged
        assert list(push.acknowledged["events"].values()) == ["refused: some text"]
    assert {(a.outcome, a.status_code, a.detail) for a in Attempt.objects.all()} == {
        (Outcome.FAILED, 201, "some text")
    }
    assert counter("pushes_failed") == 2


def test_attributes_counted_short_are_sent_again_and_the_events_kept(
    survey: Survey, braze_standin: StandinHarness, caplog: pytest.LogCaptureFixture
) -> None:
    answer_three(survey)
    braze_standin.queue({"kind": "short_counts", "attributes": 1, "events": 0})
    with caplog.at_level(logging.WARNING, logger="sounding.delivery"):
        assert one_round() == 3
    reason = "Braze processed 2 of 3 attributes sent; those unconfirmed are sent again."
    assert reason in caplog.text
    for push in Push.objects.all():
        assert (push.state, push.attempts, push.last_error) == (PushState.PENDING, 1, reason)
        assert push.next_attempt_at > push.last_attempt_at
        # Maybe on the profile, maybe not: marked so, sent again whatever the next answer.
        assert push.acknowledged["attributes"]
        assert values_acknowledged(push) == {}
        assert len(push.acknowledged["events"]) == 1
        assert push.ambiguous_events == 0
    assert {(a.outcome, a.status_code, a.detail) for a in Attempt.objects.all()} == {
        (Outcome.RETRY, 201, reason)
    }
    assert Lane.objects.get().last_error == reason
    assert deliver_all() == 1
    again = received(braze_standin)[1]["body"]
    assert "events" not in again and len(again["attributes"]) == 3
    assert set(Push.objects.values_list("state", flat=True)) == {PushState.SYNCED}
    assert sorted(event_copies(braze_standin).values()) == [1, 1, 1]
    assert braze_standin.users()["braze_id:u-2"]["attributes"] == {NPS: 2}


def test_events_counted_short_are_sent_again_and_counted_as_ambiguous(
    survey: Survey, braze_standin: StandinHarness
) -> None:
    answer_three(survey)
    braze_standin.queue({"kind": "short_counts", "attributes": 0, "events": 1})
    assert one_round() == 3
    for push in Push.objects.all():
        assert (push.state, push.attempts, push.ambiguous_events) == (PushState.PENDING, 1, 1)
        assert push.next_attempt_at > push.last_attempt_at
        assert "events" not in push.acknowledged and values_acknowledged(push)
    assert counter("events_ambiguous") == 3
    assert deliver_all() == 1
    again = received(braze_standin)[1]["body"]
    assert "attributes" not in again and len(again["events"]) == 3
    assert set(Push.objects.values_list("state", flat=True)) == {PushState.SYNCED}
    # Every event was applied twice, and every second copy is counted.
    assert sorted(event_copies(braze_standin).values()) == [2, 2, 2]


def test_testing_the_connection_takes_a_fatal_2xx_for_a_working_key(
    connected: BrazeSettings, braze_standin: StandinHarness
) -> None:
    braze_standin.queue({"kind": "fatal"})
    assert client.check(client.Target(braze_standin.url, braze_standin.api_key)).ok
    braze_standin.queue({"kind": "empty_body"})
    assert client.check(client.Target(braze_standin.url, braze_standin.api_key)).ok
