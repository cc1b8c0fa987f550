"""Settings → Members: who belongs to the workspace, invitations, roles, leaving.

Every member sees the page; only owners change anything, checked here on every POST.
"""

from __future__ import annotations

from functools import wraps
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from sounding.accounts import email_limits, invites, members
from sounding.accounts.forms import ROLE_HELP, InviteForm, RoleForm
from sounding.accounts.models import Invite, Membership, Role
from sounding.accounts.permissions import SignedInRequest, View, member_required, membership

# The link of the invitation just made, shown once on the next page and then forgotten.
FRESH_INVITE = "fresh_invite"


def owner_required(view: View) -> View:
    """A member whose role may administer the workspace; anyone else in it gets a 403."""

    @wraps(view)
    def check_role(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not membership(request).can_administer:
            return render(request, "accounts/members_forbidden.html", status=403)
        return view(request, *args, **kwargs)

    return member_required(check_role)


def _page(request: HttpRequest, form: InviteForm | None = None, status: int = 200) -> HttpResponse:
    current = membership(request)
    rows = list(
        Membership.objects.filter(workspace_id=current.workspace_id)
        .select_related("user")
        .order_by("user__email")
    )
    owners = sum(1 for row in rows if row.role == Role.OWNER)
    context = {
        "rows": rows,
        "sole_owner": owners == 1,
        # Worth saying once someone else could be given the role: alone in a new workspace,
        # the owner has no one to hand it to.
        "warn_sole_owner": owners == 1 and len(rows) > 1,
        "pending": Invite.objects.filter(
            workspace_id=current.workspace_id, accepted_at__isnull=True
        ).order_by("-created_at"),
        "form": form or InviteForm(),
        "roles": [(role, ROLE_HELP[role]) for role in Role],
        "role_choices": Role.choices,
        "fresh": request.session.pop(FRESH_INVITE, None),
    }
    return render(request, "accounts/members.html", context, status=status)


@require_GET
@member_required
def members_page(request: HttpRequest) -> HttpResponse:
    return _page(request)


def _same_workspace_member(request: HttpRequest, member_id: int) -> Membership:
    return get_object_or_404(
        Membership.objects.select_related("user"),
        pk=member_id,
        workspace_id=membership(request).workspace_id,
    )


@require_POST
@owner_required
def member_invite(request: SignedInRequest) -> HttpResponse:
    form = InviteForm(request.POST)
    workspace = membership(request).workspace
    if form.is_valid():
        email = form.cleaned_data["email"]
        if Membership.objects.filter(workspace=workspace, user__email__iexact=email).exists():
            form.add_error("email", f"{email} is already a member of {workspace.name}.")
    if not form.is_valid():
        return _page(request, form, status=400)
    refusal = email_limits.invitation(request.user, workspace.pk, email)
    if refusal is not None:
        form.add_error(None, refusal.message)
        response = _page(request, form, status=429)
        response["Retry-After"] = str(refusal.retry_after)
        return response
    issued = invites.invite(request, workspace, email, form.cleaned_data["role"])
    request.session[FRESH_INVITE] = {
        "email": email,
        "link": issued.link,
        "emailed": issued.emailed,
        "kept_by": issued.kept_by,
    }
    return redirect("members")


@require_POST
@owner_required
def member_role(request: HttpRequest, member_id: int) -> HttpResponse:
    target = _same_workspace_member(request, member_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a role: owner, editor or viewer.")
        return redirect("members")
    try:
        changed = members.change_role(target.pk, form.cleaned_data["role"])
    except members.LastOwner as refusal:
        messages.error(request, str(refusal))
    except Membership.DoesNotExist:
        raise Http404("No such member.") from None
    else:
        messages.success(
            request, f"{changed.user.email} is now {changed.get_role_display().lower()}."
        )
    return redirect("members")


@require_POST
@owner_required
def member_remove(request: HttpRequest, member_id: int) -> HttpResponse:
    target = _same_workspace_member(request, member_id)
    if target.pk == membership(request).pk:
        return _leave(request)
    try:
        removed = members.remove(target.pk)
    except members.LastOwner as refusal:
        messages.error(request, str(refusal))
    except Membership.DoesNotExist:
        raise Http404("No such member.") from None
    else:
        messages.success(request, f"{removed.user.email} is no longer a member.")
    return redirect("members")


@require_POST
@member_required
def member_leave(request: HttpRequest) -> HttpResponse:
    return _leave(request)


def _leave(request: HttpRequest) -> HttpResponse:
    current = membership(request)
    try:
        members.remove(current.pk)
    except members.LastOwner:
        messages.error(
            request,
            f"You are the only owner of {current.workspace.name}, so you cannot leave it: make "
            "someone else an owner first.",
        )
        return redirect("members")
    except Membership.DoesNotExist:
        raise Http404("You are not a member of this workspace.") from None
    messages.success(request, f"You left {current.workspace.name}.")
    return redirect("survey-list")


@require_POST
@owner_required
def invite_revoke(request: HttpRequest, invite_id: int) -> HttpResponse:
    invite = get_object_or_404(
        Invite,
        pk=invite_id,
        workspace_id=membership(request).workspace_id,
        accepted_at__isnull=True,
    )
    invite.delete()
    messages.success(
        request, f"The invitation to {invite.email} is revoked: its link no longer works."
    )
    return redirect("members")
