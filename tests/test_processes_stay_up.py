"""Processes that stay up, with real `sounding` processes and real HTTP: a worker started
before the database is migrated waits for it; `sounding serve` brings a killed delivery worker
back while respondents go on answering; a worker takes back the leases of workers whose
heartbeat stopped, on any host, and keeps beating through a long request; /health follows the
database going away and coming back.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.delivery_fixtures import Ledger, check_promises, process_state, settled
from tests.procs import (
    POSTGRES_BIN,
    PostgresUnavailable,
    Processes,
    ThrowawayPostgres,
    children_of,
    database,
    free_port,
    query,
    serving,
    throwaway_postgres,
    wait_for,
    web_answers,
)
from tests.respondent import form_state
from tests.standin import StandinHarness
from tests.test_faults_processes import Respondents, people, prepare, start_web

pytestmark = pytest.mark.process

ROOT = str(Path(__file__).resolve().parent.parent)
SETTLE_SECONDS = 90
WAITING = "the database is not migrated yet"
DEAD_AFTER = "SOUNDING_WORKER_DEAD_AFTER_SECONDS"


ON_POSTGRES = os.environ.get("DATABASE_URL", "").startswith("postgres")
# Tests that read the processes' SQLite database directly, or need no database of note.
sqlite_pass_only = pytest.mark.skipif(
    ON_POSTGRES, reason="its processes use SQLite whatever the suite runs on: once is enough"
)


@pytest.fixture
def process_database(processes: Processes) -> Iterator[None]:
    """The processes' database: SQLite in their data directory in the SQLite pass, a new,
    empty PostgreSQL database in the PostgreSQL pass."""
    if not ON_POSTGRES:
        yield
        return
    import psycopg

    server = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
    name = f"sounding_stay_up_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(server + "/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    processes.env["DATABASE_URL"] = f"{server}/{name}"
    try:
        yield
    finally:
        with psycopg.connect(server + "/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def log_of(processes: Processes) -> str:
    return processes.log.read_text(errors="replace") if processes.log.exists() else ""


def on_profiles(standin: StandinHarness, *who: str) -> bool:
    users = standin.users()
    return all(f"braze_id:{person}" in users for person in who)


# --- A worker started before the database is ready ------------------------------------------


def test_a_worker_started_on_a_fresh_data_directory_waits_for_the_migration_then_delivers(
    processes: Processes, braze_standin: StandinHarness, process_database: None
) -> None:
    worker = processes.start("worker")
    wait_for(lambda: WAITING in log_of(processes), 60, "the worker to say why it waits")
    assert worker.poll() is None, log_of(processes)

    # `sounding web` migrates as it starts; the worker notices and starts delivering.
    port = free_port()
    start_web(processes, port)
    wait_for(lambda: "the database is ready" in log_of(processes), 30, "the worker to start")
    slug = prepare(processes, braze_standin)
    respondents = Respondents(f"http://127.0.0.1:{port}", slug)
    respondents.answer(people(5))

    state = settled(lambda: process_state(processes), braze_standin, SETTLE_SECONDS)
    check_promises(respondents.ledger, braze_standin, state)
    assert respondents.ledger.acknowledged() == 10
    # The same process all along, and it said why it waited once, not once per look.
    assert worker.poll() is None
    assert log_of(processes).count(WAITING) == 1
    assert "Traceback" not in log_of(processes)
    # A second `sounding web` on the same address refuses to start, and leaves the first
    # server's request counts alone.
    metrics_dir = metrics_directory(processes.data_dir)
    before = sorted(metrics_dir.iterdir())
    again = processes.start("web", "--port", str(port))
    assert again.wait(timeout=60) == 1
    assert "already listening" in log_of(processes)
    assert sorted(metrics_dir.iterdir()) == before != []


def metrics_directory(data_dir: Path) -> Path:
    (found,) = (data_dir / "web-metrics").iterdir()
    return found


@sqlite_pass_only
def test_the_web_server_answers_when_its_metrics_directory_is_gone(
    processes: Processes,
) -> None:
    port = free_port()
    web = processes.start("web", "--port", str(port), "--workers", "1")
    base = f"http://127.0.0.1:{port}"
    wait_for(lambda: web_answers(base), 60, "the web server")
    shutil.rmtree(metrics_directory(processes.data_dir))
    # A Granian worker started now finds no directory for its counts. (`sounding web` has
    # become Granian's main process; the workers are its children.)
    (first,) = children_of(web.pid)
    os.kill(first, signal.SIGKILL)
    wait_for(lambda: set(children_of(web.pid)) - {first}, 60, "Granian to replace its worker")
    wait_for(lambda: web_answers(base), 60, "the new Granian worker")

    assert all(httpx.get(base + "/login", timeout=10).status_code == 302 for _ in range(5))
    assert log_of(processes).count("request metrics cannot be recorded") == 1


# --- `sounding serve` brings its worker back -------------------------------------------------


@dataclass
class Steady:
    """Respondents answering one after another, each a new person: the survey page, then the
    score. Every status is kept, to show the pages answered throughout."""

    base: str
    slug: str
    ledger: Ledger = field(default_factory=Ledger)
    statuses: list[int | str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=30) as client:
            n = 0
            while not self.stop.is_set():
                self.one(client, f"s-{n}", n % 11)
                n += 1

    def one(self, client: httpx.Client, who: str, nps: int) -> None:
        try:
            page = client.get(f"/s/{self.slug}", params={"user_braze_id": who})
            self.statuses.append(page.status_code)
            state = form_state(page.text)
            data = {"r": state["r"], "q": state["q"], "nav": "next", "a": str(nps)}
            # As respondent pages post with JavaScript: the next screen, not a redirect to it.
            posted = client.post(state["action"], data=data, headers={"X-Requested-With": "fetch"})
            self.statuses.append(posted.status_code)
            self.ledger.gave(f"braze_id:{who}", "nps", nps, posted.status_code == 200)
        except (httpx.HTTPError, KeyError) as error:
            self.statuses.append(repr(error))

    def answered(self) -> int:
        return self.ledger.acknowledged()


def worker_child(server_pid: int) -> int | None:
    found = [pid for pid, cmd in children_of(server_pid).items() if "sounding worker" in cmd]
    return found[0] if found else None


def test_killing_the_delivery_worker_under_serve_leaves_respondents_answering_and_brings_it_back(
    tmp_path: Path, processes: Processes, braze_standin: StandinHarness, process_database: None
) -> None:
    processes.env[DEAD_AFTER] = "4"  # the killed worker's leases come back soon
    slug = prepare(processes, braze_standin)
    with serving(processes.data_dir, tmp_path / "serve.log", env=processes.env) as server:
        steady = Steady(server.url, slug)
        answering = threading.Thread(target=steady.run, daemon=True)
        answering.start()
        try:
            wait_for(lambda: steady.answered() >= 10, 60, "ten answers")
            killed = worker_child(server.pid)
            assert killed is not None
            os.kill(killed, signal.SIGKILL)  # as the kernel's OOM killer does
            wait_for(lambda: "starting it again in 1 s" in server.output(), 10, "the notice")

            def back() -> bool:
                return worker_child(server.pid) not in (None, killed)

            wait_for(back, 30, "a new delivery worker")
            after = steady.answered()
            wait_for(lambda: steady.answered() >= after + 10, 60, "ten more answers")
        finally:
            steady.stop.set()
            answering.join(timeout=60)
        assert set(steady.statuses) == {200}, [s for s in steady.statuses if s != 200][:5]

        state = settled(lambda: process_state(processes), braze_standin, SETTLE_SECONDS)
        check_promises(steady.ledger, braze_standin, state)
        assert braze_standin.violations() == []
        # The web side counted every page and answer, whichever Granian process served it.
        scraped = metric_values(httpx.get(server.url + "/metrics", timeout=10).text)
        assert scraped['sounding_http_requests_total{route="respond",status="2xx"}'] == len(
            steady.statuses
        )
        assert scraped["sounding_delivery_worker_heartbeat_age_seconds"] < 4
        assert server.proc.poll() is None
        assert server.terminate() == 0


def metric_values(text: str) -> dict[str, float]:
    found = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            found[name] = float(value)
    return found


# --- Heartbeats -----------------------------------------------------------------------------

# Run with `sounding manage shell -c`: one answer per holder, its push leased for an hour to a
# worker that only exists as a row with the given heartbeat age.
HELD = """
import sys
sys.path.insert(0, %(root)r)
from datetime import timedelta
from django.utils import timezone
from sounding.delivery.models import Push, Worker
from sounding.surveys.models import Survey
from tests.delivery_fixtures import respond
survey = Survey.objects.get(slug=%(slug)r)
now = timezone.now()
for n, (holder, host, pid, age) in enumerate(%(holders)r):
    Worker.objects.create(id=holder, host=host, pid=pid, beat_at=now - timedelta(seconds=age))
    response = respond(survey, "held-%%d" %% n, {"nps": n})
    Push.objects.filter(response=response).update(
        claimed_by=holder, claimed_until=now + timedelta(hours=1)
    )
