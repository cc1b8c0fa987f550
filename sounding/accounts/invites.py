"""Inviting people into a workspace: issuing the one-time link, emailing it, and accepting it.

The link is the only proof the invitee holds, so it is long, stored only as a hash, expires
after a week, and is spent the moment it is accepted (a conditional update: two tabs racing
to accept it cannot both win).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from sounding.accounts.models import Invite, Membership, User, Workspace, hash_token
from sounding.addresses import canonical

logger = logging.getLogger(__name__)

# token_urlsafe(32) is 43 characters; anything much longer is not one of ours.
MAX_TOKEN_LENGTH = 100


class InviteGone(Exception):
    """The invitation was accepted, revoked or expired between showing it and using it."""


class AccountExists(Exception):
    """Someone created an account with the invited address meanwhile: they should sign in."""


# Backends that take a message without sending it to anyone (SOUNDING_EMAIL_URL console:,
# file:// or dummy:, console being the default): the inviter must hear that no email left.
NOT_SENT = {
    "django.core.mail.backends.console.EmailBackend": "console",
    "django.core.mail.backends.filebased.EmailBackend": "file",
    "django.core.mail.backends.dummy.EmailBackend": "dummy",
}


def email_goes_nowhere() -> str:
    """How this server keeps an email instead of sending it ("console", "file", "dummy"), or
    "" when it really sends email."""
    return NOT_SENT.get(settings.EMAIL_BACKEND, "")


@dataclass(frozen=True)
class Issued:
    invite: Invite
    link: str
    emailed: bool
    # Set when the email was accepted but not sent to anyone: see `email_goes_nowhere`.
    kept_by: str = ""


def site_url(request: HttpRequest, path: str) -> str:
    """An absolute link for an email: on the installation's canonical address, never on the
    request's Host header (see sounding.addresses)."""
    base = canonical(settings.SITE_URL, settings.SERVED_AT, request.build_absolute_uri("/"))
    return base.rstrip("/") + path


def find(raw: str) -> Invite | None:
    if not raw or len(raw) > MAX_TOKEN_LENGTH:
        return None
    return (
        Invite.objects.select_related("workspace", "invited_by")
        .filter(token_hash=hash_token(raw))
        .first()
    )


def send_invite_email(invite: Invite, link: str) -> bool:
    """Email the link; False (and a log line) when the mail server refuses or is unreachable."""
    inviter = invite.invited_by
    context = {
        "invite": invite,
        "link": link,
        "inviter": inviter.name or inviter.email if inviter else "",
    }
    subject = f"You are invited to {invite.workspace.name} on Sounding"
    body = render_to_string("accounts/invite_email.txt", context)
    try:
        send_mail(subject, body, None, [invite.email])
    except Exception:
        # The inviter is shown the link to pass on by hand; a mail outage must not lose it.
        logger.exception("Could not email the invitation %s", invite.pk)
        return False
    return True


def invite(request: HttpRequest, workspace: Workspace, email: str, role: str) -> Issued:
    """A fresh invitation for `email`; it replaces a pending one, whose link stops working."""
    with transaction.atomic():
        Invite.objects.filter(workspace=workspace, email=email, accepted_at__isnull=True).delete()
        issued, raw = Invite.issue(workspace, email, role, invited_by=request.user)  # type: ignore[arg-type]
    link = site_url(request, reverse("invite-accept", args=[raw]))
    emailed = send_invite_email(issued, link)
    return Issued(issued, link, emailed, email_goes_nowhere() if emailed else "")


def accept(invite: Invite, user: User) -> Membership:
    """Spend the invitation and make `user` a member; an existing membership keeps its role."""
    now = timezone.now()
    with transaction.atomic():
        spent = Invite.objects.filter(
            pk=invite.pk, accepted_at__isnull=True, expires_at__gt=now
        ).update(accepted_at=now)
        if not spent:
            raise InviteGone
        membership, _ = Membership.objects.get_or_create(
            user=user, workspace_id=invite.workspace_id, defaults={"role": invite.role}
        )
    return membership


def join_as_new_user(invite: Invite, name: str, password: str) -> User:
    try:
        with transaction.atomic():
            user = User.objects.create_user(invite.email, password, name=name)
            accept(invite, user)
    except IntegrityError:
        raise AccountExists from None
    return user
