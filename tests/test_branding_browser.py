"""Branding in a real Chromium on a phone: the respondent pages and the settings pages."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings

from sounding.accounts.models import User
from sounding.surveys.models import Survey
from tests.browser_fixtures import screenshot, serious_violations
from tests.conftest import logged_in
from tests.test_branding import brand_post, png, upload

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _signed_in(phone: Any, live_server: Any, user: User) -> None:
    cookie = logged_in(user).cookies[settings.SESSION_COOKIE_NAME].value
    phone.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}]
    )


def _colour(page: Any, selector: str, prop: str) -> str:
    return page.eval_on_selector(selector, f"e => getComputedStyle(e).{prop}")


def test_a_branded_survey_shows_its_logo_and_a_readable_accent(
    live_server: Any, phone: Any, owner: User, live_survey: Survey
) -> None:
    # A yellow too light for text on white: the page uses the darker shade Sounding chose.
    brand_post(
        logged_in(owner),
        accent="#FFD400",
        button_shape="pill",
        font="humanist",
        logo=upload(png(160, 48, colour=b"\xff\xd4\x00")),
    )
    phone.goto(f"{live_server.url}/s/{live_survey.slug}?user_braze_id=br-1")
    phone.wait_for_selector('main[data-question="nps"]')
    logo = phone.get_by_role("img", name="Acme")
    assert logo.is_visible()
    assert phone.eval_on_selector(".logo img", "img => img.naturalWidth") == 160
    assert _colour(phone, ".next", "backgroundColor") == "rgb(140, 117, 0)"
    assert _colour(phone, ".next", "color") == "rgb(255, 255, 255)"
    assert _colour(phone, ".next", "borderTopLeftRadius") == "999px"
    assert _colour(phone, ".bar rect", "fill") == "rgb(140, 117, 0)"
    assert serious_violations(phone) == []
    screenshot(phone, "respondent-branded")

    # A picked answer wears the accent too; the next screen keeps the brand.
    phone.get_by_role("radio", name="9", exact=True).check()
    phone.wait_for_selector('main[data-question="rating"]')
    phone.get_by_role("button", name="Back").click()
    phone.wait_for_selector('main[data-question="nps"]')
    picked = ".pick input:checked + span"
    assert _colour(phone, picked, "backgroundColor") == "rgb(140, 117, 0)"

    # In dark mode the yellow itself reads well on the dark background, with dark text.
    phone.emulate_media(color_scheme="dark")
    assert _colour(phone, ".next", "backgroundColor") == "rgb(255, 212, 0)"
    assert _colour(phone, ".next", "color") == "rgb(20, 20, 24)"
    assert serious_violations(phone) == []
    screenshot(phone, "respondent-branded-dark")


def test_an_outline_button_brand_stays_accessible(
    live_server: Any, phone: Any, owner: User, live_survey: Survey
) -> None:
    brand_post(logged_in(owner), accent="#00C2FF", button_fill="outline", button_shape="square")
    phone.goto(f"{live_server.url}/s/{live_survey.slug}")
    phone.wait_for_selector('main[data-question="nps"]')
    assert _colour(phone, ".next", "backgroundColor") == "rgba(0, 0, 0, 0)"
    assert _colour(phone, ".next", "borderTopLeftRadius") == "0px"
    assert serious_violations(phone) == []


def test_the_settings_preview_follows_the_colour_as_it_is_typed(
    live_server: Any, phone: Any, owner: User, live_survey: Survey
) -> None:
    _signed_in(phone, live_server, owner)
    requested: list[str] = []
    phone.on("request", lambda r: requested.append(r.url))
    phone.goto(f"{live_server.url}/settings/branding")
    assert phone.locator("h1").count() == 1
    field = phone.get_by_role("textbox", name="Accent colour", exact=True)
    field.fill("#FFD400")
    notice = phone.locator("#contrast-notice")
    notice.wait_for()
    assert "Sounding will use #8C7500 for links and buttons" in notice.inner_text()
    assert phone.eval_on_selector(
        ".swatch-light .sw-button", "e => getComputedStyle(e).backgroundColor"
    ) == ("rgb(140, 117, 0)")
    assert serious_violations(phone) == []
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(phone, "branding-settings")
    phone.get_by_role("button", name="Save").click()
    phone.wait_for_selector("text=Branding saved.")
    assert all(url.startswith(live_server.url) for url in requested)

    phone.goto(f"{live_server.url}/surveys/{live_survey.pk}/branding")
    assert phone.locator("h1").count() == 1
    assert serious_violations(phone) == []
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(phone, "branding-survey")


def test_a_phone_in_dark_mode_shows_the_dark_logo_and_a_desktop_the_survey_on_a_card(
    live_server: Any, chromium: Any, owner: User, live_survey: Survey
) -> None:
    from tests.test_branding import png

    client = logged_in(owner)
    light, dark = png(colour=b"\x10\x10\x10"), png(colour=b"\xf0\xf0\xf0")
    brand_post(client, logo=upload(light, "l.png"), logo_dark=upload(dark, "d.png"))
    url = f"{live_server.url}/s/{live_survey.slug}"
    shown = {}
    for scheme in ("light", "dark"):
        page = chromium.new_page(viewport={"width": 390, "height": 844}, color_scheme=scheme)
        page.goto(url)
        shown[scheme] = page.eval_on_selector(".logo img", "e => e.currentSrc")
        source = page.eval_on_selector(".logo source", "e => e.srcset")
        page.close()
    assert shown["light"] != shown["dark"]
    assert shown["dark"].endswith(source)
    desk = chromium.new_page(viewport={"width": 1280, "height": 800}, color_scheme="dark")
    desk.goto(url)
    card = desk.eval_on_selector(".page", "e => getComputedStyle(e).boxShadow")
    assert card != "none"
    assert serious_violations(desk) == []
    screenshot(desk, "respondent-desktop-dark")
    desk.close()
