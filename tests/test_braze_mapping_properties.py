"""Whatever a respondent can answer, what Sounding sends is something Braze accepts as is.

Generated answers of every question type go through the real parcel builder; the stand-in's
rules (braze.md in code) must accept every object, with the Braze type we promise."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sounding.answers.models import Response
from sounding.delivery.protocol import Item
from sounding.destinations.braze import mapping, standin_rules
from sounding.destinations.braze.client import request_body
from sounding.destinations.braze.destination import parcel_for
from sounding.destinations.braze.models import SurveyBraze
from sounding.surveys.models import Survey
from sounding.surveys.spec import Question
from tests.conftest import EVERY_TYPE

# Pure functions, on models never saved: no database, the same on any.
pytestmark = pytest.mark.any_db

SURVEY = Survey(pk=4242, slug="props-abc123", title="Customer pulse", definition=EVERY_TYPE)
SPEC = SURVEY.spec
# A typed question never carries NUL (the respondent path refuses it), anything else goes.
TEXT = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)))
CHANNELS = ["Email", "Push", "SMS"]

ANSWERS: dict[str, st.SearchStrategy[Any]] = {
    "nps": st.integers(0, 10),
    "rating": st.integers(1, 5),
    "csat": st.integers(1, 5),
    "effort": st.integers(1, 7),
    "plan": st.sampled_from(["Free", "Pro", "Enterprise"]),
    "channels": st.lists(st.sampled_from(CHANNELS), unique=True).flatmap(
        lambda picked: st.one_of(st.just(picked), TEXT.map(lambda t: [*picked, t]))
    ),
    "country": st.sampled_from(["France", "Germany", "Spain"]),
    "renew": st.booleans(),
    "nickname": TEXT.filter(lambda t: len(t) <= 255),
    # Short and long: past Braze's 255 characters the text must be cut, not refused.
    "feedback": st.one_of(TEXT, st.text("ab ✓é", min_size=250, max_size=1200)),
    "contact": st.emails(),
    "seats": st.one_of(st.integers(1, 1000), st.floats(1, 1000, allow_nan=False)),
    "since": st.dates(date(1900, 1, 1), date(2100, 12, 31)).map(date.isoformat),
}
BRAZE_TYPE = {
    "nps": "number",
    "rating": "number",
    "csat": "number",
    "effort": "number",
    "seats": "number",
    "renew": "boolean",
    "channels": "array",
    "since": "time",
}
NAME = TEXT.filter(lambda name: mapping.check_name(name) is None)


@st.composite
def answered(draw: st.DrawFn) -> dict[str, Any]:
    keys = draw(st.lists(st.sampled_from(sorted(ANSWERS)), unique=True, min_size=1))
    return {key: draw(ANSWERS[key]) for key in keys}


def item(answers: dict[str, Any]) -> Item:
    now = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    response = Response(
        pk=1, survey=SURVEY, token="tok", identity_kind="braze_id", identity_value="u-1",
        identities={"braze_id": "u-1"}, completed_at=now,
    )  # fmt: skip
    return Item(
        push_id=1,
        response=response,
        survey=SURVEY,
        answers=answers,
        answered_at={key: now for key in answers},
        version=1,
        acknowledged={},
    )


@settings(max_examples=300, deadline=None)
@given(answers=answered(), names=st.dictionaries(st.sampled_from(sorted(ANSWERS)), NAME))
def test_every_answer_becomes_an_object_braze_accepts_with_the_promised_type(
    answers: dict[str, Any], names: dict[str, str]
) -> None:
    if mapping.name_problems(SPEC, names):
        return  # refused when the author saves the names: never sent
    config = SurveyBraze(
        survey=SURVEY,
        enabled=True,
        attribute_names=names,
        per_answer_events=True,
        completion_event=True,
    )
    parcel = parcel_for(item(answers), config)
    body, _ = request_body(parcel.objects)
    checked = standin_rules.check_body(body)
    assert checked.errors == [], (checked.errors, body)
    (update,) = checked.attributes
    assert update.update_existing_only is True
    effective = mapping.attribute_names(SPEC, names)
    for key, value in answers.items():
        change = update.changes[effective[key]]
        expected = BRAZE_TYPE.get(key, "string")
        # Braze files a string that reads as a date as a time, whatever question it answers.
        looks_like_time = expected == "string" and standin_rules.is_iso_time(change.value)
        assert change.kind == expected or looks_like_time, (key, value, change)
    assert len(checked.events) == len(answers) + 1  # one per answer, one on completion


# --- Whatever the database holds: the mapping never raises -----------------------------------

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**62, max_value=2**80).map(lambda n: n * (-1) ** (n % 2)),
    st.floats(),  # NaN and both infinities included
    st.text(),  # unpaired surrogates and NUL included
    st.integers(256, 600).map(lambda n: "é" * n),
    st.sampled_from(["2026-11-24", "2026-02-30", "yes", "Pro", "9"]),
)
JSON_ANY = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=20,
)
# Built, not drawn: drawing a structure this deep or this long is what would take the time.
NESTED = st.integers(1, 2000).map(lambda depth: _nested(depth))
MANY = st.integers(501, 520).map(lambda n: [f"choice {i}" for i in range(n)])
STORED = st.one_of(JSON_ANY, NESTED, MANY)
QUESTIONS = st.sampled_from(SPEC.questions)


def _nested(depth: int) -> list[Any]:
    value: list[Any] = ["deep"]
    for _ in range(depth):
        value = [value]
    return value


def _encodable(body: Any) -> bytes:
    # As `outbound.post_json` sends it: strict JSON, UTF-8.
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


@settings(max_examples=400, deadline=None)
@given(question=QUESTIONS, value=STORED)
def test_any_stored_value_maps_to_a_value_braze_accepts_or_is_left_out_with_a_note(
    question: Question, value: Any
) -> None:
    notes: list[str] = []
    mapped = mapping.attribute_value(question, value, notes, "Name")
    if mapped is mapping.SKIP:
        assert any("Name: not sent" in note for note in notes)
        return
    _encodable(mapped)
    change = standin_rules.attribute_change("Name", mapped)
    if value is not None:
        expected = BRAZE_TYPE.get(question.key, "string")
        looks_like_time = isinstance(mapped, str) and standin_rules.is_iso_time(mapped)
        assert change.kind == expected or looks_like_time, (value, change)


@settings(max_examples=200, deadline=None)
@given(answers=st.dictionaries(st.sampled_from(sorted(ANSWERS)), STORED, min_size=1))
def test_any_stored_answers_build_a_request_braze_accepts_whole(answers: dict[str, Any]) -> None:
    config = SurveyBraze(survey=SURVEY, enabled=True, per_answer_events=True, completion_event=True)
    parcel = parcel_for(item(answers), config)
    body, _ = request_body(parcel.objects)
    _encodable(body)
    checked = standin_rules.check_body(body)
    assert checked.errors == [], (checked.errors, body)
    sent = checked.attributes[0].changes if checked.attributes else {}
    for key, value in answers.items():
        name = SPEC.get(key).prompt
        if value is not None and name not in sent:
            assert f"{name}: not sent" in "; ".join(parcel.notes)
