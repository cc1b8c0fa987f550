"""Signing in and out, the first-run setup, and switching workspace, through the web pages."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from sounding.accounts.models import Membership, Role, User, Workspace
from sounding.surveys.models import Survey
from sounding.surveys.permissions import SESSION_KEY
from tests.conftest import PASSWORD, logged_in

SETUP = {
    "email": "Founder@Example.com",
    "password1": PASSWORD,
    "password2": PASSWORD,
    "workspace": "Acme",
}


def signed_in_email(client: Client) -> str | None:
    user = client.get(reverse("survey-list")).wsgi_request.user
    return user.email if user.is_authenticated else None


@pytest.mark.django_db
def test_a_fresh_install_sends_the_first_visitor_from_login_to_setup() -> None:
    response = Client().get(reverse("login"))
    assert response.status_code == 302
    assert response["Location"] == reverse("setup")
    page = Client().get(reverse("setup"))
    assert page.status_code == 200
    assert b"Create account" in page.content


@pytest.mark.django_db
def test_setup_creates_the_owner_and_their_workspace_and_signs_them_in() -> None:
    client = Client()
    response = client.post(reverse("setup"), SETUP)
    assert response.status_code == 302
    assert response["Location"] == reverse("survey-list")
    user = User.objects.get()
    assert user.email == "founder@example.com"
    membership = Membership.objects.get(user=user)
    assert membership.role == Role.OWNER
    assert membership.workspace.name == "Acme"
    assert signed_in_email(client) == "founder@example.com"


@pytest.mark.django_db
def test_setup_with_differing_passwords_shows_the_error_and_creates_nothing() -> None:
    response = Client().post(reverse("setup"), {**SETUP, "password2": "something else entirely"})
    assert response.status_code == 200
    assert b"The two passwords differ." in response.content
    assert not User.objects.exists()
    assert not Workspace.objects.exists()


@pytest.mark.django_db
def test_setup_refuses_a_weak_password() -> None:
    weak = {**SETUP, "password1": "password", "password2": "password"}
    response = Client().post(reverse("setup"), weak)
    assert response.status_code == 200
    assert b"too common" in response.content
    assert not User.objects.exists()


@pytest.mark.django_db
def test_setup_is_gone_once_any_user_exists(owner: User) -> None:
    assert Client().get(reverse("setup")).status_code == 404
    takeover = {**SETUP, "email": "intruder@evil.test"}
    assert Client().post(reverse("setup"), takeover).status_code == 404
    assert logged_in(owner).get(reverse("setup")).status_code == 404
    assert list(User.objects.values_list("email", flat=True)) == [owner.email]
    assert Workspace.objects.count() == 1


@pytest.mark.django_db
def test_the_home_page_sends_visitors_to_sign_in_and_members_to_their_surveys(
    owner: User,
) -> None:
    assert Client().get("/")["Location"] == reverse("login")
    assert logged_in(owner).get("/")["Location"] == reverse("survey-list")


@pytest.mark.django_db
def test_signing_in_with_email_and_password_opens_the_survey_list(owner: User) -> None:
    client = Client()
    page = client.get(reverse("login"))
    assert page.status_code == 200
    assert b'<label for="id_username">Email</label>' in page.content
    response = client.post(reverse("login"), {"username": "OWNER@acme.test", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("survey-list")
    assert signed_in_email(client) == owner.email


@pytest.mark.django_db
def test_signing_in_returns_to_the_page_that_asked_for_it(owner: User) -> None:
    client = Client()
    target = reverse("survey-new")
    asked = client.get(target)
    assert asked["Location"] == f"{reverse('login')}?next={target}"
    response = client.post(
        reverse("login"), {"username": owner.email, "password": PASSWORD, "next": target}
    )
    assert response["Location"] == target


@pytest.mark.django_db
def test_a_wrong_password_shows_a_clear_error_and_signs_no_one_in(owner: User) -> None:
    client = Client()
    response = client.post(reverse("login"), {"username": owner.email, "password": "nope"})
    assert response.status_code == 200
    assert b"That email and password do not match an account." in response.content
    assert signed_in_email(client) is None


@pytest.mark.django_db
def test_a_signed_in_user_visiting_login_goes_to_their_surveys(owner: User) -> None:
    response = logged_in(owner).get(reverse("login"))
    assert response["Location"] == reverse("survey-list")


@pytest.mark.django_db
def test_signing_out_takes_a_post_and_ends_the_session(owner: User) -> None:
    client = logged_in(owner)
    assert client.get(reverse("logout")).status_code == 405
    assert signed_in_email(client) == owner.email
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert signed_in_email(client) is None


@pytest.mark.django_db
def test_every_page_form_carries_a_csrf_token(owner: User) -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("login"), {"username": owner.email, "password": PASSWORD})
    assert response.status_code == 403
    page = client.get(reverse("login")).content.decode()
    assert page.count("csrfmiddlewaretoken") == page.count('method="post"') == 1


def second_workspace(user: User, role: str = Role.VIEWER) -> Workspace:
    globex = Workspace.objects.create(name="Globex")
    Membership.objects.create(user=user, workspace=globex, role=role)
    return globex


def titles_listed(client: Client) -> list[str]:
    surveys = client.get(reverse("survey-list")).context["surveys"]
    return [s.title for s in surveys]


@pytest.mark.django_db
def test_a_member_of_two_workspaces_starts_in_the_first_and_can_switch(
    owner: User, workspace: Workspace
) -> None:
    globex = second_workspace(owner)
    Survey.create(workspace, {"title": "Acme survey"})
    Survey.create(globex, {"title": "Globex survey"})
    client = logged_in(owner)
    page = client.get(reverse("survey-list")).content.decode()
    assert 'name="workspace"' in page  # the switcher shows for several workspaces
    assert titles_listed(client) == ["Acme survey"]
    response = client.post(reverse("workspace-switch"), {"workspace": globex.pk})
    assert response["Location"] == reverse("survey-list")
    assert titles_listed(client) == ["Globex survey"]
    assert client.session[SESSION_KEY] == globex.pk


@pytest.mark.django_db
def test_switching_to_a_workspace_one_does_not_belong_to_changes_nothing(
    owner: User, workspace: Workspace, other_workspace: Workspace
) -> None:
    Survey.create(other_workspace, {"title": "Not yours"})
    client = logged_in(owner)
    for value in (other_workspace.pk, "abc", 2**70):
        response = client.post(reverse("workspace-switch"), {"workspace": value})
        assert response.status_code == 302
    assert titles_listed(client) == []
    assert SESSION_KEY not in client.session


@pytest.mark.django_db
def test_the_role_in_the_current_workspace_is_the_one_that_counts(
    owner: User, workspace: Workspace
) -> None:
    globex = second_workspace(owner, Role.VIEWER)
    client = logged_in(owner)
    client.post(reverse("workspace-switch"), {"workspace": globex.pk})
    assert client.get(reverse("survey-new")).status_code == 403


@pytest.mark.django_db
def test_a_user_without_a_workspace_is_told_so(db: Any) -> None:
    loner = User.objects.create_user("loner@example.test", PASSWORD)
    response = logged_in(loner).get(reverse("survey-list"))
    assert response.status_code == 403
    assert b"not a member of any workspace" in response.content
