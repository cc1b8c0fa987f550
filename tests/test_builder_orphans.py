"""On a survey with responses, an edit that leaves answers behind (a question deleted, a choice
removed or renamed) says how many first, and a renamed choice can keep its answers."""

from __future__ import annotations

import pytest
from django.test import Client

from sounding.accounts.models import User, Workspace
from sounding.answers.models import Answer
from sounding.surveys.models import Survey
from tests.conftest import EVERY_TYPE, logged_in
from tests.test_builder_editing import answer, edit_data, keys, question, save, url


@pytest.fixture
def pulse(workspace: Workspace, owner: User) -> Survey:
    survey = Survey.create(workspace, EVERY_TYPE, owner)
    answer(survey, plan="Pro", channels=["Email", "Push"], rating=4)
    answer(survey, plan="Pro", channels=["Push"])
    answer(survey, plan="Free", channels=["Email", "Carrier pigeon"])
    return survey


@pytest.fixture
def client(editor: User) -> Client:
    return logged_in(editor)


def stored(key: str) -> list[object]:
    return sorted(
        repr(v) for v in Answer.objects.filter(question_key=key).values_list("value", flat=True)
    )


@pytest.mark.django_db
def test_deleting_an_answered_question_says_how_many_answers_and_that_they_stay(
    client: Client, pulse: Survey
) -> None:
    page = client.post(url("question-delete", pulse, "plan"), {"version": pulse.version})
    html = page.content.decode()
    assert page.status_code == 200
    assert "This question has <strong>3 answers</strong>." in html
    assert "They stay stored and readable" in html
    assert "plan" in keys(pulse)
    carried = dict(page.context["carried"])
    assert carried == {"version": str(pulse.version)}
    done = client.post(url("question-delete", pulse, "plan"), {**carried, "confirm": "yes"})
    assert done.status_code == 302
    assert "plan" not in keys(pulse)
    assert Answer.objects.filter(question_key="plan").count() == 3


@pytest.mark.django_db
def test_a_question_without_answers_goes_at_once(client: Client, pulse: Survey) -> None:
    assert client.post(url("question-delete", pulse, "since")).status_code == 302
    assert "since" not in keys(pulse)


@pytest.mark.django_db
def test_removing_a_choice_answers_use_asks_first_with_the_count_per_choice(
    client: Client, pulse: Survey
) -> None:
    response = save(client, pulse, "channels", choices="Push\nSMS")
    html = response.content.decode()
    assert response.status_code == 200
    assert "“Email”: <strong>2 answers</strong>" in html
    assert "Those answers stay stored and readable" in html
    assert question(pulse, "channels")["choices"] == ["Email", "Push", "SMS"]
    confirm = dict(response.context["carried"])
    client.post(url("question-edit", pulse, "channels"), {**confirm, "confirm": "yes"})
    assert question(pulse, "channels")["choices"] == ["Push", "SMS"]
    assert stored("channels") == sorted(
        repr(v) for v in (["Email", "Push"], ["Push"], ["Email", "Carrier pigeon"])
    )


@pytest.mark.django_db
def test_a_renamed_choice_can_keep_its_answers_matched(client: Client, pulse: Survey) -> None:
    response = save(client, pulse, "plan", choices="Free\nProfessional\nEnterprise")
    html = response.content.decode()
    assert "“Pro” → “Professional”: <strong>2 answers</strong>" in html
    assert 'name="keep_answers" value="yes"' in html
    typed = dict(response.context["carried"])
    confirmed = {**typed, "confirm": "yes", "keep_answers": "yes"}
    client.post(url("question-edit", pulse, "plan"), confirmed)
    assert question(pulse, "plan")["choices"] == ["Free", "Professional", "Enterprise"]
    assert stored("plan") == sorted([repr("Free"), repr("Professional"), repr("Professional")])


@pytest.mark.django_db
def test_a_renamed_choice_may_leave_its_answers_as_given(client: Client, pulse: Survey) -> None:
    data = edit_data(pulse, "channels", choices="E-mail\nPush\nSMS")
    data["q-channels-choice_origins"] = '["Email", "Push", "SMS"]'
    confirmed = {**data, "confirm": "yes", "keep_answers": "no"}
    client.post(url("question-edit", pulse, "channels"), confirmed)
    assert question(pulse, "channels")["choices"] == ["E-mail", "Push", "SMS"]
    assert repr(["Email", "Push"]) in stored("channels")


@pytest.mark.django_db
def test_the_choice_editor_names_renames_even_when_choices_were_reordered(
    client: Client, pulse: Survey
) -> None:
    data = edit_data(pulse, "channels", choices="SMS\nMail\nPush")
    data["q-channels-choice_origins"] = '["SMS", "Email", "Push"]'
    page = client.post(url("question-edit", pulse, "channels"), data)
    assert "“Email” → “Mail”: <strong>2 answers</strong>" in page.content.decode()
    client.post(url("question-edit", pulse, "channels"), {**data, "confirm": "yes"})
    assert stored("channels") == sorted(
        repr(v) for v in (["Mail", "Push"], ["Push"], ["Mail", "Carrier pigeon"])
    )


@pytest.mark.django_db
def test_adding_or_reordering_choices_needs_no_confirmation(client: Client, pulse: Survey) -> None:
    response = save(client, pulse, "plan", choices="Enterprise\nPro\nFree\nStudent")
    assert response.status_code == 302
    assert question(pulse, "plan")["choices"] == ["Enterprise", "Pro", "Free", "Student"]
