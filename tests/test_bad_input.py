"""Hostile HTTP: oversized and undecodable bodies, deep JSON, NUL bytes, and SQL or HTML in
every text a respondent or an author can fill.

Each gets a 4xx with a clear message or a correct 2xx, never a 500; injected text is stored
exactly as given and shown escaped wherever it is shown; a respondent's earlier answers are
never lost to a bad request.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.test import Client

from sounding.accounts.models import User
from sounding.answers.models import Answer, Response
from sounding.authoring.forms import initial_for
from sounding.surveys.models import Status, Survey
from tests.conftest import EVERY_TYPE, logged_in
from tests.respondent import answer, form_state, question_of

pytestmark = pytest.mark.django_db

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
SQL = "'; DROP TABLE collect_answer; --"
SCRIPT = "<script>alert(1)</script>"
ATTRIBUTE = '"><img src=x onerror=alert(1)>'
# What each looks like once escaped, in any of the escaping styles the pages use
# (Django writes &quot; or &#x27;, Jinja2 &#34; or &#39;; the tags are what matter).
ESCAPED = {SCRIPT: "&lt;script&gt;alert(1)&lt;/script&gt;", ATTRIBUTE: "&lt;img src=x onerror"}
LIMIT = settings.DATA_UPLOAD_MAX_MEMORY_SIZE


@pytest.fixture
def api(owner_token: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {owner_token}")


@pytest.fixture
def author(owner: User) -> Client:
    return logged_in(owner)


def first_screen(client: Client, survey: Survey, query: str = "") -> str:
    page = client.get(survey.public_path() + query)
    assert page.status_code == 200, page.content[:500]
    return page.content.decode()


def answered_nps(survey: Survey, client: Client, braze_id: str = "abc") -> str:
    """A respondent who has answered the first question; returns the second question's page."""
    html = first_screen(client, survey, f"?user_braze_id={braze_id}")
    reply = answer(client, html, "9")
    assert reply.status_code == 200 and question_of(reply.content.decode()) == "rating"
    return reply.content.decode()


def screen_of_question(survey: Survey, client: Client, key: str) -> str:
    """The page of question `key` for a respondent who has answered the first question."""
    answered_nps(survey, client)
    html = first_screen(client, survey, f"?user_braze_id=abc&q={key}")
    assert question_of(html) == key
    return html


def kept_answers(survey: Survey) -> dict[str, Any]:
    response = Response.objects.get(survey=survey)
    return dict(response.answers.values_list("question_key", "value"))


def assert_problem_page(reply: Any) -> None:
    """A 4xx that is a page of ours (or JSON from the API), not a traceback."""
    assert 400 <= reply.status_code < 500, (reply.status_code, reply.content[:300])
    assert b"Traceback" not in reply.content


# --- oversized bodies ----------------------------------------------------------------------


def test_a_respondent_post_over_the_size_limit_is_refused_and_keeps_the_answers(
    live_survey: Survey,
) -> None:
    client = Client()
    html = answered_nps(live_survey, client)
    state = form_state(html)
    body = f"r={state['r']}&q=rating&a=4&other=" + "x" * (LIMIT + 1)
    reply = client.post(state["action"], body, content_type=FORM)
    assert reply.status_code == 413
    page = reply.content.decode()
    assert 'data-screen="problem"' in page and live_survey.public_path() in page
    assert kept_answers(live_survey) == {"nps": 9}


def test_the_respondent_size_refusal_reads_in_the_respondents_language(
    live_survey: Survey,
) -> None:
    live_survey.replace_definition({**EVERY_TYPE, "translations": {"fr": {"title": "Pouls"}}})
    body = "q=nps&a=9&other=" + "x" * (LIMIT + 1)
    reply = Client().post(
        live_survey.public_path(), body, content_type=FORM, HTTP_ACCEPT_LANGUAGE="fr"
    )
    assert reply.status_code == 413
    page = reply.content.decode()
    assert 'lang="fr"' in page and "5 000 caractères maximum" in page.replace("\xa0", " ")
    assert not Response.objects.exists()


