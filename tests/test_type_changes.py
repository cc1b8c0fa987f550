"""One rule for changing an answered question, whoever changes it: the API and the builder
save through the model, which refuses a change its stored answers would not survive."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from sounding.accounts.models import User, Workspace
from sounding.answers.models import Answer, Response
from sounding.authoring.forms import initial_for
from sounding.delivery.models import Push, PushState
from sounding.surveys.definition import DefinitionError
from sounding.surveys.models import Survey
from tests.conftest import EVERY_TYPE, logged_in
from tests.delivery_fixtures import drain, respond
from tests.standin import StandinHarness


def answer(survey: Survey, **values: Any) -> Response:
    response = Response.objects.create(survey=survey)
    for key, value in values.items():
        Answer.objects.create(response=response, question_key=key, value=value)
    return response


def changed(survey: Survey, key: str, **fields: Any) -> dict[str, Any]:
    """The survey's definition with question `key` changed (a `None` field is removed)."""
    definition = copy.deepcopy(survey.definition)
    question = next(q for q in definition["questions"] if q["key"] == key)
    question.update(fields)
    for name in [name for name, value in fields.items() if value is None]:
        del question[name]
    return definition


def put(api: Client, survey: Survey, definition: dict[str, Any]) -> Any:
    return api.put(
        f"/api/v1/surveys/{survey.pk}", json.dumps(definition), content_type="application/json"
    )


