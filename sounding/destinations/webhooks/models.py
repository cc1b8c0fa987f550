"""Webhook endpoints and the messages owed to them.

An `Endpoint` is a URL a workspace wants answers POSTed to, signed with its secret. A `Message`
is one event about one response (an answer as given, a completion, an erasure), written in the
transaction that caused it, with its body fixed then: retries send the same bytes under the
same `webhook-id`, as the Standard Webhooks specification expects. Which endpoint has taken
which message is kept on the endpoint's push (`Push.acknowledged["events"]`), like every
destination's acknowledgements.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.db import models
from django.utils import timezone

from sounding import vault
from sounding.accounts.models import Workspace
from sounding.answers.models import Response

EVENTS = ("response.answered", "response.completed", "response.erased")
# Standard Webhooks' own advice for rotation: long enough for receivers to deploy the new one.
ROTATION_GRACE = timedelta(hours=24)


def new_message_id() -> str:
    return "msg_" + secrets.token_urlsafe(18)


class Endpoint(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(default=list)
    # Empty with all_surveys: every survey of the workspace, present and future.
    all_surveys = models.BooleanField(default=True)
    survey_ids = models.JSONField(default=list, blank=True)
    enabled = models.BooleanField(default=True)
    # Why it was turned off by Sounding rather than by a person (a 410 Gone).
    disabled_reason = models.TextField(blank=True)
    secret_encrypted = models.TextField()
    # The secret before the last rotation keeps signing beside the new one until this time.
    previous_secret_encrypted = models.TextField(blank=True)
    previous_secret_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.workspace_id}:{self.url}"

    @property
    def kind(self) -> str:
        """The delivery core's name for this endpoint: each has its own lane and pushes, so
        one endpoint's outage or 410 never holds back another's."""
        return f"webhook:{self.pk}"

    def set_secret(self, secret: str) -> None:
        self.secret_encrypted = vault.encrypt(secret)

    def rotate(self, secret: str, now: datetime | None = None) -> None:
        now = now or timezone.now()
        self.previous_secret_encrypted = self.secret_encrypted
        self.previous_secret_until = now + ROTATION_GRACE
        self.set_secret(secret)

    def signing_secrets(self, now: datetime | None = None) -> list[str]:
        """The current secret, then the previous one while its grace period lasts."""
        now = now or timezone.now()
        found = [vault.decrypt(self.secret_encrypted)]
        if (
            self.previous_secret_encrypted
            and self.previous_secret_until
            and now < (self.previous_secret_until)
        ):
            found.append(vault.decrypt(self.previous_secret_encrypted))
        return found

    def covers(self, survey_id: int) -> bool:
        return self.enabled and (self.all_surveys or survey_id in (self.survey_ids or ()))


class Message(models.Model):
    # Goes with the response: its body holds the answers. An erased response stays (emptied)
    # until the pushes owing its `response.erased` message are settled (responses.erasure).
    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="+")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    survey_id = models.BigIntegerField()
    msg_id = models.CharField(max_length=40, unique=True, default=new_message_id)
    type = models.CharField(max_length=40)
    created_at = models.DateTimeField(default=timezone.now)
    # The exact bytes every endpoint receives (signatures cover them).
    body = models.TextField()

    class Meta:
        indexes = [models.Index(fields=["response", "id"], name="webhook_message_by_response")]

    def __str__(self) -> str:
        return f"{self.msg_id}:{self.type}"
