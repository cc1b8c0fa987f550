"""A local webhook receiver: takes Standard Webhooks messages, checks them, keeps them.

For trying the webhooks destination without an endpoint of one's own, and for tests that need
a real endpoint over HTTP. A POST to any path is a webhook: its signature is checked against
the secrets given (`signing.verify`), a line per message goes to stdout, and everything
received is kept in memory. It answers 401 to a message whose signature does not verify, and
2xx otherwise, also to a message it already accepted (a *duplicate*, flagged so tests can
count them), unless told to misbehave: answer another status, for a while or until told
otherwise, or answer slowly.

Standard library only and no Django, so it runs as `sounding webhook-receiver` or inside a
test (`Receiver`). Control endpoints live under /_receiver/ and need no signature:
- GET /_receiver/messages[?since=SEQ]: the messages received, oldest first;
- POST /_receiver/reset: forget messages and behaviour, keep the secrets;
- GET|POST /_receiver/behaviour: {"status": 500, "for_seconds": 60} answers 500 to webhooks
  for a minute, then 200 again; {"status": 410} until changed; {"delay": 2.0} answers after
  2 s. Each POST replaces the whole behaviour: {} or {"status": 200} is back to normal.
- POST /_receiver/secrets {"secrets": ["whsec_...", ...]}: verify with these from now on, as
  an endpoint's owner does once a rotated secret reaches them.
"""

from __future__ import annotations

import copy
import json
import math
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from types import TracebackType
from typing import Any, TextIO
from urllib.parse import parse_qs, urlsplit

from sounding.destinations.webhooks import signing
from sounding.local_http import LocalHandler, LocalServer, Unreadable, serve_until_stopped

DEFAULT_PORT = 9912
CONTROL_PREFIX = "/_receiver/"
# Far above any survey response; a bigger body is refused unread rather than kept in memory.
MAX_BODY_BYTES = 5 * 1024 * 1024
# Path -> HTTP method -> name of the ReceiverHandler method answering it.
ROUTES = {
    CONTROL_PREFIX + "messages": {"GET": "_get_messages"},
    CONTROL_PREFIX + "reset": {"POST": "_post_reset"},
    CONTROL_PREFIX + "behaviour": {"GET": "_get_behaviour", "POST": "_post_behaviour"},
    CONTROL_PREFIX + "secrets": {"POST": "_post_secrets"},
}
Query = dict[str, list[str]]


def _now_wall() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_json(raw: bytes) -> Any:
    """JSON as the standard defines it: NaN and Infinity are not numbers a sender may send."""

    def refuse(constant: str) -> Any:
        raise ValueError(f"{constant} is not JSON")

    return json.loads(raw, parse_constant=refuse)


@dataclass(frozen=True)
class Behaviour:
    """How webhooks are answered: `status` (200 when all is well) after `delay` seconds, until
    the monotonic time `until` (None: until changed)."""

    status: int = 200
    delay: float = 0.0
    until: float | None = None

    def describe(self, now: float) -> dict[str, Any]:
        left = None if self.until is None else round(max(self.until - now, 0.0), 3)
        return {"status": self.status, "delay": self.delay, "remaining_seconds": left}


def parse_behaviour(payload: dict[str, Any], now: float) -> Behaviour:
    unknown = set(payload) - {"status", "for_seconds", "delay"}
    if unknown:
        raise ValueError(f"unknown field(s): {', '.join(sorted(unknown))}")
    status = payload.get("status", 200)
    if isinstance(status, bool) or not isinstance(status, int) or not 200 <= status <= 599:
        raise ValueError("status must be an HTTP status from 200 to 599")
    delay = _seconds(payload, "delay", 0.0)
    if "for_seconds" not in payload:
        return Behaviour(status, delay)
    window = _seconds(payload, "for_seconds", 0.0)
    if window <= 0:
        raise ValueError("for_seconds must be a number of seconds above 0")
    return Behaviour(status, delay, now + window)


