"""docs/deploy.md, run for real: its environment file and its systemd units' commands.

Against a fresh PostgreSQL database, two `sounding web` on two ports and two `sounding worker`
start exactly as the guide's units start them; respondents answer through both web processes
in turn, as a proxy without sticky sessions would send them; a worker is restarted midway,
as in a rolling upgrade. Every answer must reach the Braze stand-in exactly once, with both
workers sharing the work.

Which worker sent what: the stand-in runs in this process. When a connection reaches it, the
kernel's socket table says which local process holds the other end, and every request on that
connection is labelled with that process id. The workers' HTTP clients keep their connections
open between requests, so this costs a lookup per connection, not per request.
"""

from __future__ import annotations

import os
import re
import secrets
import shlex
import signal
import subprocess
import textwrap
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from sounding.destinations.braze.standin import (
    RunningStandin,
    StandinConfig,
    StandinServer,
    StandinState,
)
from tests.procs import (
    SOUNDING,
    Processes,
    cli_env,
    free_port,
    http_client,
    session_pids,
    wait_for,
)
from tests.respondent import form_state, screen_of
from tests.standin import StandinHarness

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "deploy.md"
ENV_FILE = "/etc/sounding/sounding.env"
WEB_UNIT = "/etc/systemd/system/sounding-web@.service"
WORKER_UNIT = "/etc/systemd/system/sounding-worker@.service"
# A file the guide labels with its path: "`/etc/...`:", a blank line, then a fenced block.
LABELLED_FILE = re.compile(r"^`(/[^`]+)`:\n\n```[a-z]*\n(.*?)\n```", re.S | re.M)
# The guide's re-encryption of the Braze API keys, run with `sounding manage shell -c`.
ROTATION = re.compile(r'sounding-admin manage shell -c "\n(.*?)\n *"\n', re.S)
# What systemd and `set -a; . file` both read the same way.
PLAIN_VALUE = re.compile(r"[^\s'\"`$\\#;]*")

RESPONDENTS = 300
OWNER = "owner@example.com"
PASSWORD = "Tall ships sail at dawn 42"
NPS = "How likely are you to recommend us?"
PLAN = "Which plan are you on?"
NICKNAME = "Survey nickname"
PLANS = ["Free", "Pro", "Enterprise"]
SURVEY = {
    "title": "Deployment check",
    "questions": [
        {"key": "nps", "type": "nps", "prompt": NPS},
        {"key": "plan", "type": "single_choice", "prompt": PLAN, "choices": PLANS},
        {"key": "nickname", "type": "short_text", "prompt": "What should we call you?"},
    ],
}
QUESTION_ANSWERED = "sounding_question_answered"
PROXY_HEALTH = "/health?worker=0"
BRAZE_LATENCY = 0.3
SURVEY_COMPLETED = "sounding_survey_completed"


# --- The guide's files --------------------------------------------------------------------


def guide_files() -> dict[str, str]:
    return dict(LABELLED_FILE.findall(GUIDE.read_text()))


def environment_file(text: str) -> dict[str, str]:
    """NAME=value lines as systemd reads them; every value must read the same in a shell."""
    values = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith(("#", ";")):
            continue
        name, sep, value = line.partition("=")
        assert sep and re.fullmatch(r"[A-Z][A-Z0-9_]*", name), f"not NAME=value: {line!r}"
        assert PLAIN_VALUE.fullmatch(value), f"quote, space or comment in the value: {line!r}"
        values[name] = value
    return values


def unit_setting(unit: str, name: str) -> str:
    found = re.findall(rf"^{name}=(.*)$", unit, re.M)
    assert len(found) == 1, f"{name}= appears {len(found)} times"
    return found[0]


def unit_arguments(unit: str, instance: str) -> list[str]:
    """ExecStart's arguments after the program, with the instance name filled in."""
    program, *arguments = shlex.split(unit_setting(unit, "ExecStart"))
    assert program.endswith("/bin/sounding"), program
    return [argument.replace("%i", instance) for argument in arguments]


