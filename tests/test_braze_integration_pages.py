"""A survey's Braze page: turning the integration on, the link to paste into Braze, attribute
names and their problems, events, sending earlier responses, and who may do what."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from sounding.accounts.models import User, Workspace
from sounding.answers.models import Response
from sounding.delivery.models import Push
from sounding.destinations.braze.models import BrazeSettings, SurveyBraze
from sounding.destinations.braze.setup import save_survey_config, survey_config
from sounding.surveys.models import Survey
from tests.conftest import logged_in

PULSE: dict[str, Any] = {
    "title": "Pulse",
    "questions": [
        {"key": "nps", "type": "nps", "prompt": "How likely are you to recommend us?"},
        {"key": "plan", "type": "single_choice", "prompt": "Plan?", "choices": ["Free", "Pro"]},
        {"key": "feedback", "type": "long_text", "prompt": "Anything else?"},
    ],
}
LINKS = {
    "braze_id": "?user_braze_id={{${braze_id}}}",
    "external_id": "?user_external_id={{${user_id} | url_param_escape}}",
    "email": "?user_email={{${email_address} | url_param_escape}}",
}


@pytest.fixture
def pulse(workspace: Workspace, owner: User) -> Survey:
    return Survey.create(workspace, PULSE, owner)


@pytest.fixture
def connected(workspace: Workspace) -> BrazeSettings:
    found = BrazeSettings(workspace=workspace, rest_endpoint="https://rest.iad-03.braze.com")
    found.set_api_key("a1b2c3d4-e5f6-4711-9abc-secretkey9f3c")
    found.save()
    return found


def page_url(survey: Survey) -> str:
    return reverse("survey-braze", args=[survey.pk])


def form(survey: Survey, **values: Any) -> dict[str, Any]:
    """What the page posts with every question synced under its prompt, plus `values`."""
    data: dict[str, Any] = {"enabled": "on", "identifier": "braze_id"}
    for key in survey.spec.keys:
        data[f"sync_{key}"] = "on"
        data[f"name_{key}"] = ""
    return data | values


def config(survey: Survey) -> SurveyBraze:
    return SurveyBraze.objects.get(survey=survey)


def destinations(survey: Survey) -> list[str]:
    survey.refresh_from_db()
    return survey.destinations


# --- Turning it on and off ------------------------------------------------------------------


@pytest.mark.django_db
def test_an_editor_turns_the_integration_on_and_off(
    editor: User, pulse: Survey, connected: BrazeSettings
) -> None:
    client = logged_in(editor)
    page = client.get(page_url(pulse))
    assert page.status_code == 200
    assert b'<span class="badge">Off</span>' in page.content
    saved = client.post(page_url(pulse), form(pulse), follow=True)
    assert saved.redirect_chain[-1][0] == page_url(pulse)
    assert "Braze is on for this survey" in saved.content.decode()
    assert config(pulse).enabled
    assert destinations(pulse) == ["braze"]
    off = client.post(page_url(pulse), form(pulse, enabled=""), follow=True)
    assert "Braze is off for this survey" in off.content.decode()
    assert not config(pulse).enabled
    assert destinations(pulse) == []


@pytest.mark.django_db
def test_the_survey_page_links_to_the_braze_integration_and_says_whether_it_is_on(
    viewer: User, editor: User, pulse: Survey
) -> None:
    html = logged_in(viewer).get(pulse.get_absolute_url()).content.decode()
    assert "Integrations" in html
    assert f'<a href="{page_url(pulse)}">Braze</a>' in html
    assert '<span class="badge">Off</span>' in html
    logged_in(editor).post(page_url(pulse), form(pulse))
    html = logged_in(viewer).get(pulse.get_absolute_url()).content.decode()
    assert '<span class="badge badge-live">On</span>' in html


@pytest.mark.django_db
@pytest.mark.parametrize("identifier", ["braze_id", "external_id", "email"])
def test_the_link_to_paste_into_braze_follows_the_identifier(
    owner: User, pulse: Survey, identifier: str
) -> None:
    client = logged_in(owner)
    client.post(page_url(pulse), form(pulse, identifier=identifier))
    assert config(pulse).identifier == identifier
    html = client.get(page_url(pulse)).content.decode()
    link = f"http://testserver/s/{pulse.slug}{LINKS[identifier]}"
    assert f'id="survey-link" type="text" readonly value="{link}"' in html
    assert 'data-copy="survey-link"' in html


@pytest.mark.django_db
def test_the_link_starts_with_the_site_url_when_one_is_set(
    owner: User, pulse: Survey, settings: Any
) -> None:
    settings.SITE_URL = "https://surveys.example.com"
    html = logged_in(owner).get(page_url(pulse)).content.decode()
    assert f'value="https://surveys.example.com/s/{pulse.slug}{LINKS["braze_id"]}"' in html


@pytest.mark.django_db
def test_the_page_holds_every_link_for_the_script_and_loads_nothing_from_elsewhere(
    owner: User, pulse: Survey
) -> None:
    html = logged_in(owner).get(page_url(pulse)).content.decode()
    assert 'id="braze-links"' in html
    assert "url_param_escape" in html
    assert "https://" not in html.replace(f"http://testserver/s/{pulse.slug}", "")


@pytest.mark.django_db
def test_two_first_saves_at_once_leave_one_integration_with_the_last_choice(
    pulse: Survey,
) -> None:
    mine, theirs = survey_config(pulse), survey_config(pulse)  # both read "never set up"
    theirs.identifier = "email"
    save_survey_config(pulse, theirs)
    mine.enabled = True
    save_survey_config(pulse, mine)
    assert SurveyBraze.objects.count() == 1
    assert config(pulse).enabled and config(pulse).identifier == "braze_id"
    assert destinations(pulse) == ["braze"]


# --- Attribute names ------------------------------------------------------------------------


@pytest.mark.django_db
def test_each_question_has_a_row_with_its_prompt_as_the_default_name(
    owner: User, pulse: Survey
) -> None:
    html = logged_in(owner).get(page_url(pulse)).content.decode()
    assert html.count('<tr id="attr-') == 3
    assert 'placeholder="How likely are you to recommend us?"' in html
    assert "Net Promoter Score (0–10)" in html
    assert '<span class="sr">Sync “Plan?”</span>' in html
    assert 'for="id_name_feedback" class="sr">Attribute name for “Anything else?”' in html


@pytest.mark.django_db
def test_a_typed_name_is_kept_a_blank_one_uses_the_prompt_and_an_unticked_one_is_left_out(
    owner: User, pulse: Survey
) -> None:
    data = form(pulse, name_nps="NPS score")
    del data["sync_feedback"]
    logged_in(owner).post(page_url(pulse), data)
    assert config(pulse).attribute_names == {"nps": "NPS score", "feedback": None}
    html = logged_in(owner).get(page_url(pulse)).content.decode()
    assert 'value="NPS score"' in html
    assert 'name="sync_feedback" id="id_sync_feedback">' in html  # no longer checked
    assert 'name="sync_plan" id="id_sync_plan" checked>' in html


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("values", "row", "message"),
    [
        ({"name_nps": "x" * 300}, "nps", "Keep the attribute name to 255 characters (it has 300)."),
        ({"name_nps": "$nps"}, "nps", "Braze reserves names starting with $: choose another name."),
        ({"name_plan": "email"}, "plan", "“email” is a standard Braze profile field"),
        ({"name_plan": "first_name"}, "plan", "“first_name” is a standard Braze profile field"),
        (
            {"name_feedback": "How likely are you to recommend us?"},
            "feedback",
            "is already the attribute name of “How likely are you to recommend us?”",
        ),
    ],
)
def test_a_name_braze_would_refuse_is_explained_beside_its_row_and_nothing_is_saved(
    editor: User, pulse: Survey, values: dict[str, str], row: str, message: str
) -> None:
    page = logged_in(editor).post(page_url(pulse), form(pulse, **values))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Nothing was saved." in html
    assert f'<tr id="attr-{row}" class="row-bad">' in html
    assert f'<ul class="errorlist" id="id_name_{row}_error">' in html
    assert f'aria-describedby="id_name_{row}_error"' in html
    assert message.replace("“", "&ldquo;") in html or message in html
    assert not SurveyBraze.objects.exists()
    assert destinations(pulse) == []


@pytest.mark.django_db
def test_a_question_left_out_may_keep_a_name_that_would_clash(owner: User, pulse: Survey) -> None:
    data = form(pulse, name_feedback="How likely are you to recommend us?")
    del data["sync_nps"]
    assert logged_in(owner).post(page_url(pulse), data).status_code == 302
    assert config(pulse).attribute_names == {
        "nps": None,
        "feedback": "How likely are you to recommend us?",
    }


@pytest.mark.django_db
def test_turning_off_is_never_blocked_by_a_default_name_gone_wrong(
    owner: User, workspace: Workspace
) -> None:
    survey = Survey.create(
        workspace, {"title": "T", "questions": [{"key": "e", "type": "email", "prompt": "email"}]}
    )
    SurveyBraze.objects.create(survey=survey, enabled=True)
    html = logged_in(owner).get(page_url(survey)).content.decode()
    assert '<p class="errorlist" id="warn_e">' in html
    assert 'aria-describedby="warn_e"' in html
    assert logged_in(owner).post(page_url(survey), form(survey, enabled="")).status_code == 302
    assert not config(survey).enabled


@pytest.mark.django_db
def test_an_identifier_that_is_not_offered_is_refused_without_harm(
    owner: User, pulse: Survey
) -> None:
    page = logged_in(owner).post(page_url(pulse), form(pulse, identifier="phone"))
    assert page.status_code == 200
    assert b"Select a valid choice. phone is not one of the available choices." in page.content
    assert LINKS["braze_id"] in page.content.decode()
    assert not SurveyBraze.objects.exists()


# --- Events ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_two_events_are_switched_on_with_a_line_saying_what_each_sends(
    owner: User, pulse: Survey
) -> None:
    html = logged_in(owner).get(page_url(pulse)).content.decode()
    assert "sounding_question_answered" in html and "sounding_survey_completed" in html
    assert "Sent each time someone answers a question" in html
    assert "Sent once when someone reaches the end of the survey" in html
    logged_in(owner).post(page_url(pulse), form(pulse, completion_event="on"))
    assert config(pulse).completion_event and not config(pulse).per_answer_events


# --- Earlier responses ----------------------------------------------------------------------


def identified(survey: Survey, n: int) -> None:
    for i in range(n):
        Response.objects.create(
            survey=survey,
            identity_kind="email",
            identity_value=f"p{i}@x.test",
            identities={"email": f"p{i}@x.test"},
        )


@pytest.mark.django_db
def test_turning_it_on_offers_to_send_the_responses_already_collected(
    editor: User, pulse: Survey
) -> None:
    identified(pulse, 2)
    Response.objects.create(survey=pulse)  # anonymous: nobody to send it to
    client = logged_in(editor)
    assert "Also send the 2 existing responses" in client.get(page_url(pulse)).content.decode()
    saved = client.post(page_url(pulse), form(pulse, backfill="on"), follow=True)
    assert "The 2 existing responses are on their way too." in saved.content.decode()
    assert Push.objects.filter(destination="braze").count() == 2
    assert "Also send the" not in client.get(page_url(pulse)).content.decode()


@pytest.mark.django_db
def test_the_earlier_responses_can_be_sent_after_it_was_turned_on(
    editor: User, pulse: Survey
) -> None:
    client = logged_in(editor)
    client.post(page_url(pulse), form(pulse))
    identified(pulse, 1)  # e.g. answered while a colleague was still setting it up
    assert "Also send the 1 existing response" in client.get(page_url(pulse)).content.decode()
    saved = client.post(page_url(pulse), form(pulse, backfill="on"), follow=True)
    assert "The 1 existing response is on its way too." in saved.content.decode()
    assert Push.objects.filter(destination="braze").count() == 1


@pytest.mark.django_db
def test_sending_earlier_responses_needs_the_integration_on(editor: User, pulse: Survey) -> None:
    identified(pulse, 1)
    html = logged_in(editor).post(page_url(pulse), form(pulse, enabled="", backfill="on"))
    assert "Turn on “Send answers to Braze” to send the existing responses too." in (
        html.content.decode()
    )
    assert not Push.objects.exists() and not SurveyBraze.objects.exists()


# --- Not connected yet ----------------------------------------------------------------------


@pytest.mark.django_db
def test_without_a_connection_owners_are_sent_to_settings_and_others_to_an_owner(
    owner: User, editor: User, pulse: Survey
) -> None:
    owner_html = logged_in(owner).get(page_url(pulse)).content.decode()
    assert 'id="not-connected"' in owner_html
    assert f'<a href="{reverse("braze-settings")}">Connect Braze in Settings</a>' in owner_html
    editor_html = logged_in(editor).get(page_url(pulse)).content.decode()
    assert "Ask an owner of the workspace to connect it in Settings → Braze." in editor_html


@pytest.mark.django_db
def test_a_connected_workspace_shows_no_notice(
    owner: User, pulse: Survey, connected: BrazeSettings
) -> None:
    assert b'id="not-connected"' not in logged_in(owner).get(page_url(pulse)).content


# --- Who may do what ------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_viewer_sees_the_integration_read_only_and_is_refused_a_save(
    viewer: User, pulse: Survey
) -> None:
    client = logged_in(viewer)
    html = client.get(page_url(pulse)).content.decode()
    assert 'name="enabled" disabled id="id_enabled"' in html
    assert 'name="name_nps"' in html and 'type="submit"' not in html.split('id="main"')[1]
    response = client.post(page_url(pulse), form(pulse))
    assert response.status_code == 403
    assert not SurveyBraze.objects.exists()
    assert destinations(pulse) == []


@pytest.mark.django_db
def test_another_workspace_survey_has_no_braze_page(outsider: User, pulse: Survey) -> None:
    client = logged_in(outsider)
    assert client.get(page_url(pulse)).status_code == 404
    assert client.post(page_url(pulse), form(pulse)).status_code == 404
    assert client.get(reverse("survey-braze", args=[999999])).status_code == 404
    assert not SurveyBraze.objects.exists()


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_sign_in(pulse: Survey) -> None:
    for method in ("get", "post"):
        response = getattr(Client(), method)(page_url(pulse), form(pulse))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login") + "?next=")
    assert not SurveyBraze.objects.exists()


@pytest.mark.django_db
def test_the_braze_form_refuses_a_post_without_a_csrf_token(owner: User, pulse: Survey) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    html = client.get(page_url(pulse)).content.decode()
    assert html.count('name="csrfmiddlewaretoken"') == html.count('method="post"')
    assert client.post(page_url(pulse), form(pulse)).status_code == 403
    assert not SurveyBraze.objects.exists()


# --- In a browser ------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_braze_pages_have_no_serious_accessibility_violation(
    live_server: Any, phone: Any, owner: User, pulse: Survey, connected: BrazeSettings
) -> None:
    from django.conf import settings

    from tests.browser_fixtures import screenshot, serious_violations

    client = logged_in(owner)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    phone.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}]
    )
    phone.goto(live_server.url + reverse("braze-settings"))
    assert phone.get_by_role("heading", name="Braze", exact=True).is_visible()
    assert serious_violations(phone) == []
    screenshot(phone, "braze-settings-phone")

    phone.goto(live_server.url + page_url(pulse))
    phone.get_by_label("Send answers to Braze").check()
    phone.get_by_role("button", name="Save").click()
    phone.wait_for_load_state()
    assert "user_braze_id={{${braze_id}}}" in phone.content()
    assert serious_violations(phone) == []
    screenshot(phone, "braze-survey-integration-phone")
