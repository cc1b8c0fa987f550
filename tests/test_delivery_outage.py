"""Braze failing every request for a while, then answering again: what waited goes at once, in
full requests, instead of each failed group waiting out a backoff of its own.

The worker's rounds run in the test's thread against the stand-in over real HTTP. Time is moved
by hand (`time_passes`): what is asserted is what the pushes and the lane say, never how long
anything took.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from django.db.models import F, Max, Min
from django.utils import timezone

from sounding.delivery import engine
from sounding.delivery.models import Lane, Push, PushState
from sounding.surveys.models import Survey
from tests.delivery_fixtures import WORKER, respond
from tests.standin import StandinHarness

NPS = "How likely are you to recommend us?"
PEOPLE = 300
WAVE = 20  # respondents answering between two worker rounds
LIMIT = 75  # objects per request under the workspace's default contract


def time_passes(delta: timedelta) -> None:
    """Every wait of the pending pushes and of the lane is `delta` shorter, as if that much
    time had passed."""
    Push.objects.filter(state=PushState.PENDING).update(
        next_attempt_at=F("next_attempt_at") - delta
    )
    Lane.objects.exclude(probe_at=None).update(probe_at=F("probe_at") - delta)


def time_passes_until_the_next_try() -> None:
    """As much time passes as the worker waits before it may send anything again: until the
    lane's next try, and until the first push is due."""
    now = timezone.now()
    waits = [
        Push.objects.filter(state=PushState.PENDING).aggregate(at=Min("next_attempt_at"))["at"],
        Lane.objects.aggregate(at=Max("probe_at"))["at"],
    ]
    until = max((at for at in waits if at is not None), default=now)
    if until > now:
        time_passes(until - now)


def rounds() -> list[int]:
    """Worker rounds until one finds nothing it may send now; the pushes each one handled."""
    handled = []
    while found := engine.deliver_due("braze", WORKER):
        handled.append(found)
    return handled


def waiting() -> int:
    """Pending pushes not due yet."""
    return Push.objects.filter(state=PushState.PENDING, next_attempt_at__gt=timezone.now()).count()


def outage(pulse: Survey, standin: StandinHarness) -> list[dict[str, Any]]:
    """PEOPLE respondents answer, WAVE at a time, while Braze fails every request; the worker
    runs between waves. Returns the failed requests."""
    standin.set_faults(error_rate=1.0, error_status=503)
    for wave in range(PEOPLE // WAVE):
        for i in range(WAVE):
            respond(pulse, f"u-{wave}-{i}", {"nps": i % 11})
        time_passes(timedelta(seconds=1))
        tried = rounds()
        # One request, then the lane holds: retries during an outage are probes, one at a time.
        assert len(tried) <= 1
        lane = Lane.objects.get()
        assert lane.probe_at is not None and lane.probe_at > timezone.now()
        # Whoever failed waits for the lane's next try, not for a backoff of their own.
        assert not Push.objects.filter(next_attempt_at__gt=lane.probe_at).exists()
    failed = standin.requests()
    assert failed and {r["status"] for r in failed} == {503}
    return failed


def test_after_an_outage_the_first_success_makes_everything_due_and_it_goes_in_full_requests(
    pulse: Survey, braze_standin: StandinHarness
) -> None:
    failed = outage(pulse, braze_standin)
    lane = Lane.objects.get()
    assert lane.failures == len(failed) and lane.failing_since is not None
    assert Push.objects.filter(state=PushState.PENDING).count() == PEOPLE
    braze_standin.set_faults(error_rate=0.0)
    time_passes_until_the_next_try()
    assert engine.deliver_due("braze", WORKER) == LIMIT  # the probe: a full request
    # The first success ends the outage, and nothing is left waiting for a backoff.
    lane.refresh_from_db()
    assert (lane.failures, lane.failing_since, lane.probe_at) == (0, None, None)
    assert waiting() == 0
    # So the rest goes now, without time passing, in full requests.
    assert rounds() == [LIMIT] * (PEOPLE // LIMIT - 1)
    assert not Push.objects.exclude(state=PushState.SYNCED).exists()
    accepted = braze_standin.requests(since=failed[-1]["seq"])
    assert [r["status"] for r in accepted] == [201] * math.ceil(PEOPLE / LIMIT)
    assert {r["objects"] for r in accepted} == {LIMIT}
    profiles = braze_standin.users()
    assert len(profiles) == PEOPLE
    assert all(
        profiles[f"braze_id:u-{wave}-{i}"]["attributes"] == {NPS: i % 11}
        for wave in range(PEOPLE // WAVE)
        for i in range(WAVE)
    )


def test_a_probe_that_fails_sends_the_lanes_other_people_next(
    pulse: Survey, braze_standin: StandinHarness
) -> None:
    failed = outage(pulse, braze_standin)
    last = {u for r in failed[-1:] for u in r["users"]}
    time_passes_until_the_next_try()
    assert engine.deliver_due("braze", WORKER) == LIMIT
    probe = braze_standin.requests(since=failed[-1]["seq"])[0]
    # The oldest waiting go first: not the people the previous, failed, try carried.
    assert probe["status"] == 503 and not last & set(probe["users"])


def test_per_object_backoff_and_rate_limits_are_kept_when_braze_answers_again(
    pulse: Survey, braze_standin: StandinHarness
) -> None:
    failed = outage(pulse, braze_standin)
    # The answer to the first try after the outage takes the request but counts one attribute
    # short, without saying which: those people go again after a backoff, as ever.
    braze_standin.set_faults(error_rate=0.0)
    braze_standin.queue({"kind": "short_counts", "attributes": 1, "events": 0})
    time_passes_until_the_next_try()
    assert engine.deliver_due("braze", WORKER) == LIMIT
    probe = set(braze_standin.requests(since=failed[-1]["seq"])[0]["users"])
    doubted = Push.objects.filter(state=PushState.PENDING, next_attempt_at__gt=timezone.now())
    assert set(doubted.values_list("user_key", flat=True)) == probe
    # Everyone else is due now; a rate limit still holds the lane until Braze's reset.
    braze_standin.queue({"kind": "rate_limited", "retry_after": 30})
    assert rounds() == [LIMIT]
    lane = Lane.objects.get()
    assert lane.blocked_until is not None and lane.blocked_until > timezone.now()
    assert lane.failures == 0 and lane.probe_at is None
