"""SQL written by hand names the columns its models have.

A few hot-path modules skip the ORM for speed (see their docstrings). Their SQL names columns
in text, so nothing else notices when a model gains a NOT NULL column without a database
default (each raw INSERT would then fail on every call, in production) or renames one. Every
statement here is captured as its module runs it, on this test's database (SQLite or
PostgreSQL, as DATABASE_URL says: some statements differ by vendor), and compared with the
models' `_meta`, so a field added to a model fails this test before any migration exists.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.db import DatabaseError, connection, models, transaction
from django.db.models.fields import AutoFieldMixin
from django.utils import timezone

import sounding
from sounding.accounts import throttle
from sounding.accounts.models import User, Workspace
from sounding.answers.models import Response
from sounding.collect import store
from sounding.delivery import backfill, claim, outbox, record
from sounding.delivery.models import Push
from sounding.delivery.settle import Settlement, settle
from sounding.surveys.models import Survey
from tests.delivery_fixtures import PULSE, WORKER

ROOT = Path(sounding.__file__).parent.parent


# --- The statements, each run through the function that owns it ------------------------------


@dataclass
class World:
    """The rows the statements touch."""

    survey: Survey
    response: Response
    push_id: int = 0


def claimed_push(w: World) -> None:
    # Made as the respondent path makes it, then leased through an UPDATE of one column:
    # an ORM save names every field, and would fail first when a field and its table differ.
    outbox.upsert(w.response.pk, w.survey.workspace_id, "braze", "braze_id:abc", 1)
    pushes = Push.objects.filter(response=w.response, destination="braze")
    pushes.update(claimed_by=WORKER)
    w.push_id = pushes.values_list("pk", flat=True).get()


@dataclass(frozen=True)
class Case:
    owner: Callable[..., Any]  # the function whose SQL is checked
    run: Callable[[World], object]
    prepare: Callable[[World], None] | None = None  # before the SQL is watched
    vendors: frozenset[str] | None = None  # the databases it runs on, if not every one

    @property
    def id(self) -> str:
        return f"{self.owner.__module__.removeprefix('sounding.')}.{self.owner.__name__}"

    @property
    def source(self) -> str:
        return str(Path(inspect.getsourcefile(self.owner) or "?").relative_to(ROOT))


# Pushes for Braze (outbox.mark_due) and for webhook endpoints (webhooks' `queue`) are both
# written by outbox.upsert: one statement covers both destinations.
INSERTS = [
    Case(
        outbox.upsert,
        lambda w: outbox.upsert(w.response.pk, w.survey.workspace_id, "braze", "k", 2),
    ),
    Case(record.bump, lambda w: record.bump(requests=1, objects_sent=3)),
    Case(
        store.upsert_answer, lambda w: store.upsert_answer(w.response.pk, "nps", 9, timezone.now())
    ),
    Case(
        throttle.record,
        lambda w: throttle.record(
            throttle.Subject("signin-account", "a@acme.test"),
            timezone.now(),
            timedelta(minutes=5),
            sliding=True,
        ),
    ),
]

OTHERS = [
    Case(store.survey_by_slug, lambda w: store.survey_by_slug(w.survey.slug)),
    # With a token: the response and its answers in the same statement.
    Case(store.survey_by_slug, lambda w: store.survey_by_slug(w.survey.slug, w.response.token)),
    Case(store.response_by_token, lambda w: store.response_by_token(w.survey, w.response.token)),
    Case(
        store.response_by_identity,
        lambda w: store.response_by_identity(w.survey, "braze_id", "abc"),
    ),
    Case(store.answers, lambda w: store.answers(w.response.pk)),
    Case(store.delete_answer, lambda w: store.delete_answer(w.response.pk, "nps")),
    Case(store.delete_answers, lambda w: store.delete_answers(w.response.pk, ["nps", "feedback"])),
    # Both optional parts on, so every column the statement can name is in it.
    Case(
        store.touch_response,
        lambda w: store.touch_response(w.response.pk, timezone.now(), True, timezone.now()),
    ),
    Case(
        settle,
        lambda w: settle(
            [Settlement(w.push_id, 1, "synced", True, acknowledged={"attributes": {"a": 1}})],
            WORKER,
        ),
        prepare=claimed_push,
    ),
    Case(backfill._forget_attributes, lambda w: backfill._forget_attributes(w.survey.pk, "braze")),
    Case(
        store.save_at_once,
        lambda w: store.save_at_once(
            w.response.pk,
            "nps",
            9,
            timezone.now(),
            timezone.now(),
            [(w.survey.workspace_id, "braze", "braze_id:abc")],
        ),
        vendors=frozenset(store.SAVES_AT_ONCE),
    ),
    Case(
        claim.turns,
        lambda w: claim.turns("braze", timezone.now()),
        prepare=lambda w: outbox.upsert(w.response.pk, w.survey.workspace_id, "braze", "k", 1),
    ),
    Case(
        claim.worth_claiming,
        lambda w: claim.worth_claiming("braze", 75, timezone.now()),
        prepare=lambda w: outbox.upsert(w.response.pk, w.survey.workspace_id, "braze", "k", 1),
    ),
]

# Modules that run SQL by hand but name no column: nothing here to fall out of step.
NAMES_NO_COLUMN = {
    "sounding/health.py": "SELECT 1",
    "sounding/accounts/views.py": "LOCK TABLE, its name from User._meta",
    # The responses' part is Django's own SQL (the report's filters); the answers' table and
    # columns come from Answer._meta, and `chosen`'s columns are the statement's own.
    "sounding/reports/tallying.py": "names from Answer._meta around the ORM's query",
}


@pytest.fixture
def world(workspace: Workspace, owner: User, monkeypatch: pytest.MonkeyPatch) -> World:
    # The throttle purges stale rows by a throw of its dice, through the ORM: not its own SQL.
    monkeypatch.setattr(throttle, "dice", lambda: 1.0)
    survey = Survey.create(workspace, PULSE, owner)
    response = Response.objects.create(
        survey=survey, identity_kind="braze_id", identity_value="abc"
    )
    return World(survey, response)


@dataclass
class Run:
    sql: list[str]  # as the module wrote it, placeholders unfilled
    error: DatabaseError | None  # what the database said of it, if it refused

    def succeeded(self, case: Case) -> None:
        if self.error is not None:
            pytest.fail(f"{case.source} ({case.id}) failed on the database: {self.error}")


def run(case: Case, world: World) -> Run:
    """Run `case`, keeping the text of each statement it sends.

    A statement the database refuses (a NOT NULL column left out, once migrated) is still
    read: the columns it names say more about what to fix than the database's error."""
    if case.prepare is not None:
        case.prepare(world)
    seen: list[str] = []

    def keep(execute: Callable[..., Any], sql: str, *rest: Any) -> Any:
        seen.append(sql)
        return execute(sql, *rest)

    error = None
    try:
        # A savepoint (opened and released unwatched): PostgreSQL refuses every later
        # statement in a failed transaction.
        with transaction.atomic(), connection.execute_wrapper(keep):
            case.run(world)
    except DatabaseError as refused:
        error = refused
    assert seen, f"{case.id} ran no SQL: has it moved to the ORM? Drop it from this test."
    return Run(seen, error)


