"""Oversight exports that never fail: scoped, streamed with bounded memory, text never a formula, dates in 和暦,
a title line (年度, 出力日時, 出力者), one audit event each."""

import csv
import io
import re
import tracemalloc
from datetime import date, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import event, func, select

from agencyapp import exports
from agencyapp import oversight_sheets as oversight_exports
from agencyapp.exports import WAREKI_DATE, WAREKI_DATETIME, Column, Sheet, csv_bytes, workbook_bytes, write_workbook
from agencyapp.extensions import db
from agencyapp.formatting import datetime_wareki, now_utc
from agencyapp.models import Answer, AuditEvent
from tests.test_oversight import SECRETS, scene, web_for  # noqa: F401  (scene is a fixture)

SHEETS = ["概要", "回答", "改善点", "ヒアリング・訪問"]
VIEWS = {key: view.columns for key, view in oversight_exports.VIEWS.items()}


@pytest.fixture
def seeded(scene):  # noqa: F811
    """The oversight tests' scene: both ministries submitted, issued points and drafts, a reported hearing."""
    return scene


def headers(view):
    return [c.header for c in VIEWS[view]]


def export_events():
    return db.session.scalars(select(AuditEvent).where(AuditEvent.action == "export").order_by(AuditEvent.id)).all()


def csv_rows(response):
    """(Get a CSV with ``buffered=True``: it is streamed, so it must be read inside its request.)"""
    return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))


def xlsx_get(web, url="/oversight/export.xlsx"):
    """Start the .xlsx as the page's button does, follow its page and fetch the file (the queue runs it at
    once in the tests: huey.immediate)."""
    web.get("/oversight/")
    started = web.post(url)
    assert started.status_code == 303, started.status_code
    page = web.get(started.headers["Location"]).get_data(as_text=True)
    link = re.search(r'href="(/exports/\d+/file)"', page)
    assert link, page
    return web.get(link.group(1))


def data_rows(sheet):
    """The rows under the header (title, blank line and header are rows 1 to 3)."""
    return [[c.value for c in row] for row in sheet.iter_rows(min_row=4)]


# --- scope, sheets, secrets -------------------------------------------------------------------------


def test_xlsx_export_has_four_sheets_scoped_and_without_secrets(seeded, make_web):
    response = xlsx_get(web_for(make_web, "ministry-a"), "/oversight/export.xlsx")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Content-Length"] == str(len(response.data))
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == SHEETS
    text = "\n".join(str(c.value) for ws in book for row in ws.iter_rows() for c in row if c.value is not None)
    assert "年金局" in text and "旅券" not in text and "訪問の議事録MINUTES" in text
    for secret in SECRETS:
        assert secret not in text
    for ws, view in zip(book, VIEWS, strict=True):
        assert [c.value for c in ws[3]][: len(VIEWS[view])] == headers(view)
        assert all(c.value is None for c in ws[2])
    answers = data_rows(book["回答"])
    assert len(answers) > 100  # every answer of the submitted unit
    assert {r[1] for r in answers} == {seeded.unit_a.name}  # the frozen submission only
    assert len(export_events()) == 1


def test_a_ministry_export_holds_only_its_own_units_whatever_it_asks_for(seeded, make_web):
    web = web_for(make_web, "ministry-a")
    own = {seeded.unit_a.name, seeded.unit_a2.name}
    book = load_workbook(io.BytesIO(xlsx_get(web, f"/oversight/export.xlsx?ministry={seeded.ministry_b.id}").data))
    for ws in book:
        rows = data_rows(ws)
        assert {r[0] for r in rows} <= {seeded.ministry_a.name} and {r[1] for r in rows} <= own, ws.title
    assert {r[1] for r in data_rows(book["概要"])} == own
    for view in VIEWS:
        rows = csv_rows(web.get(f"/oversight/export.csv?view={view}&ministry={seeded.ministry_b.id}", buffered=True))[
            3:
        ]
        assert {r[1] for r in rows} <= own, view
        assert all("旅券" not in cell and "外務省" not in cell for row in rows for cell in row), view


def test_the_center_filters_by_ministry(seeded, make_web):
    web = web_for(make_web, "center")
    everyone = csv_rows(web.get("/oversight/export.csv?view=summary", buffered=True))[3:]
    assert {r[1] for r in everyone} == {seeded.unit_a.name, seeded.unit_a2.name, seeded.unit_b.name}
    only_b = csv_rows(web.get(f"/oversight/export.csv?view=summary&ministry={seeded.ministry_b.id}", buffered=True))[3:]
    assert [r[1] for r in only_b] == [seeded.unit_b.name]
    assert (
        "対象：外務省"
        in csv_rows(web.get(f"/oversight/export.csv?ministry={seeded.ministry_b.id}", buffered=True))[0][0]
    )


