"""Braze's rules for `POST /users/track`, as the stand-in (`standin.py`) enforces them.

The team's summary of Braze's documentation for that endpoint, made executable: what a body
may contain (`check_body` turns a parsed body into the changes to apply plus Braze-style
per-object errors), what an accepted object does to a profile (`apply_change`), how a success
is worded (`success_body`), and how requests are counted against the rate limit and reported
in headers (`RateWindows`, `rate_headers`). Nothing here touches the network or holds a lock;
the server owns state and concurrency. Standard library only, so the stand-in runs without
Django.

Where the documentation is loose we are strict on purpose: a body this module accepts is one
real Braze accepts too, so a delivery test that passes here does not pass by luck.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal, cast

MAX_OBJECTS = 75
# Objects per request by the customer's contract: (across all arrays, in each array); None is
# no such limit. The current rule, Braze's MAU-priced contracts, and legacy accounts.
BATCH_LIMITS: dict[str, tuple[int | None, int | None]] = {
    "75_combined": (MAX_OBJECTS, None),
    "50_combined": (50, None),
    "75_per_array": (None, MAX_OBJECTS),
}
DEFAULT_BATCH_LIMIT = "75_combined"
MAX_BODY_BYTES = 4 * 1024 * 1024
MAX_STRING = 255
MAX_KEY = 255
MAX_ARRAY_ITEMS = 500
MAX_PROPERTIES = 256
ARRAYS = ("attributes", "events", "purchases")
PRIMARY_IDENTIFIERS = ("external_id", "braze_id", "user_alias")
# Only identify a user when no primary identifier is present; otherwise they are profile fields.
FALLBACK_IDENTIFIERS = ("email", "phone")
UPDATE_EXISTING_ONLY = "_update_existing_only"
# Writing one of these as a "custom" attribute overwrites the real profile field, which is
# never what a survey answer means to do, so strict mode refuses them.
STANDARD_FIELDS = frozenset(
    {
        "email",
        "phone",
        "first_name",
        "last_name",
        "country",
        "language",
        "dob",
        "gender",
        "home_city",
        "time_zone",
        "email_subscribe",
        "push_subscribe",
        "subscription_groups",
        "push_tokens",
        "bio",
        "image_url",
        "facebook",
        "twitter",
        "current_location",
        "date_of_first_session",
        "date_of_last_session",
        "marked_email_as_spam_at",
        "email_open_tracking_disabled",
        "email_click_tracking_disabled",
        "external_id",
        "braze_id",
        "user_alias",
    }
)
RESERVED_PROPERTIES = frozenset({"time", "event_name"})

_ISO_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?"
    r"(Z|[+-](\d{2})(?::?(\d{2}))?)?)?",
    re.ASCII,
)


class BodyError(ValueError):
    """The whole request is refused with a 400 and nothing in it is applied."""


class ObjectError(ValueError):
    """One object is refused; Braze lists it in `errors` and applies the others."""


Op = Literal["set", "unset", "inc", "add", "remove"]


@dataclass(frozen=True)
class Change:
    """One custom attribute edit. `kind` is the value's type as the profile records it."""

    op: Op
    value: Any = None
    kind: str | None = None


@dataclass
class AttributeUpdate:
    user: str
    update_existing_only: bool | None
    changes: dict[str, Change]


@dataclass
class Event:
    user: str
    name: str
    time: str
    properties: dict[str, Any]
    update_existing_only: bool | None


@dataclass
class Purchase:
    user: str
    product_id: str
    currency: str
    price: int | float
    quantity: int
    time: str
    properties: dict[str, Any]
    update_existing_only: bool | None


@dataclass
class CheckedBody:
    """A body that passed the request-level checks, split into what to apply and what not."""

    present: list[str]
    attributes: list[AttributeUpdate] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    purchases: list[Purchase] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)

    def accepted(self, array: str) -> list[Any]:
        arrays: dict[str, list[Any]] = {
            "attributes": self.attributes,
            "events": self.events,
            "purchases": self.purchases,
        }
        return arrays[array]


