"""Braze in the API: the workspace's connection and each survey's integration.

Mounted under /api/v1/ by `sounding.api.api` from the destination registry; the shapes of
answers and bodies are in `api_shapes`.

The API key is write-only: no answer ever carries it, only whether one is set. Bodies are read
raw (like the definition endpoints) so that each problem comes back with its own path and a
message a person can act on, and so that "omitted" and `null` can mean different things.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Router

from sounding.accounts.models import CAN_ADMINISTER
from sounding.api.auth import Principal, principal, require_edit
from sounding.api.body import read_json
from sounding.api.errors import ApiError
from sounding.api.schemas import AUTH_ERRORS, BODY_ERRORS, READ_ERRORS, Error
from sounding.api.surveys import SurveyId, find_survey
from sounding.delivery import backfill
from sounding.destinations.braze import clusters, mapping, signing
from sounding.destinations.braze.api_shapes import (
    SETTINGS_BODY,
    SURVEY_BODY,
    BrazeSettingsOut,
    SurveyBrazeOut,
)
from sounding.destinations.braze.channels.api import IncludeSecret, signing_secret
from sounding.destinations.braze.channels.api import router as channels_router
from sounding.destinations.braze.destination import KIND, survey_link
from sounding.destinations.braze.forms import (
    MAX_REQUESTS_PER_SECOND,
    key_problem,
)
from sounding.destinations.braze.models import (
    BatchLimit,
    BrazeSettings,
    Identifier,
    RenameMode,
    SurveyBraze,
)
from sounding.destinations.braze.setup import (
    blocking_problems,
    current_names,
    lane_of,
    pinned_after,
    renames_in,
    save_connection,
    save_survey_config,
    site_base,
    stored_settings,
    survey_config,
)
from sounding.surveys.models import Survey

router = Router(tags=["integrations"])
router.add_router("", channels_router)

Problems = list[dict[str, str]]
INVALID_SETTINGS = "The Braze settings are not valid."
INVALID_INTEGRATION = "The survey's Braze integration is not valid."
NOT_AN_OBJECT = [{"path": "$", "message": "must be a JSON object"}]
SETTING_FIELDS = ("rest_endpoint", "api_key", "requests_per_second", "batch_limit")
SURVEY_FIELDS = (
    "enabled",
    "identifier",
    "attribute_names",
    "events",
    "signed_links",
    "rotate_signing_secret",
    "backfill",
    "on_rename",
)
EVENT_FIELDS = {"per_answer": "per_answer_events", "on_completion": "completion_event"}


def problem(path: str, message: str) -> dict[str, str]:
    return {"path": path, "message": message}


def unknown_fields(body: Mapping[str, Any], known: tuple[str, ...], at: str = "$") -> Problems:
    allowed = ", ".join(known)
    return [
        problem(f"{at}.{k}", f"is not a field here ({allowed})") for k in body if k not in known
    ]


# --- Workspace connection -------------------------------------------------------------------


def require_owner(request: HttpRequest) -> Principal:
    caller = principal(request)
    if caller.role not in CAN_ADMINISTER:
        raise ApiError(
            403,
            f"This token acts with the {caller.role} role; only owners may change the Braze "
            "connection.",
        )
    return caller


def settings_out(workspace_id: int) -> dict[str, Any]:
    stored = stored_settings(workspace_id)
    lane = lane_of(workspace_id)
    endpoint = stored.rest_endpoint if stored else None
    name = clusters.name_of(endpoint) if endpoint else None
    return {
        "rest_endpoint": endpoint,
        "cluster": name if name != endpoint else None,
        "api_key_set": bool(stored and stored.has_key),
        "requests_per_second": stored.requests_per_second if stored else None,
        "batch_limit": stored.batch_limit if stored else BatchLimit.COMBINED_75.value,
        "paused": bool(lane and lane.paused_at),
        "paused_reason": lane.paused_reason if lane else "",
        "last_success_at": lane.last_success_at if lane else None,
        "last_error": lane.last_error if lane else "",
    }


def endpoint_input(body: Mapping[str, Any], stored: BrazeSettings | None, out: Problems) -> str:
    if "rest_endpoint" not in body:
        if stored is None:
            out.append(problem("$.rest_endpoint", "is required the first time"))
        return stored.rest_endpoint if stored else ""
    value = body["rest_endpoint"]
    if not isinstance(value, str):
        out.append(problem("$.rest_endpoint", "must be a cluster name or an address, as text"))
        return ""
    try:
        return clusters.resolve(value)
    except clusters.EndpointError as error:
        out.append(problem("$.rest_endpoint", str(error)))
        return ""


def key_input(body: Mapping[str, Any], stored: BrazeSettings | None, out: Problems) -> str:
    """The new key, or "" to keep the stored one."""
    if "api_key" not in body:
        if stored is None or not stored.has_key:
            out.append(problem("$.api_key", "is required the first time"))
        return ""
    value = body["api_key"]
    if not isinstance(value, str) or not value.strip():
        out.append(
            problem("$.api_key", "must be the key as text; leave it out to keep the saved one")
        )
        return ""
    if found := key_problem(value.strip()):
        out.append(problem("$.api_key", found))
    return value.strip()


def budget_input(
    body: Mapping[str, Any], stored: BrazeSettings | None, out: Problems
) -> int | None:
    if "requests_per_second" not in body:
        return stored.requests_per_second if stored else None
    value = body["requests_per_second"]
    if value is None:
        return None
    # bool is an int in Python; `true` is not a budget.
    if isinstance(value, bool) or not isinstance(value, int):
        value = -1
    if not 1 <= value <= MAX_REQUESTS_PER_SECOND:
        out.append(
            problem(
                "$.requests_per_second",
                f"must be a whole number from 1 to {MAX_REQUESTS_PER_SECOND}, or null for no cap",
            )
        )
        return None
    return value


def batch_limit_input(body: Mapping[str, Any], stored: BrazeSettings | None, out: Problems) -> str:
    if "batch_limit" not in body:
        return stored.batch_limit if stored else BatchLimit.COMBINED_75.value
    value = body["batch_limit"]
    if value not in BatchLimit.values:
        out.append(problem("$.batch_limit", f"must be one of: {', '.join(BatchLimit.values)}"))
        return ""
    return str(value)


@router.get("/integrations/braze", response={200: BrazeSettingsOut, **AUTH_ERRORS})
def get_braze_settings(request: HttpRequest) -> dict[str, Any]:
    """The workspace's Braze connection and whether sending works; never the API key."""
    return settings_out(principal(request).workspace_id)


