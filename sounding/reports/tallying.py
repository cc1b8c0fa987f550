"""Every count of a report in one pass over the answers: the answers' tallies (`stats`), the
trend's per bucket and the breakdown's per group (`trends`).

One GROUP BY of the answers by question, bucket, group and value serves all three: the database
returns at most (questions × values × buckets × groups) rows, summed here into each tally. The
bucket counts only for the trend's questions and the group only for the breakdown's, so the
other questions come in one row per value, as in a pass of their own.

Why one pass: grouping a few hundred thousand answers is the report's whole cost, and it is paid
per pass. SQLite groups by sorting every answer, so three passes (tallies, trend, breakdown)
sorted the answers three times; PostgreSQL joined and hashed them three times. Why the bucket
and the group are worked out per response, in a materialized CTE, rather than per answer: both
belong to the response, and reading a hidden field parses the response's JSON each time it is
read, once per answer otherwise (six times per response in a six-question survey).

The SQL is written here around the responses' own query (Django's, with every filter of the
report), because the ORM cannot join a subquery.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import connections, transaction
from django.db.models import DateField, F, FilteredRelation, Q, QuerySet
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Trunc
from django.utils import timezone

from sounding.answers.models import Answer, Response
from sounding.reports import periods, trends
from sounding.reports.expressions import JsonNumber, JsonText, SqliteLocalBucket
from sounding.reports.stats import GROUPED_TYPES, KeyTally, grouped_keys
from sounding.surveys.spec import SurveySpec


@dataclass(frozen=True)
class Pass:
    """What the pass counts besides the tallies: the trend of `trend_keys` by `bucket` over
    `span` (none without keys) and the breakdown `by` (none when empty)."""

    trend_keys: tuple[str, ...] = ()
    bucket: str = periods.DEFAULT_BUCKET
    span: periods.Span | None = None
    by: str = ""


@dataclass
class Tallies:
    tallies: dict[str, KeyTally] = field(default_factory=dict)
    trend: dict[str, dict[date, KeyTally]] = field(default_factory=dict)
    groups: dict[str, dict[str, KeyTally]] = field(default_factory=dict)


def _bucket(vendor: str, bucket: str, span: periods.Span) -> Any:
    """The start of the bucket of the response's start, in the server's time zone."""
    zone = timezone.get_current_timezone()
    if vendor == "sqlite":
        # Django's Trunc calls a Python function for each row on SQLite; this is SQLite's own
        # date arithmetic.
        first = datetime.combine(span.first - timedelta(days=1), time.min, zone)
        last = datetime.combine(span.last + timedelta(days=2), time.min, zone)
        return SqliteLocalBucket("started_at", bucket, zone, first, last)
    return Trunc("started_at", bucket, output_field=DateField(), tzinfo=zone)


def _chosen(responses: QuerySet[Response], vendor: str, wanted: Pass) -> tuple[str, list[Any]]:
    """The responses' SQL, selecting (id, bucket, group): NULL for what is not counted."""
    found = responses.order_by()
    columns: dict[str, Any] = {}
    if wanted.trend_keys and wanted.span is not None:
        columns["at"] = _bucket(vendor, wanted.bucket, wanted.span)
    if wanted.by == "language":
        columns["grp"] = F("language")
    elif wanted.by.startswith("hidden:"):
        columns["grp"] = KeyTextTransform(wanted.by.removeprefix("hidden:"), "hidden")
    elif wanted.by.startswith("q:"):
        # A LEFT JOIN to the response's answer to that question (one at most: unique).
        other = Q(answers__question_key=wanted.by.removeprefix("q:"))
        found = found.annotate(other=FilteredRelation("answers", condition=other))
        columns["grp"] = F("other__value")
    query = found.values("pk", **columns).query
    sql, params = query.sql_with_params()
    return sql, list(params)


def _in(column: str, keys: Sequence[str]) -> tuple[str, list[Any]]:
    return f"{column} IN ({', '.join(['%s'] * len(keys))})", list(keys)