def parse_json(raw: bytes) -> Any:
    """Parse a request body, refusing what JSON cannot carry (NaN, Infinity, bad UTF-8)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyError("Request body is not valid UTF-8") from exc
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except ValueError as exc:
        raise BodyError(f"Request body is not valid JSON: {exc}") from exc


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def count_objects(body: Any) -> int:
    """Objects in all arrays together (0 for a body that is not even an object)."""
    if not isinstance(body, dict):
        return 0
    return sum(len(body[name]) for name in ARRAYS if isinstance(body.get(name), list))


def user_keys(body: Any) -> set[str]:
    """Every user a body names, including in objects that will fail validation.

    Used for in-flight tracking, which must see a user even when the request is refused:
    the client could not know that in advance.
    """
    keys: set[str] = set()
    if not isinstance(body, dict):
        return keys
    for name in ARRAYS:
        items = body.get(name)
        if isinstance(items, list):
            for obj in items:
                if isinstance(obj, dict):
                    keys.update(_candidate_keys(obj))
    return keys


# The reason given for an object a fault names (a rule would give its own).
NAMED_BY_FAULT = "Invalid object for this user"


def errors_naming(body: Any, users: Iterable[str]) -> list[dict[str, Any]]:
    """A Braze-style error entry for each object of `body` that names one of `users`."""
    wanted = set(users)
    found: list[dict[str, Any]] = []
    if not wanted or not isinstance(body, dict):
        return found
    for name in ARRAYS:
        items = body.get(name)
        for index, obj in enumerate(items if isinstance(items, list) else ()):
            if isinstance(obj, dict) and wanted.intersection(_candidate_keys(obj)):
                found.append({"type": NAMED_BY_FAULT, "input_array": name, "index": index})
    return found


def _candidate_keys(obj: dict[str, Any]) -> list[str]:
    fields = [name for name in PRIMARY_IDENTIFIERS if name in obj]
    if not fields:
        fields = [name for name in FALLBACK_IDENTIFIERS if name in obj][:1]
    keys = []
    for name in fields:
        try:
            keys.append(identifier_key(name, obj[name]))
        except ObjectError:
            continue
    return keys


def over_limit(arrays: dict[str, list[Any]], batch_limit: str = DEFAULT_BATCH_LIMIT) -> bool:
    """Whether a request with these arrays carries more objects than the contract allows."""
    total, per_array = BATCH_LIMITS[batch_limit]
    sizes = [len(items) for items in arrays.values()]
    if total is not None and sum(sizes) > total:
        return True
    return per_array is not None and any(size > per_array for size in sizes)


def check_body(
    body: Any, *, strict: bool = True, batch_limit: str = DEFAULT_BATCH_LIMIT
) -> CheckedBody:
    """Validate a parsed body. Raises BodyError for a 400; per-object errors are collected."""
    if not isinstance(body, dict):
        raise BodyError("Request body must be a JSON object")
    arrays: dict[str, list[Any]] = {}
    for name in ARRAYS:
        if body.get(name) is None:
            continue
        if not isinstance(body[name], list):
            raise BodyError(f"'{name}' must be an array of objects")
        arrays[name] = body[name]
    if not arrays:
        raise BodyError("Provide at least one of 'attributes', 'events' or 'purchases'")
    if over_limit(arrays, batch_limit):
        raise BodyError("Max Input Length Exceeded")

    checked = CheckedBody(present=list(arrays))
    checkers = {"attributes": check_attributes, "events": check_event, "purchases": check_purchase}
    for name, items in arrays.items():
        accepted = checked.accepted(name)
        for index, obj in enumerate(items):
            try:
                accepted.append(checkers[name](obj, strict=strict))
            except ObjectError as exc:
                checked.errors.append({"type": str(exc), "input_array": name, "index": index})
    return checked


def identify(obj: dict[str, Any]) -> tuple[str, str]:
    """The profile key an object names, and the field that named it."""
    present = [name for name in PRIMARY_IDENTIFIERS if name in obj]
    if len(present) > 1:
        raise ObjectError(
            f"Only one of external_id, braze_id, user_alias may be given, not {', '.join(present)}"
        )
    if not present:
        present = [name for name in FALLBACK_IDENTIFIERS if name in obj][:1]
    if not present:
        raise ObjectError("Missing user identifier: external_id, braze_id, user_alias or email")
    return identifier_key(present[0], obj[present[0]]), present[0]


def identifier_key(name: str, value: Any) -> str:
    """`braze_id:abc`, `external_id:x`, `email:a@b`, `alias:name:label`."""
    if name == "user_alias":
        if not isinstance(value, dict) or set(value) != {"alias_name", "alias_label"}:
            raise ObjectError("user_alias must be an object with alias_name and alias_label only")
        alias_name, label = value["alias_name"], value["alias_label"]
        if not (_non_empty_string(alias_name) and _non_empty_string(label)):
            raise ObjectError("user_alias needs non-empty string alias_name and alias_label")
        return f"alias:{alias_name}:{label}"
    if not _non_empty_string(value):
        raise ObjectError(f"{name} must be a non-empty string")
    return f"{name}:{value}"


def _non_empty_string(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != ""


def _update_existing_only(obj: dict[str, Any]) -> bool | None:
    value = obj.get(UPDATE_EXISTING_ONLY)
    if UPDATE_EXISTING_ONLY in obj and not isinstance(value, bool):
        raise ObjectError(f"{UPDATE_EXISTING_ONLY} must be a boolean")
    return value


def _require_object(obj: Any, array: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise ObjectError(f"Each entry of '{array}' must be an object")
    return obj


def check_attributes(obj: Any, *, strict: bool = True) -> AttributeUpdate:
    obj = _require_object(obj, "attributes")
    user, id_field = identify(obj)
    flag = _update_existing_only(obj)
    changes: dict[str, Change] = {}
    for key, value in obj.items():
        if key in (id_field, UPDATE_EXISTING_ONLY):
            continue
        check_attribute_name(key, strict=strict)
        changes[key] = attribute_change(key, value)
    return AttributeUpdate(user, flag, changes)


def check_attribute_name(key: str, *, strict: bool = True) -> None:
    if not key:
        raise ObjectError("Custom attribute names must not be empty")
    if len(key) > MAX_KEY:
        raise ObjectError(f"Custom attribute name longer than {MAX_KEY} characters")
    if key.startswith("$"):
        raise ObjectError(f"Custom attribute name '{key}' must not start with $")
    if strict and key in STANDARD_FIELDS:
        raise ObjectError(f"'{key}' is a standard profile field, not a custom attribute")


def attribute_change(key: str, value: Any) -> Change:
    if value is None:
        return Change("unset")
    if isinstance(value, dict):
        return _operation(key, value)
    stored, kind = _plain_value(key, value)
    return Change("set", stored, kind)


def _plain_value(key: str, value: Any) -> tuple[Any, str]:
    # bool first: in Python it is also an int.
    if isinstance(value, bool):
        return value, "boolean"
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ObjectError(f"'{key}': numbers must be finite")
        return value, "number"
    if isinstance(value, str):
        _check_string(key, value)
        return value, "time" if is_iso_time(value) else "string"
    if isinstance(value, list):
        return string_set(key, value), "array"
    raise ObjectError(f"'{key}': unsupported value of type {type(value).__name__}")


def _operation(key: str, value: dict[str, Any]) -> Change:
    if len(value) == 1:
        ((op, operand),) = value.items()
        if op == "inc":
            if isinstance(operand, bool) or not isinstance(operand, int | float):
                raise ObjectError(f"'{key}': inc needs a number")
            return Change("inc", operand, "number")
        if op in ("add", "remove"):
            if not isinstance(operand, list):
                raise ObjectError(f"'{key}': {op} needs an array of strings")
            return Change(cast(Op, op), string_set(key, operand), "array")
    raise ObjectError(
        f"'{key}': nested objects are not allowed; only {{inc}}, {{add}} or {{remove}}"
    )


def string_set(key: str, items: list[Any]) -> list[str]:
    """An array attribute as Braze keeps it: strings only, duplicates collapsed, order kept."""
    for item in items:
        if not isinstance(item, str):
            raise ObjectError(f"'{key}': arrays may only hold strings")
        _check_string(key, item)
    unique = list(dict.fromkeys(items))
    if len(unique) > MAX_ARRAY_ITEMS:
        raise ObjectError(f"'{key}': arrays hold at most {MAX_ARRAY_ITEMS} items")
    return unique


def _check_string(key: str, value: str) -> None:
    if len(value) > MAX_STRING:
        raise ObjectError(f"'{key}': strings are at most {MAX_STRING} characters")


def is_iso_time(text: str) -> bool:
    """A date or date-time in ISO 8601 extended form, e.g. 2026-11-22 or 2026-11-22T10:00:00Z."""
    match = _ISO_TIME.fullmatch(text)
    if match is None:
        return False
    year, month, day, hour, minute, second, _, offset_h, offset_m = match.groups()
    try:
        datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0)
        )
    except ValueError:
        return False
    return int(offset_h or 0) <= 23 and int(offset_m or 0) <= 59


def _required_time(obj: dict[str, Any]) -> str:
    value = obj.get("time")
    if not isinstance(value, str) or not is_iso_time(value):
        raise ObjectError("'time' is required and must be an ISO 8601 string")
    return value


def check_event(obj: Any, *, strict: bool = True) -> Event:
    obj = _require_object(obj, "events")
    user, _ = identify(obj)
    flag = _update_existing_only(obj)
    name = obj.get("name")
    if not _non_empty_string(name):
        raise ObjectError("Event 'name' must be a non-empty string")
    _check_string("name", name)
    time = _required_time(obj)
    return Event(user, name, time, check_properties(obj.get("properties")), flag)


def check_purchase(obj: Any, *, strict: bool = True) -> Purchase:
    obj = _require_object(obj, "purchases")
    user, _ = identify(obj)
    flag = _update_existing_only(obj)
    product_id = obj.get("product_id")
    if not _non_empty_string(product_id):
        raise ObjectError("Purchase 'product_id' must be a non-empty string")
    _check_string("product_id", product_id)
    currency = obj.get("currency")
    if not (isinstance(currency, str) and re.fullmatch(r"[A-Za-z]{3}", currency)):
        raise ObjectError("Purchase 'currency' must be a three-letter ISO 4217 code")
    price = obj.get("price")
    if isinstance(price, bool) or not isinstance(price, int | float):
        raise ObjectError("Purchase 'price' must be a number")
    quantity = obj.get("quantity", 1)
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= 100:
        raise ObjectError("Purchase 'quantity' must be an integer from 1 to 100")
    time = _required_time(obj)
    properties = check_properties(obj.get("properties"))
    return Purchase(user, product_id, currency.upper(), price, quantity, time, properties, flag)


def check_properties(value: Any) -> dict[str, Any]:
    """Event or purchase properties: a flat object of scalars and arrays of scalars."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ObjectError("'properties' must be an object")
    if len(value) > MAX_PROPERTIES:
        raise ObjectError(f"At most {MAX_PROPERTIES} properties are allowed")
    for key, item in value.items():
        if not key or len(key) > MAX_KEY:
            raise ObjectError(f"Property names are 1 to {MAX_KEY} characters")
        if key.startswith("$"):
            raise ObjectError(f"Property name '{key}' must not start with $")
        if key in RESERVED_PROPERTIES:
            raise ObjectError(f"Property name '{key}' is reserved")
        items = item if isinstance(item, list) else [item]
        for scalar in items:
            _check_property_scalar(key, scalar)
    return value


