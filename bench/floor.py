"""The fixed cost of a request to `sounding serve`: server CPU of requests that find nothing.

respond.py's clients, but each "submission" is `--requests` GETs of a survey link that does not
exist (a 404 through Granian, Django's middleware, URL resolution and one lookup), so the
server CPU per submission is what that many requests cost before any survey code runs.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import httpx

# Run as `python bench/floor.py`, so bench/ is on sys.path and respond.py is importable.
from respond import (
    SOUNDING,
    databases,
    free_port,
    kill_session,
    machine,
    measure,
    server_env,
    start_session,
    table,
    wait_ready,
)

from sounding.cli import default_workers

UNKNOWN = "no-such-survey"


def unknown_links(client: httpx.Client, count: str, respondent: str) -> None:
    for _ in range(int(count)):
        page = client.get(f"/s/{UNKNOWN}")
        if page.status_code != 404:
            raise AssertionError(f"/s/{UNKNOWN} answered {page.status_code}, not 404")


def bench_database(db: str, args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="sounding-floor-") as data_dir:
        env, port, log = server_env(data_dir, db), free_port(), Path(data_dir) / "serve.log"
        url = f"http://127.0.0.1:{port}"
        command = [SOUNDING, "serve", "--host", "127.0.0.1", "--port", str(port)]
        proc = start_session([*command, "--workers", str(args.workers)], env, log)
        try:
            wait_ready(proc, url, log)
            points, _ = measure(proc.pid, url, str(args.requests), args, unknown_links)
        finally:
            kill_session(proc)
    print(f"\n{db} ({args.workers} web workers, {args.requests} requests a submission)")
    print(table(points))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add = parser.add_argument
    add("--db", choices=["sqlite", "postgres", "both"], default="sqlite")
    add("--concurrency", type=lambda s: [int(c) for c in s.split(",")], default=[8])
    add("--seconds", type=float, default=10.0, help="length of each point (default 10)")
    add("--requests", type=int, default=7, help="requests a submission (default 7, as Sounding)")
    add("--workers", type=int, default=default_workers())
    add("--max-submissions", type=int, default=100_000)
    add("--client-processes", type=int, default=2)
    args = parser.parse_args()
    print(machine())
    for db in databases(args.db):
        bench_database(db, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
