"""The streaming .xlsx writer: every part well-formed XML, read back by openpyxl as written (text stays
text, dates are dates in their number format, bold header, widths, frozen pane), XML-forbidden characters
dropped, Excel's limits kept, rows written as they come."""

import io
import random
import shutil
import subprocess
import zipfile
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from xml.etree import ElementTree

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from agencyapp import xlsx
from agencyapp.exports import WAREKI_DATE, WAREKI_DATETIME

FORBIDDEN = "".join(chr(c) for c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)]) + "\ufffe\uffff\ud800\udfff"
PARTS = {
    "[Content_Types].xml",
    "_rels/.rels",
    "docProps/app.xml",
    "docProps/core.xml",
    "xl/workbook.xml",
    "xl/_rels/workbook.xml.rels",
    "xl/styles.xml",
}


def build(sheets, **options) -> bytes:
    """sheets: [(title, widths, freeze_rows, [(values, bold)])]"""
    out = io.BytesIO()
    with xlsx.Workbook(out, date_format=WAREKI_DATE, datetime_format=WAREKI_DATETIME, **options) as book:
        for title, widths, freeze, rows in sheets:
            with book.sheet(title, widths=widths, freeze_rows=freeze) as sheet:
                for values, bold in rows:
                    sheet.append(values, bold=bold)
    return out.getvalue()


def one_sheet(*rows) -> bytes:
    return build([("s", [], 0, [(r, False) for r in rows])])


def read(data: bytes):
    return load_workbook(io.BytesIO(data), read_only=False)


def assert_well_formed(data: bytes) -> zipfile.ZipFile:
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.testzip() is None
    for name in archive.namelist():
        ElementTree.fromstring(archive.read(name))  # raises on anything that is not well-formed XML
    return archive


# --- pieces ---------------------------------------------------------------------------------------


def test_column_letters_match_excels_up_to_column_100_and_at_the_ends():
    assert [xlsx.column_letter(n) for n in range(1, 101)] == [get_column_letter(n) for n in range(1, 101)]
    assert [xlsx.column_letter(n) for n in (1, 26, 27, 52, 53, 702, 703, 16_384)] == [
        "A",
        "Z",
        "AA",
        "AZ",
        "BA",
        "ZZ",
        "AAA",
        "XFD",
    ]
    for bad in (0, -1, 16_385):
        with pytest.raises(ValueError):
            xlsx.column_letter(bad)


def test_cell_references_name_the_cell():
    data = one_sheet([f"c{n}" for n in range(1, 101)], [], [1, None, 3])
    sheet = read(data)["s"]
    assert all(sheet[f"{get_column_letter(n)}1"].value == f"c{n}" for n in range(1, 101))
    assert sheet["A3"].value == 1 and sheet["B3"].value is None and sheet["C3"].value == 3
    xml = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()
    assert '<c r="AB1" t="inlineStr">' in xml and '<c r="CV1" t="inlineStr">' in xml and '<c r="C3"><v>3</v>' in xml
    assert '<row r="2"' not in xml  # a blank row is no row, the next keeps its number


def test_text_is_escaped_and_characters_xml_forbids_are_dropped():
    assert xlsx.xml_text("a&b<c>d") == "a&amp;b&lt;c&gt;d"
    assert xlsx.xml_text("&amp;") == "&amp;amp;"
    assert xlsx.xml_text(f"前{FORBIDDEN}後") == "前後"
    assert xlsx.xml_text("tab\tLF\nCR\r😀") == "tab\tLF\nCR\r😀"  # allowed; a character beyond the BMP too
    assert xlsx.xml_text("普通の文") == "普通の文"
    assert xlsx.xml_attr('[$-ja-JP]"年"<&>\'\t') == "[$-ja-JP]&quot;年&quot;&lt;&amp;&gt;&apos;&#9;"


