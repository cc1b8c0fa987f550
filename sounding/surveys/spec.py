"""The in-memory shape of a survey definition: immutable, validated, cheap to share.

A `SurveySpec` is built once per survey version (see `surveys.cache`) and read by the
respondent flow, the API and, later, the destinations' attribute mapping.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from threading import Lock
from typing import TYPE_CHECKING, Any

from sounding.surveys.questions import QUESTION_TYPES, QuestionType
from sounding.surveys.translations import translate

if TYPE_CHECKING:
    from sounding.surveys.conditions import Condition

_translating = Lock()


@dataclass(frozen=True, slots=True)
class Question:
    key: str
    type: str
    prompt: str
    help: str = ""
    required: bool = False
    choices: tuple[str, ...] = ()
    allow_other: bool = False
    other_label: str = "Other"
    min: float | None = None
    max: float | None = None
    min_label: str = ""
    max_label: str = ""
    labels: tuple[str, ...] = ()
    placeholder: str = ""
    # Shown only when this holds for the answers given so far (skip logic).
    show_if: Condition | None = None
    # What respondents read for each choice, when a translation differs from `choices`
    # (which stay the stored values).
    choice_labels: tuple[str, ...] = ()

    @property
    def kind(self) -> QuestionType:
        return QUESTION_TYPES[self.type]

    def points(self) -> list[int]:
        """The numbers offered by a score question (nps, rating, csat, scale)."""
        assert self.min is not None and self.max is not None
        return list(range(int(self.min), int(self.max) + 1))


@dataclass(frozen=True, slots=True)
class SurveySpec:
    title: str
    questions: tuple[Question, ...]
    intro: str = ""
    thank_you: str = ""
    language: str = "en"
    # The link parameters kept with each response, in the author's order.
    hidden_fields: tuple[str, ...] = ()
    translations: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    _index: dict[str, int] = field(default_factory=dict, compare=False, repr=False)
    _translated: dict[str, SurveySpec] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._index.update({q.key: i for i, q in enumerate(self.questions)})

    def get(self, key: str) -> Question | None:
        i = self._index.get(key)
        return None if i is None else self.questions[i]

    def position(self, key: str) -> int:
        return self._index[key]

    @property
    def keys(self) -> list[str]:
        return [q.key for q in self.questions]

    @property
    def languages(self) -> list[str]:
        """The survey's own language first, then those it has a translation for."""
        return [self.language, *self.translations]

    def translated(self, language: str) -> SurveySpec:
        """This survey as read in `language` (its own language for one it has no translation
        for), with the default labels left untouched read in that language too.

        Built once per spec and language: a spec lives as long as its survey version.
        """
        if language not in self.translations:
            language = self.language
            if language.split("-")[0].lower() == "en":
                return self  # nothing to translate: the defaults are English already
        found = self._translated.get(language)
        if found is None:
            found = translate(self, language, self.translations.get(language, {}))
            with _translating:
                found = self._translated.setdefault(language, found)
        return found
