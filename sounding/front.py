"""The web server's front door: a request reaches Django only once its whole body is here.

Granian runs Django's WSGI handler on one thread per process, and a WSGI application reads its
body from that thread: a client announcing `Content-Length: 100000` and sending a byte every
two seconds holds the process for as long as it likes, and four such clients stop a two-process
server. Granian will not put a deadline on bodies, so Sounding runs it as an ASGI server with
this application in front of Django:

- the body is received here, on the event loop, where a slow client costs a coroutine and
  nothing else, and it must arrive whole within `SOUNDING_BODY_SECONDS` (10 by default): a
  body still incomplete then, or shorter than its `Content-Length`, is answered 408 and the
  connection dropped;
- a body larger than the limit is refused with 413 before it is read, from its
  `Content-Length`, or as soon as a chunked body passes the limit;
- multipart bodies, which Django spools to disk, are refused with 415 except where a form
  uploads a file;
- only then is Django called, through a2wsgi, with the body already in memory: a view never
  waits on the network. Each process runs Django on two threads, one request at a time on
  each: one for the forms that hash a password, one for everything else (`Lanes`).

The respondent pages (/s/) go to a handler of their own (`sounding.collect.handler`), run on
the event loop's own thread (`Whole`): cheaper than any hop to a thread, for requests that
are short and never streamed.
"""

from __future__ import annotations

import asyncio
import contextvars
import io
import json
import os
import re
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any, cast

from a2wsgi import WSGIMiddleware
from a2wsgi.wsgi import build_environ

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

BODY_SECONDS = float(os.environ.get("SOUNDING_BODY_SECONDS", "10"))
# Django refuses form bodies over DATA_UPLOAD_MAX_MEMORY_SIZE (1 MB) with its own, translated
# pages; this limit only has to stop what Django would never look at. A logo is at most 50 KB
# and an imported survey well under 1 MB.
MAX_BODY = 2 * 1024 * 1024
# The forms that upload a file: a logo (workspace and survey branding) and a survey import.
UPLOADS = re.compile(r"^/(settings/branding|surveys/\d+/branding|surveys/import)$")


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return ""


def _is_multipart(scope: Scope) -> bool:
    return _header(scope, b"content-type").strip().lower().startswith("multipart/")


