"""Forms of the authoring pages. They turn what an author typed into definition pieces; the
definition's own validation (`surveys.definition.normalize`) has the last word."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile

from sounding.surveys.authoring import question_field, type_label
from sounding.surveys.definition import MAX_HELP, MAX_PROMPT
from sounding.surveys.questions import QUESTION_TYPES, Problems

MAX_IMPORT_BYTES = 1_000_000
TEXTAREA = {"rows": 3}


class Form(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")  # labels sit above their fields: no colon
        super().__init__(*args, **kwargs)


class SurveyStartForm(Form):
    title = forms.CharField(max_length=200)
    intro = forms.CharField(
        label="Introduction",
        required=False,
        max_length=MAX_HELP,
        widget=forms.Textarea(attrs=TEXTAREA),
        help_text="Optional. Shown before the first question.",
    )

    def definition(self) -> dict[str, Any]:
        return {"title": self.cleaned_data["title"], "intro": self.cleaned_data["intro"]}


class SurveyDetailsForm(SurveyStartForm):
    thank_you = forms.CharField(
        label="Thank-you message",
        required=False,
        max_length=MAX_HELP,
        widget=forms.Textarea(attrs=TEXTAREA),
        help_text="Optional. Shown after the last answer.",
    )

    def definition(self) -> dict[str, Any]:
        return {**super().definition(), "thank_you": self.cleaned_data["thank_you"]}


def _reject_constant(name: str) -> None:
    # NaN and Infinity are not JSON, and no database stores them in a JSON column.
    raise ValueError(f"{name} is not allowed in JSON")


def parse_json(text: str) -> Any:
    """The parsed document, or a ValidationError saying where the syntax is wrong."""
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        raise forms.ValidationError(
            f"This is not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})."
        ) from None
    except (ValueError, RecursionError) as error:
        raise forms.ValidationError(f"This is not valid JSON: {error}.") from None


def read_upload(upload: UploadedFile) -> str:
    if upload.size is not None and upload.size > MAX_IMPORT_BYTES:
        raise forms.ValidationError("The file is larger than 1 MB; a definition never needs that.")
    try:
        return upload.read().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise forms.ValidationError("The file is not UTF-8 text.") from None


class ImportForm(Form):
    text = forms.CharField(
        label="Definition (JSON)",
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 10, "spellcheck": "false", "class": "code"}),
        help_text='Paste a survey definition, e.g. {"title": "…", "questions": […]}.',
    )
    file = forms.FileField(
        label="Or upload a .json file",
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".json,application/json"}),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        upload = cleaned.get("file")
        text = read_upload(upload) if upload else cleaned.get("text", "")
        if not text.strip():
            raise forms.ValidationError("Paste a definition or choose a file.")
        cleaned["definition"] = parse_json(text)
        return cleaned


TYPE_CHOICES = [(name, type_label(name)) for name in QUESTION_TYPES]


def _number(value: float | None) -> int | float | None:
    # Whole numbers go in as integers: a scale's ends must be whole, and 3 reads better than 3.0.
    if value is not None and float(value).is_integer():
        return int(value)
    return value


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


class QuestionForm(Form):
    """One new question. Fields the chosen type does not take are ignored, not refused:
    the page shows every field when JavaScript is off."""

    type = forms.ChoiceField(label="Question type", choices=TYPE_CHOICES)
    prompt = forms.CharField(
        label="Question", max_length=MAX_PROMPT, widget=forms.Textarea(attrs={"rows": 2})
    )
    help = forms.CharField(
        label="Help text",
        required=False,
        max_length=MAX_HELP,
        help_text="Optional. Shown under the question.",
    )
    required = forms.BooleanField(label="Answer required", required=False)
    key = forms.CharField(
        label="Key",
        required=False,
        max_length=64,
        help_text="Optional. Names the answer in exports and Braze; made from the question "
        "when left empty.",
    )
    choices = forms.CharField(
        label="Choices",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="One per line.",
    )
    allow_other = forms.BooleanField(label="Offer “Other” with a text box", required=False)
    min = forms.FloatField(label="Lowest value", required=False)
    max = forms.FloatField(label="Highest value", required=False)
    min_label = forms.CharField(label="Label of the lowest value", required=False, max_length=200)
    max_label = forms.CharField(label="Label of the highest value", required=False, max_length=200)

    def question(self) -> dict[str, Any]:
        """The question as a definition entry, holding only fields its type accepts."""
        data = self.cleaned_data
        kind = QUESTION_TYPES[data["type"]]
        question: dict[str, Any] = {
            "type": kind.name,
            "prompt": data["prompt"],
            "help": data["help"],
            "required": data["required"],
        }
        if data["key"]:
            question["key"] = data["key"]
        offered = {
            "choices": _lines(data["choices"]),
            "allow_other": data["allow_other"],
            "min": _number(data["min"]),
            "max": _number(data["max"]),
            "min_label": data["min_label"],
            "max_label": data["max_label"],
        }
        # Left empty means "the type's default", so empty values are not sent at all.
        question.update(
            {
                name: value
                for name, value in offered.items()
                if name in kind.fields and value not in (None, "")
            }
        )
        return question

    def add_problems(self, problems: Problems, index: int) -> None:
        """Show definition problems about the new question (at `index`) beside its fields."""
        for path, message in problems:
            field = question_field(path, index)
            if field is None:
                self.add_error(None, f"{path}: {message}")
            elif field in self.fields:
                self.add_error(field, message[:1].upper() + message[1:] + ".")
            else:
                self.add_error(None, f"{path}: {message}")
