"""The report's one pass over the answers (`reports.tallying`) against the same counts worked
out in Python, one answer at a time, on random responses: every key's tally, the trend's per
bucket and the breakdown's per group, in several time zones, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sounding.accounts.models import User, Workspace
from sounding.answers.models import Answer, Response
from sounding.reports import filters, periods, tallying
from sounding.reports.results import show_number
from sounding.reports.stats import KeyTally
from sounding.surveys.models import Survey

pytestmark = pytest.mark.django_db

SPEC: dict[str, Any] = {
    "title": "Tallies",
    "hidden_fields": ["utm_medium"],
    "questions": [
        {"key": "nps", "type": "nps", "prompt": "Recommend us?"},
        {"key": "effort", "type": "scale", "prompt": "Easy?", "min": 1, "max": 7},
        {"key": "plan", "type": "single_choice", "prompt": "Plan?", "choices": ["Free", "Pro"]},
        {
            "key": "channels",
            "type": "multiple_choice",
            "prompt": "Channels?",
            "choices": ["Email", "Push", "SMS"],
            "allow_other": True,
        },
        {"key": "renew", "type": "yes_no", "prompt": "Renew?"},
        {"key": "seats", "type": "number", "prompt": "Seats?"},
        {
            "key": "why",
            "type": "short_text",
            "prompt": "Why so many?",
            "show_if": {"question": "seats", "op": "greater_than", "value": 5},
        },
        {"key": "since", "type": "date", "prompt": "Customer since?"},
        {"key": "note", "type": "long_text", "prompt": "Anything else?"},
    ],
}
SCORES = ("nps", "effort")
GROUPED = ("nps", "effort", "plan", "channels", "renew")  # closed questions
START = datetime(2026, 3, 20, tzinfo=UTC)  # summer time starts within the span in Europe

# Mostly what the question asks for; now and then an answer of another type (a question's
# type can change after answers are stored).
junk = st.sampled_from(["ten", 2.5, True, None, [], {"a": 1}])
VALUES: dict[str, st.SearchStrategy[Any]] = {
    "nps": st.integers(0, 10) | junk,
    "effort": st.integers(1, 7),
    "plan": st.sampled_from(["Free", "Pro", "Something else"]),
    "channels": st.lists(st.sampled_from(["Email", "Push", "SMS", "Carrier pigeon"]), max_size=3),
    "renew": st.booleans(),
    "seats": st.integers(0, 12) | st.sampled_from([2.5, 7.25, "many"]),
    "why": st.sampled_from(["Growth", "Hiring"]),
    "since": st.sampled_from(["2020-01-31", "2024-02-29", "2019-12-01"]) | st.integers(0, 3),
    "note": st.text(max_size=5),
    "gone": st.sampled_from(["a question since removed"]),
}

person = st.fixed_dictionaries(
    {
        "hours": st.integers(0, 24 * 40),
        "medium": st.sampled_from([None, "", "email", "push", "Email"]),
        "language": st.sampled_from(["", "en", "fr"]),
        "answers": st.fixed_dictionaries({}, optional=VALUES),
    }
)
views = st.fixed_dictionaries(
    {
        "bucket": st.sampled_from([b for b, _ in periods.BUCKETS]),
        "by": st.sampled_from(["", "language", "hidden:utm_medium", "q:plan", "q:channels"])
        | st.sampled_from(["q:renew", "q:nps", "q:seats", "hidden:other"]),
        "zone": st.sampled_from(["UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata"]),
        "trend": st.booleans(),
    }
)


def seed(workspace: Workspace, owner: User, people: list[dict[str, Any]]) -> Survey:
    survey = Survey.create(workspace, SPEC, owner)
    for one in people:
        hidden = {} if one["medium"] is None else {"utm_medium": one["medium"]}
        at = START + timedelta(hours=one["hours"])
        response = Response.objects.create(
            survey=survey, hidden=hidden, language=one["language"], started_at=at, updated_at=at
        )
        Answer.objects.bulk_create(
            Answer(response=response, question_key=k, value=v)
            for k, v in one["answers"].items()
            if v is not None  # a JSON null is stored as SQL NULL by Django: not an answer
        )
    return survey


def name(value: Any) -> str:
    if value is True:
        return "Yes"
    if value is False:
        return "No"
    if isinstance(value, int | float):
        return show_number(value)
    return str(value)


def group_names(by: str, response: Response, answers: dict[str, Any]) -> list[str]:
    """The breakdown's groups of one response, worked out from its Python values."""
    if by == "language":
        return [response.language or "Not recorded"]
    if by.startswith("hidden:"):
        return [response.hidden.get(by.removeprefix("hidden:")) or "Not given"]
    value = answers.get(by.removeprefix("q:"))
    if value is None or value == "":
        return ["Not answered"]
    if isinstance(value, list):
        return [name(v) for v in value] or ["Not answered"]
    return [name(value)]


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def counts(pairs: list[tuple[Any, int]]) -> Counter[str]:
    found: Counter[str] = Counter()
    for value, n in pairs:
        found[json.dumps(value, sort_keys=True)] += n
    return found


