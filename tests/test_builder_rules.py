"""Skip logic in the builder: a condition on every question but the first, with operators and
answers that fit the question it looks at, read back as a sentence, and kept whole when the
questions around it move, change or go."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from sounding.accounts.models import User, Workspace
from sounding.surveys.models import Survey
from tests.conftest import EVERY_TYPE, logged_in
from tests.test_builder_editing import edit_data, keys, question, save, url


@pytest.fixture
def pulse(workspace: Workspace, owner: User) -> Survey:
    return Survey.create(workspace, EVERY_TYPE, owner)


@pytest.fixture
def client(editor: User) -> Client:
    return logged_in(editor)


def rule(survey: Survey, key: str) -> Any:
    return question(survey, key).get("show_if")


@pytest.mark.parametrize(
    ("key", "typed", "expected", "sentence"),
    [
        (
            "feedback",
            {"rule_question": "nps", "rule_op": "less_than", "rule_number": "7"},
            {"question": "nps", "op": "less_than", "value": 7},
            "Only if <em>How likely are you to recommend us?</em> is less than 7",
        ),
        (
            "feedback",
            {"rule_question": "nps", "rule_op": "one_of", "rule_number": "9, 10"},
            {"question": "nps", "op": "one_of", "value": [9, 10]},
            "is one of 9 or 10",
        ),
        (
            "seats",
            {"rule_question": "plan", "rule_op": "one_of", "rule_choice": ["Pro", "Enterprise"]},
            {"question": "plan", "op": "one_of", "value": ["Pro", "Enterprise"]},
            "<em>Which plan are you on?</em> is one of Pro or Enterprise",
        ),
        (
            "country",
            {"rule_question": "channels", "rule_op": "equals", "rule_choice": ["SMS"]},
            {"question": "channels", "op": "equals", "value": "SMS"},
            "<em>Where do you hear from us?</em> includes SMS",
        ),
        (
            "feedback",
            {"rule_question": "renew", "rule_op": "equals", "rule_yes_no": "no"},
            {"question": "renew", "op": "equals", "value": False},
            "<em>Will you renew?</em> is no",
        ),
        (
            "contact",
            {"rule_question": "nickname", "rule_op": "equals", "rule_text": "Sam"},
            {"question": "nickname", "op": "equals", "value": "Sam"},
            "<em>What should we call you?</em> is Sam",
        ),
    ],
)
@pytest.mark.django_db
def test_a_condition_is_set_from_the_editor_and_read_back_as_a_sentence(
    client: Client,
    pulse: Survey,
    key: str,
    typed: dict[str, Any],
    expected: dict[str, Any],
    sentence: str,
) -> None:
    response = save(client, pulse, key, **typed)
    assert response.status_code == 302, response.content.decode()[-3000:]
    assert rule(pulse, key) == expected
    html = client.get(pulse.get_absolute_url()).content.decode()
    assert sentence in html


@pytest.mark.django_db
def test_the_editor_offers_only_earlier_questions_and_the_first_has_no_condition(
    client: Client, pulse: Survey
) -> None:
    html = client.get(pulse.get_absolute_url()).content.decode()
    assert 'name="q-nps-rule_question"' not in html
    options = html.split('name="q-plan-rule_question"')[1].split("</select>")[0]
    assert ">1. How likely are you to recommend us?</option>" in options
    assert ">4. How easy was it?</option>" in options
    assert "Which plan" not in options and "Where do you live" not in options


@pytest.mark.parametrize(
    ("key", "typed", "field", "message"),
    [
        (
            "feedback",
            {"rule_question": "renew", "rule_op": "less_than", "rule_yes_no": "yes"},
            "rule_op",
            "For this question, choose “is”.",
        ),
        ("feedback", {"rule_question": "nps"}, "rule_op", "Choose a condition."),
        (
            "feedback",
            {"rule_question": "nps", "rule_op": "equals", "rule_number": "many"},
            "rule_number",
            "Enter a number, like 7.",
        ),
        (
            "feedback",
            {"rule_question": "nps", "rule_op": "equals", "rule_number": "42"},
            "rule_number",
            "Is not an answer that question can have.",
        ),
        (
            "seats",
            {"rule_question": "plan", "rule_op": "equals", "rule_choice": ["Pro", "Free"]},
            "rule_choice",
            "Give one answer here, or choose “is one of”.",
        ),
        (
            "seats",
            {"rule_question": "plan", "rule_op": "one_of"},
            "rule_choice",
            "Choose or enter the answer this depends on.",
        ),
    ],
)
@pytest.mark.django_db
def test_a_condition_that_does_not_fit_is_shown_again_with_the_problem_by_its_field(
    client: Client, pulse: Survey, key: str, typed: dict[str, Any], field: str, message: str
) -> None:
    response = save(client, pulse, key, **typed)
    assert response.status_code == 200
    assert message in response.content.decode()
    row = next(r for r in response.context["questions"] if r.question["key"] == key)
    assert row.open and row.form.errors[field] == [message]
    assert rule(pulse, key) is None


@pytest.mark.django_db
def test_without_javascript_choosing_the_question_shows_its_answers_without_saving(
    client: Client, pulse: Survey
) -> None:
    data = edit_data(pulse, "seats", prompt="Changed meanwhile", rule_question="plan")
    data["q-seats-_refresh"] = "1"
    data["_refresh"] = "1"
    response = client.post(url("question-edit", pulse, "seats"), data)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="q-seats-rule_choice" value="Enterprise"' in html
    assert "Changed meanwhile</textarea>" in html
    assert 'class="errorlist"' not in html
    assert question(pulse, "seats")["prompt"] == "How many seats?"


@pytest.mark.django_db
def test_a_question_others_depend_on_is_not_deleted_without_saying_so(
    client: Client, pulse: Survey
) -> None:
    save(client, pulse, "feedback", rule_question="nps", rule_op="less_than", rule_number="7")
    confirm = client.post(url("question-delete", pulse, "nps"))
    html = confirm.content.decode()
    assert confirm.status_code == 200
    assert "shown only depending on its answer" in html
    assert "“Anything else?”" in html
    assert "nps" in keys(pulse)
    data = dict(confirm.context["carried"])
    confirmed = {**data, "confirm": "yes", "drop_rules": "yes"}
    client.post(url("question-delete", pulse, "nps"), confirmed)
    assert "nps" not in keys(pulse)
    assert rule(pulse, "feedback") is None


@pytest.mark.django_db
def test_a_move_that_would_break_a_condition_is_refused_with_a_reason(
    client: Client, pulse: Survey
) -> None:
    save(client, pulse, "rating", rule_question="nps", rule_op="greater_than", rule_number="8")
    before = keys(pulse)
    response = client.post(url("question-move", pulse, "rating"), {"direction": "up"}, follow=True)
    assert "“Rate the app” must stay after “How likely are you to recommend us?”" in (
        response.content.decode()
    )
    moved = client.post(
        url("question-move", pulse, "nps"),
        {"position": "5"},
        HTTP_ACCEPT="application/json",
    )
    assert moved.status_code == 409
    assert "must stay after" in moved.json()["error"]
    assert keys(pulse) == before


@pytest.mark.django_db
def test_renaming_a_key_or_a_choice_carries_over_to_the_conditions_on_it(
    client: Client, pulse: Survey
) -> None:
    save(client, pulse, "seats", rule_question="plan", rule_op="equals", rule_choice=["Pro"])
    assert save(client, pulse, "plan", key="tier").status_code == 302
    assert rule(pulse, "seats") == {"question": "tier", "op": "equals", "value": "Pro"}
    assert save(client, pulse, "tier", choices="Free\nPro plus\nEnterprise").status_code == 302
    assert rule(pulse, "seats")["value"] == "Pro plus"


@pytest.mark.django_db
def test_removing_a_choice_a_condition_uses_is_refused_in_words(
    client: Client, pulse: Survey
) -> None:
    save(client, pulse, "seats", rule_question="plan", rule_op="equals", rule_choice=["Pro"])
    response = save(client, pulse, "plan", choices="Free\nEnterprise")
    html = response.content.decode()
    assert response.status_code == 200
    assert "“How many seats?”, is shown depending on this one" in html
    assert question(pulse, "plan")["choices"] == ["Free", "Pro", "Enterprise"]


@pytest.mark.django_db
def test_a_condition_is_removed_by_choosing_always(client: Client, pulse: Survey) -> None:
    save(client, pulse, "feedback", rule_question="renew", rule_op="equals", rule_yes_no="yes")
    assert rule(pulse, "feedback") is not None
    save(client, pulse, "feedback", rule_question="")
    assert rule(pulse, "feedback") is None
