"""Spreadsheet exports (.xlsx and UTF-8 .csv with BOM) that never turn user text into formulas."""

import csv
import io
from datetime import date, datetime

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from agencyapp.formatting import to_tokyo

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Date cells stay dates (sortable) and show in 和暦 in Japanese Excel: 令和8年12月2日.
WAREKI_DATE = '[$-ja-JP-x-gannen]ggge"年"m"月"d"日"'
WAREKI_DATETIME = '[$-ja-JP-x-gannen]ggge"年"m"月"d"日" hh:mm'


def cell_value(value):
    """Dates as Japan-time text-free values; everything else unchanged."""
    if isinstance(value, datetime):
        return to_tokyo(value).replace(tzinfo=None)
    return value


def csv_text(value):
    """CSV cell: text that a spreadsheet would read as a formula gets a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return to_tokyo(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "はい" if value else "いいえ"
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def workbook_bytes(sheets):
    """``sheets``: [(title, headers, rows)]. Strings are always stored as text cells."""
    book = Workbook()
    book.remove(book.active)
    for title, headers, rows in sheets:
        sheet = book.create_sheet(title=title[:31])
        sheet.append(headers)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append([cell_value(v) if not isinstance(v, str) else None for v in row])
            current = sheet.max_row
            for column, value in enumerate(row, start=1):
                if isinstance(value, str):
                    cell = sheet.cell(row=current, column=column)
                    cell.value = value
                    cell.data_type = "s"  # never a formula, whatever the text begins with
                elif isinstance(value, datetime):
                    sheet.cell(row=current, column=column).number_format = WAREKI_DATETIME
                elif isinstance(value, date):
                    sheet.cell(row=current, column=column).number_format = WAREKI_DATE
        for index, header in enumerate(headers, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = max(10, min(60, len(header) * 2 + 4))
        sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def csv_line(values):
    """One CSV line (CRLF), cells guarded as in ``csv_bytes``: for exports streamed row by row."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([csv_text(v) for v in values])
    return buffer.getvalue()


def csv_bytes(headers, rows):
    """UTF-8 with BOM and CRLF, so Excel opens it in Japanese."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(headers)
    for row in rows:
        writer.writerow([csv_text(v) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