def test_a_huge_single_answer_under_the_limit_is_an_answer_error(live_survey: Survey) -> None:
    client = Client()
    html = screen_of_question(live_survey, client, "feedback")
    reply = answer(client, html, "x" * 900_000)  # long text: at most 5,000
    assert reply.status_code == 400
    html = reply.content.decode()
    assert "5,000" in html and question_of(html) == "feedback"
    assert kept_answers(live_survey) == {"nps": 9}
    assert answer(client, html, "Fine").status_code == 200
    assert kept_answers(live_survey) == {"nps": 9, "feedback": "Fine"}


def test_too_many_fields_in_an_answer_is_the_respondents_problem_page(
    live_survey: Survey,
) -> None:
    client = Client()
    html = screen_of_question(live_survey, client, "channels")
    state = form_state(html)
    fields = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
    body = f"r={state['r']}&q=channels&" + "&".join(["a=Email"] * fields)
    reply = client.post(state["action"], body, content_type=FORM)
    assert reply.status_code == 400
    assert 'data-screen="problem"' in reply.content.decode()
    assert kept_answers(live_survey) == {"nps": 9}


def test_a_huge_other_text_is_an_answer_error_not_a_500(live_survey: Survey) -> None:
    client = Client()
    html = screen_of_question(live_survey, client, "channels")
    reply = answer(client, html, "__other__", other="y" * 900_000)
    assert reply.status_code == 400
    assert "255" in reply.content.decode()
    assert kept_answers(live_survey) == {"nps": 9}


def test_an_api_body_over_the_size_limit_is_a_413_with_the_limit(api: Client) -> None:
    reply = api.post("/api/v1/surveys", b'{"title": "' + b"x" * LIMIT + b'"}', content_type=JSON)
    assert reply.status_code == 413
    assert f"{LIMIT:,}" in reply.json()["detail"]


def test_a_huge_field_under_the_api_limit_is_refused_with_its_path(api: Client) -> None:
    body = {"title": "T", "questions": [{"type": "nps", "prompt": "p" * (LIMIT - 200)}]}
    reply = api.post("/api/v1/surveys", json.dumps(body), content_type=JSON)
    assert reply.status_code == 400
    assert reply.json()["errors"][0]["path"] == "$.questions[0].prompt"
    assert not Survey.objects.exists()


def test_an_app_form_over_the_size_limit_is_refused(author: Client) -> None:
    body = "title=T&intro=" + "x" * (LIMIT + 1)
    reply = author.post("/surveys/new", body, content_type=FORM)
    assert_problem_page(reply)
    assert reply.status_code == 413
    assert not Survey.objects.exists()


def test_a_huge_field_in_an_app_form_is_a_form_error(author: Client) -> None:
    reply = author.post("/surveys/new", {"title": "t" * 500_000, "intro": ""})
    assert reply.status_code in (200, 400)
    assert "at most 200 characters" in reply.content.decode()
    assert not Survey.objects.exists()


def test_a_huge_import_is_a_form_error(author: Client) -> None:
    reply = author.post("/surveys/import", {"text": " " * (LIMIT - 1000) + "{"})
    assert reply.status_code in (200, 400)
    assert "not valid JSON" in reply.content.decode()


# --- deeply nested JSON --------------------------------------------------------------------

DEEP = "[" * 10_000 + "]" * 10_000
DEEP_OBJECT = '{"a":' * 10_000 + "1" + "}" * 10_000


def json_endpoints(survey: Survey) -> list[tuple[str, str]]:
    return [
        ("post", "/api/v1/surveys"),
        ("put", f"/api/v1/surveys/{survey.pk}"),
        ("put", "/api/v1/integrations/braze"),
        ("put", f"/api/v1/surveys/{survey.pk}/integrations/braze"),
        ("post", "/api/v1/responses/erase"),
    ]


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT], ids=["arrays", "objects"])
def test_json_nested_ten_thousand_deep_is_a_400_everywhere(
    api: Client, live_survey: Survey, body: str
) -> None:
    for method, url in json_endpoints(live_survey):
        reply = getattr(api, method)(url, body, content_type=JSON)
        assert reply.status_code == 400, (url, reply.content[:300])
        assert "nested too deeply" in reply.json()["detail"], url


