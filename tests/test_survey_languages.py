"""Survey translations in the definition, the language a respondent gets, and the preview."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from sounding.accounts.models import User, Workspace
from sounding.answers.models import Answer, Response
from sounding.delivery.models import Push
from sounding.surveys.definition import DefinitionError, normalize
from sounding.surveys.models import Status, Survey
from tests.conftest import logged_in
from tests.respondent import answer, question_of, screen_of

BILINGUAL: dict[str, Any] = {
    "title": "Your plan",
    "thank_you": "Thanks!",
    "questions": [
        {
            "key": "plan",
            "type": "single_choice",
            "prompt": "Which plan are you on?",
            "choices": ["Free", "Pro"],
            "required": True,
        },
        {"key": "csat", "type": "csat", "prompt": "How satisfied are you?"},
    ],
    "translations": {
        "fr": {
            "title": "Votre offre",
            "thank_you": "Merci !",
            "questions": {
                "plan": {"prompt": "Quelle offre avez-vous ?", "choices": ["Gratuite", "Pro"]},
                "csat": {"labels": ["Très insatisfait", "", "Neutre"]},
                "gone": {"prompt": "Une question supprimée"},
            },
        },
        "pt": {"title": "Seu plano"},
    },
}


def test_choices_given_as_a_list_are_stored_by_their_text_and_stale_entries_dropped() -> None:
    texts = normalize(BILINGUAL)["translations"]
    assert texts["fr"]["questions"]["plan"]["choices"] == {"Free": "Gratuite", "Pro": "Pro"}
    assert "gone" not in texts["fr"]["questions"]
    assert texts["pt"] == {"title": "Seu plano"}
    assert normalize(normalize(BILINGUAL)) == normalize(BILINGUAL)


def test_a_translation_follows_its_choice_when_choices_are_reordered() -> None:
    stored = normalize(BILINGUAL)
    stored["questions"][0]["choices"] = ["Pro", "Free", "Team"]
    again = normalize(stored)
    assert again["translations"]["fr"]["questions"]["plan"]["choices"] == {
        "Free": "Gratuite",
        "Pro": "Pro",
    }


@pytest.mark.parametrize(
    ("translations", "where"),
    [
        ({"en": {"title": "Same"}}, "$.translations.en"),
        ({"French": {"title": "x"}}, "$.translations.French"),
        ({"fr": {"title": 3}}, "$.translations.fr.title"),
        ({"fr": {"subtitle": "x"}}, "$.translations.fr.subtitle"),
        ({"fr": {"questions": {"plan": {"key": "x"}}}}, "$.translations.fr.questions.plan.key"),
        ({"fr": {"title": "x" * 201}}, "$.translations.fr.title"),
        ("fr", "$.translations"),
    ],
)
def test_a_bad_translation_is_refused_with_its_path(translations: Any, where: str) -> None:
    with pytest.raises(DefinitionError) as caught:
        normalize({**BILINGUAL, "translations": translations})
    assert where in [path for path, _m in caught.value.problems]


@pytest.fixture
def bilingual(workspace: Workspace) -> Survey:
    survey = Survey.create(workspace, BILINGUAL)
    survey.set_status(Status.LIVE)
    return survey


@pytest.mark.django_db
def test_a_french_link_reads_french_and_stores_the_default_languages_values(
    bilingual: Survey,
) -> None:
    client = Client()
    html = client.get(bilingual.public_path() + "?lang=fr&user_braze_id=f1").content.decode()
    assert '<html lang="fr">' in html
    assert "Quelle offre avez-vous ?" in html and "Votre offre" in html
    assert ">Gratuite<" in html and 'value="Free"' in html
    assert "Suivant" in html
    html = answer(client, html, "Free").content.decode()
    # Labels left to their default read in French too.
    assert "Très insatisfait" in html and "Neutre" in html and "Satisfait" in html
    html = answer(client, html, "5").content.decode()
    assert screen_of(html) == "done" and "Merci !" in html
    response = Response.objects.get()
    assert response.language == "fr"
    assert Answer.objects.get(question_key="plan").value == "Free"


@pytest.mark.django_db
def test_a_french_error_comes_in_french(bilingual: Survey) -> None:
    client = Client()
    html = client.get(bilingual.public_path() + "?lang=fr").content.decode()
    failed = answer(client, html, "")
    assert failed.status_code == 400
    assert "Veuillez répondre à cette question." in failed.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("header", "expected"),
    [("pt-BR,pt;q=0.9,en;q=0.5", "pt"), ("de-DE,fr;q=0.8", "fr"), ("es", "en"), ("", "en")],
)
def test_the_browser_languages_pick_the_first_the_survey_has(
    bilingual: Survey, header: str, expected: str
) -> None:
    html = Client(HTTP_ACCEPT_LANGUAGE=header).get(bilingual.public_path()).content.decode()
    assert f'<html lang="{expected}">' in html


@pytest.fixture
def draft(workspace: Workspace) -> Survey:
    return Survey.create(workspace, BILINGUAL)


@pytest.mark.django_db
def test_a_draft_has_no_public_page_but_its_authors_can_preview_it(
    draft: Survey, viewer: User, outsider: User
) -> None:
    url = draft.public_path() + "?preview=1"
    assert Client().get(url).status_code == 404
    assert logged_in(outsider).get(url).status_code == 404
    page = logged_in(viewer).get(url)
    assert page.status_code == 200
    assert page["X-Frame-Options"] == "SAMEORIGIN"
    assert "Preview: answers are not saved" in page.content.decode()


@pytest.mark.django_db
def test_answers_given_in_preview_are_kept_in_the_session_only(draft: Survey, editor: User) -> None:
    draft.destinations = ["braze"]
    draft.save(update_fields=["destinations"])
    client = logged_in(editor)
    url = draft.public_path() + "?preview=1&lang=fr&user_braze_id=someone"
    html = client.get(url).content.decode()
    html = answer(client, html, "Pro").content.decode()
    assert question_of(html) == "csat"
    html = answer(client, html, "4").content.decode()
    assert screen_of(html) == "done" and "Merci !" in html
    assert not Response.objects.exists() and not Push.objects.exists()
    # The preview remembers where its author is, opens any question, and starts over.
    assert screen_of(client.get(url).content.decode()) == "done"
    assert question_of(client.get(url + "&q=csat").content.decode()) == "csat"
    assert question_of(client.get(url + "&restart=1").content.decode()) == "plan"


@pytest.mark.django_db
def test_a_preview_link_without_a_session_is_an_ordinary_link_on_a_live_survey(
    bilingual: Survey,
) -> None:
    client = Client()
    html = client.get(bilingual.public_path() + "?preview=1&user_braze_id=p1").content.decode()
    assert "Preview" not in html
    answer(client, html, "Pro")
    assert Answer.objects.get().value == "Pro"


@pytest.mark.django_db
def test_default_labels_read_in_the_survey_language_and_authored_ones_stay(
    workspace: Workspace,
) -> None:
    survey = Survey.create(
        workspace,
        {
            "title": "Umfrage",
            "language": "de",
            "questions": [
                {"key": "nps", "type": "nps", "prompt": "Wie wahrscheinlich?", "required": True},
                {
                    "key": "csat",
                    "type": "csat",
                    "prompt": "Wie zufrieden?",
                    "labels": ["Mies", "Schlecht", "Neutral", "Gut", "Super"],
                },
            ],
            "translations": {"fr": {"questions": {"nps": {"prompt": "Quelle probabilité ?"}}}},
        },
    )
    survey.set_status(Status.LIVE)
    # Stored as given: the defaults stay in English in the definition and the API.
    assert survey.definition["questions"][0]["min_label"] == "Not at all likely"
    client = Client()
    html = client.get(survey.public_path() + "?user_braze_id=d1").content.decode()
    assert "Überhaupt nicht wahrscheinlich" in html and "Not at all likely" not in html
    html = answer(client, html, "8").content.decode()
    assert "Mies" in html and "Very unsatisfied" not in html
    french = Client().get(survey.public_path() + "?lang=fr").content.decode()
    assert "Quelle probabilité ?" in french and "Pas du tout probable" in french


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "header", "button"),
    [
        ("?lang=es", "es", "Next"),  # no Spanish translation: the survey reads in English
        ("", "de-DE", "Next"),  # nor a German one: the browser alone changes nothing
        ("?lang=fr", "de-DE", "Suivant"),
        ("", "fr-CA,de;q=0.8", "Suivant"),
    ],
)
def test_soundings_own_words_follow_the_survey_language_not_the_link_or_browser_alone(
    bilingual: Survey, query: str, header: str, button: str
) -> None:
    """What docs/survey-links.md and docs/languages.md both say."""
    html = Client(HTTP_ACCEPT_LANGUAGE=header).get(bilingual.public_path() + query)
    assert f">{button}<" in html.content.decode()
