"""Tests' handle on the Braze stand-in (`sounding.destinations.braze.standin`).

The fixture `braze_standin` starts a fresh stand-in on a free port of 127.0.0.1 for one test
and stops it afterwards. Every helper goes through the stand-in's HTTP control endpoints, as a
test of a separate process would, so nothing here depends on the server's internals.

Opt in with `pytest_plugins` in the root conftest, or per module with
`from tests.standin import braze_standin as braze_standin_fixture  # noqa: F401`: the fixture
carries its own name, and the alias keeps ruff from reporting every test argument named
`braze_standin` as a redefinition of the import (F811).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sounding.destinations.braze.standin import DEFAULT_KEY, RunningStandin, start_in_thread


def client(base_url: str = "", **options: Any) -> httpx.Client:
    """An HTTP client for the stand-in, which speaks plain HTTP on loopback.

    No TLS verification context: building one costs ~40 ms per client, a lot across a suite
    that starts a stand-in per test, and there is no TLS to verify.
    """
    return httpx.Client(base_url=base_url, timeout=10, verify=False, **options)


class StandinHarness:
    """A running stand-in plus typed helpers for its control endpoints.

    `http` is a pooled client on the stand-in's URL, for requests the helpers do not cover.
    """

    def __init__(self, running: RunningStandin, api_key: str = DEFAULT_KEY) -> None:
        self._running = running
        self.url = running.url
        self.api_key = api_key
        self.http = client(self.url)

    @classmethod
    def start(cls, **options: Any) -> StandinHarness:
        """Start a stand-in; `options` as for `start_in_thread` (api_keys, dialect, ...)."""
        keys = list(options.get("api_keys", [DEFAULT_KEY]))
        return cls(start_in_thread(**options), api_key=keys[0] if keys else DEFAULT_KEY)

    def stop(self) -> None:
        self.http.close()
        self._running.shutdown()

    # -- Braze's endpoint ---------------------------------------------------------------------

    @property
    def track_url(self) -> str:
        return f"{self.url}/users/track"

    def track(
        self, body: Any, *, api_key: str | None = None, timeout: float = 10
    ) -> httpx.Response:
        """POST a body to /users/track with this stand-in's key (or `api_key`)."""
        headers = {"Authorization": f"Bearer {api_key or self.api_key}"}
        return self.http.post("/users/track", json=body, headers=headers, timeout=timeout)

    # -- control endpoints --------------------------------------------------------------------

    def _get(self, path: str, **params: Any) -> Any:
        response = self.http.get(f"/_standin/{path}", params=params)
        response.raise_for_status()
        return response.json()

    def _post(self, path: str, payload: dict[str, Any]) -> Any:
        response = self.http.post(f"/_standin/{path}", json=payload)
        response.raise_for_status()
        return response.json()

    def queue(self, *faults: dict[str, Any]) -> None:
        """Append one-shot faults, each used by the next /users/track request in turn: e.g.
        `{"kind": "status", "status": 503}` or `{"kind": "fatal"}`; every kind and its fields
        are listed with `FAULT_FIELDS` in sounding/destinations/braze/standin.py."""
        self._post("faults", {"queue": list(faults)})

    def set_faults(self, **rates: Any) -> None:
        """Random faults: error_rate, error_status, drop_rate, seed."""
        self._post("faults", rates)

    def faults(self) -> dict[str, Any]:
        return self._get("faults")

    def set_rate_limit(self, limit: int, window_seconds: float, dialect: str = "epoch") -> None:
        self._post("rate-limit", {"limit": limit, "window": window_seconds, "dialect": dialect})

    def set_batch_limit(self, batch_limit: str) -> None:
        """Objects per request from now on, by contract: "75_combined", "50_combined" or
        "75_per_array" (see BATCH_LIMITS in standin_rules.py)."""
        self._post("batch-limit", {"batch_limit": batch_limit})

    def set_keys(
        self, valid: list[str] | None = None, without_permission: list[str] | None = None
    ) -> None:
        payload: dict[str, Any] = {}
        if valid is not None:
            payload["valid"] = valid
        if without_permission is not None:
            payload["without_permission"] = without_permission
        self._post("keys", payload)

    def requests(self, since: int = 0) -> list[dict[str, Any]]:
        """The /users/track requests received, oldest first (`since`: after that seq)."""
        return self._get("requests", since=since)["requests"]

    def users(self) -> dict[str, dict[str, Any]]:
        """Profiles by key, e.g. `braze_id:abc` -> attributes, types, events, ..."""
        return self._get("users")["users"]

    def violations(self) -> list[dict[str, Any]]:
        """Each time a user arrived while already in another request in flight."""
        return self._get("violations")["violations"]

    def stats(self) -> dict[str, Any]:
        return self._get("stats")

    def reset(self) -> None:
        self._post("reset", {})

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """The request log once it holds at least `count` requests; fails after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            received = self.requests()
            if len(received) >= count:
                return received
            if time.monotonic() > deadline:
                raise AssertionError(f"the stand-in got {len(received)} requests, not {count}")
            time.sleep(0.02)


@pytest.fixture(name="braze_standin")
def braze_standin() -> Iterator[StandinHarness]:
    """A fresh Braze stand-in for one test, with the default key and limits."""
    harness = StandinHarness.start()
    try:
        yield harness
    finally:
        harness.stop()
