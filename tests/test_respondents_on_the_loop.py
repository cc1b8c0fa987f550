"""The respondent pages run on the web process's event loop thread (`front.Whole`): one
database connection for all of them, and Django's refusal of database calls from the loop
left standing for anything else."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import pytest
from django.core.signals import request_started
from django.db import connection, connections
from django.db.backends.signals import connection_created
from django.utils.asyncio import SynchronousOnlyOperation

from sounding.collect.handler import RespondentHandler
from sounding.front import Whole
from sounding.surveys.models import Survey

pytestmark = pytest.mark.django_db(transaction=True)
T = TypeVar("T")


def scope(path: str) -> dict[str, Any]:
    return {
        "type": "http",
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"localhost")],
        "client": ("127.0.0.1", 50000),
        "server": ("localhost", 80),
    }


async def call(app: Whole, path: str) -> tuple[int, bytes]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(dict(message))

    await app(scope(path), receive, send)
    return sent[0]["status"], sent[1]["body"]


def on_a_loop_thread(main: Callable[[], Coroutine[Any, Any, T]]) -> tuple[T, int]:
    """`main()` run by an event loop on a thread of its own, as in a web process, and that
    thread's id. Its database connection is closed there (or the test database stays in use)."""
    done: list[tuple[T, int]] = []

    def run() -> None:
        try:
            done.append((asyncio.run(main()), threading.get_ident()))
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return done[0]


@pytest.fixture
def whole() -> Whole:
    return Whole(RespondentHandler())


def test_respondent_requests_share_one_connection_on_the_loop_thread(
    whole: Whole, live_survey: Survey
) -> None:
    opened: list[int] = []
    served_on: list[int] = []

    def on_open(**_: Any) -> None:
        opened.append(threading.get_ident())

    def on_request(**_: Any) -> None:
        served_on.append(threading.get_ident())

    page = f"/s/{live_survey.slug}"

    async def five() -> list[tuple[int, bytes]]:
        return [await call(whole, path) for path in [page] * 3 + ["/s/nowhere"] * 2]

    connection_created.connect(on_open)
    request_started.connect(on_request)
    try:
        answers, loop_thread = on_a_loop_thread(five)
    finally:
        connection_created.disconnect(on_open)
        request_started.disconnect(on_request)
    assert [status for status, _ in answers] == [200, 200, 200, 404, 404]
    assert b'data-question="nps"' in answers[0][1] and b"Survey not found" in answers[3][1]
    assert served_on == [loop_thread] * 5
    assert opened == [loop_thread]  # one connection, kept: not one per request


def test_django_still_refuses_database_calls_from_the_loop(
    whole: Whole, live_survey: Survey, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The browser tests allow them in their process; a real Sounding process never does.
    monkeypatch.delenv("DJANGO_ALLOW_ASYNC_UNSAFE", raising=False)

    async def answer_then_query() -> tuple[int, bool]:
        status, _ = await call(whole, f"/s/{live_survey.slug}")
        assert asyncio.get_running_loop() is not None  # the loop is back after the call
        try:
            connection.cursor()
        except SynchronousOnlyOperation:
            return status, True
        return status, False

    assert on_a_loop_thread(answer_then_query)[0] == (200, True)
