"""The authoring pages about a whole survey: list, create (blank, from a template or
imported), show, edit its texts, publish, export and delete. The questions' own pages are in
`question_views`.

Every page asks `permissions` first: the survey must be in the current workspace (a 404
otherwise) and any change needs a role that may edit (a 403 otherwise), whatever the page
showed. Changes to the questions go through the definition, so they are validated exactly as
an import or an API call would be.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sounding import destinations
from sounding.accounts import unsent
from sounding.authoring import builder, gallery, pages
from sounding.authoring.forms import (
    HiddenFieldsForm,
    ImportForm,
    SurveyDetailsForm,
    SurveyStartForm,
    TemplateStartForm,
)
from sounding.surveys import edits, library, rules
from sounding.surveys.definition import DefinitionError
from sounding.surveys.models import Status, Survey
from sounding.surveys.permissions import (
    SignedInRequest,
    editor_required,
    member_required,
    membership,
    workspace_survey,
)


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
    request: HttpRequest,
    start: SurveyStartForm,
    imported: ImportForm,
    problems: list[Any],
    from_template: TemplateStartForm | None = None,
    gallery_error: str = "",
    status: int = 200,
) -> HttpResponse:
    context = {
        "start_form": start,
        "import_form": imported,
        "problems": problems,
        "cards": gallery.cards(from_template),
        "gallery_error": gallery_error,
    }
    return render(request, "surveys/new.html", context, status=status)


@require_http_methods(["GET", "POST"])
@editor_required
def survey_new(request: SignedInRequest) -> HttpResponse:
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
def survey_from_template(request: SignedInRequest) -> HttpResponse:
    if request.method == "GET":
        return _new_page(request, SurveyStartForm(), ImportForm(), [])
    template = library.find(request.POST.get("template", ""))
    if template is None:
        # Not a card of the gallery: a hand-made request, or a page older than the templates.
        error = "There is no such template: pick one of those below."
        return _new_page(
            request, SurveyStartForm(), ImportForm(), [], gallery_error=error, status=400
        )
    form = TemplateStartForm(template.slug, request.POST)
    if not form.is_valid():
        return _new_page(request, SurveyStartForm(), ImportForm(), [], from_template=form)
    try:
        survey = library.create_survey(
            membership(request).workspace, template, form.cleaned_data["title"], request.user
        )
    except DefinitionError as error:
        for path, message in error.problems:
            form.add_error(None, f"{path}: {message}")
        return _new_page(request, SurveyStartForm(), ImportForm(), [], from_template=form)
    count = len(survey.definition["questions"])
    messages.success(
        request,
        f"Survey created from the “{template.name}” template, with its {count} questions and "
        "their translations. Change anything below; it is a draft until you publish it.",
    )
    return redirect(survey)


@require_http_methods(["GET", "POST"])
@editor_required
def survey_import(request: SignedInRequest) -> HttpResponse:
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


@require_GET
@member_required
def survey_detail(request: HttpRequest, pk: int) -> HttpResponse:
    survey = workspace_survey(request, pk)
    wanted = request.GET.get("edit", "")
    if (
        wanted
        and membership(request).can_edit
        and rules.find(survey.definition["questions"], wanted)
    ):
        counts = pages.answer_counts(survey, survey.responses.count())
        form = builder.edit_form(
            survey, wanted, answered=counts.get(wanted, 0), locked=bool(counts)
        )
        return pages.detail_page(request, survey, editing=(wanted, form))
    return pages.detail_page(request, survey)


@require_POST
@editor_required
def survey_edit(request: HttpRequest, pk: int) -> HttpResponse:
    form = SurveyDetailsForm(request.POST)
    if not form.is_valid():
        return pages.detail_page(request, workspace_survey(request, pk), details_form=form)
    survey, error = pages.apply_change(
        request,
        pk,
        lambda s: edits.with_details(s.definition, form.definition()),
        form.cleaned_data["version"],
    )
    if isinstance(error, pages.Stale):
        form = SurveyDetailsForm(pages.fresh(request.POST, survey, ""))
        form.add_error(None, pages.STALE)
        return pages.detail_page(request, survey, details_form=form, status=409)
    if isinstance(error, DefinitionError):
        for path, message in error.problems:
            form.add_error(None, f"{path}: {message}")
        return pages.detail_page(request, survey, details_form=form)
    messages.success(request, "Title and texts saved.")
    return pages.back(survey)


@unsent.refill("survey-edit")
@editor_required
def survey_edit_refilled(request: HttpRequest, data: QueryDict, pk: int) -> HttpResponse:
    """The survey page with a signed-out author's title and texts, filled in."""
    survey = workspace_survey(request, pk)
    messages.info(
        request,
        "You were signed out before your texts were saved. They are filled in below: "
        "check them and save them.",
    )
    return pages.detail_page(request, survey, details_form=SurveyDetailsForm(data))


@require_POST
@editor_required
def survey_hidden_fields(request: HttpRequest, pk: int) -> HttpResponse:
    form = HiddenFieldsForm(request.POST)
    if not form.is_valid():
        return pages.detail_page(request, workspace_survey(request, pk), hidden_form=form)
    names = form.cleaned_data["names"]
    survey, error = pages.apply_change(
        request,
        pk,
        lambda s: edits.with_hidden_fields(s.definition, names),
        form.cleaned_data["version"],
    )
    if isinstance(error, pages.Stale):
        form = pages.hidden_fields_form(survey, pages.fresh(request.POST, survey, ""))
        form.add_error(None, pages.STALE)
        return pages.detail_page(request, survey, hidden_form=form, status=409)
    if isinstance(error, DefinitionError):
        form.add_problems(error.problems)
        return pages.detail_page(request, survey, hidden_form=form)
    messages.success(request, "Hidden fields saved.")
    return pages.back(survey, "hidden-fields")


def _status_page(request: HttpRequest, survey: Survey, action: str) -> HttpResponse:
    context = {
        "survey": survey,
        "action": action,
        "responses": survey.responses.count(),
        "sending_to": [destinations.label(kind) for kind in destinations.enabled_kinds(survey)],
    }
    return render(request, "surveys/status_confirm.html", context)


def _confirmed(request: HttpRequest) -> bool:
    # A change respondents notice at once is asked first: the buttons open this page (a GET),
    # and a POST without the page's `confirm` field (an old tab, a crafted form) asks too.
    return request.method == "POST" and request.POST.get("confirm") == "yes"


@require_http_methods(["GET", "POST"])
@editor_required
def survey_publish(request: HttpRequest, pk: int) -> HttpResponse:
    survey = workspace_survey(request, pk)
    if not survey.definition.get("questions"):
        messages.error(request, "Add at least one question before publishing.")
        return pages.back(survey)
    if survey.status == Status.LIVE:
        return pages.back(survey)
    if not _confirmed(request):
        return _status_page(request, survey, "publish")
    survey.set_status(Status.LIVE)
    messages.success(request, "The survey is live: anyone with the link can answer.")
    return pages.back(survey)


@require_http_methods(["GET", "POST"])
@editor_required
def survey_pause(request: HttpRequest, pk: int) -> HttpResponse:
    survey = workspace_survey(request, pk)
    if survey.status != Status.LIVE:
        return pages.back(survey)
    if not _confirmed(request):
        return _status_page(request, survey, "pause")
    survey.set_status(Status.PAUSED)
    messages.success(request, "The survey is paused: its link no longer takes answers.")
    return pages.back(survey)


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
