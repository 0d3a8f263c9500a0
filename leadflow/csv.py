"""CSV downloads that are safe to open in a spreadsheet and stream in constant memory.

Every CSV the app serves (lead exports, report tables) goes through ``csv_response``:

- **Neutralized cells.** A text cell starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return
  would be read by Excel, LibreOffice or Google Sheets as a formula (CSV injection: ``=HYPERLINK(…)``,
  ``=cmd|…``). Such cells get a leading apostrophe, which spreadsheets show as "this is text" and
  hide. Numbers (``int``, ``float``, ``Decimal``) are written as numbers, so ``-5`` stays a number.
- **Streamed.** Rows are pulled from any iterable (a ``QuerySet.iterator(chunk_size=…)`` reads them
  through a server-side cursor on PostgreSQL) and sent in blocks of ``rows_per_chunk`` lines, so a
  million rows never sit in memory at once.
- **UTF-8 with a byte-order mark**, so Excel opens accented names correctly.
"""

from __future__ import annotations

import csv
import datetime
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

from django.http import StreamingHttpResponse
from django.utils.text import get_valid_filename

#: A text cell starting with one of these is a formula to a spreadsheet.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
#: Shown by spreadsheets as "text follows", and not displayed.
NEUTRALIZER = "'"
BYTE_ORDER_MARK = "\ufeff"


def csv_cell(value: Any) -> str | int | float | Decimal:
    """``value`` as one CSV cell: text neutralized, numbers as numbers, dates in ISO 8601, None empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float | Decimal):
        return value
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    text = str(value)
    if text.startswith(FORMULA_PREFIXES):
        return NEUTRALIZER + text
    return text


class _Echo:
    """A file-like object whose ``write`` gives the line back, so ``csv.writer`` formats without storing."""

    def write(self, value: str) -> str:
        return value


def csv_lines(*, header: Sequence[str], rows: Iterable[Sequence[Any]], rows_per_chunk: int = 500) -> Iterator[str]:
    """The CSV text (byte-order mark, header, rows) in blocks of up to ``rows_per_chunk`` lines.

    Consumes ``rows`` lazily: nothing is read before the first block is asked for, and at most one
    block is held at a time.
    """
    writer = csv.writer(_Echo())
    yield BYTE_ORDER_MARK + writer.writerow([csv_cell(name) for name in header])
    block: list[str] = []
    for row in rows:
        block.append(writer.writerow([csv_cell(value) for value in row]))
        if len(block) >= rows_per_chunk:
            yield "".join(block)
            block = []
    if block:
        yield "".join(block)


def csv_response(
    *, filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]], rows_per_chunk: int = 500
) -> StreamingHttpResponse:
    """A download of ``rows`` under ``header`` as ``filename``, streamed (see the module notes)."""
    response = StreamingHttpResponse(
        csv_lines(header=header, rows=rows, rows_per_chunk=rows_per_chunk), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{get_valid_filename(filename)}"'
    response["Cache-Control"] = "no-store"
    return response
