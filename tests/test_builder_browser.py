"""The builder in a real Chromium: drag-and-drop reordering, the unsaved-changes prompts, the
preview that follows and reloads, and no serious accessibility violation."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from playwright.sync_api import expect

from sounding.accounts.models import User, Workspace
from sounding.surveys.models import Survey
from tests.browser_fixtures import screenshot, script_checked_page, serious_violations
from tests.conftest import EVERY_TYPE, logged_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDE = {"width": 1400, "height": 1000}


@pytest.fixture
def wide(chromium: Any) -> Any:
    yield from script_checked_page(chromium, viewport=WIDE)


def sign_in(page: Any, live_server: Any, user: User) -> None:
    cookie = logged_in(user).cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}]
    )


def keys(survey: Survey) -> list[str]:
    survey.refresh_from_db()
    return [q["key"] for q in survey.definition["questions"]]


def expect_preview_prompt(page: Any, text: str) -> None:
    """The preview's question reads `text`, once the frame has loaded its new address: its
    src changes before its document does."""
    frame = page.frame_locator("iframe[title=Preview]")
    expect(frame.locator("h1, legend, label").first).to_contain_text(text)


@pytest.fixture
def pulse(workspace: Workspace, owner: User) -> Survey:
    return Survey.create(workspace, EVERY_TYPE, owner)


def test_a_question_is_dragged_to_a_new_place_and_the_preview_reloads(
    live_server: Any, wide: Any, editor: User, pulse: Survey
) -> None:
    sign_in(wide, live_server, editor)
    wide.goto(live_server.url + pulse.get_absolute_url())
    frame = wide.locator("iframe[title=Preview]")
    assert "preview=1" in frame.get_attribute("src")
    loads: list[str] = []
    wide.on("framenavigated", lambda f: loads.append(f.url) if f != wide.main_frame else None)

    handle = wide.locator("#q-csat [data-drag]")
    target = wide.locator("#q-nps")
    box, goal = handle.bounding_box(), target.bounding_box()
    wide.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    wide.mouse.down()
    wide.mouse.move(goal["x"] + 40, goal["y"] + 10, steps=8)
    wide.mouse.up()

    wide.wait_for_function("() => document.querySelector('#question-list li').id === 'q-csat'")
    wide.wait_for_function(
        "() => document.querySelector('#builder-status').textContent.startsWith('Moved')"
    )
    assert keys(pulse)[:3] == ["csat", "nps", "rating"]
    # The list is redrawn by the server: numbers, buttons and conditions follow the new order.
    wide.wait_for_function("() => document.querySelector('#q-csat .q-num').textContent === '1'")
    assert wide.locator("#q-csat").get_by_role("button", name="Move question 1 up").is_disabled()
    wide.wait_for_timeout(300)
    assert loads, "the preview did not reload after the move"

    # Opening another question's editor points the preview at it.
    wide.locator("#edit-plan summary").click()
    wide.wait_for_function(
        "() => document.querySelector('iframe[title=Preview]').src.endsWith('q=plan')"
    )
    expect_preview_prompt(wide, "Which plan are you on?")

    # A saved change reloads the page and the preview with it.
    wide.locator("#id_q-plan-prompt").fill("Which plan do you pay for?")
    wide.locator("#edit-plan").get_by_role("button", name="Save").click()
    wide.wait_for_selector("text=Saved “Which plan do you pay for?”.")
    wide.wait_for_function(
        "() => document.querySelector('iframe[title=Preview]').src.endsWith('q=plan')"
    )
    expect_preview_prompt(wide, "Which plan do you pay for?")


def test_a_move_that_breaks_a_condition_is_undone_on_the_page_with_the_reason(
    live_server: Any, wide: Any, editor: User, pulse: Survey
) -> None:
    definition = {**pulse.definition}
    definition["questions"][1] = {
        **definition["questions"][1],
        "show_if": {"question": "nps", "op": "less_than", "value": 7},
    }
    pulse.replace_definition(definition)
    sign_in(wide, live_server, editor)
    wide.goto(live_server.url + pulse.get_absolute_url())
    handle = wide.locator("#q-rating [data-drag]").bounding_box()
    goal = wide.locator("#q-nps").bounding_box()
    wide.mouse.move(handle["x"] + 5, handle["y"] + 5)
    wide.mouse.down()
    wide.mouse.move(goal["x"] + 40, goal["y"] + 5, steps=8)
    wide.mouse.up()
    alert = wide.get_by_role("alert")
    alert.wait_for()
    assert "must stay after" in alert.inner_text()
    assert wide.locator("#question-list li").first.get_attribute("id") == "q-nps"
    assert keys(pulse)[:2] == ["nps", "rating"]


def test_unsaved_changes_are_never_lost_silently(
    live_server: Any, wide: Any, editor: User, pulse: Survey
) -> None:
    sign_in(wide, live_server, editor)
    wide.goto(live_server.url + pulse.get_absolute_url())
    wide.locator("#edit-plan summary").click()
    wide.locator("#id_q-plan-help").fill("Typed, not saved")
    assert wide.locator("#edit-plan.dirty").count() == 1

    # Opening another editor asks first; refusing keeps the typing and the editor.
    asked: list[str] = []

    def refuse(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    wide.once("dialog", refuse)
    wide.locator("#edit-nps summary").click()
    assert asked and "unsaved changes" in asked[0]
    assert wide.locator("#edit-plan").get_attribute("open") is not None
    assert wide.locator("#edit-nps").get_attribute("open") is None
    assert wide.locator("#id_q-plan-help").input_value() == "Typed, not saved"

    # Leaving the page asks too (beforeunload); staying keeps everything.
    kinds: list[str] = []

    def stay(dialog: Any) -> None:
        kinds.append(dialog.type)
        dialog.dismiss()

    wide.once("dialog", stay)
    wide.get_by_role("link", name="← Surveys").click()
    wide.wait_for_timeout(500)
    assert kinds == ["beforeunload"]
    assert wide.url.endswith(pulse.get_absolute_url())
    assert wide.locator("#id_q-plan-help").input_value() == "Typed, not saved"

    # The choice list editor: add, reorder and remove, saved as one choice per line.
    choices = wide.locator("#edit-plan .choice-list input")
    assert choices.count() == 3
    help_text = wide.locator("#edit-plan .choice-list").locator("xpath=..").locator(".helptext")
    assert help_text.inner_text() == "One choice per box. Enter adds the next one."
    wide.locator("#edit-plan").get_by_role("button", name="Add a choice").click()
    wide.keyboard.type("Student")
    wide.locator("#edit-plan").get_by_role("button", name="Move choice 4 up").click()
    wide.locator("#edit-plan").get_by_role("button", name="Remove choice 1").click()
    wide.locator("#edit-plan").get_by_role("button", name="Save").click()
    wide.wait_for_selector("text=Saved “Which plan are you on?”.")
    pulse.refresh_from_db()
    plan = next(q for q in pulse.definition["questions"] if q["key"] == "plan")
    assert plan["choices"] == ["Pro", "Student", "Enterprise"]
    assert plan["help"] == "Typed, not saved"


def test_the_condition_editor_fits_the_question_chosen_without_reloading(
    live_server: Any, wide: Any, editor: User, pulse: Survey
) -> None:
    sign_in(wide, live_server, editor)
    wide.goto(live_server.url + pulse.get_absolute_url() + "?edit=seats#q-seats")
    editor_box = wide.locator("#edit-seats")
    assert editor_box.get_by_role("button", name="Show its answers").is_hidden()
    editor_box.get_by_label("Earlier question").select_option("plan")
    condition = editor_box.get_by_label("Condition")
    assert condition.locator("option").all_inner_texts() == ["—", "is", "is one of"]
    condition.select_option("one_of")
    editor_box.get_by_role("checkbox", name="Pro").check()
    editor_box.get_by_role("checkbox", name="Enterprise").check()
    editor_box.get_by_role("button", name="Save").click()
    wide.wait_for_selector("#q-seats .q-rule")
    assert (
        "Only if Which plan are you on? is one of Pro or Enterprise"
        in wide.locator("#q-seats .q-rule").inner_text()
    )


def test_the_builder_has_no_serious_accessibility_violation(
    live_server: Any, wide: Any, phone: Any, editor: User, pulse: Survey
) -> None:
    sign_in(wide, live_server, editor)
    wide.goto(live_server.url + pulse.get_absolute_url() + "?edit=plan#q-plan")
    wide.frame_locator("iframe[title=Preview]").locator("main").wait_for()
    assert serious_violations(wide) == []
    screenshot(wide, "builder")

    sign_in(phone, live_server, editor)
    phone.goto(live_server.url + pulse.get_absolute_url())
    assert phone.locator("iframe[title=Preview]").is_hidden()
    # On a phone the preview opens as a sheet from a floating button.
    phone.get_by_role("button", name="Preview", exact=True).click()
    assert phone.locator("iframe[title=Preview]").is_visible()
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "the builder scrolls sideways on a phone"
    assert serious_violations(phone) == []
    screenshot(phone, "builder-phone")


def test_without_javascript_a_question_is_edited_deleted_and_brought_back(
    live_server: Any, phone_without_js: Any, editor: User, pulse: Survey
) -> None:
    page = phone_without_js
    sign_in(page, live_server, editor)
    page.goto(live_server.url + pulse.get_absolute_url())
    page.locator("#edit-renew summary").click()
    page.locator("#id_q-renew-prompt").fill("Will you renew next year?")
    page.locator("#edit-renew").get_by_role("button", name="Save").click()
    page.wait_for_selector("text=Saved “Will you renew next year?”.")

    page.get_by_role("button", name="Delete question 8").click()
    page.wait_for_selector("text=Question deleted: “Will you renew next year?”.")
    assert "renew" not in keys(pulse)
    page.get_by_role("button", name="Undo").click()
    page.wait_for_selector("text=“Will you renew next year?” is back.")
    assert keys(pulse)[7] == "renew"
