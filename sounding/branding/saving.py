"""Saving a brand, and telling every process to show it.

Respondent pages cache the resolved brand per survey version (see `branding.resolve`), so a
save bumps the version of each survey it changes, in the same transaction.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from sounding.accounts.models import User, Workspace
from sounding.branding.images import Image
from sounding.branding.models import Logo, SurveyBrand, WorkspaceBrand
from sounding.surveys.models import Survey


def store_logo(workspace: Workspace, image: Image) -> Logo:
    logo, _created = Logo.objects.get_or_create(
        workspace=workspace,
        sha256=image.sha256,
        defaults={
            "content_type": image.content_type,
            "data": image.data,
            "width": image.width,
            "height": image.height,
            "size": len(image.data),
        },
    )
    return logo


def forget_unused_logos(workspace_id: int) -> int:
    unused = Logo.objects.filter(
        workspace_id=workspace_id,
        workspace_brands__isnull=True,
        dark_brands__isnull=True,
        survey_brands__isnull=True,
    )
    return unused.delete()[0]


def workspace_brand(workspace: Workspace) -> WorkspaceBrand:
    """The saved brand, or an unsaved one holding the defaults."""
    found = WorkspaceBrand.objects.filter(workspace=workspace).select_related("logo", "logo_dark")
    found = found.defer("logo__data", "logo_dark__data")
    return found.first() or WorkspaceBrand(workspace=workspace)


def survey_brand(survey: Survey) -> SurveyBrand:
    found = SurveyBrand.objects.filter(survey=survey).select_related("logo")
    return found.defer("logo__data").first() or SurveyBrand(survey=survey)


def save_workspace_brand(brand: WorkspaceBrand, user: User | None) -> None:
    with transaction.atomic():
        brand.updated_at = timezone.now()
        brand.updated_by = user
        brand.save()
        Survey.objects.filter(workspace_id=brand.workspace_id).update(version=F("version") + 1)
        forget_unused_logos(brand.workspace_id)


def save_survey_brand(brand: SurveyBrand, user: User | None) -> None:
    with transaction.atomic():
        brand.updated_at = timezone.now()
        brand.updated_by = user
        brand.save()
        Survey.objects.filter(pk=brand.survey_id).update(version=F("version") + 1)
        forget_unused_logos(brand.survey.workspace_id)
