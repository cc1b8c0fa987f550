"""The workspace's Braze settings page: who may use it, how an address becomes a REST endpoint,
how the key is kept secret, the connection test over real HTTP, and the stopped-sending banner."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from sounding.accounts.models import User, Workspace
from sounding.answers.models import Response
from sounding.delivery.models import Lane, Push, PushState
from sounding.destinations.braze import errors
from sounding.destinations.braze.models import BrazeSettings
from sounding.surveys.models import Survey
from tests.conftest import logged_in
from tests.standin import StandinHarness
from tests.standin import braze_standin as braze_standin_fixture  # noqa: F401

KEY = "a1b2c3d4-e5f6-4711-9abc-secretkey9f3c"
OTHER_KEY = "ffffeeee-dddd-4ccc-bbbb-otherkey7777"
SETTINGS = reverse("braze-settings")
TEST = reverse("braze-test")


def form(**values: Any) -> dict[str, Any]:
    data = {"cluster": "US-03", "endpoint": "", "api_key": KEY, "requests_per_second": ""}
    return data | values


def stored(workspace: Workspace) -> BrazeSettings:
    return BrazeSettings.objects.get(workspace=workspace)


def connect(workspace: Workspace, endpoint: str = "https://rest.iad-03.braze.com") -> BrazeSettings:
    found = BrazeSettings(workspace=workspace, rest_endpoint=endpoint)
    found.set_api_key(KEY)
    found.save()
    return found


# --- A tiny Braze: answers /users/track by the key it is given ------------------------------


@dataclass
class TinyBraze:
    url: str
    statuses: dict[str, int]
    received: list[tuple[str, str, Any]] = field(default_factory=list)


def _handler(braze: TinyBraze) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (the name http.server calls)
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            key = self.headers.get("Authorization", "").removeprefix("Bearer ")
            braze.received.append((self.path, key, body))
            status = braze.statuses.get(key, 401) if self.path == "/users/track" else 404
            reply = json.dumps({"message": "success" if status == 201 else "refused"}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: Any) -> None:
            pass  # keep the test output quiet

    return Handler


@pytest.fixture
def tiny_braze(settings: Any) -> Iterator[TinyBraze]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(TinyBraze("", {})))
    braze = TinyBraze(
        f"http://127.0.0.1:{server.server_address[1]}",
        {KEY: 201, OTHER_KEY: 403},
    )
    server.RequestHandlerClass = _handler(braze)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.BRAZE_ALLOWED_ENDPOINTS = [braze.url]
    yield braze
    server.shutdown()
    server.server_close()


@pytest.fixture
def closed_port(settings: Any) -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    settings.BRAZE_ALLOWED_ENDPOINTS = [url]
    return url


# --- Who may use the page -------------------------------------------------------------------


@pytest.mark.django_db
def test_an_owner_sees_the_settings_form_with_every_cluster(owner: User) -> None:
    page = logged_in(owner).get(SETTINGS)
    html = page.content.decode()
    assert page.status_code == 200
    assert html.count("<option") == 17  # "choose", the 15 clusters and "Other"
    assert '<option value="US-03">US-03 (dashboard-03.braze.com)</option>' in html
    assert "Other / paste an address" in html
    assert 'type="password" name="api_key"' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert "Not connected yet" in html


@pytest.mark.django_db
def test_editors_and_viewers_are_refused_every_settings_url_and_nothing_is_saved(
    editor: User, viewer: User
) -> None:
    for user in (editor, viewer):
        client = logged_in(user)
        for method, url in (("get", SETTINGS), ("post", SETTINGS), ("post", TEST)):
            response = getattr(client, method)(url, form())
            assert response.status_code == 403, (user, method, url)
            assert b"Only owners of Acme can change its Braze connection" in response.content
    assert not BrazeSettings.objects.exists()


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_sign_in(workspace: Workspace) -> None:
    for method, url in (("get", SETTINGS), ("post", SETTINGS), ("post", TEST)):
        response = getattr(Client(), method)(url, form())
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login") + "?next=")
    assert not BrazeSettings.objects.exists()


@pytest.mark.django_db
def test_an_owner_of_another_workspace_only_ever_changes_their_own(
    owner: User, outsider: User, workspace: Workspace, other_workspace: Workspace
) -> None:
    connect(workspace)
    page = logged_in(outsider).get(SETTINGS).content.decode()
    assert "Not connected yet" in page and "•••• 9f3c" not in page
    logged_in(outsider).post(SETTINGS, form(cluster="EU-01", api_key=OTHER_KEY))
    assert stored(workspace).rest_endpoint == "https://rest.iad-03.braze.com"
    assert stored(other_workspace).rest_endpoint == "https://rest.fra-01.braze.eu"


@pytest.mark.django_db
def test_the_settings_forms_refuse_a_post_without_a_csrf_token(owner: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    assert client.post(SETTINGS, form()).status_code == 403
    assert client.post(TEST, form()).status_code == 403
    assert not BrazeSettings.objects.exists()


@pytest.mark.django_db
def test_only_owners_see_the_settings_link_in_the_navigation(owner: User, editor: User) -> None:
    link = f'href="{SETTINGS}"'
    assert link in logged_in(owner).get(reverse("survey-list")).content.decode()
    assert link not in logged_in(editor).get(reverse("survey-list")).content.decode()


# --- From what a marketer pastes to a REST endpoint -----------------------------------------


@pytest.mark.django_db
def test_a_cluster_picked_from_the_list_is_saved_as_its_rest_endpoint(
    owner: User, workspace: Workspace
) -> None:
    response = logged_in(owner).post(SETTINGS, form(cluster="EU-02"), follow=True)
    assert response.redirect_chain[-1][0] == SETTINGS
    assert "Braze settings saved." in response.content.decode()
    assert stored(workspace).rest_endpoint == "https://rest.fra-02.braze.eu"
    assert stored(workspace).updated_by == owner


@pytest.mark.django_db
def test_a_pasted_dashboard_address_is_turned_into_the_clusters_rest_endpoint(
    owner: User, workspace: Workspace
) -> None:
    pasted = "https://dashboard-03.braze.com/app_settings/developer_console"
    logged_in(owner).post(SETTINGS, form(cluster="other", endpoint=pasted))
    assert stored(workspace).rest_endpoint == "https://rest.iad-03.braze.com"
    html = logged_in(owner).get(SETTINGS).content.decode()
    assert '<option value="US-03" selected>' in html


@pytest.mark.django_db
def test_text_that_is_no_address_at_all_is_explained_not_a_500(
    owner: User, workspace: Workspace
) -> None:
    page = logged_in(owner).post(SETTINGS, form(cluster="other", endpoint="[;,\\s]+"))
    assert page.status_code == 200
    assert "is not an address" in page.content.decode()
    assert not BrazeSettings.objects.filter(workspace=workspace).exists()


@pytest.mark.django_db
def test_an_address_pasted_with_no_cluster_chosen_is_used(
    owner: User, workspace: Workspace
) -> None:
    logged_in(owner).post(SETTINGS, form(cluster="", endpoint="rest.fra-01.braze.eu"))
    assert stored(workspace).rest_endpoint == "https://rest.fra-01.braze.eu"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("pasted", "message"),
    [
        ("http://rest.iad-03.braze.com", "Braze is only reached over https://."),
        ("http://braze.example.com", "Plain http:// is refused"),
        ("https://evil.example.com/users/track", "evil.example.com is not a Braze cluster."),
        ("", "Choose your Braze cluster or paste its REST endpoint."),
    ],
)
def test_an_address_that_is_not_a_braze_cluster_is_refused_under_the_field(
    owner: User, pasted: str, message: str
) -> None:
    page = logged_in(owner).post(SETTINGS, form(cluster="other", endpoint=pasted))
    html = page.content.decode()
    assert page.status_code == 200
    assert message in html
    assert 'id="id_endpoint_error"' in html
    assert 'aria-describedby="id_endpoint_helptext id_endpoint_error"' in html
    assert not BrazeSettings.objects.exists()


@pytest.mark.django_db
def test_nothing_chosen_and_nothing_pasted_asks_for_the_cluster(owner: User) -> None:
    html = logged_in(owner).post(SETTINGS, form(cluster="")).content.decode()
    assert 'id="id_cluster_error"' in html
    assert "Choose your Braze cluster or paste its REST endpoint." in html


@pytest.mark.django_db
def test_an_address_the_operator_allowed_is_accepted_as_it_is(
    owner: User, workspace: Workspace, settings: Any
) -> None:
    settings.BRAZE_ALLOWED_ENDPOINTS = ["http://braze-proxy.internal:8080"]
    logged_in(owner).post(
        SETTINGS, form(cluster="other", endpoint="http://braze-proxy.internal:8080/")
    )
    assert stored(workspace).rest_endpoint == "http://braze-proxy.internal:8080"
    html = logged_in(owner).get(SETTINGS).content.decode()
    assert '<option value="other" selected>' in html
    assert 'value="http://braze-proxy.internal:8080"' in html


# --- The API key ----------------------------------------------------------------------------


def raw_column(workspace: Workspace) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT api_key_encrypted FROM braze_brazesettings WHERE workspace_id = %s",
            [workspace.pk],
        )
        return str(cursor.fetchone()[0])


@pytest.mark.django_db
def test_the_key_is_stored_encrypted_and_never_shown_again(
    owner: User, workspace: Workspace
) -> None:
    client = logged_in(owner)
    saved = client.post(SETTINGS, form(), follow=True)
    column = raw_column(workspace)
    assert KEY not in column and "9f3c" not in column
    assert stored(workspace).api_key() == KEY
    html = client.get(SETTINGS).content.decode()
    assert 'placeholder="•••• 9f3c"' in html
    for body in (saved.content.decode(), html):
        assert KEY not in body


@pytest.mark.django_db
def test_a_refused_form_does_not_render_the_typed_key_back(owner: User) -> None:
    html = logged_in(owner).post(SETTINGS, form(requests_per_second="0")).content.decode()
    assert "Ensure this value is greater than or equal to 1." in html
    assert KEY not in html


@pytest.mark.django_db
def test_leaving_the_key_empty_keeps_the_saved_one(owner: User, workspace: Workspace) -> None:
    connect(workspace)
    logged_in(owner).post(SETTINGS, form(cluster="US-05", api_key="", requests_per_second="40"))
    found = stored(workspace)
    assert found.api_key() == KEY
    assert found.rest_endpoint == "https://rest.iad-05.braze.com"
    assert found.requests_per_second == 40


@pytest.mark.django_db
def test_the_first_save_needs_a_key(owner: User) -> None:
    html = logged_in(owner).post(SETTINGS, form(api_key="")).content.decode()
    assert "Paste a REST API key from Braze" in html
    assert 'id="id_api_key_error"' in html
    assert not BrazeSettings.objects.exists()


@pytest.mark.django_db
def test_a_key_with_spaces_inside_is_refused(owner: User) -> None:
    html = logged_in(owner).post(SETTINGS, form(api_key="abc def ghi jkl")).content.decode()
    assert "An API key has no spaces or line breaks" in html
    assert not BrazeSettings.objects.exists()


@pytest.mark.django_db
def test_the_objects_per_request_are_chosen_with_how_to_tell_which_applies(
    owner: User, workspace: Workspace
) -> None:
    client = logged_in(owner)
    html = client.get(SETTINGS).content.decode()
    assert "Objects per request" in html
    assert "Contracts priced by monthly active users (MAU): 50 together" in html
    assert 'value="75_combined" id="id_batch_limit_0" checked' in html
    client.post(SETTINGS, form(batch_limit="50_combined"))
    assert stored(workspace).batch_limit == "50_combined"
    # A save that does not send the choice keeps it.
    client.post(SETTINGS, form(api_key="", requests_per_second="40"))
    assert stored(workspace).batch_limit == "50_combined"
    html = client.get(SETTINGS).content.decode()
    assert 'value="50_combined" id="id_batch_limit_1" checked' in html
    refused = client.post(SETTINGS, form(batch_limit="100_combined")).content.decode()
    assert "Select a valid choice." in refused
    assert stored(workspace).batch_limit == "50_combined"


@pytest.mark.django_db
def test_an_empty_budget_means_no_cap(owner: User, workspace: Workspace) -> None:
    connect(workspace).requests_per_second = 10
    logged_in(owner).post(SETTINGS, form(requests_per_second=""))
    assert stored(workspace).requests_per_second is None


# --- Saving lifts a pause; the page shows how sending goes ----------------------------------


def pause(workspace: Workspace, reason: str = errors.WRONG_KEY) -> Lane:
    now = timezone.now()
    return Lane.objects.create(
        workspace=workspace,
        destination="braze",
        paused_reason=reason,
        paused_at=now,
        last_error=reason,
        last_error_at=now,
    )


@pytest.mark.django_db
def test_saving_restarts_sending_that_a_refused_key_stopped(
    owner: User, workspace: Workspace, live_survey: Survey
) -> None:
    connect(workspace)
    pause(workspace)
    response = Response.objects.create(
        survey=live_survey,
        identity_kind="braze_id",
        identity_value="u1",
        identities={"braze_id": "u1"},
    )
    later = timezone.now() + timedelta(hours=1)
    push = Push.objects.create(
        response=response,
        workspace=workspace,
        destination="braze",
        user_key="braze_id:u1",
        next_attempt_at=later,
    )
    saved = logged_in(owner).post(SETTINGS, form(api_key=OTHER_KEY), follow=True)
    assert "Braze settings saved. Sending has started again." in saved.content.decode()
    lane = Lane.objects.get(workspace=workspace)
    assert lane.paused_at is None and lane.paused_reason == ""
    push.refresh_from_db()
    assert push.state == PushState.PENDING and push.next_attempt_at < later


@pytest.mark.django_db
def test_the_page_shows_last_success_last_error_and_why_sending_stopped(
    owner: User, workspace: Workspace
) -> None:
    connect(workspace)
    lane = pause(workspace)
    Lane.objects.filter(pk=lane.pk).update(last_success_at=timezone.now())
    html = logged_in(owner).get(SETTINGS).content.decode()
    assert "Stopped" in html
    assert html.count("Braze refused the API key (401).") >= 2  # the banner and the status
    assert "None yet" not in html
    assert "Connected to <strong>US-03</strong>" in html


@pytest.mark.django_db
def test_a_stopped_lane_puts_a_banner_on_every_page_with_the_way_to_fix_it(
    owner: User, editor: User, workspace: Workspace, live_survey: Survey
) -> None:
    for url in (reverse("survey-list"), live_survey.get_absolute_url()):
        assert b'id="braze-paused"' not in logged_in(owner).get(url).content
    pause(workspace, errors.NO_PERMISSION)
    for url in (reverse("survey-list"), live_survey.get_absolute_url()):
        html = logged_in(owner).get(url).content.decode()
        assert 'id="braze-paused"' in html
        assert "tick the users.track permission" in html
        assert f'<a href="{SETTINGS}">Fix it in Settings → Braze</a>.' in html
    html = logged_in(editor).get(reverse("survey-list")).content.decode()
    assert "Ask an owner of Acme to fix it in Settings → Braze." in html


@pytest.mark.django_db
def test_another_workspace_stopped_lane_shows_no_banner(
    owner: User, other_workspace: Workspace
) -> None:
    pause(other_workspace)
    assert b'id="braze-paused"' not in logged_in(owner).get(reverse("survey-list")).content


# --- Test connection, against a real HTTP server --------------------------------------------


@pytest.mark.django_db
def test_a_working_key_is_reported_as_connected_without_saving_anything(
    owner: User, tiny_braze: TinyBraze
) -> None:
    page = logged_in(owner).post(TEST, form(cluster="other", endpoint=tiny_braze.url))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Connected: Braze accepted the key, and it may update users." in html
    assert "Nothing was saved by the test." in html
    assert KEY not in html
    assert tiny_braze.received == [("/users/track", KEY, {"attributes": []})]
    assert not BrazeSettings.objects.exists()


@pytest.mark.django_db
def test_a_refused_key_and_a_key_without_permission_are_told_apart(
    owner: User, tiny_braze: TinyBraze
) -> None:
    client = logged_in(owner)
    endpoint = {"cluster": "other", "endpoint": tiny_braze.url}
    refused = client.post(TEST, form(api_key="not-a-key-at-all-1234", **endpoint))
    assert errors.WRONG_KEY in refused.content.decode()
    limited = client.post(TEST, form(api_key=OTHER_KEY, **endpoint))
    assert errors.NO_PERMISSION in limited.content.decode()
    assert b"The connection does not work." in limited.content
    assert not BrazeSettings.objects.exists()


@pytest.mark.django_db
def test_the_test_uses_the_saved_key_when_the_field_is_empty(
    owner: User, workspace: Workspace, tiny_braze: TinyBraze
) -> None:
    connect(workspace, tiny_braze.url)
    html = logged_in(owner).post(TEST, form(cluster="other", endpoint=tiny_braze.url, api_key=""))
    assert b"Connected: Braze accepted the key" in html.content
    assert KEY not in html.content.decode()
    assert tiny_braze.received[-1][1] == KEY


@pytest.mark.django_db
def test_test_connection_then_save_saves_the_tested_key_without_pasting_it_again(
    owner: User, workspace: Workspace, tiny_braze: TinyBraze
) -> None:
    client = logged_in(owner)
    endpoint = {"cluster": "other", "endpoint": tiny_braze.url}
    tested = client.post(TEST, form(**endpoint)).content.decode()
    assert "Connected: Braze accepted the key" in tested
    assert "The key you tried (ending 9f3c) is kept" in tested
    assert KEY not in tested
    # The browser sends the form back as the page left it: the password field empty.
    saved = client.post(SETTINGS, form(api_key="", **endpoint), follow=True)
    assert "Braze settings saved." in saved.content.decode()
    assert stored(workspace).api_key() == KEY
    assert stored(workspace).rest_endpoint == tiny_braze.url
    # Kept for that one save only.
    assert "braze_tested_key" not in client.session


@pytest.mark.django_db
def test_the_tested_key_is_kept_encrypted_for_that_workspace_and_a_few_minutes(
    owner: User, workspace: Workspace, other_workspace: Workspace, tiny_braze: TinyBraze
) -> None:
    client = logged_in(owner)
    endpoint = {"cluster": "other", "endpoint": tiny_braze.url}
    client.post(TEST, form(**endpoint))
    kept = client.session["braze_tested_key"]
    assert KEY not in json.dumps(kept) and kept["workspace"] == workspace.pk

    session = client.session
    session["braze_tested_key"] = {**kept, "workspace": other_workspace.pk}
    session.save()
    html = client.post(SETTINGS, form(api_key="", **endpoint)).content.decode()
    assert "Paste a REST API key from Braze" in html

    session = client.session
    session["braze_tested_key"] = {**kept, "at": kept["at"] - 3600}
    session.save()
    html = client.post(SETTINGS, form(api_key="", **endpoint)).content.decode()
    assert "Paste a REST API key from Braze" in html
    assert not BrazeSettings.objects.exists()


@pytest.mark.django_db
def test_opening_the_settings_again_forgets_the_tested_key(
    owner: User, workspace: Workspace, tiny_braze: TinyBraze
) -> None:
    connect(workspace, tiny_braze.url)
    client = logged_in(owner)
    endpoint = {"cluster": "other", "endpoint": tiny_braze.url}
    client.post(TEST, form(api_key=OTHER_KEY, **endpoint))
    client.get(SETTINGS)
    client.post(SETTINGS, form(api_key="", requests_per_second="30", **endpoint))
    assert stored(workspace).api_key() == KEY


@pytest.mark.django_db
def test_an_unreachable_address_says_braze_could_not_be_reached(
    owner: User, closed_port: str
) -> None:
    html = logged_in(owner).post(TEST, form(cluster="other", endpoint=closed_port)).content
    assert b"Braze could not be reached (could not connect" in html
    assert b"The connection does not work." in html


@pytest.mark.django_db
def test_the_test_refuses_an_address_before_calling_anything(owner: User) -> None:
    html = logged_in(owner).post(TEST, form(cluster="other", endpoint="http://127.0.0.1:9")).content
    assert b"Plain http:// is refused" in html
    assert b'id="test-result"' not in html


@pytest.mark.django_db
def test_the_test_connection_speaks_to_the_braze_stand_in_like_to_braze(
    owner: User, braze_standin: StandinHarness, settings: Any
) -> None:
    settings.BRAZE_ALLOWED_ENDPOINTS = [braze_standin.url]
    client = logged_in(owner)
    endpoint = {"cluster": "other", "endpoint": braze_standin.url}
    ok = client.post(TEST, form(api_key=braze_standin.api_key, **endpoint)).content.decode()
    assert "Connected: Braze accepted the key" in ok
    braze_standin.set_keys(without_permission=[OTHER_KEY])
    limited = client.post(TEST, form(api_key=OTHER_KEY, **endpoint)).content.decode()
    assert errors.NO_PERMISSION in limited
    refused = client.post(TEST, form(api_key=KEY, **endpoint)).content.decode()
    assert errors.WRONG_KEY in refused
    for html in (ok, limited, refused):
        assert braze_standin.api_key not in html and OTHER_KEY not in html and KEY not in html
    assert not braze_standin.users()  # a test changes no profile
