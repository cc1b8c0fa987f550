"""Exports of a survey's responses, CSV and JSON, from the pages and the API: columns in a
stable order, typed values, safe cells, the table's filters, and memory that stays flat."""

from __future__ import annotations

import csv
import io
import json
import tracemalloc
from datetime import timedelta
from typing import Any

import pytest
from django.http import StreamingHttpResponse
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from sounding.accounts.models import User
from sounding.answers.models import Answer, Response, new_token
from sounding.delivery.models import Push, PushState
from sounding.responses import export, filters
from sounding.surveys.models import Survey
from tests.conftest import EVERY_TYPE, logged_in

FIXED = [
    "response_token",
    "braze_id",
    "external_id",
    "email",
    "language",
    "started_at",
    "completed_at",
    "braze_sync",
]
# A choice question offering "Other" has a second column for the text typed in it.
KEYS = [
    column
    for q in EVERY_TYPE["questions"]
    for column in (q["key"], *([f"{q['key']}.other"] if q.get("allow_other") else []))
]


def declare(survey: Survey, *names: str) -> None:
    """Make `names` the survey's hidden fields, as the builder or the API would."""
    survey.replace_definition({**survey.definition, "hidden_fields": list(names)})


def add(survey: Survey, answers: dict[str, Any], **fields: Any) -> Response:
    response = Response.objects.create(survey=survey, **fields)
    Answer.objects.bulk_create(
        Answer(response=response, question_key=k, value=v) for k, v in answers.items()
    )
    return response


def body(reply: Any) -> str:
    assert isinstance(reply, StreamingHttpResponse)
    return b"".join(reply.streaming_content).decode("utf-8")


