"""The survey translation pages: which languages a survey has, and each one's texts.

Every text a respondent reads (title, intro, thank-you, each question's prompt, help, choices
and labels) is listed once, here, for both pages, so the "12 of 14 texts" of the overview
always counts the fields of the form. Saving writes `translations` in the definition and goes
through `Survey.replace_definition` with the survey row locked, like every other edit.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from django import forms
from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from sounding.surveys.definition import DefinitionError
from sounding.surveys.edits import type_label
from sounding.surveys.models import Survey
from sounding.surveys.permissions import member_required, membership, workspace_survey
from sounding.surveys.questions import localized_default
from sounding.surveys.translations import LANGUAGE_CODE, QUESTION_TEXTS, SURVEY_TEXTS

CHOICE_MAX = 255
LABEL_MAX = 200

# Offered when adding a language or picking the default one: codes a browser sends (so a
# respondent's Accept-Language finds them), named in English and in the language itself.
COMMON_LANGUAGES: dict[str, str] = {
    "ar": "Arabic · العربية",
    "bg": "Bulgarian · Български",
    "ca": "Catalan · Català",
    "cs": "Czech · Čeština",
    "da": "Danish · Dansk",
    "de": "German · Deutsch",
    "el": "Greek · Ελληνικά",
    "en": "English",
    "es": "Spanish · Español",
    "es-MX": "Spanish (Mexico) · Español (México)",
    "et": "Estonian · Eesti",
    "fi": "Finnish · Suomi",
    "fr": "French · Français",
    "fr-CA": "French (Canada) · Français (Canada)",
    "he": "Hebrew · עברית",
    "hi": "Hindi · हिन्दी",
    "hr": "Croatian · Hrvatski",
    "hu": "Hungarian · Magyar",
    "id": "Indonesian · Bahasa Indonesia",
    "it": "Italian · Italiano",
    "ja": "Japanese · 日本語",
    "ko": "Korean · 한국어",
    "lt": "Lithuanian · Lietuvių",
    "lv": "Latvian · Latviešu",
    "ms": "Malay · Bahasa Melayu",
    "nb": "Norwegian · Norsk bokmål",
    "nl": "Dutch · Nederlands",
    "pl": "Polish · Polski",
    "pt": "Portuguese · Português",
    "pt-BR": "Portuguese (Brazil) · Português (Brasil)",
    "pt-PT": "Portuguese (Portugal) · Português (Portugal)",
    "ro": "Romanian · Română",
    "ru": "Russian · Русский",
    "sk": "Slovak · Slovenčina",
    "sl": "Slovenian · Slovenščina",
    "sr": "Serbian · Српски",
    "sv": "Swedish · Svenska",
    "th": "Thai · ไทย",
    "tr": "Turkish · Türkçe",
    "uk": "Ukrainian · Українська",
    "vi": "Vietnamese · Tiếng Việt",
    "zh-CN": "Chinese (Simplified) · 简体中文",
    "zh-TW": "Chinese (Traditional) · 繁體中文",
}
# The languages Sounding's own words (Next, Back, error messages) are shown in.
INTERFACE_LANGUAGES = frozenset(code for code, _name in settings.LANGUAGES)
QUESTION_TEXT_NAMES = {
    "prompt": "Question",
    "help": "Help text",
    "placeholder": "Placeholder",
    "min_label": "Low end label",
    "max_label": "High end label",
    "other_label": "“Other” choice",
}
SURVEY_TEXT_NAMES = {"title": "Title", "intro": "Introduction", "thank_you": "Thank-you message"}
MULTILINE = frozenset({"intro", "thank_you", "help", "prompt"})


def language_name(code: str) -> str:
    """The name in English and in the language itself: "French · Français"."""
    return COMMON_LANGUAGES.get(code, code)


def short_name(code: str) -> str:
    """The name in English only, for buttons and messages: "French"."""
    return language_name(code).split(" · ")[0]


def interface_speaks(code: str) -> bool:
    return code in INTERFACE_LANGUAGES or code.split("-")[0] in INTERFACE_LANGUAGES


# What there is to translate ----------------------------------------------------------------

# Where a translation lives in a language's entry: ("title",), ("questions", key, "prompt"),
# ("questions", key, "choices", <choice text>, <index>) or ("questions", key, "labels", <index>).
Path = tuple[Any, ...]


@dataclass(frozen=True)
class Text:
    name: str  # the form field's name
    what: str
    original: str
    path: Path
    limit: int

    @property
    def is_choice(self) -> bool:
        return self.path[2:3] == ("choices",)

    @property
    def multiline(self) -> bool:
        return self.path[-1] in MULTILINE or len(self.original) > 80


@dataclass
class Group:
    heading: str
    detail: str
    texts: list[Text] = field(default_factory=list)


def _question_group(number: int, q: dict[str, Any]) -> Group:
    key = q["key"]
    group = Group(f"Question {number}", f"{type_label(q['type'])} · {key}")
    for name, limit in QUESTION_TEXTS.items():
        if name == "other_label" and not q.get("allow_other"):
            continue
        if q.get(name):
            what = QUESTION_TEXT_NAMES.get(name, name)
            path: Path = ("questions", key, name)
            group.texts.append(Text(f"q-{key}-{name}", what, q[name], path, limit))
    for i, choice in enumerate(q.get("choices", [])):
        path = ("questions", key, "choices", choice, i)
        group.texts.append(Text(f"q-{key}-choice-{i}", f"Choice {i + 1}", choice, path, CHOICE_MAX))
    for i, label in enumerate(q.get("labels", [])):
        if label:
            path = ("questions", key, "labels", i)
            group.texts.append(Text(f"q-{key}-label-{i}", f"Label {i + 1}", label, path, LABEL_MAX))
    return group


def groups_of(definition: dict[str, Any]) -> list[Group]:
    """Every text a respondent reads, grouped as the survey shows them."""
    survey = Group("Survey", "Shown around the questions")
    for name, limit in SURVEY_TEXTS.items():
        if definition.get(name):
            what = SURVEY_TEXT_NAMES[name]
            survey.texts.append(Text(name, what, definition[name], (name,), limit))
    questions = [_question_group(i, q) for i, q in enumerate(definition["questions"], start=1)]
    return [g for g in [survey, *questions] if g.texts]


def translated(entry: dict[str, Any], path: Path) -> str:
    """The translation stored at `path` of a language's entry, or ""."""
    if path[0] != "questions":
        return str(entry.get(path[0]) or "")
    texts = entry.get("questions", {}).get(path[1], {})
    if path[2] == "choices":
        return _choice(texts.get("choices"), path[3], path[4])
    if path[2] == "labels":
        labels = texts.get("labels") or []
        return str(labels[path[3]] or "") if path[3] < len(labels) else ""
    return str(texts.get(path[2]) or "")


