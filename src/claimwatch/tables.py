"""Tabular downloads: CSV with a BOM (so spreadsheet programs read Chinese right) and XLSX, from one header and
rows. Cells are written as given; mask personal data before it gets here."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

import xlsxwriter

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# A sheet name may not hold these and is at most 31 characters (Excel's rule, enforced by XlsxWriter).
_SHEET_FORBIDDEN = str.maketrans({c: "_" for c in "[]:*?/\\"})


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if value is None else value for value in row])
    return out.getvalue()


def xlsx_bytes(sheets: Sequence[tuple[str, Sequence[str], Iterable[Sequence[Any]]]]) -> bytes:
    """One workbook; each sheet ``(name, header, rows)``: a bold header row, frozen, columns sized to the text."""
    out = io.BytesIO()
    workbook = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
    bold = workbook.add_format({"bold": True})
    for name, header, rows in sheets:
        sheet = workbook.add_worksheet(name.translate(_SHEET_FORBIDDEN)[:31])
        widths = [len(str(title)) for title in header]
        sheet.write_row(0, 0, list(header), bold)
        for index, row in enumerate(rows, start=1):
            values = ["" if value is None else value for value in row]
            sheet.write_row(index, 0, values)
            for column, value in enumerate(values[: len(widths)]):
                widths[column] = max(widths[column], len(str(value)))
        for column, width in enumerate(widths):
            # CJK characters are about twice as wide as Latin ones.
            sheet.set_column(column, column, min(60, 2 * width + 2))
        sheet.freeze_panes(1, 0)
    workbook.close()
    return out.getvalue()