def test_csv_export_is_utf8_with_bom_crlf_and_each_view_holds_only_its_own_sheet(seeded, make_web):
    web = web_for(make_web, "ministry-a")
    for view in VIEWS:
        response = web.get(f"/oversight/export.csv?view={view}", buffered=True)
        assert response.status_code == 200 and response.data.startswith(b"\xef\xbb\xbf")
        assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
        assert b"\r\n" in response.data and b"\n" not in response.data.replace(b"\r\n", b"")
        rows = csv_rows(response)
        assert rows[1] == [] and rows[2] == headers(view)
        others = [headers(v) for v in VIEWS if v != view]
        assert not any(row in others for row in rows), view
        assert all("旅券" not in cell for row in rows for cell in row)
    assert len(csv_rows(web.get("/oversight/export.csv?view=answers", buffered=True))) > 100
    assert csv_rows(web.get("/oversight/export.csv", buffered=True))[2] == headers("summary")  # summary by default


@pytest.mark.parametrize("view", ["summary", "points", "hearings"])
def test_a_csv_view_reads_only_its_own_rows(seeded, make_web, count_statements, view):
    """Asking for 概要 (or 改善点, ヒアリング) never reads an answer."""
    web = web_for(make_web, "center")
    with count_statements() as counter:
        assert web.get(f"/oversight/export.csv?view={view}", buffered=True).status_code == 200
    assert not any(re.search(r"\bFROM answer\b", s) for s in counter.statements), counter
    if view != "points":  # the issued points themselves (the unit rows count open points in SQL)
        assert not any(s.lstrip().startswith("SELECT improvement_point.") for s in counter.statements), counter


def test_unknown_view_is_404_and_records_nothing(seeded, make_web):
    web = web_for(make_web, "center")
    assert web.get("/oversight/export.csv?view=secrets", buffered=True).status_code == 404
    assert web.get("/oversight/export.csv?view=", buffered=True).status_code == 404
    assert web.post("/oversight/export.xlsx?cycle=999999").status_code == 404
    assert export_events() == []


def test_agency_cannot_export(seeded, make_web):
    web = web_for(make_web, "agency-a")
    assert web.post("/oversight/export.xlsx").status_code == 403
    assert web.get("/oversight/export.csv?view=answers", buffered=True).status_code == 403
    assert web.get("/oversight/").status_code == 403


# --- audit ----------------------------------------------------------------------------------------


def test_each_export_writes_one_audit_event_with_the_rows_it_holds(seeded, make_web):
    web = web_for(make_web, "ministry-a")
    book = load_workbook(io.BytesIO(xlsx_get(web, "/oversight/export.xlsx").data))
    (event,) = export_events()
    assert event.after["rows"] == sum(len(data_rows(ws)) for ws in book)
    assert event.after["kind"] == "Excel（.xlsx）" and event.after["scope"] == seeded.ministry_a.name
    assert f"（{event.after['rows']}行）" in event.summary
    for view in VIEWS:
        rows = csv_rows(web.get(f"/oversight/export.csv?view={view}", buffered=True))
        latest = export_events()[-1]
        assert latest.after["rows"] == len(rows) - 3, view
        assert latest.after["kind"] == f"CSV（{oversight_exports.VIEWS[view].title}）"
    assert len(export_events()) == 1 + len(VIEWS)


# --- title line, header, widths ---------------------------------------------------------------------


def test_the_title_line_holds_year_time_and_author_above_a_bold_frozen_header(seeded, make_web):
    web = web_for(make_web, "center")
    before = datetime_wareki(now_utc())
    book = load_workbook(io.BytesIO(xlsx_get(web, f"/oversight/export.xlsx?cycle={seeded.cycle.id}").data))
    line = csv_rows(web.get("/oversight/export.csv?view=points", buffered=True))[0]
    after = datetime_wareki(now_utc())
    times = {f"出力日時：{before}", f"出力日時：{after}"}
    for ws in book:
        title = ws["A1"].value
        assert title.startswith(ws.title + "　")
        assert "年度：令和8年度（2026年度）" in title and "対象：全府省" in title
        assert any(t in title for t in times) and re.search(r"出力日時：令和\d+年\d+月\d+日 \d\d:\d\d", title)
        assert title.endswith(f"出力者：{seeded.center.display_name}")
        assert ws["A1"].data_type == "s" and ws["A1"].font.b
        assert all(c.font.b for c in ws[3] if c.value is not None)
        assert ws.freeze_panes == "A4"
    assert len(line) == 1 and line[0].startswith("改善点　年度：令和8年度（2026年度）")
    assert any(t in line[0] for t in times) and line[0].endswith(f"出力者：{seeded.center.display_name}")


