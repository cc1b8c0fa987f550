"""Settings → Webhooks: adding, changing, testing, rotating and deleting endpoints through the
pages, the secret shown once, the delivery log and its resend buttons, and who may do what."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from sounding.accounts.models import User, Workspace
from sounding.delivery.models import Push, PushState
from sounding.destinations.webhooks import egress, endpoints
from sounding.destinations.webhooks.models import EVENTS, Endpoint, Message
from sounding.destinations.webhooks.receiver import Receiver
from sounding.surveys.models import Survey
from tests.conftest import logged_in
from tests.delivery_fixtures import PULSE, respond
from tests.webhook_fixtures import deliver_until_logged, hook_url, trust

LIST = reverse("webhooks")
SECRET = re.compile(r"whsec_[A-Za-z0-9+/=]+")
REFUSED_URL = "https://127.0.0.1/"


def form(url: str, **values: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "url": url,
        "description": "CRM",
        "events": list(EVENTS),
        "scope": "all",
        "enabled": "on",
    }
    return data | values


def page_of(endpoint: Endpoint) -> str:
    return reverse("webhook", args=[endpoint.pk])


def text(response: Any) -> str:
    return response.content.decode()


def secrets_in(response: Any) -> set[str]:
    return set(SECRET.findall(text(response)))


@pytest.fixture
def owner_client(owner: User) -> Client:
    return logged_in(owner)


# --- Adding an endpoint ---------------------------------------------------------------------


def test_a_new_endpoints_secret_is_shown_once(
    owner_client: Client, workspace: Workspace, receiver: Receiver
) -> None:
    url = hook_url(receiver)
    created = owner_client.post(LIST, form(url))

    assert created.status_code == 200
    endpoint = Endpoint.objects.get(workspace=workspace)
    (secret,) = secrets_in(created)
    assert endpoint.signing_secrets() == [secret]
    page = text(created)
    assert "Copy it now: it is shown only this once." in page
    assert "docs/webhooks.md" in page
    assert "no-store" in created["Cache-Control"]
    # Never again: not on the list, not on the endpoint's page.
    for later in (owner_client.get(LIST), owner_client.get(page_of(endpoint))):
        assert later.status_code == 200
        assert secret not in text(later) and secrets_in(later) == set()
    assert (endpoint.url, endpoint.description, endpoint.events) == (url, "CRM", list(EVENTS))
    assert endpoint.all_surveys and endpoint.enabled


def test_the_list_shows_each_endpoint_with_its_events_surveys_and_state(
    owner_client: Client, live_pulse: Survey, receiver: Receiver, workspace: Workspace, owner: User
) -> None:
    other = Survey.create(workspace, {**PULSE, "title": "Onboarding"}, owner)
    owner_client.post(
        LIST,
        form(
            hook_url(receiver, "chosen"),
            events=["response.completed"],
            scope="chosen",
            surveys=[str(live_pulse.pk)],
            enabled="",
        ),
    )
    owner_client.post(LIST, form(hook_url(receiver, "all")))
    chosen = Endpoint.objects.get(url=hook_url(receiver, "chosen"))
    assert (chosen.all_surveys, chosen.survey_ids, chosen.enabled) == (
        False,
        [live_pulse.pk],
        False,
    )

    page = text(owner_client.get(LIST))
    first, second = page.split('data-endpoint="')[1:3]
    assert hook_url(receiver, "chosen") in first and "Product pulse" in first
    assert "Onboarding" not in first and "<code>response.answered</code>" not in first
    assert "Off</strong>: turned off by hand" in first
    assert "All surveys" in second and "<code>response.answered</code>" in second
    assert other.title in page  # among the choices of the form to add another


def test_a_turned_off_endpoints_reason_and_last_error_are_shown(
    owner_client: Client, hooked: tuple[Endpoint, str]
) -> None:
    endpoint, _ = hooked
    reason = "The endpoint answered 410 Gone, so Sounding turned it off."
    Endpoint.objects.filter(pk=endpoint.pk).update(enabled=False, disabled_reason=reason)

    for page in (owner_client.get(LIST), owner_client.get(page_of(endpoint))):
        assert reason in text(page)


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"url": ""}, "url", "Enter the endpoint’s address."),
        ({"events": []}, "events", "Choose at least one event."),
        ({"scope": "chosen"}, "surveys", "Tick at least one survey"),
        ({"description": "x" * 201}, "description", "at most 200 characters"),
        ({"surveys": ["999999"], "scope": "chosen"}, "surveys", "Select a valid choice"),
    ],
)
def test_bad_input_is_shown_beside_its_field_and_nothing_is_added(
    owner_client: Client,
    receiver: Receiver,
    live_pulse: Survey,
    values: dict[str, Any],
    field: str,
    message: str,
) -> None:
    response = owner_client.post(LIST, form(hook_url(receiver)) | values)

    assert response.status_code == 200
    assert message in text(response)
    assert f'id="id_{field}_error"' in text(response)
    assert not Endpoint.objects.exists()


def test_an_address_on_a_private_network_is_refused_with_the_reason(
    owner_client: Client, settings: Any
) -> None:
    settings.WEBHOOK_ALLOWED_URLS = []
    reason = egress.refusal(REFUSED_URL)
    assert reason

    response = owner_client.post(LIST, form(REFUSED_URL))

    assert response.status_code == 200
    assert 'id="id_url_error"' in text(response)
    assert _html(reason) in text(response)
    assert not Endpoint.objects.exists()


def _html(message: str) -> str:
    return str(escape(message))


# --- Changing one ---------------------------------------------------------------------------


def test_the_endpoint_page_saves_changes(
    owner_client: Client, hooked: tuple[Endpoint, str], live_pulse: Survey, receiver: Receiver
) -> None:
    endpoint, _ = hooked
    page = owner_client.get(page_of(endpoint))
    assert page.status_code == 200 and 'value="CRM"' in text(page)

    saved = owner_client.post(
        page_of(endpoint),
        form(
            hook_url(receiver, "moved"),
            description="Warehouse",
            events=["response.erased"],
            scope="chosen",
            surveys=[str(live_pulse.pk)],
        ),
        follow=True,
    )

    assert saved.status_code == 200 and "Endpoint saved." in text(saved)
    endpoint.refresh_from_db()
    assert endpoint.url == hook_url(receiver, "moved")
    assert (endpoint.description, endpoint.events) == ("Warehouse", ["response.erased"])
    assert (endpoint.all_surveys, endpoint.survey_ids) == (False, [live_pulse.pk])


def test_a_refused_change_is_shown_and_saves_nothing(
    owner_client: Client, hooked: tuple[Endpoint, str], settings: Any
) -> None:
    endpoint, _ = hooked
    before = endpoint.url
    settings.WEBHOOK_ALLOWED_URLS = []
    reason = egress.refusal(REFUSED_URL)
    assert reason

    response = owner_client.post(page_of(endpoint), form(REFUSED_URL, events=[]))

    assert response.status_code == 200
    assert _html(reason) in text(response) and "Choose at least one event." in text(response)
    endpoint.refresh_from_db()
    assert endpoint.url == before and endpoint.events == list(EVENTS)


def test_turning_an_endpoint_off_and_on(
    owner_client: Client, hooked: tuple[Endpoint, str], live_pulse: Survey
) -> None:
    endpoint, _ = hooked
    toggle = reverse("webhook-toggle", args=[endpoint.pk])
    live_pulse.refresh_from_db()
    assert "webhooks" in live_pulse.destinations

    off = owner_client.post(toggle, {}, follow=True)
    endpoint.refresh_from_db()
    live_pulse.refresh_from_db()
    assert "Endpoint turned off." in text(off) and not endpoint.enabled
    assert "webhooks" not in live_pulse.destinations
    assert "Turn on" in text(off)

    on = owner_client.post(toggle, {"enabled": "on"}, follow=True)
    endpoint.refresh_from_db()
    assert "Endpoint turned on." in text(on) and endpoint.enabled


def test_rotating_asks_first_then_shows_the_new_secret_once(
    owner_client: Client, hooked: tuple[Endpoint, str]
) -> None:
    endpoint, old = hooked
    rotate = reverse("webhook-rotate", args=[endpoint.pk])

    asked = owner_client.get(rotate)
    assert asked.status_code == 200 and "24 hours" in text(asked)
    endpoint.refresh_from_db()
    assert endpoint.signing_secrets() == [old]  # asking changed nothing

    rotated = owner_client.post(rotate)
    assert rotated.status_code == 200 and "no-store" in rotated["Cache-Control"]
    (new,) = secrets_in(rotated)
    assert new != old
    assert "keeps signing beside this one for 24 hours" in text(rotated)
    endpoint.refresh_from_db()
    assert endpoint.signing_secrets() == [new, old]
    assert secrets_in(owner_client.get(page_of(endpoint))) == set()


def test_deleting_asks_first(
    owner_client: Client, hooked: tuple[Endpoint, str], live_pulse: Survey
) -> None:
    endpoint, _ = hooked
    delete = reverse("webhook-delete", args=[endpoint.pk])

    asked = owner_client.get(delete)
    assert asked.status_code == 200 and "Delete this endpoint?" in text(asked)
    assert Endpoint.objects.filter(pk=endpoint.pk).exists()

    done = owner_client.post(delete, follow=True)
    assert done.redirect_chain[-1][0] == LIST
    assert "is deleted" in text(done)
    assert not Endpoint.objects.filter(pk=endpoint.pk).exists()
    live_pulse.refresh_from_db()
    assert "webhooks" not in live_pulse.destinations


# --- Testing it, over real HTTP -------------------------------------------------------------


def test_send_test_shows_what_the_endpoint_answered(
    owner_client: Client, hooked: tuple[Endpoint, str], receiver: Receiver
) -> None:
    endpoint, _ = hooked
    test = reverse("webhook-test", args=[endpoint.pk])

    worked = owner_client.post(test)

    assert worked.status_code == 200
    assert "The endpoint took the test message." in text(worked)
    assert "Answered 200" in text(worked)
    (message,) = receiver.messages()
    assert message["verified"] and message["type"] == endpoints.TEST_EVENT
    assert message["path"] == "/hooks"

    receiver.behave(status=503)
    failed = owner_client.post(test)
    assert failed.status_code == 200
    assert "The test message was not taken." in text(failed)
    assert "Answered 503" in text(failed)


def test_send_test_with_a_secret_the_receiver_does_not_know(
    owner_client: Client, hooked: tuple[Endpoint, str], receiver: Receiver
) -> None:
    endpoint, _ = hooked
    trust(receiver, endpoints.signing.new_secret())

    response = owner_client.post(reverse("webhook-test", args=[endpoint.pk]))

    assert "Answered 401" in text(response)
    assert not receiver.messages()[-1]["verified"]


# --- The delivery log -----------------------------------------------------------------------


def test_the_delivery_log_lists_each_try_and_resends_one(
    owner_client: Client, hooked: tuple[Endpoint, str], live_pulse: Survey, receiver: Receiver
) -> None:
    endpoint, _ = hooked
    respond(live_pulse, None, {"nps": 9}, complete=True)
    deliver_until_logged(endpoint, count=2)
    sent = receiver.messages()
    assert [m["type"] for m in sent] == ["response.answered", "response.completed"]
    first = Message.objects.get(msg_id=sent[0]["id"])

    page = text(owner_client.get(page_of(endpoint)))
    log = page.split('id="log"')[1]
    # Newest first.
    assert log.index(sent[1]["id"]) < log.index(sent[0]["id"])
    assert "Delivered" in log and "<code>response.completed</code>" in log
    resend = reverse("webhook-resend", args=[endpoint.pk, first.msg_id])
    assert f'action="{resend}"' in log

    again = owner_client.post(resend, follow=True)
    assert f"Message {first.msg_id} goes again" in text(again)
    deliver_until_logged(endpoint, count=3)
    assert receiver.messages()[-1]["id"] == first.msg_id
    assert receiver.messages()[-1]["duplicate"]


def test_resend_all_failed(
    owner_client: Client, hooked: tuple[Endpoint, str], live_pulse: Survey
) -> None:
    endpoint, _ = hooked
    respond(live_pulse, None, {"nps": 9})
    Push.objects.filter(destination=endpoint.kind).update(state=PushState.FAILED)

    page = text(owner_client.get(page_of(endpoint)))
    assert "1 failed" in page

    done = owner_client.post(reverse("webhook-resend-failed", args=[endpoint.pk]), follow=True)

    assert "1 response with failed events goes again." in text(done)
    assert Push.objects.get(destination=endpoint.kind).state == PushState.PENDING


# --- Who may do what ------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_only_owners_see_the_endpoints_whose_urls_may_be_secrets(
    role: str, request: pytest.FixtureRequest, hooked: tuple[Endpoint, str], receiver: Receiver
) -> None:
    endpoint, _ = hooked
    client = logged_in(request.getfixturevalue(role))

    for page in (client.get(LIST), client.get(page_of(endpoint))):
        assert page.status_code == 403
        assert endpoint.url not in text(page)
    for name in ("webhook-rotate", "webhook-delete"):
        assert client.get(reverse(name, args=[endpoint.pk])).status_code == 403


@pytest.mark.parametrize(
    "name",
    [
        "webhook",
        "webhook-test",
        "webhook-rotate",
        "webhook-toggle",
        "webhook-delete",
        "webhook-resend-failed",
    ],
)
def test_a_viewers_post_is_refused_with_the_forbidden_page(
    viewer: User, hooked: tuple[Endpoint, str], receiver: Receiver, name: str
) -> None:
    endpoint, _ = hooked
    before = Endpoint.objects.values().get(pk=endpoint.pk)

    response = logged_in(viewer).post(
        reverse(name, args=[endpoint.pk]), form(hook_url(receiver, "taken"))
    )

    assert response.status_code == 403
    assert "you can see its webhook endpoints and their deliveries but not change them" in (
        text(response)
    )
    assert Endpoint.objects.values().get(pk=endpoint.pk) == before
    assert receiver.messages() == []


def test_a_viewer_cannot_add_an_endpoint(viewer: User, receiver: Receiver) -> None:
    response = logged_in(viewer).post(LIST, form(hook_url(receiver)))

    assert response.status_code == 403
    assert not Endpoint.objects.exists()


def test_an_editor_may_not_add_endpoints(editor: User, receiver: Receiver) -> None:
    refused = logged_in(editor).post(LIST, form(hook_url(receiver)))

    assert refused.status_code == 403
    assert not Endpoint.objects.exists()


def test_the_settings_navigation_lists_webhooks_next_to_braze(
    owner_client: Client, viewer: User
) -> None:
    nav = text(owner_client.get(reverse("braze-settings"))).split('aria-label="Settings"')[1]
    assert nav.index(">Braze<") < nav.index(">Webhooks<")
    # Like Braze, the page is an owner's: the others' menus do not offer it.
    assert f'href="{LIST}"' not in text(logged_in(viewer).get(reverse("tokens")))
    assert 'aria-current="page">Webhooks<' in text(owner_client.get(LIST))


def test_another_workspaces_endpoint_is_not_found(
    outsider: User, hooked: tuple[Endpoint, str], receiver: Receiver
) -> None:
    endpoint, _ = hooked
    client = logged_in(outsider)

    assert endpoint.url not in text(client.get(LIST))
    assert client.get(page_of(endpoint)).status_code == 404
    for name in ("webhook-test", "webhook-rotate", "webhook-toggle", "webhook-delete"):
        assert client.post(reverse(name, args=[endpoint.pk])).status_code == 404
    resend = reverse("webhook-resend", args=[endpoint.pk, "msg_x"])
    assert client.post(resend).status_code == 404
    assert Endpoint.objects.filter(pk=endpoint.pk, enabled=True).exists()
    assert receiver.messages() == []
