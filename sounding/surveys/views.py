"""The authoring pages: list, create, import, edit, publish, export and delete surveys.

Every page asks `permissions` first: the survey must be in the current workspace (a 404
otherwise) and any change needs a role that may edit (a 403 otherwise), whatever the page
showed. Changes to the questions go through the definition, so they are validated exactly as
an import or an API call would be.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sounding.surveys import authoring
from sounding.surveys.definition import DefinitionError
from sounding.surveys.forms import ImportForm, QuestionForm, SurveyDetailsForm, SurveyStartForm
from sounding.surveys.models import Status, Survey
from sounding.surveys.permissions import (
    editor_required,
    member_required,
    membership,
    workspace_survey,
)

Change = Callable[[Survey], dict[str, Any]]
Failure = DefinitionError | authoring.EditRefused


def braze_link(survey: Survey, url: str) -> str:
    """The link for a Braze message, with the Liquid tag of the survey's chosen identifier."""
    from sounding.destinations.braze.destination import survey_link
    from sounding.destinations.braze.models import Identifier, SurveyBraze

    chosen = SurveyBraze.objects.filter(survey=survey).values_list("identifier", flat=True)
    base = url.removesuffix(survey.public_path())
    return survey_link(survey, chosen.first() or Identifier.BRAZE_ID, base)


def public_url(request: HttpRequest, survey: Survey) -> str:
    if settings.SITE_URL:
        return settings.SITE_URL + survey.public_path()
    return request.build_absolute_uri(survey.public_path())


@require_GET
@member_required
def survey_list(request: HttpRequest) -> HttpResponse:
    surveys = (
        Survey.objects.filter(workspace_id=membership(request).workspace_id)
        .defer("definition")
        .annotate(response_count=Count("responses"))
    )
    return render(request, "surveys/list.html", {"surveys": surveys})


def _new_page(
    request: HttpRequest, start: SurveyStartForm, imported: ImportForm, problems: list[Any]
) -> HttpResponse:
    context = {"start_form": start, "import_form": imported, "problems": problems}
    return render(request, "surveys/new.html", context)


@require_http_methods(["GET", "POST"])
@editor_required
def survey_new(request: HttpRequest) -> HttpResponse:
    form = SurveyStartForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            survey = Survey.create(membership(request).workspace, form.definition(), request.user)
        except DefinitionError as error:
            for path, message in error.problems:
                form.add_error(None, f"{path}: {message}")
            return _new_page(request, form, ImportForm(), [])
        messages.success(request, "Survey created. Add its first question below.")
        return redirect(survey)
    return _new_page(request, form, ImportForm(), [])


