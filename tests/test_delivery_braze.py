"""Answers reach the Braze stand-in over real HTTP: typed, batched, paced and never lost."""

from __future__ import annotations

import math
import time
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from sounding.answers.models import Response
from sounding.delivery import claim, engine, record
from sounding.delivery.models import Attempt, Counter, Lane, Push, PushState
from sounding.destinations.braze.models import SurveyBraze
from sounding.surveys.models import Status, Survey
from tests.delivery_fixtures import PULSE, drain, integrate, respond
from tests.standin import StandinHarness

NPS = "How likely are you to recommend us?"
CHANNELS = "Where do you hear from us?"


@pytest.fixture(autouse=True)
def _quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    # Real backoff starts at a second; the tests exercise the same path in milliseconds.
    monkeypatch.setattr(engine, "BACKOFF_BASE", 0.01)


def track_requests(standin: StandinHarness) -> list[dict[str, Any]]:
    return [r for r in standin.requests()]


def test_answers_land_on_the_profile_typed_under_prompt_or_custom_names(
    pulse: Survey, braze_standin: StandinHarness
) -> None:
    respond(pulse, "u-1", {"nps": 9, "channels": ["Email", "SMS"], "feedback": "Great"})
    drain()
    profile = braze_standin.users()["braze_id:u-1"]
    assert profile["attributes"] == {
        NPS: 9,
        CHANNELS: ["Email", "SMS"],
        "Pulse feedback": "Great",
    }
    assert profile["update_existing_only"] is True
    assert Lane.objects.get().last_success_at is not None


def test_one_respondent_is_one_attributes_object_with_the_partner_user_agent(
    pulse: Survey, braze_standin: StandinHarness
) -> None:
    respond(pulse, "u-1", {"nps": 9, "channels": ["Push"], "feedback": "ok"})
    drain()
    (request,) = braze_standin.requests()
    assert request["headers"]["user-agent"].startswith("partner-Sounding-Sounding/")
    (obj,) = request["body"]["attributes"]
    assert obj["braze_id"] == "u-1" and obj["_update_existing_only"] is True
    assert "events" not in request["body"]


def test_a_changed_answer_sends_only_what_changed(
    pulse: Survey, braze_standin: StandinHarness
) -> None:
    respond(pulse, "u-1", {"nps": 9, "channels": ["Push"]})
    drain()
    respond(pulse, "u-1", {"nps": 3, "channels": ["Push"]})
    drain()
    last = braze_standin.requests()[-1]["body"]["attributes"][0]
    assert last == {"braze_id": "u-1", "_update_existing_only": True, NPS: 3}
    assert braze_standin.users()["braze_id:u-1"]["attributes"][NPS] == 3


def test_an_unchanged_resubmission_sends_nothing(
    pulse: Survey, braze_standin: StandinHarness
) -> None:
    respond(pulse, "u-1", {"nps": 9})
    drain()
    respond(pulse, "u-1", {"nps": 9})
    drain()
    assert len(braze_standin.requests()) == 1


def test_a_cleared_answer_sends_null_and_removes_the_attribute(
    pulse: Survey, braze_standin: StandinHarness
) -> None:
    from sounding.surveys.questions import EMPTY

    respond(pulse, "u-1", {"nps": 9, "feedback": "hello"})
    drain()
    respond(pulse, "u-1", {"feedback": EMPTY})
    drain()
    assert braze_standin.requests()[-1]["body"]["attributes"][0]["Pulse feedback"] is None
    assert "Pulse feedback" not in braze_standin.users()["braze_id:u-1"]["attributes"]


def test_text_over_255_characters_is_cut_and_the_cut_recorded(
    pulse: Survey, braze_standin: StandinHarness
) -> None:
    respond(pulse, "u-1", {"feedback": "x" * 600})
    drain()
    assert braze_standin.users()["braze_id:u-1"]["attributes"]["Pulse feedback"] == "x" * 255
    push = Push.objects.get()
    assert "600 characters cut to 255" in push.notes
    assert "600 characters cut to 255" in Attempt.objects.get().detail


def test_anonymous_respondents_owe_braze_nothing(
    pulse: Survey, braze_standin: StandinHarness
) -> None:
    respond(pulse, None, {"nps": 9})
    assert not Push.objects.exists()
    drain()
    assert braze_standin.requests() == []


