"""A new author's first survey, end to end in Chromium, without JSON and without the docs.

Sign in; build five questions with a skip rule; move one; brand the survey; translate it into
French; publish; answer it on a phone in French; read the NPS and its distribution in the
report. Screenshots of each stage go to the test artefacts folder (see docs/screenshots.md).
"""

from __future__ import annotations

from typing import Any

import pytest

from sounding.accounts.models import User
from sounding.answers.models import Answer, Response
from sounding.surveys.models import Status, Survey
from tests.browser_fixtures import PHONE, screenshot, script_checked_page, serious_violations
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FRENCH = {
    "Customer pulse": "Votre avis",
    "How likely are you to recommend us?": "Quelle est la probabilité que vous nous recommandiez ?",
    "Which plan are you on?": "Quelle offre avez-vous ?",
    "Free": "Gratuite",
    "Pro": "Pro",
    "What went wrong?": "Qu’est-ce qui n’a pas été ?",
    "Will you renew?": "Allez-vous renouveler ?",
    "Rate the app": "Notez l’application",
}


@pytest.fixture
def desk(chromium: Any) -> Any:
    yield from script_checked_page(chromium, viewport={"width": 1280, "height": 900})


def add_question(page: Any, kind: str, prompt: str, choices: tuple[str, ...] = ()) -> None:
    form = page.locator("#add form")
    # The type picker's radio cards: a click on the card picks the type.
    form.locator(f"[data-type-card={kind}] label").click()
    form.get_by_label("Question", exact=True).fill(prompt)
    inputs = form.locator(".choice-list input")
    for i, choice in enumerate(choices):
        if i >= inputs.count():
            form.get_by_role("button", name="Add a choice").click()
        inputs.nth(i).fill(choice)
    form.get_by_role("button", name="Add question").click()
    page.wait_for_selector(f"text=Question added: “{prompt}”.")


def test_a_new_author_builds_brands_translates_publishes_and_reads_the_report(
    live_server: Any, desk: Any, chromium: Any, owner: User
) -> None:
    base = live_server.url
    desk.goto(base + "/login")
    desk.get_by_label("Email").fill(owner.email)
    desk.get_by_label("Password").fill(PASSWORD)
    desk.get_by_role("button", name="Sign in").click()
    desk.wait_for_url("**/surveys/")

    desk.get_by_role("link", name="New survey").click()
    # From nothing, past the templates offered first.
    blank = desk.get_by_role("region", name="Start blank")
    blank.get_by_label("Title").fill("Customer pulse")
    desk.get_by_role("button", name="Create draft").click()
    desk.wait_for_selector("h1:has-text('Customer pulse')")
    survey = Survey.objects.get()

    add_question(desk, "nps", "How likely are you to recommend us?")
    add_question(desk, "single_choice", "Which plan are you on?", ("Free", "Pro"))
    add_question(desk, "rating", "Rate the app")
    add_question(desk, "long_text", "What went wrong?")
    add_question(desk, "yes_no", "Will you renew?")
    survey.refresh_from_db()
    keys = [q["key"] for q in survey.definition["questions"]]
    assert len(keys) == 5
    nps, plan, rating, why, renew = keys

    # "What went wrong?" only for detractors: set in its editor, in words.
    desk.locator(f"#edit-{why} summary").click()
    editor = desk.locator(f"#edit-{why}")
    editor.get_by_label("Earlier question").select_option(nps)
    editor.get_by_label("Condition").select_option("less_than")
    editor.get_by_role("textbox", name="Number").fill("7")
    editor.get_by_role("button", name="Save").click()
    desk.wait_for_selector("text=Saved “What went wrong?”.")
    assert "Only if" in desk.locator(f"#q-{why}").inner_text()
    # The rating goes last, with its keyboard-friendly button.
    desk.locator(f"#q-{rating}").get_by_role("button", name="Move question 3 down").click()
    desk.wait_for_function(
        f"() => document.querySelector('#question-list li:nth-child(4)').id === 'q-{rating}'"
    )
    survey.refresh_from_db()
    assert [q["key"] for q in survey.definition["questions"]] == [nps, plan, why, rating, renew]
    assert survey.definition["questions"][2]["show_if"] == {
        "question": nps,
        "op": "less_than",
        "value": 7,
    }
    assert serious_violations(desk) == []
    screenshot(desk, "journey-builder")

    desk.locator("nav[aria-label=Survey]").get_by_role("link", name="Branding").click()
    desk.get_by_role("textbox", name="Accent colour", exact=True).fill("#0E7C66")
    desk.get_by_role("button", name="Save").click()
    desk.wait_for_selector("text=saved")

    desk.locator("nav[aria-label=Survey]").get_by_role("link", name="Languages").click()
    desk.get_by_label("Language", exact=True).select_option("fr")
    desk.get_by_role("button", name="Add language").click()
    desk.wait_for_selector("form.tr-form")
    for row in desk.locator(".tr-row").all():
        original = row.locator(".tr-original p").inner_text().strip()
        if original in FRENCH:
            row.locator("input, textarea").first.fill(FRENCH[original])
    desk.locator(".tr-save").get_by_role("button").click()
    desk.wait_for_selector("text=texts translated")
    survey.refresh_from_db()
    assert survey.definition["translations"]["fr"]["questions"][plan]["choices"] == {
        "Free": "Gratuite",
        "Pro": "Pro",
    }

    desk.goto(base + survey.get_absolute_url())
    desk.get_by_role("link", name="Publish…").click()
    desk.get_by_role("button", name="Publish survey").click()
    desk.wait_for_selector("text=The survey is live")
    survey.refresh_from_db()
    assert survey.status == Status.LIVE

    phone_context = chromium.new_context(
        viewport=PHONE, device_scale_factor=2, has_touch=True, locale="fr-FR"
    )
    phone = phone_context.new_page()
    phone.set_default_timeout(10_000)
    try:
        phone.goto(base + survey.public_path() + "?user_braze_id=journey-1")
        assert phone.locator("html").get_attribute("lang") == "fr"
        phone.wait_for_selector("text=Quelle est la probabilité que vous nous recommandiez ?")
        phone.get_by_role("radio", name="3").check()
        phone.wait_for_selector("text=Quelle offre avez-vous ?")
        phone.get_by_role("radio", name="Gratuite").check()
        phone.wait_for_selector("text=Qu’est-ce qui n’a pas été ?")
        assert serious_violations(phone) == []
        screenshot(phone, "journey-respondent-fr")
        phone.get_by_role("textbox").fill("Trop lent")
        phone.get_by_role("button", name="Suivant").click()
        phone.wait_for_selector("text=Notez l’application")
        phone.get_by_role("radio", name="4").check()
        phone.wait_for_selector("text=Allez-vous renouveler ?")
        phone.get_by_role("radio", name="Oui").check()
        phone.wait_for_selector("[data-screen=done]")
    finally:
        phone_context.close()
    response = Response.objects.get()
    assert response.language == "fr" and response.completed_at is not None
    assert dict(Answer.objects.values_list("question_key", "value")) == {
        nps: 3,
        plan: "Free",
        why: "Trop lent",
        rating: 4,
        renew: True,
    }

    desk.goto(base + survey.get_absolute_url())
    desk.locator("nav[aria-label=Survey]").get_by_role("link", name="Report").click()
    nps_section = desk.locator("section", has_text="How likely are you to recommend us?").first
    assert "-100" in nps_section.inner_text() or "−100" in nps_section.inner_text()
    assert nps_section.locator("svg[role=img]").count() >= 1
    assert serious_violations(desk) == []
    screenshot(desk, "journey-report")
