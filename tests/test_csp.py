"""Every page carries a Content-Security-Policy that lets no inline script run and no inline
style apply but the response's own nonce'd blocks, and no page needs more than that.

The browser tests (tests/browser_fixtures.py) fail on any violation of the pages they open;
the walk below reads every page of the app, including those no browser test opens.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.test import Client, override_settings
from django.urls import path, reverse

from sounding.accounts.models import User
from sounding.branding.models import Logo
from sounding.surveys.models import Survey
from tests import test_roles
from tests.conftest import logged_in
from tests.test_branding import brand_post, png, upload
from tests.test_roles import World
from tests.test_security import app_paths, public_pages

HEADER = "Content-Security-Policy"
NONCE = re.compile(r"'nonce-([\w-]+)'")

# The personas and the survey with responses that tests/test_roles.py walks the pages with.
world = test_roles.world


def directives(response: Any) -> dict[str, list[str]]:
    policy = response.headers[HEADER]
    parsed = {}
    for part in policy.split(";"):
        name, *sources = part.split()
        parsed[name] = sources
    return parsed


def nonce_of(response: Any) -> str:
    found = NONCE.search(response.headers[HEADER])
    return found[1] if found else ""


def assert_strict(response: Any) -> dict[str, list[str]]:
    policy = directives(response)
    assert policy["default-src"] == ["'none'"]
    assert policy["script-src"] == ["'self'"]
    assert [s for s in policy["style-src"] if not s.startswith("'nonce-")] == ["'self'"]
    for name in ("base-uri", "object-src"):
        assert policy[name] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["img-src"] == ["'self'", "data:"]
    assert "'unsafe-inline'" not in response.headers[HEADER]
    assert "'unsafe-eval'" not in response.headers[HEADER]
    return policy


def assert_email_preview(response: Any) -> None:
    """The email preview is the one page with inline styles: an email has nothing else, and
    shown in the app's own policy it would be unstyled. It may run nothing, load nothing from
    elsewhere, post nothing, and show only inside the app's own pages."""
    policy = directives(response)
    assert policy["default-src"] == ["'none'"]
    assert "script-src" not in policy
    assert policy["style-src"] == ["'unsafe-inline'"]
    assert policy["img-src"] == ["'self'", "data:"]
    assert policy["form-action"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'self'"]
    assert "<script" not in response.content.decode()


# --- Over real HTTP -------------------------------------------------------------------------


def _signed_in(user: User) -> dict[str, str]:
    name = settings.SESSION_COOKIE_NAME
    return {name: logged_in(user).cookies[name].value}


@pytest.mark.django_db(transaction=True)
def test_representative_pages_carry_the_policy_over_http(
    live_server: Any, owner: User, live_survey: Survey
) -> None:
    base = live_server.url
    with (
        httpx.Client(base_url=base) as anonymous,
        httpx.Client(base_url=base, cookies=_signed_in(owner)) as owner_http,
    ):
        pages = {
            "login": anonymous.get("/login"),
            "respondent": anonymous.get(live_survey.public_path()),
            "survey list": owner_http.get(reverse("survey-list")),
            "not found": anonymous.get("/no-such-page"),
            "survey not found": anonymous.get("/s/no-such-survey"),
            "csrf refusal": anonymous.post("/login", data={"username": "a", "password": "b"}),
        }
        again = anonymous.get(live_survey.public_path())
    assert [pages[n].status_code for n in pages] == [200, 200, 200, 404, 404, 403]
    for name, response in pages.items():
        policy = assert_strict(response)
        assert policy["frame-ancestors"] == ["'none'"], name
    # The refusal is the app's own page: Django's styles itself inline.
    assert "Form not sent" in pages["csrf refusal"].text

    # The respondent page's style blocks carry the nonce of their own response, a new one each.
    first, second = nonce_of(pages["respondent"]), nonce_of(again)
    assert len(first) >= 22 and len(second) >= 22 and first != second
    assert set(re.findall(r'<style nonce="([^"]+)">', pages["respondent"].text)) == {first}
    assert set(re.findall(r'<style nonce="([^"]+)">', again.text)) == {second}


@pytest.mark.django_db(transaction=True)
def test_the_preview_may_be_framed_by_the_app_and_logos_keep_their_stricter_policy(
    live_server: Any, owner: User, live_survey: Survey
) -> None:
    brand_post(logged_in(owner), logo=upload(png()))
    sha = Logo.objects.get().sha256
    with httpx.Client(base_url=live_server.url, cookies=_signed_in(owner)) as http:
        preview = http.get(live_survey.public_path(), params={"preview": "1"})
        logo = http.get(f"/brand/{sha}.png")
    assert preview.status_code == 200 and preview.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert assert_strict(preview)["frame-ancestors"] == ["'self'"]
    assert logo.status_code == 200 and logo.headers[HEADER] == "default-src 'none'"


# --- Every page of the app ------------------------------------------------------------------


class Inline(HTMLParser):
    """What a page holds that the policy refuses: inline scripts and handlers, style
    attributes, `javascript:` addresses, and style blocks without the response's nonce."""

    def __init__(self, nonce: str) -> None:
        super().__init__()
        self.nonce = nonce
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name, value in attrs:
            if name.startswith("on") or name == "style":
                self.found.append(f"<{tag} {name}=…>")
            if (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}={value}>")
        if tag == "script" and "src" not in values and values.get("type") != "application/json":
            self.found.append("<script> without src")
        if tag == "style" and (not self.nonce or values.get("nonce") != self.nonce):
            self.found.append("<style> without the response's nonce")


def refused_inline(response: Any) -> list[str]:
    parser = Inline(nonce_of(response))
    parser.feed(response.content.decode())
    return parser.found


def pages_of(client: Client, paths: list[str]) -> dict[str, Any]:
    return {p: client.get(p) for p in paths}


@pytest.mark.django_db
def test_every_page_of_the_app_carries_the_policy_and_needs_nothing_inline(
    world: World,
) -> None:
    owner = logged_in(world.owner)
    owner.raise_request_exception = False
    survey = world.survey
    pages = pages_of(owner, app_paths(world))
    pages |= pages_of(Client(), public_pages(world))
    respondent = [
        survey.public_path(),
        survey.public_path() + "?lang=fr",
        survey.public_path() + "?preview=1",
        "/s/no-such-survey",
    ]
    pages |= pages_of(Client(), respondent)
    pages[survey.public_path() + "?preview=1"] = owner.get(survey.public_path() + "?preview=1")
    html = {p: r for p, r in pages.items() if "text/html" in r.get("Content-Type", "")}
    assert len(html) > 40
    previews = {p for p in html if p.endswith("/share/email/preview")}
    assert previews, "the email preview is no longer among the app's pages"
    for page in previews:
        assert_email_preview(html.pop(page))
    for page, response in html.items():
        assert HEADER in response, page
        assert_strict(response)
    refused = {page: found for page, r in html.items() if (found := refused_inline(r))}
    assert refused == {}
    # Not vacuous: pages with inline blocks were read, and the parser sees what it looks for.
    assert sum(1 for r in html.values() if nonce_of(r)) >= 4
    sample = '<p style="x" onclick="y"><a href="javascript:z"></a><script>1</script><style>'
    parser = Inline("abc")
    parser.feed(sample)
    assert len(parser.found) == 5


@pytest.mark.django_db
def test_a_screen_respond_js_fetches_has_no_style_block_to_refuse(live_survey: Survey) -> None:
    response = Client().get(live_survey.public_path(), HTTP_X_REQUESTED_WITH="fetch")
    page = response.content.decode()
    assert response.status_code == 200 and 'id="screen"' in page
    assert "<style" not in page and nonce_of(response) == ""
    assert_strict(response)


@pytest.mark.django_db
def test_a_respondent_refusal_and_a_too_large_body_carry_the_policy(live_survey: Survey) -> None:
    body = "q=nps&a=9&other=" + "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    response = Client().post(
        live_survey.public_path(), body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 413
    assert_strict(response)
    assert refused_inline(response) == []


def _fails(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug")


urlpatterns = [path("fails", _fails)]


@pytest.mark.django_db
@override_settings(ROOT_URLCONF=__name__)
def test_a_server_error_carries_the_policy() -> None:
    client = Client(raise_request_exception=False)
    response = client.get("/fails")
    assert response.status_code == 500
    assert_strict(response)


@pytest.mark.django_db
def test_api_answers_carry_the_policy_too(owner_token: str) -> None:
    response = Client().get("/api/v1/surveys", HTTP_AUTHORIZATION=f"Bearer {owner_token}")
    assert response.status_code == 200
    assert_strict(response)
    assert nonce_of(response) == ""
