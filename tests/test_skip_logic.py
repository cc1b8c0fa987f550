"""Skip logic: `show_if` in the definition, and the respondent flow that follows it."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from sounding.accounts.models import Workspace
from sounding.answers.models import Answer, Response
from sounding.collect import flow
from sounding.surveys.conditions import Condition
from sounding.surveys.definition import DefinitionError, build_spec, normalize
from sounding.surveys.models import Status, Survey
from tests.respondent import answer, question_of, screen_of

BRANCHING: dict[str, Any] = {
    "title": "Branching",
    "questions": [
        {"key": "nps", "type": "nps", "prompt": "How likely?", "required": True},
        {
            "key": "why_low",
            "type": "long_text",
            "prompt": "What went wrong?",
            "show_if": {"question": "nps", "op": "less_than", "value": 7},
        },
        {
            "key": "plan",
            "type": "multiple_choice",
            "prompt": "Which plans?",
            "choices": ["Free", "Pro", "Team"],
        },
        {
            "key": "pro_seats",
            "type": "number",
            "prompt": "How many Pro seats?",
            "show_if": {"question": "plan", "op": "equals", "value": "Pro"},
        },
        {"key": "renew", "type": "yes_no", "prompt": "Will you renew?"},
        {
            "key": "why_not",
            "type": "short_text",
            "prompt": "Why not?",
            "show_if": {"question": "renew", "op": "equals", "value": False},
        },
    ],
}


def paths(definition: dict[str, Any]) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        normalize(definition)
    return [path for path, _message in caught.value.problems]


def with_rule(rule: Any, at: int = 1) -> dict[str, Any]:
    questions = [dict(q) for q in BRANCHING["questions"]]
    questions[at] = {**questions[at], "show_if": rule}
    return {**BRANCHING, "questions": questions}


def test_a_valid_rule_is_kept_as_written() -> None:
    normalized = normalize(BRANCHING)
    assert normalized["questions"][1]["show_if"] == {
        "question": "nps",
        "op": "less_than",
        "value": 7,
    }
    assert "show_if" not in normalized["questions"][0]
    assert normalize(normalized) == normalized


@pytest.mark.parametrize(
    ("rule", "at", "where"),
    [
        (
            {"question": "renew", "op": "equals", "value": True},
            1,
            "$.questions[1].show_if.question",
        ),
        ({"question": "nope", "op": "equals", "value": 1}, 1, "$.questions[1].show_if.question"),
        ({"question": "nps", "op": "about", "value": 1}, 1, "$.questions[1].show_if.op"),
        ({"question": "nps", "op": "equals", "value": 11}, 1, "$.questions[1].show_if.value"),
        ({"question": "nps", "op": "equals", "value": True}, 1, "$.questions[1].show_if.value"),
        ({"question": "nps", "op": "one_of", "value": []}, 1, "$.questions[1].show_if.value"),
        (
            {"question": "nps", "op": "one_of", "value": [1, 12]},
            1,
            "$.questions[1].show_if.value[1]",
        ),
        ({"question": "plan", "op": "less_than", "value": 2}, 3, "$.questions[3].show_if.op"),
        ({"question": "plan", "op": "equals", "value": "Gold"}, 3, "$.questions[3].show_if.value"),
        ({"question": "renew", "op": "equals", "value": "no"}, 5, "$.questions[5].show_if.value"),
        ({"question": "nps", "op": "less_than"}, 1, "$.questions[1].show_if.value"),
        ({"question": "nps", "op": "less_than", "value": 3, "x": 1}, 1, "$.questions[1].show_if.x"),
        ("nps < 7", 1, "$.questions[1].show_if"),
    ],
)
def test_a_rule_that_could_never_work_is_refused_with_its_path(
    rule: Any, at: int, where: str
) -> None:
    assert where in paths(with_rule(rule, at))


def test_a_rule_cannot_point_at_itself() -> None:
    rule = {"question": "why_low", "op": "equals", "value": "x"}
    assert "$.questions[1].show_if.question" in paths(with_rule(rule, 1))


@pytest.mark.parametrize(
    ("condition", "answers", "holds"),
    [
        (Condition("nps", "less_than", 7), {"nps": 6}, True),
        (Condition("nps", "less_than", 7), {"nps": 7}, False),
        (Condition("nps", "greater_than", 8), {"nps": 9}, True),
        (Condition("nps", "less_than", 7), {}, False),
        (Condition("nps", "equals", 1), {"nps": True}, False),
        (Condition("renew", "equals", False), {"renew": False}, True),
        (Condition("renew", "equals", False), {"renew": 0}, False),
        (Condition("plan", "equals", "Pro"), {"plan": ["Free", "Pro"]}, True),
        (Condition("plan", "one_of", ("Team", "Pro")), {"plan": ["Free"]}, False),
        (Condition("plan", "one_of", ("Team", "Pro")), {"plan": "Team"}, True),
        (Condition("plan", "less_than", 3), {"plan": "Team"}, False),
    ],
)
def test_a_condition_holds_only_for_the_answers_it_names(
    condition: Condition, answers: dict[str, Any], holds: bool
) -> None:
    assert condition.holds(answers) is holds


def test_the_flow_skips_what_the_answers_hide_both_ways() -> None:
    spec = build_spec(normalize(BRANCHING))
    assert flow.after_answer(spec, 0, {}, 9).key == "plan"
    assert flow.after_answer(spec, 0, {}, 3).key == "why_low"
    assert flow.after_answer(spec, 2, {"nps": 9}, ["Free"]).key == "renew"
    assert flow.previous_before(spec, 4, {"nps": 9, "plan": ["Free"]}).key == "plan"
    assert flow.previous_before(spec, 4, {"nps": 9, "plan": ["Pro"]}).key == "pro_seats"
    assert flow.after_answer(spec, 4, {"nps": 9}, True) is None
    # A question is the last one only when nothing after it can still appear: here a "no"
    # would bring one more.
    assert flow.may_follow(spec, 4, {"nps": 9})
    q = BRANCHING["questions"]
    short = build_spec(normalize({**BRANCHING, "questions": [q[0], q[4], q[1]]}))
    assert not flow.may_follow(short, 1, {"nps": 9})
    assert flow.may_follow(short, 1, {"nps": 3})


@pytest.fixture
def branching(workspace: Workspace) -> Survey:
    survey = Survey.create(workspace, BRANCHING)
    survey.set_status(Status.LIVE)
    return survey


@pytest.mark.django_db
def test_a_promoter_who_renews_answers_three_questions_and_completes(branching: Survey) -> None:
    client = Client()
    html = client.get(branching.public_path() + "?user_braze_id=u1").content.decode()
    html = answer(client, html, "10").content.decode()
    assert question_of(html) == "plan"
    html = answer(client, html, ["Free"]).content.decode()
    assert question_of(html) == "renew"
    assert ">Next<" in html  # a no would bring one more question
    html = answer(client, html, "yes").content.decode()
    assert screen_of(html) == "done"
    response = Response.objects.get()
    assert response.completed_at is not None
    assert set(Answer.objects.values_list("question_key", flat=True)) == {"nps", "plan", "renew"}


@pytest.mark.django_db
def test_a_detractor_is_asked_why_and_a_no_asks_why_not(branching: Survey) -> None:
    client = Client()
    html = client.get(branching.public_path() + "?user_braze_id=u2").content.decode()
    html = answer(client, html, "2").content.decode()
    assert question_of(html) == "why_low"
    html = answer(client, html, "Too slow").content.decode()
    html = answer(client, html, ["Pro", "Team"]).content.decode()
    assert question_of(html) == "pro_seats"
    html = answer(client, html, "12").content.decode()
    html = answer(client, html, "no").content.decode()
    assert question_of(html) == "why_not"
    assert ">Submit<" in html
    assert Response.objects.get().completed_at is None
    html = answer(client, html, "Budget").content.decode()
    assert screen_of(html) == "done"
    assert Response.objects.get().completed_at is not None


def count_of(html: str) -> str:
    return html.split('<span class="count">', 1)[1].split("</span>", 1)[0]


@pytest.mark.django_db
def test_the_progress_counts_the_questions_the_answers_show(branching: Survey) -> None:
    promoter = Client()
    html = promoter.get(branching.public_path() + "?user_braze_id=p1").content.decode()
    assert count_of(html) == "Question 1 of 3"
    html = answer(promoter, html, "10").content.decode()
    assert question_of(html) == "plan"
    assert count_of(html) == "Question 2 of 3"  # not "3 of 6": the rule hid "why_low"
    assert 'width="33%"' in html
    html = answer(promoter, html, ["Pro"]).content.decode()
    assert question_of(html) == "pro_seats"
    assert count_of(html) == "Question 3 of 4"

    detractor = Client()
    html = detractor.get(branching.public_path() + "?user_braze_id=d1").content.decode()
    html = answer(detractor, html, "2").content.decode()
    assert question_of(html) == "why_low"
    assert count_of(html) == "Question 2 of 4"


def test_progress_counts_a_hidden_question_on_screen_and_never_goes_past_the_total() -> None:
    spec = build_spec(normalize(BRANCHING))
    assert flow.progress(spec, 0, {}) == (1, 3)
    assert flow.progress(spec, 1, {"nps": 9}) == (2, 4)  # an author's preview opened it
    assert flow.progress(spec, 2, {"nps": 3}) == (3, 4)
    assert flow.progress(spec, 6, {"nps": 3, "renew": False}) == (5, 5)


@pytest.mark.django_db
def test_back_returns_to_the_question_shown_before_not_a_skipped_one(branching: Survey) -> None:
    client = Client()
    html = client.get(branching.public_path() + "?user_braze_id=u3").content.decode()
    html = answer(client, html, "9").content.decode()
    assert question_of(html) == "plan"
    html = answer(client, html, ["Free"], nav="back").content.decode()
    assert question_of(html) == "nps"


@pytest.mark.django_db
def test_a_returning_respondent_resumes_at_the_next_question_they_are_shown(
    branching: Survey,
) -> None:
    client = Client()
    html = client.get(branching.public_path() + "?user_braze_id=u4").content.decode()
    answer(client, html, "9")
    again = client.get(branching.public_path() + "?user_braze_id=u4").content.decode()
    assert question_of(again) == "plan"
