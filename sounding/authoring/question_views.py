"""The survey builder's question views: add, edit in place, duplicate, move, delete and undo.

Each edit is a pure change of the definition (`authoring`) saved by `pages.apply_change`;
one that would leave answers or conditions behind is confirmed first (`orphans`).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from sounding.accounts import unsent
from sounding.authoring import builder, orphans, pages, undo
from sounding.authoring.forms import QuestionEditForm, QuestionForm
from sounding.authoring.pages import STALE, Failure, Stale
from sounding.surveys import edits, rules
from sounding.surveys.definition import DefinitionError
from sounding.surveys.models import Survey
from sounding.surveys.permissions import editor_required, workspace_survey


@require_POST
@editor_required
def question_add(request: HttpRequest, pk: int) -> HttpResponse:
    survey = workspace_survey(request, pk)
    form = QuestionForm(request.POST, questions=survey.definition["questions"])
    if not form.is_valid():
        return pages.detail_page(request, survey, question_form=form)
    after = form.cleaned_data["after"] or None
    survey, error = pages.apply_change(
        request,
        pk,
        lambda s: edits.with_question(s.definition, form.question(), after),
        form.cleaned_data["version"],
    )
    if error is not None:
        if isinstance(error, Stale):
            questions = survey.definition["questions"]
            form = QuestionForm(pages.fresh(request.POST, survey, ""), questions=questions)
            form.add_error(None, STALE)
            return pages.detail_page(request, survey, question_form=form, status=409)
        if isinstance(error, DefinitionError):
            form.add_problems(error.problems, _added_at(survey, after))
        else:
            form.add_error(None, str(error))
        return pages.detail_page(request, survey, question_form=form)
    added = survey.definition["questions"][_added_at(survey, after) - (after is None)]
    messages.success(request, f"Question added: “{added['prompt']}”.")
    return pages.back(survey, f"q-{added['key']}")


@unsent.refill("question-add")
@editor_required
def question_add_refilled(request: HttpRequest, data: QueryDict, pk: int) -> HttpResponse:
    """The survey page with the question a signed-out author tried to add, filled in."""
    survey = workspace_survey(request, pk)
    messages.info(
        request,
        "You were signed out before your question was added. It is filled in below: "
        "check it and add it.",
    )
    form = QuestionForm(data, questions=survey.definition["questions"])
    return pages.detail_page(request, survey, question_form=form)


def _added_at(survey: Survey, after: str | None) -> int:
    """Where a question added `after` another goes (or went) in the survey's list."""
    return edits.added_at(survey.definition["questions"], after)


def _answered(survey: Survey, key: str) -> tuple[int, bool]:
    """Answers to `key`, and whether the survey has any response (which fixes keys)."""
    has_responses = survey.responses.exists()
    return (orphans.answer_count(survey, key) if has_responses else 0), has_responses


def _confirm_page(
    request: HttpRequest, survey: Survey, action: str, need: orphans.NeedsConfirmation
) -> HttpResponse:
    skip = {"csrfmiddlewaretoken", "confirm", "drop_rules", "keep_answers"}
    carried = [
        (name, value)
        for name in request.POST
        if name not in skip
        for value in request.POST.getlist(name)
    ]
    context = {
        "survey": survey,
        "action": action,
        "orphans": need.orphans,
        "dependents": [rules.short_prompt(q["prompt"]) for q in need.dependents],
        "carried": carried,
        "deleting": action.endswith("/delete"),
    }
    return render(request, "surveys/confirm.html", context)


