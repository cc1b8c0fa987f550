"""The report's filters: which responses the figures count.

A GET form, so a filtered report can be bookmarked and shared. The parameter names and values
are those of the responses page (`since`, `until`, `completion`, and each destination's sync
state parameter), so the same query string selects the same responses on both. The report adds
its own: `period` (the last 7, 30 or 90 days, instead of dates), `bucket` (a trend's day, week
or month) and `by` (what every closed question is broken down by).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from sounding import destinations
from sounding.answers.models import Answer, Response
from sounding.delivery import status
from sounding.delivery.models import Push, PushState
from sounding.reports import periods
from sounding.reports.stats import GROUPED_TYPES
from sounding.responses.erasure import visible
from sounding.surveys.models import Survey
from sounding.surveys.spec import SurveySpec

COMPLETION = [("", "All responses"), ("completed", "Completed"), ("in_progress", "Incomplete")]
SYNC = [
    ("", "Any state"),
    (PushState.SYNCED.value, "Synced"),
    (PushState.PENDING.value, "Pending"),
    (PushState.FAILED.value, "Failed"),
    (status.NOT_SENT, "Not sent"),
]


LANGUAGE = "language"


def params() -> tuple[str, ...]:
    return (
        "period",
        "since",
        "until",
        "completion",
        *(p.filter_param for p in destinations.tracked()),
        "bucket",
        "by",
    )


def breakdowns(spec: SurveySpec | None) -> list[tuple[str, str]]:
    """What the report can break its closed questions down by: another closed question, a
    hidden field the survey declares, or the response's language. (Responses do not record a
    channel; a declared hidden field such as `utm_medium` stands for one.)"""
    out = [("", "Nothing")]
    if spec is None:
        return out
    for i, q in enumerate(spec.questions):
        if q.type in GROUPED_TYPES:
            prompt = q.prompt if len(q.prompt) <= 60 else q.prompt[:59].rstrip() + "…"
            out.append((f"q:{q.key}", f"Question {i + 1}: {prompt}"))
    out += [(f"hidden:{name}", f"Hidden field “{name}”") for name in spec.hidden_fields]
    out.append((LANGUAGE, "Language"))
    return out


class DateInput(forms.DateInput):
    input_type = "date"


class ReportFilters(forms.Form):
    period = forms.ChoiceField(choices=periods.PERIODS, required=False, label="Period")
    since = forms.DateField(
        required=False,
        label="Started from",
        widget=DateInput(format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d"],
        error_messages={"invalid": "Enter a date as YYYY-MM-DD, for example 2026-01-31."},
    )
    until = forms.DateField(
        required=False,
        label="Started to",
        help_text="Included.",
        widget=DateInput(format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d"],
        error_messages={"invalid": "Enter a date as YYYY-MM-DD, for example 2026-01-31."},
    )
    completion = forms.ChoiceField(choices=COMPLETION, required=False, label="Completion")

    def __init__(self, *args: Any, spec: SurveySpec | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["period"].error_messages["invalid_choice"] = (
            "Choose the last 7, 30 or 90 days, or dates below."
        )
        self.fields["completion"].error_messages["invalid_choice"] = (
            "Choose all responses, completed or incomplete."
        )
        for plugin in destinations.tracked():
            field = forms.ChoiceField(choices=SYNC, required=False, label=f"{plugin.label} sync")
            field.error_messages["invalid_choice"] = (
                "Choose any state, synced, pending, failed or not sent."
            )
            self.fields[plugin.filter_param] = field
        bucket = forms.ChoiceField(choices=periods.BUCKETS, required=False, label="Trend by")
        bucket.error_messages["invalid_choice"] = "Choose day, week or month."
        self.fields["bucket"] = bucket
        by = forms.ChoiceField(choices=breakdowns(spec), required=False, label="Break down by")
        by.error_messages["invalid_choice"] = (
            "Choose a closed question, a hidden field the survey declares, or the language."
        )
        self.fields["by"] = by

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None  # Form.clean returns cleaned_data
        since, until = data.get("since"), data.get("until")
        if data.get("period") and (since or until):
            self.add_error("period", "Choose a period or dates, not both.")
        elif data.get("period"):
            # The named days, kept as dates so the rest of the report reads one kind of range.
            data["until"] = timezone.localdate()
            data["since"] = data["until"] - timedelta(days=int(data["period"]) - 1)
        elif since and until and since > until:
            self.add_error("until", "The end date must not be before the start date.")
        data["bucket"] = data.get("bucket") or periods.DEFAULT_BUCKET
        return data


def counted(data: dict[str, Any]) -> dict[str, Any]:
    """The filters that choose responses (not how they are shown), to key kept tallies on."""
    return {k: v for k, v in data.items() if k not in ("period", "bucket", "by")}


def span(data: dict[str, Any]) -> periods.Span | None:
    """The days the filters choose, when they start somewhere (an open end is today)."""
    if not data.get("since"):
        return None
    return periods.Span(data["since"], data.get("until") or timezone.localdate())


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _pushes(prefix: str, kind: str, state: str | None = None) -> Exists:
    found = Push.objects.filter(response=OuterRef(f"{prefix}pk"), destination=kind)
    return Exists(found.filter(state=state) if state else found)


def conditions(data: dict[str, Any], prefix: str = "") -> Q:
    """A valid form's `cleaned_data` as a condition on responses; with `prefix="response__"`,
    on answers, so a query of answers filters on its own join (and can walk an index in order)
    rather than on a list of response ids."""
    found = Q()
    if data.get("since"):
        found &= Q(**{f"{prefix}started_at__gte": _start_of(data["since"])})
    if data.get("until"):
        found &= Q(**{f"{prefix}started_at__lt": _start_of(data["until"] + timedelta(days=1))})
    if data.get("completion") == "completed":
        found &= Q(**{f"{prefix}completed_at__isnull": False})
    elif data.get("completion") == "in_progress":
        found &= Q(**{f"{prefix}completed_at__isnull": True})
    for plugin in destinations.tracked():
        sync = data.get(plugin.filter_param)
        if sync == status.NOT_SENT:
            # As on the Deliveries page: no push, or a withdrawn one, means nothing is sent.
            found &= ~_pushes(prefix, plugin.kind) | _pushes(
                prefix, plugin.kind, PushState.WITHDRAWN
            )
        elif sync:
            # Wrapped, or `Q() & Exists` would return the bare Exists (the same SQL, not a Q).
            found &= Q(_pushes(prefix, plugin.kind, sync))
    return found


def responses(survey: Survey, data: dict[str, Any]) -> QuerySet[Response]:
    """The survey's responses the filters keep, leaving out those being erased."""
    return visible(Response.objects.filter(survey=survey).filter(conditions(data)))


def answers(survey: Survey, data: dict[str, Any]) -> QuerySet[Answer]:
    """The answers of those responses. (A response being erased has no answers left.)"""
    found = Answer.objects.filter(response__survey=survey)
    return found.filter(conditions(data, "response__"))


def active(data: dict[str, Any]) -> list[str]:
    """The filters in force, in words ("Completed", "<destination>: Failed", ...)."""
    out = []
    if data.get("period"):
        out.append(dict(periods.PERIODS)[data["period"]])
    elif data.get("since"):
        out.append(f"Started from {data['since']:%-d %b %Y}")
    if data.get("until") and not data.get("period"):
        out.append(f"Started to {data['until']:%-d %b %Y}")
    if data.get("completion"):
        out.append(dict(COMPLETION)[data["completion"]])
    for plugin in destinations.tracked():
        if data.get(plugin.filter_param):
            out.append(f"{plugin.label}: {dict(SYNC)[data[plugin.filter_param]]}")
    return out