def deepest_parsed(api: Client, url: str) -> int:
    """The deepest list the endpoint's JSON reading accepts, found by bisection."""
    low, high = 1, 3000
    while low < high:
        mid = (low + high + 1) // 2
        reply = api.post(url, "[" * mid + "]" * mid, content_type=JSON)
        assert reply.status_code in (400, 201), reply.content[:300]
        if "nested too deeply" in reply.json()["detail"]:
            high = mid - 1
        else:
            low = mid
    return low


def test_json_just_shallow_enough_to_parse_is_still_a_clear_400(
    api: Client, live_survey: Survey
) -> None:
    depth = deepest_parsed(api, "/api/v1/surveys")
    inner = "[" * (depth - 3) + "]" * (depth - 3)
    body = '{"title": "T", "intro": ' + inner + "}"
    for method, url in json_endpoints(live_survey):
        reply = getattr(api, method)(url, body, content_type=JSON)
        assert 400 <= reply.status_code < 500, (url, reply.content[:300])
        assert reply.json()["detail"]
    live_survey.refresh_from_db()
    assert live_survey.version == 1


def test_deep_json_in_the_import_form_is_a_form_error(author: Client) -> None:
    for text in (DEEP, '{"title": "T", "intro": ' + "[" * 990 + "]" * 990 + "}"):
        reply = author.post("/surveys/import", {"text": text})
        assert reply.status_code == 200, reply.content[:300]
        assert "This is not valid JSON: it is nested too deeply." in reply.content.decode()
    assert not Survey.objects.exists()


def test_deep_json_in_the_question_form_is_ignored(author: Client, live_survey: Survey) -> None:
    saved = live_survey.definition["questions"][4]
    fields = {**initial_for(saved), "choices": "Free\nPro\nBusiness", "choice_origins": DEEP}
    data = {f"q-plan-{k}": v for k, v in fields.items() if v not in (None, False, [])}
    data["q-plan-version"] = live_survey.version
    reply = author.post(f"/surveys/{live_survey.pk}/questions/plan/edit", data)
    assert reply.status_code == 302, reply.content[:300]
    live_survey.refresh_from_db()
    assert live_survey.definition["questions"][4]["choices"] == ["Free", "Pro", "Business"]


# --- invalid UTF-8 -------------------------------------------------------------------------


def declare(survey: Survey, *names: str) -> None:
    survey.replace_definition({**survey.definition, "hidden_fields": list(names)})


def test_invalid_utf8_in_a_survey_link_is_read_as_replacement_characters(
    live_survey: Survey,
) -> None:
    declare(live_survey, "src")
    client = Client()
    page = client.get(live_survey.public_path(), QUERY_STRING="user_braze_id=%ff%fe&src=%c3%28")
    assert page.status_code == 200
    html = answer(client, page.content.decode(), "8")
    assert html.status_code == 200
    response = Response.objects.get()
    assert response.identity["braze_id"] == "\ufffd\ufffd"
    assert response.hidden == {"src": "\ufffd("}


def test_invalid_utf8_in_a_score_answer_is_an_answer_error(
    live_survey: Survey,
) -> None:
    client = Client()
    html = answered_nps(live_survey, client)
    state = form_state(html)
    body = f"r={state['r']}&q=rating&a=".encode() + b"\xff\xfe"
    reply = client.post(state["action"], body, content_type=FORM)
    assert reply.status_code == 400
    assert question_of(reply.content.decode()) == "rating"
    assert kept_answers(live_survey) == {"nps": 9}