@pytest.fixture
def api(owner_token: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {owner_token}")


@pytest.fixture
def survey(workspace: Workspace, owner: User) -> Survey:
    return Survey.create(workspace, EVERY_TYPE, owner)


TO_MULTIPLE = {"type": "multiple_choice", "choices": ["0", "10"], "min_label": None}


@pytest.mark.django_db
def test_the_api_refuses_to_turn_an_answered_score_into_a_multiple_choice(
    api: Client, survey: Survey
) -> None:
    answer(survey, nps=9)

    refused = put(api, survey, changed(survey, "nps", **TO_MULTIPLE, max_label=None))

    assert refused.status_code == 400, refused.content
    (error,) = refused.json()["errors"]
    assert error["path"] == "$.questions[0].type"
    assert error["message"] == (
        "cannot change from nps to multiple_choice: its 1 answer is stored as whole numbers, "
        "which a multiple_choice question does not read"
    )
    survey.refresh_from_db()
    assert survey.spec.get("nps").type == "nps" and survey.version == 1
    # A question nobody answered may still become anything.
    unanswered = changed(survey, "rating", type="yes_no", min_label=None, max_label=None)
    assert put(api, survey, unanswered).status_code == 200


def outcome(api: Client, workspace: Workspace, key: str, **fields: Any) -> str:
    """What one change of question `key` does to a fresh survey where `key` has an answer (only
    whether it has one matters): "saved", or the refused field and why."""
    survey = Survey.create(workspace, EVERY_TYPE)
    answer(survey, **{key: "stored"})
    reply = put(api, survey, changed(survey, key, **fields))
    if reply.status_code == 200:
        return "saved"
    assert reply.status_code == 400, reply.content
    (error,) = reply.json()["errors"]
    index = survey.spec.position(key)
    return f"{error['path'].removeprefix(f'$.questions[{index}].')}: {error['message']}"


NO_LABELS = {"min_label": None, "max_label": None}


@pytest.mark.django_db
def test_a_score_may_widen_its_range_or_become_a_number_but_never_narrow(
    api: Client, workspace: Workspace
) -> None:
    assert outcome(api, workspace, "rating", type="nps") == "saved"  # 1-5 fit in 0-10
    assert outcome(api, workspace, "rating", type="csat", **NO_LABELS) == "saved"
    assert outcome(api, workspace, "csat", type="rating", labels=None) == "saved"
    assert outcome(api, workspace, "effort", min=0, max=10) == "saved"
    assert outcome(api, workspace, "nps", type="number", **NO_LABELS) == "saved"
    # A 9 out of 10 is no rating from 1 to 5.
    assert outcome(api, workspace, "nps", type="rating", **NO_LABELS).startswith(
        "type: must keep every score from 0 to 10: its 1 answer may hold any of them"
    )
    assert outcome(api, workspace, "effort", max=5).startswith("max: must keep every score")
    assert outcome(api, workspace, "effort", min=2, max=9).startswith("min: must keep every")


@pytest.mark.django_db
def test_a_number_stays_a_number(api: Client, workspace: Workspace) -> None:
    # 2.5 seats, or 5000, are no score.
    scale = {"type": "scale", "min": 1, "max": 10, "placeholder": None}
    assert outcome(api, workspace, "seats", **scale).startswith(
        "type: cannot change from number to scale: its 1 answer is stored as numbers"
    )


@pytest.mark.django_db
def test_a_single_choice_and_a_dropdown_swap_only_keeping_every_choice(
    api: Client, workspace: Workspace
) -> None:
    more = ["Free", "Pro", "Enterprise", "Team"]
    assert outcome(api, workspace, "plan", type="dropdown", choices=more) == "saved"
    assert outcome(api, workspace, "country", type="single_choice") == "saved"
    # Within a type, a removed choice leaves its answers stored, as the builder explains.
    assert outcome(api, workspace, "channels", choices=["Email", "Push"]) == "saved"
    assert outcome(api, workspace, "plan", type="dropdown", choices=["Free", "Pro"]) == (
        "type: must keep every choice while changing from single_choice to dropdown (its 1 "
        "answer may name “Enterprise”): change the type first, then the choices"
    )
    assert "stored as the text of one choice" in outcome(
        api, workspace, "plan", type="multiple_choice"
    )
    assert "stored as lists of choices" in outcome(
        api, workspace, "channels", type="single_choice", allow_other=False
    )


@pytest.mark.django_db
def test_texts_change_among_themselves_and_nothing_else_becomes_text(
    api: Client, workspace: Workspace
) -> None:
    assert outcome(api, workspace, "nickname", type="long_text") == "saved"
    assert outcome(api, workspace, "feedback", type="email") == "saved"
    assert outcome(api, workspace, "nps", prompt="Would you recommend us?") == "saved"
    assert "cannot change from yes_no to short_text" in outcome(
        api, workspace, "renew", type="short_text"
    )
    assert "cannot change from date to short_text" in outcome(
        api, workspace, "since", type="short_text"
    )


@pytest.mark.django_db
def test_the_model_applies_the_rule_whoever_saves(survey: Survey) -> None:
    answer(survey, nps=3)
    with pytest.raises(DefinitionError) as refused:
        survey.replace_definition(changed(survey, "nps", type="yes_no", **NO_LABELS))
    assert refused.value.problems[0][0] == "$.questions[0].type"


@pytest.mark.django_db
def test_the_builder_shows_the_refusal_beside_the_type(editor: User, survey: Survey) -> None:
    answer(survey, nps=9, rating=4)
    question = next(q for q in survey.definition["questions"] if q["key"] == "nps")
    data = {f"q-nps-{k}": v for k, v in initial_for(question).items() if v not in ("", None)}
    data |= {"q-nps-type": "rating", "q-nps-required": "on", "q-nps-version": survey.version}

    page = logged_in(editor).post(reverse("question-edit", args=[survey.pk, "nps"]), data)

    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="id_q-nps-type_error"' in html
    assert "Must keep every score from 0 to 10" in html
    survey.refresh_from_db()
    assert survey.spec.get("nps").type == "nps"


@pytest.mark.django_db
def test_answers_stored_before_the_rule_are_delivered_without_the_attribute_they_no_longer_fit(
    pulse: Survey, braze_standin: StandinHarness
) -> None:
    respond(pulse, "u-1", {"nps": 9, "feedback": "Fine"})
    # As the API used to let it happen: the type changed under an answered question.
    definition = changed(pulse, "nps", **TO_MULTIPLE, max_label=None)
    Survey.objects.filter(pk=pulse.pk).update(definition=definition, version=2)

    drain()

    push = Push.objects.get()
    assert push.state == PushState.SYNCED
    assert "the stored answer (a number) is not one a multiple_choice question gives" in push.notes
    profile = braze_standin.users()["braze_id:u-1"]["attributes"]
    assert profile == {"Pulse feedback": "Fine"}
