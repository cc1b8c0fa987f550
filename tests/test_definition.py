"""The survey definition format: normalize(), keys made from prompts, problems, build_spec."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sounding import destinations
from sounding.api.errors import INVALID_DEFINITION
from sounding.surveys.definition import (
    KEY_PATTERN,
    MAX_HIDDEN_FIELDS,
    MAX_QUESTIONS,
    DefinitionError,
    build_spec,
    key_from_prompt,
    normalize,
    reserved_keys,
)
from sounding.surveys.questions import CSAT_LABELS, EMPTY, QUESTION_TYPES
from sounding.surveys.spec import Question, SurveySpec
from tests.conftest import EVERY_TYPE

# Pure functions: no database, the same on any.
pytestmark = pytest.mark.any_db

DOC = Path(__file__).resolve().parent.parent / "docs" / "survey-definition.md"
TYPE_NAMES = ", ".join(QUESTION_TYPES)


def survey(*questions: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"title": "Pulse", **fields, "questions": list(questions)}


def problems(data: Any) -> list[tuple[str, str]]:
    with pytest.raises(DefinitionError) as caught:
        normalize(data)
    return caught.value.problems


def only_question(**raw: Any) -> dict[str, Any]:
    return normalize(survey({"prompt": "Tell us", **raw}))["questions"][0]


def doc_json_after(heading: str, nth: int = 0) -> Any:
    """The nth ```json block under a heading of docs/survey-definition.md."""
    section = DOC.read_text(encoding="utf-8").split(f"\n## {heading}\n", 1)[1].split("\n## ")[0]
    return json.loads(re.findall(r"```json\n(.*?)```", section, re.S)[nth])


# --- normalize(): every type, defaults made explicit --------------------------------------

COMMON = {"key": "tell_us", "prompt": "Tell us", "help": "", "required": False}
CHOICE_DEFAULTS = {"choices": ["A", "B"], "allow_other": False, "other_label": "Other"}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            {"type": "nps"},
            {"min_label": "Not at all likely", "max_label": "Extremely likely"},
        ),
        ({"type": "rating"}, {"min_label": "", "max_label": ""}),
        ({"type": "csat"}, {"labels": list(CSAT_LABELS)}),
        ({"type": "scale"}, {"min": 1, "max": 5, "min_label": "", "max_label": ""}),
        ({"type": "single_choice", "choices": ["A", "B"]}, CHOICE_DEFAULTS),
        ({"type": "multiple_choice", "choices": ["A", "B"]}, CHOICE_DEFAULTS),
        ({"type": "dropdown", "choices": ["A", "B"]}, CHOICE_DEFAULTS),
        ({"type": "yes_no"}, {}),
        ({"type": "short_text"}, {}),
        ({"type": "long_text"}, {}),
        ({"type": "email"}, {}),
        ({"type": "number"}, {}),
        ({"type": "date"}, {}),
    ],
    ids=lambda v: v.get("type", "defaults"),
)
def test_normalize_writes_out_every_default_of_each_type(
    raw: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert only_question(**raw) == {**COMMON, "type": raw["type"], **expected}


def test_the_thirteen_types_are_all_covered() -> None:
    assert len(QUESTION_TYPES) == 13
    assert {q["type"] for q in EVERY_TYPE["questions"]} == set(QUESTION_TYPES)


def test_normalize_keeps_the_values_given() -> None:
    out = only_question(
        key="effort",
        type="scale",
        help="Be honest",
        required=True,
        min=-3,
        max=3,
        min_label="Hard",
        max_label="Easy",
    )
    assert out == {
        "key": "effort",
        "type": "scale",
        "prompt": "Tell us",
        "help": "Be honest",
        "required": True,
        "min": -3,
        "max": 3,
        "min_label": "Hard",
        "max_label": "Easy",
    }


def test_optional_number_fields_are_kept_only_when_given() -> None:
    out = only_question(type="number", min=0.5, max=None, placeholder="e.g. 3")
    assert out == {**COMMON, "type": "number", "min": 0.5, "max": None, "placeholder": "e.g. 3"}


def test_survey_fields_get_their_defaults() -> None:
    assert normalize({"title": "  Pulse  "}) == {
        "title": "Pulse",
        "intro": "",
        "thank_you": "",
        "language": "en",
        "hidden_fields": [],
        "questions": [],
    }


def test_null_or_empty_optional_texts_mean_the_default() -> None:
    out = normalize(
        survey(
            {"type": "yes_no", "prompt": "Renew?", "help": None, "key": None},
            intro=None,
            thank_you=None,
            language="",
        )
    )
    assert (out["intro"], out["thank_you"], out["language"]) == ("", "", "en")
    assert out["questions"][0]["help"] == ""
    assert out["questions"][0]["key"] == "renew"


def test_prompts_and_choices_are_stored_trimmed() -> None:
    out = only_question(prompt="  Which plan?\n", type="dropdown", choices=[" Free", "Pro  "])
    assert out["prompt"] == "Which plan?"
    assert out["choices"] == ["Free", "Pro"]


def test_normalize_does_not_change_its_input() -> None:
    data = copy.deepcopy(EVERY_TYPE)
    normalize(data)
    assert data == EVERY_TYPE


def test_a_normalized_definition_normalizes_to_itself() -> None:
    once = normalize(EVERY_TYPE)
    assert normalize(once) == once


def test_the_documented_example_is_valid_and_has_every_type() -> None:
    example = doc_json_after("A full example")
    out = normalize(example)
    assert sorted(q["type"] for q in out["questions"]) == sorted(QUESTION_TYPES)
    assert normalize(out) == out


def test_the_documented_stored_question_is_what_normalize_stores() -> None:
    stored = doc_json_after("What the server stores")
    assert only_question(type="nps", prompt=stored["prompt"]) == stored


def test_the_documented_answers_parse_for_the_documented_example() -> None:
    spec = build_spec(normalize(doc_json_after("A full example")))
    answers = doc_json_after("A full example", 1)
    assert set(answers) == set(spec.keys)
    for key, value in answers.items():
        q = spec.get(key)
        assert q is not None
        if q.type == "multiple_choice":
            picked = [v if v in q.choices else "__other__" for v in value]
            other = next((v for v in value if v not in q.choices), "")
            assert q.kind.parse(q, picked, other) == value
        else:
            assert q.kind.parse(q, q.kind.form_values(q, value)) == value


def test_the_documented_type_table_matches_the_code() -> None:
    text = DOC.read_text(encoding="utf-8")
    all_fields = set().union(*(kind.fields for kind in QUESTION_TYPES.values()))
    documented: dict[str, set[str]] = {}
    for name, cell in re.findall(r"^\| `([a-z_]+)` \| (.*?) \|", text, re.M):
        if name in QUESTION_TYPES:
            same = re.match(r"the same as `([a-z_]+)`", cell)
            tokens = set(re.findall(r"`([a-z_]+)`", cell))
            documented[name] = documented[same[1]] if same else tokens & all_fields
    assert documented == {name: set(kind.fields) for name, kind in QUESTION_TYPES.items()}


def test_the_documented_reserved_keys_match_the_code() -> None:
    section = DOC.read_text(encoding="utf-8").split("### Reserved keys\n", 1)[1]
    text = re.split(r"\smean\s", section, maxsplit=1)[0]
    assert set(re.findall(r"`([a-z_]+)`", text)) == reserved_keys()


# --- keys made from prompts --------------------------------------------------------------


@pytest.mark.parametrize(
    ("prompt", "key"),
    [
        ("How likely are you to recommend us?", "how_likely_are_you_to_recommend_us"),
        ("Quelle est votre ville préférée ?", "quelle_est_votre_ville_preferee"),
        ("Ça va, Zoë?", "ca_va_zoe"),
        ("1st impression?", "q_1st_impression"),
        ("2026", "q_2026"),
        ("👍", "question"),
        ("¿¿¿", "question"),
        ("Lang", "lang_answer"),
        ("R", "r_answer"),
        ("Preview!", "preview_answer"),
        ("user email", "user_email_answer"),
        ("  NPS  ", "nps"),
    ],
)
def test_a_key_is_made_from_the_prompt(prompt: str, key: str) -> None:
    assert key_from_prompt(prompt, set()) == key


def test_documented_keys_are_what_the_code_makes() -> None:
    section = DOC.read_text(encoding="utf-8").split("### Keys made from the prompt\n", 1)[1]
    rows = re.findall(r"^\| `(.+?)` \| `([a-z0-9_]+)` \|$", section.split("###")[0], re.M)
    assert len(rows) >= 4
    for prompt, key in rows:
        assert key_from_prompt(prompt, set()) == key


def test_a_made_key_is_at_most_40_characters_and_never_ends_with_an_underscore() -> None:
    long = "What, if anything, could we have done better during your last visit?"
    assert key_from_prompt(long, set()) == "what_if_anything_could_we_have_done_bett"
    # 39 characters after "q_" would cut just after an underscore.
    key = key_from_prompt("1 " + "ab " * 20, set())
    assert len(key) <= 40 and not key.endswith("_") and KEY_PATTERN.fullmatch(key)


def test_a_made_key_does_not_take_a_key_already_in_use() -> None:
    assert key_from_prompt("Your age", {"your_age", "your_age_2"}) == "your_age_3"


def test_made_keys_are_unique_and_avoid_keys_given_later_in_the_survey() -> None:
    out = normalize(
        survey(
            {"type": "yes_no", "prompt": "Renew?"},
            {"type": "yes_no", "prompt": "renew"},
            {"type": "yes_no", "prompt": "RENEW!!"},
            {"key": "renew_2", "type": "yes_no", "prompt": "Really?"},
            {"type": "short_text", "prompt": "日本語"},
            {"type": "short_text", "prompt": "中文"},
        )
    )
    assert [q["key"] for q in out["questions"]] == [
        "renew",
        "renew_3",
        "renew_4",
        "renew_2",
        "question",
        "question_2",
    ]


# --- every problem, with its JSON path ------------------------------------------------------


@pytest.mark.parametrize("root", [[], "survey", 3, None, True])
def test_a_root_that_is_not_an_object_is_one_problem(root: Any) -> None:
    assert problems(root) == [("$", "must be a JSON object")]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({}, [("$.title", "is required")]),
        ({"title": None}, [("$.title", "is required")]),
        ({"title": " \n "}, [("$.title", "must not be empty")]),
        ({"title": 7}, [("$.title", "must be a string")]),
        ({"title": "x" * 201}, [("$.title", "must be at most 200 characters")]),
        ({"title": "T", "intro": "x" * 2001}, [("$.intro", "must be at most 2000 characters")]),
        ({"title": "T", "thank_you": ["Thanks"]}, [("$.thank_you", "must be a string")]),
        (
            {"title": "T", "language": "en-GB-oxendict"},
            [("$.language", "must be at most 10 characters")],
        ),
        ({"title": "T", "questions": {}}, [("$.questions", "must be a list")]),
        ({"title": "T", "questions": None}, [("$.questions", "must be a list")]),
        (
            {"title": "T", "colour": "red", "Theme": 1},
            [
                ("$.Theme", "is not a field of a survey definition"),
                ("$.colour", "is not a field of a survey definition"),
            ],
        ),
    ],
)
def test_survey_field_problems(data: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert problems(data) == expected


def test_limits_are_inclusive() -> None:
    normalize({"title": "x" * 200, "intro": "x" * 2000, "language": "x" * 10})
    only_question(type="yes_no", prompt="p" * 1000, help="h" * 2000)


def test_more_than_200_questions_is_a_problem() -> None:
    many = [{"type": "yes_no", "prompt": f"Question {i}"} for i in range(MAX_QUESTIONS + 1)]
    assert len(normalize(survey(*many[:MAX_QUESTIONS]))["questions"]) == MAX_QUESTIONS
    assert problems(survey(*many)) == [("$.questions", "must have at most 200 questions")]


Q0 = "$.questions[0]"
KEY_RULE = (
    "must start with a lower-case letter and hold only a-z, 0-9 and _ (at most 64 characters)"
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("nps", [(Q0, "must be an object")]),
        (None, [(Q0, "must be an object")]),
        ({"prompt": "Hi"}, [(f"{Q0}.type", f"must be one of: {TYPE_NAMES}")]),
        ({"type": "stars", "prompt": "Hi"}, [(f"{Q0}.type", f"must be one of: {TYPE_NAMES}")]),
        ({"type": ["nps"], "prompt": "Hi"}, [(f"{Q0}.type", f"must be one of: {TYPE_NAMES}")]),
        ({"type": "NPS", "prompt": "Hi"}, [(f"{Q0}.type", f"must be one of: {TYPE_NAMES}")]),
        ({"type": "nps"}, [(f"{Q0}.prompt", "is required")]),
        ({"type": "nps", "prompt": "  "}, [(f"{Q0}.prompt", "must not be empty")]),
        ({"type": "nps", "prompt": 10}, [(f"{Q0}.prompt", "must be a string")]),
        (
            {"type": "nps", "prompt": "p" * 1001},
            [(f"{Q0}.prompt", "must be at most 1000 characters")],
        ),
        ({"type": "nps", "prompt": "Hi", "help": 1}, [(f"{Q0}.help", "must be a string")]),
        (
            {"type": "nps", "prompt": "Hi", "help": "h" * 2001},
            [(f"{Q0}.help", "must be at most 2000 characters")],
        ),
        (
            {"type": "nps", "prompt": "Hi", "required": "yes"},
            [(f"{Q0}.required", "must be true or false")],
        ),
        (
            {"type": "nps", "prompt": "Hi", "required": None},
            [(f"{Q0}.required", "must be true or false")],
        ),
        (
            {"type": "nps", "prompt": "Hi", "required": 1},
            [(f"{Q0}.required", "must be true or false")],
        ),
        (
            {"type": "nps", "prompt": "Hi", "key": "lang"},
            [(f"{Q0}.key", "'lang' is reserved for survey links")],
        ),
        (
            {"type": "nps", "prompt": "Hi", "key": "q"},
            [(f"{Q0}.key", "'q' is reserved for survey links")],
        ),
        (
            {"type": "nps", "prompt": "Hi", "key": "restart"},
            [(f"{Q0}.key", "'restart' is reserved for survey links")],
        ),
        (
            {"type": "nps", "prompt": "Hi", "key": "user_email"},
            [(f"{Q0}.key", "'user_email' is reserved for survey links")],
        ),
        (
            {"type": "yes_no", "prompt": "Hi", "choices": ["a"]},
            [(f"{Q0}.choices", "is not a field of the yes_no question type")],
        ),
        (
            {"type": "nps", "prompt": "Hi", "min": 0, "max": 10},
            [
                (f"{Q0}.max", "is not a field of the nps question type"),
                (f"{Q0}.min", "is not a field of the nps question type"),
            ],
        ),
        (
            {"type": "csat", "prompt": "Hi", "min_label": "Bad"},
            [(f"{Q0}.min_label", "is not a field of the csat question type")],
        ),
        (
            {"type": "date", "prompt": "Hi", "placeholder": "When?"},
            [(f"{Q0}.placeholder", "is not a field of the date question type")],
        ),
        (
            {"type": "short_text", "prompt": "Hi", "max": 10},
            [(f"{Q0}.max", "is not a field of the short_text question type")],
        ),
    ],
)
def test_question_problems(raw: Any, expected: list[tuple[str, str]]) -> None:
    assert problems(survey(raw)) == expected


@pytest.mark.parametrize(
    "key",
    ["Plan", "1plan", "_plan", "plan-a", "plan a", "pl\u00e4n", "", "a" * 65, "plan\n", 5, True],
)
def test_a_key_must_match_the_key_pattern(key: Any) -> None:
    assert problems(survey({"key": key, "type": "nps", "prompt": "Hi"})) == [
        (f"{Q0}.key", KEY_RULE)
    ]


def test_a_key_may_be_64_characters() -> None:
    assert only_question(key="k" * 64, type="nps")["key"] == "k" * 64


def test_a_repeated_key_names_the_first_question_that_has_it() -> None:
    data = survey(
        {"key": "plan", "type": "yes_no", "prompt": "A"},
        {"key": "other", "type": "yes_no", "prompt": "B"},
        {"key": "plan", "type": "yes_no", "prompt": "C"},
        {"key": "plan", "type": "yes_no", "prompt": "D"},
    )
    assert problems(data) == [
        ("$.questions[2].key", "another question already uses the key “plan” (question 1)"),
        ("$.questions[3].key", "another question already uses the key “plan” (question 1)"),
    ]


@pytest.mark.parametrize("kind", ["single_choice", "multiple_choice", "dropdown"])
@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, [(f"{Q0}.choices", "must be a non-empty list of strings")]),
        ({"choices": []}, [(f"{Q0}.choices", "must be a non-empty list of strings")]),
        ({"choices": "Free, Pro"}, [(f"{Q0}.choices", "must be a non-empty list of strings")]),
        ({"choices": ["Free", "Pro", " Pro "]}, [(f"{Q0}.choices[2]", "repeats the choice 'Pro'")]),
        ({"choices": ["Free", ""]}, [(f"{Q0}.choices[1]", "must be a non-empty string")]),
        ({"choices": ["Free", "   "]}, [(f"{Q0}.choices[1]", "must be a non-empty string")]),
        ({"choices": ["Free", 2]}, [(f"{Q0}.choices[1]", "must be a non-empty string")]),
        ({"choices": ["x" * 256]}, [(f"{Q0}.choices[0]", "must be at most 255 characters")]),
        ({"choices": ["__other__"]}, [(f"{Q0}.choices[0]", "'__other__' is reserved")]),
        ({"choices": [" __other__ "]}, [(f"{Q0}.choices[0]", "'__other__' is reserved")]),
        (
            {"choices": ["A"], "allow_other": "yes"},
            [(f"{Q0}.allow_other", "must be true or false")],
        ),
        ({"choices": ["A"], "other_label": 1}, [(f"{Q0}.other_label", "must be a string")]),
        (
            {"choices": ["A"], "other_label": "o" * 201},
            [(f"{Q0}.other_label", "must be at most 200 characters")],
        ),
    ],
)
def test_choice_problems(
    kind: str, fields: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    assert problems(survey({"type": kind, "prompt": "Hi", **fields})) == expected


def test_at_most_100_choices() -> None:
    choices = [f"Choice {i}" for i in range(101)]
    assert only_question(type="dropdown", choices=choices[:100])["choices"] == choices[:100]
    assert problems(survey({"type": "dropdown", "prompt": "Hi", "choices": choices})) == [
        (f"{Q0}.choices", "must have at most 100 choices")
    ]


def test_a_choice_may_be_255_characters() -> None:
    assert only_question(type="single_choice", choices=["x" * 255])["choices"] == ["x" * 255]


@pytest.mark.parametrize(
    "labels",
    [
        ["Bad", "Meh", "OK", "Good"],
        ["Bad", "Meh", "OK", "Good", "Great", "Wow"],
        ["Bad", "Meh", "", "Good", "Great"],
        ["Bad", "Meh", "OK", "Good", "x" * 101],
        ["Bad", "Meh", "OK", "Good", 5],
        "Bad, Meh, OK, Good, Great",
        None,
    ],
)
def test_csat_labels_must_be_five_non_empty_strings(labels: Any) -> None:
    assert problems(survey({"type": "csat", "prompt": "Hi", "labels": labels})) == [
        (f"{Q0}.labels", "must be a list of 5 non-empty strings")
    ]


def test_csat_labels_can_be_replaced() -> None:
    labels = ["Très mécontent", "Mécontent", "Neutre", "Satisfait", "Très satisfait"]
    assert only_question(type="csat", labels=labels)["labels"] == labels


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"min": 1.5}, [(f"{Q0}.min", "must be a whole number")]),
        ({"min": 1.0}, [(f"{Q0}.min", "must be a whole number")]),
        ({"max": "7"}, [(f"{Q0}.max", "must be a whole number")]),
        ({"max": True}, [(f"{Q0}.max", "must be a whole number")]),
        ({"min": None}, [(f"{Q0}.min", "must be a whole number")]),
        ({"min": 5}, [(f"{Q0}.max", "must be 1 to 20 more than min")]),
        ({"min": 3, "max": 3}, [(f"{Q0}.max", "must be 1 to 20 more than min")]),
        ({"min": 7, "max": 1}, [(f"{Q0}.max", "must be 1 to 20 more than min")]),
        ({"min": 0, "max": 21}, [(f"{Q0}.max", "must be 1 to 20 more than min")]),
        (
            {"min_label": 0, "max_label": "x" * 201},
            [
                (f"{Q0}.min_label", "must be a string"),
                (f"{Q0}.max_label", "must be at most 200 characters"),
            ],
        ),
    ],
)
def test_scale_problems(fields: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert problems(survey({"type": "scale", "prompt": "Hi", **fields})) == expected


@pytest.mark.parametrize(("lo", "hi"), [(0, 20), (-10, 10), (4, 5), (1, 2)])
def test_scale_ranges_of_1_to_20_steps_are_fine(lo: int, hi: int) -> None:
    out = only_question(type="scale", min=lo, max=hi)
    assert (out["min"], out["max"]) == (lo, hi)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"min": "1"}, [(f"{Q0}.min", "must be a number")]),
        ({"max": True}, [(f"{Q0}.max", "must be a number")]),
        ({"max": float("nan")}, [(f"{Q0}.max", "must be a number")]),
        ({"min": float("-inf")}, [(f"{Q0}.min", "must be a number")]),
        ({"max": 10**400}, [(f"{Q0}.max", "must be a number")]),
        ({"min": 10, "max": 9.5}, [(f"{Q0}.max", "must not be less than min")]),
        ({"placeholder": ["3"]}, [(f"{Q0}.placeholder", "must be a string")]),
    ],
)
def test_number_problems(fields: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert problems(survey({"type": "number", "prompt": "Hi", **fields})) == expected


def test_number_min_may_equal_max() -> None:
    assert only_question(type="number", min=3, max=3)["max"] == 3


def test_every_problem_is_reported_at_once_in_order() -> None:
    data = {
        "title": "",
        "theme": "dark",
        "questions": [
            {"key": "plan", "type": "choice", "prompt": "Which plan?"},
            {"key": "seats", "type": "single_choice", "prompt": "Seats?", "choices": []},
            {"key": "plan", "type": "short_text", "prompt": "Why?", "max": 3},
            {"type": "scale", "prompt": "", "min": 1, "max": 1.5, "required": "no"},
            {"key": "Lang", "type": "dropdown", "prompt": "Hi", "choices": ["A", "A", ""]},
        ],
    }
    assert problems(data) == [
        ("$.theme", "is not a field of a survey definition"),
        ("$.title", "must not be empty"),
        ("$.questions[0].type", f"must be one of: {TYPE_NAMES}"),
        ("$.questions[1].choices", "must be a non-empty list of strings"),
        ("$.questions[2].max", "is not a field of the short_text question type"),
        ("$.questions[2].key", "another question already uses the key “plan” (question 1)"),
        ("$.questions[3].prompt", "must not be empty"),
        ("$.questions[3].required", "must be true or false"),
        ("$.questions[3].max", "must be a whole number"),
        ("$.questions[4].key", KEY_RULE),
        ("$.questions[4].choices[1]", "repeats the choice 'A'"),
        ("$.questions[4].choices[2]", "must be a non-empty string"),
    ]


def test_the_documented_error_example_is_what_the_code_reports() -> None:
    definition = doc_json_after("Errors")
    body = doc_json_after("Errors", 1)
    with pytest.raises(DefinitionError) as caught:
        normalize(definition)
    assert caught.value.as_list() == body["errors"]
    assert body["detail"] == INVALID_DEFINITION


def test_a_definition_error_reads_as_its_problems() -> None:
    with pytest.raises(DefinitionError) as caught:
        normalize({"title": 1, "questions": 2})
    error = caught.value
    assert isinstance(error, ValueError)
    assert str(error) == "$.title: must be a string; $.questions: must be a list"
    assert error.as_list() == [
        {"path": "$.title", "message": "must be a string"},
        {"path": "$.questions", "message": "must be a list"},
    ]


# --- hidden fields -------------------------------------------------------------------------

NAME_RULE = (
    "must hold only letters, digits, _, - and . (at most 64 characters, not starting with - or .)"
)
RESERVED = "is reserved for survey links: their pages read it themselves"
HF = "$.hidden_fields"


def test_hidden_fields_are_kept_as_given_and_default_to_none() -> None:
    names = ["utm_source", "plan.tier", "A-1", "_ga", "x" * 64, "2fa", "users", "Sig"]
    assert normalize(survey(hidden_fields=names))["hidden_fields"] == names
    assert normalize(survey(hidden_fields=None))["hidden_fields"] == []
    assert normalize(survey())["hidden_fields"] == []
    many = [f"f{i}" for i in range(MAX_HIDDEN_FIELDS)]
    assert normalize(survey(hidden_fields=many))["hidden_fields"] == many


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        ("utm_source", [(HF, "must be a list of names")]),
        ({"utm": 1}, [(HF, "must be a list of names")]),
        ([7], [(f"{HF}[0]", NAME_RULE)]),
        (["ok", None], [(f"{HF}[1]", NAME_RULE)]),
        ([""], [(f"{HF}[0]", NAME_RULE)]),
        (["utm source"], [(f"{HF}[0]", NAME_RULE)]),
        (["-x", ".x"], [(f"{HF}[0]", NAME_RULE), (f"{HF}[1]", NAME_RULE)]),
        (["x" * 65], [(f"{HF}[0]", NAME_RULE)]),
        (["préféré"], [(f"{HF}[0]", NAME_RULE)]),
        (["a&b=c"], [(f"{HF}[0]", NAME_RULE)]),
        (["sig", "lang", "r"], [(f"{HF}[{i}]", RESERVED) for i in range(3)]),
        (["q", "restart", "preview"], [(f"{HF}[{i}]", RESERVED) for i in range(3)]),
        (["user_email", "user_plan"], [(f"{HF}[0]", RESERVED), (f"{HF}[1]", RESERVED)]),
        (["utm", "plan", "utm"], [(f"{HF}[2]", "repeats $.hidden_fields[0]")]),
        (
            [f"f{i}" for i in range(MAX_HIDDEN_FIELDS + 1)],
            [(HF, "must have at most 20 names")],
        ),
    ],
    ids=lambda v: repr(v)[:30],
)
def test_hidden_field_problems(names: Any, expected: list[tuple[str, str]]) -> None:
    assert problems(survey(hidden_fields=names)) == expected


def test_a_hidden_field_may_not_be_a_question_key() -> None:
    data = survey(
        {"key": "nps", "type": "nps", "prompt": "Score?"},
        {"key": "plan", "type": "short_text", "prompt": "Plan?"},
        hidden_fields=["utm", "plan"],
    )
    assert problems(data) == [
        (
            "$.hidden_fields[1]",
            "is the key of $.questions[1]: a link parameter of that name answers the question",
        )
    ]


def test_a_key_made_from_a_prompt_avoids_the_hidden_fields() -> None:
    out = normalize(survey({"type": "yes_no", "prompt": "Plan"}, hidden_fields=["plan"]))
    assert out["questions"][0]["key"] == "plan_2"
    assert normalize(out) == out


def test_the_hidden_fields_reserve_every_parameter_a_survey_link_reads() -> None:
    assert {"q", "restart", "lang", "sig", "r", "preview"} <= reserved_keys()
    assert {i.param for i in destinations.identities().values()} <= reserved_keys()
    text = DOC.read_text(encoding="utf-8")
    section = text.split("\n## Hidden fields\n", 1)[1].split("\n## ")[0]
    assert "[reserved key](#reserved-keys)" in section
    assert "`q`, `restart`, or any name starting with `user_`" in section


def test_build_spec_carries_the_hidden_fields() -> None:
    spec = build_spec(normalize(survey(hidden_fields=["utm_source", "plan"])))
    assert spec.hidden_fields == ("utm_source", "plan")
    # A definition stored before hidden fields were declared reads as declaring none.
    assert build_spec({"title": "Old", "questions": []}).hidden_fields == ()


# --- build_spec ----------------------------------------------------------------------------


def test_build_spec_carries_every_field() -> None:
    spec = build_spec(normalize(EVERY_TYPE))
    assert isinstance(spec, SurveySpec)
    assert spec.title == "Customer pulse" and spec.language == "en"
    assert spec.keys == [q["key"] for q in EVERY_TYPE["questions"]]
    assert spec.get("nps") == Question(
        key="nps",
        type="nps",
        prompt="How likely are you to recommend us?",
        required=True,
        min=0,
        max=10,
        min_label="Not at all likely",
        max_label="Extremely likely",
    )
    assert spec.get("channels") == Question(
        key="channels",
        type="multiple_choice",
        prompt="Where do you hear from us?",
        choices=("Email", "Push", "SMS"),
        allow_other=True,
    )
    assert spec.get("csat").labels == CSAT_LABELS  # type: ignore[union-attr]
    assert spec.get("seats").min == 1 and spec.get("seats").max == 1000  # type: ignore[union-attr]
    assert spec.get("since").min is None  # type: ignore[union-attr]
    assert spec.position("since") == 12 and spec.get("nope") is None


@pytest.mark.parametrize(
    ("kind", "points"),
    [("nps", list(range(11))), ("rating", [1, 2, 3, 4, 5]), ("csat", [1, 2, 3, 4, 5])],
)
def test_fixed_ranges_come_from_the_type(kind: str, points: list[int]) -> None:
    spec = build_spec(normalize(survey({"type": kind, "prompt": "Hi"})))
    assert spec.questions[0].points() == points


def test_a_stored_definition_with_fixed_ranges_written_out_builds_the_same_spec() -> None:
    # Definitions stored before the fixed ranges were left out of the stored form.
    stored = normalize(EVERY_TYPE)
    older = copy.deepcopy(stored)
    older["questions"][0].update({"min": 0, "max": 10})
    older["questions"][2].update({"min": 1, "max": 5, "min_label": "", "max_label": ""})
    assert build_spec(older) == build_spec(stored)


def test_build_spec_round_trips_through_json() -> None:
    stored = normalize(EVERY_TYPE)
    spec = build_spec(json.loads(json.dumps(stored)))
    assert spec == build_spec(stored)
    # And back: a definition written from the spec builds the same spec.
    written = {
        "title": spec.title,
        "intro": spec.intro,
        "thank_you": spec.thank_you,
        "language": spec.language,
        "questions": [
            {
                name: list(value) if isinstance(value, tuple) else value
                for name in ("key", "type", "prompt", "help", "required", *q.kind.fields)
                for value in [getattr(q, name)]
            }
            for q in spec.questions
        ],
    }
    assert build_spec(normalize(written)) == spec


# --- properties ----------------------------------------------------------------------------

# Storable text: NUL and lone surrogates are refused on purpose (tested separately).
storable = st.characters(codec="utf-8", blacklist_characters="\x00")
prompt_text = st.text(storable, min_size=1, max_size=80).filter(lambda s: s.strip() != "")
choice_text = st.text(storable, min_size=1, max_size=30).filter(
    lambda s: s.strip() not in ("", "__other__")
)


@st.composite
def questions(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(list(QUESTION_TYPES)))
    q: dict[str, Any] = {"type": kind, "prompt": draw(prompt_text)}
    if draw(st.booleans()):
        q["key"] = draw(st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True))
        if q["key"] in reserved_keys():
            del q["key"]
    if draw(st.booleans()):
        q["required"] = draw(st.booleans())
    if draw(st.booleans()):
        q["help"] = draw(st.one_of(st.none(), st.text(storable, max_size=20)))
    if kind in ("single_choice", "multiple_choice", "dropdown"):
        choices = draw(st.lists(choice_text, min_size=1, max_size=6, unique_by=str.strip))
        q["choices"] = choices
        if draw(st.booleans()):
            q["allow_other"] = draw(st.booleans())
    elif kind == "scale":
        lo = draw(st.integers(-50, 50))
        q["min"], q["max"] = lo, lo + draw(st.integers(1, 20))
    elif kind == "number" and draw(st.booleans()):
        lo = draw(st.floats(-1e6, 1e6) | st.integers(-1000, 1000))
        q["min"], q["max"] = lo, lo + draw(st.integers(0, 1000))
    elif kind == "nps" and draw(st.booleans()):
        q["min_label"] = draw(st.text(storable, max_size=20))
    return q


@st.composite
def definitions(draw: st.DrawFn) -> dict[str, Any]:
    data: dict[str, Any] = {"title": draw(prompt_text.filter(lambda s: len(s) <= 200))}
    qs = draw(st.lists(questions(), max_size=12))
    seen: set[str] = set()
    for q in qs:  # given keys must be unique; drop the repeats so the definition is valid
        if q.get("key") in seen:
            del q["key"]
        seen.add(q.get("key", ""))
    data["questions"] = qs
    if draw(st.booleans()):
        data["language"] = draw(st.sampled_from(["", "fr", "pt-BR", None]))
    return data


@settings(max_examples=200, deadline=None)
@given(definitions())
def test_normalize_is_idempotent(data: dict[str, Any]) -> None:
    once = normalize(data)
    assert normalize(once) == once
    assert normalize(json.loads(json.dumps(once))) == once


@settings(max_examples=200, deadline=None)
@given(definitions())
def test_keys_are_always_unique_valid_and_never_reserved(data: dict[str, Any]) -> None:
    keys = [q["key"] for q in normalize(data)["questions"]]
    assert len(set(keys)) == len(keys)
    for key in keys:
        assert KEY_PATTERN.fullmatch(key) and key not in reserved_keys()


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120), st.sets(st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)))
def test_a_made_key_is_always_valid_and_free(prompt: str, taken: set[str]) -> None:
    key = key_from_prompt(prompt, taken)
    assert KEY_PATTERN.fullmatch(key)
    assert key not in reserved_keys() and key not in taken
    assert not key.endswith("_") and "__" not in key


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(list(QUESTION_TYPES)),
    st.sampled_from(["key", "type", "prompt", "help", "required", "choices", "labels", "min"]),
    json_values,
)
def test_any_field_value_is_either_refused_or_gives_a_usable_spec(
    kind: str, field: str, value: Any
) -> None:
    raw = {"type": kind, "prompt": "Hi", "choices": ["A"], field: value}
    if "choices" not in QUESTION_TYPES[kind].fields and field != "choices":
        del raw["choices"]
    try:
        stored = normalize(survey(raw))
    except DefinitionError:
        return
    q = build_spec(stored).questions[0]
    assert q.kind.parse(q, []) is EMPTY
    if q.type in ("nps", "rating", "csat", "scale"):
        assert q.points()


@pytest.mark.parametrize(
    ("definition", "path"),
    [
        ({"title": "A\x00B"}, "$.title"),
        (
            {"title": "T", "questions": [{"type": "nps", "prompt": "Hi\ud800"}]},
            "$.questions[0].prompt",
        ),
        (
            {
                "title": "T",
                "questions": [{"type": "single_choice", "prompt": "P", "choices": ["a", "b\x00"]}],
            },
            "$.questions[0].choices[1]",
        ),
    ],
)
def test_text_no_database_can_store_is_refused_with_its_path(definition: dict, path: str) -> None:
    with pytest.raises(DefinitionError) as caught:
        normalize(definition)
    assert path in [p for p, _m in caught.value.problems]
