"""What Braze adds to a survey's page: the link to paste into a Braze message, its row in the
integrations, and the attribute names kept for questions reworded since Braze got answers."""

from __future__ import annotations

from sounding.destinations.braze.destination import KIND, survey_link
from sounding.destinations.braze.models import Identifier, SurveyBraze
from sounding.destinations.contract import SurveyPanel
from sounding.surveys.models import Survey


def survey_panel(survey: Survey, url: str) -> SurveyPanel:
    config = SurveyBraze.objects.filter(survey=survey).first()
    identifier = (config.identifier if config is not None else "") or Identifier.BRAZE_ID
    kept = config.kept_names(survey.spec) if config is not None else {}
    return SurveyPanel(
        share="braze/_survey_share.html",
        integration="braze/_survey_integration.html",
        context={
            "link": survey_link(survey, identifier, url.removesuffix(survey.public_path())),
            "on": KIND in (survey.destinations or ()),
        },
        notes={
            key: f"Braze attribute: “{name}”, kept: the question was reworded."
            for key, name in kept.items()
        },
    )