# --- What the models say ---------------------------------------------------------------------


def model_of(table: str, case: Case) -> type[models.Model]:
    by_table = {m._meta.db_table: m for m in apps.get_models()}
    assert table in by_table, f"{case.source} ({case.id}) names table {table}, no model's table"
    return by_table[table]


def columns(model: type[models.Model]) -> set[str]:
    return {f.column for f in model._meta.concrete_fields if f.column}


def needs_no_value(field: models.Field[Any, Any]) -> bool:
    """The database fills the column in itself when an INSERT leaves it out. A Python
    `default` does not count: only the ORM applies it."""
    return (
        field.null
        or field.db_default is not models.NOT_PROVIDED
        or isinstance(field, AutoFieldMixin)
        or getattr(field, "generated", False)
    )


def required(model: type[models.Model]) -> dict[str, str]:
    """Columns every INSERT must give a value, and their fields' names."""
    return {
        f.column: f.name for f in model._meta.concrete_fields if f.column and not needs_no_value(f)
    }


# --- Reading the SQL -------------------------------------------------------------------------
#
# The statements are small and written by us, so a few regular expressions read them exactly;
# they are conservative the other way round: any word they cannot account for is reported, and
# a statement using new syntax fails here until the words below learn it.

# Removed first: string literals ('pending', '{}', JSON paths) and casts (::jsonb) hold words
# that are not columns.
_STRING = re.compile(r"'(?:[^']|'')*'")
_CAST = re.compile(r"::\s*\w+")
# A name (not the s of a %s), maybe "quoted", maybe qualified (table.column,
# excluded.column, v.column1), and whether a parenthesis follows it (a function, or the
# table of an INSERT's column list).
_NAME = re.compile(
    r'(?<![\w."%])(?:"?([A-Za-z_]\w*)"?\s*\.\s*)?"?([A-Za-z_]\w*)"?(?![\w"])(\s*\()?'
)
_TABLE = re.compile(r'\b(?:INTO|UPDATE|FROM|JOIN)\s+"?([A-Za-z_]\w*)"?', re.IGNORECASE)
_WITH = re.compile(r"(?:\bWITH|,)\s+(\w+)\s+AS\s*\(", re.IGNORECASE)
_INSERT = re.compile(r'^\s*INSERT\s+INTO\s+"?(\w+)"?\s*\(([^)]*)\)', re.IGNORECASE)
# SQL's own words in these statements.
_KEYWORDS = {
    "select",
    "from",
    "where",
    "and",
    "or",
    "not",
    "is",
    "null",
    "in",
    "insert",
    "into",
    "values",
    "on",
    "conflict",
    "do",
    "update",
    "set",
    "case",
    "when",
    "then",
    "else",
    "end",
    "as",
    "returning",
    "delete",
    "true",
    "false",
    "order",
    "by",
    "limit",
    "with",
    "left",
    "join",
}


