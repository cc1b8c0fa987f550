"""SQL for reading answers inside the database, the same on SQLite and PostgreSQL.

Answers are JSON (`collect.Answer.value`). A question's type may have changed since an answer
was given, so every conversion first checks the JSON type: a text where a number is expected
reads as NULL instead of failing the whole query.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created
from django.db.models import DateField, Expression, FloatField, Func, TextField, Value
from django.db.models.functions import StrIndex
from django.db.models.lookups import GreaterThan
from django.db.models.sql.compiler import SQLCompiler

LOWER_FUNCTION = "sounding_lower"


class _VendorFunc(Func):
    arity = 1
    sql_by_vendor: dict[str, str] = {}

    # The stubs say params are a tuple; Django's own `Func.as_sql` returns a list, as this does.
    def as_sql(  # type: ignore[override]
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> tuple[str, list[Any]]:
        template = self.sql_by_vendor.get(connection.vendor)
        if template is None:
            raise NotImplementedError(f"{type(self).__name__} has no SQL for {connection.vendor}")
        arg_sql, arg_params = compiler.compile(self.source_expressions[0])
        count = template.count("{arg}")
        return template.format(arg=arg_sql), list(arg_params) * count


class JsonNumber(_VendorFunc):
    """The answer as a number when it is a JSON number, else NULL."""

    output_field = FloatField()
    sql_by_vendor = {
        "postgresql": "(CASE WHEN jsonb_typeof({arg}) = 'number' "
        "THEN ({arg})::double precision END)",
        "sqlite": "(CASE WHEN json_type({arg}) IN ('integer', 'real') "
        "THEN CAST({arg} AS REAL) END)",
    }


class JsonText(_VendorFunc):
    """The answer's text, unquoted and unescaped, when it is a JSON string, else NULL."""

    output_field = TextField()
    sql_by_vendor = {
        "postgresql": "(CASE WHEN jsonb_typeof({arg}) = 'string' THEN ({arg} #>> '{{}}') END)",
        "sqlite": "(CASE WHEN json_type({arg}) = 'text' THEN json_extract({arg}, '$') END)",
    }


class Lower(_VendorFunc):
    """Lower case for every alphabet: SQLite's own LOWER() and LIKE only fold ASCII."""

    output_field = TextField()
    sql_by_vendor = {"postgresql": "LOWER({arg})", "sqlite": LOWER_FUNCTION + "({arg})"}


def _lower(text: str | None) -> str | None:
    return None if text is None else text.lower()


def register_sqlite_functions(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_function(LOWER_FUNCTION, 1, _lower, deterministic=True)


def connect() -> None:
    connection_created.connect(register_sqlite_functions, dispatch_uid="reports-sqlite-lower")


def contains_folded(expression: Expression, needle: str) -> GreaterThan:
    """A condition: `needle` occurs in `expression`, ignoring case. A plain position search,
    so `%` and `_` in what a person typed are not LIKE wildcards."""
    return GreaterThan(StrIndex(Lower(expression), Value(needle.lower())), 0)


SQLITE_BUCKETS = {
    "day": "date({local})",
    # Back six days, then forward to the next Monday: the Monday on or before the day.
    "week": "date({local}, '-6 days', 'weekday 1')",
    "month": "strftime('%%Y-%%m-01', {local})",
}


class SqliteLocalBucket(Func):
    """The first day of the day, week or month a UTC datetime column falls in, in the zone
    `zone`, with SQLite's own date functions rather than a Python function called per row.

    SQLite knows no time zones, so the zone's offsets between `first` and `last` are given: one
    `CASE` branch per change of offset (daylight saving time), so each row gets its own offset.
    Datetimes outside the range get the nearest one's offset."""

    output_field = DateField()

    def __init__(
        self, expression: Any, bucket: str, zone: tzinfo, first: datetime, last: datetime
    ) -> None:
        super().__init__(expression)
        self.bucket = bucket
        self.offsets = offsets(zone, first, last)

    def as_sql(  # type: ignore[override]
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> tuple[str, list[Any]]:
        if connection.vendor != "sqlite":
            raise NotImplementedError("SqliteLocalBucket is for SQLite only")
        arg_sql, arg_params = compiler.compile(self.source_expressions[0])
        params: list[Any] = []
        if len(self.offsets) == 1:
            shift = "%s"
            params.append(_modifier(self.offsets[0][1]))
        else:
            whens = []
            for until, offset in self.offsets[:-1]:
                whens.append(f"WHEN {arg_sql} < %s THEN %s")
                params += [*arg_params, connection.ops.adapt_datetimefield_value(until)]
                params.append(_modifier(offset))
            shift = f"(CASE {' '.join(whens)} ELSE %s END)"
            params.append(_modifier(self.offsets[-1][1]))
        local = f"datetime({arg_sql}, {shift})"
        return SQLITE_BUCKETS[self.bucket].format(local=local), [*arg_params, *params]


def _modifier(offset: timedelta) -> str:
    return f"{int(offset.total_seconds()) // 60:+d} minutes"


def offsets(zone: tzinfo, first: datetime, last: datetime) -> list[tuple[datetime, timedelta]]:
    """(until, offset): the zone's UTC offset up to each change between `first` and `last`
    (UTC, aware); the last entry's `until` is `last`. Offsets change on a quarter hour."""

    def offset(at: datetime) -> timedelta:
        return at.astimezone(zone).utcoffset() or timedelta(0)

    out: list[tuple[datetime, timedelta]] = []
    current = offset(first)
    day = first
    while day < last:
        following = min(day + timedelta(days=1), last)
        if offset(following) != current:
            at = day
            while offset(at) == current:  # the quarter hour the change happens at
                at += timedelta(minutes=15)
            out.append((at, current))
            current = offset(at)
            day = at
            continue
        day = following
    out.append((last, current))
    return out