def test_text_with_every_awkward_character_reads_back_as_written_less_the_forbidden():
    awkward = [
        "a & b < c > d",
        "</t></is></c><c><v>1</v></c>",
        "\"quoted\" 'single'",
        "]]> <![CDATA[x]]>",
        "  spaces around  ",
        "tab\tand\nnew line",
        f"x{FORBIDDEN}y",
        "絵文字😀と𠮷",
        "\u3000全角空白\u3000",
    ]
    data = one_sheet(awkward)
    assert_well_formed(data)
    values = [c.value for c in read(data)["s"][1]]
    assert values == [
        "a & b < c > d",
        "</t></is></c><c><v>1</v></c>",
        "\"quoted\" 'single'",
        "]]> <![CDATA[x]]>",
        "  spaces around  ",
        "tab\tand\nnew line",
        "xy",
        "絵文字😀と𠮷",
        "\u3000全角空白\u3000",
    ]


def test_text_that_looks_like_a_formula_an_error_or_a_number_stays_text():
    texts = ["=1+1", '=HYPERLINK("http://x","y")', "+1", "-2", "@SUM(A1)", "#N/A", "#REF!", "0123", "1e5", "TRUE"]
    data = one_sheet(texts, ["\t=1+1", "\r=1+1"])
    xml = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml and ' t="str"' not in xml and ' t="e"' not in xml
    sheet = read(data)["s"]
    assert [c.value for c in sheet[1]] == texts
    assert all(c.data_type == "s" for c in sheet[1])
    assert [c.value for c in sheet[2][:2]] == ["\t=1+1", "\n=1+1"]  # XML reads a lone CR as LF
    assert all(c.data_type == "s" for c in sheet[2][:2])


def test_values_of_each_kind():
    data = one_sheet(
        [3, -4.5, 0, 10**14, 10**15, Decimal("1.25"), True, False, None, "", float("inf"), float("nan"), 1e-7],
        [object.__new__(Marker)],
    )
    sheet = read(data)["s"]
    assert [c.value for c in sheet[1]] == [
        3,
        -4.5,
        0,
        10**14,
        "1000000000000000",  # beyond Excel's 15 digits: text, not a rounded number
        1.25,
        "はい",
        "いいえ",
        None,
        None,
        "inf",
        "nan",
        1e-7,
    ]
    assert [c.data_type for c in sheet[1]][:6] == ["n", "n", "n", "n", "s", "n"]
    assert sheet["A2"].value == "印"  # anything else as its text


class Marker:
    def __str__(self):
        return "印"


def test_dates_and_datetimes_are_excel_dates_in_japan_time_with_the_wareki_formats():
    moments = [
        datetime(2026, 12, 1, 15, 30, tzinfo=UTC),  # 00:30 on 2 December in Tokyo
        datetime(2026, 12, 1, 15, 30),  # naive: UTC, as the application stores it
        datetime(2026, 12, 2, 9, 5, 7, tzinfo=timezone(timedelta(hours=9))),
        date(2026, 12, 2),
        date(2019, 5, 1),
    ]
    sheet = read(one_sheet(moments))["s"]
    cells = list(sheet[1])
    assert [c.value for c in cells] == [
        datetime(2026, 12, 2, 0, 30),
        datetime(2026, 12, 2, 0, 30),
        datetime(2026, 12, 2, 9, 5, 7),
        datetime(2026, 12, 2),
        datetime(2019, 5, 1),
    ]
    assert all(c.is_date for c in cells)
    assert [c.number_format for c in cells] == [WAREKI_DATETIME] * 3 + [WAREKI_DATE] * 2


def test_excel_serial_numbers_count_from_1899_12_30_and_keep_the_1900_leap_year_bug():
    assert xlsx.excel_serial(date(2026, 12, 2)) == 46358
    assert xlsx.excel_serial(date(1900, 3, 1)) == 61
    assert xlsx.excel_serial(date(1900, 2, 28)) == 59
    assert xlsx.excel_serial(date(1900, 1, 1)) == 1
    assert xlsx.excel_serial(date(1899, 12, 31)) is None
    assert xlsx.excel_serial(datetime(2026, 12, 2, 3, 0, tzinfo=UTC)) == 46358 + 0.5  # 12:00 in Tokyo
    sheet = read(one_sheet([date(1900, 1, 1), date(1900, 2, 28), date(1900, 3, 1), date(1899, 12, 31)]))["s"]
    assert [c.value for c in sheet[1]] == [
        datetime(1900, 1, 1),
        datetime(1900, 2, 28),
        datetime(1900, 3, 1),
        "1899-12-31",
    ]


