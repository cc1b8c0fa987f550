"""How long a survey's report takes with 100,000 responses, on SQLite and PostgreSQL.

For each survey shape (every question type, 14 questions; or respond.py's 6), seeds one survey
whose responses started over the last `--days` days (a year unless told) on a fresh database
with bulk inserts (`executemany` on SQLite, `COPY` on PostgreSQL), then renders
`/surveys/<pk>/report` in this process through Django's test client (no HTTP, so the figures are
the server's own work): unfiltered, with each kind of filter, with each trend bucket and
breakdown, and a text question's answers page with and without a search. For each page it prints
the median and slowest of `--repeat` first views (nothing kept: every answer counted) and the
median CPU time of this process during one (on SQLite, where the database works in this process,
close to what a first view takes on an idle machine), the median of as many later views (the
tallies of settled responses kept, see sounding/reports/cache.py), and the queries of a first and
a later view.

    .venv/bin/python bench/report.py                  # SQLite, 100,000 responses
    .venv/bin/python bench/report.py --db both        # SQLite, then PostgreSQL
    .venv/bin/python bench/report.py --db postgres --responses 20000 --shape short
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
# Not the other scripts' databases: they may run side by side (BENCH_REPORT_DB to choose).
PG_DB = os.environ.get("BENCH_REPORT_DB", "sounding_bench_report")
PG_URL = f"postgres://postgres@127.0.0.1:5432/{PG_DB}"
EMAIL = "bench-report@example.com"
CHOICES = ["Free", "Pro", "Enterprise"]
CHANNELS = ["Email", "Push", "SMS"]
COUNTRIES = ["France", "Germany", "Spain"]
MEDIUMS = ["email", "push", "sms", "in_app"]
LANGUAGES = ["en", "en", "en", "fr", "de"]
SURVEY: dict[str, Any] = {
    "title": "Report bench",
    "hidden_fields": ["utm_medium"],
    "questions": [
        {"key": "nps", "type": "nps", "prompt": "How likely are you to recommend us?"},
        {
            "key": "why_low",
            "type": "long_text",
            "prompt": "What should we fix first?",
            "show_if": {"question": "nps", "op": "less_than", "value": 7},
        },
        {"key": "rating", "type": "rating", "prompt": "Rate the app"},
        {"key": "csat", "type": "csat", "prompt": "How satisfied are you with support?"},
        {"key": "effort", "type": "scale", "prompt": "How easy was it?", "min": 1, "max": 7},
        {"key": "plan", "type": "single_choice", "prompt": "Plan?", "choices": CHOICES},
        {
            "key": "channels",
            "type": "multiple_choice",
            "prompt": "Where do you hear from us?",
            "choices": CHANNELS,
            "allow_other": True,
        },
        {"key": "country", "type": "dropdown", "prompt": "Country?", "choices": COUNTRIES},
        {"key": "renew", "type": "yes_no", "prompt": "Will you renew?"},
        {"key": "nickname", "type": "short_text", "prompt": "What should we call you?"},
        {"key": "feedback", "type": "long_text", "prompt": "Anything else?"},
        {"key": "contact", "type": "email", "prompt": "Your email for a reply"},
        {"key": "seats", "type": "number", "prompt": "How many seats?", "min": 1, "max": 1000},
        {"key": "since", "type": "date", "prompt": "Customer since?"},
    ],
}
# respond.py's shape: the survey most people send.
SHORT_KEYS = ["nps", "rating", "plan", "channels", "renew", "feedback"]
SHAPES = {
    "every": SURVEY,
    "short": {
        "title": "Report bench, short",
        "hidden_fields": ["utm_medium"],
        "questions": [q for q in SURVEY["questions"] if q["key"] in SHORT_KEYS],
    },
}
WORDS = ["fast", "slow", "support", "price", "app", "login", "export", "team", "great", "bug"]
PUSH_STATES = [("synced", 70), ("pending", 5), ("failed", 5), (None, 20)]  # None: not sent


# -- what one respondent says -------------------------------------------------------------------


def sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def answer_for(rng: random.Random, key: str, answers: dict[str, Any], n: int) -> Any:
    """A plausible answer to `key` (None: skipped), given the earlier ones."""
    makers: dict[str, Callable[[], Any]] = {
        "nps": lambda: rng.choices(range(11), weights=[1, 1, 1, 2, 2, 3, 4, 8, 12, 14, 12])[0],
        "why_low": lambda: sentence(rng, 6) if answers.get("nps", 10) < 7 else None,
        "rating": lambda: rng.randint(1, 5),
        "csat": lambda: rng.choices(range(1, 6), weights=[1, 2, 3, 6, 5])[0],
        "effort": lambda: rng.randint(1, 7),
        "plan": lambda: rng.choice(CHOICES),
        "channels": lambda: (
            [c for c in CHANNELS if rng.random() < 0.4]
            + (["Newsletter"] if rng.random() < 0.05 else [])
            or None
        ),
        "country": lambda: rng.choice(COUNTRIES),
        "renew": lambda: rng.random() < 0.7,
        "nickname": lambda: f"User {n}",
        "feedback": lambda: sentence(rng, 12) if rng.random() < 0.5 else None,
        "contact": lambda: f"person{n}@example.com" if rng.random() < 0.3 else None,
        "seats": lambda: rng.randint(1, 1000),
        "since": lambda: (datetime(2020, 1, 1) + timedelta(days=rng.randint(0, 2000))).date(),
    }
    value = makers[key]()
    if value is not None and rng.random() < 0.05 and key != "nps":
        return None  # an optional question left blank
    return value.isoformat() if hasattr(value, "isoformat") else value


def respondents(
    definition: dict[str, Any], count: int, seed: int
) -> Iterator[tuple[int, bool, dict[str, Any], str | None]]:
    """(number, completed, answers, Braze state) for each respondent, always the same ones."""
    rng = random.Random(seed)
    keys = [q["key"] for q in definition["questions"]]
    for n in range(count):
        completed = rng.random() < 0.85
        stop = len(keys) if completed else rng.randint(0, len(keys) - 1)
        answers: dict[str, Any] = {}
        for key in keys[:stop]:
            value = answer_for(rng, key, answers, n)
            if value is not None:
                answers[key] = value
        state = rng.choices([s for s, _ in PUSH_STATES], weights=[w for _, w in PUSH_STATES])[0]
        yield n, completed, answers, state


# -- seeding --------------------------------------------------------------------------------------


def rows(survey: Any, first_id: int, count: int, seed: int, days: int) -> tuple:
    """The rows of the responses, answers and Braze pushes, as {field name: value}: responses
    started evenly over the last `days` days."""
    now = datetime.now(UTC)
    responses, answers, pushes = [], [], []
    for n, completed, given, state in respondents(survey.definition, count, seed):
        rid = first_id + n
        started = now - timedelta(days=days) + timedelta(seconds=n * days * 86400 / count)
        last = started + timedelta(seconds=5 * len(given))
        responses.append(
            {
                "id": rid,
                "survey_id": survey.pk,
                "token": f"bench{rid}",
                "identity_kind": "braze_id",
                "identity_value": f"u{rid}",
                "braze_id": f"u{rid}",
                "started_at": started,
                "updated_at": last,
                "completed_at": last if completed else None,
                "answers_version": len(given),
                "hidden": {"utm_medium": MEDIUMS[rid % len(MEDIUMS)]} if rid % 10 else {},
                "language": LANGUAGES[rid % len(LANGUAGES)],
            }
        )
        for i, (key, value) in enumerate(given.items()):
            answered = started + timedelta(seconds=5 * (i + 1))
            answers.append(
                {"response_id": rid, "question_key": key, "value": value, "answered_at": answered}
            )
        if state is not None:
            pushes.append(
                {
                    "response_id": rid,
                    "workspace_id": survey.workspace_id,
                    "destination": "braze",
                    "user_key": f"braze_id:u{rid}",
                    "state": state,
                    "wanted_version": len(given),
                    "sent_version": len(given) if state == "synced" else 0,
                    "next_attempt_at": last,
                }
            )
    return responses, answers, pushes


def insert(model: Any, data: list[dict[str, Any]]) -> None:
    """Bulk insert: every concrete column of `model`, from `data` or the field's default (so a
    column added later with a default needs no change here)."""
    from django.db import connection
    from django.db.models import JSONField

    fields = [f for f in model._meta.concrete_fields if not (f.primary_key and "id" not in data[0])]
    defaults = {f.attname: f.get_default() for f in fields}
    json_fields = {f.attname for f in fields if isinstance(f, JSONField)}
    pg = connection.vendor == "postgresql"
    adapt = connection.ops.adapt_datetimefield_value

    def value(row: dict[str, Any], name: str) -> Any:
        found = row.get(name, defaults[name])
        if name in json_fields:
            return json.dumps(found)
        return adapt(found) if isinstance(found, datetime) and not pg else found

    table = model._meta.db_table
    columns = ", ".join(f.column for f in fields)
    values = [tuple(value(row, f.attname) for f in fields) for row in data]
    with connection.cursor() as cursor:
        if pg:
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in values:
                    copy.write_row(row)
            return
        marks = ", ".join(["%s"] * len(fields))
        cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", values)


def seed(shape: str, count: int, seed_value: int, days: int) -> tuple[Any, Any]:
    """A workspace, its owner and a live survey with `count` responses; (survey, owner)."""
    from django.db import connection, transaction

    from sounding.accounts.models import Membership, Role, User, Workspace
    from sounding.answers.models import Answer, Response
    from sounding.delivery.models import Push
    from sounding.surveys.models import Status, Survey

    workspace = Workspace.objects.create(name=f"Bench {shape}")
    owner = User.objects.create_user(f"{shape}-{EMAIL}", "bench-password-not-secret")
    Membership.objects.create(user=owner, workspace=workspace, role=Role.OWNER)
    survey = Survey.create(workspace, SHAPES[shape], owner)
    survey.set_status(Status.LIVE)
    first = (Response.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    responses, answers, pushes = rows(survey, first, count, seed_value, days)
    with transaction.atomic():
        insert(Response, responses)
        insert(Answer, answers)
        insert(Push, pushes)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # Rows inserted with their own ids leave the sequence behind.
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('collect_response', 'id'), "
                "(SELECT MAX(id) FROM collect_response))"
            )
            cursor.execute("ANALYZE")
    else:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return survey, owner


# -- timing ---------------------------------------------------------------------------------------

CASES = [
    ("all responses", ""),
    ("completed only", "?completion=completed"),
    ("incomplete only", "?completion=in_progress"),
    ("Braze synced", "?sync=synced"),
    ("Braze not sent", "?sync=not_sent"),
    ("last 30 days", "?since={month_ago}"),
    ("trend by day", "?bucket=day"),
    ("trend by month", "?bucket=month"),
    ("by a question", "?by=q:plan"),
    ("by a hidden field", "?by=hidden:utm_medium"),
    ("by language", "?by=language"),
    ("last 30 days by hidden field", "?since={month_ago}&by=hidden:utm_medium"),
    # The acceptance line: weekly NPS, the period before, a hidden field's groups. The period
    # before is compared only when the report starts on a date; a year of answers is either
    # the whole year (the year before has none) or its second half against its first.
    ("year weekly vs before by hidden field", "?since={year_ago}&bucket=week&by=hidden:utm_medium"),
    (
        "half year weekly vs half before by hidden field",
        "?since={half_year_ago}&bucket=week&by=hidden:utm_medium",
    ),
]


def render_ms(client: Any, url: str, cpu: list[float] | None = None) -> float:
    """Milliseconds to render `url`; this process's CPU milliseconds added to `cpu`."""
    begin, used = time.perf_counter(), time.process_time()
    found = client.get(url)
    if found.status_code != 200:
        raise SystemExit(f"GET {url} answered {found.status_code}: {found.content[:500]!r}")
    if cpu is not None:
        cpu.append((time.process_time() - used) * 1000)
    return (time.perf_counter() - begin) * 1000


