"""Setting Braze up: the workspace's connection and each survey's integration.

The forms read what a person typed; `setup` saves it, for the pages and the API alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms

from sounding.destinations.braze import clusters, mapping, signing
from sounding.destinations.braze.models import (
    BatchLimit,
    BrazeSettings,
    Identifier,
    RenameMode,
    SurveyBraze,
)
from sounding.destinations.braze.setup import blocking_problems, pinned_after, renames_in
from sounding.surveys.edits import type_label
from sounding.surveys.spec import SurveySpec

OTHER = "other"
MAX_KEY_LENGTH = 200
# Braze's default limit is 1,000 requests a second; ten times that leaves room for any plan.
MAX_REQUESTS_PER_SECOND = 10_000
CLUSTER_CHOICES = [
    ("", "Choose your cluster"),
    *((c.name, f"{c.name} ({c.dashboard})") for c in clusters.CLUSTERS),
    (OTHER, "Other / paste an address"),
]
CLUSTER_NAMES = frozenset(c.name for c in clusters.CLUSTERS)
# How a customer tells which request size their Braze contract allows (docs/braze.md).
BATCH_LIMIT_HELP = (
    "How many objects Braze takes in one request depends on your contract. Most accounts: 75 "
    "together. Contracts priced by monthly active users (MAU): 50 together. Only accounts "
    "still on Braze’s older rule take 75 attributes and 75 events. If unsure, ask your Braze "
    "account manager, or choose 50: every account accepts it."
)
NEED_KEY = (
    "Paste a REST API key from Braze (Settings → APIs and Identifiers). It needs the "
    "users.track permission."
)


class Form(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")  # labels sit above their fields: no colon
        super().__init__(*args, **kwargs)


def key_problem(key: str) -> str | None:
    """Why a pasted API key cannot be right, or None."""
    if len(key) > MAX_KEY_LENGTH:
        return f"This is longer than any Braze API key ({len(key)} characters): paste only the key."
    if any(c.isspace() or not c.isprintable() for c in key):
        return "An API key has no spaces or line breaks: paste only the key."
    return None


def masked(found: BrazeSettings | None) -> str:
    """How a stored key is shown: never the key, at most its last four characters."""
    if found is None or not found.has_key:
        return ""
    return f"•••• {found.key_hint}" if found.key_hint else "•••• (saved)"


class ConnectionForm(Form):
    cluster = forms.ChoiceField(
        label="Braze cluster",
        choices=CLUSTER_CHOICES,
        required=False,
        help_text="It is in the address you sign in to Braze with: dashboard-03.braze.com is "
        "US-03.",
    )
    endpoint = forms.CharField(
        label="Or paste an address",
        required=False,
        max_length=300,
        help_text="Your REST endpoint (https://rest.iad-03.braze.com) or your Braze dashboard’s "
        "address. Used when no cluster is chosen above, or “Other”.",
    )
    api_key = forms.CharField(
        label="REST API key",
        required=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password", "spellcheck": "false"}),
        help_text=NEED_KEY,
    )
    requests_per_second = forms.IntegerField(
        label="Requests per second",
        required=False,
        min_value=1,
        max_value=MAX_REQUESTS_PER_SECOND,
        help_text="Optional. The most Sounding may send to Braze each second, to leave room for "
        "your other integrations. Empty means up to Braze’s own limit.",
    )
    batch_limit = forms.ChoiceField(
        label="Objects per request",
        choices=BatchLimit.choices,
        required=False,
        initial=BatchLimit.COMBINED_75,
        widget=forms.RadioSelect,
        help_text=BATCH_LIMIT_HELP,
    )

    def __init__(
        self,
        *args: Any,
        stored: BrazeSettings | None = None,
        tested_key: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.stored = stored
        self.tested_key = tested_key
        key = self.fields["api_key"]
        if tested_key:
            key.widget.attrs["placeholder"] = f"•••• {tested_key[-4:]} (tested)"
            key.help_text = (
                f"The key you tested (ending {tested_key[-4:]}) is kept for Save. "
                "Leave this empty to save it, or paste another one."
            )
        elif stored is not None and stored.has_key:
            key.widget.attrs["placeholder"] = masked(stored)
            key.help_text = "A key is saved. Leave this empty to keep it, or paste a new one."

    @classmethod
    def initial_for(cls, stored: BrazeSettings | None) -> dict[str, Any]:
        if stored is None:
            return {}
        name = clusters.name_of(stored.rest_endpoint)
        custom = name not in CLUSTER_NAMES
        return {
            "cluster": OTHER if custom else name,
            "endpoint": stored.rest_endpoint if custom else "",
            "requests_per_second": stored.requests_per_second,
            "batch_limit": stored.batch_limit,
        }

    def clean_batch_limit(self) -> str:
        """Left unchosen: what is saved, or Braze's current rule."""
        chosen: str = self.cleaned_data["batch_limit"]
        if chosen:
            return chosen
        return self.stored.batch_limit if self.stored is not None else BatchLimit.COMBINED_75

    def clean_api_key(self) -> str:
        key: str = self.cleaned_data["api_key"]
        if key and (problem := key_problem(key)):
            raise forms.ValidationError(problem)
        if not key and self.tested_key:
            return self.tested_key
        if not key and (self.stored is None or not self.stored.has_key):
            raise forms.ValidationError(NEED_KEY)
        return key

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        choice = cleaned.get("cluster", "")
        if choice in CLUSTER_NAMES:
            cleaned["rest_endpoint"] = clusters.resolve(choice)
            return cleaned
        text = cleaned.get("endpoint", "")
        try:
            cleaned["rest_endpoint"] = clusters.resolve(text)
        except clusters.EndpointError as error:
            # Nothing chosen and nothing pasted: the list is where to start.
            self.add_error("cluster" if not choice and not text.strip() else "endpoint", str(error))
        return cleaned


