"""The respondent answers endpoint: one answer in JSON, what the next screen needs back.

respond.js posts every answer here and shows the next question from the reply, in the blank
question screens the first reply brings when asked (sounding.collect.screens): an answer
costs one small POST and no page render. The answer goes through exactly the code of the form
post (`views.respond_with`): the same checks of the link, its signature and the response
token, the same rate limits and validation, one short transaction with the outbox rows. Only
the reply differs. docs/api.md documents it.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.utils.translation import gettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from sounding.collect import screens, views
from sounding.collect.refusals import Refusal
from sounding.surveys.models import Survey
from sounding.surveys.spec import SurveySpec

# The fields a survey form posts, besides its answer `a`. `from_link` and `via` confirm an
# answer a link carried (sounding.collect.clicks).
FIELDS = ("r", "q", "other", "nav", "from_link", "via")
MAX_VALUES = 100  # more than any question has choices
MAX_BYTES = 64 * 1024  # a long text answer is at most 5,000 characters, escaped


class Malformed(ValueError):
    pass


def _form(request: HttpRequest) -> tuple[QueryDict, bool]:
    """The JSON body as the survey form would have posted it, and whether the question
    screens are asked for."""
    if len(request.body) > MAX_BYTES:
        raise Malformed("The request is too large.")
    try:
        data = json.loads(request.body)
    except (ValueError, RecursionError) as problem:  # not UTF-8, not JSON, nested too deep
        raise Malformed("The request body is not valid JSON.") from problem
    if not isinstance(data, dict):
        raise Malformed("The request body must be a JSON object.")
    form = QueryDict(mutable=True)
    for name in FIELDS:
        value = data.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise Malformed(f"“{name}” must be a string.")
        form[name] = value
    given = data.get("a", [])
    values = given if isinstance(given, list) else [given]
    if len(values) > MAX_VALUES:
        raise Malformed("“a” holds too many values.")
    for value in values:
        # A number is taken as the form would send it; true and false are not answers.
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise Malformed("“a” must be a string, a number, or a list of them.")
        form.appendlist("a", str(value))
    form._mutable = False
    wanted = data.get("screens", False)
    if not isinstance(wanted, bool):
        raise Malformed("“screens” must be true or false.")
    return form, wanted


def _error(code: str, message: str, status: int, **extra: Any) -> JsonResponse:
    response = JsonResponse({"error": code, "message": message, **extra}, status=status)
    response["Cache-Control"] = "no-store"
    return response


class Json(views.Reply):
    """The reply in JSON: what the next screen shows that depends on the answers, and with
    `screens` every question's blank screen."""

    def __init__(self, screens: bool = False) -> None:
        self.screens = screens

    def screen(self, request: HttpRequest, screen: views.Screen, status: int = 200) -> HttpResponse:
        q = screen.question
        facts = screen.facts()
        body: dict[str, Any] = {"r": facts.pop("token"), "next": q.key if q else None}
        body["url"] = screen.url(request)
        if q is not None:
            body.update(facts)
            body["count"] = gettext("Question %(number)s of %(total)s") % facts
            body["button"] = gettext("Submit") if facts["is_last"] else gettext("Next")
            body.update(values=screen.values, other=screen.other, saved=screen.saved)
            body["offered"] = screen.offered
        # Shown on the next screen: why it is asked (a required question left behind).
        body["message"] = screen.error
        if self.screens:
            body["screens"] = screens.render(screen.survey, screen.spec)
        if q is None:
            # The thank-you page, which the script would otherwise fetch next: one request
            # fewer for every response.
            body["page"] = views.page(request, screen, bare=True).content.decode()
        refused = bool(screen.error) and q is not None and q.key == request.POST.get("q")
        if refused:
            # The answer given is refused, and nothing stored: the form's 400, in JSON.
            body["error"] = "invalid"
        reply = JsonResponse(body, status=400 if refused else 200)
        return views.keep(request, screen, reply)

    def problem(
        self,
        request: HttpRequest,
        survey: Survey,
        message: str,
        status: int = 400,
        resume: str = "",
    ) -> HttpResponse:
        code = "not_shown" if status == 409 else "problem"
        return _error(code, gettext(message), status, resume=resume)

    def refused(
        self, request: HttpRequest, refusal: Refusal, survey: Survey, spec: SurveySpec
    ) -> HttpResponse:
        code = "rate_limited" if refusal.status == 429 else "refused"
        message = f"{gettext(refusal.heading)} {gettext(refusal.message)}"
        response = _error(code, message, refusal.status)
        if refusal.retry_after:
            response["Retry-After"] = str(refusal.retry_after)
            # The rate limiter logs a flood once (as Refusal.page).
            response._has_been_logged = True  # type: ignore[attr-defined]
        return response

    def closed(self, request: HttpRequest, survey: Survey | None, status: int) -> HttpResponse:
        if survey is None:
            return _error("not_found", gettext("Survey not found"), status)
        return _error("closed", gettext("This survey is not open right now"), status)


# Not protected by a CSRF token, for the reasons the form post is not (sounding.collect.views);
# and a cross-site page cannot send `application/json` without the browser asking first.
@csrf_exempt
@require_http_methods(["POST"])
def answer(request: HttpRequest, slug: str) -> HttpResponse:
    if request.content_type != "application/json":
        return _error("unsupported_media_type", "Send the answer as application/json.", status=415)
    try:
        form, wanted = _form(request)
    except Malformed as problem:
        return _error("malformed", str(problem), status=400)
    # What the form would have posted: from here on, the form post's own code.
    request.POST = form  # type: ignore[assignment]
    return views.respond_with(request, slug, Json(screens=wanted))
