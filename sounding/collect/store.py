"""The respondent path's reads and writes, in plain SQL.

These few statements run on every respondent request; building them through the ORM costs
several times the work of the statements themselves (see bench/). The SQL is plain enough
for both SQLite and PostgreSQL, and rows are turned into ordinary model instances, so the
rest of the code never knows the difference.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, cast

from django.db import connection

from sounding.answers.models import Answer, Response, normalize_identity
from sounding.delivery.outbox import upsert_after
from sounding.surveys.models import Survey

SURVEY_FIELDS = ["id", "workspace_id", "slug", "title", "status", "version", "destinations"]
_SURVEY_COLUMN = {f.attname: cast(str, f.column) for f in Survey._meta.concrete_fields}
SURVEY_COLUMNS = [_SURVEY_COLUMN[name] for name in SURVEY_FIELDS]
RESPONSE_FIELDS = [f.attname for f in Response._meta.concrete_fields]
# Concrete fields are those with a column: `column` is None only on the others.
_RESPONSE_COLUMN_NAMES = [cast(str, f.column) for f in Response._meta.concrete_fields]
_RESPONSE_COLUMNS = ", ".join(_RESPONSE_COLUMN_NAMES)
_VALUE_FIELD = Answer._meta.get_field("value")
_DESTINATIONS_FIELD = Survey._meta.get_field("destinations")


def _one(sql: str, params: list[Any]) -> tuple[Any, ...] | None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def survey_by_slug(slug: str, token: str = "") -> Survey | None:
    """The survey head, without its definition (the spec cache has that).

    With `token` (an answer posted from a survey form, a resume link), the response it names
    and that response's answers come in the same statement: `response_by_token` and
    `answers_of` then take them from the survey instead of asking again. Every answer is such
    a request, and on PostgreSQL each statement is a round trip."""
    if token and "\x00" not in token:
        return _survey_holding(slug, token)
    row = _one(_SURVEY_BY_SLUG, [slug])
    return None if row is None else _survey(row)


def _survey(row: tuple[Any, ...]) -> Survey:
    values = [
        *row[:-1],
        _DESTINATIONS_FIELD.from_db_value(row[-1], _DESTINATIONS_FIELD.cached_col, connection),
    ]
    return Survey.from_db(connection.alias, SURVEY_FIELDS, values)


_SURVEY_BY_SLUG = f"SELECT {', '.join(SURVEY_COLUMNS)} FROM surveys_survey WHERE slug = %s"
_SURVEY_HOLDING = (
    "SELECT "
    + ", ".join(f"surveys_survey.{column}" for column in SURVEY_COLUMNS)
    + ", "
    + ", ".join(f"collect_response.{column}" for column in _RESPONSE_COLUMN_NAMES)
    + ", (SELECT {answers} FROM collect_answer WHERE response_id = collect_response.id) "
    "FROM surveys_survey LEFT JOIN collect_response ON collect_response.token = %s "
    "AND collect_response.survey_id = surveys_survey.id WHERE surveys_survey.slug = %s"
)
# Every answer of a response as one JSON object, in the database's own words for it.
_ANSWERS_OBJECT = {
    "postgresql": "json_object_agg(question_key, value)",
    "sqlite": "json_group_object(question_key, json(value))",
}


def _survey_holding(slug: str, token: str) -> Survey | None:
    width = len(SURVEY_FIELDS)
    row = _one(_SURVEY_HOLDING.format(answers=_ANSWERS_OBJECT[connection.vendor]), [token, slug])
    if row is None:
        return None
    survey = _survey(row[:width])
    response = None
    if row[width] is not None:  # the response's id: NULL when the token names none
        response = _response_from(row[width:-1])
        _of(survey, response)
        given = row[-1]
        answers = json.loads(given) if isinstance(given, str) else given
        response.__dict__["_held_answers"] = answers or {}
    survey.__dict__["_held_response"] = (token, response)
    return survey


def _response(where: str, params: list[Any]) -> Response | None:
    row = _one(f"SELECT {_RESPONSE_COLUMNS} FROM collect_response WHERE {where}", params)
    return None if row is None else _response_from(row)


def _response_from(row: tuple[Any, ...]) -> Response:
    values = list(row)
    for i, (col, converters) in enumerate(_response_converters()):
        for converter in converters:
            values[i] = converter(values[i], col, connection)
    return Response.from_db(connection.alias, RESPONSE_FIELDS, values)


_converters: dict[str, list[tuple[Any, list[Any]]]] = {}


def _response_converters() -> list[tuple[Any, list[Any]]]:
    """The conversions the ORM would apply to each column: the backend's (SQLite keeps dates
    as text), then the field's own (JSON)."""
    found = _converters.get(connection.vendor)
    if found is None:
        found = []
        for field in Response._meta.concrete_fields:
            col = field.get_col(Response._meta.db_table)
            found.append(
                (col, connection.ops.get_db_converters(col) + col.get_db_converters(connection))
            )
        _converters[connection.vendor] = found
    return found