async def _refuse(scope: Scope, send: Send, status: int, detail: str) -> None:
    # Close after answering: what is left of the body is never read.
    if scope["path"].startswith("/api/"):
        body = json.dumps({"detail": detail}).encode()
        kind = b"application/json"
    else:
        body = detail.encode()
        kind = b"text/plain; charset=utf-8"
    headers = [
        (b"content-type", kind),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
        (b"content-security-policy", b"default-src 'none'"),
        (b"x-content-type-options", b"nosniff"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


class Front:
    """Receives each request's body under a deadline and a size limit, then hands the request,
    complete, to `app`."""

    def __init__(self, app: App, seconds: float = BODY_SECONDS, max_body: int = MAX_BODY):
        self.app = app
        self.seconds = seconds
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _is_multipart(scope) and not UPLOADS.match(scope["path"]):
            await _refuse(scope, send, 415, "This address takes no file uploads.")
            return
        declared = _header(scope, b"content-length")
        if declared.isdigit() and int(declared) > self.max_body:
            await _refuse(scope, send, 413, self._too_large())
            return
        try:
            async with asyncio.timeout(self.seconds):
                body = await self._body(receive)
        except TimeoutError:
            await _refuse(scope, send, 408, "The request body did not arrive in time.")
            return
        except _TooLarge:
            await _refuse(scope, send, 413, self._too_large())
            return
        if body is None:
            return  # the client went away
        await self.app(scope, _replay(body, receive), send)

    async def _body(self, receive: Receive) -> bytes | None:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise _TooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    def _too_large(self) -> str:
        return f"The request body is larger than the limit of {self.max_body:,} bytes."


class _TooLarge(Exception):
    pass


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body in one message, then whatever the connection says next (a disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


# The forms whose POST runs the password hasher (about 0.3 s of CPU by design): signing in,
# the first account, a new password from a reset link, joining from an invitation.
PASSWORD_FORMS = re.compile(r"^/(login|setup|password/reset/[^/]+/[^/]+|invite/.+)$")


# The respondent pages: every address under it goes to the respondents' application.
RESPONDENT_PREFIX = "/s/"
Headers = list[tuple[bytes, bytes]]


class Whole:
    """A WSGI application run on the event loop's own thread, for requests whose body is
    already here (`Front`) and whose answer is sent whole once it is complete.

    Each call runs to its end before the loop goes on, so these requests are served one at a
    time, as on the thread of a synchronous server, and the loop (other clients' bodies, the
    other lanes' answers) waits meanwhile. That is the trade: a respondent request is a few
    milliseconds of work on a nearby database, and handing it to a thread and back cost up to
    a quarter of the CPU of a request that does little (docs/performance.md). Not for pages
    that stream or wait on anything slow.

    Django keeps a database connection per thread, so every call here shares the one of the
    loop's thread. Each runs in a copy of the context, as on a thread of its own: what
    Django sets aside per request (the language, the URLs in use) ends with the request.
    """

    def __init__(self, wsgi_app: Any) -> None:
        self.app = wsgi_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = await receive()  # the whole body, as Front replays it
        environ = build_environ(cast(Any, scope), cast(Any, io.BytesIO(message.get("body", b""))))
        status, headers, body = self._blocking(environ)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    def _blocking(self, environ: Any) -> tuple[int, Headers, bytes]:
        # Django refuses a database call while an event loop runs on its thread, lest a
        # coroutine interleave with it. None can here: the loop is held until this returns.
        # The loop is hidden for this call only; the refusal stands for anything else.
        loop = asyncio.events._get_running_loop()
        asyncio.events._set_running_loop(None)
        try:
            return contextvars.copy_context().run(self._answer, environ)
        finally:
            asyncio.events._set_running_loop(loop)

    def _answer(self, environ: Any) -> tuple[int, Headers, bytes]:
        started: list[Any] = []
        chunks: list[bytes] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc: Any = None) -> Any:
            started[:] = [status, headers]
            return chunks.append

        answer: Iterable[bytes] = self.app(environ, start_response)
        try:
            chunks.extend(answer)
        finally:
            close = getattr(answer, "close", None)
            if close is not None:
                close()  # Django's request_finished: connections are given back here
        status, headers = started
        encoded = [
            (name.strip().encode("latin-1").lower(), value.strip().encode("latin-1"))
            for name, value in headers
        ]
        return int(status.split(" ", 1)[0]), encoded, b"".join(chunks)


class Lanes:
    """Two threads for Django in each process: one for the password forms, one for the rest.

    Each thread runs one request at a time; a flood of sign-in attempts, even those the
    sign-in limits let through to the hasher, then queues behind itself and never in front
    of a respondent. The hasher releases the interpreter's lock while it works, so the two
    threads truly run side by side. The respondent pages, when `respondents` is given, run on
    the event loop's thread (`Whole`), one at a time, with a database connection of their own.
    """

    def __init__(self, wsgi_app: Any, respondents: Any = None) -> None:
        self.main = WSGIMiddleware(wsgi_app, workers=1)
        self.passwords = WSGIMiddleware(wsgi_app, workers=1)
        self.respondents = None if respondents is None else Whole(respondents)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if self.respondents is not None and path.startswith(RESPONDENT_PREFIX):
            await self.respondents(scope, receive, send)
            return
        lane = self.main
        if scope.get("method") == "POST" and PASSWORD_FORMS.match(path):
            lane = self.passwords
        await lane(scope, receive, send)  # type: ignore[arg-type]


def in_front_of(wsgi_app: Any, respondents: Any = None) -> Front:
    """A WSGI application behind the front: the ASGI application a web process serves. With
    `respondents`, the WSGI application that answers every address under /s/ instead."""
    return Front(Lanes(wsgi_app, respondents))
