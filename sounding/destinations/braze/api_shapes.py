"""Braze in the API: the shapes of its answers and bodies, for the OpenAPI document."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from ninja import Schema
from pydantic import Field

from sounding.destinations.braze.forms import MAX_REQUESTS_PER_SECOND
from sounding.destinations.braze.models import BatchLimit, Identifier, RenameMode

BATCH_LIMIT_DOC = (
    "Objects per request that your Braze contract allows: `75_combined` (attributes and "
    "events together; most accounts), `50_combined` (contracts priced by monthly active "
    "users), `75_per_array` (older accounts: 75 attributes and 75 events). `50_combined` is "
    "accepted by every account."
)


class BrazeSettingsOut(Schema):
    rest_endpoint: str | None = Field(description="The REST endpoint; null until connected.")
    cluster: str | None = Field(description="The cluster's name, null for another address.")
    api_key_set: bool = Field(description="Whether a key is stored. The key is never returned.")
    requests_per_second: int | None
    batch_limit: Literal["75_combined", "50_combined", "75_per_array"] = Field(
        description=BATCH_LIMIT_DOC
    )
    paused: bool = Field(description="Sending stopped because Braze refused the connection.")
    paused_reason: str
    last_success_at: datetime | None
    last_error: str


class EventsOut(Schema):
    per_answer: bool
    on_completion: bool


class AttributeOut(Schema):
    question_key: str
    prompt: str
    attribute_name: str | None = Field(description="The name used in Braze; null: not synced.")
    kept: bool = Field(
        description="Braze holds this question's answers under `attribute_name`: rewording the "
        "question keeps it, and changing it is a rename (see `on_rename`)."
    )
    other_attribute_name: str | None = Field(
        default=None,
        description="For a choice question offering “Other”: the attribute the typed text "
        "goes to, `attribute_name` followed by ` (other)`; `attribute_name` then holds the "
        "“Other” label in its place. Null otherwise, or when not synced.",
    )


class SurveyBrazeOut(Schema):
    enabled: bool
    identifier: Literal["braze_id", "external_id", "email"]
    attribute_names: dict[str, str | None] = Field(
        description="Names set by hand: a question missing here uses its prompt, null leaves "
        "it out."
    )
    events: EventsOut
    signed_links: bool = Field(
        description="Whether the link must carry Braze's signature of the identity (`sig`)."
    )
    signing_secret_created_at: datetime | None = Field(
        description="When the current signing secret was made."
    )
    previous_signing_secret_valid_until: datetime | None = Field(
        description="Until when links signed with the replaced secret still work; null: none."
    )
    link: str = Field(
        description="The survey link to paste into a Braze message (Liquid). With signed "
        "links, `SIGNING_SECRET` stands for the secret unless `include_secret=true` is asked "
        "by an owner or editor."
    )
    attributes: list[AttributeOut]
    unsent_responses: int = Field(
        description="Identified responses never sent to Braze (what a backfill would send)."
    )
    backfilled: int | None = Field(
        description="Responses queued by this request's `backfill`; null when not asked."
    )


def _body(schema: dict[str, Any], example: dict[str, Any]) -> dict[str, Any]:
    content = {"application/json": {"schema": schema, "example": example}}
    return {"requestBody": {"required": True, "content": content}}


SETTINGS_BODY = _body(
    {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "rest_endpoint": {
                "type": "string",
                "description": "A cluster name (US-03), a REST endpoint or a dashboard address.",
            },
            "api_key": {"type": "string", "description": "Omit to keep the stored key."},
            "requests_per_second": {
                "type": ["integer", "null"],
                "minimum": 1,
                "maximum": MAX_REQUESTS_PER_SECOND,
            },
            "batch_limit": {"enum": list(BatchLimit.values), "description": BATCH_LIMIT_DOC},
        },
    },
    {
        "rest_endpoint": "US-03",
        "api_key": "<REST API key>",
        "requests_per_second": None,
        "batch_limit": "75_combined",
    },
)
SURVEY_BODY = _body(
    {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "enabled": {"type": "boolean"},
            "identifier": {"enum": list(Identifier.values)},
            "attribute_names": {
                "type": "object",
                "additionalProperties": {"type": ["string", "null"], "maxLength": 255},
            },
            "events": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "per_answer": {"type": "boolean"},
                    "on_completion": {"type": "boolean"},
                },
            },
            "signed_links": {"type": "boolean"},
            "rotate_signing_secret": {
                "type": "boolean",
                "description": "true: a new secret; links signed with the current one keep "
                "working for the grace period (SOUNDING_SIGNING_GRACE_DAYS).",
            },
            "backfill": {"type": "boolean"},
            "on_rename": {
                "enum": list(RenameMode.values),
                "description": "Needed when `attribute_names` renames an attribute Braze "
                "already holds: move (null the old one, send the answers under the new), "
                "copy (send them under the new, keep the old) or keep (new answers only).",
            },
        },
    },
    {
        "enabled": True,
        "identifier": "braze_id",
        "attribute_names": {"nps": "NPS score", "feedback": None},
        "events": {"per_answer": False, "on_completion": True},
        "signed_links": False,
    },
)