def test_columns_are_sized_for_their_content(seeded, make_web):
    book = load_workbook(io.BytesIO(xlsx_get(web_for(make_web, "center"), "/oversight/export.xlsx").data))
    answers, points = book["回答"], book["改善点"]
    assert answers.column_dimensions["D"].width == 60  # 設問
    assert answers.column_dimensions["C"].width <= 10  # 設問番号
    assert answers.column_dimensions["E"].width <= 8  # 回答
    assert points.column_dimensions["D"].width >= 50  # 指摘事項
    for ws in book:  # never narrower than the header
        for cell in ws[3]:
            width = ws.column_dimensions[cell.column_letter].width
            assert width >= exports.text_width(cell.value), (ws.title, cell.value)


# --- text stays text, dates stay dates ------------------------------------------------------------------


def test_formula_guard_in_both_formats():
    rows = [['=HYPERLINK("http://x","y")', "+1", "-2", "@SUM(A1)", "#N/A", "普通の文", 3, -4.5, "改\x0b行"]]
    columns = ["a", "b", "c", "d", "e", "f", "g", "h", "i"]
    book = load_workbook(io.BytesIO(workbook_bytes([("s", columns, rows)])))
    cells = list(book["s"].iter_rows(min_row=4))[0]
    assert [c.value for c in cells[:6]] == rows[0][:6]
    assert all(c.data_type == "s" for c in cells[:6])
    assert cells[6].value == 3 and cells[7].value == -4.5
    assert cells[8].value == "改行"  # a control character Excel refuses is dropped, not a failed export
    parsed = list(csv.reader(io.StringIO(csv_bytes(columns, rows).decode("utf-8-sig"))))[3]
    assert parsed[:6] == ['\'=HYPERLINK("http://x","y")', "'+1", "'-2", "'@SUM(A1)", "#N/A", "普通の文"]
    assert parsed[6:8] == ["3", "-4.5"]


def test_user_text_in_an_export_stays_text(seeded, make_web):
    from agencyapp.services import improvements as points
    from tests.factories import act

    request = seeded.request
    point = request.points[0]
    act(points.answer_point, seeded.agency, point, "=1+1", request.due_on, "@cmd", None, point.lock_version)
    web = web_for(make_web, "ministry-a")
    book = load_workbook(io.BytesIO(xlsx_get(web, "/oversight/export.xlsx").data))
    cells = [c for row in book["改善点"].iter_rows(min_row=4) for c in row if c.value in ("=1+1", "@cmd")]
    assert len(cells) == 2 and all(c.data_type == "s" for c in cells)
    rows = csv_rows(web.get("/oversight/export.csv?view=points", buffered=True))
    assert any("'=1+1" in row and "'@cmd" in row for row in rows)


def test_xlsx_dates_stay_dates_and_show_in_wareki(seeded, make_web):
    book = load_workbook(
        io.BytesIO(xlsx_get(web_for(make_web, "center"), f"/oversight/export.xlsx?cycle={seeded.cycle.id}").data)
    )
    submitted = [row[3] for row in book["概要"].iter_rows(min_row=4) if row[3].value is not None]
    assert submitted and all(cell.is_date and cell.number_format == WAREKI_DATETIME for cell in submitted)
    due = [row[6] for row in book["改善点"].iter_rows(min_row=4) if row[6].value is not None]
    assert due and all(cell.is_date and cell.number_format == WAREKI_DATE for cell in due)
    assert due[0].value.date() == seeded.request.due_on
    starts = [row[4] for row in book["ヒアリング・訪問"].iter_rows(min_row=4)]
    assert starts and all(cell.is_date and cell.number_format == WAREKI_DATETIME for cell in starts)


def test_answers_are_read_as_plain_columns_never_as_orm_objects(seeded, make_web):
    loaded = []

    def on_load(target, context):
        loaded.append(target)

    event.listen(Answer, "load", on_load)
    try:
        web = web_for(make_web, "center")
        assert len(csv_rows(web.get("/oversight/export.csv?view=answers", buffered=True))) > 100
        assert xlsx_get(web).status_code == 200
    finally:
        event.remove(Answer, "load", on_load)
    assert loaded == []


