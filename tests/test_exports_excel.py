"""Exports marketers open without help: the text typed in "Other" in its own column, a CSV that
Excel reads with its accents, and an XLSX workbook with typed cells, read back with openpyxl as a
spreadsheet would; the API and webhooks give the "Other" text apart in the same way."""

from __future__ import annotations

import csv
import io
import json
import tracemalloc
from datetime import UTC, datetime, timedelta
from typing import Any

import openpyxl
import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from sounding.accounts.models import User, Workspace
from sounding.answers.models import Answer, Response
from sounding.destinations.webhooks import events
from sounding.responses import export, filters, xlsx
from sounding.surveys.models import Status, Survey
from tests.conftest import logged_in

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHOP: dict[str, Any] = {
    "title": "Boutique",
    "questions": [
        {
            "key": "extras",
            "type": "multiple_choice",
            "prompt": "What did you add?",
            "choices": ["Packaging", "Card"],
            "allow_other": True,
        },
        {
            "key": "drink",
            "type": "single_choice",
            "prompt": "Favourite drink?",
            "choices": ["Café crème", "Juice"],
            "allow_other": True,
            "other_label": "Something else",
        },
        {"key": "plan", "type": "dropdown", "prompt": "Plan?", "choices": ["Free", "Pro"]},
        {"key": "nps", "type": "nps", "prompt": "Recommend us?"},
        {"key": "seats", "type": "number", "prompt": "Seats?"},
        {"key": "since", "type": "date", "prompt": "Customer since?"},
        {"key": "renew", "type": "yes_no", "prompt": "Renew?"},
        {"key": "note", "type": "long_text", "prompt": "Anything else?"},
    ],
}
ANSWER_COLUMNS = [
    "extras",
    "extras.other",
    "drink",
    "drink.other",
    "plan",
    "nps",
    "seats",
    "since",
    "renew",
    "note",
]


@pytest.fixture
def shop(workspace: Workspace, owner: User) -> Survey:
    survey = Survey.create(workspace, SHOP, owner)
    survey.set_status(Status.LIVE)
    return survey


def add(survey: Survey, answers: dict[str, Any], **fields: Any) -> Response:
    response = Response.objects.create(survey=survey, **fields)
    Answer.objects.bulk_create(
        Answer(response=response, question_key=k, value=v) for k, v in answers.items()
    )
    return response


def raw(reply: Any) -> bytes:
    return b"".join(reply.streaming_content)


