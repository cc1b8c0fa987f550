"""Limits on the emails anyone can make Sounding send: password-reset links and invitations.

Password reset: at most RESET_PER_EMAIL emails an hour to one address. Further requests get
the usual "sent" page and nothing is sent: the page never says whether an address has an
account, nor whether it was limited. From one client address, at most RESET_PER_ADDRESS
requests an hour; further ones are answered 429 with when to come back.

Invitations: at most INVITES_PER_USER an hour from one person, and INVITES_PER_PERSON an hour
to one address in one workspace; over either, the form says so (429) and nothing is sent.

Each limit is a window of an hour from its first email. A request turned away by a limit
costs one read and adds to no count; one let through is counted with an upsert whose result
decides, so two requests at once cannot both take the last place.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.http import HttpRequest
from django.utils.translation import gettext, gettext_noop

from sounding.accounts import throttle
from sounding.accounts.models import User
from sounding.accounts.throttle import Refusal, Subject
from sounding.client_address import address_key, client_address

logger = logging.getLogger(__name__)

WINDOW = timedelta(hours=1)
RESET_PER_EMAIL = 3
RESET_PER_ADDRESS = 10
INVITES_PER_USER = 30
INVITES_PER_PERSON = 3

RESETS_FROM_ADDRESS = gettext_noop(
    "Too many password reset requests from your network. Try again in %(wait)s."
)
INVITES_BY_YOU = gettext_noop(
    "You sent %(count)d invitations within an hour, the most allowed. Try again in %(wait)s."
)
INVITES_TO_PERSON = gettext_noop(
    "%(email)s was invited %(count)d times within an hour, the most allowed. Try again in %(wait)s."
)


@dataclass(frozen=True)
class Limit:
    subject: Subject
    per_hour: int


def _take(limit: Limit, count: throttle.Count, now: datetime) -> datetime | None:
    """Count one email against `limit`, whose count was `count`: None when there was room,
    else when there is again (and nothing was counted, unless a concurrent request took the
    last place meanwhile)."""
    if count.events >= limit.per_hour:
        return count.reset_at
    spent = throttle.record(limit.subject, now, WINDOW, sliding=False)
    if spent == limit.per_hour:
        logger.info(
            "Email limit reached, %d an hour: %s %s",
            limit.per_hour,
            limit.subject.scope,
            limit.subject.name,
        )
    if spent <= limit.per_hour:
        return None
    return throttle.read([limit.subject], now)[limit.subject].reset_at


@dataclass(frozen=True)
class ResetVerdict:
    send: bool  # whether to email the link (when the address has an account)
    refusal: Refusal | None = None  # the request is turned away: a 429 saying this


def password_reset(request: HttpRequest, email: str) -> ResetVerdict:
    now = throttle.clock()
    by_email = Limit(Subject("reset-email", email.strip().lower()), RESET_PER_EMAIL)
    address = client_address(request)
    by_address = (
        Limit(Subject("reset-address", address_key(address)), RESET_PER_ADDRESS)
        if address is not None
        else None
    )
    limits = [by_email] if by_address is None else [by_email, by_address]
    counts = throttle.read([limit.subject for limit in limits], now)
    if by_address is not None:
        reopens = _take(by_address, counts[by_address.subject], now)
        if reopens is not None:
            return ResetVerdict(False, Refusal.until(gettext(RESETS_FROM_ADDRESS), reopens, now))
    # Over the email's limit the answer is the usual "sent" page: it tells nothing.
    return ResetVerdict(_take(by_email, counts[by_email.subject], now) is None)


def invitation(inviter: User, workspace_id: int, email: str) -> Refusal | None:
    """None when the invitation may be emailed (and it is counted), else why not."""
    now = throttle.clock()
    limits = {
        Limit(Subject("invite-user", str(inviter.pk)), INVITES_PER_USER): INVITES_BY_YOU,
        Limit(Subject("invite-person", f"{workspace_id}:{email}"), INVITES_PER_PERSON): (
            INVITES_TO_PERSON
        ),
    }
    counts = throttle.read([limit.subject for limit in limits], now)
    # Both looked at before either is counted: a refused invitation uses up nothing.
    for limit, message in limits.items():
        count = counts[limit.subject]
        if count.events >= limit.per_hour:
            return _refusal(message, limit, count.reset_at, now, email)
    for limit, message in limits.items():
        reopens = _take(limit, counts[limit.subject], now)
        if reopens is not None:
            return _refusal(message, limit, reopens, now, email)
    return None


def _refusal(message: str, limit: Limit, reopens: datetime, now: datetime, email: str) -> Refusal:
    return Refusal.until(gettext(message), reopens, now, count=limit.per_hour, email=email)
