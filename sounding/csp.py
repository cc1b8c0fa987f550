"""The Content-Security-Policy header of every response.

Nothing is loaded from another host (a product rule), every script is a static file, and the
few inline `<style>` blocks (the respondent pages' critical CSS and brand, the branding
preview) carry the response's nonce: templates write `nonce="{{ request.csp_nonce }}"`, in
Django's engine and in Jinja2 alike. No `style` attribute or inline script is allowed, so an
author's or a respondent's text that slipped past escaping could neither run nor restyle a
page. A view that sets a policy of its own (the logos' stricter one) keeps it.
"""

# Our own middleware rather than django-csp: the policy is one fixed string and a nonce, and
# Django 6.0 brings a built-in one to move to.

from __future__ import annotations

import secrets
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

HEADER = "Content-Security-Policy"
# The same framing rule as X-Frame-Options, which each response already carries: DENY, or
# SAMEORIGIN for the survey preview the builder shows in a frame. A response exempt from it
# (the respondent pages inside a message, sounding.collect.embed) gets no directive at all.
FRAME_ANCESTORS = {"DENY": "'none'", "SAMEORIGIN": "'self'"}


class Nonce:
    """A response's nonce, drawn when a template first writes it: a response without an inline
    block sends none."""

    __slots__ = ("_value",)

    def __init__(self) -> None:
        self._value = ""

    def __str__(self) -> str:
        if not self._value:
            self._value = secrets.token_urlsafe(18)
        return self._value

    # URL-safe base64 needs no escaping: both template engines print it as it is.
    __html__ = __str__

    @property
    def drawn(self) -> str:
        return self._value


def policy(nonce: str = "", frame_ancestors: str | None = "'none'") -> str:
    styles = f"'self' 'nonce-{nonce}'" if nonce else "'self'"
    framing = () if frame_ancestors is None else (f"frame-ancestors {frame_ancestors}",)
    return "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            f"style-src {styles}",
            # data: is the blank favicon every page names so browsers do not ask for one.
            "img-src 'self' data:",
            "connect-src 'self'",
            # The builder's preview of the respondent pages.
            "frame-src 'self'",
            "form-action 'self'",
            *framing,
            "base-uri 'none'",
            "object-src 'none'",
        )
    )


class ContentSecurityPolicy:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        nonce = Nonce()
        request.csp_nonce = nonce  # type: ignore[attr-defined]
        response = self.get_response(request)
        if HEADER not in response:
            ancestors: str | None = None
            if not getattr(response, "xframe_options_exempt", False):
                framing = response.get("X-Frame-Options", settings.X_FRAME_OPTIONS).upper()
                ancestors = FRAME_ANCESTORS.get(framing, "'none'")
            response[HEADER] = policy(nonce.drawn, ancestors)
        return response