def _check_property_scalar(key: str, value: Any) -> None:
    if isinstance(value, str):
        _check_string(key, value)
    elif isinstance(value, dict | list):
        raise ObjectError(f"Property '{key}': nested objects and arrays are not allowed")


# -- what an accepted body does, and how Braze answers ------------------------------


def success_body(checked: CheckedBody) -> dict[str, Any]:
    body: dict[str, Any] = {"message": "success"}
    for name in checked.present:
        body[f"{name}_processed"] = len(checked.accepted(name))
    if checked.errors:
        body["errors"] = checked.errors
    return body


@dataclass
class Profile:
    attributes: dict[str, Any] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    purchases: list[dict[str, Any]] = field(default_factory=list)
    # The flag of the last attributes object for this user (None: it carried none), or of a
    # later event or purchase that carried one: tests check Sounding always sends `true`.
    update_existing_only: bool | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "attributes": self.attributes,
            "types": self.types,
            "events": self.events,
            "purchases": self.purchases,
            "update_existing_only": self.update_existing_only,
        }


def apply_change(profile: Profile, key: str, change: Change) -> None:
    attributes = profile.attributes
    current = attributes.get(key)
    if change.op == "unset":
        attributes.pop(key, None)
        profile.types.pop(key, None)
        return
    if change.op == "set":
        value = change.value
    elif change.op == "inc":
        # Braze does not document inc on a non-number; starting from 0 is the kindest reading.
        is_number = isinstance(current, int | float) and not isinstance(current, bool)
        value = (current if is_number else 0) + change.value
    else:
        items = current if isinstance(current, list) else []
        if change.op == "add":
            value = list(dict.fromkeys([*items, *change.value]))
        else:
            removed = set(change.value)
            value = [item for item in items if item not in removed]
    attributes[key] = value
    profile.types[key] = change.kind or "string"