@require_http_methods(["GET", "POST"])
@editor_required
def survey_import(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _new_page(request, SurveyStartForm(), ImportForm(), [])
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _new_page(request, SurveyStartForm(), form, [])
    try:
        survey = Survey.create(
            membership(request).workspace, form.cleaned_data["definition"], request.user
        )
    except DefinitionError as error:
        return _new_page(request, SurveyStartForm(), form, error.problems)
    count = len(survey.definition["questions"])
    messages.success(request, f"Survey imported with {count} question{'s' * (count != 1)}.")
    return redirect(survey)


def _question_rows(survey: Survey) -> list[dict[str, Any]]:
    return [
        {**q, "type_label": authoring.type_label(q["type"])} for q in survey.definition["questions"]
    ]


def _detail_page(
    request: HttpRequest,
    survey: Survey,
    question_form: QuestionForm | None = None,
    details_form: SurveyDetailsForm | None = None,
) -> HttpResponse:
    url = public_url(request, survey)
    definition = survey.definition
    details = {k: definition.get(k, "") for k in ("title", "intro", "thank_you")}
    context = {
        "survey": survey,
        "questions": _question_rows(survey),
        **survey.responses.aggregate(
            responses=Count("pk"), completed=Count("pk", filter=Q(completed_at__isnull=False))
        ),
        "public_url": url,
        "braze_url": braze_link(survey, url),
        "can_edit": membership(request).can_edit,
        "question_form": question_form or QuestionForm(initial={"type": "nps"}),
        "details_form": details_form or SurveyDetailsForm(initial=details),
        "details_open": details_form is not None,
        "types_with": {
            field: " ".join(authoring.types_with(field))
            for field in ("choices", "min", "min_label")
        },
    }
    return render(request, "surveys/detail.html", context)


@require_GET
@member_required
def survey_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail_page(request, workspace_survey(request, pk))


def _apply(request: HttpRequest, pk: int, change: Change) -> tuple[Survey, Failure | None]:
    """Save the definition `change` makes of the survey, with its row locked meanwhile.

    Returns the survey and, when nothing was saved, why: a DefinitionError (the result did not
    validate) or an EditRefused.
    """
    with transaction.atomic():
        survey = workspace_survey(request, pk, lock=True)
        try:
            survey.replace_definition(change(survey))
        except (DefinitionError, authoring.EditRefused) as error:
            return survey, error
    return survey, None


def _back(survey: Survey, anchor: str = "") -> HttpResponse:
    return redirect(survey.get_absolute_url() + (f"#{anchor}" if anchor else ""))


def _refused(request: HttpRequest, error: Failure | None) -> bool:
    """Say why an edit made from a button was not saved; False when it was."""
    if error is None:
        return False
    messages.error(request, str(error))
    return True


@require_POST
@editor_required
def survey_edit(request: HttpRequest, pk: int) -> HttpResponse:
    form = SurveyDetailsForm(request.POST)
    if not form.is_valid():
        return _detail_page(request, workspace_survey(request, pk), details_form=form)
    survey, error = _apply(
        request, pk, lambda s: authoring.with_details(s.definition, form.definition())
    )
    if isinstance(error, DefinitionError):
        for path, message in error.problems:
            form.add_error(None, f"{path}: {message}")
        return _detail_page(request, survey, details_form=form)
    messages.success(request, "Title and texts saved.")
    return _back(survey)


@require_POST
@editor_required
def question_add(request: HttpRequest, pk: int) -> HttpResponse:
    form = QuestionForm(request.POST)
    if not form.is_valid():
        return _detail_page(request, workspace_survey(request, pk), question_form=form)
    survey, error = _apply(
        request, pk, lambda s: authoring.with_question(s.definition, form.question())
    )
    if isinstance(error, DefinitionError):
        form.add_problems(error.problems, len(survey.definition["questions"]))
        return _detail_page(request, survey, question_form=form)
    added = survey.definition["questions"][-1]
    messages.success(request, f"Question added: “{added['prompt']}”.")
    return _back(survey, f"q-{added['key']}")


@require_POST
@editor_required
def question_delete(request: HttpRequest, pk: int, key: str) -> HttpResponse:
    survey, error = _apply(
        request, pk, lambda s: authoring.without_question(s.definition, key, live=s.is_live)
    )
    if not _refused(request, error):
        messages.success(request, "Question deleted.")
    return _back(survey, "questions")


@require_POST
@editor_required
def question_move(request: HttpRequest, pk: int, key: str) -> HttpResponse:
    step = -1 if request.POST.get("direction") == "up" else 1
    survey, error = _apply(request, pk, lambda s: authoring.moved(s.definition, key, step))
    _refused(request, error)
    return _back(survey, f"q-{key}")


@require_POST
@editor_required
def survey_publish(request: HttpRequest, pk: int) -> HttpResponse:
    survey = workspace_survey(request, pk)
    if not survey.definition.get("questions"):
        messages.error(request, "Add at least one question before publishing.")
    elif survey.status != Status.LIVE:
        survey.set_status(Status.LIVE)
        messages.success(request, "The survey is live: anyone with the link can answer.")
    return _back(survey)


@require_POST
@editor_required
def survey_pause(request: HttpRequest, pk: int) -> HttpResponse:
    survey = workspace_survey(request, pk)
    if survey.status == Status.LIVE:
        survey.set_status(Status.PAUSED)
        messages.success(request, "The survey is paused: its link no longer takes answers.")
    return _back(survey)


@require_GET
@member_required
def survey_export(request: HttpRequest, pk: int) -> HttpResponse:
    survey = workspace_survey(request, pk)
    response = JsonResponse(
        survey.definition, json_dumps_params={"indent": 2, "ensure_ascii": False}
    )
    response["Content-Disposition"] = f'attachment; filename="{survey.slug}.json"'
    return response


@require_http_methods(["GET", "POST"])
@editor_required
def survey_delete(request: HttpRequest, pk: int) -> HttpResponse:
    survey = workspace_survey(request, pk)
    if request.method == "GET":
        return render(
            request,
            "surveys/delete.html",
            {"survey": survey, "responses": survey.responses.count()},
        )
    title = survey.title
    survey.delete()
    messages.success(request, f"Deleted “{title}” and its responses.")
    return redirect(reverse("survey-list"))
