"""The respondent pages: one question per screen, plain forms that JavaScript only smooths.

The same URL serves every screen. GET shows where the respondent stands, or with `?q=<key>`
that question with its stored answer, and never stores anything: a link that carries an
answer (one-click NPS) shows it selected, to be confirmed, because mail scanners open every
link (sounding.collect.clicks). POST stores one answer. Every page shown is built from what
is stored at that moment, so the browser's Back, Forward and reload can never bring back an
answer since changed:

- A plain form POST answers 303 See Other to the GET URL of the next screen (post, redirect,
  get), so each history entry is a GET the server renders again.
- respond.js posts each answer as JSON to `/s/<slug>/answers` (sounding.collect.answers),
  which stores it through this module's code (`respond_with`) and replies with what the next
  screen shows from the answers; the script fills that screen in from the blank ones the
  first reply brought, with no page rendered. Anything else it fetches as a page, with
  `X-Requested-With: fetch`: the screen directly, without a redirect. It keeps only each
  screen's URL (`data-url`) in the history and fetches it again on Back and Forward.
- A screen that refuses the answer (400, 409) is rendered directly: it shows what was sent.

An identity in a link decides whose one response an answer goes to, but knowing someone's
email is not enough to read what they said. Earlier answers are shown (pre-filled, resumed,
"Change my answers") only to the browser that gave them, which holds the response's token in
its form or cookie, or to a link whose signature vouches for the identity. Anyone else sees
the survey as a new respondent would: blank questions from the first one, even when the
response is complete, and what they answer still updates that person's response.
"""

from __future__ import annotations

import hmac
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext_noop
from django.utils.translation.trans_real import parse_accept_lang_header
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from sounding.answers.models import Response
from sounding.collect import clicks, embed, flow, ratelimit, signatures, store, widgets
from sounding.collect.refusals import Refusal
from sounding.surveys.models import Status, Survey
from sounding.surveys.questions import EMPTY, AnswerError
from sounding.surveys.spec import Question, SurveySpec

COOKIE_PREFIX = "sr_"
# `q` naming the thank-you page: never a question's key, which starts with a letter.
DONE = "_done"
COOKIE_AGE = 60 * 60 * 24 * 90
ANSWERS = "/answers"
SUPPORTED_LANGUAGES = frozenset(code for code, _name in settings.LANGUAGES)


def _wanted_languages(request: HttpRequest) -> list[str]:
    """The languages asked for, best first: the link's `lang`, then the browser's."""
    wanted = [request.GET.get("lang", "")[:20]]
    header = request.META.get("HTTP_ACCEPT_LANGUAGE", "")
    if header:
        wanted += [code for code, _q in parse_accept_lang_header(header[:500])]
    return [code.lower() for code in wanted if code and code != "*"]


def choose_language(request: HttpRequest, spec: SurveySpec) -> str:
    """The survey language to show: the first wanted one the survey has (a `pt-BR` browser
    reads a `pt` translation), else the survey's own language."""
    offered = {code.lower(): code for code in spec.languages}
    for code in _wanted_languages(request):
        for candidate in (code, code.split("-")[0]):
            if candidate in offered:
                return offered[candidate]
    return spec.language


def activate_language(language: str) -> None:
    """The app's own words (Next, Back, errors) follow the survey's language where we ship
    them, so a page never mixes two languages when it can help it."""
    for code in (language, language.split("-")[0]):
        if code in SUPPORTED_LANGUAGES:
            translation.activate(code)
            return
    translation.activate(settings.LANGUAGE_CODE)


def _page(
    request: HttpRequest, template: str, context: dict[str, Any], status: int
) -> HttpResponse:
    # The language of the survey's texts when known: an Italian translation is lang="it" even
    # though the buttons fall back to English.
    spec = context.get("spec")
    context["lang"] = spec.language if spec is not None else translation.get_language()
    return render(request, template, context, status=status, using="jinja2")


def _closed(request: HttpRequest, survey: Survey | None, status: int) -> HttpResponse:
    return _page(request, "collect/closed.html", {"survey": survey}, status)


