"""An erasure that asked to clear Braze clears it whatever becomes of the survey's integration
(turned off before or after the request, its push withdrawn), and says why it cannot when the
workspace's Braze connection is gone or refused: on the erasure page and in the API."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from sounding.accounts.models import User
from sounding.answers.models import Response
from sounding.delivery import engine
from sounding.delivery.models import Push, PushState
from sounding.destinations.braze.errors import WRONG_KEY
from sounding.destinations.braze.models import BatchLimit, BrazeSettings
from sounding.destinations.braze.setup import save_connection
from sounding.responses import erasure
from sounding.surveys.models import Survey
from tests.conftest import logged_in
from tests.delivery_fixtures import braze_page, drain, respond
from tests.standin import StandinHarness

NPS = "How likely are you to recommend us?"
CHANNELS = "Where do you hear from us?"
ERASE = "/api/v1/responses/erase"
U1 = {"identifier": "braze_id", "value": "u-1", "clear_braze": True}
# The same request through the page's form.
U1_FORM = {"identifier": "braze_id", "value": "u-1", "clear_destinations": True}


@pytest.fixture(autouse=True)
def _quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "BACKOFF_BASE", 0.01)


def nulls_sent(standin: StandinHarness, since: int) -> list[dict[str, Any]]:
    return [a for r in standin.requests(since) for a in r["body"].get("attributes", [])]


def answered(survey: Survey, standin: StandinHarness) -> Response:
    response = respond(survey, "u-1", {"nps": 9, "channels": ["Email"], "feedback": "Hi"})
    drain()
    assert len(standin.users()["braze_id:u-1"]["attributes"]) == 3
    return response


EVERY_NULL = {
    "braze_id": "u-1",
    "_update_existing_only": True,
    NPS: None,
    CHANNELS: None,
    "Pulse feedback": None,
}


def run_rounds(seconds: float = 0.6) -> None:
    # A paused workspace leaves pushes pending on purpose: `drain` would wait for ever. Rounds
    # for a while, past the wait for a fuller request.
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        engine.deliver_due("braze", "test-host:1:delivery")
        time.sleep(0.02)


def api(token: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def erase_by_api(token: str, body: dict[str, Any] = U1) -> dict[str, Any]:
    reply = api(token).post(ERASE, json.dumps(body), content_type="application/json")
    assert reply.status_code == 200, reply.content
    result: dict[str, Any] = reply.json()
    return result


def test_braze_turned_off_after_the_request_still_gets_every_null(
    editor: User, pulse: Survey, braze_standin: StandinHarness
) -> None:
    response = answered(pulse, braze_standin)
    before = len(braze_standin.requests())

    assert erasure.erase_one(response, clear=True).clearing == 1
    braze_page(logged_in(editor), pulse, enabled=False)
    drain()

    assert nulls_sent(braze_standin, before) == [EVERY_NULL]
    assert braze_standin.users()["braze_id:u-1"]["attributes"] == {}
    assert erasure.sweep() == 1
    assert not Response.objects.exists()


def test_a_push_withdrawn_before_the_request_is_still_cleared(
    editor: User, pulse: Survey, braze_standin: StandinHarness
) -> None:
    response = answered(pulse, braze_standin)
    respond(pulse, "u-1", {"nps": 3})  # owed when Braze goes off: the worker withdraws it
    braze_page(logged_in(editor), pulse, enabled=False)
    drain()
    before = len(braze_standin.requests())

    assert erasure.erase_one(response, clear=True).clearing == 1
    drain()

    assert nulls_sent(braze_standin, before) == [EVERY_NULL]
    assert braze_standin.users()["braze_id:u-1"]["attributes"] == {}
    assert erasure.sweep() == 1


def test_with_braze_off_for_the_survey_the_request_still_clears_what_braze_holds(
    editor: User, owner_token: str, pulse: Survey, braze_standin: StandinHarness
) -> None:
    answered(pulse, braze_standin)
    braze_page(logged_in(editor), pulse, enabled=False)
    before = len(braze_standin.requests())

    result = erase_by_api(owner_token)
    drain()

    assert result == {
        "responses": 1,
        "surveys": 1,
        "clearing_at_destinations": 1,
        "clearing_in_braze": 1,
        "clearing_blocked": None,
    }
    assert nulls_sent(braze_standin, before) == [EVERY_NULL]
    assert erasure.sweep() == 1


def test_without_a_connection_the_api_and_the_page_say_why_braze_waits(
    owner: User, owner_token: str, pulse: Survey, braze_standin: StandinHarness
) -> None:
    answered(pulse, braze_standin)
    BrazeSettings.objects.filter(workspace_id=pulse.workspace_id).delete()

    result = erase_by_api(owner_token)

    assert result["clearing_in_braze"] == 1
    assert "Braze is not connected for this workspace" in result["clearing_blocked"]
    run_rounds()
    assert erasure.sweep() == 0  # kept: the nulls are still owed
    page = logged_in(owner).post(reverse("erase-person"), U1_FORM, follow=True).content.decode()
    assert "cannot take them now" in page and "Braze is not connected" in page

    save_connection(
        pulse.workspace,
        owner,
        braze_standin.url,
        braze_standin.api_key,
        None,
        BatchLimit.COMBINED_75,
    )
    before = len(braze_standin.requests())
    drain()
    assert nulls_sent(braze_standin, before) == [EVERY_NULL]
    assert erasure.sweep() == 1


def test_a_refused_key_is_named_by_the_api_and_the_page(
    owner: User, owner_token: str, pulse: Survey, braze_standin: StandinHarness
) -> None:
    answered(pulse, braze_standin)
    braze_standin.set_keys(valid=["another-key"])
    respond(pulse, "u-2", {"nps": 1})
    run_rounds()  # Braze answers 401: sending pauses for the workspace

    result = erase_by_api(owner_token)
    page = logged_in(owner).post(reverse("erase-person"), U1_FORM, follow=True).content.decode()

    assert result["clearing_in_braze"] == 1
    assert result["clearing_blocked"] == WRONG_KEY
    assert "Braze refused the API key (401)" in page
    assert Push.objects.get(response__identities__braze_id="u-1").state == PushState.PENDING


def test_a_connection_removed_after_the_request_is_reported_when_asked_again(
    owner: User, owner_token: str, pulse: Survey, braze_standin: StandinHarness
) -> None:
    response = answered(pulse, braze_standin)
    assert erase_by_api(owner_token)["clearing_blocked"] is None
    BrazeSettings.objects.filter(workspace_id=pulse.workspace_id).delete()
    run_rounds()

    again = erase_by_api(owner_token)

    assert again["clearing_in_braze"] == 1
    assert "Braze is not connected" in again["clearing_blocked"]
    row = logged_in(owner).get(reverse("survey-responses", args=[pulse.pk])).content.decode()
    assert "Braze is not connected" in row
    assert Response.objects.get().pk == response.pk
