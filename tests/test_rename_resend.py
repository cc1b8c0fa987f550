"""A choice renamed with its answers kept matched: Braze gets the new text too."""

from __future__ import annotations

from django.db import transaction

from sounding.answers.models import Answer
from sounding.authoring import orphans
from sounding.delivery.models import Push, PushState
from sounding.surveys import edits
from sounding.surveys.models import Survey
from tests.delivery_fixtures import drain, respond
from tests.standin import StandinHarness

CHANNELS = "Where do you hear from us?"


def test_answers_kept_matched_are_sent_again_with_the_new_text(
    pulse: Survey, braze_standin: StandinHarness
) -> None:
    respond(pulse, "u-1", {"channels": ["Email", "Push"]})
    respond(pulse, "u-2", {"channels": ["SMS"]})
    drain()
    assert braze_standin.users()["braze_id:u-1"]["attributes"][CHANNELS] == ["Email", "Push"]
    before = len(braze_standin.requests())

    with transaction.atomic():
        definition = pulse.definition
        channels = next(q for q in definition["questions"] if q["key"] == "channels")
        channels["choices"] = ["E-mail", "Push", "SMS"]
        pulse.replace_definition(edits.with_details(definition, {}))
        assert orphans.rename_answers(pulse, "channels", {"Email": "E-mail"}) == 1

    assert Answer.objects.get(response__identities__braze_id="u-1").value == ["E-mail", "Push"]
    assert Push.objects.get(response__identities__braze_id="u-1").state == PushState.PENDING
    assert Push.objects.get(response__identities__braze_id="u-2").state == PushState.SYNCED
    drain()
    assert braze_standin.users()["braze_id:u-1"]["attributes"][CHANNELS] == ["E-mail", "Push"]
    sent = [obj for r in braze_standin.requests(before) for obj in r["body"].get("attributes", [])]
    assert [obj["braze_id"] for obj in sent] == ["u-1"]