def test_text_longer_than_a_cell_holds_is_cut_at_excels_limit():
    sheet = read(one_sheet(["あ" * 40_000, "😀" * 20_000, "a" * 32_767]))["s"]
    long_japanese, emoji, exact = (c.value for c in sheet[1])
    assert long_japanese == "あ" * 32_767
    assert emoji == "😀" * 16_383  # two UTF-16 code units each
    assert exact == "a" * 32_767


# --- layout: styles, widths, frozen pane, sheet names ---------------------------------------------------


def test_bold_rows_widths_and_the_frozen_pane():
    data = build(
        [
            (
                "一覧",
                [16, 24.5, None, 60],
                3,
                [(["見出し"], True), ([], False), (["府省", "機関", 1], True), (["a"], False)],
            ),
            ("二", [], 0, [(["x"], False)]),
        ]
    )
    book = read(data)
    first, second = book["一覧"], book["二"]
    assert first["A1"].font.b and first["A3"].font.b and first["B3"].font.b and first["C3"].font.b
    assert not first["A4"].font.b and first["A4"].number_format == "General"
    assert first.column_dimensions["A"].width == 16 and first.column_dimensions["B"].width == 24.5
    assert first.column_dimensions["D"].width == 60
    assert first.freeze_panes == "A4" and second.freeze_panes is None
    assert all(c.value is None for c in first[2])


def test_sheet_names_are_ones_excel_accepts():
    assert xlsx.sheet_title("回答") == "回答"
    assert xlsx.sheet_title("a[b]c:d*e?f/g\\h") == "a_b_c_d_e_f_g_h"
    assert xlsx.sheet_title("x" * 40) == "x" * 31
    assert xlsx.sheet_title("'引用'") == "引用"
    assert xlsx.sheet_title("") == "Sheet" and xlsx.sheet_title("''") == "Sheet"
    assert xlsx.sheet_title("history") == "history_"
    assert xlsx.sheet_title("改行\nと\x01制御") == "改行 と制御"
    assert xlsx.sheet_title("回答", ["回答"]) == "回答 (2)"
    assert xlsx.sheet_title("Abc", ["abc", "ABC (2)"]) == "Abc (3)"
    assert xlsx.sheet_title("y" * 31, ["y" * 31]) == "y" * 27 + " (2)"
    data = build([("a/b", [], 0, []), ("a:b", [], 0, []), ("名" * 40, [], 0, []), ('"&<', [], 0, [])])
    assert read(data).sheetnames == ["a_b", "a_b (2)", "名" * 31, '"&<']


def test_the_package_lists_every_part_and_a_workbook_without_sheets_still_has_one():
    data = build([("a", [], 0, [(["x"], False)]), ("b", [], 0, [])])
    archive = assert_well_formed(data)
    assert set(archive.namelist()) == PARTS | {"xl/worksheets/sheet1.xml", "xl/worksheets/sheet2.xml"}
    assert archive.namelist()[0] == "_rels/.rels"
    types = archive.read("[Content_Types].xml").decode()
    assert "/xl/worksheets/sheet2.xml" in types and "/xl/styles.xml" in types
    assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in archive.infolist())
    styles = archive.read("xl/styles.xml").decode()
    assert 'numFmtId="164" formatCode="[$-ja-JP-x-gannen]ggge&quot;年&quot;m&quot;月&quot;d&quot;日&quot;"' in styles
    empty = io.BytesIO()
    xlsx.Workbook(empty).close()
    assert read(empty.getvalue()).sheetnames == ["Sheet1"]


def test_the_compression_level_is_the_one_asked_for():
    rows = [[f"行{i}", "同じ文がくり返す。" * 5, i] for i in range(2_000)]
    sizes = [len(build([("s", [], 0, [(r, False) for r in rows])], compresslevel=level)) for level in (0, 1, 9)]
    assert sizes[0] > sizes[1] > sizes[2]


