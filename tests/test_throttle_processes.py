"""Sign-in and password-reset limits over real HTTP, against `sounding serve` with its real
password hasher, two web processes sharing the counts through the database.

That a refused attempt hashes no password is shown two ways: the stored failure count does not
move while attempts are refused, and a refused attempt costs the server a small fraction of
the CPU time of one that was tried (the hasher takes about a third of a second on purpose).
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.procs import Processes, cli_env, free_port, query, session_pids, wait_for, web_answers

# Its processes use a SQLite database of their own whatever DATABASE_URL says.
pytestmark = [pytest.mark.process, pytest.mark.any_db]

OWNER = "owner@acme.test"
PASSWORD = "a long enough password 1"
LOCKOUT = 3  # seconds: SOUNDING_SIGNIN_LOCKOUT_SECONDS for this server
CLK_TCK = os.sysconf("SC_CLK_TCK")
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@dataclass
class Server:
    base: str
    data_dir: Path
    mail: Path
    sid: int

    def failures(self, scope: str, subject: str) -> int:
        rows = query(
            self.data_dir,
            "SELECT events FROM accounts_throttle WHERE scope = ? AND subject = ?",
            scope,
            subject,
        )
        return int(rows[0][0]) if rows else 0

    def cpu_seconds(self) -> float:
        total = 0
        for pid in session_pids(self.sid):
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # exited while we looked
            total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / CLK_TCK


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("throttle")
    mail = data_dir / "mail"
    env = cli_env(data_dir)
    env["SOUNDING_SIGNIN_LOCKOUT_SECONDS"] = str(LOCKOUT)
    env["SOUNDING_EMAIL_URL"] = f"file://{mail}"
    processes = Processes(data_dir, env, data_dir / "processes.log")
    try:
        processes.run("migrate")
        processes.run("createadmin", "--email", OWNER, "--password", PASSWORD)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        serve = processes.start("serve", "--port", str(port), "--workers", "2")
        wait_for(lambda: web_answers(base), 30, "sounding serve")
        yield Server(base, data_dir, mail, serve.pid)
    finally:
        processes.kill_all()


def form_token(client: httpx.Client, path: str) -> str:
    """The CSRF token of the form at `path` (the client keeps the matching cookie)."""
    page = client.get(path)
    token = CSRF.search(page.text)
    assert token, page.text
    return token[1]


def test_a_flood_of_wrong_passwords_is_refused_without_hashing_then_the_owner_gets_in(
    server: Server,
) -> None:
    tried_cpu: list[float] = []
    refused_cpu: list[float] = []
    statuses: list[int] = []
    with httpx.Client(base_url=server.base, timeout=30) as client:
        token = form_token(client, "/login")
        for _ in range(30):
            before, cpu_before = server.failures("signin-account", OWNER), server.cpu_seconds()
            answer = client.post(
                "/login",
                data={"username": OWNER, "password": "wrong", "csrfmiddlewaretoken": token},
            )
            cpu = server.cpu_seconds() - cpu_before
            after = server.failures("signin-account", OWNER)
            statuses.append(answer.status_code)
            if answer.status_code == 429:
                # Refused: the count stays put, and the page says when to come back.
                assert after == before
                assert "Too many failed sign-ins for this email. Try again in" in answer.text
                assert 'name="password"' in answer.text
                assert 1 <= int(answer.headers["Retry-After"]) <= LOCKOUT
                refused_cpu.append(cpu)
            else:
                assert answer.status_code == 200, answer.text
                assert "That email and password do not match an account" in answer.text
                assert after == before + 1  # tried, failed, counted
                tried_cpu.append(cpu)
        last_failure = time.monotonic()

        assert statuses[:4] == [200] * 4  # three free, then the fourth tried at once
        assert statuses.count(429) >= 20, statuses
        tried = sum(tried_cpu) / len(tried_cpu)
        refused = sum(refused_cpu) / len(refused_cpu)
        assert tried > 0.05, f"a tried attempt took {tried:.3f} s of CPU: was it hashed?"
        assert refused < tried / 5, f"refused {refused:.3f} s of CPU each, tried {tried:.3f} s"

        # Once the window has passed since the last failure, the right password works.
        time.sleep(max(0.0, last_failure + LOCKOUT + 0.2 - time.monotonic()))
        signed_in = client.post(
            "/login", data={"username": OWNER, "password": PASSWORD, "csrfmiddlewaretoken": token}
        )
        assert signed_in.status_code == 302, signed_in.text
        assert signed_in.headers["Location"] == "/surveys/"


def test_concurrent_failures_across_web_processes_are_all_counted(server: Server) -> None:
    """Eight clients at once on one email, answered by two processes: every attempt that was
    tried is counted once, and none fails."""
    email = "ghost@acme.test"  # no account: treated exactly as one
    clients = [httpx.Client(base_url=server.base, timeout=60) for _ in range(8)]
    tokens = [form_token(client, "/login") for client in clients]
    start = threading.Barrier(len(clients), timeout=30)
    statuses: list[int] = []

    def attempt(client: httpx.Client, token: str) -> None:
        start.wait()
        data = {"username": email, "password": "wrong", "csrfmiddlewaretoken": token}
        statuses.append(client.post("/login", data=data).status_code)

    threads = [
        threading.Thread(target=attempt, args=pair) for pair in zip(clients, tokens, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for client in clients:
        client.close()
    assert len(statuses) == 8 and set(statuses) <= {200, 429}, statuses
    assert server.failures("signin-account", email) == statuses.count(200) >= 4


def reset_links(mail: Path) -> list[str]:
    text = "".join(p.read_text() for p in sorted(mail.glob("*"))) if mail.exists() else ""
    return re.findall(r"https?://\S+/password/reset/\S+", text)


def comparable(page: str) -> str:
    page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", page)
    return re.sub(r'nonce(-[A-Za-z0-9+/=]+|="[^"]*")', "", page)


def test_reset_emails_are_limited_and_the_answer_never_says_so(server: Server) -> None:
    pages = []
    with httpx.Client(base_url=server.base, timeout=30) as client:
        token = form_token(client, "/password/reset")
        for _ in range(5):
            answer = client.post(
                "/password/reset",
                data={"email": OWNER, "csrfmiddlewaretoken": token},
                follow_redirects=True,
            )
            assert answer.status_code == 200 and answer.url.path == "/password/reset/sent"
            pages.append(comparable(answer.text))
        assert len(reset_links(server.mail)) == 3
        assert len(set(pages)) == 1  # the same page, limited or not

        # Ten requests an hour from one address, whatever the email; then a clear 429.
        for n in range(5):
            answer = client.post(
                "/password/reset",
                data={"email": f"someone{n}@acme.test", "csrfmiddlewaretoken": token},
            )
            assert answer.status_code == 302
        refused = client.post(
            "/password/reset", data={"email": OWNER, "csrfmiddlewaretoken": token}
        )
        assert refused.status_code == 429
        assert "Too many password reset requests from your network. Try again in" in refused.text
        assert 3500 <= int(refused.headers["Retry-After"]) <= 3600
        assert len(reset_links(server.mail)) == 3
