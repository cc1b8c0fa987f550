"""What a survey template suggests to Braze: the attribute names of its questions.

They are stored as the survey's integration settings, switched off: the author turns the
integration on when ready (on the survey's Braze page or through the API), and the answers
then land on profiles under names a segment can use (`nps_score`), not under the prompts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sounding.destinations.braze import mapping
from sounding.destinations.braze.models import SurveyBraze
from sounding.destinations.braze.setup import save_survey_config
from sounding.surveys.models import Survey


def suggested_names(survey: Survey, suggestions: Mapping[str, Any]) -> dict[str, str]:
    """The template's names for questions the survey has, that Braze would file faithfully."""
    raw = suggestions.get("attribute_names")
    if not isinstance(raw, Mapping):
        return {}
    spec = survey.spec
    names = {
        key: name
        for key, name in raw.items()
        if isinstance(key, str) and isinstance(name, str) and spec.get(key) is not None
    }
    problems = mapping.name_problems(spec, names)
    return {key: name for key, name in names.items() if key not in problems}


def from_template(survey: Survey, suggestions: Mapping[str, Any]) -> None:
    names = suggested_names(survey, suggestions)
    if names:
        save_survey_config(survey, SurveyBraze(survey=survey, attribute_names=names))