@router.put(
    "/integrations/braze",
    response={200: BrazeSettingsOut, **BODY_ERRORS},
    openapi_extra=SETTINGS_BODY,
)
def put_braze_settings(request: HttpRequest) -> dict[str, Any]:
    """Connect the workspace to Braze (owners only). Omitted fields keep their value."""
    caller = require_owner(request)
    body = read_json(request)
    if not isinstance(body, dict):
        raise ApiError(400, INVALID_SETTINGS, NOT_AN_OBJECT)
    stored = stored_settings(caller.workspace_id)
    out = unknown_fields(body, SETTING_FIELDS)
    endpoint = endpoint_input(body, stored, out)
    key = key_input(body, stored, out)
    budget = budget_input(body, stored, out)
    batch_limit = batch_limit_input(body, stored, out)
    if out:
        raise ApiError(400, INVALID_SETTINGS, out)
    save_connection(caller.workspace, caller.user, endpoint, key, budget, batch_limit)
    return settings_out(caller.workspace_id)


# --- A survey's integration -----------------------------------------------------------------


def survey_out(
    request: HttpRequest,
    survey: Survey,
    config: SurveyBraze,
    backfilled: int | None = None,
    secret: str | None = signing.PLACEHOLDER,
) -> dict[str, Any]:
    spec = survey.spec
    names = current_names(spec, config.attribute_names)
    effective = mapping.attribute_names(spec, names, config.pinned_names)
    others = mapping.other_names(spec, effective)
    return {
        "enabled": config.enabled,
        "identifier": config.identifier,
        "attribute_names": names,
        "events": {
            "per_answer": config.per_answer_events,
            "on_completion": config.completion_event,
        },
        "signed_links": config.signed_links,
        "signing_secret_created_at": config.signing_secret_created_at
        if config.signed_links
        else None,
        "previous_signing_secret_valid_until": _previous_until(config),
        # The secret stays out unless asked for: an API answer ends up in logs and scripts.
        "link": survey_link(
            survey,
            config.identifier,
            site_base(request),
            secret if config.signed_links else None,
        ),
        "attributes": [
            {
                "question_key": q.key,
                "prompt": q.prompt,
                "attribute_name": effective.get(q.key),
                "kept": q.key in config.pinned_names and q.key in effective,
                "other_attribute_name": others.get(q.key),
            }
            for q in spec.questions
        ],
        "unsent_responses": backfill.owed_count(survey, KIND),
        "backfilled": backfilled,
    }


