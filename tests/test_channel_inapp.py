"""The survey in a Braze Custom Code in-app message, in Chromium, on a customer's site.

The message HTML comes from `in_app_html`, its Liquid rendered for one user as Braze would,
and runs as Braze's Web SDK runs it: in an `<iframe srcdoc>` of a page from another origin
than Sounding's, with a `brazeBridge` stand-in (tests/message_host.py). The survey's page in
the message's frame is a third-party frame: its cookies are refused, so every test also shows
the whole survey works without them.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from playwright.sync_api import Error as PlaywrightError

from sounding.accounts.models import User, Workspace
from sounding.answers.models import Answer, Response
from sounding.collect import ratelimit, signatures
from sounding.destinations.braze import signing
from sounding.destinations.braze.channels.framed import ChannelError, origin
from sounding.destinations.braze.channels.inapp import (
    BRAZE_SETTINGS,
    SHARED_CLICK_ID,
    click_ids,
    in_app_html,
)
from sounding.destinations.braze.models import BrazeSettings, Identifier, SurveyBraze
from sounding.surveys.definition import build_spec, normalize
from sounding.surveys.models import Status, Survey
from tests.browser_fixtures import screenshot, serious_violations
from tests.conftest import EVERY_TYPE
from tests.delivery_fixtures import drain, integrate
from tests.message_host import Site, bridge_calls, customer_site, render_liquid
from tests.standin import StandinHarness
from tests.test_respond_browser import EXPECTED, answer_every_question

NPS = "How likely are you to recommend us?"
PLAN = "Which plan are you on?"
WHY_FREE = "What keeps you on Free?"
MORE = "Anything else?"
FOUR: dict[str, Any] = {
    "title": "Quick check-in",
    "questions": [
        {"key": "nps", "type": "nps", "prompt": NPS, "required": True},
        {
            "key": "plan",
            "type": "single_choice",
            "prompt": PLAN,
            "choices": ["Free", "Pro", "Enterprise"],
        },
        {
            "key": "why_free",
            "type": "short_text",
            "prompt": WHY_FREE,
            "show_if": {"question": "plan", "op": "equals", "value": "Free"},
        },
        {"key": "feedback", "type": "long_text", "prompt": MORE},
    ],
}
# What Braze takes as a click id.
CLICK_ID = re.compile(r"^[A-Za-z0-9 _-]{1,255}$")
SURVEY_PATH = "/s/"


@pytest.fixture(autouse=True)
def _fresh_caches() -> None:
    # Survey ids come back between tests on SQLite; a signing key cached for another test's
    # survey must not be found.
    signatures.forget()
    ratelimit.forget()


@pytest.fixture
def site() -> Iterator[Site]:
    yield from customer_site()


def live(workspace: Workspace, owner: User, definition: dict[str, Any], **options: Any) -> Survey:
    survey = Survey.create(workspace, definition, owner)
    survey.set_status(Status.LIVE)
    integrate(survey, **options)
    return survey


class InFrame:
    """A frame that answers like a page: the keyboard is the page's (keys go to the frame
    that has the focus, as a person's do)."""

    def __init__(self, page: Any, frame: Any) -> None:
        self.page = page
        self.frame = frame

    @property
    def keyboard(self) -> Any:
        return self.page.keyboard

    def __getattr__(self, name: str) -> Any:
        return getattr(self.frame, name)


def frame_of(page: Any, matches: Any, within: float = 10.0) -> Any:
    deadline = time.monotonic() + within
    while True:
        found = [frame for frame in page.frames if matches(frame.url)]
        if found:
            return found[0]
        assert time.monotonic() < deadline, [frame.url for frame in page.frames]
        page.wait_for_timeout(50)


def open_message(page: Any, site: Site, html: str, base: str) -> InFrame:
    """The customer's page with the message over it; the survey's frame inside the message."""
    site.show("inapp", html)
    page.goto(site.url)
    survey = frame_of(page, lambda url: url.startswith(base + SURVEY_PATH))
    survey.wait_for_selector("main[data-screen]")
    return InFrame(page, survey)


def on(frame: Any, key: str) -> None:
    frame.wait_for_selector(f'main[data-question="{key}"]:not([data-wait])')


