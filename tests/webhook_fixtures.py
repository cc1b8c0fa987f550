"""A real webhook receiver on this machine, and an endpoint of the workspace aimed at it.

The receiver is `sounding.destinations.webhooks.receiver.Receiver`, over real HTTP on the
loopback address; loopback addresses are refused as webhook endpoints, so its address is
allowed with `WEBHOOK_ALLOWED_URLS` for the test's duration, as an operator would allow a
local receiver.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from sounding.accounts.models import User, Workspace
from sounding.delivery import worker
from sounding.delivery.models import Attempt
from sounding.destinations.webhooks import endpoints, signing
from sounding.destinations.webhooks.models import Endpoint
from sounding.destinations.webhooks.receiver import Receiver
from sounding.surveys.models import Status, Survey
from tests.delivery_fixtures import PULSE

WORKER = "test-host:1:delivery"


@pytest.fixture(name="receiver")
def receiver_fixture(settings: Any) -> Iterator[Receiver]:
    # Verified with a throwaway secret until `trust` gives it the endpoint's.
    with Receiver([signing.new_secret()]) as running:
        settings.WEBHOOK_ALLOWED_URLS = [running.url + "/"]
        yield running


def hook_url(receiver: Receiver, path: str = "hooks") -> str:
    return f"{receiver.url}/{path}"


def trust(receiver: Receiver, *secrets: str) -> None:
    """The receiving service is given the endpoint's secret(s), as its owner would."""
    receiver.state.set_secrets({"secrets": list(secrets)})


@pytest.fixture
def live_pulse(workspace: Workspace, owner: User) -> Survey:
    """A live survey of the workspace (`PULSE`)."""
    survey = Survey.create(workspace, PULSE, owner)
    survey.set_status(Status.LIVE)
    return survey


@pytest.fixture(name="hooked")
def hooked_fixture(workspace: Workspace, receiver: Receiver) -> tuple[Endpoint, str]:
    """An endpoint of the workspace, for every event and survey, that the receiver trusts."""
    endpoint, secret = endpoints.create(workspace.pk, hook_url(receiver), description="CRM")
    trust(receiver, secret)
    return endpoint, secret


def deliver_until_logged(endpoint: Endpoint, count: int = 1, timeout: float = 15.0) -> None:
    """Run the delivery worker's rounds in this thread until the endpoint has `count` tries."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        worker.run_once(WORKER)
        if Attempt.objects.filter(push__destination=endpoint.kind).count() >= count:
            return
        time.sleep(0.02)
    raise AssertionError(f"fewer than {count} tries to {endpoint.url} before the deadline")
