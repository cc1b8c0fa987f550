"""Limits on how fast answers come in: per client address and per survey.

Counted are the requests that can store something: every answer POST, and a GET whose link
carries an answer (which can create a response). Each is a token bucket in this process's
memory, so checking costs no query and no lock held for long; the catch is that each web
process counts on its own, and the effective limit is the setting times the number of web
processes. A bucket holds half a minute's worth of requests, so a burst (thirty people opening
the same email at once behind one office NAT) passes, and a flood is cut down to the rate.

The two limits are checked at different moments. The address limit comes first, before
anything else is looked at: whoever floods pays from their own bucket. The survey's limit is
shared by everyone answering it, so it is spent only by a request about to store something,
after its signature, its response and its answer were found good: a stream of refused links or
forged tokens must not lock real respondents out of the survey.

Requests from the machine itself (loopback) have no per-address limit: they are the operator's
own tools, or a reverse proxy on the same host that was not declared in
`SOUNDING_TRUSTED_PROXIES`, whose address would otherwise stand for every respondent at once.
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from threading import Lock

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext_noop

from sounding.client_address import address_key, client_address
from sounding.collect.flow import LinkContext
from sounding.collect.refusals import Refusal
from sounding.surveys.models import Survey

HEADING = gettext_noop("Too many answers at once")
FROM_ADDRESS = gettext_noop(
    "Too many answers came from your network in a short time. Wait a minute, then try again: "
    "the answers you already gave are saved."
)
FOR_SURVEY = gettext_noop(
    "This survey is receiving too many answers right now. Wait a minute, then try again: the "
    "answers you already gave are saved."
)
MAX_KEYS = 10_000
logger = logging.getLogger(__name__)
# Seconds from a clock that never goes back; tests put their own in.
clock: Callable[[], float] = time.monotonic


class Buckets:
    """Token buckets by key, the least recently used forgotten first: a bucket not touched
    for a while has refilled, so forgetting it changes nothing."""

    def __init__(self, name: str = "", max_keys: int = MAX_KEYS) -> None:
        self.name = name
        self.max_keys = max_keys
        # key -> tokens left, when counted, whether its requests are being refused
        self._buckets: OrderedDict[str, tuple[float, float, bool]] = OrderedDict()
        self._lock = Lock()

    def take(self, key: str, per_minute: int, now: float) -> float:
        """Spend one token: 0 when there was one, else the seconds until there is."""
        rate = per_minute / 60
        capacity = max(1.0, per_minute // 2)
        with self._lock:
            tokens, then, refusing = self._buckets.pop(key, (capacity, now, False))
            tokens = min(capacity, tokens + (now - then) * rate)
            wait = 0.0 if tokens >= 1 else (1 - tokens) / rate
            self._buckets[key] = (tokens - 1 if not wait else tokens, now, bool(wait))
            if len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        if wait and not refusing:
            # Once per flood, not once per refused request: the log must not become the flood.
            logger.warning("Rate limit: %s %s is over %d a minute.", self.name, key, per_minute)
        return wait

    def clear(self) -> None:
        with self._lock:
            self._buckets.clear()


by_address = Buckets("address")
by_survey = Buckets("survey")


def stores(request: HttpRequest, ctx: LinkContext) -> bool:
    """Whether the request can store something: an answer POST, or a link carrying answers."""
    return request.method == "POST" or (request.method == "GET" and bool(ctx.prefill))


def check_address(request: HttpRequest, ctx: LinkContext) -> Refusal | None:
    """A 429 refusal when the client's address is over its limit, else None (and the request
    is counted, if it is one that can store something)."""
    if not stores(request, ctx):
        return None
    address = client_address(request)
    per_address = settings.RATE_LIMIT_IP
    if per_address and address is not None and not address.is_loopback:
        wait = by_address.take(address_key(address), per_address, clock())
        if wait:
            return Refusal(429, HEADING, FROM_ADDRESS, math.ceil(wait))
    return None


def check_survey(survey: Survey) -> Refusal | None:
    """A 429 refusal when the survey is over its limit, else None (and it is counted). Called
    just before storing an answer, never for a request refused for another reason."""
    per_survey = settings.RATE_LIMIT_SURVEY
    if per_survey:
        # By slug: random and never reused, unlike an id.
        wait = by_survey.take(survey.slug, per_survey, clock())
        if wait:
            return Refusal(429, HEADING, FOR_SURVEY, math.ceil(wait))
    return None


def forget() -> None:
    """Empty every bucket (tests; a process never needs to)."""
    by_address.clear()
    by_survey.clear()
