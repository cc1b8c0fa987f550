"""Respondent throughput of a real `sounding serve` on SQLite and PostgreSQL (bench/README.md).

Each point runs C client threads for a fixed time, each answering a six-question survey over
and over as a browser without JavaScript does; server CPU is read from /proc around it.
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import re
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import closing, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import unescape
from pathlib import Path
from typing import Any, TypeVar

import httpx
import psycopg

SOUNDING = str(Path(sys.executable).with_name("sounding"))
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
# Another name lets two runs share one PostgreSQL server without dropping each other's database.
PG_DB = os.environ.get("BENCH_RESPOND_DB", "sounding_bench")
PG_URL = f"postgres://postgres@127.0.0.1:5432/{PG_DB}"
EMAIL = "bench@example.com"
WARM_UP_CAP = 50
CLK_TCK = os.sysconf("SC_CLK_TCK")  # the unit of CPU times in /proc/<pid>/stat
FIELD = re.compile(r'<input type="hidden" name="(r|q)" value="([^"]*)"')
ACTION = re.compile(r'<form method="post" action="([^"]*)"')
FETCH = {"X-Requested-With": "fetch"}  # what respond.js sends for a page
TEMPLATE = re.compile(r'<template data-key="(\w+)"')
CHOICES = ["Email", "Push", "SMS"]
SURVEY = {
    "title": "Bench pulse",
    "questions": [
        {"key": "nps", "type": "nps", "prompt": "How likely are you to recommend us?"},
        {"key": "rating", "type": "rating", "prompt": "How was your last visit?"},
        {"key": "channel", "type": "single_choice", "prompt": "Best channel?", "choices": CHOICES},
        {"key": "channels", "type": "multiple_choice", "prompt": "Any?", "choices": CHOICES},
        {"key": "renew", "type": "yes_no", "prompt": "Will you renew?"},
        {"key": "comment", "type": "long_text", "prompt": "Anything else?"},
    ],
}
# What each question's form sends as `a` (repeated for multiple choice).
ANSWERS: dict[str, list[str]] = {
    "nps": ["9"],
    "rating": ["4"],
    "channel": ["Push"],
    "channels": ["Email", "SMS"],
    "renew": ["yes"],
    "comment": ["Quick and friendly.\nWould come back."],
}
# A complete response: finished, with one stored answer per question of the survey.
STORED_SQL = (
    "SELECT count(*) FROM collect_response r WHERE r.completed_at IS NOT NULL AND "
    f"(SELECT count(*) FROM collect_answer a WHERE a.response_id = r.id) = {len(ANSWERS)}"
)
Target = TypeVar("Target")  # what a submit function needs to find the survey
Submit = Callable[[httpx.Client, Target, str], None]


@dataclass
class Point:
    concurrency: int
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)  # seconds, one per submission
    errors: list[str] = field(default_factory=list)
    server_cpu: float = 0.0  # seconds, every process of the serve session
    server_cpu_by_role: dict[str, float] = field(default_factory=dict)  # seconds, by role_of
    client_cpu: float = 0.0  # seconds, every client process


@dataclass
class Outcome:
    """One server measured on one database: its points, and what it really stored."""

    db: str
    points: list[Point]
    rss: dict[str, list[float]]  # peak RSS MB by role
    notes: list[str] = field(default_factory=list)  # printed above the table
    credited: int = 0  # submissions the clients completed, warm-up included
    stored: int = 0  # complete responses counted in the database afterwards
    delivered: int | None = None  # profiles on the Braze stand-in, when Braze sync is on

    @property
    def workers(self) -> int:
        return len(self.rss.get("web workers", []))


def server_env(data_dir: str, db: str, full_stack: bool = False) -> dict[str, str]:
    # Nothing from the caller's Sounding setup may leak in: each run starts from empty.
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOUNDING_")}
    env.pop("DATABASE_URL", None)
    env["SOUNDING_DATA_DIR"] = data_dir  # also holds the secret key on PostgreSQL
    if db == "postgres":
        env["DATABASE_URL"] = PG_URL
    if full_stack:  # the respondent pages through Django's full middleware stack
        env["SOUNDING_RESPONDENT_FULL_STACK"] = "1"
    return env


def reset_postgres() -> None:
    # DROP/CREATE DATABASE cannot run in a transaction; FORCE ends a crashed run's connections.
    with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{PG_DB}"')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([SOUNDING, *args], env=env, input="", capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"sounding {args[0]} failed:\n{done.stderr}")
    return done.stdout.strip()


def start_session(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """A server in its own session and process group: measured and killed as a whole."""
    with log.open("wb") as out:
        return subprocess.Popen(command, env=env, stdout=out, stderr=out, start_new_session=True)


def kill_session(proc: subprocess.Popen[bytes]) -> None:
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def count_stored(db: str, where: str, sql: str) -> int:
    """The single number `sql` selects, from the SQLite file or PostgreSQL URL `where`."""
    if db == "sqlite":
        with closing(sqlite3.connect(where)) as conn:
            return int(conn.execute(sql).fetchone()[0])
    with psycopg.connect(where, connect_timeout=5) as conn:
        row = conn.execute(sql).fetchone()
        return int(row[0]) if row else 0


def check_stored(name: str, outcome: Outcome) -> None:
    """A benchmark that counts submissions the server lost would be worse than none."""
    if outcome.stored < outcome.credited:
        raise SystemExit(
            f"{name} on {outcome.db} stored {outcome.stored} complete responses, but the clients "
            f"completed {outcome.credited} submissions: the figures would be wrong, stopping."
        )
    if outcome.delivered is not None and outcome.delivered < outcome.credited:
        raise SystemExit(
            f"{name} on {outcome.db} delivered {outcome.delivered} profiles to the Braze stand-in "
            f"for {outcome.credited} submissions: answers were lost on the way, stopping."
        )


def wait_ready(proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}:\n{log.read_text()}")
        with suppress(httpx.HTTPError):
            if httpx.get(url + "/login", timeout=2).status_code < 500:
                return
        time.sleep(0.2)
    raise SystemExit(f"the server did not answer within 60 s:\n{log.read_text()}")


def publish_survey(url: str, env: dict[str, str], braze: str | None) -> str:
    """An owner, a token, and a live survey made through the API; returns the survey's slug.
    With `braze` (the stand-in's address), the workspace sends every answer there."""
    password = secrets.token_urlsafe(16)
    # "--password=" form: a generated password may start with "-".
    run_cli(env, "createadmin", "--email", EMAIL, f"--password={password}", "--workspace", "Bench")
    token = run_cli(env, "token", "create", "--email", EMAIL)
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url + "/api/v1", headers=headers, timeout=30) as api:
        created = api.post("/surveys", json=SURVEY).raise_for_status().json()
        api.post(f"/surveys/{created['id']}/publish").raise_for_status()
        if braze:
            connection = {"rest_endpoint": braze, "api_key": "standin-key"}
            api.put("/integrations/braze", json=connection).raise_for_status()
            integration = f"/surveys/{created['id']}/integrations/braze"
            api.put(integration, json={"enabled": True}).raise_for_status()
    return created["slug"]


