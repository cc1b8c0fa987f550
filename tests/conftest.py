"""Shared fixtures: the personas every test can use, and a survey with every question type."""

from __future__ import annotations

import os
from typing import Any

import pytest
from django.test import Client

from sounding.accounts.models import ApiToken, Membership, Role, User, Workspace
from sounding.surveys.models import Status, Survey

pytest_plugins = [
    "tests.browser_fixtures",
    "tests.standin",
    "tests.delivery_fixtures",
    "tests.throttle_fixtures",
    "tests.webhook_fixtures",
]

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    # The real hasher costs ~0.3 s per user by design; tests create many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# What a test asks for to use the database pytest-django prepared (besides the django_db mark).
SUITE_DATABASE = {"db", "transactional_db", "django_db_setup"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # The PostgreSQL pass leaves `any_db` tests out (scripts/test): one that could reach the
    # suite's database might behave differently there, so the mark is refused, not trusted.
    for item in items:
        if item.get_closest_marker("any_db") is None:
            continue
        fixtures = set(getattr(item, "fixturenames", ()))
        if item.get_closest_marker("django_db") is not None or fixtures & SUITE_DATABASE:
            raise pytest.UsageError(
                f"{item.nodeid} is marked any_db but uses the suite's database: drop the mark"
            )


def pytest_report_header(config: pytest.Config) -> str:
    url = os.environ.get("DATABASE_URL", "")
    return f"database: {'PostgreSQL (' + url + ')' if url else 'SQLite'}"


EVERY_TYPE: dict[str, Any] = {
    "title": "Customer pulse",
    "questions": [
        {
            "key": "nps",
            "type": "nps",
            "prompt": "How likely are you to recommend us?",
            "required": True,
        },
        {"key": "rating", "type": "rating", "prompt": "Rate the app"},
        {"key": "csat", "type": "csat", "prompt": "How satisfied are you with support?"},
        {
            "key": "effort",
            "type": "scale",
            "prompt": "How easy was it?",
            "min": 1,
            "max": 7,
            "min_label": "Very hard",
            "max_label": "Very easy",
        },
        {
            "key": "plan",
            "type": "single_choice",
            "prompt": "Which plan are you on?",
            "choices": ["Free", "Pro", "Enterprise"],
        },
        {
            "key": "channels",
            "type": "multiple_choice",
            "prompt": "Where do you hear from us?",
            "choices": ["Email", "Push", "SMS"],
            "allow_other": True,
        },
        {
            "key": "country",
            "type": "dropdown",
            "prompt": "Where do you live?",
            "choices": ["France", "Germany", "Spain"],
        },
        {"key": "renew", "type": "yes_no", "prompt": "Will you renew?"},
        {"key": "nickname", "type": "short_text", "prompt": "What should we call you?"},
        {"key": "feedback", "type": "long_text", "prompt": "Anything else?"},
        {"key": "contact", "type": "email", "prompt": "Your email for a reply"},
        {"key": "seats", "type": "number", "prompt": "How many seats?", "min": 1, "max": 1000},
        {"key": "since", "type": "date", "prompt": "Customer since?"},
    ],
}


def make_user(email: str, workspace: Workspace | None, role: str | None) -> User:
    user = User.objects.create_user(email, PASSWORD)
    if workspace is not None and role is not None:
        Membership.objects.create(user=user, workspace=workspace, role=role)
    return user


@pytest.fixture
def workspace(db: None) -> Workspace:
    return Workspace.objects.create(name="Acme")


@pytest.fixture
def other_workspace(db: None) -> Workspace:
    return Workspace.objects.create(name="Globex")


@pytest.fixture
def owner(workspace: Workspace) -> User:
    return make_user("owner@acme.test", workspace, Role.OWNER)


@pytest.fixture
def editor(workspace: Workspace) -> User:
    return make_user("editor@acme.test", workspace, Role.EDITOR)


@pytest.fixture
def viewer(workspace: Workspace) -> User:
    return make_user("viewer@acme.test", workspace, Role.VIEWER)


@pytest.fixture
def outsider(other_workspace: Workspace) -> User:
    return make_user("someone@globex.test", other_workspace, Role.OWNER)


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def owner_token(workspace: Workspace, owner: User) -> str:
    return ApiToken.issue(workspace, owner)[1]


@pytest.fixture
def viewer_token(workspace: Workspace, viewer: User) -> str:
    return ApiToken.issue(workspace, viewer)[1]


@pytest.fixture
def outsider_token(other_workspace: Workspace, outsider: User) -> str:
    return ApiToken.issue(other_workspace, outsider)[1]


def bearer(token: str) -> Client:
    """A client of the API that sends `token` with every request."""
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.fixture
def owner_api(owner_token: str) -> Client:
    return bearer(owner_token)


@pytest.fixture
def editor_api(workspace: Workspace, editor: User) -> Client:
    return bearer(ApiToken.issue(workspace, editor)[1])


@pytest.fixture
def viewer_api(viewer_token: str) -> Client:
    return bearer(viewer_token)


@pytest.fixture
def outsider_api(outsider_token: str) -> Client:
    return bearer(outsider_token)


@pytest.fixture
def live_survey(workspace: Workspace, owner: User) -> Survey:
    survey = Survey.create(workspace, EVERY_TYPE, owner)
    survey.set_status(Status.LIVE)
    return survey