class Visit:
    """One request's survey: the spec in the language chosen, and whether it is a preview."""

    def __init__(self, survey: Survey, language: str, preview: bool) -> None:
        self.survey = survey
        self.language = language
        self.spec = survey.spec.translated(language)
        self.preview = preview


# A preview keeps its answers in the signed-in author's session: it exercises the real pages
# without creating a response or owing anything to a destination.
def _preview_key(survey: Survey) -> str:
    return f"preview:{survey.pk}"


def _preview_state(request: HttpRequest, visit: Visit) -> tuple[dict[str, Any], bool]:
    state = request.session.get(_preview_key(visit.survey)) or {}
    answers = {k: v for k, v in state.get("answers", {}).items() if visit.spec.get(k)}
    return answers, bool(state.get("done"))


def _preview_save(request: HttpRequest, visit: Visit, answers: dict[str, Any], done: bool) -> None:
    request.session[_preview_key(visit.survey)] = {"answers": answers, "done": done}


def _may_preview(request: HttpRequest, survey: Survey) -> bool:
    from sounding.accounts.models import Membership

    user = request.user
    return user.is_authenticated and (
        Membership.objects.filter(user_id=user.pk, workspace_id=survey.workspace_id).exists()
    )


def _token(request: HttpRequest) -> str:
    """The response token the form posts, or the link carries (a resume link)."""
    return request.POST.get("r") or request.GET.get("r") or ""


def _find(
    request: HttpRequest, survey: Survey, ctx: flow.LinkContext
) -> tuple[Response | None, bool]:
    """The response this request continues, and whether this visitor may see its answers."""
    token = _token(request)
    if token:
        response = store.response_by_token(survey, token)
        return response, True
    cookie = request.COOKIES.get(COOKIE_PREFIX + str(survey.pk), "")
    if ctx.primary[0]:
        # A link naming a person wins over a cookie left by someone else on this device.
        response = flow.find_response(survey, ctx)
        if response is None:
            return None, True
        gave_it = bool(cookie) and hmac.compare_digest(cookie.encode(), response.token.encode())
        return response, ctx.signed or gave_it
    if not cookie:
        return None, True
    return store.response_by_token(survey, cookie), True


class Held:
    """The response a request continues: every answer, to store the next one against, and the
    answers this visitor may see (all of them for whoever gave them; for anyone else only what
    they answered in this request)."""

    def __init__(self, response: Response | None, own: bool) -> None:
        self.response = response
        self.own = own or response is None
        self.stored: dict[str, Any] = store.answers_of(response) if response else {}
        self.seen: dict[str, Any] = self.stored if self.own else {}

    def start(self, visit: Visit, ctx: flow.LinkContext) -> Response:
        response, created = flow.open_response(visit.survey, ctx, visit.language)
        self.response = response
        if not created:
            # Another browser created it a moment ago: its answers are not this visitor's.
            self.own = False
            self.stored = store.answers(response.pk)
            self.seen = {}
        return response

    def save(self, survey: Survey, question: Question, value: Any, completes: bool = False) -> None:
        assert self.response is not None
        flow.save_answer(survey, self.response, question, value, self.stored, completes)
        if self.seen is not self.stored:
            self.seen.pop(question.key, None)
            if value is not EMPTY:
                self.seen[question.key] = value


