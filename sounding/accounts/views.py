"""Signing in and out, the first-run setup, and switching workspace."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.db import connection, transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sounding.accounts.forms import LoginForm, SetupForm
from sounding.accounts.models import Membership, Role, User, Workspace
from sounding.accounts.permissions import remember_workspace


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return redirect("survey-list" if request.user.is_authenticated else "login")


class SignInView(LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        # A fresh install has no one to sign in: send the first visitor to create the account.
        if not User.objects.exists():
            return redirect("setup")
        return super().dispatch(request, *args, **kwargs)

    def form_invalid(self, form: LoginForm) -> HttpResponse:  # type: ignore[override]
        response = super().form_invalid(form)
        if form.refusal is not None:
            response.status_code = 429
            response["Retry-After"] = str(form.refusal.retry_after)
            # Django would log every refused attempt; the limits log a lockout once instead.
            response._has_been_logged = True  # type: ignore[attr-defined]
        return response


def _lock_users() -> None:
    """Hold off other setups until this transaction ends.

    SQLite already runs one writing transaction at a time (settings use IMMEDIATE mode);
    PostgreSQL needs the table locked, or two first visitors could both find it empty.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f'LOCK TABLE "{User._meta.db_table}" IN EXCLUSIVE MODE')


def create_first_owner(form: SetupForm) -> User | None:
    """The first user, owner of a new workspace; None if someone got there first."""
    data = form.cleaned_data
    with transaction.atomic():
        _lock_users()
        if User.objects.exists():
            return None
        user = User.objects.create_user(data["email"], data["password1"])
        workspace = Workspace.objects.create(name=data["workspace"].strip())
        Membership.objects.create(user=user, workspace=workspace, role=Role.OWNER)
    return user


@require_http_methods(["GET", "POST"])
def setup(request: HttpRequest) -> HttpResponse:
    # Once anyone has an account this page does not exist: it must never hand a running
    # install to whoever finds the URL.
    if User.objects.exists():
        raise Http404("Setup is done.")
    form = SetupForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        user = create_first_owner(form)
        if user is None:
            raise Http404("Setup is done.")
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, "Welcome to Sounding. Create your first survey.")
        return redirect("survey-list")
    return render(request, "accounts/setup.html", {"form": form})


@require_POST
@login_required
def switch_workspace(request: HttpRequest) -> HttpResponse:
    raw = request.POST.get("workspace", "")
    # Anything but a plausible id is no workspace; a huge number would overflow the query.
    workspace_id = int(raw) if raw.isdigit() and len(raw) < 19 else 0
    if not remember_workspace(request, workspace_id):
        messages.error(request, "You are not a member of that workspace.")
    # The list, not the page the switch was made from: that page belongs to the old workspace.
    return redirect("survey-list")
