"""The survey's first question in a Braze Custom Code banner, in Chromium, on a customer's
site (tests/message_host.py): a tap on an answer stores it, by a POST of the page's form, and
the same frame goes on to question 2 of that same response; the banner logs one click, with
no id, as banners require."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sounding.accounts.models import User, Workspace
from sounding.answers.models import Answer, Response
from sounding.collect import ratelimit, signatures
from sounding.destinations.braze.channels.banner import BRAZE_SETTINGS, banner_html
from sounding.surveys.models import Survey
from tests.browser_fixtures import screenshot, serious_violations
from tests.message_host import Site, bridge_calls, customer_site, render_liquid
from tests.test_channel_inapp import FOUR, InFrame, frame_of, live, no_cookies_for, on

SURVEY_PATH = "/s/"


@pytest.fixture(autouse=True)
def _fresh_caches() -> None:
    signatures.forget()
    ratelimit.forget()


@pytest.fixture
def site() -> Iterator[Site]:
    yield from customer_site()


@pytest.mark.django_db
def test_the_banner_frames_the_first_question_in_banner_mode(
    workspace: Workspace, owner: User
) -> None:
    survey = live(workspace, owner, FOUR)
    html = banner_html(survey, "https://surveys.example.com/", None)
    assert (
        f'src="https://surveys.example.com{survey.public_path()}?user_braze_id={{{{${{braze_id}}}}}}'
        '&amp;lang={{${language}}}&amp;embed=banner"' in html
    )
    assert 'var ORIGIN = "https://surveys.example.com";' in html
    # Banners take a click without an id, and nothing else.
    assert "b.logClick();" in html and "closeMessage" not in html
    assert any("allowUserSuppliedJavascript: true" in s for s in BRAZE_SETTINGS)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_tap_in_the_banner_stores_the_answer_and_the_same_response_goes_on(
    live_server: Any, phone: Any, site: Site, workspace: Workspace, owner: User
) -> None:
    survey: Survey = live(workspace, owner, FOUR)
    site.show("banner", render_liquid(banner_html(survey, live_server.url, None), "bz-banner"))
    sent: list[tuple[str, str]] = []
    phone.on("request", lambda r: sent.append((r.method, r.url)) if SURVEY_PATH in r.url else None)
    phone.goto(site.url)
    frame = InFrame(
        phone, frame_of(phone, lambda url: url.startswith(live_server.url + SURVEY_PATH))
    )
    on(frame, "nps")
    assert frame.evaluate("document.body.getAttribute('data-embed')") == "banner"
    phone.wait_for_function(
        "() => document.querySelector('iframe.banner').getBoundingClientRect().height > 330"
    )
    screenshot(phone, "channel-banner")
    assert serious_violations(frame.frame) == []
    assert not Response.objects.exists()

    frame.get_by_role("radio", name="8", exact=True).check()
    on(frame, "plan")

    # Stored by the tap, a POST of the form; opening the banner stored nothing.
    response = Response.objects.get(survey=survey)
    assert response.identity["braze_id"] == "bz-banner"
    assert dict(Answer.objects.filter(response=response).values_list("question_key", "value")) == {
        "nps": 8
    }
    answers = [(method, url) for method, url in sent if method == "POST"]
    assert len(answers) == 1 and "embed=banner" in answers[0][1]
    # The next screen is question 2 of that same response: its form carries the token.
    # Of the questions the answers show so far (a rule holds the fourth back).
    assert frame.get_by_text("Question 2 of 3").is_visible()
    assert frame.locator('main[data-question="plan"] input[name="r"]').input_value() == (
        response.token
    )
    phone.wait_for_function("() => window.bridgeCalls.length > 0")
    assert bridge_calls(phone) == [{"call": "logClick", "args": []}]

    frame.get_by_role("radio", name="Free").check()
    on(frame, "why_free")
    assert Answer.objects.filter(response=response).count() == 2
    assert Response.objects.count() == 1
    # One click per banner: the first answer is the person's tap on it.
    assert bridge_calls(phone) == [{"call": "logClick", "args": []}]
    no_cookies_for(phone, live_server.url)
