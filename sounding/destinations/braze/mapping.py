"""From answers to Braze: attribute names, attribute values and event properties.

Braze accepts almost anything and quietly does something else with what it dislikes (a key
that is a standard field overwrites that field; a long string is cut). So every rule Braze
applies is checked here first, and what cannot be sent faithfully is refused with a message
for the author, or, for a respondent's over-long text, sent truncated and recorded as such.
A stored value that is no answer its question gives now is left out with a note: the mapping
never raises, whatever the database holds.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from sounding.surveys import other_text
from sounding.surveys.spec import Question, SurveySpec

MAX_KEY = 255
MAX_STRING = 255
MAX_ARRAY = 500
# Profile fields Braze owns: a custom attribute with one of these names would overwrite it.
STANDARD_FIELDS = frozenset(
    {
        "external_id", "braze_id", "user_alias", "user_aliases", "first_name", "last_name",
        "email", "phone", "country", "language", "dob", "gender", "home_city", "time_zone",
        "email_subscribe", "push_subscribe", "sms_subscribe", "subscription_groups",
        "email_open_tracking_disabled", "email_click_tracking_disabled", "push_tokens",
        "image_url", "date_of_first_session", "date_of_last_session", "marked_email_as_spam_at",
        "attributed_campaign", "attributed_source", "attributed_adgroup", "attributed_ad",
        "facebook", "twitter", "current_location", "bio", "alias_name", "alias_label",
        "_update_existing_only", "update_existing_only", "push_token_import",
    }
)  # fmt: skip
NUMBER_TYPES = frozenset({"nps", "rating", "csat", "scale", "number"})
OTHER_SUFFIX = " (other)"


def check_name(name: Any) -> str | None:
    """Why Braze would refuse or misfile this attribute name, or None if it is fine."""
    if not isinstance(name, str) or not name.strip():
        return "Give the attribute a name."
    if len(name) > MAX_KEY:
        return f"Keep the attribute name to {MAX_KEY} characters (it has {len(name)})."
    if name.startswith("$"):
        return "Braze reserves names starting with $: choose another name."
    if name in STANDARD_FIELDS:
        return (
            f"“{name}” is a standard Braze profile field: the answer would overwrite it. "
            "Choose another name."
        )
    if name != name.strip():
        return "Remove the spaces at the start or end of the name."
    if not _sendable_text(name):
        return "The name holds characters that cannot be sent: type it again."
    return None


def other_name(name: str) -> str:
    """Where the text typed in "Other" goes: the question's attribute name and " (other)". Made
    from the name in use, so a name Braze holds, or a rename, carries it along."""
    return f"{name}{OTHER_SUFFIX}"


def other_names(spec: SurveySpec, names: Mapping[str, str]) -> dict[str, str]:
    """Question key -> the attribute for its "Other" text, for the questions offering one."""
    return {
        key: other_name(name)
        for key, name in names.items()
        if (q := spec.get(key)) is not None and other_text.offers_other(q)
    }


def attribute_names(
    spec: SurveySpec,
    overrides: Mapping[str, str | None],
    pinned: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Question key -> attribute name, for the questions that are synced, in survey order.

    A name Braze already holds (`pinned`) wins over the prompt and over a name typed since:
    only a rename on the Braze page changes it (see `setup.rename_attributes`).
    """
    pinned = pinned or {}
    names: dict[str, str] = {}
    for q in spec.questions:
        custom = overrides.get(q.key, q.prompt)
        if custom is None:
            continue  # left out of the sync on purpose
        held = pinned.get(q.key)
        names[q.key] = held if isinstance(held, str) else custom
    return names


