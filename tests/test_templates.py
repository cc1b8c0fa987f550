"""Survey templates: the data itself (valid, translated, with rules and Braze names), starting a
survey from one on the new-survey page (without JavaScript) and through the API, and who may."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from sounding.accounts.models import User, Workspace
from sounding.authoring.translate import groups_of, progress, translated
from sounding.destinations.braze import mapping
from sounding.surveys import library
from sounding.surveys.definition import build_spec, normalize
from sounding.surveys.models import Status, Survey
from tests.browser_fixtures import screenshot, serious_violations
from tests.conftest import logged_in

SHIPPED = ("fr", "de", "es", "pt")
REQUIRED = {
    "nps-follow-up",
    "csat-support",
    "post-purchase",
    "onboarding",
    "cancellation",
    "feature-feedback",
}
SLUGS = [t.slug for t in library.templates()]
# Words that are the same in a language as in English: not a text left untranslated.
SAME_WORD = {("de", "Neutral"), ("es", "Neutral"), ("es", "Excelente"), ("pt", "Excelente")}
SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")
FROM_TEMPLATE = "/api/v1/surveys/from-template"


def template(slug: str) -> library.Template:
    found = library.find(slug)
    assert found is not None
    return found


def braze_names(api: Client, survey_id: int) -> Any:
    reply = api.get(f"/api/v1/surveys/{survey_id}/integrations/braze")
    assert reply.status_code == 200, reply.content
    return reply.json()


# --- The templates themselves ---------------------------------------------------------------


def test_the_six_templates_the_gallery_promises_are_there() -> None:
    assert set(SLUGS) >= REQUIRED
    assert len(SLUGS) == len(set(SLUGS))


@pytest.mark.django_db
@pytest.mark.parametrize("slug", SLUGS)
def test_a_template_is_a_valid_definition_stored_as_written(slug: str) -> None:
    raw = template(slug).definition
    stored = normalize(raw)
    assert normalize(stored) == stored
    # Nothing silently dropped: a translation of a misspelt key or choice would be.
    assert stored["translations"] == raw["translations"]
    assert [q["key"] for q in stored["questions"]] == [q["key"] for q in raw["questions"]]
    assert all(q.get("key") for q in raw["questions"]), "every key is chosen, not made"


@pytest.mark.django_db
@pytest.mark.parametrize("slug", SLUGS)
def test_a_template_has_skip_rules_on_earlier_questions(slug: str) -> None:
    questions = template(slug).questions
    rules = [(i, q["show_if"]) for i, q in enumerate(questions) if q.get("show_if")]
    assert rules, "a template shows its follow-ups only to the people they fit"
    keys = [q["key"] for q in questions]
    for i, rule in rules:
        assert rule["question"] in keys[:i]
    # The validator agrees, and each rule reads back as a condition of the spec.
    spec = build_spec(normalize(template(slug).definition))
    assert all(spec.questions[i].show_if is not None for i, _ in rules)


@pytest.mark.django_db
@pytest.mark.parametrize("slug", SLUGS)
@pytest.mark.parametrize("code", SHIPPED)
def test_every_text_is_translated_into_every_shipped_language(slug: str, code: str) -> None:
    definition = normalize(template(slug).definition)
    assert definition["language"] == "en"
    assert set(definition["translations"]) == set(SHIPPED)
    done, total = progress(definition, code)
    assert (done, total) == (total, total) and total > 0
    entry = definition["translations"][code]
    for group in groups_of(definition):
        for text in group.texts:
            words = translated(entry, text.path)
            assert words != text.original or (code, words) in SAME_WORD, (code, text.original)
    for q in definition["questions"]:
        choices = entry["questions"].get(q["key"], {}).get("choices", {})
        assert len(set(choices.values())) == len(choices), "two choices read the same"


@pytest.mark.django_db
@pytest.mark.parametrize("slug", SLUGS)
def test_the_braze_names_cover_every_question_and_braze_files_them_faithfully(slug: str) -> None:
    found = template(slug)
    names = found.suggestions("braze")["attribute_names"]
    spec = build_spec(normalize(found.definition))
    assert list(names) == [q.key for q in spec.questions]
    assert all(SNAKE.fullmatch(name) for name in names.values())
    assert mapping.name_problems(spec, names) == {}


def test_no_two_templates_set_the_same_braze_attribute() -> None:
    # Two kinds of survey writing one attribute would overwrite each other's answers.
    seen: dict[str, str] = {}
    for found in library.templates():
        for name in found.suggestions("braze")["attribute_names"].values():
            assert name not in seen, f"{name} is in {seen.get(name)} and {found.slug}"
            seen[name] = found.slug


# --- The new-survey page ----------------------------------------------------------------------


class Forms(HTMLParser):
    """The forms of a page as a browser without JavaScript sends them: action and fields."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "form":
            self.forms.append({"action": found.get("action") or "", "fields": {}})
        elif tag == "input" and self.forms and found.get("name"):
            self.forms[-1]["fields"][found["name"]] = found.get("value") or ""


