"""Which changes an answered question may take: its stored answers must still read as answers.

An answer is stored once, in the shape of the question's type at the time (see `questions`):
a score is a whole number in the question's range, a choice is its text, a multiple choice a
list of texts. Every reader (reports, exports, conditions, destinations) reads it through
the question as it is now, so once a question has answers it may only become something that
still reads them the same way. `Survey.replace_definition` applies this to every edit, from
the builder and the API alike; docs/authoring.md describes the rule for authors.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

from sounding.surveys.definition import DefinitionError
from sounding.surveys.questions import QUESTION_TYPES, Problems

SCORES = frozenset({"nps", "rating", "csat", "scale"})
CHOICES = frozenset({"single_choice", "dropdown"})
TEXTS = frozenset({"short_text", "long_text", "email"})
# What an answered question of each type may become, before looking at ranges and choices. A
# number can hold 2.5 or 5000, which no score reads; a score is a number, so the reverse holds.
REACHABLE: dict[str, frozenset[str]] = {
    **{name: SCORES | {"number"} for name in SCORES},
    "number": frozenset({"number"}),
    **{name: CHOICES for name in CHOICES},
    "multiple_choice": frozenset({"multiple_choice"}),
    **{name: TEXTS for name in TEXTS},
    "yes_no": frozenset({"yes_no"}),
    "date": frozenset({"date"}),
}
STORED_AS = {
    **dict.fromkeys(SCORES, "whole numbers"),
    "number": "numbers",
    **dict.fromkeys(CHOICES, "the text of one choice"),
    "multiple_choice": "lists of choices",
    **dict.fromkeys(TEXTS, "text"),
    "yes_no": "yes or no",
    "date": "dates",
}

Question = Mapping[str, Any]


def reachable(kind: str) -> frozenset[str]:
    """The types an answered question of type `kind` may be offered to become."""
    return REACHABLE.get(kind, frozenset({kind}))


def score_range(question: Question) -> tuple[int, int] | None:
    """The scores a question offers (fixed for nps, rating and csat), None for other types."""
    kind = QUESTION_TYPES.get(question.get("type", ""))
    if question.get("type") not in SCORES or kind is None:
        return None
    fixed = kind.defaults()
    low, high = question.get("min", fixed.get("min")), question.get("max", fixed.get("max"))
    return (low, high) if isinstance(low, int) and isinstance(high, int) else None


def problem(old: Question, new: Question, answers: int) -> tuple[str, str] | None:
    """Why `new` cannot replace the answered question `old`, as (field, message); None when
    every answer `old` may hold is still an answer of `new`."""
    before, after = old.get("type", ""), new.get("type", "")
    many = f"{answers} answer{'s' * (answers != 1)}"
    if after not in reachable(before):
        verb = "is" if answers == 1 else "are"
        return "type", (
            f"cannot change from {before} to {after}: its {many} {verb} stored as "
            f"{STORED_AS.get(before, before)}, which a {after} question does not read"
        )
    if after in SCORES:
        return _range_problem(old, new, many)
    if after in CHOICES and before != after:
        return _choices_problem(old, new, many)
    return None


def _range_problem(old: Question, new: Question, many: str) -> tuple[str, str] | None:
    was, now = score_range(old), score_range(new)
    if was is None or now is None or (now[0] <= was[0] and was[1] <= now[1]):
        return None
    field = "type" if old.get("type") != new.get("type") else ("min" if now[0] > was[0] else "max")
    return field, (
        f"must keep every score from {was[0]} to {was[1]}: its {many} may hold any of them, "
        f"and a {new.get('type')} question from {now[0]} to {now[1]} would not read them all"
    )


def _choices_problem(old: Question, new: Question, many: str) -> tuple[str, str] | None:
    kept = set(new.get("choices") or ())
    missing = [c for c in old.get("choices") or () if c not in kept]
    if old.get("allow_other") and not new.get("allow_other"):
        missing.append(str(old.get("other_label") or "Other"))
    if not missing:
        return None
    names = ", ".join(f"“{c}”" for c in missing)
    return "type", (
        f"must keep every choice while changing from {old.get('type')} to {new.get('type')} "
        f"(its {many} may name {names}): change the type first, then the choices"
    )


def check(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    answered: Callable[[Collection[str]], Mapping[str, int]],
) -> None:
    """Raise DefinitionError for each answered question that `new` changes incompatibly.

    `answered(keys)` counts the stored answers of those question keys; it is only asked about
    questions that change in a way that would matter, so an ordinary edit costs no query.
    """
    before = {q["key"]: q for q in old.get("questions", ()) if isinstance(q, dict)}
    suspects: dict[str, tuple[int, str, str]] = {}
    for index, question in enumerate(new.get("questions", ())):
        previous = before.get(question["key"])
        found = previous and problem(previous, question, 1)
        if found:
            suspects[question["key"]] = (index, *found)
    if not suspects:
        return
    counts = answered(list(suspects))
    problems: Problems = []
    for key, (index, field, _) in suspects.items():
        if counts.get(key):
            found = problem(before[key], new["questions"][index], counts[key])
            if found:
                problems.append((f"$.questions[{index}].{field}", found[1]))
    if problems:
        raise DefinitionError(problems)