def _seconds(payload: dict[str, Any], name: str, default: float) -> float:
    value = payload.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name} must be a number of seconds")
    if value < 0:
        raise ValueError(f"{name} must be a number of seconds >= 0")
    return float(value)


def _checked_secrets(secrets: Iterable[Any]) -> tuple[str, ...]:
    checked = tuple(secrets)
    if not checked or not all(isinstance(secret, str) for secret in checked):
        raise ValueError("give at least one webhook secret (whsec_...)")
    for secret in checked:
        signing.secret_bytes(secret)  # raises, saying what is wrong with it
    return checked


class ReceiverState:
    """Everything the receiver knows, behind one lock; callers never hold it while sleeping."""

    def __init__(self, secrets: Sequence[str], tolerance: int = signing.TOLERANCE_SECONDS) -> None:
        self.tolerance = tolerance
        self._secrets = _checked_secrets(secrets)
        self._lock = threading.Lock()
        self._clear()

    def _clear(self) -> None:
        self._messages: list[dict[str, Any]] = []
        self._seq = 0
        self._attempts: Counter[str] = Counter()
        self._accepted: set[str] = set()
        self._behaviour = Behaviour()

    # -- one webhook --------------------------------------------------------------------------

    def receive(self, path: str, headers: dict[str, str], raw: bytes) -> dict[str, Any]:
        """Check and record one webhook; the entry says how to answer it (status, delay)."""
        received_at = _now_wall()
        with self._lock:
            secrets = self._secrets
        error: signing.SignatureError | None = None
        try:
            signing.verify(secrets, headers, raw, tolerance=self.tolerance)
        except signing.SignatureError as exc:
            error = exc
        try:
            body, is_json = parse_json(raw), True
        except ValueError:  # not JSON, or not UTF-8
            body, is_json = raw.decode("utf-8", errors="replace"), False
        msg_id = headers.get(signing.ID_HEADER) or None
        stamp = headers.get(signing.TIMESTAMP_HEADER, "").strip()
        with self._lock:
            behaviour = self._current_behaviour()
            # A sender's outage answer comes before any check, as a real endpoint's would.
            if not 200 <= behaviour.status <= 299:
                status = behaviour.status
            else:
                status = 401 if error is not None else behaviour.status
            # Only a message that was accepted before is a duplicate: resending one that got
            # an error or a 401 is a retry, which is what a sender is supposed to do.
            duplicate = error is None and msg_id is not None and msg_id in self._accepted
            if msg_id is not None:
                self._attempts[msg_id] += 1
                if error is None and 200 <= status <= 299:
                    self._accepted.add(msg_id)
            self._seq += 1
            entry = {
                "seq": self._seq,
                "received_at": received_at,
                "path": path,
                "id": msg_id,
                "timestamp": int(stamp) if stamp.isascii() and stamp.isdigit() else None,
                "signature": headers.get(signing.SIGNATURE_HEADER),
                "headers": headers,
                "body": body,
                # As received: signatures cover these bytes, not a re-serialised body.
                "raw": raw.decode("utf-8", errors="replace"),
                "body_is_json": is_json,
                "type": body.get("type") if is_json and isinstance(body, dict) else None,
                "verified": error is None,
                "error": None if error is None else str(error),
                "reason": None if error is None else error.reason,
                "status": status,
                "duplicate": duplicate,
                "attempt": self._attempts[msg_id] if msg_id is not None else 1,
                "delay": behaviour.delay,
            }
            self._messages.append(entry)
            return copy.deepcopy(entry)

    def _current_behaviour(self) -> Behaviour:
        # A window that has run out ends here, when next looked at: nothing needs a timer.
        if self._behaviour.until is not None and time.monotonic() >= self._behaviour.until:
            self._behaviour = Behaviour()
        return self._behaviour

    # -- control ------------------------------------------------------------------------------

    def messages(self, since: int = 0) -> list[dict[str, Any]]:
        """The messages after sequence number `since`, oldest first."""
        with self._lock:
            return copy.deepcopy([entry for entry in self._messages if entry["seq"] > since])

    def behaviour(self) -> dict[str, Any]:
        with self._lock:
            return self._current_behaviour().describe(time.monotonic())

    def set_behaviour(self, payload: dict[str, Any]) -> dict[str, Any]:
        now = time.monotonic()
        behaviour = parse_behaviour(payload, now)
        with self._lock:
            self._behaviour = behaviour
            return behaviour.describe(now)

    def set_secrets(self, payload: dict[str, Any]) -> dict[str, Any]:
        unknown = set(payload) - {"secrets"}
        if unknown:
            raise ValueError(f"unknown field(s): {', '.join(sorted(unknown))}")
        secrets = payload.get("secrets")
        if not isinstance(secrets, list):
            raise ValueError("secrets must be an array of webhook secrets (whsec_...)")
        checked = _checked_secrets(secrets)
        with self._lock:
            self._secrets = checked
        return {"secrets": len(checked)}

    def reset(self) -> None:
        """Forget messages, duplicates and behaviour; keep the secrets."""
        with self._lock:
            self._clear()


