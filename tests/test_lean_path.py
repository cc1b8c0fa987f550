"""The respondent pages on their own handler (sounding.collect.handler) answer exactly what
Django's full middleware stack answered: the same status, headers, cookies and pages.

Over real HTTP, two `sounding serve` processes, one with the respondent handler (the default)
and one with SOUNDING_RESPONDENT_FULL_STACK on, get the same requests and must answer them with
the same headers. In process, the test client runs with the respondent handler's middleware
and URLs, and each request is compared with the same request through the full stack, on the
same data (rolled back in between).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import transaction
from django.test import Client
from django.test.client import ClientHandler

from sounding import asgi
from sounding.accounts.models import User
from sounding.collect import ratelimit, signatures
from sounding.collect.handler import CHAIN, RespondentHandler, RespondentStack
from sounding.destinations.braze import signing
from sounding.destinations.braze.setup import save_survey_config, survey_config
from sounding.front import Whole
from sounding.surveys.models import Status, Survey
from tests.procs import cli_env, http_client, run_ok, serving

NONCE = re.compile(r"nonce-[A-Za-z0-9_-]+")
TOKEN = re.compile(r'name="r" value="([^"]+)"')
ACTION = re.compile(r'<form method="post" action="([^"]*)"')
PULSE = {
    "title": "Pulse",
    "questions": [
        {"key": "nps", "type": "nps", "prompt": "How likely?"},
        {"key": "why", "type": "long_text", "prompt": "Why?"},
    ],
}
EMAIL, PASSWORD = "owner@example.com", "a long enough password 42"
FLOODER = "203.0.113.9"  # an address behind the trusted proxy, limited to one answer a minute
FETCH = {"X-Requested-With": "fetch"}
# A form body over DATA_UPLOAD_MAX_MEMORY_SIZE (1 MB), under the front's own limit (2 MB).
TOO_LARGE = {"q": "why", "a": "x" * 1_200_000}


def comparable(response: httpx.Response | Any, slugs: dict[str, str]) -> dict[str, Any]:
    """Status, headers and the body's length, with what differs between any two requests made
    the same: the date, the CSP nonce, cookie and token values, the survey's random address.

    How the body is framed is left out: a respondent page now always comes with its
    Content-Length, where a page answered before the middleware finished (a refused host) was
    sent chunked."""
    if isinstance(response, httpx.Response):
        items = list(response.headers.multi_items())
    else:  # the test client's: cookies apart from the other headers
        items = [*response.items(), *(("Set-Cookie", c.output(header="").strip()) for c in
                                      response.cookies.values())]  # fmt: skip
    headers: dict[str, list[str]] = {}
    for name, value in items:
        name = name.lower()
        if name in ("date", "content-length", "transfer-encoding"):
            continue
        value = NONCE.sub("nonce-*", value)
        for slug, label in slugs.items():
            value = value.replace(slug, label)
        if name == "set-cookie":
            value = re.sub(r"^([^=]+)=[^;]*", r"\1=*", value)
            value = re.sub(r"expires=[^;]*; ?", "", value, flags=re.I)
        if name == "location":
            value = re.sub(r"r=[^&]+", "r=*", value)
        headers.setdefault(name, []).append(value)
    length = len(response.content)
    return {
        "status": response.status_code,
        "length": length,
        **{k: sorted(v) for k, v in headers.items()},
    }


# --- Real HTTP: the respondent handler against the full stack --------------------------------


@dataclass
class Site:
    name: str
    url: str
    live: str  # the live survey's slug
    paused: str
    token: str  # an API token of the owner
    live_id: int

    @property
    def slugs(self) -> dict[str, str]:
        return {self.live: "<live>", self.paused: "<paused>"}

    def client(self) -> httpx.Client:
        return http_client(base_url=self.url, timeout=20)


def start_site(stack: ExitStack, root: Path, name: str, full_stack: bool) -> Site:
    data = root / name
    env = cli_env(data)
    env["SOUNDING_RATE_LIMIT_IP"] = "1"
    env["SOUNDING_TRUSTED_PROXIES"] = "127.0.0.1/32"
    if full_stack:
        env["SOUNDING_RESPONDENT_FULL_STACK"] = "1"
    run_ok(data, "migrate")
    run_ok(data, "createadmin", "--email", EMAIL, f"--password={PASSWORD}", "--workspace", "W")
    token = run_ok(data, "token", "create", "--email", EMAIL).strip()
    # One web process: the rate limit counts per process, and the test must meet it.
    server = stack.enter_context(serving(data, root / f"{name}.log", "--workers", "1", env=env))
    slugs, ids = [], []
    with http_client(base_url=server.url + "/api/v1", timeout=20) as api:
        api.headers["Authorization"] = f"Bearer {token}"
        for step in ("publish", "pause"):
            created = api.post("/surveys", json=PULSE).raise_for_status().json()
            api.post(f"/surveys/{created['id']}/publish").raise_for_status()
            if step == "pause":
                api.post(f"/surveys/{created['id']}/pause").raise_for_status()
            slugs.append(created["slug"])
            ids.append(created["id"])
    return Site(name, server.url, slugs[0], slugs[1], token, ids[0])


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Site, Site]]:
    root = tmp_path_factory.mktemp("lean")
    with ExitStack() as stack:
        yield start_site(stack, root, "lean", False), start_site(stack, root, "full", True)


def first_page(client: httpx.Client, site: Site, who: str) -> httpx.Response:
    return client.get(f"/s/{site.live}", params={"user_braze_id": who})


def answer_nps(client: httpx.Client, site: Site, who: str, **headers: str) -> httpx.Response:
    page = first_page(client, site, who)
    action = ACTION.search(page.text)
    assert action is not None, page.text
    data = {"q": "nps", "a": "9", "nav": "next"}
    return client.post(action.group(1).replace("&amp;", "&"), data=data, headers=headers)


def signed_in(client: httpx.Client) -> httpx.Client:
    form = client.get("/login")
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
    assert csrf is not None
    data = {"csrfmiddlewaretoken": csrf.group(1), "username": EMAIL, "password": PASSWORD}
    assert client.post("/login", data=data).status_code == 302
    return client


Request = Callable[[httpx.Client, Site], httpx.Response]
REQUESTS: dict[str, Request] = {
    "a page": lambda c, s: first_page(c, s, "page"),
    "a page, HEAD": lambda c, s: c.head(f"/s/{s.live}?user_braze_id=head"),
    "a page in German": lambda c, s: c.get(f"/s/{s.live}", headers={"Accept-Language": "de"}),
    "a page in a Braze in-app message": lambda c, s: c.get(f"/s/{s.live}?embed=inapp"),
    "a one-click link": lambda c, s: c.get(f"/s/{s.live}?user_braze_id=click&nps=10"),
    "a plain form's answer": lambda c, s: answer_nps(c, s, "plain"),
    "respond.js's answer": lambda c, s: answer_nps(c, s, "fetch", **FETCH),
    "respond.js's JSON answer": lambda c, s: c.post(
        f"/s/{s.live}/answers?user_braze_id=json", json={"q": "nps", "a": "8", "screens": True}
    ),
    "a JSON answer that is no JSON": lambda c, s: c.post(
        f"/s/{s.live}/answers", content=b"{", headers={"Content-Type": "application/json"}
    ),
    "a form that does not match": lambda c, s: c.post(f"/s/{s.live}", data={"q": "nope"}),
    "an answer too large": lambda c, s: c.post(f"/s/{s.live}", data=TOO_LARGE),
    "a method not allowed": lambda c, s: c.put(f"/s/{s.live}"),
    "a paused survey": lambda c, s: c.get(f"/s/{s.paused}"),
    "an unknown survey": lambda c, s: c.get("/s/no-such-survey"),
    "an unknown survey in German": lambda c, s: c.get(
        "/s/no-such-survey", headers={"Accept-Language": "de"}
    ),
    "an unknown survey with a slash": lambda c, s: c.get("/s/no-such-survey/"),
    "an address under /s/ that is no link": lambda c, s: c.get("/s/a/b.c"),
    "/s/ itself": lambda c, s: c.get("/s/"),
    "an unknown host": lambda c, s: c.get(f"/s/{s.live}", headers={"Host": "evil.example"}),
    "a stranger's preview": lambda c, s: c.get(f"/s/{s.live}?preview=1"),
    "a member's preview": lambda c, s: signed_in(c).get(f"/s/{s.live}?preview=1"),
    "a member's preview answer": lambda c, s: signed_in(c).post(
        f"/s/{s.live}?preview=1", data={"q": "nps", "a": "7"}, headers=FETCH
    ),
    "a member's ordinary page": lambda c, s: signed_in(c).get(f"/s/{s.live}"),
    "a flood from one address": lambda c, s: [
        answer_nps(c, s, f"flood{i}", **FETCH, **{"X-Forwarded-For": FLOODER}) for i in (1, 2)
    ][-1],
    # The rest of the app is untouched.
    "the sign-in page": lambda c, s: c.get("/login"),
    "a page of the app": lambda c, s: signed_in(c).get("/surveys/"),
    "a static file": lambda c, s: c.get("/static/sounding/respond.js"),
    "the health check": lambda c, s: c.get("/health?worker=0"),
    "an unknown page": lambda c, s: c.get("/no-such-page"),
}


@pytest.fixture(scope="module")
def answers(sites: tuple[Site, Site]) -> dict[str, tuple[httpx.Response, httpx.Response]]:
    """Every request of REQUESTS, sent to both servers, each with a client of its own."""
    done = {}
    for name, send in REQUESTS.items():
        pair = []
        for site in sites:
            with site.client() as client:
                pair.append(send(client, site))
        done[name] = (pair[0], pair[1])
    return done


@pytest.mark.parametrize("name", REQUESTS)
def test_the_respondent_handler_answers_as_the_full_stack_did(
    name: str, sites: tuple[Site, Site], answers: dict[str, tuple[httpx.Response, httpx.Response]]
) -> None:
    lean, full = answers[name]
    assert comparable(lean, sites[0].slugs) == comparable(full, sites[1].slugs)


def header(answers: dict[str, Any], name: str, field: str) -> str:
    return str(answers[name][0].headers.get(field, ""))


def test_every_respondent_page_carries_the_security_headers_and_its_nonce(
    answers: dict[str, tuple[httpx.Response, httpx.Response]],
) -> None:
    for name in ("a page", "a paused survey", "an unknown survey", "a form that does not match"):
        page = answers[name][0]
        policy = page.headers["Content-Security-Policy"]
        nonce = re.search(r"'nonce-([^']+)'", policy)
        assert nonce is not None and f'nonce="{nonce.group(1)}"' in page.text, name
        assert "frame-ancestors 'none'" in policy, name
        assert page.headers["X-Frame-Options"] == "DENY", name
        assert page.headers["X-Content-Type-Options"] == "nosniff", name
        assert page.headers["Referrer-Policy"] == "same-origin", name
        assert page.headers["Cross-Origin-Opener-Policy"] == "same-origin", name
        assert page.headers["Content-Language"] == "en", name
    # An English survey stays English; the respondents' own pages follow the browser.
    assert header(answers, "a page in German", "Content-Language") == "en"
    assert header(answers, "an unknown survey in German", "Content-Language") == "de"


def test_a_framed_survey_may_be_framed_and_nothing_else(
    answers: dict[str, tuple[httpx.Response, httpx.Response]],
) -> None:
    framed = answers["a page in a Braze in-app message"][0]
    assert framed.status_code == 200
    assert "X-Frame-Options" not in framed.headers
    assert "frame-ancestors" not in framed.headers["Content-Security-Policy"]
    preview = answers["a member's preview"][0]
    assert preview.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in preview.headers["Content-Security-Policy"]


def test_answers_and_refusals_keep_their_statuses(
    sites: tuple[Site, Site], answers: dict[str, tuple[httpx.Response, httpx.Response]]
) -> None:
    plain = answers["a plain form's answer"][0]
    assert plain.status_code == 303 and "q=why" in plain.headers["Location"]
    cookie = plain.headers["Set-Cookie"]
    assert cookie.startswith("sr_") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert f"Path=/s/{sites[0].live}" in cookie
    fetched = answers["respond.js's answer"][0]
    assert fetched.status_code == 200 and 'data-question="why"' in fetched.text
    assert answers["a one-click link"][0].status_code == 200
    assert answers["a page, HEAD"][0].status_code == 200
    assert answers["a form that does not match"][0].status_code == 400
    assert answers["an answer too large"][0].status_code == 413
    assert answers["a method not allowed"][0].status_code == 405
    assert answers["a paused survey"][0].status_code == 403
    for unknown in ("an unknown survey", "an unknown survey with a slash", "/s/ itself"):
        assert answers[unknown][0].status_code == 404
        assert "Survey not found" in answers[unknown][0].text, unknown
    assert answers["an unknown host"][0].status_code == 400
    flooded = answers["a flood from one address"][0]
    assert flooded.status_code == 429 and flooded.headers["Retry-After"]


def test_only_a_signed_in_member_sees_the_preview(
    answers: dict[str, tuple[httpx.Response, httpx.Response]],
) -> None:
    member = answers["a member's preview"][0]
    assert member.status_code == 200 and "preview-note" in member.text
    assert "Cookie" in member.headers["Vary"]
    stranger = answers["a stranger's preview"][0]
    assert stranger.status_code == 200 and "preview-note" not in stranger.text
    # The stranger's session was looked at (for a signed-in user), as the full stack says.
    assert "Cookie" in stranger.headers["Vary"]
    saved = answers["a member's preview answer"][0]
    assert saved.status_code == 200 and 'data-question="why"' in saved.text
    assert "sessionid=" in saved.headers["Set-Cookie"]  # the preview's answers, in the session
    ordinary = answers["a member's ordinary page"][0]
    assert "preview-note" not in ordinary.text and "Vary" in ordinary.headers
    assert "Cookie" not in ordinary.headers["Vary"]  # the session was never read


def test_the_server_hands_respondent_pages_to_their_own_handler() -> None:
    respondents = asgi.application.app.respondents  # type: ignore[attr-defined]
    assert isinstance(respondents, Whole) and isinstance(respondents.app, RespondentHandler)


def test_a_browser_answers_through_the_respondent_handler(
    sites: tuple[Site, Site], phone: Any
) -> None:
    """respond.js's requests (fetch posts, the next screen in the answer) and the pages' CSP:
    a violation fails the test (tests.browser_fixtures)."""
    site = sites[0]
    phone.goto(f"{site.url}/s/{site.live}?user_braze_id=in-a-browser")
    phone.wait_for_selector('main[data-question="nps"]:not([data-wait])')
    phone.get_by_role("radio", name="9", exact=True).check()  # auto-advances
    phone.wait_for_selector('main[data-question="why"]:not([data-wait])')
    phone.get_by_label("Why?").fill("Quick")
    phone.get_by_role("button", name="Submit").click()
    phone.wait_for_selector('main[data-screen="done"]')
    with site.client() as client:
        client.headers["Authorization"] = f"Bearer {site.token}"
        listed = client.get(f"/api/v1/surveys/{site.live_id}/responses").json()["items"]
    mine = [i for i in listed if i["identity"]["braze_id"] == "in-a-browser"]
    assert [i["answers"] for i in mine] == [{"nps": 9, "why": "Quick"}]


# --- In process: the test client with the respondent handler ---------------------------------


class RespondentClientHandler(RespondentStack, ClientHandler):
    pass


def lean_client(**defaults: Any) -> Client:
    client = Client(**defaults)
    client.handler = RespondentClientHandler(enforce_csrf_checks=False)
    return client


def both(send: Callable[[Client], Any], slugs: dict[str, str], **defaults: Any) -> None:
    """`send` through the full stack and then through the respondent handler, on the same data
    (the first one's writes rolled back) and the same rate limits and caches."""
    answered = []
    for make in (Client, lean_client):
        ratelimit.forget()
        signatures.forget()
        with transaction.atomic():
            answered.append(comparable(send(make(**defaults)), slugs))
            transaction.set_rollback(True)
    assert answered[0] == answered[1]


@pytest.fixture
def pulse(workspace: Any, owner: User) -> Survey:
    survey = Survey.create(workspace, PULSE, owner)
    survey.set_status(Status.LIVE)
    return survey


def test_the_chain_keeps_the_full_stacks_order(settings: Any) -> None:
    stands_for = {
        "sounding.collect.handler.Members": "django.contrib.sessions.middleware.SessionMiddleware",
        "sounding.collect.handler.Common": "django.middleware.common.CommonMiddleware",
    }
    chain = [stands_for.get(name, name) for name in CHAIN]
    assert chain == [name for name in settings.MIDDLEWARE if name in chain]


def test_every_address_under_s_is_a_respondent_route_or_none() -> None:
    """The handler resolves /s/ against the respondent routes only: no other page of the app
    may live there, or the respondent handler would answer 404 where the app had a page."""
    from django.urls import get_resolver

    from sounding.collect.handler import URLCONF

    full, lean = get_resolver(), get_resolver(URLCONF)
    for path in ("/s/x", "/s/x/", "/s/x/y", "/s/x/y/", "/s/x/y/z", "/s/", "/s/x.y", "/s/-"):
        for candidate in (path, path + "answers", path + "/answers"):
            try:
                expected: Any = full.resolve(candidate).func
            except Exception:
                expected = None
            try:
                got: Any = lean.resolve(candidate).func
            except Exception:
                got = None
            assert got == expected, candidate


def test_pages_answers_and_errors_match_the_full_stack(pulse: Survey, owner: User) -> None:
    path, slugs = pulse.public_path(), {pulse.slug: "<live>"}
    paused = Survey.create(pulse.workspace, PULSE, owner)
    paused.set_status(Status.LIVE)
    paused.set_status(Status.PAUSED)
    requests: list[Callable[[Client], Any]] = [
        lambda c: c.get(path, {"user_braze_id": "a"}),
        lambda c: c.get(path, {"embed": "banner"}),
        lambda c: c.get(path, {"user_braze_id": "b", "nps": "10"}),
        lambda c: c.head(path, {"user_braze_id": "b", "nps": "10"}),
        lambda c: c.post(path + "?user_braze_id=c", {"q": "nps", "a": "9"}),
        lambda c: c.post(path + "?user_braze_id=d", {"q": "nps", "a": "9"}, headers=FETCH),
        lambda c: c.post(path, {"q": "nps", "a": "99"}, headers=FETCH),
        lambda c: c.post(path, {"q": "nope"}),
        lambda c: c.post(path, TOO_LARGE),
        lambda c: c.delete(path),
        lambda c: c.get(paused.public_path()),
        lambda c: c.get("/s/no-such", headers={"Accept-Language": "fr"}),
        lambda c: c.get("/s/no/such"),
        lambda c: c.get(path, {"preview": "1"}),
    ]
    for send in requests:
        both(send, slugs | {paused.slug: "<paused>"})


def test_a_signed_survey_refuses_a_forged_link_alike(pulse: Survey) -> None:
    config = survey_config(pulse)
    signing.set_signed(config, True)
    save_survey_config(pulse, config)
    query = urlencode({"user_braze_id": "someone", "sig": "0" * 64})
    both(lambda c: c.get(f"{pulse.public_path()}?{query}"), {pulse.slug: "<live>"})
    both(lambda c: c.get(pulse.public_path()), {pulse.slug: "<live>"})


def test_a_flood_is_refused_alike(pulse: Survey, settings: Any) -> None:
    settings.RATE_LIMIT_IP = 1

    def flood(client: Client) -> Any:
        for who in ("x", "y"):
            page = client.post(
                f"{pulse.public_path()}?user_braze_id={who}", {"q": "nps", "a": "9"}, headers=FETCH
            )
        assert page.status_code == 429
        return page

    both(flood, {pulse.slug: "<live>"}, REMOTE_ADDR=FLOODER)


def test_the_members_preview_alike_signed_in_or_not(pulse: Survey, owner: User) -> None:
    path = f"{pulse.public_path()}?preview=1"

    def member(client: Client) -> Any:
        client.force_login(owner)
        page = client.post(path, {"q": "nps", "a": "7"}, headers=FETCH)
        assert "preview-note" in page.content.decode()
        return page

    def stranger(client: Client) -> Any:
        page = client.get(path)
        assert "preview-note" not in page.content.decode()
        return page

    both(member, {pulse.slug: "<live>"})
    both(stranger, {pulse.slug: "<live>"})
    client = lean_client()
    client.force_login(owner)
    assert "preview-note" in client.get(path).content.decode()
    # What the preview stored is in the member's session, for the next page.
    client.post(path, {"q": "nps", "a": "7"}, headers=FETCH)
    assert 'data-question="why"' in client.get(path).content.decode()


def test_the_respondent_handler_is_a_wsgi_handler_with_its_own_chain() -> None:
    handler = RespondentHandler()
    assert isinstance(handler, WSGIHandler)
    names = []
    layer: Any = handler._middleware_chain
    # Each layer wraps the next: convert_exception_to_response keeps it in __wrapped__.
    while hasattr(layer, "__wrapped__"):
        layer = layer.__wrapped__
        names.append(type(layer).__module__ + "." + type(layer).__qualname__)
        layer = getattr(layer, "get_response", None)
    assert names[: len(CHAIN)] == list(CHAIN)
