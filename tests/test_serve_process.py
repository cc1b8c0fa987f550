"""`sounding serve` as a real process: it starts, stops cleanly, and loses no answer to a crash.

The respondent pages are driven through their plain-HTML protocol: a form posting back to the
same URL with hidden `r` (response token) and `q` (question key), answers in `a`, `nav=next`.
"""

from __future__ import annotations

import json
import os
import signal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.procs import (
    Server,
    children_of,
    query,
    run_ok,
    serving,
    session_pids,
    wait_for,
)

# Its processes use a SQLite database of their own whatever DATABASE_URL says.
pytestmark = [pytest.mark.process, pytest.mark.any_db]

EMAIL = "owner@example.test"
PASSWORD = "correct horse battery staple"
NPS_ONLY = {"title": "Pulse", "questions": [{"key": "nps", "type": "nps", "prompt": "How likely?"}]}


class FormParser(HTMLParser):
    """The first POST form of a page: its action and its named inputs' values."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}
        self._inside = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "form" and self.action is None and (named.get("method") or "").lower() == "post":
            self.action = named.get("action") or ""
            self._inside = True
        elif (
            tag == "input" and self._inside and named.get("type") == "hidden" and named.get("name")
        ):
            self.fields[named["name"] or ""] = named.get("value") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._inside = False


def post_form(html: str) -> FormParser:
    parser = FormParser()
    parser.feed(html)
    assert parser.action is not None, "the page has no POST form"
    return parser


def create_live_survey(server: Server, token: str) -> dict[str, Any]:
    """Create and publish a one-question survey through the REST API."""
    auth = {"Authorization": f"Bearer {token}"}
    created = httpx.post(f"{server.url}/api/v1/surveys", json=NPS_ONLY, headers=auth, timeout=10)
    assert created.status_code == 201, created.text
    survey: dict[str, Any] = created.json()
    published = httpx.post(
        f"{server.url}/api/v1/surveys/{survey['id']}/publish", headers=auth, timeout=10
    )
    assert published.status_code == 200, published.text
    return survey


def test_serve_answers_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    with serving(tmp_path / "data", tmp_path / "serve.log") as server:
        children = children_of(server.pid)
        assert any("granian" in cmd for cmd in children.values()), children
        assert any("sounding worker" in cmd for cmd in children.values()), children
        wait_for(lambda: "Sounding is running at" in server.output(), 10, "the announcement")
        assert f"http://127.0.0.1:{server.port}/" in server.output()

        assert server.terminate() == 0, server.output()
        # serve waits for its children, so nothing of the session may be left.
        wait_for(lambda: not session_pids(server.pid), 5, "every child to exit")


def test_ctrl_c_stops_serve_cleanly(tmp_path: Path) -> None:
    with serving(tmp_path / "data", tmp_path / "serve.log") as server:
        # A terminal sends SIGINT to the whole foreground group, children included: web_server
        # takes it as a quick shutdown, serve and the delivery worker as a normal stop.
        os.killpg(server.pid, signal.SIGINT)
        assert server.proc.wait(timeout=20) == 0, server.output()
        assert "KeyboardInterrupt" not in server.output()
        assert "Stopping Sounding" in server.output()
        wait_for(lambda: not session_pids(server.pid), 5, "every child to exit")


def test_serve_stops_everything_when_the_web_server_dies(tmp_path: Path) -> None:
    # Granian replaces its own worker processes; its main process gone is a crash that
    # starting it again would repeat (see `supervise`): serve exits for its manager to see.
    with serving(tmp_path / "data", tmp_path / "serve.log") as server:
        web_server = next(pid for pid, cmd in children_of(server.pid).items() if "granian" in cmd)
        os.kill(web_server, signal.SIGKILL)
        assert server.proc.wait(timeout=20) != 0
        assert "exited unexpectedly" in server.output()
        wait_for(
            lambda: not any("sounding worker" in cmd for cmd in children_of(server.pid).values()),
            5,
            "the delivery worker to stop",
        )


def test_an_answer_survives_sigkill_of_serve(tmp_path: Path) -> None:
    """The issue's check: SIGKILL `sounding serve` right after an answer is submitted;
    after a restart the answer is there."""
    data_dir = tmp_path / "data"
    run_ok(data_dir, "createadmin", "--email", EMAIL, "--password", PASSWORD)
    token = run_ok(data_dir, "token", "create", "--email", EMAIL).strip()
    log = tmp_path / "serve.log"

    with serving(data_dir, log) as server:
        survey = create_live_survey(server, token)
        page = httpx.get(f"{server.url}/s/{survey['slug']}?user_braze_id=abc", timeout=10)
        assert page.status_code == 200, page.text
        form = post_form(page.text)
        assert form.fields.get("q") == "nps", form.fields
        data = {"r": form.fields.get("r", ""), "q": "nps", "a": "9", "nav": "next"}
        posted = httpx.post(page.url.join(form.action or ""), data=data, timeout=10)
        assert posted.status_code == 303, posted.text  # stored, then on to the next screen
        server.kill_group()  # at once: no chance for a graceful flush

    with serving(data_dir, log) as server:
        stored = query(
            data_dir,
            "SELECT a.value FROM collect_answer a JOIN collect_response r ON r.id = a.response_id"
            " WHERE r.identity_value = 'abc' AND a.question_key = 'nps'",
        )
        assert [json.loads(value) for (value,) in stored] == [9]

        listed = httpx.get(
            f"{server.url}/api/v1/surveys/{survey['id']}/responses",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert listed.status_code == 200, listed.text
        items = listed.json()["items"]
        assert [(i["identity"]["braze_id"], i["answers"]) for i in items] == [("abc", {"nps": 9})]
        assert server.terminate() == 0
