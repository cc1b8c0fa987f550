"""What the counts of one question mean: NPS, CSAT, averages, medians and shares.

Pure arithmetic on `stats.KeyTally` (a few hundred numbers at most); no query is made here.
Percentages are of the people who answered the question, except where a name says otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sounding.reports.stats import SCORE_TYPES, TEXT_TYPES, KeyTally
from sounding.surveys.spec import Question

OTHERS_LISTED = 20
NPS_GROUPS = (("Detractors", 0, 6), ("Passives", 7, 8), ("Promoters", 9, 10))


@dataclass(frozen=True)
class Row:
    """One line of a distribution or of a choice list."""

    label: str
    count: int
    share: float  # percent of the base the result names (answers, or respondents)
    key: str = ""  # a stable name for styling (the NPS groups)


@dataclass(frozen=True)
class Fact:
    label: str
    value: str


@dataclass
class Result:
    """A question's figures, ready to show."""

    kind: str  # "scores", "choices", "multiple", "number", "date", "text"
    answered: int
    facts: list[Fact] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    groups: list[Row] = field(default_factory=list)  # NPS: detractors, passives, promoters
    others: list[tuple[str, int]] = field(default_factory=list)  # "Other" texts, most given first
    others_more: int = 0  # distinct "Other" texts not listed
    base: str = "answers"  # what the shares are of


def percent(part: float, whole: float) -> float:
    return 100 * part / whole if whole else 0.0


def show_percent(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.0f}%" if abs(value - round(value)) < 0.05 else f"{value:.1f}%"


def show_number(value: float | None) -> str:
    if value is None:
        return "—"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# -- scores --------------------------------------------------------------------------------------


def score_counts(q: Question, tally: KeyTally) -> list[tuple[float, int]]:
    """(score, count) for every point of the question, zeros included, then any stored score
    outside today's range (the range may have changed since it was given)."""
    found: dict[float, int] = {}
    for value, n in tally.values:
        if _is_number(value):
            found[value] = found.get(value, 0) + n
    points = q.points() if q.min is not None and q.max is not None else []
    out = [(float(p), found.pop(p, 0)) for p in points]
    return out + sorted((float(v), n) for v, n in found.items())


def mean(counts: Iterable[tuple[float, int]]) -> float | None:
    pairs = list(counts)
    total = sum(n for _, n in pairs)
    return sum(v * n for v, n in pairs) / total if total else None


