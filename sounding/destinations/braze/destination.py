"""Braze as a delivery destination: what a response owes a profile, and how it is sent."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sounding.delivery.protocol import Answer, Connection, Item, Parcel, RequestLimit
from sounding.destinations.braze import client, errors, mapping
from sounding.destinations.braze.models import BatchLimit, BrazeSettings, Identifier, SurveyBraze
from sounding.destinations.braze.signing import liquid_signature
from sounding.surveys import other_text
from sounding.surveys.models import Survey
from sounding.surveys.spec import SurveySpec
from sounding.vault import VaultError

KIND = "braze"
QUESTION_ANSWERED = "sounding_question_answered"
SURVEY_COMPLETED = "sounding_survey_completed"
PRIMARY = ("braze_id", "external_id")


# Objects per request under each contract (see BatchLimit).
REQUEST_LIMITS = {
    BatchLimit.COMBINED_75: RequestLimit(total=75),
    BatchLimit.COMBINED_50: RequestLimit(total=50),
    BatchLimit.PER_ARRAY_75: RequestLimit(per_array=75),
}
# The most objects one person's parcel may hold: what fits one request under every contract.
ONE_PERSON = min(limit.people for limit in REQUEST_LIMITS.values())


class Braze:
    kind = KIND
    # The most people one request carries under any contract: one attributes object each.
    max_objects = max(limit.people for limit in REQUEST_LIMITS.values())

    def connection(self, workspace_id: int) -> Connection | str:
        found = BrazeSettings.objects.filter(workspace_id=workspace_id).first()
        if found is None or not found.has_key or not found.rest_endpoint:
            return errors.not_set_up()
        try:
            key = found.api_key()
        except VaultError as error:
            # Pausing says so on every page; raising would only fill the log, round after round.
            return f"{error} Enter the Braze API key again in Settings → Braze."
        return Connection(
            workspace_id=workspace_id,
            credentials=client.Target(found.rest_endpoint, key),
            requests_per_second=found.requests_per_second,
            limit=REQUEST_LIMITS[BatchLimit(found.batch_limit)],
        )

    def parcels(self, items: Sequence[Item]) -> list[Parcel]:
        configs = SurveyBraze.objects.in_bulk(
            {item.survey.pk for item in items}, field_name="survey_id"
        )
        built = [parcel_for(item, configs.get(item.survey.pk)) for item in items]
        pin_names(items, built, configs)
        return built

    def send(self, connection: Connection, objects: Sequence[tuple[str, dict[str, Any]]]) -> Answer:
        return client.send(connection.credentials, objects)


def identify(item: Item, preferred: str) -> dict[str, str] | None:
    """The profile to update: the survey's chosen identifier if the link carried it, else any
    primary one; an email only when there is no primary (Braze's rule)."""
    identity = item.response.identity
    has_primary = any(identity.get(k) for k in PRIMARY)
    if identity.get(preferred) and not (preferred == "email" and has_primary):
        return {preferred: identity[preferred]}
    for key in (*PRIMARY, "email"):
        if identity.get(key):
            return {key: identity[key]}
    return None


def _same(a: Any, b: Any) -> bool:
    # JSON comparison: True and 1 are different values on a profile.
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def attributes_delta(
    item: Item, names: dict[str, str], notes: list[str], retired: Sequence[str] = ()
) -> dict[str, Any]:
    spec = item.survey.spec
    acknowledged = item.acknowledged.get("attributes", {})
    if item.response.erase_requested_at is not None:
        # A data-subject deletion clears everything this response ever wrote, under whatever
        # name it was written, not only the names the survey uses today.
        return {name: None for name, value in acknowledged.items() if value is not None}
    delta: dict[str, Any] = {}
    in_use = {*names.values(), *mapping.other_names(spec, names).values()}
    for name in retired:
        if name not in in_use and acknowledged.get(name) is not None:
            delta[name] = None  # renamed: the answer moves to its new name
    for key, name in names.items():
        question = spec.get(key)
        if question is None:
            continue
        raw = item.answers.get(key)
        values = mapping.attribute_values(question, raw, notes, name)
        other = mapping.other_name(name)
        if (
            question.type in other_text.CHOICE_TYPES
            and other not in values
            and other not in in_use
            and acknowledged.get(other) is not None
        ):
            values[other] = None  # "Other" no longer offered: its text goes with it
        for attribute, value in values.items():
            if value is mapping.SKIP:
                continue  # what Braze holds stays as it was; the note says why
            if attribute not in acknowledged and value is None:
                continue  # never set: nothing to clear
            if attribute in acknowledged and _same(acknowledged[attribute], value):
                continue  # Braze has it: sending it again would cost a data point
            delta[attribute] = value
    return delta


def only_custom(delta: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    """The attributes Braze files as custom attributes; any other name is dropped, with a note.

    The last check before a request: names come from the survey as it is now, from what
    was acknowledged under earlier rules, or from a rename, and an identifier or a profile
    field among them would move answers to another person or overwrite their email."""
    kept = {}
    for name, value in delta.items():
        problem = mapping.check_name(name)
        if problem is None:
            kept[name] = value
        else:
            notes.append(f"“{name[:80]}” not sent: {problem}")
    return kept


def event_id(item: Item, local_id: str) -> str:
    # Stable for one answer, so a duplicate after an ambiguous retry carries the same id.
    digest = hashlib.sha256(f"{item.response.token}:{local_id}".encode()).hexdigest()
    return digest[:32]


def _time(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def answer_events(
    item: Item, names: dict[str, str], who: dict[str, str]
) -> list[tuple[str, dict[str, Any]]]:
    spec = item.survey.spec
    owed = []
    done = item.acknowledged.get("events", {})
    for key, name in names.items():
        question = spec.get(key)
        when = item.answered_at.get(key)
        if question is None or when is None or key not in item.answers:
            continue
        local = f"a:{key}:{when.timestamp():.6f}"
        if local in done:
            continue
        value, text = other_text.split(question, item.answers[key])
        if mapping.attribute_value(question, value, [], name) is mapping.SKIP:
            continue  # not an answer the question gives now: the attribute's note says so
        typed, typed_value = mapping.typed_property(question, value)
        properties = {
            "survey_id": item.survey.pk,
            "survey_title": item.survey.title[:255],
            "question_key": key,
            "attribute_name": name,
            "answer": mapping.readable(question, value),
            typed: typed_value,
            "sounding_event_id": event_id(item, local),
        }
        if text is not None:
            properties["answer_other"] = text[: mapping.MAX_STRING]
        owed.append(
            (
                local,
                {**who, "name": QUESTION_ANSWERED, "time": _time(when), "properties": properties},
            )
        )
    return owed


def completion_event(item: Item, who: dict[str, str]) -> list[tuple[str, dict[str, Any]]]:
    completed = item.response.completed_at
    if completed is None:
        return []
    local = f"c:{completed.timestamp():.6f}"
    if local in item.acknowledged.get("events", {}):
        return []
    properties = {
        "survey_id": item.survey.pk,
        "survey_title": item.survey.title[:255],
        "sounding_event_id": event_id(item, local),
    }
    return [
        (
            local,
            {**who, "name": SURVEY_COMPLETED, "time": _time(completed), "properties": properties},
        )
    ]


def clearing(item: Item, config: SurveyBraze | None, parcel: Parcel) -> Parcel:
    """The nulls a data-subject erasure owes. Never withdrawn: the integration may have been
    turned off since the request, but the person asked for Braze to forget them."""
    who = identify(item, config.identifier if config is not None else Identifier.BRAZE_ID)
    if who is None:
        parcel.unsendable = errors.NO_IDENTIFIER
        return parcel
    # Names Braze acknowledged under older rules may be identifiers or profile fields: those
    # are never sent, not even as null, and the identity goes last (as in parcel_for).
    nulls = only_custom(attributes_delta(item, {}, parcel.notes), parcel.notes)
    if nulls:
        parcel.objects.append(("attributes", {**nulls, "_update_existing_only": True, **who}))
        parcel.attributes = nulls
    return parcel


def parcel_for(item: Item, config: SurveyBraze | None) -> Parcel:
    parcel = Parcel(push_id=item.push_id, version=item.version)
    if item.response.erase_requested_at is not None:
        return clearing(item, config, parcel)
    if config is None or not config.enabled:
        parcel.withdrawn = True
        return parcel
    who = identify(item, config.identifier)
    if who is None:
        parcel.unsendable = errors.NO_IDENTIFIER
        return parcel
    names = sendable_names(item.survey.spec, config, parcel.notes)
    delta = attributes_delta(item, names, parcel.notes, config.retired_names)
    delta = only_custom(delta, parcel.notes)
    if delta:
        # The identity last: whatever the names, no attribute can choose whose profile it is.
        parcel.objects.append(("attributes", {**delta, "_update_existing_only": True, **who}))
        parcel.attributes = delta
    events: list[tuple[str, dict[str, Any]]] = []
    if config.per_answer_events:
        events += answer_events(item, names, who)
    if config.completion_event:
        events += completion_event(item, who)
    room = ONE_PERSON - len(parcel.objects)
    for local, event in events[:room]:
        parcel.events[local] = len(parcel.objects)
        parcel.objects.append(("events", event))
    parcel.deferred = len(events) > room
    return parcel


def sendable_names(spec: SurveySpec, config: SurveyBraze, notes: list[str]) -> dict[str, str]:
    """Question key -> attribute name for the questions whose answers may be sent; each one
    held back is noted with why (the survey's Braze page says it too)."""
    names, refused = mapping.sendable_names(spec, config.attribute_names, config.pinned_names)
    for key, problem in refused.items():
        notes.append(f"question {key} not sent: {problem}")
    return names


def pin_names(
    items: Sequence[Item], parcels: Sequence[Parcel], configs: Mapping[int, SurveyBraze]
) -> None:
    """Keep the name of each question whose answer is about to reach Braze for the first
    time. Pinned when sent rather than when acknowledged: a request whose answer is lost may
    have been applied, and Braze may hold the name from then on."""
    wanted: dict[int, dict[str, str]] = {}
    unpinned: dict[int, dict[str, str]] = {}
    for item, parcel in zip(items, parcels, strict=True):
        config = configs.get(item.survey.pk)
        if config is None or not parcel.attributes:
            continue
        if item.survey.pk not in unpinned:
            names, _ = mapping.sendable_names(
                item.survey.spec, config.attribute_names, config.pinned_names
            )
            unpinned[item.survey.pk] = {
                key: name for key, name in names.items() if key not in config.pinned_names
            }
        for key, name in unpinned[item.survey.pk].items():
            if parcel.attributes.get(name) is not None:
                wanted.setdefault(item.survey.pk, {})[key] = name
    for survey_id, names in wanted.items():
        SurveyBraze.pin(survey_id, names)


def survey_link(survey: Survey, identifier: str, base: str, secret: str | None = None) -> str:
    """The link to paste into a Braze message; Braze fills the Liquid tags per recipient.

    With a signing `secret` (signed links), Braze also signs the identity into `sig`.
    """
    tags = {
        "braze_id": "user_braze_id={{${braze_id}}}",
        "external_id": "user_external_id={{${user_id} | url_param_escape}}",
        "email": "user_email={{${email_address} | url_param_escape}}",
    }
    link = f"{base}{survey.public_path()}?{tags[identifier]}"
    if secret is not None:
        link += f"&sig={liquid_signature(identifier, secret)}"
    return link
