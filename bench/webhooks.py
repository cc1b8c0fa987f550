"""Webhooks delivery of a real Sounding: answer-to-receiver delay, an outage of the receiver,
and a receiver that is gone (bench/README.md).

Each part runs on a fresh database with a fresh local receiver (`sounding webhook-receiver`,
started outside the measured processes), an owner, a live two-question survey and an API token
made with the CLI, and an endpoint created through `POST /api/v1/integrations/webhooks`:

- steady: `sounding serve` takes confirmed one-click answers on a fixed schedule (the link
  carrying the score, then the Next POST; every fourth person also answers the second
  question, which completes the response). An answer's delay runs from the moment its POST
  returned (the client's wall clock) to the moment the receiver recorded the first accepted
  `response.answered` message for it (the receiver's wall clock; same machine, same clock).
- outage: the receiver answers 500 while people answer, then 200 again: how long after that
  the last message arrived, and whether every message arrived exactly once, each failed one
  under its own webhook-id. Run with the default retry schedule and with a short one.
- gone: the receiver answers 410: the endpoint must turn itself off after one request.

Every message is verified twice: by the receiver, and here with the `standardwebhooks` package.
"""

from __future__ import annotations

import argparse
import base64
import itertools
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg

# Run as `python bench/webhooks.py`, so bench/ is on sys.path and respond.py is importable.
from respond import (
    FETCH,
    PG_ADMIN,
    SOUNDING,
    align,
    cpu_by_role,
    databases,
    free_port,
    machine,
    percentile_ms,
    run_cli,
    server_env,
    wait_ready,
)
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

# Not the other benchmarks' databases: they may run side by side.
PG_DB = "sounding_bench_webhooks"
PG_URL = f"postgres://postgres@127.0.0.1:5432/{PG_DB}"
EMAIL = "owner@bench.test"
CHANNELS = ["Email", "Push", "SMS"]
SURVEY = {
    "title": "Bench webhooks",
    "questions": [
        {"key": "nps", "type": "nps", "prompt": "How likely are you to recommend us?"},
        {
            "key": "channels",
            "type": "multiple_choice",
            "prompt": "Where do you hear from us?",
            "choices": CHANNELS,
        },
    ],
}
# As tests/test_webhook_processes.py does: what `createadmin` cannot do in one command.
SETUP = """
from sounding.accounts.models import Membership, Role, User, Workspace
from sounding.surveys.models import Status, Survey
workspace = Workspace.objects.create(name="Bench")
owner = User.objects.create_user(%(email)r, "x" * 24)
Membership.objects.create(user=owner, workspace=workspace, role=Role.OWNER)
survey = Survey.create(workspace, %(definition)r, owner)
survey.set_status(Status.LIVE)
print(survey.slug)
"""
# The receiver's command needs a secret to start; the endpoint's replaces it once created.
PLACEHOLDER_SECRET = "whsec_" + base64.b64encode(bytes(32)).decode()
ANSWERED, COMPLETED = "response.answered", "response.completed"
# Where a message stands in its response's order: the survey's questions, then the completion.
RANK = {("nps", ANSWERED): 0, ("channels", ANSWERED): 1, (None, COMPLETED): 2}
COMPLETE_EVERY = 4  # every fourth person answers both questions
CLIENTS = 32  # enough idle threads that a slow answer never holds up the schedule
WARM_UP_PEOPLE = 8
POLL_SECONDS = 0.1
STEADY_TIMEOUT = 600.0  # seconds to wait for the last steady message after the load
# Long enough for the default schedule's second retry (240-300 s after the first one) and the
# backlog behind it; the short schedule needs far less.
RECOVERY_TIMEOUT = 480.0
GONE_TIMEOUT = 60.0
# A schedule of the same length as the default, so the endpoint outlives a minute's outage:
# "5,10,20,30" would turn it off on its fifth failure, about 65 s after the first.
FAST_SCHEDULE = "5,10,20,30,30,30,30,30,30"
DEFAULT_SCHEDULE = "5,300,1800,7200,18000,36000,36000,72000,72000"  # sounding/settings.py


@dataclass
class Given:
    """One answer as the client saw it."""

    who: str
    question: str
    acked: float  # time.time() when its POST returned


@dataclass
class Load:
    given: list[Given] = field(default_factory=list)
    completed: list[str] = field(default_factory=list)  # people who reached the end
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0  # from the first scheduled answer to the last acknowledgement

    @property
    def expected(self) -> int:
        return len(self.given) + len(self.completed)


