"""Reading a JSON request body ourselves, so that every fault in it is a clear 4xx.

The definition endpoints take the body raw instead of through a pydantic model: the
definition validator reports every problem with its JSON path, which a model would not.
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest

from sounding.api.errors import ApiError


def _no_constants(name: str) -> NoReturn:
    # Python's json accepts NaN and Infinity, which are not JSON and which PostgreSQL refuses.
    raise ValueError(f"{name} is not valid JSON")


def _is_json(content_type: str) -> bool:
    return content_type == "application/json" or (
        content_type.startswith("application/") and content_type.endswith("+json")
    )


def _reason(exc: Exception) -> str:
    """Why the json module refused a body, for the faults that are not syntax errors."""
    if isinstance(exc, RecursionError):
        return "it is nested too deeply"
    if isinstance(exc, UnicodeDecodeError):
        return "it is not UTF-8 text"
    if "digits" in str(exc):
        return "a number has too many digits"
    return str(exc)


def _body(request: HttpRequest) -> bytes:
    try:
        return request.body
    except RequestDataTooBig:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raise ApiError(413, f"The body is larger than the limit of {limit:,} bytes.") from None


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "must not contain the NUL character (\\u0000)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "must not contain an unpaired surrogate (\\ud800 to \\udfff)"
    return None


def unstorable_text(value: Any) -> list[dict[str, str]]:
    """Strings that are valid JSON but that PostgreSQL (NUL) or UTF-8 (surrogates) refuse."""
    problems = []
    # Iterative, in document order: a body may be nested as deep as the JSON parser allows.
    stack: list[tuple[str, Any]] = [("$", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str) and (problem := _text_problem(item)):
            problems.append({"path": path, "message": problem})
        elif isinstance(item, dict):
            if any(_text_problem(key) for key in item):
                problems.append({"path": path, "message": "has a field name it cannot store"})
            stack.extend((f"{path}.{k}", v) for k, v in reversed(item.items()))
        elif isinstance(item, list):
            stack.extend((f"{path}[{i}]", v) for i, v in reversed(list(enumerate(item))))
    return problems


def read_json(request: HttpRequest) -> Any:
    raw = _body(request)
    if not raw.strip():
        raise ApiError(400, "The body is empty: send a JSON object.")
    if not _is_json(request.content_type or ""):
        shown = repr(request.content_type) if request.content_type else "no content type"
        raise ApiError(
            400, f"Send the body as JSON with 'Content-Type: application/json', not {shown}."
        )
    try:
        value = json.loads(raw, parse_constant=_no_constants)
    except json.JSONDecodeError as exc:
        raise ApiError(400, f"The body is not valid JSON: {exc}.") from None
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, f"The body is not valid JSON: {_reason(exc)}.") from None
    if problems := unstorable_text(value):
        raise ApiError(400, "The body holds text that cannot be stored.", problems)
    return value
