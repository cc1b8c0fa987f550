"""An answer never chooses whose profile it lands on, nor overwrites a standard profile field:
attribute names are checked again for every request, and the identity is written last."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import override_settings
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sounding.accounts.models import User, Workspace
from sounding.answers.models import Response
from sounding.delivery.models import Push, PushState
from sounding.delivery.protocol import Item
from sounding.destinations.braze import client, mapping, standin_rules
from sounding.destinations.braze.destination import parcel_for
from sounding.destinations.braze.models import BrazeSettings, SurveyBraze
from sounding.responses import erasure
from sounding.surveys.models import Status, Survey
from tests.conftest import logged_in
from tests.delivery_fixtures import drain, integrate, respond
from tests.standin import StandinHarness

IDENTIFIERS = frozenset({"braze_id", "external_id", "user_alias", "email", "phone"})
# Everything Braze reads as something other than a custom attribute, by our list and by the
# stand-in's own (braze.md in code).
NOT_CUSTOM = mapping.STANDARD_FIELDS | standin_rules.STANDARD_FIELDS | IDENTIFIERS


def survey_asking(workspace: Workspace, owner: User, *prompts: str, **options: Any) -> Survey:
    questions = [
        {"key": f"q{i}", "type": "short_text", "prompt": prompt} for i, prompt in enumerate(prompts)
    ]
    survey = Survey.create(workspace, {"title": "Who are you?", "questions": questions}, owner)
    survey.set_status(Status.LIVE)
    integrate(survey, **options)
    return survey


def attribute_objects(standin: StandinHarness) -> list[dict[str, Any]]:
    return [obj for r in standin.requests() for obj in r["body"].get("attributes", [])]


@pytest.mark.django_db
@pytest.mark.parametrize("prompt", ["external_id", "braze_id", "email", "phone", "first_name"])
def test_a_question_reworded_into_an_identifier_or_a_profile_field_is_never_sent(
    workspace: Workspace,
    owner: User,
    connected: BrazeSettings,
    braze_standin: StandinHarness,
    prompt: str,
) -> None:
    survey = survey_asking(workspace, owner, "Which plan?", prompt, signed_links=True)

    respond(survey, "u-1", {"q0": "Pro", "q1": "victim@example.com"})
    drain()

    (sent,) = attribute_objects(braze_standin)
    assert sent == {"Which plan?": "Pro", "_update_existing_only": True, "braze_id": "u-1"}
    assert list(sent)[-1] == "braze_id"  # the identity last: nothing after it can replace it
    assert set(braze_standin.users()) == {"braze_id:u-1"}
    push = Push.objects.get()
    assert push.state == PushState.SYNCED
    assert f"question q1 not sent: “{prompt}” is a standard Braze profile field" in push.notes


@pytest.mark.django_db
def test_names_braze_was_sent_under_earlier_rules_are_not_sent_again_even_as_null(
    workspace: Workspace, owner: User, connected: BrazeSettings, braze_standin: StandinHarness
) -> None:
    survey = survey_asking(workspace, owner, "Which plan?")
    response = respond(survey, "u-1", {"q0": "Pro"})
    # Acknowledged before names were checked for every request: "email" was sent back then.
    Push.objects.update(acknowledged={"attributes": {"email": "victim@example.com"}})
    drain()
    erasure.erase_one(response, clear=True)
    drain()

    first, erased = attribute_objects(braze_standin)
    assert first == {"Which plan?": "Pro", "_update_existing_only": True, "braze_id": "u-1"}
    assert erased == {"Which plan?": None, "_update_existing_only": True, "braze_id": "u-1"}


@pytest.mark.django_db
def test_the_braze_page_says_which_question_is_not_sent_and_why(
    workspace: Workspace, owner: User, connected: BrazeSettings
) -> None:
    survey = survey_asking(workspace, owner, "Which plan?", "external_id")
    html = logged_in(owner).get(reverse("survey-braze", args=[survey.pk])).content.decode()
    row = html.split('id="attr-q1"')[1].split("</tr>")[0]
    assert "Not sent to Braze: “external_id” is a standard Braze profile field" in row
    assert "Not sent" not in html.split('id="attr-q0"')[1].split("</tr>")[0]


# --- Whatever the names: a property, over real HTTP --------------------------------------------

TEXT = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)))
NAME = st.one_of(
    st.sampled_from(sorted(NOT_CUSTOM)),
    st.sampled_from(sorted(NOT_CUSTOM)).map(lambda name: f" {name}"),
    st.sampled_from(["$email", "x" * 300, "", "Which plan?", "How likely?"]),
    TEXT,
)
KEYS = [f"q{i}" for i in range(4)]
SLUGS = itertools.count()


@st.composite
def setups(draw: st.DrawFn) -> tuple[Item, SurveyBraze]:
    """A survey whose prompts, names typed, names kept and names retired are anything at all
    (stored data may predate every check), one respondent, and what Braze acknowledged."""
    prompts = [draw(NAME.filter(lambda p: p.strip() != "")) for _ in KEYS]
    questions = [
        {"key": key, "type": "short_text", "prompt": prompt}
        for key, prompt in zip(KEYS, prompts, strict=True)
    ]
    survey = Survey(
        pk=5000,
        slug=f"who-{next(SLUGS)}",
        title="Who",
        definition={"title": "Who", "questions": questions},
    )
    config = SurveyBraze(
        survey=survey,
        enabled=True,
        identifier=draw(st.sampled_from(["braze_id", "external_id", "email"])),
        attribute_names=draw(st.dictionaries(st.sampled_from(KEYS), st.none() | NAME)),
        pinned_names=draw(st.dictionaries(st.sampled_from(KEYS), NAME)),
        retired_names=draw(st.lists(NAME, max_size=3)),
        per_answer_events=draw(st.booleans()),
    )
    identity = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "braze_id": st.just("u-1"),
                "external_id": st.just("ext-1"),
                "email": st.just("u1@example.com"),
            },
        ).filter(bool)
    )
    now = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    response = Response(pk=1, survey=survey, token="tok", identities=identity)
    if draw(st.booleans()):
        response.erase_requested_at = now
    answers = draw(st.dictionaries(st.sampled_from(KEYS), TEXT.map(lambda t: t[:255] or "x")))
    acknowledged = draw(st.dictionaries(NAME, TEXT, max_size=4))
    item = Item(
        push_id=1,
        response=response,
        survey=survey,
        answers=answers,
        answered_at=dict.fromkeys(answers, now),
        version=1,
        acknowledged={"attributes": acknowledged},
    )
    return item, config


@pytest.mark.any_db  # models never saved, sent to the stand-in: no database
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(setup=setups())
def test_whatever_the_names_no_request_carries_an_identifier_or_profile_field_but_the_identity(
    braze_standin: StandinHarness, setup: tuple[Item, SurveyBraze]
) -> None:
    item, config = setup
    parcel = parcel_for(item, config)
    if not parcel.objects:
        return
    before = braze_standin.requests()
    seen = before[-1]["seq"] if before else 0
    target = client.Target(braze_standin.url, braze_standin.api_key)
    with override_settings(BRAZE_ALLOWED_ENDPOINTS=[braze_standin.url]):
        answer = client.send(target, parcel.objects)

    (received,) = braze_standin.requests(seen)
    assert received["status"] == 201, received
    assert answer.object_errors == {}, (answer, received["body"])
    who = {k: v for k, v in item.response.identity.items() if v}
    for array, objects in received["body"].items():
        for obj in objects:
            reserved = set(obj) & NOT_CUSTOM - {"_update_existing_only"}
            assert len(reserved) == 1, (array, obj)
            (field,) = reserved
            assert obj[field] == who[field]
            if array == "attributes":
                assert obj["_update_existing_only"] is True
