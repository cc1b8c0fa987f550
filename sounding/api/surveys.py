"""Surveys: create, read, replace, delete, publish and pause."""

from __future__ import annotations

from typing import Annotated, Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from ninja import Path, Router
from ninja import Status as Reply

from sounding.api.auth import Principal, principal, require_edit
from sounding.api.body import read_json
from sounding.api.errors import ApiError
from sounding.api.schemas import (
    AUTH_ERRORS,
    BODY_ERRORS,
    DEFINITION_BODY,
    READ_ERRORS,
    WRITE_ERRORS,
    SurveyList,
    SurveyOut,
)
from sounding.surveys.models import Status, Survey

router = Router(tags=["surveys"])

# Out-of-range ids would overflow the database's 64-bit integer and fail as a 500.
SurveyId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The survey's `id`.")]


def no_questions() -> ApiError:
    # Only a draft may be empty (see docs/survey-definition.md): respondents need a question.
    return ApiError(
        400,
        "A live survey needs at least one question.",
        [{"path": "$.questions", "message": "must not be empty while the survey is live"}],
    )


def survey_url(request: HttpRequest, survey: Survey) -> str:
    if settings.SITE_URL:
        return settings.SITE_URL + survey.public_path()
    return request.build_absolute_uri(survey.public_path())


def survey_out(request: HttpRequest, survey: Survey) -> dict[str, Any]:
    return {
        "id": survey.pk,
        "slug": survey.slug,
        "status": survey.status,
        "url": survey_url(request, survey),
        "title": survey.title,
        "version": survey.version,
        "created_at": survey.created_at,
        "updated_at": survey.updated_at,
        "definition": survey.definition,
    }


def find_survey(caller: Principal, survey_id: int) -> Survey:
    """The caller's survey; another workspace's survey is as absent as one never created."""
    survey = Survey.objects.filter(workspace_id=caller.workspace_id, pk=survey_id).first()
    if survey is None:
        raise ApiError(404, "There is no survey with this id in this workspace.")
    return survey


@router.get("/surveys", response={200: SurveyList, **AUTH_ERRORS})
def list_surveys(request: HttpRequest) -> dict[str, Any]:
    """The workspace's surveys, newest first."""
    surveys = Survey.objects.filter(workspace_id=principal(request).workspace_id)
    return {"items": [survey_out(request, s) for s in surveys]}


@router.post("/surveys", response={201: SurveyOut, **BODY_ERRORS}, openapi_extra=DEFINITION_BODY)
def create_survey(request: HttpRequest) -> Reply[dict[str, Any]]:
    """Create a draft survey from a definition."""
    caller = require_edit(request)
    survey = Survey.create(caller.workspace, read_json(request), caller.user)
    return Reply(201, survey_out(request, survey))


@router.get("/surveys/{survey_id}", response={200: SurveyOut, **READ_ERRORS})
def get_survey(request: HttpRequest, survey_id: SurveyId) -> dict[str, Any]:
    """One survey, with its definition."""
    return survey_out(request, find_survey(principal(request), survey_id))


@router.put(
    "/surveys/{survey_id}", response={200: SurveyOut, **BODY_ERRORS}, openapi_extra=DEFINITION_BODY
)
def replace_survey(request: HttpRequest, survey_id: SurveyId) -> dict[str, Any]:
    """Replace the whole definition; the survey's `version` goes up by one."""
    survey = find_survey(require_edit(request), survey_id)
    definition = read_json(request)
    with transaction.atomic():
        survey.replace_definition(definition)
        if survey.status == Status.LIVE and not survey.definition.get("questions"):
            raise no_questions()
    return survey_out(request, survey)


@router.delete("/surveys/{survey_id}", response={204: None, **WRITE_ERRORS})
def delete_survey(request: HttpRequest, survey_id: SurveyId) -> Reply[None]:
    """Delete the survey with all its responses."""
    find_survey(require_edit(request), survey_id).delete()
    return Reply(204, None)


@router.post("/surveys/{survey_id}/publish", response={200: SurveyOut, **WRITE_ERRORS})
def publish_survey(request: HttpRequest, survey_id: SurveyId) -> dict[str, Any]:
    """Open the survey to respondents."""
    survey = find_survey(require_edit(request), survey_id)
    if not survey.definition.get("questions"):
        raise no_questions()
    survey.set_status(Status.LIVE)
    return survey_out(request, survey)


@router.post("/surveys/{survey_id}/pause", response={200: SurveyOut, **WRITE_ERRORS})
def pause_survey(request: HttpRequest, survey_id: SurveyId) -> dict[str, Any]:
    """Close the survey to respondents until it is published again."""
    survey = find_survey(require_edit(request), survey_id)
    survey.set_status(Status.PAUSED)
    return survey_out(request, survey)
