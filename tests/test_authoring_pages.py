"""The authoring pages: list, create, import, edit questions, publish, export and delete, and
who may do which."""

from __future__ import annotations

import json
from html import unescape
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from sounding.accounts.models import User, Workspace
from sounding.answers.models import Response
from sounding.surveys.definition import normalize
from sounding.surveys.models import Status, Survey
from tests.conftest import EVERY_TYPE, logged_in

ONE_QUESTION = {
    "title": "Quick check",
    "questions": [{"key": "happy", "type": "yes_no", "prompt": "Happy?"}],
}


def url(name: str, survey: Survey, *extra: str) -> str:
    return reverse(name, args=[survey.pk, *extra])


def keys(survey: Survey) -> list[str]:
    survey.refresh_from_db()
    return [q["key"] for q in survey.definition["questions"]]


def form_data(question: dict[str, Any]) -> dict[str, Any]:
    """What an author types into the "Add question" form to make `question`."""
    data = {k: question[k] for k in ("type", "prompt", "key")}
    data["help"] = question.get("help", "")
    for flag in ("required", "allow_other"):
        if question.get(flag):
            data[flag] = "on"
    if "choices" in question:
        data["choices"] = "\n".join(question["choices"])
    for name in ("min", "max", "min_label", "max_label"):
        if name in question:
            data[name] = question[name]
    return data


@pytest.fixture
def draft(workspace: Workspace, owner: User) -> Survey:
    return Survey.create(workspace, ONE_QUESTION, owner)


# --- The list -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_survey_list_shows_only_the_workspace_surveys_with_their_response_counts(
    owner: User, live_survey: Survey, other_workspace: Workspace
) -> None:
    Survey.create(other_workspace, {"title": "Globex secret plans"})
    Response.objects.create(survey=live_survey)
    Response.objects.create(survey=live_survey)
    page = logged_in(owner).get(reverse("survey-list"))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Customer pulse" in html
    assert "2 responses" in html
    assert 'class="badge badge-live"' in html
    assert live_survey.get_absolute_url() in html
    assert "Globex" not in html


@pytest.mark.django_db
def test_the_survey_list_costs_the_same_queries_for_one_survey_or_many(
    owner: User, workspace: Workspace
) -> None:
    client = logged_in(owner)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("survey-list")).status_code == 200
        return len(captured)

    Survey.create(workspace, {"title": "One"})
    one = queries()
    for n in range(5):
        survey = Survey.create(workspace, {"title": f"Survey {n}"})
        Response.objects.create(survey=survey)
    assert queries() == one


@pytest.mark.django_db
def test_a_viewer_sees_surveys_but_no_buttons_that_change_them(
    viewer: User, live_survey: Survey
) -> None:
    client = logged_in(viewer)
    assert reverse("survey-new") not in client.get(reverse("survey-list")).content.decode()
    detail = client.get(live_survey.get_absolute_url())
    html = detail.content.decode()
    assert detail.status_code == 200
    assert "How likely are you to recommend us?" in html
    assert url("survey-export", live_survey) in html
    for name in ("question-add", "survey-pause", "survey-delete", "survey-edit"):
        assert url(name, live_survey) not in html


# --- Creating -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_blank_survey_is_a_draft_without_questions_and_opens_its_page(
    editor: User, workspace: Workspace
) -> None:
    client = logged_in(editor)
    assert client.get(reverse("survey-new")).status_code == 200
    response = client.post(reverse("survey-new"), {"title": "Onboarding", "intro": "Hi!"})
    survey = Survey.objects.get()
    assert response["Location"] == survey.get_absolute_url()
    assert (survey.workspace, survey.created_by, survey.status) == (workspace, editor, Status.DRAFT)
    assert survey.definition["questions"] == []
    assert survey.definition["intro"] == "Hi!"
    assert "Add the first one below" in client.get(survey.get_absolute_url()).content.decode()


@pytest.mark.django_db
def test_a_blank_survey_needs_a_title(editor: User) -> None:
    response = logged_in(editor).post(reverse("survey-new"), {"title": "  "})
    assert response.status_code == 200
    assert b"This field is required." in response.content
    assert not Survey.objects.exists()


