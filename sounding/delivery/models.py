"""The outbox: one row per response and destination, saying what is owed to it.

A row is written (or bumped) in the same transaction as the answer that makes it due, so an
answer is never stored without its pending push. The worker compares `wanted_version` with
`sent_version` to know whether anything is still owed, and always sends the response's
*current* answers, so a late retry can never replace a newer answer with an older one.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from sounding.collect.models import Response


class PushState(models.TextChoices):
    PENDING = "pending", "Pending"
    SYNCED = "synced", "Synced"
    FAILED = "failed", "Failed"


class Push(models.Model):
    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="pushes")
    destination = models.CharField(max_length=40)
    state = models.CharField(max_length=10, choices=PushState.choices, default=PushState.PENDING)
    wanted_version = models.PositiveIntegerField(default=0)
    sent_version = models.PositiveIntegerField(default=0)
    # A worker's lease: whoever set claimed_by owns the row until claimed_until.
    claimed_by = models.CharField(max_length=64, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # What the destination last acknowledged, so only changed values are sent again.
    acknowledged = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["response", "destination"], name="one_push_per_destination"
            )
        ]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="push_due")]

    def __str__(self) -> str:
        return f"{self.destination}:{self.response_id}:{self.state}"
