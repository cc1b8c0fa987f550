"""API authentication and authorization: bearer tokens, roles, and workspace isolation."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from sounding.accounts.models import ApiToken, Membership, Role, User, Workspace, hash_token
from sounding.answers.models import Response
from sounding.surveys.models import Status, Survey
from tests.conftest import EVERY_TYPE

BODY = json.dumps({"title": "Changed", "questions": EVERY_TYPE["questions"][:1]})

# Every operation, as (method, path with {id} for the survey id, JSON body or None).
OPERATIONS = [
    ("get", "/api/v1/surveys", None),
    ("post", "/api/v1/surveys", BODY),
    ("get", "/api/v1/surveys/{id}", None),
    ("put", "/api/v1/surveys/{id}", BODY),
    ("delete", "/api/v1/surveys/{id}", None),
    ("post", "/api/v1/surveys/{id}/publish", None),
    ("post", "/api/v1/surveys/{id}/pause", None),
    ("get", "/api/v1/surveys/{id}/responses", None),
]
WRITES = [op for op in OPERATIONS if op[0] != "get"]
ON_A_SURVEY = [op for op in OPERATIONS if "{id}" in op[1]]


def call(client: Client, method: str, path: str, body: str | None, survey_id: int) -> Any:
    url = path.format(id=survey_id)
    if body is None:
        return getattr(client, method)(url)
    return getattr(client, method)(url, body, content_type="application/json")


def bearer(token: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def snapshot(survey: Survey) -> tuple[Any, ...]:
    survey.refresh_from_db()
    return survey.status, survey.version, survey.title, survey.definition


@pytest.mark.parametrize(("method", "path", "body"), OPERATIONS)
def test_no_token_is_401_with_a_bearer_challenge(
    live_survey: Survey, method: str, path: str, body: str | None
) -> None:
    response = call(Client(), method, path, body, live_survey.pk)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert response["Content-Type"].startswith("application/json")
    assert "Authorization: Bearer" in response.json()["detail"]


@pytest.mark.parametrize(
    "header",
    [
        "Bearer snd_not-a-real-token",
        "Bearer not-even-the-prefix",
        "Bearer " + "snd_" + "x" * 5000,
        "Basic dXNlcjpwYXNz",
        "Bearer",
        "Bearer    ",
        "snd_token-without-scheme",
    ],
)
def test_wrong_or_unknown_token_is_401(live_survey: Survey, header: str) -> None:
    response = Client(HTTP_AUTHORIZATION=header).get("/api/v1/surveys")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert set(response.json()) == {"detail"}


def test_a_deleted_token_stops_working(owner_token: str) -> None:
    assert bearer(owner_token).get("/api/v1/surveys").status_code == 200
    ApiToken.objects.filter(token_hash=hash_token(owner_token)).delete()

    response = bearer(owner_token).get("/api/v1/surveys")

    assert response.status_code == 401
    assert "not valid" in response.json()["detail"]


def test_a_token_of_a_former_member_stops_working(owner_token: str, owner: User) -> None:
    Membership.objects.filter(user=owner).delete()

    response = bearer(owner_token).get("/api/v1/surveys")

    assert response.status_code == 401
    assert "no longer a member" in response.json()["detail"]


def test_a_token_of_a_deactivated_user_stops_working(owner_token: str, owner: User) -> None:
    owner.is_active = False
    owner.save()

    assert bearer(owner_token).get("/api/v1/surveys").status_code == 401


def test_the_token_acts_with_the_current_role(owner_token: str, owner: User) -> None:
    Membership.objects.filter(user=owner).update(role=Role.VIEWER)

    response = bearer(owner_token).post("/api/v1/surveys", BODY, content_type="application/json")

    assert response.status_code == 403


def test_an_editor_token_may_write(workspace: Workspace, editor: User) -> None:
    token = ApiToken.issue(workspace, editor)[1]

    response = bearer(token).post("/api/v1/surveys", BODY, content_type="application/json")

    assert response.status_code == 201


def test_bearer_requests_need_no_csrf_token(owner_token: str) -> None:
    client = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {owner_token}")

    response = client.post("/api/v1/surveys", BODY, content_type="application/json")

    assert response.status_code == 201


def test_last_used_is_recorded_at_most_once_a_minute(
    owner_token: str, django_assert_num_queries: Any
) -> None:
    token = ApiToken.objects.get(token_hash=hash_token(owner_token))
    assert token.last_used_at is None
    client = bearer(owner_token)

    client.get("/api/v1/surveys")
    token.refresh_from_db()
    first = token.last_used_at
    assert first is not None

    # Token (with role) and surveys: no write for a second request within the minute.
    with django_assert_num_queries(2):
        client.get("/api/v1/surveys")
    token.refresh_from_db()
    assert token.last_used_at == first

    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first - timedelta(minutes=2))
    client.get("/api/v1/surveys")
    token.refresh_from_db()
    assert token.last_used_at > first - timedelta(seconds=1)
    assert token.last_used_at <= timezone.now()


def test_a_viewer_may_read(live_survey: Survey, viewer_token: str) -> None:
    client = bearer(viewer_token)

    assert client.get("/api/v1/surveys").status_code == 200
    assert client.get(f"/api/v1/surveys/{live_survey.pk}").status_code == 200
    assert client.get(f"/api/v1/surveys/{live_survey.pk}/responses").status_code == 200


@pytest.mark.parametrize(("method", "path", "body"), WRITES)
def test_a_viewer_may_not_write(
    live_survey: Survey, viewer_token: str, method: str, path: str, body: str | None
) -> None:
    before = snapshot(live_survey)

    response = call(bearer(viewer_token), method, path, body, live_survey.pk)

    assert response.status_code == 403
    assert "viewer role" in response.json()["detail"]
    assert snapshot(live_survey) == before
    assert Survey.objects.count() == 1


@pytest.mark.parametrize(("method", "path", "body"), ON_A_SURVEY)
def test_another_workspace_survey_is_404_like_a_missing_one(
    live_survey: Survey, outsider_token: str, method: str, path: str, body: str | None
) -> None:
    Response.objects.create(survey=live_survey)
    before = snapshot(live_survey)
    client = bearer(outsider_token)

    theirs = call(client, method, path, body, live_survey.pk)
    missing = call(client, method, path, body, live_survey.pk + 1000)

    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json()
    assert snapshot(live_survey) == before
    assert live_survey.responses.count() == 1


def test_a_workspace_lists_only_its_own_surveys(
    live_survey: Survey, outsider_token: str, other_workspace: Workspace, outsider: User
) -> None:
    theirs = Survey.create(other_workspace, {"title": "Globex survey"}, outsider)

    items = bearer(outsider_token).get("/api/v1/surveys").json()["items"]

    assert [s["id"] for s in items] == [theirs.pk]


def test_a_token_creates_in_its_own_workspace(
    owner_token: str, workspace: Workspace, owner: User
) -> None:
    response = bearer(owner_token).post("/api/v1/surveys", BODY, content_type="application/json")

    survey = Survey.objects.get(pk=response.json()["id"])
    assert survey.workspace == workspace
    assert survey.created_by == owner
    assert survey.status == Status.DRAFT


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("post", "/api/v1/no-such-endpoint", 404),
        ("put", "/api/v1/no/such/thing", 404),
        ("get", "/api/v1/nothing", 404),
        ("delete", "/api/v1/surveys", 405),
    ],
)
def test_every_api_error_is_json_even_before_a_view_runs(
    method: str, path: str, status: int
) -> None:
    from django.test import Client as PlainClient

    # A browser with a session cookie and no CSRF token, as a misdirected script would be.
    response = getattr(PlainClient(enforce_csrf_checks=True), method)(path)
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["detail"]