def clean(sql: str) -> str:
    return _CAST.sub(" ", _STRING.sub(" ", sql))


def scopes(sql: str) -> Iterator[str]:
    """The statement and each (SELECT …) inside it, apart: a subquery's bare names are
    columns of its own table, not the outer one's. So is each query a WITH names."""
    start = re.search(r"\(\s*(?:SELECT|INSERT|UPDATE|DELETE)\b", sql, re.IGNORECASE)
    if start is None:
        yield sql
        return
    depth = 0
    for end in range(start.start(), len(sql)):
        depth += {"(": 1, ")": -1}.get(sql[end], 0)
        if depth == 0:
            break
    yield from scopes(sql[start.start() + 1 : end])
    yield from scopes(sql[: start.start()] + " %s " + sql[end + 1 :])


def named(sql: str) -> dict[str, str]:
    """The queries a WITH names, each as the table it writes or reads first: what their
    RETURNING gives back are columns of that table."""
    found = {}
    for match in _WITH.finditer(sql):
        body = _TABLE.search(sql, match.end())
        if body is not None:
            found[match.group(1)] = body.group(1)
    return found


def unknown_columns(sql: str, case: Case) -> dict[str, set[str]]:
    """Names in `sql` that are no column of the tables it reads or writes, by table."""
    unknown: dict[str, set[str]] = {}
    cleaned = clean(sql)
    withs = named(cleaned)
    for scope in scopes(cleaned):
        found = [t for t in _TABLE.findall(scope) if t.lower() != "set"]
        tables = [withs.get(t, t) for t in found]
        has = {t: columns(model_of(t, case)) for t in tables}
        written = tables[0] if tables else ""
        # Names an AS introduces (VALUES lists, casts' types) and the columns of a VALUES
        # list (column1, column2, … read through its alias) are the statement's own.
        introduced = set(re.findall(r"\bAS\s+(\w+)", scope, re.IGNORECASE))
        for match in _NAME.finditer(scope):
            qualifier, name, paren = match.groups()
            qualifier = withs.get(qualifier, qualifier) if qualifier else None
            if qualifier is None and name in withs:
                continue  # a query the WITH names
            if qualifier is None and (name.lower() in _KEYWORDS or name in has):
                continue
            if qualifier is None and (paren or name in introduced):
                continue  # a function, or an alias
            if qualifier in introduced:
                continue
            # excluded.x: the row an upsert tried to insert, so a column of its table.
            table = written if qualifier == "excluded" else qualifier
            if table is not None:
                # A table named outside this scope: a correlated subquery's outer row.
                known = has[table] if table in has else columns(model_of(table, case))
                if name not in known:
                    unknown.setdefault(table, set()).add(name)
            elif not any(name in cols for cols in has.values()):
                unknown.setdefault(" or ".join(tables) or "no table", set()).add(name)
    return unknown


