"""A workspace connected to the Braze stand-in, a survey with the integration on, and helpers
to answer it and run the delivery worker's rounds in the test's own thread."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from sounding.accounts.models import User, Workspace
from sounding.answers.models import Answer, Response
from sounding.collect import flow
from sounding.delivery import engine
from sounding.delivery.models import Push, PushState
from sounding.destinations.braze.forms import SurveyBrazeForm
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


def braze_page(client: Client, survey: Survey, **changes: bool) -> str:
    """Save the survey's Braze page as an editor would, as it stands but for `changes` (a box
    ticked or not: `enabled=False` turns the integration off); return the page shown after."""
    config = SurveyBraze.objects.get(survey=survey)
    data = SurveyBrazeForm.initial_for(survey.spec, config) | changes
    posted = {name: "on" if value is True else value for name, value in data.items() if value}
    page = client.post(reverse("survey-braze", args=[survey.pk]), posted, follow=True)
    assert page.status_code == 200
    return page.content.decode()


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


# --- The four promises every fault test checks ---------------------------------------------
#
# After any fault: (1) every answer Sounding acknowledged is stored, (2) every stored answer
# reached Braze (each profile's final values are the stored answers, through the real
# mapping), (3) no older value ever replaced a newer one on a profile, and (4) no event
# arrived twice, except the re-sends the pipeline counted as ambiguous on the push.


@dataclass
class Ledger:
    """Every answer a test's respondents gave, in order, and whether Sounding acknowledged it
    (saved in the test's process, or a success answer from the web process).

    Each person's values for one question must differ, so that a value on the stand-in says
    which answer it came from, and "older" is well defined. Thread-safe: clients record into
    one ledger from several threads, each person from one thread only.
    """

    tries: dict[str, dict[str, list[tuple[Any, bool]]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def gave(self, who: str, key: str, value: Any, acknowledged: bool = True) -> None:
        """`who` as the stand-in names profiles: "braze_id:u-1"."""
        with self._lock:
            given = self.tries.setdefault(who, {}).setdefault(key, [])
            assert all(_json(v) != _json(value) for v, _ in given), (
                f"{who} gave {key}={value!r} twice: a test must give distinct values"
            )
            given.append((value, acknowledged))

    def _outcomes(self) -> list[bool]:
        # Under the lock: a test may count while its clients are still answering.
        with self._lock:
            return [
                ok for keys in self.tries.values() for tries in keys.values() for _, ok in tries
            ]

    def acknowledged(self) -> int:
        return sum(self._outcomes())

    def refused(self) -> int:
        return sum(not ok for ok in self._outcomes())


def _json(value: Any) -> str:
    # Profiles compare as JSON: True and 1 differ, and lists compare by content.
    return json.dumps(value, sort_keys=True)


def answer_and_log(
    ledger: Ledger, survey: Survey, braze_id: str, answers: dict[str, Any], complete: bool = False
) -> Response:
    """`respond`, recording each answer as acknowledged (it returned, so it was committed)."""
    response = respond(survey, braze_id, answers, complete=complete)
    for key, value in answers.items():
        ledger.gave(f"braze_id:{braze_id}", key, value)
    return response


def stored_state() -> dict[str, Any]:
    """What the database holds, JSON-ready, by person ("braze_id:u-1"): the stored answers by
    question key, the profile Braze should show for them (through the real mapping), and the
    person's pushes (states, ambiguous events). Also each question's attribute name.

    A process test runs it in the processes' own database: see `STORED_STATE`.
    """
    from sounding.delivery.outbox import user_key
    from sounding.destinations.braze import mapping

    state: dict[str, Any] = {"answers": {}, "profiles": {}, "pushes": {}, "names": {}}
    configs = SurveyBraze.objects.in_bulk(field_name="survey_id")
    for response in Response.objects.select_related("survey").order_by("id"):
        who = user_key(response)
        config = configs.get(response.survey_id)
        if who is None or config is None or not config.enabled:
            continue
        spec = response.survey.spec
        names, _ = mapping.sendable_names(spec, config.attribute_names, config.pinned_names)
        state["names"].update(names)
        answers = dict(
            Answer.objects.filter(response=response).values_list("question_key", "value")
        )
        assert who not in state["answers"], f"{who} answered twice: one survey per test"
        state["answers"][who] = answers
        profile = {}
        for key, name in names.items():
            value = mapping.attribute_value(spec.get(key), answers.get(key), [], name)
            if value is not None and value is not mapping.SKIP:
                profile[name] = value
        state["profiles"][who] = profile
        state["pushes"][who] = list(
            Push.objects.filter(response=response).values("state", "ambiguous_events")
        )
    return state


# `sounding manage shell -c` in a process test's environment: prints `stored_state()` as the
# last line of its output.
_ROOT = str(Path(__file__).resolve().parent.parent)
STORED_STATE = (
    f"import json, sys; sys.path.insert(0, {_ROOT!r}); "
    "from tests.delivery_fixtures import stored_state; print(json.dumps(stored_state()))"
)


def process_state(processes: Processes) -> dict[str, Any]:
    return json.loads(processes.run("manage", "shell", "-c", STORED_STATE).splitlines()[-1])


def all_synced(state: dict[str, Any]) -> bool:
    return all(p["state"] == PushState.SYNCED for ps in state["pushes"].values() for p in ps)


def check_acknowledged_answers_stored(ledger: Ledger, state: dict[str, Any]) -> None:
    """(1) The stored value is the last acknowledged one, or one given after it whose answer
    was lost with the process (stored or not: the respondent never heard)."""
    for who, keys in ledger.tries.items():
        for key, tries in keys.items():
            acked = [i for i, (_, ok) in enumerate(tries) if ok]
            if not acked:
                continue
            allowed = [_json(v) for v, _ in tries[acked[-1] :]]
            stored = state["answers"].get(who, {}).get(key)
            assert _json(stored) in allowed, (
                f"{who}'s {key}: {tries[acked[-1]][0]!r} was acknowledged, {stored!r} is stored"
            )


def check_stored_answers_delivered(standin: StandinHarness, state: dict[str, Any]) -> None:
    """(2) Each profile on the stand-in holds exactly what the stored answers map to, and
    every push says so (synced)."""
    got = {who: p["attributes"] for who, p in standin.users().items()}
    wrong = {
        who: {"stored": want, "braze": got.get(who, {})}
        for who, want in state["profiles"].items()
        if got.get(who, {}) != want
    }
    assert not wrong, f"{len(wrong)} profiles differ from the stored answers: {wrong}"
    strangers = {who for who, attributes in got.items() if attributes} - set(state["profiles"])
    assert not strangers, f"profiles nobody answered for: {sorted(strangers)}"
    unsynced = {
        who: pushes
        for who, pushes in state["pushes"].items()
        if any(p["state"] != PushState.SYNCED for p in pushes)
    }
    assert not unsynced, f"pushes not synced: {unsynced}"


def check_never_older_after_newer(
    ledger: Ledger, standin: StandinHarness, state: dict[str, Any]
) -> None:
    """(3) In the order the stand-in applied them, each person's values for an attribute only
    move forward through the answers they gave: an older one never lands after a newer one."""
    attribute_of = state["names"]
    question_of = {name: key for key, name in attribute_of.items()}
    applied = sorted(
        (r for r in standin.requests() if r["applied"]), key=lambda r: r["finished_at"]
    )
    reached: dict[tuple[str, str], int] = {}
    for request in applied:
        for obj in request["body"].get("attributes", []):
            who = f"braze_id:{obj['braze_id']}"
            for name, value in obj.items():
                key = question_of.get(name)
                if key is None:
                    continue
                given = [_json(v) for v, _ in ledger.tries.get(who, {}).get(key, [])]
                assert _json(value) in given, f"{who}'s {name}={value!r} is no answer they gave"
                position = given.index(_json(value))
                before = reached.get((who, name), -1)
                assert position >= before, (
                    f"request {request['seq']} put {who}'s older {name}={value!r} over "
                    f"{ledger.tries[who][key][before][0]!r}"
                )
                reached[(who, name)] = position


def check_events_once(standin: StandinHarness, state: dict[str, Any]) -> None:
    """(4) Each event (by `sounding_event_id`) arrived once. A second copy is allowed only as
    far as the pipeline counted ambiguous re-sends on that person's push: events sent again
    after a request whose outcome it never learned or never recorded (a 5xx after applying,
    a timeout, a dropped connection, a worker or database gone mid-request)."""
    for who, profile in standin.users().items():
        copies: dict[str, int] = {}
        for event in profile["events"]:
            event_id = event["properties"]["sounding_event_id"]
            copies[event_id] = copies.get(event_id, 0) + 1
        extra = sum(n - 1 for n in copies.values())
        counted = sum(p["ambiguous_events"] for p in state["pushes"].get(who, []))
        assert extra <= counted, (
            f"{who}: {extra} duplicate events, but only {counted} ambiguous re-sends counted"
        )


def duplicate_events(standin: StandinHarness) -> int:
    """Copies of events beyond the first, over every profile on the stand-in."""
    total = 0
    for profile in standin.users().values():
        ids = [e["properties"]["sounding_event_id"] for e in profile["events"]]
        total += len(ids) - len(set(ids))
    return total


def ambiguous_events(state: dict[str, Any]) -> int:
    """Ambiguous re-sends counted on every push (`Push.ambiguous_events`)."""
    return sum(p["ambiguous_events"] for pushes in state["pushes"].values() for p in pushes)


def check_promises(ledger: Ledger, standin: StandinHarness, state: dict[str, Any]) -> None:
    """All four, on a state read once everything was delivered (see `settled`)."""
    assert ledger.acknowledged(), "no answer was acknowledged: nothing would be checked"
    check_acknowledged_answers_stored(ledger, state)
    check_stored_answers_delivered(standin, state)
    check_never_older_after_newer(ledger, standin, state)
    check_events_once(standin, state)


def settled(fetch: Any, standin: StandinHarness, timeout: float) -> dict[str, Any]:
    """The stored state once every push is synced, the stand-in has no request in hand (one
    held by a slow fault is applied when its delay ends, whoever stopped waiting for it) and
    shows the stored answers; or the last state read after `timeout`, for the checks to say
    what is wrong."""
    deadline = time.monotonic() + timeout
    while True:
        state = fetch()
        got = {who: p["attributes"] for who, p in standin.users().items()}
        done = (
            all_synced(state)
            and standin.stats()["in_flight"] == 0
            and all(got.get(who, {}) == want for who, want in state["profiles"].items())
        )
        if done or time.monotonic() > deadline:
            return state
        time.sleep(0.2)
