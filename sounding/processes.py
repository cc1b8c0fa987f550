"""The processes behind `sounding serve` and `sounding web`: the web server, the delivery
worker, and a small supervisor that starts, watches, restarts and stops them."""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import FrameType

SETTINGS_MODULE = "sounding.settings"
# Granian adds the directory of the module it is given to the import path, and, unless told
# another, its working directory: named by file, with that file's package root as the
# directory, the web server imports Sounding from where it is installed, never from wherever
# it was started (where a `sounding/` folder would otherwise win).
PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)
WEB_APP = str(Path(__file__).resolve().parent / "asgi.py") + ":application"
# The web server's graceful timeout (10 s, see web_command) plus room to finish shutting down.
STOP_GRACE_SECONDS = 15.0
POLL_SECONDS = 0.2
PR_SET_PDEATHSIG = 1
# `python -m X` puts the working directory first on the import path: started from a directory
# holding a `sounding/` or `granian/` folder, a child would run that code. -P leaves it out.
SAFE_PATH = ["-P"]
# A dead delivery worker is started again after 1 s, then 2 s, 4 s... at most this long; a
# worker that had run for RESTART_RESET_SECONDS starts the count again at 1 s.
RESTART_MAX_SECONDS = 30.0
RESTART_RESET_SECONDS = 60.0
# Where the web server's processes add up their request metrics (sounding.web_metrics).
WEB_METRICS_DIR = "PROMETHEUS_MULTIPROC_DIR"


def bind_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"


def web_command(host: str, port: int, workers: int) -> list[str]:
    """Granian, serving Django behind `sounding.front`, which receives every request body
    under a deadline before Django sees it (a slow client must not hold a process). Every
    option can be changed through Granian's own GRANIAN_* environment variables."""
    level = os.environ.get("SOUNDING_LOG_LEVEL", "info").lower()
    return [
        sys.executable,
        *SAFE_PATH,
        "-m",
        "granian",
        # ASGI without the lifespan protocol: the front needs no start-up or shut-down step.
        "--interface",
        "asginl",
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--no-ws",
        # Headers, like bodies, get 10 s: the default 30 s lets idle sockets pile up.
        "--http1-header-read-timeout",
        "10000",
        "--respawn-failed-workers",
        # On SIGTERM, requests in flight get this long to finish: no answer is cut off.
        "--workers-kill-timeout",
        "10",
        "--log-level",
        level,
        "--working-dir",
        PACKAGE_ROOT,
        WEB_APP,
    ]


def worker_command() -> list[str]:
    return [sys.executable, *SAFE_PATH, "-m", "sounding", "worker"]


def child_environment() -> dict[str, str]:
    """Our environment, with the data directory made absolute so every child agrees on it."""
    from django.conf import settings

    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = SETTINGS_MODULE
    env["SOUNDING_DATA_DIR"] = str(settings.DATA_DIR)
    return env


def web_environment(env: dict[str, str], host: str, port: int) -> dict[str, str]:
    """`env` plus an empty directory where the web server's processes add up their request
    metrics: in the data directory (never aged out like /tmp), one per machine and address,
    emptied at every start, so the counters start from zero with the server. Only call it
    once nothing listens on the address: the directory may be that server's."""
    name = re.sub(r"[^A-Za-z0-9.-]+", "_", f"{socket.gethostname()}-{host}-{port}")
    directory = Path(env["SOUNDING_DATA_DIR"]) / "web-metrics" / name
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    return {**env, WEB_METRICS_DIR: str(directory)}


