"""Deleting responses: at once, or only after Braze has taken a null for every attribute it
holds from them, through the real delivery pipeline and the Braze stand-in."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sounding.answers.models import Answer, Response
from sounding.delivery import engine, record
from sounding.delivery.models import Attempt, Push, PushState
from sounding.destinations.braze.models import SurveyBraze
from sounding.responses import erasure
from sounding.surveys.models import Survey
from tests.delivery_fixtures import PULSE, drain, respond, set_up_braze_survey
from tests.procs import Processes, free_port, query, wait_for
from tests.respondent import form_state
from tests.standin import StandinHarness

NPS = "How likely are you to recommend us?"
CHANNELS = "Where do you hear from us?"


@pytest.fixture(autouse=True)
def _quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "BACKOFF_BASE", 0.01)


def attributes_sent(standin: StandinHarness, since: int = 0) -> list[dict[str, Any]]:
    return [
        obj for request in standin.requests(since) for obj in request["body"].get("attributes", [])
    ]


def test_clearing_sends_null_for_each_attribute_then_the_response_goes(
    pulse: Survey, braze_standin: StandinHarness
) -> None:
    gone = respond(pulse, "u-1", {"nps": 9, "channels": ["Email"], "feedback": "Hi"}, True)
    kept = respond(pulse, "u-2", {"nps": 4})
    drain()
    assert braze_standin.users()["braze_id:u-1"]["attributes"] == {
        NPS: 9,
        CHANNELS: ["Email"],
        "Pulse feedback": "Hi",
    }
    before = len(braze_standin.requests())

    erased = erasure.erase_one(gone, clear=True)

    assert erased == erasure.Erased(responses=1, surveys=1, clearing=1)
    assert not Answer.objects.filter(response=gone).exists()
    assert Response.objects.filter(pk=gone.pk, erase_requested_at__isnull=False).exists()
    assert erasure.sweep() == 0  # Braze has not taken the nulls yet
    drain()
    (cleared,) = attributes_sent(braze_standin, since=before)
    assert cleared == {
        "braze_id": "u-1",
        "_update_existing_only": True,
        NPS: None,
        CHANNELS: None,
        "Pulse feedback": None,
    }
    assert braze_standin.users()["braze_id:u-1"]["attributes"] == {}
    assert erasure.sweep() == 1
    assert not Response.objects.filter(pk=gone.pk).exists()
    assert not Push.objects.filter(response_id=gone.pk).exists()
    assert list(Response.objects.values_list("pk", flat=True)) == [kept.pk]
    assert braze_standin.users()["braze_id:u-2"]["attributes"] == {NPS: 4}


def test_clearing_reaches_an_attribute_renamed_since_it_was_written(
    pulse: Survey, braze_standin: StandinHarness
) -> None:
    response = respond(pulse, "u-1", {"nps": 9})
    drain()
    config = SurveyBraze.objects.get(survey=pulse)
    config.attribute_names = {**config.attribute_names, "nps": "NPS renamed"}
    config.save(update_fields=["attribute_names"])
    before = len(braze_standin.requests())

    erasure.erase_one(response, clear=True)
    drain()

    (cleared,) = attributes_sent(braze_standin, since=before)
    assert cleared == {"braze_id": "u-1", "_update_existing_only": True, NPS: None}
    assert erasure.sweep() == 1


def test_a_person_coming_back_while_being_erased_stores_nothing(
    pulse: Survey, braze_standin: StandinHarness
) -> None:
    from django.test import Client

    response = respond(pulse, "u-1", {"nps": 9})
    drain()
    erasure.erase_one(response, clear=True)
    client = Client()
    page = client.get(pulse.public_path() + "?user_braze_id=u-1&nps=3")
    assert page.status_code == 400
    posted = client.post(pulse.public_path() + "?user_braze_id=u-1", {"q": "nps", "a": "2"})
    assert posted.status_code == 400
    assert not Answer.objects.filter(response=response).exists()


def test_without_the_option_the_response_goes_at_once_and_braze_hears_nothing(
    pulse: Survey, braze_standin: StandinHarness
) -> None:
    response = respond(pulse, "u-1", {"nps": 9})
    drain()
    sent = len(braze_standin.requests())

    erased = erasure.erase_one(response, clear=False)

    assert erased == erasure.Erased(responses=1, surveys=1, clearing=0)
    assert not Response.objects.exists() and not Push.objects.exists()
    assert not Attempt.objects.exists() and not Answer.objects.exists()
    drain()
    assert len(braze_standin.requests()) == sent
    assert braze_standin.users()["braze_id:u-1"]["attributes"] == {NPS: 9}


def test_a_pending_push_goes_with_a_response_deleted_before_it_was_sent(
    pulse: Survey, braze_standin: StandinHarness
) -> None:
    response = respond(pulse, "u-1", {"nps": 9})
    assert Push.objects.get().state == PushState.PENDING

    erased = erasure.erase_one(response, clear=True)

    # Braze holds nothing from it yet: there is nothing to clear, so nothing waits.
    assert erased.clearing == 0
    assert not Response.objects.exists() and not Push.objects.exists()
    drain()
    assert braze_standin.requests() == []


def test_an_answer_braze_has_not_taken_yet_is_neither_sent_nor_cleared(
    pulse: Survey, braze_standin: StandinHarness
) -> None:
    response = respond(pulse, "u-1", {"nps": 9})
    drain()
    respond(pulse, "u-1", {"feedback": "late"})  # owed, not sent yet
    before = len(braze_standin.requests())

    erasure.erase_one(response, clear=True)
    drain()

    (cleared,) = attributes_sent(braze_standin, since=before)
    assert cleared == {"braze_id": "u-1", "_update_existing_only": True, NPS: None}
    assert erasure.sweep() == 1


def test_the_response_waits_while_braze_refuses_then_goes_once_it_takes_the_nulls(
    pulse: Survey, braze_standin: StandinHarness
) -> None:
    response = respond(pulse, "u-1", {"nps": 9})
    drain()
    braze_standin.queue({"kind": "status", "status": 503}, {"kind": "status", "status": 503})

    erasure.erase_one(response, clear=True)
    for _ in range(2):
        while not engine.deliver_due("braze", "test:1:w"):
            time.sleep(0.01)
        assert erasure.sweep() == 0
        assert Response.objects.filter(pk=response.pk).exists()
    drain()
    assert braze_standin.users()["braze_id:u-1"]["attributes"] == {}
    assert erasure.sweep() == 1


def test_a_paused_workspace_keeps_the_response_until_sending_resumes(
    pulse: Survey, braze_standin: StandinHarness
) -> None:
    response = respond(pulse, "u-1", {"nps": 9})
    drain()
    record.pause(pulse.workspace_id, "braze", "Braze refused the API key")

    erasure.erase_one(response, clear=True)
    engine.deliver_due("braze", "test:1:w")

    assert erasure.sweep() == 0
    assert Response.objects.filter(pk=response.pk).exists()


def test_a_response_braze_refuses_for_good_is_still_deleted(
    pulse: Survey, braze_standin: StandinHarness
) -> None:
    response = respond(pulse, "u-1", {"nps": 9})
    drain()
    Push.objects.update(state=PushState.FAILED, last_error="refused")

    erasure.erase_one(response, clear=True)
    assert Push.objects.get().state == PushState.PENDING  # the nulls are owed
    Push.objects.update(state=PushState.FAILED)

    assert erasure.sweep() == 1
    assert not Response.objects.exists()


def test_erasing_by_identity_spans_surveys_of_one_workspace_only(
    pulse: Survey, workspace: Any, owner: Any, other_workspace: Any, braze_standin: StandinHarness
) -> None:
    from sounding.surveys.models import Status
    from tests.delivery_fixtures import integrate

    second = Survey.create(workspace, {**PULSE, "title": "Second"}, owner)
    second.set_status(Status.LIVE)
    integrate(second)
    elsewhere = Survey.create(other_workspace, PULSE, None)
    respond(pulse, "u-1", {"nps": 9})
    respond(second, "u-1", {"nps": 2})
    respond(elsewhere, "u-1", {"nps": 5})
    respond(pulse, "u-2", {"nps": 1})
    drain()

    found = erasure.matching(workspace.pk, "braze_id", "u-1")
    assert [s["count"] for s in erasure.by_survey(found)] == [1, 1]
    erased = erasure.erase(found, clear=True)

    assert erased == erasure.Erased(responses=2, surveys=2, clearing=2)
    drain()
    assert erasure.sweep() == 2
    left = sorted(Response.objects.values_list("survey_id", "identities__braze_id"))
    assert left == sorted([(pulse.pk, "u-2"), (elsewhere.pk, "u-1")])


def test_a_response_being_erased_is_left_out_of_the_api_list(
    pulse: Survey, braze_standin: StandinHarness, owner_token: str
) -> None:
    from django.test import Client

    erasing = respond(pulse, "u-1", {"nps": 9})
    respond(pulse, "u-2", {"nps": 3})
    drain()
    erasure.erase_one(erasing, clear=True)

    page = Client(HTTP_AUTHORIZATION=f"Bearer {owner_token}").get(
        f"/api/v1/surveys/{pulse.pk}/responses"
    )

    assert [item["identity"]["braze_id"] for item in page.json()["items"]] == ["u-2"]


def test_the_sweep_costs_one_query_when_nothing_is_being_erased(
    pulse: Survey, braze_standin: StandinHarness
) -> None:
    respond(pulse, "u-1", {"nps": 9})
    with CaptureQueriesContext(connection) as queries:
        assert erasure.sweep() == 0
    assert len(queries) == 1


def test_the_sweep_reads_the_partial_index(db: None) -> None:
    sql = str(
        Response.objects.filter(erase_requested_at__isnull=False).values_list("pk", flat=True).query
    )
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
        else:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {sql}")
        plan = " ".join(str(row) for row in cursor.fetchall())
    assert "response_erasing" in plan


# --- With the real worker process --------------------------------------------------------------


def _answer(base: str, slug: str, who: str) -> None:
    with httpx.Client(timeout=30) as client:
        params = {"user_braze_id": who, "nps": "9"}
        page = client.get(f"{base}/s/{slug}", params=params, follow_redirects=True)
        assert page.status_code == 200, page.text
        # The score the link carries counts once confirmed, as a person's Next does.
        state = form_state(page.text)
        page = client.post(
            base + state["action"],
            data={"r": state["r"], "q": "nps", "nav": "next", "a": "9", "from_link": "1"},
            follow_redirects=True,
        )
        assert page.status_code == 200, page.text
        state = form_state(page.text)
        posted = client.post(
            base + state["action"],
            data={"r": state["r"], "q": state["q"], "nav": "next", "a": ["Email", "SMS"]},
        )
        assert posted.status_code == 303, posted.text  # stored, then on to the thank-you page


@pytest.mark.any_db  # its processes use a SQLite database of their own
@pytest.mark.process
def test_the_real_worker_clears_braze_then_deletes_the_response(
    processes: Processes, braze_standin: StandinHarness
) -> None:
    slug = set_up_braze_survey(processes, braze_standin, PULSE)
    port = free_port()
    processes.start("web", "--port", str(port), "--workers", "1")
    processes.start("worker")
    base = f"http://127.0.0.1:{port}"
    wait_for(lambda: _up(base), 30, "sounding web")
    _answer(base, slug, "bz-gone")
    _answer(base, slug, "bz-kept")
    held = {NPS: 9, CHANNELS: ["Email", "SMS"]}
    wait_for(
        lambda: (
            {k: p["attributes"] for k, p in braze_standin.users().items()}
            == {"braze_id:bz-gone": held, "braze_id:bz-kept": held}
        ),
        15,
        "both profiles in the stand-in",
    )
    token = processes.run("token", "create", "--email", "owner@acme.test", "--name", "t").strip()
    ((survey_id, response),) = query(
        processes.data_dir,
        "SELECT survey_id, token FROM collect_response WHERE identity_value = 'bz-gone'",
    )
    before = len(braze_standin.requests())

    reply = httpx.delete(
        f"{base}/api/v1/surveys/{survey_id}/responses/{response}",
        params={"clear_braze": "true"},
        headers={"Authorization": f"Bearer {token}"},
    )

    assert reply.status_code == 200, reply.text
    assert reply.json() == {
        "responses": 1,
        "surveys": 1,
        "clearing_at_destinations": 1,
        "clearing_in_braze": 1,
        "clearing_blocked": None,
    }
    gone = "SELECT count(*) FROM collect_response WHERE identity_value = 'bz-gone'"
    wait_for(lambda: query(processes.data_dir, gone) == [(0,)], 15, "the sweep")
    nulls = attributes_sent(braze_standin, since=before)
    assert nulls == [
        {"braze_id": "bz-gone", "_update_existing_only": True, NPS: None, CHANNELS: None}
    ]
    assert braze_standin.users()["braze_id:bz-gone"]["attributes"] == {}
    assert braze_standin.users()["braze_id:bz-kept"]["attributes"] == held
    kept = "SELECT count(*) FROM collect_answer a JOIN collect_response r ON r.id = a.response_id"
    assert query(processes.data_dir, kept) == [(2,)]


def _up(base: str) -> bool:
    try:
        return httpx.get(base + "/login", timeout=2).status_code < 500
    except httpx.HTTPError:
        return False
