"""Reading the text typed in "Other" apart from the choices, the one rule exports, the API,
webhooks, the responses pages and Braze share."""

from __future__ import annotations

from typing import Any

import pytest

from sounding.surveys.other_text import split
from sounding.surveys.spec import Question

pytestmark = pytest.mark.any_db

MULTIPLE = Question(
    key="extras",
    type="multiple_choice",
    prompt="Extras?",
    choices=("Packaging", "Card"),
    allow_other=True,
)
SINGLE = Question(
    key="drink",
    type="dropdown",
    prompt="Drink?",
    choices=("Coffee", "Juice"),
    allow_other=True,
    other_label="Something else",
)
WITHOUT = Question(key="plan", type="single_choice", prompt="Plan?", choices=("Free", "Pro"))


@pytest.mark.parametrize(
    ("question", "stored", "expected"),
    [
        (MULTIPLE, ["Packaging", "Gift wrapping"], (["Packaging", "Other"], "Gift wrapping")),
        (MULTIPLE, ["Card"], (["Card"], None)),
        (MULTIPLE, [], ([], None)),
        # A choice since removed beside the typed text: both read as "Other" text, as the
        # report counts them.
        (MULTIPLE, ["Ribbon", "Card", "Bow"], (["Card", "Other"], "Ribbon; Bow")),
        # A respondent who typed the label itself still has their text kept apart.
        (MULTIPLE, ["Other"], (["Other"], "Other")),
        # A single pick stored before the question allowed several.
        (MULTIPLE, "Bow", ("Other", "Bow")),
        (SINGLE, "Mint tea", ("Something else", "Mint tea")),
        (SINGLE, "Juice", ("Juice", None)),
        (SINGLE, None, (None, None)),
        (SINGLE, 3, (3, None)),
        (WITHOUT, "Legacy", ("Legacy", None)),
        (WITHOUT, ["Free", "x"], (["Free", "x"], None)),
    ],
)
def test_split(question: Question, stored: Any, expected: tuple[Any, str | None]) -> None:
    assert split(question, stored) == expected


def test_a_blank_other_label_reads_as_other() -> None:
    question = Question(
        key="q", type="single_choice", prompt="?", choices=("A",), allow_other=True, other_label=""
    )
    assert split(question, "typed") == ("Other", "typed")
