"""Webhook endpoints through the API: list, add, change, test, rotate, delete, and each one's
delivery log.

Bodies are read raw, like the Braze endpoints, so each problem comes back with its own path
and omitted fields can be told from `null`. The signing secret is in two answers only: the one
that creates the endpoint and the one that rotates its secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from ninja import Path, Router, Schema
from ninja import Status as Reply
from pydantic import Field

from sounding.accounts.models import CAN_ADMINISTER
from sounding.api.auth import Principal, principal
from sounding.api.body import read_json
from sounding.api.errors import ApiError
from sounding.api.schemas import BODY_ERRORS, WRITE_ERRORS
from sounding.destinations.webhooks import endpoints
from sounding.destinations.webhooks.models import EVENTS, Endpoint

router = Router(tags=["webhooks"])

# Out-of-range ids would overflow the database's 64-bit integer and fail as a 500.
EndpointId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The endpoint's `id`.")]
MsgId = Annotated[
    str, Path(min_length=1, max_length=40, description="The message's `webhook-id` (`msg_...`).")
]
Problems = list[dict[str, str]]
Event = Literal["response.answered", "response.completed", "response.erased"]

INVALID = "The webhook endpoint is not valid."
NOT_AN_OBJECT = [{"path": "$", "message": "must be a JSON object"}]
NOT_FOUND = "There is no webhook endpoint with this id in this workspace."
FIELDS = ("url", "description", "events", "surveys", "enabled")
MAX_DESCRIPTION = 200
EVENTS_DOC = (
    "What is sent: `response.answered` (each answer as it is given), `response.completed` "
    "(a respondent reached the end), `response.erased` (a response was deleted)."
)
SURVEYS_DOC = (
    '`"all"`: every survey of the workspace, present and future; otherwise the ids of the '
    "surveys whose answers are sent."
)


# --- Shapes, for the OpenAPI document -------------------------------------------------------


class EndpointState(Schema):
    pending: int = Field(description="Responses with events waiting to be sent.")
    failed: int = Field(description="Responses whose events failed for good (resend them).")
    failing_since: datetime | None = Field(
        description="When the current run of failed tries began; null when the last one worked."
    )
    last_error: str = Field(
        description="The last failure, with the status and the start of the body answered."
    )
    last_error_at: datetime | None
    last_success_at: datetime | None
    paused: bool = Field(description="Sending stopped until the endpoint's settings change.")
    paused_reason: str


class EndpointOut(Schema):
    id: int
    url: str
    description: str
    events: list[Event] = Field(description=EVENTS_DOC)
    surveys: Literal["all"] | list[int] = Field(description=SURVEYS_DOC)
    enabled: bool
    disabled_reason: str = Field(
        description="Why Sounding turned the endpoint off (a 410 Gone, or every try of the "
        "retry schedule failed); empty when on, or turned off by a person."
    )
    created_at: datetime
    updated_at: datetime
    state: EndpointState


class EndpointCreated(EndpointOut):
    secret: str = Field(
        description="The signing secret (`whsec_...`). Returned this once: store it with the "
        "receiver."
    )


class EndpointList(Schema):
    items: list[EndpointOut]


class TestOut(Schema):
    ok: bool = Field(description="The endpoint answered with a 2xx status.")
    status: int | None = Field(description="The HTTP status it answered; null: no answer.")
    detail: str = Field(description="What it answered, or why there was no answer.")


class RotateOut(Schema):
    secret: str = Field(description="The new signing secret, returned this once.")
    previous_secret_expires_at: datetime = Field(
        description="Until then the previous secret signs beside the new one (24 hours)."
    )


class DeliveryOut(Schema):
    msg_id: str = Field(description="The message's `webhook-id`, the same on every retry.")
    type: str = Field(description="The event type; empty for a message deleted since.")
    started_at: datetime
    outcome: Literal["sending", "ok", "retry", "rate_limited", "failed", "paused"]
    status: int | None = Field(description="The HTTP status answered; null: no answer.")
    detail: str


class DeliveryList(Schema):
    items: list[DeliveryOut]


class Queued(Schema):
    queued: int = Field(description="Responses whose events go again.")


def _body(schema: dict[str, Any], example: dict[str, Any]) -> dict[str, Any]:
    content = {"application/json": {"schema": schema, "example": example}}
    return {"requestBody": {"required": True, "content": content}}


PROPERTIES: dict[str, Any] = {
    "url": {
        "type": "string",
        "maxLength": 2000,
        "description": "HTTPS on a public address; redirects are not followed.",
    },
    "description": {"type": "string", "maxLength": MAX_DESCRIPTION},
    "events": {
        "type": "array",
        "items": {"enum": list(EVENTS)},
        "minItems": 1,
        "description": EVENTS_DOC + " Omitted when creating: all three.",
    },
    "surveys": {
        "oneOf": [
            {"const": "all"},
            {"type": "array", "items": {"type": "integer", "minimum": 1}},
        ],
        "description": SURVEYS_DOC + " An empty list, or omitted when creating: all.",
    },
    "enabled": {"type": "boolean", "description": "Omitted when creating: true."},
}
CREATE_BODY = _body(
    {
        "type": "object",
        "additionalProperties": False,
        "required": ["url"],
        "properties": PROPERTIES,
    },
    {
        "url": "https://hooks.example.com/sounding",
        "description": "Our CRM",
        "events": ["response.completed"],
        "surveys": "all",
        "enabled": True,
    },
)
PATCH_BODY = _body(
    {"type": "object", "additionalProperties": False, "properties": PROPERTIES},
    {"description": "Our CRM (production)", "enabled": False},
)


# --- Reading a body -------------------------------------------------------------------------


def problem(path: str, message: str) -> dict[str, str]:
    return {"path": path, "message": message}


def changes_in(body: Any, creating: bool) -> dict[str, Any]:
    """`endpoints.update`'s keyword arguments for the fields the body sets; a 400 naming each
    field that is wrong otherwise. The service's own checks (the address, the surveys) run
    here too, so every problem is reported at once."""
    if not isinstance(body, dict):
        raise ApiError(400, INVALID, NOT_AN_OBJECT)
    out: Problems = [
        problem(f"$.{k}", f"is not a field here ({', '.join(FIELDS)})")
        for k in body
        if k not in FIELDS
    ]
    changes: dict[str, Any] = {}
    if "url" in body:
        changes["url"] = _text(body, "url", 2000, out)
    elif creating:
        out.append(problem("$.url", "is required"))
    if "description" in body:
        changes["description"] = _text(body, "description", MAX_DESCRIPTION, out)
    if "events" in body:
        changes["events"] = _events(body["events"], out)
    if "surveys" in body:
        changes["survey_ids"] = _surveys(body["surveys"], out)
    if "enabled" in body:
        if isinstance(body["enabled"], bool):
            changes["enabled"] = body["enabled"]
        else:
            out.append(problem("$.enabled", "must be true or false"))
    if out:
        raise ApiError(400, INVALID, out)
    return changes


def _text(body: Mapping[str, Any], name: str, limit: int, out: Problems) -> str:
    value = body[name]
    if not isinstance(value, str):
        out.append(problem(f"$.{name}", "must be text"))
        return ""
    if len(value) > limit:
        out.append(problem(f"$.{name}", f"must be at most {limit:,} characters"))
    return value


def _events(value: Any, out: Problems) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(e, str) for e in value):
        out.append(problem("$.events", f"must be a list of event types ({', '.join(EVENTS)})"))
        return []
    return value


def _surveys(value: Any, out: Problems) -> list[int]:
    if value == "all" or value is None:
        return []
    # bool is an int in Python; `true` is not a survey id.
    if not isinstance(value, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) and 1 <= i < 2**63 for i in value
    ):
        out.append(problem("$.surveys", '"all", or a list of survey ids'))
        return []
    return value


def _service(call: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a service function; its input errors become a 400 naming the field."""
    try:
        return call(*args, **kwargs)
    except endpoints.Invalid as error:
        raise ApiError(400, INVALID, [problem(f"$.{error.field}", str(error))]) from None