class SurveyBrazeForm(Form):
    """The on/off switch, the identifier, the events, and one row per question."""

    enabled = forms.BooleanField(label="Send answers to Braze", required=False)
    identifier = forms.ChoiceField(
        label="Who is answering",
        choices=Identifier.choices,
        widget=forms.RadioSelect,
        help_text="What the survey link carries to find the person’s Braze profile.",
    )
    signed_links = forms.BooleanField(
        label="Sign the links",
        required=False,
        help_text="Braze adds a signature made with this survey’s secret to each link, and "
        "the survey refuses a link whose person was changed by hand, or that has no person.",
    )
    per_answer_events = forms.BooleanField(
        label="Send an event for each answer (sounding_question_answered)",
        required=False,
        help_text="Sent each time someone answers a question, with the survey, the question "
        "and the answer, so a Canvas can react at once.",
    )
    completion_event = forms.BooleanField(
        label="Send an event when someone finishes (sounding_survey_completed)",
        required=False,
        help_text="Sent once when someone reaches the end of the survey, with the survey’s id "
        "and title.",
    )
    # Asked only when a save renames an attribute Braze holds (see setup.rename_attributes).
    rename_profiles = forms.ChoiceField(
        label="The profiles that already have the old attribute",
        choices=RenameMode.choices,
        required=False,
        widget=forms.RadioSelect,
    )

    def __init__(
        self,
        *args: Any,
        spec: SurveySpec,
        config: SurveyBraze,
        owed: int,
        warnings: Mapping[str, str] | None = None,
        read_only: bool = False,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("initial", self.initial_for(spec, config))
        super().__init__(*args, **kwargs)
        self.spec = spec
        self.config = config
        # Problems of the saved setup (a prompt edited since), shown before anything is typed.
        self.warnings = dict(warnings or {})
        for q in spec.questions:
            self.fields[f"sync_{q.key}"] = forms.BooleanField(required=False, label="Sync")
            held = config.pinned_names.get(q.key)
            attrs = {"placeholder": held or q.prompt, "spellcheck": "false"}
            if q.key in self.warnings:
                attrs |= {"aria-describedby": f"warn_{q.key}", "aria-invalid": "true"}
            self.fields[f"name_{q.key}"] = forms.CharField(
                required=False, label="Attribute name", widget=forms.TextInput(attrs=attrs)
            )
        if owed:
            self.fields["backfill"] = forms.BooleanField(
                required=False,
                label=f"Also send the {owed} existing response{'s' * (owed != 1)}",
                help_text="Answers given before the integration was on, or held back while "
                "it was off. They are sent in the background, paced like new answers.",
            )
        for field in self.fields.values():
            field.disabled = read_only

    @staticmethod
    def initial_for(spec: SurveySpec, config: SurveyBraze) -> dict[str, Any]:
        initial: dict[str, Any] = {
            "enabled": config.enabled,
            "identifier": config.identifier,
            "signed_links": config.signed_links,
            "per_answer_events": config.per_answer_events,
            "completion_event": config.completion_event,
        }
        for q in spec.questions:
            name = config.attribute_names.get(q.key, "")
            initial[f"sync_{q.key}"] = q.key not in config.attribute_names or name is not None
            initial[f"name_{q.key}"] = name or ""
        return initial

    def overrides(self) -> dict[str, str | None]:
        """Question key -> name as stored: None leaves it out, a blank name means the prompt."""
        names: dict[str, str | None] = {}
        for q in self.spec.questions:
            if not self.cleaned_data.get(f"sync_{q.key}"):
                names[q.key] = None
            elif typed := self.cleaned_data.get(f"name_{q.key}"):
                names[q.key] = typed
        return names

    def renames(self) -> dict[str, tuple[str, str]]:
        """Question key -> (name Braze holds, new name) for the names this form changes."""
        return renames_in(self.spec, self.config, self.overrides())

    def validate_names(self) -> bool:
        """Show each name problem beside its row; True when there is none that blocks."""
        overrides = self.overrides()
        given = [key for key, name in overrides.items() if name is not None]
        enabled = self.cleaned_data.get("enabled", False)
        pinned = pinned_after(self.config, self.renames())
        problems = blocking_problems(self.spec, overrides, enabled, given, pinned)
        for key, message in problems.items():
            self.add_error(f"name_{key}", message)
        return not problems

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("backfill") and not cleaned.get("enabled"):
            self.add_error(
                "backfill", "Turn on “Send answers to Braze” to send the existing responses too."
            )
        return cleaned

    def apply(self, config: SurveyBraze) -> None:
        data = self.cleaned_data
        config.enabled = data["enabled"]
        config.identifier = data["identifier"]
        signing.set_signed(config, data["signed_links"])
        config.attribute_names = self.overrides()
        config.per_answer_events = data["per_answer_events"]
        config.completion_event = data["completion_event"]

    def rows(self) -> list[dict[str, Any]]:
        """One row per question, for the mapping table."""
        kept = self.config.kept_names(self.spec)
        others = mapping.other_names(self.spec, self.config.names(self.spec))
        return [
            {
                "question": q,
                "type_label": type_label(q.type),
                "sync": self[f"sync_{q.key}"],
                "name": self[f"name_{q.key}"],
                "warning": self.warnings.get(q.key, ""),
                "kept": kept.get(q.key, ""),
                "other": others.get(q.key, ""),
            }
            for q in self.spec.questions
        ]