def median(counts: Iterable[tuple[float, int]]) -> float | None:
    """The middle score (the mean of the two middle ones for an even count)."""
    pairs = sorted((v, n) for v, n in counts if n)
    total = sum(n for _, n in pairs)
    if not total:
        return None
    wanted = [(total - 1) // 2, total // 2]  # 0-based positions of the middle answer(s)
    found: list[float] = []
    seen = 0
    for value, n in pairs:
        while wanted and wanted[0] < seen + n:
            found.append(value)
            wanted.pop(0)
        seen += n
    return sum(found) / len(found)


def _score_label(q: Question, score: float) -> str:
    text = show_number(score)
    point = int(score)
    if q.type == "csat" and q.labels and 1 <= point <= len(q.labels) and point == score:
        return f"{text} · {q.labels[point - 1]}"
    if q.min_label and score == q.min:
        return f"{text} · {q.min_label}"
    if q.max_label and score == q.max:
        return f"{text} · {q.max_label}"
    return text


def scores(q: Question, tally: KeyTally) -> Result:
    counts = score_counts(q, tally)
    answered = sum(n for _, n in counts)
    rows = [Row(_score_label(q, v), n, percent(n, answered)) for v, n in counts]
    result = Result("scores", answered, rows=rows)
    if q.type == "nps":
        _add_nps(result, counts)
    elif q.type == "csat":
        result.facts.append(Fact("CSAT", show_percent(csat_share(counts))))
    result.facts.append(Fact("Average", show_number(_round(mean(counts)))))
    result.facts.append(Fact("Median", show_number(median(counts))))
    return result


def csat_share(counts: Iterable[tuple[float, int]]) -> float | None:
    """The CSAT score: the percentage of answers that are 4 or 5 ("satisfied" or better)."""
    pairs = list(counts)
    total = sum(n for _, n in pairs)
    return percent(sum(n for v, n in pairs if v >= 4), total) if total else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def nps_score(counts: Iterable[tuple[float, int]]) -> tuple[float | None, list[int]]:
    """The Net Promoter Score (% promoters − % detractors) and the three groups' counts."""
    pairs = list(counts)
    groups = [sum(n for v, n in pairs if lo <= v <= hi) for _, lo, hi in NPS_GROUPS]
    total = sum(groups)
    if not total:
        return None, groups
    return percent(groups[2], total) - percent(groups[0], total), groups


def show_nps(score: float | None) -> str:
    """A whole number from −100 to +100, halves rounded away from zero, signed."""
    if score is None:
        return "—"
    whole = int(math.copysign(math.floor(abs(score) + 0.5), score))
    return "0" if whole == 0 else f"{whole:+d}".replace("-", "−")


def _add_nps(result: Result, counts: list[tuple[float, int]]) -> None:
    score, groups = nps_score(counts)
    total = sum(groups)
    for (name, lo, hi), n in zip(NPS_GROUPS, groups, strict=True):
        result.groups.append(Row(f"{name} ({lo}–{hi})", n, percent(n, total), name.lower()))
    result.facts.append(Fact("NPS", show_nps(score)))
    for row in result.groups:
        result.facts.append(Fact(row.label.split(" ")[0], f"{row.count:,}"))


# -- choices -------------------------------------------------------------------------------------


def _yes_no(value: Any) -> str | None:
    if value is True:
        return "Yes"
    if value is False:
        return "No"
    return None


def choices(q: Question, tally: KeyTally) -> Result:
    """Single choice, dropdown and yes/no: one row per choice in the definition's order, then
    every other answer (what people wrote in "Other") in one row."""
    offered = ["Yes", "No"] if q.type == "yes_no" else list(q.choices)
    counts = dict.fromkeys(offered, 0)
    others: dict[str, int] = {}
    for value, n in tally.values:
        name = _yes_no(value) if q.type == "yes_no" else value
        if isinstance(name, str) and name in counts:
            counts[name] += n
        else:
            text = value if isinstance(value, str) else str(value)
            others[text] = others.get(text, 0) + n
    answered = sum(counts.values()) + sum(others.values())
    rows = [Row(name, n, percent(n, answered)) for name, n in counts.items()]
    result = Result("choices", answered, rows=rows)
    _add_others(result, q, others, sum(others.values()), answered)
    return result


def multiple(q: Question, tally: KeyTally) -> Result:
    """Multiple choice: how many respondents picked each choice (shares add up to more than
    100%: people pick several)."""
    counts = dict.fromkeys(q.choices, 0)
    others: dict[str, int] = {}
    with_other = 0
    for value, n in tally.values:
        picks = value if isinstance(value, list) else [value]
        extra = False
        for pick in picks:
            if isinstance(pick, str) and pick in counts:
                counts[pick] += n
            else:
                text = pick if isinstance(pick, str) else str(pick)
                others[text] = others.get(text, 0) + n
                extra = True
        with_other += n if extra else 0
    answered = tally.answered
    rows = [Row(name, n, percent(n, answered)) for name, n in counts.items()]
    result = Result("multiple", answered, rows=rows, base="respondents")
    _add_others(result, q, others, with_other, answered)
    return result


def _add_others(
    result: Result, q: Question, others: dict[str, int], count: int, answered: int
) -> None:
    if not (others or q.allow_other):
        return
    # Without "Other" offered, these are answers to choices since renamed or removed.
    label = q.other_label if q.allow_other else "No longer a choice"
    result.rows.append(Row(label, count, percent(count, answered), "other"))
    ranked = sorted(others.items(), key=lambda item: (-item[1], item[0].casefold()))
    result.others = ranked[:OTHERS_LISTED]
    result.others_more = max(0, len(ranked) - OTHERS_LISTED)


# -- numbers, dates, text ------------------------------------------------------------------------


def number(tally: KeyTally) -> Result:
    return Result(
        "number",
        tally.answered,
        facts=[
            Fact("Answers", f"{tally.answered:,}"),
            Fact("Lowest", show_number(tally.low)),
            Fact("Highest", show_number(tally.high)),
            Fact("Average", show_number(_round(tally.mean))),
        ],
    )


def date(tally: KeyTally) -> Result:
    return Result(
        "date",
        tally.answered,
        facts=[
            Fact("Answers", f"{tally.answered:,}"),
            Fact("Earliest", tally.first or "—"),
            Fact("Latest", tally.last or "—"),
        ],
    )


def text(tally: KeyTally) -> Result:
    return Result("text", tally.answered, facts=[Fact("Answers", f"{tally.answered:,}")])


def result_for(q: Question, tally: KeyTally | None) -> Result:
    found = tally or KeyTally()
    if q.type in SCORE_TYPES:
        return scores(q, found)
    if q.type == "multiple_choice":
        return multiple(q, found)
    if q.type in ("single_choice", "dropdown", "yes_no"):
        return choices(q, found)
    if q.type == "number":
        return number(found)
    if q.type == "date":
        return date(found)
    if q.type in TEXT_TYPES:
        return text(found)
    return text(found)  # a type this report does not know yet: its answers still count
