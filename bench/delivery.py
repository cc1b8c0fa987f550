"""Braze delivery of a real Sounding: answer-to-profile delay, backlog drain, and recovery from
an outage (bench/README.md).

Three measurements per database, each on a fresh database with a fresh Braze stand-in
(`sounding fake-braze`, started outside the measured processes):

- steady: `sounding serve` takes confirmed one-click answers (the form POST a person's Next
  makes on `/s/<slug>?user_braze_id=..&nps=..`; opening the link alone stores nothing) sent by
  client threads on a fixed schedule. An answer's delay runs from the moment its POST
  returned 200 (the client's wall clock) to the moment the stand-in received the first accepted
  request carrying that person (the stand-in's wall clock; same machine, same clock).
- backlog: `sounding web` alone stores answers with no worker running (one POST per answer,
  up to five per respondent), then `sounding worker` starts and is timed until the stand-in
  holds every profile. Its requests are compared with the fewest possible (75 objects each),
  and its CPU and peak memory are read from /proc.
- outage: `sounding serve` while the stand-in answers every request with a 503 and people
  answer, then the stand-in answers again: the time from that moment to the last profile
  updated, and the requests made after it against the fewest possible.
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg

# Run as `python bench/delivery.py`, so bench/ is on sys.path and respond.py is importable.
from respond import (
    ANSWERS,
    CHOICES,
    FETCH,
    PG_ADMIN,
    SOUNDING,
    SURVEY,
    databases,
    free_port,
    machine,
    percentile_ms,
    publish_survey,
    server_cpu_seconds,
    server_env,
    session_stats,
    start_standin,
    wait_ready,
)

# Not respond.py's database: both benchmarks may run side by side.
PG_DB = "sounding_bench_delivery"
PG_URL = f"postgres://postgres@127.0.0.1:5432/{PG_DB}"
MAX_OBJECTS = 75  # Braze's limit per /users/track request, attributes and events together
STEADY_CLIENTS = 16  # enough idle threads that a slow answer never holds up the schedule
BACKLOG_CLIENTS = 8
WARM_UP_ANSWERS = 20
STEADY_TIMEOUT = 120.0  # seconds to wait for the last steady answer to reach the stand-in
DRAIN_TIMEOUT = 900.0
POLL_SECONDS = 0.2
# The five questions of respond.py's survey that a backlog respondent answers in one GET, and
# the long-text one whose attribute carries a re-answer's ticket, so it can be found by content.
BACKLOG_KEYS = ["nps", "rating", "channel", "renew", "channels"]
NPS_ATTRIBUTE = next(q["prompt"] for q in SURVEY["questions"] if q["key"] == "nps")
RECOVERY_TIMEOUT = 120.0  # seconds to wait for every profile once the stand-in answers again
TICKET_KEY = "comment"
TICKET_ATTRIBUTE = next(q["prompt"] for q in SURVEY["questions"] if q["key"] == TICKET_KEY)


@dataclass
class Answer:
    braze_id: str
    ticket: int  # its place in the schedule; a re-answer's ticket is also in its text
    acked: float  # time.time() when the GET returned 200


@dataclass
class Steady:
    answers: list[Answer] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0  # from the first scheduled answer to the last acknowledgement
    delays: list[float] = field(default_factory=list)  # seconds, one per delivered answer
    requests: list[dict[str, Any]] = field(default_factory=list)  # stand-in log, after warm-up


@dataclass
class Backlog:
    respondents: int
    answers: int
    fill_seconds: float = 0.0
    errors: list[str] = field(default_factory=list)
    first_request: float = 0.0  # seconds from starting the worker to the first request
    drain_seconds: float = 0.0  # from starting the worker to the last profile
    profiles: int = 0
    requests: list[dict[str, Any]] = field(default_factory=list)
    worker_cpu: float = 0.0
    worker_rss_mb: float = 0.0


@dataclass
class Outage:
    respondents: int
    seconds: float  # how long the stand-in failed every request
    answers: list[Answer] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    answering_seconds: float = 0.0  # from the outage's start to the last acknowledgement
    recovered_at: float = 0.0  # time.time() when the stand-in answered again
    during: list[dict[str, Any]] = field(default_factory=list)  # requests in the outage
    after: list[dict[str, Any]] = field(default_factory=list)  # requests once it was over
    wrong: int = 0  # respondents whose profile does not hold their answer in the end


class Run:
    """One measurement's world: a data directory, its database, a stand-in, and processes.

    Every server process gets its own session, so `close` ends it with all its children."""

    def __init__(self, db: str, data_dir: str) -> None:
        self.db = db
        self.data_dir = Path(data_dir)
        self.procs: list[subprocess.Popen[bytes]] = []
        self.standin: subprocess.Popen[bytes] | None = None
        self.braze = ""
        self.env: dict[str, str] = {}

    def open(self) -> None:
        if self.db == "postgres":
            reset_postgres()
        self.standin, self.braze = start_standin()
        # respond.py's environment, but with this script's own PostgreSQL database.
        self.env = server_env(str(self.data_dir), "sqlite")
        if self.db == "postgres":
            self.env["DATABASE_URL"] = PG_URL
        self.env["SOUNDING_BRAZE_ALLOWED_ENDPOINTS"] = self.braze

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        with self.log(name).open("wb") as out:
            proc = subprocess.Popen(
                [SOUNDING, name, *args],
                env=self.env,
                stdout=out,
                stderr=out,
                start_new_session=True,
            )
        self.procs.append(proc)
        return proc

    def start_web(self, name: str) -> str:
        """`sounding serve` or `sounding web` on a free port, once it answers; its address."""
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        wait_ready(
            self.start(name, "--host", "127.0.0.1", "--port", str(port)), url, self.log(name)
        )
        return url

    def log(self, name: str) -> Path:
        return self.data_dir / f"{name}.log"

    def close(self) -> None:
        for proc in self.procs:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        # The stand-in shares our process group (respond.start_standin): kill it alone.
        if self.standin is not None:
            self.standin.kill()
            self.standin.wait()


@contextmanager
def fresh_run(db: str) -> Iterator[Run]:
    with tempfile.TemporaryDirectory(prefix="sounding-bench-") as data_dir:
        run = Run(db, data_dir)
        try:
            run.open()
            yield run
        finally:
            run.close()


def reset_postgres() -> None:
    # DROP/CREATE DATABASE cannot run in a transaction; FORCE ends a crashed run's connections.
    with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {PG_DB}")


# -- the stand-in's log -------------------------------------------------------------------------


def standin_requests(braze: str, since: int = 0) -> list[dict[str, Any]]:
    return httpx.get(braze + "/_standin/requests", params={"since": since}, timeout=60).json()[
        "requests"
    ]


def standin_stats(braze: str) -> dict[str, Any]:
    return httpx.get(braze + "/_standin/stats", timeout=10).json()


def epoch(wall: str) -> float:
    return datetime.fromisoformat(wall).timestamp()


def attribute_objects(request: dict[str, Any]) -> list[dict[str, Any]]:
    body = request["body"]
    items = body.get("attributes") if isinstance(body, dict) else None
    return [obj for obj in items or [] if isinstance(obj, dict)]


def deliveries(
    requests: list[dict[str, Any]], reanswers: bool
) -> dict[str, list[tuple[int, float]]]:
    """braze_id -> (newest ticket the request carried, when received) per accepted request.

    A new respondent answered once, so any request with them delivers it (ticket "infinity").
    A re-answering respondent is matched by the ticket in their text attribute: a request also
    delivers their older answers that a newer one overtook before it was sent."""
    found: dict[str, list[tuple[int, float]]] = {}
    for request in sorted(requests, key=lambda r: r["seq"]):
        if request["status"] != 201:
            continue
        received = epoch(request["received_at_wall"])
        for obj in attribute_objects(request):
            ticket = ticket_of(obj) if reanswers else sys.maxsize
            if "braze_id" in obj and ticket is not None:
                found.setdefault(obj["braze_id"], []).append((ticket, received))
    return found


def ticket_of(obj: dict[str, Any]) -> int | None:
    text = obj.get(TICKET_ATTRIBUTE)
    return int(text.removeprefix("t")) if isinstance(text, str) else None


def delays(answers: list[Answer], found: dict[str, list[tuple[int, float]]]) -> list[float]:
    """Seconds from each answer's acknowledgement to the first request that delivered it."""
    out = []
    for answer in answers:
        received = (at for ticket, at in found.get(answer.braze_id, []) if ticket >= answer.ticket)
        if (at := next(received, None)) is not None:
            out.append(at - answer.acked)
    return out


