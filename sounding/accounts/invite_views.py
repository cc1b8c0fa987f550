"""The invitation link, /invite/<token>: join as a new account, or as the signed-in one.

A link that cannot be used says why in plain words: unknown (404), or already used or
expired (410), never an error page.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from sounding.accounts import invites
from sounding.accounts.forms import JoinForm
from sounding.accounts.models import Invite, InviteState, User
from sounding.accounts.permissions import remember_workspace


def gone(request: HttpRequest, invite: Invite | None) -> HttpResponse:
    state = invite.state if invite else None
    status = 404 if invite is None else 410
    return render(
        request, "accounts/invite_gone.html", {"invite": invite, "state": state}, status=status
    )


def _joined(request: HttpRequest, invite: Invite) -> HttpResponse:
    remember_workspace(request, invite.workspace_id)
    messages.success(request, f"Welcome to {invite.workspace.name}.")
    return redirect("survey-list")


def _as_signed_in(request: HttpRequest, invite: Invite) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    if user.email.lower() != invite.email.lower():
        context = {"invite": invite, "mode": "other-account"}
        return render(request, "accounts/invite_accept.html", context, status=403)
    if request.method == "POST":
        try:
            invites.accept(invite, user)
        except invites.InviteGone:
            return gone(request, Invite.objects.filter(pk=invite.pk).first())
        return _joined(request, invite)
    return render(request, "accounts/invite_accept.html", {"invite": invite, "mode": "join"})


def _as_new_account(request: HttpRequest, invite: Invite) -> HttpResponse:
    form = JoinForm(request.POST if request.method == "POST" else None, email=invite.email)
    if form.is_valid():
        try:
            user = invites.join_as_new_user(
                invite, form.cleaned_data["name"], form.cleaned_data["password1"]
            )
        except invites.InviteGone:
            return gone(request, Invite.objects.filter(pk=invite.pk).first())
        except invites.AccountExists:
            return render(
                request, "accounts/invite_accept.html", {"invite": invite, "mode": "sign-in"}
            )
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return _joined(request, invite)
    status = 400 if form.is_bound else 200
    context = {"invite": invite, "mode": "new", "form": form}
    return render(request, "accounts/invite_accept.html", context, status=status)


@require_http_methods(["GET", "POST"])
def invite_accept(request: HttpRequest, token: str) -> HttpResponse:
    invite = invites.find(token)
    if invite is None or invite.state != InviteState.PENDING:
        return gone(request, invite)
    if request.user.is_authenticated:
        return _as_signed_in(request, invite)
    if User.objects.filter(email__iexact=invite.email).exists():
        return render(request, "accounts/invite_accept.html", {"invite": invite, "mode": "sign-in"})
    return _as_new_account(request, invite)