def closed(page: Any) -> list[dict[str, Any]]:
    """The bridge's calls once the message asked to close (and a moment more, in which no
    second close may come)."""
    page.wait_for_function(
        "() => window.bridgeCalls.some(function (c) { return c.call === 'closeMessage'; })",
        timeout=10_000,
    )
    assert page.locator("iframe.inapp").count() == 0, "the stand-in removes the message"
    return bridge_calls(page)


def clicks(calls: list[dict[str, Any]]) -> list[list[Any]]:
    return [c["args"] for c in calls if c["call"] == "logClick"]


def closes(calls: list[dict[str, Any]]) -> int:
    return sum(c["call"] == "closeMessage" for c in calls)


def no_cookies_for(page: Any, base: str) -> None:
    assert page.context.cookies(base) == [], "the survey's frame is third-party: no cookie"


def profile(standin: StandinHarness, who: str) -> dict[str, Any]:
    return standin.users().get(f"braze_id:{who}", {"attributes": {}, "types": {}})


def answer_four(frame: InFrame, feedback: str) -> None:
    on(frame, "nps")
    frame.get_by_role("radio", name="9", exact=True).check()
    on(frame, "plan")
    frame.get_by_role("radio", name="Pro").check()
    # Pro hides "What keeps you on Free?": the next screen is the last question.
    on(frame, "feedback")
    frame.get_by_label(MORE).fill(feedback)
    frame.get_by_role("button", name="Submit").click()
    frame.wait_for_selector('main[data-screen="done"]')


# --- In Chromium --------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_person_answers_four_questions_in_the_message_and_braze_gets_them(
    live_server: Any,
    phone: Any,
    site: Site,
    workspace: Workspace,
    owner: User,
    connected: BrazeSettings,
    braze_standin: StandinHarness,
) -> None:
    survey = live(workspace, owner, FOUR)
    # Signed links: the message carries the identity signed by Braze's Liquid.
    config = SurveyBraze.objects.get(survey=survey)
    signing.set_signed(config, True)
    config.save()
    secret = config.signing_secret()
    html = in_app_html(survey, live_server.url, secret)
    frame = open_message(phone, site, render_liquid(html, "bz-four", secret), live_server.url)

    on(frame, "nps")
    screenshot(phone, "channel-inapp-message")
    message = frame_of(phone, lambda url: url == "about:srcdoc")
    assert serious_violations(message) == []
    assert serious_violations(frame.frame) == []
    answer_four(frame, "Faster exports, please")
    calls = closed(phone)

    assert clicks(calls) == [["nps"], ["plan"], ["feedback"]]
    assert all(CLICK_ID.match(args[0]) for args in clicks(calls))
    assert closes(calls) == 1
    no_cookies_for(phone, live_server.url)

    response = Response.objects.get(survey=survey)
    assert response.identity["braze_id"] == "bz-four" and response.completed_at is not None
    stored = dict(Answer.objects.filter(response=response).values_list("question_key", "value"))
    assert stored == {"nps": 9, "plan": "Pro", "feedback": "Faster exports, please"}
    drain()
    got = profile(braze_standin, "bz-four")
    assert got["attributes"] == {NPS: 9, PLAN: "Pro", MORE: "Faster exports, please"}
    assert got["types"] == {NPS: "number", PLAN: "string", MORE: "string"}


# How Braze holds each answer of EVERY_TYPE: the attribute (the prompt) and its type.
EVERY_TYPE_ON_BRAZE = {
    "How likely are you to recommend us?": (9, "number"),
    "Rate the app": (4, "number"),
    "How satisfied are you with support?": (5, "number"),
    "How easy was it?": (6, "number"),
    "Which plan are you on?": ("Pro", "string"),
    "Where do you hear from us?": (["Email", "Push"], "array"),
    "Where do you live?": ("Spain", "string"),
    "Will you renew?": (True, "boolean"),
    "What should we call you?": ("Sam", "string"),
    "Anything else?": ("Great <b>service</b>", "string"),
    "Your email for a reply": ("sam@example.com", "string"),
    "How many seats?": (12, "number"),
    "Customer since?": ("2024-02-29T00:00:00Z", "time"),
}


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_every_question_type_answered_in_the_message_reaches_braze(
    live_server: Any,
    phone: Any,
    site: Site,
    workspace: Workspace,
    owner: User,
    connected: BrazeSettings,
    braze_standin: StandinHarness,
) -> None:
    survey = live(workspace, owner, EVERY_TYPE)
    html = in_app_html(survey, live_server.url, None)
    frame = open_message(phone, site, render_liquid(html, "bz-all"), live_server.url)
    answer_every_question(frame)
    calls = closed(phone)

    keys = [q["key"] for q in EVERY_TYPE["questions"]]
    assert clicks(calls) == [[key] for key in keys]
    assert closes(calls) == 1
    no_cookies_for(phone, live_server.url)
    response = Response.objects.get(survey=survey)
    stored = dict(Answer.objects.filter(response=response).values_list("question_key", "value"))
    assert stored == EXPECTED
    drain()
    got = profile(braze_standin, "bz-all")
    assert got["attributes"] == {name: value for name, (value, _) in EVERY_TYPE_ON_BRAZE.items()}
    assert got["types"] == {name: kind for name, (_, kind) in EVERY_TYPE_ON_BRAZE.items()}


