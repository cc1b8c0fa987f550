"""Secrets stay secret: in error reports, in debug pages, and on the disk."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import pytest
from django.test import RequestFactory
from django.views.debug import ExceptionReporter

from sounding.accounts.models import User
from sounding.secrets import SecretsFilter
from tests.conftest import logged_in
from tests.procs import Processes

# Made at run time: the page lists source lines, and a literal would be found there.
DB_PASSWORD = "".join(reversed("wp-bd-terc3s"))
MAIL_PASSWORD = "".join(reversed("wp-liam-terc3s"))
BRAZE_KEY = "".join(reversed("321-yek-ezarb"))
DATABASE_URL = f"postgres://sounding:{DB_PASSWORD}@db.internal:5432/sounding"
EMAIL_URL = f"smtp+tls://mailer:{MAIL_PASSWORD}@smtp.example.com:587"


def _fail() -> None:
    raise RuntimeError("boom")


def test_a_debug_page_shows_no_database_or_mail_password(
    monkeypatch: pytest.MonkeyPatch, settings: object
) -> None:
    monkeypatch.setenv("DATABASE_URL", DATABASE_URL)
    monkeypatch.setenv("SOUNDING_EMAIL_URL", EMAIL_URL)
    settings.DEBUG = True  # type: ignore[attr-defined]
    settings.DATABASE_URL = DATABASE_URL  # type: ignore[attr-defined]
    request = RequestFactory().post("/settings/braze", {"api_key": BRAZE_KEY})
    request.META["DATABASE_URL"] = DATABASE_URL  # as a WSGI server copying the environment does
    request.META["SOUNDING_EMAIL_URL"] = EMAIL_URL
    request.sensitive_post_parameters = ["api_key"]  # type: ignore[attr-defined]
    try:
        _fail()
    except RuntimeError:
        html = ExceptionReporter(request, *sys.exc_info()).get_traceback_html()
    assert DB_PASSWORD not in html and MAIL_PASSWORD not in html
    assert BRAZE_KEY not in html
    assert "boom" in html  # the page is still a useful one
    safe = SecretsFilter().get_safe_settings()
    assert safe["DATABASE_URL"] == SecretsFilter.cleansed_substitute


@pytest.mark.django_db
def test_the_braze_api_key_is_a_sensitive_post_parameter(owner: User) -> None:
    response = logged_in(owner).post("/settings/braze", {"api_key": BRAZE_KEY})
    assert response.wsgi_request.sensitive_post_parameters == ("api_key",)  # type: ignore[attr-defined]


@pytest.mark.any_db  # its processes use a SQLite database of their own
@pytest.mark.process
def test_a_new_data_directory_and_database_are_the_owners_alone(tmp_path: Path) -> None:
    from tests.procs import cli_env

    data = tmp_path / "fresh" / "data"
    env = cli_env(data)
    processes = Processes(tmp_path, env, tmp_path / "log")
    try:
        processes.run("migrate")
    finally:
        processes.kill_all()
    database = data / "sounding.sqlite3"
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE(database.stat().st_mode) == 0o600
    for secret in ("secret_key", "encryption_key"):
        assert stat.S_IMODE((data / secret).stat().st_mode) == 0o600
    assert not any(stat.S_IMODE(p.stat().st_mode) & 0o077 for p in data.iterdir() if p.is_file()), {
        p.name: oct(p.stat().st_mode) for p in data.iterdir()
    }
