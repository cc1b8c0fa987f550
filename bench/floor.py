"""The fixed cost of a request to `sounding serve`: server CPU of requests that do little.

respond.py's clients, but each "submission" is `--requests` GETs of one respondent address, so
the server CPU per submission is what that many requests cost with little or no survey code:

- `unknown`: a survey link that does not exist (a 404 through Granian, the middleware, URL
  resolution, one lookup and the "Survey not found" page);
- `page`: a live survey's link opened by a new visitor (its first question, nothing stored).

Each is measured with the respondent pages on their own handler (`lean`, the default) and
through Django's full middleware stack (`full`, SOUNDING_RESPONDENT_FULL_STACK), each on a
server of its own.
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
    publish_survey,
    reset_postgres,
    server_env,
    start_session,
    table,
    wait_ready,
)

from sounding.cli import default_workers

UNKNOWN = "no-such-survey"
STACKS = {"lean": False, "full": True}  # whether SOUNDING_RESPONDENT_FULL_STACK is on


def unknown_links(client: httpx.Client, count: str, respondent: str) -> None:
    for _ in range(int(count)):
        page = client.get(f"/s/{UNKNOWN}")
        if page.status_code != 404:
            raise AssertionError(f"/s/{UNKNOWN} answered {page.status_code}, not 404")


def first_pages(client: httpx.Client, target: str, respondent: str) -> None:
    count, slug = target.split(":", 1)
    for _ in range(int(count)):
        page = client.get(f"/s/{slug}")
        if page.status_code != 200 or 'name="q"' not in page.text:
            raise AssertionError(f"/s/{slug} answered {page.status_code}, not its first question")


def bench_stack(db: str, stack: str, args: argparse.Namespace) -> None:
    if db == "postgres":
        reset_postgres()  # each server starts from an empty database
    with tempfile.TemporaryDirectory(prefix="sounding-floor-") as data_dir:
        env, port = server_env(data_dir, db, STACKS[stack]), free_port()
        log, url = Path(data_dir) / "serve.log", f"http://127.0.0.1:{port}"
        command = [SOUNDING, "serve", "--host", "127.0.0.1", "--port", str(port)]
        proc = start_session([*command, "--workers", str(args.workers)], env, log)
        try:
            wait_ready(proc, url, log)
            kinds = ["unknown", "page"] if args.page == "both" else [args.page]
            slug = publish_survey(url, env, None) if "page" in kinds else ""
            for kind in kinds:
                if kind == "unknown":
                    points, _ = measure(proc.pid, url, str(args.requests), args, unknown_links)
                else:
                    target = f"{args.requests}:{slug}"
                    points, _ = measure(proc.pid, url, target, args, first_pages)
                print(f"\n{db}, {stack} stack, {kind} ({args.workers} web workers, ", end="")
                print(f"{args.requests} requests a submission)")
                print(table(points))
        finally:
            kill_session(proc)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add = parser.add_argument
    add("--db", choices=["sqlite", "postgres", "both"], default="sqlite")
    add("--stack", choices=["lean", "full", "both"], default="both")
    add("--page", choices=["unknown", "page", "both"], default="unknown")
    add("--concurrency", type=lambda s: [int(c) for c in s.split(",")], default=[8])
    add("--seconds", type=float, default=10.0, help="length of each point (default 10)")
    add("--requests", type=int, default=7, help="requests a submission (default 7, as Sounding)")
    add("--workers", type=int, default=default_workers())
    add("--max-submissions", type=int, default=100_000)
    add("--client-processes", type=int, default=2)
    add("--rounds", type=int, default=1, help="measure the stacks in turn this many times")
    args = parser.parse_args()
    print(machine())
    for db in databases(args.db):
        for _ in range(args.rounds):
            for stack in STACKS if args.stack == "both" else [args.stack]:
                bench_stack(db, stack, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
