"""Limits on signing in: growing delays after failures, then a lockout, per account and per
client address.

Per account (the email typed, lower-cased, whether or not it has an account, so that the
answers tell nothing about who has one): ACCOUNT.free failures are answered at once; after
each further one, the next attempt waits 2, 4, 8… seconds; at ACCOUNT.lockout_at failures,
the account is locked for the lockout window. Signing in clears its count.

Per client address (an IPv6 client by its /64), looser, for many accounts tried from one
place: ADDRESS.free failures at once, then delays doubling up to ADDRESS.max_delay, and the
lockout at ADDRESS.lockout_at. Signing in does not clear it: an attacker holding one real
account must not be able to wipe their record with it.

A count is forgotten once no failure was added for the lockout window
(`SOUNDING_SIGNIN_LOCKOUT_SECONDS`, 900 by default); no delay is longer than that window.

The check runs before the password is: a refused attempt costs one read, no password hashing
(the slow part of a sign-in, on purpose) and no write, so a flood of them cannot take the
service down. Requests from the machine itself are counted like any other: put a reverse
proxy in SOUNDING_TRUSTED_PROXIES, or everyone signs in from its address.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext, gettext_noop

from sounding.accounts import throttle
from sounding.accounts.throttle import Count, Refusal, Subject
from sounding.client_address import address_key, client_address

logger = logging.getLogger(__name__)

FOR_ACCOUNT = gettext_noop(
    "Too many failed sign-ins for this email. Try again in %(wait)s, or reset your password."
)
FROM_ADDRESS = gettext_noop("Too many failed sign-ins from your network. Try again in %(wait)s.")


@dataclass(frozen=True)
class Policy:
    scope: str
    free: int  # failures answered without delay
    lockout_at: int  # failures that lock for the whole window
    max_delay: int | None  # seconds; the window caps every delay anyway
    message: str

    def wait_after(self, failures: int, window: int) -> int:
        """Seconds the next attempt must wait after the last of `failures`."""
        if failures >= self.lockout_at:
            return window
        if failures <= self.free:
            return 0
        delay = 2 ** (failures - self.free)
        return min(delay, self.max_delay or delay, window)


ACCOUNT = Policy("signin-account", free=3, lockout_at=10, max_delay=None, message=FOR_ACCOUNT)
ADDRESS = Policy("signin-address", free=20, lockout_at=50, max_delay=60, message=FROM_ADDRESS)


def window_seconds() -> int:
    return int(settings.SIGNIN_LOCKOUT_SECONDS)


class SignIn:
    """One attempt to sign in: its counts, read once, then its outcome recorded."""

    def __init__(self, request: HttpRequest | None, email: str) -> None:
        self.window = window_seconds()
        self.policies: dict[Subject, Policy] = {Subject(ACCOUNT.scope, email): ACCOUNT}
        address = client_address(request) if request is not None else None
        if address is not None:
            self.policies[Subject(ADDRESS.scope, address_key(address))] = ADDRESS
        self.now = throttle.clock()
        self.counts = throttle.read(self.policies, self.now)

    def refusal(self) -> Refusal | None:
        """Why this attempt may not try its password, or None. The later release is named
        when both the account and the address are waiting."""
        latest: tuple[datetime, Policy] | None = None
        for subject, policy in self.policies.items():
            until = self._free_at(self.counts[subject], policy)
            if until > self.now and (latest is None or until > latest[0]):
                latest = (until, policy)
        if latest is None:
            return None
        return Refusal.until(gettext(latest[1].message), latest[0], self.now)

    def _free_at(self, count: Count, policy: Policy) -> datetime:
        wait = policy.wait_after(count.events, self.window)
        return count.last_at + timedelta(seconds=wait) if wait else self.now

    def failed(self) -> None:
        now = throttle.clock()
        span = timedelta(seconds=self.window)
        for subject, policy in self.policies.items():
            failures = throttle.record(subject, now, span, sliding=True)
            if failures == policy.lockout_at:
                # Once per lockout: refused attempts are not logged, or the log would flood.
                logger.warning(
                    "Sign-in locked for %d s after %d failures: %s %s",
                    self.window,
                    failures,
                    subject.scope,
                    subject.name,
                )

    def succeeded(self) -> None:
        for subject, policy in self.policies.items():
            if policy is ACCOUNT and self.counts[subject].events:
                throttle.clear(subject)
