"""From answers to Braze: attribute names, attribute values and event properties.

Braze accepts almost anything and quietly does something else with what it dislikes (a key
that is a standard field overwrites that field; a long string is cut). So every rule Braze
applies is checked here first, and what cannot be sent faithfully is refused with a message
for the author, or, for a respondent's over-long text, sent truncated and recorded as such.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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
    return None


def attribute_names(spec: SurveySpec, overrides: Mapping[str, str | None]) -> dict[str, str]:
    """Question key -> attribute name, for the questions that are synced, in survey order."""
    names: dict[str, str] = {}
    for q in spec.questions:
        if q.key in overrides:
            custom = overrides[q.key]
            if custom is None:
                continue  # left out of the sync on purpose
            names[q.key] = custom
        else:
            names[q.key] = q.prompt
    return names


def name_problems(spec: SurveySpec, overrides: Mapping[str, str | None]) -> dict[str, str]:
    """Question key -> what is wrong with its attribute name (empty when all are fine)."""
    problems: dict[str, str] = {}
    seen: dict[str, str] = {}
    for key in overrides:
        if spec.get(key) is None:
            problems[key] = f"There is no question with the key “{key}” in this survey."
    for key, name in attribute_names(spec, overrides).items():
        problem = check_name(name)
        if problem is None and name in seen:
            other = spec.get(seen[name])
            label = other.prompt if other else seen[name]
            problem = f"“{name}” is already the attribute name of “{label}”: names must differ."
        if problem:
            problems[key] = problem
        seen.setdefault(name, key)
    return problems


def _cut(text: str, notes: list[str], what: str) -> str:
    if len(text) <= MAX_STRING:
        return text
    notes.append(f"{what}: {len(text)} characters cut to {MAX_STRING} (Braze's limit)")
    return text[:MAX_STRING]


def attribute_value(q: Question, value: Any, notes: list[str], name: str) -> Any:
    """The value to set on the profile; `notes` collects what had to be changed."""
    if value is None:
        return None
    if q.type in NUMBER_TYPES:
        return value
    if q.type == "yes_no":
        return bool(value)
    if q.type == "multiple_choice":
        items = [_cut(str(v), notes, name) for v in value][:MAX_ARRAY]
        return list(dict.fromkeys(items))
    if q.type == "date":
        return f"{value}T00:00:00Z"
    return _cut(str(value), notes, name)


def readable(q: Question, value: Any) -> str:
    """The answer as a person would say it, for the `answer` event property."""
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
        return "answer_array", [str(v)[:MAX_STRING] for v in value][:MAX_ARRAY]
    if q.type == "yes_no":
        return "answer_string", "yes" if value else "no"
    return "answer_string", str(value)[:MAX_STRING]
