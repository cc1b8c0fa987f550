"""An event Braze acknowledged is never sent again: not after the survey's integration was
turned off and on, nor after "Resend all" or a backfill that follow a withdrawal. Counted on
the Braze stand-in, by `sounding_event_id`, in its requests and on its profiles."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from sounding.accounts.models import User
from sounding.delivery import backfill, engine
from sounding.surveys.models import Survey
from tests.conftest import logged_in
from tests.delivery_fixtures import braze_page, drain, respond
from tests.standin import StandinHarness

NPS = "How likely are you to recommend us?"
CHANNELS = "Where do you hear from us?"


@pytest.fixture(autouse=True)
def _quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "BACKOFF_BASE", 0.01)


def sent_events(standin: StandinHarness) -> Counter[str]:
    return Counter(
        event["properties"]["sounding_event_id"]
        for request in standin.requests()
        for event in request["body"].get("events", [])
    )


def profile_events(standin: StandinHarness, who: str = "braze_id:u-1") -> Counter[str]:
    return Counter(e["properties"]["sounding_event_id"] for e in standin.users()[who]["events"])


def last_attributes(standin: StandinHarness) -> dict[str, Any]:
    sent = [a for r in standin.requests() for a in r["body"].get("attributes", [])]
    return sent[-1]


def withdrawn_after_three_events(client: Client, survey: Survey, standin: StandinHarness) -> None:
    """u-1's answers and completion reach Braze as three events; one more answer is owed when
    the integration is turned off, so the worker withdraws the push."""
    braze_page(client, survey, per_answer_events=True, completion_event=True)
    respond(survey, "u-1", {"nps": 9, "channels": ["Email"]}, complete=True)
    drain()
    assert sorted(sent_events(standin).values()) == [1, 1, 1]
    respond(survey, "u-1", {"feedback": "More"})
    braze_page(client, survey, enabled=False)
    drain()  # the worker withdraws the push: nothing is owed while Braze is off


def test_turning_braze_off_and_on_sends_no_acknowledged_event_again(
    editor: User, pulse: Survey, braze_standin: StandinHarness
) -> None:
    client = logged_in(editor)
    withdrawn_after_three_events(client, pulse, braze_standin)

    braze_page(client, pulse, enabled=True)
    respond(pulse, "u-1", {"feedback": "Even more"})
    drain()

    assert set(sent_events(braze_standin).values()) == {1}
    assert set(profile_events(braze_standin).values()) == {1}
    assert len(sent_events(braze_standin)) == 4  # the three, and the new answer's
    assert braze_standin.users()["braze_id:u-1"]["attributes"]["Pulse feedback"] == "Even more"


def test_resend_all_after_a_withdrawal_writes_every_value_again_but_no_event(
    editor: User, pulse: Survey, braze_standin: StandinHarness
) -> None:
    client = logged_in(editor)
    withdrawn_after_three_events(client, pulse, braze_standin)
    braze_page(client, pulse, enabled=True)

    resent = client.post(reverse("survey-deliveries-resend", args=[pulse.pk]), follow=True)
    assert "1 response queued" in resent.content.decode()
    drain()

    assert set(sent_events(braze_standin).values()) == {1}
    assert set(profile_events(braze_standin).values()) == {1}
    # The answer given while Braze was going off was never sent: its event goes now, once.
    assert len(sent_events(braze_standin)) == 4
    assert last_attributes(braze_standin) == {
        "braze_id": "u-1",
        "_update_existing_only": True,
        NPS: 9,
        CHANNELS: ["Email"],
        "Pulse feedback": "More",
    }


def test_a_backfill_after_a_withdrawal_offers_the_response_and_sends_no_event_again(
    editor: User, pulse: Survey, braze_standin: StandinHarness
) -> None:
    client = logged_in(editor)
    withdrawn_after_three_events(client, pulse, braze_standin)
    assert backfill.owed_count(pulse, "braze") == 1

    saved = braze_page(client, pulse, enabled=True, backfill=True)
    assert "The 1 existing response is on its way too." in saved
    drain()

    assert set(sent_events(braze_standin).values()) == {1}
    assert set(profile_events(braze_standin).values()) == {1}
    assert len(sent_events(braze_standin)) == 4
    assert last_attributes(braze_standin)[NPS] == 9
    assert backfill.owed_count(pulse, "braze") == 0


def test_a_withdrawn_response_reads_as_not_sent_with_why_wherever_it_is_shown(
    editor: User, pulse: Survey, braze_standin: StandinHarness
) -> None:
    client = logged_in(editor)
    withdrawn_after_three_events(client, pulse, braze_standin)
    braze_page(client, pulse, enabled=True)
    held_back = "Held back while Braze was off for this survey"

    log = client.get(reverse("survey-deliveries", args=[pulse.pk]), {"state": "not_sent"})
    table = client.get(reverse("survey-responses", args=[pulse.pk]), {"sync": "not_sent"})
    synced = client.get(reverse("survey-export-json", args=[pulse.pk]), {"sync": "synced"})
    exported = client.get(reverse("survey-export-json", args=[pulse.pk]), {"sync": "not_sent"})

    assert held_back in log.content.decode()
    assert held_back in table.content.decode()
    assert json.loads(b"".join(synced.streaming_content)) == []
    (row,) = json.loads(b"".join(exported.streaming_content))
    assert row["braze_sync"] == "not_sent"
