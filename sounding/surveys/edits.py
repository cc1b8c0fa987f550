"""Edits the web app makes to a survey definition, as pure functions on the definition dict.

Each returns a new definition and leaves its input alone; `Survey.replace_definition`
validates the result, so these only need to refuse what validation cannot know about (a
question that is gone, a live survey left without questions) and word what it would refuse
about conditions (`rules`) in terms an author can act on. Edits that rename a key or a choice
carry the rename to the conditions and translations that use it.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

from sounding.surveys import rules
from sounding.surveys.definition import KEY_PATTERN
from sounding.surveys.questions import QUESTION_TYPES

TYPE_LABELS = {
    "nps": "Net Promoter Score (0–10)",
    "rating": "Rating (1–5)",
    "csat": "Satisfaction (CSAT)",
    "scale": "Scale",
    "single_choice": "Single choice",
    "multiple_choice": "Multiple choice",
    "dropdown": "Dropdown",
    "yes_no": "Yes / no",
    "short_text": "Short text",
    "long_text": "Long text",
    "email": "Email address",
    "number": "Number",
    "date": "Date",
}

# The `after` of a question added before the first one: no key starts with "_".
AT_START = "_start"

_QUESTION_PATH = re.compile(r"^\$\.questions\[(\d+)\](?:\.([a-z_]+))?")

Definition = dict[str, Any]
Question = dict[str, Any]


class EditRefused(ValueError):
    """An edit that would leave the survey unusable; the message says why."""


def type_label(name: str) -> str:
    return TYPE_LABELS.get(name, name.replace("_", " ").capitalize())


def types_with(field: str) -> list[str]:
    """The question types whose definition accepts `field` (e.g. "choices")."""
    return [name for name, kind in QUESTION_TYPES.items() if field in kind.fields]


def _questions(definition: Definition) -> list[Question]:
    return copy.deepcopy(list(definition.get("questions", [])))


def _with_questions(definition: Definition, questions: list[Question]) -> Definition:
    return {**copy.deepcopy(definition), "questions": questions}


def position(questions: list[Question], key: str) -> int:
    for i, question in enumerate(questions):
        if question.get("key") == key:
            return i
    raise EditRefused("That question is no longer in the survey; the page was out of date.")


def _check_order(questions: list[Question]) -> None:
    problem = rules.order_problem(questions)
    if problem:
        raise EditRefused(problem)


def with_question(
    definition: Definition, question: Question, after: str | None = None
) -> Definition:
    """`question` added at the end, right after the question `after`, or first (AT_START)."""
    questions = _questions(definition)
    questions.insert(added_at(questions, after), question)
    return _with_questions(definition, questions)


def added_at(questions: list[Question], after: str | None) -> int:
    """Where a question added `after` another (or AT_START, or at the end) goes in the list."""
    if after == AT_START:
        return 0
    return position(questions, after) + 1 if after else len(questions)


def free_key(base: str, taken: set[str]) -> str:
    base = base[:58].rstrip("_")
    key, n = f"{base}_copy", 2
    while key in taken:
        key = f"{base}_copy{n}"
        n += 1
    return key


def duplicated(definition: Definition, key: str) -> tuple[Definition, str]:
    """A copy of question `key` right after it, under a new key; with its translations."""
    questions = _questions(definition)
    at = position(questions, key)
    copy_key = free_key(key, {q["key"] for q in questions})
    questions.insert(at + 1, {**copy.deepcopy(questions[at]), "key": copy_key})
    out = _with_questions(definition, questions)
    for entry in _translation_entries(out):
        if key in entry:
            entry[copy_key] = copy.deepcopy(entry[key])
    return out, copy_key


def moved(definition: Definition, key: str, step: int) -> Definition:
    """The question `key` moved `step` places (negative is up); clamped at either end."""
    start = position(_questions(definition), key)
    return moved_to(definition, key, start + step)


def moved_to(definition: Definition, key: str, index: int) -> Definition:
    """The question `key` moved to `index` (clamped); refused if a condition would break."""
    questions = _questions(definition)
    start = position(questions, key)
    end = max(0, min(len(questions) - 1, index))
    questions.insert(end, questions.pop(start))
    _check_order(questions)
    return _with_questions(definition, questions)


def with_details(definition: Definition, details: dict[str, str]) -> Definition:
    """Title and texts replaced; the questions are kept as they are."""
    return {**copy.deepcopy(definition), **details}


def with_hidden_fields(definition: Definition, names: list[str]) -> Definition:
    """The link parameters kept with each response replaced; nothing else changes."""
    return {**copy.deepcopy(definition), "hidden_fields": list(names)}


# --- Deleting and undoing ------------------------------------------------------------------


@dataclass
class Deleted:
    """What deleting a question took out of the definition, enough to put it all back."""

    question: Question
    index: int
    translations: dict[str, Any] = field(default_factory=dict)  # language -> entry
    rules: dict[str, Any] = field(default_factory=dict)  # dependent key -> its show_if

    def as_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "index": self.index,
            "translations": self.translations,
            "rules": self.rules,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Deleted:
        return cls(data["question"], data["index"], data["translations"], data["rules"])


def dependents_message(questions: list[Question], key: str) -> str | None:
    names = [f"“{rules.short_prompt(q['prompt'])}”" for q in rules.dependents(questions, key)]
    if not names:
        return None
    return f"{', '.join(names)} {'is' if len(names) == 1 else 'are'} shown only depending on it."


def without_question(
    definition: Definition, key: str, *, live: bool, drop_rules: bool = False
) -> tuple[Definition, Deleted]:
    """Question `key` removed with its translations; the conditions that depend on it are
    removed too with `drop_rules`, and the deletion is refused without it."""
    questions = _questions(definition)
    index = position(questions, key)
    question = questions.pop(index)
    if live and not questions:
        # Respondents of a live survey need something to answer (see docs/survey-definition.md).
        raise EditRefused("A live survey needs at least one question: pause it first.")
    deleted = Deleted(question, index)
    depending = rules.dependents(questions, key)
    if depending and not drop_rules:
        raise EditRefused(
            f"This question cannot be deleted yet: {dependents_message(questions, key)}"
        )
    for dependent in depending:
        deleted.rules[dependent["key"]] = dependent.pop("show_if")
    out = _with_questions(definition, questions)
    for language, entry in _translations(out).items():
        if key in entry.get("questions", {}):
            deleted.translations[language] = entry["questions"].pop(key)
    return out, deleted


def restored(definition: Definition, deleted: Deleted) -> tuple[Definition, list[str]]:
    """The deleted question back at its place, with its key, condition and translations.

    Returns the definition and notes on what could not come back as it was.
    """
    questions = _questions(definition)
    question = copy.deepcopy(deleted.question)
    key = question["key"]
    if rules.find(questions, key) is not None:
        raise EditRefused(
            f"Another question now has the key “{key}”, so the deleted one cannot come back."
        )
    notes = []
    questions.insert(min(deleted.index, len(questions)), question)
    if "show_if" in question and rules.order_problem(questions):
        del question["show_if"]
        notes.append("its condition was left out: the question it depended on is gone")
    for dependent_key, rule in deleted.rules.items():
        dependent = rules.find(questions, dependent_key)
        if dependent is not None and "show_if" not in dependent:
            dependent["show_if"] = rule
            if rules.order_problem(questions):
                del dependent["show_if"]
    if rules.order_problem(questions):
        raise EditRefused("The survey changed too much since the deletion to put it back.")
    out = _with_questions(definition, questions)
    translations = out.get("translations")
    for language, entry in deleted.translations.items():
        if isinstance(translations, dict) and isinstance(translations.get(language), dict):
            translations[language].setdefault("questions", {})[key] = entry
    return out, notes


# --- Editing one question --------------------------------------------------------------------


def replaced(
    definition: Definition,
    key: str,
    question: Question,
    renames: dict[str, str] | None = None,
) -> Definition:
    """Question `key` replaced by `question` (which may have a new key or new choices).

    A new key is carried to the conditions and translations naming the old one; `renames`
    (old choice text -> new) to the conditions on this question and to the translated
    choices, which follow their choice when the list is reordered.
    """
    questions = _questions(definition)
    index = position(questions, key)
    old = questions[index]
    new_key = question.get("key") or key
    question = {**question, "key": new_key}
    questions[index] = question
    for dependent in rules.dependents(questions, key):
        rule = dependent["show_if"]
        rule["question"] = new_key
        if renames:
            rule["value"] = rules.renamed_value(rule.get("value"), renames)
    out = _with_questions(definition, questions)
    for entry in _translation_entries(out):
        if key not in entry:
            continue
        text = entry.pop(key)
        if "choices" in text:
            text["choices"] = _translated_choices(old, question, text["choices"], renames or {})
        entry[new_key] = text
    return out


def _translated_choices(
    old: Question, new: Question, translated: Any, renames: dict[str, str]
) -> Any:
    """Translated choices follow their choice through a rename; they are keyed by the
    default-language text, so a reorder needs nothing (see `translations`)."""
    if isinstance(translated, list):  # one per choice, in the old order
        translated = dict(zip(old.get("choices") or [], translated, strict=False))
    if not isinstance(translated, dict):
        return translated
    kept = set(new.get("choices") or [])
    moved = {renames.get(source, source): text for source, text in translated.items()}
    return {source: text for source, text in moved.items() if source in kept}


def choice_renames(old: list[str], new: list[str], origins: list[str] | None) -> dict[str, str]:
    """Which old choices the new list renames (old text -> new text).

    `origins` (from the page's choice editor) names, line by line, the choice each new line
    started as. Without it, a line whose text is new, at the place of an old choice that is
    gone, is taken as that choice renamed.
    """
    if origins is not None and len(origins) == len(new):
        pairs = zip(origins, new, strict=True)
    else:
        pairs = zip(old, new, strict=False)
    return {
        before: after
        for before, after in pairs
        if before in old and before != after and before not in new and after not in old
    }


def _translations(definition: Definition) -> dict[str, Any]:
    translations = definition.get("translations")
    if not isinstance(translations, dict):
        return {}
    return {lang: entry for lang, entry in translations.items() if isinstance(entry, dict)}


def _translation_entries(definition: Definition) -> list[dict[str, Any]]:
    """Every language's "questions" mapping (key -> translated texts), to edit in place."""
    return [
        entry["questions"]
        for entry in _translations(definition).values()
        if isinstance(entry.get("questions"), dict)
    ]


def question_field(path: str, index: int) -> str | None:
    """The question field a problem path points at, if it is about question `index`.

    `$.questions[3].choices[1]` is the field "choices" of question 3.
    """
    match = _QUESTION_PATH.match(path)
    if match is None or int(match.group(1)) != index:
        return None
    return match.group(2) or ""


def question_index(path: str) -> int | None:
    match = _QUESTION_PATH.match(path)
    return None if match is None else int(match.group(1))


def valid_key(key: str) -> bool:
    return bool(KEY_PATTERN.fullmatch(key))
