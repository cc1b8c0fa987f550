"""The branding forms: the workspace's brand, and a survey's overrides of it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.utils.functional import Promise

from sounding.branding.contrast import ColourError, normalize_hex
from sounding.branding.images import MAX_BYTES, Image, ImageError, read_image
from sounding.branding.models import (
    Fill,
    Font,
    LogoChoice,
    Shape,
    SurveyBrand,
    WorkspaceBrand,
)
from sounding.branding.resolve import FIELDS, Choices, LogoRef

ACCENT_HELP = "Six hex digits, like #3D3AB8. Used for buttons, chosen answers, links and focus."
LOGO_HELP = "PNG, JPEG, WebP or GIF, at most 50 KB; shown at most 48 pixels high. No SVG."


def clean_accent_value(value: str) -> str:
    try:
        return normalize_hex(value)
    except ColourError as error:
        raise forms.ValidationError(str(error)) from error


def clean_logo_file(upload: UploadedFile | None) -> Image | None:
    if not upload:
        return None
    if upload.size is not None and upload.size > MAX_BYTES:
        raise forms.ValidationError(
            f"The logo is {upload.size // 1024} KB; it can be at most {MAX_BYTES // 1024} KB."
        )
    try:
        return read_image(upload.read(MAX_BYTES + 1))
    except ImageError as error:
        raise forms.ValidationError(str(error)) from error


def logo_ref(brand: WorkspaceBrand | SurveyBrand) -> LogoRef | None:
    logo = brand.logo
    if logo is None:
        return None
    return LogoRef(logo.sha256, logo.content_type, logo.width, logo.height)


def _radios(choices: list[tuple[str, str]], label: str) -> forms.ChoiceField:
    return forms.ChoiceField(choices=choices, label=label, widget=forms.RadioSelect)


class _BrandForm(forms.Form):
    logo = forms.FileField(
        required=False,
        label="Logo",
        help_text=LOGO_HELP,
        # A plain file input: removing or keeping the logo are choices of their own.
        widget=forms.FileInput(attrs={"accept": "image/png,image/jpeg,image/webp,image/gif"}),
    )
    logo_alt = forms.CharField(required=False, max_length=150, label="Logo description")

    def __init__(
        self, *args: Any, read_only: bool = False, default_alt: str = "", **kwargs: Any
    ) -> None:
        kwargs.setdefault("label_suffix", "")  # labels sit above their fields: no colon
        super().__init__(*args, **kwargs)
        self.fields[
            "logo_alt"
        ].help_text = f"What screen readers say for the logo. Leave empty to use “{default_alt}”."
        if read_only:
            for field in self.fields.values():
                field.disabled = True

    def clean_accent(self) -> str:
        value = self.cleaned_data.get("accent", "").strip()
        return clean_accent_value(value) if value else ""

    def clean_logo(self) -> Image | None:
        return clean_logo_file(self.cleaned_data.get("logo"))

    def layer(self, stored: dict[str, Any]) -> dict[str, Any]:
        """The values typed so far, or the stored ones where a field does not hold a valid
        value yet: what the live preview shows."""
        values = dict(stored)
        cleaned = getattr(self, "cleaned_data", {})
        for name in (*FIELDS, "logo_choice"):
            if name in self.fields and name in cleaned and name not in self.errors:
                values[name] = cleaned[name]
        return values


class WorkspaceBrandForm(_BrandForm):
    accent = forms.CharField(
        required=False, max_length=20, label="Accent colour", help_text=ACCENT_HELP
    )
    button_shape = _radios(Shape.choices, "Button shape")
    button_fill = _radios(Fill.choices, "Button style")
    font = _radios(Font.choices, "Font")
    remove_logo = forms.BooleanField(required=False, label="Remove the logo")
    logo_dark = forms.FileField(
        required=False,
        label="Logo for dark mode",
        help_text="Optional: shown instead of the logo on phones and computers set to dark "
        "mode, for a logo that is dark itself. Same formats and size as the logo.",
        widget=forms.FileInput(attrs={"accept": "image/png,image/jpeg,image/webp,image/gif"}),
    )
    remove_logo_dark = forms.BooleanField(required=False, label="Remove the dark-mode logo")
    website = forms.URLField(
        required=False,
        max_length=300,
        label="Website",
        assume_scheme="https",
        help_text="Optional: the thank-you screen links back to it (“Back to …”). "
        "An https:// address.",
    )

    field_order = [
        "accent",
        "button_shape",
        "button_fill",
        "font",
        "logo",
        "remove_logo",
        "logo_dark",
        "remove_logo_dark",
        "website",
    ]

    @classmethod
    def initial_for(cls, brand: WorkspaceBrand) -> dict[str, Any]:
        return {name: getattr(brand, name) for name in (*FIELDS, "website")}

    def clean_accent(self) -> str:
        value = super().clean_accent()
        if not value:
            raise forms.ValidationError("Pick an accent colour.")
        return value

    def apply(self, brand: WorkspaceBrand) -> Image | None:
        """Copy the form onto `brand`; return a new logo to store, if one was uploaded."""
        for name in FIELDS:
            setattr(brand, name, self.cleaned_data[name])
        if self.cleaned_data["remove_logo"]:
            brand.logo = None
        if self.cleaned_data["remove_logo_dark"]:
            brand.logo_dark = None
        brand.website = self.cleaned_data["website"]
        return self.cleaned_data["logo"]

    def clean_website(self) -> str:
        url: str = self.cleaned_data["website"]
        if url and not url.startswith("https://"):
            raise forms.ValidationError("Use an https:// address: respondents follow this link.")
        return url

    def clean_logo_dark(self) -> Image | None:
        return clean_logo_file(self.cleaned_data.get("logo_dark"))


def _inherit(
    choices: Sequence[tuple[str, str | Promise]], default: str
) -> list[tuple[str, str | Promise]]:
    return [("", f"As the workspace: {default}"), *choices]


class SurveyBrandForm(_BrandForm):
    accent = forms.CharField(
        required=False, max_length=20, label="Accent colour", help_text=ACCENT_HELP
    )
    button_shape = _radios(Shape.choices, "Button shape")
    button_fill = _radios(Fill.choices, "Button style")
    font = _radios(Font.choices, "Font")
    logo_choice = _radios(LogoChoice.choices, "Which logo")

    field_order = ["accent", "button_shape", "button_fill", "font", "logo_choice", "logo"]

    def __init__(
        self, *args: Any, workspace: Choices, has_own_logo: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, default_alt=workspace.logo_alt, **kwargs)
        self.has_own_logo = has_own_logo
        labels = {"button_shape": Shape, "button_fill": Fill, "font": Font}
        for name, kind in labels.items():
            field = cast(forms.ChoiceField, self.fields[name])
            field.required = False
            field.choices = _inherit(kind.choices, kind(getattr(workspace, name)).label)
        self.fields["logo_choice"].required = False
        self.fields["logo"].label = "The survey’s own logo"
        self.fields["accent"].widget.attrs["placeholder"] = workspace.accent
        self.fields["accent"].help_text = (
            f"Leave empty to use the workspace’s, {workspace.accent}. " + ACCENT_HELP
        )

    @classmethod
    def initial_for(cls, brand: SurveyBrand) -> dict[str, Any]:
        return {name: getattr(brand, name) for name in (*FIELDS, "logo_choice")}

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None  # Form.clean returns cleaned_data
        wants_own = data.get("logo_choice") == LogoChoice.OWN
        if wants_own and not data.get("logo") and not self.has_own_logo:
            self.add_error("logo", "Choose the survey’s logo file, or pick another logo option.")
        return data

    def apply(self, brand: SurveyBrand) -> Image | None:
        for name in (*FIELDS, "logo_choice"):
            setattr(brand, name, self.cleaned_data[name])
        if brand.logo_choice != LogoChoice.OWN:
            brand.logo = None
        return self.cleaned_data["logo"]
