"""respond.js answers through the JSON endpoint and shows the screens its first reply brought:
one small POST an answer, no page fetched until the thank-you page, and Back shows what is
stored."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from sounding.accounts.models import User, Workspace
from sounding.answers.models import Answer, Response
from sounding.destinations.braze.models import BrazeSettings
from sounding.surveys.models import Status, Survey
from tests.delivery_fixtures import drain, integrate
from tests.standin import StandinHarness

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SURVEY: dict[str, Any] = {
    "title": "Checkout pulse",
    "questions": [
        {"key": "nps", "type": "nps", "prompt": "How likely are you to recommend us?"},
        {
            "key": "why_low",
            "type": "long_text",
            "prompt": "What went wrong?",
            "show_if": {"question": "nps", "op": "less_than", "value": 7},
        },
        {
            "key": "plan",
            "type": "single_choice",
            "prompt": "Which plan are you on?",
            "choices": ["Free", "Pro"],
        },
        {
            "key": "channels",
            "type": "multiple_choice",
            "prompt": "Where do you hear from us?",
            "choices": ["Email", "Push", "SMS"],
        },
        {"key": "seats", "type": "number", "prompt": "How many seats?", "min": 1, "max": 1000},
    ],
}


def on(page: Any, key: str) -> None:
    # Once the screen takes input: a new one ignores it for a moment (see respond.js).
    page.wait_for_selector(f'main[data-question="{key}"]:not([data-wait])')


def test_answers_go_as_json_and_the_held_screens_show_the_stored_values(
    live_server: Any,
    phone: Any,
    workspace: Workspace,
    owner: User,
    connected: BrazeSettings,
    braze_standin: StandinHarness,
) -> None:
    survey = Survey.create(workspace, SURVEY, owner)
    survey.set_status(Status.LIVE)
    integrate(survey)
    page_path = survey.public_path()
    sent: list[tuple[str, str]] = []
    phone.on("request", lambda r: sent.append((r.method, urlsplit(r.url).path)))

    phone.goto(f"{live_server.url}{page_path}?user_braze_id=bz-js")
    on(phone, "nps")
    phone.get_by_role("radio", name="9", exact=True).check()  # auto-advances past why_low
    on(phone, "plan")
    assert "Question 2 of 4" in phone.locator(".count").inner_text()
    phone.get_by_role("radio", name="Pro").check()
    on(phone, "channels")
    phone.get_by_role("checkbox", name="Email").check()
    phone.get_by_role("checkbox", name="SMS").check()
    phone.get_by_role("button", name="Next").click()
    on(phone, "seats")
    assert phone.get_by_role("button", name="Submit").is_visible()
    assert phone.url.endswith("q=seats")

    # Back, and Back again: each screen shows what is stored.
    phone.get_by_role("button", name="Back").click()
    on(phone, "channels")
    assert phone.get_by_role("checkbox", name="Email").is_checked()
    assert phone.get_by_role("checkbox", name="SMS").is_checked()
    assert not phone.get_by_role("checkbox", name="Push").is_checked()
    phone.get_by_role("button", name="Back").click()
    on(phone, "plan")
    assert phone.get_by_role("radio", name="Pro").is_checked()
    assert "Question 2 of 4" in phone.locator(".count").inner_text()  # why_low is skipped
    phone.get_by_role("button", name="Next").click()
    on(phone, "channels")
    assert phone.get_by_role("checkbox", name="SMS").is_checked()
    phone.get_by_role("checkbox", name="SMS").uncheck()
    phone.get_by_role("button", name="Next").click()
    on(phone, "seats")
    assert phone.get_by_label("How many seats?").input_value() == ""
    phone.get_by_label("How many seats?").fill("12")
    phone.get_by_role("button", name="Submit").click()
    phone.wait_for_selector('main[data-screen="done"]')

    # The page once, and every answer, Back included, as one JSON post: no page fetched for a
    # question, nor for the thank-you page, which came with the last reply.
    pages = [method for method, path in sent if path == page_path]
    assert pages == ["GET"], sent
    assert [m for m, p in sent if p == page_path + "/answers"] == ["POST"] * 8
    assert len([p for _, p in sent if p.startswith("/s/")]) == 9, sent
    assert phone.url.endswith("q=_done")
    assert phone.title() == "Checkout pulse"

    response = Response.objects.get(survey=survey)
    assert response.completed_at is not None and response.identity["braze_id"] == "bz-js"
    stored = dict(Answer.objects.filter(response=response).values_list("question_key", "value"))
    assert stored == {"nps": 9, "plan": "Pro", "channels": ["Email"], "seats": 12}
    drain()
    attributes = braze_standin.users()["braze_id:bz-js"]["attributes"]
    assert attributes == {
        "How likely are you to recommend us?": 9,
        "Which plan are you on?": "Pro",
        "Where do you hear from us?": ["Email"],
        "How many seats?": 12,
    }


def test_a_refused_answer_shows_the_servers_message_and_stores_nothing(
    live_server: Any, phone: Any, workspace: Workspace, owner: User
) -> None:
    survey = Survey.create(workspace, SURVEY, owner)
    survey.set_status(Status.LIVE)
    phone.goto(f"{live_server.url}{survey.public_path()}?user_braze_id=bz-err")
    on(phone, "nps")
    phone.get_by_role("radio", name="8", exact=True).check()
    on(phone, "plan")
    phone.get_by_role("radio", name="Free").check()
    on(phone, "channels")
    phone.get_by_role("button", name="Next").click()
    on(phone, "seats")
    phone.get_by_label("How many seats?").fill("5000")
    phone.get_by_role("button", name="Submit").click()
    alert = phone.get_by_role("alert")
    alert.wait_for()
    assert "1000" in alert.inner_text()
    field = phone.get_by_label("How many seats?")
    assert field.get_attribute("aria-invalid") == "true"
    assert field.evaluate("el => el === document.activeElement")
    assert not Answer.objects.filter(question_key="seats").exists()
