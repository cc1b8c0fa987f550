"""The survey builder: every question edited in place, added where wanted, duplicated; texts
edited; stale pages refused; and who may do any of it."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from sounding.accounts.models import User, Workspace
from sounding.answers.models import Answer, Response
from sounding.authoring.forms import initial_for
from sounding.surveys.models import Survey
from tests.conftest import EVERY_TYPE, logged_in


def url(name: str, survey: Survey, *extra: str) -> str:
    return reverse(name, args=[survey.pk, *extra])


def question(survey: Survey, key: str) -> dict[str, Any]:
    survey.refresh_from_db()
    return next(q for q in survey.definition["questions"] if q["key"] == key)


def keys(survey: Survey) -> list[str]:
    survey.refresh_from_db()
    return [q["key"] for q in survey.definition["questions"]]


def edit_data(survey: Survey, which: str, **changes: Any) -> dict[str, Any]:
    """What the editor of question `which` posts: the saved question as its form shows it,
    with `changes` typed over it (None clears a field)."""
    values: dict[str, Any] = {**initial_for(question(survey, which)), **changes}
    values["version"] = survey.version
    data: dict[str, Any] = {}
    for name, value in values.items():
        if value is None or value is False or value == []:
            continue
        data[f"q-{which}-{name}"] = "on" if value is True else value
    return data


def save(client: Client, survey: Survey, which: str, **changes: Any) -> Any:
    return client.post(url("question-edit", survey, which), edit_data(survey, which, **changes))


def answer(survey: Survey, **values: Any) -> Response:
    response = Response.objects.create(survey=survey)
    for key, value in values.items():
        Answer.objects.create(response=response, question_key=key, value=value)
    return response


@pytest.fixture
def pulse(workspace: Workspace, owner: User) -> Survey:
    return Survey.create(workspace, EVERY_TYPE, owner)


# --- Editing in place --------------------------------------------------------------------------


@pytest.mark.django_db
def test_every_question_shows_an_editor_filled_with_what_is_saved(
    editor: User, pulse: Survey
) -> None:
    page = logged_in(editor).get(pulse.get_absolute_url())
    html = page.content.decode()
    for q in pulse.definition["questions"]:
        assert f'action="{url("question-edit", pulse, q["key"])}#q-{q["key"]}"' in html
    assert 'name="q-plan-choices"' in html
    assert "Free\nPro\nEnterprise</textarea>" in html
    assert 'name="q-effort-min_label" value="Very hard"' in html
    assert 'name="q-csat-label_5" value="Very satisfied"' in html
    assert html.count(f'name="q-nps-version" value="{pulse.version}"') == 1


@pytest.mark.django_db
def test_a_question_is_edited_in_place_with_every_field_of_its_type(
    editor: User, pulse: Survey
) -> None:
    client = logged_in(editor)
    response = save(
        client,
        pulse,
        "channels",
        prompt="How do you hear from us?",
        help="Pick all that apply",
        required=True,
        choices="Email\nPush\nSMS\nIn-app",
        allow_other=True,
        other_label="Somewhere else",
    )
    assert response.status_code == 302
    assert response["Location"] == pulse.get_absolute_url() + "#q-channels"
    assert question(pulse, "channels") == {
        "key": "channels",
        "type": "multiple_choice",
        "prompt": "How do you hear from us?",
        "help": "Pick all that apply",
        "required": True,
        "choices": ["Email", "Push", "SMS", "In-app"],
        "allow_other": True,
        "other_label": "Somewhere else",
    }
    save(client, pulse, "effort", min=0, max=10, min_label="Hard", max_label="Easy")
    assert question(pulse, "effort")["min"] == 0 and question(pulse, "effort")["max"] == 10
    labels = {f"label_{n}": f"L{n}" for n in range(1, 6)}
    save(client, pulse, "csat", **labels)
    assert question(pulse, "csat")["labels"] == ["L1", "L2", "L3", "L4", "L5"]
    save(client, pulse, "nickname", placeholder="Sam")
    assert question(pulse, "nickname")["placeholder"] == "Sam"
    page = client.get(pulse.get_absolute_url()).content.decode()
    assert "Saved “How do you hear from us?”." in page
    assert "Somewhere else (with a text box)" in page


@pytest.mark.django_db
def test_a_failed_save_shows_what_was_typed_with_the_error_beside_the_field(
    editor: User, pulse: Survey
) -> None:
    before = pulse.definition
    response = save(logged_in(editor), pulse, "plan", prompt="Your plan?", choices="Pro\nPro")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Your plan?</textarea>" in html
    assert 'id="id_q-plan-choices_error"' in html
    assert "Repeats the choice" in html
    assert '<details class="q-edit" id="edit-plan" data-editor="plan" open>' in html
    pulse.refresh_from_db()
    assert pulse.definition == before


@pytest.mark.django_db
def test_a_stale_page_is_refused_with_409_and_keeps_what_was_typed(
    editor: User, owner: User, pulse: Survey
) -> None:
    typed = edit_data(pulse, "plan", prompt="Typed on an old page")
    logged_in(owner).post(url("question-edit", pulse, "rating"), edit_data(pulse, "rating"))
    response = logged_in(editor).post(url("question-edit", pulse, "plan"), typed)
    html = response.content.decode()
    assert response.status_code == 409
    assert "Someone else changed this survey while you were editing" in html
    assert "Typed on an old page</textarea>" in html
    pulse.refresh_from_db()
    assert question(pulse, "plan")["prompt"] == "Which plan are you on?"
    # The form now carries the current version: saving again is a conscious choice.
    assert f'name="q-plan-version" value="{pulse.version}"' in html
    assert response.context["stale"] is True


@pytest.mark.django_db
def test_stale_buttons_and_text_forms_are_refused_too(editor: User, pulse: Survey) -> None:
    client = logged_in(editor)
    old = pulse.version
    save(client, pulse, "rating", prompt="Rate us")
    moved = client.post(url("question-move", pulse, "csat"), {"direction": "up", "version": old})
    texts = client.post(url("survey-edit", pulse), {"title": "Renamed", "version": old})
    assert (moved.status_code, texts.status_code) == (409, 409)
    assert keys(pulse)[:3] == ["nps", "rating", "csat"]
    assert pulse.title == "Customer pulse"
    assert 'value="Renamed"' in texts.content.decode()


@pytest.mark.django_db
def test_the_key_can_change_until_there_are_responses_and_is_fixed_after(
    editor: User, pulse: Survey
) -> None:
    client = logged_in(editor)
    assert save(client, pulse, "nickname", key="name").status_code == 302
    assert "name" in keys(pulse) and "nickname" not in keys(pulse)
    taken = save(client, pulse, "name", key="plan")
    assert "Another question already has this key." in taken.content.decode()
    answer(pulse, name="Sam")
    html = client.get(pulse.get_absolute_url()).content.decode()
    assert 'name="q-name-key" value="name" maxlength="64" readonly' in html
    response = save(client, pulse, "name", key="first_name")
    assert response.status_code == 200
    assert "The key cannot change once the survey has responses." in response.content.decode()
    assert "name" in keys(pulse)


@pytest.mark.django_db
def test_the_type_changes_freely_without_answers_and_only_compatibly_with_them(
    editor: User, pulse: Survey
) -> None:
    client = logged_in(editor)
    assert save(client, pulse, "renew", type="short_text").status_code == 302
    assert question(pulse, "renew")["type"] == "short_text"
    answer(pulse, plan="Pro", rating=4)
    refused = save(client, pulse, "plan", type="short_text")
    assert refused.status_code == 200
    assert "it can only become a type that stores answers the same way" in refused.content.decode()
    assert question(pulse, "plan")["type"] == "single_choice"
    assert save(client, pulse, "plan", type="dropdown").status_code == 302
    assert question(pulse, "plan")["type"] == "dropdown"
    html = client.get(pulse.get_absolute_url()).content.decode()
    rating_types = html.split('id="id_q-rating-type"')[1].split("</select>")[0]
    assert 'value="nps"' in rating_types and 'value="yes_no"' not in rating_types


@pytest.mark.django_db
def test_a_question_is_added_after_a_given_one_and_opens_where_it_landed(
    editor: User, pulse: Survey
) -> None:
    data = {"type": "yes_no", "prompt": "Would you come back?", "after": "rating"}
    response = logged_in(editor).post(url("question-add", pulse), data)
    assert response["Location"] == pulse.get_absolute_url() + "#q-would_you_come_back"
    assert keys(pulse)[:3] == ["nps", "rating", "would_you_come_back"]


@pytest.mark.django_db
def test_a_duplicate_comes_right_after_with_a_new_key_and_opens_its_editor(
    editor: User, pulse: Survey
) -> None:
    client = logged_in(editor)
    response = client.post(url("question-duplicate", pulse, "plan"))
    assert response["Location"] == pulse.get_absolute_url() + "?edit=plan_copy#q-plan_copy"
    assert keys(pulse)[4:6] == ["plan", "plan_copy"]
    copy = question(pulse, "plan_copy")
    assert {**copy, "key": "plan"} == question(pulse, "plan")
    client.post(url("question-duplicate", pulse, "plan"))
    assert keys(pulse)[4:7] == ["plan", "plan_copy2", "plan_copy"]
    page = client.get(response["Location"])
    assert '<details class="q-edit" id="edit-plan_copy" data-editor="plan_copy" open>' in (
        page.content.decode()
    )


@pytest.mark.django_db
def test_the_intro_and_thank_you_texts_are_editable(editor: User, pulse: Survey) -> None:
    data = {"title": "Pulse", "intro": "Two minutes.", "thank_you": "Merci !", "version": 1}
    assert logged_in(editor).post(url("survey-edit", pulse), data).status_code == 302
    pulse.refresh_from_db()
    assert (pulse.definition["intro"], pulse.definition["thank_you"]) == ("Two minutes.", "Merci !")


@pytest.mark.django_db
def test_the_page_shows_the_preview_and_the_survey_tabs(viewer: User, pulse: Survey) -> None:
    html = logged_in(viewer).get(pulse.get_absolute_url()).content.decode()
    preview = f"{pulse.public_path()}?preview=1"
    assert f'<iframe title="Preview" src="{preview}&amp;q=nps"' in html
    assert f'href="{preview}" target="_blank" rel="noopener"' in html
    nav = html.split('<nav aria-label="Survey"')[1].split("</nav>")[0]
    for name in ("Share", "Integrations", "Deliveries"):
        assert f">{name}</a>" in nav
    assert url("survey-deliveries", pulse) in nav


# --- Who may do what ---------------------------------------------------------------------------


def main(response: Any) -> str:
    """The page's own content, without the header every page has (sign out, workspace)."""
    return str(response.content.decode().split("<main")[1])


