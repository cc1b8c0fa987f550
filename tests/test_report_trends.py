"""Who and when: trends by day, week and month, the period before, breakdowns by an answer, a
hidden field or the language, their filters in the URL, and tallies that every web process
counts alike. Every figure against numbers worked out by hand."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.cache import cache
from django.test import override_settings
from django.utils import timezone

from sounding.accounts.models import User, Workspace
from sounding.answers.models import Answer, Response
from sounding.delivery.models import Push
from sounding.reports import periods
from sounding.surveys.models import Status, Survey
from tests.conftest import logged_in

pytestmark = pytest.mark.django_db

PULSE: dict[str, Any] = {
    "title": "Monthly pulse",
    "hidden_fields": ["plan", "utm_medium"],
    "questions": [
        {"key": "nps", "type": "nps", "prompt": "How likely are you to recommend us?"},
        {"key": "csat", "type": "csat", "prompt": "How satisfied are you?"},
        {"key": "renew", "type": "yes_no", "prompt": "Will you renew?"},
        {
            "key": "heard",
            "type": "single_choice",
            "prompt": "Where did you hear of us?",
            "choices": ["Email", "Push", "SMS"],
        },
        {"key": "note", "type": "long_text", "prompt": "Anything else?"},
    ],
}

# 1 March 2026 is a Sunday: the weeks of March start on 23 Feb, 2, 9, 16, 23 and 30 March.
PEOPLE: list[dict[str, Any]] = [
    {
        "at": datetime(2026, 2, 20, 12, 0, tzinfo=UTC),
        "hidden": {"plan": "free"},
        "language": "en",
        "answers": {"nps": 2, "csat": 3},
    },
    {
        "at": datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
        "hidden": {"plan": "pro", "utm_medium": "email"},
        "language": "fr",
        "answers": {"nps": 10, "csat": 5, "renew": True, "heard": "Email", "note": "Faster"},
    },
    {
        "at": datetime(2026, 3, 3, 9, 0, tzinfo=UTC),
        "hidden": {"plan": "pro"},
        "language": "en",
        "answers": {"nps": 9, "csat": 4, "renew": True, "heard": "Push"},
    },
    {
        "at": datetime(2026, 3, 4, 9, 0, tzinfo=UTC),
        "hidden": {"plan": "free"},
        "language": "en",
        "answers": {"nps": 3, "csat": 2, "renew": False, "heard": "Email"},
    },
    {
        "at": datetime(2026, 3, 10, 9, 0, tzinfo=UTC),
        "hidden": {"plan": "free"},
        "language": "fr",
        "answers": {"nps": 8, "csat": 5, "renew": False, "heard": "Push"},
    },
    {
        "at": datetime(2026, 3, 11, 9, 0, tzinfo=UTC),
        "hidden": {},
        "language": "",
        "answers": {"nps": 0, "csat": 1, "renew": False, "heard": "Email"},
    },
    {
        "at": datetime(2026, 4, 1, 9, 0, tzinfo=UTC),
        "hidden": {"plan": "pro"},
        "language": "en",
        "answers": {"nps": 10, "csat": 4, "renew": True, "heard": "SMS"},
    },
]
MARCH = "?since=2026-03-01&until=2026-03-31"


def add(survey: Survey, people: list[dict[str, Any]]) -> list[Response]:
    made = []
    for person in people:
        response = Response.objects.create(
            survey=survey,
            hidden=person.get("hidden", {}),
            language=person.get("language", ""),
            started_at=person["at"],
            updated_at=person["at"],
            completed_at=person["at"],
        )
        for key, value in person["answers"].items():
            Answer.objects.create(response=response, question_key=key, value=value)
        made.append(response)
    return made


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def pulse(workspace: Workspace, owner: User) -> Survey:
    survey = Survey.create(workspace, PULSE, owner)
    survey.set_status(Status.LIVE)
    add(survey, PEOPLE)
    return survey


def url(survey: Survey, query: str = "") -> str:
    return f"/surveys/{survey.pk}/report{query}"


def report(user: User, survey: Survey, query: str = "") -> Any:
    page = logged_in(user).get(url(survey, query))
    assert page.status_code == 200, page.content[:3000]
    return page


def section(page: Any, key: str) -> Any:
    return next(s for s in page.context["report"].sections if s.question.key == key)


def points(page: Any, key: str) -> list[tuple[date, str, int]]:
    return [(p.start, p.figure.shown, p.figure.answered) for p in section(page, key).trend.points]


def words(html: str) -> str:
    html = re.sub(r"<svg.*?</svg>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# --- trends -------------------------------------------------------------------------------------


def test_a_weekly_trend_has_every_week_of_the_period_with_its_nps_and_answers(
    viewer: User, pulse: Survey
) -> None:
    page = report(viewer, pulse, MARCH + "&bucket=week")
    assert points(page, "nps") == [
        (date(2026, 2, 23), "—", 0),  # the week of Sunday 1 March: nobody answered
        (date(2026, 3, 2), "+33", 3),  # 10, 9, 3: 2 promoters, 1 detractor of 3
        (date(2026, 3, 9), "−50", 2),  # 8, 0: 1 passive, 1 detractor
        (date(2026, 3, 16), "—", 0),
        (date(2026, 3, 23), "—", 0),
        (date(2026, 3, 30), "—", 0),
    ]
    # CSAT: 5, 4, 2 → 2 of 3 satisfied; 5, 1 → 1 of 2.
    assert [p[1] for p in points(page, "csat")][1:3] == ["66.7%", "50%"]
    assert section(page, "nps").trend.empty_buckets == 4


def test_a_daily_trend_counts_each_day_and_a_monthly_one_each_month(
    viewer: User, pulse: Survey
) -> None:
    daily = points(report(viewer, pulse, MARCH + "&bucket=day"), "nps")
    assert len(daily) == 31
    assert daily[1] == (date(2026, 3, 2), "+100", 1)
    assert daily[3] == (date(2026, 3, 4), "−100", 1)
    assert sum(n for _, _, n in daily) == 5

    monthly = report(viewer, pulse, "?bucket=month")  # no dates: first to last response
    assert points(monthly, "nps") == [
        (date(2026, 2, 1), "−100", 1),
        (date(2026, 3, 1), "0", 5),  # 10, 9, 8, 3, 0: 2 promoters, 2 detractors
        (date(2026, 4, 1), "+100", 1),
    ]
    averages = [(p.figure.name, p.figure.shown) for p in section(monthly, "csat").trend.points]
    assert averages == [("CSAT", "0%"), ("CSAT", "60%"), ("CSAT", "100%")]


def test_buckets_are_days_of_the_servers_time_zone(viewer: User, pulse: Survey) -> None:
    late = datetime(2026, 3, 8, 23, 30, tzinfo=UTC)  # Monday 9 March 00:30 in Paris
    add(pulse, [{"at": late, "answers": {"nps": 10}}])
    query = "?since=2026-03-08&until=2026-03-09&bucket=day"
    assert points(report(viewer, pulse, query), "nps") == [
        (date(2026, 3, 8), "+100", 1),
        (date(2026, 3, 9), "—", 0),
    ]
    with override_settings(TIME_ZONE="Europe/Paris"):
        page = report(viewer, pulse, query)
        assert points(page, "nps") == [
            (date(2026, 3, 8), "—", 0),
            (date(2026, 3, 9), "+100", 1),
        ]
        assert "(Europe/Paris time)" in words(page.content.decode())


def test_days_follow_a_change_to_summer_time(viewer: User, pulse: Survey) -> None:
    # Paris moves from UTC+1 to UTC+2 at 01:00 UTC on Sunday 29 March 2026.
    add(
        pulse,
        [
            {"at": datetime(2026, 3, 28, 23, 30, tzinfo=UTC), "answers": {"nps": 10}},  # 00:30
            {"at": datetime(2026, 3, 29, 22, 30, tzinfo=UTC), "answers": {"nps": 0}},  # 00:30
        ],
    )
    with override_settings(TIME_ZONE="Europe/Paris"):
        page = report(viewer, pulse, "?since=2026-03-28&until=2026-03-30&bucket=day")
        assert points(page, "nps") == [
            (date(2026, 3, 28), "—", 0),
            (date(2026, 3, 29), "+100", 1),
            (date(2026, 3, 30), "−100", 1),
        ]


def test_each_trend_chart_has_its_numbers_in_a_table_beside_it(viewer: User, pulse: Survey) -> None:
    html = report(viewer, pulse, MARCH).content.decode()
    for key in ("nps", "csat"):
        start = html.index(f'aria-labelledby="trend-{key}-t trend-{key}-d"')
        after = html[start:]
        table = after[after.index("<table") : after.index("</table>")]
        assert "Show as table" in after[: after.index("<table")]
        assert len(re.findall(r"<tr><th scope=\"row\">", table)) == 6
    nps = html[html.index('id="trend-nps-d"') :]
    assert "Week of 2 Mar 2026" not in nps[: nps.index("</desc>")]  # the chart's own names
    assert "2 Mar: +33, 3 answers" in nps[: nps.index("</desc>")]
    text = words(html)
    assert "Week of 2 Mar 2026 +33 3" in text
    assert "Week of 16 Mar 2026 No answers 0" in text  # an empty week, said in words
    # A trend of a period nobody answered in says so instead of drawing an empty chart.
    empty = report(viewer, pulse, "?since=2025-01-01&until=2025-01-31").content.decode()
    assert "No response matches these filters." in words(empty)


def test_a_trend_of_too_many_buckets_is_left_out_with_a_reason(viewer: User, pulse: Survey) -> None:
    page = report(viewer, pulse, "?since=2020-01-01&until=2026-12-31&bucket=day")
    assert section(page, "nps").trend is None
    assert page.context["report"].too_many_buckets == 2557
    assert "choose a longer bucket or a shorter period" in words(page.content.decode())
    assert periods.count(periods.Span(date(2020, 1, 1), date(2026, 12, 31)), "month") == 84


# --- the period before --------------------------------------------------------------------------


def test_the_previous_period_is_as_long_and_ends_the_day_before(
    viewer: User, pulse: Survey
) -> None:
    page = report(viewer, pulse, MARCH)
    found = page.context["report"]
    assert found.previous == periods.Span(date(2026, 1, 29), date(2026, 2, 28))  # 31 days
    assert (found.previous_summary.started, found.summary.started) == (1, 5)
    nps = section(page, "nps").comparison
    assert (nps.then.shown, nps.then.answered) == ("−100", 1)  # the 2 of 20 February
    assert (nps.now.shown, nps.now.answered) == ("0", 5)
    assert nps.change == "+100"
    csat = section(page, "csat").comparison
    assert (csat.then.shown, csat.now.shown, csat.change) == ("0%", "60%", "+60 points")
    text = words(page.content.decode())
    assert "Previous period: −100 NPS from 1 answer; now 0 from 5. Change: +100" in text
    assert "Compared with the 31 days before, 29 Jan 2026 to 28 Feb 2026" in text


def test_a_named_period_and_its_previous_one_end_today(viewer: User, pulse: Survey) -> None:
    today = timezone.localdate()
    add(pulse, [{"at": timezone.now(), "answers": {"nps": 9, "csat": 5}}])
    page = report(viewer, pulse, "?period=7&bucket=day")
    found = page.context["report"]
    assert found.span == periods.Span(today - periods.timedelta(days=6), today)
    assert found.previous.last == today - periods.timedelta(days=7)
    assert found.previous.days == 7
    assert points(page, "nps")[-1] == (today, "+100", 1)
    assert section(page, "nps").comparison.change == "—"  # nobody answered the week before
    assert "Last 7 days" in page.context["active"]
    # The trend's tallies of settled responses are kept; a new answer still shows at once.
    add(pulse, [{"at": timezone.now(), "answers": {"nps": 0}}])
    assert points(report(viewer, pulse, "?period=7&bucket=day"), "nps")[-1] == (today, "0", 2)
    assert '<option value="7" selected>Last 7 days</option>' in page.content.decode()


def test_without_a_start_there_is_nothing_to_compare_with(viewer: User, pulse: Survey) -> None:
    page = report(viewer, pulse)
    assert page.context["report"].previous is None
    assert section(page, "nps").comparison is None
    assert "Choose a period or a start date to compare" in words(page.content.decode())


# --- breakdowns ---------------------------------------------------------------------------------


def by(page: Any, key: str) -> list[tuple[str, str, int]]:
    found = section(page, key).breakdown
    return [(g.label, g.figure.shown if g.figure else "", g.result.answered) for g in found.groups]


def test_nps_by_a_hidden_field(viewer: User, pulse: Survey) -> None:
    page = report(viewer, pulse, "?by=hidden:plan")
    assert by(page, "nps") == [
        ("free", "−67", 3),  # 2, 3, 8: 2 detractors of 3
        ("pro", "+100", 3),  # 10, 9, 10
        ("Not given", "−100", 1),  # the response whose link had no plan
    ]
    html = page.content.decode()
    assert 'aria-labelledby="by-nps-t by-nps-d"' in html
    text = words(html)
    assert "By hidden field “plan”" in text
    assert "free −67 4.33 3" in text  # the table beside the chart: NPS, average, answers
    # The breakdown's tallies of settled responses are kept; a new answer still shows at once.
    add(pulse, [{"at": timezone.now(), "hidden": {"plan": "pro"}, "answers": {"nps": 0}}])
    assert by(report(viewer, pulse, "?by=hidden:plan"), "nps")[0] == ("pro", "+50", 4)  # most first


def test_csat_by_language(viewer: User, pulse: Survey) -> None:
    page = report(viewer, pulse, "?by=language")
    assert by(page, "csat") == [
        ("English (en)", "50%", 4),  # 3, 4, 2, 4
        ("Français (fr)", "100%", 2),  # 5, 5, named as the app names its languages
        ("Not recorded", "0%", 1),
    ]


def test_a_choice_by_a_yes_no_question(viewer: User, pulse: Survey) -> None:
    page = report(viewer, pulse, "?by=q:renew")
    found = section(page, "heard").breakdown
    assert found.columns == ["Email", "Push", "SMS"]
    cells = {g.label: [(n, f"{share:.1f}") for n, share in g.cells] for g in found.groups}
    assert cells == {
        "Yes": [(1, "33.3"), (1, "33.3"), (1, "33.3")],
        "No": [(2, "66.7"), (1, "33.3"), (0, "0.0")],
    }
    assert [g.label for g in found.groups] == ["Yes", "No"]  # the question's own order
    assert section(page, "renew").breakdown is None  # not by itself
    assert section(page, "note").breakdown is None  # text is not broken down
    assert by(page, "nps")[-1] == ("Not answered", "−100", 1)  # 20 Feb never said
    assert "No 3 2 (66.7%) 1 (33.3%) 0 (0%)" in words(page.content.decode())


def test_a_breakdown_keeps_to_the_filters(viewer: User, pulse: Survey) -> None:
    page = report(viewer, pulse, MARCH + "&by=hidden:utm_medium")
    assert by(page, "nps") == [("email", "+100", 1), ("Not given", "−25", 4)]  # 9, 3, 8, 0


# --- the URL ------------------------------------------------------------------------------------


def test_the_view_is_in_the_url_and_carried_to_the_answers(viewer: User, pulse: Survey) -> None:
    query = MARCH + "&bucket=month&by=hidden:plan&completion=completed"
    page = report(viewer, pulse, query)
    html = page.content.decode()
    assert '<option value="month" selected>Month</option>' in html
    assert '<option value="hidden:plan" selected>Hidden field “plan”</option>' in html
    assert 'value="2026-03-01"' in html
    link = re.search(r'href="(/surveys/\d+/report/answers/note\?[^"]+)"', html)
    assert link is not None
    carried = parse_qs(urlsplit(link.group(1).replace("&amp;", "&")).query)
    assert carried == {
        "since": ["2026-03-01"],
        "until": ["2026-03-31"],
        "completion": ["completed"],
        "bucket": ["month"],
        "by": ["hidden:plan"],
    }
    assert logged_in(viewer).get(link.group(1).replace("&amp;", "&")).status_code == 200


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?bucket=year", "Choose day, week or month."),
        ("?by=hidden:secret", "Choose a closed question, a hidden field the survey declares"),
        ("?by=q:note", "Choose a closed question, a hidden field the survey declares"),
        ("?period=365", "Choose the last 7, 30 or 90 days, or dates below."),
        ("?period=7&since=2026-03-01", "Choose a period or dates, not both."),
    ],
)
def test_a_view_the_report_cannot_show_is_a_400_that_says_why(
    viewer: User, pulse: Survey, query: str, message: str
) -> None:
    page = logged_in(viewer).get(url(pulse, query))
    assert page.status_code == 400
    assert message in page.content.decode()


# --- the same numbers in every web process ------------------------------------------------------


def _process(name: str) -> Any:
    """The local-memory cache of one web process: each LOCATION is a store of its own."""
    backend = "django.core.cache.backends.locmem.LocMemCache"
    return override_settings(CACHES={"default": {"BACKEND": backend, "LOCATION": name}})


def test_every_process_shows_the_numbers_in_the_database(
    viewer: User, workspace: Workspace, owner: User
) -> None:
    survey = Survey.create(workspace, PULSE, owner)
    long_ago = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    # Four settled responses with consecutive ids: the first and last say 10, the middle two 0.
    made = add(survey, [{"at": long_ago, "answers": {"nps": s}} for s in (10, 0, 0, 10)])
    for response, state in zip(made, ("failed", "synced", "synced", "failed"), strict=True):
        Push.objects.create(
            response=response,
            workspace_id=workspace.pk,
            destination="braze",
            user_key=f"braze_id:r{response.pk}",
            state=state,
        )
    failed = "?sync=failed"
    with _process("web-1"):
        assert section(report(viewer, survey, failed), "nps").result.facts[0].value == "+100"

    # The worker's retries: the failed two go through, the other two now fail. As many
    # responses, the same sum of ids, the same answers' versions; only the members differ.
    Push.objects.filter(response__in=[made[0], made[3]]).update(state="synced")
    Push.objects.filter(response__in=[made[1], made[2]]).update(state="failed")

    shown = {}
    for process in ("web-1", "web-2"):
        with _process(process):
            shown[process] = section(report(viewer, survey, failed), "nps").result.facts[0].value
    assert shown == {"web-1": "−100", "web-2": "−100"}
    cache.clear()
    with _process("web-1"):
        cache.clear()
    with _process("web-2"):
        cache.clear()


def test_the_fingerprint_is_exact_integer_arithmetic_in_the_database(
    workspace: Workspace, owner: User
) -> None:
    from sounding.reports import cache as kept

    survey = Survey.create(workspace, PULSE, owner)
    made = add(survey, [{"at": datetime(2026, 1, 5, tzinfo=UTC), "answers": {}}] * 3)
    Response.objects.filter(pk=made[1].pk).update(answers_version=7, completed_at=None)
    # A large id: its mix is near 2^31 and the square near 2^62, exact or not at all.
    Response.objects.filter(pk=made[2].pk).update(id=2_000_000_000)
    expected_first = expected_second = 0
    for response in Response.objects.filter(survey=survey):
        mixed = response.pk * kept.FIRST_MULTIPLIER + 2 * response.answers_version
        mixed = (mixed + (response.completed_at is not None)) % kept.FIRST_PRIME
        expected_first += mixed
        expected_second += (mixed * mixed) % kept.SECOND_PRIME
    found = kept.fingerprint(Response.objects.filter(survey=survey))
    assert found == (3, expected_first, expected_second)
