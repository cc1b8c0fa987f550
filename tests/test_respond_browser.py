"""Respondents in a real Chromium on a phone-sized screen, with and without JavaScript."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from sounding.answers.models import Response
from tests.browser_fixtures import screenshot, serious_violations
from tests.conftest import EVERY_TYPE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def api(token: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def publish_every_type(token: str) -> dict[str, Any]:
    client = api(token)
    created = client.post("/api/v1/surveys", json.dumps(EVERY_TYPE), "application/json")
    assert created.status_code == 201, created.content
    survey = created.json()
    assert client.post(f"/api/v1/surveys/{survey['id']}/publish").status_code == 200
    return survey


def confirm_link(page: Any, url: str) -> None:
    """Open a link that carries a score and confirm it with Next, as a person does."""
    page.goto(url)
    page.wait_for_selector('main[data-question="nps"] form[data-confirm-after]')
    page.get_by_role("button", name="Next").click()
    page.wait_for_selector('main[data-question="rating"]')


def answer_every_question(page: Any) -> None:
    """Answer the EVERY_TYPE survey as a person would, tapping and typing."""

    def on(key: str) -> None:
        # Once the screen takes input: a new one ignores it for a moment (see respond.js).
        page.wait_for_selector(f'main[data-question="{key}"]:not([data-wait])')

    on("nps")
    page.get_by_role("radio", name="9", exact=True).check()  # auto-advances
    on("rating")
    page.keyboard.press("4")  # a digit picks a score and moves on
    on("csat")
    page.get_by_role("radio", name="Very satisfied").check()
    on("effort")
    page.get_by_role("radio", name="6", exact=True).check()
    on("plan")
    page.get_by_role("radio", name="Pro").check()
    on("channels")
    page.get_by_role("checkbox", name="Push").check()
    page.get_by_role("checkbox", name="Email").check()
    page.get_by_role("button", name="Next").click()
    on("country")
    page.get_by_label("Where do you live?").select_option("Spain")
    page.get_by_role("button", name="Next").click()
    on("renew")
    page.get_by_role("radio", name="Yes").check()
    on("nickname")
    page.get_by_label("What should we call you?").fill("Sam")
    page.keyboard.press("Enter")
    on("feedback")
    page.get_by_label("Anything else?").fill("Great <b>service</b>")
    page.get_by_role("button", name="Next").click()
    on("contact")
    page.get_by_label("Your email for a reply").fill("sam@example.com")
    page.get_by_role("button", name="Next").click()
    on("seats")
    page.get_by_label("How many seats?").fill("12")
    page.get_by_role("button", name="Next").click()
    on("since")
    page.get_by_label("Customer since?").fill("2024-02-29")
    page.get_by_role("button", name="Submit").click()
    page.wait_for_selector('main[data-screen="done"]')


EXPECTED = {
    "nps": 9,
    "rating": 4,
    "csat": 5,
    "effort": 6,
    "plan": "Pro",
    "channels": ["Email", "Push"],
    "country": "Spain",
    "renew": True,
    "nickname": "Sam",
    "feedback": "Great <b>service</b>",
    "contact": "sam@example.com",
    "seats": 12,
    "since": "2024-02-29",
}


def test_a_phone_user_answers_every_type_and_the_api_lists_it(
    live_server: Any, phone: Any, owner_token: str
) -> None:
    survey = publish_every_type(owner_token)
    page = phone
    page.goto(f"{live_server.url}/s/{survey['slug']}?user_braze_id=abc")
    screenshot(page, "respondent-phone-nps")
    answer_every_question(page)
    screenshot(page, "respondent-phone-done")

    listed = api(owner_token).get(f"/api/v1/surveys/{survey['id']}/responses").json()
    assert len(listed["items"]) == 1
    item = listed["items"][0]
    assert item["identity"]["braze_id"] == "abc"
    assert item["answers"] == EXPECTED
    assert item["completed_at"] is not None

    # Reopening the link continues the same response: its thank-you screen, no new response.
    page.goto(f"{live_server.url}/s/{survey['slug']}?user_braze_id=abc")
    page.wait_for_selector('main[data-screen="done"]')
    assert Response.objects.count() == 1


def test_a_respondent_who_leaves_midway_continues_where_they_stopped(
    live_server: Any, phone: Any, owner_token: str
) -> None:
    survey = publish_every_type(owner_token)
    link = f"{live_server.url}/s/{survey['slug']}?user_braze_id=xyz"
    phone.goto(link)
    phone.get_by_role("radio", name="7", exact=True).check()
    phone.wait_for_selector('main[data-question="rating"]')
    phone.get_by_role("radio", name="2", exact=True).check()
    phone.wait_for_selector('main[data-question="csat"]')
    phone.goto(link)
    phone.wait_for_selector('main[data-question="csat"]')
    # The back button in the page brings back the stored answer, ready to change.
    phone.get_by_role("button", name="Back").click()
    phone.wait_for_selector('main[data-question="rating"]')
    assert phone.get_by_role("radio", name="2", exact=True).is_checked()
    assert Response.objects.get().answers.count() == 2


def test_the_browser_back_button_returns_to_the_previous_question(
    live_server: Any, phone: Any, owner_token: str
) -> None:
    survey = publish_every_type(owner_token)
    phone.goto(f"{live_server.url}/s/{survey['slug']}?user_braze_id=b1")
    phone.get_by_role("radio", name="3", exact=True).check()
    phone.wait_for_selector('main[data-question="rating"]')
    phone.go_back()
    phone.wait_for_selector('main[data-question="nps"]')


def test_errors_are_announced_and_say_what_to_do(
    live_server: Any, phone: Any, owner_token: str
) -> None:
    survey = publish_every_type(owner_token)
    base = f"{live_server.url}/s/{survey['slug']}?user_braze_id=e1"
    confirm_link(phone, base + "&nps=8")
    phone.goto(base + "&q=contact")
    phone.get_by_label("Your email for a reply").fill("not-an-email")
    phone.get_by_role("button", name="Next").click()
    alert = phone.get_by_role("alert")
    alert.wait_for()
    assert "Enter an email address like name@example.com." in alert.inner_text()
    assert phone.get_by_label("Your email for a reply").get_attribute("aria-invalid") == "true"


def test_the_same_screens_work_without_javascript(
    live_server: Any, phone_without_js: Any, owner_token: str
) -> None:
    survey = publish_every_type(owner_token)
    page = phone_without_js
    page.goto(f"{live_server.url}/s/{survey['slug']}?user_external_id=nojs")
    page.get_by_role("radio", name="10 – Extremely likely").check()
    page.get_by_role("button", name="Next").click()
    page.wait_for_selector('main[data-question="rating"]')
    page.get_by_role("button", name="Next").click()  # optional: skipped
    page.wait_for_selector('main[data-question="csat"]')
    page.get_by_role("button", name="Back").click()
    page.wait_for_selector('main[data-question="rating"]')
    response = Response.objects.get()
    assert response.identity["external_id"] == "nojs"
    assert dict(response.answers.values_list("question_key", "value")) == {"nps": 10}


def test_respondent_pages_have_no_serious_accessibility_violations(
    live_server: Any, phone: Any, owner_token: str
) -> None:
    survey = publish_every_type(owner_token)
    base = f"{live_server.url}/s/{survey['slug']}?user_braze_id=a11y"
    # The screen of a one-click link, its score selected and not sent yet.
    phone.goto(base + "&nps=8")
    phone.wait_for_selector('main[data-question="nps"] form[data-confirm-after]')
    problems = {"nps-offered": serious_violations(phone)}
    screenshot(phone, "respondent-one-click-offered")
    confirm_link(phone, base + "&nps=8")
    for key in [q["key"] for q in EVERY_TYPE["questions"]]:
        phone.goto(f"{base}&q={key}")
        phone.wait_for_selector(f'main[data-question="{key}"]')
        problems[key] = serious_violations(phone)
        screenshot(phone, f"respondent-question-{key}")
    phone.goto(f"{live_server.url}/s/no-such-survey")
    problems["not-found"] = serious_violations(phone)
    assert all(not found for found in problems.values()), problems


def test_the_nps_row_fits_a_320px_screen_with_44px_targets(
    live_server: Any, chromium: Any, owner_token: str
) -> None:
    survey = publish_every_type(owner_token)
    context = chromium.new_context(viewport={"width": 320, "height": 640})
    page = context.new_page()
    page.goto(f"{live_server.url}/s/{survey['slug']}")
    boxes = [page.locator(".scale .pick").nth(i).bounding_box() for i in range(11)]
    assert all(b["height"] >= 44 and b["width"] >= 44 for b in boxes)
    assert max(b["x"] + b["width"] for b in boxes) <= 320
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    screenshot(page, "respondent-320px-nps")
    context.close()


def test_on_a_wide_screen_each_scale_shows_all_its_points_in_one_row(
    live_server: Any, chromium: Any, owner_token: str
) -> None:
    survey = publish_every_type(owner_token)
    context = chromium.new_context(viewport={"width": 800, "height": 900})
    page = context.new_page()
    page.goto(f"{live_server.url}/s/{survey['slug']}")
    for question, points in (("nps", 11), ("rating", 5)):
        page.wait_for_selector(f'main[data-question="{question}"]')
        boxes = [page.locator(".scale .pick").nth(i).bounding_box() for i in range(points)]
        assert page.locator(".scale .pick").count() == points
        assert len({round(b["y"]) for b in boxes}) == 1, question
        assert len({round(b["width"]) for b in boxes}) == 1, question
        # A click, not check(): picking a point moves on to the next question, and check()
        # would look for its tick on a page that may already be the next one.
        page.get_by_role("radio", name="3", exact=True).click()
    context.close()


def test_the_other_box_appears_once_other_is_picked(
    live_server: Any, phone: Any, owner_token: str
) -> None:
    survey = publish_every_type(owner_token)
    base = f"{live_server.url}/s/{survey['slug']}?user_external_id=other-1"
    confirm_link(phone, base + "&nps=9")  # the one-click answer starts the response
    phone.goto(base + "&q=channels")
    box = phone.get_by_role("textbox", name="Other")
    assert box.is_hidden()
    phone.get_by_role("checkbox", name="Email").check()
    assert box.is_hidden()
    phone.get_by_role("checkbox", name="Other").check()
    assert box.is_visible()
    assert phone.evaluate("document.activeElement.name") == "other"
    phone.keyboard.type("Carrier pigeon")
    phone.get_by_role("button", name="Next").click()
    phone.wait_for_selector('main[data-question="country"]')
    # Back on the screen, a stored "Other" text keeps its box open.
    phone.get_by_role("button", name="Back").click()
    phone.wait_for_selector('main[data-question="channels"]')
    assert phone.get_by_role("textbox", name="Other").input_value() == "Carrier pigeon"
    assert phone.get_by_role("textbox", name="Other").is_visible()
    answers = dict(Response.objects.get().answers.values_list("question_key", "value"))
    assert answers["channels"] == ["Email", "Carrier pigeon"]