@pytest.mark.django_db
def test_every_question_type_can_be_added_through_the_form(
    owner: User, workspace: Workspace
) -> None:
    survey = Survey.create(workspace, {"title": "Customer pulse"}, owner)
    client = logged_in(owner)
    for question in EVERY_TYPE["questions"]:
        response = client.post(url("question-add", survey), form_data(question))
        assert response.status_code == 302, response.content
        assert response["Location"] == f"{survey.get_absolute_url()}#q-{question['key']}"
    survey.refresh_from_db()
    assert survey.definition == normalize(EVERY_TYPE)
    assert survey.version == 1 + len(EVERY_TYPE["questions"])
    html = client.get(survey.get_absolute_url()).content.decode()
    for label in ("Net Promoter Score (0–10)", "Multiple choice", "Enterprise", "Very easy"):
        assert label in html


@pytest.mark.django_db
def test_fields_the_chosen_type_does_not_take_are_ignored(owner: User, draft: Survey) -> None:
    data = {"type": "yes_no", "prompt": "Again?", "choices": "A\nB", "min": "3", "max": "9"}
    assert logged_in(owner).post(url("question-add", draft), data).status_code == 302
    draft.refresh_from_db()
    added = draft.definition["questions"][-1]
    assert added == {
        "key": "again",
        "type": "yes_no",
        "prompt": "Again?",
        "help": "",
        "required": False,
    }


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"type": "single_choice", "prompt": "Pick"}, "choices", "Must be a non-empty list"),
        ({"type": "dropdown", "prompt": "Pick", "choices": "A\nA"}, "choices", "Repeats the"),
        ({"type": "scale", "prompt": "Rate", "min": "1", "max": "50"}, "max", "Must be 1 to 20"),
        ({"type": "scale", "prompt": "Rate", "min": "1.5"}, "min", "Must be a whole number"),
        ({"type": "number", "prompt": "N", "min": "9", "max": "1"}, "max", "Must not be less"),
        (
            {"type": "nps", "prompt": "NPS", "key": "happy"},
            "key",
            "Another question already uses the key “happy”",
        ),
        ({"type": "nps", "prompt": "NPS", "key": "Bad Key"}, "key", "Must start with"),
        ({"type": "nps", "prompt": ""}, "prompt", "This field is required"),
    ],
)
@pytest.mark.django_db
def test_a_question_the_definition_refuses_is_shown_again_with_the_problem_by_its_field(
    owner: User, draft: Survey, data: dict[str, str], field: str, message: str
) -> None:
    response = logged_in(owner).post(url("question-add", draft), data)
    assert response.status_code == 200
    form = response.context["question_form"]
    assert any(message in error for error in form.errors[field]), form.errors
    assert f'id="id_{field}_error"' in response.content.decode()
    assert keys(draft) == ["happy"]


# --- Reordering and deleting ----------------------------------------------------------------


@pytest.mark.django_db
def test_questions_move_up_and_down_and_stay_put_at_either_end(
    owner: User, live_survey: Survey
) -> None:
    client = logged_in(owner)
    before = keys(live_survey)
    response = client.post(url("question-move", live_survey, "csat"), {"direction": "up"})
    assert response["Location"] == f"{live_survey.get_absolute_url()}#q-csat"
    assert keys(live_survey)[:3] == ["nps", "csat", "rating"]
    client.post(url("question-move", live_survey, "csat"), {"direction": "down"})
    assert keys(live_survey) == before
    client.post(url("question-move", live_survey, "nps"), {"direction": "up"})
    client.post(url("question-move", live_survey, "since"), {"direction": "down"})
    assert keys(live_survey) == before


@pytest.mark.django_db
def test_a_question_can_be_deleted(owner: User, live_survey: Survey) -> None:
    client = logged_in(owner)
    response = client.post(url("question-delete", live_survey, "rating"), follow=True)
    assert "rating" not in keys(live_survey)
    assert len(keys(live_survey)) == len(EVERY_TYPE["questions"]) - 1
    html = response.content.decode()
    assert "Question deleted: “Rate the app”." in html
    assert url("question-undo", live_survey) in html


@pytest.mark.django_db
def test_a_question_already_gone_is_reported_not_a_crash(owner: User, draft: Survey) -> None:
    response = logged_in(owner).post(url("question-move", draft, "nothing"), follow=True)
    assert response.status_code == 200
    assert b"no longer in the survey" in response.content


