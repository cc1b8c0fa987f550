"""The export as an Excel workbook: the CSV export's columns, with typed cells.

Numbers are numbers, yes/no answers are TRUE/FALSE, dates and times are dates and times
(times in UTC: Excel keeps no time zone), everything else is a text cell. A text cell is never
read as a formula, whatever it starts with, so unlike the CSV export it needs no apostrophe
and holds the value exactly as given.

XlsxWriter in its constant-memory mode writes each row to a temporary file as soon as the next
one starts, and the workbook is zipped into another temporary file at the end, which is then
sent a chunk at a time: memory stays flat whatever the number of responses, at the cost of the
first byte leaving only once the workbook is complete.
"""

from __future__ import annotations

import json
import math
import re
import tempfile
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from typing import IO, Any

import xlsxwriter
from xlsxwriter.worksheet import Worksheet

SHEET = "Responses"
# Excel's limits: rows a sheet holds (the header takes one) and characters a cell holds.
MAX_ROWS = 1_048_576
MAX_CELL = 32_767
# Past 2**53 a whole number would be rounded on the way into a cell: such a value stays text.
MAX_EXACT = 2**53
CHUNK = 64 * 1024
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)


class Sheets:
    """Rows written one after the other, a new sheet (with the header again) when one is full."""

    def __init__(
        self, target: IO[bytes], header: list[str], dates: Iterable[str], times: Iterable[str]
    ) -> None:
        self.book = xlsxwriter.Workbook(
            target,
            {
                "constant_memory": True,
                # Text stays text: no formulas, no links, no numbers guessed from strings.
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "strings_to_numbers": False,
            },
        )
        self.header = header
        date_names, time_names = set(dates), set(times)
        self.date_columns = {i for i, name in enumerate(header) if name in date_names}
        self.time_columns = {i for i, name in enumerate(header) if name in time_names}
        self.bold = self.book.add_format({"bold": True})
        self.day = self.book.add_format({"num_format": "yyyy-mm-dd"})
        self.time = self.book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        self.sheets = 0
        self.sheet: Worksheet = self._next_sheet()
        self.row = 1

    def _next_sheet(self) -> Worksheet:
        self.sheets += 1
        name = SHEET if self.sheets == 1 else f"{SHEET} {self.sheets}"
        sheet = self.book.add_worksheet(name)
        sheet.set_column(0, max(len(self.header) - 1, 0), 18)
        sheet.freeze_panes(1, 0)
        for col, title in enumerate(self.header):
            sheet.write_string(0, col, title, self.bold)
        return sheet

    def add(self, values: Iterable[Any]) -> None:
        if self.row >= MAX_ROWS:
            self.sheet = self._next_sheet()
            self.row = 1
        for col, value in enumerate(values):
            self._cell(col, value)
        self.row += 1

    def _cell(self, col: int, value: Any) -> None:
        sheet, row = self.sheet, self.row
        if value is None:
            return
        if isinstance(value, bool):
            sheet.write_boolean(row, col, value)
        elif isinstance(value, int | float) and _exact(value):
            sheet.write_number(row, col, value)
        elif col in self.time_columns and isinstance(value, str) and (when := _time(value)):
            sheet.write_datetime(row, col, when, self.time)
        elif col in self.date_columns and isinstance(value, str) and (day := _day(value)):
            sheet.write_datetime(row, col, day, self.day)
        else:
            sheet.write_string(row, col, text(value))

    def close(self) -> None:
        self.book.close()


def _exact(value: float) -> bool:
    try:
        return math.isfinite(value) and abs(value) < MAX_EXACT
    except OverflowError:  # an int too large for a float
        return False


def _time(value: str) -> datetime | None:
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when.astimezone(UTC).replace(tzinfo=None) if when.tzinfo else when


def _day(value: str) -> date | None:
    if not _DATE.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def text(value: Any) -> str:
    """A text cell: lists joined with "; " as in the CSV export, objects as JSON."""
    if isinstance(value, list):
        out = "; ".join(str(v) for v in value)
    elif isinstance(value, dict):
        out = json.dumps(value, ensure_ascii=False)
    else:
        out = str(value)
    return out[:MAX_CELL]


def chunks(
    header: list[str],
    dates: Iterable[str],
    times: Iterable[str],
    batches: Iterable[list[dict[str, Any]]],
) -> Iterator[bytes]:
    """The workbook's bytes; the rows are read (a batch at a time) before the first is sent."""
    with tempfile.TemporaryFile() as target:
        sheets = Sheets(target, header, dates, times)
        for batch in batches:
            for row in batch:
                sheets.add(row.values())
        sheets.close()
        target.seek(0)
        while block := target.read(CHUNK):
            yield block