# --- The tests -------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("case", INSERTS, ids=lambda c: c.id)
def test_each_insert_gives_every_column_a_value(case: Case, world: World) -> None:
    """Every column the database cannot fill in itself is given a value, and every column
    named exists. Naming one it could fill in (nullable, db_default) is the module's choice."""
    ran = run(case, world)
    inserts = [found for sql in ran.sql if (found := _INSERT.match(sql))]
    assert len(inserts) == 1, f"{case.id} ran {len(inserts)} INSERTs, this test reads one"
    table, listed = inserts[0].groups()
    model = model_of(table, case)
    named = {c.strip().strip('"') for c in listed.split(",")}
    needed = required(model)
    label = model._meta.label
    missing = [
        f"{label}.{needed[c]} (column {c}) is NOT NULL with no db_default, and the INSERT INTO "
        f"{table} in {case.source} ({case.id}) gives it no value: add it there, or give the "
        "field a db_default"
        for c in sorted(set(needed) - named)
    ]
    stray = [
        f"the INSERT INTO {table} in {case.source} ({case.id}) names column {c}, which "
        f"{label} does not have: update the statement"
        for c in sorted(named - columns(model))
    ]
    assert not missing + stray, "\n".join(missing + stray)
    ran.succeeded(case)


@pytest.mark.django_db
@pytest.mark.parametrize("case", INSERTS + OTHERS, ids=lambda c: c.id)
def test_each_statement_names_only_its_tables_columns(case: Case, world: World) -> None:
    if case.vendors is not None and connection.vendor not in case.vendors:
        pytest.skip(f"{case.id} runs on {', '.join(sorted(case.vendors))} only")
    ran = run(case, world)
    problems = [
        f"{case.source} ({case.id}) names {name}, which {table} does not have: update the "
        "statement (or, if it is an SQL word, teach this test's _KEYWORDS)"
        for sql in ran.sql
        for table, names in sorted(unknown_columns(sql, case).items())
        for name in sorted(names)
    ]
    assert not problems, "\n".join(problems)
    ran.succeeded(case)


def test_every_module_running_sql_by_hand_is_checked_here() -> None:
    # New hand-written SQL must join the cases above (or NAMES_NO_COLUMN), or nothing
    # watches it. Migrations are history: their SQL ran against the tables as they were.
    pattern = re.compile(r"\b(?:cursor\.execute|executemany|RawSQL)\(|\.raw\(|\.extra\(")
    running = {
        str(path.relative_to(ROOT))
        for path in (ROOT / "sounding").rglob("*.py")
        if "migrations" not in path.parts and pattern.search(path.read_text())
    }
    checked = {case.source for case in INSERTS + OTHERS} | set(NAMES_NO_COLUMN)
    assert running <= checked, (
        f"{sorted(running - checked)} run SQL by hand: add their statements to "
        "tests/test_raw_sql_matches_models.py"
    )
    assert checked <= running, f"{sorted(checked - running)} no longer run SQL by hand"
