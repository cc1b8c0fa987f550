"""The last question deleted from each survey, kept in the author's session so "Undo" can put
it back: its place, key, condition, translations and the conditions that leaned on it.

The session is the author's own: an undo offer is not shown to anyone else, and lasts as
long as it is useful (a quarter of an hour), not forever.
"""

from __future__ import annotations

import time
from typing import Any

from django.http import HttpRequest

from sounding.surveys.edits import Deleted

SESSION_KEY = "surveys:undo"
LIFETIME = 15 * 60


def _all(request: HttpRequest) -> dict[str, Any]:
    kept = request.session.get(SESSION_KEY)
    return kept if isinstance(kept, dict) else {}


def remember(request: HttpRequest, survey_pk: int, deleted: Deleted) -> None:
    kept = {
        pk: entry for pk, entry in _all(request).items() if time.time() - entry["at"] < LIFETIME
    }
    kept[str(survey_pk)] = {"at": time.time(), "deleted": deleted.as_dict()}
    request.session[SESSION_KEY] = kept


def offered(request: HttpRequest, survey_pk: int) -> Deleted | None:
    entry = _all(request).get(str(survey_pk))
    if not entry or time.time() - entry["at"] >= LIFETIME:
        return None
    return Deleted.from_dict(entry["deleted"])


def forget(request: HttpRequest, survey_pk: int) -> None:
    kept = _all(request)
    if kept.pop(str(survey_pk), None) is not None:
        request.session[SESSION_KEY] = kept
