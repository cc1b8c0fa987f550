"""Run the real `sounding` command in tests, and always leave no process behind.

Every process gets its own data directory and SQLite database: nothing here touches the
database pytest-django prepared, whichever DATABASE_URL the suite runs with.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx

# The console script installed next to the interpreter running the tests (.venv/bin).
SOUNDING = str(Path(sys.executable).with_name("sounding"))
START_TIMEOUT = 30.0
STOP_TIMEOUT = 20.0


def cli_env(data_dir: Path) -> dict[str, str]:
    """The test environment minus any Sounding or database setting, plus `data_dir`.

    Also minus DJANGO_ALLOW_ASYNC_UNSAFE, which the browser tests set in this process: a real
    Sounding process never has it, and `check --deploy` rightly refuses it.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("SOUNDING_")
        and key not in ("DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")
    }
    env["SOUNDING_DATA_DIR"] = str(data_dir)
    env["DJANGO_SETTINGS_MODULE"] = "sounding.settings"
    return env


def run_cli(data_dir: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    # stdin is an empty pipe, never a terminal: commands must not wait for a prompt.
    return subprocess.run(
        [SOUNDING, *args],
        env=cli_env(data_dir),
        input="",
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_ok(data_dir: Path, *args: str) -> str:
    result = run_cli(data_dir, *args)
    assert result.returncode == 0, f"sounding {' '.join(args)} failed:\n{result.stderr}"
    return result.stdout


def database(data_dir: Path) -> sqlite3.Connection:
    path = data_dir / "sounding.sqlite3"
    assert path.exists(), f"no database at {path}"
    return sqlite3.connect(path, timeout=10)


def query(data_dir: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    connection = database(data_dir)
    try:
        return connection.execute(sql, params).fetchall()
    finally:
        connection.close()


def http_client(**options: Any) -> httpx.Client:
    """An HTTP client for the servers a test starts, which speak plain HTTP on loopback.

    Without a TLS verification context: httpx builds one for every client, ~20 ms of CPU that
    plain HTTP never uses. Tests that answer as thousands of respondents, a client each, spent
    more of the machine building them than the web process spent answering.
    """
    return httpx.Client(verify=False, **options)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def session_pids(sid: int) -> set[int]:
    """Live (non-zombie) processes of session `sid`: serve, the web server and its workers, the
    delivery worker. They stay in the session even when orphaned, so none can hide."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # exited while we looked
        # Fields after the parenthesised command name: state, ppid, pgrp, session, ...
        state, _ppid, _pgrp, session = stat.rsplit(")", 1)[1].split()[:4]
        if int(session) == sid and state != "Z":
            found.add(int(entry.name))
    return found


def children_of(pid: int) -> dict[int, str]:
    """Direct children of `pid` with their command lines."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if ppid == pid:
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except (OSError, IndexError):
            continue
    return {child: cmd.decode(errors="replace") for child, cmd in found.items()}


def kill_session(sid: int) -> None:
    """SIGKILL every process of session `sid` until none is left.

    One pass is not enough: Granian starts a new worker as soon as one dies, so a worker
    killed before its parent is replaced by one nobody has seen yet, left running forever.
    """
    with suppress(ProcessLookupError):
        os.kill(sid, signal.SIGKILL)
    for _ in range(50):
        alive = session_pids(sid)
        if not alive:
            return
        for pid in alive:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)
    raise AssertionError(f"processes of session {sid} survive SIGKILL: {sorted(alive)}")


def wait_for(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)


class Server:
    """A running `sounding serve`, leader of its own session and process group."""

    def __init__(self, proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.proc = proc
        self.port = port
        self.log = log

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def answers(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(
                f"sounding serve exited with {self.proc.returncode}:\n{self.output()}"
            )
        try:
            # /login is the sign-in page; any answer below 500 means the server is up.
            with http_client(timeout=2) as client:
                return client.get(self.url + "/login").status_code < 500
        except httpx.HTTPError:
            return False

    def wait_ready(self) -> None:
        wait_for(self.answers, START_TIMEOUT, f"sounding serve on port {self.port}")

    def terminate(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=STOP_TIMEOUT)

    def kill_group(self) -> None:
        """SIGKILL serve and everything it started, as a crash or an OOM kill would."""
        with suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)
        self.proc.wait(timeout=STOP_TIMEOUT)


@contextmanager
def serving(
    data_dir: Path, log: Path, *extra: str, env: dict[str, str] | None = None
) -> Iterator[Server]:
    """Start `sounding serve` on a free port, wait until it answers, kill all of it after."""
    port = free_port()
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [SOUNDING, "serve", "--port", str(port), "--workers", "2", *extra],
            env=env or cli_env(data_dir),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(proc, port, log)
    try:
        server.wait_ready()
        yield server
    finally:
        # Whatever the test did, nothing of this session may outlive it.
        kill_session(server.pid)
        with suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=STOP_TIMEOUT)


class Processes:
    """Separately started `sounding` commands sharing one environment, all killed at the end."""

    def __init__(self, data_dir: Path, env: dict[str, str], log: Path) -> None:
        self.data_dir, self.env, self.log = data_dir, env, log
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        with self.log.open("ab") as out:
            proc = subprocess.Popen(
                [SOUNDING, *args],
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.procs.append(proc)
        return proc

    def kill_all(self) -> None:
        for proc in self.procs:
            kill_session(proc.pid)
            with suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)

    def run(self, *args: str) -> str:
        """Run a command to completion in this environment; return its output."""
        result = subprocess.run(
            [SOUNDING, *args], env=self.env, input="", capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, f"sounding {' '.join(args)} failed:\n{result.stderr}"
        return result.stdout


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL a process started in its own session and everything it started (a web server's
    workers), as a crash or an OOM kill would, and reap it so its pid is free again."""
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=STOP_TIMEOUT)
    # Its children were reparented; wait until none of the session is left running.
    wait_for(lambda: not session_pids(proc.pid), STOP_TIMEOUT, f"session {proc.pid} to end")


def web_answers(base: str) -> bool:
    """Whether a web process answers on `base` (any answer below 500 from the sign-in page)."""
    try:
        with http_client(timeout=2) as client:
            return client.get(base + "/login").status_code < 500
    except httpx.HTTPError:
        return False


# --- a throwaway PostgreSQL server -----------------------------------------------------------

POSTGRES_BIN = Path("/usr/lib/postgresql/15/bin")


class PostgresUnavailable(Exception):
    """Why no throwaway PostgreSQL server can be run here (binaries or user missing)."""


class ThrowawayPostgres:
    """A PostgreSQL cluster of its own in a temporary directory, on a free port, trusting local
    connections: for tests that stop and restart a database server. Never the machine's
    shared server, which the test suite itself runs on."""

    def __init__(self, bin_dir: Path = POSTGRES_BIN) -> None:
        self.bin_dir = bin_dir
        if not (bin_dir / "initdb").exists():
            raise PostgresUnavailable(f"no PostgreSQL binaries in {bin_dir}")
        # initdb refuses to run as root: then the cluster belongs to the postgres OS user.
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            runuser = shutil.which("runuser")
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                owner = None
            if runuser is None or owner is None:
                raise PostgresUnavailable("running as root without runuser and a postgres user")
            self.as_user = [runuser, "-u", "postgres", "--"]
            self.owner = (owner.pw_uid, owner.pw_gid)
        self.root = Path(tempfile.mkdtemp(prefix="sounding-pg-"))
        if self.as_user:
            os.chown(self.root, *self.owner)
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = free_port()

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/sounding"

    def _run(self, *command: str, timeout: float = 60) -> None:
        result = subprocess.run(
            [*self.as_user, *command], capture_output=True, text=True, timeout=timeout
        )
        if result.returncode != 0:
            log = self.log.read_text(errors="replace") if self.log.exists() else ""
            raise AssertionError(f"{' '.join(command)} failed:\n{result.stderr}\n{log}")

    def _pg_ctl(self, *args: str) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
            "-o", options, "-w", *args,
        )  # fmt: skip

    def start(self) -> None:
        self._run(
            str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", "postgres",
            "--auth=trust", "--no-sync",
        )  # fmt: skip
        self._pg_ctl("start")
        import psycopg

        with psycopg.connect(self.url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as db:
            db.execute("CREATE DATABASE sounding")

    def restart(self) -> None:
        """A fast restart: connections are cut, transactions in progress roll back."""
        self._pg_ctl("restart", "-m", "fast")

    def stop(self) -> None:
        """Down until `resume`: connections are cut and new ones refused."""
        self._pg_ctl("stop", "-m", "fast")

    def resume(self) -> None:
        self._pg_ctl("start")

    def remove(self) -> None:
        with suppress(AssertionError, subprocess.TimeoutExpired):
            self._pg_ctl("stop", "-m", "immediate")
        shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def throwaway_postgres() -> Iterator[ThrowawayPostgres]:
    """A started throwaway cluster, stopped and deleted afterwards, also when the test fails."""
    server = ThrowawayPostgres()
    try:
        server.start()
        yield server
    finally:
        server.remove()