def test_questions_left_out_of_the_sync_are_not_sent(
    pulse: Survey, braze_standin: StandinHarness
) -> None:
    SurveyBraze.objects.filter(survey=pulse).update(attribute_names={"channels": None})
    respond(pulse, "u-1", {"nps": 9, "channels": ["Push"]})
    drain()
    assert braze_standin.users()["braze_id:u-1"]["attributes"] == {NPS: 9}


def test_every_value_type_maps_to_its_braze_type(
    workspace: Any, owner: Any, connected: Any, braze_standin: StandinHarness
) -> None:
    from tests.conftest import EVERY_TYPE

    survey = Survey.create(workspace, EVERY_TYPE, owner)
    survey.set_status(Status.LIVE)
    integrate(survey)
    answers = {
        "nps": 10,
        "rating": 4,
        "csat": 5,
        "effort": 6,
        "plan": "Pro",
        "channels": ["Email", "Push"],
        "country": "Spain",
        "renew": True,
        "nickname": "Jo",
        "feedback": "Fine",
        "contact": "jo@example.com",
        "seats": 12.5,
        "since": "2024-02-29",
    }
    respond(survey, "u-9", answers)
    drain()
    profile = braze_standin.users()["braze_id:u-9"]
    spec = survey.spec
    got = {key: profile["attributes"][spec.get(key).prompt] for key in answers}
    assert got == {**answers, "since": "2024-02-29T00:00:00Z"}
    assert profile["types"][spec.get("since").prompt] == "time"
    assert isinstance(got["renew"], bool) and isinstance(got["nps"], int)


def test_a_burst_fills_requests_up_to_75_objects(
    pulse: Survey, braze_standin: StandinHarness
) -> None:
    for i in range(200):
        respond(pulse, f"u-{i}", {"nps": i % 11})
    drain()
    sizes = [r["objects"] for r in braze_standin.requests()]
    assert sizes == [75, 75, 50]
    assert len(braze_standin.users()) == 200


def test_per_answer_and_completion_events_are_sent_once(
    pulse: Survey, braze_standin: StandinHarness
) -> None:
    SurveyBraze.objects.filter(survey=pulse).update(per_answer_events=True, completion_event=True)
    respond(pulse, "u-1", {"nps": 7, "channels": ["SMS"]}, complete=True)
    drain()
    respond(pulse, "u-1", {"nps": 7})
    drain()
    events = braze_standin.users()["braze_id:u-1"]["events"]
    names = sorted(e["name"] for e in events)
    assert names == [
        "sounding_question_answered",
        "sounding_question_answered",
        "sounding_survey_completed",
    ]
    nps_event = next(e for e in events if e["properties"].get("question_key") == "nps")
    assert nps_event["properties"]["answer_number"] == 7
    assert nps_event["properties"]["answer"] == "7"
    assert nps_event["properties"]["attribute_name"] == NPS
    channels = next(e for e in events if e["properties"].get("question_key") == "channels")
    assert channels["properties"]["answer_array"] == ["SMS"]
    assert len({e["properties"]["sounding_event_id"] for e in events}) == 3


def test_a_5xx_is_retried_and_nothing_is_lost(pulse: Survey, braze_standin: StandinHarness) -> None:
    braze_standin.queue({"kind": "status", "status": 503}, {"kind": "status", "status": 502})
    respond(pulse, "u-1", {"nps": 9})
    drain()
    assert [r["status"] for r in braze_standin.requests()] == [503, 502, 201]
    assert braze_standin.users()["braze_id:u-1"]["attributes"] == {NPS: 9}
    assert Counter.objects.get(name="pushes_retried").value == 2
    assert Push.objects.get().state == PushState.SYNCED


