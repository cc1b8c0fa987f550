"""Where each response stands with Braze, in words a marketer reads: the description itself,
and the `sync` field the responses API adds to every response."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from sounding.accounts.models import Workspace
from sounding.answers.models import Response
from sounding.delivery.models import Lane, Push, PushState
from sounding.delivery.status import sync_state
from sounding.surveys.models import Survey

KIND = "braze"
SERVER_ERROR = "Braze had a temporary problem (503); the answers will be sent again."


def answered(survey: Survey, braze_id: str | None = None) -> Response:
    if braze_id is None:
        return Response.objects.create(survey=survey)
    return Response.objects.create(
        survey=survey,
        identity_kind="braze_id",
        identity_value=braze_id,
        identities={"braze_id": braze_id},
    )


def pushed(response: Response, state: str = PushState.PENDING, **fields: Any) -> Push:
    return Push.objects.create(
        response=response,
        workspace_id=response.survey.workspace_id,
        destination=KIND,
        user_key=f"braze_id:{response.identity_value}",
        state=state,
        **fields,
    )


def braze_on(survey: Survey) -> Survey:
    survey.destinations = [KIND]
    survey.save(update_fields=["destinations"])
    return survey


# --- The description ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_push_waiting_its_first_try_is_pending_and_waiting(live_survey: Survey) -> None:
    response = answered(live_survey, "u1")
    state = sync_state(pushed(response), response)

    assert state == {
        "state": "pending",
        "reason": "Waiting to be sent to Braze",
        "last_attempt_at": None,
        "attempts": 0,
        "synced_at": None,
    }


@pytest.mark.django_db
def test_a_push_braze_failed_temporarily_is_pending_with_braze_reason(
    live_survey: Survey,
) -> None:
    tried_at = timezone.now()
    response = answered(live_survey, "u1")
    push = pushed(response, attempts=2, last_attempt_at=tried_at, last_error=SERVER_ERROR)

    state = sync_state(push, response)

    assert state["state"] == "pending"
    assert state["reason"] == SERVER_ERROR
    assert (state["attempts"], state["last_attempt_at"]) == (2, tried_at)


@pytest.mark.django_db
def test_a_retried_push_without_a_recorded_reason_still_says_it_is_retried(
    live_survey: Survey,
) -> None:
    response = answered(live_survey, "u1")

    state = sync_state(pushed(response, attempts=3), response)

    assert state["reason"] == "The last try failed; trying again (3 so far)"


@pytest.mark.django_db
def test_a_synced_push_says_braze_has_the_answers_and_when(live_survey: Survey) -> None:
    done = timezone.now()
    response = answered(live_survey, "u1")
    push = pushed(response, PushState.SYNCED, synced_at=done, last_attempt_at=done)

    state = sync_state(push, response)

    assert state["state"] == "synced"
    assert state["reason"] == "Braze has these answers"
    assert state["synced_at"] == done


@pytest.mark.django_db
def test_a_synced_push_mentions_what_was_changed_to_fit(live_survey: Survey) -> None:
    response = answered(live_survey, "u1")
    push = pushed(response, PushState.SYNCED, notes="feedback cut to 255 characters")

    reason = sync_state(push, response)["reason"]

    assert reason == "Braze has these answers (feedback cut to 255 characters)"


@pytest.mark.django_db
def test_a_failed_push_gives_braze_reason(live_survey: Survey) -> None:
    response = answered(live_survey, "u1")
    push = pushed(response, PushState.FAILED, last_error="'email' is not a valid email address")

    state = sync_state(push, response)

    assert (state["state"], state["reason"]) == ("failed", "'email' is not a valid email address")


@pytest.mark.django_db
def test_an_anonymous_response_is_not_sent_for_want_of_an_identifier(
    live_survey: Survey,
) -> None:
    state = sync_state(None, answered(braze_on(live_survey)))

    assert state == {
        "state": "not_sent",
        "reason": "No Braze identifier in the link",
        "last_attempt_at": None,
        "attempts": 0,
        "synced_at": None,
    }


@pytest.mark.django_db
def test_an_identified_response_without_a_push_is_not_sent_because_braze_is_off(
    live_survey: Survey,
) -> None:
    state = sync_state(None, answered(live_survey, "u1"))

    assert (state["state"], state["reason"]) == ("not_sent", "Braze is off for this survey")


@pytest.mark.django_db
def test_a_response_from_before_braze_was_turned_on_says_so(live_survey: Survey) -> None:
    state = sync_state(None, answered(live_survey, "u1"), enabled=True)

    assert state["reason"] == "Answered before Braze was turned on for this survey"


@pytest.mark.django_db
def test_a_paused_lane_explains_why_a_push_waits(live_survey: Survey, workspace: Workspace) -> None:
    response = answered(live_survey, "u1")
    lane = Lane.objects.create(
        workspace=workspace,
        destination=KIND,
        paused_reason="Braze refused the API key (401).",
        paused_at=timezone.now(),
    )

    state = sync_state(pushed(response), response, lane=lane)

    assert state["reason"] == "Sending to Braze is paused: Braze refused the API key (401)."


@pytest.mark.django_db
def test_a_rate_limited_lane_explains_why_a_push_waits(
    live_survey: Survey, workspace: Workspace
) -> None:
    response = answered(live_survey, "u1")
    until = timezone.now() + timedelta(seconds=30)
    lane = Lane.objects.create(workspace=workspace, destination=KIND, blocked_until=until)

    reason = sync_state(pushed(response), response, lane=lane)["reason"]

    assert reason == "Braze asked us to slow down; sending resumes when its limit resets"


# --- The API -----------------------------------------------------------------------------------


@pytest.fixture
def api(owner_token: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {owner_token}")


def listed(api: Client, survey: Survey, **params: Any) -> list[dict[str, Any]]:
    response = api.get(f"/api/v1/surveys/{survey.pk}/responses", params)
    assert response.status_code == 200
    items: list[dict[str, Any]] = response.json()["items"]
    return items


@pytest.mark.django_db
def test_every_listed_response_carries_its_braze_sync_state(
    api: Client, live_survey: Survey
) -> None:
    survey = braze_on(live_survey)
    done = timezone.now()
    pushed(answered(survey, "ok"), PushState.SYNCED, synced_at=done, last_attempt_at=done)
    pushed(answered(survey, "flaky"), attempts=1, last_attempt_at=done, last_error=SERVER_ERROR)
    pushed(answered(survey, "bad"), PushState.FAILED, attempts=0, last_error="Invalid email")
    answered(survey)

    items = listed(api, survey)

    syncs = [item["sync"] for item in items]
    assert all(set(sync) == {"braze"} for sync in syncs)
    braze = [sync["braze"] for sync in syncs]
    assert [b["state"] for b in braze] == ["synced", "pending", "failed", "not_sent"]
    assert braze[0]["synced_at"].startswith(done.strftime("%Y-%m-%dT%H:%M:%S"))
    assert braze[1] == {
        "state": "pending",
        "reason": SERVER_ERROR,
        "last_attempt_at": braze[1]["last_attempt_at"],
        "attempts": 1,
        "synced_at": None,
    }
    assert braze[1]["last_attempt_at"] is not None
    assert braze[2]["reason"] == "Invalid email"
    assert braze[3]["reason"] == "No Braze identifier in the link"


@pytest.mark.django_db
def test_the_api_says_braze_is_off_for_a_survey_that_does_not_send(
    api: Client, live_survey: Survey
) -> None:
    answered(live_survey, "u1")

    [item] = listed(api, live_survey)

    assert item["sync"]["braze"]["state"] == "not_sent"
    assert item["sync"]["braze"]["reason"] == "Braze is off for this survey"


@pytest.mark.django_db
def test_the_api_explains_waiting_responses_with_the_paused_lane(
    api: Client, live_survey: Survey, workspace: Workspace
) -> None:
    pushed(answered(braze_on(live_survey), "u1"))
    Lane.objects.create(
        workspace=workspace, destination=KIND, paused_reason="No key.", paused_at=timezone.now()
    )

    [item] = listed(api, live_survey)

    assert item["sync"]["braze"]["reason"] == "Sending to Braze is paused: No key."


@pytest.mark.django_db
def test_another_destination_push_does_not_count_as_braze(api: Client, live_survey: Survey) -> None:
    response = answered(braze_on(live_survey), "u1")
    Push.objects.create(
        response=response,
        workspace_id=live_survey.workspace_id,
        destination="webhook",
        user_key="braze_id:u1",
        state=PushState.FAILED,
    )

    [item] = listed(api, live_survey)

    assert item["sync"]["braze"]["state"] == "not_sent"


@pytest.mark.django_db
@pytest.mark.parametrize("count", [1, 60])
def test_sync_states_cost_no_query_per_response(
    api: Client, live_survey: Survey, count: int, django_assert_max_num_queries: Any
) -> None:
    survey = braze_on(live_survey)
    for i in range(count):
        pushed(answered(survey, f"u{i}"), PushState.SYNCED if i % 2 else PushState.PENDING)
        answered(survey)
    api.get("/api/v1/surveys")  # records the token's first use, a write of its own

    # The token with its role, the survey, the responses joined with their pushes, their
    # answers, and the lane (read because some response is pending).
    with django_assert_max_num_queries(5):
        items = listed(api, survey, limit=50)

    assert len(items) == min(2 * count, 50)
    assert {item["sync"]["braze"]["state"] for item in items} >= {"pending", "not_sent"}


@pytest.mark.django_db
def test_a_page_without_pending_responses_does_not_read_the_lane(
    api: Client, live_survey: Survey, django_assert_max_num_queries: Any
) -> None:
    pushed(answered(braze_on(live_survey), "u1"), PushState.SYNCED)
    api.get("/api/v1/surveys")

    with django_assert_max_num_queries(4):
        listed(api, live_survey)


@pytest.mark.django_db
def test_the_openapi_document_describes_the_sync_state(api: Client) -> None:
    document = Client().get("/api/v1/openapi.json").json()
    schemas = document["components"]["schemas"]

    sync = schemas["ResponseOut"]["properties"]["sync"]
    assert sync["additionalProperties"]["$ref"].endswith("/SyncState")
    state = schemas["SyncState"]["properties"]["state"]
    assert set(state["enum"]) == {"pending", "synced", "failed", "not_sent"}
