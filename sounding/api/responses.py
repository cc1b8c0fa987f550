"""Responses of a survey: listed oldest first a page at a time, each with where it stands with
every destination; exported whole as CSV, JSON or XLSX; deleted one at a time."""

from __future__ import annotations

import base64
import binascii
import re
from collections import defaultdict
from typing import Annotated, Any, Literal

from django.http import HttpRequest, StreamingHttpResponse
from ninja import Path, Query, Router

from sounding import destinations
from sounding.answers.models import Answer, Response
from sounding.api.auth import principal, require_edit
from sounding.api.erase import Erased
from sounding.api.errors import ApiError
from sounding.api.schemas import READ_ERRORS, WRITE_ERRORS, ResponsePage
from sounding.api.surveys import SurveyId, find_survey
from sounding.delivery import status
from sounding.responses import erasure, export, filters
from sounding.surveys import other_text
from sounding.surveys.spec import SurveySpec

router = Router(tags=["responses"])

MAX_LIMIT = 500
_CURSOR_TEXT = re.compile(r"after:([1-9][0-9]{0,18})")

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Responses per page.")]
Cursor = Annotated[
    str | None, Query(max_length=64, description="`next_cursor` of the previous page.")
]


def encode_cursor(last_id: int) -> str:
    # Opaque to clients, so paging can change without breaking them.
    return base64.urlsafe_b64encode(f"after:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, ValueError):
        text = ""
    match = _CURSOR_TEXT.fullmatch(text)
    # The round trip refuses the variants lenient base64 decoding lets through.
    if match is None or encode_cursor(int(match[1])) != cursor:
        raise ApiError(
            400,
            "The cursor is not valid: pass the next_cursor of a previous page as it is.",
            [{"path": "$.cursor", "message": "is not a cursor this API gave"}],
        )
    return int(match[1])


def answers_by_response(ids: list[int]) -> dict[int, dict[str, Any]]:
    """The answers of many responses, in one query."""
    out: dict[int, dict[str, Any]] = defaultdict(dict)
    rows = Answer.objects.filter(response_id__in=ids).order_by("id")
    for response_id, key, value in rows.values_list("response_id", "question_key", "value"):
        out[response_id][key] = value
    return out


def declared_hidden(response: Response, names: tuple[str, ...]) -> dict[str, Any]:
    """The response's values of the survey's declared hidden fields: values stored under any
    other name (before fields were declared, or since removed) stay out of the API, as they
    stay out of exports."""
    stored = response.hidden if isinstance(response.hidden, dict) else {}
    return {name: stored[name] for name in names if name in stored}


def response_out(
    response: Response,
    answers: dict[str, Any],
    sync: dict[str, status.SyncState],
    spec: SurveySpec,
) -> dict[str, Any]:
    choices, other = other_text.split_answers(spec, answers)
    return {
        "id": response.token,
        "identity": {name: value or None for name, value in response.identity.items()},
        "hidden": declared_hidden(response, spec.hidden_fields),
        "language": response.language or None,
        "started_at": response.started_at,
        "updated_at": response.updated_at,
        "completed_at": response.completed_at,
        "answers": choices,
        "other": other,
        "sync": sync,
    }


@router.get(
    "/surveys/{survey_id}/responses",
    response={200: ResponsePage, **READ_ERRORS},
)
def list_responses(
    request: HttpRequest, survey_id: SurveyId, limit: Limit = 50, cursor: Cursor = None
) -> dict[str, Any]:
    """The survey's responses with their answers, oldest first."""
    survey = find_survey(principal(request), survey_id)
    after = decode_cursor(cursor) if cursor else 0
    # One row more than asked says whether there is a next page without counting.
    found = erasure.visible(Response.objects.filter(survey=survey, pk__gt=after)).order_by("pk")
    rows = list(status.with_pushes(found, destinations.tracked_kinds())[: limit + 1])
    page = rows[:limit]
    answers = answers_by_response([r.pk for r in page])
    sync = status.page_states(page, survey)
    spec = survey.spec
    return {
        "items": [response_out(r, answers.get(r.pk, {}), sync[r.pk], spec) for r in page],
        "next_cursor": encode_cursor(page[-1].pk) if len(rows) > limit else None,
    }


Format = Annotated[
    Literal["csv", "excel-csv", "json", "xlsx"],
    Query(
        description="`csv`; `excel-csv`, the same CSV with a byte order mark so that Excel "
        "reads its accents; `json`; or `xlsx`, an Excel workbook with typed cells."
    ),
]
Completion = Annotated[
    Literal["completed", "in_progress"] | None,
    Query(description="Only completed responses, or only those still in progress."),
]
Day = Annotated[
    str | None,
    Query(
        max_length=10,
        description="A date, `YYYY-MM-DD`: responses started that day or later "
        "(`since`), or that day or earlier (`until`), in UTC.",
    ),
]
Sync = Annotated[
    Literal["pending", "synced", "failed", "not_sent"] | None,
    Query(
        description="Only responses in this delivery state at the destination whose filter "
        "is `sync` (see the export's state columns)."
    ),
]
Token = Annotated[
    str,
    Path(
        max_length=64, pattern=r"^[A-Za-z0-9_-]+$", description="The response's `id` (its token)."
    ),
]
Clear = Annotated[
    bool,
    Query(
        description="Also clear what destinations hold from this response, each as its "
        "documentation says. The parameter's old names still work."
    ),
]

EXPORT_DOC = {
    "responses": {
        "200": {
            "description": "The responses, streamed.",
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
                export.FORMATS["xlsx"].content_type: {
                    "schema": {"type": "string", "format": "binary"}
                },
            },
        }
    }
}