def _only(column: str, keys: Sequence[str], then: str) -> tuple[str, list[Any]]:
    """`then` for the answers to `keys`, NULL for the others (NULL for all without keys)."""
    if not keys:
        return "NULL", []
    condition, params = _in(column, keys)
    return f"CASE WHEN {condition} THEN {then} END", params


def _column(name: str) -> str:
    """An answer field's column, from the model: a renamed field renames it here too."""
    column = getattr(Answer._meta.get_field(name), "column", None)
    if not isinstance(column, str):
        raise LookupError(f"Answer.{name} has no column")
    return column


def _sql(
    responses: QuerySet[Response], spec: SurveySpec, wanted: Pass, breakdown_keys: list[str]
) -> tuple[str, list[Any], list[str]]:
    """The pass's SQL, its parameters and the names of its columns."""
    vendor = connections[responses.db].vendor
    quote = connections[responses.db].ops.quote_name
    chosen_sql, params = _chosen(responses, vendor, wanted)
    key, value = f"a.{quote(_column('question_key'))}", f"a.{quote(_column('value'))}"
    response_id = f"a.{quote(_column('response'))}"
    names = ["question_key"]
    select = [key]
    select_params: list[Any] = []
    group_by = ["1"]

    def column(name: str, sql: str, sql_params: list[Any], grouped: bool = True) -> None:
        names.append(name)
        select.append(sql)
        select_params.extend(sql_params)
        if grouped:
            group_by.append(str(len(select)))

    chosen_columns = ["id"]
    trend_keys = list(wanted.trend_keys) if wanted.span is not None else []
    if trend_keys:
        chosen_columns.append("at")
        column("at", *_only(key, trend_keys, "chosen.at"))
    if wanted.by:
        chosen_columns.append("grp")
        column("grp", *_only(key, breakdown_keys, "chosen.grp"))
    column("value", *_only(key, grouped_keys(spec), value))
    column("n", "COUNT(*)", [], grouped=False)
    numbers = [q.key for q in spec.questions if q.type == "number"]
    if numbers:
        as_number = JsonNumber.sql_by_vendor[vendor].format(arg=value)
        number_sql, number_params = _only(key, numbers, as_number)
        for name, aggregate in [("low", "MIN"), ("high", "MAX"), ("total", "SUM")]:
            column(name, f"{aggregate}({number_sql})", number_params, grouped=False)
        column("numbers", f"COUNT({number_sql})", number_params, grouped=False)
    dates = [q.key for q in spec.questions if q.type == "date"]
    if dates:
        as_text = JsonText.sql_by_vendor[vendor].format(arg=value)
        date_sql, date_params = _only(key, dates, as_text)
        column("first", f"MIN({date_sql})", date_params, grouped=False)
        column("last", f"MAX({date_sql})", date_params, grouped=False)
    sql = (
        f"WITH chosen ({', '.join(chosen_columns)}) AS MATERIALIZED ({chosen_sql}) "
        f"SELECT {', '.join(select)} "
        f"FROM {quote(Answer._meta.db_table)} a "
        f"INNER JOIN chosen ON {response_id} = chosen.id "
        f"GROUP BY {', '.join(group_by)}"
    )
    return sql, params + select_params, names


def _decoded(text: Any) -> Any:
    """A JSON column as Django's JSONField reads it."""
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _day(value: Any) -> date:
    """A bucket's start: SQLite's date is text, PostgreSQL's truncated timestamp a datetime
    (Django's Trunc makes it a date in Python, not in SQL)."""
    if isinstance(value, datetime):
        return value.date()
    return date.fromisoformat(value) if isinstance(value, str) else value


