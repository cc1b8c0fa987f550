"""The delivery log of a survey and its "Retry failed" and "Resend all" buttons: what each
persona may see and do, and what the page tells a marketer."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from sounding.accounts.models import User, Workspace
from sounding.answers.models import Response
from sounding.delivery.models import Attempt, Lane, Outcome, Push, PushState
from sounding.surveys.models import Survey
from tests.browser_fixtures import screenshot, serious_violations
from tests.conftest import logged_in

KIND = "braze"
ALLOWED = 200
TO_LOGIN = "login"


def url(name: str, survey: Survey) -> str:
    return reverse(name, args=[survey.pk])


def answered(survey: Survey, braze_id: str | None = None, **fields: Any) -> Response:
    identity = {
        "identity_kind": "braze_id",
        "identity_value": braze_id,
        "identities": {"braze_id": braze_id},
    }
    return Response.objects.create(survey=survey, **(identity if braze_id else {}), **fields)


def pushed(response: Response, state: str = PushState.PENDING, **fields: Any) -> Push:
    return Push.objects.create(
        response=response,
        workspace_id=response.survey.workspace_id,
        destination=KIND,
        user_key=f"{response.identity_kind}:{response.identity_value}",
        state=state,
        **fields,
    )


def tried(push: Push, outcome: str = Outcome.OK, **fields: Any) -> Attempt:
    return Attempt.objects.create(push=push, request_id="r" * 32, outcome=outcome, **fields)


@pytest.fixture
def braze_survey(live_survey: Survey) -> Survey:
    live_survey.destinations = [KIND]
    live_survey.save(update_fields=["destinations"])
    return live_survey


def page(client: Client, survey: Survey, **params: Any) -> str:
    response = client.get(url("survey-deliveries", survey), params)
    assert response.status_code == 200
    return response.content.decode()


def states() -> dict[str, str]:
    return dict(Push.objects.values_list("user_key", "state"))


# --- Who may do what -------------------------------------------------------------------------

# (method, URL name): what each persona gets. A viewer reads the log but may not send again;
# another workspace's member does not learn the survey exists.
REQUESTS = [("get", "survey-deliveries"), ("get", "survey-deliveries-resend")] + [
    ("post", "survey-deliveries-retry"),
    ("post", "survey-deliveries-resend"),
]
EXPECTED = {
    "owner": {"survey-deliveries": 200, "get-resend": 200, "post": 302},
    "editor": {"survey-deliveries": 200, "get-resend": 200, "post": 302},
    "viewer": {"survey-deliveries": 200, "get-resend": 403, "post": 403},
    "outsider": {"survey-deliveries": 404, "get-resend": 404, "post": 404},
}


def expected(persona: str, method: str, name: str) -> int:
    rules = EXPECTED[persona]
    if name == "survey-deliveries":
        return rules[name]
    return rules["post"] if method == "post" else rules["get-resend"]


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["owner", "editor", "viewer", "outsider"])
@pytest.mark.parametrize(("method", "name"), REQUESTS)
def test_each_persona_gets_what_its_role_allows_at_every_delivery_url(
    persona: str, method: str, name: str, braze_survey: Survey, request: pytest.FixtureRequest
) -> None:
    pushed(answered(braze_survey, "u1"), PushState.FAILED, last_error="refused")
    client = logged_in(request.getfixturevalue(persona))

    response = getattr(client, method)(url(name, braze_survey))

    assert response.status_code == expected(persona, method, name)
    if response.status_code == 302:
        assert response["Location"] == url("survey-deliveries", braze_survey)
    if response.status_code in (403, 404) and method == "post":
        assert states() == {"braze_id:u1": PushState.FAILED}


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "name"), REQUESTS)
def test_anonymous_visitors_are_sent_to_sign_in_from_every_delivery_url(
    method: str, name: str, braze_survey: Survey
) -> None:
    response = getattr(Client(), method)(url(name, braze_survey))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse(TO_LOGIN) + "?next=")


@pytest.mark.django_db
def test_a_viewer_sees_the_log_without_the_buttons_that_send_again(
    viewer: User, braze_survey: Survey
) -> None:
    html = page(logged_in(viewer), braze_survey)

    assert "Retry failed" not in html
    assert url("survey-deliveries-resend", braze_survey) not in html
    assert url("survey-deliveries-retry", braze_survey) not in html


@pytest.mark.django_db
def test_the_buttons_refuse_a_post_without_its_csrf_token(
    editor: User, braze_survey: Survey
) -> None:
    pushed(answered(braze_survey, "u1"), PushState.FAILED)
    client = Client(enforce_csrf_checks=True)
    client.force_login(editor)

    for name in ("survey-deliveries-retry", "survey-deliveries-resend"):
        assert client.post(url(name, braze_survey)).status_code == 403
    assert states() == {"braze_id:u1": PushState.FAILED}


@pytest.mark.django_db
def test_the_retry_button_only_answers_a_post(editor: User, braze_survey: Survey) -> None:
    assert logged_in(editor).get(url("survey-deliveries-retry", braze_survey)).status_code == 405


@pytest.mark.django_db
def test_an_unknown_survey_id_has_no_delivery_log_even_when_huge(owner: User) -> None:
    client = logged_in(owner)
    assert client.get(reverse("survey-deliveries", args=[999])).status_code == 404
    assert client.get(f"/surveys/{2**70}/deliveries").status_code == 404


# --- What the page says ------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_page_counts_responses_in_each_state(owner: User, braze_survey: Survey) -> None:
    pushed(answered(braze_survey, "a"), PushState.PENDING)
    pushed(answered(braze_survey, "b"), PushState.SYNCED, synced_at=timezone.now())
    pushed(answered(braze_survey, "c"), PushState.SYNCED, synced_at=timezone.now())
    pushed(answered(braze_survey, "d"), PushState.FAILED, last_error="Braze said no")
    answered(braze_survey)  # anonymous: never sent

    html = page(logged_in(owner), braze_survey)

    tally = dict(
        (name, int(n))
        for n, name in re.findall(
            r'<span class="tally-n">(\d+)</span> <span class="tally-name">([^<]+)</span>', html
        )
    )
    assert tally == {"Pending": 1, "Synced": 2, "Failed": 1, "Not sent": 1}


@pytest.mark.django_db
def test_each_response_row_says_its_state_in_words_with_the_reason_and_tries(
    owner: User, braze_survey: Survey
) -> None:
    tried_at = timezone.now() - timedelta(minutes=5)
    pushed(
        answered(braze_survey, "flaky"),
        attempts=2,
        last_attempt_at=tried_at,
        last_error="Braze had a temporary problem (503); the answers will be sent again.",
    )
    pushed(answered(braze_survey, "refused"), PushState.FAILED, last_error="Invalid email")
    answered(braze_survey)

    html = page(logged_in(owner), braze_survey)

    flaky = re.search(
        r"<tr>\s*<th scope=\"row\" class=\"respondent\">Braze ID flaky</th>.*?</tr>", html, re.S
    )
    assert flaky is not None
    row = flaky.group(0)
    assert ">Pending</span>" in row
    assert "Braze had a temporary problem (503)" in row
    assert '<td class="num">2</td>' in row
    assert tried_at.strftime("%Y-%m-%dT%H:%M") in row
    assert ">Failed</span>" in html and "Invalid email" in html
    assert "Anonymous" in html and "No Braze identifier in the link" in html


@pytest.mark.django_db
def test_a_paused_lane_is_shown_with_its_reason_and_explains_waiting_responses(
    owner: User, braze_survey: Survey, workspace: Workspace
) -> None:
    pushed(answered(braze_survey, "u1"))
    Lane.objects.create(
        workspace=workspace,
        destination=KIND,
        paused_reason="Braze refused the API key (401).",
        paused_at=timezone.now(),
        last_error="Braze refused the API key (401).",
        last_error_at=timezone.now(),
    )

    html = page(logged_in(owner), braze_survey)

    assert "Paused</strong> since" in html
    assert "Sending to Braze is paused: Braze refused the API key (401)." in html


@pytest.mark.django_db
def test_a_rate_limited_lane_shows_until_when_and_its_last_success_and_error(
    owner: User, braze_survey: Survey, workspace: Workspace
) -> None:
    until = timezone.now() + timedelta(minutes=2)
    Lane.objects.create(
        workspace=workspace,
        destination=KIND,
        blocked_until=until,
        last_success_at=timezone.now() - timedelta(hours=1),
        last_error="Braze asked us to slow down (429)",
        last_error_at=timezone.now(),
    )

    html = page(logged_in(owner), braze_survey)

    assert "Slowed down" in html
    assert until.strftime("%Y-%m-%dT%H:%M:%S") in html
    assert "Last success</dt>\n    <dd><time" in html
    assert "Braze asked us to slow down (429)" in html


@pytest.mark.django_db
def test_an_outage_shows_since_when_and_how_sending_resumes(
    owner: User, braze_survey: Survey, workspace: Workspace
) -> None:
    since = timezone.now() - timedelta(minutes=3)
    Lane.objects.create(
        workspace=workspace,
        destination=KIND,
        failures=7,
        failing_since=since,
        probe_at=timezone.now() + timedelta(seconds=4),
        last_error="Braze answered 503 (Service Unavailable).",
        last_error_at=timezone.now(),
    )

    html = page(logged_in(owner), braze_survey)

    assert "Not answering</strong> since" in html
    assert since.strftime("%Y-%m-%dT%H:%M:%S") in html
    assert "7 requests in a row failed" in html
    assert "as soon as Braze takes one, everything waiting is sent" in html


@pytest.mark.django_db
def test_a_workspace_that_never_sent_says_so(owner: User, braze_survey: Survey) -> None:
    html = page(logged_in(owner), braze_survey)

    assert "Nothing has been sent from this workspace yet." in html
    assert "No responses yet." in html
    assert "Nothing has been sent for this survey yet." in html


@pytest.mark.django_db
def test_the_state_filter_shows_only_responses_in_that_state(
    owner: User, braze_survey: Survey
) -> None:
    pushed(answered(braze_survey, "good"), PushState.SYNCED)
    pushed(answered(braze_survey, "bad"), PushState.FAILED, last_error="no")
    answered(braze_survey, "never")
    client = logged_in(owner)

    failed = page(client, braze_survey, state="failed")
    not_sent = page(client, braze_survey, state="not_sent")
    unknown = page(client, braze_survey, state="bogus")

    assert "Braze ID bad" in failed and "Braze ID good" not in failed
    assert "Braze ID never" in not_sent and "Braze ID bad" not in not_sent
    assert "Answered before Braze was turned on for this survey" in not_sent
    assert all(f"Braze ID {who}" in unknown for who in ("good", "bad", "never"))


@pytest.mark.django_db
def test_responses_come_fifty_to_a_page_newest_first(owner: User, braze_survey: Survey) -> None:
    start = timezone.now() - timedelta(days=1)
    for i in range(55):
        pushed(answered(braze_survey, f"p{i:02}", started_at=start + timedelta(minutes=i)))
    client = logged_in(owner)

    first = page(client, braze_survey)
    second = page(client, braze_survey, page=2)

    first_rows = re.findall(r'class="respondent">Braze ID (p\d\d)</th>', first)
    second_rows = re.findall(r'class="respondent">Braze ID (p\d\d)</th>', second)
    assert first_rows == [f"p{i:02}" for i in range(54, 4, -1)]
    assert second_rows == [f"p{i:02}" for i in range(4, -1, -1)]
    assert "page 1 of 2" in first and 'rel="next"' in first


@pytest.mark.django_db
def test_the_page_costs_the_same_queries_for_one_response_or_many(
    owner: User, braze_survey: Survey
) -> None:
    client = logged_in(owner)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            page(client, braze_survey)
        return len(captured)

    push = pushed(answered(braze_survey, "first"), PushState.FAILED)
    tried(push, Outcome.FAILED)
    one = queries()
    for i in range(8):
        tried(pushed(answered(braze_survey, f"more{i}"), PushState.SYNCED))
    answered(braze_survey)
    assert queries() == one


@pytest.mark.django_db
def test_the_latest_attempts_come_newest_first_with_their_escaped_payload(
    owner: User, braze_survey: Survey
) -> None:
    push = pushed(answered(braze_survey, "u1"), PushState.SYNCED)
    tried(push, Outcome.RETRY, status_code=503, detail="Braze had a temporary problem (503)")
    payload = [{"braze_id": "u1", "Pulse feedback": "<script>alert('x')</script>"}]
    tried(push, Outcome.OK, status_code=201, request_objects=40, payload=payload)

    html = page(logged_in(owner), braze_survey)
    section = html[html.index('id="attempts"') :]

    assert section.index(">Delivered</span>") < section.index(">Will retry</span>")
    assert '<td class="num">503</td>' in section and '<td class="num">201</td>' in section
    assert '1 object <span class="muted">of 40 in the request</span>' in section
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in section
    assert "<script>alert" not in html


@pytest.mark.django_db
def test_only_the_latest_hundred_attempts_of_this_survey_are_listed(
    owner: User, braze_survey: Survey, workspace: Workspace
) -> None:
    push = pushed(answered(braze_survey, "u1"), PushState.SYNCED)
    Attempt.objects.bulk_create(
        Attempt(push=push, request_id=f"{i:032}", outcome=Outcome.OK, detail=f"try-{i}")
        for i in range(105)
    )
    other = Survey.create(workspace, {"title": "Other"})
    tried(pushed(answered(other, "elsewhere")), detail="not-this-survey")

    html = page(logged_in(owner), braze_survey)

    shown = re.findall(r">try-(\d+)<", html)
    assert [int(n) for n in shown] == list(range(104, 4, -1))
    assert "not-this-survey" not in html


# --- Sending again -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_retry_failed_queues_the_failed_responses_and_says_how_many(
    editor: User, braze_survey: Survey
) -> None:
    pushed(answered(braze_survey, "a"), PushState.FAILED, attempts=3, last_error="no")
    pushed(answered(braze_survey, "b"), PushState.FAILED, last_error="no")
    pushed(answered(braze_survey, "c"), PushState.SYNCED)
    client = logged_in(editor)

    response = client.post(url("survey-deliveries-retry", braze_survey), follow=True)

    assert "2 failed responses queued to be sent to Braze again." in response.content.decode()
    assert states() == {
        "braze_id:a": PushState.PENDING,
        "braze_id:b": PushState.PENDING,
        "braze_id:c": PushState.SYNCED,
    }


@pytest.mark.django_db
def test_retry_failed_with_nothing_failed_says_so(owner: User, braze_survey: Survey) -> None:
    response = logged_in(owner).post(url("survey-deliveries-retry", braze_survey), follow=True)

    assert "Nothing to retry: no response has failed." in response.content.decode()


@pytest.mark.django_db
def test_resend_all_asks_first_with_a_warning_about_data_points(
    editor: User, braze_survey: Survey
) -> None:
    answered(braze_survey, "a")
    answered(braze_survey, "b")
    answered(braze_survey)

    html = logged_in(editor).get(url("survey-deliveries-resend", braze_survey)).content.decode()

    assert "2 identified responses" in html
    assert "uses Braze data points" in html
    assert 'method="post"' in html and "Cancel" in html
    assert not Push.objects.exists()


@pytest.mark.django_db
def test_resend_all_queues_every_identified_response_and_says_how_many(
    owner: User, braze_survey: Survey
) -> None:
    pushed(answered(braze_survey, "a"), PushState.SYNCED, acknowledged={"attributes": {"x": 1}})
    answered(braze_survey, "b")
    answered(braze_survey)

    response = logged_in(owner).post(url("survey-deliveries-resend", braze_survey), follow=True)

    assert "2 responses queued to be sent to Braze again." in response.content.decode()
    assert states() == {"braze_id:a": PushState.PENDING, "braze_id:b": PushState.PENDING}
    assert Push.objects.get(user_key="braze_id:a").acknowledged == {}


@pytest.mark.django_db
def test_nothing_is_queued_while_braze_is_off_for_the_survey(
    owner: User, live_survey: Survey
) -> None:
    pushed(answered(live_survey, "a"), PushState.FAILED)
    client = logged_in(owner)

    html = page(client, live_survey)
    retry = client.post(url("survey-deliveries-retry", live_survey), follow=True)
    resend = client.post(url("survey-deliveries-resend", live_survey), follow=True)

    assert "Braze is off for this survey" in html and "Retry failed" not in html
    for response in (retry, resend):
        assert "Braze is off for this survey: nothing was queued." in response.content.decode()
    assert states() == {"braze_id:a": PushState.FAILED}


# --- In a browser ------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_log_reads_well_on_a_phone_with_no_serious_accessibility_violation(
    live_server: Any, phone: Any, owner: User, braze_survey: Survey
) -> None:
    push = pushed(answered(braze_survey, "u1"), PushState.FAILED, last_error="Invalid email")
    tried(push, Outcome.FAILED, status_code=201, payload=[{"braze_id": "u1", "Pulse NPS": 9}])
    answered(braze_survey)
    client = logged_in(owner)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    phone.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}]
    )

    phone.goto(live_server.url + url("survey-deliveries", braze_survey))
    phone.get_by_text("1 object").click()

    assert phone.get_by_text('"Pulse NPS": 9').is_visible()
    assert serious_violations(phone) == []
    screenshot(phone, "delivery-log-phone")
