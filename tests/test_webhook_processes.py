"""Webhooks end to end with real processes: `sounding serve` (web and worker), an endpoint
created through the API, people answering over HTTP, and the local receiver checking every
signature with `standardwebhooks`, the specification's reference implementation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from sounding.destinations.webhooks.receiver import Receiver
from tests.procs import Processes, cli_env, free_port, wait_for, web_answers
from tests.respondent import form_state

# Its processes use a SQLite database of their own whatever DATABASE_URL says.
pytestmark = pytest.mark.any_db

SURVEY = {
    "title": "Onboarding",
    "questions": [
        {"key": "nps", "type": "nps", "prompt": "How likely are you to recommend us?"},
        {
            "key": "channels",
            "type": "multiple_choice",
            "prompt": "Where do you hear from us?",
            "choices": ["Email", "Push", "SMS"],
        },
    ],
}

_SETUP = """
from sounding.accounts.models import Membership, Role, User, Workspace
from sounding.surveys.models import Status, Survey
workspace = Workspace.objects.create(name="Acme")
owner = User.objects.create_user("owner@acme.test", "x" * 20)
Membership.objects.create(user=owner, workspace=workspace, role=Role.OWNER)
survey = Survey.create(workspace, %(definition)r, owner)
survey.set_status(Status.LIVE)
print(survey.slug)
"""


@pytest.fixture
def site(tmp_path: Path, receiver: Receiver) -> Iterator[dict[str, Any]]:
    env = cli_env(tmp_path)
    env["SOUNDING_WEBHOOK_ALLOWED_URLS"] = receiver.url
    # One second between tries: the test's outage lasts seconds, not the days of the default.
    env["SOUNDING_WEBHOOK_RETRY_SECONDS"] = "1,1,1,1,1,1,1,1,1"
    processes = Processes(tmp_path, env, tmp_path / "processes.log")
    try:
        processes.run("migrate")
        slug = processes.run("manage", "shell", "-c", _SETUP % {"definition": SURVEY}).split()[-1]
        token = processes.run("token", "create", "--email", "owner@acme.test").split()[-1]
        port = free_port()
        processes.start("serve", "--port", str(port), "--workers", "2")
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: web_answers(base), 60, "sounding serve")
        yield {"base": base, "slug": slug, "token": token, "log": tmp_path / "processes.log"}
    finally:
        processes.kill_all()


def answer(base: str, slug: str, who: str, nps: int, picked: list[str]) -> None:
    """As a person does: the email's score link, confirmed with Next, then the next question."""
    with httpx.Client(timeout=30) as client:
        page = client.get(f"{base}/s/{slug}", params={"user_braze_id": who, "nps": str(nps)})
        state = form_state(page.text)
        data = {"r": state["r"], "q": "nps", "nav": "next", "a": str(nps), "from_link": "1"}
        assert client.post(base + state["action"], data=data).status_code in (200, 303)
        page = client.get(f"{base}/s/{slug}", params={"user_braze_id": who})
        state = form_state(page.text)
        data = {"r": state["r"], "q": state["q"], "nav": "next", "a": picked}
        assert client.post(base + state["action"], data=data).status_code in (200, 303)


def accepted(receiver: Receiver) -> list[dict[str, Any]]:
    return [m for m in receiver.messages() if 200 <= m["status"] < 300]


def test_an_api_endpoint_gets_every_answer_signed_through_an_outage_until_gone(
    site: dict[str, Any], receiver: Receiver
) -> None:
    api = httpx.Client(
        base_url=site["base"] + "/api/v1",
        headers={"Authorization": f"Bearer {site['token']}"},
        timeout=30,
    )
    created = api.post(
        "/integrations/webhooks",
        json={"url": receiver.url + "/sounding", "description": "warehouse loader"},
    )
    assert created.status_code == 201, created.text
    endpoint = created.json()
    secret = endpoint["secret"]
    assert secret.startswith("whsec_")
    receiver.state.set_secrets({"secrets": [secret]})
    hook = Webhook(secret)

    for i in range(3):
        answer(site["base"], site["slug"], f"p{i}", 6 + i, ["Email"])
    wait_for(lambda: len(accepted(receiver)) == 9, 60, "nine messages at the receiver")
    got = accepted(receiver)
    for entry in got:
        hook.verify(entry["raw"], entry["headers"])
    by_person: dict[str, list[str]] = {}
    for entry in got:
        who = entry["body"]["data"]["response"]["identity"]["braze_id"]
        by_person.setdefault(who, []).append(entry["type"])
    # One response's messages arrive in the order they happened.
    assert by_person == {
        f"p{i}": ["response.answered", "response.answered", "response.completed"] for i in range(3)
    }

    # The receiver fails for a few seconds: nothing is lost, nothing arrives twice, and what
    # failed comes back under the same webhook-id.
    receiver.reset()
    receiver.state.set_behaviour({"status": 500, "for_seconds": 3})
    for i in range(3, 5):
        answer(site["base"], site["slug"], f"p{i}", i, ["Push", "SMS"])
    wait_for(lambda: len(accepted(receiver)) == 6, 90, "six messages after the outage")
    failed = {m["id"] for m in receiver.messages() if m["status"] == 500}
    delivered = [m["id"] for m in accepted(receiver)]
    assert failed, "the outage began before the first message"
    assert failed <= set(delivered)
    assert len(delivered) == len(set(delivered)) == 6
    for entry in accepted(receiver):
        hook.verify(entry["raw"], entry["headers"])

    # 410 Gone turns the endpoint off.
    receiver.state.set_behaviour({"status": 410})
    answer(site["base"], site["slug"], "p9", 10, ["SMS"])
    wait_for(
        lambda: api.get(f"/integrations/webhooks/{endpoint['id']}").json()["enabled"] is False,
        60,
        "the endpoint turned off",
    )
    gone = api.get(f"/integrations/webhooks/{endpoint['id']}").json()
    assert "410" in gone["disabled_reason"]