def test_the_guides_files_agree_with_each_other_and_with_the_configuration_page() -> None:
    files = guide_files()
    env = environment_file(files[ENV_FILE])
    documented = (ROOT / "docs" / "configuration.md").read_text()
    for name in env:
        if name.startswith("SOUNDING_"):
            assert f"`{name}`" in documented, f"{name} is not in docs/configuration.md"
    site = urlsplit(env["SOUNDING_SITE_URL"])
    assert site.scheme == "https" and site.hostname in env["SOUNDING_ALLOWED_HOSTS"].split(",")
    for unit in (files[WEB_UNIT], files[WORKER_UNIT]):
        assert unit_setting(unit, "EnvironmentFile") == ENV_FILE
        assert unit_setting(unit, "User") == "sounding"
    assert unit_arguments(files[WEB_UNIT], "8001")[:1] == ["web"]
    assert unit_arguments(files[WORKER_UNIT], "1") == ["worker"]
    assert "/etc/sounding/sounding.env" in files["/usr/local/bin/sounding-admin"]
    guide = GUIDE.read_text()
    ports = re.findall(r"sounding-web@(\d+)", guide.split("systemctl enable --now", 1)[1])[:2]
    assert len(set(ports)) == 2
    for proxy in (files["/etc/caddy/Caddyfile"], files["/etc/nginx/sites-available/sounding"]):
        assert site.hostname in proxy
        for port in ports:
            assert f"127.0.0.1:{port}" in proxy
    # The proxy judges an instance by /health without the workers: see `Deployment.healthy`.
    assert f"health_uri {PROXY_HEALTH}" in files["/etc/caddy/Caddyfile"]


