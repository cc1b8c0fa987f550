"""The text typed in "Other" reaches Braze on an attribute of its own, "<name> (other)": the
choices attribute holds the "Other" label in its place, so segments on the choices stay clean.
Checked over real HTTP against the Braze stand-in."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

from sounding.accounts.models import User, Workspace
from sounding.delivery import backfill
from sounding.delivery.models import Push
from sounding.destinations.braze import mapping
from sounding.destinations.braze.models import BrazeSettings, SurveyBraze
from sounding.responses import erasure
from sounding.surveys.models import Status, Survey
from sounding.surveys.questions import EMPTY
from tests.conftest import logged_in
from tests.delivery_fixtures import drain, integrate, respond
from tests.standin import StandinHarness

EXTRAS = "What did you add to your order?"
DRINK = "Favourite drink?"
GIFTS: dict[str, Any] = {
    "title": "Gifts",
    "questions": [
        {
            "key": "extras",
            "type": "multiple_choice",
            "prompt": EXTRAS,
            "choices": ["Packaging", "Card"],
            "allow_other": True,
        },
        {
            "key": "drink",
            "type": "single_choice",
            "prompt": DRINK,
            "choices": ["Coffee", "Juice"],
            "allow_other": True,
            "other_label": "Something else",
        },
    ],
}


@pytest.fixture
def gifts(workspace: Workspace, owner: User, connected: BrazeSettings) -> Survey:
    survey = Survey.create(workspace, GIFTS, owner)
    survey.set_status(Status.LIVE)
    integrate(survey)
    return survey


def profile(standin: StandinHarness, braze_id: str) -> dict[str, Any]:
    return standin.users()[f"braze_id:{braze_id}"]["attributes"]


def sent(standin: StandinHarness, since: int = 0) -> list[dict[str, Any]]:
    return [obj for r in standin.requests(since) for obj in r["body"].get("attributes", [])]


def last_seq(standin: StandinHarness) -> int:
    return int(standin.requests()[-1]["seq"])


def test_the_choices_array_holds_the_other_label_and_the_text_has_its_own_attribute(
    gifts: Survey, braze_standin: StandinHarness
) -> None:
    respond(gifts, "u-1", {"extras": ["Packaging", "Gift wrapping"], "drink": "Mint tea"})
    drain()

    assert profile(braze_standin, "u-1") == {
        EXTRAS: ["Packaging", "Other"],
        f"{EXTRAS} (other)": "Gift wrapping",
        DRINK: "Something else",
        f"{DRINK} (other)": "Mint tea",
    }


def test_only_choices_picked_sends_no_other_attribute_and_dropping_other_clears_it(
    gifts: Survey, braze_standin: StandinHarness
) -> None:
    respond(gifts, "u-1", {"extras": ["Card"], "drink": "Coffee"})
    drain()
    assert profile(braze_standin, "u-1") == {EXTRAS: ["Card"], DRINK: "Coffee"}

    respond(gifts, "u-2", {"extras": ["Card", "Ribbon"]})
    drain()
    assert profile(braze_standin, "u-2")[f"{EXTRAS} (other)"] == "Ribbon"
    seen = last_seq(braze_standin)
    respond(gifts, "u-2", {"extras": ["Card"]})
    drain()
    assert sent(braze_standin, seen) == [
        {
            EXTRAS: ["Card"],
            f"{EXTRAS} (other)": None,
            "_update_existing_only": True,
            "braze_id": "u-2",
        }
    ]
    assert profile(braze_standin, "u-2") == {EXTRAS: ["Card"]}

    respond(gifts, "u-2", {"extras": EMPTY})
    drain()
    assert profile(braze_standin, "u-2") == {}


def test_a_profile_holding_the_old_mixed_array_gets_the_new_shape_on_the_next_send(
    gifts: Survey, braze_standin: StandinHarness
) -> None:
    respond(gifts, "u-1", {"extras": ["Packaging", "Gift wrapping"]})
    drain()
    # What an earlier version sent and had acknowledged: the text among the choices.
    push = Push.objects.get()
    push.acknowledged["attributes"] = {EXTRAS: ["Packaging", "Gift wrapping"]}
    push.save(update_fields=["acknowledged"])

    with transaction.atomic():
        backfill.owe_again(Push.objects.values("response_id"))
    seen = last_seq(braze_standin)
    drain()

    assert sent(braze_standin, seen) == [
        {
            EXTRAS: ["Packaging", "Other"],
            f"{EXTRAS} (other)": "Gift wrapping",
            "_update_existing_only": True,
            "braze_id": "u-1",
        }
    ]


def test_moving_a_renamed_attribute_moves_its_other_attribute_too(
    gifts: Survey, editor: User, braze_standin: StandinHarness
) -> None:
    respond(gifts, "u-1", {"extras": ["Packaging", "Gift wrapping"]})
    drain()
    assert SurveyBraze.objects.get(survey=gifts).pinned_names == {"extras": EXTRAS}
    seen = last_seq(braze_standin)

    form = {"enabled": "on", "identifier": "braze_id", "sync_extras": "on", "sync_drink": "on"}
    form |= {"name_extras": "Extras", "name_drink": "", "rename_profiles": "move"}
    saved = logged_in(editor).post(reverse("survey-braze", args=[gifts.pk]), form, follow=True)
    assert saved.status_code == 200
    drain()

    assert profile(braze_standin, "u-1") == {
        "Extras": ["Packaging", "Other"],
        "Extras (other)": "Gift wrapping",
    }
    (moved,) = sent(braze_standin, seen)
    assert moved[EXTRAS] is None and moved[f"{EXTRAS} (other)"] is None


def test_erasing_a_response_clears_its_other_attribute(
    gifts: Survey, braze_standin: StandinHarness
) -> None:
    response = respond(gifts, "u-1", {"drink": "Mint tea"})
    drain()

    erasure.erase_one(response, clear=True)
    drain()

    assert profile(braze_standin, "u-1") == {}


def test_answer_events_carry_the_label_and_the_text_apart(
    gifts: Survey, braze_standin: StandinHarness
) -> None:
    SurveyBraze.objects.filter(survey=gifts).update(per_answer_events=True)
    respond(gifts, "u-1", {"extras": ["Packaging", "Gift wrapping"], "drink": "Mint tea"})
    drain()

    events = {
        e["properties"]["question_key"]: e["properties"]
        for e in braze_standin.users()["braze_id:u-1"]["events"]
    }
    assert events["extras"]["answer_array"] == ["Packaging", "Other"]
    assert events["extras"]["answer_other"] == "Gift wrapping"
    assert events["drink"]["answer_string"] == "Something else"
    assert events["drink"]["answer_other"] == "Mint tea"


def test_the_other_attribute_name_is_checked_like_any_other(gifts: Survey) -> None:
    spec = gifts.spec
    long = "x" * 250
    problems = mapping.name_problems(spec, {"extras": long})
    assert "(other)" in problems["extras"] and "255 characters" in problems["extras"]

    taken = mapping.name_problems(spec, {"drink": "Extras (other)", "extras": "Extras"})
    assert list(taken) == ["extras"]
    assert "already the attribute name of “Favourite drink?”" in taken["extras"]

    assert mapping.name_problems(spec, {"extras": "Extras"}) == {}
    names, refused = mapping.sendable_names(spec, {"extras": long})
    assert "extras" not in names and "extras" in refused


def test_the_braze_page_and_the_api_name_the_other_attribute(
    gifts: Survey, owner: User, owner_token: str
) -> None:
    html = logged_in(owner).get(reverse("survey-braze", args=[gifts.pk])).content.decode()
    assert f"goes to “{EXTRAS} (other)”" in html
    assert "holds “Something else” in its place" in html

    api = Client(HTTP_AUTHORIZATION=f"Bearer {owner_token}")
    body = api.get(f"/api/v1/surveys/{gifts.pk}/integrations/braze").json()
    others = {a["question_key"]: a["other_attribute_name"] for a in body["attributes"]}
    assert others == {"extras": f"{EXTRAS} (other)", "drink": f"{DRINK} (other)"}


def test_when_other_is_no_longer_offered_its_attribute_is_cleared_on_the_next_send(
    gifts: Survey, braze_standin: StandinHarness
) -> None:
    respond(gifts, "u-1", {"drink": "Mint tea", "extras": ["Card"]})
    drain()
    gifts.refresh_from_db()
    definition = copy.deepcopy(gifts.definition)
    definition["questions"][1]["allow_other"] = False
    gifts.replace_definition(definition)
    assert mapping.name_problems(gifts.spec, {}) == {}

    respond(gifts, "u-1", {"extras": ["Packaging"]})
    drain()

    # Shown as stored, as the report and exports do for a question without "Other".
    assert profile(braze_standin, "u-1") == {EXTRAS: ["Packaging"], DRINK: "Mint tea"}


def test_copying_a_renamed_attribute_copies_its_other_attribute_and_keeps_the_old(
    gifts: Survey, editor: User, braze_standin: StandinHarness
) -> None:
    respond(gifts, "u-1", {"drink": "Mint tea"})
    drain()

    form = {"enabled": "on", "identifier": "braze_id", "sync_extras": "on", "sync_drink": "on"}
    form |= {"name_extras": "", "name_drink": "Drink", "rename_profiles": "copy"}
    logged_in(editor).post(reverse("survey-braze", args=[gifts.pk]), form)
    drain()

    assert profile(braze_standin, "u-1") == {
        DRINK: "Something else",
        f"{DRINK} (other)": "Mint tea",
        "Drink": "Something else",
        "Drink (other)": "Mint tea",
    }
