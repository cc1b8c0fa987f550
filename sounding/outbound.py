"""The one place Sounding makes outbound HTTP requests.

Every call names a guard that decides whether the URL may be fetched (no user-supplied URL
reaches the network unchecked), never follows redirects, has bounded timeouts, identifies
itself, and reports every failure as one exception type that says whether the far end may
have acted on the request: that is what decides whether a retry can duplicate an event.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings

from sounding import __version__

USER_AGENT = f"partner-Sounding-Sounding/{__version__}"
# Connecting is quick or hopeless; a destination can take a few seconds to answer under load.
TIMEOUT = httpx.Timeout(10.0, connect=5.0)

log = logging.getLogger("sounding.wire")
_local = threading.local()


class OutboundError(Exception):
    """A request that got no HTTP answer.

    `maybe_applied` is False only when the request certainly never reached the far end
    (refused URL, connection refused, DNS failure), so retrying it cannot duplicate anything.
    """

    def __init__(self, message: str, *, maybe_applied: bool, timed_out: bool = False) -> None:
        super().__init__(message)
        self.maybe_applied = maybe_applied
        # Gave up waiting: unlike a closed connection, the far end may still act on it later.
        self.timed_out = timed_out


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Mapping[str, str]
    body: Any  # parsed JSON, or the text when it is not JSON
    elapsed: float


def _client() -> httpx.Client:
    # One client per thread: connections are reused across requests (keep-alive).
    client = getattr(_local, "client", None)
    if client is None:
        client = httpx.Client(
            timeout=TIMEOUT, follow_redirects=False, headers={"User-Agent": USER_AGENT}
        )
        _local.client = client
    return client


def post_json(
    url: str,
    payload: Any,
    *,
    headers: Mapping[str, str],
    allowed: Callable[[str], bool],
    timeout: float | None = None,
) -> Reply:
    if not allowed(url):
        raise OutboundError(f"{url} is not an allowed address", maybe_applied=False)
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    if settings.WIRE_LOG:
        log.debug("POST %s %s", url, body.decode())
    try:
        response = _client().post(
            url,
            content=body,
            headers={**headers, "Content-Type": "application/json"},
            timeout=timeout if timeout is not None else TIMEOUT,
        )
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        raise OutboundError(f"could not connect: {_describe(exc)}", maybe_applied=False) from exc
    except httpx.TimeoutException as exc:
        raise OutboundError(
            "no answer before the timeout", maybe_applied=True, timed_out=True
        ) from exc
    except httpx.HTTPError as exc:
        _reset_client()
        raise OutboundError(f"connection lost: {_describe(exc)}", maybe_applied=True) from exc
    return reply_of(response)


def reply_of(response: httpx.Response) -> Reply:
    """The answer as Sounding keeps it: JSON when it parses, else the start of the text."""
    try:
        parsed: Any = response.json()
    except ValueError:
        parsed = response.text[:2000]
    if settings.WIRE_LOG:
        log.debug("%s %s", response.status_code, response.text[:2000])
    return Reply(
        status=response.status_code,
        headers={k.lower(): v for k, v in response.headers.items()},
        body=parsed,
        elapsed=response.elapsed.total_seconds(),
    )


def _reset_client() -> None:
    # After a dropped connection, start from a fresh pool rather than reuse a broken socket.
    client = getattr(_local, "client", None)
    if client is not None:
        client.close()
        _local.client = None


def _describe(exc: Exception) -> str:
    return str(exc) or type(exc).__name__