class Screen:
    """What to render: a question (with its value and error) or the thank-you page."""

    def __init__(
        self,
        visit: Visit,
        response: Response | None,
        answers: dict[str, Any],
        question: Question | None,
        error: str = "",
        submitted: list[str] | None = None,
        own: bool = True,
        offered: bool = False,
        saved: bool = False,
    ) -> None:
        self.visit = visit
        # The answer shown was carried by the link and is not stored yet: the person confirms
        # it (sounding.collect.clicks).
        self.offered = offered
        self.saved = saved
        # Whether the visitor may hold the response's token: it opens every answer.
        self.own = own
        self.survey = visit.survey
        self.spec = visit.spec
        self.response = response
        self.answers = answers
        self.question = question
        self.error = error
        self.values = (
            submitted
            if submitted is not None
            else (
                question.kind.form_values(question, answers.get(question.key)) if question else []
            )
        )
        self.other = ""
        if question and question.allow_other and submitted is None:
            stored = answers.get(question.key)
            stored_list = stored if isinstance(stored, list) else [stored]
            self.other = next(
                (v for v in stored_list if isinstance(v, str) and v not in question.choices), ""
            )

    def facts(self) -> dict[str, Any]:
        """What this screen shows that depends on the answers: the same for the page and for
        the answers endpoint's reply, with which respond.js fills a blank screen."""
        q = self.question
        spec = self.spec
        index = spec.position(q.key) if q else len(spec.questions)
        number, total = flow.progress(spec, index, self.answers)
        return {
            "number": number,
            "total": total,
            "percent": round(100 * (number - 1) / max(1, total)) if q else 100,
            "is_last": q is not None and not flow.may_follow(spec, index, self.answers),
            "can_go_back": q is not None
            and flow.previous_before(spec, index, self.answers) is not None,
            "token": self.response.token if self.response and self.own else "",
        }

    def context(self, request: HttpRequest) -> dict[str, Any]:
        q = self.question
        return {
            "survey": self.survey,
            "spec": self.spec,
            "q": q,
            **self.facts(),
            "options": widgets.options(q, self.values) if q else [],
            "attrs": widgets.input_attrs(q) if q else {},
            "auto": q is not None and widgets.auto_advances(q),
            "value": self.values[0] if self.values else "",
            "other": self.other,
            "error": self.error,
            "action": _action(request, self.spec),
            "url": self.url(request),
            "preview": self.visit.preview,
            "offered": self.offered,
            "confirm_after": settings.CONFIRM_AFTER_SECONDS if self.offered else 0,
            "saved": self.saved,
            # Not in a preview: an author jumps between questions, which the answers endpoint's
            # replies (sounding.collect.answers) do not describe.
            "answers": not self.visit.preview,
        }

    def url(self, request: HttpRequest) -> str:
        """The GET URL that shows this screen again, from the answers stored by then."""
        token = self.response is not None and self.own
        url = _resume_url(request, self.spec, self.response if token else None)
        key = self.question.key if self.question else DONE
        return url + ("&" if "?" in url else "?") + urlencode({"q": key})


def _action(request: HttpRequest, spec: SurveySpec) -> str:
    """The form's target: this link without its pre-answers or screen choice.

    Posting to (or reloading) it must never re-apply an answer the link carried, which the
    respondent may have changed since.
    """
    query = request.GET.copy()
    for name in list(query):
        if name in ("q", "restart") or spec.get(name) is not None:
            del query[name]
    # The answers endpoint (sounding.collect.answers) sits under the page it answers for.
    path = request.path.removesuffix(ANSWERS)
    return f"{path}?{query.urlencode()}" if query else path


def _resume_url(request: HttpRequest, spec: SurveySpec, response: Response | None) -> str:
    """This link, leading back to where its respondent stands."""
    url = _action(request, spec)
    if response is not None and not response.identity_kind and "r" not in request.GET:
        # An anonymous respondent may have no cookie (blocked in many in-app browsers).
        url += ("&" if "?" in url else "?") + urlencode({"r": response.token})
    return url


def _render(
    request: HttpRequest, screen: Screen, status: int = 200, redirect: bool = False
) -> HttpResponse:
    """The screen, or a redirect to its URL for a plain form POST (and when `redirect`):
    post, redirect, get, so that the history holds only pages built from the answers stored
    when they are shown, and none that stores an answer again."""
    redirect = redirect or (request.method == "POST" and not _fetched(request))
    if redirect and status == 200:
        response: HttpResponse = HttpResponseRedirect(screen.url(request), status=303)
    else:
        response = page(request, screen, status)
    return keep(request, screen, response)


def page(
    request: HttpRequest, screen: Screen, status: int = 200, bare: bool = False
) -> HttpResponse:
    """The screen's page; `bare`, without its styles, for a script to take the screen from."""
    template = "collect/question.html" if screen.question else "collect/done.html"
    return _page(request, template, {**screen.context(request), "bare": bare}, status)