def time_page(client: Any, url: str, repeat: int) -> list[str]:
    """Median and slowest of `repeat` renders with nothing kept (the report's tallies of
    settled responses counted again, as on a first view), the median with them kept (any
    later view while those responses stay unchanged), and the queries of each."""
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    render_ms(client, url)  # warm-up: connections, templates, the survey's spec
    cold: list[float] = []
    cpu: list[float] = []
    for _ in range(repeat):
        cache.clear()
        cold.append(render_ms(client, url, cpu))
    warm = sorted(render_ms(client, url) for _ in range(repeat))
    cache.clear()
    with CaptureQueriesContext(connection) as first:
        client.get(url)
    with CaptureQueriesContext(connection) as later:
        client.get(url)
    cold.sort()
    return [
        f"{statistics.median(cold):.0f}",
        f"{cold[-1]:.0f}",
        f"{statistics.median(cpu):.0f}",
        f"{statistics.median(warm):.0f}",
        f"{len(first.captured_queries)} / {len(later.captured_queries)}",
    ]


def measure(survey: Any, owner: Any, repeat: int, only: list[str]) -> list[list[str]]:
    from django.test import Client
    from django.urls import reverse

    client = Client()
    client.force_login(owner)
    base = reverse("survey-report", args=[survey.pk])
    today = datetime.now(UTC).date()
    ago = {
        f"{name}_ago": (today - timedelta(days=days - 1)).isoformat()
        for name, days in [("month", 30), ("half_year", 182), ("year", 365)]
    }
    text = reverse("survey-report-answers", args=[survey.pk, "feedback"])
    cases = [(name, base + query.format(**ago)) for name, query in CASES]
    cases += [("text answers, page 1", text), ("text answers, search", text + "?search=BUG")]
    if only:
        cases = [(name, url) for name, url in cases if any(o in name for o in only)]
    return [[name, *time_page(client, url, repeat)] for name, url in cases]