"""


def beat_now(processes: Processes, holder: str) -> None:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    connection = database(processes.data_dir)
    try:
        with connection:
            connection.execute("UPDATE delivery_worker SET beat_at = ? WHERE id = ?", (now, holder))
    finally:
        connection.close()


@sqlite_pass_only
def test_a_worker_takes_back_the_leases_of_workers_whose_heartbeat_stopped_on_any_host(
    processes: Processes, braze_standin: StandinHarness
) -> None:
    processes.env[DEAD_AFTER] = "3"
    slug = prepare(processes, braze_standin)
    here = socket.gethostname()
    alive = "machine-c:4343:beats3"
    holders = [
        ("machine-b:4242:gone01", "machine-b", 4242, 600),  # another machine, long gone
        # The same host name (containers share one) and a pid alive here: this test's own.
        (f"{here}:{os.getpid()}:gone02", here, os.getpid(), 600),
        (alive, "machine-c", 4343, -60),  # alive while the test beats for it
    ]
    values = {"root": ROOT, "slug": slug, "holders": holders}
    processes.run("manage", "shell", "-c", HELD % values)
    stop_beating = threading.Event()
    beating = threading.Thread(target=beat_until, args=(processes, alive, stop_beating))
    beating.start()
    try:
        processes.start("worker")
        # Their leases had an hour to run: only the heartbeat can have ended them.
        wait_for(
            lambda: on_profiles(braze_standin, "held-0", "held-1"),
            60,
            "the leases of the two dead workers to be taken back",
        )
        assert not on_profiles(braze_standin, "held-2"), "a worker that beats lost its lease"
    finally:
        stop_beating.set()
        beating.join()
    # Once machine-c's beat is 3 s old, it is dead too.
    wait_for(lambda: on_profiles(braze_standin, "held-2"), 60, "the third lease")
    rows = query(processes.data_dir, "SELECT host FROM delivery_worker")
    assert rows == [(here,)], "the dead workers' rows are still there"
    assert "took back" in log_of(processes)
    assert braze_standin.violations() == []


def beat_until(processes: Processes, holder: str, stop: threading.Event) -> None:
    """Keep `holder`'s heartbeat fresh, as a live worker elsewhere would, until `stop`."""
    while not stop.wait(0.2):
        beat_now(processes, holder)


