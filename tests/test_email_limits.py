"""Limits on the emails anyone can make Sounding send: password-reset links and invitations
(sounding.accounts.email_limits). Over real HTTP, see tests/test_throttle_processes.py."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from sounding.accounts import email_limits
from sounding.accounts.models import Invite, Role, User, Workspace
from tests.conftest import logged_in, make_user
from tests.throttle_fixtures import Clock

RESET = reverse("password-reset")
INVITE = reverse("member-invite")


def ask_reset(email: str, address: str = "192.0.2.10") -> Any:
    return Client(REMOTE_ADDR=address).post(RESET, {"email": email})


def comparable(page: str) -> str:
    page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", page)
    return re.sub(r'nonce(-[A-Za-z0-9+/=]+|="[^"]*")', "", page)


# --- Password reset ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_one_address_gets_at_most_three_reset_emails_an_hour_and_the_page_never_says(
    owner: User, clock: Clock
) -> None:
    sent_page = Client().get(reverse("password-reset-sent")).content.decode()
    for n in range(email_limits.RESET_PER_EMAIL):
        answer = ask_reset("Owner@Acme.test", address=f"192.0.2.{n + 1}")
        assert answer.status_code == 302 and answer["Location"] == reverse("password-reset-sent")
    assert len(mail.outbox) == 3
    limited = ask_reset("owner@acme.test", address="198.51.100.1")
    assert limited.status_code == 302 and limited["Location"] == reverse("password-reset-sent")
    assert len(mail.outbox) == 3
    follow = Client(REMOTE_ADDR="198.51.100.1").post(RESET, {"email": owner.email}, follow=True)
    assert comparable(follow.content.decode()) == comparable(sent_page)
    assert len(mail.outbox) == 3

    clock.advance(3600)
    assert ask_reset(owner.email).status_code == 302
    assert len(mail.outbox) == 4


@pytest.mark.django_db
def test_an_address_without_an_account_is_limited_the_same_way(owner: User, clock: Clock) -> None:
    answers = {}
    for email in (owner.email, "nobody@acme.test"):
        statuses = [ask_reset(email, address=f"192.0.2.{n}").status_code for n in range(5)]
        answers[email] = statuses
    assert answers[owner.email] == answers["nobody@acme.test"] == [302] * 5
    assert len(mail.outbox) == 3


@pytest.mark.django_db
def test_one_client_address_may_ask_ten_times_an_hour_then_is_told_when_to_come_back(
    owner: User, clock: Clock
) -> None:
    for n in range(email_limits.RESET_PER_ADDRESS):
        assert ask_reset(f"someone{n}@acme.test").status_code == 302
    clock.advance(60)
    with CaptureQueriesContext(connection) as queries:
        refused = ask_reset(owner.email)
    assert refused.status_code == 429
    assert refused["Retry-After"] == str(3600 - 60)
    page = refused.content.decode()
    assert "Too many password reset requests from your network. Try again in 59 minutes." in page
    assert 'name="email"' in page  # the form is still there
    assert mail.outbox == []
    writes = [q["sql"] for q in queries.captured_queries if not q["sql"].startswith("SELECT")]
    assert writes == []
    # Another address is not held up; after the hour this one may ask again.
    assert ask_reset(owner.email, address="198.51.100.1").status_code == 302
    clock.advance(3600 - 60)
    assert ask_reset(owner.email).status_code == 302
    assert len(mail.outbox) == 2


@pytest.mark.django_db
def test_a_bad_reset_form_counts_nothing(owner: User, clock: Clock) -> None:
    for _ in range(20):
        assert ask_reset("not an email").status_code == 200
    assert ask_reset(owner.email).status_code == 302
    assert len(mail.outbox) == 1


# --- Invitations ------------------------------------------------------------------------------


def invite(client: Client, email: str) -> Any:
    return client.post(INVITE, {"email": email, "role": Role.EDITOR})


@pytest.mark.django_db
def test_one_person_is_invited_at_most_three_times_an_hour(owner: User, clock: Clock) -> None:
    client = logged_in(owner)
    for _ in range(email_limits.INVITES_PER_PERSON):
        assert invite(client, "new@acme.test").status_code == 302
    assert len(mail.outbox) == 3
    pending = Invite.objects.get(email="new@acme.test")

    clock.advance(600)
    refused = invite(client, "New@acme.test")
    assert refused.status_code == 429 and refused["Retry-After"] == "3000"
    page = refused.content.decode()
    assert (
        "new@acme.test was invited 3 times within an hour, the most allowed. Try again in 50 "
        "minutes." in page
    )
    assert 'name="email"' in page and "new@acme.test" in page
    assert len(mail.outbox) == 3
    assert list(Invite.objects.filter(email="new@acme.test")) == [pending]  # its link works

    # Anyone else may be invited meanwhile; after the hour, this person again.
    assert invite(client, "other@acme.test").status_code == 302
    clock.advance(3000)
    assert invite(client, "new@acme.test").status_code == 302
    assert len(mail.outbox) == 5


@pytest.mark.django_db
def test_the_same_person_may_be_invited_to_another_workspace(
    owner: User, workspace: Workspace, clock: Clock
) -> None:
    elsewhere = Workspace.objects.create(name="Elsewhere")
    other_owner = make_user("boss@elsewhere.test", elsewhere, Role.OWNER)
    for _ in range(email_limits.INVITES_PER_PERSON):
        invite(logged_in(owner), "new@acme.test")
    assert invite(logged_in(owner), "new@acme.test").status_code == 429
    assert invite(logged_in(other_owner), "new@acme.test").status_code == 302


@pytest.mark.django_db
def test_one_owner_sends_at_most_thirty_invitations_an_hour(
    owner: User, workspace: Workspace, clock: Clock
) -> None:
    client = logged_in(owner)
    for n in range(email_limits.INVITES_PER_USER):
        assert invite(client, f"person{n}@acme.test").status_code == 302
    refused = invite(client, "one-more@acme.test")
    assert refused.status_code == 429 and refused["Retry-After"] == "3600"
    assert "You sent 30 invitations within an hour, the most allowed. Try again in 60 minutes." in (
        refused.content.decode()
    )
    assert len(mail.outbox) == 30
    assert not Invite.objects.filter(email="one-more@acme.test").exists()
    # Another owner of the workspace is not held up.
    co_owner = make_user("co@acme.test", workspace, Role.OWNER)
    assert invite(logged_in(co_owner), "one-more@acme.test").status_code == 302


@pytest.mark.django_db
def test_a_refused_invitation_uses_up_nothing(owner: User, clock: Clock) -> None:
    client = logged_in(owner)
    for _ in range(email_limits.INVITES_PER_PERSON):
        invite(client, "new@acme.test")
    for _ in range(10):
        assert invite(client, "new@acme.test").status_code == 429
    # Only the three that were sent count against the owner's thirty.
    for n in range(email_limits.INVITES_PER_USER - 3):
        assert invite(client, f"person{n}@acme.test").status_code == 302
    assert invite(client, "last@acme.test").status_code == 429