def _choice(stored: Any, choice: str, index: int) -> str:
    # Stored by the choice's own text; a list (one per choice, in order) is also accepted.
    if isinstance(stored, list):
        return str(stored[index] or "") if index < len(stored) else ""
    return str((stored or {}).get(choice) or "")


def built_in(text: Text, code: str) -> str:
    """What respondents read in `code` for a default label left untranslated (Sounding ships
    "Very satisfied" in its own languages), or "" when they would read the original."""
    shown = localized_default(text.original, code)
    return shown if shown != text.original else ""


def progress(definition: dict[str, Any], code: str) -> tuple[int, int]:
    """(translated, translatable) texts of the survey in `code`: a default label respondents
    read in that language already counts as translated."""
    entry = definition.get("translations", {}).get(code, {})
    texts = [t for g in groups_of(definition) for t in g.texts]
    done = sum(1 for t in texts if translated(entry, t.path) or built_in(t, code))
    return done, len(texts)


def with_translation(
    definition: dict[str, Any], code: str, values: dict[Path, str]
) -> dict[str, Any]:
    """The definition with the texts at `values` set (or, empty, dropped) in language `code`."""
    out = copy.deepcopy(definition)
    entry = out.setdefault("translations", {}).setdefault(code, {})
    by_key = {q["key"]: q for q in out["questions"]}
    for path, text in values.items():
        if path[0] != "questions":
            _put(entry, path[0], text)
            continue
        key, name = path[1], path[2]
        if key not in by_key:  # deleted since the form was shown
            continue
        texts = entry.setdefault("questions", {}).setdefault(key, {})
        if name == "choices":
            texts["choices"] = _with_choice(texts.get("choices"), by_key[key], path[3], text)
        elif name == "labels":
            labels = list(texts.get("labels") or [])
            labels += [""] * (path[3] + 1 - len(labels))
            labels[path[3]] = text
            texts["labels"] = labels
        else:
            _put(texts, name, text)
    return out


def _put(target: dict[str, Any], name: str, text: str) -> None:
    if text:
        target[name] = text
    else:
        target.pop(name, None)


def _with_choice(stored: Any, question: dict[str, Any], choice: str, text: str) -> list[str]:
    """All the question's choice translations, one per choice in order, with `choice`'s set.

    Written as the list the definition format takes as input, keyed by the choices as they
    are now, so a choice renamed or removed since the form was shown takes nothing with it.
    """
    choices = question.get("choices", [])
    out = [_choice(stored, c, i) for i, c in enumerate(choices)]
    if choice in choices:
        out[choices.index(choice)] = text
    return out


# Forms -------------------------------------------------------------------------------------