@pytest.mark.django_db
def test_the_last_question_of_a_live_survey_cannot_be_deleted(owner: User, draft: Survey) -> None:
    draft.set_status(Status.LIVE)
    response = logged_in(owner).post(url("question-delete", draft, "happy"), follow=True)
    assert b"A live survey needs at least one question" in response.content
    assert keys(draft) == ["happy"]


@pytest.mark.django_db
def test_the_title_and_texts_can_be_edited_without_touching_the_questions(
    editor: User, live_survey: Survey
) -> None:
    data = {"title": "Pulse, spring", "intro": "Hello", "thank_you": "Merci"}
    response = logged_in(editor).post(url("survey-edit", live_survey), data)
    assert response.status_code == 302
    live_survey.refresh_from_db()
    assert live_survey.title == "Pulse, spring"
    assert live_survey.definition["thank_you"] == "Merci"
    assert live_survey.definition["questions"] == normalize(EVERY_TYPE)["questions"]


# --- Import and export ----------------------------------------------------------------------


@pytest.mark.django_db
def test_a_pasted_json_definition_becomes_a_draft(editor: User) -> None:
    client = logged_in(editor)
    assert client.get(reverse("survey-import")).status_code == 200
    response = client.post(reverse("survey-import"), {"text": json.dumps(EVERY_TYPE)})
    survey = Survey.objects.get()
    assert response["Location"] == survey.get_absolute_url()
    assert survey.status == Status.DRAFT
    assert survey.definition == normalize(EVERY_TYPE)


@pytest.mark.django_db
def test_an_uploaded_json_file_becomes_a_draft(editor: User) -> None:
    upload = SimpleUploadedFile(
        "pulse.json", b"\xef\xbb\xbf" + json.dumps(ONE_QUESTION).encode(), "application/json"
    )
    response = logged_in(editor).post(reverse("survey-import"), {"file": upload})
    assert response.status_code == 302
    assert Survey.objects.get().title == "Quick check"


@pytest.mark.django_db
def test_an_invalid_definition_is_shown_again_with_every_problem_and_its_path(
    editor: User,
) -> None:
    broken = {
        "title": "",
        "questions": [
            {"type": "stars", "prompt": "Rate"},
            {"key": "plan", "type": "single_choice", "prompt": "Plan?", "choices": []},
            {"key": "plan", "type": "yes_no", "prompt": "Again?"},
        ],
    }
    text = json.dumps(broken)
    response = logged_in(editor).post(reverse("survey-import"), {"text": text})
    html = response.content.decode()
    assert response.status_code == 200
    for path in (
        "$.title",
        "$.questions[0].type",
        "$.questions[1].choices",
        "$.questions[2].key",
    ):
        assert f"<code>{path}</code>" in html
    assert "another question already uses the key “plan” (question 2)" in html
    assert "The definition has 4 problems" in html
    assert response.context["import_form"]["text"].value() == text  # kept, to fix in place
    assert not Survey.objects.exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"title": "x",', "This is not valid JSON: Expecting property name"),
        ('{"title": NaN}', "NaN is not allowed"),
        ("[" * 100_000 + "]" * 100_000, "This is not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ("", "Paste a definition or choose a file."),
    ],
)
@pytest.mark.django_db
def test_text_that_is_not_a_definition_is_refused_with_a_message(
    editor: User, text: str, message: str
) -> None:
    response = logged_in(editor).post(reverse("survey-import"), {"text": text})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Survey.objects.exists()


@pytest.mark.django_db
def test_a_file_that_is_not_utf8_is_refused(editor: User) -> None:
    upload = SimpleUploadedFile("x.json", '{"title": "é"}'.encode("latin-1"))
    response = logged_in(editor).post(reverse("survey-import"), {"file": upload})
    assert response.status_code == 200
    assert b"The file is not UTF-8 text." in response.content


@pytest.mark.django_db
def test_export_downloads_the_definition_which_imports_back_the_same(
    viewer: User, editor: User, live_survey: Survey
) -> None:
    response = logged_in(viewer).get(url("survey-export", live_survey))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == f'attachment; filename="{live_survey.slug}.json"'
    exported = json.loads(response.content)
    assert exported == live_survey.definition
    logged_in(editor).post(reverse("survey-import"), {"text": response.content.decode()})
    assert Survey.objects.exclude(pk=live_survey.pk).get().definition == exported


