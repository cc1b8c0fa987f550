"""Survey translations: every text a respondent reads, in other languages than the default.

In a definition:

    "translations": {"fr": {"title": "…", "intro": "…", "thank_you": "…",
                            "questions": {"nps": {"prompt": "…", "help": "…",
                                                  "choices": {"Free": "Gratuit"},
                                                  "labels": ["…", …], "other_label": "…",
                                                  "min_label": "…", "max_label": "…",
                                                  "placeholder": "…"}}}}

Choices are translated by their text in the default language, not by position, so reordering,
adding or removing a choice never shifts a translation onto another choice; a list (one per
choice, in order) is accepted as input and stored as that mapping. Answers are always stored as
the default language's choice text, so reports, exports and what destinations get are the same
whatever language a person answered in. Anything left out falls back to the default text.
Translations of questions or choices that no longer exist are dropped on save.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from sounding.surveys.questions import Problems, localized_default

if TYPE_CHECKING:
    # Only in signatures: the spec calls `translate`, so this module must load without it.
    from sounding.surveys.spec import Question, SurveySpec

LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
MAX_LANGUAGES = 30
SURVEY_TEXTS = {"title": 200, "intro": 2000, "thank_you": 2000}
QUESTION_TEXTS = {
    "prompt": 1000,
    "help": 2000,
    "other_label": 200,
    "min_label": 200,
    "max_label": 200,
    "placeholder": 200,
}
CHOICE_MAX = 255


def _text(value: Any, limit: int, path: str, problems: Problems) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        problems.append((path, "must be a string"))
        return None
    if len(value) > limit:
        problems.append((path, f"must be at most {limit} characters"))
        return None
    return value.strip() or None


def _choices(raw: Any, choices: list[str], path: str, problems: Problems) -> dict[str, str] | None:
    if isinstance(raw, list):
        # One per choice, in order: how a form or a spreadsheet naturally gives them.
        raw = dict(zip(choices, raw, strict=False))
    if not isinstance(raw, dict):
        problems.append((path, "must map each choice to its translation"))
        return None
    out = {}
    for source, text in raw.items():
        clean = _text(text, CHOICE_MAX, f"{path}.{source}", problems)
        if clean and source in choices:
            out[source] = clean
    return out or None


def _question(
    raw: Any, question: Mapping[str, Any], path: str, problems: Problems
) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        problems.append((path, "must be an object"))
        return None
    out: dict[str, Any] = {}
    for name in sorted(set(raw) - set(QUESTION_TEXTS) - {"choices", "labels"}):
        problems.append((f"{path}.{name}", "is not a translatable text of a question"))
    for name, limit in QUESTION_TEXTS.items():
        clean = _text(raw.get(name), limit, f"{path}.{name}", problems)
        if clean:
            out[name] = clean
    if raw.get("choices") and "choices" in question:
        mapped = _choices(raw["choices"], question["choices"], f"{path}.choices", problems)
        if mapped:
            out["choices"] = mapped
    if raw.get("labels") and "labels" in question:
        labels = raw["labels"]
        if not isinstance(labels, list) or len(labels) > len(question["labels"]):
            problems.append((f"{path}.labels", "must be a list with one text per label"))
        else:
            texts = [_text(t, 200, f"{path}.labels[{i}]", problems) for i, t in enumerate(labels)]
            if any(texts):
                out["labels"] = [t or "" for t in texts]
    return out or None


def normalize(raw: Any, language: str, questions: list[dict[str, Any]], problems: Problems) -> Any:
    """The translations of a definition whose questions are already normalized."""
    if raw is None or raw == {}:
        return {}
    if not isinstance(raw, dict):
        problems.append(("$.translations", "must be an object keyed by language code"))
        return {}
    if len(raw) > MAX_LANGUAGES:
        problems.append(("$.translations", f"must have at most {MAX_LANGUAGES} languages"))
        return {}
    by_key = {q["key"]: q for q in questions}
    out: dict[str, Any] = {}
    for code, texts in raw.items():
        path = f"$.translations.{code}"
        if not isinstance(code, str) or not LANGUAGE_CODE.fullmatch(code):
            problems.append((path, "must be keyed by a language code such as fr or pt-BR"))
            continue
        if code == language:
            problems.append((path, "is the survey's own language"))
            continue
        if not isinstance(texts, dict):
            problems.append((path, "must be an object"))
            continue
        for name in sorted(set(texts) - set(SURVEY_TEXTS) - {"questions"}):
            problems.append((f"{path}.{name}", "is not a translatable text of a survey"))
        entry: dict[str, Any] = {}
        for name, limit in SURVEY_TEXTS.items():
            clean = _text(texts.get(name), limit, f"{path}.{name}", problems)
            if clean:
                entry[name] = clean
        raw_questions = texts.get("questions") or {}
        if not isinstance(raw_questions, dict):
            problems.append((f"{path}.questions", "must be an object keyed by question key"))
            raw_questions = {}
        translated = {}
        for key, question_texts in raw_questions.items():
            if key in by_key:  # a deleted question's translation goes with it
                done = _question(question_texts, by_key[key], f"{path}.questions.{key}", problems)
                if done:
                    translated[key] = done
        if translated:
            entry["questions"] = translated
        # A language with nothing translated yet is kept: it was added on purpose.
        out[code] = entry
    return out


def _translate_question(q: Question, texts: Mapping[str, Any], language: str) -> Question:
    # A default label nobody translated still reads in the language, where one ships.
    changes: dict[str, Any] = {
        name: localized_default(getattr(q, name), language)
        for name in ("min_label", "max_label", "other_label")
    }
    changes.update({name: texts[name] for name in QUESTION_TEXTS if texts.get(name)})
    if texts.get("choices"):
        labels = texts["choices"]
        changes["choice_labels"] = tuple(labels.get(c, c) for c in q.choices)
    given = texts.get("labels") or []
    changes["labels"] = tuple(
        given[i] if i < len(given) and given[i] else localized_default(label, language)
        for i, label in enumerate(q.labels)
    )
    return replace(q, **changes)


def translate(spec: SurveySpec, language: str, texts: Mapping[str, Any]) -> SurveySpec:
    by_key = texts.get("questions", {})
    questions = tuple(
        _translate_question(q, by_key.get(q.key, {}), language) for q in spec.questions
    )
    return replace(
        spec,
        title=texts.get("title") or spec.title,
        intro=texts.get("intro") or spec.intro,
        thank_you=texts.get("thank_you") or spec.thank_you,
        language=language,
        questions=questions,
        translations={},
        _index={},
        _translated={},
    )
