"""Exporting a survey's responses: time and peak memory at 10,000 and 100,000 responses.

For each database (a fresh temporary SQLite file, or the PostgreSQL database
`sounding_bench_export`, dropped and created again), the script:

1. migrates, creates a workspace and a six-question survey, and seeds `--responses` responses
   with bulk inserts (identity, a hidden field, six answers each, a Braze push for half), then
   runs ANALYZE as autovacuum would have on a database in service;
2. for each size, runs the export in a fresh process (`--run`), exactly as the CSV, JSON and
   XLSX views stream it, counting bytes and rows, and reports the wall time, the rows per second and
   the process's peak resident memory (VmHWM) minus its size before exporting.

The two sizes are two surveys of the same database, so the comparison shows that memory does
not grow with the number of responses. Usage:

    .venv/bin/python bench/export.py                      # SQLite, 100,000 responses
    .venv/bin/python bench/export.py --db both --responses 50000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import psycopg

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DB = "sounding_bench_export"
PG_URL = f"postgres://postgres@127.0.0.1:5432/{PG_DB}"
SMALL = 10_000
BATCH = 5_000
SURVEY = {
    "title": "Export bench",
    "hidden_fields": ["utm_source"],
    "questions": [
        {"key": "nps", "type": "nps", "prompt": "How likely are you to recommend us?"},
        {"key": "rating", "type": "rating", "prompt": "How was your last visit?"},
        {"key": "plan", "type": "single_choice", "prompt": "Plan?", "choices": ["Free", "Pro"]},
        {
            "key": "channels",
            "type": "multiple_choice",
            "prompt": "Where do you hear from us?",
            "choices": ["Email", "Push", "SMS"],
        },
        {"key": "renew", "type": "yes_no", "prompt": "Will you renew?"},
        {"key": "comment", "type": "long_text", "prompt": "Anything else?"},
    ],
}
ANSWERS = {
    "nps": 8,
    "rating": 4,
    "plan": "Pro",
    "channels": ["Email", "SMS"],
    "renew": True,
    "comment": "A comment of ordinary length, with a comma, and some more words to fill it.",
}


def django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sounding.settings")
    import django

    django.setup()


def vm_hwm_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def vm_rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


# --- seeding (run in a child process with the database's environment) ----------------------


def seed_survey(workspace: object, title: str, count: int) -> int:
    from django.utils import timezone

    from sounding.answers.models import Answer, Response
    from sounding.delivery.models import Push
    from sounding.surveys.models import Survey

    survey = Survey.create(workspace, {**SURVEY, "title": title})  # type: ignore[arg-type]
    start = timezone.now() - timedelta(days=30)
    for first in range(0, count, BATCH):
        batch = Response.objects.bulk_create(
            Response(
                survey=survey,
                identity_kind="braze_id",
                identity_value=f"{title}-{i}",
                hidden={"utm_source": "bench"},
                language="en",
                started_at=start + timedelta(seconds=i),
                completed_at=start + timedelta(seconds=i + 30),
                identities={"braze_id": f"{title}-{i}"},
            )
            for i in range(first, min(first + BATCH, count))
        )
        Answer.objects.bulk_create(
            Answer(response_id=r.pk, question_key=k, value=v)
            for r in batch
            for k, v in ANSWERS.items()
        )
        Push.objects.bulk_create(
            Push(
                response_id=r.pk,
                workspace_id=survey.workspace_id,
                destination="braze",
                user_key=f"braze_id:{r.identity['braze_id']}",
                state="synced",
            )
            for r in batch[::2]
        )
    return survey.pk


def seed(sizes: list[int]) -> None:
    from django.core.management import call_command
    from django.db import connection

    from sounding.accounts.models import Workspace

    call_command("migrate", verbosity=0)
    workspace = Workspace.objects.create(name="Bench")
    ids = {size: seed_survey(workspace, f"s{size}", size) for size in sizes}
    # A database in service has planner statistics (autovacuum); one just bulk-loaded has none,
    # and PostgreSQL would then sort a whole survey for every page.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(json.dumps(ids))


# --- one export (a fresh child process, so its peak memory is the export's) ----------------


def run(survey_id: int, fmt: str) -> None:
    from sounding.responses import export, filters
    from sounding.surveys.models import Survey

    survey = Survey.objects.get(pk=survey_id)
    survey.spec  # noqa: B018 - parsed before the baseline, as a warm server would have it
    chunks = export.FORMATS[fmt].chunks
    before = vm_rss_kb()
    started = time.perf_counter()
    size = lines = 0
    for chunk in chunks(survey, filters.Filters()):
        data = chunk if isinstance(chunk, bytes) else chunk.encode()
        size += len(data)
        lines += data.count(b"\n")
    took = time.perf_counter() - started
    print(json.dumps({"seconds": took, "bytes": size, "lines": lines, "before_kb": before,
                      "peak_kb": vm_hwm_kb()}))  # fmt: skip


# --- the driver ------------------------------------------------------------------------------


def child(env: dict[str, str], *args: str) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, *args], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def reset_postgres() -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {PG_DB}")


def bench(db: str, count: int, data_dir: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["SOUNDING_DATA_DIR"] = data_dir
    if db == "postgres":
        env["DATABASE_URL"] = PG_URL
    sizes = sorted({min(SMALL, count), count})
    started = time.perf_counter()
    ids = child(env, "--seed", ",".join(map(str, sizes)))
    print(f"\n{db}: seeded {sum(sizes):,} responses in {time.perf_counter() - started:.1f} s")
    print(f"{'responses':>10} {'format':>6} {'seconds':>8} {'rows/s':>9} {'MB out':>7} "
          f"{'RSS before MB':>14} {'peak RSS MB':>12} {'growth MB':>10}")  # fmt: skip
    for size in sizes:
        for fmt in ("csv", "json", "xlsx"):
            got = child(env, "--run", str(ids[str(size)]), fmt)
            rows = size
            growth = (got["peak_kb"] - got["before_kb"]) / 1024
            print(
                f"{size:>10,} {fmt:>6} {got['seconds']:>8.2f} {rows / got['seconds']:>9,.0f} "
                f"{got['bytes'] / 1e6:>7.1f} {got['before_kb'] / 1024:>14.1f} "
                f"{got['peak_kb'] / 1024:>12.1f} {growth:>10.1f}"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument("--responses", type=int, default=100_000)
    parser.add_argument("--seed", help=argparse.SUPPRESS)
    parser.add_argument("--run", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.seed or args.run:
        django_setup()
        if args.seed:
            seed([int(s) for s in args.seed.split(",")])
        else:
            run(int(args.run[0]), args.run[1])
        return 0
    print(f"Python {sys.version.split()[0]}, {len(os.sched_getaffinity(0))} CPUs")
    for db in ["sqlite", "postgres"] if args.db == "both" else [args.db]:
        if db == "postgres":
            try:
                reset_postgres()
            except psycopg.OperationalError as error:
                print(f"\npostgres: skipped, {PG_ADMIN} does not answer: {error}")
                continue
        with tempfile.TemporaryDirectory(prefix="sounding-export-bench-") as data_dir:
            bench(db, args.responses, data_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
