"""A local stand-in for Braze's REST API: `POST /users/track` plus control endpoints.

Sounding's delivery tests and demos need a Braze that
- enforces the documented rules (see `standin_rules`), so what it accepts Braze accepts too,
  including the objects per request of each kind of contract (`batch_limit`);
- misbehaves on demand: 5xx, 429 in either rate-limit header dialect, dropped connections,
  slowness, "applied but answered 500", one-shot from a queue or at random rates;
- answers the way Braze is met in production, also on demand: a fatal error under a 2xx, a
  2xx with an empty body, `errors` as plain strings, a 400 naming the objects it refuses,
  and counts of processed objects short of what was taken (see `FAULT_FIELDS`);
- keeps evidence: every request it received, the profiles it built, and a *violation* each
  time one user was in two requests in flight at once, which Sounding promises never to do
  because Braze processes requests asynchronously and two of them can race.

Standard library only and no Django, so it runs as `sounding fake-braze` or inside a test
(`start_in_thread`). Control endpoints live under /_standin/ and need no key; GET / is a small
page for whoever is demoing the product.
"""

from __future__ import annotations

import copy
import html
import json
import random
import select
import socket
import sys
import threading
import time
import traceback
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sounding.destinations.braze.standin_rules import (
    BATCH_LIMITS,
    DEFAULT_BATCH_LIMIT,
    MAX_BODY_BYTES,
    BodyError,
    CheckedBody,
    Profile,
    RateWindows,
    apply_change,
    check_body,
    count_objects,
    errors_naming,
    parse_json,
    rate_headers,
    stored_record,
    success_body,
    user_keys,
)
from sounding.local_http import (
    LocalHandler,
    LocalServer,
    Unreadable,
    serve_until_stopped,
)

TRACK_PATH = "/users/track"
CONTROL_PREFIX = "/_standin/"
DEFAULT_KEY = "standin-key"
DIALECTS = ("epoch", "seconds")
# Each fault kind of the queue (`POST /_standin/faults {"queue": [{"kind": ...}, ...]}`) and
# the fields it takes besides "kind":
# - status: answer `status` (400-599, default 500) with `body` (default {"message": phrase});
#   no key check, nothing applied.
# - rate_limited: a 429 asking to wait `retry_after` seconds (default 1), in the dialect set.
# - drop: close the connection without an answer.
# - slow: answer as usual, but only after `seconds`.
# - applied_then_500: apply the request, then answer 500.
# The next five check the key, the rate limit and the body as usual first, then:
# - fatal: answer `status` (200-299, default 201) with {"message": `message`, "errors": [...]}
#   and apply nothing. `message` defaults to FATAL_MESSAGE; `errors` (any JSON entries,
#   default none) are listed as given, followed by one {"type", "input_array", "index"} entry
#   for each object naming one of `users` (profile keys such as "braze_id:u-1").
# - bad_objects: answer `status` (400-499, default 400) with {"message": `message`, "errors":
#   [...]} naming every object the rules refuse and every object naming one of `users`, and
#   apply nothing (as Braze does for a 400).
# - empty_body: answer `status` (200-299, default 201) with `text` as the whole body (default
#   "": no body at all); the request is applied unless `applied` is false.
# - string_errors: apply the request and answer 201 "success" whose `errors` also lists
#   `errors` (non-empty strings, default STRING_ERRORS) as plain strings, naming no object.
# - short_counts: apply the request and answer 201 "success", but with `attributes_processed`
#   and `events_processed` lowered by `attributes` and `events` (default 1 each, never below 0).
FAULT_FIELDS = {
    "status": {"status", "body"},
    "rate_limited": {"retry_after"},
    "drop": set(),
    "slow": {"seconds"},
    "applied_then_500": set(),
    "fatal": {"status", "message", "errors", "users"},
    "bad_objects": {"status", "message", "users"},
    "empty_body": {"status", "text", "applied"},
    "string_errors": {"errors"},
    "short_counts": {"attributes", "events"},
}
# Faults that answer instead of Braze; the others change how a normal answer is given.
TERMINAL_FAULTS = ("status", "rate_limited", "drop")
# Faults that answer once the request has passed the key, rate-limit and body checks.
MISREPORTS = ("fatal", "bad_objects", "empty_body", "string_errors", "short_counts")
# What Braze answers, under a 201, to a request it could not use.
FATAL_MESSAGE = "Valid data must be provided in the 'attributes', 'events', or 'purchases' fields."
BAD_OBJECTS_MESSAGE = "Invalid objects in the request"
STRING_ERRORS = ("Something went wrong",)
PAGE_REQUESTS = 50
# Path -> HTTP method -> name of the StandinHandler method answering it.
ROUTES = {
    "/": {"GET": "_get_page"},
    CONTROL_PREFIX + "requests": {"GET": "_get_requests"},
    CONTROL_PREFIX + "users": {"GET": "_get_users"},
    CONTROL_PREFIX + "violations": {"GET": "_get_violations"},
    CONTROL_PREFIX + "stats": {"GET": "_get_stats"},
    CONTROL_PREFIX + "faults": {"GET": "_get_faults", "POST": "_post_faults"},
    CONTROL_PREFIX + "rate-limit": {"POST": "_post_rate_limit"},
    CONTROL_PREFIX + "keys": {"POST": "_post_keys"},
    CONTROL_PREFIX + "batch-limit": {"GET": "_get_batch_limit", "POST": "_post_batch_limit"},
    CONTROL_PREFIX + "reset": {"POST": "_post_reset"},
}
Query = dict[str, list[str]]