@dataclass
class Entry:
    """One request the receiver recorded, reduced to what the figures need."""

    seq: int
    received: float  # epoch seconds, the receiver's clock
    id: str
    type: str | None
    status: int
    verified: bool  # by the receiver
    standard: bool  # by the standardwebhooks package
    duplicate: bool
    who: str | None
    question: str | None

    @property
    def accepted(self) -> bool:
        return 200 <= self.status < 300


# -- processes ----------------------------------------------------------------------------------


class Run:
    """One part's world: a data directory, its database, a receiver, and `sounding serve`.

    Each process gets its own session, so `close` ends it with all its children, and a Ctrl-C
    at the terminal reaches this script alone, whose `finally` then ends them."""

    def __init__(self, db: str, data_dir: str, retry_seconds: str | None) -> None:
        self.db = db
        self.data_dir = Path(data_dir)
        self.retry_seconds = retry_seconds
        self.procs: list[subprocess.Popen[bytes]] = []
        self.receiver = ""
        self.env: dict[str, str] = {}
        self.url = ""
        self.slug = ""
        self.api: httpx.Client | None = None
        self.endpoint: dict[str, Any] = {}
        self.secret = ""

    def open(self) -> None:
        if self.db == "postgres":
            reset_postgres()
        self.receiver = self.start_receiver()
        self.env = server_env(str(self.data_dir), "sqlite")
        if self.db == "postgres":
            self.env["DATABASE_URL"] = PG_URL
        self.env["SOUNDING_WEBHOOK_ALLOWED_URLS"] = self.receiver
        if self.retry_seconds:
            self.env["SOUNDING_WEBHOOK_RETRY_SECONDS"] = self.retry_seconds

    def spawn(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        with (self.data_dir / f"{name}.log").open("wb") as out:
            proc = subprocess.Popen(
                [SOUNDING, *args], env=env, stdout=out, stderr=out, start_new_session=True
            )
        self.procs.append(proc)
        return proc

    def start_receiver(self) -> str:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        args = ["webhook-receiver", "--port", str(port), "--secret", PLACEHOLDER_SECRET]
        proc = self.spawn("receiver", args, server_env(str(self.data_dir), "sqlite"))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SystemExit((self.data_dir / "receiver.log").read_text())
            with suppress(httpx.HTTPError):
                httpx.get(url + "/_receiver/behaviour", timeout=1).raise_for_status()
                return url
            time.sleep(0.1)
        raise SystemExit("the webhook receiver did not start")

    def prepare(self) -> None:
        """Migrate, an owner with a live survey and a token, `sounding serve`, an endpoint."""
        run_cli(self.env, "migrate")
        setup = SETUP % {"email": EMAIL, "definition": SURVEY}
        self.slug = run_cli(self.env, "manage", "shell", "-c", setup).split()[-1]
        token = run_cli(self.env, "token", "create", "--email", EMAIL).split()[-1]
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        serve = self.spawn("serve", ["serve", "--host", "127.0.0.1", "--port", str(port)], self.env)
        wait_ready(serve, self.url, self.data_dir / "serve.log")
        self.api = httpx.Client(
            base_url=self.url + "/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        body = {"url": self.receiver + "/sounding", "description": "bench receiver"}
        created = self.api.post("/integrations/webhooks", json=body)
        if created.status_code != 201:
            raise SystemExit(f"creating the endpoint failed: {created.status_code} {created.text}")
        self.endpoint = created.json()
        self.secret = self.endpoint["secret"]
        post = httpx.post(
            self.receiver + "/_receiver/secrets", json={"secrets": [self.secret]}, timeout=10
        )
        post.raise_for_status()

    @property
    def serve_sid(self) -> int:
        return self.procs[-1].pid  # serve is started last

    def endpoint_now(self) -> dict[str, Any]:
        assert self.api is not None
        return self.api.get(f"/integrations/webhooks/{self.endpoint['id']}").json()

    def behave(self, **behaviour: Any) -> None:
        post = httpx.post(self.receiver + "/_receiver/behaviour", json=behaviour, timeout=10)
        post.raise_for_status()

    def close(self) -> None:
        if self.api is not None:
            self.api.close()
        for proc in reversed(self.procs):
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@contextmanager
def fresh_run(db: str, retry_seconds: str | None = None) -> Iterator[Run]:
    with tempfile.TemporaryDirectory(prefix="sounding-bench-") as data_dir:
        run = Run(db, data_dir, retry_seconds)
        try:
            run.open()
            run.prepare()
            yield run
        finally:
            run.close()


def reset_postgres() -> None:
    # DROP/CREATE DATABASE cannot run in a transaction; FORCE ends a crashed run's connections.
    with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {PG_DB}")


# -- what the receiver saw ----------------------------------------------------------------------


class Inbox:
    """The receiver's log, read as it grows. Each message is verified with `standardwebhooks`
    when read, within seconds of its sending: the package refuses timestamps over 5 minutes
    old, and an outage's messages would be that old by the end of the part."""

    def __init__(self, run: Run) -> None:
        self.receiver = run.receiver
        self.hook = Webhook(run.secret)
        self.entries: list[Entry] = []
        self.since = 0

    def poll(self) -> list[Entry]:
        got = httpx.get(
            self.receiver + "/_receiver/messages", params={"since": self.since}, timeout=60
        ).json()
        fresh = [self._entry(raw) for raw in got]
        self.entries += fresh
        if got:
            self.since = got[-1]["seq"]
        return fresh

    def skip(self) -> None:
        """Forget what arrived so far (the warm-up)."""
        self.poll()
        self.entries = []

    def _entry(self, raw: dict[str, Any]) -> Entry:
        try:
            self.hook.verify(raw["raw"], raw["headers"])
            standard = True
        except WebhookVerificationError:
            standard = False
        body = raw["body"] if isinstance(raw["body"], dict) else {}
        data = body.get("data") or {}
        identity = (data.get("response") or {}).get("identity") or {}
        return Entry(
            seq=raw["seq"],
            received=datetime.fromisoformat(raw["received_at"]).timestamp(),
            id=raw["id"] or "",
            type=raw["type"],
            status=raw["status"],
            verified=raw["verified"],
            standard=standard,
            duplicate=raw["duplicate"],
            who=identity.get("braze_id"),
            question=(data.get("answer") or {}).get("question"),
        )

    def accepted(self) -> list[Entry]:
        return [e for e in self.entries if e.accepted]

    def wait_for(self, expected: int, timeout: float) -> bool:
        """Read until `expected` distinct messages were accepted, or `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.poll()
            if len({e.id for e in self.accepted()}) >= expected:
                return True
            time.sleep(POLL_SECONDS)
        return False


# -- people answering ---------------------------------------------------------------------------


def answer(http: httpx.Client, slug: str, who: str, n: int, completes: bool) -> list[Given]:
    """A person's score, confirmed: the form POST their Next makes on the email's link (opening
    the link alone stores nothing, as in bench/delivery.py). A person who completes then
    answers the second question, which ends on the thank-you page."""
    link = {"user_braze_id": who}
    score = str(n % 11)
    data = {"q": "nps", "a": score, "nav": "next", "from_link": "1"}
    http.post(f"/s/{slug}", params=link, data=data, headers=FETCH).raise_for_status()
    given = [Given(who, "nps", time.time())]
    if completes:
        picked = [CHANNELS[n % 3], CHANNELS[(n + 1) % 3]]
        data = {"q": "channels", "a": picked, "nav": "next"}
        page = http.post(f"/s/{slug}", params=link, data=data, headers=FETCH)
        given.append(Given(who, "channels", time.time()))
        if 'data-screen="done"' not in page.raise_for_status().text:
            raise AssertionError("the last answer did not lead to the thank-you page")
    return given


def answers_before(person: int) -> int:
    return person + person // COMPLETE_EVERY


def people_for(answers: int) -> int:
    """How many people give `answers` answers, at most (one each, two for every fourth)."""
    people = answers
    while answers_before(people) > answers:
        people -= 1
    return people


def paced(url: str, slug: str, prefix: str, people: int, rate: float) -> Load:
    """`people` people answering at `rate` answers a second: person n starts when the answers
    before theirs are due (or as soon as a client thread is free, if all are busy)."""
    result = Load()
    tickets = itertools.count()  # next() on it is atomic under the GIL
    lock = threading.Lock()
    start = time.monotonic() + 0.2

    def client() -> None:
        with httpx.Client(base_url=url, timeout=30) as http:  # keep-alive per thread
            while (n := next(tickets)) < people:
                time.sleep(max(0.0, start + answers_before(n) / rate - time.monotonic()))
                completes = n % COMPLETE_EVERY == COMPLETE_EVERY - 1
                try:
                    given = answer(http, slug, f"{prefix}-{n}", n, completes)
                except (httpx.HTTPError, AssertionError, KeyError) as error:
                    with lock:
                        result.errors.append(f"{type(error).__name__}: {error}")
                    continue
                with lock:
                    result.given += given
                    if completes:
                        result.completed.append(f"{prefix}-{n}")

    # Daemon threads: an interrupted run ends at once instead of finishing the schedule.
    threads = [threading.Thread(target=client, daemon=True) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds = time.monotonic() - start
    return result


def warm_up(run: Run, inbox: Inbox) -> None:
    """People whose messages load every code path once, delivered before anything is timed."""
    warm = paced(run.url, run.slug, "warm", WARM_UP_PEOPLE, 10)
    if warm.errors:  # a broken setup would otherwise only show as a table of errors
        raise SystemExit(f"the warm-up failed: {warm.errors[0]}")
    if not inbox.wait_for(warm.expected, 60):
        raise SystemExit("the warm-up's messages did not reach the receiver within 60 s")
    inbox.skip()


# -- integrity ----------------------------------------------------------------------------------


@dataclass
class Integrity:
    expected: int
    received: int  # distinct messages accepted
    duplicates: int  # accepted again after a first acceptance
    bad_signatures: int  # refused by the receiver or by standardwebhooks
    out_of_order: int  # responses whose messages were accepted out of order
    unexpected: int  # accepted messages of people who did not answer in this part


def integrity(load: Load, entries: list[Entry]) -> Integrity:
    accepted = [e for e in entries if e.accepted]
    counts = Counter(e.id for e in accepted)
    first: dict[str, Entry] = {}
    for entry in sorted(accepted, key=lambda e: e.seq):
        first.setdefault(entry.id, entry)
    people = {g.who for g in load.given}
    by_person: dict[str, list[int]] = {}
    unexpected = 0
    for entry in first.values():
        if entry.who not in people:
            unexpected += 1
            continue
        rank = RANK.get((entry.question if entry.type == ANSWERED else None, entry.type or ""))
        by_person.setdefault(entry.who, []).append(-1 if rank is None else rank)
    disordered = sum(1 for ranks in by_person.values() if ranks != sorted(ranks))
    return Integrity(
        expected=load.expected,
        received=len(first),
        duplicates=sum(n - 1 for n in counts.values()),
        bad_signatures=sum(1 for e in entries if not (e.verified and e.standard)),
        out_of_order=disordered,
        unexpected=unexpected,
    )


def answer_delays(load: Load, entries: list[Entry]) -> list[float]:
    """Seconds from each answer's acknowledgement to its first accepted message."""
    arrived: dict[tuple[str | None, str | None], float] = {}
    for entry in sorted(entries, key=lambda e: e.seq):
        if entry.accepted and entry.type == ANSWERED:
            arrived.setdefault((entry.who, entry.question), entry.received)
    return [
        arrived[(g.who, g.question)] - g.acked for g in load.given if (g.who, g.question) in arrived
    ]


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# -- the parts ----------------------------------------------------------------------------------


@dataclass
class Steady:
    load: Load
    entries: list[Entry]
    delays: list[float]
    worker_cpu: float  # seconds of the delivery worker over the load and the catching up
    web_cpu: float  # seconds of the web server's processes, over the same time
    load_before: str
    load_after: str

    @property
    def span(self) -> float:
        """From the first accepted message to the last."""
        times = [e.received for e in self.entries if e.accepted]
        return max(times) - min(times) if len(times) > 1 else 0.0


def run_steady(db: str, args: argparse.Namespace) -> Steady:
    with fresh_run(db) as run:
        inbox = Inbox(run)
        warm_up(run, inbox)
        before = load_average()
        cpu_before = cpu_by_role(run.serve_sid)
        people = people_for(round(args.rate * args.seconds))
        load = paced(run.url, run.slug, "s", people, args.rate)
        inbox.wait_for(load.expected, STEADY_TIMEOUT)
        cpu = Counter(cpu_by_role(run.serve_sid))
        cpu.subtract(cpu_before)
        web = cpu["web main"] + cpu["web workers"]
        delays = answer_delays(load, inbox.entries)
        worker = cpu["delivery worker"]
        return Steady(load, inbox.entries, delays, worker, web, before, load_average())


@dataclass
class Outage:
    schedule: str
    seconds: float
    load: Load
    entries: list[Entry]
    began: float  # time.time() when the receiver started answering 500
    recovered: float  # time.time() when it answered 200 again
    endpoint: dict[str, Any]  # as the API showed it at the end
    load_before: str
    load_after: str

    def during(self) -> list[Entry]:
        return [e for e in self.entries if e.received < self.recovered]

    def after(self) -> list[Entry]:
        return [e for e in self.entries if e.received >= self.recovered]


def run_outage(db: str, args: argparse.Namespace, schedule: str | None) -> Outage:
    with fresh_run(db, schedule) as run:
        inbox = Inbox(run)
        warm_up(run, inbox)  # the endpoint has had a success before the outage
        before = load_average()
        run.behave(status=500)
        began = time.time()
        people = people_for(round(args.outage_rate * args.outage_seconds))
        load = paced(run.url, run.slug, "o", people, args.outage_rate)
        # The receiver stays down for the whole outage, and at least until everyone answered.
        while time.time() < began + args.outage_seconds:
            inbox.poll()  # verified while fresh (see Inbox)
            time.sleep(0.5)
        run.behave(status=200)
        recovered = time.time()
        inbox.wait_for(load.expected, RECOVERY_TIMEOUT)
        return Outage(
            schedule or DEFAULT_SCHEDULE,
            args.outage_seconds,
            load,
            inbox.entries,
            began,
            recovered,
            run.endpoint_now(),
            before,
            load_average(),
        )


@dataclass
class Gone:
    people: int
    entries: list[Entry]
    turned_off_s: float | None  # from the first 410 to the API showing the endpoint off
    endpoint: dict[str, Any]
    errors: list[str]


def run_gone(db: str) -> Gone:
    with fresh_run(db) as run:
        inbox = Inbox(run)
        run.behave(status=410)
        load = paced(run.url, run.slug, "g", 5, 5)
        deadline = time.monotonic() + GONE_TIMEOUT
        endpoint = run.endpoint_now()
        while endpoint["enabled"] and time.monotonic() < deadline:
            time.sleep(POLL_SECONDS)
            endpoint = run.endpoint_now()
        turned_off = time.time() if not endpoint["enabled"] else None
        # Would a second request follow? The worker polls every 0.1 s: give it many rounds.
        time.sleep(3)
        inbox.poll()
        first = min((e.received for e in inbox.entries), default=None)
        took = turned_off - first if turned_off is not None and first is not None else None
        return Gone(5, inbox.entries, took, run.endpoint_now(), load.errors)


# -- reporting ----------------------------------------------------------------------------------


def integrity_cells(i: Integrity) -> tuple[list[str], list[str]]:
    head = ["messages expected", "received", "missing", "duplicates", "bad signatures"]
    head += ["out of order", "unexpected"]
    row = [str(i.expected), str(i.received), str(max(0, i.expected - i.received))]
    row += [str(i.duplicates), str(i.bad_signatures), str(i.out_of_order), str(i.unexpected)]
    return head, row


def report_steady(db: str, args: argparse.Namespace, s: Steady) -> None:
    load = s.load
    print(
        f"\n{db} steady: {args.rate:g} answers/s for {args.seconds:g} s, every "
        f"{COMPLETE_EVERY}th person completes (load average before {s.load_before}, "
        f"after {s.load_after})"
    )
    head = ["answers", "answers/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "undelivered"]
    head += ["web CPU ms/answer", "errors"]
    row = [str(len(load.given)), f"{len(load.given) / max(load.seconds, 1e-9):.1f}"]
    row += [f"{percentile_ms(s.delays, pct):.0f}" for pct in (50, 95, 99)]
    row += [f"{1000 * max(s.delays, default=0):.0f}", str(len(load.given) - len(s.delays))]
    row += [f"{1000 * s.web_cpu / max(1, len(load.given)):.1f}", str(len(load.errors))]
    print(align([head, row]))
    i_head, i_row = integrity_cells(integrity(load, s.entries))
    sent = len({e.id for e in s.entries if e.accepted})
    i_head += ["messages/s", "worker CPU ms/message"]
    i_row += [
        f"{sent / s.span:.1f}" if s.span else "-",
        f"{1000 * s.worker_cpu / max(1, sent):.1f}",
    ]
    print(align([i_head, i_row]))
    for error in sorted(set(load.errors))[:5]:
        print(f"  error: {error}")


def report_outage(db: str, o: Outage) -> None:
    during, after = o.during(), o.after()
    failed = {e.id for e in during if not e.accepted}
    accepted_ids = {e.id for e in o.entries if e.accepted}
    late = [e.received for e in after if e.accepted]
    print(
        f"\n{db} outage: the receiver answers 500 for {o.seconds:g} s while people answer, "
        f"retry schedule {o.schedule} s (load average before {o.load_before}, "
        f"after {o.load_after})"
    )
    head = ["answers", "answered s", "tries in outage", "messages failed", "first after s"]
    head += ["last after s", "accepted after", "failed, then accepted same id", "errors"]
    row = [str(len(o.load.given)), f"{o.load.seconds:.1f}", str(len(during)), str(len(failed))]
    row += [f"{min(late) - o.recovered:.1f}" if late else "-"]
    row += [f"{max(late) - o.recovered:.1f}" if late else "-", str(len(late))]
    row += [f"{len(failed & accepted_ids)} of {len(failed)}", str(len(o.load.errors))]
    print(align([head, row]))
    i_head, i_row = integrity_cells(integrity(o.load, o.entries))
    print(align([i_head, i_row]))
    tries = sorted(e.received - o.began for e in during)
    print("  tries in the outage at s: " + ", ".join(f"{t:.1f}" for t in tries[:12]))
    state = o.endpoint["state"]
    print(
        f"  endpoint afterwards: enabled {o.endpoint['enabled']}, pending {state['pending']}, "
        f"failed {state['failed']}"
    )
    for error in sorted(set(o.load.errors))[:5]:
        print(f"  error: {error}")


def report_gone(db: str, g: Gone) -> None:
    print(f"\n{db} gone: the receiver answers 410 Gone while {g.people} people answer")
    statuses = Counter(e.status for e in g.entries)
    head = ["requests", "statuses", "turned off s", "enabled", "pending", "errors"]
    row = [str(len(g.entries)), " ".join(f"{s}x{n}" for s, n in sorted(statuses.items()))]
    row += [f"{g.turned_off_s:.1f}" if g.turned_off_s is not None else "never"]
    row += [str(g.endpoint["enabled"]), str(g.endpoint["state"]["pending"]), str(len(g.errors))]
    print(align([head, row]))
    print(f"  disabled_reason: {g.endpoint['disabled_reason'] or '(none)'}")
    for error in sorted(set(g.errors))[:5]:
        print(f"  error: {error}")


# -- main ---------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add = parser.add_argument
    add("--db", choices=["sqlite", "postgresql", "postgres", "both"], default="sqlite")
    add("--rate", type=float, default=100.0, help="steady answers per second (default 100)")
    add("--seconds", type=float, default=30.0, help="length of the steady load (default 30)")
    add("--outage-seconds", type=float, default=60.0, help="how long the receiver fails (60)")
    add("--outage-rate", type=float, default=20.0, help="answers/s during the outage (20)")
    add(
        "--schedule",
        choices=["default", "fast", "both"],
        default="both",
        help=f"outage retry schedule: Sounding's default, or {FAST_SCHEDULE} (default both)",
    )
    add("--quick", action="store_true", help="10 s steady, a 15 s outage, fast schedule only")
    add("--skip-steady", action="store_true")
    add("--skip-outage", action="store_true")
    add("--skip-gone", action="store_true")
    args = parser.parse_args()
    if args.db == "postgresql":
        args.db = "postgres"
    if args.quick:
        args.seconds, args.outage_seconds, args.schedule = 10.0, 15.0, "fast"
    return args


def bench_database(db: str, args: argparse.Namespace) -> None:
    if not args.skip_steady:
        report_steady(db, args, run_steady(db, args))
    if not args.skip_outage:
        if args.schedule in ("default", "both"):
            report_outage(db, run_outage(db, args, None))
        if args.schedule in ("fast", "both"):
            report_outage(db, run_outage(db, args, FAST_SCHEDULE))
    if not args.skip_gone:
        report_gone(db, run_gone(db))


def exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def main() -> int:
    args = parse_args()
    # A polite kill must still run the `finally` that ends every process this run started.
    signal.signal(signal.SIGTERM, exit_on_sigterm)
    print(machine())
    print(f"load average at start: {load_average()}")
    for db in databases(args.db, reset_postgres):
        bench_database(db, args)
    print(f"\nload average at the end: {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
