"""The browser tests' watch for Content-Security-Policy violations sees them (so that its
silence elsewhere means something), and the pages it was built for keep the policy."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings

from sounding.accounts.models import User
from sounding.surveys.models import Survey
from tests.browser_fixtures import csp_watch
from tests.conftest import logged_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# What an injected script or markup would try: an inline script, a style attribute, a handler.
INJECTED = (
    '<p id="injected" style="color:red" onclick="void 0">x</p>'
    "<script>document.title = 'ran'</script><style>body{color:red}</style>"
)


def test_the_watch_sees_what_a_script_does_that_the_policy_refuses(
    live_server: Any, phone: Any
) -> None:
    phone.goto(f"{live_server.url}/login")
    phone.evaluate(
        """() => {
          const script = document.createElement("script");
          script.textContent = "document.title = 'ran'";
          document.body.append(script);
          document.body.firstElementChild.setAttribute("style", "color:red");
        }"""
    )
    phone.wait_for_function("() => window.__cspViolations.length >= 2")
    found = csp_watch(phone.context).take()
    assert phone.title() != "ran"
    assert any("script-src-elem" in seen for seen in found), found
    assert any("style-src-attr" in seen for seen in found), found


def _served_with(page: Any, url: str, extra: str) -> None:
    """`url` as the server answers it, policy included, with `extra` in its body."""

    def handle(route: Any) -> None:
        response = route.fetch()
        route.fulfill(response=response, body=response.text().replace("</main>", extra + "</main>"))

    page.route(url, handle)
    page.goto(url)


def test_the_watch_sees_markup_the_policy_refuses_with_javascript(
    live_server: Any, phone: Any, live_survey: Survey
) -> None:
    _served_with(phone, f"{live_server.url}/s/{live_survey.slug}", INJECTED)
    phone.wait_for_selector("#injected")
    phone.wait_for_function("() => window.__cspViolations.length >= 3")
    found = csp_watch(phone.context).take()
    assert phone.title() != "ran"
    for directive in ("script-src-elem", "style-src-attr", "style-src-elem"):
        assert any(directive in seen for seen in found), (directive, found)


def test_the_watch_sees_markup_the_policy_refuses_without_javascript(
    live_server: Any, phone_without_js: Any
) -> None:
    page = phone_without_js
    _served_with(page, f"{live_server.url}/login", INJECTED)
    assert page.locator("#injected").count() == 1
    page.wait_for_timeout(200)  # console messages come in after the load
    found = csp_watch(page.context).take()
    assert any(seen.startswith("console:") and "style" in seen for seen in found), found


def test_the_branding_preview_follows_the_form_within_the_policy(
    live_server: Any, phone: Any, owner: User
) -> None:
    cookie = logged_in(owner).cookies[settings.SESSION_COOKIE_NAME].value
    phone.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}]
    )
    phone.goto(f"{live_server.url}/settings/branding")
    button = "getComputedStyle(document.querySelector('.swatch-light .sw-button'))"
    assert phone.evaluate(f"{button}.backgroundColor") != "rgb(46, 125, 50)"
    phone.get_by_role("textbox", name="Accent colour", exact=True).fill("#2E7D32")
    phone.wait_for_function(f"() => {button}.backgroundColor === 'rgb(46, 125, 50)'")
    # Square buttons: the preview's shape follows as well, through the same style block.
    phone.get_by_label("Square").check()
    phone.wait_for_function(f"() => {button}.borderTopLeftRadius === '0px'")
    assert phone.locator("style").count() == 1
