"""A survey's responses as CSV, JSON or XLSX, streamed: memory stays flat whatever their number.

Rows are read a keyset page at a time (oldest first) with the page's answers in one more query,
and written out before the next page is read. The columns are decided first and do not depend
on the filters, so two exports of the same survey line up:

    response_token, <identity> of each link identity (external_id, email, ...),
    language, started_at, completed_at, <kind>_sync of each registered destination,
    hidden.<name> of each declared hidden field (the definition's order),
    <key> of each current question (survey order), followed by <key>.other for a choice
        question that offers "Other",
    <key> of each removed question that has answers (sorted)

A choice question's column holds the choices picked, with the question's "Other" label where
the respondent typed their own; what they typed is in `<key>.other` (see
`surveys.other_text`).

A question whose key is one of the fixed column names gets the column `answer.<key>`. Hidden
field columns come from the survey's definition, never from what responses stored: the
author decides the columns, not whoever writes a link.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.http import StreamingHttpResponse

from sounding import destinations
from sounding.answers.models import Answer, Response
from sounding.delivery import status
from sounding.responses import erasure, filters, paging, xlsx
from sounding.surveys import other_text
from sounding.surveys.models import Survey
from sounding.surveys.spec import Question

PAGE = 1000
# A spreadsheet runs a cell starting with these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def sync_columns() -> dict[str, str]:
    """Each registered destination's state column, by kind."""
    return {p.kind: p.export_column for p in destinations.tracked()}


def fixed() -> tuple[str, ...]:
    return (
        "response_token",
        *destinations.identities(),
        "language",
        "started_at",
        "completed_at",
        *sync_columns().values(),
    )


@dataclass(frozen=True)
class Columns:
    hidden: list[str]
    current: list[str]
    removed: list[str]
    fixed: tuple[str, ...] = field(default_factory=fixed)
    sync: dict[str, str] = field(default_factory=sync_columns)
    # The current questions offering "Other", by key: their answers are split in two columns.
    others: dict[str, Question] = field(default_factory=dict)
    # Columns holding a date (`YYYY-MM-DD`) or a time (ISO 8601, UTC): typed in a spreadsheet.
    dates: frozenset[str] = frozenset()
    times: frozenset[str] = frozenset({"started_at", "completed_at"})

    def answer_column(self, key: str) -> str:
        return f"answer.{key}" if key in self.fixed else key

    def other_column(self, key: str) -> str:
        # Question keys hold no dot, so this never meets another question's column.
        return f"{self.answer_column(key)}.other"

    def _answers(self) -> Iterator[str]:
        for key in self.current:
            yield self.answer_column(key)
            if key in self.others:
                yield self.other_column(key)
        for key in self.removed:
            yield self.answer_column(key)

    @property
    def header(self) -> list[str]:
        return [*self.fixed, *(f"hidden.{name}" for name in self.hidden), *self._answers()]


def columns(survey: Survey) -> Columns:
    spec = survey.spec
    current = spec.keys
    hidden = list(survey.spec.hidden_fields)
    removed = (
        Answer.objects.filter(response__survey=survey, response__erase_requested_at__isnull=True)
        .exclude(question_key__in=current)
        .values_list("question_key", flat=True)
        .distinct()
    )
    others = {q.key: q for q in spec.questions if other_text.offers_other(q)}
    cols = Columns(hidden, current, sorted(set(removed)), others=others)
    dates = frozenset(cols.answer_column(q.key) for q in spec.questions if q.type == "date")
    return replace(cols, dates=dates)


def selected(survey: Survey, chosen: filters.Filters) -> QuerySet[Response]:
    """The responses an export holds: the survey's, filtered, never one being erased."""
    found = status.with_pushes(
        erasure.visible(Response.objects.filter(survey=survey)), destinations.tracked_kinds()
    )
    return filters.apply(found, chosen)


def _pages(responses: QuerySet[Response]) -> Iterator[tuple[list[Response], dict[int, Any]]]:
    after: paging.Cursor | None = None
    while True:
        chosen = paging.newer_than(responses, after) if after else responses
        rows = list(paging.oldest_first(chosen)[:PAGE])
        if not rows:
            return
        answers: dict[int, dict[str, Any]] = defaultdict(dict)
        found = Answer.objects.filter(response_id__in=[r.pk for r in rows])
        for response_id, key, value in found.values_list("response_id", "question_key", "value"):
            answers[response_id][key] = value
        yield rows, answers
        if len(rows) < PAGE:
            return
        after = paging.Cursor.of(rows[-1])


