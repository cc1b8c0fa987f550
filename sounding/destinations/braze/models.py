"""Braze settings: the workspace's connection, and each survey's integration."""

from __future__ import annotations

from collections.abc import Mapping

from django.db import models, transaction
from django.utils import timezone

from sounding import vault
from sounding.accounts.models import User, Workspace
from sounding.destinations.braze import mapping
from sounding.surveys.models import Survey
from sounding.surveys.spec import SurveySpec


class Identifier(models.TextChoices):
    BRAZE_ID = "braze_id", "Braze ID"
    EXTERNAL_ID = "external_id", "External ID"
    EMAIL = "email", "Email address"


class RenameMode(models.TextChoices):
    """What renaming an attribute Braze already holds does to the profiles that hold it."""

    MOVE = "move", "Move: send their answers under the new name and remove the old one (null)"
    COPY = "copy", "Copy: send their answers under the new name and keep the old attribute"
    KEEP = "keep", "Leave them: their answers use the new name when they are next sent"


class BatchLimit(models.TextChoices):
    """How many objects Braze lets one /users/track request carry, by the customer's contract
    (the stand-in's `standin_rules.BATCH_LIMITS` use the same names)."""

    COMBINED_75 = "75_combined", "75 objects, attributes and events together"
    COMBINED_50 = "50_combined", "50 objects, attributes and events together"
    PER_ARRAY_75 = "75_per_array", "75 attributes and 75 events"


class BrazeSettings(models.Model):
    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, related_name="braze")
    rest_endpoint = models.CharField(max_length=200)
    # Fernet token (see sounding.vault); the key itself is never stored or shown in clear.
    api_key_encrypted = models.TextField(blank=True)
    key_hint = models.CharField(max_length=8, blank=True)
    # Requests per second this workspace may spend; empty means Braze's own limit only.
    requests_per_second = models.PositiveIntegerField(null=True, blank=True)
    # Objects per request that the customer's Braze contract allows.
    batch_limit = models.CharField(
        max_length=16, choices=BatchLimit.choices, default=BatchLimit.COMBINED_75
    )
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        verbose_name_plural = "Braze settings"

    def __str__(self) -> str:
        return f"{self.workspace}: {self.rest_endpoint}"

    @property
    def has_key(self) -> bool:
        return bool(self.api_key_encrypted)

    def set_api_key(self, raw: str) -> None:
        self.api_key_encrypted = vault.encrypt(raw)
        self.key_hint = raw[-4:] if len(raw) >= 12 else ""

    def api_key(self) -> str:
        return vault.decrypt(self.api_key_encrypted) if self.api_key_encrypted else ""


class SurveyBraze(models.Model):
    survey = models.OneToOneField(Survey, on_delete=models.CASCADE, related_name="braze")
    enabled = models.BooleanField(default=False)
    identifier = models.CharField(
        max_length=12, choices=Identifier.choices, default=Identifier.BRAZE_ID
    )
    # Question key -> attribute name; a key missing here uses the prompt, null leaves it out.
    attribute_names = models.JSONField(default=dict, blank=True)
    # Question key -> the name Braze holds its answers under, set when the first answer goes
    # out under it. Rewording the question keeps it, so segments on it keep matching; only a
    # rename (setup.rename_attributes) changes it. Written only with the row locked.
    pinned_names = models.JSONField(default=dict, blank=True)
    # Names renamed away from whose values are still to be removed (null) from the profiles
    # that hold them.
    retired_names = models.JSONField(default=list, blank=True)
    per_answer_events = models.BooleanField(default=False)
    completion_event = models.BooleanField(default=False)
    # Signed links (sounding.destinations.braze.signing): the respondent page refuses a link
    # whose identity does not carry a signature made with one of these secrets. Both are
    # Fernet tokens, like the API key; the previous one is accepted until its expiry.
    signed_links = models.BooleanField(default=False)
    signing_secret_encrypted = models.TextField(blank=True)
    signing_secret_created_at = models.DateTimeField(null=True, blank=True)
    previous_secret_encrypted = models.TextField(blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    # Links signed over the identifier's value alone (before its kind was signed too) are
    # accepted until then: set once, by the upgrade, for the secrets that existed before it.
    legacy_signatures_until = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.survey}: {'on' if self.enabled else 'off'}"

    def names(self, spec: SurveySpec) -> dict[str, str]:
        """Question key -> the attribute name in use, for the synced questions."""
        return mapping.attribute_names(spec, self.attribute_names, self.pinned_names)

    def kept_names(self, spec: SurveySpec) -> dict[str, str]:
        """Questions reworded since Braze got their answers: key -> the name kept."""
        return {
            key: name
            for key, name in self.pinned_names.items()
            if (q := spec.get(key)) is not None
            and key not in self.attribute_names
            and name != q.prompt
        }

    @classmethod
    def pin(cls, survey_id: int, names: Mapping[str, str]) -> None:
        """Keep these names for their questions, unless a question has one kept already."""
        with transaction.atomic():
            found = cls.objects.select_for_update().filter(survey_id=survey_id).first()
            if found is None:
                return
            pinned = {**names, **found.pinned_names}
            if pinned != found.pinned_names:
                cls.objects.filter(pk=found.pk).update(pinned_names=pinned)

    def signing_secret(self) -> str:
        """The current secret in clear (raises VaultError when it cannot be decrypted)."""
        return vault.decrypt(self.signing_secret_encrypted) if self.signing_secret_encrypted else ""

    def previous_secret(self) -> str:
        if not self.previous_secret_encrypted:
            return ""
        return vault.decrypt(self.previous_secret_encrypted)
