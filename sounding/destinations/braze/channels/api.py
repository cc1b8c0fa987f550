"""The channel snippets through the API, for automation that builds Braze campaigns.

`GET /api/v1/surveys/{id}/channels/email`, `/channels/in-app` and `/channels/banner`. The
signing secret is in a snippet only when the caller asks (`include_secret=true`) and may edit
the survey: an API answer ends up in logs and scripts, so by default the Liquid names
`SIGNING_SECRET` in its place, as the link does.
"""

from __future__ import annotations

from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from sounding.api.auth import Principal, principal
from sounding.api.errors import ApiError
from sounding.api.schemas import WRITE_ERRORS, Error
from sounding.api.surveys import SurveyId, find_survey
from sounding.destinations.braze import signing
from sounding.destinations.braze.channels import banner, email, framed, inapp
from sounding.destinations.braze.setup import site_base, survey_config
from sounding.surveys.models import Survey
from sounding.vault import VaultError

router = Router(tags=["channels"])

IncludeSecret = Annotated[
    bool,
    Query(
        description="Put the survey's real signing secret in the Liquid instead of "
        "`SIGNING_SECRET` (signed links only). Owners and editors only."
    ),
]
Language = Annotated[
    str,
    Query(
        max_length=35,
        description="One of the survey's languages; its own language when omitted.",
    ),
]
CHANNEL_ERRORS: dict[int, type[Schema]] = {**WRITE_ERRORS, 409: Error}


class EmailChannelOut(Schema):
    html: str = Field(
        description="A whole email document; the part between the `Sounding survey: start` "
        "and `end` comments can be pasted into another template."
    )
    text: str = Field(description="The plain-text version, one link per answer.")
    question: str = Field(description="The key of the question the email asks.")
    language: str


def signing_secret(caller: Principal, survey: Survey, include: bool) -> str | None:
    """What the snippets sign with: None when the survey's links are not signed."""
    config = survey_config(survey)
    if not config.signed_links:
        return None
    if not include:
        return signing.PLACEHOLDER
    if not caller.can_edit:
        raise ApiError(
            403,
            f"This token acts with the {caller.role} role, which cannot read the signing "
            "secret. Leave out include_secret to get the snippet with SIGNING_SECRET in its place.",
        )
    try:
        return config.signing_secret()
    except VaultError:
        raise ApiError(
            409,
            "The signing secret cannot be decrypted because the server's encryption key "
            "changed. Make a new secret (rotate_signing_secret) first.",
        ) from None


def language_of(survey: Survey, lang: str) -> str:
    languages = survey.spec.languages
    if lang and lang not in languages:
        raise ApiError(
            400,
            f"The survey has no translation for “{lang}”: it reads in {', '.join(languages)}.",
            [{"path": "$.lang", "message": f"must be one of {', '.join(languages)}"}],
        )
    return lang or survey.spec.language


@router.get(
    "/surveys/{survey_id}/channels/email",
    response={200: EmailChannelOut, **CHANNEL_ERRORS},
)
def email_channel(
    request: HttpRequest,
    survey_id: SurveyId,
    include_secret: IncludeSecret = False,
    lang: Language = "",
) -> dict[str, Any]:
    """The survey's first question as email HTML and text: one link per answer, each
    carrying the recipient's identity as Liquid and the answer, confirmed on the page.
    409 when the first question cannot be answered in one tap (the reason says why)."""
    caller = principal(request)
    survey = find_survey(caller, survey_id)
    language = language_of(survey, lang)
    secret = signing_secret(caller, survey, include_secret)
    identifier = survey_config(survey).identifier
    try:
        found = email.embed(survey, site_base(request), identifier, secret, language)
    except email.NotEmbeddable as problem:
        raise ApiError(409, str(problem)) from None
    return {
        "html": found.html,
        "text": found.text,
        "question": found.question,
        "language": language,
    }


class FramedChannelOut(Schema):
    html: str = Field(description="The HTML to paste into Braze's Custom Code block.")
    braze_settings: list[str] = Field(description="The Braze settings the snippet needs.")


def _framed(request: HttpRequest, survey_id: int, include_secret: bool, make: Any) -> str:
    caller = principal(request)
    survey = find_survey(caller, survey_id)
    secret = signing_secret(caller, survey, include_secret)
    try:
        return str(make(survey, site_base(request), secret))
    except framed.ChannelError as problem:
        raise ApiError(409, f"The site's address cannot be framed: {problem}.") from None


@router.get(
    "/surveys/{survey_id}/channels/in-app",
    response={200: FramedChannelOut, **CHANNEL_ERRORS},
)
def in_app_channel(
    request: HttpRequest, survey_id: SurveyId, include_secret: IncludeSecret = False
) -> dict[str, Any]:
    """HTML for a Braze Custom Code in-app message that runs the whole survey inside the
    message; answers are stored and delivered like any other."""
    html = _framed(request, survey_id, include_secret, inapp.in_app_html)
    return {"html": html, "braze_settings": list(inapp.BRAZE_SETTINGS)}


@router.get(
    "/surveys/{survey_id}/channels/banner",
    response={200: FramedChannelOut, **CHANNEL_ERRORS},
)
def banner_channel(
    request: HttpRequest, survey_id: SurveyId, include_secret: IncludeSecret = False
) -> dict[str, Any]:
    """HTML for a Braze Custom Code banner showing the first question inline; a tap stores
    the answer and the survey goes on in the banner."""
    html = _framed(request, survey_id, include_secret, banner.banner_html)
    return {"html": html, "braze_settings": list(banner.BRAZE_SETTINGS)}
