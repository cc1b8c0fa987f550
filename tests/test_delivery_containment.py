"""One bad push, one busy workspace or one odd status never holds back anyone else.

A push whose answers cannot be turned into a request is retried, then failed with its reason,
while everyone else in its claim and every other workspace is delivered. A backlog in one
workspace does not keep another's fresh answer waiting. Only a `400` says an object is bad;
every other refusal is retried, and a `413` asks for smaller requests.

Everything goes over real HTTP to the Braze stand-in; worker rounds run in the test's thread.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from sounding.accounts.models import User, Workspace
from sounding.answers.models import Answer, Response
from sounding.delivery import claim, engine
from sounding.delivery.models import Attempt, Lane, Outcome, Push, PushState
from sounding.destinations.braze.models import BrazeSettings
from sounding.surveys.models import Status, Survey
from tests.conftest import logged_in
from tests.delivery_fixtures import PULSE, WORKER, integrate, respond
from tests.standin import StandinHarness

NPS = "How likely are you to recommend us?"


@pytest.fixture(autouse=True)
def _quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "BACKOFF_BASE", 0.01)


@pytest.fixture
def elsewhere(other_workspace: Workspace, braze_standin: StandinHarness, settings: Any) -> Survey:
    """A live survey of another workspace, connected to the same stand-in."""
    settings.BRAZE_ALLOWED_ENDPOINTS = [braze_standin.url]
    found = BrazeSettings(workspace=other_workspace, rest_endpoint=braze_standin.url)
    found.set_api_key(braze_standin.api_key)
    found.save()
    survey = Survey.create(other_workspace, PULSE)
    survey.set_status(Status.LIVE)
    integrate(survey)
    return survey


def corrupt(braze_id: str) -> None:
    """A push whose stored record of what Braze holds is not the shape the code reads (a row
    written by hand, or by a bug): building its request raises. The mapper itself is total:
    no answer of any shape makes it raise (tests/test_braze_mapping_properties.py)."""
    Push.objects.filter(response__identities__braze_id=braze_id).update(
        acknowledged={"attributes": 5}
    )


def one_round() -> int:
    """One worker round with every pending push due now: the backoff, and the lane's wait for
    its next try after a failure, skipped, not waited."""
    past = timezone.now() - timedelta(seconds=1)
    Push.objects.filter(state=PushState.PENDING).update(next_attempt_at=past)
    Lane.objects.update(probe_at=None)
    return engine.deliver_due("braze", WORKER)


def push_of(braze_id: str) -> Push:
    return Push.objects.get(response__identities__braze_id=braze_id)


def deliveries_page(user: User, survey: Survey) -> str:
    page = logged_in(user).get(reverse("survey-deliveries", args=[survey.pk]))
    assert page.status_code == 200
    return page.content.decode()


# --- one push that cannot be built ---------------------------------------------------------


def test_a_push_that_cannot_be_built_fails_alone_and_every_other_workspace_keeps_flowing(
    pulse: Survey, elsewhere: Survey, braze_standin: StandinHarness, owner: User
) -> None:
    respond(pulse, "bad", {"nps": 9})
    respond(pulse, "good", {"feedback": "Fine"})
    corrupt("bad")
    respond(elsewhere, "other", {"nps": 7})

    Push.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    for _ in range(2):  # one round per workspace; nothing escapes
        assert engine.deliver_due("braze", WORKER)
    # The bad push's claim-mate and the other workspace are delivered as if nothing happened.
    assert push_of("good").state == PushState.SYNCED
    assert push_of("other").state == PushState.SYNCED
    users = braze_standin.users()
    assert users["braze_id:good"]["attributes"] == {"Pulse feedback": "Fine"}
    assert users["braze_id:other"]["attributes"] == {NPS: 7}
    assert "braze_id:bad" not in users

    bad = push_of("bad")
    assert bad.state == PushState.PENDING and bad.attempts == 1
    assert bad.next_attempt_at > bad.last_attempt_at  # backing off
    assert "could not be prepared for Braze" in bad.last_error
    assert "TypeError" in bad.last_error and "try 1 of 5" in bad.last_error
    assert not Attempt.objects.filter(push=bad).exists()  # nothing was sent about it

    for _ in range(engine.BROKEN_TRIES - 1):
        one_round()
    bad = push_of("bad")
    assert (bad.state, bad.attempts) == (PushState.FAILED, engine.BROKEN_TRIES)
    assert "TypeError" in bad.last_error and "Retry failed" in bad.last_error
    assert escape(bad.last_error) in deliveries_page(owner, pulse)
    assert len(braze_standin.requests()) == 2  # the good and the other, nothing more

    # Once the row is mended, "Retry failed" sends it.
    Push.objects.filter(response__identities__braze_id="bad").update(acknowledged={})
    logged_in(owner).post(reverse("survey-deliveries-retry", args=[pulse.pk]))
    one_round()
    assert push_of("bad").state == PushState.SYNCED
    assert braze_standin.users()["braze_id:bad"]["attributes"] == {NPS: 9}


def test_a_destination_that_raises_for_every_push_keeps_each_ones_reason(
    pulse: Survey, braze_standin: StandinHarness
) -> None:
    for who in ("a", "b", "c"):
        respond(pulse, who, {"nps": 5})
        corrupt(who)
    assert one_round() == 3
    pushes = list(Push.objects.all())
    assert {(p.state, p.attempts) for p in pushes} == {(PushState.PENDING, 1)}
    assert all("TypeError" in p.last_error for p in pushes)
    assert braze_standin.requests() == []


# --- fairness between workspaces -----------------------------------------------------------


def backlog(survey: Survey, count: int, prefix: str = "a") -> None:
    """`count` identified responses with a score each, owed to Braze and long overdue."""
    now = timezone.now()
    responses = Response.objects.bulk_create(
        Response(
            survey=survey,
            identity_kind="braze_id",
            identity_value=f"{prefix}-{i}",
            answers_version=1,
            identities={"braze_id": f"{prefix}-{i}"},
        )
        for i in range(count)
    )
    Answer.objects.bulk_create(
        Answer(response=r, question_key="nps", value=i % 11, answered_at=now)
        for i, r in enumerate(responses)
    )
    Push.objects.bulk_create(
        Push(
            response=r,
            workspace_id=survey.workspace_id,
            destination="braze",
            user_key=f"braze_id:{r.identity['braze_id']}",
            wanted_version=1,
            next_attempt_at=now - timedelta(minutes=10),
        )
        for r in responses
    )


def test_a_fresh_answer_in_one_workspace_is_not_kept_behind_another_workspaces_backlog(
    pulse: Survey, elsewhere: Survey, braze_standin: StandinHarness
) -> None:
    backlog(pulse, 3000)
    respond(elsewhere, "b-1", {"nps": 7})
    time.sleep(claim.LINGER.total_seconds())  # a lone answer waits this long for company
    # Counted in rounds, not seconds: on a busy machine any round can take long.
    rounds = 0
    while push_of("b-1").state != PushState.SYNCED:
        assert engine.deliver_due("braze", WORKER)
        rounds += 1
        assert rounds <= 2, "the fresh answer waited behind the backlog"
    requests = braze_standin.requests()
    assert requests[-1]["users"] == ["braze_id:b-1"]
    # The backlog is still served, in full requests, taking turns with the other workspace.
    assert [r["objects"] for r in requests[:-1]] == [75] * (len(requests) - 1)
    assert Push.objects.filter(state=PushState.PENDING).count() >= 3000 - 2 * 75


def test_two_workspaces_with_backlogs_take_turns(
    pulse: Survey, elsewhere: Survey, braze_standin: StandinHarness
) -> None:
    backlog(pulse, 300, "a")
    backlog(elsewhere, 300, "b")
    for _ in range(6):
        assert engine.deliver_due("braze", WORKER) == 75
    # Each request's people by their backlog's prefix ("braze_id:a-12" -> "a").
    served = ["".join({who[9] for who in r["users"]}) for r in braze_standin.requests()]
    assert served in (["a", "b"] * 3, ["b", "a"] * 3)


def test_a_second_worker_takes_the_next_workspace_without_anyone_already_in_flight(
    pulse: Survey, elsewhere: Survey
) -> None:
    backlog(pulse, 200, "a")
    respond(elsewhere, "a-0", {"nps": 2})  # also in the backlog's first request
    respond(elsewhere, "b-1", {"nps": 3})
    Push.objects.filter(workspace=elsewhere.workspace).update(
        next_attempt_at=timezone.now() - timedelta(seconds=5)
    )
    first = claim.claim("braze", "w-1", 75)
    second = claim.claim("braze", "w-2", 75)
    assert first is not None and second is not None
    assert first.workspace_id == pulse.workspace_id and len(first.push_ids) == 75
    assert Push.objects.get(workspace=pulse.workspace, user_key="braze_id:a-0").pk in (
        first.push_ids
    )
    assert second.workspace_id == elsewhere.workspace_id
    assert second.push_ids == [push_of("b-1").pk]


# --- what each 4xx means -------------------------------------------------------------------


def two_waiting(survey: Survey) -> None:
    respond(survey, "u-1", {"nps": 1})
    respond(survey, "u-2", {"nps": 2})


def sizes(standin: StandinHarness) -> list[tuple[int, int | None]]:
    return [(r["objects"], r["status"]) for r in standin.requests()]


SPLIT = "split, the bad one failed"
HALVED = "halved, the lone one retried"
RETRIED = "retried whole after a backoff"
PAUSED = "workspace paused"
SLOWED = "workspace waits for the rate limit"
# Only a 400 says an object is bad; the meanings of 401, 403, 404 and 429 are kept.
MEANINGS = {
    400: SPLIT,
    401: PAUSED,
    403: PAUSED,
    404: PAUSED,
    405: RETRIED,
    407: RETRIED,
    408: RETRIED,
    409: RETRIED,
    410: RETRIED,
    413: HALVED,
    418: RETRIED,
    422: RETRIED,
    429: SLOWED,
    451: RETRIED,
}


def meaning(standin: StandinHarness, status: int) -> str:
    """What one round made of two people's request answered `status` twice."""
    requests = sizes(standin)
    states = {(p.state, p.attempts) for p in Push.objects.all()}
    lane = Lane.objects.get()
    if requests == [(2, status), (1, status), (1, 201)]:
        lone = {(PushState.FAILED, 0): SPLIT, (PushState.PENDING, 1): HALVED}
        alone = Push.objects.exclude(state=PushState.SYNCED).get()
        return lone.get((alone.state, alone.attempts), f"split, then {alone.state}")
    if requests != [(2, status)]:
        return f"requests {requests}"
    if states == {(PushState.PENDING, 1)} and lane.paused_at is None:
        return RETRIED
    if states == {(PushState.PENDING, 0)} and lane.paused_at is not None:
        return PAUSED
    if states == {(PushState.PENDING, 0)} and lane.blocked_until is not None:
        return SLOWED
    return f"pushes {states}"


