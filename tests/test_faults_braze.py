"""Braze misbehaving for a long time, over real HTTP to the stand-in: storms of 5xx, of 429 in
both header dialects, of dropped connections, and answers slower than the client's timeout.

Respondents keep changing their answers while the storm lasts. After each storm the four
promises hold (see `check_promises` in tests/delivery_fixtures.py). The worker's rounds run
in the test's thread, with the backoff, its cap and the linger shortened: the same code paths
as in production, in seconds instead of minutes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from itertools import cycle
from typing import Any

import httpx
import pytest

from sounding import outbound
from sounding.delivery import claim, engine
from sounding.delivery.models import Push
from sounding.destinations.braze.models import SurveyBraze
from sounding.surveys.models import Survey
from tests.delivery_fixtures import (
    WORKER,
    Ledger,
    ambiguous_events,
    answer_and_log,
    check_promises,
    drain,
    duplicate_events,
    stored_state,
)
from tests.procs import wait_for
from tests.standin import StandinHarness

PEOPLE = 12
CHANNELS = [
    ["Email"],
    ["Push"],
    ["SMS"],
    ["Email", "Push"],
    ["Email", "SMS"],
    ["Push", "SMS"],
    ["Email", "Push", "SMS"],
]


@pytest.fixture(autouse=True)
def _quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    # Production backs off from 1 s to 5 minutes and lingers 0.2 s for a fuller request; a
    # storm of 50 would take hours. The same paths, in milliseconds.
    monkeypatch.setattr(engine, "BACKOFF_BASE", 0.01)
    monkeypatch.setattr(engine, "BACKOFF_CAP", 0.05)
    monkeypatch.setattr(claim, "LINGER", timedelta(milliseconds=10))


@pytest.fixture
def survey(pulse: Survey) -> Survey:
    """Product pulse with both kinds of events on: each answer and the completion."""
    SurveyBraze.objects.filter(survey=pulse).update(per_answer_events=True, completion_event=True)
    return pulse


class Crowd:
    """Twelve respondents of one survey; step n gives each a value not given before."""

    def __init__(self, survey: Survey, ledger: Ledger) -> None:
        self.survey, self.ledger = survey, ledger
        self.steps = [0] * PEOPLE

    def answer(self, people: range | list[int], complete: bool = False) -> None:
        for i in people:
            step = self.steps[i]
            self.steps[i] += 1
            answers = {"nps": (i + step) % 11, "channels": CHANNELS[(i + step) % len(CHANNELS)]}
            answer_and_log(self.ledger, self.survey, f"u-{i}", answers, complete=complete)


def deliver_through(
    standin: StandinHarness, changes: dict[int, Callable[[], None]], timeout: float = 30
) -> None:
    """Worker rounds until everything is delivered; once the stand-in has received n requests,
    run changes[n] (respondents answering again in the middle of the storm)."""
    deadline = time.monotonic() + timeout
    waiting = dict(sorted(changes.items()))
    while waiting:
        assert time.monotonic() < deadline, f"the storm never reached {min(waiting)} requests"
        if not engine.deliver_due("braze", WORKER):
            time.sleep(0.005)
        received = len(standin.requests())
        for threshold in [n for n in waiting if n <= received]:
            waiting.pop(threshold)()
    drain(timeout=max(deadline - time.monotonic(), 1))


def promises_hold(ledger: Ledger, standin: StandinHarness) -> dict[str, Any]:
    state = stored_state()
    check_promises(ledger, standin, state)
    return state


def received(standin: StandinHarness) -> list[dict[str, Any]]:
    """The stand-in's log in the order requests arrived (it lists them as they finish)."""
    return sorted(standin.requests(), key=lambda r: r["seq"])


def statuses(standin: StandinHarness) -> list[int | None]:
    return [r["status"] for r in received(standin)]


def test_fifty_5xx_in_a_row_then_recovery_lose_nothing_and_count_every_duplicate_event(
    survey: Survey, braze_standin: StandinHarness
) -> None:
    storm: list[dict[str, Any]] = [
        {"kind": "status", "status": status}
        for status, _ in zip(cycle([503, 500, 502]), range(45), strict=False)
    ]
    # Five of the fifty were applied by "Braze" before it answered 500: their events arrive
    # again with the retry, which is the one duplicate the pipeline allows (and counts).
    for position in (4, 14, 24, 34, 44):
        storm.insert(position, {"kind": "applied_then_500"})
    braze_standin.queue(*storm)
    ledger = Ledger()
    crowd = Crowd(survey, ledger)
    crowd.answer(range(PEOPLE))
    deliver_through(
        braze_standin,
        {
            10: lambda: crowd.answer(range(0, PEOPLE, 2)),
            25: lambda: crowd.answer(range(1, PEOPLE, 3), complete=True),
            40: lambda: crowd.answer(range(0, PEOPLE, 4), complete=True),
        },
    )
    seen = statuses(braze_standin)
    assert all(status and status >= 500 for status in seen[:50]) and seen[50] == 201, seen
    state = promises_hold(ledger, braze_standin)
    # The storm did produce duplicates, and each one is accounted for.
    assert 0 < duplicate_events(braze_standin) <= ambiguous_events(state)