def _now_wall() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class StandinConfig:
    """What the stand-in starts with; `reset` returns to it, except for changed keys and limits."""

    api_keys: frozenset[str] = frozenset({DEFAULT_KEY})
    keys_without_permission: frozenset[str] = frozenset()
    rate_limit: int = 3000
    window: float = 3.0
    dialect: str = "epoch"
    known_users: frozenset[str] | None = None
    strict: bool = True
    verbose: bool = False
    # Objects per request, by contract: a name of `standin_rules.BATCH_LIMITS`.
    batch_limit: str = DEFAULT_BATCH_LIMIT

    @classmethod
    def create(
        cls,
        *,
        api_keys: Iterable[str] = (DEFAULT_KEY,),
        keys_without_permission: Iterable[str] = (),
        rate_limit: int = 3000,
        window: float = 3.0,
        dialect: str = "epoch",
        known_users: Iterable[str] | None = None,
        strict: bool = True,
        verbose: bool = False,
        batch_limit: str = DEFAULT_BATCH_LIMIT,
    ) -> StandinConfig:
        _check_rate_limit(rate_limit, window, dialect)
        _check_batch_limit(batch_limit)
        return cls(
            api_keys=frozenset(api_keys),
            keys_without_permission=frozenset(keys_without_permission),
            rate_limit=rate_limit,
            window=float(window),
            dialect=dialect,
            known_users=None if known_users is None else frozenset(known_users),
            strict=strict,
            verbose=verbose,
            batch_limit=batch_limit,
        )


def _check_batch_limit(name: Any) -> None:
    if not isinstance(name, str) or name not in BATCH_LIMITS:
        raise ValueError(f"batch_limit must be one of {', '.join(BATCH_LIMITS)}")


def _check_rate_limit(limit: Any, window: Any, dialect: Any) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError("limit must be a positive integer")
    if isinstance(window, bool) or not isinstance(window, int | float) or window <= 0:
        raise ValueError("window must be a positive number of seconds")
    if dialect not in DIALECTS:
        raise ValueError(f"dialect must be one of {', '.join(DIALECTS)}")


@dataclass(frozen=True)
class Fault:
    kind: str
    status: int = 500
    body: Any = None
    seconds: float = 0.0
    source: str = "queue"
    message: str = ""
    errors: tuple[Any, ...] = ()
    users: tuple[str, ...] = ()
    text: str = ""
    applied: bool = True
    short: tuple[int, int] = (0, 0)  # attributes, events

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "source": self.source}
        if self.kind == "status":
            out.update(status=self.status, body=self.body)
        elif self.kind == "rate_limited":
            out["retry_after"] = self.seconds
        elif self.kind == "slow":
            out["seconds"] = self.seconds
        elif self.kind in ("fatal", "bad_objects"):
            out.update(status=self.status, message=self.message, users=list(self.users))
            if self.kind == "fatal":
                out["errors"] = list(self.errors)
        elif self.kind == "empty_body":
            out.update(status=self.status, text=self.text, applied=self.applied)
        elif self.kind == "string_errors":
            out["errors"] = list(self.errors)
        elif self.kind == "short_counts":
            out.update(attributes=self.short[0], events=self.short[1])
        return out


