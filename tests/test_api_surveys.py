"""The survey endpoints: create, read, replace, delete, publish, pause; and the API's documents."""

from __future__ import annotations

import copy
import json
import os
from typing import Any

import pytest
from django.test import Client

from sounding.accounts.models import User, Workspace
from sounding.answers.models import Response
from sounding.surveys.definition import normalize
from sounding.surveys.models import Status, Survey
from tests.conftest import EVERY_TYPE

JSON = "application/json"
SURVEY_FIELDS = {
    "id",
    "slug",
    "status",
    "url",
    "title",
    "version",
    "created_at",
    "updated_at",
    "definition",
}


@pytest.fixture
def api(owner_token: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {owner_token}")


@pytest.fixture
def draft(workspace: Workspace, owner: User) -> Survey:
    return Survey.create(workspace, {"title": "Draft", "questions": EVERY_TYPE["questions"][:2]})


def post_json(api: Client, url: str, data: Any) -> Any:
    return api.post(url, json.dumps(data), content_type=JSON)


def test_create_with_every_question_type_and_read_it_back(api: Client) -> None:
    created = post_json(api, "/api/v1/surveys", EVERY_TYPE)

    assert created.status_code == 201, created.content
    body = created.json()
    assert set(body) == SURVEY_FIELDS
    assert body["status"] == "draft"
    assert body["title"] == "Customer pulse"
    assert body["version"] == 1
    assert body["url"] == f"http://testserver/s/{body['slug']}"
    assert body["definition"] == normalize(EVERY_TYPE)
    types = [q["type"] for q in body["definition"]["questions"]]
    assert len(set(types)) == 13
    fetched = api.get(f"/api/v1/surveys/{body['id']}")
    assert fetched.status_code == 200
    assert fetched.json() == body


def test_the_link_uses_the_site_url_when_set(api: Client, settings: Any) -> None:
    settings.SITE_URL = "https://surveys.example.com"

    body = post_json(api, "/api/v1/surveys", EVERY_TYPE).json()

    assert body["url"] == f"https://surveys.example.com/s/{body['slug']}"


def test_a_definition_with_several_problems_lists_them_all(api: Client) -> None:
    definition = {
        "title": "  ",
        "colour": "blue",
        "questions": [
            {"key": "plan", "type": "choice", "prompt": "Which plan?"},
            {"key": "seats", "type": "single_choice", "prompt": "Seats?", "choices": []},
            {"key": "plan", "type": "short_text", "prompt": "Why?", "choices": ["A"]},
            {"key": "effort", "type": "scale", "prompt": "Easy?", "min": 1, "max": 50},
        ],
    }

    response = post_json(api, "/api/v1/surveys", definition)

    assert response.status_code == 400
    assert response.json() == {
        "detail": "The survey definition is not valid.",
        "errors": [
            {"path": "$.colour", "message": "is not a field of a survey definition"},
            {"path": "$.title", "message": "must not be empty"},
            {
                "path": "$.questions[0].type",
                "message": "must be one of: nps, rating, csat, scale, single_choice, "
                "multiple_choice, dropdown, yes_no, short_text, long_text, email, number, date",
            },
            {"path": "$.questions[1].choices", "message": "must be a non-empty list of strings"},
            {
                "path": "$.questions[2].choices",
                "message": "is not a field of the short_text question type",
            },
            {
                "path": "$.questions[2].key",
                "message": "another question already uses the key “plan” (question 1)",
            },
            {"path": "$.questions[3].max", "message": "must be 1 to 20 more than min"},
        ],
    }
    assert Survey.objects.count() == 0


@pytest.mark.parametrize("body", [[], "a survey", 42, None, True])
def test_a_body_that_is_not_an_object_is_400(api: Client, body: Any) -> None:
    response = post_json(api, "/api/v1/surveys", body)

    assert response.status_code == 400
    assert response.json()["errors"] == [{"path": "$", "message": "must be a JSON object"}]


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty"),
        (b"   ", "empty"),
        (b'{"title": "Unclosed"', "not valid JSON"),
        (b"{'title': 'single quotes'}", "not valid JSON"),
        (b'{"title": "x", "questions": NaN}', "not valid JSON"),
        (b'{"title": Infinity}', "not valid JSON"),
        (b'{"title": "x"} trailing', "not valid JSON"),
        (b"\xff\xfe\x00garbage\x80\x81", "not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
        (b'{"title": 1' + b"0" * 5000 + b"}", "not valid JSON"),
        (os.urandom(500_000), "not valid JSON"),
    ],
)
def test_a_body_that_is_not_json_is_400(api: Client, raw: bytes, reason: str) -> None:
    response = api.post("/api/v1/surveys", raw, content_type=JSON)

    assert response.status_code == 400
    assert reason in response.json()["detail"]
    assert Survey.objects.count() == 0


