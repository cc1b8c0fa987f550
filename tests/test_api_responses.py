"""Listing a survey's responses: typed answers, identity, cursor pagination, query count."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from sounding.accounts.models import User, Workspace
from sounding.answers.models import Answer, Response
from sounding.surveys.models import Survey
from tests.conftest import EVERY_TYPE

# One answer per question of EVERY_TYPE, in the type each is stored in.
TYPED_ANSWERS: dict[str, Any] = {
    "nps": 9,
    "rating": 4,
    "csat": 5,
    "effort": 6,
    "plan": "Pro",
    "channels": ["Email", "SMS", "Carrier pigeon"],
    "country": "France",
    "renew": False,
    "nickname": "Sam",
    "feedback": "Faster exports, please.\nAnd dark mode.",
    "contact": "sam@example.com",
    "seats": 12.5,
    "since": "2021-03-04",
}
# As the API gives them: the text typed in "Other" ("Carrier pigeon") apart from the choices.
API_ANSWERS: dict[str, Any] = {**TYPED_ANSWERS, "channels": ["Email", "SMS", "Other"]}
API_OTHER = {"channels": "Carrier pigeon"}


@pytest.fixture
def api(owner_token: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {owner_token}")


def add_response(survey: Survey, answers: dict[str, Any], **fields: Any) -> Response:
    response = Response.objects.create(survey=survey, **fields)
    Answer.objects.bulk_create(
        Answer(response=response, question_key=k, value=v) for k, v in answers.items()
    )
    return response


def responses_url(survey: Survey, **params: Any) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"/api/v1/surveys/{survey.pk}/responses" + (f"?{query}" if query else "")


def test_a_response_with_every_answer_type(api: Client, live_survey: Survey) -> None:
    live_survey.replace_definition(
        {**live_survey.definition, "hidden_fields": ["tier", "campaign"]}
    )
    done = timezone.now()
    stored = add_response(
        live_survey,
        TYPED_ANSWERS,
        identity_kind="braze_id",
        identity_value="abc-123",
        # "ref" was stored before hidden fields were declared: the API leaves it out.
        hidden={"campaign": "spring", "tier": "gold", "ref": "old"},
        language="fr",
        completed_at=done,
        identities={"braze_id": "abc-123", "email": "sam@example.com"},
    )

    response = api.get(responses_url(live_survey))

    assert response.status_code == 200
    body = response.json()
    assert body["next_cursor"] is None
    [item] = body["items"]
    assert set(item) == {
        "id",
        "identity",
        "hidden",
        "language",
        "started_at",
        "updated_at",
        "completed_at",
        "answers",
        "other",
        "sync",
    }
    assert item["id"] == stored.token
    assert item["identity"] == {
        "braze_id": "abc-123",
        "external_id": None,
        "email": "sam@example.com",
    }
    assert item["hidden"] == {"campaign": "spring", "tier": "gold"}
    assert item["language"] == "fr"
    assert item["completed_at"] is not None
    assert item["answers"] == API_ANSWERS
    assert item["other"] == API_OTHER
    # Types, not just values: 5 == 5.0 and False == 0 in Python.
    answers = item["answers"]
    assert {k: type(v) for k, v in answers.items()} == {
        k: type(v) for k, v in TYPED_ANSWERS.items()
    }
    assert set(answers) == {q["key"] for q in EVERY_TYPE["questions"]}


def test_an_unfinished_anonymous_response(api: Client, live_survey: Survey) -> None:
    add_response(live_survey, {"nps": 0})

    [item] = api.get(responses_url(live_survey)).json()["items"]

    assert item["identity"] == {"braze_id": None, "external_id": None, "email": None}
    assert item["hidden"] == {}
    assert item["language"] is None
    assert item["completed_at"] is None
    assert item["answers"] == {"nps": 0}
    assert type(item["answers"]["nps"]) is int


def test_no_responses(api: Client, live_survey: Survey) -> None:
    response = api.get(responses_url(live_survey))

    assert response.json() == {"items": [], "next_cursor": None}


def test_pages_follow_the_cursor_in_id_order(
    api: Client, live_survey: Survey, workspace: Workspace, owner: User
) -> None:
    now = timezone.now()
    # Started in the reverse order of creation: the order is by id, not by start time.
    created = [
        add_response(live_survey, {"nps": i}, started_at=now - timedelta(hours=i)) for i in range(7)
    ]
    other = Survey.create(workspace, EVERY_TYPE, owner)
    add_response(other, {"nps": 10})

    seen: list[dict[str, Any]] = []
    sizes = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = api.get(responses_url(live_survey, **params))
        assert page.status_code == 200
        body = page.json()
        sizes.append(len(body["items"]))
        seen.extend(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            break

    assert sizes == [3, 3, 1]
    assert [item["id"] for item in seen] == [r.token for r in created]
    assert [item["answers"]["nps"] for item in seen] == list(range(7))


def test_an_exact_last_page_has_no_next_cursor(api: Client, live_survey: Survey) -> None:
    for i in range(4):
        add_response(live_survey, {"nps": i})

    first = api.get(responses_url(live_survey, limit=2)).json()
    second = api.get(responses_url(live_survey, limit=2, cursor=first["next_cursor"])).json()

    assert len(second["items"]) == 2
    assert second["next_cursor"] is None


def test_responses_added_while_paging_are_not_missed(api: Client, live_survey: Survey) -> None:
    first = add_response(live_survey, {"nps": 1})
    add_response(live_survey, {"nps": 2})
    page = api.get(responses_url(live_survey, limit=1)).json()
    assert [item["id"] for item in page["items"]] == [first.token]

    late = add_response(live_survey, {"nps": 3})
    rest = api.get(responses_url(live_survey, cursor=page["next_cursor"])).json()

    assert [item["answers"]["nps"] for item in rest["items"]] == [2, 3]
    assert rest["items"][-1]["id"] == late.token


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!",
        "%00",
        "YWZ0ZXI6",  # "after:"
        "YWZ0ZXI6MA",  # "after:0"
        "YWZ0ZXI6LTE",  # "after:-1"
        "YWZ0ZXI6YWJj",  # "after:abc"
        "YWZ0ZXI6MQ==",  # "after:1" with padding: not how the API writes it
        "YWZ0ZXI6OTk5OTk5OTk5OTk5OTk5OTk5OTk5",  # 21 digits: past 64 bits
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        "x" * 64,
    ],
)
def test_a_bad_cursor_is_400(api: Client, live_survey: Survey, cursor: str) -> None:
    response = api.get(responses_url(live_survey, cursor=cursor))

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"path": "$.cursor", "message": "is not a cursor this API gave"}
    ]


def test_an_overlong_cursor_is_400(api: Client, live_survey: Survey) -> None:
    response = api.get(responses_url(live_survey, cursor="x" * 65))

    assert response.status_code == 400
    assert [e["path"] for e in response.json()["errors"]] == ["$.cursor"]


@pytest.mark.parametrize("limit", ["0", "501", "-5", "abc", "1e3", "9" * 40, ""])
def test_a_limit_out_of_range_is_400(api: Client, live_survey: Survey, limit: str) -> None:
    response = api.get(responses_url(live_survey, limit=limit))

    assert response.status_code == 400
    body = response.json()
    assert body["detail"] == "The request is not valid."
    assert [e["path"] for e in body["errors"]] == ["$.limit"]


def test_the_largest_page(api: Client, live_survey: Survey) -> None:
    Response.objects.bulk_create(Response(survey=live_survey) for _ in range(501))

    body = api.get(responses_url(live_survey, limit=500)).json()

    assert len(body["items"]) == 500
    assert body["next_cursor"] is not None


@pytest.mark.parametrize("count", [1, 60])
def test_a_page_costs_the_same_few_queries_however_many_answers(
    api: Client, live_survey: Survey, count: int, django_assert_max_num_queries: Any
) -> None:
    for _ in range(count):
        add_response(live_survey, TYPED_ANSWERS)
    api.get("/api/v1/surveys")  # records the token's first use, a write of its own

    # The token with its role, the survey, the responses, their answers.
    with django_assert_max_num_queries(4):
        body = api.get(responses_url(live_survey, limit=50)).json()

    assert len(body["items"]) == min(count, 50)
    assert all(item["answers"] == API_ANSWERS for item in body["items"])