def received(standin: StandinHarness, who: str) -> dict[str, list[Any]]:
    """Every value each attribute of `who` was sent, over every request the stand-in got."""
    values: dict[str, list[Any]] = {}
    for request in standin.requests():
        for obj in request["body"].get("attributes", []):
            if obj.get("braze_id") != who:
                continue
            for name, value in obj.items():
                if name not in ("braze_id", "_update_existing_only"):
                    values.setdefault(name, []).append(value)
    return values


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_an_offline_spell_and_a_lost_reply_lose_nothing_and_store_nothing_twice(
    live_server: Any,
    phone: Any,
    site: Site,
    workspace: Workspace,
    owner: User,
    connected: BrazeSettings,
    braze_standin: StandinHarness,
) -> None:
    survey = live(workspace, owner, FOUR, per_answer_events=True)
    html = in_app_html(survey, live_server.url, None)
    frame = open_message(phone, site, render_liquid(html, "bz-off"), live_server.url)
    on(frame, "nps")
    frame.get_by_role("radio", name="9", exact=True).check()
    on(frame, "plan")
    drain()

    # Offline: the tap on Pro waits, says so, and is sent once the connection is back.
    phone.context.set_offline(True)
    frame.get_by_role("radio", name="Pro").check()
    frame.get_by_text("Connection lost. Retrying…").wait_for()
    assert frame.evaluate("navigator.onLine") is False
    assert not Answer.objects.filter(question_key="plan").exists()
    phone.context.set_offline(False)
    on(frame, "feedback")
    assert Answer.objects.filter(question_key="plan").count() == 1

    # The reply to the last answer is lost after the server stored it: the page sends it
    # again, and it is still stored once.
    lost: list[str] = []

    def lose_the_reply(route: Any) -> None:
        if route.request.method == "POST" and not lost:
            lost.append(route.fetch().status)
            route.abort("connectionreset")
        else:
            route.continue_()

    phone.context.route(f"{live_server.url}{SURVEY_PATH}**", lose_the_reply)
    frame.get_by_label(MORE).fill("Works offline")
    frame.get_by_role("button", name="Submit").click()
    frame.wait_for_selector('main[data-screen="done"]')
    assert lost == [200], lost
    # The thank-you's own Close closes the message at once, before its timer would.
    try:
        frame.get_by_role("button", name="Close").click(timeout=2000)
    except PlaywrightError:
        assert frame.is_detached(), "only the timer, on a slow machine, may close it first"
    calls = closed(phone)

    assert clicks(calls) == [["nps"], ["plan"], ["feedback"]]
    assert closes(calls) == 1
    response = Response.objects.get(survey=survey)
    assert Answer.objects.filter(response=response).count() == 3
    drain()
    assert received(braze_standin, "bz-off") == {
        NPS: [9],
        PLAN: ["Pro"],
        MORE: ["Works offline"],
    }
    events = profile(braze_standin, "bz-off")["events"]
    answered = sorted(
        e["properties"]["question_key"] for e in events if "question_key" in e["properties"]
    )
    assert answered == ["feedback", "nps", "plan"]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_close_button_closes_the_message_once_and_a_plain_browser_shows_it_without_braze(
    live_server: Any, phone: Any, site: Site, workspace: Workspace, owner: User
) -> None:
    survey = live(workspace, owner, FOUR)
    html = render_liquid(in_app_html(survey, live_server.url, None), "bz-close")
    frame = open_message(phone, site, html, live_server.url)
    on(frame, "nps")
    message = phone.frame_locator("iframe.inapp")
    message.get_by_role("button", name="Close").click()
    calls = closed(phone)
    assert closes(calls) == 1 and clicks(calls) == []

    # Opened by itself, as a page of its own: no bridge, nothing thrown, the survey answers.
    errors: list[str] = []
    phone.on("pageerror", lambda error: errors.append(str(error)))
    phone.set_content(html)
    alone = InFrame(
        phone, frame_of(phone, lambda url: url.startswith(live_server.url + SURVEY_PATH))
    )
    on(alone, "nps")
    alone.get_by_role("radio", name="7", exact=True).check()
    on(alone, "plan")
    phone.get_by_role("button", name="Close").click()
    assert phone.locator("body").is_hidden()
    assert errors == []
    assert Answer.objects.get(question_key="nps").value == 7


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_message_shown_from_a_local_file_frames_the_survey_as_a_mobile_web_view_would(
    live_server: Any, phone: Any, workspace: Workspace, owner: User, tmp_path: Path
) -> None:
    # The mobile SDKs show the HTML from a file: (or opaque) origin, which
    # `frame-ancestors *` would refuse: the embedded pages name no ancestors at all.
    survey = live(workspace, owner, FOUR)
    message = tmp_path / "message.html"
    message.write_text(render_liquid(in_app_html(survey, live_server.url, None), "bz-file"))
    phone.goto(message.as_uri())
    frame = InFrame(
        phone, frame_of(phone, lambda url: url.startswith(live_server.url + SURVEY_PATH))
    )
    on(frame, "nps")
    frame.get_by_role("radio", name="8", exact=True).check()
    on(frame, "plan")
    assert Answer.objects.get(question_key="nps").value == 8