def parse_fault(spec: Any) -> Fault:
    """A fault from its control-endpoint JSON; ValueError says what is wrong with it."""
    if not isinstance(spec, dict) or spec.get("kind") not in FAULT_FIELDS:
        raise ValueError(f"a fault is an object whose kind is one of {', '.join(FAULT_FIELDS)}")
    kind = spec["kind"]
    unknown = set(spec) - FAULT_FIELDS[kind] - {"kind"}
    if unknown:
        raise ValueError(f"unknown field(s) for a {kind} fault: {', '.join(sorted(unknown))}")
    if kind == "status":
        status = spec.get("status", 500)
        if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
            raise ValueError("status must be an HTTP error status (400-599)")
        body = spec.get("body", {"message": HTTPStatus(status).phrase})
        return Fault(kind, status=status, body=body)
    if kind in ("rate_limited", "slow"):
        name = "retry_after" if kind == "rate_limited" else "seconds"
        seconds = spec.get(name, 1.0 if kind == "rate_limited" else None)
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
            raise ValueError(f"{name} must be a number of seconds >= 0")
        return Fault(kind, seconds=float(seconds))
    if kind in MISREPORTS:
        return _parse_misreport(kind, spec)
    return Fault(kind)


def _parse_misreport(kind: str, spec: dict[str, Any]) -> Fault:
    if kind == "fatal":
        errors = spec.get("errors", [])
        if not isinstance(errors, list):
            raise ValueError("errors must be an array")
        return Fault(
            kind,
            status=_status_in(spec, 200, 299, 201),
            message=_message(spec, FATAL_MESSAGE),
            errors=tuple(errors),
            users=_strings(spec, "users", ()),
        )
    if kind == "bad_objects":
        return Fault(
            kind,
            status=_status_in(spec, 400, 499, 400),
            message=_message(spec, BAD_OBJECTS_MESSAGE),
            users=_strings(spec, "users", ()),
        )
    if kind == "empty_body":
        text, applied = spec.get("text", ""), spec.get("applied", True)
        if not isinstance(text, str):
            raise ValueError("text must be a string")
        if not isinstance(applied, bool):
            raise ValueError("applied must be true or false")
        return Fault(kind, status=_status_in(spec, 200, 299, 201), text=text, applied=applied)
    if kind == "string_errors":
        return Fault(kind, errors=_strings(spec, "errors", STRING_ERRORS))
    short = []
    for name in ("attributes", "events"):
        value = spec.get(name, 1)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a whole number >= 0")
        short.append(value)
    return Fault(kind, short=(short[0], short[1]))


def _status_in(spec: dict[str, Any], low: int, high: int, default: int) -> int:
    status = spec.get("status", default)
    if isinstance(status, bool) or not isinstance(status, int) or not low <= status <= high:
        raise ValueError(f"status must be an HTTP status from {low} to {high}")
    return status


def _message(spec: dict[str, Any], default: str) -> str:
    message = spec.get("message", default)
    if not isinstance(message, str) or not message.strip():
        raise ValueError("message must be a non-empty string")
    return message


