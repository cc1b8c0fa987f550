"""The survey report and the full list of a text question's answers: read-only, for anyone in
the survey's workspace. Bad filter values get the page back with a message and a 400."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from sounding.answers.models import Answer
from sounding.reports import filters, page, stats
from sounding.surveys.models import Survey
from sounding.surveys.permissions import member_required, workspace_survey
from sounding.surveys.spec import Question

ANSWERS_PER_PAGE = 25
MAX_SEARCH = 200


class AnswerSearch(forms.Form):
    search = forms.CharField(
        required=False,
        max_length=MAX_SEARCH,
        label="Search the answers",
        error_messages={"max_length": f"Search for at most {MAX_SEARCH} characters."},
    )


def _filters(
    request: HttpRequest, survey: Survey
) -> tuple[filters.ReportFilters, dict[str, Any] | None]:
    """The filters form, and what it keeps (None while a value is invalid)."""
    form = filters.ReportFilters(request.GET, spec=survey.spec)
    return form, form.cleaned_data if form.is_valid() else None


def _filter_pairs(form: filters.ReportFilters) -> list[tuple[str, str]]:
    """The filters given, as (name, value), to carry between the report's pages."""
    return [(name, form.data[name]) for name in filters.params() if form.data.get(name)]


def _filter_context(form: filters.ReportFilters, valid: bool) -> dict[str, Any]:
    pairs = _filter_pairs(form)
    query = QueryDict(mutable=True)
    for name, value in pairs:
        query[name] = value
    return {
        "form": form,
        "filter_pairs": pairs,
        "filter_query": query.urlencode(),
        "active": filters.active(form.cleaned_data) if valid else [],
    }


@require_GET
@member_required
def survey_report(request: HttpRequest, pk: int) -> HttpResponse:
    survey = workspace_survey(request, pk)
    form, data = _filters(request, survey)
    context: dict[str, Any] = {
        "survey": survey,
        "report": None,
        "tz_name": timezone.get_current_timezone_name(),
        **_filter_context(form, data is not None),
    }
    if data is None:
        return render(request, "reports/report.html", context, status=400)
    responses = filters.responses(survey, data)
    context["report"] = page.build(survey, data, responses, filters.answers(survey, data))
    return render(request, "reports/report.html", context)


def _answer_key(survey: Survey, key: str) -> Question | None:
    """The text question `key`, or None for a removed question that still has answers."""
    question = survey.spec.get(key)
    if question is not None:
        if question.type not in stats.TEXT_TYPES:
            raise Http404("Only text questions have a list of answers.")
        return question
    if not Answer.objects.filter(response__survey=survey, question_key=key).exists():
        raise Http404("No question has this key.")
    return None


@require_GET
@member_required
def report_answers(request: HttpRequest, pk: int, key: str) -> HttpResponse:
    survey = workspace_survey(request, pk)
    form, data = _filters(request, survey)
    question = _answer_key(survey, key)
    search = AnswerSearch(request.GET)
    context: dict[str, Any] = {
        "survey": survey,
        "key": key,
        "question": question,
        "number": survey.spec.position(key) + 1 if question is not None else None,
        "search_form": search,
        "search_pairs": [("search", request.GET["search"])] if request.GET.get("search") else [],
        "report_url": reverse("survey-report", args=[survey.pk]),
        "page": None,
        **_filter_context(form, data is not None),
    }
    if data is None or not search.is_valid():
        return render(request, "reports/answers.html", context, status=400)
    text = search.cleaned_data["search"]
    found = stats.text_answers(filters.answers(survey, data), key, text)
    listed = Paginator(found, ANSWERS_PER_PAGE).get_page(request.GET.get("page"))
    context |= {
        "search": text,
        "page": listed,
        "answers": [page.text_answer(a) for a in listed.object_list],
    }
    return render(request, "reports/answers.html", context)