def keep(request: HttpRequest, screen: Screen, response: HttpResponse) -> HttpResponse:
    """`response` as any reply showing `screen` goes out: never cached, and the response's
    token in a cookie for the browser that gave its answers."""
    response["Cache-Control"] = "no-store"
    if screen.visit.preview:
        # The builder shows the preview in a frame of its own pages.
        response["X-Frame-Options"] = "SAMEORIGIN"
    elif screen.response is not None and screen.own:
        # Identified responses too: reopening the link in the browser that answered resumes
        # with the answers, which the link alone no longer shows.
        response.set_cookie(
            COOKIE_PREFIX + str(screen.survey.pk),
            screen.response.token,
            max_age=COOKIE_AGE,
            path=screen.survey.public_path(),
            httponly=True,
            samesite="Lax",
            secure=request.is_secure(),
        )
    return response


class Reply:
    """How a respondent request is answered: with pages, for the plain forms and respond.js's
    page fetches, or in JSON for its answers (sounding.collect.answers). Both store through the
    same code (`_respond`); only what goes back differs."""

    def screen(self, request: HttpRequest, screen: Screen, status: int = 200) -> HttpResponse:
        return _render(request, screen, status)

    def problem(
        self,
        request: HttpRequest,
        survey: Survey,
        message: str,
        status: int = 400,
        resume: str = "",
    ) -> HttpResponse:
        return _bad_request(request, survey, message, status, resume)

    def refused(
        self, request: HttpRequest, refusal: Refusal, survey: Survey, spec: SurveySpec
    ) -> HttpResponse:
        return refusal.page(request, survey, spec)

    def closed(self, request: HttpRequest, survey: Survey | None, status: int) -> HttpResponse:
        return _closed(request, survey, status)


PAGES = Reply()


def _fetched(request: HttpRequest) -> bool:
    """Whether respond.js sent the request: it shows the screen it gets without a redirect."""
    return request.headers.get("X-Requested-With") == "fetch"


def _first_screen(
    visit: Visit, response: Response | None, answers: dict[str, Any], done: bool, own: bool = True
) -> Screen:
    if done:
        return Screen(visit, response, answers, None, own=own)
    spec = visit.spec
    question = flow.resume_at(spec, answers) if answers else (spec.questions or (None,))[0]
    return Screen(visit, response, answers, question, own=own)


def _show(request: HttpRequest, visit: Visit, ctx: flow.LinkContext) -> HttpResponse:
    spec = visit.spec
    wanted = spec.get(request.GET.get("q", ""))
    thanks = request.GET.get("q") == DONE
    if visit.preview:
        if request.GET.get("restart"):
            _preview_save(request, visit, {}, False)
        answers, done = _preview_state(request, visit)
        if wanted is not None:
            return _render(request, Screen(visit, None, answers, wanted))
        return _render(request, _first_screen(visit, None, answers, done))
    response, own = _find(request, visit.survey, ctx)
    if response is not None and response.erase_requested_at is not None:
        return _erasing(request, visit.survey)
    held = Held(response, own)
    offer = _link_answer(request, visit, ctx, held)
    if offer is not None:
        question, value = offer
        answers = flow.with_answer(held.seen, question.key, value)
        screen = Screen(visit, held.response, answers, question, own=held.own, offered=True)
        return _render(request, screen)
    if wanted is not None and _may_show(spec, wanted, held):
        screen = Screen(visit, held.response, held.seen, wanted, own=held.own)
        return _render(request, screen)
    # A finished response shows its thank-you page only to whoever may see its answers, or to
    # whoever was just sent to it; anyone else starts at the first question, and answering it
    # updates the response.
    finished = held.response is not None and held.response.completed_at is not None
    done = finished and (held.own or thanks)
    screen = _first_screen(visit, held.response, held.seen, done, held.own)
    return _render(request, screen)


def _may_show(spec: SurveySpec, question: Question, held: Held) -> bool:
    """Whether `?q=` shows `question`: when the stored answers show it, whoever the visitor (a
    second browser is led on by them, seeing none of them), or without a response yet, when
    no required question comes before it."""
    if not flow.is_shown(spec, question, held.stored):
        return False
    return held.response is not None or flow.may_preanswer(spec, question, {})


