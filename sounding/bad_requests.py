"""The answer to a request Django refuses before any view can read it (`handler400`).

A body over DATA_UPLOAD_MAX_MEMORY_SIZE, or with more fields than DATA_UPLOAD_MAX_NUMBER_FIELDS,
raises as soon as a view reads the form. Django's own page for that is a bare "Bad Request
(400)" in English: a respondent gets the survey's problem page in their language instead, an
API client gets the API's JSON error, and a body that is too large is a 413.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve
from django.utils import translation
from django.utils.formats import number_format
from django.utils.translation import gettext
from django.views import defaults

from sounding.collect import store
from sounding.collect.views import choose_language
from sounding.surveys.questions import LONG_TEXT_MAX

SUPPORTED_LANGUAGES = frozenset(code for code, _name in settings.LANGUAGES)


def _status(exception: Exception | None) -> int:
    return 413 if isinstance(exception, RequestDataTooBig) else 400


def _api(status: int) -> JsonResponse:
    if status == 413:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        detail = f"The body is larger than the limit of {limit:,} bytes."
    else:
        detail = "The request is not valid: it has too many fields."
    return JsonResponse({"detail": detail}, status=status)


def _app_language(language: str) -> str:
    """The language of the app's own words on a page in `language` (English when not shipped)."""
    for code in (language, language.split("-")[0]):
        if code in SUPPORTED_LANGUAGES:
            return code
    return settings.LANGUAGE_CODE


def _message(status: int) -> str:
    if status == 413:
        # Only a pasted text makes an answer form this large: say what fits.
        limit = number_format(LONG_TEXT_MAX, force_grouping=True)
        return gettext("Keep it to %(limit)s characters or fewer.") % {"limit": limit}
    return gettext("This form does not match the survey.")


def _respondent(request: HttpRequest, slug: str, status: int) -> HttpResponse | None:
    survey = store.survey_by_slug(slug)
    if survey is None:
        return None
    spec = survey.spec.translated(choose_language(request, survey.spec))
    context = {"survey": survey, "spec": spec, "lang": spec.language}
    with translation.override(_app_language(spec.language)):
        context["message"] = _message(status)
        response = render(request, "collect/problem.html", context, status=status, using="jinja2")
    response["Cache-Control"] = "no-store"
    return response


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    status = _status(exception)
    if request.path_info.startswith("/api/"):
        return _api(status)
    try:
        match = resolve(request.path_info)
    except Resolver404:
        match = None
    if match is not None and match.url_name == "respond":
        page = _respondent(request, match.kwargs["slug"], status)
        if page is not None:
            return page
    response = defaults.bad_request(request, exception or Exception())
    response.status_code = status
    return response
