"""The security basics: Django's production checks pass with the documented settings, every
form is protected against cross-site posts, and the Braze API key never leaks."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from sounding.delivery import engine
from sounding.delivery.models import Attempt, Lane
from sounding.destinations.braze.models import BrazeSettings
from sounding.surveys.models import Survey
from tests import test_roles
from tests.conftest import logged_in
from tests.delivery_fixtures import respond
from tests.procs import SOUNDING, cli_env
from tests.standin import StandinHarness
from tests.test_roles import (
    World,
    body_for,
    changes,
    owner_forms,
    path_values,
    routes,
    snapshot,
)

# The personas and the survey with responses that tests/test_roles.py walks the pages with.
world = test_roles.world

# What docs/configuration.md#sounding_secure lists for production.
PRODUCTION = {
    "SOUNDING_SECURE": "1",
    "SOUNDING_TRUST_X_FORWARDED_PROTO": "true",
    "SOUNDING_SITE_URL": "https://surveys.example.com",
    "SOUNDING_ALLOWED_HOSTS": "surveys.example.com",
    "SOUNDING_TRUSTED_PROXIES": "127.0.0.1",
}


# --- Django's deployment checks -------------------------------------------------------------


def production_env(data_dir: Path, env: dict[str, str]) -> dict[str, str]:
    return {**cli_env(data_dir), **env}


def check_deploy(data_dir: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SOUNDING, "manage", "check", "--deploy", "--fail-level", "WARNING"],
        env=production_env(data_dir, env),
        input="",
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.any_db  # a process of its own, without DATABASE_URL
def test_check_deploy_is_clean_with_the_documented_production_settings(tmp_path: Path) -> None:
    done = check_deploy(tmp_path, PRODUCTION)
    assert done.returncode == 0, done.stderr
    assert "System check identified no issues (0 silenced)." in done.stdout
    assert "WARNINGS" not in done.stdout + done.stderr


@pytest.mark.any_db  # a process of its own, without DATABASE_URL
def test_check_deploy_says_what_is_missing_without_them(tmp_path: Path) -> None:
    done = check_deploy(tmp_path, {})
    assert done.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in done.stderr


@pytest.mark.any_db  # a process of its own, without DATABASE_URL
def test_the_production_settings_mean_https_only(tmp_path: Path) -> None:
    code = (
        "from django.conf import settings as s; print(s.SESSION_COOKIE_SECURE, "
        "s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, "
        "s.SECURE_PROXY_SSL_HEADER)"
    )
    done = subprocess.run(
        [SOUNDING, "manage", "shell", "-c", code],
        env=production_env(tmp_path, {**PRODUCTION, "SOUNDING_HSTS_SECONDS": "300"}),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stdout.splitlines()[-1].split() == [
        "True",
        "True",
        "True",
        "300",
        "('HTTP_X_FORWARDED_PROTO',",
        "'https')",
    ]


# --- CSRF -----------------------------------------------------------------------------------


class PostForms(test_roles.Forms):
    """Counts each post form of a page, and those that carry the CSRF token."""

    def __init__(self, page_path: str) -> None:
        super().__init__(page_path)
        self.forms: list[tuple[str, bool]] = []  # action, has the token

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("method", "").lower() == "post":
            self.forms.append((a.get("action") or self.page_path, False))
        elif tag == "input" and a.get("name") == "csrfmiddlewaretoken" and self.current is not None:
            action, _ = self.forms[-1]
            self.forms[-1] = (action, bool(a.get("value")))
        super().handle_starttag(tag, attrs)


def post_forms(client: Client, path: str) -> list[tuple[str, bool]]:
    page = client.get(path)
    if page.status_code != 200 or "html" not in page.get("Content-Type", ""):
        return []
    parser = PostForms(path)
    parser.feed(page.content.decode())
    return parser.forms


def public_pages(world: World) -> list[str]:
    return ["/login", "/password/reset", f"/invite/{world.invite_token}"]


def app_paths(world: World) -> list[str]:
    values = path_values(world)
    return [route.path(values) for route in routes()]


def sign_links(survey: Survey) -> None:
    # With signed links on, the survey's Braze page has one more form (a new secret).
    from sounding.destinations.braze import signing
    from sounding.destinations.braze.setup import save_survey_config, survey_config

    config = survey_config(survey)
    signing.set_signed(config, True)
    save_survey_config(survey, config)


def test_every_form_of_the_app_carries_a_csrf_token(world: World) -> None:
    sign_links(world.survey)
    owner = logged_in(world.owner)
    owner.raise_request_exception = False
    found = [form for path in app_paths(world) for form in post_forms(owner, path)]
    found += [form for path in public_pages(world) for form in post_forms(Client(), path)]
    missing = sorted({action for action, has_token in found if not has_token})
    assert missing == []
    actions = {action for action, _ in found}
    # Not vacuous: the forms that matter most were seen.
    for expected in (
        "/login",
        "/password/reset",
        "/settings/braze",
        f"/surveys/{world.survey.pk}/delete",
        f"/surveys/{world.survey.pk}/integrations/braze/rotate",
    ):
        assert expected in actions, f"no form posts to {expected}"
    assert len(found) > 30


def test_a_post_without_the_csrf_token_is_refused_everywhere(world: World) -> None:
    paths = app_paths(world)
    forms = owner_forms(world, paths)
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.owner)
    client.get("/settings/braze")  # the CSRF cookie is set: only the body lacks the token
    assert "csrftoken" in client.cookies
    anonymous = Client(enforce_csrf_checks=True)
    anonymous.get("/login")
    targets = [(client, path) for path in paths] + [
        (anonymous, path) for path in public_pages(world)
    ]
    for sender, path in targets:
        before = snapshot()
        answer = sender.post(path, body_for(path, forms))
        assert answer.status_code == 403, f"{path} took a post without a CSRF token"
        assert b"CSRF" in answer.content
        assert changes(before) == {}, f"a post without a CSRF token to {path} changed rows"


def test_the_same_post_with_its_token_goes_through(world: World) -> None:
    """The refusals above are about the token: with it, the owner's own form works."""
    path = f"/surveys/{world.survey.pk}/edit"
    forms = owner_forms(world, app_paths(world))
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.owner)
    page = client.get(f"/surveys/{world.survey.pk}/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token is not None
    before = snapshot()
    answer = client.post(path, {**body_for(path, forms), "csrfmiddlewaretoken": token[1]})
    assert answer.status_code in (200, 302)
    assert "surveys.survey" in changes(before)


@pytest.mark.django_db
def test_the_first_account_form_needs_its_token_too() -> None:
    client = Client(enforce_csrf_checks=True)
    page = client.get("/setup")
    assert page.status_code == 200 and b'name="csrfmiddlewaretoken"' in page.content
    body = {"email": "a@example.com", "password1": "x" * 20, "password2": "x" * 20}
    assert client.post("/setup", body).status_code == 403


def test_the_api_takes_no_session_so_a_cross_site_post_cannot_use_one(world: World) -> None:
    client = logged_in(world.owner)
    body = json.dumps({"title": "Cross-site"})
    answer = client.post("/api/v1/surveys", body, content_type="application/json")
    assert answer.status_code == 401
    assert not Survey.objects.filter(title="Cross-site").exists()


def test_answers_are_exempt_by_design(live_survey: Survey) -> None:
    # Respondents hold no session to abuse, and a token check would lose the answers of
    # in-app browsers that block cookies (sounding/collect/views.py says why).
    client = Client(enforce_csrf_checks=True)
    answer = client.post(live_survey.public_path(), {"q": "nps", "a": "9"})
    assert answer.status_code == 303  # stored, then on to the next screen
    assert live_survey.responses.count() == 1


# --- The Braze API key ----------------------------------------------------------------------

KEY = "a1b2c3d4-e5f6-4711-9abc-0123secret77"


def drain_for(seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        engine.deliver_due("braze", "test-host:1:delivery")
        time.sleep(0.02)


def test_the_api_key_never_appears_in_logs_pages_api_answers_or_exports(
    pulse: Survey,
    braze_standin: StandinHarness,
    connected: BrazeSettings,
    owner_token: str,
    owner: Any,
    settings: Any,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(engine, "BACKOFF_BASE", 0.01)
    braze_standin.set_keys(valid=[KEY])
    connected.set_api_key(KEY)
    connected.save()
    settings.WIRE_LOG = True
    for name in ("", "sounding", "httpx", "httpcore"):
        caplog.set_level(logging.DEBUG, logger=name)
    braze_standin.queue({"kind": "status", "status": 500}, {"kind": "status", "status": 401})
    respond(pulse, "u-1", {"nps": 9, "feedback": "fine"}, complete=True)
    drain_for(1.0)

    # The round really happened: a 500, then a 401 that paused sending, all logged.
    assert [r["status"] for r in braze_standin.requests()] == [500, 401]
    assert Lane.objects.get().paused_at is not None
    assert Attempt.objects.count() == 2
    assert "POST " in caplog.text and " 401 " in caplog.text

    logged = caplog.text + "".join(
        f"{r.getMessage()} {r.exc_text or ''} {r.args!r}" for r in caplog.records
    )
    assert KEY not in logged
    assert KEY[-12:] not in logged

    pages = logged_in(owner)
    paths = [
        "/settings/braze",
        f"/surveys/{pulse.pk}/integrations/braze",
        f"/surveys/{pulse.pk}/deliveries",
        f"/surveys/{pulse.pk}/responses",
        f"/surveys/{pulse.pk}/export/responses.csv",
        f"/surveys/{pulse.pk}/export/responses.json",
        "/metrics",
    ]
    api = Client(HTTP_AUTHORIZATION=f"Bearer {owner_token}")
    api_paths = [
        "/api/v1/integrations/braze",
        f"/api/v1/surveys/{pulse.pk}/integrations/braze",
        f"/api/v1/surveys/{pulse.pk}/responses",
        f"/api/v1/surveys/{pulse.pk}",
    ]
    answers = [pages.get(path) for path in paths] + [api.get(path) for path in api_paths]
    assert [a.status_code for a in answers] == [200] * len(answers)
    # A refused save and a connection test echo nothing of a typed key either.
    typed = {"cluster": "other", "endpoint": "ftp://nowhere", "api_key": KEY}
    answers.append(pages.post("/settings/braze", typed))
    answers.append(pages.post("/settings/braze/test", typed))
    assert answers[-2].status_code == 200  # the form, re-shown with its error
    for answer in answers:
        body = b"".join(answer.streaming_content) if answer.streaming else answer.content
        assert KEY.encode() not in body, answer.request["PATH_INFO"]
        assert KEY[-12:].encode() not in body

    stored = [str(value) for row in Attempt.objects.values() for value in row.values()]
    assert not [value for value in stored if KEY in value]