def test_the_guides_encryption_key_rotation_keeps_every_braze_api_key_readable(
    tmp_path: Path,
) -> None:
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        pytest.skip("its processes use SQLite whatever the suite runs on: once is enough")
    found = ROTATION.search(GUIDE.read_text())
    assert found, "no re-encryption snippet in the guide"
    rewrite = textwrap.dedent(found.group(1))

    def sounding(keys: str, *args: str) -> str:
        env = {**cli_env(tmp_path), "SOUNDING_ENCRYPTION_KEY": keys}
        done = subprocess.run(
            [SOUNDING, *args], env=env, input="", capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    sounding("old", "migrate")
    store = (
        "from sounding.accounts.models import Workspace\n"
        "from sounding.destinations.braze.models import BrazeSettings\n"
        "for name in ('Acme', 'Globex'):\n"
        "    s = BrazeSettings(workspace=Workspace.objects.create(name=name))\n"
        "    s.set_api_key(name + '-key')\n"
        "    s.save()\n"
    )
    read = (
        "from sounding.destinations.braze.models import BrazeSettings\n"
        "print(sorted(s.api_key() for s in BrazeSettings.objects.all()))\n"
    )
    sounding("old", "manage", "shell", "-c", store)
    sounding("new,old", "manage", "shell", "-c", rewrite)
    # The old key is gone from the list: only the new one can have encrypted what is stored.
    assert "['Acme-key', 'Globex-key']" in sounding("new", "manage", "shell", "-c", read)


# --- Which process sent each request to the stand-in ---------------------------------------

_sender = threading.local()


def client_socket_inode(client_port: int, server_port: int) -> str | None:
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, remote, inode = fields[1], fields[2], fields[9]
            if int(local.rsplit(":", 1)[1], 16) == client_port and (
                int(remote.rsplit(":", 1)[1], 16) == server_port
            ):
                return inode
    return None


def process_holding(inode: str) -> int | None:
    target = f"socket:[{inode}]"
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            for fd in (entry / "fd").iterdir():
                if os.readlink(fd) == target:
                    return int(entry.name)
        except OSError:
            continue  # exited, or not ours to look at
    return None


class AttributingState(StandinState):
    def record(self, entry: dict[str, Any]) -> None:
        entry["sender_pid"] = getattr(_sender, "pid", None)
        super().record(entry)


class AttributingServer(StandinServer):
    """The stand-in, noting which local process opened each connection.

    A connection is served by one thread from `connection_opened` on, so a thread-local
    carries the sender to every request read from it."""

    def connection_opened(self, sock: Any) -> None:
        super().connection_opened(sock)
        inode = client_socket_inode(sock.getpeername()[1], self.server_address[1])
        _sender.pid = process_holding(inode) if inode else None


@pytest.fixture
def standin() -> Iterator[StandinHarness]:
    server = AttributingServer(("127.0.0.1", 0), AttributingState(StandinConfig.create()))
    harness = StandinHarness(RunningStandin(server))
    try:
        yield harness
    finally:
        harness.stop()


# --- A fresh database and the deployment -------------------------------------------------


@pytest.fixture
def database() -> Iterator[str]:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        pytest.skip("the guide deploys on PostgreSQL: runs in the suite's PostgreSQL pass")
    import psycopg

    server = url.rsplit("/", 1)[0]
    name = f"sounding_deploy_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(server + "/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server}/{name}"
    finally:
        with psycopg.connect(server + "/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# What the guide keeps in /etc/sounding, made up for this run.
SECRET_FILES = {
    "secret_key": secrets.token_urlsafe(48),
    "encryption_key": secrets.token_urlsafe(48),
    "metrics_token": secrets.token_urlsafe(32),
    "pgpass": "*:*:*:*:unused-with-trust-authentication",
    "email_url": "dummy:",
}


def local_environment(guide_env: dict[str, str], tmp: Path, database_url: str) -> dict[str, str]:
    """The guide's environment with only the machine-specific values changed."""
    local = {"DATABASE_URL": database_url, "SOUNDING_DATA_DIR": str(tmp / "data")}
    secrets_dir = tmp / "etc"
    secrets_dir.mkdir()
    for name, value in guide_env.items():
        if value.startswith("/etc/sounding/"):
            path = secrets_dir / Path(value).name
            path.write_text(SECRET_FILES[path.name] + "\n")
            path.chmod(0o600)
            local[name] = str(path)
    assert local.keys() <= guide_env.keys(), "the guide's environment file lacks a setting"
    env = cli_env(tmp / "data")  # the test's own environment, minus any Sounding setting
    env.update(guide_env)
    env.update(local)
    return env


@dataclass
class Deployment:
    processes: Processes
    site: str  # the public address, as the proxy is told
    metrics_token: str
    webs: list[str] = field(default_factory=list)  # http://127.0.0.1:<port>
    workers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    worker_pids: dict[int, str] = field(default_factory=dict)  # every pid a worker unit had

    def start_worker(self, instance: str, arguments: list[str]) -> None:
        proc = self.processes.start(*arguments)
        self.workers[instance] = proc
        self.worker_pids[proc.pid] = instance

    def proxied(self, client_ip: str) -> dict[str, str]:
        """The headers the guide's proxies add to every request they pass on."""
        return {
            "Host": urlsplit(self.site).netloc,
            "X-Forwarded-Proto": "https",
            "X-Forwarded-For": client_ip,
        }

    def healthy(self, base: str, path: str = PROXY_HEALTH) -> bool:
        """The guide's health check, sent as Caddy sends it: to the address, plain HTTP."""
        try:
            probe = httpx.get(base + path, timeout=3)
        except httpx.HTTPError:
            return False
        return probe.status_code == 200


def end_sessions(processes: Processes) -> None:
    """SIGKILL every process the deployment started, and make sure none is left.

    Each process group goes at once: killed one process at a time, a web server can respawn
    a worker between two kills, and that worker would outlive the test."""
    sessions = [proc.pid for proc in processes.procs]
    for sid in sessions:
        with suppress(ProcessLookupError):
            os.killpg(sid, signal.SIGKILL)
    processes.kill_all()  # reaps them, and kills whatever of their sessions is still there

    def gone() -> bool:
        left = {pid for sid in sessions for pid in session_pids(sid)}
        for pid in left:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return not left

    wait_for(gone, 20, "every process of the deployment to end")


@pytest.fixture
def deployment(tmp_path: Path, database: str, standin: StandinHarness) -> Iterator[Deployment]:
    files = guide_files()
    guide_env = environment_file(files[ENV_FILE])
    env = local_environment(guide_env, tmp_path, database)
    # Only so that the workspace may point at the stand-in; production leaves it unset.
    env["SOUNDING_BRAZE_ALLOWED_ENDPOINTS"] = standin.url
    log = tmp_path / "processes.log"
    processes = Processes(tmp_path / "data", env, log)
    running = Deployment(processes, guide_env["SOUNDING_SITE_URL"], SECRET_FILES["metrics_token"])
    try:
        # The guide's one-time setup.
        checked = processes.run("manage", "check", "--deploy", "--fail-level", "WARNING")
        assert "no issues" in checked, checked
        processes.run("migrate")
        processes.run(
            "createadmin", "--email", OWNER, "--password", PASSWORD, "--workspace", "Acme"
        )
        for _ in range(2):
            port = str(free_port())
            processes.start(*unit_arguments(files[WEB_UNIT], port))
            running.webs.append(f"http://127.0.0.1:{port}")
        for instance in ("1", "2"):
            running.start_worker(instance, unit_arguments(files[WORKER_UNIT], instance))
        for base in running.webs:
            wait_for(lambda base=base: running.healthy(base), 40, f"the health check of {base}")
        yield running
    finally:
        end_sessions(processes)
        if log.exists():
            print(log.read_text(errors="replace")[-6000:])


# --- Setting up a survey and answering it -------------------------------------------------


def api(deployment: Deployment, token: str, base: str) -> httpx.Client:
    headers = {**deployment.proxied("192.0.2.10"), "Authorization": f"Bearer {token}"}
    return http_client(base_url=base + "/api/v1", headers=headers, timeout=30)


def set_up_survey(deployment: Deployment, standin: StandinHarness) -> tuple[int, str, str]:
    """Connect Braze and publish a survey with the integration on, through the API."""
    token = deployment.processes.run("token", "create", "--email", OWNER).strip()
    with api(deployment, token, deployment.webs[0]) as client:
        connected = client.put(
            "/integrations/braze",
            json={"rest_endpoint": standin.url, "api_key": standin.api_key},
        )
        assert connected.status_code == 200, connected.text
        created = client.post("/surveys", json=SURVEY)
        assert created.status_code == 201, created.text
        survey = created.json()
        # Links are built from SOUNDING_SITE_URL, not from the address the request came to.
        assert survey["url"] == f"{deployment.site}/s/{survey['slug']}"
        published = client.post(f"/surveys/{survey['id']}/publish")
        assert published.status_code == 200, published.text
        integration = client.put(
            f"/surveys/{survey['id']}/integrations/braze",
            json={
                "enabled": True,
                "attribute_names": {"nickname": NICKNAME},
                "events": {"per_answer": True, "on_completion": True},
            },
        )
        assert integration.status_code == 200, integration.text
        assert integration.json()["link"].startswith(f"{deployment.site}/s/{survey['slug']}?")
    return survey["id"], survey["slug"], token


def person(i: int) -> tuple[str, dict[str, Any]]:
    return f"p-{i}", {"nps": i % 11, "plan": PLANS[i % 3], "nickname": f"Person {i}"}


def answer_survey(deployment: Deployment, slug: str, i: int) -> None:
    """One respondent, as a browser without JavaScript: each request to the other web
    process, as a proxy balancing round-robin without sticky sessions sends them."""
    who, answers = person(i)
    webs = deployment.webs
    headers = deployment.proxied(f"198.18.{i // 250}.{i % 250 + 1}")
    with http_client(headers=headers, timeout=30) as client:
        page = client.get(f"{webs[i % 2]}/s/{slug}", params={"user_braze_id": who})
        assert page.status_code == 200, page.text
        for step, key in enumerate(answers, start=1):
            state = form_state(page.text)
            assert state["q"] == key, f"{who} was asked {state['q']}, not {key}"
            posted = client.post(
                webs[(i + step) % 2] + state["action"],
                data={"r": state["r"], "q": key, "nav": "next", "a": str(answers[key])},
            )
            assert posted.status_code == 303, posted.text  # stored: on to the next screen
            page = client.get(webs[(i + step + 1) % 2] + posted.headers["location"])
            assert page.status_code == 200, page.text
        assert screen_of(page.text) == "done", f"{who} did not reach the end"


def answer_all(deployment: Deployment, slug: str, people: range) -> None:
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: answer_survey(deployment, slug, i), people))


