"""Question types: how each turns what a respondent submitted into a typed answer."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sounding.surveys.definition import build_spec, normalize
from sounding.surveys.questions import EMPTY, OTHER, QUESTION_TYPES, AnswerError
from sounding.surveys.spec import Question

# Pure functions: no database, the same on any.
pytestmark = pytest.mark.any_db


def ask(kind: str, **fields: Any) -> Question:
    """The question the app would read for a definition of one question."""
    definition = {"title": "T", "questions": [{"type": kind, "prompt": "Q?", **fields}]}
    return build_spec(normalize(definition)).questions[0]


def parse(q: Question, *values: str, other: str = "") -> Any:
    return q.kind.parse(q, list(values), other)


def refusal(q: Question, *values: str, other: str = "") -> str:
    with pytest.raises(AnswerError) as caught:
        parse(q, *values, other=other)
    return str(caught.value)


CHOICES = ["Email", "Push", "SMS"]
SAMPLES: dict[str, dict[str, Any]] = {
    "nps": {},
    "rating": {},
    "csat": {},
    "scale": {"min": -2, "max": 2},
    "single_choice": {"choices": CHOICES, "allow_other": True},
    "multiple_choice": {"choices": CHOICES, "allow_other": True},
    "dropdown": {"choices": CHOICES},
    "yes_no": {},
    "short_text": {},
    "long_text": {},
    "email": {},
    "number": {"min": -5, "max": 1000},
    "date": {},
}


def test_there_is_a_sample_of_every_type() -> None:
    assert set(SAMPLES) == set(QUESTION_TYPES)


# --- nothing given ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(SAMPLES))
@pytest.mark.parametrize(
    "values", [[], [""], ["   "], ["\t\n"]], ids=["none", "blank", "spaces", "ws"]
)
def test_a_blank_answer_is_empty(kind: str, values: list[str]) -> None:
    q = ask(kind, **SAMPLES[kind])
    assert parse(q, *values) is EMPTY
    assert repr(EMPTY) == "EMPTY"


def test_multiple_choice_with_only_blank_values_is_empty() -> None:
    assert parse(ask("multiple_choice", choices=CHOICES), "", " ", "") is EMPTY


# --- scores: nps, rating, csat, scale ------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "fields", "lo", "hi"),
    [
        ("nps", {}, 0, 10),
        ("rating", {}, 1, 5),
        ("csat", {}, 1, 5),
        ("scale", {"min": 1, "max": 7}, 1, 7),
        ("scale", {"min": -3, "max": 3}, -3, 3),
    ],
)
def test_a_score_is_an_int_within_its_range(
    kind: str, fields: dict[str, Any], lo: int, hi: int
) -> None:
    q = ask(kind, **fields)
    for n in range(lo, hi + 1):
        value = parse(q, str(n))
        assert value == n and type(value) is int
    message = f"Pick a number from {lo} to {hi}."
    assert refusal(q, str(lo - 1)) == message
    assert refusal(q, str(hi + 1)) == message


def test_the_nps_message_is_the_one_the_design_promises() -> None:
    assert refusal(ask("nps"), "11") == "Pick a number from 0 to 10."


@pytest.mark.parametrize("raw", ["7.5", "7.0", "seven", "1e1", "0x7", "7 8", "--7", "½"])
def test_a_score_must_be_a_whole_number(raw: str) -> None:
    assert refusal(ask("nps"), raw) == "Pick a number from 0 to 10."


def test_a_score_ignores_spaces_around_it() -> None:
    assert parse(ask("rating"), " 4 ") == 4


def test_only_the_first_value_of_a_score_counts() -> None:
    assert parse(ask("nps"), "9", "3") == 9


# --- single choice and dropdown ------------------------------------------------------------


@pytest.mark.parametrize("kind", ["single_choice", "dropdown"])
def test_a_single_choice_is_one_of_the_choices(kind: str) -> None:
    q = ask(kind, choices=[" Free", "Pro", "Enterprise"])
    assert parse(q, "Free") == "Free"
    assert parse(q, " Pro ") == "Pro"
    assert refusal(q, "pro") == "Pick one of the choices offered."
    assert refusal(q, "Gold") == "Pick one of the choices offered."
    assert refusal(q, OTHER, other="Gold") == "Pick one of the choices offered."


@pytest.mark.parametrize("kind", ["single_choice", "dropdown"])
def test_other_stores_the_text_typed(kind: str) -> None:
    q = ask(kind, choices=["Free", "Pro"], allow_other=True)
    assert parse(q, OTHER, other="  Reseller ") == "Reseller"
    assert parse(q, OTHER, other="Pro") == "Pro"
    assert parse(q, "Pro", other="ignored") == "Pro"


def test_other_without_text_asks_for_it_by_its_label() -> None:
    assert refusal(ask("single_choice", choices=["A"], allow_other=True), OTHER) == (
        "Please say what “Other” is."
    )
    q = ask("dropdown", choices=["A"], allow_other=True, other_label="Somewhere else")
    assert refusal(q, OTHER, other="   ") == "Please say what “Somewhere else” is."


def test_other_text_is_at_most_255_characters() -> None:
    q = ask("single_choice", choices=["A"], allow_other=True)
    assert parse(q, OTHER, other="x" * 255) == "x" * 255
    assert refusal(q, OTHER, other="x" * 256) == "Keep it to 255 characters or fewer."


# --- multiple choice -----------------------------------------------------------------------


def test_multiple_choice_stores_a_list_in_the_order_offered() -> None:
    q = ask("multiple_choice", choices=CHOICES)
    assert parse(q, "SMS", "Email") == ["Email", "SMS"]
    assert parse(q, "Push") == ["Push"]
    assert parse(q, "SMS", " Push ", "Email") == CHOICES


def test_multiple_choice_keeps_each_choice_once() -> None:
    assert parse(ask("multiple_choice", choices=CHOICES), "Push", "Push", " Push") == ["Push"]


def test_multiple_choice_refuses_what_was_not_offered() -> None:
    q = ask("multiple_choice", choices=CHOICES)
    assert refusal(q, "Email", "Fax") == "Pick only among the choices offered."
    assert refusal(q, "Email", OTHER, other="Fax") == "Pick only among the choices offered."


def test_multiple_choice_appends_the_other_text() -> None:
    q = ask("multiple_choice", choices=CHOICES, allow_other=True)
    assert parse(q, OTHER, "SMS", other=" A podcast ") == ["SMS", "A podcast"]
    assert parse(q, OTHER, other="A podcast") == ["A podcast"]
    assert parse(q, "Email", other="ignored without Other") == ["Email"]
    assert refusal(q, "Email", OTHER) == "Please say what “Other” is."


def test_other_text_equal_to_a_choice_counts_as_that_choice() -> None:
    q = ask("multiple_choice", choices=CHOICES, allow_other=True)
    assert parse(q, "Email", OTHER, other="SMS") == ["Email", "SMS"]
    assert parse(q, "Push", OTHER, other="Email") == ["Email", "Push"]
    assert parse(q, "Push", OTHER, other="Push") == ["Push"]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(CHOICES), min_size=1))
def test_the_same_picks_in_any_order_store_the_same_list(picked: list[str]) -> None:
    value = parse(ask("multiple_choice", choices=CHOICES), *picked)
    assert value == [c for c in CHOICES if c in picked]


# --- yes/no ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "value"),
    [("yes", True), ("Yes", True), (" TRUE ", True), ("1", True), ("y", True)]
    + [("no", False), ("No", False), ("false", False), ("0", False), ("N", False)],
)
def test_yes_no_is_a_boolean(raw: str, value: bool) -> None:
    assert parse(ask("yes_no"), raw) is value


@pytest.mark.parametrize("raw", ["maybe", "oui", "2", "yes please"])
def test_yes_no_refuses_anything_else(raw: str) -> None:
    assert refusal(ask("yes_no"), raw) == "Answer yes or no."


# --- text ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "limit", "message"),
    [
        ("short_text", 255, "Keep it to 255 characters or fewer."),
        ("long_text", 5000, "Keep it to 5,000 characters or fewer."),
    ],
)
def test_text_is_trimmed_and_limited(kind: str, limit: int, message: str) -> None:
    q = ask(kind)
    assert parse(q, "  Ada \n") == "Ada"
    assert parse(q, "é" * limit) == "é" * limit
    assert parse(q, "  " + "x" * limit + "  ") == "x" * limit
    assert refusal(q, "x" * (limit + 1)) == message


def test_long_text_keeps_its_lines() -> None:
    assert parse(ask("long_text"), "First.\r\n\nSecond.") == "First.\r\n\nSecond."


@pytest.mark.parametrize("kind", ["short_text", "long_text", "email"])
def test_text_with_a_nul_character_is_refused(kind: str) -> None:
    assert refusal(ask(kind), "ada\x00@example.com") == (
        "The text contains characters that cannot be stored."
    )


# --- email ---------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["ada@example.com", " Ada.Lovelace+news@mail.example.org "])
def test_an_email_address_is_stored_trimmed(raw: str) -> None:
    assert parse(ask("email"), raw) == raw.strip()


@pytest.mark.parametrize(
    "raw", ["ada", "ada@", "@example.com", "ada@example", "a b@example.com", "ada@@example.com"]
)
def test_a_malformed_email_address_is_refused(raw: str) -> None:
    assert refusal(ask("email"), raw) == "Enter an email address like name@example.com."


def test_an_email_address_is_at_most_254_characters() -> None:
    address = "a" * 64 + "@" + ".".join(["b" * 63, "c" * 63, "d" * 57]) + ".com"
    assert len(address) == 254
    assert parse(ask("email"), address) == address
    assert refusal(ask("email"), "a" + address) == "Keep it to 254 characters or fewer."


# --- number --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("12", 12),
        ("12.0", 12),
        ("1.2e1", 12),
        ("+4", 4),
        ("-3", -3),
        ("0", 0),
        ("1 000", 1000),
        ("9007199254740991", 2**53 - 1),
    ],
)
def test_a_whole_number_is_an_int(raw: str, value: int) -> None:
    result = parse(ask("number"), raw)
    assert result == value and type(result) is int


@pytest.mark.parametrize(
    ("raw", "value"),
    [("3.5", 3.5), (".5", 0.5), ("-0.25", -0.25), ("2.5e-3", 0.0025), ("1e20", 1e20)],
)
def test_a_fraction_is_a_float(raw: str, value: float) -> None:
    result = parse(ask("number"), raw)
    assert result == value and type(result) is float


@pytest.mark.parametrize(
    ("raw", "value"), [("3,5", 3.5), ("-3,25", -3.25), (" 0,5 ", 0.5), ("1,5000", 1.5)]
)
def test_a_decimal_comma_is_read_as_a_decimal_point(raw: str, value: float) -> None:
    assert parse(ask("number"), raw) == value


@pytest.mark.parametrize(
    "raw",
    ["NaN", "nan", "inf", "-Infinity", "1e400", "-1e999", "0x10", "1.000,5", "ten"]
    + ["12abc", "1_000", "--1", "1e", "."],
)
def test_what_is_not_a_finite_number_is_refused(raw: str) -> None:
    assert refusal(ask("number"), raw) == "Enter a number."


@pytest.mark.parametrize("raw", ["1,000", "12,345", "1,000,000", "-2,500"])
def test_thousands_separators_are_refused_rather_than_guessed(raw: str) -> None:
    message = "Enter the number without thousands separators."
    assert refusal(ask("number"), raw) == message


@pytest.mark.parametrize(
    ("fields", "inside", "outside", "message"),
    [
        (
            {"min": 1, "max": 1000},
            ["1", "1000", "500.5"],
            ["0", "1000.5", "-1"],
            "Enter a number from 1 to 1000.",
        ),
        ({"min": 0.5}, ["0.5", "1e9"], ["0.49", "-3"], "Enter a number of at least 0.5."),
        ({"max": 2.5}, ["2.5", "-1e9"], ["2.51", "3"], "Enter a number of at most 2.5."),
        ({"min": -1.0, "max": 1.0}, ["-1", "1"], ["1.01"], "Enter a number from -1 to 1."),
        ({"min": 3, "max": 3}, ["3", "3.0"], ["2", "4"], "Enter a number from 3 to 3."),
    ],
)
def test_a_number_stays_within_min_and_max(
    fields: dict[str, Any], inside: list[str], outside: list[str], message: str
) -> None:
    q = ask("number", **fields)
    for raw in inside:
        parse(q, raw)
    for raw in outside:
        assert refusal(q, raw) == message


@settings(max_examples=200, deadline=None)
@given(st.integers(-(2**53) + 1, 2**53 - 1))
def test_an_int_reads_back_as_the_same_int(n: int) -> None:
    value = parse(ask("number"), str(n))
    assert value == n and type(value) is int


@settings(max_examples=200, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: not x.is_integer()))
def test_a_float_reads_back_as_the_same_float(x: float) -> None:
    value = parse(ask("number"), repr(x))
    assert value == x and type(value) is float


# --- date ----------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["2026-11-24", " 2024-02-29 ", "0001-01-01", "9999-12-31"])
def test_a_date_is_stored_as_yyyy_mm_dd(raw: str) -> None:
    assert parse(ask("date"), raw) == raw.strip()


@pytest.mark.parametrize(
    "raw",
    ["2026-02-30", "2025-02-29", "2026-13-01", "2026-00-10", "2026-1-5", "24/11/2026"]
    + ["20261124", "2026-11-24T10:00", "2026-11-24Z", "tomorrow", "2026-11"],
)
def test_an_invalid_date_is_refused(raw: str) -> None:
    assert refusal(ask("date"), raw) == "Enter a date as YYYY-MM-DD, for example 2026-11-24."


# --- every type ----------------------------------------------------------------------------

STORED = {
    "nps": 0,
    "rating": 5,
    "csat": 3,
    "scale": -2,
    "single_choice": "SMS",
    "multiple_choice": ["Email", "SMS"],
    "dropdown": "Push",
    "yes_no": False,
    "short_text": "Ada",
    "long_text": "Line one\nLine two",
    "email": "ada@example.com",
    "number": 2.5,
    "date": "2026-11-24",
}


@pytest.mark.parametrize("kind", list(SAMPLES))
def test_a_stored_answer_submits_again_as_itself(kind: str) -> None:
    q = ask(kind, **SAMPLES[kind])
    assert parse(q, *q.kind.form_values(q, STORED[kind])) == STORED[kind]
    assert q.kind.form_values(q, EMPTY) == [] and q.kind.form_values(q, None) == []


def test_a_stored_other_answer_shows_as_other() -> None:
    q = ask("multiple_choice", **SAMPLES["multiple_choice"])
    assert q.kind.form_values(q, ["Email", "A podcast"]) == ["Email", OTHER]


REFUSED = [
    ("nps", ["-1"]),
    ("rating", ["6"]),
    ("csat", ["0"]),
    ("scale", ["3"]),
    ("single_choice", ["Fax"]),
    ("single_choice", [OTHER]),
    ("multiple_choice", ["Fax"]),
    ("dropdown", [OTHER]),
    ("yes_no", ["perhaps"]),
    ("short_text", ["x" * 256]),
    ("long_text", ["x" * 5001]),
    ("long_text", ["\x00"]),
    ("email", ["ada"]),
    ("number", ["NaN"]),
    ("number", ["1001"]),
    ("date", ["2026-02-30"]),
]


@pytest.mark.parametrize(("kind", "values"), REFUSED)
def test_every_refusal_is_a_sentence_for_a_person(kind: str, values: list[str]) -> None:
    message = refusal(ask(kind, **SAMPLES[kind]), *values)
    # A capitalised sentence with no placeholder left and no internal name (they hold "_").
    assert re.fullmatch(r"[A-Z][^%{}_]*\.", message), message


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(list(SAMPLES)),
    st.lists(st.text(max_size=30), max_size=3),
    st.text(max_size=30),
)
def test_any_input_gives_an_answer_empty_or_an_answer_error(
    kind: str, values: list[str], other: str
) -> None:
    q = ask(kind, **SAMPLES[kind])
    try:
        value = parse(q, *values, other=other)
    except AnswerError:
        return
    assert value is EMPTY or isinstance(value, bool | int | float | str | list)
