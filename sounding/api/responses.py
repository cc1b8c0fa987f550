"""Responses of a survey, oldest first, a page at a time, each with where it stands with every
destination."""

from __future__ import annotations

import base64
import binascii
import re
from collections import defaultdict
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Query, Router

from sounding import destinations
from sounding.api.auth import principal
from sounding.api.errors import ApiError
from sounding.api.schemas import READ_ERRORS, ResponsePage
from sounding.api.surveys import SurveyId, find_survey
from sounding.collect.models import Answer, Response
from sounding.delivery import status

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


def response_out(
    response: Response, answers: dict[str, Any], sync: dict[str, status.SyncState]
) -> dict[str, Any]:
    return {
        "id": response.token,
        "identity": {name: value or None for name, value in response.identity.items()},
        "hidden": response.hidden,
        "language": response.language or None,
        "started_at": response.started_at,
        "updated_at": response.updated_at,
        "completed_at": response.completed_at,
        "answers": answers,
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
    found = Response.objects.filter(survey=survey, pk__gt=after).order_by("pk")
    rows = list(status.with_pushes(found, destinations.REGISTRY)[: limit + 1])
    page = rows[:limit]
    answers = answers_by_response([r.pk for r in page])
    sync = status.page_states(page, survey)
    return {
        "items": [response_out(r, answers.get(r.pk, {}), sync[r.pk]) for r in page],
        "next_cursor": encode_cursor(page[-1].pk) if len(rows) > limit else None,
    }
