"""The survey page and the way every edit is saved, shared by the survey and question views.

An edit is a function from the survey to its new definition, run by `apply_change` with the
survey row locked, so two authors saving at once queue instead of overwriting each other, and
refused when the author's page showed an older version than the one saved now.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render

from sounding import destinations
from sounding.authoring import builder, orphans, undo
from sounding.authoring.forms import (
    AT_START,
    HiddenFieldsForm,
    QuestionEditForm,
    QuestionForm,
    SurveyDetailsForm,
)
from sounding.destinations.contract import SurveyPanel
from sounding.surveys import edits
from sounding.surveys.definition import DefinitionError
from sounding.surveys.models import Survey
from sounding.surveys.permissions import membership, workspace_survey

Change = Callable[[Survey], dict[str, Any]]
Failure = Exception


def destination_panels(survey: Survey, url: str) -> list[SurveyPanel]:
    """What each destination adds to the survey's page, in registry order."""
    return [p.survey_panel(survey, url) for p in destinations.plugins() if p.survey_panel]


def public_url(request: HttpRequest, survey: Survey) -> str:
    if settings.SITE_URL:
        return settings.SITE_URL + survey.public_path()
    return request.build_absolute_uri(survey.public_path())


STALE = (
    "Someone else changed this survey while you were editing, so nothing was saved. "
    "What you typed is still below: check the survey as it is now, then save again."
)


class Stale(Exception):
    """The page was made from an older version of the survey than the one saved now."""

    def __str__(self) -> str:
        return STALE


def posted_version(request: HttpRequest) -> int | None:
    """The survey version the page was made from, when the form says (buttons may not)."""
    raw = request.POST.get("version", "")
    return int(raw) if raw.isdigit() else None


def answer_counts(survey: Survey, responses: int) -> dict[str, int]:
    return orphans.counts_by_key(survey) if responses else {}


def detail_page(
    request: HttpRequest,
    survey: Survey,
    question_form: QuestionForm | None = None,
    details_form: SurveyDetailsForm | None = None,
    editing: tuple[str, QuestionEditForm] | None = None,
    status: int = 200,
    hidden_form: HiddenFieldsForm | None = None,
) -> HttpResponse:
    url = public_url(request, survey)
    definition = survey.definition
    can_edit = membership(request).can_edit
    tally = survey.responses.aggregate(
        responses=Count("pk"), completed=Count("pk", filter=Q(completed_at__isnull=False))
    )
    details = {k: definition.get(k, "") for k in ("title", "intro", "thank_you")}
    questions = definition["questions"]
    panels = destination_panels(survey, url)
    rows = builder.rows(
        survey,
        can_edit=can_edit,
        counts=answer_counts(survey, tally["responses"]),
        locked=bool(tally["responses"]),
        editing=editing,
        notes=[panel.notes for panel in panels],
    )
    focus = editing[0] if editing else (questions[0]["key"] if questions else "")
    add_at = _add_at(request, questions, question_form)
    context = {
        "survey": survey,
        "questions": rows,
        **tally,
        "public_url": url,
        "destination_panels": panels,
        "can_edit": can_edit,
        "question_form": question_form
        or QuestionForm(
            initial={"type": "nps", "version": survey.version, "after": add_at},
            questions=questions,
        ),
        "add_at": add_at,
        "details_form": details_form
        or SurveyDetailsForm(initial={**details, "version": survey.version}),
        "details_open": details_form is not None,
        "hidden_fields": definition.get("hidden_fields", []),
        "hidden_form": hidden_form or hidden_fields_form(survey),
        "types_with": builder.types_with_fields(),
        "preview_url": builder.preview_url(survey),
        "preview_src": builder.preview_url(survey, focus),
        "script_data": builder.script_data(survey),
        "undo": undo.offered(request, survey.pk) if can_edit else None,
        "stale": status == 409,
    }
    return render(request, "surveys/detail.html", context, status=status)


def _add_at(
    request: HttpRequest, questions: list[dict[str, Any]], form: QuestionForm | None
) -> str:
    """Where the add form shows: after a question's key, AT_START, or "" (at the bottom). A
    link between two questions asks with `?add=`; a refused add shows where it was typed."""
    wanted = str(form.data.get("after", "")) if form is not None and form.is_bound else ""
    wanted = wanted or request.GET.get("add", "")
    if wanted == AT_START or any(q["key"] == wanted for q in questions):
        return wanted
    return ""


def hidden_fields_form(survey: Survey, data: QueryDict | None = None) -> HiddenFieldsForm:
    names = "\n".join(survey.definition.get("hidden_fields", []))
    return HiddenFieldsForm(data, initial={"names": names, "version": survey.version})


def apply_change(
    request: HttpRequest,
    pk: int,
    change: Change,
    version: int | None = None,
    then: Callable[[Survey], Any] | None = None,
) -> tuple[Survey, Failure | None]:
    """Save the definition `change` makes of the survey, with its row locked meanwhile.

    `version`, when given, is the one the author's page showed: a survey changed since is
    refused (Stale) rather than saved over. `then` runs in the same transaction after the
    save. Returns the survey and, when nothing was saved, why.
    """
    with transaction.atomic():
        survey = workspace_survey(request, pk, lock=True)
        if version is not None and version != survey.version:
            return survey, Stale()
        try:
            survey.replace_definition(change(survey))
        except (DefinitionError, edits.EditRefused, orphans.NeedsConfirmation) as error:
            return survey, error
        if then is not None:
            then(survey)
    return survey, None


def back(survey: Survey, anchor: str = "") -> HttpResponse:
    return redirect(survey.get_absolute_url() + (f"#{anchor}" if anchor else ""))


def refused(request: HttpRequest, survey: Survey, error: Failure | None) -> HttpResponse | None:
    """The page saying why an edit made from a button was not saved; None when it was."""
    if error is None:
        return None
    if isinstance(error, Stale):
        messages.error(
            request,
            "The page was out of date, so nothing changed. Here is the survey as it is now.",
        )
        return detail_page(request, survey, status=409)
    messages.error(request, str(error))
    return back(survey, "questions")


def fresh(data: QueryDict, survey: Survey, prefix: str) -> QueryDict:
    """What the author typed, with the current version: saving it again is their choice."""
    typed = data.copy()
    typed[f"{prefix}-version" if prefix else "version"] = str(survey.version)
    return typed