def describe(entry: dict[str, Any]) -> str:
    """One line for a person watching the receiver's output."""
    if entry["verified"]:
        verdict = "verified, duplicate" if entry["duplicate"] else "verified"
    else:
        verdict = f"NOT verified: {entry['error']}"
    kind = entry["type"] or ("-" if entry["body_is_json"] else "(not JSON)")
    return f"{entry['received_at']}  {entry['status']}  {entry['id'] or '-'}  {kind}  {verdict}"


def _joined_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Lower-cased names, a repeated header's values joined as HTTP allows."""
    out: dict[str, str] = {}
    for name, value in headers:
        name = name.lower()
        out[name] = f"{out[name]}, {value}" if name in out else value
    return out


class ReceiverHandler(LocalHandler):
    server_version = "WebhookReceiver/1"
    max_body_bytes = MAX_BODY_BYTES
    server: ReceiverServer

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the line per message is the log; access lines would only bury it

    @property
    def state(self) -> ReceiverState:
        return self.server.state

    # -- plumbing -----------------------------------------------------------------------------

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        try:
            raw = self._read_body()
        except Unreadable as exc:
            self.close_connection = True
            self._send_json(exc.status, {"message": str(exc)})
            return
        if url.path.startswith(CONTROL_PREFIX):
            methods = ROUTES.get(url.path)
            if methods is None:
                self._send_json(404, {"message": "Not Found"})
            elif self.command not in methods:
                allow = {"Allow": ", ".join(methods)}
                self._send_json(405, {"message": "Method Not Allowed"}, allow)
            else:
                getattr(self, methods[self.command])(raw, parse_qs(url.query))
        elif self.command != "POST":
            self._send_json(405, {"message": "Webhooks are POSTed"}, {"Allow": "POST"})
        elif raw is None:
            self._send_json(413, {"message": f"Body larger than {MAX_BODY_BYTES} bytes"})
        else:
            self._webhook(url.path, raw)

    def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> bool:
        data = b"" if status == 204 else json.dumps(payload, ensure_ascii=False).encode()
        return self._send(status, data, "application/json" if data else None, headers)

    # -- webhooks -----------------------------------------------------------------------------

    def _webhook(self, path: str, raw: bytes) -> None:
        entry = self.state.receive(path, _joined_headers(self.headers.items()), raw)
        self.server.announce(describe(entry))
        if entry["delay"]:
            # An event, not a sleep: stopping the receiver must not wait for slow answers.
            self.server.stopping.wait(entry["delay"])
        status = entry["status"]
        if not entry["verified"] and status == 401:
            message = entry["error"]
        elif entry["duplicate"]:
            message = "already received"
        else:
            message = HTTPStatus(status).phrase
        self._send_json(status, {"message": message})

    # -- control endpoints --------------------------------------------------------------------

    def _get_messages(self, _raw: bytes | None, query: Query) -> None:
        try:
            since = int(query.get("since", ["0"])[0])
        except ValueError:
            self._send_json(400, {"message": "since must be an integer"})
            return
        self._send_json(200, self.state.messages(since))

    def _post_reset(self, *_: Any) -> None:
        self.state.reset()
        self._send_json(200, {"message": "reset"})

    def _get_behaviour(self, *_: Any) -> None:
        self._send_json(200, self.state.behaviour())

    def _post_behaviour(self, raw: bytes | None, _query: Query) -> None:
        self._control(raw, self.state.set_behaviour)

    def _post_secrets(self, raw: bytes | None, _query: Query) -> None:
        self._control(raw, self.state.set_secrets)

    def _control(self, raw: bytes | None, action: Callable[[dict[str, Any]], Any]) -> None:
        try:
            payload = parse_json(raw or b"{}") if raw is not None else None
            if not isinstance(payload, dict):
                raise ValueError("send a JSON object")
            self._send_json(200, action(payload))
        except ValueError as exc:
            self._send_json(400, {"message": str(exc)})


