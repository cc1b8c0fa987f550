"""The webhook settings pages: the workspace's endpoints, each one's settings and delivery log.

Every member sees the endpoints and what was delivered; editors and owners change them. A
secret is shown once, in the answer to the request that made it, and never again.
"""

from __future__ import annotations

from dataclasses import asdict
from functools import wraps
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_http_methods, require_POST

from sounding.delivery.models import Outcome
from sounding.destinations.webhooks import endpoints
from sounding.destinations.webhooks.forms import EndpointForm
from sounding.destinations.webhooks.models import EVENTS, ROTATION_GRACE, Endpoint
from sounding.surveys.models import Survey
from sounding.surveys.permissions import View, member_required, membership

GRACE_HOURS = int(ROTATION_GRACE.total_seconds() // 3600)


def owner_required(view: View) -> View:
    """Owners only, as for every workspace connection: an endpoint receives every answer, and
    its URL may itself be a secret (many services put a token in it)."""

    @wraps(view)
    def check_role(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not membership(request).can_administer:
            return render(request, "webhooks/forbidden.html", status=403)
        return view(request, *args, **kwargs)

    return member_required(check_role)


def endpoint_of(request: HttpRequest, endpoint_id: int) -> Endpoint:
    """The current workspace's endpoint; another workspace's is a 404, as if it did not exist."""
    return get_object_or_404(
        Endpoint, pk=endpoint_id, workspace_id=membership(request).workspace_id
    )


def survey_names(endpoint: Endpoint, titles: dict[int, str]) -> list[str]:
    # A chosen survey deleted since is simply no longer sent to: it is not listed either.
    return [titles[pk] for pk in endpoint.survey_ids or () if pk in titles]


def titles_of(workspace_id: int) -> dict[int, str]:
    return dict(Survey.objects.filter(workspace_id=workspace_id).values_list("pk", "title"))


def describe(endpoint: Endpoint, titles: dict[int, str]) -> dict[str, Any]:
    return {
        "endpoint": endpoint,
        "state": endpoints.lane_state(endpoint),
        "surveys": None if endpoint.all_surveys else survey_names(endpoint, titles),
        "events": [e for e in EVENTS if e in endpoint.events],
    }


def _secret_page(request: HttpRequest, endpoint: Endpoint, secret: str, rotated: bool) -> Any:
    context = {
        "endpoint": endpoint,
        "secret": secret,
        "rotated": rotated,
        "grace_hours": GRACE_HOURS,
    }
    response = render(request, "webhooks/secret.html", context)
    # The secret is in this answer only: a redirect would need it kept somewhere, and the
    # browser must not store the page for the back button to show it again.
    add_never_cache_headers(response)
    return response


# --- The list and a new endpoint ------------------------------------------------------------


def _list_page(request: HttpRequest, form: EndpointForm) -> HttpResponse:
    workspace_id = membership(request).workspace_id
    titles = titles_of(workspace_id)
    rows = [describe(e, titles) for e in Endpoint.objects.filter(workspace_id=workspace_id)]
    context = {
        "rows": rows,
        "form": form,
        "can_edit": membership(request).can_edit,
    }
    return render(request, "webhooks/list.html", context)


@require_http_methods(["GET", "POST"])
@owner_required
def webhooks(request: HttpRequest) -> HttpResponse:
    workspace_id = membership(request).workspace_id
    if request.method == "GET":
        return _list_page(request, EndpointForm(workspace_id=workspace_id))
    form = EndpointForm(request.POST, workspace_id=workspace_id)
    if not form.is_valid():
        return _list_page(request, form)
    data = form.cleaned_data
    try:
        endpoint, secret = endpoints.create(
            workspace_id,
            data["url"],
            description=data["description"],
            event_types=data["events"],
            survey_ids=data["survey_ids"],
            enabled=data["enabled"],
        )
    except endpoints.Invalid as error:
        form.show(error)
        return _list_page(request, form)
    return _secret_page(request, endpoint, secret, rotated=False)


# --- One endpoint ---------------------------------------------------------------------------


def _endpoint_page(
    request: HttpRequest,
    endpoint: Endpoint,
    form: EndpointForm | None = None,
    result: endpoints.TestResult | None = None,
) -> HttpResponse:
    can_edit = membership(request).can_edit
    if form is None and can_edit:
        form = EndpointForm(
            initial=EndpointForm.initial_for(endpoint), workspace_id=endpoint.workspace_id
        )
    now = timezone.now()
    context = {
        **describe(endpoint, titles_of(endpoint.workspace_id)),
        "form": form,
        "result": result,
        "can_edit": can_edit,
        "log": [_log_row(d) for d in endpoints.log(endpoint)],
        "previous_until": endpoint.previous_secret_until
        if endpoint.previous_secret_until and endpoint.previous_secret_until > now
        else None,
    }
    return render(request, "webhooks/endpoint.html", context)


def _log_row(delivery: endpoints.Delivery) -> dict[str, Any]:
    labels = dict(Outcome.choices)
    return {**asdict(delivery), "outcome_label": labels.get(delivery.outcome, delivery.outcome)}


@require_http_methods(["GET", "POST"])
@owner_required
def webhook(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = endpoint_of(request, endpoint_id)
    if request.method == "GET":
        return _endpoint_page(request, endpoint)
    form = EndpointForm(request.POST, workspace_id=endpoint.workspace_id)
    if not form.is_valid():
        return _endpoint_page(request, endpoint, form)
    was_enabled = endpoint.enabled
    try:
        endpoints.update(endpoint, **form.changes())
    except endpoints.Invalid as error:
        form.show(error)
        # What failed to save must not show as saved.
        endpoint.refresh_from_db()
        return _endpoint_page(request, endpoint, form)
    messages.success(request, "Endpoint saved." + _switched(was_enabled, endpoint.enabled))
    return redirect("webhook", endpoint_id=endpoint.pk)


def _switched(was_enabled: bool, enabled: bool) -> str:
    if enabled and not was_enabled:
        return " It is on: events that waited while it was off are sent now."
    if was_enabled and not enabled:
        return " It is off: events wait, and are sent if it is turned on again."
    return ""


@require_POST
@owner_required
def webhook_test(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    """Send a signed `sounding.test` message now; the page shows what the endpoint answered."""
    endpoint = endpoint_of(request, endpoint_id)
    return _endpoint_page(request, endpoint, result=endpoints.send_test(endpoint))


@require_http_methods(["GET", "POST"])
@owner_required
def webhook_rotate(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = endpoint_of(request, endpoint_id)
    if request.method == "GET":
        context = {"endpoint": endpoint, "grace_hours": GRACE_HOURS}
        return render(request, "webhooks/rotate.html", context)
    secret = endpoints.rotate(endpoint)
    return _secret_page(request, endpoint, secret, rotated=True)


@require_POST
@owner_required
def webhook_toggle(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = endpoint_of(request, endpoint_id)
    was_enabled = endpoint.enabled
    endpoints.update(endpoint, enabled=request.POST.get("enabled") == "on")
    if endpoint.enabled == was_enabled:
        messages.info(request, f"The endpoint was already {'on' if was_enabled else 'off'}.")
    else:
        state = "on" if endpoint.enabled else "off"
        messages.success(
            request, f"Endpoint turned {state}." + _switched(was_enabled, state == "on")
        )
    return redirect("webhook", endpoint_id=endpoint.pk)


@require_http_methods(["GET", "POST"])
@owner_required
def webhook_delete(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = endpoint_of(request, endpoint_id)
    if request.method == "GET":
        state = endpoints.lane_state(endpoint)
        return render(request, "webhooks/delete.html", {"endpoint": endpoint, "state": state})
    url = endpoint.url
    endpoints.delete(endpoint)
    messages.success(request, f"The endpoint {url} is deleted: nothing more is sent to it.")
    return redirect("webhooks")


@require_POST
@owner_required
def webhook_resend_failed(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = endpoint_of(request, endpoint_id)
    count = endpoints.resend_failed(endpoint)
    if count:
        some = (
            "response with failed events goes" if count == 1 else "responses with failed events go"
        )
        text = f"{count} {some} again."
        if not endpoint.enabled:
            text += " The endpoint is off: turn it on for them to be sent."
        messages.success(request, text)
    else:
        messages.info(request, "Nothing had failed: there is nothing to send again.")
    return redirect("webhook", endpoint_id=endpoint.pk)


@require_POST
@owner_required
def webhook_resend(request: HttpRequest, endpoint_id: int, msg_id: str) -> HttpResponse:
    endpoint = endpoint_of(request, endpoint_id)
    if endpoints.resend(endpoint, msg_id):
        messages.success(request, f"Message {msg_id} goes again, with the same webhook-id.")
    else:
        messages.error(
            request,
            f"Message {msg_id} cannot be sent again: its response was deleted, or this endpoint "
            "no longer takes its event type.",
        )
    return redirect("webhook", endpoint_id=endpoint.pk)
