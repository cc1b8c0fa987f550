"""The survey report: every figure against numbers worked out by hand, the filters, the text
answers and their search, and who may read it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from sounding.accounts.models import User, Workspace
from sounding.answers.models import Answer, Response
from sounding.collect import flow
from sounding.delivery.models import Push
from sounding.reports import cache as kept
from sounding.reports import views
from sounding.surveys.models import Status, Survey
from tests.conftest import logged_in

pytestmark = pytest.mark.django_db

# Seven people answer EVERY_TYPE. Four finish; #5 stops after csat, #6 after nps, #7 answers
# nothing. Braze: #1 and #5 synced, #2 pending, #3 failed, the others never sent.
PEOPLE: list[dict[str, Any]] = [
    {
        "day": (2026, 1, 10),
        "done": True,
        "push": "synced",
        "answers": {
            "nps": 10,
            "rating": 5,
            "csat": 5,
            "effort": 7,
            "plan": "Pro",
            "channels": ["Email", "Push"],
            "country": "France",
            "renew": True,
            "nickname": "Ann",
            "feedback": "Great support, fast",
            "contact": "ann@example.com",
            "seats": 10,
            "since": "2020-01-01",
            "old_question": "An answer to a question since removed",
        },
    },
    {
        "day": (2026, 1, 20),
        "done": True,
        "push": "pending",
        "answers": {
            "nps": 9,
            "rating": 4,
            "csat": 4,
            "effort": 6,
            "plan": "Pro",
            "channels": ["Email"],
            "country": "Spain",
            "renew": True,
            "nickname": "Bo",
            "feedback": "Le café était très bon",
            "seats": 20,
            "since": "2021-06-15",
        },
    },
    {
        "day": (2026, 2, 5),
        "done": True,
        "push": "failed",
        "answers": {
            "nps": 7,
            "rating": 3,
            "csat": 2,
            "effort": 1,
            "plan": "Free",
            "channels": ["SMS", "Carrier pigeon"],
            "country": "France",
            "renew": False,
            "nickname": "Cy",
            "seats": 30,
            "since": "2019-12-31",
        },
    },
    {
        "day": (2026, 2, 28),
        "done": True,
        "push": None,
        "answers": {
            "nps": 3,
            "rating": 2,
            "csat": 1,
            "effort": 4,
            "plan": "Enterprise",
            "channels": ["Carrier pigeon"],
            "renew": False,
            "feedback": "SLOW export",
            "seats": 40,
            "since": "2022-03-03",
        },
    },
    {
        "day": (2026, 3, 1),
        "done": False,
        "push": "synced",
        "answers": {"nps": 0, "rating": 1, "csat": 3},
    },
    {"day": (2026, 3, 15), "done": False, "push": None, "answers": {"nps": 9}},
    {"day": (2026, 3, 20), "done": False, "push": None, "answers": {}},
]


def add_people(survey: Survey, people: list[dict[str, Any]], first: int = 1) -> list[Response]:
    made = []
    for n, person in enumerate(people, start=first):
        started = person.get("at") or datetime(*person["day"], 12, 0, tzinfo=UTC)
        response = Response.objects.create(
            survey=survey,
            identity_kind="braze_id",
            identity_value=f"u{n}",
            started_at=started,
            updated_at=started,
            completed_at=started if person["done"] else None,
            identities={"braze_id": f"u{n}"},
        )
        for key, value in person["answers"].items():
            Answer.objects.create(response=response, question_key=key, value=value)
        if person.get("push"):
            Push.objects.create(
                response=response,
                workspace_id=survey.workspace_id,
                destination="braze",
                user_key=f"braze_id:u{n}",
                state=person["push"],
            )
        made.append(response)
    return made


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    # Kept tallies are keyed by survey id, which a later test's survey may reuse.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def answered(live_survey: Survey) -> Survey:
    add_people(live_survey, PEOPLE)
    return live_survey


def report_url(survey: Survey, query: str = "") -> str:
    return reverse("survey-report", args=[survey.pk]) + query


def answers_url(survey: Survey, key: str, query: str = "") -> str:
    return reverse("survey-report-answers", args=[survey.pk, key]) + query


def get_report(user: User, survey: Survey, query: str = "") -> Any:
    page = logged_in(user).get(report_url(survey, query))
    assert page.status_code == 200, page.content[:2000]
    return page


def sections(page: Any) -> dict[str, Any]:
    return {s.question.key: s for s in page.context["report"].sections}


def facts(section: Any) -> dict[str, str]:
    return {f.label: f.value for f in section.result.facts}


def rows(section: Any, which: str = "rows") -> list[tuple[str, int, str]]:
    return [(r.label, r.count, f"{r.share:.1f}") for r in getattr(section.result, which)]


def text(page: Any) -> str:
    """The page's visible words, tags removed and spaces collapsed."""
    html = re.sub(r"<svg.*?</svg>", " ", page.content.decode(), flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# --- the figures ----------------------------------------------------------------------------


def test_the_summary_counts_started_and_completed_responses(viewer: User, answered: Survey) -> None:
    page = get_report(viewer, answered)
    report = page.context["report"]
    assert (report.summary.started, report.summary.completed) == (7, 4)
    assert report.rate == "57.1%"  # 4 / 7
    assert report.summary.last_at == datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
    words = text(page)
    assert "7 Responses started" in words
    assert "4 Completed" in words
    assert "57.1% Completion rate" in words


def test_nps_is_promoters_minus_detractors(viewer: User, answered: Survey) -> None:
    nps = sections(get_report(viewer, answered))["nps"]
    # Scores 10, 9, 7, 3, 0, 9: promoters 3 (50%), passives 1, detractors 2 (33.3%).
    assert nps.result.answered == 6
    assert facts(nps) == {
        "NPS": "+17",
        "Detractors": "2",
        "Passives": "1",
        "Promoters": "3",
        "Average": "6.33",
        "Median": "8",  # (7 + 9) / 2
    }
    assert rows(nps, "groups") == [
        ("Detractors (0–6)", 2, "33.3"),
        ("Passives (7–8)", 1, "16.7"),
        ("Promoters (9–10)", 3, "50.0"),
    ]
    distribution = rows(nps)
    assert len(distribution) == 11  # 0 to 10, zeros included
    assert distribution[0] == ("0 · Not at all likely", 1, "16.7")
    assert distribution[1] == ("1", 0, "0.0")
    assert distribution[9] == ("9", 2, "33.3")
    assert distribution[10] == ("10 · Extremely likely", 1, "16.7")


def test_csat_is_the_share_of_satisfied_answers(viewer: User, answered: Survey) -> None:
    csat = sections(get_report(viewer, answered))["csat"]
    assert facts(csat) == {"CSAT": "40%", "Average": "3", "Median": "3"}  # 4 and 5 of five
    assert rows(csat) == [
        ("1 · Very unsatisfied", 1, "20.0"),
        ("2 · Unsatisfied", 1, "20.0"),
        ("3 · Neutral", 1, "20.0"),
        ("4 · Satisfied", 1, "20.0"),
        ("5 · Very satisfied", 1, "20.0"),
    ]


def test_ratings_and_scales_show_every_point(viewer: User, answered: Survey) -> None:
    found = sections(get_report(viewer, answered))
    assert facts(found["rating"]) == {"Average": "3", "Median": "3"}
    assert [r[1] for r in rows(found["rating"])] == [1, 1, 1, 1, 1]
    # Effort 7, 6, 1, 4 on 1-7: mean 4.5, median (4 + 6) / 2.
    assert facts(found["effort"]) == {"Average": "4.50", "Median": "5"}
    assert rows(found["effort"]) == [
        ("1 · Very hard", 1, "25.0"),
        ("2", 0, "0.0"),
        ("3", 0, "0.0"),
        ("4", 1, "25.0"),
        ("5", 0, "0.0"),
        ("6", 1, "25.0"),
        ("7 · Very easy", 1, "25.0"),
    ]


def test_choices_come_in_the_definitions_order(viewer: User, answered: Survey) -> None:
    found = sections(get_report(viewer, answered))
    assert rows(found["plan"]) == [
        ("Free", 1, "25.0"),
        ("Pro", 2, "50.0"),
        ("Enterprise", 1, "25.0"),
    ]
    assert rows(found["country"]) == [
        ("France", 2, "66.7"),
        ("Germany", 0, "0.0"),
        ("Spain", 1, "33.3"),
    ]
    assert rows(found["renew"]) == [("Yes", 2, "50.0"), ("No", 2, "50.0")]


def test_multiple_choice_counts_respondents_and_groups_other_answers(
    viewer: User, answered: Survey
) -> None:
    page = get_report(viewer, answered)
    channels = sections(page)["channels"]
    assert channels.result.answered == 4
    assert rows(channels) == [
        ("Email", 2, "50.0"),
        ("Push", 1, "25.0"),
        ("SMS", 1, "25.0"),
        ("Other", 2, "50.0"),
    ]
    assert channels.result.others == [("Carrier pigeon", 2)]
    assert "% of respondents" in page.content.decode()


def test_numbers_and_dates(viewer: User, answered: Survey) -> None:
    found = sections(get_report(viewer, answered))
    assert facts(found["seats"]) == {
        "Answers": "4",
        "Lowest": "10",
        "Highest": "40",
        "Average": "25",
    }
    assert facts(found["since"]) == {
        "Answers": "4",
        "Earliest": "2019-12-31",
        "Latest": "2022-03-03",
    }


def test_text_questions_show_their_newest_answers_and_who_gave_them(
    viewer: User, answered: Survey
) -> None:
    page = get_report(viewer, answered)
    feedback = sections(page)["feedback"]
    assert feedback.result.answered == 3
    assert [a.text for a in feedback.latest] == [
        "SLOW export",
        "Le café était très bon",
        "Great support, fast",
    ]
    assert feedback.latest[0].who == "Braze ID u4"
    assert "Read all 3 answers" in text(page)
    assert sections(page)["contact"].result.answered == 1


def test_drop_off_counts_who_reached_each_question_and_where_they_stopped(
    viewer: User, answered: Survey
) -> None:
    page = get_report(viewer, answered)
    found = sections(page)
    # #6 stopped after nps, #5 after csat; #7 has no answer.
    assert [(found[k].reached, found[k].stopped) for k in ("nps", "rating", "csat", "effort")] == [
        (6, 1),
        (5, 0),
        (5, 1),
        (4, 0),
    ]
    assert found["since"].reached == 4
    assert page.context["report"].never_answered == 1
    assert "1 incomplete response has no answer left" in text(page)
    assert "Answered by 5 of 5 who reached it (100%)" in text(page)  # rating


def test_answers_to_removed_questions_stay_readable(viewer: User, answered: Survey) -> None:
    page = get_report(viewer, answered)
    assert page.context["report"].removed == [("old_question", 1)]
    words = text(page)
    assert "No longer in the survey" in words
    assert words.index("No longer in the survey") > words.index("Completion and drop-off")
    listed = logged_in(viewer).get(answers_url(answered, "old_question"))
    assert listed.status_code == 200
    assert "An answer to a question since removed" in text(listed)


def test_a_conditional_question_counts_who_its_condition_was_met_for(
    workspace: Workspace, owner: User
) -> None:
    survey = Survey.create(
        workspace,
        {
            "title": "Why",
            "questions": [
                {"key": "nps", "type": "nps", "prompt": "Recommend us?"},
                {
                    "key": "why",
                    "type": "long_text",
                    "prompt": "What went wrong?",
                    "show_if": {"question": "nps", "op": "less_than", "value": 7},
                },
            ],
        },
        owner,
    )
    add_people(
        survey,
        [
            {"day": (2026, 1, 1), "done": True, "answers": {"nps": 3, "why": "Slow"}},
            {"day": (2026, 1, 2), "done": True, "answers": {"nps": 5}},
            {"day": (2026, 1, 3), "done": True, "answers": {"nps": 9}},
        ],
    )
    page = get_report(owner, survey)
    why = sections(page)["why"]
    assert (why.condition_met, why.result.answered) == (2, 1)
    words = text(page)
    assert "Shown when question 1 is less than 7" in words
    assert "Answered by 1 of 2 whose answers met its condition (50%)" in words


def test_every_chart_is_a_labelled_image_followed_by_a_table(
    viewer: User, answered: Survey
) -> None:
    html = get_report(viewer, answered).content.decode()
    charts = re.findall(r'<svg class="chart[^"]*" role="img" aria-labelledby="([^"]+)"', html)
    # 8 distributions, the NPS groups, and the trend of each of the 4 score questions.
    assert len(charts) == 13
    for labels in charts:
        for label in labels.split():
            assert f'id="{label}"' in html
    assert html.count("<summary>Show as table</summary>") == len(charts)
    counted = ('<th scope="col" class="num">Count</th>', '<th scope="col" class="num">Answers</th>')
    assert sum(html.count(head) for head in counted) >= len(charts)
    assert "<script" not in html.split("<main", 1)[1]
    assert 'href="/static/sounding/report.css"' in html


def test_settled_answers_are_counted_once_and_every_change_still_shows(
    viewer: User, answered: Survey, monkeypatch: pytest.MonkeyPatch
) -> None:
    counts: list[int] = []
    real = kept.count
    monkeypatch.setattr(kept, "count", lambda *args: counts.append(1) or real(*args))
    get_report(viewer, answered)
    assert len(counts) == 2  # the settled responses (then kept), and the recent ones
    counts.clear()
    assert sections(get_report(viewer, answered))["nps"].result.answered == 6
    assert len(counts) == 1  # only the recent ones

    # #6 changes their score from 9 to 2 as respondents do, and someone new answers 10.
    six = Response.objects.get(survey=answered, identities__braze_id="u6")
    assert flow.save_answer(answered, six, answered.spec.get("nps"), 2, {"nps": 9})
    now = timezone.now()
    add_people(answered, [{"at": now, "done": False, "answers": {"nps": 10}}], first=8)
    counts.clear()
    nps = sections(get_report(viewer, answered))["nps"]
    assert len(counts) == 2  # #6's change moved it out of the settled set: counted again
    # 10, 9, 7, 3, 0, 2, 10: promoters 3, passives 1, detractors 3.
    assert facts(nps)["NPS"] == "0"
    assert nps.result.answered == 7


def test_kept_tallies_follow_a_change_of_braze_state(viewer: User, answered: Survey) -> None:
    before = get_report(viewer, answered, "?sync=synced")
    assert sections(before)["nps"].result.answered == 2
    Push.objects.filter(response__identities__braze_id="u2").update(state="synced")
    after = get_report(viewer, answered, "?sync=synced")
    assert after.context["report"].summary.started == 3
    assert sections(after)["nps"].result.answered == 3


# --- filters --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "started", "completed", "nps_answered"),
    [
        ("?completion=completed", 4, 4, 4),
        ("?completion=in_progress", 3, 0, 2),
        ("?since=2026-02-01&until=2026-02-28", 2, 2, 2),  # the end date is included
        ("?since=2026-03-01", 3, 0, 2),
        ("?sync=synced", 2, 1, 2),
        ("?sync=pending", 1, 1, 1),
        ("?sync=failed", 1, 1, 1),
        ("?sync=not_sent", 3, 1, 2),
        ("?sync=synced&completion=completed", 1, 1, 1),
    ],
)
def test_filters_narrow_every_figure(
    viewer: User, answered: Survey, query: str, started: int, completed: int, nps_answered: int
) -> None:
    page = get_report(viewer, answered, query)
    report = page.context["report"]
    assert (report.summary.started, report.summary.completed) == (started, completed)
    assert sections(page)["nps"].result.answered == nps_answered
    assert "Showing responses that match" in text(page)


