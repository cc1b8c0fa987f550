"""The respondent answers endpoint (`POST /s/<slug>/answers`, docs/api.md): an answer in JSON
stores exactly what the form post stores, under the same rules, and replies what the next
screen needs; anything it cannot take is a clear 4xx in JSON with nothing stored."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from markupsafe import escape

from sounding.accounts.models import User, Workspace
from sounding.answers.models import Answer, Response
from sounding.collect import ratelimit, signatures
from sounding.delivery.models import Push
from sounding.destinations.braze import signing
from sounding.destinations.braze.models import BrazeSettings, SurveyBraze
from sounding.destinations.braze.setup import save_survey_config, survey_config
from sounding.surveys.models import Status, Survey
from tests.conftest import EVERY_TYPE
from tests.delivery_fixtures import integrate
from tests.respondent import answer as form_answer
from tests.test_flow_rules import RULES

JSON = "application/json"
# What the survey's form posts for each question of EVERY_TYPE (`a`, and `other`).
FORM_VALUES: dict[str, tuple[list[str], str]] = {
    "nps": (["9"], ""),
    "rating": (["4"], ""),
    "csat": (["5"], ""),
    "effort": (["6"], ""),
    "plan": (["Pro"], ""),
    "channels": (["Email", "__other__"], "Carrier pigeon"),
    "country": (["Spain"], ""),
    "renew": (["yes"], ""),
    "nickname": (["Sam"], ""),
    "feedback": (["Great <b>service</b>\nThanks"], ""),
    "contact": (["sam@example.com"], ""),
    "seats": (["12"], ""),
    "since": (["2024-02-29"], ""),
}
# An answer each question refuses, and why.
REFUSED: list[tuple[str, Any, str]] = [
    ("nps", [], "needs an answer"),
    ("nps", "11", "0 to 10"),
    ("rating", "9", "1 to 5"),
    ("csat", "6", ""),
    ("effort", "0", ""),
    ("channels", ["Email", "Fax"], ""),
    ("plan", "Gold", ""),
    ("country", "Mars", ""),
    ("renew", "maybe", ""),
    ("nickname", "x" * 300, ""),
    ("feedback", "x" * 6000, ""),
    ("contact", "not an address", ""),
    ("seats", "5000", "1000"),
    ("seats", "twelve", ""),
    ("since", "2024-02-30", ""),
]


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    signatures.forget()
    ratelimit.forget()
    yield
    ratelimit.forget()


@pytest.fixture
def every(workspace: Workspace, owner: User) -> Survey:
    survey = Survey.create(workspace, EVERY_TYPE, owner)
    survey.set_status(Status.LIVE)
    return survey


def post(client: Client, survey: Survey, body: Any, query: str = "", **headers: str) -> Any:
    path = f"{survey.public_path()}/answers" + (f"?{query}" if query else "")
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(path, data, content_type=headers.pop("content_type", JSON), **headers)


def stored(response_id: int) -> dict[str, Any]:
    rows = Answer.objects.filter(response_id=response_id).values_list("question_key", "value")
    return dict(rows)


@pytest.mark.django_db
def test_every_type_answered_in_json_stores_what_the_form_stores(every: Survey) -> None:
    by_form, by_json = Client(), Client()
    page = by_form.get(every.public_path()).content.decode()
    token = ""
    for key, (values, other) in FORM_VALUES.items():
        page = form_answer(by_form, page, values, other=other).content.decode()
        reply = post(by_json, every, {"r": token, "q": key, "a": values, "other": other})
        assert reply.status_code == 200, reply.content
        token = reply.json()["r"]
    form_response, json_response = Response.objects.order_by("id")
    assert token == json_response.token
    assert stored(json_response.pk) == stored(form_response.pk)
    assert len(stored(json_response.pk)) == len(EVERY_TYPE["questions"])
    assert json_response.completed_at is not None
    assert reply.json()["next"] is None  # the thank-you page, which the reply brings
    assert 'data-screen="done"' in reply.json()["page"] and "<style" not in reply.json()["page"]
    assert reply.json()["url"] == f"{every.public_path()}?r={token}&q=_done"


@pytest.mark.django_db
def test_the_reply_says_what_the_next_screen_shows(every: Survey) -> None:
    client = Client()
    first = post(client, every, {"q": "nps", "a": "9", "nav": "next"}).json()
    token = first["r"]
    assert first == {
        "r": token,
        "next": "rating",
        "url": f"{every.public_path()}?r={token}&q=rating",
        "number": 2,
        "total": 13,
        "percent": 8,
        "is_last": False,
        "can_go_back": True,
        "count": "Question 2 of 13",
        "button": "Next",
        "values": [],
        "other": "",
        "saved": False,
        "offered": False,
        "message": "",
    }
    # Back to the first question: its stored answer, and no Back button there.
    back = post(client, every, {"r": token, "q": "rating", "nav": "back"}).json()
    assert (back["next"], back["values"], back["can_go_back"]) == ("nps", ["9"], False)
    # The last question: a Submit button.
    last = post(client, every, {"r": token, "q": "contact", "a": "sam@example.com"}).json()
    assert (last["next"], last["is_last"], last["button"]) == ("seats", False, "Next")
    last = post(client, every, {"r": token, "q": "seats", "a": 3}).json()
    assert (last["next"], last["is_last"], last["button"]) == ("since", True, "Submit")
    assert stored(Response.objects.get().pk)["seats"] == 3


@pytest.mark.django_db
def test_the_reply_speaks_the_respondents_language(workspace: Workspace, owner: User) -> None:
    definition = {**EVERY_TYPE, "language": "fr"}
    survey = Survey.create(workspace, definition, owner)
    survey.set_status(Status.LIVE)
    reply = post(Client(), survey, {"q": "nps", "a": "11"})
    assert reply.status_code == 400
    assert reply.json()["message"] == "Choisissez un nombre de 0 à 10."
    ok = post(Client(), survey, {"q": "nps", "a": "10"}).json()
    assert ok["count"] == "Question 2 sur 13" and ok["button"] == "Suivant"


@pytest.mark.django_db
@pytest.mark.parametrize(("key", "value", "says"), REFUSED)
def test_a_refused_answer_is_a_400_with_the_message_and_nothing_stored(
    every: Survey, key: str, value: Any, says: str
) -> None:
    client = Client()
    token = post(client, every, {"q": "nps", "a": "7"}).json()["r"]
    before = stored(Response.objects.get().pk)
    reply = post(client, every, {"r": token, "q": key, "a": value})
    assert reply.status_code == 400, reply.content
    body = reply.json()
    assert body["error"] == "invalid" and body["next"] == key
    assert body["message"] and says in body["message"]
    assert stored(Response.objects.get().pk) == before
    # The same answer through the form is refused with the same words.
    values = value if isinstance(value, list) else [value]
    page = client.post(every.public_path(), {"r": token, "q": key, "a": values, "nav": "next"})
    assert page.status_code == 400 and str(escape(body["message"])) in page.content.decode()


@pytest.mark.django_db
def test_an_answer_sent_twice_is_stored_once(every: Survey) -> None:
    client = Client()
    query = "user_braze_id=twice"
    for _ in range(2):
        reply = post(client, every, {"q": "nps", "a": "9"}, query)
        assert reply.status_code == 200 and reply.json()["next"] == "rating"
    response = Response.objects.get()
    assert Answer.objects.filter(response=response).count() == 1
    assert response.answers_version == 1  # the repeat changed nothing


@pytest.mark.django_db
def test_skip_rules_decide_the_next_question(workspace: Workspace, owner: User) -> None:
    survey = Survey.create(workspace, RULES, owner)
    survey.set_status(Status.LIVE)
    assert post(Client(), survey, {"q": "nps", "a": "9"}).json()["next"] == "plan"
    low = post(Client(), survey, {"q": "nps", "a": "3"}).json()
    assert (low["next"], low["total"]) == ("why_low", 5)
    # A required question the answers show, left behind: stored, and that question asked.
    client = Client()
    token = post(client, survey, {"q": "nps", "a": "3"}).json()["r"]
    gap = post(client, survey, {"r": token, "q": "plan", "a": "Pro"})
    assert gap.status_code == 200
    assert gap.json()["next"] == "why_low"
    assert gap.json()["message"] == "This question needs an answer."
    assert stored(Response.objects.get(token=token).pk) == {"nps": 3, "plan": "Pro"}
    # A change of mind hides why_low: an answer to it now is refused, not stored.
    post(client, survey, {"r": token, "q": "nps", "a": "9"})
    stale = post(client, survey, {"r": token, "q": "why_low", "a": "Too slow"})
    assert stale.status_code == 409 and stale.json()["error"] == "not_shown"
    assert "why_low" not in stored(Response.objects.get(token=token).pk)


def sign_links(survey: Survey) -> str:
    config = survey_config(survey)
    signing.set_signed(config, True)
    save_survey_config(survey, config)
    return SurveyBraze.objects.get(survey=survey).signing_secret()


@pytest.mark.django_db
def test_signed_links_take_answers_only_for_whom_they_sign(every: Survey) -> None:
    secret = sign_links(every)
    good = signatures.signature(secret.encode(), "braze_id:ivy")
    forged = signatures.signature(b"not the secret", "braze_id:ivy")
    refused = post(Client(), every, {"q": "nps", "a": "9"}, f"user_braze_id=ivy&sig={forged}")
    assert refused.status_code == 403 and refused.json()["error"] == "refused"
    assert refused.json()["message"]
    unsigned = post(Client(), every, {"q": "nps", "a": "9"})
    assert unsigned.status_code == 403
    assert not Response.objects.exists() and not Answer.objects.exists()
    client = Client()
    query = urlencode({"user_braze_id": "ivy", "sig": good})
    reply = post(client, every, {"q": "nps", "a": "9"}, query)
    assert reply.status_code == 200, reply.content
    assert Response.objects.get().identity["braze_id"] == "ivy"
    # The next answer carries the token, as the form does, from the same link.
    token = reply.json()["r"]
    assert post(client, every, {"r": token, "q": "rating", "a": "4"}, query).status_code == 200
    # Its questions' screens come only to a link it signed, as its pages do.
    assert "screens" not in post(Client(), every, {"q": "nps", "screens": True}).json()
    assert (
        "<template"
        in post(client, every, {"r": token, "q": "nps", "screens": True}, query).json()["screens"]
    )
    # A token the survey does not know is refused, not a new response.
    stranger = post(Client(), every, {"r": "nope", "q": "rating", "a": "4"}, query)
    assert stranger.status_code == 400 and stranger.json()["error"] == "problem"
    assert Response.objects.count() == 1


@pytest.mark.django_db
def test_an_identity_link_answers_for_that_person_without_showing_their_answers(
    every: Survey,
) -> None:
    mine, other = Client(), Client()
    query = "user_braze_id=sam"
    first = post(mine, every, {"q": "nps", "a": "9"}, query).json()
    assert first["r"]
    # Another browser with the same link updates the same response, without its token.
    again = post(other, every, {"q": "nps", "a": "3"}, query).json()
    assert again["r"] == "" and again["next"] == "rating"
    # Nor does going back show it what is stored: a link alone shows no one's answers.
    back = post(other, every, {"q": "rating", "nav": "back"}, query).json()
    assert (back["next"], back["values"]) == ("nps", [])
    assert Response.objects.get().identity["braze_id"] == "sam"
    assert stored(Response.objects.get().pk) == {"nps": 3}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status", "code", "error"),
    [(Status.PAUSED, 403, "closed"), (Status.DRAFT, 404, "not_found")],
)
def test_a_survey_not_open_takes_nothing(every: Survey, status: str, code: int, error: str) -> None:
    every.set_status(status)
    reply = post(Client(), every, {"q": "nps", "a": "9"})
    assert (reply.status_code, reply.json()["error"]) == (code, error)
    assert reply.json()["message"]
    assert not Response.objects.exists()


@pytest.mark.django_db
def test_an_unknown_survey_is_a_404(every: Survey) -> None:
    reply = Client().post("/s/no-such-survey/answers", "{}", content_type=JSON)
    assert reply.status_code == 404 and reply.json()["error"] == "not_found"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "content_type", "status", "error"),
    [
        ('{"q": "nps", "a": "9"', JSON, 400, "malformed"),
        (b"\xff\xfe", JSON, 400, "malformed"),
        ('["nps", "9"]', JSON, 400, "malformed"),
        ("[" * 30000 + "]" * 30000, JSON, 400, "malformed"),
        ("x" * 70000, JSON, 400, "malformed"),
        ('{"q": 7, "a": "9"}', JSON, 400, "malformed"),
        ('{"q": "nps", "a": {"x": 1}}', JSON, 400, "malformed"),
        ('{"q": "nps", "a": true}', JSON, 400, "malformed"),
        (
            '{"q": "nps", "a": ["9"]}',
            "application/x-www-form-urlencoded",
            415,
            "unsupported_media_type",
        ),
        ('{"q": "nps", "a": ["9"]}', "text/plain", 415, "unsupported_media_type"),
        ('{"q": "nope", "a": "9"}', JSON, 400, "problem"),
        ("{}", JSON, 400, "problem"),
    ],
)
def test_a_request_that_is_not_an_answer_is_a_clear_4xx(
    every: Survey, body: Any, content_type: str, status: int, error: str
) -> None:
    reply = post(Client(), every, body, content_type=content_type)
    assert reply.status_code == status, reply.content
    assert reply.json()["error"] == error and reply.json()["message"]
    assert not Response.objects.exists()


@pytest.mark.django_db
def test_only_post(every: Survey) -> None:
    assert Client().get(f"{every.public_path()}/answers").status_code == 405


@pytest.mark.django_db
def test_a_flood_from_one_address_is_refused_with_429(
    every: Survey, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Time stands still, as in test_rate_limit.py: nothing refills while the test runs.
    monkeypatch.setattr(ratelimit, "clock", lambda: 1000.0)
    settings.RATE_LIMIT_IP = 4  # a burst of 2
    client = Client(REMOTE_ADDR="203.0.113.9")
    statuses = [
        post(client, every, {"q": "nps", "a": "9"}, f"user_braze_id=f{i}").status_code
        for i in range(4)
    ]
    assert statuses == [200, 200, 429, 429]
    refused = post(client, every, {"q": "nps", "a": "9"}, "user_braze_id=late")
    assert refused.json()["error"] == "rate_limited" and int(refused["Retry-After"]) > 0
    assert Response.objects.count() == 2


@pytest.mark.django_db
def test_the_outbox_row_comes_with_the_answer_in_no_more_queries_than_the_form(
    every: Survey, connected: BrazeSettings
) -> None:
    integrate(every)

    def queries(send: Any) -> int:
        send("warm")  # caches (spec, brand, keys) as a running process has them
        with CaptureQueriesContext(connection) as captured:
            send("measured")
        return len(captured.captured_queries)

    def by_form(who: str) -> None:
        client = Client(headers={"X-Requested-With": "fetch"})
        path = f"{every.public_path()}?user_braze_id={who}"
        assert client.post(path, {"q": "nps", "a": "9", "nav": "next"}).status_code == 200

    def by_json(who: str) -> None:
        reply = post(Client(), every, {"q": "nps", "a": "9"}, f"user_braze_id=j{who}")
        assert reply.status_code == 200

    form_count, json_count = queries(by_form), queries(by_json)
    assert json_count <= form_count, (json_count, form_count)
    response = Response.objects.get(identities__braze_id="jmeasured")
    pushes = Push.objects.filter(response=response)
    assert pushes.count() == 1  # owed to Braze, written with the answer


@pytest.mark.django_db
def test_the_screens_asked_for_are_the_question_pages_own_markup_blank(every: Survey) -> None:
    client = Client()
    page = client.get(every.public_path()).content.decode()
    assert "data-answers" in page and "<template" not in page
    reply = post(client, every, {"q": "nps", "a": "9", "screens": True}).json()
    html = reply["screens"]
    assert html.count("<template data-key=") == len(EVERY_TYPE["questions"])
    # The first question's screen as the page draws it (up to its buttons, which the script
    # sets from the reply) is the one among the screens.
    start = page.index('<div class="progress">')
    first = page[start : page.index('<div class="nav">', start)]
    assert first in html.replace('action=""', f'action="{every.public_path()}"')
    assert "screens" not in post(client, every, {"r": reply["r"], "q": "rating"}).json()
    bad = post(client, every, {"r": reply["r"], "q": "rating", "screens": "yes"})
    assert bad.status_code == 400 and bad.json()["error"] == "malformed"


@pytest.mark.django_db(transaction=True)
def test_over_real_http_a_whole_response_in_json(live_server: Any, every: Survey) -> None:
    url = f"{live_server.url}{every.public_path()}/answers?user_braze_id=http"
    with httpx.Client(timeout=10) as client:
        token = ""
        for key, (values, other) in FORM_VALUES.items():
            reply = client.post(url, json={"r": token, "q": key, "a": values, "other": other})
            assert reply.status_code == 200, reply.text
            assert reply.headers["content-type"] == JSON
            assert reply.headers["cache-control"] == "no-store"
            token = reply.json()["r"]
        assert reply.json()["next"] is None
        assert f"sr_{every.pk}" in client.cookies
        bad = client.post(url, content=b"a=9", headers={"Content-Type": "text/plain"})
        assert bad.status_code == 415
    response = Response.objects.get()
    assert response.completed_at is not None and response.identity["braze_id"] == "http"
    assert len(stored(response.pk)) == len(FORM_VALUES)
