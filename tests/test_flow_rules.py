"""The server holds the survey's rules whatever the browser sends: required questions, skip
logic, links that carry answers, and answers to questions a change of mind hides."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from sounding.accounts.models import User, Workspace
from sounding.answers.models import Answer, Response
from sounding.delivery.models import Push, PushState
from sounding.destinations.braze.models import BrazeSettings
from sounding.surveys.models import Status, Survey
from tests.conftest import logged_in
from tests.delivery_fixtures import drain, integrate
from tests.respondent import answer, confirm, form_state, offered, one_click, question_of, screen_of
from tests.standin import StandinHarness

RULES: dict[str, Any] = {
    "title": "Rules",
    "questions": [
        {"key": "nps", "type": "nps", "prompt": "How likely?", "required": True},
        {
            "key": "why_low",
            "type": "long_text",
            "prompt": "What went wrong?",
            "required": True,
            "show_if": {"question": "nps", "op": "less_than", "value": 7},
        },
        {
            "key": "plan",
            "type": "single_choice",
            "prompt": "Which plan?",
            "choices": ["Free", "Pro"],
            "required": True,
        },
        {"key": "renew", "type": "yes_no", "prompt": "Will you renew?", "required": True},
        {
            "key": "improve",
            "type": "single_choice",
            "prompt": "What should we improve?",
            "choices": ["Price", "Speed", "Support"],
        },
    ],
}
WHY_LOW = "What went wrong?"
NEEDS_AN_ANSWER = "This question needs an answer."
NOT_APPLICABLE = "This question does not apply to your answers, so this answer was not saved."


def make(workspace: Workspace, definition: dict[str, Any], **braze: Any) -> Survey:
    survey = Survey.create(workspace, definition)
    survey.set_status(Status.LIVE)
    if braze:
        integrate(survey, **braze)
    return survey


@pytest.fixture
def rules(workspace: Workspace) -> Survey:
    return make(workspace, RULES)


@pytest.fixture
def synced(workspace: Workspace, connected: BrazeSettings) -> Survey:
    """The same survey sending to the Braze stand-in, with the completion event on."""
    return make(workspace, RULES, completion_event=True)


def stored(response: Response | None = None) -> dict[str, Any]:
    answers = Answer.objects.all() if response is None else response.answers.all()
    return dict(answers.values_list("question_key", "value"))


def post(client: Client, url: str, key: str, value: str, token: str = "") -> Any:
    data = {"q": key, "a": value, "nav": "next"}
    if token:
        data["r"] = token
    return client.post(url, data)


def events(standin: StandinHarness, who: str) -> list[str]:
    return [e["name"] for e in standin.users().get(who, {}).get("events", [])]


# --- 1. A response completes only once every required question it shows is answered ---------


def test_a_post_of_only_the_last_question_neither_completes_nor_tells_braze(
    synced: Survey, braze_standin: StandinHarness
) -> None:
    client = Client()
    url = synced.public_path() + "?user_braze_id=u-1"
    reply = post(client, url, "improve", "Price")

    # The person is taken to the first required question, told why, and keeps the answer.
    assert reply.status_code == 400
    html = reply.content.decode()
    assert question_of(html) == "nps"
    assert NEEDS_AN_ANSWER in html and 'aria-invalid="true"' in html
    response = Response.objects.get()
    assert response.completed_at is None
    assert stored(response) == {"improve": "Price"}
    drain()
    assert events(braze_standin, "braze_id:u-1") == []

    # Answering on from there completes it, once.
    html = answer(client, html, "9").content.decode()
    assert question_of(html) == "plan"
    html = answer(client, html, "Pro").content.decode()
    html = answer(client, html, "yes").content.decode()
    assert question_of(html) == "improve" and 'value="Price" checked' in html
    html = answer(client, html, "Price").content.decode()
    assert screen_of(html) == "done"
    assert Response.objects.get().completed_at is not None
    drain()
    assert events(braze_standin, "braze_id:u-1") == ["sounding_survey_completed"]


def test_a_stale_last_page_leads_to_the_required_question_a_change_now_shows(
    rules: Survey,
) -> None:
    client = Client()
    html = client.get(rules.public_path() + "?user_braze_id=u-2").content.decode()
    for value in ("9", "Free", "no"):
        html = answer(client, html, value).content.decode()
    last = html
    assert question_of(last) == "improve"
    # Another tab goes back and gives a low score: "What went wrong?" now must be answered.
    state = form_state(last)
    assert post(client, state["action"], "nps", "3", state["r"]).status_code == 303

    reply = answer(client, last, "Speed")
    assert reply.status_code == 400
    html = reply.content.decode()
    assert question_of(html) == "why_low" and NEEDS_AN_ANSWER in html
    response = Response.objects.get()
    assert response.completed_at is None
    assert stored(response)["improve"] == "Speed"

    html = answer(client, html, "Too slow").content.decode()
    assert question_of(html) == "plan"  # on from where the person is, answers shown again
    for value in ("Free", "no", "Speed"):
        html = answer(client, html, value).content.decode()
    assert screen_of(html) == "done"
    assert Response.objects.get().completed_at is not None


# --- 2. An answer to a question the answers hide is refused --------------------------------


def test_an_answer_to_a_hidden_question_is_refused_and_nothing_stored(rules: Survey) -> None:
    client = Client()
    url = rules.public_path() + "?user_braze_id=u-3"
    html = client.get(url).content.decode()
    html = answer(client, html, "9").content.decode()  # a promoter is not asked why_low
    response = Response.objects.get()
    version = response.answers_version

    reply = post(client, form_state(html)["action"], "why_low", "Everything", response.token)
    assert reply.status_code == 409
    page = reply.content.decode()
    assert NOT_APPLICABLE in page and 'role="alert"' in page
    assert 'href="' + rules.public_path() + "?user_braze_id=u-3" in page  # continue, not restart
    assert stored() == {"nps": 9}
    assert Response.objects.get().answers_version == version

    # On a fresh link, without any answer yet: nothing is created at all.
    fresh = post(Client(), rules.public_path() + "?user_braze_id=u-4", "why_low", "x")
    assert fresh.status_code == 409
    assert Response.objects.count() == 1


def test_an_anonymous_respondent_refused_can_continue_without_a_cookie(rules: Survey) -> None:
    client = Client()
    html = answer(client, client.get(rules.public_path()).content.decode(), "9").content.decode()
    token = form_state(html)["r"]
    reply = post(Client(), rules.public_path(), "why_low", "x", token)
    assert reply.status_code == 409
    assert f'href="{rules.public_path()}?r={token}"' in reply.content.decode()
    assert stored() == {"nps": 9}


def test_the_refusal_speaks_the_survey_language(workspace: Workspace) -> None:
    survey = make(workspace, {**RULES, "language": "fr"})
    reply = post(Client(), survey.public_path() + "?user_braze_id=u-5", "why_low", "x")
    assert reply.status_code == 409
    page = reply.content.decode()
    assert '<html lang="fr">' in page
    assert "Cette question ne s’applique pas à vos réponses" in page
    assert "Continuer le questionnaire" in page
    assert not Answer.objects.exists()


def test_a_link_to_a_hidden_question_shows_where_the_person_stands(rules: Survey) -> None:
    client = Client()
    url = rules.public_path() + "?user_braze_id=u-6"
    answer(client, client.get(url).content.decode(), "9")
    html = client.get(url + "&q=why_low").content.decode()
    assert question_of(html) == "plan"


def test_a_second_browser_is_led_on_by_the_stored_answers_without_seeing_them(
    rules: Survey,
) -> None:
    own = Client()
    url = rules.public_path() + "?user_braze_id=u-14"
    html = answer(own, own.get(url).content.decode(), "3").content.decode()
    answer(own, html, "Too slow")
    stranger = Client()
    html = answer(stranger, stranger.get(url).content.decode(), "2").content.decode()
    assert question_of(html) == "why_low"
    assert "Too slow" not in html and form_state(html)["r"] == ""
    html = answer(stranger, html, "Too dear").content.decode()
    assert question_of(html) == "plan" and "Too slow" not in html
    assert stored() == {"nps": 2, "why_low": "Too dear"}


# --- 3. A link's pre-answer never skips a required question ---------------------------------


def test_a_pre_answer_to_a_later_question_on_a_fresh_link_is_ignored(rules: Survey) -> None:
    client = Client()
    reply = client.get(rules.public_path() + "?user_braze_id=u-7&improve=Price", follow=True)
    assert reply.status_code == 200
    assert question_of(reply.content.decode()) == "nps"
    assert not Answer.objects.exists()
    assert not Response.objects.filter(completed_at__isnull=False).exists()


def test_pre_answers_count_in_survey_order_only_as_far_as_nothing_required_is_skipped(
    rules: Survey,
) -> None:
    # Link order does not matter; nps may be stored, improve would skip plan and renew, and
    # why_low is hidden by a score of 9.
    link = "?user_braze_id=u-8&improve=Price&why_low=x&nps=9"
    client = Client()
    html = client.get(rules.public_path() + link).content.decode()
    assert question_of(html) == "nps" and offered(html)
    html = confirm(client, html, "9").content.decode()
    assert question_of(html) == "plan"
    assert stored() == {"nps": 9}


def test_a_pre_answer_to_a_later_question_counts_once_the_required_ones_are_answered(
    rules: Survey,
) -> None:
    client = Client()
    url = rules.public_path() + "?user_braze_id=u-9"
    html = client.get(url).content.decode()
    for value in ("9", "Pro", "yes"):
        html = answer(client, html, value).content.decode()
    # The link again, in the browser that answered (another one sees no earlier answers).
    html = client.get(url + "&improve=Support").content.decode()
    assert question_of(html) == "improve" and offered(html)
    html = confirm(client, html, "Support").content.decode()
    assert screen_of(html) == "done"
    response = Response.objects.get()
    assert stored(response)["improve"] == "Support"
    assert response.completed_at is not None


# --- 4. A change of mind that hides a question removes its answer everywhere -----------------


def test_a_change_of_mind_removes_the_hidden_answer_from_braze_reports_and_exports(
    synced: Survey, braze_standin: StandinHarness, owner: User
) -> None:
    client = Client()
    url = synced.public_path() + "?user_braze_id=u-10"
    html = client.get(url).content.decode()
    html = answer(client, html, "3").content.decode()
    assert question_of(html) == "why_low"
    html = answer(client, html, "Too slow").content.decode()
    drain()
    assert braze_standin.users()["braze_id:u-10"]["attributes"][WHY_LOW] == "Too slow"
    response = Response.objects.get()
    version = response.answers_version

    # Back to the score, and a 9 this time: "What went wrong?" is no longer asked.
    state = form_state(html)
    data = {"r": state["r"], "q": "why_low", "nav": "back"}
    back = client.post(state["action"], data, follow=True)
    assert question_of(back.content.decode()) == "nps"
    html = answer(client, back.content.decode(), "9").content.decode()
    assert question_of(html) == "plan"

    assert stored(response) == {"nps": 9}
    response.refresh_from_db()
    assert response.answers_version == version + 1  # one change, one transaction
    assert Push.objects.get(response=response).state == PushState.PENDING
    drain()
    profile = braze_standin.users()["braze_id:u-10"]["attributes"]
    assert WHY_LOW not in profile
    assert profile["How likely?"] == 9
    last = braze_standin.requests()[-1]["body"]["attributes"][0]
    assert last[WHY_LOW] is None

    cache.clear()
    viewer = logged_in(owner)
    exported = viewer.get(reverse("survey-export-json", args=[synced.pk]))
    (row,) = json.loads(b"".join(exported.streaming_content))
    assert row["why_low"] is None and row["nps"] == 9
    report = viewer.get(reverse("survey-report", args=[synced.pk]))
    sections = {s.question.key: s for s in report.context["report"].sections}
    assert sections["why_low"].result.answered == 0


# --- 5. A one-click answer to the last question shown completes the response --------------


def test_a_one_click_answer_to_the_only_question_completes_and_tells_braze(
    workspace: Workspace, connected: BrazeSettings, braze_standin: StandinHarness
) -> None:
    single = {"title": "One", "questions": [RULES["questions"][0]]}
    survey = make(workspace, single, completion_event=True)
    html = one_click(Client(), survey.public_path() + "?user_braze_id=u-11&nps=9", "9")
    assert screen_of(html.content.decode()) == "done"
    response = Response.objects.get()
    assert response.completed_at is not None
    drain()
    assert events(braze_standin, "braze_id:u-11") == ["sounding_survey_completed"]


def test_a_one_click_score_completes_only_when_nothing_more_is_shown(
    workspace: Workspace,
) -> None:
    survey = make(workspace, {"title": "Two", "questions": RULES["questions"][:2]})
    promoter = one_click(Client(), survey.public_path() + "?user_braze_id=u-12&nps=9", "9")
    assert screen_of(promoter.content.decode()) == "done"
    assert Response.objects.get(identities__braze_id="u-12").completed_at is not None

    detractor = one_click(Client(), survey.public_path() + "?user_braze_id=u-13&nps=3", "3")
    assert question_of(detractor.content.decode()) == "why_low"
    assert Response.objects.get(identities__braze_id="u-13").completed_at is None
