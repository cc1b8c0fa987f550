"""The shapes the API answers with, declared once for the OpenAPI document."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from ninja import Schema
from pydantic import Field, create_model

from sounding import destinations
from sounding.surveys.definition import HIDDEN_FIELD_PATTERN, MAX_HIDDEN_FIELDS, MAX_QUESTIONS
from sounding.surveys.questions import QUESTION_TYPES


class ErrorItem(Schema):
    path: str = Field(description="JSON path of the problem, `$` being the whole input.")
    message: str


class Error(Schema):
    detail: str


class ErrorList(Schema):
    detail: str
    # A fault in the request as a whole (a body that is not JSON) has no single path to name.
    errors: list[ErrorItem] = Field(
        default_factory=list, description="Each problem with its path, when there are any."
    )


class SurveyOut(Schema):
    id: int
    slug: str
    status: Literal["draft", "live", "paused"]
    url: str = Field(description="The public link respondents open.")
    title: str
    version: int = Field(description="Goes up by one each time the definition is replaced.")
    created_at: datetime
    updated_at: datetime
    definition: dict[str, Any] = Field(
        description="The definition as stored: every default made explicit."
    )


class SurveyList(Schema):
    items: list[SurveyOut]


class TemplateQuestion(Schema):
    key: str
    type: str
    prompt: str
    show_if: dict[str, Any] | None = Field(
        default=None, description="The skip rule, when the question has one."
    )


class TemplateOut(Schema):
    slug: str = Field(description="What `POST /surveys/from-template` takes as `template`.")
    name: str
    description: str
    title: str = Field(description="The title a survey made from it gets unless given one.")
    question_count: int
    languages: list[str] = Field(description="Its own language first, then its translations.")
    questions: list[TemplateQuestion]
    definition: dict[str, Any] = Field(
        description="The whole definition, as stored in a survey made from it."
    )
    destinations: dict[str, dict[str, Any]] = Field(
        description="What it sets up for each destination, by kind, in the shape that "
        "destination documents (for one: `attribute_names`, question key to attribute name)."
    )


class TemplateList(Schema):
    items: list[TemplateOut]


def _identity_schema() -> type[Schema]:
    """One property per identity the destinations address people by (the registry's)."""
    fields: dict[str, Any] = {
        name: (str | None, Field(description=f"{identity.label} the link carried, or null."))
        for name, identity in destinations.identities().items()
    }
    return create_model("Identity", __base__=Schema, **fields)


Identity = _identity_schema()


class SyncState(Schema):
    state: Literal["pending", "synced", "failed", "not_sent"] = Field(
        description="`pending`: waiting or being retried; `synced`: the destination has the "
        "current answers; `failed`: refused for good (see `reason`); `not_sent`: never queued."
    )
    reason: str = Field(description="Why, in words meant for the survey's author.")
    last_attempt_at: datetime | None
    attempts: int = Field(description="Failed tries since the last success.")
    synced_at: datetime | None = Field(description="When the destination last took the answers.")


class ResponseOut(Schema):
    id: str = Field(description="The response's public token.")
    identity: Identity  # type: ignore[valid-type]  # built from the registry
    hidden: dict[str, Any] = Field(
        description="The link's values of the survey's declared hidden fields "
        "(`hidden_fields` in its definition), by name; a field the link did not carry is left out."
    )
    language: str | None
    started_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    answers: dict[str, Any] = Field(
        description="Question key to answer: a number for scores and numbers, a boolean for "
        "yes/no, a list of strings for multiple choice, a string otherwise. A choice question's "
        "answer holds its “Other” label (`other_label`) where the respondent typed their own "
        "text; the text is in `other`."
    )
    other: dict[str, str] = Field(
        description="Question key to the text typed in “Other”, for the choice questions "
        "answered that way."
    )
    sync: dict[str, SyncState] = Field(
        description="Where the answers stand with each destination that tracks one, by kind."
    )


class ResponsePage(Schema):
    items: list[ResponseOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )


class TokenOut(Schema):
    id: int
    name: str
    user_email: str = Field(description="The person the token acts for.")
    state: Literal["active", "expired", "revoked"]
    created_at: datetime
    last_used_at: datetime | None = Field(description="Recorded at most once a minute.")
    expires_at: datetime | None = Field(description="`null`: the token never expires.")
    revoked_at: datetime | None
    current: bool = Field(description="Whether this is the token the request was sent with.")


class TokenList(Schema):
    items: list[TokenOut]


# The errors each kind of operation may answer with, for the OpenAPI document.
AUTH_ERRORS: dict[int, type[Schema]] = {401: Error}
READ_ERRORS: dict[int, type[Schema]] = {400: ErrorList, 401: Error, 404: Error}
WRITE_ERRORS: dict[int, type[Schema]] = {**READ_ERRORS, 403: Error}
BODY_ERRORS: dict[int, type[Schema]] = {**WRITE_ERRORS, 413: Error}

_QUESTION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "prompt"],
    "properties": {
        "key": {"type": ["string", "null"], "pattern": "^[a-z][a-z0-9_]{0,63}$"},
        "type": {"enum": list(QUESTION_TYPES)},
        "prompt": {"type": "string", "minLength": 1, "maxLength": 1000},
        "help": {"type": ["string", "null"], "maxLength": 2000},
        "required": {"type": "boolean"},
    },
    # Each type adds its own fields (choices, min, max, labels...): see the definition format.
    "additionalProperties": True,
}

# A summary of the definition format; the full JSON Schema ships with the documentation
# (docs/survey-definition.schema.json) and the server's validator is the authority.
DEFINITION_SCHEMA: dict[str, Any] = {
    "title": "Survey definition",
    "description": "See docs/survey-definition.md. Every problem is reported at once, as "
    "`errors` with a JSON path each.",
    "type": "object",
    "required": ["title"],
    "additionalProperties": False,
    "properties": {
        "title": {"type": "string", "minLength": 1, "maxLength": 200},
        "intro": {"type": ["string", "null"], "maxLength": 2000},
        "thank_you": {"type": ["string", "null"], "maxLength": 2000},
        "language": {"type": ["string", "null"], "maxLength": 10},
        "hidden_fields": {
            "type": ["array", "null"],
            "maxItems": MAX_HIDDEN_FIELDS,
            "uniqueItems": True,
            "items": {"type": "string", "pattern": HIDDEN_FIELD_PATTERN.pattern},
        },
        "questions": {"type": "array", "maxItems": MAX_QUESTIONS, "items": _QUESTION_SCHEMA},
    },
}

DEFINITION_EXAMPLE: dict[str, Any] = {
    "title": "Customer pulse",
    "questions": [
        {"key": "nps", "type": "nps", "prompt": "How likely are you to recommend us?"},
        {
            "key": "channels",
            "type": "multiple_choice",
            "prompt": "Where do you hear from us?",
            "choices": ["Email", "Push", "SMS"],
        },
    ],
}

FROM_TEMPLATE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["template"],
                    "additionalProperties": False,
                    "properties": {
                        "template": {"type": "string", "description": "A template's `slug`."},
                        "title": {
                            "type": ["string", "null"],
                            "maxLength": 200,
                            "description": "The new survey's title; the template's if left out.",
                        },
                    },
                },
                "example": {"template": "nps-follow-up", "title": "Spring NPS"},
            }
        },
    }
}

DEFINITION_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": DEFINITION_SCHEMA, "example": DEFINITION_EXAMPLE}
        },
    }
}
