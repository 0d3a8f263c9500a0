"""The CSV helper every download uses: neutralized cells, numbers kept, lazy streaming."""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Iterator
from decimal import Decimal

import pytest
from django.http import StreamingHttpResponse

from leadflow.csv import csv_cell, csv_lines, csv_response


def read(text: str) -> list[list[str]]:
    assert text.startswith("\ufeff"), "Excel needs the byte-order mark to read UTF-8"
    return list(csv.reader(io.StringIO(text[1:])))


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://evil.example")', '\'=HYPERLINK("http://evil.example")'),
        ("+1 555 0100", "'+1 555 0100"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("Acme = best", "Acme = best"),
        ("o'brien@acme.example", "o'brien@acme.example"),
        ("", ""),
    ],
)
def test_text_that_a_spreadsheet_would_run_as_a_formula_is_neutralized(value, cell):
    assert csv_cell(value) == cell


def test_numbers_dates_and_empty_values_are_written_as_such():
    assert csv_cell(-5) == -5
    assert csv_cell(Decimal("-12.50")) == Decimal("-12.50")
    assert csv_cell(None) == ""
    assert csv_cell(True) == "yes"
    assert csv_cell(datetime.date(2026, 3, 1)) == "2026-03-01"
    assert csv_cell(datetime.datetime(2026, 3, 1, 9, 30, tzinfo=datetime.UTC)) == "2026-03-01T09:30:00+00:00"


def test_lines_round_trip_through_a_csv_reader_with_the_header_first():
    text = "".join(
        csv_lines(header=["name", "note", "amount"], rows=[['Zoë, "Z" Ng', "=cmd|' /C calc'!A0", Decimal("-3.5")]])
    )

    assert read(text) == [["name", "note", "amount"], ['Zoë, "Z" Ng', "'=cmd|' /C calc'!A0", "-3.5"]]


def test_rows_are_pulled_lazily_and_sent_in_blocks():
    pulled: list[int] = []

    def rows() -> Iterator[list[int]]:
        for n in range(1, 8):
            pulled.append(n)
            yield [n]

    lines = csv_lines(header=["n"], rows=rows(), rows_per_chunk=3)

    assert pulled == []
    assert next(lines) == "\ufeffn\r\n"
    assert pulled == []
    assert next(lines) == "1\r\n2\r\n3\r\n"
    assert pulled == [1, 2, 3]
    assert list(lines) == ["4\r\n5\r\n6\r\n", "7\r\n"]


def test_the_response_is_a_streamed_download_that_is_not_cached():
    def rows() -> Iterator[list[str]]:
        raise AssertionError("read before the response was sent")
        yield []

    response = csv_response(filename="leads 2026/03.csv", header=["a"], rows=rows())

    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="leads_202603.csv"'
    assert response["Cache-Control"] == "no-store"