def _link_answer(
    request: HttpRequest, visit: Visit, ctx: flow.LinkContext, held: Held
) -> tuple[Question, Any] | None:
    """The answer the link carries (one-click score), to show selected and not yet stored.

    Opening a link is not answering: mail scanners open every link of an email. The first
    valid pre-answer in the survey's order is offered, unless the answers hide its question
    or a required question before it is still unanswered (a link never skips one). The click
    is recorded, a HEAD as a scanner's.
    """
    spec = visit.spec
    for key in sorted(ctx.prefill, key=spec.position):
        question = spec.get(key)
        if question is None:
            continue
        try:
            value = question.kind.parse(question, [ctx.prefill[key]])
        except AnswerError:
            continue
        if value is EMPTY or not flow.may_preanswer(spec, question, held.stored):
            continue
        person = clicks.who(request, ctx)
        clicks.record(visit.survey, person, key, ctx.prefill[key], request.method or "GET")
        return (question, value) if request.method == "GET" else None
    return None


def _submit(request: HttpRequest, visit: Visit, ctx: flow.LinkContext, out: Reply) -> HttpResponse:
    spec = visit.spec
    survey = visit.survey
    question = spec.get(request.POST.get("q", ""))
    if question is None:
        return out.problem(request, survey, gettext_noop("This form does not match the survey."))
    if visit.preview:
        held = None
        response, own = None, True
        answers, _done = _preview_state(request, visit)
    else:
        response, own = _find(request, survey, ctx)
        if response is None and request.POST.get("r"):
            return out.problem(request, survey, gettext_noop("This response could not be found."))
        if response is not None and response.erase_requested_at is not None:
            return _erasing(request, survey, out)
        held = Held(response, own)
        own, answers = held.own, held.seen
    index = spec.position(question.key)
    if request.POST.get("nav") == "back":
        previous = flow.previous_before(spec, index, answers) or question
        return out.screen(request, Screen(visit, response, answers, previous, own=own))
    if held is not None and not flow.is_shown(spec, question, held.stored):
        # A stale page, or a crafted post: the answers given since hide this question.
        return out.problem(
            request,
            survey,
            gettext_noop(
                "This question does not apply to your answers, so this answer was not saved."
            ),
            status=409,
            resume=_resume_url(request, spec, held.response),
        )
    values = request.POST.getlist("a")
    try:
        value = question.kind.parse(question, values, request.POST.get("other", ""))
        if value is EMPTY and question.required:
            raise AnswerError(translation.gettext("This question needs an answer."))
    except AnswerError as problem:
        screen = Screen(visit, response, answers, question, str(problem), submitted=values, own=own)
        screen.other = request.POST.get("other", "")[:5000]
        return out.screen(request, screen, status=400)
    if held is None:
        # An author jumps to any question to try it: the preview only follows the skip logic.
        following = flow.after_answer(spec, index, answers, value)
        answers.pop(question.key, None)
        if value is not EMPTY:
            answers[question.key] = value
        _preview_save(request, visit, answers, done=following is None)
        return out.screen(request, Screen(visit, None, answers, following))
    # The rules read the response as stored, whoever the visitor: a second browser sees only
    # what it answered, but may not skip what the person left unanswered either. Its blank
    # keeps the stored answer (below).
    truth = held.stored
    keeps = value is EMPTY and not held.own
    future = flow.standing(spec, truth if keeps else flow.with_answer(truth, question.key, value))
    following = flow.ahead(spec, index, future)
    # A required question the answers show is still unanswered before the next one (a stale
    # page, or a crafted post): the answer is kept, and that question is asked with the reason.
    gap = following is not None and spec.position(following.key) < index
    error = translation.gettext("This question needs an answer.") if gap else ""
    status = 400 if gap else 200
    if value is EMPTY and held.response is None and following is not None:
        # Skipping an optional question first creates nothing yet.
        return out.screen(request, Screen(visit, None, answers, following, error), status)
    # The survey's limit is spent only by a request that stores something.
    if value is EMPTY and not held.own:
        # The question was shown blank to someone who never saw its stored answer: leaving it
        # blank cannot mean to clear that answer, which stays. On the last question it still
        # finishes the response.
        assert held.response is not None
        if following is None and held.response.completed_at is None:
            refused = ratelimit.check_survey(survey)
            if refused is not None:
                return out.refused(request, refused, survey, spec)
            kept = held.stored.get(question.key, EMPTY)
            flow.save_answer(survey, held.response, question, kept, held.stored, completes=True)
        screen = Screen(visit, held.response, answers, following, error, own=False)
        return out.screen(request, screen, status)
    from_link = request.POST.get("from_link") == "1"
    person = clicks.who(request, ctx) if from_link else ""
    timed = from_link and request.POST.get("via") == "timer"
    if timed and clicks.suspected(survey, person):
        # Time alone never confirms a click that looks like a scanner's; a tap still does.
        offered = flow.with_answer(answers, question.key, value)
        screen = Screen(visit, held.response, offered, question, own=held.own, offered=True)
        return out.screen(request, screen)
    refused = ratelimit.check_survey(survey)
    if refused is not None:
        return out.refused(request, refused, survey, spec)
    if held.response is None:
        held.start(visit, ctx)
    held.save(survey, question, value, completes=following is None)
    if from_link:
        clicks.confirmed(survey, person, question.key)
    if request.POST.get("nav") == "stay" and following is not None and not gap:
        # Confirmed in the background: the person stays on the screen they are reading.
        screen = Screen(visit, held.response, held.seen, question, own=held.own, saved=True)
        return out.screen(request, screen)
    screen = Screen(visit, held.response, held.seen, following, error, own=held.own)
    return out.screen(request, screen, status)