def expected(survey: Survey, view: dict[str, Any]) -> dict[str, Any]:
    """Every count, one answer at a time."""
    grouped = set(GROUPED) | {"seats"}  # `why` reads `seats`: counted per value too
    source = view["by"].removeprefix("q:") if view["by"].startswith("q:") else None
    tallies: dict[str, dict[str, Any]] = {}
    trend: dict[str, Counter[tuple[date, str]]] = {}
    groups: dict[str, Counter[tuple[str, str]]] = {}
    zone = timezone.get_current_timezone()
    for response in Response.objects.filter(survey=survey):
        answers = {a.question_key: a.value for a in Answer.objects.filter(response=response)}
        day = timezone.localtime(response.started_at, zone).date()
        for key, value in answers.items():
            found = tallies.setdefault(key, {"answered": 0, "values": Counter(), "numbers": []})
            found["answered"] += 1
            text = json.dumps(value, sort_keys=True)
            if key in grouped:
                found["values"][text] += 1
            if key == "seats" and is_number(value):
                found["numbers"].append(value)
            if key == "since" and isinstance(value, str):
                found["numbers"].append(value)
            if view["trend"] and key in SCORES:
                at = periods.bucket_start(day, view["bucket"])
                trend.setdefault(key, Counter())[(at, text)] += 1
            if view["by"] and key in GROUPED and key != source:
                for group in group_names(view["by"], response, answers):
                    groups.setdefault(key, Counter())[(group, text)] += 1
    return {"tallies": tallies, "trend": trend, "groups": groups}


def tally_as_found(tally: KeyTally, key: str) -> dict[str, Any]:
    out: dict[str, Any] = {"answered": tally.answered, "values": counts(tally.values)}
    if key == "seats":
        out["numbers"] = (tally.low, tally.high, tally.total, tally.numbers)
    if key == "since":
        out["numbers"] = (tally.first, tally.last)
    return out


def tally_expected(found: dict[str, Any], key: str) -> dict[str, Any]:
    out = {"answered": found["answered"], "values": found["values"]}
    numbers = found["numbers"]
    if key == "seats":
        total = float(sum(numbers)) if numbers else None
        out["numbers"] = (
            min(numbers, default=None),
            max(numbers, default=None),
            total,
            len(numbers),
        )
    if key == "since":
        out["numbers"] = (min(numbers, default=None), max(numbers, default=None))
    return out


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(people=st.lists(person, max_size=25), view=views)
def test_one_pass_counts_what_each_answer_adds_up_to(
    workspace: Workspace, owner: User, people: list[dict[str, Any]], view: dict[str, Any]
) -> None:
    survey = seed(workspace, owner, people)
    with timezone.override(view["zone"]):
        span = periods.Span(START.date() - timedelta(days=1), START.date() + timedelta(days=42))
        keys = SCORES if view["trend"] else ()
        wanted = tallying.Pass(keys, view["bucket"], span, view["by"])
        found = tallying.count(filters.responses(survey, {}), survey.spec, wanted)
        want = expected(survey, view)
    assert {k: tally_as_found(t, k) for k, t in found.tallies.items()} == {
        k: tally_expected(t, k) for k, t in want["tallies"].items()
    }
    trend = {
        key: Counter({(at, v): n for at, t in buckets.items() for v, n in counts(t.values).items()})
        for key, buckets in found.trend.items()
    }
    assert trend == want["trend"]
    for buckets in found.trend.values():
        assert all(t.answered == sum(n for _, n in t.values) for t in buckets.values())
    by_group = {
        key: Counter({(g, v): n for g, t in named.items() for v, n in counts(t.values).items()})
        for key, named in found.groups.items()
    }
    assert by_group == want["groups"]
    survey.delete()


def test_the_pass_keeps_to_the_responses_it_is_given(workspace: Workspace, owner: User) -> None:
    """The filters' responses only: another survey's answers and those outside the dates stay
    out of every count."""
    people = [
        {"hours": 0, "medium": "email", "language": "en", "answers": {"nps": 9, "plan": "Pro"}},
        {"hours": 24 * 10, "medium": "push", "language": "fr", "answers": {"nps": 3}},
    ]
    survey = seed(workspace, owner, people)
    seed(workspace, owner, people)  # another survey, the same answers
    chosen = filters.responses(survey, {"since": START.date() + timedelta(days=5)})
    span = periods.Span(START.date(), START.date() + timedelta(days=20))
    wanted = tallying.Pass(SCORES, "week", span, "hidden:utm_medium")
    found = tallying.count(chosen, survey.spec, wanted)
    assert found.tallies["nps"].values == [(3, 1)]
    assert set(found.tallies) == {"nps"}
    assert {at: t.values for at, t in found.trend["nps"].items()} == {date(2026, 3, 30): [(3, 1)]}
    assert {g: t.values for g, t in found.groups["nps"].items()} == {"push": [(3, 1)]}


def test_choices_that_read_as_json_are_groups_by_their_own_name(
    workspace: Workspace, owner: User
) -> None:
    """A breakdown by a question whose choices look like numbers or booleans: each group is
    named by the choice as written (the answer was once read as JSON twice, so "1000" became
    the group "1,000" and "true" the group "Yes", which no choice is)."""
    definition = {
        "title": "Odd choices",
        "questions": [
            {"key": "nps", "type": "nps", "prompt": "Recommend us?"},
            {
                "key": "size",
                "type": "single_choice",
                "prompt": "Size?",
                "choices": ["1000", "true"],
            },
        ],
    }
    survey = Survey.create(workspace, definition, owner)
    for size, score in [("1000", 9), ("true", 3), ("1000", 10)]:
        response = Response.objects.create(survey=survey)
        Answer.objects.create(response=response, question_key="nps", value=score)
        Answer.objects.create(response=response, question_key="size", value=size)
    found = tallying.count(filters.responses(survey, {}), survey.spec, tallying.Pass(by="q:size"))
    assert {g: counts(t.values) for g, t in found.groups["nps"].items()} == {
        "1000": Counter({"9": 1, "10": 1}),
        "true": Counter({"3": 1}),
    }
