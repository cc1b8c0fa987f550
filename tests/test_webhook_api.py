"""`/api/v1/integrations/webhooks`: endpoints added, read, changed, tested, rotated, resent and
deleted through the API, the secret returned once, and who may call what."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from sounding.accounts.models import Workspace
from sounding.delivery.models import Push, PushState
from sounding.destinations.webhooks import egress, endpoints, signing
from sounding.destinations.webhooks.models import EVENTS, ROTATION_GRACE, Endpoint
from sounding.destinations.webhooks.receiver import Receiver
from sounding.surveys.models import Survey
from tests.delivery_fixtures import respond
from tests.webhook_fixtures import deliver_until_logged, hook_url, trust

JSON = "application/json"
BASE = "/api/v1/integrations/webhooks"
FIELDS = {
    "id",
    "url",
    "description",
    "events",
    "surveys",
    "enabled",
    "disabled_reason",
    "created_at",
    "updated_at",
    "state",
}
STATE = {
    "pending",
    "failed",
    "failing_since",
    "last_error",
    "last_error_at",
    "last_success_at",
    "paused",
    "paused_reason",
}


def send(api: Client, method: str, url: str, data: Any = None) -> Any:
    if data is None:
        return getattr(api, method)(url)
    return getattr(api, method)(url, json.dumps(data), content_type=JSON)


def paths(response: Any) -> dict[str, str]:
    assert response.status_code == 400, response.content
    return {e["path"]: e["message"] for e in response.json()["errors"]}


def url_of(endpoint: Endpoint, tail: str = "") -> str:
    return f"{BASE}/{endpoint.pk}{tail}"


# --- Adding and reading ---------------------------------------------------------------------


def test_creating_returns_the_secret_once(
    owner_api: Client, workspace: Workspace, receiver: Receiver
) -> None:
    created = send(owner_api, "post", BASE, {"url": hook_url(receiver)})

    assert created.status_code == 201, created.content
    body = created.json()
    assert set(body) == FIELDS | {"secret"} and set(body["state"]) == STATE
    assert body["secret"].startswith(signing.SECRET_PREFIX)
    assert body["events"] == list(EVENTS) and body["surveys"] == "all"
    assert (body["enabled"], body["description"], body["disabled_reason"]) == (True, "", "")
    endpoint = Endpoint.objects.get(workspace=workspace)
    assert endpoint.signing_secrets() == [body["secret"]]

    listed = owner_api.get(BASE).json()["items"]
    one = owner_api.get(url_of(endpoint)).json()
    assert [e["id"] for e in listed] == [endpoint.pk]
    for shown in (listed[0], one):
        assert set(shown) == FIELDS and body["secret"] not in json.dumps(shown)


def test_creating_with_events_surveys_and_off(
    owner_api: Client, live_pulse: Survey, receiver: Receiver
) -> None:
    created = send(
        owner_api,
        "post",
        BASE,
        {
            "url": hook_url(receiver),
            "description": "CRM",
            "events": ["response.erased", "response.completed"],
            "surveys": [live_pulse.pk],
            "enabled": False,
        },
    ).json()

    assert created["events"] == ["response.completed", "response.erased"]
    assert created["surveys"] == [live_pulse.pk]
    assert created["enabled"] is False
    assert created["description"] == "CRM"


@pytest.mark.parametrize(
    ("body", "path", "message"),
    [
        ({}, "$.url", "is required"),
        ({"url": ""}, "$.url", "Enter the endpoint's address."),
        ({"url": 7}, "$.url", "must be text"),
        ({"events": []}, "$.events", "Choose at least one event."),
        ({"events": ["response.started"]}, "$.events", "Unknown event 'response.started'"),
        ({"events": "response.answered"}, "$.events", "must be a list"),
        ({"surveys": [999999]}, "$.surveys", "is not one of this workspace's surveys"),
        ({"surveys": [True]}, "$.surveys", "a list of survey ids"),
        ({"enabled": "yes"}, "$.enabled", "must be true or false"),
        ({"description": "x" * 201}, "$.description", "at most 200 characters"),
        ({"secret": "whsec_mine"}, "$.secret", "is not a field here"),
    ],
)
def test_bad_input_names_the_field(
    owner_api: Client, receiver: Receiver, body: dict[str, Any], path: str, message: str
) -> None:
    # Each body is whole but for its one fault; `{}` is the missing address itself.
    complete = body if "url" in body or not body else {"url": hook_url(receiver), **body}

    found = paths(send(owner_api, "post", BASE, complete))

    assert path in found and message in found[path], found
    assert not Endpoint.objects.exists()


def test_a_body_that_is_not_an_object_is_refused(owner_api: Client) -> None:
    assert paths(send(owner_api, "post", BASE, ["https://x.example"])) == {
        "$": "must be a JSON object"
    }


def test_an_address_on_a_private_network_is_refused(owner_api: Client, settings: Any) -> None:
    settings.WEBHOOK_ALLOWED_URLS = []
    reason = egress.refusal("https://127.0.0.1/")
    assert reason

    response = send(owner_api, "post", BASE, {"url": "https://127.0.0.1/"})

    assert response.json()["detail"] == "The webhook endpoint is not valid."
    assert paths(response) == {"$.url": reason}
    assert not Endpoint.objects.exists()


# --- Changing -------------------------------------------------------------------------------


def test_patch_changes_only_what_it_sends(
    owner_api: Client, hooked: tuple[Endpoint, str], live_pulse: Survey
) -> None:
    endpoint, _ = hooked

    changed = send(owner_api, "patch", url_of(endpoint), {"surveys": [live_pulse.pk]})
    assert changed.status_code == 200, changed.content
    assert changed.json()["surveys"] == [live_pulse.pk]
    assert changed.json()["description"] == "CRM" and changed.json()["events"] == list(EVENTS)

    back = send(owner_api, "patch", url_of(endpoint), {"surveys": "all", "enabled": False})
    assert back.json()["surveys"] == "all" and back.json()["enabled"] is False
    endpoint.refresh_from_db()
    assert endpoint.all_surveys and not endpoint.enabled


def test_turning_on_again_clears_the_reason(
    owner_api: Client, hooked: tuple[Endpoint, str]
) -> None:
    endpoint, _ = hooked
    Endpoint.objects.filter(pk=endpoint.pk).update(enabled=False, disabled_reason="410 Gone")
    assert owner_api.get(url_of(endpoint)).json()["disabled_reason"] == "410 Gone"

    on = send(owner_api, "patch", url_of(endpoint), {"enabled": True}).json()

    assert (on["enabled"], on["disabled_reason"]) == (True, "")


def test_a_refused_patch_changes_nothing(
    owner_api: Client, hooked: tuple[Endpoint, str], settings: Any
) -> None:
    endpoint, _ = hooked
    settings.WEBHOOK_ALLOWED_URLS = []
    before = Endpoint.objects.values().get(pk=endpoint.pk)

    found = paths(
        send(owner_api, "patch", url_of(endpoint), {"url": "https://127.0.0.1/", "events": []})
    )

    assert set(found) == {"$.url"} or set(found) == {"$.url", "$.events"}
    assert Endpoint.objects.values().get(pk=endpoint.pk) == before


def test_delete(owner_api: Client, hooked: tuple[Endpoint, str], live_pulse: Survey) -> None:
    endpoint, _ = hooked

    assert owner_api.delete(url_of(endpoint)).status_code == 204

    assert not Endpoint.objects.exists()
    assert owner_api.get(url_of(endpoint)).status_code == 404
    live_pulse.refresh_from_db()
    assert "webhooks" not in live_pulse.destinations


# --- Test, rotate, deliveries, resend -------------------------------------------------------


def test_a_test_send_over_real_http(
    owner_api: Client, hooked: tuple[Endpoint, str], receiver: Receiver
) -> None:
    endpoint, _ = hooked

    worked = send(owner_api, "post", url_of(endpoint, "/test"))
    assert worked.status_code == 200
    assert worked.json()["ok"] is True and worked.json()["status"] == 200
    assert worked.json()["detail"].startswith("Answered 200")
    (message,) = receiver.messages()
    assert message["verified"] and message["type"] == endpoints.TEST_EVENT

    receiver.behave(status=500)
    failed = send(owner_api, "post", url_of(endpoint, "/test")).json()
    assert (failed["ok"], failed["status"]) == (False, 500)
    assert failed["detail"].startswith("Answered 500")


def test_rotating_returns_the_new_secret_and_both_sign_for_a_day(
    owner_api: Client, hooked: tuple[Endpoint, str], receiver: Receiver
) -> None:
    endpoint, old = hooked

    rotated = send(owner_api, "post", url_of(endpoint, "/rotate"))

    assert rotated.status_code == 200
    body = rotated.json()
    assert set(body) == {"secret", "previous_secret_expires_at"}
    assert body["secret"] != old
    endpoint.refresh_from_db()
    assert endpoint.signing_secrets() == [body["secret"], old]
    until = endpoint.previous_secret_until
    assert until is not None and abs((until - timezone.now()) - ROTATION_GRACE) < timedelta(
        minutes=5
    )
    assert body["previous_secret_expires_at"].startswith(until.strftime("%Y-%m-%dT%H:%M"))
    # The receiver still knows only the old secret, and still accepts the test message.
    assert send(owner_api, "post", url_of(endpoint, "/test")).json()["ok"] is True
    trust(receiver, body["secret"])
    assert send(owner_api, "post", url_of(endpoint, "/test")).json()["ok"] is True
    assert body["secret"] not in json.dumps(owner_api.get(url_of(endpoint)).json())


def test_deliveries_and_resending(
    owner_api: Client, hooked: tuple[Endpoint, str], live_pulse: Survey, receiver: Receiver
) -> None:
    endpoint, _ = hooked
    respond(live_pulse, None, {"nps": 9}, complete=True)
    deliver_until_logged(endpoint, count=2)
    sent = receiver.messages()

    log = owner_api.get(url_of(endpoint, "/deliveries"))

    assert log.status_code == 200
    items = log.json()["items"]
    assert [d["msg_id"] for d in items] == [sent[1]["id"], sent[0]["id"]]  # newest first
    assert items[0]["type"] == "response.completed"
    assert (items[0]["outcome"], items[0]["status"]) == ("ok", 200)

    again = send(owner_api, "post", url_of(endpoint, f"/deliveries/{sent[0]['id']}/resend"))
    assert again.status_code == 200 and again.json() == {"queued": 1}
    deliver_until_logged(endpoint, count=3)
    assert receiver.messages()[-1]["id"] == sent[0]["id"]

    unknown = send(owner_api, "post", url_of(endpoint, "/deliveries/msg_nope/resend"))
    assert unknown.status_code == 404


def test_resend_failed(owner_api: Client, hooked: tuple[Endpoint, str], live_pulse: Survey) -> None:
    endpoint, _ = hooked
    respond(live_pulse, None, {"nps": 9})
    Push.objects.filter(destination=endpoint.kind).update(state=PushState.FAILED)
    assert owner_api.get(url_of(endpoint)).json()["state"]["failed"] == 1

    done = send(owner_api, "post", url_of(endpoint, "/resend-failed"))

    assert done.status_code == 200 and done.json() == {"queued": 1}
    state = owner_api.get(url_of(endpoint)).json()["state"]
    assert (state["failed"], state["pending"]) == (0, 1)


# --- Who may call what ----------------------------------------------------------------------

WRITES = [
    ("post", ""),
    ("patch", "/{id}"),
    ("delete", "/{id}"),
    ("post", "/{id}/test"),
    ("post", "/{id}/rotate"),
    ("post", "/{id}/deliveries/msg_x/resend"),
    ("post", "/{id}/resend-failed"),
]


@pytest.mark.parametrize("role_api", ["viewer_api", "editor_api"])
def test_only_owners_read_or_change_endpoints(
    role_api: str, request: pytest.FixtureRequest, hooked: tuple[Endpoint, str], receiver: Receiver
) -> None:
    api: Client = request.getfixturevalue(role_api)
    endpoint, _ = hooked
    before = Endpoint.objects.values().get(pk=endpoint.pk)

    for path in (BASE, url_of(endpoint), url_of(endpoint, "/deliveries")):
        refused = api.get(path)
        assert refused.status_code == 403, path
        assert "only owners" in refused.json()["detail"]
        assert endpoint.url not in refused.content.decode()
    for method, tail in WRITES:
        path = BASE + tail.replace("{id}", str(endpoint.pk))
        response = send(api, method, path, {"url": hook_url(receiver), "enabled": False})
        assert response.status_code == 403, (method, path, response.content)
    assert Endpoint.objects.values().get(pk=endpoint.pk) == before
    assert receiver.messages() == []


def test_another_workspaces_endpoint_is_404(
    outsider_api: Client, hooked: tuple[Endpoint, str], receiver: Receiver
) -> None:
    endpoint, _ = hooked
    before = Endpoint.objects.values().get(pk=endpoint.pk)

    assert outsider_api.get(BASE).json() == {"items": []}
    assert outsider_api.get(url_of(endpoint)).status_code == 404
    assert outsider_api.get(url_of(endpoint, "/deliveries")).status_code == 404
    for method, tail in WRITES[1:]:
        path = BASE + tail.replace("{id}", str(endpoint.pk))
        response = send(outsider_api, method, path, {"enabled": False})
        assert response.status_code == 404, (method, path)
        assert response.json()["detail"] == (
            "There is no webhook endpoint with this id in this workspace."
        )
    assert Endpoint.objects.values().get(pk=endpoint.pk) == before
    assert receiver.messages() == []


def test_the_openapi_document_describes_the_webhook_operations() -> None:
    document = Client().get("/api/v1/openapi.json").json()
    operations = {
        (method, path): op
        for path, ops in document["paths"].items()
        if path.startswith(BASE)
        for method, op in ops.items()
    }

    assert set(operations) == {
        ("get", BASE),
        ("post", BASE),
        ("get", BASE + "/{endpoint_id}"),
        ("patch", BASE + "/{endpoint_id}"),
        ("delete", BASE + "/{endpoint_id}"),
        ("post", BASE + "/{endpoint_id}/test"),
        ("post", BASE + "/{endpoint_id}/rotate"),
        ("get", BASE + "/{endpoint_id}/deliveries"),
        ("post", BASE + "/{endpoint_id}/deliveries/{msg_id}/resend"),
        ("post", BASE + "/{endpoint_id}/resend-failed"),
    }
    for op in operations.values():
        assert op["tags"] == ["webhooks"] and op["summary"] and op["description"]
    created = operations[("post", BASE)]
    shape = created["responses"]["201"]["content"][JSON]["schema"]["$ref"].rsplit("/", 1)[1]
    assert "secret" in document["components"]["schemas"][shape]["properties"]
    body = created["requestBody"]["content"][JSON]
    assert body["schema"]["required"] == ["url"] and body["example"]["url"].startswith("https://")
