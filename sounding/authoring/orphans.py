"""Answers an edit would leave behind: counted before a question or a choice goes, so the
author confirms knowing how many, and carried along when a choice is renamed.

Answers are never deleted by an edit of the definition. An answer whose question or choice is
gone stays stored under its key and is shown as it was by the exports and the responses page.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, QuerySet

from sounding.surveys.models import Survey


def _answers(survey: Survey, key: str | None = None) -> QuerySet[Any]:
    from sounding.answers.models import Answer

    answers = Answer.objects.filter(response__survey=survey)
    return answers if key is None else answers.filter(question_key=key)


def counts_by_key(survey: Survey) -> dict[str, int]:
    rows = _answers(survey).values_list("question_key").annotate(n=Count("pk"))
    return dict(rows)


def answer_count(survey: Survey, key: str) -> int:
    return _answers(survey, key).count()


def choice_counts(survey: Survey, key: str) -> Counter[str]:
    """How many answers to `key` name each choice text (a multiple-choice answer names several).

    Grouped in the database: distinct answers are few even when answers are many.
    """
    counts: Counter[str] = Counter()
    for value, n in _answers(survey, key).values_list("value").annotate(n=Count("pk")):
        for text in value if isinstance(value, list) else [value]:
            if isinstance(text, str):
                counts[text] += n
    return counts


@dataclass
class Orphans:
    """What an edit of one question does to its stored answers."""

    prompt: str
    question: int = 0  # answers to a question that goes
    removed: dict[str, int] = field(default_factory=dict)  # choice -> answers naming it
    renamed: list[tuple[str, str, int]] = field(default_factory=list)  # old, new, answers

    def __bool__(self) -> bool:
        return bool(self.question or self.removed or self.renamed)

    @property
    def total(self) -> int:
        return self.question + sum(self.removed.values()) + sum(n for *_, n in self.renamed)


def for_deletion(survey: Survey, question: dict[str, Any]) -> Orphans:
    return Orphans(question["prompt"], question=answer_count(survey, question["key"]))


def for_edit(
    survey: Survey, old: dict[str, Any], new: dict[str, Any], renames: dict[str, str]
) -> Orphans:
    """Answers that name a choice the edit removes or renames."""
    orphans = Orphans(old["prompt"])
    kept = set(new.get("choices") or [])
    gone = [c for c in old.get("choices") or [] if c not in kept]
    if not gone:
        return orphans
    counts = choice_counts(survey, old["key"])
    for choice in gone:
        if counts[choice] and choice in renames:
            orphans.renamed.append((choice, renames[choice], counts[choice]))
        elif counts[choice]:
            orphans.removed[choice] = counts[choice]
    return orphans


def rename_answers(survey: Survey, key: str, renames: dict[str, str]) -> int:
    """Give stored answers the new text of renamed choices; returns how many changed.

    Run inside the transaction that saves the definition, so answers and choices change
    together; destinations that hold the old text are sent the new one.
    """
    from functools import reduce
    from operator import or_

    from django.db.models import Q

    from sounding.delivery.backfill import owe_again

    changed = 0
    renamed: list[Any] = []
    answers = _answers(survey, key)
    for value, _n in answers.values_list("value").annotate(n=Count("pk")):
        if isinstance(value, list):
            new_value: Any = [renames.get(v, v) if isinstance(v, str) else v for v in value]
        else:
            new_value = renames.get(value, value) if isinstance(value, str) else value
        if new_value != value:
            changed += answers.filter(value=value).update(value=new_value)
            renamed.append(new_value)
    if changed:
        now_matching = reduce(or_, (Q(value=v) for v in renamed))
        owe_again(answers.filter(now_matching).values("response_id"))
    return changed


class NeedsConfirmation(Exception):
    """An edit that would leave answers (or conditions) behind: the author confirms first."""

    def __init__(self, orphans: Orphans, dependents: list[dict[str, Any]] | None = None) -> None:
        super().__init__(f"{orphans.total} answers concerned")
        self.orphans = orphans
        self.dependents = dependents or []