def test_invalid_utf8_in_a_text_answer_is_stored_with_replacement_characters(
    live_survey: Survey,
) -> None:
    client = Client()
    html = screen_of_question(live_survey, client, "nickname")
    state = form_state(html)
    body = f"r={state['r']}&q=nickname&a=Sam".encode() + b"\xff%ff"
    reply = client.post(state["action"], body, content_type=FORM)
    assert reply.status_code == 303  # stored, then on to the next screen
    assert kept_answers(live_survey)["nickname"].startswith("Sam")


def test_invalid_utf8_in_an_api_body_is_a_400_everywhere(api: Client, live_survey: Survey) -> None:
    for method, url in json_endpoints(live_survey):
        reply = getattr(api, method)(url, b'{"title": "\xff\xfe"}', content_type=JSON)
        assert reply.status_code == 400, url
        assert "not UTF-8" in reply.json()["detail"], url


def test_a_nul_in_api_json_is_refused_everywhere(api: Client, live_survey: Survey) -> None:
    for method, url in json_endpoints(live_survey):
        reply = getattr(api, method)(url, '{"value": "\\u0000"}', content_type=JSON)
        assert reply.status_code == 400, url
        assert {"path": "$.value", "message": "must not contain the NUL character (\\u0000)"} in (
            reply.json()["errors"]
        )


def test_invalid_utf8_in_an_api_query_is_a_4xx(api: Client, live_survey: Survey) -> None:
    url = f"/api/v1/surveys/{live_survey.pk}/responses"
    for query in ("cursor=%ff%fe", "limit=%ff", "cursor=\xff"):
        reply = api.get(url, QUERY_STRING=query)
        assert reply.status_code == 400, (query, reply.content[:200])
    export = f"/api/v1/surveys/{live_survey.pk}/responses/export"
    assert api.get(export, QUERY_STRING="since=%ff%fe").status_code == 400


def test_invalid_utf8_in_an_app_form_is_read_with_replacement_characters(author: Client) -> None:
    reply = author.post("/surveys/new", b"title=%ff%feT&intro=", content_type=FORM)
    assert reply.status_code == 302
    assert Survey.objects.get().title == "\ufffd\ufffdT"


# --- NUL bytes -----------------------------------------------------------------------------


def test_a_nul_in_the_response_token_is_a_clear_refusal(live_survey: Survey) -> None:
    client = Client()
    html = answered_nps(live_survey, client)
    state = form_state(html)
    reply = client.post(state["action"], {"r": "abc\x00", "q": "rating", "a": "4"})
    assert reply.status_code == 400
    assert 'data-screen="problem"' in reply.content.decode()
    assert kept_answers(live_survey) == {"nps": 9}


def test_a_nul_in_link_tokens_and_cookies_starts_afresh(live_survey: Survey) -> None:
    for query in ("?r=%00", "?r=abc%00def"):
        page = Client().get(live_survey.public_path() + query)
        assert page.status_code == 200
        assert question_of(page.content.decode()) == "nps"
    client = Client()
    client.cookies[f"sr_{live_survey.pk}"] = "abc\x00"
    assert client.get(live_survey.public_path()).status_code == 200


def test_a_nul_in_link_identities_and_hidden_fields_is_ignored(live_survey: Survey) -> None:
    declare(live_survey, "utm", "src")
    client = Client()
    query = "?user_braze_id=a%00b&user_email=x%00@y.z&utm%00=1&utm=a%00b&src=mail"
    html = first_screen(client, live_survey, query)
    assert answer(client, html, "6").status_code == 200
    response = Response.objects.get()
    assert response.identity["braze_id"] == "" and response.identity["email"] == ""
    assert response.hidden == {"src": "mail"}


def test_a_nul_in_a_text_answer_is_refused_and_the_earlier_answers_kept(
    live_survey: Survey,
) -> None:
    client = Client()
    html = screen_of_question(live_survey, client, "nickname")
    reply = answer(client, html, "Sam\x00")
    assert reply.status_code == 400
    assert "cannot be stored" in reply.content.decode()
    reply = answer(client, reply.content.decode(), "Sam")
    assert reply.status_code == 200
    assert kept_answers(live_survey) == {"nps": 9, "nickname": "Sam"}