def test_filters_that_keep_nothing_say_so(viewer: User, answered: Survey) -> None:
    page = get_report(viewer, answered, "?since=2030-01-01")
    assert "No response matches these filters." in text(page)
    assert "Clear the filters" in text(page)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?completion=maybe", "Choose all responses, completed or incomplete."),
        ("?sync=lost", "Choose any state, synced, pending, failed or not sent."),
        ("?since=2026-13-45", "Enter a date as YYYY-MM-DD"),
        ("?since=yesterday", "Enter a date as YYYY-MM-DD"),
        ("?since=2026-03-01&until=2026-02-01", "The end date must not be before the start date."),
    ],
)
def test_invalid_filters_get_a_message_and_a_400(
    viewer: User, answered: Survey, query: str, message: str
) -> None:
    page = logged_in(viewer).get(report_url(answered, query))
    assert page.status_code == 400
    assert page.context["report"] is None
    assert message in page.content.decode()
    assert "These filters can’t be used" in page.content.decode()


def test_responses_being_erased_are_left_out(viewer: User, answered: Survey) -> None:
    Response.objects.filter(survey=answered, identities__braze_id="u7").update(
        erase_requested_at=datetime.now(UTC)
    )
    assert get_report(viewer, answered).context["report"].summary.started == 6


