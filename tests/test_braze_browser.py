"""Three people answer in Chromium; their answers are on their Braze profiles within 2 s."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.delivery_fixtures import set_up_braze_survey
from tests.procs import Processes, free_port, wait_for
from tests.standin import StandinHarness

pytestmark = [pytest.mark.browser, pytest.mark.process]

SURVEY = {
    "title": "Onboarding check-in",
    "questions": [
        {"key": "nps", "type": "nps", "prompt": "How likely are you to recommend us?"},
        {
            "key": "channels",
            "type": "multiple_choice",
            "prompt": "Where do you hear from us?",
            "choices": ["Email", "Push", "SMS"],
        },
        {"key": "feedback", "type": "long_text", "prompt": "What should we improve?"},
    ],
}
PEOPLE = [
    ("bz-ana", 9, ["Email"], "Faster exports"),
    ("bz-ben", 3, ["Push", "SMS"], "The app crashes on login"),
    ("bz-cy", 8, ["SMS"], "Nothing, it is great"),
]


def answer_in_browser(page: Any, url: str, nps: int, channels: list[str], text: str) -> None:
    page.goto(url)
    page.wait_for_selector('main[data-question="nps"]')
    page.get_by_role("radio", name=str(nps), exact=True).check()
    page.wait_for_selector('main[data-question="channels"]')
    for channel in channels:
        page.get_by_role("checkbox", name=channel).check()
    page.get_by_role("button", name="Next").click()
    page.wait_for_selector('main[data-question="feedback"]')
    page.get_by_label("What should we improve?").fill(text)
    page.get_by_role("button", name="Submit").click()
    page.wait_for_selector('[data-screen="done"]')


def test_three_respondents_reach_their_profiles_within_two_seconds(
    phone: Any, processes: Processes, braze_standin: StandinHarness
) -> None:
    # The real thing: `sounding serve` (web and delivery worker) on its own SQLite database.
    slug = set_up_braze_survey(processes, braze_standin, SURVEY, {"feedback": "Improvement idea"})
    port = free_port()
    processes.start("serve", "--port", str(port), "--workers", "2")
    base = f"http://127.0.0.1:{port}"
    wait_for(lambda: _up(base), 30, "sounding serve")

    finished = 0.0
    for braze_id, nps, channels, text in PEOPLE:
        answer_in_browser(phone, f"{base}/s/{slug}?user_braze_id={braze_id}", nps, channels, text)
        finished = time.monotonic()

    expected = {
        f"braze_id:{braze_id}": {
            "How likely are you to recommend us?": nps,
            "Where do you hear from us?": channels,
            "Improvement idea": text,
        }
        for braze_id, nps, channels, text in PEOPLE
    }
    while True:
        users = braze_standin.users()
        got = {key: profile["attributes"] for key, profile in users.items()}
        if got == expected or time.monotonic() - finished > 2.0:
            break
        time.sleep(0.05)
    took = time.monotonic() - finished
    assert got == expected, f"after {took:.2f} s the stand-in holds {got}"
    print(f"\nlast answer to complete profiles: {took:.2f} s")
    assert all(profile["update_existing_only"] is True for profile in users.values())
    for request in braze_standin.requests():
        for obj in request["body"].get("attributes", []):
            assert obj["_update_existing_only"] is True


def _up(base: str) -> bool:
    try:
        return httpx.get(base + "/login", timeout=2).status_code < 500
    except httpx.HTTPError:
        return False