def _edit_failed(
    request: HttpRequest, survey: Survey, key: str, form: QuestionEditForm, error: Failure
) -> HttpResponse:
    if isinstance(error, Stale):
        answered, locked = _answered(survey, key)
        if rules.find(survey.definition["questions"], key) is None:
            messages.error(request, "That question was deleted meanwhile; nothing was saved.")
            return pages.back(survey, "questions")
        form = builder.edit_form(
            survey,
            key,
            pages.fresh(request.POST, survey, form.prefix or ""),
            answered=answered,
            locked=locked,
        )
        form.add_error(None, STALE)
        return pages.detail_page(request, survey, editing=(key, form), status=409)
    if isinstance(error, DefinitionError):
        index = edits.position(survey.definition["questions"], key)
        mine = [(p, m) for p, m in error.problems if edits.question_index(p) in (index, None)]
        form.add_problems(mine, index)
        for path, message in error.problems:
            if (path, message) not in mine:
                form.add_error(None, _other_question_problem(survey, path, message))
    else:
        form.add_error(None, str(error))
    return pages.detail_page(request, survey, editing=(key, form))


def _other_question_problem(survey: Survey, path: str, message: str) -> str:
    """A problem an edit causes in another question: a condition that would stop holding."""
    index = edits.question_index(path)
    questions = survey.definition["questions"]
    if index is None or index >= len(questions):
        return f"{path}: {message}"
    name = rules.short_prompt(questions[index]["prompt"])
    if ".show_if" in path:
        return (
            f"Question {index + 1}, “{name}”, is shown depending on this one, and its condition "
            f"would no longer hold ({message}). Change that condition first."
        )
    return f"Question {index + 1}, “{name}”: {message}."


@require_POST
@editor_required
def question_edit(request: HttpRequest, pk: int, key: str) -> HttpResponse:
    survey = workspace_survey(request, pk)
    if rules.find(survey.definition["questions"], key) is None:
        messages.error(request, "That question is no longer in the survey; nothing was saved.")
        return pages.back(survey, "questions")
    answered, locked = _answered(survey, key)
    form = builder.edit_form(survey, key, request.POST, answered=answered, locked=locked)
    if "_refresh" in request.POST:
        return pages.detail_page(request, survey, editing=(key, form.without_errors()))
    if not form.is_valid():
        return pages.detail_page(request, survey, editing=(key, form))
    new = form.question()
    old = form.original
    renames = edits.choice_renames(
        old.get("choices") or [], new.get("choices") or [], form.origins()
    )
    confirmed = request.POST.get("confirm") == "yes"

    def change(s: Survey) -> dict[str, Any]:
        current = s.definition["questions"][edits.position(s.definition["questions"], key)]
        if answered:
            found = orphans.for_edit(s, current, new, renames)
            if found and not confirmed:
                raise orphans.NeedsConfirmation(found)
        return edits.replaced(s.definition, key, new, renames)

    def then(s: Survey) -> None:
        if renames and answered and request.POST.get("keep_answers", "yes") == "yes":
            orphans.rename_answers(s, key, renames)

    survey, error = pages.apply_change(request, pk, change, form.cleaned_data["version"], then)
    if isinstance(error, orphans.NeedsConfirmation):
        return _confirm_page(request, survey, request.path, error)
    if error is not None:
        return _edit_failed(request, survey, key, form, error)
    messages.success(request, f"Saved “{rules.short_prompt(new['prompt'])}”.")
    return pages.back(survey, f"q-{new.get('key') or key}")


@require_POST
@editor_required
def question_delete(request: HttpRequest, pk: int, key: str) -> HttpResponse:
    confirmed = request.POST.get("confirm") == "yes"
    drop_rules = request.POST.get("drop_rules") == "yes"
    taken: list[edits.Deleted] = []

    def change(s: Survey) -> dict[str, Any]:
        questions = s.definition["questions"]
        question = questions[edits.position(questions, key)]
        found = orphans.for_deletion(s, question) if s.responses.exists() else None
        depending = rules.dependents(questions, key)
        if (found and not confirmed) or (depending and not drop_rules):
            raise orphans.NeedsConfirmation(found or orphans.Orphans(question["prompt"]), depending)
        definition, deleted = edits.without_question(
            s.definition, key, live=s.is_live, drop_rules=drop_rules
        )
        taken.append(deleted)
        return definition

    survey, error = pages.apply_change(request, pk, change, pages.posted_version(request))
    if isinstance(error, orphans.NeedsConfirmation):
        return _confirm_page(request, survey, request.path, error)
    refused = pages.refused(request, survey, error)
    if refused is not None:
        return refused
    undo.remember(request, survey.pk, taken[0])
    return pages.back(survey, "questions")