# --- bounded: rows streamed, memory flat in the rows, temporary files gone -----------------------------


def synthetic(n):
    for i in range(n):
        yield [
            "厚生労働省",
            f"機関{i % 2000}",
            f"{i % 125 + 1}",
            "個人情報の管理について定めているか。" * 3,
            i % 4,
            "実施",
            "備考あり" if i % 7 == 0 else None,
        ]


ANSWER_COLUMNS = [Column(h) for h in ["府省", "機関", "設問番号", "設問", "回答", "回答の意味", "備考"]]


def peak_memory(n, out):
    """The writer's peak (Python) memory for ``n`` rows written into ``out``, a file on disk."""
    tracemalloc.start()
    try:
        written = write_workbook([Sheet("回答", "回答", ANSWER_COLUMNS, synthetic(n))], out)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert written == n
    return peak


def test_the_xlsx_is_streamed_memory_flat_in_its_rows_and_reads_back_intact(tmp_path):
    """1k, 4k and 16k rows take about the same peak: rows are encoded and compressed into the file as
    they come (a workbook held whole keeps every cell, some 1 kB a row here)."""
    peaks = {}
    for n in (1_000, 4_000, 16_000):
        with open(tmp_path / f"{n}.xlsx", "w+b") as out:
            peaks[n] = peak_memory(n, out)
    assert peaks[16_000] < peaks[1_000] * 1.3 + 200_000, peaks
    assert peaks[4_000] < peaks[1_000] * 1.3 + 200_000, peaks
    assert peaks[16_000] < 2_000_000, peaks  # 16,000 rows would be some 16 MB
    book = load_workbook(tmp_path / "16000.xlsx", read_only=True)
    rows = list(book["回答"].iter_rows(values_only=True))
    assert len(rows) == 3 + 16_000 and rows[2] == tuple(c.header for c in ANSWER_COLUMNS)
    assert [list(r) + [None] * (7 - len(r)) for r in rows[3:]] == list(synthetic(16_000))  # (no None cells)


def test_csv_rows_are_read_and_encoded_as_they_are_sent():
    taken = []

    def rows():
        for i in range(1_000):
            taken.append(i)
            yield [i, f"=行{i}", date(2026, 12, 2)]

    chunks = exports.csv_chunks(Sheet("s", "見出し", [Column("番号"), Column("文")], rows()), size=1024)
    first = next(chunks)
    assert first.startswith("\ufeff見出し\r\n\r\n番号,文\r\n".encode()) and len(taken) < 100
    rest = list(chunks)
    assert len(rest) > 10 and len(taken) == 1_000
    lines = b"".join([first, *rest]).decode("utf-8-sig").split("\r\n")
    assert lines[3] == "0,'=行0,2026-12-02" and lines[-2] == "999,'=行999,2026-12-02" and lines[-1] == ""


def test_a_failed_export_leaves_no_temporary_file(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))

    def failing():
        yield ["a", date(2026, 12, 2), datetime(2026, 12, 2, 1, 5)]
        raise RuntimeError("the database went away")

    opened = []
    real = exports.tempfile.TemporaryFile
    monkeypatch.setattr(exports.tempfile, "TemporaryFile", lambda: opened.append(real()) or opened[-1])
    with pytest.raises(RuntimeError):
        exports.workbook_file([Sheet("s", "s", [Column("a")], failing())])
    assert list(tmp_path.iterdir()) == []
    assert opened and opened[0].closed


def test_the_xlsx_is_made_by_the_queue_its_file_is_the_requesters_only_and_its_temporary_file_closed(
    seeded, make_web, monkeypatch
):
    opened = []
    real = exports.tempfile.TemporaryFile
    monkeypatch.setattr(exports.tempfile, "TemporaryFile", lambda: opened.append(real()) or opened[-1])
    web = web_for(make_web, "center")
    sent = xlsx_get(web)
    assert sent.data.startswith(b"PK") and "attachment" in sent.headers["Content-Disposition"]
    assert len(opened) == 1 and opened[0].closed
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "export")) == 1
    job_url = re.search(r'href="(/exports/\d+)"', web.get("/exports/").get_data(as_text=True)).group(1)
    other = web_for(make_web, "ministry-a")
    assert other.get(job_url).status_code == 404 and other.get(job_url + "/file").status_code == 404
    assert "作成しました" in web.get(job_url).get_data(as_text=True)
