"""Properties over arbitrary input, beyond the valid definitions and sample questions that
tests/test_definition.py and tests/test_question_types.py already cover:

- `normalize` never raises anything but DefinitionError, whatever JSON it is given (skip
  logic and translations included), and what it accepts it gives back unchanged;
- every question type's `parse`, on any list of strings, gives an answer, EMPTY or an
  AnswerError, and an accepted answer submits again (through `form_values`) as itself.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sounding.surveys.conditions import OPERATORS
from sounding.surveys.definition import DefinitionError, build_spec, normalize
from sounding.surveys.questions import EMPTY, OTHER, QUESTION_TYPES, AnswerError
from sounding.surveys.spec import Question
from sounding.surveys.translations import QUESTION_TEXTS, SURVEY_TEXTS
from tests.test_definition import questions as valid_questions

# Pure functions: no database, the same on any.
pytestmark = pytest.mark.any_db

PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Anything json.loads can give back (no NaN: the API and the import form refuse it first),
# including the text no database stores (NUL, lone surrogates).
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)

# Mostly text a database can keep, so that the checks after the storable one are reached too.
texts = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12)
FIELD_NAMES = sorted(
    {"key", "type", "prompt", "help", "required", "show_if", "colour"}.union(
        *(kind.fields for kind in QUESTION_TYPES.values())
    )
)
KEYS = ["a", "b", "c", "nps", "d", "e", "lang"]
LANGUAGES = ["fr", "pt-BR", "en", "de", "xx-", "FR", ""]


def either(plausible: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly a value of the right shape, one time in twenty anything at all: rare enough
    that many definitions get through to the checks that come last."""
    # Not n == 0: hypothesis favours the ends of a range, and junk should stay rare.
    return st.integers(0, 19).flatmap(lambda n: json_values if n == 7 else plausible)


@st.composite
def hostile_questions(draw: st.DrawFn, earlier: list[dict[str, Any]]) -> dict[str, Any]:
    """A question close enough to valid to reach the type checks, conditions and the rest."""
    kind = draw(st.sampled_from(list(QUESTION_TYPES)))
    q: dict[str, Any] = {
        "type": draw(either(st.just(kind))),
        "prompt": draw(either(texts.filter(str.strip))),
    }
    if draw(st.integers(0, 3)) > 0:
        q["key"] = draw(either(st.sampled_from(KEYS)))
    if "choices" in QUESTION_TYPES[kind].fields:
        q["choices"] = draw(plausible_field("choices"))
    own = sorted(QUESTION_TYPES[kind].fields | {"help", "required"})
    names = draw(st.lists(either(st.sampled_from(own)), max_size=4, unique_by=repr))
    for name in names:
        if name in FIELD_NAMES and name not in ("type", "prompt", "key", "show_if"):
            q[name] = draw(plausible_field(name))
    if earlier and draw(st.booleans()):
        target = draw(st.sampled_from(earlier))
        q["show_if"] = draw(either(condition_on(target)))
    return q


def condition_on(target: dict[str, Any]) -> st.SearchStrategy[Any]:
    """A `show_if` on an earlier question, with a value of the kind its answers have."""
    kind = target.get("type")
    if kind in ("single_choice", "multiple_choice", "dropdown"):
        given = target.get("choices")
        value: st.SearchStrategy[Any] = st.sampled_from(
            [c.strip() for c in given if isinstance(c, str)] or ["A"]
            if isinstance(given, list)
            else ["A"]
        )
    elif kind == "yes_no":
        value = st.booleans()
    elif kind in ("short_text", "long_text", "email", "date"):
        value = texts
    else:
        value = st.integers(-2, 12) | st.floats(-2, 12)

    def rule(op: str) -> st.SearchStrategy[dict[str, Any]]:
        values = st.lists(value, min_size=1, max_size=3) if op == "one_of" else value
        return values.map(lambda v: {"question": target["key"], "op": op, "value": v})

    return st.sampled_from(OPERATORS).flatmap(rule)


def plausible_field(name: str) -> st.SearchStrategy[Any]:
    shapes: dict[str, st.SearchStrategy[Any]] = {
        "choices": st.lists(st.sampled_from(["A", "B", " C ", "D"]), min_size=1, unique=True),
        "labels": st.lists(texts.filter(str.strip), min_size=5, max_size=5),
        "min": st.integers(-3, 3) | st.floats(-5, 5) | st.none(),
        "max": st.integers(0, 30) | st.floats(-5, 50) | st.none(),
        "required": st.booleans(),
        "allow_other": st.booleans(),
    }
    return either(shapes.get(name, texts))


@st.composite
def hostile_translations(draw: st.DrawFn, keys: list[str]) -> Any:
    def question_texts() -> st.SearchStrategy[Any]:
        names = [*QUESTION_TEXTS, "choices", "labels", "colour"]
        return st.dictionaries(
            st.sampled_from(names),
            either(texts | st.lists(texts, max_size=5)),
            max_size=3,
        )

    entry = st.fixed_dictionaries(
        {},
        optional={
            **{name: either(texts) for name in SURVEY_TEXTS},
            "questions": either(
                st.dictionaries(st.sampled_from([*keys, "gone"]), either(question_texts()))
            ),
        },
    )
    return draw(either(st.dictionaries(st.sampled_from(LANGUAGES), either(entry), max_size=3)))