@sqlite_pass_only
def test_a_worker_keeps_beating_while_braze_holds_its_request(
    processes: Processes, braze_standin: StandinHarness
) -> None:
    processes.env[DEAD_AFTER] = "2"
    slug = prepare(processes, braze_standin)
    braze_standin.queue({"kind": "slow", "seconds": 3})
    port = free_port()
    start_web(processes, port)
    processes.start("worker")
    respondents = Respondents(f"http://127.0.0.1:{port}", slug)
    respondents.answer(people(1))
    wait_for(lambda: braze_standin.stats()["in_flight"] == 1, 60, "the held request")

    def beat() -> str:
        return str(query(processes.data_dir, "SELECT beat_at FROM delivery_worker")[0][0])

    first = beat()
    wait_for(lambda: beat() != first, 10, "a beat while the request is out")
    assert braze_standin.stats()["in_flight"] == 1
    assert query(processes.data_dir, "SELECT count(*) FROM delivery_worker") == [(1,)]
    state = settled(lambda: process_state(processes), braze_standin, SETTLE_SECONDS)
    check_promises(respondents.ledger, braze_standin, state)
    assert braze_standin.violations() == []
    assert "taken for dead" not in log_of(processes)


# --- /health with the database away ---------------------------------------------------------


@pytest.fixture
def cluster() -> Iterator[ThrowawayPostgres]:
    if not ON_POSTGRES:
        pytest.skip("runs in the PostgreSQL pass (DATABASE_URL set): once is enough")
    try:
        with throwaway_postgres() as server:
            yield server
    except PostgresUnavailable as why:
        if os.environ.get("CI") == "true" and (POSTGRES_BIN / "initdb").exists():
            pytest.fail(f"CI=true and PostgreSQL is installed, yet no cluster can run: {why}")
        pytest.skip(f"no throwaway PostgreSQL cluster here: {why}")


def health(base: str, query_string: str = "") -> tuple[int, dict[str, Any]]:
    try:
        response = httpx.get(f"{base}/health{query_string}", timeout=5)
    except httpx.HTTPError as error:
        return 0, {"error": repr(error)}
    return response.status_code, response.json()


def test_health_follows_the_database_going_away_and_coming_back(
    processes: Processes, cluster: ThrowawayPostgres
) -> None:
    processes.env["DATABASE_URL"] = cluster.url
    processes.run("migrate")
    port = free_port()
    start_web(processes, port)
    base = f"http://127.0.0.1:{port}"

    assert health(base, "?worker=0")[0] == 200
    status, report = health(base)
    assert (status, report["worker"]) == (503, "none")
    processes.start("worker")
    wait_for(lambda: health(base)[0] == 200, 60, "the worker's first beat")

    cluster.stop()

    def down() -> bool:
        status, report = health(base, "?worker=0")
        return status == 503 and report.get("database") == "unreachable"

    wait_for(down, 30, "/health to say the database is unreachable")
    cluster.resume()
    wait_for(lambda: health(base)[0] == 200, 60, "/health to be healthy again")
