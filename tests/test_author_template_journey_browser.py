"""A new author's survey from a template, in Chromium, by clicks and typing only.

Sign in; New survey; pick "NPS with follow-up" in the gallery; change the NPS's end label in
place (saved with Ctrl+Enter) and the next question's prompt (saved with its button); add a
question between the two, its type picked from the cards; publish after reading what changes;
open the link the Share tab shows on a phone and answer through to the thank-you screen. The
only address typed is the app's own and the public link read from the page. Each step leaves a
screenshot (template-journey-*) in the test artefacts folder and must pass axe.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from sounding.accounts.models import User
from sounding.answers.models import Answer, Response
from sounding.surveys.models import Status, Survey
from tests.browser_fixtures import PHONE, screenshot, script_checked_page, serious_violations
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PROMPT = "What let you down the most?"
ADDED = "Which plan are you on?"
END_LABEL = "Without a doubt"


@pytest.fixture
def desk(chromium: Any) -> Iterator[Any]:
    yield from script_checked_page(chromium, viewport={"width": 1280, "height": 900})


def step(page: Any, name: str) -> None:
    """Every page on the way: no serious accessibility violation, and a picture of it."""
    assert serious_violations(page) == [], name
    screenshot(page, f"template-journey-{name}")


def keys(survey: Survey) -> list[str]:
    survey.refresh_from_db()
    return [q["key"] for q in survey.definition["questions"]]


def test_a_new_author_publishes_a_template_edited_in_place_and_answers_it_on_a_phone(
    live_server: Any, desk: Any, chromium: Any, owner: User
) -> None:
    desk.goto(live_server.url)
    desk.get_by_label("Email").fill(owner.email)
    desk.get_by_label("Password").fill(PASSWORD)
    step(desk, "01-sign-in")
    desk.get_by_role("button", name="Sign in").click()
    desk.wait_for_url("**/surveys/")
    step(desk, "02-surveys")

    desk.get_by_role("link", name="New survey").click()
    card = desk.locator("li.template", has=desk.get_by_role("heading", name="NPS with follow-up"))
    assert "4 questions" in card.inner_text()
    step(desk, "03-gallery")
    card.get_by_role("button", name="Use this template").click()
    desk.wait_for_selector("h1:has-text('Would you recommend us?')")
    survey = Survey.objects.get()
    assert survey.status == Status.DRAFT
    assert keys(survey) == ["nps", "detractor_reason", "passive_reason", "promoter_reason"]
    step(desk, "04-builder")

    # The NPS as shown opens in place; its high end's label is typed under its buttons and
    # saved from the keyboard.
    desk.locator("#q-nps .q-prompt").click()
    high = desk.locator("#edit-nps").get_by_role("textbox", name="Label of the highest value")
    high.click()
    high.press("Control+a")
    high.type(END_LABEL)
    step(desk, "05-nps-open")
    high.press("Control+Enter")
    desk.wait_for_selector(
        "text=Saved “How likely are you to recommend us to a friend or colleague?”."
    )

    # The follow-up's prompt is typed where it shows, as its heading, and saved by the button.
    desk.locator("#q-detractor_reason .q-prompt").click()
    prompt = desk.locator("#edit-detractor_reason").get_by_role(
        "textbox", name="Question", exact=True
    )
    assert prompt.evaluate("node => node === document.activeElement")
    prompt.press("Control+a")
    desk.keyboard.type(PROMPT)
    desk.locator("#edit-detractor_reason").get_by_role("button", name="Save").click()
    desk.wait_for_selector(f"text=Saved “{PROMPT}”.")
    step(desk, "06-edited")

    # A third question between the two: its type from the cards, its choices one per line.
    desk.locator("[data-add-slot=nps]").get_by_role("link", name="Add a question here").click()
    add = desk.locator("[data-add-slot=nps] #add")
    add.wait_for()
    step(desk, "07-type-cards")
    add.locator(".type-card", has_text="Single choice").click()
    assert add.locator("[data-type-now]").inner_text() == "Single choice"
    # The picked card closes the cards and then hands the focus to the prompt, as a person
    # sees before typing.
    expect(add.get_by_role("textbox", name="Question", exact=True)).to_be_focused()
    desk.keyboard.type(ADDED)
    add.locator(".choice-list input").first.fill("Free")
    add.locator(".choice-list input").first.press("Enter")
    desk.keyboard.type("Pro")
    add.get_by_role("button", name="Add question").click()
    desk.wait_for_selector(f"text=Question added: “{ADDED}”.")
    step(desk, "08-added")

    order = keys(survey)
    assert len(order) == 5
    added = order[1]
    assert order == ["nps", added, "detractor_reason", "passive_reason", "promoter_reason"]
    questions = survey.definition["questions"]
    assert questions[0]["max_label"] == END_LABEL
    assert questions[0]["min_label"] == "Not at all likely"
    assert (questions[1]["type"], questions[1]["prompt"]) == ("single_choice", ADDED)
    assert questions[1]["choices"] == ["Free", "Pro"]
    assert questions[2]["prompt"] == PROMPT
    # The template's skip rule is untouched by the edits around it.
    assert questions[2]["show_if"] == {"question": "nps", "op": "less_than", "value": 7}

    desk.get_by_role("link", name="Publish…").click()
    confirm = desk.locator("main")
    assert "What changes for respondents" in confirm.inner_text()
    assert "Anyone with the survey’s link can answer it" in confirm.inner_text()
    survey.refresh_from_db()
    assert survey.status == Status.DRAFT, "the survey changed before the confirmation"
    step(desk, "09-publish-confirm")
    desk.get_by_role("button", name="Publish survey").click()
    desk.wait_for_selector("text=The survey is live")
    survey.refresh_from_db()
    assert survey.status == Status.LIVE

    desk.locator("nav[aria-label=Survey]").get_by_role("link", name="Share").click()
    link = desk.get_by_role("textbox", name="Public link").input_value()
    assert link.endswith(survey.public_path())
    step(desk, "10-share")

    context = chromium.new_context(viewport=PHONE, device_scale_factor=2, has_touch=True)
    phone = context.new_page()
    phone.set_default_timeout(10_000)
    try:
        phone.goto(link)
        phone.wait_for_selector('main[data-question="nps"]')
        assert END_LABEL in phone.locator("main").inner_text()
        step(phone, "11-phone-nps")
        phone.get_by_role("radio", name="3", exact=True).check()
        phone.wait_for_selector(f"text={ADDED}")
        step(phone, "12-phone-added")
        phone.get_by_role("radio", name="Pro").check()
        phone.wait_for_selector(f"text={PROMPT}")
        phone.get_by_role("textbox").fill("The export was slow")
        step(phone, "13-phone-edited")
        phone.get_by_role("button", name="Submit").click()
        phone.wait_for_selector("[data-screen=done]")
        assert "Every answer is read by our team" in phone.locator("main").inner_text()
        step(phone, "14-phone-thanks")
    finally:
        context.close()

    response = Response.objects.get(survey=survey)
    assert response.completed_at is not None
    assert dict(Answer.objects.filter(response=response).values_list("question_key", "value")) == {
        "nps": 3,
        added: "Pro",
        "detractor_reason": "The export was slow",
    }