def restart_worker(deployment: Deployment, instance: str, arguments: list[str]) -> int:
    """`systemctl restart sounding-worker@<instance>`: SIGTERM, wait, start again."""
    old = deployment.workers[instance]
    old.send_signal(signal.SIGTERM)
    code = old.wait(timeout=20)
    deployment.start_worker(instance, arguments)
    return code


def stored_answers(deployment: Deployment, token: str, survey_id: int) -> dict[str, Any]:
    stored: dict[str, Any] = {}
    cursor = None
    with api(deployment, token, deployment.webs[1]) as client:
        while True:
            params = {"limit": 500, **({"cursor": cursor} if cursor else {})}
            page = client.get(f"/surveys/{survey_id}/responses", params=params).json()
            for item in page["items"]:
                assert item["completed_at"] is not None
                assert item["sync"]["braze"]["state"] == "synced", item["sync"]
                stored[item["identity"]["braze_id"]] = item["answers"]
            cursor = page["next_cursor"]
            if cursor is None:
                return stored


def metrics(deployment: Deployment, token: str | None) -> httpx.Response:
    headers = deployment.proxied("192.0.2.20")
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.get(deployment.webs[0] + "/metrics", headers=headers, timeout=10)


def settled(deployment: Deployment) -> bool:
    values = metric_values(metrics(deployment, deployment.metrics_token).text)
    return values.get('sounding_delivery_pushes{state="pending"}') == 0


