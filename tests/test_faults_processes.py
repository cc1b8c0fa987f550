"""Processes dying at the worst moment: the delivery worker SIGKILLed while its request is in
Braze's hands, and the web process SIGKILLed while respondents are answering. Real
`sounding` processes, each test with its own SQLite database, real HTTP to the stand-in.

After each crash the four promises hold (see `check_promises` in tests/delivery_fixtures.py).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.delivery_fixtures import (
    Ledger,
    ambiguous_events,
    check_promises,
    duplicate_events,
    process_state,
    set_up_braze_survey,
    settled,
)
from tests.procs import (
    Processes,
    free_port,
    http_client,
    kill_group,
    query,
    wait_for,
    web_answers,
)
from tests.respondent import form_state
from tests.standin import StandinHarness

pytestmark = pytest.mark.process

NPS = "How likely are you to recommend us?"
CHANNELS = "Where do you hear from us?"
CHOICES = ["Email", "Push", "SMS"]
FAULTS = {
    "title": "Faults",
    "questions": [
        {"key": "nps", "type": "nps", "prompt": NPS},
        {"key": "channels", "type": "multiple_choice", "prompt": CHANNELS, "choices": CHOICES},
    ],
}
EVENTS_ON = (
    "from sounding.destinations.braze.models import SurveyBraze; "
    "SurveyBraze.objects.update(per_answer_events=True, completion_event=True)"
)
SETTLE_SECONDS = 90


@pytest.fixture(autouse=True)
def _sqlite_pass_only() -> None:
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        pytest.skip("its processes use SQLite whatever the suite runs on: once is enough")


def prepare(processes: Processes, standin: StandinHarness) -> str:
    """The survey, sending answers and completions as events too; returns its slug."""
    slug = set_up_braze_survey(processes, standin, FAULTS)
    processes.run("manage", "shell", "-c", EVENTS_ON)
    return slug


@dataclass
class Respondents:
    """Answer over HTTP the way a respondent's browser does, recording in a ledger what the
    web process acknowledged (a 200 after the answer was posted)."""

    base: str
    slug: str
    ledger: Ledger = field(default_factory=Ledger)
    # Set just before an answer is posted: a kill timed on it lands mid-answer.
    posting: threading.Event = field(default_factory=threading.Event)
    proc: Any = None  # the web process

    def score(self, client: httpx.Client, who: str, nps: int) -> None:
        """The one-click score from an email: the link shows it selected, and the person's Next
        posts it (opening the link alone stores nothing)."""
        url = f"{self.base}/s/{self.slug}"
        try:
            page = client.get(url, params={"user_braze_id": who, "nps": str(nps)})
        except httpx.HTTPError:
            return  # never posted: nothing to acknowledge
        if page.status_code != 200 or "action" not in form_state(page.text):
            return
        state = form_state(page.text)
        data = {"r": state["r"], "q": "nps", "nav": "next", "a": str(nps), "from_link": "1"}
        self._try(who, "nps", nps, lambda: client.post(self.base + state["action"], data=data))

    def channels(self, client: httpx.Client, who: str, picked: list[str]) -> None:
        """The page of the next question, then its form posted: the survey is complete."""
        try:
            page = client.get(f"{self.base}/s/{self.slug}", params={"user_braze_id": who})
        except httpx.HTTPError:
            return  # never posted: nothing to acknowledge
        if page.status_code != 200 or "action" not in form_state(page.text):
            return
        state = form_state(page.text)
        data = {"r": state["r"], "q": state["q"], "nav": "next", "a": picked}
        self._try(
            who, "channels", picked, lambda: client.post(self.base + state["action"], data=data)
        )

    def _try(self, who: str, key: str, value: Any, send: Any) -> None:
        self.posting.set()
        try:
            # Stored: the next screen, or (a link's score, a plain form) a redirect to it.
            ok = send().status_code in (200, 303)
        except httpx.HTTPError:
            ok = False
        self.ledger.gave(f"braze_id:{who}", key, value, acknowledged=ok)

    def answer(self, people: list[tuple[str, int, list[str]]]) -> None:
        with http_client(timeout=30) as client:
            for who, nps, picked in people:
                self.score(client, who, nps)
                self.channels(client, who, picked)


def people(count: int, prefix: str = "p") -> list[tuple[str, int, list[str]]]:
    return [(f"{prefix}-{i}", i % 11, [CHOICES[i % 3]]) for i in range(count)]


def start_web(processes: Processes, port: int) -> Any:
    proc = processes.start("web", "--port", str(port), "--workers", "2")
    wait_for(lambda: web_answers(f"http://127.0.0.1:{port}"), 30, "the web process")
    return proc


@pytest.fixture
def web(processes: Processes, braze_standin: StandinHarness) -> Iterator[Respondents]:
    slug = prepare(processes, braze_standin)
    port = free_port()
    yield Respondents(f"http://127.0.0.1:{port}", slug, proc=start_web(processes, port))


def test_a_worker_killed_while_braze_holds_its_request_loses_nothing_and_sends_nothing_twice(
    processes: Processes, braze_standin: StandinHarness, web: Respondents
) -> None:
    # The dead worker's heartbeat goes stale well before its request could have timed out:
    # what keeps its people waiting is the hold on a request in flight, under test here.
    processes.env["SOUNDING_WORKER_DEAD_AFTER_SECONDS"] = "5"
    crowd = people(20)
    web.answer(crowd)
    # The first request is held for 3 s: the kill lands while it is in flight.
    braze_standin.queue({"kind": "slow", "seconds": 3})
    worker = processes.start("worker")
    wait_for(lambda: braze_standin.stats()["in_flight"] == 1, 30, "the worker's first request")
    # Six people change their score while their old one is still in Braze's hands.
    web.answer(
        [(who, (nps + 5) % 11, [CHOICES[(i + 1) % 3]]) for i, (who, nps, _) in enumerate(crowd[:6])]
    )
    kill_group(worker)
    assert braze_standin.stats()["in_flight"] == 1  # still held: the worker died first
    processes.start("worker")

    state = settled(lambda: process_state(processes), braze_standin, SETTLE_SECONDS)
    check_promises(web.ledger, braze_standin, state)
    first = min(braze_standin.requests(), key=lambda r: r["seq"])
    assert first["fault"]["kind"] == "slow" and first["client_gone"] and first["applied"]
    # Nobody was sent again while the dead worker's request could still be in flight.
    assert braze_standin.violations() == []
    # Its events arrived (Braze applied it after the worker died) and were sent again by the
    # next worker, which could not know: the duplicates are the ones counted as ambiguous.
    assert 0 < duplicate_events(braze_standin) <= ambiguous_events(state)
    # The delivery log does not show that request as sending for ever.
    assert query(
        processes.data_dir, "SELECT count(*) FROM delivery_attempt WHERE outcome = 'sending'"
    ) == [(0,)]


def test_the_web_process_killed_mid_answer_loses_no_acknowledged_answer(
    processes: Processes, braze_standin: StandinHarness, web: Respondents
) -> None:
    processes.start("worker")
    crowd = people(60)
    # A second round of scores for the first twenty, while the first round is delivered.
    again = [
        (who, (nps + 5) % 11, [CHOICES[(i + 1) % 3]]) for i, (who, nps, _) in enumerate(crowd[:20])
    ]

    def answer_all() -> None:
        for batch in (crowd, again):
            for person in batch:
                wait_for(lambda: web_answers(web.base), 60, "the web process to be back")
                web.answer([person])

    client = threading.Thread(target=answer_all, daemon=True)
    client.start()
    wait_for(lambda: web.ledger.acknowledged() >= 30, 60, "thirty acknowledged answers")
    web.posting.clear()
    web.posting.wait(10)
    kill_group(web.proc)  # the web process and its workers, mid-answer
    start_web(processes, int(web.base.rsplit(":", 1)[1]))
    client.join(timeout=120)
    assert not client.is_alive()

    state = settled(lambda: process_state(processes), braze_standin, SETTLE_SECONDS)
    check_promises(web.ledger, braze_standin, state)
    assert web.ledger.refused() >= 1, "the kill did not cut off any answer"
    assert braze_standin.violations() == []
    print(f"\nacknowledged {web.ledger.acknowledged()}, cut off {web.ledger.refused()}")