def builder_requests(survey: Survey) -> list[tuple[str, dict[str, Any]]]:
    return [
        (url("question-edit", survey, "plan"), edit_data(survey, "plan", prompt="Hacked")),
        (url("question-duplicate", survey, "plan"), {}),
        (url("question-delete", survey, "plan"), {"confirm": "yes"}),
        (url("question-move", survey, "plan"), {"position": "1"}),
        (url("question-undo", survey), {}),
        (url("question-add", survey), {"type": "yes_no", "prompt": "New?", "after": "nps"}),
        (url("survey-hidden-fields", survey), {"names": "hacked", "version": survey.version}),
    ]


@pytest.mark.django_db
def test_a_viewer_sees_the_survey_read_only_and_every_edit_is_refused(
    viewer: User, pulse: Survey
) -> None:
    client = logged_in(viewer)
    html = main(client.get(pulse.get_absolute_url()))
    assert "<form" not in html and 'type="submit"' not in html
    assert "data-editor" not in html and "builder-data" not in html
    assert "Which plan are you on?" in html
    before = pulse.definition
    for target, data in builder_requests(pulse):
        response = client.post(target, data)
        assert response.status_code == 403, target
    assert "<form" not in main(client.get(url("survey-detail", pulse) + "?edit=plan"))
    pulse.refresh_from_db()
    assert pulse.definition == before