class TranslationForm(forms.Form):
    """One field per text of the survey, pre-filled with its translation in `code`."""

    def __init__(
        self, groups: list[Group], code: str, entry: dict[str, Any], *args: Any, **kw: Any
    ) -> None:
        kw.setdefault("label_suffix", "")
        super().__init__(*args, **kw)
        self.texts = {t.name: t for g in groups for t in g.texts}
        for text in self.texts.values():
            # The original is read out after the label; `dir=auto` suits right-to-left scripts.
            attrs = {"lang": code, "dir": "auto", "aria-describedby": f"id_{text.name}_original"}
            if shown := built_in(text, code):
                attrs["placeholder"] = shown
            widget = (
                forms.Textarea(attrs={**attrs, "rows": 2})
                if text.multiline
                else forms.TextInput(attrs=attrs)
            )
            self.fields[text.name] = forms.CharField(
                label=text.what,
                required=False,
                max_length=text.limit,
                widget=widget,
                initial=translated(entry, text.path),
            )

    def values(self) -> dict[Path, str]:
        """The texts posted, by where they go.

        A field missing from the post (a question added since the page was shown) changes
        nothing, and a choice's translation goes to the choice the translator saw (posted
        beside it), wherever that choice is now.
        """
        out: dict[Path, str] = {}
        for name, text in self.texts.items():
            if name not in self.data:
                continue
            path = text.path
            if text.is_choice:
                path = (*path[:3], self.data.get(f"{name}-was", path[3]), path[4])
            out[path] = self.cleaned_data[name]
        return out


def _language_choices(
    *, keep: str = "", leave_out: frozenset[str] = frozenset()
) -> list[tuple[str, str]]:
    codes = [c for c in COMMON_LANGUAGES if c not in leave_out]
    if keep and keep not in COMMON_LANGUAGES:
        codes.insert(0, keep)
    return [(c, f"{language_name(c)} ({c})" if c in COMMON_LANGUAGES else c) for c in codes]


class DefaultLanguageForm(forms.Form):
    language = forms.ChoiceField(
        label="Default language",
        help_text="The language the survey’s own texts are written in. Changing it translates "
        "nothing.",
    )

    def __init__(self, current: str, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        kwargs["initial"] = {"language": current}
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["language"]).choices = _language_choices(keep=current)