def _rows(responses: QuerySet[Response], sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    connection = connections[responses.db]
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    with transaction.atomic(using=responses.db), connection.cursor() as cursor:
        # PostgreSQL cannot know that (question, bucket, group, value) takes a few thousand
        # values: it guesses one group per answer, too many to hash in `work_mem`, and sorts
        # every answer on disk instead (1.5 to 3 times slower). Hashed, the groups take a few
        # MB, and a hash aggregate that outgrows `work_mem` spills to disk by itself. SET LOCAL
        # ends with this transaction.
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute(sql, params)
        return cursor.fetchall()


class _Values:
    """(value, count) pairs summed per value, in the order first seen."""

    def __init__(self) -> None:
        self.found: dict[str, list[Any]] = {}

    def add(self, name: str, value: Any, n: int) -> None:
        """Add `n` answers of `value`, whose canonical JSON is `name`."""
        if name in self.found:
            self.found[name][1] += n
        else:
            self.found[name] = [value, n]

    def tally(self) -> KeyTally:
        pairs = [(v, n) for v, n in self.found.values()]
        return KeyTally(answered=sum(n for _, n in pairs), values=pairs)


def _pick(choose: Any, a: Any, b: Any) -> Any:
    if a is None or b is None:
        return b if a is None else a
    return choose(a, b)


def count(responses: QuerySet[Response], spec: SurveySpec, wanted: Pass) -> Tallies:
    """The tallies of the answers of `responses`, the trend's and the breakdown's, in one query.

    Each key's tally is as `stats` defines it: counts per value for grouped keys, a count for
    the others, min/max/total for numbers, first/last for dates; keys of removed questions are
    in it too."""
    source = wanted.by.removeprefix("q:") if wanted.by.startswith("q:") else None
    breakdown_keys = [q.key for q in spec.questions if q.type in GROUPED_TYPES and q.key != source]
    sql, params, names = _sql(responses, spec, wanted, breakdown_keys if wanted.by else [])
    trend_keys = set(wanted.trend_keys) if wanted.span is not None else set()
    by_keys = set(breakdown_keys) if wanted.by else set()
    out = Tallies()
    answered: dict[str, int] = {}
    values: dict[str, _Values] = {}
    trend: dict[str, dict[date, _Values]] = {}
    groups: dict[str, dict[str, _Values]] = {}
    # A few thousand rows, but few distinct values, days and groups: each read once.
    decoded: dict[Any, tuple[Any, str]] = {}
    days: dict[Any, date] = {}
    named: dict[Any, list[str]] = {}
    for found in _rows(responses, sql, params):
        row = dict(zip(names, found, strict=True))
        key, n = row["question_key"], row["n"]
        if row["value"] not in decoded:
            value = _decoded(row["value"])
            decoded[row["value"]] = (value, json.dumps(value, sort_keys=True))
        value, text = decoded[row["value"]]
        answered[key] = answered.get(key, 0) + n
        if value is not None:
            values.setdefault(key, _Values()).add(text, value, n)
        extra = out.tallies.setdefault(key, KeyTally())
        extra.low = _pick(min, extra.low, row.get("low"))
        extra.high = _pick(max, extra.high, row.get("high"))
        extra.total = _pick(_add, extra.total, row.get("total"))
        extra.numbers += row.get("numbers") or 0
        extra.first = _pick(min, extra.first, row.get("first"))
        extra.last = _pick(max, extra.last, row.get("last"))
        if key in trend_keys:
            if row["at"] not in days:
                days[row["at"]] = _day(row["at"])
            at = trend.setdefault(key, {}).setdefault(days[row["at"]], _Values())
            at.add(text, value, n)
        if key in by_keys:
            if row["grp"] not in named:
                named[row["grp"]] = trends.group_names(spec, wanted.by, row["grp"])
            for name in named[row["grp"]]:
                groups.setdefault(key, {}).setdefault(name, _Values()).add(text, value, n)
    for key, tally in out.tallies.items():
        tally.answered = answered[key]
        tally.values = values[key].tally().values if key in values else []
    out.trend = {k: {at: v.tally() for at, v in found.items()} for k, found in trend.items()}
    out.groups = {k: {g: v.tally() for g, v in found.items()} for k, found in groups.items()}
    return out


def _add(a: float, b: float) -> float:
    return a + b