# --- Over HTTP ----------------------------------------------------------------------------


def framable(page: Any) -> bool:
    return (
        "X-Frame-Options" not in page.headers
        and "frame-ancestors" not in page.headers["Content-Security-Policy"]
    )


def denied(page: Any) -> bool:
    return page.headers.get("X-Frame-Options") == "DENY" and (
        "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    )


def form_of(html: str) -> tuple[str, str]:
    """The form's action and its response token."""
    action = re.search(r'<form method="post" action="([^"]*)"', html)
    token = re.search(r'name="r" value="([^"]*)"', html)
    assert action is not None and token is not None, html[:2000]
    return action[1].replace("&amp;", "&"), token[1]


@pytest.mark.django_db
@pytest.mark.parametrize("mode", ["inapp", "banner"])
def test_embedded_pages_may_be_framed_and_keep_the_mode_without_cookies(
    workspace: Workspace, owner: User, mode: str
) -> None:
    survey = live(workspace, owner, FOUR)
    # A fresh client for every request: a third-party frame keeps no cookie.
    first = Client().get(f"{survey.public_path()}?user_braze_id=bz-http&embed={mode}")
    assert first.status_code == 200 and framable(first)
    html = first.content.decode()
    assert f'data-embed="{mode}"' in html and f"embed={mode}" in html.split('data-url="')[1][:300]
    action, token = form_of(html)
    assert f"embed={mode}" in action and token == ""
    for key, value in (("nps", "9"), ("plan", "Pro"), ("feedback", "Fine")):
        posted = Client().post(action, {"r": token, "q": key, "a": value, "nav": "next"})
        # A plain form post redirects to the next screen, in the same mode.
        assert posted.status_code == 303 and framable(posted), posted.status_code
        assert f"embed={mode}" in posted["Location"]
        shown = Client().get(posted["Location"])
        assert framable(shown)
        if key != "feedback":
            action, _ = form_of(shown.content.decode())
            token = Response.objects.get(survey=survey).token
    done = shown.content.decode()
    assert 'data-screen="done"' in done and "data-close" in done and "Change my answers" not in done
    response = Response.objects.get(survey=survey)
    assert response.completed_at is not None
    assert Answer.objects.filter(response=response).count() == 3
    # Answered with the fetch of respond.js: the screen comes back framable too.
    again = Client().post(
        action, {"r": token, "q": "feedback", "a": "Better"}, headers={"X-Requested-With": "fetch"}
    )
    assert again.status_code == 200 and framable(again)
    # Refusals and unknown addresses in a frame are framable: the person reads them there.
    assert framable(Client().get(f"/s/no-such-survey?embed={mode}"))
    bad = Client().post(action, {"r": "made-up", "q": "nps", "a": "3"})
    assert bad.status_code == 400 and framable(bad)


@pytest.mark.django_db
def test_every_other_response_still_refuses_to_be_framed(workspace: Workspace, owner: User) -> None:
    survey = live(workspace, owner, FOUR)
    path = survey.public_path()
    client = Client()
    for url in (path, f"{path}?embed=other", f"{path}?user_braze_id=x", "/s/no-such-survey"):
        assert denied(client.get(url)), url
    assert denied(client.post(path, {"r": "", "q": "nps", "a": "9"}))
    for url in ("/login", "/login?embed=inapp", f"/surveys/{survey.pk}/?embed=inapp"):
        assert denied(client.get(url)), url


# --- The snippet ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_message_carries_the_identity_as_liquid_signed_when_the_survey_signs(
    workspace: Workspace, owner: User
) -> None:
    survey = live(workspace, owner, FOUR)
    base = "https://surveys.example.com/"
    page = f"https://surveys.example.com{survey.public_path()}"
    plain = in_app_html(survey, base, None)
    assert (
        f'src="{page}?user_braze_id={{{{${{braze_id}}}}}}&amp;lang={{{{${{language}}}}}}'
        '&amp;embed=inapp"' in plain
    )
    assert 'var ORIGIN = "https://surveys.example.com";' in plain
    assert "sig=" not in plain

    config = SurveyBraze.objects.get(survey=survey)
    signing.set_signed(config, True)
    config.identifier = Identifier.EXTERNAL_ID
    config.save()
    shown = in_app_html(survey, base, None)
    assert "user_external_id={{${user_id} | url_param_escape}}" in shown
    assert (
        "&amp;sig={{${user_id} | prepend: 'external_id:' | hmac_sha256_hex: 'SIGNING_SECRET'}}"
        in shown
    )
    secret = config.signing_secret()
    assert f"hmac_sha256_hex: '{secret}'" in in_app_html(survey, base, secret)
    assert secret not in shown


