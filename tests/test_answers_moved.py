"""Response, Answer and LinkClick moved from `collect` to `answers` with their tables: a
database made before the move keeps every row, and the foreign keys into it still hold."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from sounding.answers.models import Answer, LinkClick, Response
from sounding.delivery.models import Push

BEFORE = [("collect", "0004_link_clicks"), ("delivery", "0009_lane_outage")]


def migrate(targets: list[tuple[str, str]] | None = None) -> Any:
    executor = MigrationExecutor(connection)
    executor.migrate(targets or executor.loader.graph.leaf_nodes())
    executor.loader.build_graph()
    applied = [n for n in executor.loader.applied_migrations if n in executor.loader.graph.nodes]
    return executor.loader.project_state(applied).apps


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
    finally:
        new = migrate()

    assert new.get_model("answers", "Response")._meta.db_table == "collect_response"
    moved = Response.objects.get(pk=kept)
    assert (moved.braze_id, moved.identity_value, moved.survey.slug) == ("b-1", "b-1", "before")
    assert list(moved.answers.values_list("question_key", "value")) == [("nps", 9)]
    assert LinkClick.objects.get().who == "braze_id:b-1"
    assert Push.objects.get().response == moved
    # The foreign keys into the moved tables still cascade.
    moved.delete()
    assert (Answer.objects.count(), Push.objects.count()) == (0, 0)
