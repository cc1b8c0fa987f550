"""The app's own pages for 404, 403 and 500; respondent addresses keep the respondents' look."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory, override_settings
from django.urls import include, path

from sounding import error_pages
from sounding.accounts.models import User
from tests.conftest import logged_in


def _fails(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug")


def _refuses(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied


urlpatterns = [
    path("fails", _fails),
    path("refuses", _refuses),
    path("", include("sounding.urls")),
]
handler403 = error_pages.permission_denied
handler404 = error_pages.page_not_found
handler500 = error_pages.server_error


def stylesheet_of(page: str) -> bool:
    return '<link rel="stylesheet" href="/static/sounding/app.css">' in page


@pytest.mark.django_db
def test_an_unknown_app_address_is_the_apps_styled_page(owner: User) -> None:
    for client in (Client(), logged_in(owner)):
        response = client.get("/surveys/999999/nothing-here")
        page = response.content.decode()
        assert response.status_code == 404
        assert "<h1>Page not found</h1>" in page and stylesheet_of(page)
        assert "Go to your surveys" in page


@pytest.mark.django_db
def test_a_survey_of_another_workspace_is_the_same_page(owner: User) -> None:
    response = logged_in(owner).get("/surveys/999999/")
    assert response.status_code == 404
    assert "<h1>Page not found</h1>" in response.content.decode()


@pytest.mark.django_db
def test_an_unknown_respondent_address_keeps_the_respondents_page() -> None:
    unknown_slug = Client().get("/s/no-such-survey", HTTP_ACCEPT_LANGUAGE="fr")
    not_a_slug = Client().get("/s/no/such/page", HTTP_ACCEPT_LANGUAGE="fr")
    assert unknown_slug.status_code == not_a_slug.status_code == 404
    assert "Page not found" not in not_a_slug.content.decode()
    assert 'data-screen="closed"' in not_a_slug.content.decode()
    assert 'lang="fr"' in not_a_slug.content.decode()


@pytest.mark.django_db
def test_the_api_still_answers_json_for_an_unknown_address() -> None:
    response = Client().get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")


@pytest.mark.django_db
@override_settings(ROOT_URLCONF=__name__)
def test_a_refusal_is_the_apps_styled_page() -> None:
    response = Client().get("/refuses")
    page = response.content.decode()
    assert response.status_code == 403
    assert "<h1>Not allowed</h1>" in page and stylesheet_of(page)


@pytest.mark.django_db
@override_settings(ROOT_URLCONF=__name__)
def test_a_server_error_is_the_apps_styled_page() -> None:
    response = Client(raise_request_exception=False).get("/fails")
    page = response.content.decode()
    assert response.status_code == 500
    assert "<h1>Something went wrong</h1>" in page and stylesheet_of(page)


# No django_db mark: any query raises, as it would with the database down.
def test_the_500_page_needs_neither_the_database_nor_the_request() -> None:
    for request in (None, RequestFactory().get("/surveys/")):
        response = error_pages.server_error(request)
        assert response.status_code == 500
        assert "<h1>Something went wrong</h1>" in response.content.decode()


def test_the_500_page_falls_back_to_fixed_text(settings: object) -> None:
    with override_settings(TEMPLATES=[]):
        response = error_pages.server_error()
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()
