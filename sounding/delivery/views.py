"""The delivery log of a survey, the buttons that send its answers again, and /metrics.

The log is for anyone in the workspace; sending again is for those who may edit, because it
spends what the workspace pays its destination for. Both only read or mark the outbox: the
worker sends. Each page is about one destination, named in the URL; without one, the survey's
first (`destinations.default_kind`), at the URLs there were before there was a choice.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Page, Paginator
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sounding import destinations, web_metrics
from sounding.answers.models import Response
from sounding.delivery import backfill, metrics, status
from sounding.delivery.models import Attempt, Lane, PushState
from sounding.surveys.models import Survey
from sounding.surveys.permissions import (
    editor_required,
    member_required,
    membership,
    workspace_survey,
)

PAGE_SIZE = 50
PAGES = {
    "log": "survey-deliveries",
    "retry": "survey-deliveries-retry",
    "resend": "survey-deliveries-resend",
}
ATTEMPTS_SHOWN = 100
STATE_LABELS = {
    PushState.PENDING.value: "Pending",
    PushState.SYNCED.value: "Synced",
    PushState.FAILED.value: "Failed",
    status.NOT_SENT: "Not sent",
}


# --- the log -------------------------------------------------------------------------------


@require_GET
@member_required
def survey_deliveries(request: HttpRequest, pk: int, kind: str = "") -> HttpResponse:
    survey = workspace_survey(request, pk)
    kind = kind or destinations.default_kind(survey)
    state = request.GET.get("state", "")
    if state not in STATE_LABELS:
        state = ""  # an unknown filter shows everything rather than an empty page
    lane = Lane.objects.filter(workspace_id=survey.workspace_id, destination=kind).first()
    page = Paginator(_responses(survey, kind, state), PAGE_SIZE).get_page(request.GET.get("page"))
    counts = _counts(survey, kind)
    context = {
        "survey": survey,
        "kind_label": status.label(kind),
        "links": _links(survey, kind),
        "enabled": _enabled(survey, kind),
        "can_edit": membership(request).can_edit,
        "counts": counts,
        "tally": [{"key": k, "name": n, "count": counts[k]} for k, n in STATE_LABELS.items()],
        "lane": _lane_facts(lane),
        "state": state,
        "state_label": STATE_LABELS.get(state, ""),
        "page": page,
        "rows": _rows(page, survey, kind, lane),
        "attempts": _attempts(survey, kind),
    }
    return render(request, "delivery/deliveries.html", context)


def _links(survey: Survey, kind: str) -> dict[str, str]:
    """The page's own URLs: those without a kind when it is the survey's default."""
    if kind == destinations.default_kind(survey):
        return {key: reverse(name, args=[survey.pk]) for key, name in PAGES.items()}
    return {key: reverse(f"{name}-to", args=[survey.pk, kind]) for key, name in PAGES.items()}


def _enabled(survey: Survey, kind: str) -> bool:
    return kind in destinations.enabled_kinds(survey)


def _responses(survey: Survey, kind: str, state: str) -> QuerySet[Response]:
    found = status.with_pushes(Response.objects.filter(survey=survey), [kind])
    return found.filter(status.state_is(kind, state)) if state else found


def _counts(survey: Survey, kind: str) -> dict[str, int]:
    """How many responses are in each state, in one query."""
    found = status.with_pushes(Response.objects.filter(survey=survey), [kind])
    tally = {state: Count("pk", filter=status.state_is(kind, state)) for state in STATE_LABELS}
    return found.aggregate(all=Count("pk"), **tally)


def _lane_facts(lane: Lane | None) -> dict[str, Any]:
    now = timezone.now()
    blocked = lane is not None and lane.blocked_until is not None and lane.blocked_until > now
    return {
        "lane": lane,
        "paused": lane is not None and lane.paused_at is not None,
        "blocked_until": lane.blocked_until if lane is not None and blocked else None,
    }


def _rows(page: Page, survey: Survey, kind: str, lane: Lane | None) -> list[dict[str, Any]]:
    enabled = _enabled(survey, kind)
    rows = []
    for response in page.object_list:
        push = status.joined_push(response, kind)
        sync = status.sync_state(push, response, kind=kind, enabled=enabled, lane=lane)
        rows.append(
            {
                "response": response,
                "who": who(response),
                "sync": sync,
                "state_label": STATE_LABELS[sync["state"]],
            }
        )
    return rows


def who(response: Response) -> str:
    """The respondent by the identifier their link carried (the one they are recognised by)."""
    if not response.identity_kind or not response.identity_value:
        return "Anonymous"
    name = destinations.identity_label(response.identity_kind)
    return f"{name} {response.identity_value}"


def _attempts(survey: Survey, kind: str) -> list[dict[str, Any]]:
    latest = (
        Attempt.objects.filter(push__response__survey=survey, push__destination=kind)
        .select_related("push__response")
        .defer("push__acknowledged")
        .order_by("-id")[:ATTEMPTS_SHOWN]
    )
    return [
        {
            "attempt": attempt,
            "who": who(attempt.push.response),
            # Pretty-printed here and escaped by the template like any other text.
            "payload": json.dumps(attempt.payload, indent=2, ensure_ascii=False),
            "objects": len(attempt.payload or []),
        }
        for attempt in latest
    ]


# --- sending again -------------------------------------------------------------------------


def _back(survey: Survey, kind: str) -> HttpResponse:
    return redirect(_links(survey, kind)["log"])


def _refuse_when_off(request: HttpRequest, survey: Survey, kind: str) -> HttpResponse | None:
    # Pushes queued for a survey that no longer sends would still go out: refuse instead.
    if _enabled(survey, kind):
        return None
    messages.error(request, f"{status.label(kind)} is off for this survey: nothing was queued.")
    return _back(survey, kind)


def _queued(count: int, what: str, kind: str) -> str:
    return f"{count} {what}{'s' * (count != 1)} queued to be sent to {status.label(kind)} again."


@require_POST
@editor_required
def retry_failed(request: HttpRequest, pk: int, kind: str = "") -> HttpResponse:
    survey = workspace_survey(request, pk)
    kind = kind or destinations.default_kind(survey)
    refused = _refuse_when_off(request, survey, kind)
    if refused is not None:
        return refused
    count = backfill.retry_failed(survey, kind)
    if count:
        messages.success(request, _queued(count, "failed response", kind))
    else:
        messages.info(request, "Nothing to retry: no response has failed.")
    return _back(survey, kind)


@require_http_methods(["GET", "POST"])
@editor_required
def resend_all(request: HttpRequest, pk: int, kind: str = "") -> HttpResponse:
    survey = workspace_survey(request, pk)
    kind = kind or destinations.default_kind(survey)
    if request.method == "GET":
        identified = (
            Response.objects.filter(survey=survey, identity_kind__isnull=False)
            .exclude(identity_value="")
            .count()
        )
        context = {
            "survey": survey,
            "kind_label": status.label(kind),
            "links": _links(survey, kind),
            "enabled": _enabled(survey, kind),
            "identified": identified,
        }
        return render(request, "delivery/resend.html", context)
    refused = _refuse_when_off(request, survey, kind)
    if refused is not None:
        return refused
    messages.success(request, _queued(backfill.resend_all(survey, kind), "response", kind))
    return _back(survey, kind)


# --- /metrics ------------------------------------------------------------------------------

# Headers a reverse proxy adds: behind one, a loopback REMOTE_ADDR says nothing about who asks.
PROXY_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")


def _text(body: str, status_code: int, **headers: str) -> HttpResponse:
    reply = HttpResponse(body + "\n", status=status_code, content_type=metrics.CONTENT_TYPE)
    for name, value in headers.items():
        reply[name] = value
    return reply


def _bearer_matches(request: HttpRequest, token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    # Bytes: compare_digest refuses non-ASCII text, and a header may carry any.
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.encode()
    )


def _from_this_machine(request: HttpRequest) -> bool:
    if any(request.META.get(header) for header in PROXY_HEADERS):
        return False
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or (mapped is not None and mapped.is_loopback)


def _metrics_refusal(request: HttpRequest) -> HttpResponse | None:
    token = getattr(settings, "METRICS_TOKEN", None)
    if token:
        if _bearer_matches(request, token):
            return None
        return _text(
            "Send 'Authorization: Bearer <token>' with the value of SOUNDING_METRICS_TOKEN.",
            401,
            **{"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    if _from_this_machine(request):
        return None
    return _text(
        "Metrics are served to this machine only: set SOUNDING_METRICS_TOKEN to read them "
        "from elsewhere.",
        403,
    )


@never_cache
@require_GET
def metrics_page(request: HttpRequest) -> HttpResponse:
    refusal = _metrics_refusal(request)
    if refusal is not None:
        return refusal
    body = metrics.exposition(metrics.collect()) + web_metrics.exposition()
    return HttpResponse(body, content_type=metrics.CONTENT_TYPE)
