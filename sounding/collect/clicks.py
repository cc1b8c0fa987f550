"""Links that carry an answer: telling a person's click from a mail scanner's.

A one-click score in an email is a link per score. Security scanners (Safe Links, Proofpoint,
Mimecast...) open every link of a message, usually with GET and often in a headless browser,
so opening such a link can never be the answer. It shows the question with the score
selected, and records the click here. The answer counts once it is confirmed:

- a submit of that screen (the only way without JavaScript), or a tap or key press on it:
  what a person does and a scanner does not;
- with JavaScript, the page having been visible for `CONFIRM_AFTER_SECONDS`. This one a
  scanner that runs scripts can meet too, so it is refused for a person whose clicks look
  like a scanner's: different answers within `CLICK_BURST_SECONDS`, or any HEAD of a link
  that carries an answer. Those clicks are marked suspected and never become answers by
  themselves; the person can still confirm by hand.

Clicks are not answers: no report, export or destination reads them.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from sounding.answers.models import LinkClick
from sounding.client_address import address_key, client_address
from sounding.collect.flow import LinkContext
from sounding.surveys.models import Survey


def who(request: HttpRequest, ctx: LinkContext) -> str:
    """The person a click is about: the link's identity, else its client's address, keyed
    so that the table never holds an address."""
    kind, value = ctx.primary
    if kind:
        return f"{kind}:{value}"
    address = client_address(request)
    text = address_key(address) if address is not None else ""
    digest = hmac.new(settings.SECRET_KEY.encode(), text.encode(), hashlib.sha256)
    return "addr:" + digest.hexdigest()[:32]


def _window() -> timedelta:
    return timedelta(seconds=settings.CLICK_BURST_SECONDS)


def record(survey: Survey, person: str, key: str, value: str, method: str) -> LinkClick:
    """Keep a click; mark it and its neighbours suspected when they look like a scanner's."""
    now = timezone.now()
    with transaction.atomic():
        click = LinkClick.objects.create(
            survey=survey,
            who=person,
            question_key=key,
            value=value[:255],
            method=method,
            at=now,
            suspected=method != "GET",
        )
        recent = LinkClick.objects.filter(survey=survey, who=person, at__gte=now - _window())
        # A person clicks one score, maybe twice, or changes their mind once after a while; a
        # scanner opens every link at once, and some send HEAD first.
        odd = recent.filter(Q(method__in=["HEAD"]) | ~Q(question_key=key) | ~Q(value=value[:255]))
        if click.suspected or odd.exists():
            recent.filter(suspected=False).update(suspected=True)
            click.suspected = True
    return click


def suspected(survey: Survey, person: str) -> bool:
    """Whether this person's recent clicks look like a scanner's."""
    since = timezone.now() - _window()
    return LinkClick.objects.filter(
        survey=survey, who=person, at__gte=since, suspected=True
    ).exists()


def confirmed(survey: Survey, person: str, key: str) -> int:
    """The person's unconfirmed clicks on this question are confirmed now: an answer to it was
    given by hand or by the time rule. Returns how many."""
    return LinkClick.objects.filter(
        survey=survey, who=person, question_key=key, confirmed_at__isnull=True
    ).update(confirmed_at=timezone.now())
