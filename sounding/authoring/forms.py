"""Forms of the authoring pages. They turn what an author typed into definition pieces; the
definition's own validation (`surveys.definition.normalize`) has the last word."""

from __future__ import annotations

import json
import math
import re
from typing import Any, cast

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.forms.utils import ErrorDict

from sounding.authoring import type_picker
from sounding.authoring.type_picker import TypePicker
from sounding.surveys import compatibility, edits, rules
from sounding.surveys.definition import MAX_HELP, MAX_PROMPT
from sounding.surveys.edits import question_field, type_label
from sounding.surveys.questions import CSAT_LABELS, QUESTION_TYPES, Problems

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


class TemplateStartForm(Form):
    """One card of the template gallery: which template, and the new survey's title."""

    template = forms.CharField(max_length=100, widget=forms.HiddenInput)
    title = forms.CharField(
        required=False,
        max_length=200,
        help_text="Keep it or write your own: the template's title comes translated, "
        "a title of your own does not.",
    )

    def __init__(self, slug: str, *args: Any, title: str = "", **kwargs: Any) -> None:
        # One form per card on the same page: each needs ids of its own.
        kwargs.setdefault("auto_id", f"template-{slug}-%s")
        kwargs.setdefault("initial", {"template": slug, "title": title})
        super().__init__(*args, **kwargs)
        self.slug = slug


class SurveyDetailsForm(SurveyStartForm):
    thank_you = forms.CharField(
        label="Thank-you message",
        required=False,
        max_length=MAX_HELP,
        widget=forms.Textarea(attrs=TEXTAREA),
        help_text="Optional. Shown after the last answer.",
    )
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def definition(self) -> dict[str, Any]:
        return {**super().definition(), "thank_you": self.cleaned_data["thank_you"]}


class HiddenFieldsForm(Form):
    """The link parameters the survey keeps with each response, one per line (or separated by
    commas, as a list pasted from elsewhere often is)."""

    names = forms.CharField(
        label="Parameters to keep",
        required=False,
        max_length=5000,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "class": "code"}),
        help_text="One link parameter per line, such as utm_source. Up to 20; letters, digits, "
        "_, - and . only.",
    )
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Its own ids: the page's other forms have a `version` too. The names stay unprefixed,
        # so the builder script refreshes this form's version after a move like the others.
        kwargs.setdefault("auto_id", "hidden_fields_%s")
        super().__init__(*args, **kwargs)

    def clean_names(self) -> list[str]:
        return [
            name.strip() for name in re.split(r"[\n,]", self.cleaned_data["names"]) if name.strip()
        ]

    def add_problems(self, problems: Problems) -> None:
        """Show definition problems about the list beside it, naming the parameter each is
        about rather than its place in the list."""
        names = self.cleaned_data.get("names") or []
        for path, message in problems:
            found = re.fullmatch(r"\$\.hidden_fields\[(\d+)\]", path)
            message = re.sub(r"\$\.hidden_fields\[\d+\]", "a name above", message)
            message = re.sub(
                r"\$\.questions\[(\d+)\]", lambda m: f"question {int(m[1]) + 1}", message
            )
            if found and int(found[1]) < len(names):
                self.add_error("names", f"“{names[int(found[1])]}” {message}.")
            elif path == "$.hidden_fields":
                self.add_error("names", message[:1].upper() + message[1:] + ".")
            else:
                self.add_error(None, f"{path}: {message}")


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
    except RecursionError:
        raise forms.ValidationError("This is not valid JSON: it is nested too deeply.") from None
    except ValueError as error:
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
CSAT_FIELDS = [f"label_{n}" for n in range(1, 6)]
# Where a definition problem about a question field is shown in the form.
PROBLEM_FIELDS = {"labels": "label_1", "show_if": "rule_question"}
RULE_VALUE_FIELDS = {
    "choice": "rule_choice",
    "yes_no": "rule_yes_no",
    "number": "rule_number",
    "text": "rule_text",
}

Question = dict[str, Any]


def _number(value: float | None) -> int | float | None:
    # Whole numbers go in as integers: a scale's ends must be whole, and 3 reads better than 3.0.
    if value is not None and float(value).is_integer():
        return int(value)
    return value


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


