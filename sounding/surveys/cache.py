"""Things derived from one survey version, kept per process and keyed on that version.

The respondent path reads the survey row anyway (one indexed query that also tells whether it
is live); what these caches save is rebuilding the spec, the brand or the signing keys on every
request. Whatever changes one of them bumps `Survey.version`, so a new version is a new key and
every process sees the change on its next request.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from threading import Lock
from typing import TYPE_CHECKING, Generic, TypeVar

from sounding.surveys.definition import build_spec
from sounding.surveys.spec import SurveySpec

if TYPE_CHECKING:
    from sounding.surveys.models import Survey

T = TypeVar("T")
MAX_ENTRIES = 512


class PerVersion(Generic[T]):
    """`build(survey)`, computed once per survey version in this process (least recently used
    versions are dropped beyond `size`)."""

    def __init__(self, build: Callable[[Survey], T], size: int = MAX_ENTRIES) -> None:
        self._build = build
        self._size = size
        self._entries: OrderedDict[tuple[int, str, int], T] = OrderedDict()
        self._lock = Lock()

    def __call__(self, survey: Survey) -> T:
        # The slug is in the key because ids can come back (a test database flushed, a
        # restored backup); a random slug with its version names one survey state.
        key = (survey.pk, survey.slug, survey.version)
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                return found
        found = self._build(survey)
        with self._lock:
            self._entries[key] = found
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return found

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


# A function rather than a lambda: its body is checked once `Survey` (an import cycle away)
# is fully known.
def _spec_of(survey: Survey) -> SurveySpec:
    return build_spec(survey.definition)


spec_for: PerVersion[SurveySpec] = PerVersion(_spec_of)