def start_standin() -> tuple[subprocess.Popen[bytes], str]:
    """The Braze stand-in, outside the server's session: its CPU is Braze's, not ours."""
    port = free_port()
    proc = subprocess.Popen(
        [SOUNDING, "fake-braze", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with suppress(httpx.HTTPError):
            httpx.get(url + "/_standin/stats", timeout=1).raise_for_status()
            return proc, url
        time.sleep(0.1)
    proc.kill()
    raise SystemExit("the Braze stand-in did not start")


def wait_delivered(braze: str, expected: int, timeout: float = 120) -> tuple[int, float]:
    """Profiles the stand-in holds once delivery catches up, and how long catching up took."""
    begin = time.monotonic()
    users = 0
    while time.monotonic() - begin < timeout:
        users = httpx.get(braze + "/_standin/stats", timeout=5).json()["users"]
        if users >= expected:
            break
        time.sleep(0.2)
    return users, time.monotonic() - begin


def session_stats(sid: int) -> dict[int, list[str]]:
    """/proc/<pid>/stat fields, from `state` on, of the live processes of session `sid`."""
    found: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with suppress(OSError):  # the process may exit while we look
            # Split after the command name, which may itself hold spaces or parentheses.
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[3]) == sid and fields[0] != "Z":
                found[int(entry.name)] = fields
    return found


def server_cpu_seconds(sid: int) -> float:
    # utime and stime are stat fields 14 and 15: 11 and 12 counted from `state` (field 3).
    return sum(int(f[11]) + int(f[12]) for f in session_stats(sid).values()) / CLK_TCK


Role = Callable[[int, int, list[str]], str]


def role_of(sid: int, pid: int, fields: list[str]) -> str:
    """Granian forks its workers, so roles come from the process tree, not command lines."""
    if pid == sid:
        return "serve"
    if int(fields[1]) == sid:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        return "web main" if b"granian" in cmdline else "delivery worker"
    return "web workers"


def cpu_by_role(sid: int) -> dict[str, float]:
    """CPU seconds used so far, by role."""
    used: dict[str, float] = {}
    for pid, fields in session_stats(sid).items():
        with suppress(OSError):
            role = role_of(sid, pid, fields)
            used[role] = used.get(role, 0.0) + (int(fields[11]) + int(fields[12])) / CLK_TCK
    return used


def peak_rss_mb(sid: int, classify: Role = role_of) -> dict[str, list[float]]:
    """VmHWM by role, as `classify(sid, pid, stat fields)` names it."""
    roles: dict[str, list[float]] = {}
    for pid, fields in session_stats(sid).items():
        with suppress(OSError, StopIteration):
            role = classify(sid, pid, fields)
            status = Path(f"/proc/{pid}/status").read_text().splitlines()
            kb = next(line for line in status if line.startswith("VmHWM:")).split()[1]
            roles.setdefault(role, []).append(int(kb) / 1024)
    return roles


def _answer_pages(client: httpx.Client, slug: str, braze_id: str, **post: Any) -> None:
    """The link, then each question's form posted (with `post`'s options), to thank-you."""
    page = client.get(f"/s/{slug}", params={"user_braze_id": braze_id})
    for _ in SURVEY["questions"]:
        page.raise_for_status()
        fields = {name: unescape(value) for name, value in FIELD.findall(page.text)}
        action = ACTION.search(page.text)
        if action is None or "q" not in fields:
            raise AssertionError(f"no question form on {page.url}")
        data = {"r": fields["r"], "q": fields["q"], "a": ANSWERS[fields["q"]], "nav": "next"}
        page = client.post(unescape(action.group(1)), data=data, **post)
    if 'data-screen="done"' not in page.raise_for_status().text:
        raise AssertionError("the last answer did not lead to the thank-you page")


def submit_once(client: httpx.Client, slug: str, braze_id: str) -> None:
    """One complete response: the link, then one POST per question, ending on thank-you.

    Each post is a form post with `X-Requested-With: fetch`, as respond.js sent answers before
    it answered in JSON, so each reply is the next screen rendered; a plain form post would get
    a redirect to it (`submit_forms`), and respond.js now answers as `submit_js` does."""
    _answer_pages(client, slug, braze_id, headers=FETCH)


def submit_forms(client: httpx.Client, slug: str, braze_id: str) -> None:
    """One complete response as a browser without JavaScript makes it: the link, then each
    answer a plain form POST whose 303 leads to the next screen's GET.

    A new person each time: no cookie is carried over."""
    client.cookies.clear()
    _answer_pages(client, slug, braze_id, follow_redirects=True)


def submit_js(client: httpx.Client, slug: str, braze_id: str) -> None:
    """One complete response as respond.js makes it: the link, then each answer a JSON POST to
    the answers endpoint whose reply names the next screen (the first also asks for the blank
    screens, which the script fills in; the last brings the thank-you page)."""
    client.cookies.clear()
    page = client.get(f"/s/{slug}", params={"user_braze_id": braze_id}).raise_for_status()
    fields = {name: unescape(value) for name, value in FIELD.findall(page.text)}
    action = ACTION.search(page.text)
    if action is None or "data-answers" not in page.text or "q" not in fields:
        raise AssertionError(f"no question form that answers in JSON on {page.url}")
    target = httpx.URL(unescape(action.group(1)))
    answers = target.copy_with(path=target.path + "/answers")
    token, key = fields["r"], fields["q"]
    reply: dict[str, Any] = {}
    held: set[str] = set()
    while key is not None:
        body = {"r": token, "q": key, "nav": "next", "a": ANSWERS[key], "screens": not held}
        reply = client.post(answers, json=body).raise_for_status().json()
        held |= set(TEMPLATE.findall(reply.get("screens", "")))
        token, key = reply["r"], reply["next"]
        if key is not None and key not in held:
            raise AssertionError(f"the screens lack {key}")
    if 'data-screen="done"' not in reply.get("page", ""):
        raise AssertionError("the last answer did not bring the thank-you page")


def respond_until(
    url: str,
    target: Target,
    threads: int,
    deadline: float,
    cap: int,
    submit: Submit[Target] = submit_once,
) -> Point:
    """One client process: `threads` respondents until `deadline` or `cap` submissions, each
    `submit(client, target, respondent id)`. `deadline` is on CLOCK_MONOTONIC, which Linux
    shares between processes. `submit` must be a module-level function (it is pickled)."""
    point = Point(threads)
    tickets = itertools.count()  # next() on it is atomic under the GIL
    run_id = secrets.token_hex(4)  # so every submission is a new respondent
    lock = threading.Lock()

    def respondent() -> None:
        with httpx.Client(base_url=url, timeout=30) as client:  # keep-alive per thread
            while time.monotonic() < deadline and (ticket := next(tickets)) < cap:
                begin = time.perf_counter()
                try:
                    submit(client, target, f"bench-{run_id}-{ticket}")
                except (httpx.HTTPError, AssertionError, KeyError) as error:
                    with lock:
                        point.errors.append(f"{type(error).__name__}: {error}")
                    continue
                with lock:
                    point.latencies.append(time.perf_counter() - begin)

    cpu_before = sum(os.times()[:2])
    pool = [threading.Thread(target=respondent) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    point.client_cpu = sum(os.times()[:2]) - cpu_before
    return point


def run_point(
    url: str,
    target: Target,
    concurrency: int,
    args: argparse.Namespace,
    submit: Submit[Target] = submit_once,
) -> Point:
    """Spread the threads over client processes: one interpreter's GIL must not be the limit."""
    procs = min(concurrency, args.client_processes)
    shares = [concurrency // procs + (i < concurrency % procs) for i in range(procs)]
    point = Point(concurrency)
    with ProcessPoolExecutor(procs) as pool:
        begin, deadline = time.perf_counter(), time.monotonic() + args.seconds
        cap = -(-args.max_submissions // procs)
        parts = [pool.submit(respond_until, url, target, n, deadline, cap, submit) for n in shares]
        for future in parts:
            part = future.result()
            point.latencies += part.latencies
            point.errors += part.errors
            point.client_cpu += part.client_cpu
        point.seconds = time.perf_counter() - begin
    return point


def measure(
    sid: int,
    url: str,
    target: Target,
    args: argparse.Namespace,
    submit: Submit[Target] = submit_once,
) -> tuple[list[Point], int]:
    """The points, and how many submissions the warm-up made."""
    # Imports, templates and connection pools are loaded before anything is timed.
    warm_up = respond_until(url, target, 2, time.monotonic() + 2, WARM_UP_CAP, submit)
    if warm_up.errors:  # a broken setup would otherwise only show as a table of errors
        raise SystemExit(f"the warm-up failed: {warm_up.errors[0]}")
    points: list[Point] = []
    for concurrency in args.concurrency:
        before = cpu_by_role(sid)
        point = run_point(url, target, concurrency, args, submit)
        after = cpu_by_role(sid)
        point.server_cpu_by_role = {r: s - before.get(r, 0.0) for r, s in after.items()}
        point.server_cpu = sum(point.server_cpu_by_role.values())
        points.append(point)
    return points, len(warm_up.latencies)


def percentile_ms(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(pct / 100 * len(ordered)))] if values else 0


def align(rows: list[list[str]]) -> str:
    """Right-aligned columns, the first row as the header."""
    widths = [max(len(cell) for cell in column) for column in zip(*rows, strict=True)]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows)


def per_second(point: Point) -> float:
    return len(point.latencies) / point.seconds if point.seconds else 0.0


def cpu_ms(point: Point) -> float:
    """Server CPU per completed submission."""
    return 1000 * point.server_cpu / max(1, len(point.latencies))


def roles_line(point: Point) -> str:
    """Where a point's server CPU went: ms per submission by process role."""
    done = max(1, len(point.latencies))
    roles = sorted(point.server_cpu_by_role.items(), key=lambda item: -item[1])
    shares = ", ".join(f"{role} {1000 * seconds / done:.1f}" for role, seconds in roles)
    return f"server CPU ms/sub at {point.concurrency}, by role: {shares}"


def rss_line(rss: dict[str, list[float]]) -> str:
    sizes = (f"{role} {' + '.join(f'{mb:.0f}' for mb in sorted(mbs))}" for role, mbs in rss.items())
    return "peak RSS MB: " + ", ".join(sorted(sizes))


def table(points: list[Point]) -> str:
    rows = [["concurrency", "submissions/s", "p50 ms", "p95 ms", "p99 ms"]]
    rows[0] += ["server CPU ms/sub", "client CPU ms/sub", "submissions", "errors"]
    for p in points:
        done = max(1, len(p.latencies))
        rows.append(
            [str(p.concurrency), f"{per_second(p):.1f}"]
            + [f"{percentile_ms(p.latencies, pct):.0f}" for pct in (50, 95, 99)]
            + [f"{cpu_ms(p):.1f}", f"{1000 * p.client_cpu / done:.1f}"]
            + [str(len(p.latencies)), str(len(p.errors))]
        )
    return align(rows)


def report(outcome: Outcome, args: argparse.Namespace) -> None:
    for note in outcome.notes:
        print(note)
    braze = ", Braze sync on" if args.braze else ""
    print(f"\n{outcome.db} ({outcome.workers} web workers, {args.seconds:g} s per point{braze})")
    print(table(outcome.points))
    print(rss_line(outcome.rss))
    print(f"stored: {outcome.stored} complete responses for {outcome.credited} submissions")
    for error in sorted({e for p in outcome.points for e in p.errors})[:5]:
        print(f"  error: {error}")


def catch_up(sid: int, braze: str, submitted: int) -> tuple[int, str]:
    """Wait for delivery to finish; catching up after the load is part of the cost. Returns
    the profiles the stand-in holds, and a line saying so."""
    cpu_before = server_cpu_seconds(sid)
    users, took = wait_delivered(braze, submitted)
    tail = server_cpu_seconds(sid) - cpu_before
    return users, (
        f"braze: {users} of {submitted} profiles updated; delivery caught up "
        f"{took:.1f} s after the load, using {tail:.2f} s of CPU meanwhile"
    )


def bench_database(db: str, args: argparse.Namespace, submit: Submit[str] = submit_once) -> Outcome:
    """Sounding on `db`: measured with `submit`, stopped, and its stored responses counted."""
    standin, braze = start_standin() if args.braze else (None, None)
    with tempfile.TemporaryDirectory(prefix="sounding-bench-") as data_dir:
        env = server_env(data_dir, db, getattr(args, "full_stack", False))
        port, log = free_port(), Path(data_dir) / "serve.log"
        if braze:
            env["SOUNDING_BRAZE_ALLOWED_ENDPOINTS"] = braze
        url = f"http://127.0.0.1:{port}"
        command = [SOUNDING, "serve", "--host", "127.0.0.1", "--port", str(port)]
        command += ["--workers", str(args.workers)] if args.workers else []
        proc = start_session(command, env, log)
        try:
            wait_ready(proc, url, log)
            slug = publish_survey(url, env, braze)
            points, warmed = measure(proc.pid, url, slug, args, submit)
            outcome = Outcome(db, points, {}, credited=warmed)
            outcome.credited += sum(len(p.latencies) for p in points)
            if braze:
                outcome.delivered, note = catch_up(proc.pid, braze, outcome.credited)
                outcome.notes.append(note)
            outcome.rss = peak_rss_mb(proc.pid)  # while every process is still there
            used = cpu_by_role(proc.pid).items()
            outcome.notes.append(
                "CPU s by role, whole run: " + ", ".join(f"{r} {s:.1f}" for r, s in used)
            )
            outcome.notes += [roles_line(p) for p in points]
        finally:
            kill_session(proc)
            if standin is not None:
                standin.kill()
        where = PG_URL if db == "postgres" else str(Path(data_dir) / "sounding.sqlite3")
        outcome.stored = count_stored(db, where, STORED_SQL)
    return outcome


def machine() -> str:
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo if "model name" in line), "?")
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    cpus = len(os.sched_getaffinity(0))
    return f"machine: {cpus} CPUs ({model}), Python {platform.python_version()}, {when}"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of this script, which bench/peer.py shares."""
    add = parser.add_argument
    add("--db", choices=["sqlite", "postgres", "both"], default="sqlite")
    add("--concurrency", type=lambda s: [int(c) for c in s.split(",")], default=[1, 8, 32])
    add("--seconds", type=float, default=20.0, help="length of each point (default 20)")
    add("--max-submissions", type=int, default=100_000, help="cap per point (default 100000)")
    add("--workers", type=int, help="web worker processes (default: the server's own)")
    add("--client-processes", type=int, default=len(os.sched_getaffinity(0)))
    add("--braze", action="store_true", help="send every answer to a local Braze stand-in")
    add(
        "--full-stack",
        action="store_true",
        help="serve the respondent pages through Django's full middleware stack, as before "
        "their own handler (SOUNDING_RESPONDENT_FULL_STACK)",
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_arguments(parser)
    return parser.parse_args()


def databases(choice: str, reset: Callable[[], None] = reset_postgres) -> Iterator[str]:
    """The databases to measure: PostgreSQL only if `reset` reaches it (else say so, go on)."""
    for db in ["sqlite", "postgres"] if choice == "both" else [choice]:
        if db == "postgres":
            try:
                reset()
            except psycopg.OperationalError as error:  # no server here: still report SQLite
                print(f"\npostgres: skipped, {PG_ADMIN} does not answer: {error}")
                continue
        yield db


def main() -> int:
    args = parse_args()
    print(machine())
    for db in databases(args.db):
        outcome = bench_database(db, args)
        report(outcome, args)
        check_stored("Sounding", outcome)
    return 0


if __name__ == "__main__":
    sys.exit(main())