@st.composite
def hostile_definitions(draw: st.DrawFn) -> Any:
    data: dict[str, Any] = {"title": draw(either(texts.filter(str.strip)))}
    qs: list[Any] = []
    for _ in range(draw(st.integers(0, 4))):
        earlier = [q for q in qs if isinstance(q, dict) and isinstance(q.get("key"), str)]
        qs.append(draw(either(hostile_questions(earlier))))
    data["questions"] = qs if draw(st.integers(0, 19)) != 7 else draw(json_values)
    for name in ("intro", "thank_you", "colour"):
        if draw(st.integers(0, 9)) == 7:
            data[name] = draw(either(texts))
    if draw(st.booleans()):
        data["language"] = draw(either(st.sampled_from(LANGUAGES)))
    if draw(st.booleans()):
        keys = [q["key"] for q in qs if isinstance(q, dict) and isinstance(q.get("key"), str)]
        data["translations"] = draw(hostile_translations(keys))
    return data


def accepted(data: Any) -> dict[str, Any] | None:
    try:
        return normalize(data)
    except DefinitionError as error:
        # Every problem names where it is, so an author can find it.
        assert error.problems and all(p.startswith("$") and m for p, m in error.problems)
        return None


@PROPERTY
@given(json_values)
def test_normalize_refuses_any_json_with_a_definition_error_only(data: Any) -> None:
    accepted(data)


@PROPERTY
@given(hostile_definitions())
def test_normalize_refuses_near_valid_definitions_with_a_definition_error_only(
    data: Any,
) -> None:
    out = accepted(data)
    if out is not None:
        assert normalize(out) == out
        assert normalize(json.loads(json.dumps(out))) == out
        build_spec(out)


def test_the_hostile_definitions_reach_skip_logic_and_translations() -> None:
    # The strategy is only worth its name if some of what it makes is accepted with both.
    seen = {"show_if": 0, "translations": 0}

    @settings(max_examples=400, deadline=None, database=None, derandomize=True)
    @given(hostile_definitions())
    def count(data: Any) -> None:
        out = accepted(data)
        if out is None:
            return
        seen["translations"] += bool(out.get("translations"))
        seen["show_if"] += any("show_if" in q for q in out["questions"])

    count()
    assert seen["show_if"] > 0 and seen["translations"] > 0, seen


BROKEN_TARGETS = {
    "a range that is text": {"type": "number", "min": "x"},
    "a range that is a list": {"type": "scale", "min": [1]},
    "choices that are a number": {"type": "single_choice", "choices": 5},
    "choices that are null": {"type": "dropdown", "choices": None},
}


@pytest.mark.parametrize("target", BROKEN_TARGETS.values(), ids=BROKEN_TARGETS.keys())
def test_a_condition_on_a_broken_question_is_a_definition_error(target: dict[str, Any]) -> None:
    data = {
        "title": "T",
        "questions": [
            {"key": "a", "prompt": "P", **target},
            {
                "key": "b",
                "type": "yes_no",
                "prompt": "Q",
                "show_if": {"question": "a", "op": "equals", "value": 5},
            },
        ],
    }
    with pytest.raises(DefinitionError) as caught:
        normalize(data)
    assert "$.questions[0]" in caught.value.problems[0][0]


@pytest.mark.parametrize(("value", "accepted_once"), [(3, True), (12, False)])
def test_a_condition_on_a_scale_left_at_its_default_range_uses_that_range(
    value: int, accepted_once: bool
) -> None:
    # Found by the property above: 12 passed against a scale given no range, and the stored
    # definition (range 1 to 5 written out) was then refused.
    data = {
        "title": "T",
        "questions": [
            {"key": "a", "type": "scale", "prompt": "P"},
            {
                "key": "b",
                "type": "yes_no",
                "prompt": "Q",
                "show_if": {"question": "a", "op": "equals", "value": value},
            },
        ],
    }
    out = accepted(data)
    assert (out is not None) is accepted_once
    if out is not None:
        assert normalize(out) == out


# --- answers ---------------------------------------------------------------------------------


def ask(raw: dict[str, Any]) -> Question:
    return build_spec(normalize({"title": "T", "questions": [raw]})).questions[0]


def inputs_for(q: Question) -> st.SearchStrategy[str]:
    """What people type or tick, and what they never would, for one question."""
    low = int(q.min) if q.min is not None else -50
    high = int(q.max) if q.max is not None else 50
    likely = [
        st.integers(low - 2, high + 2).map(str),
        st.floats(allow_nan=False).map(str),
        st.dates().map(lambda d: d.isoformat()),
        st.emails(),
        st.sampled_from(["yes", "no", "Y", " true ", "0", OTHER, "1,5", "1,000", "-0"]),
        st.text(max_size=20),
        st.text(min_size=250, max_size=260),
    ]
    if q.choices:
        likely.append(st.sampled_from([*q.choices, f" {q.choices[0]} "]))
    return st.one_of(*likely)


@st.composite
def submissions(draw: st.DrawFn) -> tuple[Question, list[str], str]:
    q = ask(draw(valid_questions()))
    values = draw(st.lists(inputs_for(q), max_size=3))
    other = draw(st.text(max_size=12) | st.sampled_from(["", " ", "A podcast", *q.choices]))
    return q, values, other


def other_text(q: Question, value: Any) -> str:
    """The "Other" text a stored answer holds, which the form sends in its own field."""
    given_values = value if isinstance(value, list) else [value]
    return next((v for v in given_values if isinstance(v, str) and v not in q.choices), "")


@PROPERTY
@given(submissions())
def test_any_submission_is_an_answer_empty_or_an_answer_error(
    submission: tuple[Question, list[str], str],
) -> None:
    q, values, other = submission
    try:
        value = q.kind.parse(q, values, other)
    except AnswerError as error:
        assert str(error)
        return
    if value is EMPTY:
        return
    json.dumps(value, allow_nan=False)  # storable as it is
    again = q.kind.parse(q, q.kind.form_values(q, value), other_text(q, value))
    assert type(again) is type(value) and again == value
