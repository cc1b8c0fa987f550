"""The page a respondent sees when a request is turned away before anything is stored: a link
whose signature does not hold (403), or too many answers at once (429)."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext

from sounding.surveys.models import Survey
from sounding.surveys.spec import SurveySpec


@dataclass(frozen=True)
class Refusal:
    status: int
    heading: str  # marked with gettext_noop where defined; translated when shown
    message: str
    retry_after: int = 0  # seconds, for a 429

    def page(self, request: HttpRequest, survey: Survey, spec: SurveySpec) -> HttpResponse:
        context = {
            "survey": survey,
            "spec": spec,
            "lang": spec.language,
            "heading": gettext(self.heading),
            "message": gettext(self.message),
        }
        response = render(
            request, "collect/refused.html", context, status=self.status, using="jinja2"
        )
        response["Cache-Control"] = "no-store"
        if self.retry_after:
            response["Retry-After"] = str(self.retry_after)
            # Django logs every 4xx; the rate limiter logs a flood once instead.
            response._has_been_logged = True  # type: ignore[attr-defined]
        return response
