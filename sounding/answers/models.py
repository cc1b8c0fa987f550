"""Responses and their answers: what respondents said, stored the moment they say it.

The tables keep the names they were created with (`collect_*`, from when the respondent path
owned these models): the respondent path's SQL (`sounding.collect.store`) and every existing
database use them, and renaming a table holding every answer buys nothing.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.db import models
from django.utils import timezone

from sounding import destinations
from sounding.surveys.models import Survey


def normalize_identity(kind: str, value: str) -> str:
    """The identity as stored and looked up: an email in any case, with stray spaces, is one
    person (`IVY@x.test ` and `ivy@x.test` are one response). Other identifiers are ids a
    destination gave, compared exactly."""
    value = value.strip()
    return value.lower() if kind == "email" else value


def new_token() -> str:
    # One in 64 url-safe tokens would start with "-", which a spreadsheet opening an export
    # reads as a formula, so the CSV export has to defuse it and the column no longer joins
    # with the token anywhere else. A token never starts with one.
    while (token := secrets.token_urlsafe(18)).startswith("-"):
        pass
    return token


class Response(models.Model):
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="responses")
    # Public handle of a response in forms and cookies; the primary key is never exposed.
    token = models.CharField(max_length=32, unique=True, default=new_token)
    # NULL for anonymous respondents: NULLs never collide in a unique index, so one plain
    # index both finds a returning respondent and forbids a duplicate response.
    identity_kind = models.CharField(max_length=12, null=True, blank=True)  # noqa: DJ001
    identity_value = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    # Every identifier the link named the respondent by, by identity name ("email" ->
    # "ivy@x.test"): the destinations own the identities (`destinations.identities()`), so a
    # new one needs no column. `identity_kind`/`identity_value` hold the one that decides
    # whose response it is.
    identities = models.JSONField(default=dict, blank=True)
    hidden = models.JSONField(default=dict, blank=True)
    language = models.CharField(max_length=10, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)
    # Bumped by every change to the answers; destinations compare it with what they sent.
    answers_version = models.PositiveIntegerField(default=0)
    # Set when the response was deleted with "also clear its answers" at a destination: its
    # answers are gone and the row stays only until the destination has taken the nulls
    # (sounding.responses.erasure).
    erase_requested_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            # One response per person per survey, even when two requests race to create it.
            models.UniqueConstraint(
                fields=["survey", "identity_kind", "identity_value"],
                name="one_response_per_identity",
            )
        ]
        indexes = [
            models.Index(fields=["survey", "-started_at"]),
            # Partial: holds only the responses being erased, so the worker's sweep reads an
            # empty index on almost every poll.
            models.Index(
                fields=["erase_requested_at"],
                condition=models.Q(erase_requested_at__isnull=False),
                name="response_erasing",
            ),
        ]
        db_table = "collect_response"

    def __str__(self) -> str:
        return f"{self.survey_id}:{self.identity_value or self.token}"

    @property
    def identity(self) -> dict[str, str]:
        """Each identity some destination knows, in their order of precedence: "" when the
        link did not carry it."""
        held = self.identities if isinstance(self.identities, dict) else {}
        return {name: str(held.get(name) or "") for name in destinations.identities()}


class Answer(models.Model):
    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="answers")
    question_key = models.CharField(max_length=64)
    value = models.JSONField()
    answered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["response", "question_key"], name="one_answer_per_question"
            )
        ]
        db_table = "collect_answer"

    def __str__(self) -> str:
        return f"{self.question_key}={self.value!r}"


class LinkClick(models.Model):
    """A link that carried an answer was opened: what it meant to say, never an answer.

    Mail scanners open every link of an email, so a one-click score only counts once the
    person confirms it (sounding.collect.clicks). The click is kept to tell a person from a
    scanner (several different answers from one person within seconds), and so that a
    response can show "clicked 9, not confirmed".
    """

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="+")
    # The link's identity ("external_id:u-1"), or for an anonymous link a keyed hash of the
    # client address: clicks are compared within one person, never shown by who.
    who = models.CharField(max_length=300)
    question_key = models.CharField(max_length=64)
    value = models.CharField(max_length=255)
    method = models.CharField(max_length=4)
    at = models.DateTimeField(default=timezone.now)
    suspected = models.BooleanField(default=False)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["survey", "who", "at"]), models.Index(fields=["at"])]
        db_table = "collect_linkclick"

    def __str__(self) -> str:
        return f"{self.who} clicked {self.question_key}={self.value}"


# Kept as long as the delivery log: long enough to explain a profile, short enough to
# forget whose address clicked what.
CLICKS_KEEP_DAYS = 30


def prune_clicks(batch: int = 5000) -> int:
    """Forget clicks older than CLICKS_KEEP_DAYS, a batch at a time (short transactions)."""
    cutoff = timezone.now() - timedelta(days=CLICKS_KEEP_DAYS)
    old = list(LinkClick.objects.filter(at__lt=cutoff).values_list("id", flat=True)[:batch])
    if old:
        LinkClick.objects.filter(id__in=old).delete()
    return len(old)