def test_a_nul_in_an_other_text_is_refused(live_survey: Survey) -> None:
    client = Client()
    html = screen_of_question(live_survey, client, "channels")
    reply = answer(client, html, "__other__", other="Radio\x00")
    assert reply.status_code == 400
    assert kept_answers(live_survey) == {"nps": 9}


def test_a_nul_in_api_json_is_refused_with_its_path(api: Client) -> None:
    body = '{"title": "T\\u0000", "questions": [{"type": "nps", "prompt": "\\u0000"}]}'
    reply = api.post("/api/v1/surveys", body, content_type=JSON)
    assert reply.status_code == 400
    paths = [e["path"] for e in reply.json()["errors"]]
    assert paths == ["$.title", "$.questions[0].prompt"]
    erase = api.post(
        "/api/v1/responses/erase", '{"identifier": "braze_id", "value": "a\\u0000"}', JSON
    )
    assert erase.status_code == 400 and erase.json()["errors"][0]["path"] == "$.value"


def test_a_nul_in_api_queries_and_paths_is_a_4xx(api: Client, live_survey: Survey) -> None:
    base = f"/api/v1/surveys/{live_survey.pk}/responses"
    for url in (
        f"{base}?cursor=%00",
        f"{base}/export?since=%00",
        f"{base}/export?completion=%00",
        f"{base}/abc%00def",
        "/api/v1/surveys/1%00",
    ):
        reply = api.delete(url) if url.endswith("def") else api.get(url)
        assert 400 <= reply.status_code < 500, (url, reply.content[:200])


def test_a_nul_in_app_forms_is_a_form_error(author: Client, live_survey: Survey) -> None:
    reply = author.post("/surveys/new", {"title": "T\x00", "intro": ""})
    assert reply.status_code in (200, 400)
    assert "Null characters are not allowed" in reply.content.decode()
    assert Survey.objects.count() == 1
    for url in (
        f"/surveys/{live_survey.pk}/responses?q=%ff%fe",
        f"/surveys/{live_survey.pk}/report?since=%ff",
        f"/surveys/{live_survey.pk}/responses?q=%00",
        f"/surveys/{live_survey.pk}/report?since=%00",
        f"/surveys/{live_survey.pk}/report/answers/feedback?q=a%00b",
        f"/surveys/{live_survey.pk}/deliveries?state=%00",
        f"/surveys/{live_survey.pk}/?edit=%00",
    ):
        reply = author.get(url)
        assert reply.status_code in (200, 400, 404), (url, reply.status_code)


# --- SQL and HTML in every text field ------------------------------------------------------

HOSTILE = [SQL, SCRIPT, ATTRIBUTE]


def hostile_definition(text: str) -> dict[str, Any]:
    """Every question type, with `text` in every text an author can write."""
    questions = []
    for i, q in enumerate(EVERY_TYPE["questions"]):
        q = {**q, "prompt": f"{text} {i}", "help": text}
        if "choices" in q:
            q["choices"] = [text, f"{text} 2", "Plain"]
            q["other_label"] = text
        if q["type"] in ("nps", "scale"):
            q["min_label"], q["max_label"] = text, f"{text} max"
        if q["type"] in ("short_text", "number"):
            q["placeholder"] = text
        questions.append(q)
    return {
        "title": text,
        "intro": text,
        "thank_you": text,
        "hidden_fields": ["note"],
        "questions": questions,
        "translations": {
            "fr": {
                "title": f"{text} fr",
                "questions": {
                    "nps": {"prompt": f"{text} fr prompt"},
                    "plan": {"choices": [f"{text} fr choice"]},
                },
            }
        },
    }