# --- Answers --------------------------------------------------------------------------------


def require_owner(request: HttpRequest) -> Principal:
    """Owners only, reading included, as for the Braze connection: an endpoint receives every
    answer of the workspace, and its URL may carry the receiver's own secret."""
    caller = principal(request)
    if caller.role not in CAN_ADMINISTER:
        raise ApiError(
            403,
            f"This token acts with the {caller.role} role; only owners may see and change "
            "webhook endpoints.",
        )
    return caller


def find_endpoint(caller: Principal, endpoint_id: int) -> Endpoint:
    """The caller's endpoint; another workspace's is as absent as one never created."""
    found = Endpoint.objects.filter(workspace_id=caller.workspace_id, pk=endpoint_id).first()
    if found is None:
        raise ApiError(404, NOT_FOUND)
    return found


def endpoint_out(endpoint: Endpoint) -> dict[str, Any]:
    return {
        "id": endpoint.pk,
        "url": endpoint.url,
        "description": endpoint.description,
        "events": [e for e in EVENTS if e in endpoint.events],
        "surveys": "all" if endpoint.all_surveys else list(endpoint.survey_ids or ()),
        "enabled": endpoint.enabled,
        "disabled_reason": endpoint.disabled_reason,
        "created_at": endpoint.created_at,
        "updated_at": endpoint.updated_at,
        "state": endpoints.lane_state(endpoint),
    }


@router.get("/integrations/webhooks", response={200: EndpointList, **WRITE_ERRORS})
def list_webhooks(request: HttpRequest) -> dict[str, Any]:
    """The workspace's webhook endpoints, oldest first, each with how its deliveries go.
    Never their secrets."""
    found = Endpoint.objects.filter(workspace_id=require_owner(request).workspace_id)
    return {"items": [endpoint_out(e) for e in found]}


