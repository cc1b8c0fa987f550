"""The outbox and its record.

`Push`: one row per response and destination, saying what is owed to it and what the
destination acknowledged (kept when nothing is owed any more: `PushState.WITHDRAWN`). A row is
written (or bumped) in the same transaction as the answer that makes it due, so an answer is
never stored without its pending push. The worker compares `wanted_version` with
`sent_version` to know whether anything is still owed, and always sends the response's
*current* answers, so a late retry can never replace a newer answer with an older one.

`Lane`: one per workspace and destination: where pacing (rate limits), pauses (refused
credentials) and outages (the destination failing every request) are kept, shared by every
worker process.

`Attempt`: one row per push per request, written before the request goes out: the delivery log.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from sounding.accounts.models import Workspace
from sounding.answers.models import Response


class PushState(models.TextChoices):
    PENDING = "pending", "Pending"
    SYNCED = "synced", "Synced"
    FAILED = "failed", "Failed"
    # The destination was turned off for the survey while the push was owed: nothing is owed
    # now, but the row stays for what the destination acknowledged (an event sent again would
    # be counted again), until an answer or "Resend all" makes it pending once more.
    WITHDRAWN = "withdrawn", "Withdrawn"


class Push(models.Model):
    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="pushes")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    destination = models.CharField(max_length=40)
    # Who the push is about at the destination ("external_id:abc"): two pushes for the same
    # person are never in flight at once.
    user_key = models.CharField(max_length=300)
    state = models.CharField(max_length=10, choices=PushState.choices, default=PushState.PENDING)
    wanted_version = models.PositiveIntegerField(default=0)
    sent_version = models.PositiveIntegerField(default=0)
    # A worker's lease: whoever set claimed_by owns the row until claimed_until.
    claimed_by = models.CharField(max_length=64, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # Failed tries since the last success: drives the backoff.
    attempts = models.PositiveIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # What the destination acknowledged: {"attributes": {name: value}, "events": {id: when}},
    # so only changed values are sent again and no acknowledged event is ever re-sent.
    acknowledged = models.JSONField(default=dict, blank=True)
    # Events re-sent after a request whose outcome was unknown (they may arrive twice).
    ambiguous_events = models.PositiveIntegerField(default=0)
    notes = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["response", "destination"], name="one_push_per_destination"
            )
        ]
        indexes = [
            models.Index(fields=["destination", "state", "next_attempt_at"], name="push_due"),
            # A workspace's oldest due push, one look per workspace when claims take turns.
            models.Index(
                fields=["workspace", "destination", "state", "next_attempt_at"],
                name="push_due_by_workspace",
            ),
            models.Index(fields=["claimed_until"], name="push_claimed"),
        ]

    def __str__(self) -> str:
        return f"{self.destination}:{self.response_id}:{self.state}"


class Lane(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="lanes")
    destination = models.CharField(max_length=40)
    # Set when the destination refused our credentials: nothing is sent until they change.
    paused_reason = models.TextField(blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    # Rate limits: no request before this time.
    blocked_until = models.DateTimeField(null=True, blank=True)
    # The next free slot under the workspace's own request budget.
    next_slot_at = models.DateTimeField(null=True, blank=True)
    # When a worker last claimed the workspace's pushes: whose turn it is (`claim.turns`).
    claimed_at = models.DateTimeField(null=True, blank=True)
    # An outage: requests in a row that failed as a whole (5xx, timeouts, dropped connections)
    # since the last success, and when the first of them failed. Meanwhile the lane sends one
    # request at a time, not before `probe_at`; the first success clears all three.
    failures = models.PositiveIntegerField(default=0)
    failing_since = models.DateTimeField(null=True, blank=True)
    probe_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "destination"], name="one_lane")
        ]

    def __str__(self) -> str:
        return f"{self.workspace_id}:{self.destination}"


class Outcome(models.TextChoices):
    SENDING = "sending", "Sending"
    OK = "ok", "Delivered"
    RETRY = "retry", "Will retry"
    RATE_LIMITED = "rate_limited", "Rate limited"
    FAILED = "failed", "Failed"
    PAUSED = "paused", "Paused"


class Attempt(models.Model):
    push = models.ForeignKey(Push, on_delete=models.CASCADE, related_name="attempts_log")
    request_id = models.CharField(max_length=32)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.SENDING)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    detail = models.TextField(blank=True)
    # How many objects the whole request carried, and what it carried for this push.
    request_objects = models.PositiveSmallIntegerField(default=0)
    payload = models.JSONField(default=list)
    # Events among this push's objects: if the request's outcome is never recorded (its worker
    # died), they may have arrived, and their re-send is counted as ambiguous.
    events = models.PositiveSmallIntegerField(default=0)
    # Attribute names among this push's objects: if the outcome is never recorded, the values
    # they carried may or may not be on the profile (`unconfirmed`).
    attributes = models.JSONField(default=list)

    class Meta:
        indexes = [
            models.Index(fields=["push", "-id"], name="attempt_by_push"),
            models.Index(fields=["request_id"], name="attempt_by_request"),
        ]

    def __str__(self) -> str:
        return f"{self.request_id}:{self.push_id}:{self.outcome}"


class Counter(models.Model):
    """Monotonic counters for /metrics, kept in the database so every worker adds to them."""

    name = models.CharField(max_length=80, primary_key=True)
    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name}={self.value}"


class Worker(models.Model):
    """A running delivery worker, alive as long as `beat_at` keeps moving: a thread of the
    worker touches it every few seconds (sounding.delivery.heartbeat). Its id is what it writes
    in `Push.claimed_by`; host and pid only tell people where it runs."""

    id = models.CharField(max_length=64, primary_key=True)
    host = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField(default=timezone.now)
    beat_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.id