def test_each_4xx_status_has_one_meaning(pulse: Survey, braze_standin: StandinHarness) -> None:
    seen = {}
    for status in MEANINGS:
        Push.objects.all().delete()
        Lane.objects.update(paused_at=None, paused_reason="", blocked_until=None)
        braze_standin.reset()
        respond(pulse, f"{status}-1", {"nps": 1})
        respond(pulse, f"{status}-2", {"nps": 2})
        braze_standin.queue(*[{"kind": "status", "status": status}] * 2)
        one_round()
        seen[status] = meaning(braze_standin, status)
    assert seen == MEANINGS


@pytest.mark.parametrize("status", [405, 407, 408, 409, 410, 418, 422, 451])
def test_any_other_4xx_is_retried_whole_with_brazes_status_and_body_shown(
    pulse: Survey, braze_standin: StandinHarness, owner: User, status: int
) -> None:
    two_waiting(pulse)
    body = {"message": f"stand-in says no ({status})", "errors": ["try later"]}
    braze_standin.queue(*[{"kind": "status", "status": status, "body": body}] * 2)
    for tries in (1, 2):
        assert one_round() == 2
        assert sizes(braze_standin)[-1] == (2, status)  # never split
        # Due again with the lane's next try, set after the request left: a backoff, however
        # long the machine took to write down the outcome.
        sent = Attempt.objects.latest("started_at").started_at
        probe_at = Lane.objects.get().probe_at
        assert probe_at is not None and probe_at > sent
        for push in Push.objects.all():
            assert (push.state, push.attempts) == (PushState.PENDING, tries)
            assert push.next_attempt_at == probe_at
    reason = push_of("u-1").last_error
    assert f"Braze answered {status}" in reason and f"stand-in says no ({status})" in reason
    assert "try later" in reason
    attempts = Attempt.objects.all()
    assert {(a.outcome, a.status_code, a.detail) for a in attempts} == {
        (Outcome.RETRY, status, reason)
    }
    page = deliveries_page(owner, pulse)
    assert f">{status}</td>" in page and escape(reason) in page
    lane = Lane.objects.get()
    assert lane.paused_at is None and lane.last_error == reason

    one_round()
    assert sizes(braze_standin)[-1] == (2, 201)
    assert set(Push.objects.values_list("state", flat=True)) == {PushState.SYNCED}


def test_a_413_sends_the_request_again_in_halves_and_a_lone_person_later(
    pulse: Survey, braze_standin: StandinHarness
) -> None:
    two_waiting(pulse)
    braze_standin.queue(*[{"kind": "status", "status": 413}] * 2)
    one_round()
    # Too large together: halves at once. Too large alone: not the object's fault as far as
    # anyone can tell (Braze's own "too many objects" is a 400), so it waits and goes again.
    assert sizes(braze_standin) == [(2, 413), (1, 413), (1, 201)]
    alone = push_of("u-1")
    assert (alone.state, alone.attempts) == (PushState.PENDING, 1)
    assert "too large" in alone.last_error
    assert push_of("u-2").state == PushState.SYNCED
    one_round()
    assert sizes(braze_standin)[-1] == (1, 201)
    assert push_of("u-1").state == PushState.SYNCED