def die_with_parent() -> None:
    """In a new child: have Linux send it SIGTERM if `sounding serve` dies without stopping it.

    Without this, a SIGKILLed `serve` would leave the web server holding the port, and the next
    start would fail. Elsewhere than Linux this is skipped; stopping normally still works.
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Children:
    """The processes `sounding serve` runs: started one by one, stopped together."""

    def __init__(self) -> None:
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.commands: dict[str, tuple[list[str], dict[str, str]]] = {}
        self.started: dict[str, float] = {}

    def start(self, name: str, command: list[str], env: dict[str, str]) -> None:
        self.commands[name] = (command, env)
        self.procs[name] = subprocess.Popen(command, env=env, preexec_fn=die_with_parent)
        self.started[name] = time.monotonic()

    def restart(self, name: str) -> None:
        self.start(name, *self.commands[name])

    def reap(self) -> tuple[str, int, float] | None:
        """A child that exited, with its exit code and how long it ran; it is no longer
        watched until started again."""
        for name, proc in list(self.procs.items()):
            code = proc.poll()
            if code is not None:
                del self.procs[name]
                return name, code, time.monotonic() - self.started[name]
        return None

    def stop(self, grace: float) -> None:
        """SIGTERM everyone, give them `grace` seconds together, then SIGKILL the laggards."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for name, proc in self.procs.items():
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                print(
                    f"sounding: the {name} process did not stop in time; killing it.",
                    file=sys.stderr,
                    flush=True,
                )
                proc.kill()
                proc.wait()


def stop_on_signals(stop: threading.Event) -> None:
    """Turn SIGTERM and Ctrl-C into `stop`, so shutdown is orderly and prints no traceback."""

    def handle(signum: int, frame: FrameType | None) -> None:
        # A handler runs on the main thread, which may be inside `stop.wait()` holding the
        # event's lock; `stop.set()` from here would then wait for itself forever (a second
        # SIGTERM right after the first did exactly that). A fresh thread waits its turn.
        threading.Thread(target=stop.set, daemon=True).start()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)


def is_listening(host: str, port: int) -> bool:
    # A wildcard address can't be connected to; its loopback twin answers for it.
    target = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)
    try:
        with socket.create_connection((target.strip("[]"), port), timeout=0.5):
            return True
    except OSError:
        return False


def public_url(host: str, port: int) -> str:
    shown = {"0.0.0.0": "127.0.0.1", "::": "[::1]"}.get(host, host)
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/"


def announce(host: str, port: int, first_run: bool) -> None:
    print(f"Sounding is running at {public_url(host, port)}  (Ctrl-C to stop)", flush=True)
    if first_run:
        print(
            "No account yet: open that address to create the first one,\n"
            "or run `sounding createadmin` in another terminal.",
            flush=True,
        )


class Backoff:
    """How long to wait before starting a dead child again: doubling, capped, and back to the
    first delay when the child had run a good while (a crash now and then, not a loop)."""

    def __init__(self, first: float = 1.0, cap: float = RESTART_MAX_SECONDS) -> None:
        self.first, self.cap, self.reset = first, cap, RESTART_RESET_SECONDS
        self.next = first

    def delay(self, ran: float) -> float:
        if ran >= self.reset:
            self.next = self.first
        delay, self.next = self.next, min(self.next * 2, self.cap)
        return delay


def say(message: str) -> None:
    print(f"sounding: {message}", file=sys.stderr, flush=True)


def supervise(
    children: Children, stop: threading.Event, host: str, port: int, first_run: bool
) -> int:
    """Wait for a stop signal, restarting the delivery worker whenever it dies; announce the
    address once the web server answers.

    The web server dying ends everything instead (exit code 1): Granian already replaces its
    own worker processes, where requests run and memory grows, so its main process gone means
    a crash, a port it could not take or an import error, which starting it again would only
    repeat. Exiting lets systemd, Docker or the person at the terminal see it and act.
    """
    announced = False
    backoff = Backoff()
    restart_at: float | None = None
    while not stop.wait(POLL_SECONDS):
        exited = children.reap()
        if exited is not None and not stop.is_set():  # Ctrl-C reaches the children too
            name, code, ran = exited
            if name != "worker":
                say(f"the {name} process exited unexpectedly (code {code}); stopping.")
                return 1
            delay = backoff.delay(ran)
            say(
                f"the delivery worker exited unexpectedly (code {code}); starting it again "
                f"in {delay:g} s. The web server keeps answering."
            )
            restart_at = time.monotonic() + delay
        if restart_at is not None and time.monotonic() >= restart_at:
            children.restart("worker")
            restart_at = None
        if not announced and is_listening(host, port):
            announce(host, port, first_run)
            announced = True
    print("Stopping Sounding…", file=sys.stderr, flush=True)
    return 0