def _previous_until(config: SurveyBraze) -> datetime | None:
    until = config.previous_secret_expires_at
    if not config.signed_links or not config.previous_secret_encrypted or until is None:
        return None
    return until if until > timezone.now() else None


def _flag(body: Mapping[str, Any], name: str, path: str, out: Problems) -> bool | None:
    value = body.get(name)
    if name in body and not isinstance(value, bool):
        out.append(problem(path, "must be true or false"))
        return None
    return value


def names_input(body: Mapping[str, Any], out: Problems) -> dict[str, str | None] | None:
    """The names as sent (they replace the stored ones), or None when not sent."""
    if "attribute_names" not in body:
        return None
    value = body["attribute_names"]
    if not isinstance(value, dict):
        out.append(problem("$.attribute_names", "must be an object of question key to name"))
        return None
    for key, name in value.items():
        if name is not None and not isinstance(name, str):
            out.append(
                problem(
                    f"$.attribute_names.{key}",
                    "must be the attribute name as text, or null to leave the question out",
                )
            )
    return value


def events_input(body: Mapping[str, Any], out: Problems) -> dict[str, bool]:
    """Model field -> new value, for the event switches that were sent."""
    events = body.get("events", {})
    if not isinstance(events, dict):
        out.append(problem("$.events", "must be an object with per_answer and on_completion"))
        return {}
    out += unknown_fields(events, tuple(EVENT_FIELDS), "$.events")
    changes = {}
    for name, field in EVENT_FIELDS.items():
        value = _flag(events, name, f"$.events.{name}", out)
        if value is not None:
            changes[field] = value
    return changes


def survey_changes(body: Mapping[str, Any], out: Problems) -> dict[str, Any]:
    """Model field -> new value, for every field the body sets; problems go to `out`."""
    changes: dict[str, Any] = {}
    enabled = _flag(body, "enabled", "$.enabled", out)
    if enabled is not None:
        changes["enabled"] = enabled
    if "identifier" in body:
        if body["identifier"] in Identifier.values:
            changes["identifier"] = body["identifier"]
        else:
            choices = ", ".join(Identifier.values)
            out.append(problem("$.identifier", f"must be one of: {choices}"))
    names = names_input(body, out)
    if names is not None:
        changes["attribute_names"] = names
    signed = _flag(body, "signed_links", "$.signed_links", out)
    if signed is not None:
        changes["signed_links"] = signed
    return changes | events_input(body, out)


