"""The respondent pages' own request handler: Django with only the middleware they use.

Every address under /s/ is a respondent page, and after a send they are most of the
traffic. `sounding.front` hands them to `RespondentHandler` instead of Django's handler; the rest
of the app stays plain Django. It differs from the full stack (settings.MIDDLEWARE) in three
ways, none of which a respondent page can tell:

- the middleware chain is `CHAIN`: request metrics, the Content-Security-Policy, the security
  headers, the session and user (`Members`, below), the language, CommonMiddleware (the host
  check, Content-Length, the slash redirect) and X-Frame-Options, in the full stack's order.
  Left out are what answers or acts on other addresses only (/health, /api/, /static/) and
  what a respondent page never uses (the CSRF check, from which the pages are exempt, and
  flash messages);
- URLs are resolved against `sounding.collect.root_urls`, the /s/ routes alone, instead of
  every page of the app before them. `reverse()` and the error pages (404, 500, `handler400`)
  are still the app's own, from ROOT_URLCONF;
- the session and the signed-in user (for the preview members open from the builder) are
  read only for a request carrying the session cookie. Without it `request.session` is an
  empty session made on first use and `request.user` is anonymous, and the response gets
  what SessionMiddleware would give it: `Vary: Cookie` when the session was looked at, a
  cookie when something was stored in it.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest, HttpResponse
from django.middleware.common import CommonMiddleware
from django.urls import ResolverMatch, get_resolver, is_valid_path
from django.utils.functional import SimpleLazyObject
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser
    from django.contrib.sessions.backends.base import SessionBase

URLCONF = "sounding.collect.root_urls"
CHAIN = (
    "sounding.web_metrics.RequestMetricsMiddleware",
    "sounding.csp.ContentSecurityPolicy",
    "django.middleware.security.SecurityMiddleware",
    "sounding.collect.handler.Members",
    "django.middleware.locale.LocaleMiddleware",
    "sounding.collect.handler.Common",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
)

Handler = Callable[[HttpRequest], HttpResponse]


class Members:
    """SessionMiddleware and AuthenticationMiddleware, for a request that may be signed in.

    A request without the session cookie cannot be: it gets an anonymous user, and a session
    made only if the view touches it, then finished by SessionMiddleware as usual (an empty
    session looked at adds `Vary: Cookie`, a session written to is saved and its cookie set).
    """

    def __init__(self, get_response: Handler) -> None:
        # Here rather than at the top: the web server imports this module before the apps load.
        from django.contrib.auth.middleware import AuthenticationMiddleware
        from django.contrib.sessions.middleware import SessionMiddleware

        self.get_response = get_response
        self.signed_in = SessionMiddleware(AuthenticationMiddleware(get_response))
        # Only its process_response, for a session a cookie-less request made.
        self.finish = SessionMiddleware(get_response)
        store: type[SessionBase] = import_module(settings.SESSION_ENGINE).SessionStore
        self.store = store

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.SESSION_COOKIE_NAME in request.COOKIES:
            return self.signed_in(request)  # type: ignore[return-value]
        made: list[SessionBase] = []

        def session() -> SessionBase:
            made.append(self.store(None))
            return made[0]

        def user() -> AnonymousUser:
            from django.contrib.auth.models import AnonymousUser

            # What AuthenticationMiddleware finds in an empty session, and it looks.
            request.session.get("_auth_user_id")
            return AnonymousUser()

        request.session = SimpleLazyObject(session)  # type: ignore[assignment]
        request.user = SimpleLazyObject(user)  # type: ignore[assignment]
        response = self.get_response(request)
        if made:
            request.session = made[0]
            finished: HttpResponse = self.finish.process_response(request, response)
            return finished
        return response


class Common(CommonMiddleware):
    """CommonMiddleware, whose slash redirect asks the respondent routes rather than every page:
    an address under /s/ is one of them or none (see `test_lean_path`)."""

    def should_redirect_with_slash(self, request: HttpRequest) -> bool:
        path = request.path_info
        if not settings.APPEND_SLASH or path.endswith("/"):
            return False
        if is_valid_path(path, URLCONF):
            return False
        match = is_valid_path(f"{path}/", URLCONF)
        return bool(match) and getattr(match.func, "should_append_slash", True)  # type: ignore[union-attr]


class RespondentStack:
    """What makes a Django handler the respondents': `CHAIN` for middleware and the /s/ routes
    for URLs. Mixed into Django's WSGI handler here, and into the test client's in the tests."""

    def load_middleware(self, is_async: bool = False) -> None:
        # BaseHandler.load_middleware for a fixed list of synchronous middleware.
        self._view_middleware: list[Any] = []
        self._template_response_middleware: list[Any] = []
        self._exception_middleware: list[Any] = []
        handler: Any = convert_exception_to_response(self._get_response)  # type: ignore[attr-defined]
        for path in reversed(CHAIN):
            middleware = import_string(path)(handler)
            if hasattr(middleware, "process_view"):
                self._view_middleware.insert(0, middleware.process_view)
            if hasattr(middleware, "process_template_response"):
                self._template_response_middleware.append(middleware.process_template_response)
            if hasattr(middleware, "process_exception"):
                self._exception_middleware.append(middleware.process_exception)
            handler = convert_exception_to_response(middleware)
        self._middleware_chain = handler

    def resolve_request(self, request: HttpRequest) -> ResolverMatch:
        match = get_resolver(URLCONF).resolve(request.path_info)
        request.resolver_match = match
        return match


class RespondentHandler(RespondentStack, WSGIHandler):
    """The WSGI application `sounding.asgi` serves the respondent pages with."""
