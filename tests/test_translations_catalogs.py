"""The respondent pages speak French, German, Spanish and Portuguese, and stay that way.

The catalog checks extract the messages from the code as it is now, with the same code as
`scripts/messages.py`, so a new or changed string fails here until it is translated.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from django.test import Client

from sounding.surveys.models import Survey

ROOT = Path(__file__).resolve().parent.parent


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sounding_messages", ROOT / "scripts/messages.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


messages = _load_script()
LANGUAGES = list(messages.LANGUAGES)
FRESH = messages.Entry("")


@pytest.fixture(scope="module")
def extracted() -> list:
    return messages.extract()


def test_extraction_finds_template_and_python_messages(extracted: list) -> None:
    ids = {m.msgid for m in extracted}
    assert "Next" in ids  # a Jinja2 template
    assert "Question %(number)s of %(total)s" in ids  # a template call with variables
    assert "This question needs an answer." in ids  # translation.gettext in a view
    assert "This form does not match the survey." in ids  # gettext_noop
    assert "Enter a number." in ids  # sounding/surveys/questions.py
    assert "Yes" in ids and "No" in ids  # sounding/collect/widgets.py


def test_the_script_offers_exactly_the_five_languages_of_the_settings(settings: Any) -> None:
    assert ["en", *LANGUAGES] == [code for code, _name in settings.LANGUAGES]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_message_is_translated_and_none_is_fuzzy(lang: str, extracted: list) -> None:
    po = messages.catalog_path(lang)
    assert po.exists(), f"{po} is missing: run python scripts/messages.py"
    entries = {e.ident: e for e in messages.read_po(po)}
    missing = [m.msgid for m in extracted if m.ident not in entries]
    fuzzy = [m.msgid for m in extracted if "fuzzy" in entries.get(m.ident, FRESH).flags]
    empty = [m.msgid for m in extracted if m.ident in entries and not entries[m.ident].translated]
    hint = "run python scripts/messages.py, then translate in " + str(po)
    assert not missing, f"not in the {lang} catalog ({hint}): {missing}"
    assert not fuzzy, f"fuzzy in the {lang} catalog (check, then drop the flag): {fuzzy}"
    assert not empty, f"untranslated in the {lang} catalog ({hint}): {empty}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_placeholders_are_kept_in_every_translation(lang: str) -> None:
    for entry in messages.read_po(messages.catalog_path(lang)):
        wanted = sorted(messages.PYTHON_FORMAT.findall(entry.msgid))
        for text in entry.strings:
            assert sorted(messages.PYTHON_FORMAT.findall(text)) == wanted, (lang, entry.msgid)


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="GNU gettext's msgfmt is missing")
@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_committed_mo_is_compiled_from_the_committed_po(lang: str, tmp_path: Path) -> None:
    mo = messages.catalog_path(lang, "mo")
    assert mo.exists(), f"{mo} is missing: run python scripts/messages.py"
    fresh = tmp_path / "fresh.mo"
    messages.compile_catalog(messages.catalog_path(lang), fresh)
    assert messages.compiled_catalog(mo) == messages.compiled_catalog(fresh), (
        f"{mo} is stale: run python scripts/messages.py"
    )


def test_a_stale_mo_is_noticed(tmp_path: Path) -> None:
    po = tmp_path / "django.po"
    text = messages.catalog_path("fr").read_text(encoding="utf-8")
    po.write_text(text.replace('msgstr "Suivant"', 'msgstr "Continuer"'), encoding="utf-8")
    if shutil.which("msgfmt") is None:
        pytest.skip("GNU gettext's msgfmt is missing")
    fresh = tmp_path / "fresh.mo"
    messages.compile_catalog(po, fresh)
    assert messages.compiled_catalog(fresh)["Next"] == "Continuer"
    assert messages.compiled_catalog(messages.catalog_path("fr", "mo"))["Next"] == "Suivant"


def test_the_po_reader_sees_fuzzy_flags_plurals_and_continued_lines(tmp_path: Path) -> None:
    po = tmp_path / "x.po"
    po.write_text(
        'msgid ""\nmsgstr ""\n"Language: fr\\n"\n\n'
        '#, fuzzy, python-format\nmsgid "Hello %(name)s"\nmsgstr "Bonjour %(name)s"\n\n'
        'msgctxt "button"\nmsgid ""\n"Two "\n"lines"\nmsgstr ""\n\n'
        'msgid "One file"\nmsgid_plural "%(n)s files"\nmsgstr[0] "Un fichier"\n'
        'msgstr[1] ""\n\n#~ msgid "Gone"\n#~ msgstr "Parti"\n',
        encoding="utf-8",
    )
    fuzzy, two, plural = messages.read_po(po)
    assert (fuzzy.msgid, fuzzy.flags) == ("Hello %(name)s", {"fuzzy", "python-format"})
    assert (two.context, two.msgid, two.translated) == ("button", "Two lines", False)
    assert (plural.plural, plural.strings, plural.translated) == (
        "%(n)s files",
        ["Un fichier", ""],
        False,
    )


# The pages themselves -----------------------------------------------------------------------

NEXT = {"fr": "Suivant", "de": "Weiter", "es": "Siguiente", "pt": "Próximo"}


@pytest.fixture
def multilingual(live_survey: Survey) -> Survey:
    """The survey with a (still empty) translation in each language Sounding speaks.

    The app's words follow the survey's language, so a survey must offer a language first.
    """
    live_survey.replace_definition(
        {**live_survey.definition, "translations": {code: {} for code in NEXT}}
    )
    return live_survey


@pytest.mark.parametrize(("lang", "word"), NEXT.items())
def test_the_lang_link_parameter_picks_the_language(
    multilingual: Survey, lang: str, word: str
) -> None:
    page = Client().get(multilingual.public_path(), {"lang": lang})
    html = page.content.decode()
    assert page.status_code == 200
    assert f">{word}</button>" in html
    assert f'<html lang="{lang}">' in html
    assert ">Next</button>" not in html


@pytest.mark.parametrize(("lang", "word"), NEXT.items())
def test_the_browser_language_picks_the_language(
    multilingual: Survey, lang: str, word: str
) -> None:
    header = f"{lang}-XX,{lang};q=0.9,en;q=0.5"
    page = Client().get(multilingual.public_path(), HTTP_ACCEPT_LANGUAGE=header)
    assert f">{word}</button>" in page.content.decode()


def test_the_lang_parameter_wins_over_the_browser(multilingual: Survey) -> None:
    page = Client().get(
        multilingual.public_path(), {"lang": "es"}, HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9"
    )
    assert ">Siguiente</button>" in page.content.decode()


def test_a_language_the_survey_lacks_falls_back_to_its_own(multilingual: Survey) -> None:
    page = Client().get(multilingual.public_path(), {"lang": "it"}, HTTP_ACCEPT_LANGUAGE="ja")
    assert ">Next</button>" in page.content.decode()


def test_a_survey_written_in_german_speaks_german_to_everyone(live_survey: Survey) -> None:
    live_survey.replace_definition({**live_survey.definition, "language": "de"})
    page = Client().get(live_survey.public_path(), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert ">Weiter</button>" in page.content.decode()
    assert "Frage 1 von 13" in page.content.decode()


def test_a_validation_error_is_in_french(multilingual: Survey) -> None:
    path = multilingual.public_path() + "?lang=fr"
    missing = Client().post(path, {"q": "nps", "r": "", "nav": "next"})
    assert missing.status_code == 400
    assert "Veuillez répondre à cette question." in missing.content.decode()
    out_of_range = Client().post(path, {"q": "nps", "a": "11", "nav": "next"})
    assert out_of_range.status_code == 400
    assert "Choisissez un nombre de 0 à 10." in out_of_range.content.decode()
    assert not multilingual.responses.exists()


def test_the_answer_records_the_language_it_was_given_in(multilingual: Survey) -> None:
    Client().post(multilingual.public_path() + "?lang=pt", {"q": "nps", "a": "9", "nav": "next"})
    assert list(multilingual.responses.values_list("language", flat=True)) == ["pt"]