def respond_with(survey: Survey, text: str, language: str = "") -> list[str]:
    """Answer every question with `text` wherever text is accepted; return the pages seen.
    The link carries `text` as the value of a declared hidden field, and as the name of a
    parameter the survey does not declare (which is ignored)."""
    client = Client()
    params = {"user_braze_id": text, "user_external_id": text, text: text, "note": text}
    if language:
        params["lang"] = language
    html = first_screen(client, survey, "?" + urlencode(params))
    pages = [html]
    given = {
        "plan": [text],
        "channels": ["__other__", text],
        "country": [f"{text} 2"],
        "nickname": [text],
        "feedback": [text],
    }
    while 'data-screen="done"' not in html:
        key = question_of(html)
        values = given.get(key, ["3"] if key != "renew" else ["yes"])
        if key == "since":
            values = ["2024-02-29"]
        if key == "contact":
            values = ["sam@example.com"]
        extra = {"other": text} if key == "channels" else {}
        reply = answer(client, html, values, **extra)
        assert reply.status_code == 200, (key, reply.content[:500])
        html = reply.content.decode()
        pages.append(html)
    return pages


def assert_escaped(html: str, text: str, where: str) -> None:
    if text in ESCAPED:
        assert text not in html, f"{where}: {text} is not escaped"
        assert ESCAPED[text] in html, f"{where}: {text} is not shown at all"


@pytest.fixture(params=HOSTILE, ids=["sql", "script", "attribute"])
def hostile(request: pytest.FixtureRequest, api: Client) -> tuple[Survey, str]:
    text = request.param
    created = api.post("/api/v1/surveys", json.dumps(hostile_definition(text)), JSON)
    assert created.status_code == 201, created.content
    survey = Survey.objects.get(pk=created.json()["id"])
    survey.set_status(Status.LIVE)
    return survey, text


def test_hostile_text_is_stored_exactly(hostile: tuple[Survey, str]) -> None:
    survey, text = hostile
    definition = survey.definition
    assert survey.title == text and definition["intro"] == text
    assert definition["questions"][4]["choices"][0] == text
    assert definition["translations"]["fr"]["questions"]["plan"]["choices"] == {
        text: f"{text} fr choice"
    }
    respond_with(survey, text)
    response = Response.objects.get(survey=survey)
    assert response.identity["braze_id"] == text and response.identity["external_id"] == text
    assert response.hidden == {"note": text}
    answers = kept_answers(survey)
    assert answers["plan"] == text and answers["nickname"] == text
    assert answers["channels"] == [text]  # picked as "Other", typed as the first choice
    assert answers["feedback"] == text
    # The SQL did nothing: the table is there and holds every answer.
    assert Answer.objects.filter(response=response).count() == len(EVERY_TYPE["questions"])


def test_hostile_text_is_escaped_on_every_respondent_page(hostile: tuple[Survey, str]) -> None:
    survey, text = hostile
    for i, page in enumerate(respond_with(survey, text)):
        assert_escaped(page, text, f"respondent page {i}")
    Response.objects.all().delete()
    for i, page in enumerate(respond_with(survey, text, "fr")):
        assert_escaped(page, text, f"French respondent page {i}")


def test_hostile_text_is_escaped_on_every_author_page(
    hostile: tuple[Survey, str], author: Client
) -> None:
    survey, text = hostile
    respond_with(survey, text)
    token = Response.objects.get(survey=survey).token
    pk = survey.pk
    for url in (
        "/surveys/",
        f"/surveys/{pk}/",
        f"/surveys/{pk}/?edit=plan",
        f"/surveys/{pk}/translations",
        f"/surveys/{pk}/translations/fr",
        f"/surveys/{pk}/report",
        f"/surveys/{pk}/report/answers/feedback",
        f"/surveys/{pk}/report/answers/nickname?q={text[:5]}",
        f"/surveys/{pk}/responses",
        f"/surveys/{pk}/responses?q={text[:5]}",
        f"/surveys/{pk}/responses/{token}",
        f"/surveys/{pk}/deliveries",
    ):
        page = author.get(url)
        assert page.status_code == 200, (url, page.status_code)
        assert_escaped(page.content.decode(), text, url)


