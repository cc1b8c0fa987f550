"""What the responses pages show: rows of the table, and one response in full."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db.models import Count, Q

from sounding import destinations
from sounding.answers.models import Answer, Response
from sounding.delivery import status
from sounding.delivery.models import Attempt, Lane, Push
from sounding.responses import display, erasure
from sounding.responses.filters import ERASING, SYNC
from sounding.surveys.models import Survey
from sounding.surveys.spec import Question

ANSWERS_SHOWN = 3
ATTEMPTS_SHOWN = 10


def kinds() -> list[str]:
    """The destinations whose state the pages show: every registered one, on or off."""
    return list(destinations.tracked_kinds())


def columns(picked: Mapping[str, str]) -> list[dict[str, str]]:
    """The table's destination columns and filters (with the state picked), in registry order."""
    return [
        {
            "kind": p.kind,
            "label": p.label,
            "param": p.filter_param,
            "picked": picked.get(p.kind, ""),
        }
        for p in destinations.tracked()
    ]


def search_hint() -> str:
    """What the respondent search looks in, in words: "External ID or email"."""
    labels = [i.label for i in destinations.identities().values()]
    words = labels[:1] + [label[:1].lower() + label[1:] for label in labels[1:]]
    return ", ".join(words[:-1]) + " or " + words[-1] if len(words) > 1 else "".join(words)


def tally(survey: Survey) -> dict[str, int]:
    """How many responses the survey has, complete and not, in one query."""
    return Response.objects.filter(survey=survey).aggregate(
        all=Count("pk"),
        completed=Count("pk", filter=Q(completed_at__isnull=False)),
        in_progress=Count("pk", filter=Q(completed_at__isnull=True)),
        erasing=Count("pk", filter=Q(erase_requested_at__isnull=False)),
    )


def shown_questions(survey: Survey) -> list[Question]:
    return list(survey.spec.questions[:ANSWERS_SHOWN])


def _answers(ids: list[int], keys: list[str]) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = defaultdict(dict)
    found = Answer.objects.filter(response_id__in=ids, question_key__in=keys)
    for response_id, key, value in found.values_list("response_id", "question_key", "value"):
        out[response_id][key] = value
    return out


def sync_of(
    response: Response, push: Push | None, survey: Survey, kind: str, lane: Lane | None
) -> dict:
    """The state to show: "Erasing…" while the response is being cleared, the delivery state
    else."""
    enabled = kind in destinations.enabled_kinds(survey)
    sync = status.sync_state(push, response, kind=kind, enabled=enabled, lane=lane)
    if response.erase_requested_at is not None:
        reason = f"Deleted: waiting for {status.label(kind)} to take the cleared values"
        if lane is not None and lane.paused_at is not None:
            # Otherwise it would wait without a word: its connection is gone or refused.
            reason += f", which it cannot take now: {lane.paused_reason}"
        return {**sync, "state": ERASING, "label": SYNC[ERASING], "reason": reason}
    return {**sync, "label": SYNC[sync["state"]]}


def rows(responses: list[Response], survey: Survey) -> list[dict[str, Any]]:
    """Table rows for responses read through `status.with_pushes(..., kinds())`."""
    questions = shown_questions(survey)
    answers = _answers([r.pk for r in responses], [q.key for q in questions])
    lanes = {kind: status.waiting_lane(responses, survey.workspace_id, kind) for kind in kinds()}
    out = []
    for response in responses:
        given = answers.get(response.pk, {})
        out.append(
            {
                "response": response,
                "who": display.who(response),
                "syncs": [
                    sync_of(response, status.joined_push(response, k), survey, k, lane)
                    for k, lane in lanes.items()
                ],
                "answers": [
                    display.shorten(display.readable(q, given[q.key])) if q.key in given else ""
                    for q in questions
                ],
            }
        )
    return out


def _answer_row(question: Question | None, key: str, value: Any, when: datetime) -> dict:
    return {
        "key": key,
        "prompt": question.prompt if question else key,
        "value": display.readable(question, value),
        "answered_at": when,
    }


def hidden_values(response: Response, declared: tuple[str, ...]) -> list[dict[str, Any]]:
    """The response's hidden fields: the survey's declared ones in their order, then whatever
    else it stored (before fields were declared, or under a name since removed), by name.
    Only this page shows the others: exports and the API read the declared names alone."""
    stored = response.hidden if isinstance(response.hidden, dict) else {}
    found = [{"name": n, "value": stored[n], "declared": True} for n in declared if n in stored]
    others = sorted(set(stored) - set(declared))
    return found + [{"name": n, "value": stored[n], "declared": False} for n in others]


def detail(response: Response, survey: Survey) -> dict[str, Any]:
    """Everything the response page shows: answers in survey order, removed questions' answers,
    hidden fields, and where it stands with each destination."""
    spec = survey.spec
    given = {
        a.question_key: a for a in Answer.objects.filter(response=response).order_by("answered_at")
    }
    answers = []
    for q in spec.questions:
        a = given.get(q.key)
        answers.append(
            _answer_row(q, q.key, a.value, a.answered_at)
            if a
            else {"key": q.key, "prompt": q.prompt, "value": None, "answered_at": None}
        )
    removed = [
        _answer_row(None, key, a.value, a.answered_at)
        for key, a in sorted(given.items())
        if spec.get(key) is None
    ]
    return {
        "answers": answers,
        "answered": len([a for a in answers if a["value"] is not None]),
        "removed": removed,
        "hidden": hidden_values(response, spec.hidden_fields),
        "identities": display.identities(response),
        "destinations": [_destination(response, survey, kind) for kind in kinds()],
    }


def _destination(response: Response, survey: Survey, kind: str) -> dict[str, Any]:
    """Where the response stands with one destination, and what it holds from it."""
    push = Push.objects.filter(response=response, destination=kind).first()
    lane = Lane.objects.filter(workspace_id=survey.workspace_id, destination=kind).first()
    plugin = destinations.plugin(kind)
    return {
        "kind": kind,
        "label": plugin.label,
        "on": kind in destinations.enabled_kinds(survey),
        "clears": plugin.clears,
        "push": push,
        "sync": sync_of(response, push, survey, kind, lane),
        "held": erasure.held(push),
        "attempts": list(Attempt.objects.filter(push=push).order_by("-id")[:ATTEMPTS_SHOWN])
        if push
        else [],
    }
