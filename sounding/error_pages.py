"""The app's own pages for a page not found (404), a refusal (403) and a server error (500).

Django's defaults are unstyled English text. An address under /s/ that is no survey link gets
the respondents' own "Survey not found" page, in their language, as an unknown survey does.
The 500 page is rendered from a template that needs neither the database nor the request
(the error may be the database), and falls back to fixed text if even that fails.
"""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse, HttpResponseServerError
from django.shortcuts import render
from django.template import loader
from django.utils import translation

logger = logging.getLogger(__name__)

RESPONDENT_PREFIX = "/s/"
LAST_RESORT = (
    "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Server error · Sounding"
    "</title></head><body><h1>Something went wrong</h1><p>The error was logged. Try again in a "
    "minute.</p></body></html>"
)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path_info.startswith(RESPONDENT_PREFIX):
        context = {"survey": None, "lang": translation.get_language()}
        return render(request, "collect/closed.html", context, status=404, using="jinja2")
    return render(request, "404.html", status=404)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "403.html", status=403)


def server_error(request: HttpRequest | None = None) -> HttpResponse:
    try:
        page = loader.get_template("500.html").render()
    except Exception:
        logger.exception("The 500 page could not be rendered")
        page = LAST_RESORT
    return HttpResponseServerError(page)
