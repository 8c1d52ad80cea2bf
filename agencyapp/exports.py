"""Spreadsheet exports (.xlsx and UTF-8 .csv with BOM) that never turn user text into formulas, and never
hold a whole export in memory: rows come from generators, an .xlsx is written row by row (by our own
streaming writer, ``agencyapp.xlsx``: openpyxl was too slow for the whole nation) into a temporary file
that is then sent in chunks, a CSV is encoded as it is sent.

Every sheet and CSV starts with a title line (what, 年度, scope, 出力日時, 出力者), a blank line, then
the header row."""

import csv
import io
import tempfile
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import IO

from agencyapp import xlsx
from agencyapp.formatting import to_tokyo

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Date cells stay dates (sortable) and show in 和暦 in Japanese Excel: 令和8年12月2日.
WAREKI_DATE = '[$-ja-JP-x-gannen]ggge"年"m"月"d"日"'
WAREKI_DATETIME = '[$-ja-JP-x-gannen]ggge"年"m"月"d"日" hh:mm'
HEADER_ROW = 3  # title, blank, header
CHUNK = 64 * 1024
MAX_WIDTH = 60


@dataclass(frozen=True)
class Column:
    """A column's header and the width (in half-width characters) of its typical content."""

    header: str
    width: int = 10

    @property
    def sheet_width(self) -> int:
        return min(MAX_WIDTH, max(self.width, text_width(self.header) + 2))


@dataclass(frozen=True)
class Sheet:
    """One sheet of a workbook (or one CSV): ``rows`` is iterated once, as the file is written."""

    title: str
    heading: str  # the title line
    columns: Sequence[Column]
    rows: Iterable[Sequence]

    @property
    def headers(self) -> list[str]:
        return [c.header for c in self.columns]


def text_width(text: str) -> int:
    """Display width: full-width (Japanese) characters count two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


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


# --- .xlsx ---------------------------------------------------------------------------------------


def write_workbook(sheets: Iterable[Sheet], out: IO[bytes]) -> int:
    """Write the sheets into ``out`` (a binary file) as .xlsx, row by row; returns the data rows written.

    ``agencyapp.xlsx`` streams each sheet's XML into the ZIP as the rows come (text as inline strings:
    never a formula; dates as date cells in 和暦), so time grows with the rows and memory stays flat."""
    written = 0
    with xlsx.Workbook(out, date_format=WAREKI_DATE, datetime_format=WAREKI_DATETIME) as book:
        for spec in sheets:
            widths = [column.sheet_width for column in spec.columns]
            with book.sheet(spec.title, widths=widths, freeze_rows=HEADER_ROW) as sheet:
                sheet.append([spec.heading], bold=True)
                sheet.append([])
                sheet.append(spec.headers, bold=True)
                for row in spec.rows:
                    sheet.append(row)
                    written += 1
    return written


def workbook_file(sheets: Iterable[Sheet]) -> tuple[IO[bytes], int, int]:
    """The workbook in an unnamed temporary file (gone from the disk once closed), rewound:
    (file, size in bytes, data rows)."""
    out = tempfile.TemporaryFile()  # noqa: SIM115  (handed over open: the response closes it)
    try:
        rows = write_workbook(sheets, out)
        size = out.seek(0, io.SEEK_END)
        out.seek(0)
    except BaseException:
        out.close()
        raise
    return out, size, rows


def file_chunks(out: IO[bytes], size: int = CHUNK) -> Iterator[bytes]:
    """The file's bytes in chunks; the file is closed (and so removed) at the end or when abandoned."""
    with out:
        while chunk := out.read(size):
            yield chunk


def workbook_bytes(sheets) -> bytes:
    """Small workbooks in memory: ``sheets`` as [(title, headers, rows)] or ``Sheet``s."""
    specs = [s if isinstance(s, Sheet) else Sheet(s[0], s[0], [Column(h) for h in s[1]], s[2]) for s in sheets]
    buffer = io.BytesIO()
    write_workbook(specs, buffer)
    return buffer.getvalue()


# --- CSV -----------------------------------------------------------------------------------------


def csv_line(values):
    """One CSV line (CRLF), cells guarded as in ``csv_bytes``: for exports streamed row by row."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([csv_text(v) for v in values])
    return buffer.getvalue()


def csv_chunks(sheet: Sheet, size: int = CHUNK) -> Iterator[bytes]:
    """UTF-8 with BOM and CRLF (Excel opens it in Japanese): title, blank line, headers, rows, encoded
    as they come and sent in chunks of about ``size`` bytes."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow([csv_text(sheet.heading)])
    writer.writerow([])
    writer.writerow(sheet.headers)
    for row in sheet.rows:
        writer.writerow([csv_text(v) for v in row])
        if buffer.tell() >= size:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def csv_bytes(headers, rows, heading: str = "") -> bytes:
    """A small CSV in memory."""
    return b"".join(csv_chunks(Sheet(heading, heading, [Column(h) for h in headers], rows)))