def _wall(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def test_a_storm_of_429s_with_an_epoch_reset_is_waited_out_without_a_duplicate(
    survey: Survey, braze_standin: StandinHarness
) -> None:
    braze_standin.set_rate_limit(3000, 3, "epoch")
    # Each 429 says "wait until this second" (X-RateLimit-Reset as a UTC epoch).
    braze_standin.queue(*[{"kind": "rate_limited", "retry_after": 0.3}] * 6)
    ledger = Ledger()
    crowd = Crowd(survey, ledger)
    crowd.answer(range(PEOPLE), complete=True)
    deliver_through(
        braze_standin,
        {2: lambda: crowd.answer(range(0, PEOPLE, 2)), 4: lambda: crowd.answer(range(3))},
    )
    requests = received(braze_standin)
    assert [r["status"] for r in requests[:6]] == [429] * 6
    for limited, following in zip(requests, requests[1:], strict=False):
        if limited["status"] == 429:
            reset = int(limited["response_headers"]["X-RateLimit-Reset"])
            assert reset > 10**9  # an epoch, not seconds
            # Nothing went out before the announced second (the clocks are the same machine's).
            assert _wall(following["received_at_wall"]) >= reset - 0.01
    state = promises_hold(ledger, braze_standin)
    # A 429 applies nothing: its events are sent again, never counted as ambiguous...
    assert ambiguous_events(state) == 0
    # ...nor as failed tries: the backoff does not grow while Braze paces us.
    assert set(Push.objects.values_list("attempts", flat=True)) == {0}
    assert duplicate_events(braze_standin) == 0


def test_a_storm_of_429s_in_seconds_with_retry_after_is_waited_out_without_a_duplicate(
    survey: Survey, braze_standin: StandinHarness
) -> None:
    # The other dialect: X-RateLimit-Reset in seconds from now, plus X-Ratelimit-Retry-After.
    braze_standin.set_rate_limit(3000, 3, "seconds")
    storm = [{"kind": "rate_limited", "retry_after": 0}] * 30
    storm[15] = {"kind": "rate_limited", "retry_after": 1}
    braze_standin.queue(*storm)
    ledger = Ledger()
    crowd = Crowd(survey, ledger)
    crowd.answer(range(PEOPLE), complete=True)
    deliver_through(
        braze_standin,
        {10: lambda: crowd.answer(range(0, PEOPLE, 2)), 20: lambda: crowd.answer(range(5))},
    )
    requests = received(braze_standin)
    assert [r["status"] for r in requests[:30]] == [429] * 30
    told = requests[15]
    assert told["response_headers"]["X-Ratelimit-Retry-After"] == "1"
    assert told["response_headers"]["X-RateLimit-Reset"] == "1"
    # The one 429 that asked for a second got it; the others were retried at once.
    assert requests[16]["received_at"] - told["finished_at"] >= 0.95
    state = promises_hold(ledger, braze_standin)
    assert ambiguous_events(state) == 0
    assert duplicate_events(braze_standin) == 0


def test_twenty_dropped_connections_in_a_row_lose_nothing(
    survey: Survey, braze_standin: StandinHarness
) -> None:
    braze_standin.queue(*[{"kind": "drop"}] * 20)
    ledger = Ledger()
    crowd = Crowd(survey, ledger)
    crowd.answer(range(PEOPLE))
    deliver_through(
        braze_standin,
        {
            5: lambda: crowd.answer(range(0, PEOPLE, 2), complete=True),
            15: lambda: crowd.answer(range(1, PEOPLE, 2), complete=True),
        },
    )
    assert statuses(braze_standin)[:20] == [None] * 20  # None: dropped without an answer
    state = promises_hold(ledger, braze_standin)
    # A dropped connection may have been applied: its events were counted as ambiguous.
    assert ambiguous_events(state) > 0


def test_answers_slower_than_the_timeout_are_retried_and_their_late_events_counted(
    survey: Survey, braze_standin: StandinHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The timeout is outbound.TIMEOUT (10 s, connect 5 s; no setting changes it): shortened
    # here. The stand-in still applies each slow request when its delay ends, after the
    # client gave up: the late copy of its events is the duplicate the pipeline counts.
    monkeypatch.setattr(outbound, "TIMEOUT", httpx.Timeout(0.25, connect=1.0))
    # As in production (a 10 s timeout, then at least half a second of backoff), the retry
    # leaves time for an abandoned request to finish: here 0.5-1 s after the timeout.
    monkeypatch.setattr(engine, "BACKOFF_BASE", 1.0)
    monkeypatch.setattr(engine, "BACKOFF_CAP", 1.0)
    braze_standin.queue(*[{"kind": "slow", "seconds": 0.5}] * 3)
    ledger = Ledger()
    crowd = Crowd(survey, ledger)
    crowd.answer(range(PEOPLE), complete=True)

    def change(people: range) -> Callable[[], None]:
        def answer_again() -> None:
            # Once the abandoned request is over: a new answer is due at once, and a request
            # applied after its client gave up is beyond any client's ordering (see the docs).
            wait_for(lambda: braze_standin.stats()["in_flight"] == 0, 5, "the slow request")
            crowd.answer(people)

        return answer_again

    deliver_through(braze_standin, {1: change(range(0, PEOPLE, 2)), 2: change(range(3))})
    requests = received(braze_standin)
    assert [(r["fault"] or {}).get("kind") for r in requests[:3]] == ["slow"] * 3
    assert all(r["client_gone"] for r in requests[:3])  # the client had stopped waiting
    state = promises_hold(ledger, braze_standin)
    assert duplicate_events(braze_standin) > 0
    assert braze_standin.violations() == []
    assert ambiguous_events(state) > 0
