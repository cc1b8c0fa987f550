"""What a webhook says: one message per event, its body fixed when the event happens.

Bodies follow the Standard Webhooks shape, `{"type", "timestamp", "data"}`. `data` carries the
survey, the response and its answers as the API shows them, so a receiver needs no second call.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sounding.answers.models import Response
from sounding.destinations.webhooks.models import Message
from sounding.surveys import other_text
from sounding.surveys.models import Survey
from sounding.surveys.spec import SurveySpec

ANSWERED = "response.answered"
COMPLETED = "response.completed"
ERASED = "response.erased"


def _time(when: datetime | None) -> str | None:
    return when.isoformat().replace("+00:00", "Z") if when is not None else None


def survey_part(survey: Survey) -> dict[str, Any]:
    return {"id": survey.pk, "slug": survey.slug, "title": survey.title}


def response_part(
    response: Response, hidden_fields: Sequence[str], completed_at: datetime | None
) -> dict[str, Any]:
    stored = response.hidden if isinstance(response.hidden, dict) else {}
    return {
        "id": response.token,
        "identity": {name: value or None for name, value in response.identity.items()},
        "language": response.language or None,
        # Only declared fields, as in the API and exports: a link's other parameters are not
        # the survey's to pass on.
        "hidden": {name: stored[name] for name in hidden_fields if name in stored},
        "started_at": _time(response.started_at),
        "completed_at": _time(completed_at),
    }


def answer_part(spec: SurveySpec, key: str, value: Any, at: datetime) -> dict[str, Any]:
    """One answer as given; the text typed in "Other" apart, as in the API."""
    question = spec.get(key)
    if question is None or not other_text.offers_other(question):
        return {"question": key, "value": value, "answered_at": _time(at)}
    value, text = other_text.split(question, value)
    return {"question": key, "value": value, "other": text, "answered_at": _time(at)}


def body(kind: str, at: datetime, data: Mapping[str, Any]) -> str:
    return json.dumps(
        {"type": kind, "timestamp": _time(at), "data": data},
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )


def for_change(
    response: Response,
    survey: Survey,
    at: datetime,
    answers: Mapping[str, Any],
    changed: Mapping[str, Any],
    completed: bool,
    wanted: Iterable[str],
) -> list[Message]:
    """The messages one stored change makes: an answer as given for each changed question (a
    cleared one as null), then the completion. Only the types some endpoint wants."""
    wanted = set(wanted)
    spec = survey.spec
    completed_at = at if completed else response.completed_at
    choices, other = other_text.split_answers(spec, answers)
    common = {
        "survey": survey_part(survey),
        "response": response_part(response, spec.hidden_fields, completed_at),
        "answers": choices,
        "other": other,
    }
    found = []
    if ANSWERED in wanted:
        for key, value in changed.items():
            data = {**common, "answer": answer_part(spec, key, value, at)}
            found.append(_message(response, survey, ANSWERED, at, data))
    if completed and COMPLETED in wanted:
        found.append(_message(response, survey, COMPLETED, at, common))
    return found


def for_erasure(response: Response, survey: Survey, at: datetime) -> Message:
    data = {
        "survey": survey_part(survey),
        "response": {
            "id": response.token,
            "identity": {name: value or None for name, value in response.identity.items()},
        },
    }
    return _message(response, survey, ERASED, at, data)


def _message(
    response: Response, survey: Survey, kind: str, at: datetime, data: Mapping[str, Any]
) -> Message:
    return Message(
        response_id=response.pk,
        workspace_id=survey.workspace_id,
        survey_id=survey.pk,
        type=kind,
        created_at=at,
        body=body(kind, at, data),
    )