def _erasing(request: HttpRequest, survey: Survey, out: Reply | None = None) -> HttpResponse:
    # Deleted at the person's request and still being cleared at a destination: taking answers
    # into it now would send them and then delete them moments later.
    message = gettext_noop("This response could not be found.")
    return (out or PAGES).problem(request, survey, message)


def _bad_request(
    request: HttpRequest, survey: Survey, message: str, status: int = 400, resume: str = ""
) -> HttpResponse:
    """A form that cannot be true (edited by hand, or from before the survey changed).

    `resume` links back to where the respondent stands instead of to a fresh start."""
    context = {"survey": survey, "message": translation.gettext(message), "resume": resume}
    return _page(request, "collect/problem.html", context, status)


# Answers are not protected by a CSRF token on purpose: a respondent holds no session to
# abuse, the response token in the form is unguessable, and a token check would turn blocked
# cookies (common in the in-app browsers people open survey links in) into lost answers.
# A preview writes only to its author's own session, which a forged post can at worst reset.
@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def respond(request: HttpRequest, slug: str) -> HttpResponse:
    return framed(request, _respond(request, slug))


def framed(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    if embed.mode(request):
        # Every page of a framed survey, refusals and errors too: the person must read them
        # in the message rather than meet the browser's blank frame.
        embed.allow_framing(response)
    return response


def respond_with(request: HttpRequest, slug: str, out: Reply) -> HttpResponse:
    """`respond`'s work for a POST whose reply `out` writes (sounding.collect.answers)."""
    return framed(request, _respond(request, slug, out))


def _respond(request: HttpRequest, slug: str, out: Reply = PAGES) -> HttpResponse:
    # The response an answer or a resume link names comes with the survey, in one statement.
    survey = store.survey_by_slug(slug, _token(request))
    if survey is None:
        return out.closed(request, None, 404)
    preview = request.GET.get("preview") == "1" and _may_preview(request, survey)
    if survey.status == Status.DRAFT and not preview:
        # Exactly the page of an unknown address: a stranger learns nothing of a draft.
        return out.closed(request, None, 404)
    if survey.status != Status.LIVE and not preview:
        return out.closed(request, survey, 403)
    language = choose_language(request, survey.spec)
    activate_language(language)
    visit = Visit(survey, language, preview)
    ctx = flow.read_link(request.GET, visit.spec)
    if not preview:
        # Before anything is looked up or stored: a flood from one address, or a link whose
        # signature does not hold. Neither spends the survey's own limit (see _submit).
        refused = ratelimit.check_address(request, ctx) or signatures.check(request, survey, ctx)
        if refused is not None:
            return out.refused(request, refused, survey, visit.spec)
    if request.method == "POST":
        return _submit(request, visit, ctx, out)
    return _show(request, visit, ctx)
