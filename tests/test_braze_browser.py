"""Three people answer in Chromium; their answers are on their Braze profiles within 2 s."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from sounding.accounts.models import User, Workspace
from sounding.delivery import worker
from sounding.destinations.braze.models import BrazeSettings
from sounding.surveys.models import Status, Survey
from tests.delivery_fixtures import integrate
from tests.standin import StandinHarness

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

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


@pytest.fixture
def delivery_worker() -> Iterator[None]:
    stop = threading.Event()
    thread = threading.Thread(target=worker.run_forever, args=(stop,), daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(10)


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
    live_server: Any,
    phone: Any,
    workspace: Workspace,
    owner: User,
    braze_standin: StandinHarness,
    settings: Any,
    delivery_worker: None,
) -> None:
    settings.BRAZE_ALLOWED_ENDPOINTS = [braze_standin.url]
    connection = BrazeSettings(workspace=workspace, rest_endpoint=braze_standin.url)
    connection.set_api_key(braze_standin.api_key)
    connection.save()
    survey = Survey.create(workspace, SURVEY, owner)
    survey.set_status(Status.LIVE)
    integrate(survey, attribute_names={"feedback": "Improvement idea"})

    finished = 0.0
    for braze_id, nps, channels, text in PEOPLE:
        url = f"{live_server.url}{survey.public_path()}?user_braze_id={braze_id}"
        answer_in_browser(phone, url, nps, channels, text)
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
    assert got == expected, f"after {time.monotonic() - finished:.2f} s the stand-in holds {got}"
    assert all(profile["update_existing_only"] is True for profile in users.values())
    for request in braze_standin.requests():
        for obj in request["body"].get("attributes", []):
            assert obj["_update_existing_only"] is True
