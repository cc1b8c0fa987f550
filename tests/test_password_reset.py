"""Resetting a forgotten password by email, and configuring how email is sent."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from django.urls import reverse

from sounding.accounts.models import ApiToken, User, Workspace, hash_token
from sounding.settings_email import email_settings
from tests.conftest import PASSWORD

RESET = reverse("password-reset")
NEW_PASSWORD = "a brand new passphrase 42"
LINK = re.compile(r"https?://\S+/password/reset/\S+")


def ask_for_reset(email: str, client: Client | None = None) -> Any:
    return (client or Client()).post(RESET, {"email": email})


def reset_path() -> str:
    match = LINK.search(mail.outbox[-1].body)
    assert match, mail.outbox[-1].body
    return "/" + match.group(0).split("/", 3)[3]


def can_sign_in(email: str, password: str) -> bool:
    response = Client().post(reverse("login"), {"username": email, "password": password})
    return response.status_code == 302


@pytest.mark.django_db
def test_the_sign_in_page_links_to_the_reset_page(owner: User) -> None:
    html = Client().get(reverse("login")).content.decode()
    assert f'<a href="{RESET}">Forgot your password?</a>' in html
    page = Client().get(RESET)
    assert page.status_code == 200
    assert '<label for="id_email">Email</label>' in page.content.decode()


@pytest.mark.django_db
def test_a_reset_link_arrives_by_email_and_sets_a_new_password(owner: User) -> None:
    response = ask_for_reset("Owner@Acme.test")
    assert response.status_code == 302
    assert response["Location"] == reverse("password-reset-sent")
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == [owner.email]
    assert sent.subject == "Reset your Sounding password"
    assert sent.from_email == django_settings.DEFAULT_FROM_EMAIL
    client = Client()
    form = client.get(reset_path(), follow=True)
    assert form.status_code == 200
    assert "Choose a new password" in form.content.decode()
    # Django swaps the token out of the address before showing the form (no Referer leak).
    set_url = form.redirect_chain[-1][0]
    assert set_url.endswith("/set-password")
    done = client.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done["Location"] == reverse("password-reset-complete")
    assert "Password changed" in client.get(done["Location"]).content.decode()
    assert can_sign_in(owner.email, NEW_PASSWORD)
    assert not can_sign_in(owner.email, PASSWORD)


@pytest.mark.django_db
def api_status(raw: str) -> tuple[int, str]:
    response = Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/api/v1/surveys")
    return response.status_code, response.json().get("detail", "")


def reset_through_the_pages(email: str, password: str = NEW_PASSWORD) -> None:
    ask_for_reset(email)
    client = Client()
    form = client.get(reset_path(), follow=True)
    assert "Setting a new password revokes your API tokens" in form.content.decode()
    done = client.post(
        form.redirect_chain[-1][0], {"new_password1": password, "new_password2": password}
    )
    assert done["Location"] == reverse("password-reset-complete")


@pytest.mark.django_db
def test_a_reset_password_revokes_the_users_api_tokens(
    owner: User, editor: User, workspace: Workspace, owner_token: str
) -> None:
    spare = ApiToken.issue(workspace, owner, "spare")[1]
    colleague = ApiToken.issue(workspace, editor, "colleague's")[1]
    assert api_status(owner_token)[0] == 200

    reset_through_the_pages(owner.email)

    for raw in (owner_token, spare):
        status, detail = api_status(raw)
        assert status == 401
        assert "revoked" in detail and "password changed" in detail
    # Only that person's tokens: a colleague's keep working.
    assert api_status(colleague)[0] == 200
    # A token made after the new password works.
    assert api_status(ApiToken.issue(workspace, owner, "after")[1])[0] == 200


@pytest.mark.django_db
def test_a_reset_keeps_the_time_an_earlier_revocation_was_made(
    owner: User, workspace: Workspace
) -> None:
    earlier, _ = ApiToken.issue(workspace, owner)
    earlier.revoke()

    reset_through_the_pages(owner.email)

    revoked_at = earlier.revoked_at
    earlier.refresh_from_db()
    assert earlier.revoked_at == revoked_at


@pytest.mark.django_db
def test_a_password_set_outside_the_pages_revokes_the_tokens_too(
    owner: User, owner_token: str
) -> None:
    # What `sounding manage changepassword` does.
    user = User.objects.get(pk=owner.pk)
    user.set_password(NEW_PASSWORD)
    user.save()

    assert api_status(owner_token)[0] == 401


@pytest.mark.django_db
def test_other_saves_of_the_account_keep_the_tokens(owner: User, owner_token: str) -> None:
    owner.name = "Olive"
    owner.save()
    assert can_sign_in(owner.email, PASSWORD)

    assert api_status(owner_token)[0] == 200


class OneRoundPBKDF2(PBKDF2PasswordHasher):
    iterations = 1


@pytest.mark.django_db
def test_a_hash_upgraded_at_sign_in_is_no_new_password(
    owner: User, owner_token: str, settings: Any
) -> None:
    assert owner.password.startswith("md5$")
    settings.PASSWORD_HASHERS = [
        f"{__name__}.OneRoundPBKDF2",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]

    assert can_sign_in(owner.email, PASSWORD)

    owner.refresh_from_db()
    assert owner.password.startswith("pbkdf2_sha256$")  # rehashed with the preferred hasher
    assert api_status(owner_token)[0] == 200
    assert ApiToken.objects.get(token_hash=hash_token(owner_token)).revoked_at is None


@pytest.mark.django_db
def test_the_answer_is_the_same_whether_or_not_the_address_has_an_account(owner: User) -> None:
    known, unknown = Client(), Client()
    a = ask_for_reset(owner.email, known)
    b = ask_for_reset("nobody@acme.test", unknown)
    assert (a.status_code, a["Location"]) == (b.status_code, b["Location"])
    page_a = known.get(a["Location"]).content.decode()
    page_b = unknown.get(b["Location"]).content.decode()
    strip = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')
    assert strip.sub("", page_a) == strip.sub("", page_b)
    assert "If an account uses that address" in page_a
    assert [m.to for m in mail.outbox] == [[owner.email]]


@pytest.mark.django_db
def test_inactive_accounts_get_no_link(owner: User) -> None:
    User.objects.filter(pk=owner.pk).update(is_active=False)
    assert ask_for_reset(owner.email).status_code == 302
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_link_works_once(owner: User) -> None:
    ask_for_reset(owner.email)
    path = reset_path()
    client = Client()
    set_url = client.get(path, follow=True).redirect_chain[-1][0]
    client.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    again = Client().get(path, follow=True)
    html = again.content.decode()
    assert "Link no longer valid" in html
    assert "new_password1" not in html
    assert can_sign_in(owner.email, NEW_PASSWORD)


def test_links_expire_after_djangos_default_of_three_days() -> None:
    # The pages and the email say "three days"; they must change if the setting does.
    assert int(timedelta(days=3).total_seconds()) == django_settings.PASSWORD_RESET_TIMEOUT


@pytest.mark.django_db
def test_an_expired_link_is_refused(owner: User, monkeypatch: pytest.MonkeyPatch) -> None:
    ask_for_reset(owner.email)
    path = reset_path()
    later = default_token_generator._now() + timedelta(days=3, seconds=5)  # type: ignore[attr-defined]
    monkeypatch.setattr(default_token_generator, "_now", lambda: later)
    response = Client().get(path, follow=True)
    assert "Link no longer valid" in response.content.decode()
    post = Client().post(path, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert "Link no longer valid" in post.content.decode()
    assert can_sign_in(owner.email, PASSWORD)


@pytest.mark.django_db
def test_a_forged_link_is_refused(owner: User) -> None:
    response = Client().get("/password/reset/MQ/abc-123", follow=True)
    assert response.status_code == 200
    assert "Link no longer valid" in response.content.decode()


@pytest.mark.django_db
def test_the_new_password_must_be_strong_and_typed_twice(owner: User) -> None:
    ask_for_reset(owner.email)
    client = Client()
    set_url = client.get(reset_path(), follow=True).redirect_chain[-1][0]
    weak = client.post(set_url, {"new_password1": "password", "new_password2": "password"})
    assert "too common" in weak.content.decode()
    differ = client.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": "other"})
    assert "The two passwords differ." in differ.content.decode()
    assert can_sign_in(owner.email, PASSWORD)


@pytest.mark.django_db
def test_the_link_starts_with_the_public_address(owner: User, settings: Any) -> None:
    settings.SITE_URL = "https://surveys.example.com"
    ask_for_reset(owner.email)
    assert (
        LINK.search(mail.outbox[0].body)
        .group(0)
        .startswith(  # type: ignore[union-attr]
            "https://surveys.example.com/password/reset/"
        )
    )


class RefusingBackend:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def send_messages(self, messages: Any) -> int:
        raise ConnectionRefusedError("no mail server")


@pytest.mark.django_db
def test_a_mail_server_that_refuses_does_not_change_the_answer(owner: User, settings: Any) -> None:
    settings.EMAIL_BACKEND = f"{__name__}.RefusingBackend"
    response = ask_for_reset(owner.email)
    assert response.status_code == 302
    assert response["Location"] == reverse("password-reset-sent")


# --- SOUNDING_EMAIL_URL ---------------------------------------------------------------------


SMTP = "django.core.mail.backends.smtp.EmailBackend"


@pytest.mark.parametrize(
    "url, expected",
    [
        (None, {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}),
        ("", {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}),
        ("console:", {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}),
        ("dummy:", {"EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend"}),
        (
            "smtp://user:pass@mail.example.com:587?tls=1",
            {
                "EMAIL_BACKEND": SMTP,
                "EMAIL_HOST": "mail.example.com",
                "EMAIL_PORT": 587,
                "EMAIL_HOST_USER": "user",
                "EMAIL_HOST_PASSWORD": "pass",
                "EMAIL_USE_TLS": True,
                "EMAIL_USE_SSL": False,
                "EMAIL_TIMEOUT": 10,
            },
        ),
        (
            "smtps://apikey:p%40ss%3Aw%2Frd@smtp.example.com?timeout=30",
            {
                "EMAIL_BACKEND": SMTP,
                "EMAIL_HOST": "smtp.example.com",
                "EMAIL_PORT": 465,
                "EMAIL_HOST_USER": "apikey",
                "EMAIL_HOST_PASSWORD": "p@ss:w/rd",
                "EMAIL_USE_TLS": False,
                "EMAIL_USE_SSL": True,
                "EMAIL_TIMEOUT": 30,
            },
        ),
        (
            "SMTP://relay.internal",
            {
                "EMAIL_BACKEND": SMTP,
                "EMAIL_HOST": "relay.internal",
                "EMAIL_PORT": 25,
                "EMAIL_HOST_USER": "",
                "EMAIL_HOST_PASSWORD": "",
                "EMAIL_USE_TLS": False,
                "EMAIL_USE_SSL": False,
                "EMAIL_TIMEOUT": 10,
            },
        ),
        (
            "file:///var/lib/sounding/mail",
            {
                "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
                "EMAIL_FILE_PATH": "/var/lib/sounding/mail",
            },
        ),
    ],
)
def test_email_urls_become_djangos_settings(url: str | None, expected: dict[str, Any]) -> None:
    assert email_settings(url) == expected


@pytest.mark.parametrize(
    "url, problem",
    [
        ("sendgrid://key", "'sendgrid', which is not one of"),
        ("smtp.example.com", "'smtp.example.com', which is not one of"),
        ("smtp://host?starttls=1", "unknown option(s) starttls"),
        ("smtp://host?tls=maybe", "tls='maybe': use 1 or 0"),
        ("smtp://host:99999", "bad port"),
        ("smtp://host:abc", "bad port"),
        ("smtp://:587", "names no SMTP host"),
        ("smtps://host?tls=1", "both tls (STARTTLS) and ssl"),
        ("smtp://host?timeout=0", "timeout='0'"),
        ("file:relative/dir", "absolute directory"),
    ],
)
def test_a_wrong_email_url_fails_with_a_clear_message(url: str, problem: str) -> None:
    with pytest.raises(ImproperlyConfigured) as raised:
        email_settings(url)
    assert problem in str(raised.value)
    assert str(raised.value).startswith("SOUNDING_EMAIL_URL ")


def settings_in_a_process(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    code = (
        "from django.conf import settings; "
        "print(settings.EMAIL_BACKEND, settings.EMAIL_HOST, settings.EMAIL_PORT, "
        "settings.EMAIL_HOST_PASSWORD)"
    )
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SOUNDING_EMAIL")}
    environment |= {
        "DJANGO_SETTINGS_MODULE": "sounding.settings",
        "SOUNDING_DATA_DIR": str(tmp_path),
        **env,
    }
    return subprocess.run(
        [sys.executable, "-c", code], env=environment, capture_output=True, text=True, timeout=60
    )


def test_the_settings_read_sounding_email_url_and_its_file_variant(tmp_path: Path) -> None:
    direct = settings_in_a_process(tmp_path, SOUNDING_EMAIL_URL="smtp://u:pw@mx.example.com:2525")
    assert direct.stdout.split() == [SMTP, "mx.example.com", "2525", "pw"], direct.stderr
    secret = tmp_path / "email_url"
    secret.write_text("smtps://u:from-file@mx.example.com\n")
    from_file = settings_in_a_process(tmp_path, SOUNDING_EMAIL_URL_FILE=str(secret))
    assert from_file.stdout.split() == [SMTP, "mx.example.com", "465", "from-file"]


def test_a_wrong_email_url_stops_the_process_at_start(tmp_path: Path) -> None:
    result = settings_in_a_process(tmp_path, SOUNDING_EMAIL_URL="smtp://host?tls=perhaps")
    assert result.returncode != 0
    assert "ImproperlyConfigured: SOUNDING_EMAIL_URL has tls='perhaps'" in result.stderr
