"""Surveys. The questions live in the survey's definition (see `surveys.definition`)."""

from __future__ import annotations

import secrets
from collections.abc import Collection
from typing import Any

from django.db import models
from django.db.models import Count
from django.utils import timezone
from django.utils.text import slugify

from sounding.accounts.models import User, Workspace
from sounding.surveys import compatibility
from sounding.surveys.definition import normalize
from sounding.surveys.spec import SurveySpec

SLUG_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no look-alikes: l/1, o/0


def new_slug(title: str) -> str:
    suffix = "".join(secrets.choice(SLUG_ALPHABET) for _ in range(6))
    base = slugify(title)[:40].strip("-")
    return f"{base}-{suffix}" if base else suffix


class Status(models.TextChoices):
    DRAFT = "draft", "Draft"
    LIVE = "live", "Live"
    PAUSED = "paused", "Paused"


class Survey(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="surveys")
    slug = models.SlugField(max_length=60, unique=True)
    title = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    definition = models.JSONField()
    # Bumped on every change of the definition; the spec cache is keyed on it.
    version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(null=True, blank=True)
    # Kinds of the destinations this survey's answers go to (["webhooks"]), read with the survey
    # on the respondent path so marking an answer due costs no extra query.
    destinations = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["workspace", "-created_at"])]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("survey-detail", args=[self.pk])

    @classmethod
    def create(cls, workspace: Workspace, definition: Any, user: User | None = None) -> Survey:
        """Validate `definition` (raises DefinitionError) and save a new draft survey."""
        normalized = normalize(definition)
        return cls.objects.create(
            workspace=workspace,
            slug=new_slug(normalized["title"]),
            title=normalized["title"],
            definition=normalized,
            created_by=user,
        )

    def replace_definition(self, definition: Any) -> None:
        """Validate and save a new definition (raises DefinitionError).

        Questions that have answers may only change in ways that keep those answers readable
        (`compatibility`): the builder and the API both save through here.
        """
        normalized = normalize(definition)
        if self.pk is not None:
            compatibility.check(self.definition, normalized, self.answer_counts)
        self.definition = normalized
        self.title = normalized["title"]
        self.version += 1
        self.updated_at = timezone.now()
        self.save(update_fields=["definition", "title", "version", "updated_at"])

    def answer_counts(self, keys: Collection[str]) -> dict[str, int]:
        """Stored answers to each of these question keys (keys without any are left out)."""
        # Through the relations `collect` declares (responses, their answers): the app that
        # stores answers sits above this one and is not imported from here.
        rows = (
            self.responses.filter(answers__question_key__in=list(keys))
            .values_list("answers__question_key")
            .annotate(n=Count("answers"))
        )
        return dict(rows)

    def set_status(self, status: str) -> None:
        self.status = status
        self.updated_at = timezone.now()
        fields = ["status", "updated_at"]
        if status == Status.LIVE and self.published_at is None:
            self.published_at = self.updated_at
            fields.append("published_at")
        self.save(update_fields=fields)

    @property
    def spec(self) -> SurveySpec:
        from sounding.surveys.cache import spec_for

        return spec_for(self)

    @property
    def is_live(self) -> bool:
        return self.status == Status.LIVE

    def public_path(self) -> str:
        from django.urls import reverse

        return reverse("respond", args=[self.slug])
