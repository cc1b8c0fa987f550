"""Forms of the deletion pages."""

from __future__ import annotations

from typing import Any

from django import forms

from sounding import destinations


def _identifiers() -> list[tuple[str, str]]:
    return [(i.name, i.label) for i in destinations.identities().values()]


class Form(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")  # labels sit above their fields: no colon
        super().__init__(*args, **kwargs)


class ClearingForm(Form):
    """A deletion that may also clear what destinations hold."""

    whose = "it"
    clear_destinations = forms.BooleanField(required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        clearing = [p for p in destinations.plugins() if p.clears]
        where = " and ".join(p.label for p in clearing)
        field = self.fields["clear_destinations"]
        field.label = f"Also clear the answers {self.whose} wrote in {where}"
        field.help_text = " ".join(p.clearing_help for p in clearing)


class DeleteForm(ClearingForm):
    pass


class PersonForm(Form):
    identifier = forms.ChoiceField(
        label="Identifier",
        choices=_identifiers,
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


class ErasePersonForm(ClearingForm, PersonForm):
    whose = "they"
