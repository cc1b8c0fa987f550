"""Settings → API tokens: each member's own tokens, every token for an owner, creating one
(shown once), and revoking with a confirmation."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from sounding.accounts.models import ApiToken, User, Workspace, hash_token
from tests.browser_fixtures import screenshot, serious_violations
from tests.conftest import PASSWORD, logged_in
from tests.test_members import sign_in

pytestmark = pytest.mark.django_db

TOKENS = reverse("tokens")
CREATE = reverse("token-create")
RAW = re.compile(r'value="(snd_[A-Za-z0-9_-]+)"')


def revoke_url(token: ApiToken) -> str:
    return reverse("token-revoke", args=[token.pk])


def api_status(raw: str) -> int:
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/api/v1/surveys").status_code


def rows(html: str) -> list[str]:
    return re.findall(r"<tr data-token=\"\d+\">(.*?)</tr>", html, re.S)


# --- The page -------------------------------------------------------------------------------


def test_the_settings_navigation_links_the_tokens_page(owner: User, viewer: User) -> None:
    for user in (owner, viewer):
        html = logged_in(user).get(TOKENS).content.decode()
        nav = re.search(r'<nav aria-label="Settings"[^>]*>(.*?)</nav>', html, re.S).group(1)  # type: ignore[union-attr]
        assert f'href="{TOKENS}" aria-current="page"' in nav
        members = logged_in(user).get(reverse("members")).content.decode()
        assert f'href="{TOKENS}"' in members


def test_the_page_needs_a_signed_in_member() -> None:
    response = Client().get(TOKENS)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    loner = User.objects.create_user("loner@example.test", PASSWORD)
    assert logged_in(loner).get(TOKENS).status_code == 403


def test_a_member_sees_only_their_own_tokens(
    workspace: Workspace, other_workspace: Workspace, owner: User, editor: User, outsider: User
) -> None:
    ApiToken.issue(workspace, editor, "editor ci", timezone.now() + timedelta(days=30))
    ApiToken.issue(workspace, owner, "owner script")
    ApiToken.issue(other_workspace, outsider, "globex")

    html = logged_in(editor).get(TOKENS).content.decode()

    assert [("editor ci" in row) for row in rows(html)] == [True]
    assert "owner script" not in html and "globex" not in html
    assert "Your tokens" in html
    assert "Active" in rows(html)[0]


def test_an_owner_sees_every_token_of_the_workspace_with_its_member(
    workspace: Workspace, other_workspace: Workspace, owner: User, viewer: User, outsider: User
) -> None:
    ApiToken.issue(workspace, viewer, "viewer export")
    ApiToken.issue(workspace, owner, "owner script")
    ApiToken.issue(other_workspace, outsider, "globex")

    html = logged_in(owner).get(TOKENS).content.decode()

    found = rows(html)
    assert len(found) == 2
    assert any("viewer export" in row and viewer.email in row for row in found)
    assert any("owner script" in row and owner.email in row and "You" in row for row in found)
    assert "globex" not in html
    assert "Tokens in Acme" in html


def test_ended_tokens_show_their_state(workspace: Workspace, owner: User) -> None:
    revoked, _ = ApiToken.issue(workspace, owner, "revoked one")
    revoked.revoke()
    ApiToken.issue(workspace, owner, "expired one", timezone.now() - timedelta(days=1))

    found = rows(logged_in(owner).get(TOKENS).content.decode())

    by_name = {("revoked" if "revoked one" in row else "expired"): row for row in found}
    assert "badge-revoked" in by_name["revoked"] and revoke_url(revoked) not in by_name["revoked"]
    assert "badge-expired" in by_name["expired"]


# --- Creating -------------------------------------------------------------------------------


def test_a_member_creates_a_token_and_sees_it_only_once(viewer: User, workspace: Workspace) -> None:
    client = logged_in(viewer)
    page = client.get(TOKENS).content.decode()
    assert re.search(r'value="90"[^>]* checked>', page)  # the default

    response = client.post(CREATE, {"name": "Nightly export", "expires": "90"})

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    match = RAW.search(html)
    assert match, html
    raw = match[1]
    assert "shown only this once" in html
    token = ApiToken.objects.get()
    assert token.token_hash == hash_token(raw)
    assert (token.user, token.workspace, token.name) == (viewer, workspace, "Nightly export")
    assert token.expires_at is not None
    assert abs(token.expires_at - (timezone.now() + timedelta(days=90))) < timedelta(minutes=1)
    assert api_status(raw) == 200
    # The next visit lists it, without the secret.
    again = client.get(TOKENS).content.decode()
    assert "Nightly export" in again
    assert raw not in again and not RAW.search(again)


def test_a_token_may_never_expire(owner: User) -> None:
    response = logged_in(owner).post(CREATE, {"name": "Forever", "expires": "never"})

    assert response.status_code == 200
    assert ApiToken.objects.get().expires_at is None
    assert "It works until it is revoked." in response.content.decode()


@pytest.mark.parametrize(
    "data, message",
    [
        ({"name": "", "expires": "30"}, "Enter a name."),
        ({"name": "   ", "expires": "30"}, "Enter a name."),
        ({"name": "x" * 101, "expires": "30"}, "at most 100 characters"),
        ({"name": "CI", "expires": "7"}, "Select a valid choice."),
        ({"name": "CI", "expires": "-1"}, "Select a valid choice."),
        ({"name": "CI"}, "This field is required."),
    ],
)
def test_bad_input_is_refused_with_the_reason(
    owner: User, data: dict[str, str], message: str
) -> None:
    response = logged_in(owner).post(CREATE, data)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ApiToken.objects.exists()
    assert not RAW.search(response.content.decode())


# --- Revoking -------------------------------------------------------------------------------


def test_a_member_revokes_their_token_after_confirming(workspace: Workspace, editor: User) -> None:
    token, raw = ApiToken.issue(workspace, editor, "ci")
    client = logged_in(editor)
    listed = client.get(TOKENS).content.decode()
    assert revoke_url(token) in listed

    confirm = client.get(revoke_url(token))

    assert confirm.status_code == 200
    html = confirm.content.decode()
    assert "Revoke this API token?" in html
    assert "“ci”" in html and 'name="csrfmiddlewaretoken"' in html
    token.refresh_from_db()
    assert token.revoked_at is None and api_status(raw) == 200  # asking changes nothing

    done = client.post(revoke_url(token), follow=True)

    assert done.redirect_chain[-1] == (TOKENS, 302)
    assert "is revoked" in done.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert api_status(raw) == 401
    assert "badge-revoked" in done.content.decode()


def test_revoking_needs_the_csrf_token(workspace: Workspace, editor: User) -> None:
    token, raw = ApiToken.issue(workspace, editor, "ci")
    client = Client(enforce_csrf_checks=True)
    client.force_login(editor)
    client.get(TOKENS)

    assert client.post(revoke_url(token)).status_code == 403

    assert api_status(raw) == 200


def test_a_non_owner_cannot_see_or_revoke_another_members_token(
    workspace: Workspace, owner: User, editor: User, viewer: User
) -> None:
    theirs, raw = ApiToken.issue(workspace, owner, "owner's")
    for member in (editor, viewer):
        client = logged_in(member)
        assert client.get(revoke_url(theirs)).status_code == 404
        assert client.post(revoke_url(theirs)).status_code == 404
    assert api_status(raw) == 200


def test_an_owner_revokes_a_members_token(workspace: Workspace, owner: User, viewer: User) -> None:
    theirs, raw = ApiToken.issue(workspace, viewer, "viewer's")
    client = logged_in(owner)

    confirm = client.get(revoke_url(theirs)).content.decode()
    assert viewer.email in confirm
    done = client.post(revoke_url(theirs), follow=True)

    assert f"of {viewer.email} is revoked" in done.content.decode()
    assert api_status(raw) == 401


def test_an_owner_cannot_reach_another_workspaces_tokens(
    other_workspace: Workspace, owner: User, outsider: User
) -> None:
    theirs, raw = ApiToken.issue(other_workspace, outsider)

    assert logged_in(owner).post(revoke_url(theirs)).status_code == 404

    assert api_status(raw) == 200


def test_revoking_a_revoked_token_says_so_and_changes_nothing(
    workspace: Workspace, owner: User
) -> None:
    token, _ = ApiToken.issue(workspace, owner, "ci")
    token.revoke()
    first = token.revoked_at
    client = logged_in(owner)

    for method in ("get", "post"):
        response = getattr(client, method)(revoke_url(token), follow=True)
        assert "was already revoked" in response.content.decode()

    token.refresh_from_db()
    assert token.revoked_at == first


# --- In a browser ---------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_tokens_page_works_on_a_phone_and_passes_axe(
    live_server: Any, phone: Any, owner: User, viewer: User, workspace: Workspace
) -> None:
    ApiToken.issue(workspace, viewer, "viewer export", timezone.now() + timedelta(days=30))
    sign_in(phone, live_server.url, owner.email)
    phone.goto(f"{live_server.url}{TOKENS}")
    phone.fill("#id_name", "Phone script")
    phone.check("input[name=expires][value='30']")
    phone.click("text=Create token")
    phone.wait_for_selector("#new-token")
    raw = phone.input_value("#new-token")
    assert raw.startswith("snd_") and api_status(raw) == 200
    assert phone.is_visible("button[data-copy=new-token]")  # JavaScript shows Copy
    assert serious_violations(phone) == []
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width}px wide on a 390px phone"
    screenshot(phone, "tokens-phone")

    mine = ApiToken.objects.get(name="Phone script")
    phone.goto(f"{live_server.url}{TOKENS}")
    assert raw not in phone.content()
    phone.click(f"a[href='{revoke_url(mine)}']")
    phone.wait_for_selector("text=Revoke this API token?")
    assert serious_violations(phone) == []
    phone.click("text=Revoke token")
    phone.wait_for_selector("text=requests with it now get 401")
    assert api_status(raw) == 401
