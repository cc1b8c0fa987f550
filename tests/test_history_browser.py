"""The browser's own Back, Forward and reload show what is stored now, with and without
JavaScript, and a quick second tap never answers a screen the person has not read."""

from __future__ import annotations

import time
from typing import Any

import pytest

from sounding.accounts.models import Workspace
from sounding.answers.models import Answer
from sounding.destinations.braze.models import BrazeSettings
from sounding.surveys.models import Status, Survey
from tests.delivery_fixtures import drain, integrate
from tests.standin import StandinHarness

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WHY_LOW = "What went wrong?"
FOLLOW_UP: dict[str, Any] = {
    "title": "Follow-up",
    "questions": [
        {"key": "nps", "type": "nps", "prompt": "How likely?", "required": True},
        {
            "key": "why_low",
            "type": "long_text",
            "prompt": WHY_LOW,
            "show_if": {"question": "nps", "op": "less_than", "value": 7},
        },
        {
            "key": "plan",
            "type": "single_choice",
            "prompt": "Which plan?",
            "choices": ["Free", "Pro"],
        },
        {"key": "renew", "type": "yes_no", "prompt": "Will you renew?"},
    ],
}


@pytest.fixture
def follow_up(workspace: Workspace, connected: BrazeSettings) -> Survey:
    survey = Survey.create(workspace, FOLLOW_UP)
    survey.set_status(Status.LIVE)
    integrate(survey, attribute_names={"why_low": WHY_LOW})
    return survey


def link(live_server: Any, survey: Survey, who: str) -> str:
    return f"{live_server.url}{survey.public_path()}?user_braze_id={who}"


def on(page: Any, key: str) -> Any:
    """Wait for question `key` and for it to take input (a new screen ignores it at first)."""
    return page.wait_for_selector(f'main[data-question="{key}"]:not([data-wait])')


def next_(page: Any) -> None:
    page.get_by_role("button", name="Next").click()


def stored(key: str) -> Any:
    found = Answer.objects.filter(question_key=key).values_list("value", flat=True)
    return found[0] if found else None


def sent(standin: StandinHarness, name: str) -> list[Any]:
    """Every value of attribute `name` Braze received, oldest first."""
    return [
        obj[name]
        for request in standin.requests()
        for obj in request["body"].get("attributes", [])
        if name in obj
    ]


def score_2_then_version_a(page: Any, url: str, js: bool) -> None:
    page.goto(url)
    on(page, "nps")
    page.get_by_role("radio", name="2", exact=True).check()
    if not js:
        next_(page)  # with JavaScript, the tap moves on by itself
    on(page, "why_low")
    page.get_by_label(WHY_LOW).fill("Version A")
    next_(page)
    on(page, "plan")


def give_version_a_then_b_with_the_in_page_back(page: Any, url: str, js: bool) -> None:
    score_2_then_version_a(page, url, js)
    page.get_by_role("button", name="Back").click()
    on(page, "why_low")
    assert page.get_by_label(WHY_LOW).input_value() == "Version A"
    page.get_by_label(WHY_LOW).fill("Version B")
    next_(page)
    on(page, "plan")


@pytest.mark.parametrize("browser", ["phone", "phone_without_js"])
def test_the_browser_back_after_the_in_page_back_shows_and_keeps_the_latest_answer(
    live_server: Any,
    follow_up: Survey,
    braze_standin: StandinHarness,
    browser: str,
    request: pytest.FixtureRequest,
) -> None:
    page = request.getfixturevalue(browser)
    url = link(live_server, follow_up, "h1")
    give_version_a_then_b_with_the_in_page_back(page, url, js=browser == "phone")
    page.go_back()
    on(page, "why_low")
    assert page.get_by_label(WHY_LOW).input_value() == "Version B"
    next_(page)
    on(page, "plan")
    assert stored("why_low") == "Version B"
    drain()
    assert braze_standin.users()["braze_id:h1"]["attributes"][WHY_LOW] == "Version B"
    assert sent(braze_standin, WHY_LOW)[-1] == "Version B"


@pytest.mark.parametrize("browser", ["phone", "phone_without_js"])
def test_the_browser_back_shows_the_stored_text_and_next_keeps_it(
    live_server: Any,
    follow_up: Survey,
    braze_standin: StandinHarness,
    browser: str,
    request: pytest.FixtureRequest,
) -> None:
    page = request.getfixturevalue(browser)
    score_2_then_version_a(page, link(live_server, follow_up, "h2"), js=browser == "phone")
    drain()
    page.go_back()
    on(page, "why_low")
    assert page.get_by_label(WHY_LOW).input_value() == "Version A"
    next_(page)
    on(page, "plan")
    assert stored("why_low") == "Version A"
    drain()
    assert braze_standin.users()["braze_id:h2"]["attributes"][WHY_LOW] == "Version A"
    assert None not in sent(braze_standin, WHY_LOW)


