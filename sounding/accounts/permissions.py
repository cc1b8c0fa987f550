"""Who is asking, in which workspace, with which role: the checks every app page starts with.

The current workspace is kept in the session; a user who belongs to several workspaces
switches between them, and a stale or forged choice falls back to their first membership.
Views never compare role names: they ask `Membership.can_edit`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import render

from sounding.accounts import unsent
from sounding.accounts.models import Membership, User

SESSION_KEY = "workspace_id"

View = Callable[..., HttpResponseBase]


class SignedInRequest(HttpRequest):
    """The request of a view behind `login_required` (or a decorator below): never anonymous."""

    user: User


def memberships_of(request: SignedInRequest) -> list[Membership]:
    return list(
        Membership.objects.filter(user_id=request.user.pk)
        .select_related("workspace")
        .order_by("pk")  # the first membership is the default workspace
    )


def pick_current(request: HttpRequest, memberships: list[Membership]) -> Membership | None:
    wanted = request.session.get(SESSION_KEY)
    for membership in memberships:
        if membership.workspace_id == wanted:
            return membership
    return memberships[0] if memberships else None


def remember_workspace(request: HttpRequest, workspace_id: int) -> bool:
    """Make `workspace_id` current if the user belongs to it; False (and no change) if not."""
    user = request.user
    if not user.is_authenticated:
        return False
    if not Membership.objects.filter(user_id=user.pk, workspace_id=workspace_id).exists():
        return False
    request.session[SESSION_KEY] = workspace_id
    return True


def member_required(view: View) -> View:
    """Signed in and a member of some workspace; sets `request.membership` (and the list).

    A signed-out request goes to the sign-in page; a form it posted is kept (`unsent`).
    """

    @wraps(view)
    def wrapper(request: SignedInRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return unsent.keep_and_sign_in(request)
        memberships = memberships_of(request)
        current = pick_current(request, memberships)
        if current is None:
            return render(request, "surveys/no_workspace.html", status=403)
        request.membership = current  # type: ignore[attr-defined]
        request.memberships = memberships  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return wrapper


def editor_required(view: View) -> View:
    """Like `member_required`, and the role may change surveys: a viewer gets a 403."""

    @wraps(view)
    def check_role(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not membership(request).can_edit:
            return render(request, "surveys/forbidden.html", status=403)
        return view(request, *args, **kwargs)

    return member_required(check_role)


def membership(request: HttpRequest) -> Membership:
    return request.membership  # type: ignore[attr-defined]
