"""On PostgreSQL an everyday answer (a value set, owed to destinations that only need the
response's current state) is stored in one statement: the answer, the response's version and
the outbox rows in one round trip. It must leave exactly the rows the transaction of separate
statements leaves, which every other change (a cleared answer, answers a change hides, a
destination with events of its own) still takes."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sounding.answers.models import Answer, Response
from sounding.collect import flow, store
from sounding.delivery.models import Push
from sounding.surveys.models import Survey
from sounding.surveys.questions import EMPTY
from tests.delivery_fixtures import drain

# (question, value, whether the respondent is on the last screen), in the order given: new
# answers, a change of mind, an answer given again unchanged, one cleared, then completion.
SCRIPT: list[tuple[str, Any, bool]] = [
    ("nps", 9, False),
    ("channels", ["Email"], False),
    ("nps", 6, False),
    ("nps", 6, False),
    ("channels", EMPTY, False),
    ("channels", ["Push", "SMS"], False),
    ("feedback", "Quick, thanks", True),
]


def answer_all(survey: Survey, braze_id: str) -> Response:
    survey = Survey.objects.get(pk=survey.pk)
    ctx = flow.LinkContext(identity={"braze_id": braze_id})
    response = flow.start_response(survey, ctx)
    current = dict(store.answers(response.pk))
    for key, value, last in SCRIPT:
        question = survey.spec.get(key)
        assert question is not None
        flow.save_answer(survey, response, question, value, current, completes=last)
    return Response.objects.get(pk=response.pk)


def rows(response: Response) -> dict[str, Any]:
    push = Push.objects.get(response=response)
    return {
        "answers": dict(
            Answer.objects.filter(response=response).values_list("question_key", "value")
        ),
        "version": response.answers_version,
        "completed": response.completed_at is not None,
        "push": (push.destination, push.state, push.wanted_version, push.sent_version),
        "person": push.user_key.split(":", 1)[0],
    }


@pytest.mark.django_db(transaction=True)
def test_one_statement_leaves_the_rows_of_separate_statements(
    pulse: Survey, monkeypatch: pytest.MonkeyPatch
) -> None:
    at_once = answer_all(pulse, "one")
    monkeypatch.setattr(store, "SAVES_AT_ONCE", set())
    apart = answer_all(pulse, "two")

    assert rows(at_once) == rows(apart)
    assert rows(at_once)["answers"] == {
        "nps": 6,
        "channels": ["Push", "SMS"],
        "feedback": "Quick, thanks",
    }
    assert rows(at_once)["completed"] and rows(at_once)["push"][1] == "pending"
    # Delivered alike: what each push carried is its response's last version.
    drain()
    for response in (at_once, apart):
        push = Push.objects.get(response=response)
        assert (push.state, push.sent_version) == ("synced", response.answers_version)


@pytest.mark.skipif(connection.vendor not in store.SAVES_AT_ONCE, reason="one statement there")
@pytest.mark.django_db
def test_an_everyday_answer_is_one_write_on_postgresql(pulse: Survey) -> None:
    survey = Survey.objects.get(pk=pulse.pk)
    response = flow.start_response(survey, flow.LinkContext(identity={"braze_id": "w"}))
    current: dict[str, Any] = {}
    question = survey.spec.get("nps")
    assert question is not None
    with CaptureQueriesContext(connection) as captured:
        flow.save_answer(survey, response, question, 8, current)
    assert [q["sql"].split()[0] for q in captured.captured_queries] == ["WITH"]
    assert Push.objects.get(response=response).wanted_version == 1
    # A cleared answer is not an everyday one: the separate statements, in a transaction.
    with CaptureQueriesContext(connection) as captured:
        flow.save_answer(survey, response, question, EMPTY, current)
    statements = [q["sql"] for q in captured.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(statements) == 3  # the delete, the version, the outbox row
    assert Push.objects.get(response=response).wanted_version == 2


# Answers as question kinds store them: numbers, booleans, text of any script, lists of text.
# No NUL: the kinds refuse it, and PostgreSQL's JSON cannot hold it.
TEXT = st.characters(blacklist_characters="\x00")
ANSWER_VALUES = st.one_of(
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.booleans(),
    st.text(TEXT, max_size=40),
    st.lists(st.text(TEXT, max_size=12), max_size=4),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(values=st.dictionaries(st.sampled_from(["nps", "channels", "feedback"]), ANSWER_VALUES))
@pytest.mark.django_db
def test_answers_read_with_the_survey_are_the_answers_read_alone(
    pulse: Survey, values: dict[str, Any]
) -> None:
    # An answer's first read (`survey_by_slug` with the form's token) takes the response and
    # its answers in one statement, aggregated by the database as JSON: each value must come
    # back as the plain read gives it, type and all.
    response = Response.objects.create(survey=pulse)
    for key, value in values.items():
        store.upsert_answer(response.pk, key, value, timezone.now())
    survey = store.survey_by_slug(pulse.slug, response.token)
    assert survey is not None
    held = store.response_by_token(survey, response.token)
    assert held is not None and held.pk == response.pk
    read_together = store.answers_of(held)
    read_alone = store.answers(response.pk)
    assert read_together == read_alone
    assert {k: type(v) for k, v in read_together.items()} == {
        k: type(v) for k, v in read_alone.items()
    }
    # Held once: a second look asks the database again (answers change as they are saved).
    assert store.answers_of(held) == read_alone
    # A token naming no response of this survey: the survey, and no response.
    other = store.survey_by_slug(pulse.slug, "no-such-token")
    assert other is not None and store.response_by_token(other, "no-such-token") is None
