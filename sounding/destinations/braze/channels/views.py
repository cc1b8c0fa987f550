"""Share → Email (and the other channels): the snippet to paste into Braze, its preview, and
the Braze settings that matter for it."""

from __future__ import annotations

import re
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from sounding.destinations.braze.channels import banner, email, framed, inapp
from sounding.destinations.braze.destination import survey_link
from sounding.destinations.braze.models import Identifier
from sounding.destinations.braze.setup import site_base, survey_config
from sounding.destinations.braze.views import shown_secret
from sounding.surveys.models import Survey
from sounding.surveys.permissions import member_required, membership, workspace_survey

# The preview is the email as a mail client shows it: its own styles, inline ones included,
# and nothing else (no script, no other host, no form, no link that goes anywhere).
PREVIEW_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
)
_HREF = re.compile(r'href="[^"]*"')


def _language(request: HttpRequest, survey: Survey) -> str:
    wanted = request.GET.get("lang", "")
    return wanted if wanted in survey.spec.languages else survey.spec.language


def _email(request: HttpRequest, survey: Survey) -> tuple[email.EmailEmbed | None, str, str]:
    """The embed as this member may see it (the secret only for editors), or the reason it
    cannot be made and the plain link."""
    config = survey_config(survey)
    secret, _hidden = shown_secret(config, membership(request).can_edit)
    base = site_base(request)
    link = survey_link(survey, config.identifier, base, secret)
    try:
        found = email.embed(survey, base, config.identifier, secret, _language(request, survey))
    except email.NotEmbeddable as problem:
        return None, str(problem), link
    return found, "", link


@require_GET
@member_required
def share_email(request: HttpRequest, pk: int) -> HttpResponse:
    survey = workspace_survey(request, pk)
    config = survey_config(survey)
    found, problem, link = _email(request, survey)
    context: dict[str, Any] = {
        "survey": survey,
        "embed": found,
        "problem": problem,
        "link": link,
        "language": _language(request, survey),
        "languages": survey.spec.languages,
        "signed": config.signed_links,
        "identifier_label": Identifier(config.identifier).label,
        "can_edit": membership(request).can_edit,
        "max_kb": email.MAX_BYTES // 1000,
        "size_kb": round(len(found.html.encode()) / 1000, 1) if found else 0,
    }
    return render(request, "braze/channels/email.html", context)


@require_GET
@member_required
def share_email_preview(request: HttpRequest, pk: int) -> HttpResponse:
    survey = workspace_survey(request, pk)
    found, problem, _link = _email(request, survey)
    if found is None:
        return HttpResponse(problem, content_type="text/plain; charset=utf-8", status=409)
    response = HttpResponse(_HREF.sub('href="#preview"', found.html))
    response["Content-Security-Policy"] = PREVIEW_POLICY
    response["X-Frame-Options"] = "SAMEORIGIN"
    response["Cache-Control"] = "no-store"
    return response


# Share → In-app message and Share → Banner: the snippet, the settings, and what people see.
FRAMED = {
    "in-app": ("In-app message", inapp.in_app_html, inapp.BRAZE_SETTINGS),
    "banner": ("Banner", banner.banner_html, banner.BRAZE_SETTINGS),
}


@require_GET
@member_required
def share_framed(request: HttpRequest, pk: int, channel: str) -> HttpResponse:
    survey = workspace_survey(request, pk)
    title, make, braze_settings = FRAMED[channel]
    config = survey_config(survey)
    secret, _hidden = shown_secret(config, membership(request).can_edit)
    problem = ""
    try:
        snippet = make(survey, site_base(request), secret)
    except framed.ChannelError as error:
        snippet, problem = "", f"This site's address cannot be framed: {error}."
    context = {
        "survey": survey,
        "channel": channel,
        "title": title,
        "snippet": snippet,
        "problem": problem,
        "braze_settings": braze_settings,
        "signed": config.signed_links,
        "can_edit": membership(request).can_edit,
        "identifier_label": Identifier(config.identifier).label,
        "size_kb": round(len(snippet.encode()) / 1000, 1),
    }
    return render(request, "braze/channels/framed_page.html", context)