def rows_of(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def csv_url(survey: Survey, **params: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return reverse("survey-export-csv", args=[survey.pk]) + (f"?{query}" if query else "")


def json_url(survey: Survey, **params: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return reverse("survey-export-json", args=[survey.pk]) + (f"?{query}" if query else "")


@pytest.fixture
def answered(live_survey: Survey) -> Response:
    declare(live_survey, "utm", "campaign", "source")
    done = timezone.now()
    response = add(
        live_survey,
        {
            "nps": 9,
            "channels": ["Email", "SMS"],
            "renew": False,
            "seats": 12.5,
            "feedback": '=HYPERLINK("http://evil")',
            "nickname": "-1+2",
            "gone_b": "old",
            "gone_a": 3,
        },
        identity_kind="braze_id",
        identity_value="u-1",
        language="fr",
        # "ref" is not declared: stored before fields were declared, it makes no column.
        hidden={"utm": "mail", "campaign": "+spring", "ref": "old"},
        completed_at=done,
        identities={"braze_id": "u-1", "email": "@sam"},
    )
    Push.objects.create(
        response=response,
        workspace_id=live_survey.workspace_id,
        destination="braze",
        user_key="braze_id:u-1",
        state=PushState.SYNCED,
    )
    return response


def test_new_tokens_never_start_like_a_formula() -> None:
    # A url-safe token starts with "-" one time in 64; in 5,000 draws the old generator makes
    # one with certainty for practical purposes (the chance of none is below 1e-34).
    assert not [
        t for t in (new_token() for _ in range(5000)) if t.startswith(export.FORMULA_STARTS)
    ]


def test_a_stored_token_that_starts_like_a_formula_is_still_defused(
    viewer: User, live_survey: Survey
) -> None:
    # Tokens made before they were kept clear of "-" stay in the database as they were.
    add(live_survey, {"nps": 9}, token="-older0token0from0before")
    rows = rows_of(body(logged_in(viewer).get(csv_url(live_survey))))
    assert rows[1][0] == "'-older0token0from0before"


def test_csv_columns_come_in_a_stable_order_with_typed_safe_cells(
    viewer: User, live_survey: Survey, answered: Response
) -> None:
    add(live_survey, {"nps": 2}, started_at=timezone.now() + timedelta(seconds=1))

    reply = logged_in(viewer).get(csv_url(live_survey))

    assert reply.status_code == 200
    assert reply["Content-Type"] == "text/csv; charset=utf-8"
    assert reply["Content-Disposition"] == (
        f'attachment; filename="{live_survey.slug}-responses.csv"'
    )
    text = body(reply)
    assert not text.startswith("\ufeff")
    header, first, second = rows_of(text)
    # Hidden fields in the order the survey declares them, with or without a value.
    hidden = ["hidden.utm", "hidden.campaign", "hidden.source"]
    assert header == [*FIXED, *hidden, *KEYS, "gone_a", "gone_b"]
    row = dict(zip(header, first, strict=True))
    assert row["response_token"] == answered.token
    assert row["braze_id"] == "u-1" and row["email"] == "'@sam" and row["language"] == "fr"
    assert row["braze_sync"] == "synced" and row["completed_at"].endswith("Z")
    assert row["hidden.campaign"] == "'+spring" and row["hidden.utm"] == "mail"
    assert row["hidden.source"] == ""
    assert row["nps"] == "9" and row["seats"] == "12.5" and row["renew"] == "false"
    assert row["channels"] == "Email; SMS"
    assert row["feedback"] == '\'=HYPERLINK("http://evil")'
    assert row["nickname"] == "'-1+2"
    assert row["gone_a"] == "3" and row["gone_b"] == "old"
    assert row["rating"] == ""
    later = dict(zip(header, second, strict=True))
    assert later["nps"] == "2" and later["braze_sync"] == "not_sent"
    assert later["completed_at"] == "" and later["braze_id"] == ""


def test_json_is_an_array_of_objects_with_the_same_keys_and_typed_values(
    owner: User, live_survey: Survey, answered: Response
) -> None:
    reply = logged_in(owner).get(json_url(live_survey))

    assert reply["Content-Type"] == "application/json"
    (item,) = json.loads(body(reply))
    header = rows_of(body(logged_in(owner).get(csv_url(live_survey))))[0]
    assert list(item) == header
    assert item["channels"] == ["Email", "SMS"] and item["renew"] is False
    assert item["seats"] == 12.5 and item["nps"] == 9 and item["rating"] is None
    assert item["feedback"] == '=HYPERLINK("http://evil")'  # JSON is data, not a sheet
    assert item["hidden.campaign"] == "+spring" and item["hidden.source"] is None
    assert "hidden.ref" not in item


def test_an_empty_survey_exports_a_header_and_an_empty_array(
    owner: User, live_survey: Survey
) -> None:
    client = logged_in(owner)
    assert rows_of(body(client.get(csv_url(live_survey)))) == [[*FIXED, *KEYS]]
    assert json.loads(body(client.get(json_url(live_survey)))) == []


def test_a_question_key_that_is_a_fixed_column_gets_its_own_name(
    owner: User, workspace: Any
) -> None:
    survey = Survey.create(
        workspace,
        {"title": "T", "questions": [{"key": "email", "type": "email", "prompt": "Email?"}]},
        owner,
    )
    add(survey, {"email": "a@b.c"}, identities={"email": "link@b.c"})
    header, row = rows_of(body(logged_in(owner).get(csv_url(survey))))
    values = dict(zip(header, row, strict=True))
    assert values["email"] == "link@b.c" and values["answer.email"] == "a@b.c"


def test_exports_honour_the_completion_and_date_filters(owner: User, live_survey: Survey) -> None:
    now = timezone.now()
    add(live_survey, {"nps": 1}, completed_at=now, identities={"braze_id": "done"})
    add(live_survey, {"nps": 2}, identities={"braze_id": "open"})
    add(
        live_survey, {"nps": 3}, started_at=now - timedelta(days=30), identities={"braze_id": "old"}
    )
    client = logged_in(owner)

    def ids(**params: str) -> list[str]:
        return [
            item["braze_id"]
            for item in json.loads(body(client.get(json_url(live_survey, **params))))
        ]

    assert ids(completion="completed") == ["done"]
    assert ids(completion="in_progress") == ["old", "open"]
    old = (now - timedelta(days=30)).date().isoformat()
    assert ids(until=old) == ["old"]
    assert ids(since=now.date().isoformat()) == ["done", "open"]
    assert [
        r[1] for r in rows_of(body(client.get(csv_url(live_survey, completion="completed"))))[1:]
    ] == ["done"]


def test_a_bad_filter_is_a_400_not_a_download(owner: User, live_survey: Survey) -> None:
    reply = logged_in(owner).get(csv_url(live_survey, since="31/12/2026"))
    assert reply.status_code == 400
    assert "since must be a date written YYYY-MM-DD" in reply.content.decode()


def test_responses_being_erased_are_left_out(owner: User, live_survey: Survey) -> None:
    add(live_survey, {"nps": 1, "gone": "x"}, erase_requested_at=timezone.now(),
        hidden={"secret": "1"}, identities={"braze_id": "erasing"})  # fmt: skip
    add(live_survey, {"nps": 2}, identities={"braze_id": "kept"})
    header, *rows = rows_of(body(logged_in(owner).get(csv_url(live_survey))))
    assert [r[1] for r in rows] == ["kept"]
    assert "gone" not in header and "hidden.secret" not in header


def test_another_workspace_survey_is_a_404_and_visitors_sign_in_first(
    outsider: User, live_survey: Survey, client: Client
) -> None:
    for url in (csv_url(live_survey), json_url(live_survey)):
        assert logged_in(outsider).get(url).status_code == 404
        assert client.get(url).status_code == 302


# --- The API -----------------------------------------------------------------------------------


def api_url(survey: Survey, **params: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"/api/v1/surveys/{survey.pk}/responses/export" + (f"?{query}" if query else "")


def test_the_api_exports_both_formats_to_any_member(
    viewer_token: str, live_survey: Survey, answered: Response
) -> None:
    api = Client(HTTP_AUTHORIZATION=f"Bearer {viewer_token}")
    csv_reply = api.get(api_url(live_survey, format="csv"))
    json_reply = api.get(api_url(live_survey, format="json", completion="completed"))
    assert csv_reply.status_code == 200 and json_reply.status_code == 200
    assert rows_of(body(csv_reply))[1][0] == answered.token
    assert [item["response_token"] for item in json.loads(body(json_reply))] == [answered.token]
    assert (
        json.loads(body(api.get(api_url(live_survey, format="json", completion="in_progress"))))
        == []
    )


@pytest.mark.parametrize(
    ("params", "path"),
    [
        ({"format": "pdf"}, "$.format"),
        ({"completion": "half"}, "$.completion"),
        ({"since": "2026-13-01"}, "$.since"),
    ],
)
def test_the_api_refuses_bad_parameters_with_a_path(
    owner_token: str, live_survey: Survey, params: dict[str, str], path: str
) -> None:
    reply = Client(HTTP_AUTHORIZATION=f"Bearer {owner_token}").get(api_url(live_survey, **params))
    assert reply.status_code == 400
    assert [e["path"] for e in reply.json()["errors"]] == [path]


def test_the_api_hides_another_workspace_survey(outsider_token: str, live_survey: Survey) -> None:
    reply = Client(HTTP_AUTHORIZATION=f"Bearer {outsider_token}").get(api_url(live_survey))
    assert reply.status_code == 404


# --- Memory --------------------------------------------------------------------------------------


def seed(survey: Survey, count: int) -> None:
    start = timezone.now()
    responses = Response.objects.bulk_create(
        (
            Response(
                survey=survey,
                started_at=start + timedelta(microseconds=i),
                hidden={"utm": "x"},
                identities={"braze_id": f"b{i}"},
            )
            for i in range(count)
        ),
        batch_size=1000,
    )
    Answer.objects.bulk_create(
        (
            Answer(response_id=r.pk, question_key=k, value=v)
            for r in responses
            for k, v in (("nps", 7), ("channels", ["Email", "Push"]), ("feedback", "x" * 80))
        ),
        batch_size=2000,
    )


def peak_while_exporting(survey: Survey) -> tuple[int, int]:
    tracemalloc.start()
    try:
        rows = sum(chunk.count("\n") for chunk in export.csv_chunks(survey, filters.Filters()))
        return rows, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_the_number_of_responses(
    live_survey: Survey, monkeypatch: pytest.MonkeyPatch, workspace: Any, owner: User
) -> None:
    monkeypatch.setattr(export, "PAGE", 200)
    small = Survey.create(workspace, EVERY_TYPE, owner)
    seed(small, 1000)
    seed(live_survey, 6000)
    peak_while_exporting(small)  # caches warmed on both sides

    small_rows, small_peak = peak_while_exporting(small)
    large_rows, large_peak = peak_while_exporting(live_survey)

    assert (small_rows, large_rows) == (1001, 6001)
    # Six times the rows, about the same peak: a page of rows is all that is held.
    assert large_peak < small_peak * 1.5, (small_peak, large_peak)