# --- streaming, limits, failure -------------------------------------------------------------------------


def test_rows_are_written_as_they_come():
    """Each batch of rows is encoded and handed to the compressor, whose output reaches the file while
    the rows still come; the writer holds no more than the batch."""
    words = random.Random(0)
    out = io.BytesIO()
    sizes, held = [], []
    with xlsx.Workbook(out) as book, book.sheet("s") as sheet:
        for i in range(40 * xlsx.FLUSH_ROWS):
            sheet.append([i, "".join(words.choice("点検記録管理責任者端末操作") for _ in range(40))])
            held.append(len(sheet._parts))
            if i % xlsx.FLUSH_ROWS == 0:
                sizes.append(out.tell())
        written = out.tell()
    assert sizes == sorted(sizes) and len(set(sizes)) > 10  # the file grows while rows come
    assert written > 0.9 * len(out.getvalue())
    assert max(held) <= 4 * xlsx.FLUSH_ROWS  # row, cells, end of row


def test_a_non_seekable_output_works_too():
    class Pipe:
        def __init__(self):
            self.chunks = []

        def write(self, data):
            self.chunks.append(bytes(data))
            return len(data)

        def flush(self):
            pass

    pipe = Pipe()
    with xlsx.Workbook(pipe) as book, book.sheet("s", freeze_rows=1) as sheet:
        sheet.append(["見出し"], bold=True)
        sheet.append([1, "=1+1", date(2026, 12, 2)])
    ws = read(b"".join(pipe.chunks))["s"]
    assert [c.value for c in ws[2]] == [1, "=1+1", datetime(2026, 12, 2)]


def test_excels_limits_are_errors_not_a_broken_file(monkeypatch):
    monkeypatch.setattr(xlsx, "MAX_ROWS", 3)
    with xlsx.Workbook(io.BytesIO()) as book, book.sheet("s") as sheet:
        for _ in range(3):
            sheet.append(["x"])
        with pytest.raises(ValueError, match="more than 3 rows"):
            sheet.append(["x"])
    with xlsx.Workbook(io.BytesIO()) as book, book.sheet("s") as sheet, pytest.raises(ValueError):
        sheet.append([1] * (xlsx.MAX_COLUMNS + 1))


def test_an_error_while_writing_is_the_error_raised():
    out = io.BytesIO()
    with pytest.raises(RuntimeError, match="the database went away"), xlsx.Workbook(out) as book:
        sheet = book.sheet("s")
        sheet.append(["a"])
        raise RuntimeError("the database went away")
    assert book.closed and sheet.closed
    with pytest.raises(ValueError):
        book.sheet("again")


def test_a_new_sheet_finishes_the_one_before():
    out = io.BytesIO()
    with xlsx.Workbook(out) as book:
        first = book.sheet("一")
        first.append(["a"])
        book.sheet("二").append(["b"])
        assert first.closed
        with pytest.raises(ValueError):
            first.append(["late"])
    book = read(out.getvalue())
    assert book["一"]["A1"].value == "a" and book["二"]["A1"].value == "b"


@pytest.mark.skipif(not (shutil.which("soffice") or shutil.which("libreoffice")), reason="LibreOffice not installed")
def test_libreoffice_converts_a_sample(tmp_path):
    data = build(
        [
            ("回答", [16, 24], 3, [(["見出し"], True), ([], False), (["府省", "機関"], True), (["=1+1", 3], False)]),
            ("日付", [], 0, [([date(2026, 12, 2), datetime(2026, 12, 2, 1, 5, tzinfo=UTC), "a&b<c>"], False)]),
        ]
    )
    sample = tmp_path / "sample.xlsx"
    sample.write_bytes(data)
    office = shutil.which("soffice") or shutil.which("libreoffice")
    subprocess.run(
        [office, "--headless", "--convert-to", "csv", "--outdir", str(tmp_path), str(sample)],
        check=True,
        timeout=120,
        capture_output=True,
    )
    text = (tmp_path / "sample.csv").read_text(encoding="utf-8", errors="replace")
    assert "見出し" in text and "=1+1" in text