# -- steady load --------------------------------------------------------------------------------


def steady_params(ticket: int, pool: int) -> dict[str, str]:
    """A new respondent per answer, or with a pool, the pool's members answering again."""
    params = {"user_braze_id": f"u-{ticket % pool if pool else ticket}", "nps": str(ticket % 11)}
    if pool:
        params[TICKET_KEY] = f"t{ticket}"
    return params


def post_answers(http: httpx.Client, slug: str, params: dict[str, str | list[str]]) -> None:
    """Answer as a person confirming a one-click link: each answer the form POST of its screen
    to the link (opening a link that carries an answer stores nothing: mail scanners do)."""
    identity = {k: v for k, v in params.items() if k.startswith("user_")}
    for key, value in params.items():
        if key not in identity:
            data = {"q": key, "a": value, "nav": "next", "from_link": "1"}
            # As respond.js posts it: the next screen comes back (a plain form gets a redirect).
            http.post(f"/s/{slug}", params=identity, data=data, headers=FETCH).raise_for_status()


def paced(
    url: str, slug: str, total: int, rate: float, params: Callable[[int], dict[str, str]]
) -> Steady:
    """`total` one-click answers, answer n sent n/rate seconds after the start (or as soon as a
    client thread is free, if all are busy), never faster."""
    result = Steady()
    tickets = itertools.count()  # next() on it is atomic under the GIL
    lock = threading.Lock()
    start = time.monotonic() + 0.2

    def client() -> None:
        with httpx.Client(base_url=url, timeout=30) as http:  # keep-alive per thread
            while (ticket := next(tickets)) < total:
                time.sleep(max(0.0, start + ticket / rate - time.monotonic()))
                query = params(ticket)
                try:
                    post_answers(http, slug, query)
                except httpx.HTTPError as error:
                    with lock:
                        result.errors.append(f"{type(error).__name__}: {error}")
                    continue
                answer = Answer(query["user_braze_id"], ticket, time.time())
                with lock:
                    result.answers.append(answer)

    # Daemon threads: an interrupted run ends at once instead of finishing the schedule.
    threads = [threading.Thread(target=client, daemon=True) for _ in range(STEADY_CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds = time.monotonic() - start
    return result


def warm_up(url: str, slug: str, braze: str) -> int:
    """Answers that load every code path once, delivered; the stand-in's last seq after them."""
    warm = paced(
        url, slug, WARM_UP_ANSWERS, 20, lambda n: {"user_braze_id": f"warm-{n}", "nps": "5"}
    )
    if warm.errors:  # a broken setup would otherwise only show as a table of errors
        raise SystemExit(f"the warm-up failed: {warm.errors[0]}")
    deadline = time.monotonic() + 30
    while standin_stats(braze)["users"] < WARM_UP_ANSWERS and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
    return max((r["seq"] for r in standin_requests(braze)), default=0)


def collect(braze: str, since: int, result: Steady, reanswers: bool) -> None:
    """Read the stand-in's log until every answer was delivered, or STEADY_TIMEOUT."""
    deadline = time.monotonic() + STEADY_TIMEOUT
    while True:
        fresh = standin_requests(braze, max((r["seq"] for r in result.requests), default=since))
        result.requests += fresh
        if fresh or not result.delays:
            result.delays = delays(result.answers, deliveries(result.requests, reanswers))
        if len(result.delays) >= len(result.answers) or time.monotonic() > deadline:
            return
        time.sleep(POLL_SECONDS)


def run_steady(db: str, args: argparse.Namespace) -> Steady:
    with fresh_run(db) as run:
        url = run.start_web("serve")
        slug = publish_survey(url, run.env, run.braze)
        since = warm_up(url, slug, run.braze)
        total = round(args.rate * args.seconds)
        result = paced(url, slug, total, args.rate, lambda n: steady_params(n, args.reanswer_pool))
        collect(run.braze, since, result, args.reanswer_pool > 0)
        return result


# -- backlog ------------------------------------------------------------------------------------


def backlog_params(respondent: int, count: int) -> dict[str, str]:
    """`count` answers (1-5) for one respondent, varied so that profiles differ."""
    values = {
        "nps": str(respondent % 11),
        "rating": str(1 + respondent % 5),
        "channel": CHOICES[respondent % len(CHOICES)],
        "renew": ["yes", "no"][respondent % 2],
        "channels": ANSWERS["channels"][respondent % 2],
    }
    params = {"user_braze_id": f"b-{respondent}"}
    params.update((key, values[key]) for key in BACKLOG_KEYS[:count])
    return params


def fill(url: str, slug: str, plan: list[int]) -> tuple[float, list[str]]:
    """Respondent i posts plan[i] answers, as fast as the server takes them; the seconds it
    took and the errors."""
    tickets = itertools.count()
    errors: list[str] = []

    def client() -> None:
        with httpx.Client(base_url=url, timeout=60) as http:
            while (n := next(tickets)) < len(plan):
                try:
                    post_answers(http, slug, backlog_params(n, plan[n]))
                except httpx.HTTPError as error:
                    errors.append(f"{type(error).__name__}: {error}")  # list.append is atomic

    begin = time.monotonic()
    threads = [threading.Thread(target=client, daemon=True) for _ in range(BACKLOG_CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.monotonic() - begin, errors


def answer_plan(answers: int, respondents: int) -> list[int]:
    """How many answers each respondent gives: as even as possible, each 1 to 5."""
    if not respondents <= answers <= len(BACKLOG_KEYS) * respondents:
        raise SystemExit(f"--backlog-answers must be 1 to {len(BACKLOG_KEYS)} per respondent")
    base, extra = divmod(answers, respondents)
    return [base + (i < extra) for i in range(respondents)]


def session_peak_rss_mb(sid: int) -> float:
    """VmHWM of every process of session `sid`, added up."""
    total_kb = 0
    for pid in session_stats(sid):
        with suppress(OSError, StopIteration):
            status = Path(f"/proc/{pid}/status").read_text().splitlines()
            total_kb += int(next(line for line in status if line.startswith("VmHWM:")).split()[1])
    return total_kb / 1024


def drain(run: Run, result: Backlog) -> None:
    """Start the worker and wait until the stand-in holds every respondent's profile."""
    begin = time.monotonic()
    worker = run.start("worker")
    while time.monotonic() - begin < DRAIN_TIMEOUT:
        if worker.poll() is not None:
            raise SystemExit(f"sounding worker exited:\n{run.log('worker').read_text()}")
        stats = standin_stats(run.braze)
        if stats["requests"] and not result.first_request:
            result.first_request = time.monotonic() - begin
        result.profiles = stats["users"]
        if result.profiles >= result.respondents:
            break
        time.sleep(POLL_SECONDS / 4)  # the drain's end is the figure: poll it finely
    result.drain_seconds = time.monotonic() - begin
    # Read while the worker still exists; it is killed with the rest when the run closes.
    result.worker_cpu = server_cpu_seconds(worker.pid)
    result.worker_rss_mb = session_peak_rss_mb(worker.pid)


def run_backlog(db: str, args: argparse.Namespace) -> Backlog:
    plan = answer_plan(args.backlog_answers, args.backlog_respondents)
    result = Backlog(args.backlog_respondents, args.backlog_answers)
    with fresh_run(db) as run:
        url = run.start_web("web")  # no worker in it: answers wait in the outbox
        slug = publish_survey(url, run.env, run.braze)
        result.fill_seconds, result.errors = fill(url, slug, plan)
        result.respondents -= len(result.errors)  # a respondent whose GET failed owes nothing
        if standin_stats(run.braze)["requests"]:
            raise SystemExit("the stand-in got requests before the worker started")
        drain(run, result)
        result.requests = standin_requests(run.braze)
    return result


# -- outage -------------------------------------------------------------------------------------


def set_faults(braze: str, **rates: Any) -> None:
    httpx.post(braze + "/_standin/faults", json=rates, timeout=10).raise_for_status()


def outage_params(n: int) -> dict[str, str]:
    return {"user_braze_id": f"o-{n}", "nps": str(n % 11)}


def run_outage(db: str, args: argparse.Namespace) -> Outage:
    result = Outage(args.outage_respondents, args.outage_seconds)
    with fresh_run(db) as run:
        url = run.start_web("serve")
        slug = publish_survey(url, run.env, run.braze)
        since = warm_up(url, slug, run.braze)  # the lane has had a success before the outage
        set_faults(run.braze, error_rate=1.0, error_status=503)
        begin = time.monotonic()
        rate = result.respondents / result.seconds
        answered = paced(url, slug, result.respondents, rate, outage_params)
        result.answers, result.errors = answered.answers, answered.errors
        result.answering_seconds = time.monotonic() - begin
        # Braze stays down for the whole outage, and at least until everyone has answered.
        time.sleep(max(0.0, begin + result.seconds - time.monotonic()))
        result.recovered_at = time.time()
        set_faults(run.braze, error_rate=0.0)
        wait_for_profiles(run.braze, WARM_UP_ANSWERS + len(result.answers))
        requests = standin_requests(run.braze, since)
        result.during = [r for r in requests if epoch(r["received_at_wall"]) < result.recovered_at]
        result.after = requests[len(result.during) :]
        result.wrong = wrong_profiles(run.braze, result.answers)
    return result


def wait_for_profiles(braze: str, expected: int) -> None:
    deadline = time.monotonic() + RECOVERY_TIMEOUT
    while standin_stats(braze)["users"] < expected and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS / 4)  # the last profile's time is the figure: poll it finely


def wrong_profiles(braze: str, answers: list[Answer]) -> int:
    """Respondents whose profile does not hold the score they gave (or who have none)."""
    users = httpx.get(braze + "/_standin/users", timeout=60).json()["users"]
    wrong = 0
    for answer in answers:
        profile = users.get(f"braze_id:{answer.braze_id}", {"attributes": {}})
        wrong += profile["attributes"].get(NPS_ATTRIBUTE) != answer.ticket % 11
    return wrong


# -- reporting ----------------------------------------------------------------------------------


def table(rows: list[list[str]]) -> str:
    widths = [max(len(cell) for cell in column) for column in zip(*rows, strict=True)]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows)


def objects_in(requests: list[dict[str, Any]]) -> int:
    return sum(len(attribute_objects(r)) for r in requests)


def steady_table(s: Steady) -> str:
    objects, requests = objects_in(s.requests), len(s.requests)
    refused = sum(1 for r in s.requests if r["status"] != 201)
    late = len(s.answers) - len(s.delays)
    head = ["answers", "answers/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "undelivered"]
    head += ["requests", "not 201", "objects", "objects/request", "errors"]
    row = [str(len(s.answers)), f"{len(s.answers) / s.seconds:.1f}"]
    row += [f"{percentile_ms(s.delays, pct):.0f}" for pct in (50, 95, 99)]
    row += [f"{1000 * max(s.delays, default=0):.0f}", str(late), str(requests), str(refused)]
    row += [str(objects), f"{objects / max(1, requests):.1f}", str(len(s.errors))]
    return table([head, row])


def backlog_table(b: Backlog) -> str:
    accepted = [r for r in b.requests if r["status"] == 201]
    objects = objects_in(accepted)
    fewest = math.ceil(objects / MAX_OBJECTS)
    head = ["respondents", "answers", "fill s", "first request s", "drain s", "objects/s"]
    head += ["objects", "requests", "201s", "fewest", "over fewest"]
    head += ["worker CPU s", "worker peak RSS MB"]
    row = [str(b.respondents), str(b.answers), f"{b.fill_seconds:.0f}"]
    row += [f"{b.first_request:.1f}", f"{b.drain_seconds:.1f}"]
    row += [f"{objects / b.drain_seconds:.0f}", str(objects), str(len(b.requests))]
    row += [str(len(accepted)), str(fewest), f"{100 * (len(b.requests) / max(1, fewest) - 1):.1f}%"]
    row += [f"{b.worker_cpu:.1f}", f"{b.worker_rss_mb:.0f}"]
    return table([head, row])


def outage_table(o: Outage) -> str:
    accepted = [r for r in o.after if r["status"] == 201]
    objects = objects_in(accepted)
    fewest = math.ceil(objects / MAX_OBJECTS)
    allowed = math.floor(1.02 * fewest + 1)
    first = min((epoch(r["finished_at_wall"]) for r in accepted), default=o.recovered_at)
    last = max((epoch(r["finished_at_wall"]) for r in accepted), default=o.recovered_at)
    head = ["respondents", "answered s", "tries in outage", "201s in outage", "first 201 s"]
    head += ["last profile s", "objects", "requests after", "201s", "fewest", "allowed"]
    head += ["max objects", "wrong", "errors"]
    row = [str(len(o.answers)), f"{o.answering_seconds:.1f}", str(len(o.during))]
    row += [str(sum(1 for r in o.during if r["status"] == 201))]
    row += [f"{first - o.recovered_at:.1f}", f"{last - o.recovered_at:.1f}", str(objects)]
    row += [str(len(o.after)), str(len(accepted)), str(fewest), str(allowed)]
    row += [str(max((r["objects"] for r in o.after), default=0)), str(o.wrong), str(len(o.errors))]
    return table([head, row])


def report_outage(db: str, o: Outage) -> None:
    print(f"\n{db} outage: every request refused (503) for {o.seconds:g} s while people answer")
    print(outage_table(o))
    accepted = [r for r in o.after if r["status"] == 201]
    fewest = math.ceil(objects_in(accepted) / MAX_OBJECTS)
    last = max((epoch(r["finished_at_wall"]) for r in accepted), default=math.inf)
    within = last - o.recovered_at <= 10 and not o.wrong and len(o.answers) == o.respondents
    frugal = len(o.after) <= 1.02 * fewest + 1
    print(f"  target, every profile within 10 s of recovery: {'met' if within else 'NOT met'}")
    print(f"  target, at most 1.02 x fewest + 1 requests: {'met' if frugal else 'NOT met'}")
    for error in sorted(set(o.errors))[:5]:
        print(f"  error: {error}")


def report_steady(db: str, args: argparse.Namespace, s: Steady) -> None:
    who = f"re-answers from {args.reanswer_pool} people" if args.reanswer_pool else "new people"
    print(f"\n{db} steady: {args.rate:g} answers/s for {args.seconds:g} s, {who}")
    print(steady_table(s) if s.answers else "  no answer was acknowledged")
    for error in sorted(set(s.errors))[:5]:
        print(f"  error: {error}")


def report_backlog(db: str, b: Backlog) -> None:
    print(f"\n{db} backlog: {b.answers} answers stored with no worker, then `sounding worker`")
    print(backlog_table(b))
    if b.profiles < b.respondents:
        print(f"  incomplete: {b.profiles} of {b.respondents} profiles after {DRAIN_TIMEOUT:g} s")
    for error in sorted(set(b.errors))[:5]:
        print(f"  error: {error}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add = parser.add_argument
    add("--db", choices=["sqlite", "postgres", "both"], default="sqlite")
    add("--rate", type=float, default=100.0, help="steady answers per second (default 100)")
    add("--seconds", type=float, default=30.0, help="length of the steady load (default 30)")
    add("--reanswer-pool", type=int, default=0, help="steady: N people answering again")
    add("--backlog-respondents", type=int, default=20_000, help="(default 20000)")
    add("--backlog-answers", type=int, default=100_000, help="1-5 per respondent (default 100000)")
    add("--outage-seconds", type=float, default=60.0, help="how long Braze fails (default 60)")
    add("--outage-respondents", type=int, default=2000, help="answering meanwhile (default 2000)")
    add("--skip-steady", action="store_true")
    add("--skip-backlog", action="store_true")
    add("--skip-outage", action="store_true")
    return parser.parse_args()


def bench_database(db: str, args: argparse.Namespace) -> None:
    if not args.skip_steady:
        report_steady(db, args, run_steady(db, args))
    if not args.skip_backlog:
        report_backlog(db, run_backlog(db, args))
    if not args.skip_outage:
        report_outage(db, run_outage(db, args))


def exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def main() -> int:
    args = parse_args()
    # A polite kill must still run the `finally` that ends every process this run started.
    signal.signal(signal.SIGTERM, exit_on_sigterm)
    print(machine())
    for db in databases(args.db, reset_postgres):
        bench_database(db, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