@router.get(
    "/surveys/{survey_id}/responses/export",
    response={**READ_ERRORS},
    openapi_extra=EXPORT_DOC,
)
def export_responses(
    request: HttpRequest,
    survey_id: SurveyId,
    format: Format = "csv",
    completion: Completion = None,
    since: Day = None,
    until: Day = None,
    sync: Sync = None,
) -> StreamingHttpResponse:
    """Every response of the survey (or those the filters select) as a CSV file (`excel-csv`:
    for Excel), a JSON array or an Excel workbook, streamed, oldest first."""
    survey = find_survey(principal(request), survey_id)
    params = {"completion": completion, "since": since, "until": until, "sync": sync}
    chosen, problems = filters.parse({k: v for k, v in params.items() if v})
    if problems:
        raise ApiError(
            400,
            "The request is not valid.",
            [{"path": f"$.{name}", "message": message} for name, message in problems],
        )
    return export.stream(survey, chosen, format)


TRUE = frozenset({"true", "1", "yes", "on"})
FALSE = frozenset({"false", "0", "no", "off"})


def _cleared_by_old_name(request: HttpRequest) -> bool:
    # The parameter's old names (a destination's `aliases`) are read here: one name in the
    # OpenAPI document, the others kept working for the clients written against them.
    clear = False
    for name in destinations.aliases_of("clear_destinations"):
        if name not in request.GET:
            continue
        value = request.GET[name].strip().lower()
        if value not in TRUE | FALSE:
            raise ApiError(
                400,
                "The request is not valid.",
                [{"path": f"$.{name}", "message": "must be true or false"}],
            )
        clear = clear or value in TRUE
    return clear


@router.delete(
    "/surveys/{survey_id}/responses/{token}",
    response={200: Erased, **WRITE_ERRORS},
)
def delete_response(
    request: HttpRequest, survey_id: SurveyId, token: Token, clear_destinations: Clear = False
) -> dict[str, Any]:
    """Delete one response with its answers. With `clear_destinations=true`, each destination
    holding its answers clears them first; the response is gone once they have."""
    survey = find_survey(require_edit(request), survey_id)
    response = Response.objects.filter(survey=survey, token=token).first()
    if response is None:
        raise ApiError(404, "There is no response with this id in this survey.")
    clear = clear_destinations or _cleared_by_old_name(request)
    return erasure.erase_one(response, clear).as_dict()