def metric_values(text: str) -> dict[str, float]:
    return {
        name: float(value)
        for name, value in re.findall(r"^(sounding_\S+) (\S+)$", text, re.M)
        if not name.endswith("_created")
    }


# --- The run ------------------------------------------------------------------------------


def test_two_web_processes_and_two_workers_deliver_every_answer_exactly_once(
    deployment: Deployment, standin: StandinHarness
) -> None:
    # Braze answers in 0.3 s, as it can under load: while one worker waits for an answer, the
    # other claims the next people, so the two send at once (never about the same person).
    standin.queue(*[{"kind": "slow", "seconds": BRAZE_LATENCY}] * 1000)
    survey_id, slug, token = set_up_survey(deployment, standin)

    half = RESPONDENTS // 2
    answer_all(deployment, slug, range(half))
    worker_arguments = unit_arguments(guide_files()[WORKER_UNIT], "1")
    assert restart_worker(deployment, "1", worker_arguments) == 0
    answer_all(deployment, slug, range(half, RESPONDENTS))

    expected = {}
    for i in range(RESPONDENTS):
        who, answers = person(i)
        expected[f"braze_id:{who}"] = {
            NPS: answers["nps"],
            PLAN: answers["plan"],
            NICKNAME: answers["nickname"],
        }
    profiles: dict[str, Any] = {}

    def delivered() -> bool:
        profiles.update(standin.users())
        return {k: p["attributes"] for k, p in profiles.items()} == expected

    wait_for(delivered, 30, "every profile to hold its answers")
    # The stand-in applies a request before it answers; the worker records the outcome after.
    wait_for(lambda: settled(deployment), 10, "every outcome to be recorded")
    # A completion can follow its attributes: a build that read the response just before its
    # last answer committed sends that answer, and the completion goes in the next request.
    profiles.update(standin.users())

    # What Sounding stored is what Braze got, and what the respondents gave.
    stored = stored_answers(deployment, token, survey_id)
    assert stored == {person(i)[0]: person(i)[1] for i in range(RESPONDENTS)}
    requests = standin.requests()
    assert all(r["status"] == 201 for r in requests), [r["status"] for r in requests]
    _each_event_once(profiles, requests, stored)
    _each_attribute_value_once(requests)
    assert standin.violations() == []  # nobody was in two requests in flight
    _both_workers_worked(deployment, requests, standin.stats()["max_concurrent"])
    _metrics_say_all_is_delivered(deployment)
    # Both workers beat: the full health check, for alerting, is green on either instance.
    assert all(deployment.healthy(base, "/health") for base in deployment.webs)