def stored_record(item: Event | Purchase, seq: int) -> dict[str, Any]:
    """An event or purchase as the profile keeps it, with the request that brought it, so a
    test can tell a duplicate (two requests) from two genuine events."""
    record = asdict(item)
    del record["user"], record["update_existing_only"]
    record["request"] = seq
    return record


class RateWindows:
    """Fixed windows counted per API key: a window opens with the first request after the last."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._windows: dict[str, tuple[float, int]] = {}

    def _current(self, key: str, now: float) -> tuple[float, int]:
        start, hits = self._windows.get(key, (now, 0))
        if now - start >= self.window:
            start, hits = now, 0
        return start, hits

    def hit(self, key: str, now: float) -> tuple[bool, int, float]:
        """Count one request; (allowed, remaining, seconds until the window resets)."""
        start, hits = self._current(key, now)
        allowed = hits < self.limit
        if allowed:
            hits += 1
        self._windows[key] = (start, hits)
        return allowed, self.limit - hits, start + self.window - now

    def peek(self, key: str | None, now: float) -> tuple[int, float]:
        if key is None:
            return self.limit, self.window
        start, hits = self._current(key, now)
        return self.limit - hits, start + self.window - now


def rate_headers(
    limit: int, remaining: int, reset_in: float, dialect: str, *, limited: bool = False
) -> dict[str, str]:
    """The X-RateLimit-* headers; the two dialects are the two Braze plans' behaviours."""
    # Rounded first: (start + window) - now can exceed the window by a float's last bit, and
    # a 60-second window must never announce 61.
    seconds = max(0, math.ceil(round(reset_in, 6)))
    headers = {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(max(0, remaining))}
    if dialect == "epoch":
        headers["X-RateLimit-Reset"] = str(math.ceil(time.time() + max(0.0, reset_in)))
    else:
        headers["X-RateLimit-Reset"] = str(seconds)
        if limited:
            headers["X-Ratelimit-Retry-After"] = str(seconds)
    return headers