# The `after` of a question added before the first one (no key starts with "_").
AT_START = edits.AT_START


def _csat_label(n: int) -> forms.TextInput:
    return forms.TextInput(attrs={"placeholder": CSAT_LABELS[n - 1]})


def _label(question: Question, number: int) -> str:
    return f"{number}. {rules.short_prompt(question['prompt'])}"


class QuestionForm(Form):
    """One question, as typed. Fields the chosen type does not take are ignored, not refused:
    the page shows every field when JavaScript is off."""

    type = forms.ChoiceField(label="Question type", choices=TYPE_CHOICES, widget=TypePicker)
    # The builder shows the question as respondents see it, each text typed where it appears:
    # the placeholders say what goes there.
    prompt = forms.CharField(
        label="Question",
        max_length=MAX_PROMPT,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "Type your question"}),
    )
    help = forms.CharField(
        label="Help text",
        required=False,
        max_length=MAX_HELP,
        help_text="Optional. Shown under the question.",
        widget=forms.TextInput(attrs={"placeholder": "Add a description (optional)"}),
    )
    required = forms.BooleanField(label="Answer required", required=False)
    key = forms.CharField(
        label="Key",
        required=False,
        max_length=64,
        help_text="Optional. Names the answer in exports and integrations; made from the question "
        "when left empty.",
    )
    choices = forms.CharField(
        label="Choices",
        required=False,
        # The builder's script turns the box into one input per choice, and shows the help
        # of that editor instead (`data-boxes-help`).
        widget=forms.Textarea(
            attrs={
                "rows": 4,
                "data-choices": "",
                "data-boxes-help": "One choice per box. Enter adds the next one.",
            }
        ),
        help_text="One choice per line.",
    )
    allow_other = forms.BooleanField(label="Offer “Other” with a text box", required=False)
    other_label = forms.CharField(
        label="Label of “Other”",
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": "Other"}),
        help_text="Optional. “Other” when left empty.",
    )
    min = forms.FloatField(label="Lowest value", required=False)
    max = forms.FloatField(label="Highest value", required=False)
    min_label = forms.CharField(
        label="Label of the lowest value",
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": "Label (optional)"}),
    )
    max_label = forms.CharField(
        label="Label of the highest value",
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": "Label (optional)"}),
    )
    label_1 = forms.CharField(
        label="Label of 1", required=False, max_length=100, widget=_csat_label(1)
    )
    label_2 = forms.CharField(
        label="Label of 2", required=False, max_length=100, widget=_csat_label(2)
    )
    label_3 = forms.CharField(
        label="Label of 3", required=False, max_length=100, widget=_csat_label(3)
    )
    label_4 = forms.CharField(
        label="Label of 4", required=False, max_length=100, widget=_csat_label(4)
    )
    label_5 = forms.CharField(
        label="Label of 5", required=False, max_length=100, widget=_csat_label(5)
    )
    placeholder = forms.CharField(
        label="Placeholder",
        required=False,
        max_length=200,
        help_text="Optional. A hint shown in the empty box.",
        widget=forms.TextInput(attrs={"placeholder": "A hint shown in the empty box (optional)"}),
    )
    after = forms.ChoiceField(label="Where", required=False)
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, questions: list[Question] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["after"]).choices = [
            ("", "At the end"),
            (AT_START, "At the start"),
        ] + [(q["key"], f"After {_label(q, n)}") for n, q in enumerate(questions or [], 1)]

    def type_shown(self) -> dict[str, str]:
        """The type the form shows chosen: its name, label and icon (the picker's summary)."""
        name = str(self["type"].value() or "")
        if name not in QUESTION_TYPES:
            name = TYPE_CHOICES[0][0]
        return {"name": name, "label": type_label(name), "icon": type_picker.icon(name)}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        labels = [cleaned.get(name, "") for name in CSAT_FIELDS]
        if cleaned.get("type") == "csat" and any(labels) and not all(labels):
            self.add_error("label_1", "Give all five labels, or none for the usual ones.")
        return cleaned

    def question(self) -> Question:
        """The question as a definition entry, holding only fields its type accepts."""
        data = self.cleaned_data
        kind = QUESTION_TYPES[data["type"]]
        question: Question = {
            "type": kind.name,
            "prompt": data["prompt"],
            "help": data["help"],
            "required": data["required"],
        }
        if data["key"]:
            question["key"] = data["key"]
        labels = [data[name] for name in CSAT_FIELDS]
        offered = {
            "choices": _lines(data["choices"]),
            "allow_other": data["allow_other"],
            "other_label": data["other_label"] if data["allow_other"] else "",
            "min": _number(data["min"]),
            "max": _number(data["max"]),
            "min_label": data["min_label"],
            "max_label": data["max_label"],
            "labels": labels if all(labels) else None,
            "placeholder": data["placeholder"],
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
        """Show definition problems about the question at `index` beside its fields."""
        for path, message in problems:
            field = question_field(path, index)
            field = PROBLEM_FIELDS.get(field or "", field)
            if field == "rule_question" and ".value" in path:
                field = self.rule_value_field()
            if field and field in self.fields:
                self.add_error(field, message[:1].upper() + message[1:] + ".")
            else:
                self.add_error(None, f"{path}: {message}")

    def rule_value_field(self) -> str | None:
        return None


def initial_for(question: Question) -> dict[str, Any]:
    """What the edit form shows for a saved question."""
    initial = {k: v for k, v in question.items() if k not in ("choices", "labels", "show_if")}
    initial["choices"] = "\n".join(question.get("choices") or [])
    for name, label in zip(CSAT_FIELDS, question.get("labels") or [], strict=False):
        initial[name] = label
    rule = question.get("show_if")
    if rule:
        initial["rule_question"] = rule.get("question", "")
        initial["rule_op"] = rule.get("op", "")
        value = rule.get("value")
        values = value if isinstance(value, list) else [value]
        initial["rule_choice"] = [v for v in values if isinstance(v, str)]
        if isinstance(value, bool):
            initial["rule_yes_no"] = "yes" if value else "no"
        initial["rule_number"] = ", ".join(rules.format_value(v) for v in values)
        initial["rule_text"] = "\n".join(str(v) for v in values)
    return initial


def _parse_numbers(text: str) -> list[int | float] | None:
    numbers: list[int | float] = []
    for part in re.split(r"[;,\s]+", text.strip()):
        if not part:
            continue
        try:
            number = float(part)
        except ValueError:
            return None
        if not math.isfinite(number):
            return None
        numbers.append(int(number) if number.is_integer() else number)
    return numbers


class QuestionEditForm(QuestionForm):
    """A saved question, edited in place: its fields, its condition and the survey version
    the author started from (a page older than the survey is refused, not saved over)."""

    rule_question = forms.ChoiceField(label="Earlier question", required=False)
    rule_op = forms.ChoiceField(
        label="Condition",
        required=False,
        choices=[("", "—")] + list(rules.OPERATOR_LABELS.items()),
    )
    rule_choice = forms.MultipleChoiceField(
        label="Answer", required=False, widget=forms.CheckboxSelectMultiple
    )
    rule_yes_no = forms.ChoiceField(
        label="Answer",
        required=False,
        widget=forms.RadioSelect,
        choices=[("yes", "Yes"), ("no", "No")],
    )
    rule_number = forms.CharField(
        label="Number",
        required=False,
        max_length=200,
        help_text="For “is one of”, separate the numbers with commas.",
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    rule_text = forms.CharField(
        label="Answer",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="One answer per line.",
    )
    choice_origins = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(
        self,
        *args: Any,
        questions: list[Question],
        key: str,
        answered: int = 0,
        key_locked: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["after"]
        self.original = next(q for q in questions if q["key"] == key)
        self.taken_keys = {q["key"] for q in questions}
        self.earlier = {}
        for q in questions:
            if q["key"] == key:
                break
            self.earlier[q["key"]] = q
        self.fields["version"].required = True
        self.fields["key"].required = True
        self.fields["key"].help_text = "Names the answer in exports and integrations."
        self.key_locked = key_locked
        if key_locked:
            self.fields["key"].widget.attrs["readonly"] = True
            self.fields["key"].help_text = (
                "Fixed now that the survey has responses: answers are stored under it, and it "
                "names the answer in exports and integrations."
            )
        if answered:
            self._limit_types(answered)
        cast(forms.ChoiceField, self.fields["rule_question"]).choices = [("", "Always show it")] + [
            (q["key"], _label(q, n)) for n, q in enumerate(self.earlier.values(), 1)
        ]
        source = self.rule_source()
        if source is not None and source.get("choices"):
            cast(forms.ChoiceField, self.fields["rule_choice"]).choices = [
                (c, c) for c in source["choices"]
            ]

    def _limit_types(self, answered: int) -> None:
        current = self.original["type"]
        group = compatibility.reachable(current)
        cast(forms.ChoiceField, self.fields["type"]).choices = [
            (n, label) for n, label in TYPE_CHOICES if n in group
        ]
        self.fields["type"].error_messages["invalid_choice"] = (
            f"This question has {answered} answer{'s' * (answered != 1)}: it can only become a "
            "type that stores answers the same way."
        )

    def rule_source(self) -> Question | None:
        """The earlier question the condition looks at, as typed or as saved."""
        if self.is_bound:
            return self.earlier.get(self.data.get(self.add_prefix("rule_question"), ""))
        return self.earlier.get(self.initial.get("rule_question", ""))

    @property
    def rule_kind(self) -> str:
        source = self.rule_source()
        return rules.value_kind(source["type"]) if source else ""

    def rule_value_field(self) -> str | None:
        return RULE_VALUE_FIELDS.get(self.rule_kind)

    def clean_key(self) -> str:
        key = self.cleaned_data["key"]
        if self.key_locked and key != self.original["key"]:
            raise forms.ValidationError("The key cannot change once the survey has responses.")
        if key != self.original["key"] and key in self.taken_keys:
            raise forms.ValidationError("Another question already has this key.")
        return key

    def clean_choice_origins(self) -> list[str] | None:
        text = self.cleaned_data["choice_origins"]
        try:
            origins = json.loads(text) if text else None
        except (ValueError, RecursionError):  # a hand-edited hidden field: read as absent
            return None
        if isinstance(origins, list) and all(isinstance(o, str) for o in origins):
            return origins
        return None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        self.show_if = self._rule(cleaned)
        return cleaned

    def _rule(self, data: dict[str, Any]) -> dict[str, Any] | None:
        source = self.rule_source()
        if source is None:
            return None
        op = data.get("rule_op")
        if not op:
            self.add_error("rule_op", "Choose a condition.")
            return None
        if op not in rules.operators_for(source["type"]):
            fitting = " or ".join(
                f"“{rules.operator_label(o, source['type'])}”"
                for o in rules.operators_for(source["type"])
            )
            self.add_error("rule_op", f"For this question, choose {fitting}.")
            return None
        value = self._rule_value(rules.value_kind(source["type"]), op, data)
        return None if value is None else {"question": source["key"], "op": op, "value": value}

    def _rule_value(self, kind: str, op: str, data: dict[str, Any]) -> Any:
        field = RULE_VALUE_FIELDS[kind]
        if kind == "yes_no":
            if not data.get(field):
                self.add_error(field, "Choose yes or no.")
                return None
            return data[field] == "yes"
        if kind == "choice":
            values: list[Any] = list(data.get(field) or [])
        elif kind == "number":
            values = _parse_numbers(data.get(field) or "") or []
            if not values:
                self.add_error(field, "Enter a number, like 7.")
                return None
        else:
            values = _lines(data.get(field) or "")
        if not values:
            self.add_error(field, "Choose or enter the answer this depends on.")
            return None
        if op == "one_of":
            return values
        if len(values) > 1:
            self.add_error(field, "Give one answer here, or choose “is one of”.")
            return None
        return values[0]

    def question(self) -> Question:
        question = super().question()
        if self.show_if is not None:
            question["show_if"] = self.show_if
        return question

    def without_errors(self) -> QuestionEditForm:
        """The form as typed, without complaints: shown again to pick a condition's answer."""
        self.full_clean()
        self._errors = ErrorDict()
        return self

    def origins(self) -> list[str] | None:
        return self.cleaned_data.get("choice_origins")
