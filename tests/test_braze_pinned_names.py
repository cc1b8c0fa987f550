"""Once Braze holds a question's answers under a name, the name stays: rewording the question
keeps it, the builder and the Braze page say so, and only a rename changes it."""

from __future__ import annotations

import copy
import json
from importlib import import_module
from typing import Any

import pytest
from django.apps import apps
from django.test import Client
from django.urls import reverse

from sounding.accounts.models import User, Workspace
from sounding.delivery.models import Push, PushState
from sounding.destinations.braze.models import BrazeSettings, SurveyBraze
from sounding.destinations.braze.setup import save_survey_config, survey_config
from sounding.surveys.models import Status, Survey
from tests.conftest import logged_in
from tests.delivery_fixtures import drain, integrate, respond
from tests.standin import StandinHarness

BEFORE = "Would you order from Northwind again?"
AFTER = "Would you order from Northwind Outfitters again?"
NORTHWIND: dict[str, Any] = {
    "title": "Northwind",
    "questions": [
        {"key": "again", "type": "yes_no", "prompt": BEFORE},
        {"key": "why", "type": "short_text", "prompt": "Why?"},
    ],
}


@pytest.fixture
def northwind(workspace: Workspace, owner: User, connected: BrazeSettings) -> Survey:
    survey = Survey.create(workspace, NORTHWIND, owner)
    survey.set_status(Status.LIVE)
    integrate(survey)
    return survey


def reword(survey: Survey, key: str, prompt: str) -> None:
    survey.refresh_from_db()
    definition = copy.deepcopy(survey.definition)
    next(q for q in definition["questions"] if q["key"] == key)["prompt"] = prompt
    survey.replace_definition(definition)


def profile(standin: StandinHarness, braze_id: str) -> dict[str, Any]:
    return standin.users()[f"braze_id:{braze_id}"]["attributes"]


def page_url(survey: Survey) -> str:
    return reverse("survey-braze", args=[survey.pk])


def braze_form(survey: Survey, **values: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"enabled": "on", "identifier": "braze_id"}
    for key in survey.spec.keys:
        data[f"sync_{key}"] = "on"
        data[f"name_{key}"] = ""
    return data | values


# --- Rewording ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_rewording_a_synced_question_leaves_the_next_answers_under_the_name_braze_has(
    northwind: Survey, braze_standin: StandinHarness
) -> None:
    respond(northwind, "u-1", {"again": True})
    drain()
    reword(northwind, "again", AFTER)

    respond(northwind, "u-2", {"again": False, "why": "Too slow"})
    drain()

    assert profile(braze_standin, "u-2") == {BEFORE: False, "Why?": "Too slow"}
    assert profile(braze_standin, "u-1") == {BEFORE: True}
    assert SurveyBraze.objects.get(survey=northwind).pinned_names == {
        "again": BEFORE,
        "why": "Why?",
    }


@pytest.mark.django_db
def test_a_question_is_free_to_change_its_name_until_an_answer_is_sent_under_it(
    northwind: Survey, braze_standin: StandinHarness
) -> None:
    respond(northwind, "u-1", {"why": "Fast"})
    drain()
    reword(northwind, "again", AFTER)  # never sent: Braze has no attribute for it yet

    respond(northwind, "u-2", {"again": True})
    drain()

    assert profile(braze_standin, "u-2") == {AFTER: True}
    assert SurveyBraze.objects.get(survey=northwind).pinned_names == {"why": "Why?", "again": AFTER}


@pytest.mark.django_db
def test_the_builder_and_the_braze_page_say_the_name_was_kept(
    northwind: Survey, owner: User, braze_standin: StandinHarness
) -> None:
    respond(northwind, "u-1", {"again": True, "why": "Fast"})
    drain()
    reword(northwind, "again", AFTER)
    client = logged_in(owner)
    said = f"Braze attribute: “{BEFORE}”, kept: the question was reworded."

    builder = client.get(northwind.get_absolute_url()).content.decode()
    assert said in builder.split('id="q-again"')[1].split("</li>")[0]
    assert builder.count("kept: the question was reworded") == 1

    page = client.get(page_url(northwind)).content.decode()
    row = page.split('id="attr-again"')[1].split("</tr>")[0]
    assert said in row
    assert f'placeholder="{BEFORE}"' in row
    assert "kept: the question" not in page.split('id="attr-why"')[1].split("</tr>")[0]


@pytest.mark.django_db
def test_a_save_from_an_older_read_of_the_integration_keeps_the_names_pinned_since(
    northwind: Survey,
) -> None:
    stale = survey_config(northwind)
    SurveyBraze.pin(northwind.pk, {"again": BEFORE})
    stale.completion_event = True
    save_survey_config(northwind, stale)
    assert SurveyBraze.objects.get(survey=northwind).pinned_names == {"again": BEFORE}


# --- Renaming on the Braze page -------------------------------------------------------------


@pytest.fixture
def synced(northwind: Survey, braze_standin: StandinHarness) -> Survey:
    respond(northwind, "u-1", {"again": True, "why": "Fast"})
    respond(northwind, "u-2", {"why": "Slow"})
    drain()
    return northwind