def gallery_form(page: str, slug: str) -> dict[str, Any]:
    parser = Forms()
    parser.feed(page)
    for form in parser.forms:
        if form["fields"].get("template") == slug:
            return form
    raise AssertionError(f"no form for {slug}")


def start(client: Client, slug: str, title: str | None = None) -> Any:
    """Press "Use this template" on the card, as a browser without JavaScript does, with the
    title field as it comes or typed over."""
    form = gallery_form(client.get(reverse("survey-new")).content.decode(), slug)
    action = form["action"].split("#")[0]
    fields = form["fields"] if title is None else {**form["fields"], "title": title}
    return client.post(action, fields)


@pytest.mark.django_db
def test_the_gallery_shows_each_template_as_a_marketer_reads_it(editor: User) -> None:
    page = logged_in(editor).get(reverse("survey-new")).content.decode()
    for found in library.templates():
        assert found.name in page
        assert found.description in page
        assert f"{len(found.questions)} questions" in page
        for q in found.questions:
            assert q["prompt"].replace("'", "&#x27;") in page
    assert "English, French, German, Spanish, Portuguese" in page
    assert gallery_form(page, "onboarding")["fields"]["title"] == "How is it going so far?"
    assert "Only if question 1 is less than 7" in page
    assert "Only if question 1 is 7 or 8" in page
    assert "Only if question 1 is “It&#x27;s too expensive”" in page


@pytest.mark.django_db
@pytest.mark.parametrize("slug", SLUGS)
def test_each_template_makes_a_survey_from_the_page(
    slug: str, workspace: Workspace, editor: User, owner_api: Client
) -> None:
    client = logged_in(editor)
    reply = start(client, slug)
    survey = Survey.objects.get(workspace=workspace)
    assert reply.status_code == 302 and reply["Location"] == survey.get_absolute_url()
    assert survey.status == Status.DRAFT and survey.created_by == editor
    found = template(slug)
    assert survey.definition == normalize(found.definition)
    assert survey.title == found.title
    assert set(survey.definition["translations"]) == set(SHIPPED)
    assert any(q.get("show_if") for q in survey.definition["questions"])
    integration = braze_names(owner_api, survey.pk)
    assert integration["attribute_names"] == found.suggestions("braze")["attribute_names"]
    assert integration["enabled"] is False, "sending waits for the author"
    page = client.get(survey.get_absolute_url()).content.decode()
    assert f"created from the “{found.name}” template" in page


@pytest.mark.django_db
def test_the_survey_braze_page_offers_the_templates_names(
    workspace: Workspace, owner: User
) -> None:
    client = logged_in(owner)
    start(client, "cancellation")
    survey = Survey.objects.get(workspace=workspace)
    page = client.get(reverse("survey-braze", args=[survey.pk])).content.decode()
    for key, name in template("cancellation").suggestions("braze")["attribute_names"].items():
        assert re.search(rf'name="name_{key}"[^>]*value="{name}"', page), key


@pytest.mark.django_db
def test_a_title_of_ones_own_replaces_the_templates_in_every_language(
    workspace: Workspace, editor: User
) -> None:
    start(logged_in(editor), "csat-support", "  Support, March  ")
    survey = Survey.objects.get(workspace=workspace)
    assert survey.title == "Support, March"
    texts = survey.definition["translations"]
    assert all("title" not in texts[code] for code in SHIPPED)
    kept = template("csat-support").definition["translations"]["fr"]
    assert texts["fr"]["thank_you"] == kept["thank_you"]


@pytest.mark.django_db
def test_an_emptied_title_keeps_the_templates(workspace: Workspace, editor: User) -> None:
    start(logged_in(editor), "feature-feedback", "   ")
    survey = Survey.objects.get(workspace=workspace)
    assert survey.definition == normalize(template("feature-feedback").definition)


@pytest.mark.django_db
def test_a_title_too_long_is_shown_on_its_card_and_nothing_is_made(
    workspace: Workspace, editor: User
) -> None:
    reply = start(logged_in(editor), "onboarding", "x" * 201)
    assert reply.status_code == 200
    page = reply.content.decode()
    assert 'id="template-onboarding-title"' in page and "aria-invalid" in page
    assert "at most 200 characters" in page
    assert not Survey.objects.filter(workspace=workspace).exists()


@pytest.mark.django_db
def test_an_unknown_template_is_refused_on_the_page(workspace: Workspace, editor: User) -> None:
    reply = logged_in(editor).post(reverse("survey-from-template"), {"template": "nope"})
    assert reply.status_code == 400
    assert "There is no such template" in reply.content.decode()
    assert not Survey.objects.filter(workspace=workspace).exists()


@pytest.mark.django_db
def test_a_viewer_sees_no_gallery_and_cannot_start_from_a_template(
    workspace: Workspace, viewer: User
) -> None:
    client = logged_in(viewer)
    assert client.get(reverse("survey-new")).status_code == 403
    reply = client.post(reverse("survey-from-template"), {"template": "nps-follow-up"})
    assert reply.status_code == 403
    assert not Survey.objects.filter(workspace=workspace).exists()


