"""Parsed survey specs, kept per process and keyed on the survey's version.

The respondent path reads the survey row anyway (one indexed query that also tells whether it
is live); what it saves is re-validating and rebuilding the definition on every request.
A new version is a new key, so an edit is seen at once by every process.
"""

from __future__ import annotations

from collections import OrderedDict
from threading import Lock
from typing import TYPE_CHECKING

from sounding.surveys.definition import build_spec
from sounding.surveys.spec import SurveySpec

if TYPE_CHECKING:
    from sounding.surveys.models import Survey

MAX_ENTRIES = 512
_cache: OrderedDict[tuple[int, str, int], SurveySpec] = OrderedDict()
_lock = Lock()


def spec_for(survey: Survey) -> SurveySpec:
    # The slug is in the key because ids can come back (a test database flushed, a restored
    # backup); a random slug with its version names one definition.
    key = (survey.pk, survey.slug, survey.version)
    with _lock:
        spec = _cache.get(key)
        if spec is not None:
            _cache.move_to_end(key)
            return spec
    spec = build_spec(survey.definition)
    with _lock:
        _cache[key] = spec
        while len(_cache) > MAX_ENTRIES:
            _cache.popitem(last=False)
    return spec
