"""The survey translation pages: languages, each language's texts, and who may change them."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from sounding.accounts.models import User, Workspace
from sounding.authoring import translate
from sounding.surveys.models import Survey
from tests.conftest import EVERY_TYPE, logged_in
from tests.respondent import one_click


@pytest.fixture
def survey(workspace: Workspace, owner: User) -> Survey:
    definition = {
        **EVERY_TYPE,
        "intro": "Two minutes, promised.",
        "translations": {"fr": {"title": "Le pouls client"}},
    }
    return Survey.create(workspace, definition, owner)


def overview(survey: Survey) -> str:
    return reverse("survey-translations", args=[survey.pk])


def language_page(survey: Survey, code: str) -> str:
    return reverse("survey-translation", args=[survey.pk, code])


def inputs(html: str) -> dict[str, str]:
    """The text inputs and textareas of a page, by name, with their values."""
    found = {
        m["name"]: m["value"]
        for m in re.finditer(
            r'<input type="text" name="(?P<name>[^"]+)"(?: value="(?P<value>[^"]*)")?', html
        )
    }
    for m in re.finditer(
        r'<textarea name="(?P<name>[^"]+)"[^>]*>\n?(?P<value>.*?)</textarea>', html, re.S
    ):
        found[m["name"]] = m["value"]
    return {k: v or "" for k, v in found.items()}


def form_data(html: str) -> dict[str, str]:
    """What the translation form posts: its texts and the original of each choice."""
    hidden = re.finditer(
        r'<input type="hidden" name="(?P<name>[^"]+-was)" value="(?P<v>[^"]*)"', html
    )
    return {**inputs(html), **{m["name"]: unescape(m["v"]) for m in hidden}}


def saved(survey: Survey) -> dict[str, Any]:
    survey.refresh_from_db()
    return survey.definition


# The overview ------------------------------------------------------------------------------


def test_the_overview_lists_each_language_with_how_much_is_translated(
    owner: User, survey: Survey
) -> None:
    page = logged_in(owner).get(overview(survey))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Written in English <code>en</code>" in html
    done, total = translate.progress(survey.definition, "fr")
    texts = [t for g in translate.groups_of(survey.definition) for t in g.texts]
    built_in = [t for t in texts if translate.built_in(t, "fr")]
    assert (done, total) == (
        1 + len(built_in),
        len(inputs(logged_in(owner).get(language_page(survey, "fr")).content.decode())),
    )
    assert f"{done} of {total} texts" in html
    assert f'href="{language_page(survey, "fr")}"' in html
    assert f'href="{survey.public_path()}?preview=1&amp;lang=fr"' in html


def test_the_languages_tab_opens_a_page_titled_languages(owner: User, survey: Survey) -> None:
    html = logged_in(owner).get(overview(survey)).content.decode()
    assert '<a href="' + overview(survey) + '" aria-current="page">Languages</a>' in html
    assert "<title>Languages · Customer pulse · Sounding</title>" in html
    assert "<h1>Languages</h1>" in html


def test_default_labels_respondents_read_translated_count_as_translated(
    owner: User, workspace: Workspace
) -> None:
    definition = {
        "title": "Support",
        "questions": [{"key": "csat", "type": "csat", "prompt": "How did we do?"}],
        "translations": {"fr": {"title": "Support"}, "it": {"title": "Supporto"}},
    }
    survey = Survey.create(workspace, definition, owner)
    # French is one of Sounding's languages: its five default labels read in French.
    assert translate.progress(survey.definition, "fr") == (6, 7)
    # Italian is not: respondents read them in English, so they still need translating.
    assert translate.progress(survey.definition, "it") == (1, 7)
    html = logged_in(owner).get(overview(survey)).content.decode()
    assert "6 of 7 texts" in html and "1 of 7 texts" in html
    page = logged_in(owner).get(language_page(survey, "fr")).content.decode()
    assert 'placeholder="Très satisfait"' in page
    assert "Left empty, respondents read Sounding’s own “Très satisfait”." in page
    survey.set_status("live")
    respondent = Client().get(survey.public_path() + "?lang=fr").content.decode()
    assert "Très satisfait" in respondent and "Very satisfied" not in respondent


def test_the_count_covers_every_text_a_respondent_reads(survey: Survey) -> None:
    texts = [t for g in translate.groups_of(survey.definition) for t in g.texts]
    by_path = {t.path: t.original for t in texts}
    assert by_path[("title",)] == "Customer pulse"
    assert by_path[("intro",)] == "Two minutes, promised."
    assert by_path[("questions", "plan", "choices", "Pro", 1)] == "Pro"
    assert by_path[("questions", "nps", "min_label")] == "Not at all likely"
    assert by_path[("questions", "csat", "labels", 4)] == "Very satisfied"
    assert by_path[("questions", "channels", "other_label")] == "Other"
    # No other_label where there is no "Other" box, and no empty texts.
    assert ("questions", "plan", "other_label") not in by_path
    assert ("thank_you",) not in by_path
    assert ("questions", "rating", "min_label") not in by_path


def test_an_editor_adds_a_language_and_lands_on_its_page(editor: User, survey: Survey) -> None:
    page = logged_in(editor).post(overview(survey), {"action": "add", "code": "de"})
    assert page.status_code == 302
    assert page["Location"] == language_page(survey, "de")
    definition = saved(survey)
    assert definition["translations"]["de"] == {}
    assert definition["translations"]["fr"] == {"title": "Le pouls client"}
    assert definition["questions"] == Survey.objects.get(pk=survey.pk).definition["questions"]


@pytest.mark.parametrize("code", ["en", "fr", "klingon", ""])
def test_a_language_that_is_taken_or_unknown_cannot_be_added(
    owner: User, survey: Survey, code: str
) -> None:
    version = survey.version
    page = logged_in(owner).post(overview(survey), {"action": "add", "code": code})
    assert page.status_code == 400
    assert "Select a valid choice" in page.content.decode() or "required" in page.content.decode()
    assert saved(survey)["translations"] == {"fr": {"title": "Le pouls client"}}
    assert survey.version == version


def test_removing_asks_first_then_removes(owner: User, survey: Survey) -> None:
    client = logged_in(owner)
    confirm = client.get(overview(survey) + "?remove=fr").content.decode()
    assert "Remove the French translation?" in confirm
    assert '<input type="hidden" name="code" value="fr">' in confirm
    assert "fr" in saved(survey)["translations"]
    done = client.post(overview(survey), {"action": "remove", "code": "fr"})
    assert done.status_code == 302
    assert "translations" not in saved(survey)
    gone = client.post(overview(survey), {"action": "remove", "code": "fr"})
    assert gone.status_code == 400


def test_the_default_language_changes_without_translating_anything(
    owner: User, survey: Survey
) -> None:
    page = logged_in(owner).post(overview(survey), {"action": "language", "language": "de"})
    assert page.status_code == 302
    definition = saved(survey)
    assert definition["language"] == "de"
    assert definition["title"] == "Customer pulse"
    assert definition["translations"] == {"fr": {"title": "Le pouls client"}}


def test_the_default_language_cannot_be_one_the_survey_is_translated_into(
    owner: User, survey: Survey
) -> None:
    page = logged_in(owner).post(overview(survey), {"action": "language", "language": "fr"})
    assert page.status_code == 400
    assert "has a French translation: remove it first" in page.content.decode()
    assert saved(survey)["language"] == "en"


def test_an_unknown_action_is_a_clear_400(owner: User, survey: Survey) -> None:
    page = logged_in(owner).post(overview(survey), {"action": "translate-all"})
    assert page.status_code == 400
    assert "&#x27;translate-all&#x27; is not a known action." in page.content.decode()


# One language's texts ----------------------------------------------------------------------


def test_the_language_page_shows_each_original_beside_its_prefilled_input(
    owner: User, survey: Survey
) -> None:
    html = logged_in(owner).get(language_page(survey, "fr")).content.decode()
    fields = inputs(html)
    assert fields["title"] == "Le pouls client"
    assert fields["q-nps-prompt"] == ""
    assert {"intro", "q-plan-choice-0", "q-csat-label-4", "q-effort-max_label"} <= set(fields)
    assert (
        '<p lang="en" dir="auto" id="id_q-nps-prompt_original">'
        "How likely are you to recommend us?</p>" in html
    )
    assert 'lang="fr"' in html and 'aria-describedby="id_q-nps-prompt_original"' in html
    assert f'href="{survey.public_path()}?preview=1&amp;lang=fr"' in html
    assert "Preview in this language" in html


def test_saving_writes_the_translation_and_keeps_the_rest_of_the_definition(
    editor: User, survey: Survey
) -> None:
    client = logged_in(editor)
    before = saved(survey)
    fields = form_data(client.get(language_page(survey, "fr")).content.decode())
    fields.update(
        {
            "title": "",  # emptied: falls back to the original
            "q-nps-prompt": "Recommanderiez-vous notre service ?",
            "q-plan-choice-0": "Gratuite",
            "q-plan-choice-2": "Entreprise",
            "q-csat-label-0": "Très insatisfait",
        }
    )
    page = client.post(language_page(survey, "fr"), fields)
    assert page.status_code == 302
    after = saved(survey)
    fr = after["translations"]["fr"]
    assert "title" not in fr
    assert fr["questions"]["nps"] == {"prompt": "Recommanderiez-vous notre service ?"}
    assert fr["questions"]["plan"]["choices"] == {"Free": "Gratuite", "Enterprise": "Entreprise"}
    assert fr["questions"]["csat"]["labels"][0] == "Très insatisfait"
    assert {k: v for k, v in after.items() if k != "translations"} == {
        k: v for k, v in before.items() if k != "translations"
    }
    assert survey.version == 2
    follow = client.get(page["Location"]).content.decode()
    # 4 typed (one over a default label), and the 7 other default labels, which French
    # respondents read in French already.
    assert "French saved: 11 of" in follow


def test_a_respondent_reads_the_translation_and_the_answer_is_stored_in_english(
    owner: User, survey: Survey
) -> None:
    from sounding.surveys.models import Status

    client = logged_in(owner)
    fields = form_data(client.get(language_page(survey, "fr")).content.decode())
    fields.update({"q-plan-prompt": "Quelle offre avez-vous ?", "q-plan-choice-0": "Gratuite"})
    assert client.post(language_page(survey, "fr"), fields).status_code == 302
    survey.refresh_from_db()
    survey.set_status(Status.LIVE)
    respondent = Client()
    one_click(respondent, survey.public_path() + "?lang=fr&user_braze_id=u1&nps=9", "9")
    link = {"lang": "fr", "user_braze_id": "u1", "q": "plan"}
    page = respondent.get(survey.public_path(), link)
    html = page.content.decode()
    assert "Quelle offre avez-vous ?" in html
    assert '<input type="radio" name="a" value="Free"' in html and "<span>Gratuite</span>" in html
    respondent.post(survey.public_path() + "?lang=fr&user_braze_id=u1", {"q": "plan", "a": "Free"})
    response = survey.responses.get()
    assert response.language == "fr"
    assert response.answers.get(question_key="plan").value == "Free"


def test_a_text_too_long_is_refused_beside_its_field_and_nothing_is_saved(
    owner: User, survey: Survey
) -> None:
    client = logged_in(owner)
    fields = form_data(client.get(language_page(survey, "fr")).content.decode())
    fields["q-plan-choice-1"] = "x" * 256
    fields["q-nps-prompt"] = "Saved? No."
    page = client.post(language_page(survey, "fr"), fields)
    assert page.status_code == 400
    html = page.content.decode()
    assert "Nothing was saved" in html
    assert 'href="#id_q-plan-choice-1">Choice 2</a>: Ensure this value has at most 255' in html
    assert saved(survey)["translations"]["fr"] == {"title": "Le pouls client"}


def test_a_choice_renamed_meanwhile_takes_no_stale_translation(owner: User, survey: Survey) -> None:
    client = logged_in(owner)
    fields = form_data(client.get(language_page(survey, "fr")).content.decode())
    definition = saved(survey)
    definition["questions"][4]["choices"] = ["Starter", "Free", "Pro", "Enterprise"]
    survey.replace_definition(definition)
    fields["q-plan-choice-0"] = "Gratuite"  # was "Free" when the form was shown
    assert client.post(language_page(survey, "fr"), fields).status_code == 302
    choices = saved(survey)["translations"]["fr"]["questions"]["plan"]["choices"]
    assert choices == {"Free": "Gratuite"}


def test_a_text_missing_from_the_post_is_left_as_it_was(owner: User, survey: Survey) -> None:
    client = logged_in(owner)
    page = client.post(language_page(survey, "fr"), {"q-nps-prompt": "Recommanderiez-vous ?"})
    assert page.status_code == 302
    assert saved(survey)["translations"]["fr"] == {
        "title": "Le pouls client",
        "questions": {"nps": {"prompt": "Recommanderiez-vous ?"}},
    }


@pytest.mark.parametrize("code", ["de", "xx-invalid-code", "EN"])
def test_a_language_the_survey_lacks_has_no_page(owner: User, survey: Survey, code: str) -> None:
    assert logged_in(owner).get(language_page(survey, code)).status_code == 404


def test_saving_locks_the_survey_row(
    owner: User, survey: Survey, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[dict[str, Any]] = []
    real = translate.workspace_survey

    def spy(request: Any, pk: int, **kwargs: Any) -> Survey:
        calls.append(kwargs)
        return real(request, pk, **kwargs)

    monkeypatch.setattr(translate, "workspace_survey", spy)
    client = logged_in(owner)
    fields = form_data(client.get(language_page(survey, "fr")).content.decode())
    client.post(language_page(survey, "fr"), fields)
    client.post(overview(survey), {"action": "add", "code": "es"})
    assert calls.count({"lock": True}) == 2


# Who may do what ---------------------------------------------------------------------------


def test_a_viewer_reads_both_pages_without_a_form(viewer: User, survey: Survey) -> None:
    client = logged_in(viewer)
    html = client.get(overview(survey)).content.decode()
    assert "9 of" in html and "Add a language" not in html and "Remove…" not in html
    page = client.get(language_page(survey, "fr")).content.decode()
    assert inputs(page) == {}
    assert "Le pouls client" in page and "Not translated" in page
    assert "<form" not in page.split('id="main"')[1]


@pytest.mark.parametrize(
    "post",
    [
        {"action": "add", "code": "de"},
        {"action": "remove", "code": "fr"},
        {"action": "language", "language": "de"},
    ],
)
def test_a_viewer_changes_nothing(viewer: User, survey: Survey, post: dict[str, str]) -> None:
    before = saved(survey)
    assert logged_in(viewer).post(overview(survey), post).status_code == 403
    assert logged_in(viewer).post(language_page(survey, "fr"), {"title": "x"}).status_code == 403
    assert saved(survey) == before


def test_another_workspace_survey_is_not_found(outsider: User, survey: Survey) -> None:
    client = logged_in(outsider)
    assert client.get(overview(survey)).status_code == 404
    assert client.get(language_page(survey, "fr")).status_code == 404
    assert client.post(overview(survey), {"action": "remove", "code": "fr"}).status_code == 404
    assert "fr" in saved(survey)["translations"]


def test_anonymous_visitors_are_sent_to_sign_in(survey: Survey) -> None:
    page = Client().get(language_page(survey, "fr"))
    assert page.status_code == 302 and page["Location"].startswith("/login")


# In a browser ------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_translation_pages_work_on_a_phone_and_are_accessible(
    live_server: Any, phone: Any, owner: User, survey: Survey
) -> None:
    from django.conf import settings

    from tests.browser_fixtures import screenshot, serious_violations

    cookie = logged_in(owner).cookies[settings.SESSION_COOKIE_NAME].value
    phone.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}]
    )
    phone.goto(live_server.url + overview(survey))
    assert phone.get_by_role("heading", name="Languages", exact=True).is_visible()
    assert serious_violations(phone) == []
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(phone, "translations-phone")

    phone.get_by_label("Language", exact=True).select_option("es")
    phone.get_by_role("button", name="Add language").click()
    phone.wait_for_url(f"**{language_page(survey, 'es')}")
    phone.get_by_label("Question in Spanish").first.fill("¿Nos recomendarías?")
    phone.get_by_role("button", name="Save Spanish").click()
    phone.wait_for_load_state()
    assert "Spanish saved: 8 of" in phone.content()
    assert serious_violations(phone) == []
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(phone, "translation-phone")
    assert saved(survey)["translations"]["es"]["questions"]["nps"]["prompt"] == (
        "¿Nos recomendarías?"
    )