@router.post(
    "/integrations/webhooks",
    response={201: EndpointCreated, **BODY_ERRORS},
    openapi_extra=CREATE_BODY,
)
def create_webhook(request: HttpRequest) -> Reply[dict[str, Any]]:
    """Add an endpoint (owners). The answer carries its signing `secret`, the only
    time it is returned."""
    caller = require_owner(request)
    changes = changes_in(read_json(request), creating=True)
    endpoint, secret = _service(
        endpoints.create,
        caller.workspace_id,
        changes["url"],
        description=changes.get("description", ""),
        event_types=changes.get("events", EVENTS),
        survey_ids=changes.get("survey_ids"),
        enabled=changes.get("enabled", True),
    )
    return Reply(201, {**endpoint_out(endpoint), "secret": secret})


@router.get("/integrations/webhooks/{endpoint_id}", response={200: EndpointOut, **WRITE_ERRORS})
def get_webhook(request: HttpRequest, endpoint_id: EndpointId) -> dict[str, Any]:
    """One endpoint and how its deliveries go."""
    return endpoint_out(find_endpoint(require_owner(request), endpoint_id))


@router.patch(
    "/integrations/webhooks/{endpoint_id}",
    response={200: EndpointOut, **BODY_ERRORS},
    openapi_extra=PATCH_BODY,
)
def update_webhook(request: HttpRequest, endpoint_id: EndpointId) -> dict[str, Any]:
    """Change an endpoint; omitted fields are left as they are. Turning it on again (`enabled:
    true`) sends what waited meanwhile, and clears `disabled_reason`."""
    endpoint = find_endpoint(require_owner(request), endpoint_id)
    changes = changes_in(read_json(request), creating=False)
    return endpoint_out(_service(endpoints.update, endpoint, **changes))


@router.delete("/integrations/webhooks/{endpoint_id}", response={204: None, **WRITE_ERRORS})
def delete_webhook(request: HttpRequest, endpoint_id: EndpointId) -> Reply[None]:
    """Delete an endpoint: nothing more is sent to it, waiting events included."""
    endpoints.delete(find_endpoint(require_owner(request), endpoint_id))
    return Reply(204, None)


@router.post("/integrations/webhooks/{endpoint_id}/test", response={200: TestOut, **WRITE_ERRORS})
def send_webhook_test(request: HttpRequest, endpoint_id: EndpointId) -> dict[str, Any]:
    """Send a signed `sounding.test` event now and say what the endpoint answered. The answer
    is 200 whatever the endpoint did: `ok` says whether it took the message."""
    result = endpoints.send_test(find_endpoint(require_owner(request), endpoint_id))
    return {"ok": result.ok, "status": result.status, "detail": result.detail}


@router.post(
    "/integrations/webhooks/{endpoint_id}/rotate", response={200: RotateOut, **WRITE_ERRORS}
)
def rotate_webhook_secret(request: HttpRequest, endpoint_id: EndpointId) -> dict[str, Any]:
    """A new signing secret, returned this once. The previous one keeps signing beside it for
    24 hours (requests carry both signatures), so the receiver can switch meanwhile."""
    endpoint = find_endpoint(require_owner(request), endpoint_id)
    secret = endpoints.rotate(endpoint)
    return {"secret": secret, "previous_secret_expires_at": endpoint.previous_secret_until}


@router.get(
    "/integrations/webhooks/{endpoint_id}/deliveries",
    response={200: DeliveryList, **WRITE_ERRORS},
)
def list_webhook_deliveries(request: HttpRequest, endpoint_id: EndpointId) -> dict[str, Any]:
    """The endpoint's delivery log: its latest 100 tries, newest first."""
    endpoint = find_endpoint(require_owner(request), endpoint_id)
    return {
        "items": [
            {
                "msg_id": d.msg_id,
                "type": d.type,
                "started_at": d.started_at,
                "outcome": d.outcome,
                "status": d.status,
                "detail": d.detail,
            }
            for d in endpoints.log(endpoint)
        ]
    }


@router.post(
    "/integrations/webhooks/{endpoint_id}/deliveries/{msg_id}/resend",
    response={200: Queued, **WRITE_ERRORS},
)
def resend_webhook_message(
    request: HttpRequest, endpoint_id: EndpointId, msg_id: MsgId
) -> dict[str, Any]:
    """Send one message again, with the same `webhook-id` (the receiver lost it)."""
    endpoint = find_endpoint(require_owner(request), endpoint_id)
    if not endpoints.resend(endpoint, msg_id):
        raise ApiError(
            404,
            "There is no message with this id that this endpoint can send again: its response "
            "was deleted, or the endpoint does not take its event type.",
        )
    return {"queued": 1}


@router.post(
    "/integrations/webhooks/{endpoint_id}/resend-failed",
    response={200: Queued, **WRITE_ERRORS},
)
def resend_failed_webhooks(request: HttpRequest, endpoint_id: EndpointId) -> dict[str, Any]:
    """Send again every response whose events failed, or waited while the endpoint was off
    (they go once it is on)."""
    endpoint = find_endpoint(require_owner(request), endpoint_id)
    return {"queued": endpoints.resend_failed(endpoint)}
