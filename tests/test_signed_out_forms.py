"""A form sent after the author's session ran out: kept, and shown again after signing in."""

from __future__ import annotations

import html
import re

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from sounding.accounts.models import User, Workspace
from sounding.surveys.models import Survey
from tests.conftest import PASSWORD

PROMPT = "What almost stopped you from buying today?"


def fields_of(page: str, action: str) -> dict[str, str]:
    """The named inputs of the form posting to `action` on `page`."""
    start = re.search(f'action="{re.escape(action)}["#]', page).start()  # type: ignore[union-attr]
    form = page[start : page.index("</form>", start)]
    found: dict[str, str] = {}
    for tag in re.findall(r"<input[^>]*>", form):
        if 'type="radio"' in tag and " checked" not in tag:
            continue  # a radio group (the type picker) sends only its checked one
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name and name.group(1) not in found:
            found[name.group(1)] = html.unescape(value.group(1)) if value else ""
    for name, text in re.findall(
        r'<textarea[^>]*name="([^"]+)"[^>]*>\n?(.*?)</textarea>', form, re.S
    ):
        found.setdefault(name, html.unescape(text))
    for name, options in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        chosen = re.search(r'<option value="([^"]*)"[^>]*selected', options)
        found.setdefault(name, html.unescape(chosen.group(1)) if chosen else "")
    return found


@pytest.fixture
def survey(workspace: Workspace, owner: User) -> Survey:
    definition = {
        "title": "Checkout",
        "questions": [{"key": "happy", "type": "yes_no", "prompt": "Happy?"}],
    }
    return Survey.create(workspace, definition, owner)


def expired_after_opening(owner: User, survey: Survey) -> tuple[Client, str]:
    """A browser that opened the survey page signed in, then whose session ran out."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    page = client.get(survey.get_absolute_url()).content.decode()
    Session.objects.all().delete()
    return client, page


@pytest.mark.django_db
def test_a_question_typed_while_signed_out_comes_back_filled_in_after_signing_in(
    owner: User, survey: Survey
) -> None:
    client, page = expired_after_opening(owner, survey)
    action = reverse("question-add", args=[survey.pk])
    typed = fields_of(page, action) | {"type": "short_text", "prompt": PROMPT, "key": "almost"}
    sent = client.post(action, typed)
    assert sent.status_code == 302
    assert sent["Location"] == f"{reverse('login')}?next={reverse('unsent-form')}"

    login = client.get(sent["Location"]).content.decode()
    token = re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', login)[0]
    signed_in = client.post(
        reverse("login"),
        {
            "username": owner.email,
            "password": PASSWORD,
            "next": reverse("unsent-form"),
            "csrfmiddlewaretoken": token,
        },
        follow=True,
    )
    assert signed_in.status_code == 200
    shown = signed_in.content.decode()
    assert "You were signed out before your question was added" in shown
    again = fields_of(shown, action)
    assert again["prompt"] == PROMPT and again["key"] == "almost" and again["type"] == "short_text"
    assert "csrfmiddlewaretoken" in again and again["csrfmiddlewaretoken"] != typed.get(
        "csrfmiddlewaretoken"
    )
    survey.refresh_from_db()
    assert [q["key"] for q in survey.definition["questions"]] == ["happy"], "not auto-submitted"

    added = client.post(action, again)
    assert added.status_code == 302, added.content.decode()
    survey.refresh_from_db()
    assert [q["prompt"] for q in survey.definition["questions"]] == ["Happy?", PROMPT]
    # Kept once: coming back to the page later shows no old form.
    assert client.get(reverse("unsent-form"))["Location"] == reverse("home")


@pytest.mark.django_db
def test_an_edited_question_comes_back_in_its_open_editor(owner: User, survey: Survey) -> None:
    client, page = expired_after_opening(owner, survey)
    action = reverse("question-edit", args=[survey.pk, "happy"])
    typed = fields_of(page, action)
    prompt = next(name for name in typed if name.endswith("prompt"))
    client.post(action, typed | {prompt: "Happy with the checkout?"})
    client.force_login(owner)
    shown = client.get(reverse("unsent-form")).content.decode()
    assert "You were signed out before your change was saved" in shown
    assert 'id="edit-happy" data-editor="happy" open' in shown
    assert fields_of(shown, action)[prompt] == "Happy with the checkout?"
    survey.refresh_from_db()
    assert survey.definition["questions"][0]["prompt"] == "Happy?"


@pytest.mark.django_db
def test_the_survey_texts_come_back_filled_in(owner: User, survey: Survey) -> None:
    client, page = expired_after_opening(owner, survey)
    action = reverse("survey-edit", args=[survey.pk])
    client.post(action, fields_of(page, action) | {"title": "Checkout, again"})
    client.force_login(owner)
    shown = client.get(reverse("unsent-form")).content.decode()
    assert "You were signed out before your texts were saved" in shown
    assert fields_of(shown, action)["title"] == "Checkout, again"
    survey.refresh_from_db()
    assert survey.title == "Checkout"


@pytest.mark.django_db
def test_another_form_comes_back_on_a_page_that_sends_it_as_typed(
    owner: User, survey: Survey
) -> None:
    client, page = expired_after_opening(owner, survey)
    action = reverse("survey-hidden-fields", args=[survey.pk])
    client.post(action, fields_of(page, action) | {"names": "utm_source"})
    client.force_login(owner)
    shown = client.get(reverse("unsent-form")).content.decode()
    assert "Send your form again" in shown
    assert "<dd>utm_source</dd>" in shown
    again = fields_of(shown, action)
    assert again["names"] == "utm_source"
    sent = client.post(action, again)
    assert sent.status_code == 302
    survey.refresh_from_db()
    assert survey.definition["hidden_fields"] == ["utm_source"]


@pytest.mark.django_db
def test_the_csrf_token_and_an_old_form_are_not_kept(owner: User, survey: Survey) -> None:
    client, page = expired_after_opening(owner, survey)
    action = reverse("question-add", args=[survey.pk])
    client.post(action, fields_of(page, action) | {"prompt": PROMPT})
    kept = Session.objects.get().get_decoded()["unsent_form"]
    assert "csrfmiddlewaretoken" not in {name for name, _ in kept["fields"]}
    session = client.session
    session["unsent_form"] = {**kept, "at": kept["at"] - 3600}
    session.save()
    client.force_login(owner)
    assert client.get(reverse("unsent-form"))["Location"] == reverse("home")


@pytest.mark.django_db
def test_a_signed_out_get_still_signs_in_and_comes_back(survey: Survey) -> None:
    page = survey.get_absolute_url()
    assert Client().get(page)["Location"] == f"{reverse('login')}?next={page}"


@pytest.mark.django_db
def test_a_client_that_never_had_a_session_gets_nothing_kept(survey: Survey) -> None:
    action = reverse("question-add", args=[survey.pk])
    sent = Client().post(action, {"type": "yes_no", "prompt": PROMPT})
    assert sent["Location"] == f"{reverse('login')}?next={reverse('home')}"
    assert not Session.objects.exists()
