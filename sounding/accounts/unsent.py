"""The form an author sent after their session ran out, kept until they sign in again.

Without it, the sign-in page's `next` would send them back to a view that only takes a POST
(a bare 405) and whatever they typed would be lost. The posted fields, minus the CSRF token,
wait in the session (server-side: nothing typed travels in a URL or a cookie) for a few
minutes; after signing in, the author sees the same form filled in, and sends it themselves:
nothing is replayed behind their back.

Pages that can show their own form filled in register how (`refills`); any other form comes
back on a page that lists what was typed, with a button that sends it as it was.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseBase, QueryDict
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve, reverse
from django.views.decorators.http import require_GET

SESSION_KEY = "unsent_form"
KEEP_FOR = 30 * 60
# A page's form, not an upload: a larger body is not kept.
MAX_CHARS = 50_000
SKIPPED = frozenset({"csrfmiddlewaretoken"})

Refill = Callable[..., HttpResponseBase]
refills: dict[str, Refill] = {}


def refill(url_name: str) -> Callable[[Refill], Refill]:
    """Register how the view named `url_name` shows its form filled with kept data.

    The function is called as `function(request, data, **url_kwargs)`, after sign-in, and
    must check the author's role as the view itself would.
    """

    def register(function: Refill) -> Refill:
        refills[url_name] = function
        return function

    return register


def keep_and_sign_in(request: HttpRequest) -> HttpResponseBase:
    """The answer to a signed-out author's request: to the sign-in page, keeping a POST."""
    if request.method != "POST":
        return redirect_to_login(request.get_full_path())
    fields = [
        [name, value]
        for name in request.POST
        if name not in SKIPPED
        for value in request.POST.getlist(name)
    ]
    # Only for a browser that had a session (its cookie outlives the session it names): a
    # client that never signed in gets no session row written for what it posts.
    had_session = settings.SESSION_COOKIE_NAME in request.COOKIES
    if not had_session or sum(len(name) + len(value) for name, value in fields) > MAX_CHARS:
        # Not back to this address, which may take only a POST: to the surveys.
        return redirect_to_login(reverse("home"))
    request.session[SESSION_KEY] = {"path": request.path, "fields": fields, "at": time.time()}
    return redirect_to_login(reverse("unsent-form"))


def take(request: HttpRequest) -> tuple[str, QueryDict] | None:
    """The kept form's path and fields, once: None when there is none or it is too old."""
    kept: Any = request.session.pop(SESSION_KEY, None)
    if not isinstance(kept, dict) or time.time() - float(kept.get("at", 0)) > KEEP_FOR:
        return None
    data = QueryDict(mutable=True)
    for name, value in kept.get("fields", []):
        data.appendlist(str(name), str(value))
    return str(kept.get("path", "")), data


@require_GET
@login_required
def resume(request: HttpRequest) -> HttpResponseBase:
    """After sign-in: the kept form filled in, ready to send; the surveys when none is kept."""
    kept = take(request)
    if kept is None:
        return redirect("home")
    path, data = kept
    try:
        match = resolve(path)
    except Resolver404:
        return redirect("home")
    function = refills.get(match.url_name or "")
    if function is not None:
        return function(request, data, **match.kwargs)
    return unsent_page(request, path, data)


def unsent_page(request: HttpRequest, path: str, data: QueryDict) -> HttpResponse:
    fields = [(name, value) for name in data for value in data.getlist(name)]
    return render(request, "accounts/unsent.html", {"action": path, "fields": fields})
