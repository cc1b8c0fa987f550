"""The survey checks of app pages: a survey of the current workspace, or a 404.

The workspace checks every app page starts with belong to `sounding.accounts.permissions`;
they are importable from here too, as the survey pages have always imported them.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.shortcuts import get_object_or_404

from sounding.accounts.permissions import (
    SESSION_KEY,
    SignedInRequest,
    View,
    editor_required,
    member_required,
    membership,
    memberships_of,
    pick_current,
    remember_workspace,
)
from sounding.surveys.models import Survey

__all__ = [
    "SESSION_KEY",
    "SignedInRequest",
    "View",
    "editor_required",
    "member_required",
    "membership",
    "memberships_of",
    "pick_current",
    "remember_workspace",
    "workspace_survey",
]


def workspace_survey(request: HttpRequest, pk: int, *, lock: bool = False) -> Survey:
    """The current workspace's survey `pk`; another workspace's survey is a 404, not a 403.

    With `lock`, the row is locked until the transaction ends, so two people editing the same
    definition at once queue instead of overwriting each other's change.
    """
    surveys = Survey.objects.filter(workspace_id=membership(request).workspace_id)
    if lock:
        surveys = surveys.select_for_update()
    return get_object_or_404(surveys, pk=pk)