def url(name: str, survey: Survey, **params: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return reverse(name, args=[survey.pk]) + (f"?{query}" if query else "")


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


DONE = datetime(2026, 11, 24, 9, 30, 15, 250000, tzinfo=UTC)


@pytest.fixture
def answered(shop: Survey) -> Response:
    return add(
        shop,
        {
            "extras": ["Packaging", "Gift wrapping"],
            "drink": "Thé à la menthe",
            "plan": "Pro",
            "nps": 9,
            "seats": 12.5,
            "since": "2021-03-04",
            "renew": True,
            "note": '=HYPERLINK("http://evil")',
        },
        started_at=DONE - timedelta(minutes=2),
        completed_at=DONE,
        identities={"braze_id": "u-1"},
    )


# --- "Other" in its own column -----------------------------------------------------------------


def test_other_text_has_its_own_column_for_single_and_multiple_choice(
    viewer: User, shop: Survey, answered: Response
) -> None:
    add(shop, {"extras": ["Card"], "drink": "Juice"}, started_at=DONE)

    text = raw(logged_in(viewer).get(url("survey-export-csv", shop))).decode("utf-8")

    first, second = csv_rows(text)
    assert list(first)[-len(ANSWER_COLUMNS) :] == ANSWER_COLUMNS
    assert first["extras"] == "Packaging; Other" and first["extras.other"] == "Gift wrapping"
    assert first["drink"] == "Something else" and first["drink.other"] == "Thé à la menthe"
    assert second["extras"] == "Card" and second["extras.other"] == ""
    assert second["drink"] == "Juice" and second["drink.other"] == ""


def test_json_export_and_api_give_the_other_text_apart(
    owner: User, owner_token: str, shop: Survey, answered: Response
) -> None:
    (item,) = json.loads(raw(logged_in(owner).get(url("survey-export-json", shop))))
    assert item["extras"] == ["Packaging", "Other"] and item["extras.other"] == "Gift wrapping"
    assert item["drink"] == "Something else" and item["drink.other"] == "Thé à la menthe"
    assert "plan.other" not in item

    api = Client(HTTP_AUTHORIZATION=f"Bearer {owner_token}")
    (listed,) = api.get(f"/api/v1/surveys/{shop.pk}/responses").json()["items"]
    assert listed["answers"]["extras"] == ["Packaging", "Other"]
    assert listed["answers"]["drink"] == "Something else"
    assert listed["other"] == {"extras": "Gift wrapping", "drink": "Thé à la menthe"}


def test_webhooks_carry_the_other_text_as_the_api_does(shop: Survey, answered: Response) -> None:
    answers = dict(Answer.objects.filter(response=answered).values_list("question_key", "value"))
    changed = {"drink": answers["drink"], "plan": "Pro"}

    drink, plan, completed = (
        json.loads(m.body)["data"]
        for m in events.for_change(
            answered, shop, DONE, answers, changed, True, [events.ANSWERED, events.COMPLETED]
        )
    )

    assert drink["answer"]["value"] == "Something else"
    assert drink["answer"]["other"] == "Thé à la menthe"
    assert "other" not in plan["answer"]
    assert completed["answers"]["extras"] == ["Packaging", "Other"]
    assert completed["other"] == {"extras": "Gift wrapping", "drink": "Thé à la menthe"}


def test_an_answer_naming_a_choice_that_is_still_offered_has_no_other_text(
    owner: User, shop: Survey
) -> None:
    # A respondent whose own text happens to be a choice's is read as that choice.
    add(shop, {"extras": ["Card", "Packaging"], "drink": "Café crème"})
    (item,) = json.loads(raw(logged_in(owner).get(url("survey-export-json", shop))))
    assert item["extras"] == ["Card", "Packaging"] and item["extras.other"] is None
    assert item["drink"] == "Café crème" and item["drink.other"] is None


# --- A CSV for Excel ---------------------------------------------------------------------------


def test_the_excel_csv_starts_with_a_bom_and_keeps_accents_as_excel_reads_them(
    viewer: User, shop: Survey, answered: Response
) -> None:
    reply = logged_in(viewer).get(url("survey-export-excel-csv", shop))

    assert reply.status_code == 200
    assert reply["Content-Type"] == "text/csv; charset=utf-8"
    assert reply["Content-Disposition"] == f'attachment; filename="{shop.slug}-responses.csv"'
    data = raw(reply)
    assert data.startswith(b"\xef\xbb\xbf")
    # Excel takes the BOM as "this is UTF-8"; without it the accents would read as cp1252.
    text = data.decode("utf-8-sig")
    assert "Ã" not in text
    assert text.count("\r\n") == 2 and "\n" not in text.replace("\r\n", "")
    (row,) = csv_rows(text)
    assert row["drink.other"] == "Thé à la menthe"
    assert row["note"] == '\'=HYPERLINK("http://evil")'  # defused, as in the plain CSV
    plain = raw(logged_in(viewer).get(url("survey-export-csv", shop)))
    assert data == b"\xef\xbb\xbf" + plain


def test_the_api_gives_the_excel_csv_with_the_same_filters(
    viewer_token: str, shop: Survey, answered: Response
) -> None:
    add(shop, {"nps": 1})
    api = Client(HTTP_AUTHORIZATION=f"Bearer {viewer_token}")
    export_url = f"/api/v1/surveys/{shop.pk}/responses/export"

    reply = api.get(export_url, {"format": "excel-csv", "completion": "completed"})

    assert reply.status_code == 200
    text = raw(reply).decode("utf-8")
    assert text.startswith("\ufeff")
    assert [r["braze_id"] for r in csv_rows(text.removeprefix("\ufeff"))] == ["u-1"]
    assert api.get(export_url, {"format": "excel"}).status_code == 400


def test_the_responses_page_offers_every_export_with_its_filters(
    viewer: User, shop: Survey
) -> None:
    html = logged_in(viewer).get(url("survey-responses", shop, completion="completed"))
    page = html.content.decode()
    for name in ("survey-export-xlsx", "survey-export-excel-csv", "survey-export-csv"):
        assert f'href="{url(name, shop)}?completion=completed"' in page
    assert "Export Excel (.xlsx)" in page and "Export CSV for Excel" in page


# --- XLSX --------------------------------------------------------------------------------------


def workbook(data: bytes) -> Any:
    return openpyxl.load_workbook(io.BytesIO(data))


def sheet_rows(data: bytes) -> list[dict[str, Any]]:
    sheet = workbook(data)["Responses"]
    header, *rows = [[c for c in row] for row in sheet.iter_rows()]
    titles = [c.value for c in header]
    return [dict(zip(titles, row, strict=True)) for row in rows]


def test_xlsx_has_typed_cells_and_text_that_is_never_a_formula(
    viewer: User, shop: Survey, answered: Response
) -> None:
    reply = logged_in(viewer).get(url("survey-export-xlsx", shop))

    assert reply.status_code == 200
    assert reply["Content-Type"] == XLSX_TYPE
    assert reply["Content-Disposition"] == f'attachment; filename="{shop.slug}-responses.xlsx"'
    assert reply["Cache-Control"] == "private, no-store"
    data = raw(reply)
    plain = raw(logged_in(viewer).get(url("survey-export-csv", shop))).decode()
    csv_header = next(csv.reader(io.StringIO(plain)))
    (row,) = sheet_rows(data)
    assert list(row) == csv_header

    cells = {name: cell for name, cell in row.items()}
    assert cells["nps"].value == 9 and cells["nps"].data_type == "n"
    assert cells["seats"].value == 12.5
    assert cells["renew"].value is True and cells["renew"].data_type == "b"
    assert cells["since"].is_date and cells["since"].value == datetime(2021, 3, 4)
    assert cells["completed_at"].is_date
    assert cells["completed_at"].value == datetime(2026, 11, 24, 9, 30, 15, 250000)
    assert cells["extras"].value == "Packaging; Other"
    assert cells["extras.other"].value == "Gift wrapping"
    assert cells["drink.other"].value == "Thé à la menthe"
    # Text stays text exactly as given: a string cell is never evaluated.
    assert cells["note"].data_type == "s"
    assert cells["note"].value == '=HYPERLINK("http://evil")'
    assert cells["braze_id"].value == "u-1" and cells["email"].value is None


def test_xlsx_formulas_are_nowhere_in_the_workbook(owner: User, shop: Survey) -> None:
    add(
        shop,
        {"note": "=1+1", "plan": "@SUM(A1)"},
        identities={"email": "+33 1 23", "braze_id": "-2"},
    )
    data = raw(logged_in(owner).get(url("survey-export-xlsx", shop)))
    sheet = workbook(data)["Responses"]
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            assert cell.data_type != "f", cell.coordinate
    (row,) = sheet_rows(data)
    assert row["note"].value == "=1+1" and row["plan"].value == "@SUM(A1)"
    assert row["email"].value == "+33 1 23" and row["braze_id"].value == "-2"


def test_the_api_gives_xlsx_and_an_empty_survey_is_a_header_only(
    viewer_token: str, shop: Survey
) -> None:
    api = Client(HTTP_AUTHORIZATION=f"Bearer {viewer_token}")
    reply = api.get(f"/api/v1/surveys/{shop.pk}/responses/export", {"format": "xlsx"})
    assert reply.status_code == 200 and reply["Content-Type"] == XLSX_TYPE
    sheet = workbook(raw(reply))["Responses"]
    assert [c.value for c in next(sheet.iter_rows())][-len(ANSWER_COLUMNS) :] == ANSWER_COLUMNS
    assert sheet.max_row == 1


def test_values_a_cell_cannot_hold_exactly_stay_text() -> None:
    target = io.BytesIO()
    sheets = xlsx.Sheets(target, ["big", "long", "odd_day", "list", "object"], ["odd_day"], [])
    sheets.add([2**60, "x" * 40_000, "2026-02-30", [1, "a"], {"k": "é"}])
    sheets.close()
    (row,) = sheet_rows(target.getvalue())
    assert row["big"].value == str(2**60)
    assert len(row["long"].value) == xlsx.MAX_CELL
    assert row["odd_day"].value == "2026-02-30"
    assert row["list"].value == "1; a" and row["object"].value == '{"k": "é"}'


def test_a_full_sheet_continues_on_the_next_with_the_header_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(xlsx, "MAX_ROWS", 3)
    target = io.BytesIO()
    sheets = xlsx.Sheets(target, ["n"], [], [])
    for n in range(5):
        sheets.add([n])
    sheets.close()
    book = workbook(target.getvalue())
    assert book.sheetnames == ["Responses", "Responses 2", "Responses 3"]
    values = [[c.value for c in row] for name in book.sheetnames for row in book[name].iter_rows()]
    assert values == [["n"], [0], [1], ["n"], [2], [3], ["n"], [4]]


# --- Memory ------------------------------------------------------------------------------------


def seed(survey: Survey, count: int) -> None:
    start = timezone.now()
    responses = Response.objects.bulk_create(
        (
            Response(
                survey=survey,
                started_at=start + timedelta(microseconds=i),
                identities={"braze_id": f"b{i}"},
            )
            for i in range(count)
        ),
        batch_size=1000,
    )
    answers = (
        ("nps", 7),
        ("extras", ["Packaging", "Ribbon"]),
        ("drink", "Thé"),
        ("since", "2020-01-02"),
        ("note", "x" * 80),
    )
    Answer.objects.bulk_create(
        (Answer(response_id=r.pk, question_key=k, value=v) for r in responses for k, v in answers),
        batch_size=2000,
    )


def peak_while_exporting(survey: Survey) -> tuple[int, int]:
    tracemalloc.start()
    try:
        size = sum(len(b) for b in export.xlsx_chunks(survey, filters.Filters()))
        return size, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_xlsx_memory_does_not_grow_with_the_number_of_responses(
    shop: Survey, monkeypatch: pytest.MonkeyPatch, workspace: Any, owner: User
) -> None:
    monkeypatch.setattr(export, "PAGE", 200)
    small = Survey.create(workspace, SHOP, owner)
    seed(small, 1000)
    seed(shop, 6000)
    peak_while_exporting(small)  # caches warmed on both sides

    small_size, small_peak = peak_while_exporting(small)
    large_size, large_peak = peak_while_exporting(shop)

    assert large_size > small_size * 4  # six times the rows were really written
    # Six times the rows, about the same peak: a page of rows is all that is held.
    assert large_peak < small_peak * 1.5, (small_peak, large_peak)
    assert large_peak < 8 * 1024 * 1024, large_peak


def test_the_response_page_reads_the_other_text_after_its_label(
    viewer: User, shop: Survey, answered: Response
) -> None:
    page = logged_in(viewer).get(reverse("response-detail", args=[shop.pk, answered.token]))
    html = page.content.decode()
    assert "Packaging, Other: “Gift wrapping”" in html
    assert "Something else: “Thé à la menthe”" in html
