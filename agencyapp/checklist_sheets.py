"""The revision workbench's files: the per-question statistics as rows (for .csv and .xlsx) and the
新旧対照表 as an .xlsx laid out for 決裁 (A4 landscape, headings repeated on every page, the changed
words underlined in bold, boxes for 起案・審査・決裁).

Both are small (one row per question, a few hundred at most), so they are built whole in memory; the
新旧対照表 needs rich text within a cell, which the streaming writer (``agencyapp/xlsx.py``) does not
write, so it is made with openpyxl."""

import io
from collections.abc import Sequence

from openpyxl import Workbook
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

from agencyapp import xlsx
from agencyapp.formatting import date_wareki, fiscal_year_label, today_tokyo
from agencyapp.services.revisions import CARRIES, CHANGES

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# --- 設問別の集計 ----------------------------------------------------------------------------------


def stats_header(scale: Sequence[dict]) -> list[str]:
    return [
        "設問番号",
        "大分類",
        "管理目標",
        "設問",
        *[f"回答{e['value']}（{e['label']}）" for e in scale],
        "回答数",
        "平均点",
        "満点率(%)",
        "センター修正数",
        "備考数",
        "改善点数",
        "所見数",
        "前年度平均",
        "前年度からの変化",
        "改訂候補",
        "理由",
    ]


def stats_rows(rows, scale: Sequence[dict]) -> list[list]:
    """One list per question, in the order of ``stats_header``."""
    values = [e["value"] for e in scale]
    return [
        [
            r.question.number,
            r.question.category_code,
            r.question.goal_number,
            r.question.text,
            *[r.counts.get(v, 0) for v in values],
            r.answered,
            r.mean,
            r.full_rate,
            r.corrected,
            r.notes,
            r.points,
            r.findings,
            r.last_mean,
            r.change,
            "○" if r.flag else "",
            r.flag.reason if r.flag else "",
        ]
        for r in rows
    ]


def stats_workbook(cycle, rows) -> bytes:
    """The statistics of ``cycle`` (the rows shown, filtered and sorted as on the page) as .xlsx."""
    scale = cycle.version.scale
    out = io.BytesIO()
    with xlsx.Workbook(out) as book:
        widths = [8, 8, 8, 60, *[10] * len(scale), 8, 8, 9, 10, 8, 8, 8, 10, 12, 8, 40]
        with book.sheet("設問別の集計", widths=widths, freeze_rows=2) as sheet:
            sheet.append([f"{cycle.title}（{cycle.version.code}）設問別の集計　作成日 {date_wareki(today_tokyo())}"])
            sheet.append(stats_header(scale), bold=True)
            for row in stats_rows(rows, scale):
                sheet.append(row)
    return out.getvalue()


# --- 新旧対照表 ------------------------------------------------------------------------------------

_CHANGED = InlineFont(b=True, u="single")
_STRUCK = InlineFont(strike=True)
_THIN = Side(style="thin", color="666666")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_HEADING = PatternFill("solid", fgColor="E8E8E8")
_WRAP = Alignment(wrap_text=True, vertical="top")
COMPARISON_HEADER = [
    "旧設問",
    "旧（現行）",
    "新設問",
    "新（改訂案）",
    "区分",
    "前年度の回答の扱い",
    "理由",
    "前年度の回答",
]


def _rich(fragments, font) -> CellRichText | str:
    """Word-diff fragments [(changed, text)] as rich text, the changed ones in ``font``."""
    if not any(changed for changed, _ in fragments):
        return "".join(text for _, text in fragments)
    return CellRichText([TextBlock(font, text) if changed else text for changed, text in fragments if text])


def comparison_workbook(version, rows, cycle) -> bytes:
    """The 新旧対照表 of ``version`` (rows from ``revisions.comparison``) as .xlsx, ready to print on A4
    landscape: title and headings repeated on every page, 和暦 in the page header, 起案・審査・決裁 boxes."""
    old = version.based_on
    scale = old.scale
    book = Workbook()
    sheet = book.active
    sheet.title = "新旧対照表"
    sheet.append([f"{version.title} 新旧対照表"])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append(
        [
            f"旧：{old.code}（{fiscal_year_label(old.fiscal_year)}）　新：{version.code}"
            f"（{fiscal_year_label(version.fiscal_year)}・{version.status_label}）"
            + (f"　前年度の回答：{cycle.title}" if cycle is not None else "")
            + f"　作成日 {date_wareki(today_tokyo())}"
        ]
    )
    header = [*COMPARISON_HEADER[:-1], "前年度の回答（" + "／".join(str(e["value"]) for e in scale) + "）"]
    sheet.append(header)
    for cell in sheet[3]:
        cell.font, cell.fill, cell.border, cell.alignment = Font(bold=True), _HEADING, _BOX, _WRAP
    for row in rows:
        line = row.line
        first = sheet.max_row + 1
        for new, left, right in row.pairs:
            new_text = _rich(right, _CHANGED) if new is not None else "（廃止）"
            sheet.append(
                [
                    line.old.number if line.old else "－",
                    _rich(left, _STRUCK) if line.old else "",
                    new.number if new is not None else "－",
                    new_text,
                    CHANGES.get(line.change, "未決定"),
                    CARRIES.get(line.rows[0].carry, "") if line.rows else "",
                    line.rows[0].reason if line.rows else "",
                    "／".join(str(row.counts.get(e["value"], 0)) for e in scale) if line.old else "－",
                ]
            )
        last = sheet.max_row
        if last > first:  # one old question, several new ones: its own cells span them
            for column in (1, 2, 5, 6, 7, 8):
                sheet.merge_cells(start_row=first, start_column=column, end_row=last, end_column=column)
        for cells in sheet.iter_rows(min_row=first, max_row=last):
            for cell in cells:
                cell.border, cell.alignment = _BOX, _WRAP
    sheet.append([])
    boxes = sheet.max_row + 1
    sheet.append(["", "", "", "", "起案", "審査", "決裁"])
    sheet.append([])
    sheet.row_dimensions[boxes + 1].height = 48
    for column in (5, 6, 7):
        for r in (boxes, boxes + 1):
            cell = sheet.cell(row=r, column=column)
            cell.border, cell.alignment = _BOX, Alignment(horizontal="center", vertical="center")
    for letter, width in zip("ABCDEFGH", (7, 48, 7, 48, 10, 14, 28, 14), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A4"
    sheet.print_title_rows = "1:3"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_options.gridLines = False
    sheet.oddHeader.center.text = f"{version.title} 新旧対照表（{fiscal_year_label(version.fiscal_year)}）"
    sheet.oddFooter.center.text = "&P / &N"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