def pick(page: Any, choice: str, js: bool) -> None:
    page.get_by_role("radio", name=choice, exact=True).check()
    if not js:
        next_(page)  # with JavaScript, the tap moves on by itself


@pytest.mark.parametrize("browser", ["phone", "phone_without_js"])
def test_forward_and_reload_show_the_answers_stored_since(
    live_server: Any, follow_up: Survey, browser: str, request: pytest.FixtureRequest
) -> None:
    page, js = request.getfixturevalue(browser), browser == "phone"
    url = link(live_server, follow_up, "h3")
    score_2_then_version_a(page, url, js)
    pick(page, "Free", js)
    on(page, "renew")
    page.go_back()
    on(page, "plan")
    page.go_back()
    on(page, "why_low")
    # Meanwhile a second tab of the same browser changes the plan.
    other = page.context.new_page()
    other.goto(url + "&q=plan")
    on(other, "plan")
    pick(other, "Pro", js)
    on(other, "renew")
    other.close()
    assert stored("plan") == "Pro"

    page.go_forward()
    on(page, "plan")
    assert page.get_by_role("radio", name="Pro").is_checked()
    assert not page.get_by_role("radio", name="Free").is_checked()
    page.go_back()
    on(page, "why_low")
    # Text typed and never sent is not what a reload, or Back and Forward, bring back.
    page.get_by_label(WHY_LOW).fill("A draft never sent")
    page.reload()
    on(page, "why_low")
    assert page.get_by_label(WHY_LOW).input_value() == "Version A"
    page.get_by_label(WHY_LOW).fill("Another draft")
    page.go_forward()
    on(page, "plan")
    page.go_back()
    on(page, "why_low")
    assert page.get_by_label(WHY_LOW).input_value() == "Version A"
    assert stored("why_low") == "Version A"


def test_without_javascript_back_never_applies_a_links_answer_again(
    live_server: Any, follow_up: Survey, phone_without_js: Any
) -> None:
    page = phone_without_js
    page.goto(link(live_server, follow_up, "h6") + "&nps=2")
    on(page, "nps")  # the link's 2, selected, not stored until the person confirms it
    assert stored("nps") is None
    next_(page)
    on(page, "why_low")
    page.get_by_role("button", name="Back").click()
    on(page, "nps")
    pick(page, "9", js=False)
    on(page, "plan")
    page.go_back()
    on(page, "nps")
    assert page.get_by_role("radio", name="9", exact=True).is_checked()
    page.go_back()  # "What went wrong?": a 9 no longer asks it, so where the person stands
    on(page, "plan")
    page.go_back()  # the email's link: its 2 is offered again, and not stored
    on(page, "nps")
    page.reload()
    on(page, "nps")
    assert stored("nps") == 9 and stored("why_low") is None


def test_a_second_tap_600_ms_after_an_auto_advance_is_not_an_answer(
    live_server: Any, follow_up: Survey, phone: Any
) -> None:
    page = phone
    # Where "Pro" is on the plan screen, measured on another respondent's screen.
    page.goto(link(live_server, follow_up, "measure") + "&nps=9")
    on(page, "nps")
    next_(page)
    on(page, "plan")
    box = page.get_by_text("Pro", exact=True).bounding_box()
    pro = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)

    page.goto(link(live_server, follow_up, "h4"))
    on(page, "nps")
    nine = page.locator(".scale .pick").nth(9).bounding_box()
    page.touchscreen.tap(nine["x"] + nine["width"] / 2, nine["y"] + nine["height"] / 2)
    tapped = time.monotonic()
    page.wait_for_selector('main[data-question="plan"]')
    page.wait_for_timeout(max(0, 600 - (time.monotonic() - tapped) * 1000))
    page.touchscreen.tap(*pro)
    page.wait_for_timeout(800)  # longer than any auto-advance and its request
    assert page.locator('main[data-question="plan"]').count() == 1
    assert page.locator("input:checked").count() == 0
    assert stored("plan") is None and stored("nps") == 9

    # A deliberate tap once the screen has been read is taken.
    page.touchscreen.tap(*pro)
    on(page, "renew")
    assert stored("plan") == "Pro"


def test_a_tap_during_the_pause_before_an_auto_advance_is_not_taken(
    live_server: Any, follow_up: Survey, phone: Any
) -> None:
    page = phone
    page.goto(link(live_server, follow_up, "h5"))
    on(page, "nps")
    picks = page.locator(".scale .pick")
    boxes = [picks.nth(i).bounding_box() for i in (9, 3)]
    page.touchscreen.tap(boxes[0]["x"] + 10, boxes[0]["y"] + 10)
    # Within the 180 ms pause: Next is not offered, and a second choice changes nothing.
    assert page.evaluate("document.querySelector('main[data-question=nps] button.next').disabled")
    page.touchscreen.tap(boxes[1]["x"] + 10, boxes[1]["y"] + 10)
    on(page, "plan")
    assert stored("nps") == 9