def response_by_token(survey: Survey, token: str) -> Response | None:
    if "\x00" in token:
        # No token holds NUL, and PostgreSQL refuses the query outright: an edited form or
        # cookie, answered as an unknown token.
        return None
    held = survey.__dict__.get("_held_response")
    if held is not None and held[0] == token:
        return held[1]  # read with the survey (`survey_by_slug`)
    return _of(survey, _response("token = %s AND survey_id = %s", [token, survey.pk]))


def response_by_identity(survey: Survey, kind: str, value: str) -> Response | None:
    # Stored identities are normalized (a migration brought older ones along), so normalizing
    # the one asked for makes the lookup ignore an email's case while it still uses the index.
    found = _response(
        "survey_id = %s AND identity_kind = %s AND identity_value = %s",
        [survey.pk, kind, normalize_identity(kind, value)],
    )
    return _of(survey, found)


def _of(survey: Survey, response: Response | None) -> Response | None:
    # Spares a query (and a definition parse) wherever `response.survey` is read.
    if response is not None:
        response.survey = survey
    return response


def answers_of(response: Response) -> dict[str, Any]:
    """The response's answers: those read with it (`survey_by_slug`), once, else asked for."""
    held = response.__dict__.pop("_held_answers", None)
    return held if held is not None else answers(response.pk)


def answers(response_id: int) -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT question_key, value FROM collect_answer WHERE response_id = %s",
            [response_id],
        )
        return {
            key: json.loads(value) if isinstance(value, str) else value
            for key, value in cursor.fetchall()
        }


# PostgreSQL runs data-modifying WITH queries, so an answer, its response's new version and
# what the destinations are owed can go in one statement, one round trip, where the
# transaction of separate statements costs five (BEGIN, three statements, COMMIT).
SAVES_AT_ONCE = {"postgresql"}
_UPSERT_ANSWER = (
    "INSERT INTO collect_answer (response_id, question_key, value, answered_at) "
    "VALUES (%s, %s, %s, %s) "
    "ON CONFLICT (response_id, question_key) "
    "DO UPDATE SET value = excluded.value, answered_at = excluded.answered_at"
)


def saves_at_once() -> bool:
    return connection.vendor in SAVES_AT_ONCE


def save_at_once(
    response_id: int,
    key: str,
    value: Any,
    now: datetime,
    completed: datetime | None,
    owed: list[tuple[int, str, str]],
) -> int:
    """`upsert_answer`, `touch_response` (bumped) and an outbox upsert for each (workspace,
    destination, person) of `owed`, as one statement (`saves_at_once` databases only).
    Returns the answers' version the statement leaves."""
    at = connection.ops.adapt_datetimefield_value(now)
    params: list[Any] = [response_id, key, _VALUE_FIELD.get_db_prep_save(value, connection), at]
    sets = "updated_at = %s, answers_version = answers_version + 1"
    params.append(at)
    if completed is not None:
        sets += ", completed_at = %s"
        params.append(connection.ops.adapt_datetimefield_value(completed))
    params.append(response_id)
    parts = [
        f"answer AS ({_UPSERT_ANSWER})",
        f"touched AS (UPDATE collect_response SET {sets} WHERE id = %s RETURNING answers_version)",
    ]
    for n, (workspace_id, kind, person) in enumerate(owed):
        parts.append(f"owed{n} AS ({upsert_after('touched', 'answers_version')})")
        params += [response_id, workspace_id, kind, person, at]
    with connection.cursor() as cursor:
        cursor.execute(f"WITH {', '.join(parts)} SELECT answers_version FROM touched", params)
        return cursor.fetchone()[0]


def upsert_answer(response_id: int, key: str, value: Any, now: datetime) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            _UPSERT_ANSWER,
            [
                response_id,
                key,
                _VALUE_FIELD.get_db_prep_save(value, connection),
                connection.ops.adapt_datetimefield_value(now),
            ],
        )


def delete_answer(response_id: int, key: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM collect_answer WHERE response_id = %s AND question_key = %s",
            [response_id, key],
        )
        return cursor.rowcount


def delete_answers(response_id: int, keys: list[str]) -> int:
    marks = ", ".join(["%s"] * len(keys))
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM collect_answer WHERE response_id = %s AND question_key IN ({marks})",
            [response_id, *keys],
        )
        return cursor.rowcount


def touch_response(response_id: int, now: datetime, bump: bool, completed: datetime | None) -> int:
    """Record activity; `bump` the answers' version; set `completed` if given.

    Returns the answers' version as this transaction leaves it."""
    sets = ["updated_at = %s"]
    params: list[Any] = [connection.ops.adapt_datetimefield_value(now)]
    if bump:
        sets.append("answers_version = answers_version + 1")
    if completed is not None:
        sets.append("completed_at = %s")
        params.append(connection.ops.adapt_datetimefield_value(completed))
    params.append(response_id)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE collect_response SET {', '.join(sets)} WHERE id = %s "
            "RETURNING answers_version",
            params,
        )
        return cursor.fetchone()[0]
