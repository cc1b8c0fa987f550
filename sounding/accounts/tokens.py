"""API tokens as people manage them: who sees and revokes which, and how long a new one lasts.

The pages, the API and the command line all ask here, so the rules cannot drift apart.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from sounding.accounts.models import CAN_ADMINISTER, ApiToken, ApiTokenQuerySet

# A year is long enough for any script; ten is where a typed number stops being plausible.
MAX_EXPIRY_DAYS = 3650
# What the page offers; the command line takes any number of days up to MAX_EXPIRY_DAYS.
EXPIRY_CHOICES = [("30", "30 days"), ("90", "90 days"), ("365", "1 year"), ("never", "Never")]
DEFAULT_EXPIRY = "90"


def expiry_after(days: int | None, now: datetime | None = None) -> datetime | None:
    """When a token issued now for `days` days stops working; None for a token that never does."""
    if days is None:
        return None
    if not 1 <= days <= MAX_EXPIRY_DAYS:
        raise ValueError(f"a token lasts from 1 to {MAX_EXPIRY_DAYS} days, not {days}")
    return (now or timezone.now()) + timedelta(days=days)


def manageable(workspace_id: int, user_id: int, role: str | None) -> ApiTokenQuerySet:
    """The tokens this member may see and revoke: their own in the workspace, or, for a role
    that administers it, every member's."""
    tokens = ApiToken.objects.filter(workspace_id=workspace_id)
    if role not in CAN_ADMINISTER:
        tokens = tokens.filter(user_id=user_id)
    return tokens


def listed(workspace_id: int, user_id: int, role: str | None) -> list[ApiToken]:
    """What a list shows this member, newest first, each with its user."""
    tokens = manageable(workspace_id, user_id, role).listed().select_related("user")
    return list(tokens.order_by("-created_at", "-pk"))
