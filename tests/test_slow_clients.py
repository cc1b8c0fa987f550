"""Slow or oversized request bodies never hold a web process (`sounding.front`).

Attacked over real sockets against `sounding serve` with two web processes, as the README
leaves it: before the front, four connections announcing a 100,000-byte answer and sending a
byte every two seconds made `/login` and the survey time out for everyone.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.procs import Processes, cli_env, free_port, wait_for
from tests.respondent import form_state, screen_of

# Its processes use a SQLite database of their own whatever DATABASE_URL says.
pytestmark = [pytest.mark.process, pytest.mark.any_db]

# Short, so the test waits little for the deadline; production's is 10 s.
BODY_SECONDS = 4
SURVEY = {
    "title": "Pulse",
    "questions": [{"key": "comment", "type": "short_text", "prompt": "Anything to add?"}],
}
_SETUP = """
from sounding.accounts.models import Membership, Role, User, Workspace
from sounding.surveys.models import Status, Survey
workspace = Workspace.objects.create(name="Acme")
owner = User.objects.create_user("owner@acme.test", "x" * 20)
Membership.objects.create(user=owner, workspace=workspace, role=Role.OWNER)
survey = Survey.create(workspace, %r, owner)
survey.set_status(Status.LIVE)
print(survey.slug)
"""


class Site:
    def __init__(self, port: int, slug: str) -> None:
        self.port, self.slug = port, slug
        self.base = f"http://127.0.0.1:{port}"

    def connect(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        return sock

    def head(self, path: str, content_type: str, length: int) -> bytes:
        return (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {length}\r\n\r\n"
        ).encode()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    # One server for the module: every test closes what it opened, and starting one costs
    # more than all the attacks together.
    tmp_path = tmp_path_factory.mktemp("front")
    env = cli_env(tmp_path)
    env["SOUNDING_BODY_SECONDS"] = str(BODY_SECONDS)
    processes = Processes(tmp_path, env, tmp_path / "processes.log")
    try:
        processes.run("migrate")
        slug = processes.run("manage", "shell", "-c", _SETUP % SURVEY).split()[-1]
        port = free_port()
        processes.start("serve", "--port", str(port), "--workers", "2")
        running = Site(port, slug)
        wait_for(lambda: _answers(running.base + "/login"), 30, "sounding serve")
        yield running
    finally:
        processes.kill_all()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code < 500
    except httpx.HTTPError:
        return False


def _response(sock: socket.socket) -> tuple[int, bytes]:
    """The status and the rest of what the server sent until it closed the connection."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1") else 0
    return status, data


def test_slow_bodies_leave_sign_in_and_the_survey_answering(site: Site) -> None:
    stop = threading.Event()
    outcomes: list[tuple[int, float]] = []

    def dribble() -> None:
        with site.connect() as sock:
            sock.sendall(site.head(f"/s/{site.slug}", "application/x-www-form-urlencoded", 100_000))
            started = time.monotonic()
            try:
                while not stop.is_set():
                    sock.sendall(b"a")
                    stop.wait(0.5)
            except OSError:
                pass  # dropped by the server: what should happen at the deadline
            sock.settimeout(30)
            status, _ = _response(sock)
            outcomes.append((status, time.monotonic() - started))

    slow = [threading.Thread(target=dribble) for _ in range(4)]
    for thread in slow:
        thread.start()
    # The dribbling goes on past the deadline: the server must cut it, not the client.
    timings: list[tuple[str, float]] = []
    until = time.monotonic() + BODY_SECONDS + 4
    with httpx.Client(timeout=30) as client:
        while time.monotonic() < until:
            for path in ("/login", f"/s/{site.slug}"):
                started = time.monotonic()
                assert client.get(site.base + path).status_code == 200
                timings.append((path, time.monotonic() - started))
            time.sleep(0.25)
    stop.set()
    for thread in slow:
        thread.join(timeout=30)
    # Before the front, these took until the client gave up; a loaded machine gets slack.
    slowest = max(timings, key=lambda t: t[1])
    assert slowest[1] < 3, f"{slowest[0]} took {slowest[1]:.1f} s while bodies dribbled in"
    assert [status for status, _ in outcomes] == [408] * 4, outcomes
    assert all(seconds < BODY_SECONDS + 5 for _, seconds in outcomes), outcomes


def test_a_body_shorter_than_its_length_is_dropped_at_the_deadline(site: Site) -> None:
    with site.connect() as sock:
        sock.sendall(site.head(f"/s/{site.slug}", "application/x-www-form-urlencoded", 100))
        sock.sendall(b"q=comment&a=half")
        started = time.monotonic()
        status, data = _response(sock)  # returns only once the server closes
    assert status == 408, data
    assert BODY_SECONDS - 1 < time.monotonic() - started < BODY_SECONDS + 10


def test_multipart_is_refused_where_no_file_is_uploaded(site: Site) -> None:
    # A 100 MB upload is refused from its headers: not a byte of it is read or spooled.
    for path in (f"/s/{site.slug}", "/api/v1/surveys", "/login"):
        with site.connect() as sock:
            sock.sendall(site.head(path, "multipart/form-data; boundary=x", 100_000_000))
            status, data = _response(sock)
        assert status == 415, (path, data)
        if path.startswith("/api/"):
            assert b'{"detail": "This address takes no file uploads."}' in data


def test_a_logo_upload_still_reaches_the_app(site: Site) -> None:
    # Signed out, the branding page redirects to sign-in: the request got past the front.
    body = b'--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--x--\r\n'
    response = httpx.post(
        site.base + "/settings/branding",
        content=body,
        headers={"Content-Type": "multipart/form-data; boundary=x"},
    )
    assert response.status_code in (302, 403), response.text


def test_bodies_over_the_limit_are_refused_before_they_are_read(site: Site) -> None:
    with site.connect() as sock:
        sock.sendall(site.head(f"/s/{site.slug}", "application/x-www-form-urlencoded", 10**9))
        status, data = _response(sock)
    assert status == 413, data

    # Without a length, the body is counted as it comes and cut once past the limit.
    def chunks() -> Iterator[bytes]:
        for _ in range(40):
            yield b"a" * 65536

    response = httpx.post(
        site.base + "/api/v1/surveys",
        content=chunks(),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 413
    assert "larger than the limit" in response.json()["detail"]


def test_an_answer_goes_through_the_front_and_is_thanked_for(site: Site) -> None:
    with httpx.Client(base_url=site.base, timeout=10, follow_redirects=True) as client:
        state = form_state(client.get(f"/s/{site.slug}").text)
        data = {"r": state["r"], "q": state["q"], "nav": "next", "a": "through the front"}
        done = client.post(state["action"], data=data)
    assert done.status_code == 200
    assert screen_of(done.text) == "done", done.text