@pytest.mark.django_db
def test_another_workspace_cannot_reach_any_builder_url(outsider: User, pulse: Survey) -> None:
    client = logged_in(outsider)
    before = pulse.definition
    for target, data in builder_requests(pulse):
        assert client.post(target, data).status_code == 404, target
    pulse.refresh_from_db()
    assert pulse.definition == before


@pytest.mark.django_db
def test_builder_urls_only_take_posts(editor: User, pulse: Survey) -> None:
    client = logged_in(editor)
    for target, _data in builder_requests(pulse):
        assert client.get(target).status_code == 405, target


@pytest.mark.django_db
def test_the_preview_never_says_answers_were_saved(owner: User, workspace: Workspace) -> None:
    empty = Survey.create(workspace, {"title": "Empty"}, owner)
    html = logged_in(owner).get(f"{empty.public_path()}?preview=1").content.decode()
    assert "answers are not saved" in html
    assert "Your answers have been saved." not in html
    assert "No questions yet" in html

    one = Survey.create(
        workspace,
        {"title": "One", "questions": [{"key": "ok", "type": "yes_no", "prompt": "OK?"}]},
        owner,
    )
    client = logged_in(owner)
    done = client.post(f"{one.public_path()}?preview=1", {"q": "ok", "ok": "yes"}, follow=True)
    html = done.content.decode()
    assert "Thank you!" in html
    assert (
        "Respondents read “Your answers have been saved.” here. This preview saved nothing." in html
    )
