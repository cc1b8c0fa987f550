"""Changing who belongs to a workspace, without ever leaving it without an owner.

Every change locks the workspace row first, so two owners demoting each other at the same
moment queue up and the second one is refused (SQLite already runs one writer at a time).
"""

from __future__ import annotations

from django.db import transaction

from sounding.accounts.models import ApiToken, Membership, Role, Workspace


class LastOwner(Exception):
    """The change would leave the workspace without an owner."""

    def __init__(self, membership: Membership) -> None:
        super().__init__(
            f"{membership.user.email} is the only owner of {membership.workspace.name}: make "
            "someone else an owner first. A workspace always keeps at least one owner."
        )


def _locked(membership_id: int) -> Membership:
    membership = Membership.objects.select_related("user", "workspace").get(pk=membership_id)
    Workspace.objects.select_for_update().filter(pk=membership.workspace_id).first()
    # Read again under the lock: the role may have changed while we waited.
    return Membership.objects.select_related("user", "workspace").get(pk=membership_id)


def _is_last_owner(membership: Membership) -> bool:
    if membership.role != Role.OWNER:
        return False
    others = Membership.objects.filter(workspace_id=membership.workspace_id, role=Role.OWNER)
    return not others.exclude(pk=membership.pk).exists()


def owner_count(workspace_id: int) -> int:
    return Membership.objects.filter(workspace_id=workspace_id, role=Role.OWNER).count()


def change_role(membership_id: int, role: str) -> Membership:
    with transaction.atomic():
        membership = _locked(membership_id)
        if role != Role.OWNER and _is_last_owner(membership):
            raise LastOwner(membership)
        membership.role = role
        membership.save(update_fields=["role"])
    return membership


def remove(membership_id: int) -> Membership:
    """End a membership, and with it the person's API tokens for that workspace.

    The API already refuses a token whose user is no longer a member; deleting the tokens
    also keeps them from coming back to life if the person is invited again.
    """
    with transaction.atomic():
        membership = _locked(membership_id)
        if _is_last_owner(membership):
            raise LastOwner(membership)
        ApiToken.objects.filter(
            user_id=membership.user_id, workspace_id=membership.workspace_id
        ).delete()
        membership.delete()
    return membership
