"""The builder edited in place, in a real Chromium: texts typed where respondents see them, the
type picker, adding between two questions (and without JavaScript), the keyboard shortcuts,
the preview in view on a desktop and one tap away on a phone, the compact header and tabs on a
phone, and no serious accessibility violation at either size."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.urls import reverse

from sounding.accounts.models import User, Workspace
from sounding.surveys.models import Survey
from tests.browser_fixtures import PHONE, screenshot, script_checked_page, serious_violations
from tests.conftest import EVERY_TYPE, logged_in
from tests.test_builder_browser import keys, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 800}
NUMBER = "#q-rating .q-num"


@pytest.fixture
def desktop(chromium: Any) -> Iterator[Any]:
    yield from script_checked_page(chromium, viewport=DESKTOP)


@pytest.fixture
def handset(chromium: Any) -> Iterator[Any]:
    yield from script_checked_page(chromium, viewport=PHONE, device_scale_factor=2, has_touch=True)


@pytest.fixture
def pulse(workspace: Workspace, owner: User) -> Survey:
    return Survey.create(workspace, EVERY_TYPE, owner)


@pytest.fixture
def ten(workspace: Workspace, owner: User) -> Survey:
    questions = [
        {"key": f"q{n}", "type": "short_text", "prompt": f"Question number {n}?"}
        for n in range(1, 11)
    ]
    return Survey.create(workspace, {"title": "Ten", "questions": questions}, owner)


def question(survey: Survey, key: str) -> dict[str, Any]:
    survey.refresh_from_db()
    return next(q for q in survey.definition["questions"] if q["key"] == key)


def test_a_prompt_and_choices_typed_in_place_are_saved(
    live_server: Any, desktop: Any, editor: User, pulse: Survey
) -> None:
    sign_in(desktop, live_server, editor)
    desktop.goto(live_server.url + pulse.get_absolute_url())
    # The question as shown opens its editor in its place, the prompt ready to type over.
    desktop.locator("#q-plan .q-prompt").click()
    prompt = desktop.locator("#id_q-plan-prompt")
    assert prompt.evaluate("node => node === document.activeElement")
    desktop.locator("#q-plan .q-body").wait_for(state="hidden")
    size = float(prompt.evaluate("node => parseFloat(getComputedStyle(node).fontSize)"))
    assert size > 18, "the prompt is not typed as a heading"
    prompt.fill("Which plan do you pay for?")
    desktop.locator("#id_q-plan-help").fill("Pick the one on your last invoice.")
    choices = desktop.locator("#edit-plan .choice-list input")
    choices.nth(0).fill("Starter")
    choices.nth(2).press("End")
    choices.nth(2).press("Enter")
    desktop.keyboard.type("Custom")
    desktop.locator("#edit-plan").get_by_role("button", name="Save").click()
    desktop.wait_for_selector("text=Saved “Which plan do you pay for?”.")
    plan = question(pulse, "plan")
    assert plan["prompt"] == "Which plan do you pay for?"
    assert plan["help"] == "Pick the one on your last invoice."
    assert plan["choices"] == ["Starter", "Pro", "Enterprise", "Custom"]

    # The end labels of a scale are typed under its buttons.
    desktop.locator("#edit-effort summary").first.click()
    assert desktop.locator("#edit-effort [data-scale-row] .scale-pill").count() == 7
    desktop.locator("#id_q-effort-max_label").fill("Effortless")
    desktop.locator("#id_q-effort-max_label").press("Control+Enter")
    desktop.wait_for_selector("text=Saved “How easy was it?”.")
    assert question(pulse, "effort")["max_label"] == "Effortless"


def test_the_type_picker_is_used_by_click_and_by_keyboard(
    live_server: Any, desktop: Any, editor: User, pulse: Survey
) -> None:
    sign_in(desktop, live_server, editor)
    desktop.goto(live_server.url + pulse.get_absolute_url())
    # By click, adding between questions 1 and 2: the form comes to the place picked.
    desktop.locator("[data-add-slot=nps]").get_by_role("link", name="Add a question here").click()
    add = desktop.locator("[data-add-slot=nps] #add")
    add.wait_for()
    cards = add.locator(".type-card")
    assert cards.count() == 13
    assert all(card.locator("svg").count() == 1 for card in cards.all())
    assert all(card.locator(".type-desc").inner_text() for card in cards.all())
    add.locator(".type-card", has_text="Multiple choice").click()
    add.locator(".type-cards").wait_for(state="hidden")
    assert add.locator(".type-chip").get_attribute("aria-expanded") == "false"
    assert add.locator("[data-type-now]").inner_text() == "Multiple choice"
    assert add.locator("#id_prompt").evaluate("node => node === document.activeElement")
    desktop.keyboard.type("What do you use us for?")
    add.locator(".choice-list input").first.fill("Work")
    add.locator(".choice-list input").first.press("Enter")
    desktop.keyboard.type("Home")
    desktop.keyboard.press("Control+Enter")
    desktop.wait_for_selector("text=Question added: “What do you use us for?”.")
    pulse.refresh_from_db()
    added = pulse.definition["questions"][1]
    assert (added["type"], added["choices"]) == ("multiple_choice", ["Work", "Home"])
    assert keys(pulse)[0] == "nps"

    # By keyboard: open the picker, arrow to the next type, Enter keeps it, Ctrl+Enter saves.
    desktop.goto(live_server.url + pulse.get_absolute_url() + "?edit=nickname#q-nickname")
    picker = desktop.locator("#edit-nickname .type-chip")
    desktop.locator("#edit-nickname .type-cards").wait_for(state="hidden")
    picker.focus()
    desktop.keyboard.press("Enter")
    assert picker.get_attribute("aria-expanded") == "true"
    checked = desktop.locator("#edit-nickname input[type=radio]:checked")
    assert checked.get_attribute("value") == "short_text"
    checked.focus()
    desktop.keyboard.press("ArrowDown")
    assert desktop.locator("#edit-nickname [data-type-now]").inner_text() == "Long text"
    desktop.keyboard.press("Enter")
    desktop.locator("#edit-nickname .type-cards").wait_for(state="hidden")
    desktop.keyboard.press("Control+Enter")
    desktop.wait_for_selector("text=Saved “What should we call you?”.")
    assert question(pulse, "nickname")["type"] == "long_text"


def test_without_javascript_a_question_is_added_between_two_others(
    editor: User, pulse: Survey
) -> None:
    client = logged_in(editor)
    page = client.get(pulse.get_absolute_url()).content.decode()
    assert 'href="?add=nps#add"' in page and 'href="?add=_start#add"' in page
    # The link shows the add form in that place, set to add there.
    page = client.get(pulse.get_absolute_url() + "?add=nps").content.decode()
    slot = page.index('data-add-slot="nps"')
    assert slot < page.index('id="add"') < page.index('id="q-rating"')
    assert '<option value="nps" selected>' in page
    response = client.post(
        reverse("question-add", args=[pulse.pk]),
        {
            "type": "yes_no",
            "prompt": "Did you read the newsletter?",
            "after": "nps",
            "version": pulse.version,
        },
    )
    assert response.status_code == 302
    pulse.refresh_from_db()
    assert pulse.definition["questions"][1]["prompt"] == "Did you read the newsletter?"
    # And before the first one.
    client.post(
        reverse("question-add", args=[pulse.pk]),
        {"type": "yes_no", "prompt": "First things first?", "after": "_start"},
    )
    pulse.refresh_from_db()
    assert pulse.definition["questions"][0]["prompt"] == "First things first?"
    # A refused add is shown again where it was typed.
    page = client.post(
        reverse("question-add", args=[pulse.pk]),
        {"type": "yes_no", "prompt": "", "after": "rating"},
    ).content.decode()
    assert page.index('data-add-slot="rating"') < page.index('id="add"')


def test_each_keyboard_shortcut_does_its_move_and_none_fires_while_typing(
    live_server: Any, desktop: Any, editor: User, pulse: Survey
) -> None:
    sign_in(desktop, live_server, editor)
    desktop.goto(live_server.url + pulse.get_absolute_url())
    help_dialog = desktop.locator("#shortcuts")

    # Typing in a field: letters are letters, Alt+arrows move the caret, not the question.
    desktop.locator("#edit-plan summary").first.click()
    prompt = desktop.locator("#id_q-plan-prompt")
    prompt.fill("")
    prompt.type("nap?")
    prompt.press("Alt+ArrowDown")
    prompt.press("Control+z")
    help_dialog.wait_for(state="hidden")
    assert desktop.locator("#add-home #add").count() == 1
    assert not desktop.locator("#add input[type=radio]:checked").evaluate(
        "node => node === document.activeElement"
    )
    assert keys(pulse)[4] == "plan"
    desktop.reload()

    # ? shows the list; Escape closes it.
    desktop.locator("body").press("?")
    help_dialog.wait_for(state="visible")
    assert "Alt" in help_dialog.inner_text()
    desktop.keyboard.press("Escape")
    help_dialog.wait_for(state="hidden")
    # The same list from its button.
    desktop.get_by_role("button", name="Keyboard shortcuts").click()
    help_dialog.wait_for(state="visible")
    help_dialog.get_by_role("button", name="Close").click()

    # Alt+↓ and Alt+↑ move the question holding the focus.
    desktop.locator("#edit-rating > summary").focus()
    desktop.keyboard.press("Alt+ArrowDown")
    desktop.wait_for_function(
        "() => document.querySelector('#q-rating .q-num').textContent === '3'"
    )
    assert keys(pulse)[:3] == ["nps", "csat", "rating"]
    desktop.wait_for_function("() => document.activeElement.closest('#q-rating') !== null")
    desktop.keyboard.press("Alt+ArrowUp")
    desktop.wait_for_function(
        "() => document.querySelector('#q-rating .q-num').textContent === '2'"
    )
    assert keys(pulse)[:3] == ["nps", "rating", "csat"]

    # n (and a) bring the add form to the end, its type picker focused.
    desktop.locator("body").press("n")
    desktop.locator("#add-home #add").wait_for(state="visible")
    # The page may move the focus a moment after the key (as after a click): wait for it.
    desktop.wait_for_function(
        "() => document.activeElement === document.querySelector('#add input[type=radio]:checked')"
    )
    assert desktop.locator("#add select[name=after]").input_value() == ""
    desktop.locator("body").press("a")
    desktop.locator("#add-home #add").wait_for(state="visible")

    # Ctrl+Z, outside a field, brings back the question just deleted.
    desktop.get_by_role("button", name="Delete question 8").click()
    desktop.wait_for_selector("text=Question deleted: “Will you renew?”.")
    assert "renew" not in keys(pulse)
    desktop.locator("body").press("Control+z")
    desktop.wait_for_selector("text=“Will you renew?” is back.")
    assert keys(pulse)[7] == "renew"


def test_the_preview_stays_in_view_beside_the_last_of_ten_questions(
    live_server: Any, desktop: Any, editor: User, ten: Survey
) -> None:
    sign_in(desktop, live_server, editor)
    desktop.goto(live_server.url + ten.get_absolute_url() + "?edit=q10#q-q10")
    frame = desktop.locator("iframe[title=Preview]")
    desktop.frame_locator("iframe[title=Preview]").locator("main").wait_for()
    assert frame.get_attribute("src").endswith("q=q10")
    editor_box = desktop.locator("#id_q-q10-prompt").bounding_box()
    box = frame.bounding_box()
    assert 0 <= editor_box["y"] < DESKTOP["height"], "the editor is not in view"
    assert box["y"] >= 0 and box["y"] + box["height"] <= DESKTOP["height"]
    assert box["x"] > editor_box["x"] + editor_box["width"], "the preview is not beside it"
    assert (
        "Question number 10?"
        in desktop.frame_locator("iframe[title=Preview]").locator("main").inner_text()
    )
    screenshot(desktop, "builder-in-place-1280")


def test_the_preview_opens_with_one_tap_on_a_phone(
    live_server: Any, handset: Any, editor: User, pulse: Survey
) -> None:
    sign_in(handset, live_server, editor)
    handset.goto(live_server.url + pulse.get_absolute_url())
    frame = handset.locator("iframe[title=Preview]")
    frame.wait_for(state="hidden")
    button = handset.get_by_role("button", name="Preview", exact=True)
    box = button.bounding_box()
    assert box["y"] + box["height"] <= PHONE["height"], "the Preview button is not in view"
    button.tap()
    frame.wait_for(state="visible")
    box = frame.bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"]
    assert box["width"] > PHONE["width"] - 40
    handset.screenshot(path=str(screenshot(handset, "builder-phone-sheet")))
    handset.get_by_role("button", name="Close the preview").tap()
    frame.wait_for(state="hidden")
    handset.locator("body").press("p")
    frame.wait_for(state="visible")
    handset.keyboard.press("Escape")
    frame.wait_for(state="hidden")


def _survey_pages(survey: Survey) -> list[str]:
    survey_urls = [
        survey.get_absolute_url(),
        reverse("survey-report", args=[survey.pk]),
        reverse("survey-responses", args=[survey.pk]),
        reverse("survey-translations", args=[survey.pk]),
        reverse("survey-branding", args=[survey.pk]),
        reverse("survey-deliveries", args=[survey.pk]),
    ]
    settings = ["members", "tokens", "branding-settings", "braze-settings", "webhooks"]
    return survey_urls + [reverse(name) for name in settings] + [reverse("survey-list")]


def test_the_header_and_the_tabs_are_one_row_each_on_a_phone(
    live_server: Any, handset: Any, chromium: Any, owner: User, pulse: Survey
) -> None:
    sign_in(handset, live_server, owner)
    for url in _survey_pages(pulse):
        handset.goto(live_server.url + url)
        header = handset.locator("header.top").bounding_box()
        brand = handset.locator(".brand").bounding_box()
        assert header["height"] <= brand["height"] + 2, f"the header wraps on {url}"
        tabs = handset.locator(".survey-nav, .settings-nav")
        if tabs.count():
            row = tabs.first.bounding_box()
            tab = tabs.first.locator("a").first.bounding_box()
            assert row["height"] <= tab["height"] + 4, f"the tabs wrap on {url}"
            current = tabs.first.locator("[aria-current]")
            if current.count():
                place = current.bounding_box()
                assert place["x"] >= 0 and place["x"] + place["width"] <= PHONE["width"]
        width = handset.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{url} scrolls sideways"
        name = url.strip("/").replace("/", "-") or "home"
        screenshot(handset, f"phone-{name}")
    # The menu opens with one tap, its links under the header.
    handset.goto(live_server.url + pulse.get_absolute_url())
    handset.get_by_role("link", name="Members").wait_for(state="hidden")
    handset.get_by_role("button", name="Menu").tap()
    handset.get_by_role("link", name="Members").wait_for(state="visible")
    assert handset.get_by_role("button", name="Menu").get_attribute("aria-expanded") == "true"
    screenshot(handset, "phone-menu-open")

    context = chromium.new_context(viewport=DESKTOP)
    wide = context.new_page()
    sign_in(wide, live_server, owner)
    for url in _survey_pages(pulse):
        wide.goto(live_server.url + url)
        wide.get_by_role("button", name="Menu").wait_for(state="hidden")
        wide.locator("header.top nav").get_by_role("link", name="Members").wait_for(state="visible")
        name = url.strip("/").replace("/", "-") or "home"
        screenshot(wide, f"desktop-{name}")
    context.close()


def test_the_builder_has_no_accessibility_violation_at_either_size(
    live_server: Any, desktop: Any, handset: Any, editor: User, pulse: Survey
) -> None:
    sign_in(desktop, live_server, editor)
    desktop.goto(live_server.url + pulse.get_absolute_url() + "?edit=plan#q-plan")
    desktop.frame_locator("iframe[title=Preview]").locator("main").wait_for()
    assert serious_violations(desktop) == []
    desktop.locator("[data-add-slot=rating] [data-add-here]").click()
    assert serious_violations(desktop) == []
    screenshot(desktop, "builder-add-between-1280")

    sign_in(handset, live_server, editor)
    handset.goto(live_server.url + pulse.get_absolute_url() + "?edit=effort#q-effort")
    assert serious_violations(handset) == []
    screenshot(handset, "builder-in-place-390")
    handset.get_by_role("button", name="Preview", exact=True).tap()
    assert serious_violations(handset) == []
