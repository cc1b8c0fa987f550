"""Signed links on the respondent path: refuse a link whose identity its sender did not sign.

A survey with signed links on (a destination's `Plugin.link_keys`) accepts a link only when
its one identity parameter comes with `sig`, the HMAC-SHA256 of the identifier's kind and value
(`external_id:abc`) under the survey's secret (or the previous secret, during its grace period).
The kind is signed so that a signature made for someone's id of one kind cannot pass for an
id of another kind or an email that happens to be the same text. Links signed over the value alone,
sent before kinds were signed, keep working until the date the upgrade set
(`Keys.legacy_until`). A visit without any identity is
refused too, unless it continues a response that exists already (the `r` token of its form or
the cookie of its device): such a response could only have been started by a signed link.

This runs on every respondent request, so the survey's keys are kept per process and keyed on
the survey's version, which saving the signing setup bumps: a warm request costs no query.
"""

from __future__ import annotations

import hashlib
import hmac

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_noop

from sounding import destinations
from sounding.collect import store
from sounding.collect.flow import LinkContext
from sounding.collect.refusals import Refusal
from sounding.destinations.contract import LinkKeys
from sounding.surveys.cache import PerVersion
from sounding.surveys.models import Survey

COOKIE_PREFIX = "sr_"  # the respondent pages' cookie (sounding.collect.views)
MAX_SIGNATURE_LENGTH = 128  # a hex SHA-256 is 64 characters

HEADING = gettext_noop("This link cannot be used")
MISSING = Refusal(
    403,
    HEADING,
    gettext_noop(
        "This survey opens only from the link in the message you received. Open it again "
        "from that message."
    ),
)
CHANGED = Refusal(
    403,
    HEADING,
    gettext_noop(
        "This link is incomplete or was changed. Open the survey again from the message you "
        "received, without editing the link."
    ),
)


def keys_for(survey: Survey) -> LinkKeys:
    """The keys of the first destination that wants this survey's links signed."""
    for plugin in destinations.plugins():
        if plugin.link_keys is not None:
            keys = plugin.link_keys(survey.pk)
            if keys.required:
                return keys
    return LinkKeys()


# The survey's signing keys; no query once this process has seen its current version.
keys_of: PerVersion[LinkKeys] = PerVersion(keys_for)


def signature(secret: bytes, value: str) -> str:
    """HMAC-SHA256 as hex, as a message template's `hmac_sha256_hex` filter gives it."""
    return hmac.new(secret, value.encode(), hashlib.sha256).hexdigest()


def signed_message(kind: str, value: str) -> str:
    """What is signed: the kind, a colon, the value (`email:ivy@x.test`)."""
    return f"{kind}:{value}"


def signed(keys: LinkKeys, kind: str, value: str, sig: str) -> bool:
    sig = sig.strip().lower()
    if not sig or len(sig) > MAX_SIGNATURE_LENGTH:
        return False
    given = sig.encode()
    now = timezone.now()
    messages = [signed_message(kind, value)]
    if keys.legacy_until is not None and now < keys.legacy_until:
        messages.append(value)
    # Every valid key and form is tried, so the time taken does not tell which one matched.
    matches = [
        hmac.compare_digest(signature(secret, message).encode(), given)
        for secret in keys.valid_now(now)
        for message in messages
    ]
    return any(matches)


def _continues(request: HttpRequest, survey: Survey) -> bool:
    """Whether the request goes on with a response that exists already."""
    if request.method == "POST" and request.POST.get("r"):
        # An answer posted by a survey form: the view refuses a token it cannot find (400)
        # before storing anything, so no query is spent here on every answer.
        return True
    token = request.GET.get("r") or request.COOKIES.get(COOKIE_PREFIX + str(survey.pk), "")
    return bool(token) and store.response_by_token(survey, token[:64]) is not None


def check(request: HttpRequest, survey: Survey, ctx: LinkContext) -> Refusal | None:
    """Why this request may not go on, or None; a link whose identity is signed marks `ctx`
    as such. Nothing has been stored, nor counted against the survey, when it is called."""
    keys = keys_of(survey)
    if not keys.required:
        return None
    # The raw values: the signature covers exactly what the sender put in the link.
    given = [
        (kind, request.GET[identity.param])
        for kind, identity in destinations.identities().items()
        if request.GET.get(identity.param)
    ]
    if len(given) > 1:
        # An identity added beside the signed one could still name the profile updated.
        return CHANGED
    if given:
        kind, value = given[0]
        if not signed(keys, kind, value, request.GET.get("sig", "")):
            return CHANGED
        ctx.signed = True
        return None
    return None if _continues(request, survey) else MISSING


def forget() -> None:
    """Drop every cached key (tests; a process never needs to)."""
    keys_of.clear()