def _time(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def record(response: Response, answers: dict[str, Any], cols: Columns) -> dict[str, Any]:
    """One response as an ordered mapping of column to typed value (None: empty)."""
    out: dict[str, Any] = {"response_token": response.token}
    for name, identifier in response.identity.items():
        out[name] = identifier or None
    out["language"] = response.language or None
    out["started_at"] = _time(response.started_at)
    out["completed_at"] = _time(response.completed_at)
    for kind, column in cols.sync.items():
        out[column] = status.state_of(status.joined_push(response, kind))
    hidden = response.hidden if isinstance(response.hidden, dict) else {}
    for name in cols.hidden:
        out[f"hidden.{name}"] = hidden.get(name)
    for key in cols.current:
        value = answers.get(key)
        if key in cols.others:
            value, text = other_text.split(cols.others[key], value)
            out[cols.answer_column(key)] = value
            out[cols.other_column(key)] = text
        else:
            out[cols.answer_column(key)] = value
    for key in cols.removed:
        out[cols.answer_column(key)] = answers.get(key)
    return out


def records(survey: Survey, chosen: filters.Filters, cols: Columns) -> Iterator[list[dict]]:
    for rows, answers in _pages(selected(survey, chosen)):
        yield [record(r, answers.get(r.pk, {}), cols) for r in rows]


# --- CSV -----------------------------------------------------------------------------------


def _safe(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def cell(value: Any) -> str:
    """A CSV cell: numbers as written, booleans as true/false, lists joined with "; ", text
    defused so that no spreadsheet reads it as a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return _safe("; ".join(str(v) for v in value))
    if isinstance(value, dict):
        return _safe(json.dumps(value, ensure_ascii=False))
    return _safe(str(value))


class _Line:
    """A file-like target for csv.writer that hands back what it was given."""

    def write(self, text: str) -> str:
        return text


def csv_chunks(survey: Survey, chosen: filters.Filters) -> Iterator[str]:
    cols = columns(survey)
    writer = csv.writer(_Line())
    yield writer.writerow(cols.header)
    for batch in records(survey, chosen, cols):
        yield "".join(writer.writerow([cell(v) for v in row.values()]) for row in batch)


# A byte order mark first: without it Excel reads a CSV file in the computer's legacy code
# page, and "é" arrives as "Ã©". Lines already end in CRLF (the csv module's default), as
# Excel writes them.
BOM = "\ufeff"


def excel_csv_chunks(survey: Survey, chosen: filters.Filters) -> Iterator[str]:
    yield BOM
    yield from csv_chunks(survey, chosen)


# --- JSON ----------------------------------------------------------------------------------


def json_chunks(survey: Survey, chosen: filters.Filters) -> Iterator[str]:
    cols = columns(survey)
    yield "["
    first = True
    for batch in records(survey, chosen, cols):
        parts = []
        for row in batch:
            parts.append(("\n" if first else ",\n") + json.dumps(row, ensure_ascii=False))
            first = False
        yield "".join(parts)
    yield "\n]\n" if not first else "]\n"


@dataclass(frozen=True)
class Format:
    content_type: str
    extension: str
    chunks: Callable[[Survey, filters.Filters], Iterator[str] | Iterator[bytes]]


def xlsx_chunks(survey: Survey, chosen: filters.Filters) -> Iterator[bytes]:
    cols = columns(survey)
    yield from xlsx.chunks(cols.header, cols.dates, cols.times, records(survey, chosen, cols))


FORMATS = {
    "csv": Format("text/csv; charset=utf-8", "csv", csv_chunks),
    "excel-csv": Format("text/csv; charset=utf-8", "csv", excel_csv_chunks),
    "json": Format("application/json", "json", json_chunks),
    "xlsx": Format(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx", xlsx_chunks
    ),
}


def filename(survey: Survey, fmt: str) -> str:
    return f"{survey.slug}-responses.{FORMATS[fmt].extension}"


def stream(survey: Survey, chosen: filters.Filters, fmt: str) -> StreamingHttpResponse:
    """The export as a download; rows are read while it is being sent."""
    chosen_format = FORMATS[fmt]
    reply = StreamingHttpResponse(
        chosen_format.chunks(survey, chosen), content_type=chosen_format.content_type
    )
    reply["Content-Disposition"] = f'attachment; filename="{filename(survey, fmt)}"'
    # Personal data: no shared cache may keep a copy.
    reply["Cache-Control"] = "private, no-store"
    return reply