def apply_signing(
    config: SurveyBraze, changes: Mapping[str, Any], rotate: bool | None, out: Problems
) -> None:
    """Turn signing on or off and rotate the secret, as asked."""
    had_secret = bool(config.signing_secret_encrypted)
    if "signed_links" in changes:
        signing.set_signed(config, changes["signed_links"])
    if rotate and not config.signed_links:
        out.append(problem("$.rotate_signing_secret", "needs signed links on (signed_links: true)"))
    elif rotate and had_secret:
        # A secret made by this very request is new already.
        signing.rotate(config)


def check_names(
    survey: Survey, config: SurveyBraze, sent: Mapping[str, Any], out: Problems
) -> dict[str, tuple[str, str]]:
    """Add the problems of the names to `out`; return the renames they make."""
    spec = survey.spec
    names = current_names(spec, config.attribute_names)
    if "attribute_names" in sent:
        names = dict(sent["attribute_names"])
    renamed = renames_in(spec, config, names)
    given = sent.get("attribute_names", {})
    pinned = pinned_after(config, renamed)
    found = blocking_problems(spec, names, config.enabled, given, pinned)
    out += [problem(f"$.attribute_names.{key}", message) for key, message in found.items()]
    return renamed


def rename_input(body: Mapping[str, Any], renamed: Mapping[str, Any], out: Problems) -> str:
    """How to rename, when the names rename an attribute Braze holds (then it is required)."""
    mode = body.get("on_rename")
    if "on_rename" in body and mode not in RenameMode.values:
        out.append(problem("$.on_rename", f"must be one of: {', '.join(RenameMode.values)}"))
    elif renamed and mode is None:
        for key, (old, new) in renamed.items():
            out.append(
                problem(
                    f"$.attribute_names.{key}",
                    f"Braze holds this question's answers as “{old}”: to rename it “{new}”, "
                    "say what becomes of the profiles that have it with on_rename "
                    "(move, copy or keep)",
                )
            )
    return mode if isinstance(mode, str) else ""


@router.get(
    "/surveys/{survey_id}/integrations/braze",
    response={200: SurveyBrazeOut, **READ_ERRORS, 403: Error, 409: Error},
)
def get_survey_braze(
    request: HttpRequest, survey_id: SurveyId, include_secret: IncludeSecret = False
) -> dict[str, Any]:
    """The survey's Braze integration: switch, identifier, names, events and its link."""
    caller = principal(request)
    survey = find_survey(caller, survey_id)
    secret = signing_secret(caller, survey, include_secret)
    return survey_out(request, survey, survey_config(survey), secret=secret)


@router.put(
    "/surveys/{survey_id}/integrations/braze",
    response={200: SurveyBrazeOut, **BODY_ERRORS},
    openapi_extra=SURVEY_BODY,
)
def put_survey_braze(request: HttpRequest, survey_id: SurveyId) -> dict[str, Any]:
    """Change the survey's Braze integration; omitted fields are left as they are."""
    survey = find_survey(require_edit(request), survey_id)
    body = read_json(request)
    if not isinstance(body, dict):
        raise ApiError(400, INVALID_INTEGRATION, NOT_AN_OBJECT)
    out = unknown_fields(body, SURVEY_FIELDS)
    changes = survey_changes(body, out)
    wants_backfill = _flag(body, "backfill", "$.backfill", out)
    rotate = _flag(body, "rotate_signing_secret", "$.rotate_signing_secret", out)
    config = survey_config(survey)
    for field, value in changes.items():
        if field != "signed_links":
            setattr(config, field, value)
    renamed: dict[str, tuple[str, str]] = {}
    mode = ""
    if not out:
        renamed = check_names(survey, config, changes, out)
        mode = rename_input(body, renamed, out)
        apply_signing(config, changes, rotate, out)
    if wants_backfill and not config.enabled:
        out.append(problem("$.backfill", "needs the integration on (enabled: true)"))
    if out:
        raise ApiError(400, INVALID_INTEGRATION, out)
    save_survey_config(survey, config, renamed, mode)
    sent = backfill.resend_all(survey, KIND) if wants_backfill else None
    return survey_out(request, survey, config, sent)
