"""The respondent flow as a browser without JavaScript sees it: plain GETs and form POSTs."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest
from django.test import Client

from sounding.answers.models import Answer, Response
from sounding.collect import store
from sounding.surveys.models import Status, Survey
from tests.respondent import answer, confirm, form_state, offered, question_of, screen_of

EVERY_ANSWER = [
    ("nps", "9", 9),
    ("rating", "4", 4),
    ("csat", "5", 5),
    ("effort", "6", 6),
    ("plan", "Pro", "Pro"),
    ("channels", ["Push", "Email"], ["Email", "Push"]),
    ("country", "Spain", "Spain"),
    ("renew", "yes", True),
    ("nickname", "Sam", "Sam"),
    ("feedback", "Great <b>service</b>\nThanks", "Great <b>service</b>\nThanks"),
    ("contact", "sam@example.com", "sam@example.com"),
    ("seats", "12.5", 12.5),
    ("since", "2024-02-29", "2024-02-29"),
]


def start(client: Client, survey: Survey, query: str = "") -> str:
    """The page a link shows (after the redirect a link carrying an answer leads to)."""
    response = client.get(survey.public_path() + query, follow=True)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.django_db
def test_every_question_type_is_stored_with_its_natural_type(live_survey: Survey) -> None:
    client = Client()
    html = start(client, live_survey, "?user_braze_id=abc")
    for key, submitted, _expected in EVERY_ANSWER:
        assert question_of(html) == key
        response = answer(client, html, submitted)
        assert response.status_code == 200, response.content
        html = response.content.decode()
    assert screen_of(html) == "done"
    stored = Response.objects.get()
    assert stored.identity["braze_id"] == "abc"
    assert stored.completed_at is not None
    answers = dict(stored.answers.values_list("question_key", "value"))
    assert answers == {key: expected for key, _s, expected in EVERY_ANSWER}
    assert isinstance(answers["seats"], float) and answers["renew"] is True


@pytest.mark.django_db
def test_the_same_identity_continues_its_one_response(live_survey: Survey) -> None:
    client = Client()
    html = start(client, live_survey, "?user_braze_id=abc")
    html = answer(client, html, "7").content.decode()
    html = answer(client, html, "3").content.decode()
    # The same browser, same link: it picks up after the last answer.
    again = start(client, live_survey, "?user_braze_id=abc")
    assert question_of(again) == "csat"
    assert form_state(again)["r"] == Response.objects.get().token
    # A new device, same link: it starts over, blank, and still answers into that response.
    elsewhere = start(Client(), live_survey, "?user_braze_id=abc")
    assert question_of(elsewhere) == "nps" and form_state(elsewhere)["r"] == ""
    answer(Client(), elsewhere, "5")
    assert Response.objects.count() == 1
    assert Answer.objects.get(question_key="nps").value == 5


@pytest.mark.django_db
def test_a_link_can_carry_the_first_answer(live_survey: Survey) -> None:
    live_survey.replace_definition({**live_survey.definition, "hidden_fields": ["utm_source"]})
    client = Client()
    html = start(client, live_survey, "?user_braze_id=abc&nps=10&utm_source=email&lid=x1")
    # Shown selected, stored only once confirmed: mail scanners open every link.
    assert question_of(html) == "nps" and offered(html) and not Response.objects.exists()
    html = confirm(client, html, "10").content.decode()
    assert question_of(html) == "rating"
    stored = Response.objects.get()
    assert dict(stored.answers.values_list("question_key", "value")) == {"nps": 10}
    # Only the declared hidden field is kept; what a mail provider adds (lid) is ignored.
    assert stored.hidden == {"utm_source": "email"}


@pytest.mark.parametrize("bad", ["11", "-1", "nine", "9.5", ""])
@pytest.mark.django_db
def test_an_invalid_pre_answer_is_ignored_and_the_question_shown(
    live_survey: Survey, bad: str
) -> None:
    html = start(Client(), live_survey, f"?user_braze_id=abc&nps={bad}")
    assert question_of(html) == "nps"
    assert not Answer.objects.exists()


@pytest.mark.django_db
def test_a_head_request_from_a_link_scanner_stores_nothing(live_survey: Survey) -> None:
    response = Client().head(live_survey.public_path() + "?user_braze_id=abc&nps=10")
    assert response.status_code == 200
    assert not Response.objects.exists()


@pytest.mark.django_db
def test_back_shows_the_previous_answer_which_can_be_changed(live_survey: Survey) -> None:
    client = Client()
    html = start(client, live_survey, "?user_braze_id=abc")
    html = answer(client, html, "8").content.decode()
    state = form_state(html)
    data = {"r": state["r"], "q": state["q"], "nav": "back"}
    html = client.post(state["action"], data, follow=True).content.decode()
    assert question_of(html) == "nps"
    assert 'value="8" checked' in html
    html = answer(client, html, "2").content.decode()
    assert question_of(html) == "rating"
    assert Answer.objects.get(question_key="nps").value == 2


@pytest.mark.parametrize(
    ("key", "bad", "message"),
    [
        ("nps", "12", "Pick a number from 0 to 10."),
        ("nps", "", "This question needs an answer."),
        ("plan", "Platinum", "Pick one of the choices offered."),
        ("channels", ["Email", "Fax"], "Pick only among the choices offered."),
        ("country", "Mars", "Pick one of the choices offered."),
        ("renew", "maybe", "Answer yes or no."),
        ("nickname", "x" * 256, "Keep it to 255 characters or fewer."),
        ("feedback", "x" * 5001, "Keep it to 5,000 characters or fewer."),
        ("contact", "sam@", "Enter an email address like name@example.com."),
        ("seats", "lots", "Enter a number."),
        ("seats", "0", "Enter a number from 1 to 1000."),
        ("since", "2026-02-30", "Enter a date as YYYY-MM-DD"),
    ],
)
@pytest.mark.django_db
def test_bad_answers_get_a_clear_message_and_a_400(
    live_survey: Survey, key: str, bad: str | list[str], message: str
) -> None:
    client = Client()
    html = start(client, live_survey, f"?user_braze_id=abc&q={key}")
    state = form_state(html)
    data = {"r": state["r"], "q": key, "nav": "next", "a": bad}
    response = client.post(state["action"], data)
    assert response.status_code == 400
    body = response.content.decode()
    assert message in body
    assert 'role="alert"' in body and 'aria-invalid="true"' in body
    assert question_of(body) == key
    assert not Answer.objects.filter(question_key=key).exists()


@pytest.mark.django_db
def test_other_needs_its_text_and_stores_it(live_survey: Survey) -> None:
    client = Client()
    confirm(client, start(client, live_survey, "?user_braze_id=abc&nps=5"), "5")
    html = start(client, live_survey, "?user_braze_id=abc&q=channels")
    state = form_state(html)
    data = {"r": state["r"], "q": "channels", "nav": "next", "a": ["SMS", "__other__"]}
    assert client.post(state["action"], data).status_code == 400
    data["other"] = "Carrier pigeon"
    assert client.post(state["action"], data).status_code == 303
    assert Answer.objects.get(question_key="channels").value == ["SMS", "Carrier pigeon"]


@pytest.mark.django_db
def test_skipping_an_optional_question_stores_nothing_for_it(live_survey: Survey) -> None:
    client = Client()
    html = confirm(client, start(client, live_survey, "?user_braze_id=abc&nps=5"), "5")
    html = answer(client, html.content.decode(), []).content.decode()
    assert question_of(html) == "csat"
    assert list(Answer.objects.values_list("question_key", flat=True)) == ["nps"]


@pytest.mark.django_db
def test_clearing_an_answer_removes_it(live_survey: Survey) -> None:
    client = Client()
    html = confirm(client, start(client, live_survey, "?user_braze_id=abc&nps=5"), "5")
    answer(client, html.content.decode(), "3")
    answer(client, start(client, live_survey, "?user_braze_id=abc&q=rating"), [])
    assert not Answer.objects.filter(question_key="rating").exists()
    assert Response.objects.get().answers_version == 3


@pytest.mark.django_db
def test_a_repeated_post_creates_no_second_answer_or_response(live_survey: Survey) -> None:
    client = Client()
    html = start(client, live_survey, "?user_braze_id=abc")
    first = answer(client, html, "9")
    second = answer(client, html, "9")
    assert first.status_code == second.status_code == 200
    assert Response.objects.count() == 1
    assert Answer.objects.count() == 1
    assert Response.objects.get().answers_version == 1


@pytest.mark.django_db
def test_anonymous_respondents_continue_through_their_cookie(live_survey: Survey) -> None:
    client = Client()
    html = start(client, live_survey)
    assert form_state(html)["r"] == ""
    html = answer(client, html, "6").content.decode()
    assert question_of(start(client, live_survey)) == "rating"
    assert question_of(start(Client(), live_survey)) == "nps"
    assert Response.objects.get().identity_kind is None


@pytest.mark.django_db
def test_a_link_naming_someone_wins_over_another_persons_cookie(live_survey: Survey) -> None:
    client = Client()
    answer(client, start(client, live_survey), "6")
    html = start(client, live_survey, "?user_external_id=u-42")
    assert question_of(html) == "nps"
    answer(client, html, "10")
    assert Response.objects.count() == 2
    assert Response.objects.get(identities__external_id="u-42").answers.get().value == 10


@pytest.mark.django_db
def test_tampered_form_fields_get_a_400_and_store_nothing(live_survey: Survey) -> None:
    client = Client()
    path = live_survey.public_path()
    assert client.post(path, {"q": "nope", "a": "1", "r": ""}).status_code == 400
    assert client.post(path, {"q": "nps", "a": "1", "r": "forged"}).status_code == 400
    assert client.post(path, {"a": "1"}).status_code == 400
    assert not Answer.objects.exists()


@pytest.mark.django_db
def test_a_response_token_of_another_survey_is_refused(live_survey: Survey, workspace) -> None:
    other = Survey.create(
        workspace,
        {"title": "Other", "questions": [{"key": "nps", "type": "nps", "prompt": "Again?"}]},
    )
    other.set_status(Status.LIVE)
    client = Client()
    html = start(client, live_survey, "?user_braze_id=abc")
    token = form_state(answer(client, html, "1").content.decode())["r"]
    response = client.post(other.public_path(), {"q": "nps", "a": "1", "r": token})
    assert response.status_code == 400
    assert not other.responses.exists()


@pytest.mark.django_db
def test_unknown_and_paused_surveys_get_clear_pages(live_survey: Survey) -> None:
    client = Client()
    missing = client.get("/s/no-such-survey")
    assert missing.status_code == 404 and b"Survey not found" in missing.content
    live_survey.set_status(Status.PAUSED)
    paused = client.get(live_survey.public_path())
    assert paused.status_code == 403 and b"not open right now" in paused.content
    post = client.post(live_survey.public_path(), {"q": "nps", "a": "5", "r": ""})
    assert post.status_code == 403
    assert not Answer.objects.exists()


def unsigned(response: Any) -> bytes:
    """The page without its nonce, which differs between any two responses."""
    return re.sub(rb'nonce="[^"]+"', b'nonce=""', response.content)


@pytest.mark.django_db
def test_a_draft_survey_is_indistinguishable_from_an_unknown_address(live_survey: Survey) -> None:
    live_survey.set_status(Status.DRAFT)
    client = Client()
    missing = client.get("/s/no-such-survey")
    draft = client.get(live_survey.public_path() + "?user_braze_id=a&nps=9")
    assert (draft.status_code, unsigned(draft)) == (missing.status_code, unsigned(missing))
    posted = client.post(live_survey.public_path(), {"q": "nps", "a": "5"})
    assert (posted.status_code, unsigned(posted)) == (missing.status_code, unsigned(missing))
    assert live_survey.title.encode() not in draft.content


@pytest.mark.django_db
def test_the_thank_you_screen_shows_on_return_and_allows_changes(live_survey: Survey) -> None:
    client = Client()
    html = start(client, live_survey, "?user_braze_id=abc")
    for _key, submitted, _e in EVERY_ANSWER:
        html = answer(client, html, submitted).content.decode()
    # In the browser that answered; anyone else with the link starts over (see
    # test_identity_exposure.py).
    again = start(client, live_survey, "?user_braze_id=abc")
    assert screen_of(again) == "done" and "Change my answers" in again


@pytest.mark.django_db
def test_answer_post_is_one_short_transaction(
    live_survey: Survey, django_assert_max_num_queries
) -> None:
    client = Client()
    html = start(client, live_survey, "?user_braze_id=abc&nps=5")
    html = confirm(client, html, "5").content.decode()
    with django_assert_max_num_queries(8):
        response = answer(client, html, "4", js=True)
    assert response.status_code == 200


@pytest.mark.django_db
def test_pages_are_small_and_use_only_their_own_host(live_survey: Survey) -> None:
    client = Client()
    html = start(client, live_survey, "?user_braze_id=abc")
    script = client.get("/static/sounding/respond.js")
    assert script.status_code == 200
    size = len(html.encode()) + len(b"".join(script.streaming_content))
    assert size < 30_000
    assert "http://" not in html and "https://" not in html


@pytest.mark.django_db
def test_the_form_target_drops_the_pre_answer_so_it_is_never_applied_twice(
    live_survey: Survey,
) -> None:
    client = Client()
    link = live_survey.public_path() + "?user_braze_id=abc&nps=10&utm=x"
    html = client.get(link).content.decode()
    action = form_state(html)["action"]
    assert "nps=" not in action and "user_braze_id=abc" in action and "utm=x" in action
    # The screen's own address, which the history keeps, carries no score either.
    own = re.search(r'data-url="([^"]*)"', html)
    assert own is not None and "nps=" not in own[1]
    # The respondent picks 3 rather than the 10 offered; reloading either address keeps it.
    state = form_state(html)
    client.post(action, {"r": state["r"], "q": "nps", "a": "3", "nav": "next", "from_link": "1"})
    client.get(action)
    client.get(unescape(own[1]))
    assert Answer.objects.get(question_key="nps").value == 3
    # The link itself, opened again, offers its 10 and stores nothing.
    assert offered(client.get(link).content.decode())
    assert Answer.objects.get(question_key="nps").value == 3


@pytest.mark.django_db
def test_link_parameters_with_nul_characters_are_ignored_not_a_500(live_survey: Survey) -> None:
    client = Client()
    html = start(client, live_survey, "?user_braze_id=a%00b&utm=x%00&nps=5")
    html = confirm(client, html, "5").content.decode()
    assert question_of(html) == "rating"
    stored = Response.objects.get()
    assert stored.identity["braze_id"] == "" and stored.hidden == {}


@pytest.mark.django_db
def test_the_lang_parameter_wins_over_the_browser_language(live_survey: Survey) -> None:
    definition = live_survey.definition
    definition["translations"] = {"fr": {"title": "Le pouls"}, "de": {"title": "Der Puls"}}
    live_survey.replace_definition(definition)
    client = Client(HTTP_ACCEPT_LANGUAGE="de")
    assert '<html lang="de">' in start(client, live_survey)
    assert '<html lang="fr">' in start(client, live_survey, "?lang=fr-CA")
    assert '<html lang="de">' in start(client, live_survey, "?lang=xx")
    # A language the survey is not written in is not offered, whatever the browser says.
    assert '<html lang="en">' in start(Client(HTTP_ACCEPT_LANGUAGE="es"), live_survey)


@pytest.mark.django_db
def test_with_braze_on_the_answer_and_its_push_are_written_together(
    live_survey: Survey, django_assert_max_num_queries
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from sounding.delivery.models import Push

    live_survey.destinations = ["braze"]
    live_survey.save(update_fields=["destinations"])
    client = Client()
    html = start(client, live_survey, "?user_braze_id=abc&nps=5")
    html = confirm(client, html, "5").content.decode()
    with django_assert_max_num_queries(8), CaptureQueriesContext(connection) as queries:
        response = answer(client, html, "4", js=True)
    assert response.status_code == 200
    written = [q["sql"] for q in queries if q["sql"].split()[0] in {"INSERT", "UPDATE", "WITH"}]
    tables = [
        t for sql in written for t in re.findall(r"\b(?:INSERT INTO|UPDATE)\s+(?!SET\b)(\w+)", sql)
    ]
    assert tables == ["collect_answer", "collect_response", "delivery_push"]
    # In one transaction: one statement where the database allows it (store.save_at_once).
    assert len(written) == (1 if connection.vendor in store.SAVES_AT_ONCE else 3)
    push = Push.objects.get()
    stored = Response.objects.get()
    assert (push.wanted_version, push.user_key) == (stored.answers_version, "braze_id:abc")


# --- Post, redirect, get: every page in the history is built from the stored answers --------


@pytest.mark.django_db
def test_a_plain_form_post_leads_to_the_get_url_of_the_next_screen(live_survey: Survey) -> None:
    client = Client()
    html = start(client, live_survey)  # anonymous: no identity in the link
    state = form_state(html)
    reply = client.post(state["action"], {"r": "", "q": "nps", "a": "9", "nav": "next"})
    token = Response.objects.get().token
    assert reply.status_code == 303 and reply["Cache-Control"] == "no-store"
    assert reply["Location"] == f"{live_survey.public_path()}?r={token}&q=rating"
    # Its page shows the stored answers even where the cookie is blocked; the page's own URL
    # is the same one.
    html = Client().get(reply["Location"]).content.decode()
    assert question_of(html) == "rating" and form_state(html)["r"] == token
    assert f'data-url="{live_survey.public_path()}?r={token}&amp;q=rating"' in html
    back = client.post(reply["Location"], {"r": token, "q": "rating", "nav": "back"})
    assert back.status_code == 303
    assert back["Location"] == f"{live_survey.public_path()}?r={token}&q=nps"
    assert 'value="9" checked' in client.get(back["Location"]).content.decode()


@pytest.mark.django_db
def test_a_post_from_the_script_gets_the_next_screen_directly(live_survey: Survey) -> None:
    client = Client()
    html = start(client, live_survey, "?user_braze_id=abc")
    reply = answer(client, html, "9", js=True)
    assert reply.status_code == 200
    html = reply.content.decode()
    assert question_of(html) == "rating"
    assert f'data-url="{live_survey.public_path()}?user_braze_id=abc&amp;q=rating"' in html
    # A refused answer is shown as sent, with or without the script.
    refused = client.post(form_state(html)["action"], {"q": "rating", "a": "9", "nav": "next"})
    assert refused.status_code == 400 and question_of(refused.content.decode()) == "rating"


@pytest.mark.django_db
def test_the_last_answer_leads_to_the_thank_you_page_which_shows_no_answers(
    live_survey: Survey,
) -> None:
    client = Client()
    confirm(client, start(client, live_survey, "?user_braze_id=abc&nps=9"), "9")
    html = start(client, live_survey, "?user_braze_id=abc&q=since")
    assert question_of(html) == "since"
    reply = client.post(form_state(html)["action"], {"q": "since", "a": "2024-01-02"})
    thanks = f"{live_survey.public_path()}?user_braze_id=abc&q=_done"
    assert reply.status_code == 303 and reply["Location"] == thanks
    assert "Change my answers" in client.get(thanks).content.decode()
    # Another browser is thanked at that URL too, and sees nothing of the response.
    token = Response.objects.get().token
    elsewhere = Client().get(thanks).content.decode()
    assert screen_of(elsewhere) == "done" and "Change my answers" not in elsewhere
    assert token not in elsewhere
    assert question_of(start(Client(), live_survey, "?user_braze_id=abc")) == "nps"


@pytest.mark.django_db
def test_a_survey_saved_with_a_question_keyed_q_still_thanks_its_respondents(
    workspace, owner
) -> None:
    # `q` names the screen to show, so new definitions may not use it as a key; a survey saved
    # before that must still end on its thank-you page, not take `?q=_done` as an answer.
    survey = Survey.create(
        workspace, {"title": "Old", "questions": [{"type": "short_text", "prompt": "Q"}]}, owner
    )
    definition = dict(survey.definition)
    definition["questions"] = [dict(definition["questions"][0], key="q")]
    Survey.objects.filter(pk=survey.pk).update(definition=definition, version=survey.version + 1)
    survey.refresh_from_db()
    survey.set_status(Status.LIVE)
    client = Client()
    page = client.get(f"/s/{survey.slug}").content.decode()
    assert question_of(page) == "q"
    done = answer(client, page, "said once")
    assert screen_of(done.content.decode()) == "done"
    assert Answer.objects.get(response__survey=survey).value == "said once"
