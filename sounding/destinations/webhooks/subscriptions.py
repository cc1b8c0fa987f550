"""Which surveys send to webhooks: kept on each survey's list of destinations.

The respondent path reads that list with the survey and nothing else, so a workspace without
webhook endpoints pays nothing for them. Whenever endpoints change, and when a survey is created,
the list is brought in line with the endpoints that cover each survey.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_save

from sounding.destinations.webhooks.models import Endpoint
from sounding.surveys.models import Survey

KIND = "webhooks"


def sync(workspace_id: int) -> None:
    """Add or remove webhooks from the destinations of the workspace's surveys."""
    endpoints = list(Endpoint.objects.filter(workspace_id=workspace_id, enabled=True))
    with transaction.atomic():
        for survey in Survey.objects.select_for_update().filter(workspace_id=workspace_id):
            _apply(survey, any(e.covers(survey.pk) for e in endpoints))


def _apply(survey: Survey, wanted: bool) -> None:
    kinds = [kind for kind in survey.destinations or () if kind != KIND]
    if wanted:
        kinds.append(KIND)
    if kinds != (survey.destinations or []):
        Survey.objects.filter(pk=survey.pk).update(destinations=kinds)


def _created(sender: Any, instance: Survey, created: bool, **kwargs: Any) -> None:
    if created and Endpoint.objects.filter(
        workspace_id=instance.workspace_id, enabled=True, all_surveys=True
    ).exists():
        instance.destinations = [*(instance.destinations or ()), KIND]
        Survey.objects.filter(pk=instance.pk).update(destinations=instance.destinations)


def connect() -> None:
    post_save.connect(_created, sender=Survey, dispatch_uid="webhooks-new-survey")