# --- Publishing, sharing, deleting ----------------------------------------------------------


@pytest.mark.django_db
def test_publishing_and_pausing_ask_first_and_say_what_respondents_see(
    owner: User, draft: Survey
) -> None:
    client = logged_in(owner)
    assert (
        f'href="{url("survey-publish", draft)}"'
        in client.get(url("survey-detail", draft)).content.decode()
    )
    asked = client.get(url("survey-publish", draft))
    assert asked.status_code == 200
    assert "Anyone with the survey’s link can answer it" in asked.content.decode()
    # A POST without the confirmation page's field (an old form) asks too: nothing changes.
    assert client.post(url("survey-publish", draft)).status_code == 200
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT

    response = client.post(url("survey-publish", draft), {"confirm": "yes"})
    assert response["Location"] == draft.get_absolute_url()
    draft.refresh_from_db()
    assert draft.status == Status.LIVE and draft.published_at is not None

    assert url("survey-pause", draft) in client.get(draft.get_absolute_url()).content.decode()
    Response.objects.create(survey=draft)
    asked = client.get(url("survey-pause", draft)).content.decode()
    assert "The link stops taking answers" in asked
    assert "The 1 response already given stays stored" in asked
    client.post(url("survey-pause", draft))
    draft.refresh_from_db()
    assert draft.status == Status.LIVE
    client.post(url("survey-pause", draft), {"confirm": "yes"})
    draft.refresh_from_db()
    assert draft.status == Status.PAUSED
    assert "takes answers again" in client.get(url("survey-publish", draft)).content.decode()
    client.post(url("survey-publish", draft), {"confirm": "yes"})
    draft.refresh_from_db()
    assert draft.status == Status.LIVE


@pytest.mark.django_db
def test_a_survey_without_questions_cannot_be_published(owner: User, workspace: Workspace) -> None:
    empty = Survey.create(workspace, {"title": "Empty"})
    response = logged_in(owner).post(url("survey-publish", empty), follow=True)
    assert b"Add at least one question before publishing." in response.content
    empty.refresh_from_db()
    assert empty.status == Status.DRAFT


@pytest.mark.django_db
def test_the_survey_page_shows_its_absolute_public_link_and_the_braze_variant(
    owner: User, live_survey: Survey, settings: Any
) -> None:
    html = logged_in(owner).get(live_survey.get_absolute_url()).content.decode()
    link = "http://testserver" + live_survey.public_path()
    assert f'value="{link}"' in html
    assert f'value="{link}?user_braze_id={{{{${{braze_id}}}}}}"' in html
    settings.SITE_URL = "https://surveys.example.com"
    html = logged_in(owner).get(live_survey.get_absolute_url()).content.decode()
    assert f'value="https://surveys.example.com{live_survey.public_path()}"' in html


@pytest.mark.django_db
def test_every_form_on_the_survey_page_carries_a_csrf_token(
    owner: User, live_survey: Survey
) -> None:
    html = logged_in(owner).get(live_survey.get_absolute_url()).content.decode()
    forms = html.count('method="post"')
    assert forms > 3 * len(EVERY_TYPE["questions"])
    assert html.count('name="csrfmiddlewaretoken"') == forms


@pytest.mark.django_db
def test_deleting_a_survey_asks_first_then_removes_it_with_its_responses(
    editor: User, live_survey: Survey
) -> None:
    Response.objects.create(survey=live_survey)
    client = logged_in(editor)
    confirm = client.get(url("survey-delete", live_survey))
    assert confirm.status_code == 200
    assert b"with its 1 response" in confirm.content
    assert Survey.objects.exists()
    response = client.post(url("survey-delete", live_survey), follow=True)
    assert response.redirect_chain[-1][0] == reverse("survey-list")
    assert "Deleted “Customer pulse”" in response.content.decode()
    assert not Survey.objects.exists() and not Response.objects.exists()


# --- Who may do what ------------------------------------------------------------------------


