"""Settings → Members: the list, invitations and accepting them, roles, removing and leaving,
and the rule that a workspace always keeps an owner."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from sounding.accounts.models import (
    ApiToken,
    Invite,
    Membership,
    Role,
    User,
    Workspace,
    hash_token,
)
from sounding.surveys.permissions import SESSION_KEY
from tests.browser_fixtures import screenshot, serious_violations
from tests.conftest import PASSWORD, logged_in, make_user

MEMBERS = reverse("members")
LINK = re.compile(r"https?://[^\s\"<]+/invite/[A-Za-z0-9_-]+")


def invite(client: Client, email: str, role: str = Role.EDITOR) -> str:
    """Invite `email` through the page; return the link shown to the inviter."""
    response = client.post(reverse("member-invite"), {"email": email, "role": role})
    assert response.status_code == 302, response.content.decode()[:2000]
    page = client.get(MEMBERS).content.decode()
    match = LINK.search(page)
    assert match, "the members page shows the new invitation's link"
    return match.group(0)


def path_of(link: str) -> str:
    return "/" + link.split("/", 3)[3]


def membership_of(user: User, workspace: Workspace) -> Membership | None:
    return Membership.objects.filter(user=user, workspace=workspace).first()


# --- The page -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_every_member_sees_the_members_and_their_roles(
    owner: User, editor: User, viewer: User
) -> None:
    owner.name = "Olive Owner"
    owner.save()
    page = logged_in(viewer).get(MEMBERS)
    assert page.status_code == 200
    html = page.content.decode()
    for user in (owner, editor, viewer):
        assert user.email in html
    assert "Olive Owner" in html
    rows = re.findall(r"<tr>\s*<th scope=\"row\">(.*?)</tr>", html, re.S)
    roles = {re.search(r"[\w.]+@acme\.test", row).group(0): row for row in rows}  # type: ignore[union-attr]
    assert "<td>Owner</td>" in roles[owner.email]
    assert "<td>Editor</td>" in roles[editor.email]
    assert "<td>Viewer</td>" in roles[viewer.email]


@pytest.mark.django_db
def test_only_owners_get_the_invite_form_and_the_role_controls(
    owner: User, editor: User, viewer: User
) -> None:
    owner_page = logged_in(owner).get(MEMBERS).content.decode()
    assert "Invite someone" in owner_page
    assert (
        reverse("member-role", args=[membership_of(editor, editor.memberships.get().workspace).pk])
        in owner_page
    )  # type: ignore[union-attr]
    for user in (editor, viewer):
        html = logged_in(user).get(MEMBERS).content.decode()
        assert "Invite someone" not in html
        assert "member-role" not in html and "/role" not in html
        assert "Only owners can invite people" in html
        assert reverse("member-leave") in html  # but they may leave


@pytest.mark.django_db
def test_the_main_navigation_links_members_for_every_member(
    owner: User, viewer: User, live_survey: Any
) -> None:
    for user in (owner, viewer):
        html = logged_in(user).get(reverse("survey-list")).content.decode()
        nav = re.search(r'<nav aria-label="Main">(.*?)</nav>', html, re.S).group(1)  # type: ignore[union-attr]
        assert f'href="{MEMBERS}"' in nav


@pytest.mark.django_db
def test_the_settings_navigation_shows_braze_to_owners_only(owner: User, editor: User) -> None:
    def settings_nav(user: User) -> str:
        html = logged_in(user).get(MEMBERS).content.decode()
        return re.search(r'<nav aria-label="Settings"[^>]*>(.*?)</nav>', html, re.S).group(1)  # type: ignore[union-attr]

    owners = settings_nav(owner)
    assert reverse("braze-settings") in owners
    assert f'href="{MEMBERS}" aria-current="page"' in owners
    assert reverse("braze-settings") not in settings_nav(editor)


@pytest.mark.django_db
def test_the_members_page_needs_a_signed_in_member(outsider: User) -> None:
    response = Client().get(MEMBERS)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    loner = User.objects.create_user("loner@example.test", PASSWORD)
    assert logged_in(loner).get(MEMBERS).status_code == 403


# --- Inviting -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_owner_invites_by_email_and_sees_the_link_once(
    owner: User, workspace: Workspace
) -> None:
    client = logged_in(owner)
    link = invite(client, "New.Person@Example.com", Role.VIEWER)
    stored = Invite.objects.get()
    assert stored.email == "new.person@example.com"
    assert stored.role == Role.VIEWER
    assert stored.workspace == workspace
    assert stored.invited_by == owner
    assert stored.accepted_at is None
    raw = link.rsplit("/", 1)[1]
    assert stored.token_hash == hash_token(raw) and raw not in stored.token_hash
    assert timedelta(days=7) - (stored.expires_at - timezone.now()) < timedelta(minutes=1)
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == ["new.person@example.com"]
    assert "Acme" in sent.subject
    assert link in sent.body
    assert "as viewer" in sent.body
    # Shown once: a second visit no longer carries the link.
    assert raw not in client.get(MEMBERS).content.decode()
    assert "new.person@example.com" in client.get(MEMBERS).content.decode()  # still pending


@pytest.mark.django_db
def test_the_invitation_link_starts_with_the_public_address(owner: User, settings: Any) -> None:
    settings.SITE_URL = "https://surveys.example.com"
    link = invite(logged_in(owner), "someone@example.com")
    assert link.startswith("https://surveys.example.com/invite/")
    assert link in mail.outbox[0].body


class RefusingBackend:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def send_messages(self, messages: Any) -> int:
        raise ConnectionRefusedError("no mail server")


@pytest.mark.django_db
def test_when_email_cannot_be_sent_the_inviter_is_told_and_still_gets_the_link(
    owner: User, settings: Any
) -> None:
    settings.EMAIL_BACKEND = f"{__name__}.RefusingBackend"
    client = logged_in(owner)
    response = client.post(reverse("member-invite"), {"email": "x@example.com", "role": "editor"})
    assert response.status_code == 302
    html = client.get(MEMBERS).content.decode()
    assert "The email could not be sent." in html
    assert LINK.search(html)
    assert Invite.objects.filter(email="x@example.com").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("backend", "said"),
    [
        ("console", "This server prints emails in its log instead of sending them"),
        ("filebased", "This server writes emails to files on its disk"),
        ("dummy", "This server is set up to send no email"),
    ],
)
def test_an_email_kept_by_the_server_is_not_called_sent(
    owner: User, settings: Any, tmp_path: Any, backend: str, said: str
) -> None:
    settings.EMAIL_BACKEND = f"django.core.mail.backends.{backend}.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path)
    client = logged_in(owner)
    client.post(reverse("member-invite"), {"email": "x@example.com", "role": "editor"})
    html = client.get(MEMBERS).content.decode()
    assert "No email was sent." in html and said in html
    assert "was emailed" not in html and "is sent" not in html
    assert LINK.search(html)


@pytest.mark.django_db
def test_an_email_really_sent_is_called_emailed(owner: User) -> None:
    client = logged_in(owner)
    client.post(reverse("member-invite"), {"email": "x@example.com", "role": "editor"})
    html = client.get(MEMBERS).content.decode()
    assert "The invitation was emailed to x@example.com." in html
    assert [m.to for m in mail.outbox] == [["x@example.com"]]


@pytest.mark.django_db
def test_inviting_someone_already_a_member_is_refused(owner: User, editor: User) -> None:
    response = logged_in(owner).post(
        reverse("member-invite"), {"email": editor.email.upper(), "role": "viewer"}
    )
    assert response.status_code == 400
    assert "is already a member of Acme" in response.content.decode()
    assert not Invite.objects.exists()
    assert not mail.outbox


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data, message",
    [
        ({"email": "not-an-email", "role": "editor"}, "Enter a valid email address."),
        ({"email": "a@example.com", "role": "admin"}, "Select a valid choice."),
        ({"email": "", "role": "editor"}, "This field is required."),
    ],
)
def test_a_bad_invitation_form_says_what_is_wrong(
    owner: User, data: dict[str, str], message: str
) -> None:
    response = logged_in(owner).post(reverse("member-invite"), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Invite.objects.exists()


@pytest.mark.django_db
def test_inviting_the_same_address_again_replaces_the_earlier_link(owner: User) -> None:
    client = logged_in(owner)
    first = invite(client, "twice@example.com")
    second = invite(client, "twice@example.com", Role.VIEWER)
    assert first != second
    assert Invite.objects.get().role == Role.VIEWER
    assert Client().get(path_of(first)).status_code == 404
    assert Client().get(path_of(second)).status_code == 200


@pytest.mark.django_db
def test_an_owner_revokes_a_pending_invitation_and_its_link_stops_working(owner: User) -> None:
    client = logged_in(owner)
    link = invite(client, "revoked@example.com")
    pending = Invite.objects.get()
    response = client.post(reverse("invite-revoke", args=[pending.pk]))
    assert response.status_code == 302
    assert not Invite.objects.exists()
    gone = Client().get(path_of(link))
    assert gone.status_code == 404
    assert "Invitation not found" in gone.content.decode()


# --- Accepting ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_new_person_sets_a_name_and_password_and_joins_signed_in(
    owner: User, workspace: Workspace
) -> None:
    link = invite(logged_in(owner), "newbie@example.com", Role.VIEWER)
    client = Client()
    page = client.get(path_of(link))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Join Acme" in html and "newbie@example.com" in html and "as viewer" in html
    response = client.post(
        path_of(link), {"name": "  Nina New ", "password1": PASSWORD, "password2": PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("survey-list")
    user = User.objects.get(email="newbie@example.com")
    assert user.name == "Nina New"
    assert user.check_password(PASSWORD)
    assert membership_of(user, workspace).role == Role.VIEWER  # type: ignore[union-attr]
    assert Invite.objects.get().accepted_at is not None
    assert client.get(reverse("survey-list")).wsgi_request.user == user
    assert client.session[SESSION_KEY] == workspace.pk


@pytest.mark.django_db
def test_the_join_form_checks_the_password_and_creates_nothing_when_wrong(owner: User) -> None:
    link = invite(logged_in(owner), "weak@example.com")
    response = Client().post(
        path_of(link), {"name": "W", "password1": "password", "password2": "password"}
    )
    assert response.status_code == 400
    assert "too common" in response.content.decode()
    differ = Client().post(path_of(link), {"name": "W", "password1": PASSWORD, "password2": "x"})
    assert "The two passwords differ." in differ.content.decode()
    assert not User.objects.filter(email="weak@example.com").exists()
    assert Invite.objects.get().accepted_at is None


@pytest.mark.django_db
def test_a_used_link_says_so_and_cannot_join_twice(owner: User) -> None:
    link = invite(logged_in(owner), "once@example.com")
    data = {"name": "Once", "password1": PASSWORD, "password2": PASSWORD}
    assert Client().post(path_of(link), data).status_code == 302
    again = Client().post(path_of(link), {**data, "name": "Twice"})
    assert again.status_code == 410
    assert "Invitation already used" in again.content.decode()
    assert User.objects.get(email="once@example.com").name == "Once"


@pytest.mark.django_db
def test_an_expired_link_says_so(owner: User) -> None:
    link = invite(logged_in(owner), "late@example.com")
    Invite.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    for method in ("get", "post"):
        response = getattr(Client(), method)(path_of(link))
        assert response.status_code == 410
        html = response.content.decode()
        assert "Invitation expired" in html
        assert owner.email in html  # who to ask for a new one
    assert not User.objects.filter(email="late@example.com").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("token", ["nope", "x" * 500, "a%2Fb", "..%2F..%2Fsetup"])
def test_an_unknown_link_is_a_clear_404(db: None, token: str) -> None:
    response = Client().get(f"/invite/{token}")
    assert response.status_code == 404
    assert "Invitation not found" in response.content.decode()


@pytest.mark.django_db
def test_someone_with_an_account_signs_in_then_joins(
    owner: User, other_workspace: Workspace, workspace: Workspace
) -> None:
    elsewhere = make_user("elsewhere@globex.test", other_workspace, Role.OWNER)
    link = invite(logged_in(owner), "Elsewhere@globex.test", Role.EDITOR)
    anonymous = Client().get(path_of(link))
    assert "already has a Sounding account" in anonymous.content.decode()
    assert f"{reverse('login')}?next={path_of(link)}" in anonymous.content.decode()
    client = Client()
    signed_in = client.post(
        reverse("login"),
        {"username": elsewhere.email, "password": PASSWORD, "next": path_of(link)},
    )
    assert signed_in["Location"] == path_of(link)
    page = client.get(path_of(link))
    assert "Join Acme" in page.content.decode()
    assert membership_of(elsewhere, workspace) is None  # a GET joins no one
    response = client.post(path_of(link))
    assert response.status_code == 302
    assert membership_of(elsewhere, workspace).role == Role.EDITOR  # type: ignore[union-attr]
    assert membership_of(elsewhere, other_workspace).role == Role.OWNER  # type: ignore[union-attr]
    assert client.session[SESSION_KEY] == workspace.pk
    assert User.objects.filter(email="elsewhere@globex.test").count() == 1


@pytest.mark.django_db
def test_signed_in_as_someone_else_the_link_asks_to_sign_out_and_joins_no_one(
    owner: User, outsider: User, workspace: Workspace
) -> None:
    link = invite(logged_in(owner), "intended@example.com")
    client = logged_in(outsider)
    for method in ("get", "post"):
        response = getattr(client, method)(path_of(link))
        assert response.status_code == 403
        assert "This invitation is for intended@example.com" in response.content.decode()
    assert membership_of(outsider, workspace) is None
    assert Invite.objects.get().accepted_at is None


@pytest.mark.django_db
def test_accepting_keeps_the_role_of_someone_already_a_member(
    owner: User, viewer: User, workspace: Workspace
) -> None:
    invite_row, raw = Invite.issue(workspace, viewer.email, Role.OWNER, invited_by=owner)
    response = logged_in(viewer).post(reverse("invite-accept", args=[raw]))
    assert response.status_code == 302
    assert membership_of(viewer, workspace).role == Role.VIEWER  # type: ignore[union-attr]


# --- Roles, removing, leaving ---------------------------------------------------------------


@pytest.mark.django_db
def test_an_owner_changes_a_role(owner: User, editor: User, workspace: Workspace) -> None:
    target = membership_of(editor, workspace)
    client = logged_in(owner)
    response = client.post(reverse("member-role", args=[target.pk]), {"role": "viewer"})  # type: ignore[union-attr]
    assert response.status_code == 302
    assert membership_of(editor, workspace).role == Role.VIEWER  # type: ignore[union-attr]
    assert "is now viewer" in client.get(MEMBERS).content.decode()


@pytest.mark.django_db
def test_the_last_owner_can_never_be_demoted(owner: User, workspace: Workspace) -> None:
    mine = membership_of(owner, workspace)
    client = logged_in(owner)
    for role in ("editor", "viewer"):
        client.post(reverse("member-role", args=[mine.pk]), {"role": role})  # type: ignore[union-attr]
    assert membership_of(owner, workspace).role == Role.OWNER  # type: ignore[union-attr]
    html = client.get(MEMBERS).content.decode()
    assert "is the only owner of Acme" in html
    assert "A workspace always keeps at least one owner" in html


@pytest.mark.django_db
def test_two_owners_cannot_demote_each_other_down_to_none(
    owner: User, editor: User, workspace: Workspace
) -> None:
    second = membership_of(editor, workspace)
    Membership.objects.filter(pk=second.pk).update(role=Role.OWNER)  # type: ignore[union-attr]
    first = membership_of(owner, workspace)
    logged_in(owner).post(reverse("member-role", args=[second.pk]), {"role": "viewer"})  # type: ignore[union-attr]
    logged_in(editor).post(reverse("member-role", args=[first.pk]), {"role": "viewer"})  # type: ignore[union-attr]
    roles = dict(Membership.objects.filter(workspace=workspace).values_list("user__email", "role"))
    assert list(roles.values()).count(Role.OWNER) == 1
    # The first demotion worked; the now-viewer's attempt was refused by the role check.
    assert roles[owner.email] == Role.OWNER


@pytest.mark.django_db
def test_an_owner_may_step_down_when_another_owner_remains(
    owner: User, editor: User, workspace: Workspace
) -> None:
    Membership.objects.filter(user=editor).update(role=Role.OWNER)
    mine = membership_of(owner, workspace)
    logged_in(owner).post(reverse("member-role", args=[mine.pk]), {"role": "editor"})  # type: ignore[union-attr]
    assert membership_of(owner, workspace).role == Role.EDITOR  # type: ignore[union-attr]


@pytest.mark.django_db
def test_an_owner_removes_a_member_and_their_tokens_for_that_workspace(
    owner: User, viewer: User, workspace: Workspace, other_workspace: Workspace
) -> None:
    Membership.objects.create(user=viewer, workspace=other_workspace, role=Role.VIEWER)
    ApiToken.issue(workspace, viewer)
    kept, _ = ApiToken.issue(other_workspace, viewer)
    target = membership_of(viewer, workspace)
    response = logged_in(owner).post(reverse("member-remove", args=[target.pk]))  # type: ignore[union-attr]
    assert response.status_code == 302
    assert membership_of(viewer, workspace) is None
    assert list(ApiToken.objects.filter(user=viewer)) == [kept]
    assert User.objects.filter(pk=viewer.pk).exists()  # the account itself stays


@pytest.mark.django_db
def test_the_last_owner_can_never_be_removed(owner: User, workspace: Workspace) -> None:
    mine = membership_of(owner, workspace)
    client = logged_in(owner)
    client.post(reverse("member-remove", args=[mine.pk]))  # type: ignore[union-attr]
    client.post(reverse("member-leave"))
    assert membership_of(owner, workspace) is not None
    assert "you cannot leave it" in client.get(MEMBERS).content.decode()


@pytest.mark.django_db
def test_members_of_another_workspace_are_out_of_reach(
    owner: User, outsider: User, other_workspace: Workspace
) -> None:
    theirs = membership_of(outsider, other_workspace)
    pending, _ = Invite.issue(other_workspace, "p@globex.test", Role.VIEWER, invited_by=outsider)
    client = logged_in(owner)
    assert (
        client.post(reverse("member-role", args=[theirs.pk]), {"role": "viewer"}).status_code == 404
    )  # type: ignore[union-attr]
    assert client.post(reverse("member-remove", args=[theirs.pk])).status_code == 404  # type: ignore[union-attr]
    assert client.post(reverse("invite-revoke", args=[pending.pk])).status_code == 404
    assert membership_of(outsider, other_workspace).role == Role.OWNER  # type: ignore[union-attr]
    assert Invite.objects.filter(pk=pending.pk).exists()


@pytest.mark.django_db
def test_a_bad_role_value_changes_nothing(owner: User, editor: User, workspace: Workspace) -> None:
    target = membership_of(editor, workspace)
    client = logged_in(owner)
    response = client.post(reverse("member-role", args=[target.pk]), {"role": "superuser"})  # type: ignore[union-attr]
    assert response.status_code == 302
    assert membership_of(editor, workspace).role == Role.EDITOR  # type: ignore[union-attr]
    assert "Choose a role" in client.get(MEMBERS).content.decode()


@pytest.mark.django_db
def test_editors_and_viewers_change_nothing(
    owner: User, editor: User, viewer: User, workspace: Workspace
) -> None:
    pending, _ = Invite.issue(workspace, "p@example.com", Role.VIEWER, invited_by=owner)
    target = membership_of(owner, workspace)
    for user in (editor, viewer):
        client = logged_in(user)
        posts = [
            (reverse("member-invite"), {"email": "x@example.com", "role": "owner"}),
            (reverse("member-role", args=[target.pk]), {"role": "viewer"}),  # type: ignore[union-attr]
            (reverse("member-remove", args=[target.pk]), {}),  # type: ignore[union-attr]
            (reverse("invite-revoke", args=[pending.pk]), {}),
        ]
        for url, data in posts:
            response = client.post(url, data)
            assert response.status_code == 403, url
            assert "Only owners of Acme can invite people" in response.content.decode()
    assert membership_of(owner, workspace).role == Role.OWNER  # type: ignore[union-attr]
    assert list(Invite.objects.values_list("email", flat=True)) == ["p@example.com"]


@pytest.mark.django_db
def test_a_member_leaves_a_workspace(owner: User, editor: User, workspace: Workspace) -> None:
    client = logged_in(editor)
    response = client.post(reverse("member-leave"))
    assert response.status_code == 302
    assert membership_of(editor, workspace) is None
    follow = client.get(reverse("survey-list"))
    assert follow.status_code == 403  # no workspace left
    assert "You left Acme." in follow.content.decode()


@pytest.mark.django_db
def test_member_actions_take_a_post(owner: User, editor: User, workspace: Workspace) -> None:
    target = membership_of(editor, workspace)
    client = logged_in(owner)
    for url in (
        reverse("member-invite"),
        reverse("member-leave"),
        reverse("member-role", args=[target.pk]),  # type: ignore[union-attr]
        reverse("member-remove", args=[target.pk]),  # type: ignore[union-attr]
    ):
        assert client.get(url).status_code == 405
    assert client.post(MEMBERS).status_code == 405


# --- In a browser ---------------------------------------------------------------------------


def sign_in(page: Any, base: str, email: str) -> None:
    page.goto(f"{base}{reverse('login')}")
    page.fill("#id_username", email)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/surveys/"))


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_members_page_works_on_a_phone_and_passes_axe(
    live_server: Any, phone: Any, owner: User, editor: User, viewer: User
) -> None:
    sign_in(phone, live_server.url, owner.email)
    phone.goto(f"{live_server.url}{MEMBERS}")
    phone.fill("#id_email", "phone@example.com")
    phone.check("input[name=role][value=viewer]")
    phone.click("text=Send invitation")
    phone.wait_for_selector("#invite-link")
    assert "/invite/" in phone.input_value("#invite-link")
    assert phone.is_visible("button[data-copy=invite-link]")  # JavaScript shows Copy
    assert serious_violations(phone) == []
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width}px wide on a 390px phone"
    screenshot(phone, "members-phone")
    phone.once("dialog", lambda dialog: dialog.accept())
    phone.click(f"button:has-text('Remove'):has-text('{viewer.email}')")
    phone.wait_for_selector("text=is no longer a member")
    assert not Membership.objects.filter(user=viewer).exists()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_invitation_page_passes_axe(live_server: Any, phone: Any, owner: User) -> None:
    workspace = owner.memberships.get().workspace
    _, raw = Invite.issue(workspace, "axe@example.com", Role.EDITOR, invited_by=owner)
    phone.goto(f"{live_server.url}{reverse('invite-accept', args=[raw])}")
    assert phone.inner_text("h1") == "Join Acme"
    assert serious_violations(phone) == []
    phone.fill("#id_name", "Axe Tester")
    phone.fill("#id_password1", PASSWORD)
    phone.fill("#id_password2", PASSWORD)
    phone.click("text=Create account and join")
    phone.wait_for_url(re.compile(r"/surveys/"))
    assert Membership.objects.get(user__email="axe@example.com").role == Role.EDITOR


@pytest.mark.django_db
def test_a_new_workspace_with_its_owner_alone_shows_no_single_owner_warning(
    owner: User, workspace: Workspace
) -> None:
    html = logged_in(owner).get(MEMBERS).content.decode()
    assert 'id="sole-owner"' not in html
    make_user("editor@acme.test", workspace, Role.EDITOR)
    html = logged_in(owner).get(MEMBERS).content.decode()
    assert 'id="sole-owner"' in html
    assert "Only owner" in html
