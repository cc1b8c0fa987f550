"""The JSON Schema of the definition format agrees with normalize() as far as a schema can."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from sounding.surveys.definition import (
    COMMON_FIELDS,
    MAX_HIDDEN_FIELDS,
    DefinitionError,
    normalize,
    reserved_keys,
)
from sounding.surveys.questions import QUESTION_TYPES
from sounding.surveys.schema import SCHEMA_FILE, definition_schema, schema_text
from tests.conftest import EVERY_TYPE
from tests.test_definition import definitions, doc_json_after

# Pure functions: no database, the same on any.
pytestmark = pytest.mark.any_db

ROOT = Path(__file__).resolve().parent.parent
VALIDATOR = Draft202012Validator(definition_schema())
ALL_FIELDS = sorted(set().union(*(kind.fields for kind in QUESTION_TYPES.values())))


def schema_paths(data: Any) -> list[str]:
    return [error.json_path for error in VALIDATOR.iter_errors(data)]


def normalize_paths(data: Any) -> list[str]:
    try:
        normalize(data)
    except DefinitionError as error:
        return [path for path, _ in error.problems]
    return []


def survey(*questions: dict[str, Any]) -> dict[str, Any]:
    return {"title": "Pulse", "questions": list(questions)}


def minimal(kind: str) -> dict[str, Any]:
    q: dict[str, Any] = {"type": kind, "prompt": "Hi"}
    if "choices" in QUESTION_TYPES[kind].fields:
        q["choices"] = ["A", "B"]
    return q


# --- the schema itself ---------------------------------------------------------------------


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    schema = definition_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_the_documented_schema_is_the_one_the_package_ships() -> None:
    package = ROOT / "sounding" / "surveys" / SCHEMA_FILE
    docs = ROOT / "docs" / "survey-definition.schema.json"
    assert docs.read_bytes() == package.read_bytes(), (
        f"copy {package.relative_to(ROOT)} to {docs.relative_to(ROOT)}"
    )
    assert schema_text() == package.read_text(encoding="utf-8")


def test_each_call_gives_a_fresh_copy() -> None:
    definition_schema()["properties"].clear()
    assert "questions" in definition_schema()["properties"]


def test_the_schema_names_the_types_and_reserved_keys_of_the_code() -> None:
    question = definition_schema()["$defs"]["question"]
    assert question["properties"]["type"]["enum"] == list(QUESTION_TYPES)
    assert set(question["properties"]["key"]["not"]["enum"]) == reserved_keys()
    assert set(question["properties"]) == COMMON_FIELDS
    hidden = definition_schema()["properties"]["hidden_fields"]
    assert hidden["maxItems"] == MAX_HIDDEN_FIELDS
    refused = hidden["items"]["not"]["anyOf"]
    assert set(refused[0]["enum"]) == reserved_keys() and refused[1] == {"pattern": "^user_"}


# --- what both accept ----------------------------------------------------------------------


VALID = {
    "every type": EVERY_TYPE,
    "documented example": doc_json_after("A full example"),
    "title only": {"title": "Pulse"},
    "nulls for defaults": {
        "title": "Pulse",
        "intro": None,
        "thank_you": None,
        "language": None,
        "questions": [{"key": None, "type": "yes_no", "prompt": "Hi", "help": None}],
    },
    "limits reached": {
        "title": "t" * 200,
        "intro": "i" * 2000,
        "thank_you": "t" * 2000,
        "language": "l" * 10,
        "questions": [
            {"key": "k" * 64, "type": "short_text", "prompt": "p" * 1000, "help": "h" * 2000},
            {"type": "dropdown", "prompt": "Hi", "choices": ["c" * 255]},
            {"type": "dropdown", "prompt": "Hi", "choices": [f"c{i}" for i in range(100)]},
            {"type": "scale", "prompt": "Hi", "min": -10, "max": 10, "min_label": "m" * 200},
            {"type": "csat", "prompt": "Hi", "labels": ["l" * 100] * 5},
            {"type": "number", "prompt": "Hi", "min": None, "max": 1e300},
        ],
    },
    "200 questions": survey(*[{"type": "yes_no", "prompt": f"Q{i}"} for i in range(200)]),
    "hidden fields": {
        "title": "Pulse",
        "hidden_fields": ["utm_source", "plan.tier", "A-1", "_ga", "x" * 64, "users"],
    },
    "20 hidden fields": {"title": "Pulse", "hidden_fields": [f"f{i}" for i in range(20)]},
    "null hidden fields": {"title": "Pulse", "hidden_fields": None},
}


@pytest.mark.parametrize("data", VALID.values(), ids=VALID.keys())
def test_valid_definitions_pass_the_schema_and_normalize(data: dict[str, Any]) -> None:
    assert schema_paths(data) == []
    out = normalize(data)
    assert schema_paths(out) == [], "a normalized definition must itself be valid"


@pytest.mark.parametrize("kind", list(QUESTION_TYPES))
@pytest.mark.parametrize("field", ALL_FIELDS)
def test_the_schema_and_normalize_accept_the_same_fields_per_type(kind: str, field: str) -> None:
    sample = {
        "min_label": "Low",
        "max_label": "High",
        "labels": ["1", "2", "3", "4", "5"],
        "min": 2,
        "max": 4,
        "choices": ["X", "Y"],
        "allow_other": True,
        "other_label": "Else",
        "placeholder": "Type here",
    }
    data = survey({**minimal(kind), field: sample[field]})
    accepted = field in QUESTION_TYPES[kind].fields
    assert (schema_paths(data) == []) is accepted
    assert (normalize_paths(data) == []) is accepted


# --- what both refuse ----------------------------------------------------------------------

Q0 = "$.questions[0]"
INVALID: list[tuple[str, Any, str]] = [
    ("root is a list", [], "$"),
    ("root is a string", "Pulse", "$"),
    ("unknown survey field", {"title": "T", "theme": "dark"}, "$"),
    ("no title", {"questions": []}, "$"),
    ("blank title", {"title": "   "}, "$.title"),
    ("long title", {"title": "t" * 201}, "$.title"),
    ("title not a string", {"title": 1}, "$.title"),
    ("long intro", {"title": "T", "intro": "i" * 2001}, "$.intro"),
    ("long language", {"title": "T", "language": "english-gb-x"}, "$.language"),
    ("questions not a list", {"title": "T", "questions": {"a": 1}}, "$.questions"),
    ("201 questions", survey(*[minimal("date")] * 201), "$.questions"),
    ("hidden fields not a list", {"title": "T", "hidden_fields": "utm"}, "$.hidden_fields"),
    (
        "21 hidden fields",
        {"title": "T", "hidden_fields": [f"f{i}" for i in range(21)]},
        "$.hidden_fields",
    ),
    ("hidden field a number", {"title": "T", "hidden_fields": [1]}, "$.hidden_fields[0]"),
    ("hidden field blank", {"title": "T", "hidden_fields": [""]}, "$.hidden_fields[0]"),
    ("hidden field spaced", {"title": "T", "hidden_fields": ["a b"]}, "$.hidden_fields[0]"),
    ("hidden field long", {"title": "T", "hidden_fields": ["x" * 65]}, "$.hidden_fields[0]"),
    ("hidden field -x", {"title": "T", "hidden_fields": ["-x"]}, "$.hidden_fields[0]"),
    ("hidden field sig", {"title": "T", "hidden_fields": ["sig"]}, "$.hidden_fields[0]"),
    ("hidden field q", {"title": "T", "hidden_fields": ["q"]}, "$.hidden_fields[0]"),
    ("hidden field user_", {"title": "T", "hidden_fields": ["user_x"]}, "$.hidden_fields[0]"),
    ("hidden field twice", {"title": "T", "hidden_fields": ["a", "a"]}, "$.hidden_fields"),
    ("question not an object", survey("nps"), Q0),  # type: ignore[arg-type]
    ("no type", survey({"prompt": "Hi"}), Q0),
    ("unknown type", survey({"type": "stars", "prompt": "Hi"}), f"{Q0}.type"),
    ("no prompt", survey({"type": "nps"}), Q0),
    ("blank prompt", survey({"type": "nps", "prompt": "\t"}), f"{Q0}.prompt"),
    ("long prompt", survey({"type": "nps", "prompt": "p" * 1001}), f"{Q0}.prompt"),
    ("help not a string", survey({**minimal("nps"), "help": 3}), f"{Q0}.help"),
    ("required not a boolean", survey({**minimal("nps"), "required": "true"}), f"{Q0}.required"),
    ("key with capitals", survey({**minimal("nps"), "key": "NPS"}), f"{Q0}.key"),
    ("key with a dash", survey({**minimal("nps"), "key": "my-nps"}), f"{Q0}.key"),
    ("key too long", survey({**minimal("nps"), "key": "k" * 65}), f"{Q0}.key"),
    ("key a number", survey({**minimal("nps"), "key": 7}), f"{Q0}.key"),
    ("reserved key", survey({**minimal("nps"), "key": "sig"}), f"{Q0}.key"),
    ("unknown question field", survey({**minimal("nps"), "colour": "red"}), Q0),
    ("range on nps", survey({**minimal("nps"), "min": 0, "max": 10}), Q0),
    ("choices on yes_no", survey({**minimal("yes_no"), "choices": ["A"]}), Q0),
    ("placeholder on date", survey({**minimal("date"), "placeholder": "x"}), Q0),
    ("no choices", survey({"type": "single_choice", "prompt": "Hi"}), Q0),
    ("empty choices", survey({"type": "dropdown", "prompt": "Hi", "choices": []}), f"{Q0}.choices"),
    ("choices a string", survey({**minimal("dropdown"), "choices": "A, B"}), f"{Q0}.choices"),
    ("repeated choice", survey({**minimal("dropdown"), "choices": ["A", "A"]}), f"{Q0}.choices"),
    ("blank choice", survey({**minimal("dropdown"), "choices": ["A", " "]}), f"{Q0}.choices[1]"),
    ("long choice", survey({**minimal("dropdown"), "choices": ["c" * 256]}), f"{Q0}.choices[0]"),
    (
        "choice __other__",
        survey({**minimal("dropdown"), "choices": [" __other__"]}),
        f"{Q0}.choices[0]",
    ),
    (
        "101 choices",
        survey({**minimal("dropdown"), "choices": [str(i) for i in range(101)]}),
        f"{Q0}.choices",
    ),
    (
        "allow_other not a boolean",
        survey({**minimal("dropdown"), "allow_other": 1}),
        f"{Q0}.allow_other",
    ),
    (
        "long other_label",
        survey({**minimal("dropdown"), "other_label": "o" * 201}),
        f"{Q0}.other_label",
    ),
    ("4 csat labels", survey({**minimal("csat"), "labels": ["a", "b", "c", "d"]}), f"{Q0}.labels"),
    (
        "empty csat label",
        survey({**minimal("csat"), "labels": ["a", "b", "", "d", "e"]}),
        f"{Q0}.labels",
    ),
    ("scale min a fraction", survey({**minimal("scale"), "min": 1.5}), f"{Q0}.min"),
    ("scale max a string", survey({**minimal("scale"), "max": "7"}), f"{Q0}.max"),
    ("scale min null", survey({**minimal("scale"), "min": None}), f"{Q0}.min"),
    ("nps label not a string", survey({**minimal("nps"), "min_label": 0}), f"{Q0}.min_label"),
    ("number min a string", survey({**minimal("number"), "min": "1"}), f"{Q0}.min"),
    ("number max a boolean", survey({**minimal("number"), "max": True}), f"{Q0}.max"),
    (
        "long placeholder",
        survey({**minimal("email"), "placeholder": "p" * 201}),
        f"{Q0}.placeholder",
    ),
]


@pytest.mark.parametrize(
    ("data", "where"), [(d, w) for _, d, w in INVALID], ids=[n for n, _, _ in INVALID]
)
def test_invalid_definitions_are_refused_by_the_schema_and_normalize(data: Any, where: str) -> None:
    from_normalize = normalize_paths(data)
    from_schema = schema_paths(data)
    # Both point at the same place or inside it: an unknown field is reported by the schema at
    # the object holding it, a bad list item by normalize() at the list.
    for paths in (from_normalize, from_schema):
        assert any(p == where or p.startswith((f"{where}.", f"{where}[")) for p in paths), paths


# --- what only the server can refuse (documented in the schema and the docs) ----------------

ONLY_THE_SERVER = {
    "repeated key": survey({**minimal("nps"), "key": "a"}, {**minimal("date"), "key": "a"}),
    "hidden field named like a key": {
        "title": "T",
        "questions": [{**minimal("nps"), "key": "nps"}],
        "hidden_fields": ["nps"],
    },
    "choices equal once trimmed": survey({**minimal("dropdown"), "choices": ["Pro", "Pro "]}),
    "scale range of 0": survey({**minimal("scale"), "min": 3, "max": 3}),
    "scale range over 20": survey({**minimal("scale"), "min": 0, "max": 21}),
    "number min above max": survey({**minimal("number"), "min": 5, "max": 4}),
    "scale bound with a fraction": survey({**minimal("scale"), "max": 7.0}),
    "number bound too large for a float": survey({**minimal("number"), "max": 10**400}),
}


@pytest.mark.parametrize("data", ONLY_THE_SERVER.values(), ids=ONLY_THE_SERVER.keys())
def test_the_documented_gaps_of_the_schema_are_the_real_ones(data: dict[str, Any]) -> None:
    assert schema_paths(data) == []
    assert normalize_paths(data) != []


# --- properties ----------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)  # the schema validator is slow on long surveys
@given(definitions())
def test_the_schema_accepts_what_normalize_accepts_and_what_it_stores(data: dict[str, Any]) -> None:
    out = normalize(data)
    assert schema_paths(data) == []
    assert schema_paths(out) == []


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-30, 300) | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=6),
    max_leaves=8,
)


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(list(QUESTION_TYPES)),
    st.sampled_from([*sorted(COMMON_FIELDS), *ALL_FIELDS, "colour"]),
    json_values,
)
def test_what_the_schema_refuses_normalize_refuses(kind: str, field: str, value: Any) -> None:
    question = {**minimal(kind), field: copy.deepcopy(value)}
    if not VALIDATOR.is_valid(survey(question)):
        assert normalize_paths(survey(question)) != []
