"""Undoing a deletion: the question comes back where it was, with its key, its condition, its
translations and the conditions that leaned on it; without JavaScript, from the message."""

from __future__ import annotations

import copy

import pytest
from django.test import Client

from sounding.accounts.models import User, Workspace
from sounding.surveys.models import Status, Survey
from tests.conftest import EVERY_TYPE, logged_in
from tests.test_builder_editing import keys, question, save, url

TRANSLATED = {
    **copy.deepcopy(EVERY_TYPE),
    "translations": {
        "fr": {
            "title": "Pouls client",
            "questions": {
                "plan": {"prompt": "Quelle offre avez-vous ?", "choices": {"Free": "Gratuite"}},
                "nps": {"prompt": "Nous recommanderiez-vous ?"},
            },
        }
    },
}


@pytest.fixture
def pulse(workspace: Workspace, owner: User) -> Survey:
    return Survey.create(workspace, TRANSLATED, owner)


@pytest.fixture
def client(editor: User) -> Client:
    return logged_in(editor)


@pytest.mark.django_db
def test_a_deleted_question_comes_back_in_place_with_its_key_rule_and_translations(
    client: Client, pulse: Survey
) -> None:
    save(client, pulse, "seats", rule_question="plan", rule_op="equals", rule_choice=["Pro"])
    save(client, pulse, "plan", rule_question="nps", rule_op="greater_than", rule_number="6")
    pulse.refresh_from_db()
    before = pulse.definition
    deleted = client.post(url("question-delete", pulse, "plan"), {"drop_rules": "yes"})
    assert deleted.status_code == 302
    assert "plan" not in keys(pulse)
    assert "plan" not in pulse.definition["translations"]["fr"]["questions"]
    assert "show_if" not in question(pulse, "seats")

    page = client.get(pulse.get_absolute_url()).content.decode()
    assert "Question deleted: “Which plan are you on?”." in page
    assert f'action="{url("question-undo", pulse)}"' in page

    response = client.post(url("question-undo", pulse), follow=True)
    assert "“Which plan are you on?” is back." in response.content.decode()
    pulse.refresh_from_db()
    assert pulse.definition == before
    assert "Question deleted" not in client.get(pulse.get_absolute_url()).content.decode()


@pytest.mark.django_db
def test_undo_is_offered_once_and_only_to_the_author_of_the_deletion(
    client: Client, owner: User, pulse: Survey
) -> None:
    client.post(url("question-delete", pulse, "rating"))
    other = logged_in(owner)
    assert "Question deleted" not in other.get(pulse.get_absolute_url()).content.decode()
    assert other.post(url("question-undo", pulse)).status_code == 302
    assert "rating" not in keys(pulse)
    client.post(url("question-undo", pulse))
    assert keys(pulse)[1] == "rating"
    again = client.post(url("question-undo", pulse), follow=True)
    assert "There is no deletion to undo any more." in again.content.decode()
    assert keys(pulse).count("rating") == 1


@pytest.mark.django_db
def test_undo_still_works_after_other_edits_and_refuses_a_taken_key(
    client: Client, pulse: Survey
) -> None:
    client.post(url("question-delete", pulse, "rating"))
    client.post(url("question-move", pulse, "csat"), {"direction": "up"})
    client.post(url("question-undo", pulse))
    assert keys(pulse)[:3] == ["csat", "rating", "nps"]

    client.post(url("question-delete", pulse, "renew"))
    client.post(url("question-add", pulse), {"type": "yes_no", "prompt": "x", "key": "renew"})
    response = client.post(url("question-undo", pulse), follow=True)
    assert "Another question now has the key “renew”" in response.content.decode()
    assert question(pulse, "renew")["prompt"] == "x"


@pytest.mark.django_db
def test_the_last_question_of_a_live_survey_is_kept_and_nothing_is_offered_to_undo(
    client: Client, workspace: Workspace
) -> None:
    survey = Survey.create(
        workspace, {"title": "One", "questions": [{"key": "a", "type": "yes_no", "prompt": "A?"}]}
    )
    survey.set_status(Status.LIVE)
    response = client.post(url("question-delete", survey, "a"), follow=True)
    html = response.content.decode()
    assert "A live survey needs at least one question" in html
    assert "Question deleted" not in html
    assert keys(survey) == ["a"]