def csv_rows(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


def test_hostile_text_survives_the_exports_exactly_and_defused(
    hostile: tuple[Survey, str], author: Client, api: Client
) -> None:
    survey, text = hostile
    respond_with(survey, text)
    rows = csv_rows(b"".join(author.get(f"/surveys/{survey.pk}/export/responses.csv")))
    api_rows = csv_rows(
        b"".join(api.get(f"/api/v1/surveys/{survey.pk}/responses/export?format=csv"))
    )
    assert rows == api_rows and len(rows) == 1
    assert rows[0]["nickname"] == text and rows[0]["hidden.note"] == text
    assert f"hidden.{text}" not in rows[0]
    records = json.loads(b"".join(author.get(f"/surveys/{survey.pk}/export/responses.json")))
    assert records[0]["nickname"] == text
    assert records[0]["hidden.note"] == text


def test_a_formula_in_an_answer_is_defused_in_the_csv(live_survey: Survey, author: Client) -> None:
    client = Client()
    answered_nps(live_survey, client, "%3DHYPERLINK(1)")
    html = first_screen(client, live_survey, "?user_braze_id=%3DHYPERLINK(1)&q=nickname")
    assert answer(client, html, '=HYPERLINK("http://x","y")').status_code == 200
    rows = csv_rows(b"".join(author.get(f"/surveys/{live_survey.pk}/export/responses.csv")))
    assert rows[0]["nickname"] == '\'=HYPERLINK("http://x","y")'
    assert "'=HYPERLINK(1)" in rows[0].values()
    records = json.loads(b"".join(author.get(f"/surveys/{live_survey.pk}/export/responses.json")))
    assert records[0]["nickname"] == '=HYPERLINK("http://x","y")'


def test_hostile_text_in_queries_and_searches_is_only_text(
    live_survey: Survey, author: Client, api: Client
) -> None:
    answered_nps(live_survey, Client())
    base = f"/api/v1/surveys/{live_survey.pk}/responses"
    for text in HOSTILE:
        query = urlencode({"cursor": text})
        assert api.get(f"{base}?{query}").status_code == 400
        for name in ("since", "until", "completion", "sync", "format"):
            reply = api.get(f"{base}/export?{urlencode({name: text})}")
            assert reply.status_code == 400, (name, reply.content[:200])
        for url in (
            f"/surveys/{live_survey.pk}/responses?{urlencode({'q': text})}",
            f"/surveys/{live_survey.pk}/report/answers/feedback?{urlencode({'q': text})}",
        ):
            page = author.get(url)
            assert page.status_code in (200, 400), url
            assert SCRIPT not in page.content.decode() and ATTRIBUTE not in page.content.decode()
    assert kept_answers(live_survey) == {"nps": 9}


def test_hostile_text_in_the_app_forms_is_stored_exactly(author: Client) -> None:
    for text in HOSTILE:
        reply = author.post("/surveys/new", {"title": text, "intro": text})
        assert reply.status_code == 302, reply.content[:300]
        survey = Survey.objects.get(title=text)
        assert survey.definition["intro"] == text
        page = author.get(reply["Location"])
        assert_escaped(page.content.decode(), text, "new survey page")


def test_conditions_on_a_broken_question_are_a_400_through_the_api(api: Client) -> None:
    body = {
        "title": "T",
        "questions": [
            {"key": "a", "type": "number", "prompt": "P", "min": "x"},
            {
                "key": "b",
                "type": "yes_no",
                "prompt": "Q",
                "show_if": {"question": "a", "op": "equals", "value": 5},
            },
        ],
    }
    reply = api.post("/api/v1/surveys", json.dumps(body), content_type=JSON)
    assert reply.status_code == 400
    assert reply.json()["errors"][0]["path"] == "$.questions[0].min"


def test_a_braze_endpoint_urlsplit_refuses_is_a_400_with_its_path(api: Client) -> None:
    reply = api.put(
        "/api/v1/integrations/braze",
        json.dumps({"rest_endpoint": "[;,\\s]+", "api_key": "k" * 36}),
        content_type=JSON,
    )
    assert reply.status_code == 400
    assert "$.rest_endpoint" in [e["path"] for e in reply.json()["errors"]]