def _each_event_once(
    profiles: dict[str, Any], requests: list[dict[str, Any]], stored: dict[str, Any]
) -> None:
    sent = Counter(
        event["properties"]["sounding_event_id"]
        for request in requests
        for event in request["body"].get("events", [])
    )
    repeated = {event_id: n for event_id, n in sent.items() if n > 1}
    assert not repeated, f"events sent more than once: {repeated}"
    for key, profile in profiles.items():
        answers = stored[key.removeprefix("braze_id:")]
        per_question = {
            e["properties"]["question_key"]: e["properties"]["answer"]
            for e in profile["events"]
            if e["name"] == QUESTION_ANSWERED
        }
        assert per_question == {k: str(v) for k, v in answers.items()}, key
        names = Counter(e["name"] for e in profile["events"])
        assert names == {QUESTION_ANSWERED: len(answers), SURVEY_COMPLETED: 1}, key
    assert len(sent) == sum(len(p["events"]) for p in profiles.values())


def _each_attribute_value_once(requests: list[dict[str, Any]]) -> None:
    """Only changes are sent: each person's each attribute went out in one request."""
    carried = Counter(
        (obj["braze_id"], name)
        for request in requests
        for obj in request["body"].get("attributes", [])
        for name in obj
        if name not in ("braze_id", "_update_existing_only")
    )
    assert set(carried.values()) == {1}, carried.most_common(3)
    assert len(carried) == RESPONDENTS * 3


def _both_workers_worked(
    deployment: Deployment, requests: list[dict[str, Any]], most_in_flight: int
) -> None:
    by_pid = Counter(r["sender_pid"] for r in requests)
    objects = Counter()
    for r in requests:
        objects[r["sender_pid"]] += r["objects"]
    # Nothing but the workers talks to Braze: not the web processes, not an unknown sender.
    assert set(by_pid) <= set(deployment.worker_pids), (by_pid, deployment.worker_pids)
    by_unit = Counter()
    for pid, n in by_pid.items():
        by_unit[deployment.worker_pids[pid]] += n
    print(
        "\nrequests to Braze by worker process: "
        + ", ".join(
            f"sounding-worker@{deployment.worker_pids[pid]} (pid {pid}): {n} requests, "
            f"{objects[pid]} objects"
            for pid, n in sorted(by_pid.items())
        )
        + f"; at most {most_in_flight} in flight at once"
    )
    assert by_unit["1"] > 0 and by_unit["2"] > 0, by_unit
    assert most_in_flight >= 2, "the workers never sent at the same time"


def _metrics_say_all_is_delivered(deployment: Deployment) -> None:
    assert metrics(deployment, None).status_code == 401
    scraped = metrics(deployment, deployment.metrics_token)
    assert scraped.status_code == 200, scraped.text
    values = metric_values(scraped.text)
    assert values['sounding_delivery_pushes{state="synced"}'] == RESPONDENTS
    assert values['sounding_delivery_pushes{state="pending"}'] == 0
    assert values['sounding_delivery_pushes{state="failed"}'] == 0
    assert values["sounding_delivery_lanes_paused"] == 0
    assert values["sounding_delivery_oldest_pending_seconds"] == 0
    assert values["sounding_delivery_pushes_failed_total"] == 0
    assert values["sounding_delivery_events_ambiguous_total"] == 0
    assert values["sounding_delivery_pushes_sent_total"] >= RESPONDENTS
    assert values["sounding_delivery_workers"] == 2
    # This instance's Granian processes answered about half of every respondent's requests.
    assert values['sounding_http_requests_total{route="respond",status="2xx"}'] >= RESPONDENTS
