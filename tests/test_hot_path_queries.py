"""The respondent path's lookups must use an index: a table scan grows with every response."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection

from sounding.collect import store

# Each lookup, and the index terms SQLite must search by (not merely some index: an index on
# the survey alone would still read every response of a busy survey).
LOOKUPS = {
    "survey by slug": ("SELECT id FROM surveys_survey WHERE slug = %s", ["x"], "(slug=?)"),
    "response by token": (
        "SELECT id FROM collect_response WHERE token = %s AND survey_id = %s",
        ["t", 1],
        "(token=?)",
    ),
    "response by identity": (
        "SELECT id FROM collect_response "
        "WHERE survey_id = %s AND identity_kind = %s AND identity_value = %s",
        [1, "braze_id", "abc"],
        "(survey_id=? AND identity_kind=? AND identity_value=?)",
    ),
    "answers of a response": (
        "SELECT question_key, value FROM collect_answer WHERE response_id = %s",
        [1],
        "(response_id=?)",
    ),
}


@pytest.mark.skipif(connection.vendor != "sqlite", reason="plans read from SQLite's EXPLAIN")
@pytest.mark.parametrize("name", sorted(LOOKUPS))
@pytest.mark.django_db
def test_each_respondent_lookup_uses_an_index(name: str) -> None:
    sql, params, terms = LOOKUPS[name]
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        plan = " ".join(str(row[-1]) for row in cursor.fetchall())
    assert plan.startswith("SEARCH") and "INDEX" in plan and plan.endswith(terms), plan


def test_the_store_runs_the_lookups_checked_here() -> None:
    # If the store's SQL changes, the plans above must be checked again.
    source = Path(store.__file__).read_text()
    assert "survey_id = %s AND identity_kind = %s AND identity_value = %s" in source
    assert "token = %s AND survey_id = %s" in source
    assert "FROM collect_answer WHERE response_id = %s" in source
