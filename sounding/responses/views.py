"""The responses pages: the table, one response, deleting, data-subject requests and exports.

Reading is for any member; deleting is for those who may edit, checked again on every POST.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from sounding.answers.models import Response
from sounding.delivery import status
from sounding.responses import erasure, export, filters, paging, table
from sounding.responses.erasure import Erased
from sounding.responses.forms import DeleteForm, ErasePersonForm, PersonForm
from sounding.surveys.models import Survey
from sounding.surveys.permissions import (
    editor_required,
    member_required,
    membership,
    workspace_survey,
)

PAGE_SIZE = 50


# --- the table -----------------------------------------------------------------------------


def _cursors(params: Any, problems: filters.Problems) -> dict[str, paging.Cursor]:
    found = {}
    for name in ("before", "after"):
        raw = params.get(name)
        if not raw:
            continue
        try:
            found[name] = paging.Cursor.parse(raw)
        except paging.BadCursor:
            problems.append((name, "is not a page link this site gave: start from the first page"))
    return found


@require_GET
@member_required
def survey_responses(request: HttpRequest, pk: int) -> HttpResponse:
    survey = workspace_survey(request, pk)
    chosen, problems = filters.parse(request.GET)
    cursors = _cursors(request.GET, problems)
    found = filters.apply(
        status.with_pushes(Response.objects.filter(survey=survey), table.kinds()), chosen
    )
    page = None if problems else paging.newest_page(found, PAGE_SIZE, **cursors)
    context = {
        "survey": survey,
        "chosen": chosen,
        "problems": problems,
        "tally": table.tally(survey),
        "matching": found.count() if chosen.active and not problems else None,
        "completion_choices": filters.COMPLETION,
        "sync_choices": filters.SYNC,
        "destinations": table.columns(chosen.sync),
        "search_hint": table.search_hint(),
        "questions": table.shown_questions(survey),
        "rows": table.rows(page.rows, survey) if page else [],
        "page": page,
        "first_page": bool(page) and not cursors,
        "export_query": urlencode(chosen.params()),
        "can_edit": membership(request).can_edit,
    }
    return render(request, "responses/table.html", context, status=400 if problems else 200)


# --- one response --------------------------------------------------------------------------


def _response(survey: Survey, token: str) -> Response:
    return get_object_or_404(Response, survey=survey, token=token)


@require_GET
@member_required
def response_detail(request: HttpRequest, pk: int, token: str) -> HttpResponse:
    survey = workspace_survey(request, pk)
    response = _response(survey, token)
    context = {
        "survey": survey,
        "response": response,
        "can_edit": membership(request).can_edit,
        **table.detail(response, survey),
    }
    return render(request, "responses/detail.html", context)


def _where(erased: Erased) -> str:
    return " and ".join(erased.clearing_at)


def _later(erased: Erased) -> str:
    return f"will disappear once {_where(erased)} has taken the cleared values."


def _blocked(erased: Erased) -> str:
    # Said at once: the person asking expects the answers cleared, and that may never happen.
    if not erased.clearing_blocked:
        return ""
    where = _where(erased)
    return (
        f" {where} cannot take them now: {erased.clearing_blocked} They are kept until it can; "
        f"to give up clearing {where}, delete them again without clearing."
    )


def _deleted_message(request: HttpRequest, erased: Erased) -> None:
    if erased.clearing:
        level = messages.ERROR if erased.clearing_blocked else messages.SUCCESS
        messages.add_message(
            request,
            level,
            f"Deleted. {erased.clearing} response{'s' * (erased.clearing != 1)} "
            f"{_later(erased)}{_blocked(erased)}",
        )
    else:
        messages.success(request, "Deleted.")


@require_http_methods(["GET", "POST"])
@editor_required
def response_delete(request: HttpRequest, pk: int, token: str) -> HttpResponse:
    survey = workspace_survey(request, pk)
    response = _response(survey, token)
    form = DeleteForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        erased = erasure.erase_one(response, form.cleaned_data["clear_destinations"])
        _deleted_message(request, erased)
        return redirect(reverse("survey-responses", args=[survey.pk]))
    facts = table.detail(response, survey)
    context = {
        "survey": survey,
        "response": response,
        "form": form,
        "held_any": any(d["held"] for d in facts["destinations"]),
        **facts,
    }
    return render(request, "responses/delete.html", context)


# --- a data-subject request ----------------------------------------------------------------


def _person_preview(request: HttpRequest, form: PersonForm) -> dict[str, Any]:
    found = erasure.matching(
        membership(request).workspace_id,
        form.cleaned_data["identifier"],
        form.cleaned_data["value"],
    )
    surveys = erasure.by_survey(found)
    return {
        "surveys": surveys,
        "total": sum(s["count"] for s in surveys),
        "confirm": ErasePersonForm(
            initial={
                "identifier": form.cleaned_data["identifier"],
                "value": form.cleaned_data["value"],
            }
        ),
        # A ChoiceField, typed as the base Field; cast, its `choices` would still be typed as
        # anything the constructor accepts rather than the list it keeps.
        "identifier_label": dict(form.fields["identifier"].choices)[  # type: ignore[attr-defined]
            form.cleaned_data["identifier"]
        ],
        "value": form.cleaned_data["value"],
    }


def _erase_person(request: HttpRequest) -> HttpResponse:
    form = ErasePersonForm(request.POST)
    if not form.is_valid():
        context = {"form": form, "searched": False, "surveys": None}
        return render(request, "responses/erase_person.html", context, status=400)
    erased = erasure.erase(
        erasure.matching(
            membership(request).workspace_id,
            form.cleaned_data["identifier"],
            form.cleaned_data["value"],
        ),
        form.cleaned_data["clear_destinations"],
    )
    if erased.responses:
        text = (
            f"Deleted {erased.responses} response{'s' * (erased.responses != 1)} in "
            f"{erased.surveys} survey{'s' * (erased.surveys != 1)}."
        )
        if erased.clearing:
            text += f" {erased.clearing} {_later(erased)}{_blocked(erased)}"
        level = messages.ERROR if erased.clearing_blocked else messages.SUCCESS
        messages.add_message(request, level, text)
    else:
        messages.info(request, "Nothing matched: no response was deleted.")
    return redirect(reverse("erase-person"))


@require_http_methods(["GET", "POST"])
@editor_required
def erase_person(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _erase_person(request)
    searched = "identifier" in request.GET or "value" in request.GET
    form = PersonForm(request.GET if searched else None)
    context: dict[str, Any] = {"form": form, "searched": searched, "surveys": None}
    if searched and form.is_valid():
        context.update(_person_preview(request, form))
    return render(
        request, "responses/erase_person.html", context, status=400 if form.errors else 200
    )


# --- exports -------------------------------------------------------------------------------


def _export(request: HttpRequest, pk: int, fmt: str) -> HttpResponse | StreamingHttpResponse:
    survey = workspace_survey(request, pk)
    chosen, problems = filters.parse(request.GET)
    if problems:
        text = "; ".join(f"{name} {message}" for name, message in problems)
        return HttpResponse(
            f"The export filters are not valid: {text}.\n",
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    return export.stream(survey, chosen, fmt)


@require_GET
@member_required
def export_csv(request: HttpRequest, pk: int) -> HttpResponse | StreamingHttpResponse:
    return _export(request, pk, "csv")


@require_GET
@member_required
def export_json(request: HttpRequest, pk: int) -> HttpResponse | StreamingHttpResponse:
    return _export(request, pk, "json")


@require_GET
@member_required
def export_excel_csv(request: HttpRequest, pk: int) -> HttpResponse | StreamingHttpResponse:
    return _export(request, pk, "excel-csv")


@require_GET
@member_required
def export_xlsx(request: HttpRequest, pk: int) -> HttpResponse | StreamingHttpResponse:
    return _export(request, pk, "xlsx")