class ReceiverServer(LocalServer):
    def __init__(
        self, address: tuple[str, int], state: ReceiverState, out: TextIO | None = None
    ) -> None:
        self.state = state
        self.out = out
        self.stopping = threading.Event()
        self._out_lock = threading.Lock()
        super().__init__(address, ReceiverHandler)

    def announce(self, line: str) -> None:
        if self.out is None:
            return
        # One lock so that lines from concurrent messages never interleave; flushed at once
        # because whoever watches (a person, a test reading a pipe) wants it now.
        with self._out_lock:
            print(line, file=self.out, flush=True)

    def close(self) -> None:
        # Slow answers wait on this event, not in a sleep: they end now.
        self.stopping.set()
        super().close()


class Receiver:
    """A receiver serving from a background thread, for tests and scripts:

        with Receiver([secret]) as receiver:
            ...  # send webhooks to receiver.url, then look at receiver.messages()

    Secrets are checked on creation (ValueError); port 0 picks a free port on start().
    `out`, when given, gets the line per message that the command prints.
    """

    def __init__(
        self,
        secrets: Sequence[str],
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        out: TextIO | None = None,
        tolerance: int = signing.TOLERANCE_SECONDS,
    ) -> None:
        self.state = ReceiverState(secrets, tolerance)
        self.address = (host, port)
        self.out = out
        self._server: ReceiverServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Receiver:
        if self._server is not None:
            raise RuntimeError("this receiver is already started")
        self._server = ReceiverServer(self.address, self.state, self.out)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._server = self._thread = None
        server.shutdown()
        server.close()
        thread.join(timeout=5)

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("start the receiver first")
        return self._server.url

    def messages(self, since: int = 0) -> list[dict[str, Any]]:
        return self.state.messages(since)

    def behave(self, **behaviour: Any) -> dict[str, Any]:
        """The same as POST /_receiver/behaviour: `behave(status=500, for_seconds=1)`."""
        return self.state.set_behaviour(behaviour)

    def reset(self) -> None:
        self.state.reset()

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def serve(
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    secrets: Sequence[str] = (),
    out: TextIO = sys.stdout,
) -> None:
    """Serve on host:port until KeyboardInterrupt or SIGTERM, then stop cleanly.

    ValueError for an unusable secret, before anything listens; OSError if the address
    cannot be listened on.
    """
    state = ReceiverState(secrets)
    server = ReceiverServer((host, port), state, out)
    count = f"{len(secrets)} secret" + ("s" if len(secrets) > 1 else "")
    banner = (
        f"Webhook receiver listening on {server.url} (any path; control under "
        f"{CONTROL_PREFIX}), verifying signatures with {count}; Ctrl+C to stop"
    )
    serve_until_stopped(server, banner, out)
