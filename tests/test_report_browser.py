"""The report in a real Chromium, on a phone and a desktop, in light and dark mode: nothing
wider than the screen, the tables behind "Show as table", and no serious accessibility
violation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.urls import reverse
from playwright.sync_api import expect

from sounding.accounts.models import User
from sounding.surveys.models import Status, Survey
from tests.browser_fixtures import screenshot, serious_violations
from tests.conftest import logged_in
from tests.test_report import PEOPLE, add_people

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 900}


def sign_in(page: Any, live_server: Any, user: User) -> None:
    cookie = logged_in(user).cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}]
    )


@pytest.fixture
def desktop_dark(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(viewport=DESKTOP, color_scheme="dark")
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def answered(live_survey: Survey) -> Survey:
    add_people(live_survey, PEOPLE)
    return live_survey


def open_report(page: Any, live_server: Any, user: User, survey: Survey, query: str = "") -> None:
    sign_in(page, live_server, user)
    page.goto(live_server.url + reverse("survey-report", args=[survey.pk]) + query)
    page.wait_for_selector("h1")


def overflow(page: Any) -> int:
    """How many pixels the page is wider than the screen (0: no sideways scrolling)."""
    return int(
        page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    )


def test_a_viewer_reads_the_report_on_a_phone(
    live_server: Any, phone: Any, viewer: User, answered: Survey
) -> None:
    open_report(phone, live_server, viewer, answered)
    assert phone.get_by_role("heading", level=1).inner_text() == "Report"
    nps = phone.get_by_role("img", name="Question 1: detractors, passives and promoters")
    assert nps.is_visible()
    assert nps.bounding_box()["width"] <= 390
    assert overflow(phone) == 0
    section = phone.locator("#q-plan")
    section.get_by_text("Show as table").click()
    table = section.get_by_role("table")
    assert table.is_visible()
    assert table.locator("tbody tr").all_inner_texts()[1].split() == ["Pro", "2", "50%"]
    assert serious_violations(phone) == []
    screenshot(phone, "report")


def test_the_report_on_a_dark_desktop_filtered(
    live_server: Any, desktop_dark: Any, owner: User, answered: Survey
) -> None:
    page = desktop_dark
    open_report(page, live_server, owner, answered)
    page.get_by_label("Completion", exact=True).select_option("completed")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url("**completion=completed**")
    assert "Completed" in page.locator(".head .meta").inner_text()
    assert page.locator(".report-tally .tally-n").first.inner_text() == "4"
    # The bars take the dark palette's accent, not the light one.
    fill = page.locator("#q-rating .chart-bar").first.evaluate("e => getComputedStyle(e).fill")
    assert fill == "rgb(165, 163, 255)"
    assert overflow(page) == 0
    assert serious_violations(page) == []
    screenshot(page, "report-desktop-dark")


def test_invalid_filters_and_the_answers_page_pass_axe(
    live_server: Any, phone: Any, viewer: User, answered: Survey
) -> None:
    open_report(phone, live_server, viewer, answered, "?since=someday")
    assert phone.get_by_role("alert").is_visible()
    assert "Enter a date as YYYY-MM-DD" in phone.get_by_role("alert").inner_text()
    # Read out with each field: its error, and its hint.
    expect(phone.get_by_label("Started from")).to_have_accessible_description(
        "Enter a date as YYYY-MM-DD, for example 2026-01-31."
    )
    expect(phone.get_by_label("Started to")).to_have_accessible_description("Included.")
    assert serious_violations(phone) == []

    open_report(phone, live_server, viewer, answered)
    phone.locator("#q-feedback").get_by_role("searchbox").fill("café")
    phone.locator("#q-feedback").get_by_role("button", name="Search").click()
    phone.wait_for_url("**search=caf**")
    assert phone.locator(".answer-text").all_inner_texts() == ["Le café était très bon"]
    assert overflow(phone) == 0
    assert serious_violations(phone) == []
    screenshot(phone, "report-answers")


@pytest.fixture
def pulse(workspace: Any, owner: User) -> Survey:
    from tests.test_report_trends import PEOPLE as DATED
    from tests.test_report_trends import PULSE, add

    survey = Survey.create(workspace, PULSE, owner)
    survey.set_status(Status.LIVE)
    add(survey, DATED)
    return survey


def test_a_trend_and_a_breakdown_chosen_in_the_form_are_in_the_url(
    live_server: Any, chromium: Any, owner: User, pulse: Survey
) -> None:
    context = chromium.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        open_report(page, live_server, owner, pulse, "?since=2026-03-01&until=2026-03-31")
        page.get_by_label("Trend by").select_option("week")
        page.get_by_label("Break down by").select_option("hidden:plan")
        page.get_by_role("button", name="Apply filters").click()
        page.wait_for_url("**by=hidden%3Aplan**")
        assert "bucket=week" in page.url and "since=2026-03-01" in page.url

        section = page.locator("#q-nps")
        trend = section.get_by_role("img", name="Question 1: NPS by week")
        assert trend.is_visible()
        assert trend.locator("rect.chart-bar").count() == 2  # two of the six weeks answered
        section.locator("details", has=page.locator("text=NPS and answers for each week")).locator(
            "summary"
        ).click()
        rows = section.get_by_role("table", name="NPS and answers for each week")
        assert rows.locator("tbody tr").all_inner_texts()[1].split() == [
            "Week",
            "of",
            "2",
            "Mar",
            "2026",
            "+33",
            "3",
        ]
        by = section.get_by_role("img", name="Question 1: NPS by hidden field “plan”")
        assert by.is_visible()
        assert "Previous period: −100 NPS" in section.inner_text()

        choices = page.locator("#q-heard").get_by_role("table")
        assert choices.locator("tbody th").all_inner_texts() == ["free", "pro", "Not given"]

        # The shared address opens the same view.
        shared = context.new_page()
        shared.goto(page.url)
        assert shared.get_by_label("Break down by").input_value() == "hidden:plan"
        assert overflow(page) == 0
        assert serious_violations(page) == []
        screenshot(page, "report-trend")
    finally:
        context.close()