# --- text answers ----------------------------------------------------------------------------


def test_the_answers_page_lists_text_answers_newest_first(viewer: User, answered: Survey) -> None:
    page = logged_in(viewer).get(answers_url(answered, "feedback"))
    assert page.status_code == 200
    assert [a.text for a in page.context["answers"]] == [
        "SLOW export",
        "Le café était très bon",
        "Great support, fast",
    ]
    words = text(page)
    assert "3 answers" in words
    assert "Braze ID u1" in words


@pytest.mark.parametrize(
    ("search", "found"),
    [
        ("slow", ["SLOW export"]),
        ("CAFÉ", ["Le café était très bon"]),  # beyond ASCII, on SQLite too
        ("  fast ", ["Great support, fast"]),
        ("%", []),  # not a wildcard
        ("_", []),
    ],
)
def test_search_is_a_case_insensitive_substring(
    viewer: User, answered: Survey, search: str, found: list[str]
) -> None:
    page = logged_in(viewer).get(answers_url(answered, "feedback"), {"search": search})
    assert page.status_code == 200
    assert [a.text for a in page.context["answers"]] == found
    if not found:
        assert "No answer contains" in text(page)


def test_search_keeps_the_reports_filters(viewer: User, answered: Survey) -> None:
    page = logged_in(viewer).get(
        answers_url(answered, "feedback"),
        {"search": "e", "completion": "completed", "sync": "failed"},
    )
    assert [a.text for a in page.context["answers"]] == []
    page = logged_in(viewer).get(
        answers_url(answered, "feedback"), {"search": "e", "sync": "pending"}
    )
    assert [a.text for a in page.context["answers"]] == ["Le café était très bon"]
    assert 'name="sync" value="pending"' in page.content.decode()