def _strings(spec: dict[str, Any], name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    value = spec.get(name, list(default))
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValueError(f"{name} must be an array of non-empty strings")
    return tuple(value)


def _rate(payload: dict[str, Any], name: str) -> float:
    value = payload[name]
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValueError(f"{name} must be a number between 0 and 1")
    return float(value)


class StandinState:
    """Everything the stand-in knows, behind one lock; callers never hold it while sleeping."""

    def __init__(self, config: StandinConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._seq = 0
        self._in_flight: dict[str, set[int]] = {}
        self._active: dict[int, Fault | None] = {}
        self._clear()

    def _clear(self) -> None:
        config = self.config
        self._rates = RateWindows(config.rate_limit, config.window)
        self._log: list[dict[str, Any]] = []
        self._violations: list[dict[str, Any]] = []
        self._profiles = {user: Profile() for user in config.known_users or ()}
        self._faults: deque[Fault] = deque()
        self._error_rate = 0.0
        self._error_status = 503
        self._drop_rate = 0.0
        self._rng = random.Random()
        self._max_concurrent = len(self._active)

    # -- one /users/track request ------------------------------------------------------------

    def begin(self, users: set[str]) -> tuple[int, Fault | None]:
        """Register a request and its users as in flight; record a violation per shared user."""
        with self._lock:
            self._seq += 1
            seq = self._seq
            fault = self._take_fault()
            for user in sorted(users):
                others = self._in_flight.setdefault(user, set())
                if others:
                    self._violations.append(self._violation(user, seq, others))
                others.add(seq)
            self._active[seq] = fault
            self._max_concurrent = max(self._max_concurrent, len(self._active))
            return seq, fault

    def _violation(self, user: str, seq: int, others: set[int]) -> dict[str, Any]:
        # The other requests' faults matter: a client that timed out on a "slow" one cannot
        # know the stand-in is still busy with it, so tests may want to tell those apart.
        faults = [self._active.get(other) for other in sorted(others)]
        return {
            "user": user,
            "request": seq,
            "in_flight": sorted(others),
            "in_flight_faults": [fault.kind if fault else None for fault in faults],
            "at": time.monotonic(),
            "at_wall": _now_wall(),
        }

    def end(self, seq: int, users: set[str]) -> None:
        with self._lock:
            self._active.pop(seq, None)
            for user in users:
                seqs = self._in_flight.get(user)
                if seqs is not None:
                    seqs.discard(seq)
                    if not seqs:
                        del self._in_flight[user]

    def _take_fault(self) -> Fault | None:
        if self._faults:
            return self._faults.popleft()
        if not (self._drop_rate or self._error_rate):
            return None
        draw = self._rng.random()
        if draw < self._drop_rate:
            return Fault("drop", source="random")
        if draw < self._drop_rate + self._error_rate:
            body = {"message": HTTPStatus(self._error_status).phrase}
            return Fault("status", status=self._error_status, body=body, source="random")
        return None

    def authorize(self, authorization: str | None) -> tuple[str | None, tuple[int, str] | None]:
        """(the key, None) when it may call /users/track, else (key or None, refusal)."""
        scheme, _, key = (authorization or "").partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            return None, (401, "Invalid API key: missing Bearer token")
        with self._lock:
            if key in self.config.api_keys:
                return key, None
            if key in self.config.keys_without_permission:
                return key, (403, "Access denied: this key lacks the users.track permission")
        return None, (401, f"Invalid API key: ...{key[-4:]}")

    def consume_rate(self, key: str) -> tuple[bool, dict[str, str]]:
        with self._lock:
            allowed, remaining, reset_in = self._rates.hit(key, time.monotonic())
            headers = rate_headers(
                self._rates.limit, remaining, reset_in, self.config.dialect, limited=not allowed
            )
            return allowed, headers

    def peek_rate(self, key: str | None) -> dict[str, str]:
        with self._lock:
            remaining, reset_in = self._rates.peek(key, time.monotonic())
            return rate_headers(self._rates.limit, remaining, reset_in, self.config.dialect)

    def limited_for(self, seconds: float) -> dict[str, str]:
        with self._lock:
            return rate_headers(self._rates.limit, 0, seconds, self.config.dialect, limited=True)

    def apply(self, seq: int, checked: CheckedBody) -> list[str]:
        """Apply the valid objects; return the unknown users left alone (update-existing-only)."""
        skipped: list[str] = []
        with self._lock:
            for update in checked.attributes:
                profile = self._profile_for(update.user, update.update_existing_only, skipped)
                if profile is not None:
                    for key, change in update.changes.items():
                        apply_change(profile, key, change)
                    profile.update_existing_only = update.update_existing_only
            for items, kept in ((checked.events, "events"), (checked.purchases, "purchases")):
                for item in items:
                    profile = self._profile_for(item.user, item.update_existing_only, skipped)
                    if profile is not None:
                        getattr(profile, kept).append(stored_record(item, seq))
                        if item.update_existing_only is not None:
                            profile.update_existing_only = item.update_existing_only
        return skipped

    def _profile_for(
        self, user: str, existing_only: bool | None, skipped: list[str]
    ) -> Profile | None:
        profile = self._profiles.get(user)
        if profile is None:
            if existing_only and self.config.known_users is not None:
                skipped.append(user)
                return None
            profile = self._profiles[user] = Profile()
        return profile

    def record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._log.append(entry)

    def note(self, entry: dict[str, Any], **changes: Any) -> None:
        with self._lock:
            entry.update(changes)

    # -- control ----------------------------------------------------------------------------

    def requests(self, since: int = 0, last: int | None = None) -> list[dict[str, Any]]:
        """The log after sequence number `since`; only its `last` entries if given."""
        with self._lock:
            entries = [entry for entry in self._log if entry["seq"] > since]
            return copy.deepcopy(entries if last is None else entries[-last:])

    def users(self) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy({key: p.as_json() for key, p in self._profiles.items()})

    def violations(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._violations)

    def stats(self) -> dict[str, Any]:
        with self._lock:
            statuses = Counter(
                "dropped" if entry["status"] is None else str(entry["status"])
                for entry in self._log
            )
            return {
                "requests": len(self._log),
                "by_status": dict(sorted(statuses.items())),
                "applied": sum(1 for entry in self._log if entry["applied"]),
                "objects": sum(entry["objects"] for entry in self._log),
                "max_objects": max((entry["objects"] for entry in self._log), default=0),
                "max_concurrent": self._max_concurrent,
                "in_flight": len(self._active),
                "violations": len(self._violations),
                "users": len(self._profiles),
            }

    def faults(self) -> dict[str, Any]:
        with self._lock:
            return {
                "queue": [fault.describe() for fault in self._faults],
                "error_rate": self._error_rate,
                "error_status": self._error_status,
                "drop_rate": self._drop_rate,
            }

    def set_faults(self, payload: dict[str, Any]) -> dict[str, Any]:
        unknown = set(payload) - {"queue", "error_rate", "error_status", "drop_rate", "seed"}
        if unknown:
            raise ValueError(f"unknown field(s): {', '.join(sorted(unknown))}")
        queue = payload.get("queue", [])
        if not isinstance(queue, list):
            raise ValueError("queue must be an array of faults")
        faults = [parse_fault(spec) for spec in queue]
        seed = payload.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError("seed must be an integer")
        with self._lock:
            status = payload.get("error_status", self._error_status)
            if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
                raise ValueError("error_status must be an HTTP error status (400-599)")
            error_rate = (
                _rate(payload, "error_rate") if "error_rate" in payload else self._error_rate
            )
            drop_rate = _rate(payload, "drop_rate") if "drop_rate" in payload else self._drop_rate
            if error_rate + drop_rate > 1:
                raise ValueError("error_rate + drop_rate must not exceed 1")
            self._faults.extend(faults)
            self._error_rate, self._drop_rate, self._error_status = error_rate, drop_rate, status
            if "seed" in payload:
                self._rng.seed(seed)
        return self.faults()

    def set_rate_limit(self, payload: dict[str, Any]) -> dict[str, Any]:
        unknown = set(payload) - {"limit", "window", "dialect"}
        if unknown:
            raise ValueError(f"unknown field(s): {', '.join(sorted(unknown))}")
        with self._lock:
            config = self.config
            limit = payload.get("limit", config.rate_limit)
            window = payload.get("window", config.window)
            dialect = payload.get("dialect", config.dialect)
            _check_rate_limit(limit, window, dialect)
            self.config = replace(config, rate_limit=limit, window=float(window), dialect=dialect)
            self._rates = RateWindows(limit, float(window))
            return {"limit": limit, "window": float(window), "dialect": dialect}

    def batch_limit(self) -> dict[str, Any]:
        with self._lock:
            return {"batch_limit": self.config.batch_limit}

    def set_batch_limit(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Objects per request from now on, by contract: {"batch_limit": "50_combined"}."""
        unknown = set(payload) - {"batch_limit"}
        if unknown:
            raise ValueError(f"unknown field(s): {', '.join(sorted(unknown))}")
        name = payload.get("batch_limit", "")
        _check_batch_limit(name)
        with self._lock:
            self.config = replace(self.config, batch_limit=name)
            return {"batch_limit": name}

    def set_keys(self, payload: dict[str, Any]) -> dict[str, Any]:
        unknown = set(payload) - {"valid", "without_permission"}
        if unknown:
            raise ValueError(f"unknown field(s): {', '.join(sorted(unknown))}")
        with self._lock:
            valid = _key_list(payload, "valid", self.config.api_keys)
            denied = _key_list(payload, "without_permission", self.config.keys_without_permission)
            if valid & denied:
                raise ValueError("a key cannot be both valid and without permission")
            self.config = replace(self.config, api_keys=valid, keys_without_permission=denied)
            return {"valid": len(valid), "without_permission": len(denied)}

    def reset(self) -> None:
        """Forget requests, users, violations, faults and counters; keep keys and limits."""
        with self._lock:
            self._clear()


def _key_list(payload: dict[str, Any], name: str, current: frozenset[str]) -> frozenset[str]:
    if name not in payload:
        return current
    keys = payload[name]
    if not isinstance(keys, list) or not all(isinstance(k, str) and k for k in keys):
        raise ValueError(f"{name} must be an array of non-empty strings")
    return frozenset(keys)


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    applied: bool = False
    skipped: list[str] = field(default_factory=list)
    drop: bool = False
    raw: bool = False  # `body` is the text to send as is, not JSON


def mask_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Lower-cased headers, with the API key reduced to its last 4 characters."""
    out: dict[str, str] = {}
    for name, value in headers:
        name = name.lower()
        if name == "authorization":
            value = "*" * max(len(value) - 4, 4) + (value[-4:] if len(value) > 4 else "")
        out[name] = f"{out[name]}, {value}" if name in out else value
    return out


class StandinHandler(LocalHandler):
    server_version = "BrazeStandin/1"
    max_body_bytes = MAX_BODY_BYTES
    server: StandinServer

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    @property
    def state(self) -> StandinState:
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
        if url.path == TRACK_PATH:
            if self.command != "POST":
                self._send_json(405, {"message": "Method Not Allowed"}, {"Allow": "POST"})
            else:
                self._users_track(raw)
            return
        methods = ROUTES.get(url.path)
        if methods is None:
            self._send_json(404, {"message": "Not Found"})
        elif self.command not in methods:
            self._send_json(405, {"message": "Method Not Allowed"}, {"Allow": ", ".join(methods)})
        else:
            getattr(self, methods[self.command])(raw, parse_qs(url.query))

    def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> bool:
        return self._send(status, json.dumps(payload).encode(), "application/json", headers)

    def _peer_closed(self) -> bool:
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    # -- /users/track -------------------------------------------------------------------------

    def _users_track(self, raw: bytes | None) -> None:
        received, received_wall = time.monotonic(), _now_wall()
        body: Any = None
        error: BodyError | None = None
        if raw is not None:
            try:
                body = parse_json(raw)
            except BodyError as exc:
                error = exc
        users = user_keys(body)
        seq, fault = self.state.begin(users)
        try:
            reply = self._track_reply(seq, raw, body, error, fault)
        except Exception as exc:  # a stand-in bug must still answer, and be visible
            traceback.print_exc(file=sys.stderr)
            reply = Reply(500, {"message": f"stand-in error: {exc!r}"})
        finally:
            # Before answering: a fast client may send this user again the moment it reads
            # the answer, and that is not two requests in flight.
            self.state.end(seq, users)
        entry = {
            "seq": seq,
            "received_at": received,
            "received_at_wall": received_wall,
            "finished_at": time.monotonic(),
            "finished_at_wall": _now_wall(),
            "headers": mask_headers(self.headers.items()),
            "body_is_json": error is None and raw is not None,
            "body": body if error is None else _raw_text(raw),
            "body_bytes": int(self.headers.get("Content-Length") or 0),
            "objects": count_objects(body),
            "users": sorted(users),
            "status": None if reply.drop else reply.status,
            "response": reply.body,
            "response_headers": reply.headers,
            "fault": fault.describe() if fault else None,
            "applied": reply.applied,
            "skipped_unknown_users": reply.skipped,
            "client_gone": not reply.drop and self._peer_closed(),
        }
        self.state.record(entry)
        if reply.drop:
            self.close_connection = True
        elif not self._answer(reply):
            self.state.note(entry, client_gone=True)

    def _answer(self, reply: Reply) -> bool:
        if reply.raw:
            data = str(reply.body).encode()
            return self._send(reply.status, data, "application/json", reply.headers)
        return self._send_json(reply.status, reply.body, reply.headers)

    def _track_reply(
        self, seq: int, raw: bytes | None, body: Any, error: BodyError | None, fault: Fault | None
    ) -> Reply:
        if fault is not None and fault.kind in TERMINAL_FAULTS:
            return self._faulted(fault)
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.seconds)
        reply = self._process(seq, raw, body, error, fault)
        if fault is not None and fault.kind == "applied_then_500":
            reply = replace(reply, status=500, body={"message": "Internal Server Error"})
        return reply

    def _faulted(self, fault: Fault) -> Reply:
        if fault.kind == "drop":
            return Reply(0, None, drop=True)
        if fault.kind == "rate_limited":
            headers = self.state.limited_for(fault.seconds)
            return Reply(429, {"message": "Rate limit exceeded"}, headers)
        key, _ = self.state.authorize(self.headers.get("Authorization"))
        return Reply(fault.status, fault.body, self.state.peek_rate(key))

    def _process(
        self, seq: int, raw: bytes | None, body: Any, error: BodyError | None, fault: Fault | None
    ) -> Reply:
        if raw is None:
            message = f"Request body larger than {MAX_BODY_BYTES} bytes"
            return Reply(413, {"message": message}, self.state.peek_rate(None))
        key, refusal = self.state.authorize(self.headers.get("Authorization"))
        if refusal is not None:
            status, message = refusal
            return Reply(status, {"message": message}, self.state.peek_rate(key))
        allowed, headers = self.state.consume_rate(key or "")
        if not allowed:
            return Reply(429, {"message": "Rate limit exceeded"}, headers)
        try:
            if error is not None:
                raise error
            config = self.state.config
            checked = check_body(body, strict=config.strict, batch_limit=config.batch_limit)
        except BodyError as exc:
            return Reply(400, {"message": str(exc)}, headers)
        if fault is not None and fault.kind in MISREPORTS:
            return self._misreport(seq, fault, body, checked, headers)
        skipped = self.state.apply(seq, checked)
        return Reply(201, success_body(checked), headers, applied=True, skipped=skipped)

    def _misreport(
        self, seq: int, fault: Fault, body: Any, checked: CheckedBody, headers: dict[str, str]
    ) -> Reply:
        """The answer of a misreporting fault to a request that passed every check."""
        if fault.kind in ("fatal", "bad_objects"):
            named = errors_naming(body, fault.users)
            if fault.kind == "bad_objects":
                named = sorted(
                    {(e["input_array"], e["index"]): e for e in named + checked.errors}.values(),
                    key=lambda e: (e["input_array"], e["index"]),
                )
            answer: dict[str, Any] = {"message": fault.message, "errors": [*fault.errors, *named]}
            return Reply(fault.status, answer, headers)
        skipped = self.state.apply(seq, checked) if fault.applied else []
        if fault.kind == "empty_body":
            return Reply(fault.status, fault.text, headers, fault.applied, skipped, raw=True)
        answer = success_body(checked)
        if fault.kind == "string_errors":
            answer["errors"] = [*answer.get("errors", []), *fault.errors]
        for name, short in zip(("attributes", "events"), fault.short, strict=True):
            if f"{name}_processed" in answer:
                answer[f"{name}_processed"] = max(answer[f"{name}_processed"] - short, 0)
        return Reply(201, answer, headers, applied=True, skipped=skipped)

    # -- control endpoints --------------------------------------------------------------------

    def _get_users(self, *_: Any) -> None:
        self._reply({"users": self.state.users()})

    def _get_violations(self, *_: Any) -> None:
        self._reply({"violations": self.state.violations()})

    def _get_stats(self, *_: Any) -> None:
        self._reply(self.state.stats())

    def _get_faults(self, *_: Any) -> None:
        self._reply(self.state.faults())

    def _post_faults(self, raw: bytes | None, _query: Query) -> None:
        self._control(raw, self.state.set_faults)

    def _post_rate_limit(self, raw: bytes | None, _query: Query) -> None:
        self._control(raw, self.state.set_rate_limit)

    def _post_keys(self, raw: bytes | None, _query: Query) -> None:
        self._control(raw, self.state.set_keys)

    def _get_batch_limit(self, *_: Any) -> None:
        self._reply(self.state.batch_limit())

    def _post_batch_limit(self, raw: bytes | None, _query: Query) -> None:
        self._control(raw, self.state.set_batch_limit)

    def _post_reset(self, *_: Any) -> None:
        self.state.reset()
        self._reply({"message": "reset"})

    def _reply(self, payload: Any) -> None:
        self._send_json(200, payload)

    def _get_requests(self, _raw: bytes | None, query: Query) -> None:
        try:
            since = int(query.get("since", ["0"])[0])
        except ValueError:
            self._send_json(400, {"message": "since must be an integer"})
            return
        self._reply({"requests": self.state.requests(since)})

    def _control(self, raw: bytes | None, action: Callable[[dict[str, Any]], Any]) -> None:
        try:
            payload = parse_json(raw or b"{}") if raw is not None else None
            if not isinstance(payload, dict):
                raise ValueError("send a JSON object")
            self._reply(action(payload))
        except ValueError as exc:
            self._send_json(400, {"message": str(exc)})

    def _get_page(self, *_: Any) -> None:
        page = render_page(self.state.requests(last=PAGE_REQUESTS), self.state.users())
        self._send(200, page.encode(), "text/html; charset=utf-8")


def _raw_text(raw: bytes | None) -> str | None:
    return None if raw is None else raw.decode("utf-8", errors="replace")


def render_page(requests: list[dict[str, Any]], users: dict[str, Any]) -> str:
    """A plain page for demos: latest requests first, then the profiles."""
    esc = html.escape

    def cell(value: Any) -> str:
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        return f"<td>{esc(text)}</td>"

    request_rows = "".join(
        "<tr>"
        + "".join(
            cell(value)
            for value in (
                entry["seq"],
                entry["received_at_wall"],
                "dropped" if entry["status"] is None else entry["status"],
                entry["objects"],
                ", ".join(entry["users"]),
                (entry["fault"] or {}).get("kind", ""),
                "yes" if entry["applied"] else "no",
            )
        )
        + "</tr>"
        for entry in reversed(requests)
    )
    user_rows = "".join(
        f"<tr>{cell(key)}{cell(profile['attributes'])}{cell(len(profile['events']))}</tr>"
        for key, profile in sorted(users.items())
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Braze stand-in</title>
<meta http-equiv="refresh" content="5">
<style>body{{font-family:sans-serif;margin:2rem}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}}</style>
</head><body>
<h1>Braze stand-in</h1>
<h2>Latest requests to /users/track</h2>
<table><tr><th>#</th><th>Received</th><th>Status</th><th>Objects</th><th>Users</th>
<th>Fault</th><th>Applied</th></tr>{request_rows}</table>
<h2>Profiles</h2>
<table><tr><th>User</th><th>Attributes</th><th>Events</th></tr>{user_rows}</table>
</body></html>
"""


class StandinServer(LocalServer):
    def __init__(self, address: tuple[str, int], state: StandinState) -> None:
        self.state = state
        self.verbose = state.config.verbose
        super().__init__(address, StandinHandler)


class RunningStandin:
    """A stand-in serving from a background thread."""

    def __init__(self, server: StandinServer) -> None:
        self.server = server
        self.url = server.url
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()
        self._stopped = False

    def shutdown(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self.server.shutdown()
        self.server.close()
        self._thread.join(timeout=5)


def start_in_thread(host: str = "127.0.0.1", port: int = 0, **options: Any) -> RunningStandin:
    """Start a stand-in in a daemon thread; port 0 picks a free port.

    `options` are those of `StandinConfig.create` (the same as `serve`'s keyword arguments).
    """
    return RunningStandin(
        StandinServer((host, port), StandinState(StandinConfig.create(**options)))
    )


def serve(host: str = "127.0.0.1", port: int = 9911, **options: Any) -> None:
    """Serve the stand-in on host:port until KeyboardInterrupt or SIGTERM, then stop cleanly.

    `options` are those of `StandinConfig.create`:

    api_keys: keys with the users.track permission; keys_without_permission: known keys that
    get a 403. rate_limit requests per `window` seconds, counted per key; dialect "epoch"
    (X-RateLimit-Reset is a UTC epoch time) or "seconds" (seconds left, and a 429 carries
    X-Ratelimit-Retry-After). known_users: profile keys such as "braze_id:abc" that exist from
    the start; when given, `_update_existing_only: true` creates no other profile. strict:
    refuse standard profile fields as custom attributes. verbose: log each request to stderr.
    batch_limit: objects per request, by contract ("75_combined", "50_combined" or
    "75_per_array"; a request over it gets Braze's 400 "Max Input Length Exceeded").
    """
    config = StandinConfig.create(**options)
    server = StandinServer((host, port), StandinState(config))
    hint = f", API key {DEFAULT_KEY!r}" if DEFAULT_KEY in config.api_keys else ""
    serve_until_stopped(server, f"Braze stand-in listening on {server.url}{hint}; Ctrl+C to stop")
