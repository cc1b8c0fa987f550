"""Survey templates: list them, and create a survey from one (`sounding.surveys.library`)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router
from ninja import Status as Reply

from sounding.api.auth import principal, require_edit
from sounding.api.body import read_json
from sounding.api.errors import ApiError
from sounding.api.schemas import (
    AUTH_ERRORS,
    BODY_ERRORS,
    FROM_TEMPLATE_BODY,
    SurveyOut,
    TemplateList,
)
from sounding.api.surveys import survey_out
from sounding.surveys import library
from sounding.surveys.definition import normalize

router = Router(tags=["templates"])

BODY_FIELDS = ("template", "title")
INVALID_BODY = "The request is not valid."


def template_out(template: library.Template) -> dict[str, Any]:
    return {
        "slug": template.slug,
        "name": template.name,
        "description": template.description,
        "title": template.title,
        "question_count": len(template.questions),
        "languages": template.languages,
        "questions": [
            {"key": q["key"], "type": q["type"], "prompt": q["prompt"], "show_if": q.get("show_if")}
            for q in template.questions
        ],
        "definition": normalize(template.definition),
        "destinations": template.destinations,
    }


@router.get("/templates", response={200: TemplateList, **AUTH_ERRORS})
def list_templates(request: HttpRequest) -> dict[str, Any]:
    """The survey templates, in the order the new-survey page shows them."""
    principal(request)
    return {"items": [template_out(t) for t in library.templates()]}


def _chosen(body: Any) -> tuple[library.Template, str | None]:
    if not isinstance(body, dict):
        raise ApiError(400, INVALID_BODY, [{"path": "$", "message": "must be a JSON object"}])
    problems = [
        {"path": f"$.{name}", "message": f"is not a field here ({', '.join(BODY_FIELDS)})"}
        for name in body
        if name not in BODY_FIELDS
    ]
    slug = body.get("template")
    template = library.find(slug) if isinstance(slug, str) else None
    if template is None:
        known = ", ".join(t.slug for t in library.templates())
        message = "is required" if slug is None else f"must be one of: {known}"
        problems.append({"path": "$.template", "message": message})
    title = body.get("title")
    if title is not None and not isinstance(title, str):
        problems.append({"path": "$.title", "message": "must be a string"})
    if problems or template is None:
        raise ApiError(400, INVALID_BODY, problems)
    return template, title


@router.post(
    "/surveys/from-template",
    response={201: SurveyOut, **BODY_ERRORS},
    openapi_extra=FROM_TEMPLATE_BODY,
)
def create_from_template(request: HttpRequest) -> Reply[dict[str, Any]]:
    """Create a draft survey from a template: its questions, skip rules and translations, and
    what it sets up for destinations (attribute names, for one)."""
    caller = require_edit(request)
    template, title = _chosen(read_json(request))
    survey = library.create_survey(caller.workspace, template, title, caller.user)
    return Reply(201, survey_out(request, survey))
