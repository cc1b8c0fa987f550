"""Respondent pages while clients flood `POST /login` with wrong passwords (bench/README.md).

A real `sounding serve` with its real password hasher. C client threads post wrong passwords
for a fixed time, to one account or to a new email each time, while new visitors open the
respondent page `/s/<slug>` on a fixed schedule. Reports how long that page took, before and
during the flood, and how the sign-in posts were answered.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from http.cookiejar import CookieJar, DefaultCookiePolicy
from pathlib import Path

import httpx

# Run as `python bench/signin_flood.py`, so bench/ is on sys.path and respond.py is importable.
from respond import (
    EMAIL,
    SOUNDING,
    databases,
    free_port,
    kill_session,
    machine,
    percentile_ms,
    publish_survey,
    reset_postgres,
    server_cpu_seconds,
    server_env,
    start_session,
    wait_ready,
)

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
MODES = {
    "one": "one account, its email every time",
    "many": "a new email every attempt",
}


@dataclass
class Flood:
    statuses: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)  # seconds, one per sign-in post


def flood(url: str, mode: str, threads: int, deadline: float, part: int) -> Flood:
    """One client process: `threads` clients posting wrong passwords until `deadline` (on
    CLOCK_MONOTONIC, which Linux shares between processes). Module-level: it is pickled."""
    result = Flood()
    lock = threading.Lock()

    def client_thread(index: int) -> None:
        with httpx.Client(base_url=url, timeout=120) as client:
            token = CSRF.search(client.get("/login").text)
            if token is None:
                raise SystemExit("no CSRF token on /login")
            attempt = 0
            while time.monotonic() < deadline:
                attempt += 1
                email = EMAIL if mode == "one" else f"flood-{part}-{index}-{attempt}@example.com"
                data = {
                    "username": email,
                    "password": secrets.token_urlsafe(12),
                    "csrfmiddlewaretoken": token[1],
                }
                begin = time.perf_counter()
                try:
                    status = str(client.post("/login", data=data).status_code)
                except httpx.HTTPError as error:
                    status = type(error).__name__
                with lock:
                    result.statuses[status] += 1
                    result.latencies.append(time.perf_counter() - begin)

    pool = [threading.Thread(target=client_thread, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return result


Visits = list[tuple[float, float]]  # (seconds from the start when due, latency in seconds)


def probe(url: str, slug: str, deadline: float, rate: float) -> tuple[Visits, Counter[str]]:
    """Open the respondent page `rate` times a second until `deadline`, each time as a new
    visitor, on a fixed schedule: a request that waited is timed from when
    it was due, so a server that stalls is not sampled less while it stalls."""
    visits: Visits = []
    statuses: Counter[str] = Counter()
    lock = threading.Lock()
    start = time.monotonic()

    # Connections are kept and shared (opening one per visit costs the client more than the
    # server); cookies are refused, so every visit is a new visitor's.
    no_cookies = CookieJar(DefaultCookiePolicy(allowed_domains=[]))
    with httpx.Client(base_url=url, timeout=120, cookies=no_cookies) as client:

        def visit(due: float) -> None:
            time.sleep(max(0.0, due - time.monotonic()))
            try:
                status = str(client.get(f"/s/{slug}").status_code)
            except httpx.HTTPError as error:
                status = type(error).__name__
            with lock:
                statuses[status] += 1
                if status == "200":
                    visits.append((due - start, time.monotonic() - due))

        count = int((deadline - start) * rate)
        with ThreadPoolExecutor(max_workers=64) as pool:
            for index in range(count):
                pool.submit(visit, start + index / rate)
    return visits, statuses


def summary(latencies: list[float]) -> str:
    if not latencies:
        return "no answer"
    figures = (percentile_ms(latencies, 50), percentile_ms(latencies, 95), 1000 * max(latencies))
    return "p50 {:.0f} ms, p95 {:.0f} ms, max {:.0f} ms ({} requests)".format(
        *figures, len(latencies)
    )


def by_slice(visits: Visits, seconds: float, parts: int = 4) -> str:
    """The p95 of each part of the run: when the page was slow, not only how often."""
    width = seconds / parts
    cells = []
    for part in range(parts):
        inside = [latency for due, latency in visits if part * width <= due < (part + 1) * width]
        cells.append(f"{part * width:g}-{(part + 1) * width:g} s {percentile_ms(inside, 95):.0f}")
    return ", ".join(cells)


def load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def run_mode(db: str, mode: str, args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="sounding-flood-") as data_dir:
        env, port, log = server_env(data_dir, db), free_port(), Path(data_dir) / "serve.log"
        url = f"http://127.0.0.1:{port}"
        command = [SOUNDING, "serve", "--host", "127.0.0.1", "--port", str(port)]
        command += ["--workers", str(args.workers)] if args.workers else []
        proc = start_session(command, env, log)
        try:
            wait_ready(proc, url, log)
            slug = publish_survey(url, env, None)
            probe(url, slug, time.monotonic() + 2, args.rate)  # warm up: imports, templates
            quiet, _ = probe(url, slug, time.monotonic() + args.quiet_seconds, args.rate)
            load_before = load()
            cpu_before = server_cpu_seconds(proc.pid)
            parts = min(args.clients, args.client_processes)
            shares = [args.clients // parts + (i < args.clients % parts) for i in range(parts)]
            deadline = time.monotonic() + args.seconds
            with ProcessPoolExecutor(parts) as pool:
                futures = [
                    pool.submit(flood, url, mode, n, deadline, i) for i, n in enumerate(shares)
                ]
                loaded, probe_statuses = probe(url, slug, deadline, args.rate)
                floods = [future.result() for future in futures]
            cpu = server_cpu_seconds(proc.pid) - cpu_before
            load_after = load()
            # A traceback's last line names the error; the lines before it are the same each time.
            errors = [
                line
                for line in log.read_text().splitlines()
                if "Error" in line and not line[:1].isdigit() and not line.startswith(" ")
            ]
        finally:
            kill_session(proc)
    statuses: Counter[str] = sum((f.statuses for f in floods), Counter())
    login_latencies = [latency for f in floods for latency in f.latencies]
    workers = args.workers or "default"
    print(f"\n{db}, {mode}: {MODES[mode]} ({args.clients} clients, {args.seconds:g} s, "
          f"{workers} web workers)")  # fmt: skip
    print(f"  load average before {load_before}, after {load_after}")
    print(f"  respondent page, quiet:      {summary([latency for _, latency in quiet])}")
    print(f"  respondent page, under load: {summary([latency for _, latency in loaded])}")
    print(f"    p95 ms by part of the flood: {by_slice(loaded, args.seconds)}")
    if set(probe_statuses) != {"200"}:
        print(f"  respondent page answers: {dict(probe_statuses)}")
    answers = ", ".join(f"{status}: {count}" for status, count in sorted(statuses.items()))
    print(f"  POST /login answers: {answers} ({sum(statuses.values()) / args.seconds:.0f}/s)")
    print(f"  POST /login latency: {summary(login_latencies)}")
    print(f"  server CPU during the flood: {cpu:.1f} s")
    for line in sorted(set(errors))[:5]:
        print(f"  server error: {line}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add = parser.add_argument
    add("--db", choices=["sqlite", "postgres", "both"], default="sqlite")
    add("--mode", choices=[*MODES, "both"], default="both")
    add("--clients", type=int, default=8, help="threads posting to /login (default 8)")
    add("--seconds", type=float, default=20.0, help="length of the flood (default 20)")
    add("--quiet-seconds", type=float, default=10.0, help="respondent page alone, before")
    add("--rate", type=float, default=10.0, help="respondent page opens a second (default 10)")
    add("--workers", type=int, help="web worker processes (default: the server's own)")
    add("--client-processes", type=int, default=2)
    args = parser.parse_args()
    print(machine())
    print(f"code: {os.environ.get('PYTHONPATH') or 'the installed package'}")
    modes = list(MODES) if args.mode == "both" else [args.mode]
    for db in databases(args.db):
        for index, mode in enumerate(modes):
            if db == "postgres" and index:
                reset_postgres()  # each run starts from an empty database
            run_mode(db, mode, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
