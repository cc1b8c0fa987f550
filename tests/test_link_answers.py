"""Links that carry an answer (one-click scores) as mail scanners and people open them.

Opening such a link shows the question with the answer selected and stores nothing; the
answer counts once the person confirms it. Clicks that look like a scanner's are recorded as
suspected and never become answers by time alone.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from sounding.accounts.models import User, Workspace
from sounding.answers.models import CLICKS_KEEP_DAYS, Answer, LinkClick, Response, prune_clicks
from sounding.collect import ratelimit, signatures
from sounding.delivery.models import Push
from sounding.destinations.braze import signing
from sounding.destinations.braze.models import BrazeSettings, SurveyBraze
from sounding.destinations.braze.setup import save_survey_config, survey_config
from sounding.surveys.models import Status, Survey
from tests.conftest import logged_in
from tests.delivery_fixtures import drain, integrate
from tests.respondent import answer, confirm, form_state, offered, question_of, screen_of
from tests.standin import StandinHarness

NPS = "How likely are you to recommend us?"
NPS_EMAIL = {
    "title": "How did we do?",
    "questions": [
        {"key": "nps", "type": "nps", "prompt": NPS, "required": True},
        {"key": "why", "type": "long_text", "prompt": "Why?"},
    ],
}
# What Braze's click tracking and mail providers add to links.
TRACKING = {"lid": "x7f3kq2m9pz1", "utm_source": "braze", "utm_medium": "email"}


@pytest.fixture(autouse=True)
def _fresh_limits() -> None:
    ratelimit.forget()
    signatures.forget()


@pytest.fixture
def emailed(workspace: Workspace, connected: BrazeSettings) -> Survey:
    survey = Survey.create(workspace, NPS_EMAIL)
    survey.set_status(Status.LIVE)
    integrate(survey, completion_event=True)
    return survey


def link(survey: Survey, **params: str) -> str:
    return f"{survey.public_path()}?{urlencode(params)}"


def selected(html: str) -> list[str]:
    """The choices the screen shows selected."""
    import re

    return re.findall(r'value="([^"]*)"[^>]*\bchecked\b', html)


@pytest.mark.django_db(transaction=True)
def test_a_scanner_opening_every_score_link_answers_nothing(
    emailed: Survey, braze_standin: StandinHarness, owner: User
) -> None:
    scanner = Client()
    for score in range(11):
        url = link(emailed, user_braze_id="bz-1", nps=str(score), **TRACKING)
        assert scanner.head(url).status_code == 200
        page = scanner.get(url)
        assert page.status_code == 200
        html = page.content.decode()
        # The score is shown selected, to be confirmed; nothing is stored.
        assert question_of(html) == "nps" and offered(html)
        assert selected(html) == [str(score)]
    assert not Response.objects.exists() and not Answer.objects.exists()
    assert not Push.objects.exists()
    drain()
    assert braze_standin.requests() == []
    assert braze_standin.users() == {}
    # Every click is kept as an intent, and every one is a scanner's.
    assert LinkClick.objects.count() == 22
    assert not LinkClick.objects.filter(suspected=False).exists()
    # No report or export counts a click.
    export = logged_in(owner).get(reverse("survey-export-csv", args=[emailed.pk]))
    assert export.status_code == 200
    assert len(b"".join(export.streaming_content).decode().strip().splitlines()) == 1


@pytest.mark.django_db(transaction=True)
def test_a_person_confirms_a_one_click_score_by_tapping_next(
    emailed: Survey, braze_standin: StandinHarness
) -> None:
    person = Client()
    url = link(emailed, user_braze_id="bz-2", nps="9", **TRACKING)
    html = person.get(url).content.decode()
    assert offered(html) and "Not sent yet" in html
    assert not Response.objects.exists()
    following = confirm(person, html, "9")
    assert following.status_code == 200
    assert question_of(following.content.decode()) == "why"
    response = Response.objects.get()
    assert dict(response.answers.values_list("question_key", "value")) == {"nps": 9}
    # The tracking parameters are not answers, and not kept either (none is declared).
    assert response.identity["braze_id"] == "bz-2"
    drain()
    assert braze_standin.users()["braze_id:bz-2"]["attributes"] == {NPS: 9}
    click = LinkClick.objects.get()
    assert click.confirmed_at is not None and not click.suspected


@pytest.mark.django_db
def test_time_alone_confirms_a_single_click_and_the_person_stays_on_the_screen(
    emailed: Survey,
) -> None:
    person = Client()
    html = person.get(link(emailed, user_braze_id="bz-3", nps="8")).content.decode()
    # What respond.js sends once the page has been visible for the delay.
    saved = confirm(person, html, "8", nav="stay", via="timer", js=True)
    assert saved.status_code == 200
    page = saved.content.decode()
    assert question_of(page) == "nps" and not offered(page)
    assert "Your answer is saved." in page
    assert form_state(page)["r"] == Response.objects.get().token
    assert dict(Answer.objects.values_list("question_key", "value")) == {"nps": 8}


@pytest.mark.django_db
def test_time_alone_never_confirms_a_burst_of_clicks_but_a_tap_does(emailed: Survey) -> None:
    scanner_like = Client()
    for score in ("3", "4", "9"):
        html = scanner_like.get(link(emailed, user_braze_id="bz-4", nps=score)).content.decode()
    refused = confirm(scanner_like, html, "9", nav="stay", via="timer", js=True)
    assert refused.status_code == 200 and offered(refused.content.decode())
    assert not Answer.objects.exists() and not Push.objects.exists()
    # The person taps Next: that is them.
    tapped = confirm(scanner_like, refused.content.decode(), "9")
    assert question_of(tapped.content.decode()) == "why"
    assert dict(Answer.objects.values_list("question_key", "value")) == {"nps": 9}


@pytest.mark.django_db
def test_a_head_marks_the_persons_clicks_as_a_scanners(emailed: Survey) -> None:
    client = Client()
    url = link(emailed, user_braze_id="bz-5", nps="7")
    client.head(url)
    html = client.get(url).content.decode()
    assert confirm(client, html, "7", nav="stay", via="timer", js=True).status_code == 200
    assert not Answer.objects.exists()
    assert LinkClick.objects.filter(suspected=True).count() == 2


@pytest.mark.django_db
def test_a_click_long_after_a_burst_is_a_persons(emailed: Survey, settings: Any) -> None:
    client = Client()
    for score in ("1", "2"):
        client.get(link(emailed, user_braze_id="bz-6", nps=score))
    LinkClick.objects.update(at=timezone.now() - timedelta(seconds=settings.CLICK_BURST_SECONDS))
    html = client.get(link(emailed, user_braze_id="bz-6", nps="6")).content.decode()
    confirm(client, html, "6", nav="stay", via="timer", js=True)
    assert dict(Answer.objects.values_list("question_key", "value")) == {"nps": 6}


@pytest.mark.django_db
def test_the_last_question_confirmed_by_time_completes_the_response(workspace: Workspace) -> None:
    survey = Survey.create(workspace, {"title": "One", "questions": NPS_EMAIL["questions"][:1]})
    survey.set_status(Status.LIVE)
    client = Client()
    html = client.get(link(survey, user_braze_id="bz-7", nps="10")).content.decode()
    assert "tap Submit" in html
    done = confirm(client, html, "10", nav="stay", via="timer", js=True)
    assert screen_of(done.content.decode()) == "done"
    assert Response.objects.get().completed_at is not None


@pytest.mark.django_db
def test_a_returning_person_sees_the_link_score_not_the_stored_one(emailed: Survey) -> None:
    client = Client()
    html = client.get(link(emailed, user_braze_id="bz-8", nps="4")).content.decode()
    answer(client, confirm(client, html, "4").content.decode(), "Slow")
    # The same browser opens another score from the next email: shown, not stored yet.
    again = client.get(link(emailed, user_braze_id="bz-8", nps="9")).content.decode()
    assert question_of(again) == "nps" and selected(again) == ["9"]
    assert Answer.objects.get(question_key="nps").value == 4
    confirm(client, again, "9")
    assert Answer.objects.get(question_key="nps").value == 9


@pytest.mark.django_db
def test_an_invalid_or_blocked_pre_answer_is_not_offered(emailed: Survey) -> None:
    for bad in ("11", "nine", ""):
        html = Client().get(link(emailed, user_braze_id="bz-9", nps=bad)).content.decode()
        assert question_of(html) == "nps" and not offered(html)
    # A pre-answer to a later question never skips the first one.
    html = Client().get(link(emailed, user_braze_id="bz-9", why="Because")).content.decode()
    assert question_of(html) == "nps" and not offered(html)
    assert not LinkClick.objects.exists()


@pytest.mark.django_db
def test_signed_links_with_tracking_parameters_still_work(
    emailed: Survey, braze_standin: StandinHarness
) -> None:
    config = survey_config(emailed)
    signing.set_signed(config, True)
    save_survey_config(emailed, config)
    secret = SurveyBraze.objects.get(survey=emailed).signing_secret()
    signature = signatures.signature(secret.encode(), "braze_id:bz-10")
    client = Client()
    url = link(emailed, user_braze_id="bz-10", sig=signature, nps="9", **TRACKING)
    html = client.get(url).content.decode()
    assert offered(html) and selected(html) == ["9"]
    following = confirm(client, html, "9")
    assert question_of(following.content.decode()) == "why"
    assert Answer.objects.get().value == 9
    # A forged signature is still refused, tracking parameters or not.
    forged = link(emailed, user_braze_id="bz-11", sig="0" * 64, nps="9", **TRACKING)
    assert Client().get(forged).status_code == 403


@pytest.mark.django_db
def test_old_clicks_are_forgotten(emailed: Survey) -> None:
    Client().get(link(emailed, user_braze_id="bz-12", nps="9"))
    Client().get(link(emailed, user_braze_id="bz-13", nps="9"))
    LinkClick.objects.filter(who="braze_id:bz-12").update(
        at=timezone.now() - timedelta(days=CLICKS_KEEP_DAYS + 1)
    )
    assert prune_clicks() == 1
    assert list(LinkClick.objects.values_list("who", flat=True)) == ["braze_id:bz-13"]


@pytest.mark.django_db
def test_anonymous_clicks_are_kept_by_a_keyed_address_never_the_address(
    workspace: Workspace,
) -> None:
    survey = Survey.create(workspace, NPS_EMAIL)
    survey.set_status(Status.LIVE)
    Client(REMOTE_ADDR="203.0.113.9").get(link(survey, nps="9"))
    who = LinkClick.objects.get().who
    assert who.startswith("addr:") and "203.0.113.9" not in who