def test_a_dropped_connection_and_a_timeout_are_retried(
    pulse: Survey, braze_standin: StandinHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    import httpx

    from sounding import outbound

    monkeypatch.setattr(outbound, "TIMEOUT", httpx.Timeout(0.3, connect=0.3))
    braze_standin.queue({"kind": "drop"}, {"kind": "slow", "seconds": 0.8})
    respond(pulse, "u-1", {"nps": 9})
    drain()
    assert braze_standin.users()["braze_id:u-1"]["attributes"] == {NPS: 9}
    assert Push.objects.get().state == PushState.SYNCED


def test_an_event_is_not_resent_after_a_clean_failure(
    pulse: Survey, braze_standin: StandinHarness
) -> None:
    SurveyBraze.objects.filter(survey=pulse).update(completion_event=True)
    braze_standin.queue({"kind": "rate_limited", "retry_after": 0})
    respond(pulse, "u-1", {"nps": 9}, complete=True)
    drain()
    events = braze_standin.users()["braze_id:u-1"]["events"]
    assert [e["name"] for e in events] == ["sounding_survey_completed"]
    assert Push.objects.get().ambiguous_events == 0


def test_an_event_whose_outcome_was_unknown_is_resent_and_counted(
    pulse: Survey, braze_standin: StandinHarness
) -> None:
    SurveyBraze.objects.filter(survey=pulse).update(completion_event=True)
    braze_standin.queue({"kind": "applied_then_500"})
    respond(pulse, "u-1", {"nps": 9}, complete=True)
    drain()
    events = braze_standin.users()["braze_id:u-1"]["events"]
    assert len(events) == 2  # applied, answered 500, sent again: the documented duplicate
    assert (
        events[0]["properties"]["sounding_event_id"] == events[1]["properties"]["sounding_event_id"]
    )
    assert Push.objects.get().ambiguous_events == 1
    assert Counter.objects.get(name="events_ambiguous").value == 1


def test_a_refused_object_fails_alone_with_brazes_reason(
    pulse: Survey, workspace: Any, owner: Any, braze_standin: StandinHarness
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
    drain()
    (request,) = braze_standin.requests()
    assert request["objects"] == 3 and len(request["response"]["errors"]) == 1
    bad = Push.objects.get(response__identities__braze_id=" ")
    assert bad.state == PushState.FAILED and "non-empty string" in bad.last_error
    good = Push.objects.filter(response__identities__braze_id__startswith="good")
    assert {p.state for p in good} == {PushState.SYNCED}
    assert set(braze_standin.users()) >= {"braze_id:good-1", "braze_id:good-2"}
    assert Counter.objects.get(name="pushes_failed").value == 1


def test_a_400_splits_the_batch_to_find_the_bad_object(
    pulse: Survey, braze_standin: StandinHarness
) -> None:
    for i in range(4):
        respond(pulse, f"u-{i}", {"nps": i})
    braze_standin.queue(*[{"kind": "status", "status": 400}] * 3)
    drain()
    sizes = [(r["objects"], r["status"]) for r in braze_standin.requests()]
    # 4 refused -> halves of 2: the first refused -> 1 + 1: the first refused (failed for
    # good), the other three delivered.
    assert sizes == [(4, 400), (2, 400), (1, 400), (1, 201), (2, 201)]
    states = sorted(Push.objects.values_list("state", flat=True))
    assert states == ["failed", "synced", "synced", "synced"]


def test_a_401_pauses_the_workspace_and_fixing_the_key_sends_what_waited(
    pulse: Survey,
    braze_standin: StandinHarness,
    connected: Any,
    mailoutbox: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    braze_standin.set_keys(valid=["new-key"])
    respond(pulse, "u-1", {"nps": 9})
    with django_capture_on_commit_callbacks(execute=True):
        drain_quietly()
    lane = Lane.objects.get()
    assert lane.paused_at is not None and "401" in lane.paused_reason
    assert Push.objects.get().state == PushState.PENDING
    respond(pulse, "u-2", {"nps": 5})
    drain_quietly()  # nothing is sent while paused
    # ...and the waiting pushes do not even wake the claim (its lock) on every poll.
    assert not claim.worth_claiming("braze", 75, timezone.now() + timedelta(seconds=5))
    assert len(braze_standin.requests()) == 1
    assert len(mailoutbox) == 1 and "owner@acme.test" in mailoutbox[0].to
    connected.set_api_key("new-key")
    connected.save()
    record.resume(connected.workspace_id, "braze")
    drain()
    assert set(braze_standin.users()) == {"braze_id:u-1", "braze_id:u-2"}


def test_a_403_pauses_with_the_permission_message(
    pulse: Survey, braze_standin: StandinHarness
) -> None:
    braze_standin.queue({"kind": "status", "status": 403})
    respond(pulse, "u-1", {"nps": 9})
    drain_quietly()
    assert "users.track" in Lane.objects.get().paused_reason


@pytest.mark.parametrize("dialect", ["epoch", "seconds"])
def test_rate_limit_headers_pace_the_worker_in_both_dialects(
    pulse: Survey, braze_standin: StandinHarness, dialect: str
) -> None:
    braze_standin.set_rate_limit(2, 1, dialect)
    for i in range(5):
        respond(pulse, f"u-{i}", {"nps": i})
        drain(timeout=10)
    statuses = [r["status"] for r in braze_standin.requests()]
    assert statuses.count(201) == 5
    # Remaining hits 0 on the second request of a window: the worker waits instead of
    # provoking 429s.
    assert statuses.count(429) == 0
    assert len(braze_standin.users()) == 5


def test_a_workspace_budget_spaces_requests(
    pulse: Survey, braze_standin: StandinHarness, connected: Any
) -> None:
    connected.requests_per_second = 5
    connected.save()
    for i in range(4):
        respond(pulse, f"u-{i}", {"nps": i})
        drain()
    times = [r["received_at"] for r in braze_standin.requests()]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert min(gaps) >= 0.18


def test_requests_stay_close_to_the_minimum_for_a_backlog(
    pulse: Survey, braze_standin: StandinHarness
) -> None:
    for i in range(300):
        respond(pulse, f"u-{i}", {"nps": i % 11, "channels": ["Push"]})
    drain()
    objects = sum(r["objects"] for r in braze_standin.requests())
    assert len(braze_standin.requests()) == math.ceil(objects / 75)


def drain_quietly(seconds: float = 0.6) -> None:
    # A paused lane leaves pushes pending on purpose: run rounds for a while, past the linger.
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        engine.deliver_due("braze", "w")
        time.sleep(0.02)


def test_workspace_without_braze_settings_waits_visibly(
    workspace: Any, owner: Any, braze_standin: StandinHarness
) -> None:
    survey = Survey.create(workspace, PULSE, owner)
    survey.set_status(Status.LIVE)
    integrate(survey)
    respond(survey, "u-1", {"nps": 9})
    drain_quietly()
    assert "not connected" in Lane.objects.get().paused_reason
    assert Push.objects.get().state == PushState.PENDING


def test_the_delivery_log_forgets_attempts_older_than_30_days(
    pulse: Survey, braze_standin: StandinHarness
) -> None:
    respond(pulse, "u-1", {"nps": 9})
    drain()
    respond(pulse, "u-1", {"nps": 3})
    drain()
    first, second = Attempt.objects.order_by("id")
    Attempt.objects.filter(pk=first.pk).update(started_at=timezone.now() - timedelta(days=31))
    assert record.prune() == 1
    assert list(Attempt.objects.values_list("pk", flat=True)) == [second.pk]
    assert Push.objects.get().state == PushState.SYNCED  # the push itself is kept


def test_answers_waiting_when_braze_is_turned_off_are_not_sent_nor_called_synced(
    pulse: Survey, braze_standin: StandinHarness
) -> None:
    from sounding.delivery import backfill

    respond(pulse, "u-1", {"nps": 9})
    SurveyBraze.objects.filter(survey=pulse).update(enabled=False)
    drain()
    assert braze_standin.requests() == []
    # Kept for what Braze acknowledged (nothing yet here), owing nothing.
    assert Push.objects.get().state == PushState.WITHDRAWN
    # Turned on again, the response is offered for sending, like any collected before.
    SurveyBraze.objects.filter(survey=pulse).update(enabled=True)
    assert backfill.owed_count(pulse, "braze") == 1


def test_someone_answering_again_and_again_does_not_hold_back_their_update(
    pulse: Survey, braze_standin: StandinHarness
) -> None:
    respond(pulse, "u-1", {"nps": 1})
    first_due = Push.objects.get().next_attempt_at
    for score in range(2, 6):
        respond(pulse, "u-1", {"nps": score})
    # Still due since the first answer: the wait for a fuller request is not started again.
    assert Push.objects.get().next_attempt_at == first_due
    drain()
    assert braze_standin.users()["braze_id:u-1"]["attributes"][NPS] == 5


def test_resend_all_writes_every_value_again_but_no_event_twice(
    pulse: Survey, braze_standin: StandinHarness
) -> None:
    from sounding.delivery import backfill

    SurveyBraze.objects.filter(survey=pulse).update(completion_event=True)
    respond(pulse, "u-1", {"nps": 9, "channels": ["Push"]}, complete=True)
    drain()
    events_before = Push.objects.get().acknowledged["events"]
    assert backfill.resend_all(pulse, "braze") == 1
    assert Push.objects.get().acknowledged == {"events": events_before}
    drain()
    last = braze_standin.requests()[-1]["body"]
    assert last == {
        "attributes": [
            {"braze_id": "u-1", "_update_existing_only": True, NPS: 9, CHANNELS: ["Push"]}
        ]
    }
    events = braze_standin.users()["braze_id:u-1"]["events"]
    assert [e["name"] for e in events] == ["sounding_survey_completed"]
