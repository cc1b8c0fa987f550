"""Deleting responses through the API: one by its id, or every response of one person across
the workspace's surveys (a data-subject request)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from sounding.accounts.models import ApiToken, User, Workspace
from sounding.answers.models import Answer, Response
from sounding.delivery.models import Push, PushState
from sounding.destinations.braze.errors import not_set_up
from sounding.surveys.models import Status, Survey
from tests.conftest import EVERY_TYPE

NPS = "How likely are you to recommend us?"
ERASE = "/api/v1/responses/erase"


def api(token: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def add(survey: Survey, braze_id: str = "", email: str = "", **fields: Any) -> Response:
    kind, value = ("braze_id", braze_id) if braze_id else ("email", email) if email else ("", "")
    response = Response.objects.create(
        survey=survey,
        identity_kind=kind or None,
        identity_value=value or None,
        identities={k: v for k, v in (("braze_id", braze_id), ("email", email)) if v},
        **fields,
    )
    Answer.objects.create(response=response, question_key="nps", value=7)
    return response


def held(response: Response) -> Push:
    """Braze took this response's NPS: clearing it means sending a null."""
    return Push.objects.create(
        response=response,
        workspace_id=response.survey.workspace_id,
        destination="braze",
        user_key=f"{response.identity_kind}:{response.identity_value}",
        state=PushState.SYNCED,
        acknowledged={"attributes": {NPS: 7}},
    )


def post(client: Client, body: Any) -> Any:
    return client.post(ERASE, json.dumps(body), content_type="application/json")