@pytest.mark.django_db
def test_renaming_an_attribute_braze_has_asks_first_and_saves_nothing(
    synced: Survey, editor: User
) -> None:
    page = logged_in(editor).post(page_url(synced), braze_form(synced, name_again="Orders again"))

    html = page.content.decode()
    assert page.status_code == 200
    assert "Rename attributes Braze already has" in html
    assert f"“{BEFORE}” → “Orders again” (1 profile received “{BEFORE}”)" in html
    assert 'name="rename_profiles" value="move" id="rename-move" checked' in html
    assert "Rename and save" in html
    config = SurveyBraze.objects.get(survey=synced)
    assert config.attribute_names == {} and config.pinned_names["again"] == BEFORE


@pytest.mark.django_db
def test_moving_removes_the_old_attribute_and_sends_the_answers_under_the_new_name(
    synced: Survey, editor: User, braze_standin: StandinHarness
) -> None:
    seen = braze_standin.requests()[-1]["seq"]
    data = braze_form(synced, name_again="Orders again", rename_profiles="move")

    saved = logged_in(editor).post(page_url(synced), data, follow=True)

    assert f"Renamed “{BEFORE}” → “Orders again”: 1 response is sent again" in (
        saved.content.decode()
    )
    drain()
    assert profile(braze_standin, "u-1") == {"Orders again": True, "Why?": "Fast"}
    assert profile(braze_standin, "u-2") == {"Why?": "Slow"}
    sent = [obj for r in braze_standin.requests(seen) for obj in r["body"]["attributes"]]
    assert sent == [
        {BEFORE: None, "Orders again": True, "_update_existing_only": True, "braze_id": "u-1"}
    ]
    respond(synced, "u-3", {"again": False})
    drain()
    assert profile(braze_standin, "u-3") == {"Orders again": False}


@pytest.mark.django_db
def test_copying_keeps_the_old_attribute_and_leaving_them_sends_nothing_now(
    synced: Survey, editor: User, braze_standin: StandinHarness
) -> None:
    client = logged_in(editor)
    client.post(page_url(synced), braze_form(synced, name_again="A", rename_profiles="copy"))
    drain()
    assert profile(braze_standin, "u-1") == {BEFORE: True, "A": True, "Why?": "Fast"}

    seen = braze_standin.requests()[-1]["seq"]
    client.post(page_url(synced), braze_form(synced, name_again="B", rename_profiles="keep"))
    drain()
    assert braze_standin.requests(seen) == []
    assert SurveyBraze.objects.get(survey=synced).pinned_names["again"] == "B"
    assert Push.objects.filter(state=PushState.SYNCED).count() == 2


@pytest.mark.django_db
def test_the_api_renames_only_when_told_what_becomes_of_the_profiles(
    synced: Survey, owner_token: str, braze_standin: StandinHarness
) -> None:
    api = Client(HTTP_AUTHORIZATION=f"Bearer {owner_token}")
    url = f"/api/v1/surveys/{synced.pk}/integrations/braze"

    def put(body: dict[str, Any]) -> Any:
        return api.put(url, json.dumps(body), content_type="application/json")

    refused = put({"attribute_names": {"again": "Orders again"}})
    assert refused.status_code == 400
    (error,) = refused.json()["errors"]
    assert error["path"] == "$.attribute_names.again"
    assert "on_rename" in error["message"]
    assert put({"on_rename": "later"}).json()["errors"][0]["path"] == "$.on_rename"

    renamed = put({"attribute_names": {"again": "Orders again"}, "on_rename": "move"})
    assert renamed.status_code == 200, renamed.content
    attributes = {a["question_key"]: a for a in renamed.json()["attributes"]}
    assert attributes["again"]["attribute_name"] == "Orders again"
    assert attributes["again"]["kept"] is True
    drain()
    assert profile(braze_standin, "u-1") == {"Orders again": True, "Why?": "Fast"}


@pytest.mark.django_db
def test_upgrading_pins_the_names_braze_acknowledged_before(
    northwind: Survey, braze_standin: StandinHarness
) -> None:
    respond(northwind, "u-1", {"again": True})
    drain()
    SurveyBraze.objects.update(pinned_names={})
    migration = import_module("sounding.destinations.braze.migrations.0004_pinned_attribute_names")

    migration.pin_names_braze_holds(apps, None)

    assert SurveyBraze.objects.get(survey=northwind).pinned_names == {"again": BEFORE}


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_rename_is_asked_and_confirmed_on_a_phone_without_serious_accessibility_violation(
    live_server: Any, phone: Any, owner: User, workspace: Workspace
) -> None:
    from django.conf import settings

    from tests.browser_fixtures import screenshot, serious_violations

    survey = Survey.create(workspace, NORTHWIND, owner)
    integrate(survey, pinned_names={"again": BEFORE})
    reword(survey, "again", AFTER)
    client = logged_in(owner)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    phone.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}]
    )

    phone.goto(live_server.url + page_url(survey))
    assert phone.get_by_text(f"Braze attribute: “{BEFORE}”, kept").is_visible()
    phone.get_by_label(f"Attribute name for “{AFTER}”").fill("Orders again")
    phone.get_by_role("button", name="Save").click()
    phone.wait_for_load_state()
    assert phone.get_by_role("heading", name="Rename attributes Braze already has").is_visible()
    assert phone.get_by_label("Move: send their answers under the new name").is_checked()
    assert serious_violations(phone) == []
    screenshot(phone, "braze-rename-phone")

    phone.get_by_role("button", name="Rename and save").first.click()
    phone.wait_for_load_state()
    assert phone.get_by_text(f"Renamed “{BEFORE}” → “Orders again”").is_visible()
    assert SurveyBraze.objects.get(survey=survey).pinned_names == {"again": "Orders again"}