@pytest.mark.django_db
def test_an_authors_text_reaches_the_message_as_text_never_as_liquid_or_markup(
    workspace: Workspace, owner: User
) -> None:
    survey = live(workspace, owner, {**FOUR, "title": 'Hi {{${first_name}}} </script><b x="'})
    html = in_app_html(survey, "http://127.0.0.1:8000", None)
    liquid = re.findall(r"\{\{.*?\}\}\}?|\{%.*?%\}", html)
    assert liquid == ["{{${braze_id}}}", "{{${language}}}"]
    assert "</script><b" not in html
    assert "Hi &#123;&#123;$&#123;first_name&#125;&#125;&#125; &lt;/script&gt;&lt;b" in html
    assert 'var ORIGIN = "http://127.0.0.1:8000";' in html


@pytest.mark.django_db
@pytest.mark.parametrize("base", ["ftp://surveys.example.com", "surveys.example.com", "https://"])
def test_a_base_url_that_is_not_http_is_refused_clearly(
    workspace: Workspace, owner: User, base: str
) -> None:
    survey = live(workspace, owner, FOUR)
    with pytest.raises(ChannelError, match="not an http"):
        in_app_html(survey, base, None)


def test_the_origin_is_written_as_a_browser_writes_it() -> None:
    assert origin("https://Surveys.Example.com:443/x") == "https://surveys.example.com"
    assert origin("http://localhost:8000") == "http://localhost:8000"
    assert origin("http://[::1]:80/") == "http://[::1]"


def test_click_ids_are_valid_for_braze_and_at_most_a_hundred() -> None:
    questions = [{"key": f"q{i}", "type": "yes_no", "prompt": f"Question {i}?"} for i in range(150)]
    spec = build_spec(normalize({"title": "Long", "questions": questions}))
    ids = click_ids(spec)
    assert len(set(ids.values())) == 100
    assert ids["q0"] == "q0" and ids["q98"] == "q98" and ids["q99"] == SHARED_CLICK_ID
    assert all(CLICK_ID.match(i) for i in ids.values())
    few = build_spec(normalize({"title": "Short", "questions": questions[:100]}))
    assert len(set(click_ids(few).values())) == 100


def test_the_braze_settings_to_use_are_listed() -> None:
    assert any("Wait for the user to dismiss" in s for s in BRAZE_SETTINGS)
    assert any("allowUserSuppliedJavascript: true" in s for s in BRAZE_SETTINGS)
