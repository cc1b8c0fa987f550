"""The responses table, one response's page, deleting one, and a data-subject request: what each
persona may see and do, and what the pages say."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from sounding.accounts.models import User, Workspace
from sounding.answers.models import Answer, Response
from sounding.delivery.models import Attempt, Outcome, Push, PushState
from sounding.surveys.models import Status, Survey
from tests.browser_fixtures import screenshot, serious_violations
from tests.conftest import EVERY_TYPE, logged_in

KIND = "braze"
NPS = "How likely are you to recommend us?"


def add(
    survey: Survey,
    braze_id: str | None = None,
    answers: dict[str, Any] | None = None,
    **fields: Any,
) -> Response:
    identity = (
        {
            "identity_kind": "braze_id",
            "identity_value": braze_id,
            "identities": {"braze_id": braze_id},
        }
        if braze_id
        else {}
    )
    response = Response.objects.create(survey=survey, **identity, **fields)
    Answer.objects.bulk_create(
        Answer(response=response, question_key=k, value=v) for k, v in (answers or {}).items()
    )
    return response


def pushed(response: Response, state: str = PushState.SYNCED, **fields: Any) -> Push:
    return Push.objects.create(
        response=response,
        workspace_id=response.survey.workspace_id,
        destination=KIND,
        user_key=f"{response.identity_kind}:{response.identity_value}",
        state=state,
        **fields,
    )


def table_url(survey: Survey, **params: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return reverse("survey-responses", args=[survey.pk]) + (f"?{query}" if query else "")


def detail_url(response: Response) -> str:
    return reverse("response-detail", args=[response.survey_id, response.token])


def delete_url(response: Response) -> str:
    return reverse("response-delete", args=[response.survey_id, response.token])


def respondents(html: str) -> list[str]:
    """The respondent cells of the table, in order."""
    return re.findall(r'<th scope="row" class="respondent"><a href="[^"]+">([^<]+)</a>', html)


@pytest.fixture
def braze_survey(live_survey: Survey) -> Survey:
    live_survey.destinations = [KIND]
    live_survey.save(update_fields=["destinations"])
    return live_survey


# --- The table ---------------------------------------------------------------------------------


def test_every_member_sees_the_table_newest_first_with_identity_and_first_answers(
    viewer: User, live_survey: Survey
) -> None:
    now = timezone.now()
    add(live_survey, "old", {"nps": 3}, started_at=now - timedelta(days=2))
    add(
        live_survey,
        None,
        {"nps": 9, "rating": 4, "csat": 5},
        started_at=now - timedelta(hours=1),
        completed_at=now,
        language="fr",
    )
    Response.objects.create(
        survey=live_survey, identities={"email": "ann@example.com"}, identity_kind="email",
        identity_value="ann@example.com", started_at=now,
    )  # fmt: skip

    page = logged_in(viewer).get(table_url(live_survey))

    html = page.content.decode()
    assert page.status_code == 200
    assert respondents(html) == ["Email ann@example.com", "Anonymous", "Braze ID old"]
    assert "9 of 10" in html and "4 of 5" in html and "5 (Very satisfied)" in html
    assert "<td>fr</td>" in html
    assert html.count(">In progress</span>") == 2
    assert "3 responses" in html and "1 complete" in html


def test_the_sync_state_of_each_response_is_shown(braze_survey: Survey, owner: User) -> None:
    pushed(add(braze_survey, "s"), PushState.SYNCED)
    pushed(add(braze_survey, "f"), PushState.FAILED, last_error="Invalid")
    add(braze_survey, None)
    erasing = add(braze_survey, "e", erase_requested_at=timezone.now())
    pushed(erasing, PushState.PENDING)

    html = logged_in(owner).get(table_url(braze_survey)).content.decode()

    states = re.findall(r'<span class="state state-(\w+)"[^>]*>([^<]+)</span>', html)
    assert sorted(states) == sorted(
        [("synced", "Synced"), ("failed", "Failed"), ("not_sent", "Not sent"),
         ("erasing", "Erasing…")]
    )  # fmt: skip


def test_filters_by_completion_sync_state_identity_and_dates(
    braze_survey: Survey, owner: User
) -> None:
    now = timezone.now()
    pushed(add(braze_survey, "done-synced", completed_at=now), PushState.SYNCED)
    pushed(add(braze_survey, "open-failed"), PushState.FAILED)
    add(braze_survey, "long-ago", started_at=now - timedelta(days=40))
    client = logged_in(owner)

    def shown(**params: str) -> list[str]:
        return respondents(client.get(table_url(braze_survey, **params)).content.decode())

    assert shown(completion="completed") == ["Braze ID done-synced"]
    assert shown(completion="in_progress") == ["Braze ID open-failed", "Braze ID long-ago"]
    assert shown(sync="failed") == ["Braze ID open-failed"]
    assert shown(sync="not_sent") == ["Braze ID long-ago"]
    assert shown(q="SYNCED") == ["Braze ID done-synced"]
    old = (now - timedelta(days=40)).date().isoformat()
    assert shown(since=old, until=old) == ["Braze ID long-ago"]
    assert shown(since=(now - timedelta(days=1)).date().isoformat()) == [
        "Braze ID open-failed",
        "Braze ID done-synced",
    ]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"completion": "maybe"}, "must be one of: completed, in_progress"),
        ({"since": "yesterday"}, "must be a date written YYYY-MM-DD"),
        ({"since": "2026-02-02", "until": "2026-02-01"}, "must not be before the start date"),
        ({"before": "not-a-cursor"}, "is not a page link this site gave"),
    ],
)
def test_a_bad_filter_is_a_400_that_says_what_is_wrong(
    live_survey: Survey, owner: User, params: dict[str, str], message: str
) -> None:
    add(live_survey, "a")
    page = logged_in(owner).get(table_url(live_survey, **params))
    assert page.status_code == 400
    assert message in page.content.decode()


def test_pages_follow_keyset_cursors_both_ways_without_gaps_or_repeats(
    live_survey: Survey, owner: User
) -> None:
    start = timezone.now()
    # Pairs started in the same microsecond: the id breaks the tie.
    for i in range(120):
        add(live_survey, f"p{i:03}", started_at=start + timedelta(seconds=i // 2))
    client = logged_in(owner)

    first = client.get(table_url(live_survey)).content.decode()
    older = re.search(r'href="\?before=([^"#]+)#list" rel="next"', first)
    assert older is not None and 'rel="prev"' not in first
    second = client.get(table_url(live_survey, before=older[1])).content.decode()
    oldest = re.search(r'href="\?before=([^"#]+)#list" rel="next"', second)
    assert oldest is not None
    third = client.get(table_url(live_survey, before=oldest[1])).content.decode()
    back = re.search(r'href="\?after=([^"#]+)#list" rel="prev"', third)
    assert back is not None and 'rel="next"' not in third

    seen = respondents(first) + respondents(second) + respondents(third)
    assert seen == [f"Braze ID p{i:03}" for i in reversed(range(120))]
    assert respondents(client.get(table_url(live_survey, after=back[1])).content.decode()) == (
        respondents(second)
    )


def test_a_page_costs_the_same_queries_whatever_its_length(
    braze_survey: Survey, owner: User
) -> None:
    client = logged_in(owner)
    add(braze_survey, "one", {"nps": 1})
    client.get(table_url(braze_survey))
    with CaptureQueriesContext(connection) as few:
        client.get(table_url(braze_survey))
    for i in range(40):
        pushed(add(braze_survey, f"r{i}", {"nps": 5, "rating": 2}), PushState.PENDING)
    with CaptureQueriesContext(connection) as many:
        client.get(table_url(braze_survey))
    # The lane is read once a pending push is shown; nothing grows with the rows.
    assert len(many) <= len(few) + 1


def test_another_workspace_survey_is_a_404_and_visitors_sign_in_first(
    live_survey: Survey, outsider: User, client: Any
) -> None:
    response = add(live_survey, "a")
    for url in (table_url(live_survey), detail_url(response), delete_url(response)):
        assert logged_in(outsider).get(url).status_code == 404
        assert client.get(url)["Location"].startswith(reverse("login"))


# --- One response ------------------------------------------------------------------------------


def test_one_response_shows_every_answer_readably_removed_ones_hidden_fields_and_braze(
    braze_survey: Survey, viewer: User
) -> None:
    answers = {
        "nps": 9,
        "channels": ["Email", "SMS"],
        "renew": False,
        "seats": 1200,
        "since": "2021-03-04",
        "feedback": "<b>Faster</b>",
        "old_question": "kept",
    }
    braze_survey.replace_definition({**braze_survey.definition, "hidden_fields": ["campaign"]})
    response = add(braze_survey, "u-1", answers, hidden={"campaign": "spring", "ab": "B"})
    push = pushed(
        response,
        PushState.PENDING,
        attempts=2,
        last_error="Braze answered 503",
        acknowledged={"attributes": {NPS: 9}},
    )
    Attempt.objects.create(push=push, request_id="r" * 32, outcome=Outcome.RETRY, status_code=503)

    page = logged_in(viewer).get(detail_url(response))

    html = page.content.decode()
    assert page.status_code == 200
    assert f"{NPS} <span" in html and "9 of 10" in html
    assert "Email, SMS" in html and ">No</td>" in html and "1,200" in html
    assert "4 Mar 2021" in html
    assert "&lt;b&gt;Faster&lt;/b&gt;" in html  # escaped, never markup
    removed = html.split("No longer in the survey")[1]
    assert "<code>old_question</code>" in removed and "kept" in removed
    # The declared field first; a value under a name the survey does not declare still shows,
    # marked as left out of exports.
    fields = html.split('id="hidden-h"')[1].split("</section>")[0]
    assert fields.index("<code>campaign</code></dt><dd>spring</dd>") < fields.index(
        "<code>ab</code></dt><dd>B <span"
    )
    assert fields.count("left out of exports") == 1
    assert "Braze answered 503" in html and "<dt>Failed tries</dt><dd>2</dd>" in html
    assert f"<dt>Held in Braze</dt><dd>{NPS}</dd>" in html
    assert "Delete…" not in html  # a viewer may not


def test_a_token_of_another_survey_is_a_404(
    live_survey: Survey, owner: User, workspace: Workspace
) -> None:
    other = Survey.create(workspace, EVERY_TYPE, owner)
    response = add(other, "a")
    url = reverse("response-detail", args=[live_survey.pk, response.token])
    assert logged_in(owner).get(url).status_code == 404


# --- Deleting one ------------------------------------------------------------------------------


def test_a_viewer_may_not_delete(live_survey: Survey, viewer: User) -> None:
    response = add(live_survey, "a", {"nps": 3})
    client = logged_in(viewer)
    assert client.get(delete_url(response)).status_code == 403
    assert client.post(delete_url(response)).status_code == 403
    assert Response.objects.filter(pk=response.pk).exists()


def test_an_editor_deletes_a_response_with_its_answers_and_pushes_at_once(
    braze_survey: Survey, editor: User
) -> None:
    response = add(braze_survey, "a", {"nps": 3})
    pushed(response, PushState.PENDING)
    keep = add(braze_survey, "b", {"nps": 4})
    client = logged_in(editor)

    confirm = client.get(delete_url(response)).content.decode()
    assert "Delete this response?" in confirm and "Braze holds no attribute" in confirm

    done = client.post(delete_url(response), follow=True)

    assert done.redirect_chain[-1][0] == table_url(braze_survey)
    assert "Deleted." in done.content.decode()
    assert list(Response.objects.values_list("pk", flat=True)) == [keep.pk]
    assert list(Answer.objects.values_list("response_id", flat=True)) == [keep.pk]
    assert not Push.objects.exists()


def test_the_braze_option_is_offered_off_when_braze_holds_attributes(
    braze_survey: Survey, owner: User
) -> None:
    response = add(braze_survey, "a", {"nps": 3})
    pushed(response, acknowledged={"attributes": {NPS: 3, "Gone": None}})

    html = logged_in(owner).get(delete_url(response)).content.decode()

    box = re.search(r'<input type="checkbox" name="clear_destinations"[^>]*>', html)
    assert box is not None and "checked" not in box[0]
    assert "Also clear the answers it wrote in Braze" in html
    assert "Braze holds 1 attribute from this response:" in html
    assert re.findall(r'<ul class="resp-held">(.*?)</ul>', html) == [f"<li>{NPS}</li>"]


def test_deleting_with_the_braze_option_keeps_the_row_as_erasing(
    braze_survey: Survey, owner: User
) -> None:
    response = add(braze_survey, "a", {"nps": 3}, completed_at=timezone.now())
    pushed(response, acknowledged={"attributes": {NPS: 3}})

    done = logged_in(owner).post(delete_url(response), {"clear_destinations": "on"}, follow=True)

    assert "will disappear once Braze has taken the cleared values" in done.content.decode()
    response.refresh_from_db()
    assert response.erase_requested_at is not None and response.completed_at is None
    assert not Answer.objects.exists()
    assert Push.objects.get().state == PushState.PENDING
    assert "Erasing…" in done.content.decode()


# --- A data-subject request --------------------------------------------------------------------


def test_a_viewer_may_not_erase_a_person(viewer: User) -> None:
    client = logged_in(viewer)
    assert client.get(reverse("erase-person")).status_code == 403
    post = client.post(reverse("erase-person"), {"identifier": "braze_id", "value": "a"})
    assert post.status_code == 403


def test_erasing_a_person_shows_what_matches_then_deletes_it_everywhere(
    live_survey: Survey,
    editor: User,
    owner: User,
    workspace: Workspace,
    other_workspace: Workspace,
) -> None:
    second = Survey.create(workspace, {**EVERY_TYPE, "title": "Second"}, owner)
    second.set_status(Status.LIVE)
    elsewhere = Survey.create(other_workspace, EVERY_TYPE, None)
    for survey in (live_survey, second, elsewhere):
        Response.objects.create(survey=survey, identities={"email": "Sam@Example.com"})
    add(live_survey, "someone-else")
    client = logged_in(editor)

    preview = client.get(
        reverse("erase-person"), {"identifier": "email", "value": "sam@example.com"}
    )

    html = preview.content.decode()
    assert "2 responses from Email sam@example.com" in html
    assert "Customer pulse" in html and "Second" in html
    assert Response.objects.count() == 4  # looking deletes nothing

    done = client.post(
        reverse("erase-person"),
        {"identifier": "email", "value": "sam@example.com"},
        follow=True,
    )

    assert "Deleted 2 responses in 2 surveys." in done.content.decode()
    assert sorted(Response.objects.values_list("survey_id", flat=True)) == sorted(
        [live_survey.pk, elsewhere.pk]
    )
    assert Response.objects.filter(survey=live_survey).get().identity["braze_id"] == "someone-else"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"identifier": "phone", "value": "1"}, "Select a valid choice."),
        ({"identifier": "braze_id", "value": "   "}, "This field is required."),
        ({"identifier": "braze_id", "value": "x" * 300}, "at most 255 characters"),
    ],
)
def test_a_bad_person_query_is_a_400_next_to_its_field(
    editor: User, params: dict[str, str], message: str
) -> None:
    page = logged_in(editor).get(reverse("erase-person"), params)
    assert page.status_code == 400
    assert message in page.content.decode()


def test_nothing_matching_deletes_nothing_and_says_so(live_survey: Survey, owner: User) -> None:
    add(live_survey, "a")
    client = logged_in(owner)
    preview = client.get(reverse("erase-person"), {"identifier": "braze_id", "value": "zzz"})
    assert "Nothing from Braze ID zzz" in preview.content.decode()
    done = client.post(
        reverse("erase-person"), {"identifier": "braze_id", "value": "zzz"}, follow=True
    )
    assert "Nothing matched" in done.content.decode()
    assert Response.objects.count() == 1


# --- In a browser ------------------------------------------------------------------------------


def _signed_in(phone: Any, live_server: Any, user: User) -> None:
    cookie = logged_in(user).cookies[settings.SESSION_COOKIE_NAME].value
    phone.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}]
    )


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_pages_read_well_on_a_phone_with_no_serious_accessibility_violation(
    live_server: Any, phone: Any, owner: User, braze_survey: Survey
) -> None:
    response = add(
        braze_survey,
        "u-1",
        {"nps": 9, "channels": ["Email"], "gone": "x"},
        hidden={"campaign": "spring"},
    )
    pushed(response, acknowledged={"attributes": {NPS: 9}})
    add(braze_survey, None, {"nps": 2})
    _signed_in(phone, live_server, owner)
    requested: list[str] = []
    phone.on("request", lambda r: requested.append(r.url))

    pages = {
        "responses-table": table_url(braze_survey),
        "response-detail": detail_url(response),
        "response-delete": delete_url(response),
        "erase-person": reverse("erase-person") + "?identifier=braze_id&value=u-1",
    }
    for name, path in pages.items():
        phone.goto(live_server.url + path)
        assert phone.locator("h1").count() == 1
        assert serious_violations(phone) == [], name
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{name} scrolls sideways ({width}px)"
        screenshot(phone, name)
    assert all(url.startswith(live_server.url) for url in requested)

    phone.goto(live_server.url + delete_url(response))
    phone.get_by_label("Also clear the answers it wrote in Braze").check()
    phone.get_by_role("button", name="Delete response").click()
    assert phone.locator(".state-erasing").inner_text() == "Erasing…"