def table(found: list[list[str]]) -> str:
    head = ["page", "first view ms", "slowest", "its CPU"]
    head += ["later views ms", "queries first / later"]
    widths = [max(len(row[i]) for row in [head, *found]) for i in range(len(head))]

    def line(row: list[str]) -> str:
        cells = zip(row, widths, strict=True)
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(cells))

    return "\n".join(line(row) for row in [head, *found])


# -- one database per process: Django is set up once per interpreter ------------------------------


def reset_postgres() -> None:
    import psycopg

    # DROP/CREATE DATABASE cannot run in a transaction; FORCE ends a crashed run's connections.
    with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {PG_DB}")


def bench_one(db: str, args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="sounding-bench-report-") as data_dir:
        for name in [n for n in os.environ if n.startswith("SOUNDING_")]:
            del os.environ[name]
        os.environ.pop("DATABASE_URL", None)
        os.environ["SOUNDING_DATA_DIR"] = data_dir
        if db == "postgres":
            reset_postgres()
            os.environ["DATABASE_URL"] = PG_URL
        os.environ["DJANGO_SETTINGS_MODULE"] = "sounding.settings"
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0)
        from sounding.answers.models import Answer

        for shape in args.shape:
            begin = time.perf_counter()
            survey, owner = seed(shape, args.responses, args.seed, args.days)
            seeded = time.perf_counter() - begin
            answers = Answer.objects.filter(response__survey=survey).count()
            questions = len(survey.definition["questions"])
            print(
                f"\n{db}, {questions} questions ({shape}): {args.responses:,} responses over "
                f"{args.days} days, {answers:,} answers, seeded in {seeded:.1f} s"
            )
            print(table(measure(survey, owner, args.repeat, args.only)))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add = parser.add_argument
    add("--db", choices=["sqlite", "postgres", "both"], default="sqlite")
    add("--responses", type=int, default=100_000, help="(default 100000)")
    add("--days", type=int, default=365, help="days the responses are spread over (default 365)")
    add("--repeat", type=int, default=5, help="timed renders per page (default 5)")
    add("--seed", type=int, default=7, help="random seed of the answers (default 7)")
    add(
        "--shape",
        type=lambda v: v.split(","),
        default=["every", "short"],
        help="surveys to measure: every (14 questions, every type), short (6) (default both)",
    )
    add(
        "--only",
        type=lambda v: v.split(","),
        default=[],
        help="pages whose name contains one of these words (default every page)",
    )
    return parser.parse_args()


def machine() -> str:
    sys.path.insert(0, str(ROOT / "bench"))
    from respond import machine as describe

    return describe()


def main() -> int:
    args = parse_args()
    if args.db != "both":
        if not os.environ.get("BENCH_REPORT_CHILD"):
            print(machine())
        bench_one(args.db, args)
        return 0
    print(machine())
    for db in ("sqlite", "postgres"):
        if db == "postgres":
            try:
                reset_postgres()
            except Exception as error:  # no server here: SQLite's figures still stand
                print(f"\npostgres: skipped, {PG_ADMIN} does not answer: {error}")
                continue
        # Django is set up once per interpreter, so each database gets its own process.
        argv = [sys.executable, __file__, "--db", db, "--responses", str(args.responses)]
        argv += ["--days", str(args.days)]
        argv += ["--repeat", str(args.repeat), "--seed", str(args.seed)]
        argv += ["--shape", ",".join(args.shape)]
        if args.only:
            argv += ["--only", ",".join(args.only)]
        env = {**os.environ, "BENCH_REPORT_CHILD": "1"}
        if subprocess.run(argv, env=env, check=False).returncode:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