class AddLanguageForm(forms.Form):
    code = forms.ChoiceField(label="Language")

    def __init__(self, taken: frozenset[str], *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        choices = [("", "Choose a language…"), *_language_choices(leave_out=taken)]
        cast(forms.ChoiceField, self.fields["code"]).choices = choices


# Views -------------------------------------------------------------------------------------

Change = Callable[[dict[str, Any]], dict[str, Any]]


def _save(request: HttpRequest, pk: int, change: Change) -> tuple[Survey, DefinitionError | None]:
    """Apply `change` to the definition with the survey row locked, so no edit is lost."""
    with transaction.atomic():
        survey = workspace_survey(request, pk, lock=True)
        try:
            survey.replace_definition(change(survey.definition))
        except DefinitionError as error:
            return survey, error
    return survey, None


def _explained(error: DefinitionError) -> list[str]:
    return [f"{path}: {message}" for path, message in error.problems]


def _forbidden(request: HttpRequest) -> HttpResponse | None:
    if membership(request).can_edit:
        return None
    return render(request, "surveys/forbidden.html", status=403)


def _overview(
    request: HttpRequest, survey: Survey, status: int = 200, **forms_: Any
) -> HttpResponse:
    definition = survey.definition
    default = definition.get("language", "en")
    codes = list(definition.get("translations", {}))
    removing = request.GET.get("remove", "")
    rows = [
        {
            "code": code,
            "name": language_name(code),
            "done_total": progress(definition, code),
            "interface": interface_speaks(code),
        }
        for code in codes
    ]
    context = {
        "survey": survey,
        "default": default,
        "default_name": short_name(default),
        "rows": rows,
        "removing": {"code": removing, "name": short_name(removing)} if removing in codes else None,
        "can_edit": membership(request).can_edit,
        "default_form": forms_.get("default_form") or DefaultLanguageForm(default),
        "add_form": forms_.get("add_form") or AddLanguageForm(frozenset([default, *codes])),
        "problems": forms_.get("problems") or [],
        "interface_languages": ", ".join(name for _c, name in settings.LANGUAGES),
    }
    return render(request, "surveys/translations.html", context, status=status)


@require_http_methods(["GET", "POST"])
@member_required
def survey_translations(request: HttpRequest, pk: int) -> HttpResponse:
    survey = workspace_survey(request, pk)
    if request.method == "GET":
        return _overview(request, survey)
    refused = _forbidden(request)
    if refused is not None:
        return refused
    action = request.POST.get("action")
    if action == "language":
        return _set_default(request, survey)
    if action == "add":
        return _add(request, survey)
    if action == "remove":
        return _remove(request, survey)
    problem = f"{request.POST.get('action', '')!r} is not a known action."
    return _overview(request, survey, status=400, problems=[problem])


def _set_default(request: HttpRequest, survey: Survey) -> HttpResponse:
    form = DefaultLanguageForm(survey.definition.get("language", "en"), request.POST)
    if not form.is_valid():
        return _overview(request, survey, status=400, default_form=form)
    code = form.cleaned_data["language"]
    if code in survey.definition.get("translations", {}):
        form.add_error(
            "language",
            f"The survey has a {short_name(code)} translation: remove it first, or pick "
            "the language the survey’s texts are written in.",
        )
        return _overview(request, survey, status=400, default_form=form)
    survey, error = _save(request, survey.pk, lambda d: {**d, "language": code})
    if error is not None:
        return _overview(request, survey, status=400, problems=_explained(error))
    messages.success(request, f"Default language: {short_name(code)}.")
    return redirect("survey-translations", survey.pk)


def _add(request: HttpRequest, survey: Survey) -> HttpResponse:
    taken = frozenset(
        [survey.definition.get("language", "en"), *survey.definition.get("translations", {})]
    )
    form = AddLanguageForm(taken, request.POST)
    if not form.is_valid():
        return _overview(request, survey, status=400, add_form=form)
    code = form.cleaned_data["code"]

    def add(definition: dict[str, Any]) -> dict[str, Any]:
        texts = dict(definition.get("translations", {}))
        texts.setdefault(code, {})
        return {**definition, "translations": texts}

    survey, error = _save(request, survey.pk, add)
    if error is not None:
        return _overview(request, survey, status=400, problems=_explained(error))
    messages.success(request, f"{short_name(code)} added. Translate the texts below.")
    return redirect("survey-translation", survey.pk, code)


def _remove(request: HttpRequest, survey: Survey) -> HttpResponse:
    code = request.POST.get("code", "")
    if code not in survey.definition.get("translations", {}):
        problem = f"The survey has no {code!r} translation to remove."
        return _overview(request, survey, status=400, problems=[problem])

    def remove(definition: dict[str, Any]) -> dict[str, Any]:
        texts = {c: t for c, t in definition.get("translations", {}).items() if c != code}
        return {**definition, "translations": texts}

    survey, error = _save(request, survey.pk, remove)
    if error is not None:
        return _overview(request, survey, status=400, problems=_explained(error))
    messages.success(request, f"{short_name(code)} translation removed.")
    return redirect("survey-translations", survey.pk)


def _translation_page(
    request: HttpRequest, survey: Survey, code: str, form: TranslationForm, status: int = 200
) -> HttpResponse:
    definition = survey.definition
    groups = groups_of(definition)
    done, total = progress(definition, code)
    context = {
        "survey": survey,
        "code": code,
        "name": short_name(code),
        "full_name": language_name(code),
        "default": definition.get("language", "en"),
        "default_name": short_name(definition.get("language", "en")),
        "groups": [
            {
                "group": g,
                "rows": [
                    {"text": t, "field": form[t.name], "built_in": built_in(t, code)}
                    for t in g.texts
                ],
            }
            for g in groups
        ],
        "form": form,
        "done": done,
        "total": total,
        "interface": interface_speaks(code),
        "can_edit": membership(request).can_edit,
        "preview_url": f"{survey.public_path()}?preview=1&lang={code}",
    }
    return render(request, "surveys/translation.html", context, status=status)


@require_http_methods(["GET", "POST"])
@member_required
def survey_translation(request: HttpRequest, pk: int, lang: str) -> HttpResponse:
    survey = workspace_survey(request, pk)
    if not LANGUAGE_CODE.fullmatch(lang) or lang not in survey.definition.get("translations", {}):
        raise Http404("This survey has no translation in that language.")
    entry = survey.definition["translations"][lang]
    groups = groups_of(survey.definition)
    if request.method == "GET":
        return _translation_page(request, survey, lang, TranslationForm(groups, lang, entry))
    refused = _forbidden(request)
    if refused is not None:
        return refused
    form = TranslationForm(groups, lang, entry, request.POST)
    if not form.is_valid():
        return _translation_page(request, survey, lang, form, status=400)
    survey, error = _save(request, pk, lambda d: with_translation(d, lang, form.values()))
    if error is not None:
        for path, message in error.problems:
            form.add_error(None, f"{path}: {message}")
        return _translation_page(request, survey, lang, form, status=400)
    done, total = progress(survey.definition, lang)
    messages.success(request, f"{short_name(lang)} saved: {done} of {total} texts translated.")
    return redirect(reverse("survey-translation", args=[pk, lang]))
