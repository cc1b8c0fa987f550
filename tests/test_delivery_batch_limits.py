"""Requests as large as the workspace's Braze contract allows, and never larger: 75 objects
together, 50 together, or 75 in each array, with the stand-in enforcing the same rule."""

from __future__ import annotations

import math
from typing import Any

import pytest

from sounding.destinations.braze.destination import REQUEST_LIMITS
from sounding.destinations.braze.models import BatchLimit, BrazeSettings, SurveyBraze
from sounding.destinations.braze.standin_rules import BATCH_LIMITS
from sounding.surveys.models import Survey
from tests.delivery_fixtures import drain, respond
from tests.standin import StandinHarness

NPS = "How likely are you to recommend us?"
PEOPLE = 200  # each answers one question: an attributes object and an event, two objects


def sizes(request: dict[str, Any]) -> tuple[int, int]:
    body = request["body"]
    return len(body.get("attributes", [])), len(body.get("events", []))


def test_the_stand_in_knows_every_contract_the_settings_offer() -> None:
    assert set(BATCH_LIMITS) == set(BatchLimit.values) == set(REQUEST_LIMITS)
    for name, (total, per_array) in BATCH_LIMITS.items():
        limit = REQUEST_LIMITS[BatchLimit(name)]
        assert (limit.total, limit.per_array) == (total, per_array)


@pytest.mark.parametrize(
    ("batch_limit", "expected"),
    [
        # 37 people of two objects make 74; the one left over starts the next claim's request.
        ("75_combined", [(37, 37)] * 5 + [(15, 15)]),
        ("50_combined", [(25, 25)] * 8),
        ("75_per_array", [(75, 75), (75, 75), (50, 50)]),
    ],
)
def test_requests_fill_up_to_the_workspaces_contract_and_braze_refuses_none(
    batch_limit: str,
    expected: list[tuple[int, int]],
    pulse: Survey,
    connected: BrazeSettings,
    braze_standin: StandinHarness,
) -> None:
    braze_standin.set_batch_limit(batch_limit)
    BrazeSettings.objects.filter(pk=connected.pk).update(batch_limit=batch_limit)
    SurveyBraze.objects.filter(survey=pulse).update(per_answer_events=True)
    for i in range(PEOPLE):
        respond(pulse, f"u-{i}", {"nps": i % 11})
    drain()
    received = braze_standin.requests()
    assert [r["status"] for r in received] == [201] * len(received)
    assert not any("errors" in r["response"] for r in received)
    assert [sizes(r) for r in received] == expected
    total, per_array = BATCH_LIMITS[batch_limit]
    fewest = math.ceil(2 * PEOPLE / total) if total else math.ceil(PEOPLE / per_array)
    assert len(received) <= fewest + 1
    profiles = braze_standin.users()
    assert len(profiles) == PEOPLE
    assert all(len(p["events"]) == 1 and NPS in p["attributes"] for p in profiles.values())


def test_a_request_over_the_contracts_limit_is_what_braze_refuses(
    pulse: Survey, braze_standin: StandinHarness
) -> None:
    # The workspace still says 75 together while its account takes 50: Braze says no, and
    # the request is split until each part fits, as for any 400 that names no object.
    braze_standin.set_batch_limit("50_combined")
    for i in range(60):
        respond(pulse, f"u-{i}", {"nps": i % 11})
    drain()
    first, *rest = braze_standin.requests()
    assert (first["status"], first["response"]["message"]) == (400, "Max Input Length Exceeded")
    assert [r["status"] for r in rest] == [201] * len(rest)
    assert len(braze_standin.users()) == 60
