"""Forms of the deletion pages."""

from __future__ import annotations

from typing import Any

from django import forms

from sounding.responses.display import IDENTITY_LABELS

CLEAR_LABEL = "Also clear the answers it wrote in Braze"
CLEAR_LABEL_MANY = "Also clear the answers they wrote in Braze"
CLEAR_HELP = (
    "Braze gets an empty value for each attribute these answers set on the profile; the "
    "response is removed as soon as Braze has taken them. Events already recorded in Braze "
    "stay there."
)


class Form(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")  # labels sit above their fields: no colon
        super().__init__(*args, **kwargs)


class DeleteForm(Form):
    clear_braze = forms.BooleanField(label=CLEAR_LABEL, required=False, help_text=CLEAR_HELP)


class PersonForm(Form):
    identifier = forms.ChoiceField(
        label="Identifier",
        choices=list(IDENTITY_LABELS.items()),
        help_text="What the survey links carried for this person.",
    )
    value = forms.CharField(
        label="Value",
        max_length=255,
        help_text="Exactly as in the link; emails match in any case.",
    )

    def clean_value(self) -> str:
        value: str = self.cleaned_data["value"].strip()
        if "\x00" in value:
            raise forms.ValidationError("Remove the NUL character.")
        if not value:
            raise forms.ValidationError("Enter the identifier’s value.")
        return value


class ErasePersonForm(PersonForm):
    clear_braze = forms.BooleanField(label=CLEAR_LABEL_MANY, required=False, help_text=CLEAR_HELP)
