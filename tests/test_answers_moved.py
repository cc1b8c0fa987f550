"""Response, Answer and LinkClick moved from `collect` to `answers` with their tables, and a
response's identifiers from a column each to one `identities` object: a database made before
keeps every row and every identifier, and the foreign keys into it still hold."""

from __future__ import annotations

from typing import Any

import pytest

from sounding.answers.models import Answer, LinkClick, Response
from sounding.delivery.models import Push
from tests.migrating import migrate

# Every app as it was before `answers` existed.
BEFORE: list[tuple[str, str | None]] = [("answers", None)]


@pytest.mark.django_db(transaction=True)
def test_rows_made_before_the_move_are_read_and_deleted_after_it() -> None:
    try:
        old = migrate(BEFORE)
        assert old.get_model("collect", "Response")._meta.db_table == "collect_response"
        workspace = old.get_model("accounts", "Workspace").objects.create(name="Acme")
        survey = old.get_model("surveys", "Survey").objects.create(
            workspace=workspace,
            slug="before",
            title="Before",
            definition={"title": "Before", "questions": []},
        )
        response = old.get_model("collect", "Response").objects.create(
            survey=survey, braze_id="b-1", identity_kind="braze_id", identity_value="b-1"
        )
        old.get_model("collect", "Answer").objects.create(
            response=response, question_key="nps", value=9
        )
        old.get_model("collect", "LinkClick").objects.create(
            survey=survey, who="braze_id:b-1", question_key="nps", value="9", method="GET"
        )
        old.get_model("delivery", "Push").objects.create(
            response=response, workspace=workspace, destination="braze", user_key="b-1"
        )
        kept = response.pk
        OldResponse = old.get_model("collect", "Response")
        OldResponse.objects.create(survey=survey, external_id="u-1", email="ivy@x.test")
        OldResponse.objects.create(survey=survey)
    finally:
        new = migrate()

    assert new.get_model("answers", "Response")._meta.db_table == "collect_response"
    moved = Response.objects.get(pk=kept)
    assert (moved.identities, moved.identity_value, moved.survey.slug) == (
        {"braze_id": "b-1"},
        "b-1",
        "before",
    )
    assert moved.identity == {"braze_id": "b-1", "external_id": "", "email": ""}
    assert list(Response.objects.order_by("pk").values_list("identities", flat=True)) == [
        {"braze_id": "b-1"},
        {"external_id": "u-1", "email": "ivy@x.test"},
        {},
    ]
    assert list(moved.answers.values_list("question_key", "value")) == [("nps", 9)]
    assert LinkClick.objects.get().who == "braze_id:b-1"
    assert Push.objects.get().response == moved
    # The foreign keys into the moved tables still cascade.
    moved.delete()
    assert (Answer.objects.count(), Push.objects.count()) == (0, 0)


@pytest.mark.django_db(transaction=True)
def test_undoing_the_identities_move_puts_each_identifier_back_in_its_column() -> None:
    Response.objects.create(survey=_survey(), identities={"email": "ivy@x.test", "braze_id": "b"})
    try:
        old = migrate([("answers", "0001_initial")])
        rows = old.get_model("answers", "Response").objects.values_list(
            "braze_id", "external_id", "email"
        )
        assert list(rows) == [("b", "", "ivy@x.test")]
    finally:
        migrate()
    assert Response.objects.get().identities == {"braze_id": "b", "email": "ivy@x.test"}


def _survey() -> Any:
    from sounding.accounts.models import Workspace
    from sounding.surveys.models import Survey

    workspace = Workspace.objects.create(name="Acme")
    return Survey.objects.create(
        workspace=workspace, slug="s", title="S", definition={"title": "S", "questions": []}
    )
