"""`sounding serve` started from a directory holding a `sounding/` or `granian/` folder runs
the installed code, never that folder's: anyone who can write to the directory an operator
starts the service from must not get code run as the service."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest

from tests.procs import SOUNDING, cli_env, free_port, kill_session, wait_for

# Its processes use a SQLite database of their own whatever DATABASE_URL says.
pytestmark = [pytest.mark.process, pytest.mark.any_db]

PLANT = "import pathlib; pathlib.Path({marker!r}).write_text(__name__)\n"


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code < 500
    except httpx.HTTPError:
        return False


def test_serve_never_imports_from_the_directory_it_was_started_in(tmp_path: Path) -> None:
    trap = tmp_path / "trap"
    ran = tmp_path / "ran"
    for package in ("sounding", "granian", "a2wsgi", "django"):
        folder = trap / package
        folder.mkdir(parents=True)
        for module in ("__init__.py", "__main__.py", "asgi.py", "front.py", "wsgi.py"):
            (folder / module).write_text(PLANT.format(marker=str(ran / f"{package}.{module}")))
    ran.mkdir()
    env = cli_env(tmp_path / "data")
    port = free_port()
    with (tmp_path / "serve.log").open("ab") as log:
        proc = subprocess.Popen(
            [SOUNDING, "serve", "--port", str(port), "--workers", "2"],
            cwd=trap,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: _answers(base + "/login"), 60, "sounding serve")
        assert httpx.get(base + "/login", timeout=10).status_code in (200, 302)
        wait_for(lambda: (tmp_path / "data" / "sounding.sqlite3").exists(), 10, "the database")
    finally:
        kill_session(proc.pid)
        proc.wait(timeout=20)
    assert sorted(p.name for p in ran.iterdir()) == [], (tmp_path / "serve.log").read_text()
