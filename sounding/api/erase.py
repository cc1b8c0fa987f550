"""Data-subject requests: delete everything one person gave, in every survey of the workspace.

The body is read raw, like the other write endpoints, so that each problem comes back with its
own path and a message a person can act on.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import Field, create_model

from sounding import destinations
from sounding.api.auth import require_edit
from sounding.api.body import read_json
from sounding.api.errors import ApiError
from sounding.api.schemas import BODY_ERRORS
from sounding.responses import erasure

router = Router(tags=["responses"])

INVALID_REQUEST = "The erase request is not valid."
CLEAR = "clear_destinations"
# The old names of `clear_destinations` (a destination's `aliases`), still accepted.
CLEAR_ALIASES = tuple(destinations.aliases_of(CLEAR))
FIELDS = ("identifier", "value", CLEAR, *CLEAR_ALIASES)
MAX_VALUE = 255


def _erased_schema() -> type[Schema]:
    clearing = (
        "Of those, how many stay until the destinations holding their answers have cleared them."
    )
    fields: dict[str, Any] = {
        "responses": (int, Field(description="Responses deleted, or being deleted.")),
        "surveys": (int, Field(description="How many surveys they were in.")),
        "clearing_at_destinations": (int, Field(description=clearing)),
        **{
            old: (
                int,
                Field(description="Old name of `clearing_at_destinations`.", deprecated=True),
            )
            for old in destinations.aliases_of("clearing_at_destinations")
        },
        "clearing_blocked": (
            str | None,
            Field(
                None,
                description="Why a destination cannot clear now (the workspace's connection is "
                "missing, or the destination refused it), or `null` when all can. They wait "
                "until it is fixed; the same request again says where they stand.",
            ),
        ),
    }
    return create_model("Erased", __base__=Schema, **fields)


Erased = _erased_schema()


ERASE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["identifier", "value"],
                    "additionalProperties": False,
                    "properties": {
                        "identifier": {"enum": erasure.identifiers()},
                        "value": {"type": "string", "minLength": 1, "maxLength": MAX_VALUE},
                        CLEAR: {"type": "boolean", "default": False},
                        **{
                            old: {"type": "boolean", "deprecated": True, "description": CLEAR}
                            for old in CLEAR_ALIASES
                        },
                    },
                },
                "example": {"identifier": "email", "value": "ivy@x.test", CLEAR: True},
            }
        },
    }
}


def _problem(path: str, message: str) -> dict[str, str]:
    return {"path": path, "message": message}


def _check(body: Any) -> list[dict[str, str]]:
    if not isinstance(body, dict):
        return [_problem("$", "must be a JSON object")]
    out = [_problem(f"$.{k}", "is not a field of this request") for k in body if k not in FIELDS]
    if body.get("identifier") not in erasure.identifiers():
        out.append(_problem("$.identifier", f"must be one of: {', '.join(erasure.identifiers())}"))
    value = body.get("value")
    if not isinstance(value, str) or not value.strip():
        out.append(_problem("$.value", "must be a non-empty string"))
    elif len(value.strip()) > MAX_VALUE:
        out.append(_problem("$.value", f"must be at most {MAX_VALUE} characters"))
    for name in (CLEAR, *CLEAR_ALIASES):
        if not isinstance(body.get(name, False), bool):
            out.append(_problem(f"$.{name}", "must be true or false"))
    return out


def _clear(body: dict[str, Any]) -> bool:
    return any(body.get(name, False) for name in (CLEAR, *CLEAR_ALIASES))


@router.post("/responses/erase", response={200: Erased, **BODY_ERRORS}, openapi_extra=ERASE_BODY)
def erase_person(request: HttpRequest) -> dict[str, Any]:
    """Delete every response, in every survey of the workspace, whose link carried this
    identifier (emails match in any case). With `clear_destinations`, each destination holding
    their answers clears them first."""
    caller = require_edit(request)
    body = read_json(request)
    if problems := _check(body):
        raise ApiError(400, INVALID_REQUEST, problems)
    found = erasure.matching(caller.workspace_id, body["identifier"], body["value"].strip())
    return erasure.erase(found, _clear(body)).as_dict()