@require_POST
@editor_required
def question_undo(request: HttpRequest, pk: int) -> HttpResponse:
    deleted = undo.offered(request, pk)
    if deleted is None:
        survey = workspace_survey(request, pk)
        messages.error(request, "There is no deletion to undo any more.")
        return pages.back(survey, "questions")
    notes: list[str] = []

    def change(s: Survey) -> dict[str, Any]:
        definition, found = edits.restored(s.definition, deleted)
        notes.extend(found)
        return definition

    survey, error = pages.apply_change(request, pk, change)
    if error is not None:
        messages.error(request, str(error))
        return pages.back(survey, "questions")
    undo.forget(request, pk)
    prompt = rules.short_prompt(deleted.question["prompt"])
    messages.success(request, f"“{prompt}” is back" + "".join(f"; {n}" for n in notes) + ".")
    return pages.back(survey, f"q-{deleted.question['key']}")


@unsent.refill("question-edit")
@editor_required
def question_edit_refilled(
    request: HttpRequest, data: QueryDict, pk: int, key: str
) -> HttpResponse:
    """The survey page with the question's editor open on a signed-out author's change."""
    survey = workspace_survey(request, pk)
    if rules.find(survey.definition["questions"], key) is None:
        messages.error(request, "That question is no longer in the survey; nothing was saved.")
        return pages.back(survey, "questions")
    answered, locked = _answered(survey, key)
    form = builder.edit_form(survey, key, data, answered=answered, locked=locked)
    messages.info(
        request,
        "You were signed out before your change was saved. It is filled in below: "
        "check it and save it.",
    )
    return pages.detail_page(request, survey, editing=(key, form.without_errors()))


@require_POST
@editor_required
def question_duplicate(request: HttpRequest, pk: int, key: str) -> HttpResponse:
    made: list[str] = []

    def change(s: Survey) -> dict[str, Any]:
        definition, copy_key = edits.duplicated(s.definition, key)
        made.append(copy_key)
        return definition

    survey, error = pages.apply_change(request, pk, change, pages.posted_version(request))
    refused = pages.refused(request, survey, error)
    if refused is not None:
        return refused
    messages.success(request, f"Duplicated as “{made[0]}”: edit the copy below.")
    return redirect(f"{survey.get_absolute_url()}?edit={made[0]}#q-{made[0]}")


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@require_POST
@editor_required
def question_move(request: HttpRequest, pk: int, key: str) -> HttpResponse:
    """Up or down a place (the buttons), or to a `position` counted from 1 (drag and drop)."""
    raw = request.POST.get("position", "")
    if raw.isdigit():
        target = int(raw) - 1

        def change(s: Survey) -> dict[str, Any]:
            return edits.moved_to(s.definition, key, target)

    else:
        step = -1 if request.POST.get("direction") == "up" else 1

        def change(s: Survey) -> dict[str, Any]:
            return edits.moved(s.definition, key, step)

    survey, error = pages.apply_change(request, pk, change, pages.posted_version(request))
    if _wants_json(request):
        return _move_json(survey, error)
    refused = pages.refused(request, survey, error)
    return refused or pages.back(survey, f"q-{key}")


def _move_json(survey: Survey, error: Failure | None) -> JsonResponse:
    """For the page script: the new order and version, or why the move was refused."""
    keys = [q["key"] for q in survey.definition["questions"]]
    if error is None:
        return JsonResponse({"version": survey.version, "order": keys})
    status = 409 if isinstance(error, Stale | edits.EditRefused) else 400
    return JsonResponse(
        {"error": str(error), "version": survey.version, "order": keys}, status=status
    )