def editing_requests(survey: Survey) -> list[tuple[str, str, dict[str, Any]]]:
    """Every request that changes something: (method, url, data)."""
    first = survey.definition["questions"][0]["key"]
    return [
        ("get", reverse("survey-new"), {}),
        ("post", reverse("survey-new"), {"title": "Sneaky"}),
        ("get", reverse("survey-import"), {}),
        ("post", reverse("survey-import"), {"text": json.dumps(ONE_QUESTION)}),
        ("post", url("survey-edit", survey), {"title": "Changed"}),
        ("post", url("question-add", survey), {"type": "yes_no", "prompt": "New?"}),
        ("post", url("question-delete", survey, first), {}),
        ("post", url("question-move", survey, first), {"direction": "down"}),
        ("post", url("survey-publish", survey), {"confirm": "yes"}),
        ("post", url("survey-pause", survey), {"confirm": "yes"}),
        ("get", url("survey-delete", survey), {}),
        ("post", url("survey-delete", survey), {}),
    ]


def snapshot() -> list[tuple[Any, ...]]:
    return list(Survey.objects.order_by("pk").values_list("title", "status", "definition"))


@pytest.mark.django_db
def test_a_viewer_is_refused_every_change_and_nothing_changes(
    viewer: User, live_survey: Survey, draft: Survey
) -> None:
    client = logged_in(viewer)
    before = snapshot()
    for survey in (live_survey, draft):
        for method, target, data in editing_requests(survey):
            response = getattr(client, method)(target, data)
            assert response.status_code == 403, (method, target)
            assert b"you can see its surveys but not change them" in response.content
    assert snapshot() == before


def survey_requests(survey: Survey) -> list[tuple[str, str, dict[str, Any]]]:
    reading = [
        ("get", survey.get_absolute_url(), {}),
        ("get", url("survey-export", survey), {}),
    ]
    return reading + [r for r in editing_requests(survey) if "/surveys/" + str(survey.pk) in r[1]]


@pytest.mark.django_db
def test_another_workspace_survey_is_not_found_at_any_of_its_urls(
    outsider: User, live_survey: Survey
) -> None:
    client = logged_in(outsider)
    before = snapshot()
    requests = survey_requests(live_survey)
    assert len(requests) == 10
    for method, target, data in requests:
        response = getattr(client, method)(target, data)
        assert response.status_code == 404, (method, target)
    assert snapshot() == before


@pytest.mark.django_db
def test_an_unknown_survey_id_is_not_found_even_when_huge(owner: User) -> None:
    client = logged_in(owner)
    assert client.get(reverse("survey-detail", args=[999])).status_code == 404
    assert client.get(f"/surveys/{2**70}/").status_code == 404


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_sign_in_from_every_page(live_survey: Survey) -> None:
    client = Client()
    before = snapshot()
    pages = [("get", reverse("survey-list"), {}), *survey_requests(live_survey)]
    for method, target, data in pages:
        response = getattr(client, method)(target, data)
        assert response.status_code == 302, (method, target)
        assert response["Location"].startswith(reverse("login") + "?next=")
    assert snapshot() == before


# --- Wording an author reads ----------------------------------------------------------------


@pytest.mark.django_db
def test_a_repeated_key_is_explained_in_words_beside_the_key(owner: User, draft: Survey) -> None:
    data = {"type": "yes_no", "prompt": "Happy again?", "key": "happy", "version": draft.version}
    html = logged_in(owner).post(url("question-add", draft), data).content.decode()
    assert "Another question already uses the key “happy” (question 1)." in html
    assert "$.questions" not in html


@pytest.mark.django_db
def test_the_choices_help_fits_the_box_and_the_editor_the_script_makes(
    owner: User, draft: Survey
) -> None:
    html = logged_in(owner).get(draft.get_absolute_url()).content.decode()
    assert "One per line." not in html
    assert "One choice per line." in html
    assert 'data-boxes-help="One choice per box. Enter adds the next one."' in html


@pytest.mark.django_db
def test_the_import_explains_the_format_on_the_page_not_in_a_file_path(editor: User) -> None:
    html = logged_in(editor).get(reverse("survey-new")).content.decode()
    assert "docs/" not in html and ".md" not in html
    assert "as the file “Export JSON” downloads" in html
    example = html[html.index("<pre><code>") + 11 : html.index("</code></pre>")]
    imported = logged_in(editor).post(reverse("survey-import"), {"text": unescape(example)})
    assert imported.status_code == 302
    assert Survey.objects.get().definition["questions"][1]["type"] == "long_text"