@pytest.mark.parametrize(
    ("definition", "path"),
    [
        ({"title": "Nul\x00"}, "$.title"),
        ({"title": "Lone \ud800 surrogate"}, "$.title"),
        (
            {"title": "T", "questions": [{"type": "yes_no", "prompt": "\x00"}]},
            "$.questions[0].prompt",
        ),
        (
            {"title": "T", "questions": [{"type": "yes_no", "prompt": "P", "k\x00": 1}]},
            "$.questions[0]",
        ),
    ],
)
def test_text_the_database_cannot_store_is_400(api: Client, definition: Any, path: str) -> None:
    # Valid JSON, but PostgreSQL refuses NUL and UTF-8 cannot encode a lone surrogate.
    response = post_json(api, "/api/v1/surveys", definition)

    assert response.status_code == 400
    assert [e["path"] for e in response.json()["errors"]] == [path]
    assert Survey.objects.count() == 0


def test_a_body_over_the_size_limit_is_413(api: Client) -> None:
    response = api.post("/api/v1/surveys", b"{" * 2_000_000, content_type=JSON)

    assert response.status_code == 413
    assert "limit" in response.json()["detail"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
def test_a_body_that_is_not_sent_as_json_is_400(api: Client, content_type: str) -> None:
    raw = json.dumps(EVERY_TYPE)

    response = api.post("/api/v1/surveys", raw, content_type=content_type)

    assert response.status_code == 400
    assert "Content-Type: application/json" in response.json()["detail"]


def test_a_form_post_is_400(api: Client) -> None:
    response = api.post("/api/v1/surveys", {"title": "A form"})  # multipart/form-data

    assert response.status_code == 400
    assert Survey.objects.count() == 0


def test_a_json_content_type_with_a_charset_is_accepted(api: Client) -> None:
    raw = json.dumps(EVERY_TYPE)

    response = api.post("/api/v1/surveys", raw, content_type="application/json; charset=utf-8")

    assert response.status_code == 201


def test_list_is_newest_first(api: Client, workspace: Workspace) -> None:
    ids = [post_json(api, "/api/v1/surveys", {"title": f"S{i}"}).json()["id"] for i in range(3)]

    response = api.get("/api/v1/surveys")

    assert response.status_code == 200
    items = response.json()["items"]
    assert [s["id"] for s in items] == ids[::-1]
    assert all(set(s) == SURVEY_FIELDS for s in items)


def test_replace_the_definition(api: Client, draft: Survey) -> None:
    new = copy.deepcopy(EVERY_TYPE) | {"title": "Renamed"}

    response = api.put(f"/api/v1/surveys/{draft.pk}", json.dumps(new), content_type=JSON)

    assert response.status_code == 200
    body = response.json()
    assert body["title"] == "Renamed"
    assert body["version"] == 2
    assert body["definition"] == normalize(new)
    draft.refresh_from_db()
    assert draft.version == 2
    assert len(draft.definition["questions"]) == 13


def test_an_invalid_replacement_changes_nothing(api: Client, draft: Survey) -> None:
    before = draft.definition
    bad = {"title": "Bad", "questions": [{"type": "nps"}, {"type": "yes_no", "prompt": 3}]}

    response = api.put(f"/api/v1/surveys/{draft.pk}", json.dumps(bad), content_type=JSON)

    assert response.status_code == 400
    assert [e["path"] for e in response.json()["errors"]] == [
        "$.questions[0].prompt",
        "$.questions[1].prompt",
    ]
    draft.refresh_from_db()
    assert (draft.version, draft.definition) == (1, before)


def test_replace_with_garbage_is_400(api: Client, draft: Survey) -> None:
    response = api.put(f"/api/v1/surveys/{draft.pk}", b"{nope", content_type=JSON)

    assert response.status_code == 400


def test_delete(api: Client, draft: Survey) -> None:
    Response.objects.create(survey=draft)

    response = api.delete(f"/api/v1/surveys/{draft.pk}")

    assert response.status_code == 204
    assert response.content == b""
    assert api.get(f"/api/v1/surveys/{draft.pk}").status_code == 404
    assert not Survey.objects.exists()
    assert not Response.objects.exists()


def test_publish_and_pause(api: Client, draft: Survey) -> None:
    published = api.post(f"/api/v1/surveys/{draft.pk}/publish")

    assert published.status_code == 200
    assert published.json()["status"] == "live"
    draft.refresh_from_db()
    assert draft.status == Status.LIVE
    assert draft.published_at is not None

    paused = api.post(f"/api/v1/surveys/{draft.pk}/pause")

    assert paused.status_code == 200
    assert set(paused.json()) == SURVEY_FIELDS
    assert paused.json()["status"] == "paused"
    assert api.post(f"/api/v1/surveys/{draft.pk}/publish").json()["status"] == "live"


def test_publishing_twice_is_harmless(api: Client, live_survey: Survey) -> None:
    response = api.post(f"/api/v1/surveys/{live_survey.pk}/publish")

    assert response.status_code == 200
    assert response.json()["status"] == "live"


def test_a_survey_without_questions_cannot_go_live(api: Client) -> None:
    survey_id = post_json(api, "/api/v1/surveys", {"title": "Empty"}).json()["id"]

    response = api.post(f"/api/v1/surveys/{survey_id}/publish")

    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == "$.questions"
    assert Survey.objects.get(pk=survey_id).status == Status.DRAFT


def test_a_live_survey_keeps_its_questions(api: Client, live_survey: Survey) -> None:
    url = f"/api/v1/surveys/{live_survey.pk}"

    response = api.put(url, json.dumps({"title": "Empty"}), content_type=JSON)

    assert response.status_code == 400
    live_survey.refresh_from_db()
    assert (live_survey.version, live_survey.title) == (1, "Customer pulse")


@pytest.mark.parametrize("survey_id", ["abc", "0", "-1", "1.5", "9" * 30, "9223372036854775808"])
def test_a_survey_id_that_is_not_a_positive_64_bit_integer_is_400(
    api: Client, survey_id: str
) -> None:
    for response in (
        api.get(f"/api/v1/surveys/{survey_id}"),
        api.post(f"/api/v1/surveys/{survey_id}/publish"),
        api.get(f"/api/v1/surveys/{survey_id}/responses"),
    ):
        assert response.status_code == 400
        body = response.json()
        assert body["detail"] == "The request is not valid."
        assert [e["path"] for e in body["errors"]] == ["$.survey_id"]


def test_an_unknown_survey_is_404(api: Client) -> None:
    response = api.get("/api/v1/surveys/9223372036854775807")

    assert response.status_code == 404
    assert response.json() == {"detail": "There is no survey with this id in this workspace."}


def test_an_unsupported_method_is_405(api: Client, draft: Survey) -> None:
    assert api.patch(f"/api/v1/surveys/{draft.pk}", "{}", content_type=JSON).status_code == 405


@pytest.mark.parametrize("url", ["/api/v1/", "/api/v1/nope", "/api/v1/surveys/"])
def test_an_unknown_endpoint_is_a_json_404(api: Client, url: str) -> None:
    response = api.get(url)

    assert response.status_code == 404
    assert "no such API endpoint" in response.json()["detail"]


def test_the_openapi_document_lists_every_operation() -> None:
    response = Client().get("/api/v1/openapi.json")

    assert response.status_code == 200
    doc = response.json()
    assert (doc["info"]["title"], doc["info"]["version"]) == ("Sounding API", "1")
    methods = {path: set(ops) for path, ops in doc["paths"].items()}
    assert methods == {
        "/api/v1/surveys": {"get", "post"},
        "/api/v1/surveys/from-template": {"post"},
        "/api/v1/templates": {"get"},
        "/api/v1/surveys/{survey_id}": {"get", "put", "delete"},
        "/api/v1/surveys/{survey_id}/publish": {"post"},
        "/api/v1/surveys/{survey_id}/pause": {"post"},
        "/api/v1/surveys/{survey_id}/responses": {"get"},
        "/api/v1/surveys/{survey_id}/responses/export": {"get"},
        "/api/v1/surveys/{survey_id}/responses/{token}": {"delete"},
        "/api/v1/surveys/{survey_id}/integrations/braze": {"get", "put"},
        "/api/v1/surveys/{survey_id}/channels/email": {"get"},
        "/api/v1/surveys/{survey_id}/channels/in-app": {"get"},
        "/api/v1/surveys/{survey_id}/channels/banner": {"get"},
        "/api/v1/integrations/braze": {"get", "put"},
        "/api/v1/responses/erase": {"post"},
        "/api/v1/tokens": {"get"},
        "/api/v1/tokens/{token_id}": {"delete"},
        "/api/v1/integrations/webhooks": {"get", "post"},
        "/api/v1/integrations/webhooks/{endpoint_id}": {"get", "patch", "delete"},
        "/api/v1/integrations/webhooks/{endpoint_id}/test": {"post"},
        "/api/v1/integrations/webhooks/{endpoint_id}/rotate": {"post"},
        "/api/v1/integrations/webhooks/{endpoint_id}/deliveries": {"get"},
        "/api/v1/integrations/webhooks/{endpoint_id}/deliveries/{msg_id}/resend": {"post"},
        "/api/v1/integrations/webhooks/{endpoint_id}/resend-failed": {"post"},
    }
    schemes = doc["components"]["securitySchemes"]
    assert schemes == {"BearerToken": {"type": "http", "scheme": "bearer"}}


def test_the_openapi_document_describes_the_definition_body() -> None:
    doc = Client().get("/api/v1/openapi.json").json()

    for path, method in (("/api/v1/surveys", "post"), ("/api/v1/surveys/{survey_id}", "put")):
        body = doc["paths"][path][method]["requestBody"]
        assert body["required"] is True
        schema = body["content"]["application/json"]["schema"]
        assert schema["required"] == ["title"]
        assert "questions" in schema["properties"]


def test_the_docs_page_is_served() -> None:
    response = Client().get("/api/v1/docs")

    assert response.status_code == 200
    assert b"openapi.json" in response.content