def delete_url(response: Response, **params: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    url = f"/api/v1/surveys/{response.survey_id}/responses/{response.token}"
    return url + (f"?{query}" if query else "")


@pytest.fixture
def braze_survey(live_survey: Survey) -> Survey:
    live_survey.destinations = ["braze"]
    live_survey.save(update_fields=["destinations"])
    return live_survey


# --- POST /responses/erase ---------------------------------------------------------------------


def test_erasing_a_person_deletes_their_responses_in_every_survey_of_the_workspace(
    owner_token: str,
    braze_survey: Survey,
    workspace: Workspace,
    owner: User,
    other_workspace: Workspace,
) -> None:
    second = Survey.create(workspace, {**EVERY_TYPE, "title": "Second"}, owner)
    second.set_status(Status.LIVE)
    add(braze_survey, "u-1")
    add(second, "u-1")
    add(braze_survey, "u-2")
    elsewhere = add(Survey.create(other_workspace, EVERY_TYPE, None), "u-1")

    reply = post(api(owner_token), {"identifier": "braze_id", "value": "u-1"})

    assert reply.status_code == 200
    assert reply.json() == {
        "responses": 2,
        "surveys": 2,
        "clearing_at_destinations": 0,
        "clearing_in_braze": 0,
        "clearing_blocked": None,
    }
    assert sorted(Response.objects.values_list("identities__braze_id", flat=True)) == ["u-1", "u-2"]
    assert Response.objects.filter(pk=elsewhere.pk).exists()
    assert Answer.objects.count() == 2


def test_with_clear_braze_the_responses_braze_holds_stay_until_it_takes_the_nulls(
    owner_token: str, braze_survey: Survey
) -> None:
    synced = add(braze_survey, email="sam@example.com")
    held(synced)
    add(braze_survey, email="SAM@example.com", hidden={})  # a second identity, never sent
    Response.objects.filter(identities__email="SAM@example.com").update(
        identity_kind=None, identity_value=None
    )

    reply = post(
        api(owner_token),
        {"identifier": "email", "value": " sam@example.com ", "clear_braze": True},
    )

    # This workspace never connected Braze: the nulls wait, and the answer says why.
    assert reply.json() == {
        "responses": 2,
        "surveys": 1,
        "clearing_at_destinations": 1,
        "clearing_in_braze": 1,
        "clearing_blocked": not_set_up(),
    }
    (left,) = Response.objects.all()
    assert left.pk == synced.pk and left.erase_requested_at is not None
    assert not Answer.objects.exists()
    push = Push.objects.get()
    assert push.state == PushState.PENDING and push.wanted_version == left.answers_version


def test_nothing_matching_answers_zero_counts(owner_token: str, live_survey: Survey) -> None:
    add(live_survey, "u-1")
    reply = post(api(owner_token), {"identifier": "external_id", "value": "u-1"})
    assert reply.json() == {
        "responses": 0,
        "surveys": 0,
        "clearing_at_destinations": 0,
        "clearing_in_braze": 0,
        "clearing_blocked": None,
    }
    assert Response.objects.count() == 1


def test_a_viewer_token_may_not_erase(viewer_token: str, live_survey: Survey) -> None:
    add(live_survey, "u-1")
    reply = post(api(viewer_token), {"identifier": "braze_id", "value": "u-1"})
    assert reply.status_code == 403
    assert "viewer role" in reply.json()["detail"]
    assert Response.objects.count() == 1


def test_an_editor_token_may_erase(workspace: Workspace, editor: User, live_survey: Survey) -> None:
    add(live_survey, "u-1")
    token = ApiToken.issue(workspace, editor)[1]
    assert post(api(token), {"identifier": "braze_id", "value": "u-1"}).status_code == 200
    assert not Response.objects.exists()


@pytest.mark.parametrize(
    ("body", "paths"),
    [
        ([], ["$"]),
        ({"identifier": "phone", "value": "1"}, ["$.identifier"]),
        ({"identifier": "braze_id"}, ["$.value"]),
        ({"identifier": "braze_id", "value": "  "}, ["$.value"]),
        ({"identifier": "braze_id", "value": 12}, ["$.value"]),
        ({"identifier": "braze_id", "value": "x" * 256}, ["$.value"]),
        ({"identifier": "braze_id", "value": "a", "clear_braze": "yes"}, ["$.clear_braze"]),
        (
            {"identifier": "braze_id", "value": "a", "clear_destinations": 1},
            ["$.clear_destinations"],
        ),
        ({"identifier": "braze_id", "value": "a", "everything": True}, ["$.everything"]),
    ],
)
def test_a_bad_body_is_a_400_with_the_path_of_each_problem(
    owner_token: str, live_survey: Survey, body: Any, paths: list[str]
) -> None:
    add(live_survey, "a")
    reply = post(api(owner_token), body)
    assert reply.status_code == 400
    assert reply.json()["detail"] == "The erase request is not valid."
    assert [e["path"] for e in reply.json()["errors"]] == paths
    assert Response.objects.count() == 1


def test_a_body_that_is_not_json_is_a_400(owner_token: str) -> None:
    reply = api(owner_token).post(ERASE, "identifier=braze_id", content_type="text/plain")
    assert reply.status_code == 400


def test_without_a_token_it_is_a_401(db: None) -> None:
    assert post(Client(), {"identifier": "braze_id", "value": "a"}).status_code == 401


# --- DELETE /surveys/{id}/responses/{id} -------------------------------------------------------


def test_deleting_one_response_takes_its_answers_and_pushes(
    owner_token: str, braze_survey: Survey
) -> None:
    gone = add(braze_survey, "u-1")
    Push.objects.create(
        response=gone, workspace_id=braze_survey.workspace_id, destination="braze",
        user_key="braze_id:u-1",
    )  # fmt: skip
    kept = add(braze_survey, "u-2")

    reply = api(owner_token).delete(delete_url(gone))

    assert reply.status_code == 200
    assert reply.json() == {
        "responses": 1,
        "surveys": 1,
        "clearing_at_destinations": 0,
        "clearing_in_braze": 0,
        "clearing_blocked": None,
    }
    assert list(Response.objects.values_list("pk", flat=True)) == [kept.pk]
    assert not Push.objects.exists()


def test_deleting_one_with_clear_braze_keeps_it_until_braze_takes_the_nulls(
    owner_token: str, braze_survey: Survey
) -> None:
    response = add(braze_survey, "u-1")
    held(response)

    reply = api(owner_token).delete(delete_url(response, clear_braze="true"))

    assert reply.json() == {
        "responses": 1,
        "surveys": 1,
        "clearing_at_destinations": 1,
        "clearing_in_braze": 1,
        "clearing_blocked": not_set_up(),
    }
    response.refresh_from_db()
    assert response.erase_requested_at is not None
    assert Push.objects.get().state == PushState.PENDING


def test_deleting_an_unknown_or_foreign_response_is_a_404(
    owner_token: str, live_survey: Survey, other_workspace: Workspace
) -> None:
    foreign = add(Survey.create(other_workspace, EVERY_TYPE, None), "u-1")
    client = api(owner_token)
    missing = client.delete(f"/api/v1/surveys/{live_survey.pk}/responses/nope")
    assert missing.status_code == 404
    assert missing.json()["detail"] == "There is no response with this id in this survey."
    assert client.delete(delete_url(foreign)).status_code == 404
    wrong_survey = f"/api/v1/surveys/{live_survey.pk}/responses/{foreign.token}"
    assert client.delete(wrong_survey).status_code == 404
    assert Response.objects.filter(pk=foreign.pk).exists()


def test_a_token_with_characters_a_token_never_has_is_a_400(
    owner_token: str, live_survey: Survey
) -> None:
    reply = api(owner_token).delete(f"/api/v1/surveys/{live_survey.pk}/responses/a%00b")
    assert reply.status_code == 400
    assert reply.json()["errors"][0]["path"] == "$.token"


def test_a_viewer_token_may_not_delete_one(viewer_token: str, live_survey: Survey) -> None:
    response = add(live_survey, "u-1")
    assert api(viewer_token).delete(delete_url(response)).status_code == 403
    assert Response.objects.filter(pk=response.pk).exists()


def test_clear_destinations_and_its_old_name_clear_alike(
    owner_token: str, braze_survey: Survey
) -> None:
    by_new, by_old, by_old_off = (add(braze_survey, f"u-{n}") for n in (1, 2, 3))
    for response in (by_new, by_old, by_old_off):
        held(response)
    client = api(owner_token)

    new = client.delete(delete_url(by_new, clear_destinations="true")).json()
    old = client.delete(delete_url(by_old, clear_braze="1")).json()
    off = client.delete(delete_url(by_old_off, clear_braze="false")).json()

    assert new["clearing_at_destinations"] == new["clearing_in_braze"] == 1
    assert old["clearing_at_destinations"] == 1
    assert off["clearing_at_destinations"] == 0
    assert set(Response.objects.values_list("pk", flat=True)) == {by_new.pk, by_old.pk}
    held(add(braze_survey, "u-4"))
    body = {"identifier": "braze_id", "value": "u-4", "clear_destinations": True}
    assert post(client, body).json()["clearing_at_destinations"] == 1


def test_an_old_name_with_a_value_that_is_no_boolean_is_a_400(
    owner_token: str, braze_survey: Survey
) -> None:
    response = add(braze_survey, "u-1")
    reply = api(owner_token).delete(delete_url(response, clear_braze="perhaps"))
    assert reply.status_code == 400
    assert reply.json()["errors"] == [{"path": "$.clear_braze", "message": "must be true or false"}]
    assert Response.objects.filter(pk=response.pk).exists()
