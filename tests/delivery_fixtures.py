"""A workspace connected to the Braze stand-in, a survey with the integration on, and helpers
to answer it and run the delivery worker's rounds in the test's own thread."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sounding.accounts.models import User, Workspace
from sounding.collect import flow
from sounding.collect.models import Response
from sounding.delivery import engine
from sounding.delivery.models import Push, PushState
from sounding.destinations.braze.models import BrazeSettings, SurveyBraze
from sounding.surveys.models import Status, Survey
from tests.procs import Processes, cli_env
from tests.standin import StandinHarness

WORKER = "test-host:1:delivery"

PULSE: dict[str, Any] = {
    "title": "Product pulse",
    "questions": [
        {"key": "nps", "type": "nps", "prompt": "How likely are you to recommend us?"},
        {
            "key": "channels",
            "type": "multiple_choice",
            "prompt": "Where do you hear from us?",
            "choices": ["Email", "Push", "SMS"],
        },
        {"key": "feedback", "type": "long_text", "prompt": "Anything else?"},
    ],
}


@pytest.fixture
def connected(
    workspace: Workspace, owner: User, braze_standin: StandinHarness, settings: Any
) -> BrazeSettings:
    settings.BRAZE_ALLOWED_ENDPOINTS = [braze_standin.url]
    found = BrazeSettings(workspace=workspace, rest_endpoint=braze_standin.url)
    found.set_api_key(braze_standin.api_key)
    found.save()
    return found


def integrate(survey: Survey, **options: Any) -> SurveyBraze:
    config = SurveyBraze.objects.create(survey=survey, enabled=True, **options)
    survey.destinations = ["braze"]
    survey.save(update_fields=["destinations"])
    return config


@pytest.fixture
def pulse(workspace: Workspace, owner: User, connected: BrazeSettings) -> Survey:
    survey = Survey.create(workspace, PULSE, owner)
    survey.set_status(Status.LIVE)
    integrate(survey, attribute_names={"feedback": "Pulse feedback"})
    return survey


def respond(survey: Survey, braze_id: str | None, answers: dict[str, Any], complete: bool = False):
    """Answer as the respondent path does: one save per answer, each its own transaction."""
    survey = Survey.objects.get(pk=survey.pk)
    ctx = flow.LinkContext(identity={"braze_id": braze_id} if braze_id else {})
    response = flow.start_response(survey, ctx)
    current = dict(flow.store.answers(response.pk))
    keys = list(answers)
    for i, key in enumerate(keys):
        question = survey.spec.get(key)
        assert question is not None
        last = complete and i == len(keys) - 1
        flow.save_answer(survey, response, question, answers[key], current, completes=last)
    return Response.objects.get(pk=response.pk)


def drain(timeout: float = 10.0) -> int:
    """Run worker rounds until nothing is pending; return the number of rounds that worked."""
    deadline = time.monotonic() + timeout
    rounds = 0
    while time.monotonic() < deadline:
        if engine.deliver_due("braze", WORKER):
            rounds += 1
            continue
        if not Push.objects.filter(state=PushState.PENDING).exists():
            return rounds
        time.sleep(0.02)
    raise AssertionError(
        "pushes still pending: "
        + repr(list(Push.objects.filter(state=PushState.PENDING).values("id", "last_error")))
    )


@pytest.fixture
def processes(tmp_path: Path, braze_standin: StandinHarness) -> Iterator[Processes]:
    env = cli_env(tmp_path)
    env["SOUNDING_BRAZE_ALLOWED_ENDPOINTS"] = braze_standin.url
    running = Processes(tmp_path, env, tmp_path / "processes.log")
    yield running
    running.kill_all()


# Run with `sounding manage shell -c` in a process test: a workspace owned by someone, connected
# to the stand-in, with a live survey that sends to Braze. Prints the survey's slug.
_SETUP = """
from sounding.accounts.models import Membership, Role, User, Workspace
from sounding.destinations.braze.models import BrazeSettings, SurveyBraze
from sounding.surveys.models import Status, Survey
workspace = Workspace.objects.create(name="Acme")
owner = User.objects.create_user("owner@acme.test", "x" * 20)
Membership.objects.create(user=owner, workspace=workspace, role=Role.OWNER)
braze = BrazeSettings(workspace=workspace, rest_endpoint=%(url)r)
braze.set_api_key(%(key)r)
braze.save()
survey = Survey.create(workspace, %(definition)r, owner)
survey.set_status(Status.LIVE)
SurveyBraze.objects.create(survey=survey, enabled=True, attribute_names=%(names)r)
survey.destinations = ["braze"]
survey.save(update_fields=["destinations"])
print(survey.slug)
"""


def set_up_braze_survey(
    processes: Processes,
    standin: StandinHarness,
    definition: dict[str, Any],
    attribute_names: dict[str, str | None] | None = None,
) -> str:
    """Migrate the processes' database and create what `_SETUP` says; return the slug."""
    processes.run("migrate")
    values = {
        "url": standin.url,
        "key": standin.api_key,
        "definition": definition,
        "names": attribute_names or {},
    }
    return processes.run("manage", "shell", "-c", _SETUP % values).split()[-1]
