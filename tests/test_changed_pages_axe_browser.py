"""Every page the builder, templates, reports and branding work changed, through axe in
Chromium: light and dark, desktop and phone. A test's name says which page, scheme and size
failed.

Each page is brought to the state worth checking the way a person gets there (the editor and its
type picker opened by clicks, the shortcuts by "?", the sign-in page by a form sent after the
session ran out); only the addresses of pages that no link leads to are typed. One browser for
the module and one context per scheme and size, kept across tests; each test opens its own page
in it, and its own data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings as conf
from django.contrib.sessions.models import Session
from django.urls import reverse

from sounding.accounts.models import User, Workspace
from sounding.surveys.models import Status, Survey
from tests.browser_fixtures import PHONE, WATCHES, CspWatch, csp_watch, serious_violations
from tests.conftest import EVERY_TYPE, PASSWORD, logged_in
from tests.test_branding import brand_post, png, upload
from tests.test_report_trends import PEOPLE as DATED
from tests.test_report_trends import PULSE, add

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": PHONE}
SCHEMES = ("light", "dark")
WEBSITE = "https://acme.test/home"
TREND_AND_BREAKDOWN = "?since=2026-03-01&until=2026-03-31&bucket=week&by=hidden%3Aplan"


@dataclass
class World:
    """What one test's pages show: a live survey with dated responses, a draft, a one-question
    survey to reach a thank-you screen, and a workspace brand with both logos and a website."""

    base: str
    owner: User
    live: Survey
    draft: Survey
    short: Survey


@pytest.fixture
def world(live_server: Any, workspace: Workspace, owner: User) -> World:
    live = Survey.create(workspace, PULSE, owner)
    live.set_status(Status.LIVE)
    add(live, DATED)
    draft = Survey.create(workspace, EVERY_TYPE, owner)
    short = Survey.create(
        workspace,
        {
            "title": "One more thing",
            "questions": [{"key": "renew", "type": "yes_no", "prompt": "Will you renew?"}],
        },
        owner,
    )
    short.set_status(Status.LIVE)
    saved = brand_post(
        logged_in(owner),
        logo=upload(png(colour=b"\x10\x10\x10"), "light.png"),
        logo_dark=upload(png(colour=b"\xf0\xf0\xf0"), "dark.png"),
        website=WEBSITE,
    )
    assert saved.status_code == 302
    return World(live_server.url, owner, live, draft, short)


def sign_in(page: Any, world: World) -> None:
    cookie = logged_in(world.owner).cookies[conf.SESSION_COOKIE_NAME].value
    page.context.add_cookies(
        [{"name": conf.SESSION_COOKIE_NAME, "value": cookie, "url": world.base}]
    )


def go(page: Any, world: World, path: str) -> None:
    sign_in(page, world)
    page.goto(world.base + path)


def surveys(page: Any, world: World) -> None:
    go(page, world, reverse("survey-list"))
    page.get_by_role("link", name="New survey").wait_for()


def new_survey(page: Any, world: World) -> None:
    go(page, world, reverse("survey-list"))
    page.get_by_role("link", name="New survey").click()
    page.get_by_role("button", name="Use this template").first.wait_for()


def builder_editing(page: Any, world: World) -> None:
    go(page, world, world.draft.get_absolute_url())
    page.locator("#q-plan .q-prompt").click()
    chip = page.locator("#edit-plan .type-chip")
    chip.click()
    assert chip.get_attribute("aria-expanded") == "true"
    page.locator("#edit-plan .type-cards").wait_for()


def shortcuts(page: Any, world: World) -> None:
    go(page, world, world.draft.get_absolute_url())
    page.locator("[data-shortcuts-open] button").wait_for()
    page.locator("body").press("?")
    page.locator("#shortcuts").wait_for()


def publish_confirm(page: Any, world: World) -> None:
    go(page, world, world.draft.get_absolute_url())
    page.get_by_role("link", name="Publish…").click()
    page.get_by_role("button", name="Publish survey").wait_for()


def pause_confirm(page: Any, world: World) -> None:
    go(page, world, world.live.get_absolute_url())
    page.get_by_role("link", name="Pause…").click()
    page.get_by_role("button", name="Pause survey").wait_for()


def share(page: Any, world: World) -> None:
    go(page, world, world.live.get_absolute_url())
    page.locator("nav[aria-label=Survey]").get_by_role("link", name="Share").click()
    page.get_by_role("textbox", name="Public link").wait_for()


def report(page: Any, world: World) -> None:
    go(page, world, reverse("survey-report", args=[world.live.pk]) + TREND_AND_BREAKDOWN)
    page.get_by_role("img", name="Question 1: NPS by week").wait_for()
    page.get_by_role("img", name="Question 1: NPS by hidden field “plan”").wait_for()


def responses(page: Any, world: World) -> None:
    go(page, world, reverse("survey-responses", args=[world.live.pk]))
    page.get_by_role("table").first.wait_for()


def branding_settings(page: Any, world: World) -> None:
    go(page, world, reverse("branding-settings"))
    page.get_by_role("img", name="The current dark-mode logo").wait_for()


def not_found(page: Any, world: World) -> None:
    go(page, world, "/surveys/999999/nothing-here")
    page.get_by_role("heading", name="Page not found").wait_for()


def forbidden(page: Any, world: World) -> None:
    # No page of the app refuses a signed-in owner, so the test address of the error pages'
    # own tests raises the refusal the app's handler renders.
    go(page, world, "/refuses")
    page.get_by_role("heading", name="Not allowed").wait_for()


def _expire_and_send(page: Any, world: World) -> None:
    go(page, world, reverse("branding-settings"))
    Session.objects.all().delete()
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(lambda url: "/login?" in url and "resume" in url)


def sign_in_expired(page: Any, world: World) -> None:
    _expire_and_send(page, world)
    page.get_by_role("button", name="Sign in").wait_for()


def resume(page: Any, world: World) -> None:
    _expire_and_send(page, world)
    page.get_by_label("Email").fill(world.owner.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Send your form again").wait_for()


def respondent_question(page: Any, world: World) -> None:
    page.goto(world.base + world.live.public_path())
    page.wait_for_selector('main[data-question="nps"]')


def respondent_thanks(page: Any, world: World) -> None:
    page.goto(world.base + world.short.public_path())
    page.get_by_role("radio", name="Yes").check()
    page.wait_for_selector("[data-screen=done]")
    assert page.get_by_role("link", name="Back to Acme").get_attribute("href") == WEBSITE


# axe leaves an aria-describedby that names no element "to review", not a violation; a
# screen reader then reads nothing where the page meant a hint.
BROKEN_REFERENCES = """() => {
  const broken = [];
  const names = ["aria-describedby", "aria-labelledby", "aria-controls", "aria-errormessage"];
  for (const name of names) {
    for (const node of document.querySelectorAll("[" + name + "]")) {
      for (const id of node.getAttribute(name).split(/\\s+/).filter(Boolean)) {
        if (!document.getElementById(id)) broken.push(`${node.id || node.tagName} ${name}=${id}`);
      }
    }
  }
  return broken;
}"""


PAGES: dict[str, Callable[[Any, World], None]] = {
    "survey-list": surveys,
    "new-survey-gallery": new_survey,
    "builder-editing-type-picker": builder_editing,
    "shortcuts-dialog": shortcuts,
    "publish-confirm": publish_confirm,
    "pause-confirm": pause_confirm,
    "share-tab": share,
    "report-trend-breakdown": report,
    "responses": responses,
    "branding-settings-dark-logo": branding_settings,
    "404": not_found,
    "403": forbidden,
    "sign-in-after-expiry": sign_in_expired,
    "resume-after-sign-in": resume,
    "respondent-question": respondent_question,
    "respondent-thank-you": respondent_thanks,
}


@pytest.fixture(scope="module")
def contexts(chromium: Any) -> Iterator[dict[tuple[str, str], tuple[Any, CspWatch]]]:
    opened: dict[tuple[str, str], tuple[Any, CspWatch]] = {}
    for scheme in SCHEMES:
        for size, viewport in SIZES.items():
            context = chromium.new_context(viewport=viewport, color_scheme=scheme)
            opened[scheme, size] = (context, csp_watch(context))
    yield opened
    for context, _watch in opened.values():
        context.close()


@pytest.fixture
def page_in(
    contexts: dict[tuple[str, str], tuple[Any, CspWatch]],
) -> Iterator[Callable[[str, str], Any]]:
    pages: list[Any] = []

    def open_page(scheme: str, size: str) -> Any:
        context, watch = contexts[scheme, size]
        # Watched again for this test: the suite's check of policy violations takes the
        # watches of the test that just ran.
        if watch not in WATCHES:
            WATCHES.append(watch)
        context.clear_cookies()
        page = context.new_page()
        page.set_default_timeout(10_000)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        pages.append((page, errors))
        return page

    yield open_page
    for page, errors in pages:
        page.close()
        assert errors == [], "a page script failed"


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("name", list(PAGES))
def test_no_serious_violation(
    name: str,
    scheme: str,
    size: str,
    world: World,
    page_in: Callable[[str, str], Any],
    settings: Any,
) -> None:
    if name == "403":
        settings.ROOT_URLCONF = "tests.test_error_pages"
    page = page_in(scheme, size)
    PAGES[name](page, world)
    assert page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches") == (scheme == "dark")
    assert serious_violations(page) == [], f"{name}, {scheme}, {size}"
    assert page.evaluate(BROKEN_REFERENCES) == [], f"{name}, {scheme}, {size}"
