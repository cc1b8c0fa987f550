"""The endpoint form of the settings pages: what a person typed, checked by the same rules as
the API (`endpoints.clean_*`), so each problem shows beside its own field."""

from __future__ import annotations

from typing import Any

from django import forms

from sounding.destinations.webhooks import endpoints
from sounding.destinations.webhooks.models import EVENTS, Endpoint
from sounding.surveys.models import Survey

EVENT_LABELS = {
    "response.answered": "response.answered: each answer, as it is given",
    "response.completed": "response.completed: a respondent reached the end",
    "response.erased": "response.erased: a response was deleted (erase it on your side too)",
}
ALL = "all"
CHOSEN = "chosen"
NO_SURVEY_CHOSEN = "Tick at least one survey, or choose “All surveys”."


class EndpointForm(forms.Form):
    url = forms.CharField(
        label="Endpoint URL",
        max_length=2000,
        # A text input (the app styles those) that phones still type an address into.
        widget=forms.TextInput(
            attrs={"inputmode": "url", "spellcheck": "false", "autocomplete": "off"}
        ),
        help_text="Where Sounding POSTs each event, signed. HTTPS, on a public address; "
        "redirects are not followed.",
        error_messages={"required": "Enter the endpoint’s address."},
    )
    description = forms.CharField(
        label="Description",
        required=False,
        max_length=200,
        help_text="Optional: what receives these events, for the people who read this page.",
    )
    events = forms.MultipleChoiceField(
        label="Events",
        required=False,
        choices=[(e, EVENT_LABELS[e]) for e in EVENTS],
        widget=forms.CheckboxSelectMultiple,
    )
    scope = forms.ChoiceField(
        label="Surveys",
        choices=[
            (ALL, "All surveys, including the ones created later"),
            (CHOSEN, "Only the surveys ticked below"),
        ],
        initial=ALL,
        # Left out (a script's form post): all surveys, as in the API.
        required=False,
        widget=forms.RadioSelect,
    )
    surveys = forms.MultipleChoiceField(
        label="Only these surveys",
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    enabled = forms.BooleanField(
        label="On: send events to this endpoint",
        required=False,
        initial=True,
    )

    def __init__(self, *args: Any, workspace_id: int, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")  # labels sit above their fields: no colon
        super().__init__(*args, **kwargs)
        self.workspace_id = workspace_id
        surveys = self.fields["surveys"]
        assert isinstance(surveys, forms.MultipleChoiceField)
        surveys.choices = [
            (str(pk), title)
            for pk, title in Survey.objects.filter(workspace_id=workspace_id)
            .order_by("title", "pk")
            .values_list("pk", "title")
        ]
        if not self.is_bound and "events" not in self.initial:
            self.initial["events"] = list(EVENTS)

    @staticmethod
    def initial_for(endpoint: Endpoint) -> dict[str, Any]:
        return {
            "url": endpoint.url,
            "description": endpoint.description,
            "events": list(endpoint.events),
            "scope": ALL if endpoint.all_surveys else CHOSEN,
            "surveys": [str(pk) for pk in endpoint.survey_ids or ()],
            "enabled": endpoint.enabled,
        }

    def clean_url(self) -> str:
        return _checked(endpoints.clean_url, self.cleaned_data["url"])

    def clean_events(self) -> list[str]:
        return _checked(endpoints.clean_events, self.cleaned_data["events"])

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("scope") != CHOSEN:
            cleaned["survey_ids"] = []
            return cleaned
        chosen = [int(pk) for pk in cleaned.get("surveys") or ()]
        if not chosen:
            self.add_error("surveys", NO_SURVEY_CHOSEN)
            return cleaned
        try:
            cleaned["survey_ids"] = endpoints.clean_surveys(self.workspace_id, chosen)
        except endpoints.Invalid as error:
            self.add_error("surveys", str(error))
        return cleaned

    def changes(self) -> dict[str, Any]:
        """The keyword arguments `endpoints.update` takes."""
        data = self.cleaned_data
        return {
            "url": data["url"],
            "description": data["description"],
            "events": data["events"],
            "survey_ids": data["survey_ids"],
            "enabled": data["enabled"],
        }

    def show(self, error: endpoints.Invalid) -> None:
        """An input error the service found after the form's own checks (a race, say)."""
        self.add_error(error.field if error.field in self.fields else None, str(error))


def _checked(check: Any, value: Any) -> Any:
    try:
        return check(value)
    except endpoints.Invalid as error:
        raise forms.ValidationError(str(error)) from None
