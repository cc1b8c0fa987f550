"""The respondent path's lookups must use an index: a table scan grows with every response."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from sounding.accounts.models import User, Workspace
from sounding.answers.models import Response
from sounding.collect import signatures, store
from sounding.destinations.braze import signing
from sounding.destinations.braze.models import SurveyBraze
from sounding.destinations.braze.setup import save_survey_config, survey_config
from sounding.surveys.models import Status, Survey
from tests.delivery_fixtures import PULSE

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


# --- A warm request on a signed survey: the signature costs no query ------------------------


def _answer_nps(survey: Survey, params: dict[str, str]) -> list[str]:
    """The SQL of one answer POST of a warm process, as the survey's own form sends it (with
    JavaScript: the next screen in the reply)."""
    client = Client(headers={"X-Requested-With": "fetch"})
    path = f"{survey.public_path()}?{urlencode(params)}"
    client.post(path, {"q": "nps", "a": "8", "nav": "next"})  # warms the caches
    with CaptureQueriesContext(connection) as queries:
        answer = client.post(path, {"q": "nps", "a": "9", "nav": "next"})
    assert answer.status_code == 200, answer.content
    return [q["sql"] for q in queries.captured_queries]


@pytest.mark.django_db
def test_a_signed_survey_costs_no_extra_query_on_a_warm_request(
    workspace: Workspace, owner: User
) -> None:
    signatures.forget()
    plain, signed = (Survey.create(workspace, PULSE, owner) for _ in range(2))
    for survey in (plain, signed):
        survey.set_status(Status.LIVE)
    config = survey_config(signed)
    signing.set_signed(config, True)
    save_survey_config(signed, config)
    signed.refresh_from_db()
    secret = SurveyBraze.objects.get(survey=signed).signing_secret()
    signature = signatures.signature(secret.encode(), "braze_id:abc")

    unsigned_sql = _answer_nps(plain, {"user_braze_id": "abc"})
    signed_sql = _answer_nps(signed, {"user_braze_id": "abc", "sig": signature})

    assert len(signed_sql) == len(unsigned_sql)
    assert not [sql for sql in signed_sql if "braze_surveybraze" in sql]
    assert Response.objects.filter(survey=signed, identities__braze_id="abc").exists()


@pytest.mark.skipif(connection.vendor != "sqlite", reason="plans read from SQLite's EXPLAIN")
@pytest.mark.django_db
def test_the_survey_with_its_response_and_answers_is_one_indexed_statement(
    workspace: Workspace, owner: User
) -> None:
    # What every answer reads first (`store.survey_by_slug` with the form's token): each of
    # its three tables searched by an index, none scanned.
    survey = Survey.create(workspace, PULSE, owner)
    response = Response.objects.create(survey=survey, token="tok")
    ran: list[tuple[str, Any]] = []

    def keep(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        ran.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(keep):
        found = store.survey_by_slug(survey.slug, "tok")
    assert found is not None and store.response_by_token(found, "tok") == response
    assert len(ran) == 1
    sql, params = ran[0]
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        plan = [str(row[-1]) for row in cursor.fetchall()]
    searched = {t for line in plan for t in re.findall(r"^SEARCH (\w+) USING", line)}
    assert searched == {"surveys_survey", "collect_response", "collect_answer"}, plan
    assert not [line for line in plan if line.startswith("SCAN")], plan