def name_problems(
    spec: SurveySpec,
    overrides: Mapping[str, str | None],
    pinned: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Question key -> what is wrong with its attribute name (empty when all are fine).

    Of two questions with one name, the one whose name Braze holds keeps it."""
    problems: dict[str, str] = {}
    seen: dict[str, str] = {}
    for key in overrides:
        if spec.get(key) is None:
            problems[key] = f"There is no question with the key “{key}” in this survey."
    names = attribute_names(spec, overrides, pinned)
    for key in sorted(names, key=lambda k: k not in (pinned or {})):
        name = names[key]
        problem = check_name(name)
        if problem is None and name in seen:
            other = spec.get(seen[name])
            label = other.prompt if other else seen[name]
            problem = f"“{name}” is already the attribute name of “{label}”: names must differ."
        if problem:
            problems[key] = problem
        seen.setdefault(name, key)
    for key, extra in other_names(spec, names).items():
        problem = check_name(extra)
        if problem is None and extra in seen:
            taken = spec.get(seen[extra])
            label = taken.prompt if taken else seen[extra]
            problem = f"It is already the attribute name of “{label}”: names must differ."
        if problem and key not in problems:
            shown = extra if len(extra) <= 80 else f"{extra[:60]}…{OTHER_SUFFIX}"
            problems[key] = f"“{shown}”, where the text typed in “Other” goes: {problem}"
        seen.setdefault(extra, key)
    return problems


def sendable_names(
    spec: SurveySpec,
    overrides: Mapping[str, str | None],
    pinned: Mapping[str, str] | None = None,
) -> tuple[dict[str, str], dict[str, str]]:
    """The names to send (question key -> name) and, apart, those that must not be sent with
    why. Checked again for every request: a prompt reworded into `email` since the
    integration was saved must not overwrite anyone's email."""
    names = attribute_names(spec, overrides, pinned)
    problems = name_problems(spec, overrides, pinned)
    kept = {key: name for key, name in names.items() if key not in problems}
    return kept, {key: problems[key] for key in names if key in problems}


class Unmapped:
    """A stored answer that cannot be sent faithfully: its attribute is left out."""

    def __repr__(self) -> str:
        return "SKIP"


SKIP = Unmapped()
# Braze keeps whole numbers as 64-bit integers; past that a value would be changed or refused.
MAX_INTEGER = 2**63 - 1


def _sendable_text(text: str) -> bool:
    # JSON goes out as UTF-8: an unpaired surrogate cannot be encoded at all.
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _cut(text: str, notes: list[str], what: str) -> str:
    if len(text) <= MAX_STRING:
        return text
    notes.append(f"{what}: {len(text)} characters cut to {MAX_STRING} (Braze's limit)")
    return text[:MAX_STRING]


def _number(value: Any, notes: list[str], name: str) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return SKIP
    if isinstance(value, int):
        return value if abs(value) <= MAX_INTEGER else SKIP
    return value if math.isfinite(value) else SKIP


def _boolean(value: Any, notes: list[str], name: str) -> Any:
    return value if isinstance(value, bool) else SKIP


def _text(value: Any, notes: list[str], name: str) -> Any:
    if not isinstance(value, str) or not _sendable_text(value):
        return SKIP
    return _cut(value, notes, name)


def _choices(value: Any, notes: list[str], name: str) -> Any:
    # A single pick stored before the question allowed several is a set of one.
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(
        isinstance(v, str) and _sendable_text(v) for v in items
    ):
        return SKIP
    return list(dict.fromkeys(_cut(v, notes, name) for v in items))[:MAX_ARRAY]


def _date(value: Any, notes: list[str], name: str) -> Any:
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        return SKIP
    try:
        date.fromisoformat(value)
    except ValueError:
        return SKIP
    return f"{value}T00:00:00Z"


_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
MAPPERS: dict[str, Callable[[Any, list[str], str], Any]] = {
    **dict.fromkeys(NUMBER_TYPES, _number),
    "yes_no": _boolean,
    "multiple_choice": _choices,
    "date": _date,
}


def shape(value: Any) -> str:
    """What a stored value is, in a few words, without printing it (it may be huge)."""
    kinds = {bool: "true/false", int: "a number", float: "a number", str: "text"}
    kinds |= {list: "a list", dict: "an object"}
    return kinds.get(type(value), type(value).__name__)


def attribute_value(q: Question, value: Any, notes: list[str], name: str) -> Any:
    """The value to set on the profile, None to remove it, or SKIP (with a note) when the
    stored answer is not one the question gives now, whatever its shape: never an error.

    Answers stored before a question changed type, or written by hand, reach here too, and
    one bad value must not stop a whole request of other people's answers."""
    if value is None:
        return None
    mapped = MAPPERS.get(q.type, _text)(value, notes, name)
    if mapped is SKIP:
        notes.append(
            f"{name}: not sent, the stored answer ({shape(value)}) is not one a {q.type} "
            "question gives"
        )
    return mapped


def attribute_values(q: Question, value: Any, notes: list[str], name: str) -> dict[str, Any]:
    """Attribute name -> value (as `attribute_value` gives) for one stored answer: the
    question's attribute and, for a question offering "Other", the typed text on its own
    attribute (None when the respondent picked only choices). The question's attribute holds
    the "Other" label in the text's place, so a segment on it finds everyone who chose "Other"."""
    if not other_text.offers_other(q):
        return {name: attribute_value(q, value, notes, name)}
    picked, text = other_text.split(q, value)
    mapped = attribute_value(q, picked, notes, name)
    other = other_name(name)
    if mapped is SKIP:
        return {name: SKIP, other: SKIP}
    if text is None:
        return {name: mapped, other: None}
    typed = _text(text, notes, other)
    if typed is SKIP:
        notes.append(f"{other}: not sent, the text cannot be sent to Braze")
    return {name: mapped, other: typed}


def readable(q: Question, value: Any) -> str:
    """The answer as a person would say it, for the `answer` event property (`value` is one
    `attribute_value` maps)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    text = ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)
    return text[:MAX_STRING]


def typed_property(q: Question, value: Any) -> tuple[str, Any]:
    """The one typed property a campaign can filter on: number, string or array."""
    if q.type in NUMBER_TYPES:
        return "answer_number", value
    if q.type == "multiple_choice":
        items = value if isinstance(value, list) else [value]
        return "answer_array", [str(v)[:MAX_STRING] for v in items][:MAX_ARRAY]
    if q.type == "yes_no":
        return "answer_string", "yes" if value else "no"
    return "answer_string", str(value)[:MAX_STRING]