@pytest.mark.django_db
def test_a_survey_from_a_template_speaks_the_respondents_language(
    workspace: Workspace, editor: User
) -> None:
    start(logged_in(editor), "nps-follow-up")
    survey = Survey.objects.get(workspace=workspace)
    survey.set_status(Status.LIVE)
    page = Client().get(survey.public_path(), {"lang": "de"}).content.decode()
    assert "Würden Sie uns weiterempfehlen?" in page
    assert "Wie wahrscheinlich ist es, dass Sie uns einem Freund oder Kollegen empfehlen?" in page


# --- The API ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_api_lists_the_templates(viewer_api: Client) -> None:
    reply = viewer_api.get("/api/v1/templates")
    assert reply.status_code == 200
    items = reply.json()["items"]
    assert [item["slug"] for item in items] == SLUGS
    nps = items[0]
    assert nps["question_count"] == len(nps["questions"]) == 4
    assert nps["languages"] == ["en", *SHIPPED]
    assert nps["questions"][1]["show_if"] == {"question": "nps", "op": "less_than", "value": 7}
    assert nps["destinations"]["braze"]["attribute_names"]["nps"] == "nps_score"
    assert nps["definition"] == normalize(template("nps-follow-up").definition)


@pytest.mark.django_db
def test_the_templates_need_a_token() -> None:
    assert Client().get("/api/v1/templates").status_code == 401


@pytest.mark.django_db
@pytest.mark.parametrize("slug", SLUGS)
def test_each_template_makes_a_survey_through_the_api(
    slug: str, workspace: Workspace, editor_api: Client
) -> None:
    reply = editor_api.post(FROM_TEMPLATE, {"template": slug}, content_type="application/json")
    assert reply.status_code == 201, reply.content
    body = reply.json()
    found = template(slug)
    assert body["status"] == "draft" and body["title"] == found.title
    assert body["definition"] == normalize(found.definition)
    assert Survey.objects.filter(workspace=workspace, pk=body["id"]).exists()
    integration = braze_names(editor_api, body["id"])
    assert integration["attribute_names"] == found.suggestions("braze")["attribute_names"]
    used = {a["question_key"]: a["attribute_name"] for a in integration["attributes"]}
    assert used == found.suggestions("braze")["attribute_names"]


@pytest.mark.django_db
def test_the_api_takes_a_title_of_ones_own(editor_api: Client) -> None:
    body = {"template": "cancellation", "title": "Churn, Q3"}
    reply = editor_api.post(FROM_TEMPLATE, body, content_type="application/json")
    assert reply.status_code == 201
    definition = reply.json()["definition"]
    assert definition["title"] == "Churn, Q3"
    assert all("title" not in texts for texts in definition["translations"].values())


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"template": "nope"}, "$.template"),
        ({}, "$.template"),
        ({"template": 3}, "$.template"),
        ({"template": "onboarding", "title": 5}, "$.title"),
        ({"template": "onboarding", "colour": "red"}, "$.colour"),
        ({"template": "onboarding", "title": "x" * 201}, "$.title"),
        (["onboarding"], "$"),
    ],
)
def test_a_bad_request_is_a_400_naming_what_to_fix(
    body: Any, path: str, workspace: Workspace, editor_api: Client
) -> None:
    reply = editor_api.post(FROM_TEMPLATE, json.dumps(body), content_type="application/json")
    assert reply.status_code == 400
    assert path in [e["path"] for e in reply.json()["errors"]]
    assert not Survey.objects.filter(workspace=workspace).exists()


@pytest.mark.django_db
def test_a_viewers_token_cannot_start_from_a_template(
    workspace: Workspace, viewer_api: Client
) -> None:
    body = {"template": "nps-follow-up"}
    reply = viewer_api.post(FROM_TEMPLATE, body, content_type="application/json")
    assert reply.status_code == 403
    assert not Survey.objects.filter(workspace=workspace).exists()


# --- In a real browser, without JavaScript --------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_gallery_works_without_javascript_and_reads_well(
    live_server: Any, phone_without_js: Any, phone: Any, editor: User, workspace: Workspace
) -> None:
    cookie = logged_in(editor).cookies[settings.SESSION_COOKIE_NAME].value
    for page in (phone_without_js, phone):
        page.context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}]
        )
    phone.goto(live_server.url + reverse("survey-new"))
    assert serious_violations(phone) == []
    screenshot(phone, "template-gallery-phone")

    page = phone_without_js
    page.goto(live_server.url + reverse("survey-new"))
    card = page.locator("#template-post-purchase")
    card.get_by_label("Title").fill("After checkout")
    card.get_by_role("button", name="Use this template").click()
    # The card's anchor rides along the redirect, as a browser keeps a fragment.
    page.wait_for_url(re.compile(r"/surveys/\d+/(#.*)?$"))
    assert page.locator("h1").first.inner_text() == "After checkout"
    survey = Survey.objects.get(workspace=workspace)
    assert [q["key"] for q in survey.definition["questions"]] == [
        q["key"] for q in template("post-purchase").questions
    ]
