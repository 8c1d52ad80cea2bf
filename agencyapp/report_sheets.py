"""The committee report as .xlsx: a cover sheet (title, 年度 and 作成日 in 和暦) and one sheet per section,
each ready to print on A4 (fit to width, headings repeated, 和暦 in the page header). Small (a few hundred
rows), so built whole with openpyxl."""

import io

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill

from agencyapp.formatting import date_wareki, fiscal_year_label, fiscal_year_short, today_tokyo

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_HEADING = PatternFill("solid", fgColor="E8EEF7")
_WRAP = Alignment(wrap_text=True, vertical="top")


def _sheet(book, title, header, rows, widths, year_label):
    sheet = book.create_sheet(title)
    sheet.append([title])
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append(header)
    for cell in sheet[2]:
        cell.font, cell.fill, cell.alignment = Font(bold=True), _HEADING, _WRAP
    for row in rows:
        sheet.append(row)
    for index, width in enumerate(widths):
        sheet.column_dimensions[chr(ord("A") + index)].width = width
    for cells in sheet.iter_rows(min_row=3):
        for cell in cells:
            cell.alignment = _WRAP
    _print(sheet, year_label, "1:2")
    return sheet


def _print(sheet, year_label, titles=None):
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    if titles:
        sheet.print_title_rows = titles
    sheet.oddHeader.center.text = f"{year_label} 住基ネット セキュリティ自己点検 結果報告"
    sheet.oddFooter.center.text = "&P / &N"


def workbook(report) -> bytes:
    f, cycle = report.figures, report.cycle
    year = fiscal_year_label(cycle.fiscal_year)
    book = Workbook()
    cover = book.active
    cover.title = "表紙"
    status = (
        "暫定（年度点検は締められていません）"
        if report.provisional
        else f"確定（{date_wareki(report.frozen_at)}に締め）"
    )
    for row in (
        [f"{year} 住基ネット セキュリティ自己点検 結果報告"],
        [f"（{report.scope_name}）"],
        [],
        ["年度", year],
        ["点検", cycle.title],
        ["チェックリスト", cycle.version.title],
        ["提出期限", date_wareki(cycle.due_on)],
        ["数値の状態", status],
        ["作成日", date_wareki(today_tokyo())],
        ["報告先", "住基ネット調査委員会"],
    ):
        cover.append(row)
    cover["A1"].font = Font(bold=True, size=16)
    cover.column_dimensions["A"].width, cover.column_dimensions["B"].width = 18, 60
    _print(cover, year)

    r = f["response"]
    last = f.get("last_year") or {}
    _sheet(
        book,
        "回答状況",
        ["項目", year, f"前年度（{fiscal_year_short(last['fiscal_year'])}）" if last else "前年度"],
        [
            ["対象機関", r["units"], None],
            ["提出", r["submitted"], None],
            ["うち期限内", r["on_time"], None],
            ["期限後・未提出", r["late"] + r["not_submitted"], None],
            ["回答率(%)", r["response_rate"], last.get("response_rate")],
            ["期限内提出率(%)", r["on_time_rate"], last.get("on_time_rate")],
            ["平均点（機関平均）", r["mean"], last.get("mean")],
        ],
        (24, 16, 18),
        year,
    )
    nation = report.nation_categories
    header = ["大分類", "採点した回答数", "平均点", "満点率(%)", "前年度の平均点"]
    if report.nation is not None:
        header.append("全国の平均点")
    rows = []
    for c in f["categories"]:
        row = [c["title"] if not c["code"] else f"{c['code']}. {c['title']}", c["answered"], c["mean"], c["full_rate"]]
        row.append(report.categories_last.get(c["code"]) if c["code"] else last.get("mean"))
        if report.nation is not None:
            row.append(nation.get(c["code"], {}).get("mean"))
        rows.append(row)
    rows.append([])
    rows += [["平均点の分布", None], *[[b["label"], b["units"]] for b in r["distribution"]]]
    _sheet(book, "点数", header, rows, (34, 14, 10, 10, 14, 14), year)
    if f["ministries"]:
        _sheet(
            book,
            "府省別",
            [
                "府省",
                "対象機関",
                "提出",
                "回答率(%)",
                "期限内提出率(%)",
                "平均点",
                "今年度の重要点検項目 未達成",
                "過年度の重要点検項目 未維持",
            ],
            [
                [
                    m["name"],
                    m["units"],
                    m["submitted"],
                    m["response_rate"],
                    m["on_time_rate"],
                    m["mean"],
                    m["important_not_met"],
                    m["earlier_not_kept"],
                ]
                for m in f["ministries"]
            ],
            (24, 10, 8, 10, 12, 8, 14, 14),
            year,
        )
        codes = [c for c in f["categories"] if c["code"]]
        _sheet(
            book,
            "府省別・大分類",
            ["府省", *[f"{c['code']}. {c['title']}" for c in codes]],
            [[m["name"], *[m["categories"].get(c["code"]) for c in codes]] for m in f["ministries"]],
            (24, *[12] * len(codes)),
            year,
        )
    imp = f["important"]
    rows = [
        [
            "今年度",
            f"管理目標{i['goal_number']}",
            i["goal_text"],
            "、".join(map(str, i["questions"])),
            i["units_at_top"],
            i["share"],
        ]
        for i in imp["this_year"]
    ]
    rows += [
        [
            fiscal_year_short(i["fiscal_year"]),
            f"管理目標{i['goal_number']}",
            i["goal_text"] + ("（廃止）" if i["withdrawn"] else ""),
            "、".join(map(str, i["questions"])) or "－",
            i["units_at_top"],
            i["share"],
        ]
        for i in imp["earlier"]
    ]
    _sheet(
        book,
        "重要点検項目",
        ["年度", "管理目標", "内容", "今年度の設問", "3点の機関数", "3点の機関の割合(%)"],
        rows,
        (12, 12, 48, 16, 12, 14),
        year,
    )
    p = f["points"]
    _sheet(
        book,
        "改善点",
        ["項目", "件数"],
        [
            ["今年度に依頼した改善点", p["issued"]],
            ["回答済（センター確認待ち）", p["answered"]],
            ["完了", p["closed"]],
            ["未完了", p["open"]],
            ["うち回答期限超過", p["overdue"]],
            ["前年度から繰り越した改善点", p["carried_in"]],
            ["うち未完了", p["carried_in_open"]],
        ],
        (30, 10),
        year,
    )
    h = f["hearings"]
    _sheet(
        book,
        "ヒアリング・訪問",
        ["区分", "機関", "主な所見（公開したもの）"],
        [["実施件数", f"ヒアリング {h['hearings']}件・訪問 {h['visits']}件", None]]
        + [[x["kind"], x["unit"], x["text"]] for x in h["findings"]],
        (14, 30, 70),
        year,
    )
    _sheet(
        book,
        "改訂候補の設問",
        ["設問番号", "設問", "理由"],
        [[x["number"], x["text"], x["reason"]] for x in f["flags"]],
        (10, 60, 40),
        year,
    )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
