"""Data-subject requests: delete everything one person gave, in every survey of the workspace.

The body is read raw, like the other write endpoints, so that each problem comes back with its
own path and a message a person can act on.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import Field

from sounding.api.auth import require_edit
from sounding.api.body import read_json
from sounding.api.errors import ApiError
from sounding.api.schemas import BODY_ERRORS
from sounding.responses import erasure

router = Router(tags=["responses"])

INVALID_REQUEST = "The erase request is not valid."
FIELDS = ("identifier", "value", "clear_braze")
MAX_VALUE = 255


class Erased(Schema):
    responses: int = Field(description="Responses deleted, or being deleted.")
    surveys: int = Field(description="How many surveys they were in.")
    clearing_in_braze: int = Field(
        description="Of those, how many stay until Braze has taken `null` for their attributes."
    )
    clearing_blocked: str | None = Field(
        None,
        description="Why Braze cannot take those nulls now (the workspace's Braze connection "
        "is missing, or Braze refused it), or `null` when it can. They wait until it is fixed; "
        "the same request again says where they stand.",
    )


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
                        "identifier": {"enum": list(erasure.IDENTIFIERS)},
                        "value": {"type": "string", "minLength": 1, "maxLength": MAX_VALUE},
                        "clear_braze": {"type": "boolean", "default": False},
                    },
                },
                "example": {"identifier": "braze_id", "value": "abc", "clear_braze": True},
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
    if body.get("identifier") not in erasure.IDENTIFIERS:
        out.append(_problem("$.identifier", f"must be one of: {', '.join(erasure.IDENTIFIERS)}"))
    value = body.get("value")
    if not isinstance(value, str) or not value.strip():
        out.append(_problem("$.value", "must be a non-empty string"))
    elif len(value.strip()) > MAX_VALUE:
        out.append(_problem("$.value", f"must be at most {MAX_VALUE} characters"))
    if not isinstance(body.get("clear_braze", False), bool):
        out.append(_problem("$.clear_braze", "must be true or false"))
    return out


@router.post("/responses/erase", response={200: Erased, **BODY_ERRORS}, openapi_extra=ERASE_BODY)
def erase_person(request: HttpRequest) -> dict[str, Any]:
    """Delete every response, in every survey of the workspace, whose link carried this
    identifier (emails match in any case). With `clear_braze`, Braze first gets `null` for each
    attribute those responses set."""
    caller = require_edit(request)
    body = read_json(request)
    if problems := _check(body):
        raise ApiError(400, INVALID_REQUEST, problems)
    found = erasure.matching(caller.workspace_id, body["identifier"], body["value"].strip())
    return erasure.erase(found, body.get("clear_braze", False)).as_dict()