def test_answers_come_in_pages(
    viewer: User, answered: Survey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views, "ANSWERS_PER_PAGE", 2)
    client = logged_in(viewer)
    first = client.get(answers_url(answered, "feedback"))
    assert [a.text for a in first.context["answers"]] == ["SLOW export", "Le café était très bon"]
    assert "Page 1 of 2" in text(first)
    second = client.get(answers_url(answered, "feedback", "?page=2"))
    assert [a.text for a in second.context["answers"]] == ["Great support, fast"]
    assert client.get(answers_url(answered, "feedback", "?page=zzz")).status_code == 200


def test_bad_searches_and_keys(viewer: User, answered: Survey) -> None:
    client = logged_in(viewer)
    too_long = client.get(answers_url(answered, "feedback"), {"search": "x" * 201})
    assert too_long.status_code == 400
    assert "Search for at most 200 characters." in too_long.content.decode()
    assert client.get(answers_url(answered, "feedback", "?sync=lost")).status_code == 400
    assert client.get(answers_url(answered, "nps")).status_code == 404  # not a text question
    assert client.get(answers_url(answered, "nothing_here")).status_code == 404


# --- empty states ----------------------------------------------------------------------------


def test_a_live_survey_without_responses_says_to_share_its_link(
    viewer: User, live_survey: Survey
) -> None:
    page = get_report(viewer, live_survey)
    assert "Share the link to collect responses." in text(page)
    assert page.context["report"].summary.started == 0


def test_a_draft_without_responses_says_to_publish_it(viewer: User, live_survey: Survey) -> None:
    live_survey.set_status(Status.DRAFT)
    assert "Publish the survey" in text(get_report(viewer, live_survey))


# --- who may read it -------------------------------------------------------------------------


def test_every_member_may_read_the_report(
    owner: User, editor: User, viewer: User, answered: Survey
) -> None:
    for user in (owner, editor, viewer):
        assert get_report(user, answered).context["report"].summary.started == 7


def test_another_workspace_gets_a_404(outsider: User, answered: Survey) -> None:
    client = logged_in(outsider)
    assert client.get(report_url(answered)).status_code == 404
    assert client.get(answers_url(answered, "feedback")).status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in(answered: Survey) -> None:
    page = Client().get(report_url(answered))
    assert page.status_code == 302
    assert page["Location"].startswith(reverse("login"))


def test_the_report_is_read_only(viewer: User, answered: Survey) -> None:
    assert logged_in(viewer).post(report_url(answered)).status_code == 405
